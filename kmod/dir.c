// SPDX-License-Identifier: GPL-2.0
/*
 * s3f readdir: a directory is the ListObjectsV2 listing of its prefix
 * with delimiter '/': objects are files, common prefixes directories.
 *
 * Reading a directory from the start fetches every listing page into a
 * buffer kept with the open file, then "primes" the dcache: each entry
 * gets a dentry and an inode carrying the size, mtime and ETag from the
 * listing, as NFS's readdirplus does.  So `ls -l` costs one request per
 * thousand entries, not one per entry.  Keys whose component is not a
 * valid file name are skipped with a rate-limited log line.  Files
 * created here and not committed yet are in no listing: they are added
 * from the dirty list.
 *
 * With meta=stat (the default) a listed file's s3fs metadata (mode,
 * owner, mtime, whether it is a symlink) is fetched before it is first
 * used; the first such use fetches it for every listed sibling at once,
 * up to S3F_PREFETCH LOOKUPs in flight (s3f_prefetch_siblings), so the
 * stat(2) calls of `ls -l` or `cp -a` that follow find it there, and a
 * `find` or `ls` that stats nothing costs no HEAD at all.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/namei.h>
#include <linux/slab.h>

#include "s3f.h"

#define S3F_PREFETCH	64	/* metadata LOOKUPs in flight per readdir */
/* A listing stops after this many pages (of 1000 keys): 16M entries. */
#define S3F_DIR_MAX_PAGES	16384

struct s3f_dirent {
	struct s3f_attrs attrs;
	unsigned long ino;		/* of the primed inode, or 0 */
	u16 len;
	char name[];			/* NUL terminated */
};

/* The listing of one open directory; owned by that struct file. */
struct s3f_dir_list {
	char *buf;			/* packed s3f_dirent records */
	size_t used;
	size_t cap;
	unsigned int count;
	struct s3f_dirent **index;	/* count pointers into buf */
};

static size_t s3f_dirent_size(size_t len)
{
	return ALIGN(sizeof(struct s3f_dirent) + len + 1, sizeof(long));
}

static void s3f_dir_list_free(struct s3f_dir_list *dl)
{
	kvfree(dl->buf);
	kvfree(dl->index);
	memset(dl, 0, sizeof(*dl));
}

struct s3f_collect {
	struct s3f_dir_list *dl;
	const char *dir_key;
};

/* Called for each listing entry, from the helper's reply context. */
static int s3f_collect_entry(void *arg, const char *name, size_t len,
			     const struct s3f_attrs *attrs)
{
	struct s3f_collect *c = arg;
	struct s3f_dir_list *dl = c->dl;
	size_t need = s3f_dirent_size(len);
	struct s3f_dirent *de;

	if (!len && attrs->type == S3F_TYPE_FILE)
		return 0;	/* the directory's own "dir/" marker */
	if (!s3f_name_valid(name, len)) {
		pr_warn_ratelimited("skipping key \"%s%.*s\": \"%.*s\" is not a valid file name\n",
				    c->dir_key, (int)min_t(size_t, len, 300), name,
				    (int)min_t(size_t, len, 300), name);
		return 0;
	}
	if (dl->used + need > dl->cap) {
		size_t cap = max_t(size_t, dl->cap * 2, 64 << 10);
		char *buf = kvmalloc(cap, GFP_KERNEL);

		if (!buf)
			return -ENOMEM;
		if (dl->used)
			memcpy(buf, dl->buf, dl->used);
		kvfree(dl->buf);
		dl->buf = buf;
		dl->cap = cap;
	}
	de = (struct s3f_dirent *)(dl->buf + dl->used);
	de->attrs = *attrs;
	de->ino = 0;
	de->len = len;
	memcpy(de->name, name, len);
	de->name[len] = '\0';
	dl->used += need;
	dl->count++;
	return 0;
}

static int s3f_dir_index(struct s3f_dir_list *dl)
{
	size_t off = 0;
	unsigned int i;

	dl->index = kvmalloc_array(max(dl->count, 1U), sizeof(*dl->index),
				   GFP_KERNEL);
	if (!dl->index)
		return -ENOMEM;
	for (i = 0; i < dl->count; i++) {
		struct s3f_dirent *de = (struct s3f_dirent *)(dl->buf + off);

		dl->index[i] = de;
		off += s3f_dirent_size(de->len);
	}
	return 0;
}

/*
 * The metadata prefetch of a directory's listed files.  The batch is
 * shared by the prefetching task and each LOOKUP in flight (kref): a
 * waiter killed before its LOOKUPs end leaves them the batch to end.
 */
static void s3f_prefetch_release(struct kref *ref)
{
	struct s3f_prefetch *pf = container_of(ref, struct s3f_prefetch, ref);
	unsigned int i;

	for (i = 0; i < pf->nr; i++)
		iput(pf->inodes[i]);
	kvfree(pf->inodes);
	kfree(pf);
}

void s3f_prefetch_put(struct s3f_prefetch *pf)
{
	kref_put(&pf->ref, s3f_prefetch_release);
}

/*
 * One readdir is one look at the directory: what it fetched is trusted
 * for actimeo from its end, so the stat(2)s that follow a long prefetch do
 * not find its first answers expired and ask again.
 */
static void s3f_prefetch_end(struct s3f_prefetch *pf)
{
	unsigned int i;

	if (wait_event_killable(pf->wq, !atomic_read(&pf->pending)))
		return;
	for (i = 0; i < pf->nr; i++) {
		struct s3f_inode *si;

		si = S3F_I(pf->inodes[i]);
		spin_lock(&si->lock);
		if (si->attr_time && si->meta_checked)
			si->attr_time = jiffies;
		spin_unlock(&si->lock);
	}
}

/*
 * @dentry's file needs its metadata (meta=stat): fetch it for every
 * sibling that needs it too, in parallel, and wait (killably).  One
 * caller per directory at a time; a concurrent one returns at once and
 * looks up its own.
 */
void s3f_prefetch_siblings(struct dentry *dentry)
{
	struct dentry *parent = dget_parent(dentry), *child;
	struct s3f_inode *pi = S3F_I(d_inode(parent));
	struct s3f_prefetch *pf;
	struct inode *inode;
	unsigned int n = 0, cap;

	if (test_and_set_bit(S3F_PREFETCHING, &pi->flags))
		goto out_dput;
	spin_lock(&parent->d_lock);
	s3f_for_each_child(child, parent)
		n++;
	spin_unlock(&parent->d_lock);
	cap = n;
	pf = kzalloc(sizeof(*pf), GFP_KERNEL);
	if (!pf)
		goto out_clear;
	kref_init(&pf->ref);
	atomic_set(&pf->pending, 0);
	init_waitqueue_head(&pf->wq);
	pf->inodes = kvmalloc_array(max(n, 1U), sizeof(*pf->inodes), GFP_KERNEL);
	if (!pf->inodes)
		goto out_put;
	/*
	 * Under the child's d_lock its inode is stable and referenced by
	 * the dentry: ihold() is safe (igrab() would take i_lock, which
	 * nests outside d_lock).
	 */
	n = 0;
	spin_lock(&parent->d_lock);
	s3f_for_each_child(child, parent) {
		if (n == cap)
			break;
		spin_lock_nested(&child->d_lock, DENTRY_D_LOCK_NESTED);
		inode = d_inode(child);
		if (inode && !S_ISDIR(inode->i_mode) && s3f_stat_needs_meta(inode)) {
			ihold(inode);
			pf->inodes[n++] = inode;
		}
		spin_unlock(&child->d_lock);
	}
	spin_unlock(&parent->d_lock);

	for (pf->nr = 0; pf->nr < n; pf->nr++) {
		if (wait_event_killable(pf->wq, atomic_read(&pf->pending) < S3F_PREFETCH))
			break;
		s3f_op_lookup_start(pf->inodes[pf->nr], pf);
	}
	/* the ones not started are dropped with the batch */
	for (; n > pf->nr; n--)
		iput(pf->inodes[n - 1]);
	s3f_prefetch_end(pf);
out_put:
	s3f_prefetch_put(pf);
out_clear:
	clear_bit(S3F_PREFETCHING, &pi->flags);
out_dput:
	dput(parent);
}

/* False when @de could not be given a positive dentry of its type. */
static bool s3f_prime_dentry(struct dentry *parent, struct s3f_dirent *de)
{
	struct rw_semaphore *rename_sem = &S3F_SB(parent->d_sb)->rename_sem;
	struct qstr q = QSTR_INIT(de->name, de->len);
	DECLARE_WAIT_QUEUE_HEAD_ONSTACK(wq);
	struct dentry *dentry, *alias;
	struct inode *inode;
	char *key;

	q.hash = full_name_hash(parent, q.name, q.len);
	dentry = d_lookup(parent, &q);
	if (!dentry) {
		dentry = d_alloc_parallel(parent, &q, &wq);
		if (IS_ERR(dentry))
			return false;
	}
	if (!d_in_lookup(dentry)) {
		bool ok = false;

		inode = d_inode(dentry);
		if (inode && !!S_ISDIR(inode->i_mode) ==
			     (de->attrs.type == S3F_TYPE_DIR)) {
			s3f_inode_refresh(inode, &de->attrs);
			de->ino = inode->i_ino;
			ok = true;
		}
		/* negative or of the other type: revalidation sorts it out (lookupcache) */
		dput(dentry);
		return ok;
	}

	/*
	 * The key, and its inode, under rename_sem; never wait for a dentry
	 * holding it (s3f_lookup waits for it holding one).
	 */
	if (down_read_killable(rename_sem)) {
		inode = ERR_PTR(-EINTR);
	} else {
		key = s3f_child_key(d_inode(parent), de->name, de->len,
				    de->attrs.type == S3F_TYPE_DIR);
		inode = key ? s3f_iget(parent->d_sb, key, &de->attrs) :
			      ERR_PTR(-ENOMEM);
		kfree(key);
		up_read(rename_sem);
	}
	if (IS_ERR(inode)) {
		d_lookup_done(dentry);
		dput(dentry);
		return false;
	}
	de->ino = inode->i_ino;
	dentry->d_time = jiffies;
	alias = d_splice_alias(inode, dentry);
	d_lookup_done(dentry);
	if (!IS_ERR_OR_NULL(alias))
		dput(alias);
	dput(dentry);
	return true;
}

/* The directory's new files that S3 does not have yet. */
static int s3f_collect_local(struct inode *dir, struct s3f_collect *c)
{
	const char *dkey = S3F_I(dir)->key;
	size_t dlen = strlen(dkey);
	struct inode **v;
	unsigned int i, nr;
	int err = 0;

	v = s3f_dirty_inodes(dir->i_sb, dkey, &nr);
	if (!v)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		struct inode *inode = v[i];
		const char *name = READ_ONCE(S3F_I(inode)->key) + dlen;
		struct s3f_attrs a = {
			.type = S3F_TYPE_FILE,
			.size = i_size_read(inode),
			.mtime_ns = s3f_mtime_ns(inode),
		};

		if (!err && !s3f_in_s3(inode) && *name && !strchr(name, '/'))
			err = s3f_collect_entry(c, name, strlen(name), &a);
		iput(inode);
	}
	kvfree(v);
	return err;
}

/*
 * Every listing page of the directory.  The helper's continuation tokens
 * are not trusted to end: a token seen twice in a row, a listing past
 * S3F_DIR_MAX_PAGES pages, or a fatal signal stops it.
 */
static int s3f_dir_list_all(struct inode *dir, struct s3f_collect *c)
{
	char *token = NULL, *prev = NULL;
	unsigned int pages = 0;
	int err;

	do {
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		if (++pages > S3F_DIR_MAX_PAGES) {
			pr_warn_ratelimited("%s: listing stopped after %u pages\n",
					    S3F_I(dir)->key, S3F_DIR_MAX_PAGES);
			err = -EFBIG;
			break;
		}
		kfree(prev);
		prev = token ? kstrdup(token, GFP_KERNEL) : NULL;
		if (token && !prev) {
			err = -ENOMEM;
			break;
		}
		err = s3f_op_readdir(dir->i_sb, S3F_I(dir)->key, &token,
				     s3f_collect_entry, c);
		if (!err && token && prev && !strcmp(token, prev)) {
			pr_warn_ratelimited("%s: the helper repeats a listing token\n",
					    S3F_I(dir)->key);
			err = -EIO;
		}
	} while (!err && token);
	kfree(prev);
	kfree(token);
	return err;
}

static int s3f_dir_load(struct file *file, struct s3f_dir_list *dl)
{
	struct inode *dir = file_inode(file);
	struct rw_semaphore *rename_sem = &S3F_SB(dir->i_sb)->rename_sem;
	struct s3f_collect c = { .dl = dl };
	unsigned long start = jiffies | 1;
	bool complete = true;
	unsigned int i;
	int err;

	s3f_dir_list_free(dl);
	/* the directory's key must not change while it is listed */
	if (down_read_killable(rename_sem))
		return -EINTR;
	c.dir_key = S3F_I(dir)->key;
	err = s3f_dir_list_all(dir, &c);
	if (!err)
		err = s3f_collect_local(dir, &c);
	up_read(rename_sem);
	if (!err)
		err = s3f_dir_index(dl);
	if (err)
		goto out_free;
	for (i = 0; i < dl->count; i++)
		if (!s3f_prime_dentry(file->f_path.dentry, dl->index[i]))
			complete = false;
	/* every entry has a dentry now, as of the listing's start */
	WRITE_ONCE(S3F_I(dir)->complete_time, complete ? start : 0);
	return 0;

out_free:
	s3f_dir_list_free(dl);
	return err;
}

static int s3f_iterate(struct file *file, struct dir_context *ctx)
{
	struct s3f_dir_list *dl = file->private_data;
	struct s3f_dirent *de;
	int err;

	if (!dir_emit_dots(file, ctx))
		return 0;
	if (ctx->pos == 2 || !dl->index) {
		err = s3f_dir_load(file, dl);
		if (err)
			return err;
	}
	while (ctx->pos - 2 < dl->count) {
		de = dl->index[ctx->pos - 2];
		if (!dir_emit(ctx, de->name, de->len,
			      de->ino ? de->ino : get_next_ino(),
			      de->attrs.type == S3F_TYPE_DIR ? DT_DIR : DT_REG))
			return 0;
		ctx->pos++;
	}
	return 0;
}

static int s3f_dir_open(struct inode *inode, struct file *file)
{
	struct s3f_dir_list *dl;

	dl = kzalloc(sizeof(*dl), GFP_KERNEL);
	if (!dl)
		return -ENOMEM;
	file->private_data = dl;
	return 0;
}

static int s3f_dir_release(struct inode *inode, struct file *file)
{
	s3f_dir_list_free(file->private_data);
	kfree(file->private_data);
	return 0;
}

/*
 * Entries are in S3 as soon as mkdir, rename or unlink return; a new
 * file's entry is its object, so commit what is new under here.
 */
static int s3f_dir_fsync(struct file *file, loff_t start, loff_t end,
			 int datasync)
{
	struct inode *dir = file_inode(file);

	return s3f_commit_prefix(dir->i_sb, S3F_I(dir)->key);
}

const struct file_operations s3f_dir_fops = {
	.fsync		= s3f_dir_fsync,
	.open		= s3f_dir_open,
	.release	= s3f_dir_release,
	.iterate_shared	= s3f_iterate,
	.read		= generic_read_dir,
	.llseek		= generic_file_llseek,
};
