// SPDX-License-Identifier: GPL-2.0
/*
 * s3f inodes: made from what the helper says about a key (LOOKUP or a
 * listing entry), kept fresh for the mount's ttl, revalidated after.
 *
 * Attributes: size, ETag and mtime from S3 (x-amz-meta-mtime, when the
 * object has s3fs-fuse metadata, else Last-Modified); mode, uid and gid
 * from s3fs-fuse metadata (x-amz-meta-mode/-uid/-gid) when the object
 * has it, else the mount's defaults.
 *
 * An inode with local changes (on the dirty list) is its own authority:
 * revalidation leaves it alone until its changes are committed.
 */
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/slab.h>

#include "s3f.h"

static struct kmem_cache *s3f_inode_cachep;

struct inode *s3f_alloc_inode(struct super_block *sb)
{
	struct s3f_inode *si;

	si = alloc_inode_sb(sb, s3f_inode_cachep, GFP_KERNEL);
	if (!si)
		return NULL;
	si->key = NULL;
	si->keys = NULL;
	si->etag[0] = '\0';
	si->attr_time = 0;
	si->meta_checked = false;
	si->flags = 0;
	si->complete_time = 0;
	spin_lock_init(&si->lock);
	s3f_commit_inode_init(si);
	return &si->vfs_inode;
}

void s3f_free_inode(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_key *k, *prev;

	for (k = si->keys; k; k = prev) {
		prev = k->prev;
		kfree(k);
	}
	kmem_cache_free(s3f_inode_cachep, si);
}

/*
 * Give the inode @key (a rename, or its creation).  The old key stays
 * allocated until the inode is freed: see struct s3f_inode.
 */
int s3f_set_key(struct inode *inode, const char *key)
{
	struct s3f_inode *si = S3F_I(inode);
	size_t len = strlen(key);
	struct s3f_key *k;

	k = kmalloc(sizeof(*k) + len + 1, GFP_KERNEL);
	if (!k)
		return -ENOMEM;
	memcpy(k->name, key, len + 1);
	spin_lock(&si->lock);
	k->prev = si->keys;
	si->keys = k;
	WRITE_ONCE(si->key, k->name);
	spin_unlock(&si->lock);
	return 0;
}

void s3f_evict_inode(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	WARN_ON_ONCE(si->dirty);
	if (si->stage)
		s3f_stage_release(inode);
}

static void s3f_inode_init_once(void *obj)
{
	struct s3f_inode *si = obj;

	inode_init_once(&si->vfs_inode);
}

int s3f_inode_cache_init(void)
{
	s3f_inode_cachep = kmem_cache_create("s3f_inode", sizeof(struct s3f_inode),
					     0, SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					     s3f_inode_init_once);
	return s3f_inode_cachep ? 0 : -ENOMEM;
}

void s3f_inode_cache_exit(void)
{
	rcu_barrier();	/* s3f_free_inode runs after an RCU grace period */
	kmem_cache_destroy(s3f_inode_cachep);
}

/* The type and permission bits the VFS sees for @a. */
static umode_t s3f_mode(struct super_block *sb, const struct s3f_attrs *a)
{
	struct s3f_mount_opts *o = &S3F_SB(sb)->opts;
	umode_t fmt = a->type == S3F_TYPE_DIR ? S_IFDIR : S_IFREG;

	if (a->has_meta) {
		umode_t meta_fmt = a->mode & S_IFMT;

		/* s3fs symlinks are objects whose body is the target */
		if (a->type == S3F_TYPE_FILE && meta_fmt == S_IFLNK)
			fmt = S_IFLNK;
		return fmt | (a->mode & 07777);
	}
	return fmt | (a->type == S3F_TYPE_DIR ? o->dir_mode : o->file_mode);
}

/* Set the attributes that revalidation may change.  Caller holds si->lock. */
static void s3f_set_attrs(struct inode *inode, const struct s3f_attrs *a)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_mount_opts *o = &S3F_SB(inode->i_sb)->opts;
	struct timespec64 ts;

	/* implicit directories have no date in S3: show the mount's */
	ts = ns_to_timespec64(a->mtime_ns ? a->mtime_ns :
			      S3F_SB(inode->i_sb)->mount_time_ns);

	if (a->type == S3F_TYPE_FILE) {
		i_size_write(inode, a->size);
		si->base_size = a->size;
		si->clean_limit = a->size;
	}
	/* another version: what a LOOKUP found about the old one is void */
	if (!a->meta_known && strcmp(si->etag, a->etag))
		si->meta_checked = false;
	/* a listing (no metadata) never overrides what a LOOKUP found */
	if (a->meta_known || !si->meta_checked) {
		inode->i_mtime = ts;
		inode->i_ctime = ts;
		inode->i_atime = ts;
		inode->i_mode = (inode->i_mode & S_IFMT) |
				(s3f_mode(inode->i_sb, a) & 07777);
		inode->i_uid = a->has_meta ? make_kuid(&init_user_ns, a->uid) : o->uid;
		inode->i_gid = a->has_meta ? make_kgid(&init_user_ns, a->gid) : o->gid;
		if (!uid_valid(inode->i_uid))
			inode->i_uid = o->uid;
		if (!gid_valid(inode->i_gid))
			inode->i_gid = o->gid;
		if (a->meta_known)
			si->meta_checked = true;
	}
	strscpy(si->etag, a->etag, sizeof(si->etag));
	si->attr_time = jiffies;
}

/* Build the key of @name in directory @dir; kfree() it. */
char *s3f_child_key(struct inode *dir, const char *name, size_t len, bool is_dir)
{
	return kasprintf(GFP_KERNEL, "%s%.*s%s", S3F_I(dir)->key, (int)len, name,
			 is_dir ? "/" : "");
}

/* A new inode for @key (taken over: freed with the inode). */
struct inode *s3f_new_inode(struct super_block *sb, const char *key,
			    const struct s3f_attrs *attrs)
{
	struct inode *inode;
	struct s3f_inode *si;

	inode = new_inode(sb);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	si = S3F_I(inode);
	if (s3f_set_key(inode, key)) {
		iput(inode);
		return ERR_PTR(-ENOMEM);
	}
	inode->i_ino = get_next_ino();
	/* writeback only looks at hashed inodes; ours are found by dentry */
	inode_fake_hash(inode);
	inode->i_mode = s3f_mode(sb, attrs);
	s3f_set_attrs(inode, attrs);

	switch (inode->i_mode & S_IFMT) {
	case S_IFDIR:
		inode->i_op = &s3f_dir_iops;
		inode->i_fop = &s3f_dir_fops;
		set_nlink(inode, 2);
		break;
	case S_IFLNK:
		inode->i_op = &s3f_symlink_iops;
		inode_nohighmem(inode);
		inode->i_mapping->a_ops = &s3f_aops;
		break;
	default:
		inode->i_op = &s3f_file_iops;
		inode->i_fop = &s3f_file_fops;
		inode->i_mapping->a_ops = &s3f_aops;
		break;
	}
	return inode;
}

/* Fold fresh attributes into a live inode; drop cached pages of an old version. */
void s3f_inode_refresh(struct inode *inode, const struct s3f_attrs *attrs)
{
	struct s3f_inode *si = S3F_I(inode);
	bool changed;

	if (s3f_inode_dirty(inode))
		return;		/* local changes win until committed */
	spin_lock(&si->lock);
	changed = S_ISREG(inode->i_mode) && si->etag[0] &&
		  strcmp(si->etag, attrs->etag);
	s3f_set_attrs(inode, attrs);
	spin_unlock(&si->lock);

	if (changed) {
		pr_debug("%s changed in S3: dropping its cached pages\n", si->key);
		invalidate_inode_pages2(inode->i_mapping);
	}
}

/*
 * meta=stat (the default): an inode known only from a listing shows
 * s3fs metadata (mode, owner, mtime, symlink type) from its first stat
 * on, which costs one LOOKUP (readdir prefetches them in parallel).
 */
bool s3f_stat_needs_meta(struct inode *inode)
{
	return !READ_ONCE(S3F_I(inode)->meta_checked) &&
	       !S3F_SB(inode->i_sb)->opts.meta_listing;
}

bool s3f_inode_fresh(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);
	unsigned int ttl = S3F_SB(inode->i_sb)->opts.ttl;
	bool fresh;

	if (s3f_inode_dirty(inode))
		return true;
	spin_lock(&si->lock);
	fresh = si->attr_time &&
		time_before(jiffies, si->attr_time + ttl * HZ);
	spin_unlock(&si->lock);
	return fresh;
}

/*
 * Ask S3 about the inode's key again.  -ESTALE when it is gone or is
 * now the other type (a file became a directory, or back).
 */
int s3f_inode_revalidate(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_attrs attrs;
	size_t len = strlen(si->key);
	char *key;
	int err;

	if (inode == d_inode(inode->i_sb->s_root))
		return 0;	/* the root always exists */
	if (s3f_inode_dirty(inode))
		return 0;	/* local changes win until committed */
	/* LOOKUP takes keys without the directory slash */
	key = kstrndup(si->key, S_ISDIR(inode->i_mode) ? len - 1 : len, GFP_KERNEL);
	if (!key)
		return -ENOMEM;
	err = s3f_op_lookup(inode->i_sb, key,
			    S_ISDIR(inode->i_mode) ? S3F_TYPE_DIR : 0, &attrs);
	kfree(key);
	if (err == -ENOENT)
		return -ESTALE;
	if (err)
		return err;
	/* the type is the inode's for life: another type is another inode */
	if ((s3f_mode(inode->i_sb, &attrs) & S_IFMT) != (inode->i_mode & S_IFMT))
		return -ESTALE;
	s3f_inode_refresh(inode, &attrs);
	return 0;
}

static int s3f_getattr(struct user_namespace *mnt_userns, const struct path *path,
		       struct kstat *stat, u32 request_mask, unsigned int flags)
{
	struct inode *inode = d_inode(path->dentry);
	struct s3f_inode *si = S3F_I(inode);

	if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_FORCE_SYNC ||
	    ((flags & AT_STATX_SYNC_TYPE) != AT_STATX_DONT_SYNC &&
	     (!s3f_inode_fresh(inode) || s3f_stat_needs_meta(inode))))
		s3f_inode_revalidate(inode);	/* on failure: what we know */

	spin_lock(&si->lock);
	generic_fillattr(mnt_userns, inode, stat);
	spin_unlock(&si->lock);
	stat->blksize = S3F_READ_CHUNK;
	return 0;
}

/*
 * Permission decisions need the real mode: an inode known only from a
 * listing fetches its s3fs metadata first (one HEAD, once).  Without a
 * helper the mount's defaults decide.
 */
static int s3f_permission(struct user_namespace *mnt_userns,
			  struct inode *inode, int mask)
{
	if (!READ_ONCE(S3F_I(inode)->meta_checked)) {
		if (mask & MAY_NOT_BLOCK)
			return -ECHILD;
		s3f_inode_revalidate(inode);
	}
	return generic_permission(mnt_userns, inode, mask);
}

/* A new size: the page cache, the staging file and the clean limit follow. */
static int s3f_setattr_size(struct inode *inode, loff_t size)
{
	struct s3f_inode *si = S3F_I(inode);
	int err = 0;

	down_write(&si->stage_sem);
	if (size < i_size_read(inode))
		err = s3f_stage_truncate(inode, size);
	if (!err) {
		truncate_setsize(inode, size);
		si->clean_limit = min_t(loff_t, si->clean_limit, size);
		atomic64_inc(&si->changes);
	}
	up_write(&si->stage_sem);
	return err;
}

/*
 * chmod, chown, utimes, truncate: applied here, committed with the data
 * (s3fs-fuse metadata on the object) at the next commit point, or
 * commit_delay from now when no writer has the file open.  A
 * directory's go to its marker at once.
 */
static int s3f_setattr(struct user_namespace *mnt_userns, struct dentry *dentry,
		       struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	struct s3f_inode *si = S3F_I(inode);
	char etag[S3F_ETAG_MAX];
	int err;

	err = setattr_prepare(mnt_userns, dentry, attr);
	if (err)
		return err;
	if (S_ISDIR(inode->i_mode)) {
		if (inode == d_inode(inode->i_sb->s_root))
			return -EPERM;	/* the mount's root is no object */
		setattr_copy(mnt_userns, inode, attr);
		return s3f_op_mkdir(inode->i_sb, si->key, inode, etag);
	}
	if ((attr->ia_valid & ATTR_SIZE) && attr->ia_size != i_size_read(inode)) {
		err = s3f_setattr_size(inode, attr->ia_size);
		if (err)
			return err;
	}
	setattr_copy(mnt_userns, inode, attr);
	atomic64_inc(&si->changes);
	s3f_mark_dirty(inode);
	if (atomic_read(&inode->i_writecount) <= 0)
		s3f_schedule_commit(inode, S3F_SB(inode->i_sb)->opts.commit_delay);
	return 0;
}

const struct inode_operations s3f_file_iops = {
	.permission	= s3f_permission,
	.getattr	= s3f_getattr,
	.setattr	= s3f_setattr,
};

const struct inode_operations s3f_dir_iops = {
	.lookup		= s3f_lookup,
	.permission	= s3f_permission,
	.getattr	= s3f_getattr,
	.setattr	= s3f_setattr,
	.create		= s3f_create,
	.mkdir		= s3f_mkdir,
	.rmdir		= s3f_rmdir,
	.unlink		= s3f_unlink,
	.rename		= s3f_rename,
	.symlink	= s3f_symlink,
	.link		= s3f_link,
};

/* s3fs-fuse symlinks: the object's body is the target. */
const struct inode_operations s3f_symlink_iops = {
	.get_link	= page_get_link,
	.getattr	= s3f_getattr,
	.setattr	= s3f_setattr,
};
