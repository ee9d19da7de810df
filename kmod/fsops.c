// SPDX-License-Identifier: GPL-2.0
/*
 * s3f file system upcalls: build MOUNT, LOOKUP, READDIR and READ
 * requests, parse the helper's replies.  The VFS side (inode.c, dir.c,
 * addr.c) never touches a netlink message.
 */
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uio.h>

#include "s3f.h"

/* A request for @cmd with the mount's parameters and, if set, @key. */
static struct sk_buff *s3f_fs_request(struct super_block *sb,
				      struct s3f_req *req, const char *key,
				      void **hdr)
{
	struct sk_buff *msg;

	msg = s3f_genl_new_request(req, hdr);
	if (!msg)
		return NULL;
	if (s3f_genl_put_mount(msg, S3F_SB(sb)) ||
	    (key && nla_put_string(msg, S3F_ATTR_KEY, key))) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* ---- MOUNT ---- */

struct s3f_mount_reply {
	char *errmsg;
	size_t errlen;
};

/* A failed MOUNT's reply says why (ERRMSG): keep it for the mount log. */
static int s3f_mount_on_reply(struct s3f_req *req, struct genl_info *info)
{
	struct s3f_mount_reply *r = req->priv;

	if (info->attrs[S3F_ATTR_ERRMSG])
		nla_strscpy(r->errmsg, info->attrs[S3F_ATTR_ERRMSG], r->errlen);
	return req->error;
}

int s3f_op_mount(struct super_block *sb, char *errmsg, size_t errlen)
{
	struct s3f_mount_reply r = { .errmsg = errmsg, .errlen = errlen };
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
	genlmsg_end(msg, hdr);
	err = s3f_upcall(req, msg, S3F_MOUNT_TIMEOUT);
out_put:
	s3f_req_put(req);
	return err;
}

/* ---- attributes (LOOKUP replies and READDIR entries) ---- */

static int s3f_parse_attrs(struct nlattr **tb, struct s3f_attrs *a)
{
	memset(a, 0, sizeof(*a));
	if (!tb[S3F_ATTR_TYPE])
		return -EPROTO;
	a->type = nla_get_u8(tb[S3F_ATTR_TYPE]);
	if (tb[S3F_ATTR_SIZE])
		a->size = nla_get_u64(tb[S3F_ATTR_SIZE]);
	if (a->size > MAX_LFS_FILESIZE)
		return -EFBIG;
	if (tb[S3F_ATTR_MTIME_NS])
		a->mtime_ns = nla_get_s64(tb[S3F_ATTR_MTIME_NS]);
	if (tb[S3F_ATTR_ETAG])
		nla_strscpy(a->etag, tb[S3F_ATTR_ETAG], sizeof(a->etag));
	if (tb[S3F_ATTR_MODE] && tb[S3F_ATTR_UID] && tb[S3F_ATTR_GID]) {
		a->has_meta = true;
		a->mode = nla_get_u32(tb[S3F_ATTR_MODE]);
		a->uid = nla_get_u32(tb[S3F_ATTR_UID]);
		a->gid = nla_get_u32(tb[S3F_ATTR_GID]);
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
		return -EPROTO;
	err = nla_parse_nested(tb, S3F_ATTR_MAX, info->attrs[S3F_ATTR_ENTRY],
			       s3f_entry_policy, info->extack);
	if (!err)
		err = s3f_parse_attrs(tb, req->priv);
	if (!err)
		((struct s3f_attrs *)req->priv)->meta_known = true;
	return err;
}

int s3f_op_lookup(struct super_block *sb, const char *key,
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
	msg = s3f_fs_request(sb, req, key, &hdr);
	if (!msg) {
		err = -ENOMEM;
		goto out_put;
	}
	genlmsg_end(msg, hdr);
	err = s3f_upcall(req, msg, S3F_UPCALL_TIMEOUT);
out_put:
	s3f_req_put(req);
	return err;
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
		if (err)
			return err;
		if (!tb[S3F_ATTR_NAME])
			return -EPROTO;
		err = s3f_parse_attrs(tb, &attrs);
		if (err)
			return err;
		err = ctx->fn(ctx->arg, nla_data(tb[S3F_ATTR_NAME]),
			      strlen(nla_data(tb[S3F_ATTR_NAME])), &attrs);
		if (err)
			return err;
	}
	if (info->attrs[S3F_ATTR_TOKEN]) {
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
		return -EPROTO;
	addr = nla_get_u64(info->attrs[S3F_ATTR_DATA_ADDR]);
	len = nla_get_u64(info->attrs[S3F_ATTR_DATA_LEN]);
	if (len > rd->len)
		return -EPROTO;
	/* the address means something only in the helper's own memory */
	if (current->tgid != s3f_helper_pid())
		return -EPERM;
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

/* ---- UMOUNT ---- */

/*
 * Tell the helper to forget the mount.  Fire and forget: nobody waits,
 * and with no helper there is nothing to forget.
 */
void s3f_op_umount(struct super_block *sb)
{
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;

	req = s3f_req_alloc(S3F_CMD_UMOUNT, NULL, NULL);
	if (!req)
		return;
	msg = s3f_fs_request(sb, req, NULL, &hdr);
	if (msg) {
		genlmsg_end(msg, hdr);
		s3f_upcall_start(req, msg, S3F_PING_TIMEOUT);
	}
	s3f_req_put(req);
}
