// SPDX-License-Identifier: GPL-2.0
/*
 * s3f inodes: made from what the helper says about a key (LOOKUP or a
 * listing entry), kept fresh for the mount's actimeo, revalidated after.
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
	si->xattrs = NULL;
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
	s3f_xattrs_put(si->xattrs);
	kmem_cache_free(s3f_inode_cachep, si);
}

/*
 * The inode table: one live inode per key per mount.  Inodes are hashed
 * by their key (the mount's inode hash, iget5_locked), so a lookup, a
 * listing or a create finds the inode that already holds a key, with
 * its page cache, staging file and pending commit, even when no dentry
 * leads to it any more.  An inode leaves the table's view when its key
 * is no longer its own: unlinked, replaced by a rename (s3f_forget sets
 * @unlinked), or found to be of another type in S3 (S3F_STALE); it is
 * then never found again and goes when its last user does.  A key
 * change (rename, conflict copy) re-hashes the inode under its new key.
 */
static unsigned long s3f_key_hash(const char *key)
{
	return full_name_hash(NULL, key, strlen(key));
}

struct s3f_iget_args {
	const char *key;
	struct s3f_key *k;		/* taken by s3f_inode_set */
};

/* iget5 test, under the inode hash lock: the live inode of the key? */
static int s3f_inode_test(struct inode *inode, void *data)
{
	struct s3f_iget_args *args = data;
	struct s3f_inode *si = S3F_I(inode);

	return !READ_ONCE(si->unlinked) && !test_bit(S3F_STALE, &si->flags) &&
	       !strcmp(READ_ONCE(si->key), args->key);
}

static void s3f_key_link(struct s3f_inode *si, struct s3f_key *k)
{
	spin_lock(&si->lock);
	k->prev = si->keys;
	si->keys = k;
	WRITE_ONCE(si->key, k->name);
	spin_unlock(&si->lock);
}

/* iget5 set, under the inode hash lock: a new inode takes the key. */
static int s3f_inode_set(struct inode *inode, void *data)
{
	struct s3f_iget_args *args = data;

	s3f_key_link(S3F_I(inode), args->k);
	args->k = NULL;
	inode->i_ino = get_next_ino();
	return 0;
}

struct s3f_key *s3f_key_alloc(const char *key)
{
	size_t len = strlen(key);
	struct s3f_key *k;

	k = kmalloc(sizeof(*k) + len + 1, GFP_KERNEL);
	if (k)
		memcpy(k->name, key, len + 1);
	return k;
}

/*
 * Give the inode the key @k (a rename, a conflict copy) and file it
 * under it.  The old key stays allocated until the inode is freed: see
 * struct s3f_inode.
 */
void s3f_install_key(struct inode *inode, struct s3f_key *k)
{
	s3f_key_link(S3F_I(inode), k);
	remove_inode_hash(inode);
	__insert_inode_hash(inode, s3f_key_hash(k->name));
}

int s3f_set_key(struct inode *inode, const char *key)
{
	struct s3f_key *k = s3f_key_alloc(key);

	if (!k)
		return -ENOMEM;
	s3f_install_key(inode, k);
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

/*
 * The type and permission bits the VFS sees for @a.  s3fs symlinks are
 * objects whose body is the target; other types and the set-id bits are
 * not taken from S3 (trust.c).
 */
static umode_t s3f_mode(struct super_block *sb, const struct s3f_attrs *a)
{
	struct s3f_mount_opts *o = &S3F_SB(sb)->opts;
	bool is_dir = a->type == S3F_TYPE_DIR;

	return s3f_trusted_mode(is_dir, a->has_meta, a->mode,
				is_dir ? o->dir_mode : o->file_mode, o->keep_setid);
}

/* Set the attributes that revalidation may change.  Caller holds si->lock. */
static void s3f_set_attrs(struct inode *inode, const struct s3f_attrs *a)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_mount_opts *o = &S3F_SB(inode->i_sb)->opts;
	struct timespec64 ts, cts, old;

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
		/*
		 * A directory's times change here with its entries (create,
		 * unlink, rename), which S3 does not record: the later of
		 * S3's and this mount's hold.
		 */
		old = s3f_inode_mtime(inode);
		if (!S_ISDIR(inode->i_mode) || timespec64_compare(&ts, &old) > 0)
			s3f_set_mtime(inode, ts);
		/* x-amz-meta-atime/-ctime (s3fs-fuse writes them), else mtime */
		cts = a->ctime_ns ? ns_to_timespec64(a->ctime_ns) : ts;
		old = s3f_inode_ctime(inode);
		if (!S_ISDIR(inode->i_mode) || timespec64_compare(&cts, &old) > 0)
			s3f_set_ctime(inode, cts);
		s3f_set_atime(inode, a->atime_ns ? ns_to_timespec64(a->atime_ns) : ts);
		inode->i_mode = (inode->i_mode & S_IFMT) |
				(s3f_mode(inode->i_sb, a) & 07777);
		inode->i_uid = a->has_meta ? make_kuid(&init_user_ns, a->uid) : o->uid;
		inode->i_gid = a->has_meta ? make_kgid(&init_user_ns, a->gid) : o->gid;
		if (!uid_valid(inode->i_uid))
			inode->i_uid = o->uid;
		if (!gid_valid(inode->i_gid))
			inode->i_gid = o->gid;
		if (a->meta_known) {
			s3f_inode_set_xattrs_locked(inode, a->xattrs);
			si->meta_checked = true;
		}
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

/* Set up a new inode (I_NEW) of mode @mode from @attrs. */
static void s3f_inode_setup(struct inode *inode, umode_t mode,
			    const struct s3f_attrs *attrs)
{
	inode->i_mode = mode;
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
	case S_IFREG:
		inode->i_op = &s3f_file_iops;
		inode->i_fop = &s3f_file_fops;
		inode->i_mapping->a_ops = &s3f_aops;
		break;
	default:	/* FIFO, socket, device node: an empty object */
		inode->i_op = &s3f_special_iops;
		init_special_inode(inode, inode->i_mode, huge_decode_dev(attrs->rdev));
		break;
	}
}

/*
 * The inode of @key, as S3 describes it in @attrs: the one in the table
 * (refreshed from @attrs), or a new one.
 */
struct inode *s3f_iget(struct super_block *sb, const char *key,
		       const struct s3f_attrs *attrs)
{
	struct s3f_iget_args args = { .key = key };
	umode_t mode = s3f_mode(sb, attrs);
	struct inode *inode;

	for (;;) {
		args.k = s3f_key_alloc(key);
		if (!args.k)
			return ERR_PTR(-ENOMEM);
		inode = iget5_locked(sb, s3f_key_hash(key), s3f_inode_test,
				     s3f_inode_set, &args);
		kfree(args.k);
		if (!inode)
			return ERR_PTR(-ENOMEM);
		if (inode->i_state & I_NEW) {
			s3f_inode_setup(inode, mode, attrs);
			unlock_new_inode(inode);
			return inode;
		}
		if ((inode->i_mode & S_IFMT) == (mode & S_IFMT))
			break;
		/* S3 now has another type there (a file became a link) */
		set_bit(S3F_STALE, &S3F_I(inode)->flags);
		iput(inode);
	}
	s3f_inode_refresh(inode, attrs);
	return inode;
}

/*
 * The inode of @key if the table has one with local changes S3 does not
 * have yet (a new file not committed, or one being written): it is the
 * truth about the key, whatever S3 says, and whether or not the dcache
 * still has its name.
 */
struct inode *s3f_ilookup_local(struct super_block *sb, const char *key)
{
	struct s3f_iget_args args = { .key = key };
	struct inode *inode;

	inode = ilookup5(sb, s3f_key_hash(key), s3f_inode_test, &args);
	if (inode && !s3f_inode_dirty(inode) && !READ_ONCE(S3F_I(inode)->inflight)) {
		iput(inode);
		inode = NULL;
	}
	return inode;
}

/*
 * A new inode for @key, made here (create, mkdir, symlink): whatever
 * inode the table still had for the key is out of date.
 */
struct inode *s3f_new_inode(struct super_block *sb, const char *key,
			    const struct s3f_attrs *attrs)
{
	struct s3f_iget_args args = { .key = key };
	struct inode *inode;

	for (;;) {
		args.k = s3f_key_alloc(key);
		if (!args.k)
			return ERR_PTR(-ENOMEM);
		inode = iget5_locked(sb, s3f_key_hash(key), s3f_inode_test,
				     s3f_inode_set, &args);
		kfree(args.k);
		if (!inode)
			return ERR_PTR(-ENOMEM);
		if (inode->i_state & I_NEW)
			break;
		set_bit(S3F_STALE, &S3F_I(inode)->flags);
		iput(inode);
	}
	s3f_inode_setup(inode, s3f_mode(sb, attrs), attrs);
	unlock_new_inode(inode);
	return inode;
}

/*
 * Fold fresh attributes into a live inode; drop cached pages of an old
 * version.  Local changes win until committed: an inode on the dirty
 * list, with uncounted changes or a COMMIT in flight keeps what it has.
 * A file's local changes are made under its inode lock (write, setattr),
 * so a refresh takes it too, or does nothing when it is taken.
 */
void s3f_inode_refresh(struct inode *inode, const struct s3f_attrs *attrs)
{
	struct s3f_inode *si = S3F_I(inode);
	bool locked = false, changed = false;

	if (!S_ISDIR(inode->i_mode)) {
		if (!inode_trylock(inode))
			return;
		locked = true;
	}
	spin_lock(&si->lock);
	if (!s3f_inode_dirty(inode) && !si->inflight &&
	    atomic64_read(&si->changes) == si->committed) {
		changed = S_ISREG(inode->i_mode) && si->etag[0] &&
			  strcmp(si->etag, attrs->etag);
		s3f_set_attrs(inode, attrs);
	}
	spin_unlock(&si->lock);

	if (changed) {
		pr_debug("%s changed in S3: dropping its cached pages\n", si->key);
		invalidate_inode_pages2(inode->i_mapping);
	}
	if (locked)
		inode_unlock(inode);
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
	unsigned int actimeo = S3F_SB(inode->i_sb)->opts.actimeo;
	bool fresh;

	if (s3f_inode_dirty(inode))
		return true;
	spin_lock(&si->lock);
	fresh = si->attr_time &&
		time_before(jiffies, si->attr_time + actimeo * HZ);
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
	/*
	 * The type hint makes it one request: a file's HEAD (open() of a
	 * file costs one), a directory's listing.  A directory made over a
	 * file's name meanwhile is seen by the next lookup of the name.
	 */
	err = s3f_op_lookup(inode->i_sb, key,
			    S_ISDIR(inode->i_mode) ? S3F_TYPE_DIR : S3F_TYPE_FILE,
			    &attrs);
	kfree(key);
	if (err == -ENOENT)
		return -ESTALE;
	if (err)
		return err;
	/* the type is the inode's for life: another type is another inode */
	if ((s3f_mode(inode->i_sb, &attrs) & S_IFMT) != (inode->i_mode & S_IFMT))
		err = -ESTALE;
	else
		s3f_inode_refresh(inode, &attrs);
	s3f_xattrs_put(attrs.xattrs);
	return err;
}

static int s3f_getattr(s3f_idmap *idmap, const struct path *path,
		       struct kstat *stat, u32 request_mask, unsigned int flags)
{
	struct inode *inode = d_inode(path->dentry);
	struct s3f_inode *si = S3F_I(inode);

	if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_FORCE_SYNC ||
	    ((flags & AT_STATX_SYNC_TYPE) != AT_STATX_DONT_SYNC &&
	     (!s3f_inode_fresh(inode) || s3f_stat_needs_meta(inode))))
		s3f_inode_revalidate(inode);	/* on failure: what we know */

	spin_lock(&si->lock);
	s3f_fillattr(idmap, request_mask, inode, stat);
	spin_unlock(&si->lock);
	stat->blksize = S3F_READ_CHUNK;
	/* an object stores every byte: du and sparse-file checks see that */
	if (!S_ISDIR(inode->i_mode))
		stat->blocks = (stat->size + 511) >> 9;
	return 0;
}

/*
 * Permission decisions need the real mode: an inode known only from a
 * listing fetches its s3fs metadata first (one HEAD, once).  When that
 * fails (no helper, S3 unreachable) the answer is the error, never the
 * mount's defaults: they may grant what the object's metadata denies.
 */
static int s3f_permission(s3f_idmap *idmap,
			  struct inode *inode, int mask)
{
	int err;

	if (!READ_ONCE(S3F_I(inode)->meta_checked)) {
		if (mask & MAY_NOT_BLOCK)
			return -ECHILD;
		err = s3f_inode_revalidate(inode);
		if (err && !READ_ONCE(S3F_I(inode)->meta_checked))
			return err;
	}
	return generic_permission(idmap, inode, mask);
}

/*
 * Take @inode's stage_sem exclusive with no COMMIT reading its staging
 * file: a truncation changes the file.  Killable.
 */
static int s3f_stage_lock_thawed(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);
	int err;

	for (;;) {
		if (down_write_killable(&si->stage_sem))
			return -EINTR;
		if (!READ_ONCE(si->inflight))
			return 0;
		up_write(&si->stage_sem);
		err = s3f_wait_thawed(inode);
		if (err)
			return err;
	}
}

/*
 * A new size: the page cache, the staging file and the clean limit
 * follow.  Counted as a change; the caller marks the inode dirty.
 * Lowering the clean limit of a staged file is noted in its journal
 * first, under the commit lock so that no COMMIT's end records an older
 * limit after the note.
 */
int s3f_setattr_size(struct inode *inode, loff_t size)
{
	struct s3f_inode *si = S3F_I(inode);
	bool lowers = size < READ_ONCE(si->clean_limit);
	int err;

	if (lowers) {
		err = s3f_commit_lock(inode);
		if (err)
			return err;
		/* after a crash, zeros where zeros are due */
		err = s3f_stage_note(inode, size);
		if (err)
			goto out_unlock;
	}
	err = s3f_stage_lock_thawed(inode);
	if (err)
		goto out_renote;
	/* the staging file follows both ways: its size is the file's */
	if (size != i_size_read(inode))
		err = s3f_stage_truncate(inode, size);
	if (!err) {
		truncate_setsize(inode, size);
		si->clean_limit = min_t(loff_t, si->clean_limit, size);
		atomic64_inc(&si->changes);
	}
	up_write(&si->stage_sem);
out_renote:
	if (err && lowers)
		s3f_stage_note(inode, -1);	/* it did not happen */
out_unlock:
	if (lowers)
		mutex_unlock(&si->commit_mutex);
	return err;
}

/*
 * Metadata of @inode changed here (setattr, setxattr; under the inode
 * lock): a directory's marker is updated now, @what (S3F_MKDIR_*) naming
 * the fields that changed; a file's change is counted and committed
 * before the caller returns when no writer has the file open (but
 * @own_writers, those the caller stands for itself), as NFS's SETATTR,
 * else with its data (or commit_delay from now).
 */
int s3f_meta_changed(struct inode *inode, int own_writers, unsigned int what)
{
	unsigned int delay = S3F_SB(inode->i_sb)->opts.commit_delay;
	struct s3f_inode *si = S3F_I(inode);
	char etag[S3F_ETAG_MAX];
	int err;

	if (S_ISDIR(inode->i_mode)) {
		struct rw_semaphore *rename_sem = &S3F_SB(inode->i_sb)->rename_sem;

		if (down_read_killable(rename_sem))
			return -EINTR;
		err = s3f_op_mkdir(inode->i_sb, si->key, inode,
				   S3F_MKDIR_SETATTR | what, etag);
		up_read(rename_sem);
		return err;
	}
	/* a commit that counts this change sees it made (s3f_commit_snapshot) */
	smp_mb__before_atomic();
	atomic64_inc(&si->changes);
	s3f_mark_dirty(inode);
	if (atomic_read(&inode->i_writecount) - own_writers > 0)
		return 0;
	if (!delay)
		return s3f_commit(inode);
	s3f_schedule_commit(inode, delay);
	return 0;
}

/* The S3F_MKDIR_* fields a setattr of @ia_valid changes. */
static unsigned int s3f_setattr_fields(unsigned int ia_valid)
{
	return (ia_valid & ATTR_MODE ? S3F_MKDIR_MODE : 0) |
	       (ia_valid & (ATTR_UID | ATTR_GID) ? S3F_MKDIR_OWNER : 0) |
	       (ia_valid & ATTR_MTIME ? S3F_MKDIR_MTIME : 0) |
	       (ia_valid & ATTR_ATIME ? S3F_MKDIR_ATIME : 0);
}

/*
 * chmod, chown, utimes, truncate: applied here, committed as
 * s3f_meta_changed() says: with s3fs-fuse metadata on the object, a
 * directory's on its marker.
 */
static int s3f_setattr(s3f_idmap *idmap, struct dentry *dentry,
		       struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	int err;

	err = setattr_prepare(idmap, dentry, attr);
	if (err)
		return err;
	/*
	 * The mount's root is no object: its mode, owner and times are kept
	 * in memory for the mount's life (touch or chmod of a mount point
	 * works, as on s3fs-fuse).
	 */
	if (inode == d_inode(inode->i_sb->s_root)) {
		setattr_copy(idmap, inode, attr);
		return 0;
	}
	if (!S_ISDIR(inode->i_mode) && (attr->ia_valid & ATTR_SIZE) &&
	    attr->ia_size != i_size_read(inode)) {
		/* truncate(2) asks for no times: a size change sets both */
		if (!(attr->ia_valid & ATTR_MTIME)) {
			attr->ia_mtime = current_time(inode);
			attr->ia_ctime = attr->ia_mtime;
			attr->ia_valid |= ATTR_MTIME | ATTR_CTIME;
		}
		err = s3f_setattr_size(inode, attr->ia_size);
		if (err)
			return err;
	}
	setattr_copy(idmap, inode, attr);
	/* truncate(2) holds write access itself (vfs_truncate) */
	return s3f_meta_changed(inode,
		(attr->ia_valid & (ATTR_SIZE | ATTR_FILE)) == ATTR_SIZE ? 1 : 0,
		s3f_setattr_fields(attr->ia_valid));
}

const struct inode_operations s3f_file_iops = {
	.permission	= s3f_permission,
	.getattr	= s3f_getattr,
	.setattr	= s3f_setattr,
	.listxattr	= s3f_listxattr,
};

const struct inode_operations s3f_dir_iops = {
	.lookup		= s3f_lookup,
	.permission	= s3f_permission,
	.getattr	= s3f_getattr,
	.setattr	= s3f_setattr,
	.listxattr	= s3f_listxattr,
	.create		= s3f_create,
	.mkdir		= s3f_mkdir,
	.mknod		= s3f_mknod,
	.rmdir		= s3f_rmdir,
	.unlink		= s3f_unlink,
	.rename		= s3f_rename,
	.symlink	= s3f_symlink,
	.link		= s3f_link,
};

/* FIFOs, sockets, device nodes: s3fs-fuse's empty objects with a mode. */
const struct inode_operations s3f_special_iops = {
	.permission	= s3f_permission,
	.getattr	= s3f_getattr,
	.setattr	= s3f_setattr,
	.listxattr	= s3f_listxattr,
};

/* s3fs-fuse symlinks: the object's body is the target. */
const struct inode_operations s3f_symlink_iops = {
	.get_link	= page_get_link,
	.getattr	= s3f_getattr,
	.setattr	= s3f_setattr,
	.listxattr	= s3f_listxattr,
};
