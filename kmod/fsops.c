// SPDX-License-Identifier: GPL-2.0
/*
 * s3f file system upcalls: build MOUNT, LOOKUP, READDIR, READ and the
 * write path's requests, parse the helper's replies.  The VFS side
 * (inode.c, namei.c, dir.c, addr.c, stage.c, commit.c) never touches a
 * netlink message.
 */
#include <linux/file.h>
#include <linux/namei.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uio.h>

#include "s3f.h"

/*
 * A request for @cmd with the mount's parameters and, if set, @key;
 * @size bytes of room (0: a page).
 */
static struct sk_buff *s3f_fs_request_size(struct super_block *sb,
					   struct s3f_req *req, const char *key,
					   size_t size, void **hdr)
{
	struct sk_buff *msg;

	msg = s3f_genl_new_request(req, size, hdr);
	if (!msg)
		return NULL;
	req->grace = S3F_SB(sb)->opts.helper_grace * HZ;
	if (s3f_genl_put_mount(msg, S3F_SB(sb)) ||
	    (key && nla_put_string(msg, S3F_ATTR_KEY, key))) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static struct sk_buff *s3f_fs_request(struct super_block *sb,
				      struct s3f_req *req, const char *key,
				      void **hdr)
{
	return s3f_fs_request_size(sb, req, key, 0, hdr);
}

/* ---- MOUNT ---- */

struct s3f_mount_reply {
	char *errmsg;
	size_t errlen;
	struct path *staging_dir;
};

/*
 * A failed MOUNT's reply says why (ERRMSG): keep it for the mount log.
 * A read-write mount's names the staging directory (STAGE): a directory
 * of another file system, found as the helper sees it (we run in its
 * sendmsg).
 */
static int s3f_mount_on_reply(struct s3f_req *req, struct genl_info *info)
{
	struct s3f_mount_reply *r = req->priv;
	char *p, *dir;
	int err;

	if (info->attrs[S3F_ATTR_ERRMSG]) {
		nla_strscpy(r->errmsg, info->attrs[S3F_ATTR_ERRMSG], r->errlen);
		for (p = r->errmsg; *p; p++)	/* it goes to logs and terminals */
			if (*p < ' ' || *p > '~')
				*p = '?';
	}
	if (req->error || !info->attrs[S3F_ATTR_STAGE])
		return req->error;
	if (current->tgid != s3f_helper_pid())
		return -EBADMSG;
	dir = nla_strdup(info->attrs[S3F_ATTR_STAGE], GFP_KERNEL);
	if (!dir)
		return -ENOMEM;
	err = dir[0] == '/' ? kern_path(dir, LOOKUP_DIRECTORY, r->staging_dir) : -EINVAL;
	kfree(dir);
	if (err)
		return -EBADMSG;
	if (r->staging_dir->dentry->d_sb->s_magic == S3F_MAGIC) {
		path_put(r->staging_dir);
		memset(r->staging_dir, 0, sizeof(*r->staging_dir));
		return -EBADMSG;
	}
	return 0;
}

int s3f_op_mount(struct super_block *sb, char *errmsg, size_t errlen)
{
	struct s3f_mount_reply r = {
		.errmsg = errmsg,
		.errlen = errlen,
		.staging_dir = &S3F_SB(sb)->staging_dir,
	};
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;
	int err;

	errmsg[0] = '\0';
	req = s3f_req_alloc(S3F_CMD_MOUNT, s3f_mount_on_reply, &r);
	if (!req)
		return -ENOMEM;
	msg = s3f_fs_request(sb, req, NULL, &hdr);
	if (!msg) {
		err = -ENOMEM;
		goto out_put;
	}
	req->grace = 0;		/* mount(8) says at once that no helper runs */
	genlmsg_end(msg, hdr);
	err = s3f_upcall(req, msg, S3F_MOUNT_TIMEOUT);
out_put:
	s3f_req_put(req);
	return err;
}

/* ---- attributes (LOOKUP replies and READDIR entries) ---- */

/* Attributes of one key; -EBADMSG when the helper sent nonsense. */
static int s3f_parse_attrs(struct nlattr **tb, struct s3f_attrs *a)
{
	memset(a, 0, sizeof(*a));
	if (!tb[S3F_ATTR_TYPE])
		return -EBADMSG;
	a->type = nla_get_u8(tb[S3F_ATTR_TYPE]);
	if (tb[S3F_ATTR_SIZE])
		a->size = nla_get_u64(tb[S3F_ATTR_SIZE]);
	if (a->size > S3F_MAX_OBJECT_SIZE)
		return -EBADMSG;	/* S3 objects end at 5 TiB */
	if (tb[S3F_ATTR_MTIME_NS])
		a->mtime_ns = nla_get_s64(tb[S3F_ATTR_MTIME_NS]);
	if (tb[S3F_ATTR_ATIME_NS])
		a->atime_ns = nla_get_s64(tb[S3F_ATTR_ATIME_NS]);
	if (tb[S3F_ATTR_CTIME_NS])
		a->ctime_ns = nla_get_s64(tb[S3F_ATTR_CTIME_NS]);
	if (tb[S3F_ATTR_ETAG]) {
		nla_strscpy(a->etag, tb[S3F_ATTR_ETAG], sizeof(a->etag));
		if (!s3f_etag_valid(a->etag))
			return -EBADMSG;
	} else if (a->type == S3F_TYPE_FILE) {
		return -EBADMSG;	/* every object has one */
	}
	if (tb[S3F_ATTR_MODE] && tb[S3F_ATTR_UID] && tb[S3F_ATTR_GID]) {
		a->has_meta = true;
		a->mode = nla_get_u32(tb[S3F_ATTR_MODE]);
		a->uid = nla_get_u32(tb[S3F_ATTR_UID]);
		a->gid = nla_get_u32(tb[S3F_ATTR_GID]);
		if (tb[S3F_ATTR_RDEV])
			a->rdev = nla_get_u64(tb[S3F_ATTR_RDEV]);
	}
	return 0;
}

static int s3f_lookup_on_reply(struct s3f_req *req, struct genl_info *info)
{
	struct nlattr *tb[S3F_ATTR_MAX + 1];
	int err;

	if (req->error)
		return req->error;
	if (!info->attrs[S3F_ATTR_ENTRY])
		return -EBADMSG;
	err = nla_parse_nested(tb, S3F_ATTR_MAX, info->attrs[S3F_ATTR_ENTRY],
			       s3f_entry_policy, info->extack);
	if (err)
		return -EBADMSG;
	err = s3f_parse_attrs(tb, req->priv);
	if (err)
		return err;
	((struct s3f_attrs *)req->priv)->meta_known = true;
	if (tb[S3F_ATTR_XATTRS]) {
		struct s3f_xattrs *x = s3f_xattrs_parse(nla_data(tb[S3F_ATTR_XATTRS]),
							nla_len(tb[S3F_ATTR_XATTRS]));

		if (!x)
			return -EBADMSG;	/* never shown, or written back, as less */
		((struct s3f_attrs *)req->priv)->xattrs = x;
	}
	return 0;
}

/*
 * A LOOKUP of @key.  @type: 0, or the type the caller already knows the
 * key has (a listing showed it, or the inode has it), which spares the
 * helper the request that asks about the other type.
 */
static struct sk_buff *s3f_lookup_msg(struct super_block *sb, struct s3f_req *req,
				      const char *key, u8 type, void **hdr)
{
	struct sk_buff *msg = s3f_fs_request(sb, req, key, hdr);

	if (msg && type && nla_put_u8(msg, S3F_ATTR_TYPE, type)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int s3f_op_lookup(struct super_block *sb, const char *key, u8 type_hint,
		  struct s3f_attrs *attrs)
{
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;
	int err;

	atomic64_inc(&S3F_SB(sb)->lookups);
	req = s3f_req_alloc(S3F_CMD_LOOKUP, s3f_lookup_on_reply, attrs);
	if (!req)
		return -ENOMEM;
	msg = s3f_lookup_msg(sb, req, key, type_hint, &hdr);
	if (!msg) {
		err = -ENOMEM;
		goto out_put;
	}
	genlmsg_end(msg, hdr);
	err = s3f_upcall(req, msg, S3F_UPCALL_TIMEOUT);
	if (err) {
		s3f_xattrs_put(attrs->xattrs);
		attrs->xattrs = NULL;
	}
out_put:
	s3f_req_put(req);
	return err;
}

/* An asynchronous LOOKUP: the metadata prefetch of a listed inode. */
struct s3f_lookup_async {
	struct s3f_attrs attrs;		/* first: s3f_lookup_on_reply fills it */
	struct inode *inode;
	struct s3f_prefetch *pf;
};

static void s3f_lookup_async_done(struct s3f_req *req)
{
	struct s3f_lookup_async *la = req->priv;
	struct inode *inode = la->inode;
	struct super_block *sb = inode->i_sb;
	struct s3f_prefetch *pf = la->pf;

	if (!req->error) {
		if ((la->attrs.type == S3F_TYPE_DIR) == !!S_ISDIR(inode->i_mode) &&
		    !(la->attrs.has_meta && S_ISLNK(la->attrs.mode) &&
		      !S_ISLNK(inode->i_mode)))
			s3f_inode_refresh(inode, &la->attrs);
		else
			S3F_I(inode)->attr_time = 0;	/* another type: look again */
	}
	s3f_xattrs_put(la->attrs.xattrs);
	iput(inode);
	s3f_sb_calls(sb, -1);	/* umount waits for this, after the iput */
	kfree(la);
	if (atomic_dec_and_test(&pf->pending))
		wake_up(&pf->wq);
	s3f_prefetch_put(pf);
}

/* Start a LOOKUP of @inode's key; @pf counts it until it ends. */
void s3f_op_lookup_start(struct inode *inode, struct s3f_prefetch *pf)
{
	const char *key = S3F_I(inode)->key;
	struct s3f_lookup_async *la;
	struct s3f_req *req;
	struct sk_buff *msg;
	char *lkey;
	void *hdr;

	la = kzalloc(sizeof(*la), GFP_KERNEL);
	/* LOOKUP takes keys without the directory slash */
	lkey = kstrndup(key, strlen(key) - (S_ISDIR(inode->i_mode) ? 1 : 0),
			GFP_KERNEL);
	req = s3f_req_alloc(S3F_CMD_LOOKUP, s3f_lookup_on_reply, la);
	/*
	 * Listed as an object: only its metadata is wanted (one HEAD); as a
	 * directory: its listing (and marker), no HEAD of the bare key.
	 */
	msg = req && la && lkey ?
		s3f_lookup_msg(inode->i_sb, req, lkey, S_ISDIR(inode->i_mode) ?
			       S3F_TYPE_DIR : S3F_TYPE_FILE, &hdr) : NULL;
	kfree(lkey);
	if (!msg)
		goto out_free;
	la->inode = igrab(inode);
	if (!la->inode) {
		nlmsg_free(msg);
		goto out_free;
	}
	la->pf = pf;
	kref_get(&pf->ref);
	req->on_done = s3f_lookup_async_done;
	genlmsg_end(msg, hdr);
	atomic64_inc(&S3F_SB(inode->i_sb)->lookups);
	s3f_sb_calls(inode->i_sb, 1);
	atomic_inc(&pf->pending);
	s3f_upcall_start(req, msg, S3F_UPCALL_TIMEOUT);
	s3f_req_put(req);
	return;

out_free:
	if (req)
		s3f_req_put(req);
	kfree(la);
}

/* ---- READDIR ---- */

struct s3f_readdir_ctx {
	s3f_entry_fn fn;
	void *arg;
	char *token;
};

static int s3f_readdir_on_reply(struct s3f_req *req, struct genl_info *info)
{
	struct s3f_readdir_ctx *ctx = req->priv;
	struct nlattr *tb[S3F_ATTR_MAX + 1];
	struct s3f_attrs attrs;
	struct nlattr *nla;
	int rem, err;

	if (req->error)
		return req->error;
	nla_for_each_attr(nla, genlmsg_data(info->genlhdr),
			  genlmsg_len(info->genlhdr), rem) {
		if (nla_type(nla) != S3F_ATTR_ENTRY)
			continue;
		err = nla_parse_nested(tb, S3F_ATTR_MAX, nla, s3f_entry_policy,
				       info->extack);
		if (err || !tb[S3F_ATTR_NAME])
			return -EBADMSG;
		if (s3f_parse_attrs(tb, &attrs)) {
			pr_warn_ratelimited("listing entry \"%.200s\": malformed attributes from the helper, skipped\n",
					    (char *)nla_data(tb[S3F_ATTR_NAME]));
			continue;
		}
		err = ctx->fn(ctx->arg, nla_data(tb[S3F_ATTR_NAME]),
			      strlen(nla_data(tb[S3F_ATTR_NAME])), &attrs);
		if (err)
			return err;
	}
	if (info->attrs[S3F_ATTR_TOKEN]) {
		if (!nla_len(info->attrs[S3F_ATTR_TOKEN]) ||
		    !*(char *)nla_data(info->attrs[S3F_ATTR_TOKEN]))
			return -EBADMSG;	/* an empty token would list page one again */
		ctx->token = nla_strdup(info->attrs[S3F_ATTR_TOKEN], GFP_KERNEL);
		if (!ctx->token)
			return -ENOMEM;
	}
	return 0;
}

/*
 * One listing page of directory @key.  *token: NULL for the first page;
 * on return the next page's token, or NULL after the last page.  @fn is
 * called for each entry, from the helper's context.
 */
int s3f_op_readdir(struct super_block *sb, const char *key, char **token,
		   s3f_entry_fn fn, void *arg)
{
	struct s3f_readdir_ctx ctx = { .fn = fn, .arg = arg };
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;
	int err;

	atomic64_inc(&S3F_SB(sb)->readdirs);
	req = s3f_req_alloc(S3F_CMD_READDIR, s3f_readdir_on_reply, &ctx);
	if (!req)
		return -ENOMEM;
	err = -ENOMEM;
	msg = s3f_fs_request(sb, req, key, &hdr);
	if (!msg)
		goto out_put;
	if (*token && nla_put_string(msg, S3F_ATTR_TOKEN, *token)) {
		nlmsg_free(msg);
		goto out_put;
	}
	genlmsg_end(msg, hdr);
	err = s3f_upcall(req, msg, S3F_UPCALL_TIMEOUT);
	kfree(*token);
	*token = err ? NULL : ctx.token;
	if (err)
		kfree(ctx.token);
out_put:
	s3f_req_put(req);
	return err;
}

/* ---- READ ---- */

static int s3f_read_on_reply(struct s3f_req *req, struct genl_info *info)
{
	struct s3f_read *rd = req->priv;
	u64 addr, len;

	if (req->error)
		return req->error;
	if (!info->attrs[S3F_ATTR_DATA_ADDR] || !info->attrs[S3F_ATTR_DATA_LEN])
		return -EBADMSG;
	addr = nla_get_u64(info->attrs[S3F_ATTR_DATA_ADDR]);
	len = nla_get_u64(info->attrs[S3F_ATTR_DATA_LEN]);
	if (len > rd->len)
		return -EBADMSG;
	/* the address means something only in the helper's own memory */
	if (current->tgid != s3f_helper_pid())
		return -EBADMSG;
	return s3f_read_fill(rd, u64_to_user_ptr(addr), len);
}

static void s3f_read_on_done(struct s3f_req *req)
{
	s3f_read_done(req->priv, req->error);
}

/* Start reading @rd; s3f_read_done() ends it, possibly before this returns. */
int s3f_op_read_start(struct super_block *sb, struct s3f_read *rd)
{
	struct s3f_sb_info *sbi = S3F_SB(sb);
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;

	req = s3f_req_alloc(S3F_CMD_READ, s3f_read_on_reply, rd);
	if (!req)
		return -ENOMEM;
	req->on_done = s3f_read_on_done;
	msg = s3f_fs_request(sb, req, S3F_I(rd->inode)->key, &hdr);
	if (!msg ||
	    nla_put_u64_64bit(msg, S3F_ATTR_OFFSET, rd->pos, S3F_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, S3F_ATTR_LENGTH, rd->len, S3F_ATTR_PAD) ||
	    (rd->etag[0] && nla_put_string(msg, S3F_ATTR_ETAG, rd->etag))) {
		nlmsg_free(msg);
		s3f_req_put(req);
		return -ENOMEM;
	}
	genlmsg_end(msg, hdr);
	atomic64_inc(&sbi->reads);
	s3f_upcall_start(req, msg, S3F_UPCALL_TIMEOUT);
	s3f_req_put(req);
	return 0;
}

/* ---- the write path ---- */

/* Room for the mount parameters, two keys and a path. */
#define S3F_WRITE_MSG_SIZE	(4 * S3F_MAX_KEY_LEN + PATH_MAX + S3F_XATTR_MAX)

/* Replies that carry the new object's ETAG (MKDIR, SYMLINK, RENAME). */
static int s3f_etag_on_reply(struct s3f_req *req, struct genl_info *info)
{
	char *etag = req->priv;

	if (req->error || !etag)
		return req->error;
	etag[0] = '\0';	/* a directory's rename has none */
	if (!info->attrs[S3F_ATTR_ETAG])
		return 0;
	nla_strscpy(etag, info->attrs[S3F_ATTR_ETAG], S3F_ETAG_MAX);
	return s3f_etag_valid(etag) ? 0 : -EBADMSG;
}

/* Send a built request and wait for it; drops @req. */
static int s3f_fs_upcall(struct s3f_req *req, struct sk_buff *msg, void *hdr,
			 long timeout)
{
	int err;

	genlmsg_end(msg, hdr);
	err = s3f_upcall(req, msg, timeout);
	s3f_req_put(req);
	return err;
}

/* A request that only needs the mount and @key, waited for. */
static int s3f_fs_simple(struct super_block *sb, u8 cmd, const char *key)
{
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;

	req = s3f_req_alloc(cmd, NULL, NULL);
	if (!req)
		return -ENOMEM;
	msg = s3f_fs_request_size(sb, req, key, S3F_WRITE_MSG_SIZE, &hdr);
	if (!msg) {
		s3f_req_put(req);
		return -ENOMEM;
	}
	return s3f_fs_upcall(req, msg, hdr, S3F_UPCALL_TIMEOUT);
}

/* The records of @x (none: an empty attribute, "no attributes"). */
static int s3f_put_xattrs(struct sk_buff *msg, const struct s3f_xattrs *x)
{
	return nla_put(msg, S3F_ATTR_XATTRS, x ? x->len : 0, x ? x->data : NULL);
}

/* s3fs-fuse metadata of @inode: MODE, UID, GID, M/A/CTIME_NS, XATTRS. */
static int s3f_put_meta(struct sk_buff *msg, struct inode *inode)
{
	struct s3f_xattrs *x = s3f_inode_xattrs(inode);
	int err = s3f_put_xattrs(msg, x);

	s3f_xattrs_put(x);
	if (err ||
	    nla_put_u32(msg, S3F_ATTR_MODE, inode->i_mode) ||
	    nla_put_u32(msg, S3F_ATTR_UID,
			from_kuid_munged(&init_user_ns, inode->i_uid)) ||
	    nla_put_u32(msg, S3F_ATTR_GID,
			from_kgid_munged(&init_user_ns, inode->i_gid)) ||
	    nla_put_s64(msg, S3F_ATTR_MTIME_NS,
			s3f_mtime_ns(inode), S3F_ATTR_PAD) ||
	    nla_put_s64(msg, S3F_ATTR_ATIME_NS,
			s3f_atime_ns(inode), S3F_ATTR_PAD) ||
	    nla_put_s64(msg, S3F_ATTR_CTIME_NS,
			s3f_ctime_ns(inode), S3F_ATTR_PAD))
		return -EMSGSIZE;
	return 0;
}

struct s3f_stage_reply {
	struct file *file;
	char *path;
};

/*
 * The helper's descriptor means something only in its own process; we
 * run in its sendmsg, so fget() takes our own reference to the file.
 */
static int s3f_stage_open_on_reply(struct s3f_req *req, struct genl_info *info)
{
	struct s3f_stage_reply *r = req->priv;
	struct file *file;

	if (req->error)
		return req->error;
	if (!info->attrs[S3F_ATTR_FD] || !info->attrs[S3F_ATTR_STAGE])
		return -EBADMSG;
	if (current->tgid != s3f_helper_pid())
		return -EBADMSG;
	file = fget(nla_get_u32(info->attrs[S3F_ATTR_FD]));
	if (!file)
		return -EBADMSG;
	r->path = nla_strdup(info->attrs[S3F_ATTR_STAGE], GFP_KERNEL);
	if (!r->path) {
		fput(file);
		return -ENOMEM;
	}
	if (!s3f_stage_file_ok(file, r->path)) {
		kfree(r->path);
		r->path = NULL;
		fput(file);
		return -EBADMSG;
	}
	r->file = file;
	return 0;
}

/* The journal's fields of STAGE_OPEN and STAGE_NOTE. */
static int s3f_put_stage_state(struct sk_buff *msg,
			       const struct s3f_stage_state *st)
{
	if ((st->etag[0] && nla_put_string(msg, S3F_ATTR_ETAG, st->etag)) ||
	    nla_put_u64_64bit(msg, S3F_ATTR_BASE_SIZE, st->base_size, S3F_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, S3F_ATTR_CLEAN_SIZE, st->clean_size, S3F_ATTR_PAD))
		return -EMSGSIZE;
	return 0;
}

/*
 * A staging file for @inode's key (@st, which the journal records),
 * given to the inode's owner (UID, GID): its blocks count against that
 * user's quota.
 */
int s3f_op_stage_open(struct super_block *sb, struct inode *inode,
		      const struct s3f_stage_state *st, struct file **file,
		      char **path)
{
	struct s3f_stage_reply r = {};
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;
	int err;

	req = s3f_req_alloc(S3F_CMD_STAGE_OPEN, s3f_stage_open_on_reply, &r);
	if (!req)
		return -ENOMEM;
	msg = s3f_fs_request_size(sb, req, st->key, S3F_WRITE_MSG_SIZE, &hdr);
	if (!msg ||
	    nla_put_u32(msg, S3F_ATTR_UID, from_kuid_munged(&init_user_ns, inode->i_uid)) ||
	    nla_put_u32(msg, S3F_ATTR_GID, from_kgid_munged(&init_user_ns, inode->i_gid)) ||
	    nla_put_u32(msg, S3F_ATTR_MODE, inode->i_mode) ||
	    nla_put_s64(msg, S3F_ATTR_MTIME_NS, s3f_mtime_ns(inode),
			S3F_ATTR_PAD) ||
	    s3f_put_stage_state(msg, st)) {
		nlmsg_free(msg);
		s3f_req_put(req);
		return -ENOMEM;
	}
	err = s3f_fs_upcall(req, msg, hdr, S3F_UPCALL_TIMEOUT);
	if (err)
		return err;
	*file = r.file;
	*path = r.path;
	return 0;
}

/* STAGE_NOTE: the journal of staging file @path must say @st. */
int s3f_op_stage_note(struct super_block *sb, const char *path,
		      const struct s3f_stage_state *st)
{
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;

	req = s3f_req_alloc(S3F_CMD_STAGE_NOTE, NULL, NULL);
	if (!req)
		return -ENOMEM;
	msg = s3f_fs_request_size(sb, req, st->key, S3F_WRITE_MSG_SIZE, &hdr);
	if (!msg || nla_put_string(msg, S3F_ATTR_STAGE, path) ||
	    nla_put_u32(msg, S3F_ATTR_FLAGS, st->gone ? S3F_STAGE_GONE : 0) ||
	    s3f_put_stage_state(msg, st)) {
		nlmsg_free(msg);
		s3f_req_put(req);
		return -ENOMEM;
	}
	return s3f_fs_upcall(req, msg, hdr, S3F_UPCALL_TIMEOUT);
}

/*
 * An upcall nobody waits for (UMOUNT, STAGE_RELEASE), with @stage if
 * set.  With no helper there is nothing to tell: it is dropped.
 */
static void s3f_fs_notify(struct super_block *sb, u8 cmd, const char *stage)
{
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;

	req = s3f_req_alloc(cmd, NULL, NULL);
	if (!req)
		return;
	msg = s3f_fs_request_size(sb, req, NULL, S3F_WRITE_MSG_SIZE, &hdr);
	if (msg && stage && nla_put_string(msg, S3F_ATTR_STAGE, stage)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	if (msg) {
		genlmsg_end(msg, hdr);
		s3f_upcall_start(req, msg, S3F_PING_TIMEOUT);
	}
	s3f_req_put(req);
}

void s3f_op_stage_release(struct super_block *sb, const char *path)
{
	s3f_fs_notify(sb, S3F_CMD_STAGE_RELEASE, path);
}

/* UMOUNT: the helper drops the mount's S3 client. */
void s3f_op_umount(struct super_block *sb)
{
	s3f_fs_notify(sb, S3F_CMD_UMOUNT, NULL);
}

static int s3f_commit_on_reply(struct s3f_req *req, struct genl_info *info)
{
	struct s3f_commit_args *a = req->priv;

	if (req->error)
		return req->error;
	if (!info->attrs[S3F_ATTR_ETAG])
		return -EBADMSG;
	nla_strscpy(a->etag, info->attrs[S3F_ATTR_ETAG], sizeof(a->etag));
	if (!s3f_etag_valid(a->etag))
		return -EBADMSG;
	if (info->attrs[S3F_ATTR_CONFLICT]) {
		a->conflict = nla_strdup(info->attrs[S3F_ATTR_CONFLICT], GFP_KERNEL);
		if (!a->conflict)
			return -ENOMEM;
		if (!s3f_conflict_key_valid(a->key, a->conflict)) {
			kfree(a->conflict);
			a->conflict = NULL;
			return -EBADMSG;
		}
	}
	if (info->attrs[S3F_ATTR_BYTES_UPLOADED])
		a->uploaded = nla_get_u64(info->attrs[S3F_ATTR_BYTES_UPLOADED]);
	if (info->attrs[S3F_ATTR_BYTES_COPIED])
		a->copied = nla_get_u64(info->attrs[S3F_ATTR_BYTES_COPIED]);
	return 0;
}

/* Extents in attributes of at most this many (nla_len is 16 bits). */
#define S3F_EXTENTS_PER_ATTR	2048

static int s3f_put_commit(struct sk_buff *msg, struct s3f_commit_args *a)
{
	unsigned int i, n;

	if ((a->stage_path && nla_put_string(msg, S3F_ATTR_STAGE, a->stage_path)) ||
	    (a->data && nla_put(msg, S3F_ATTR_DATA, a->size, a->data)) ||
	    nla_put_u64_64bit(msg, S3F_ATTR_SIZE, a->size, S3F_ATTR_PAD) ||
	    (a->base_etag && (nla_put_string(msg, S3F_ATTR_ETAG, a->base_etag) ||
			      nla_put_u64_64bit(msg, S3F_ATTR_BASE_SIZE, a->base_size,
						S3F_ATTR_PAD))) ||
	    nla_put_u32(msg, S3F_ATTR_MODE, a->mode) ||
	    nla_put_u32(msg, S3F_ATTR_UID, a->uid) ||
	    nla_put_u32(msg, S3F_ATTR_GID, a->gid) ||
	    (a->rdev && nla_put_u64_64bit(msg, S3F_ATTR_RDEV, a->rdev, S3F_ATTR_PAD)) ||
	    s3f_put_xattrs(msg, a->xattrs) ||
	    nla_put_s64(msg, S3F_ATTR_MTIME_NS, a->mtime_ns, S3F_ATTR_PAD) ||
	    nla_put_s64(msg, S3F_ATTR_ATIME_NS, a->atime_ns, S3F_ATTR_PAD) ||
	    nla_put_s64(msg, S3F_ATTR_CTIME_NS, a->ctime_ns, S3F_ATTR_PAD) ||
	    nla_put_u32(msg, S3F_ATTR_FLAGS,
			a->fail_on_conflict ? S3F_COMMIT_FAIL_ON_CONFLICT : 0) ||
	    nla_put_u64_64bit(msg, S3F_ATTR_COMMIT_ID, a->commit_id, S3F_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, S3F_ATTR_COMMIT_SESSION, a->commit_session,
			      S3F_ATTR_PAD))
		return -EMSGSIZE;
	for (i = 0; i < a->nr_ext; i += n) {
		n = min_t(unsigned int, a->nr_ext - i, S3F_EXTENTS_PER_ATTR);
		if (nla_put(msg, S3F_ATTR_EXTENTS, n * sizeof(*a->ext), &a->ext[i]))
			return -EMSGSIZE;
	}
	return 0;
}

/*
 * Commit @a.  Without @on_done (an inline commit: the bytes travel in
 * the message), an ordinary upcall.  With it (a staged commit), the
 * helper reads the staging file until it answers, so the request is
 * never dropped unanswered: the wait ends at the deadline or on a fatal
 * signal, the request goes on, and @on_done (req->priv is @a) runs when
 * it ends, whoever is still waiting.
 */
int s3f_op_commit(struct super_block *sb, struct s3f_commit_args *a,
		  void (*on_done)(struct s3f_req *req))
{
	/* uploads take time: two minutes and a second per MiB */
	long timeout = S3F_COMMIT_TIMEOUT + (a->size >> 20) * HZ;
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;
	int err;

	req = s3f_req_alloc(S3F_CMD_COMMIT, s3f_commit_on_reply, a);
	msg = req ? s3f_fs_request_size(sb, req, a->key, S3F_WRITE_MSG_SIZE +
					a->nr_ext * (sizeof(*a->ext) + 1) +
					(a->data ? nla_total_size(a->size) : 0),
					&hdr) : NULL;
	if (!msg || s3f_put_commit(msg, a)) {
		/* @on_done runs once, whatever happens */
		struct s3f_req failed = { .error = -ENOMEM, .priv = a };

		nlmsg_free(msg);
		if (req)
			s3f_req_put(req);
		if (on_done)
			on_done(&failed);
		return -ENOMEM;
	}
	if (!on_done)
		return s3f_fs_upcall(req, msg, hdr, timeout);
	req->on_done = on_done;
	genlmsg_end(msg, hdr);
	err = s3f_upcall_keep(req, msg, timeout);
	s3f_req_put(req);
	return err;
}

int s3f_op_delete(struct super_block *sb, const char *key)
{
	return s3f_fs_simple(sb, S3F_CMD_DELETE, key);
}

int s3f_op_rmdir(struct super_block *sb, const char *key)
{
	return s3f_fs_simple(sb, S3F_CMD_RMDIR, key);
}

/* @flags: S3F_MKDIR_* (0: a new directory). */
int s3f_op_mkdir(struct super_block *sb, const char *key, struct inode *inode,
		 unsigned int flags, char *etag)
{
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;

	req = s3f_req_alloc(S3F_CMD_MKDIR, s3f_etag_on_reply, etag);
	if (!req)
		return -ENOMEM;
	msg = s3f_fs_request_size(sb, req, key, S3F_WRITE_MSG_SIZE, &hdr);
	if (!msg || s3f_put_meta(msg, inode) ||
	    (flags && nla_put_u32(msg, S3F_ATTR_FLAGS, flags))) {
		nlmsg_free(msg);
		s3f_req_put(req);
		return -ENOMEM;
	}
	return s3f_fs_upcall(req, msg, hdr, S3F_UPCALL_TIMEOUT);
}

int s3f_op_symlink(struct super_block *sb, const char *key, const char *target,
		   struct inode *inode, char *etag)
{
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;

	req = s3f_req_alloc(S3F_CMD_SYMLINK, s3f_etag_on_reply, etag);
	if (!req)
		return -ENOMEM;
	msg = s3f_fs_request_size(sb, req, key, S3F_WRITE_MSG_SIZE + PATH_MAX, &hdr);
	if (!msg || nla_put_string(msg, S3F_ATTR_TARGET, target) ||
	    s3f_put_meta(msg, inode)) {
		nlmsg_free(msg);
		s3f_req_put(req);
		return -ENOMEM;
	}
	return s3f_fs_upcall(req, msg, hdr, S3F_UPCALL_TIMEOUT);
}

/*
 * A directory rename copies and deletes every key under it: give it as
 * long as a big commit.
 */
int s3f_op_rename(struct super_block *sb, const char *key, const char *new_key,
		  bool is_dir, bool noreplace, const char *etag, s64 ctime_ns,
		  char *new_etag)
{
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;

	req = s3f_req_alloc(S3F_CMD_RENAME, s3f_etag_on_reply, new_etag);
	if (!req)
		return -ENOMEM;
	msg = s3f_fs_request_size(sb, req, key, S3F_WRITE_MSG_SIZE, &hdr);
	if (!msg || nla_put_string(msg, S3F_ATTR_NEW_KEY, new_key) ||
	    nla_put_u8(msg, S3F_ATTR_TYPE, is_dir ? S3F_TYPE_DIR : S3F_TYPE_FILE) ||
	    nla_put_u32(msg, S3F_ATTR_FLAGS, noreplace ? S3F_RENAME_NOREPLACE : 0) ||
	    (etag && etag[0] && nla_put_string(msg, S3F_ATTR_ETAG, etag)) ||
	    (ctime_ns && nla_put_s64(msg, S3F_ATTR_CTIME_NS, ctime_ns, S3F_ATTR_PAD))) {
		nlmsg_free(msg);
		s3f_req_put(req);
		return -ENOMEM;
	}
	return s3f_fs_upcall(req, msg, hdr, is_dir ? 10 * S3F_COMMIT_TIMEOUT :
						     S3F_COMMIT_TIMEOUT);
}
