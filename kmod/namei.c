// SPDX-License-Identifier: GPL-2.0
/*
 * s3f lookup and dentry revalidation.
 *
 * A name resolves to a directory when there are keys under "name/" (a
 * "name/" marker counts), else to a file when the object "name" exists.
 * What a path walk trusts follows NFS's lookupcache= (s3f.h):
 *   positive (the default)  a positive dentry for actimeo; a name found
 *                           missing is asked for again at every lookup,
 *                           so an object another node or S3 client just
 *                           made is found at once
 *   all                     negative dentries too, for actimeo, and a
 *                           directory whose entries are all in the
 *                           dcache (a full listing, or its mkdir)
 *                           answers a lookup of another name with "no
 *                           such entry" itself, as NFS and Ceph do
 *   none                    every lookup asks S3
 * open() asks S3 about the file again in any case (file.c: close-to-open).
 *
 * Namespace changes map to S3 as s3fs-fuse does: a new file is local
 * until its first commit (then an object, If-None-Match: *); mkdir PUTs
 * a "dir/" marker; unlink and rmdir delete; rename copies then deletes
 * (a directory key by key: not atomic); symlink PUTs an object whose
 * body is the target.  Hard links do not exist in S3: EPERM.
 */
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/namei.h>
#include <linux/slab.h>

#include "s3f.h"

/*
 * May the dcache answer "no such entry" in @dir: does it hold every
 * entry (within actimeo), and does lookupcache=all allow that answer?
 */
bool s3f_dir_complete(struct inode *dir)
{
	struct s3f_mount_opts *o = &S3F_SB(dir->i_sb)->opts;
	unsigned long t = READ_ONCE(S3F_I(dir)->complete_time);

	return o->lookupcache == S3F_LOOKUPCACHE_ALL && t &&
	       time_before(jiffies, t + o->actimeo * HZ);
}

struct dentry *s3f_lookup(struct inode *dir, struct dentry *dentry,
			  unsigned int flags)
{
	struct super_block *sb = dir->i_sb;
	struct inode *inode = NULL;
	struct s3f_attrs attrs;
	char *key;
	int err;

	if (dentry->d_name.len > S3F_MAX_NAME_LEN)
		return ERR_PTR(-ENAMETOOLONG);
	key = s3f_child_key(dir, dentry->d_name.name, dentry->d_name.len, false);
	if (!key)
		return ERR_PTR(-ENOMEM);
	if (strlen(key) > S3F_MAX_KEY_LEN - 1) {
		kfree(key);
		return ERR_PTR(-ENAMETOOLONG);
	}

	if (s3f_dir_complete(dir)) {
		kfree(key);
		dentry->d_time = READ_ONCE(S3F_I(dir)->complete_time);
		return d_splice_alias(NULL, dentry);
	}
	kfree(key);
	/* the directory's key must not change between asking and filing */
	if (down_read_killable(&S3F_SB(sb)->rename_sem))
		return ERR_PTR(-EINTR);
	key = s3f_child_key(dir, dentry->d_name.name, dentry->d_name.len, false);
	if (!key) {
		err = -ENOMEM;
		goto out_unlock;
	}
	/* a file with changes not yet in S3 is found here, not there */
	inode = s3f_ilookup_local(sb, key);
	if (inode) {
		kfree(key);
		dentry->d_time = jiffies;
		up_read(&S3F_SB(sb)->rename_sem);
		return d_splice_alias(inode, dentry);
	}
	err = s3f_op_lookup(sb, key, 0, &attrs);
	kfree(key);
	if (err && err != -ENOENT)
		goto out_unlock;

	dentry->d_time = jiffies;
	if (!err) {
		key = s3f_child_key(dir, dentry->d_name.name, dentry->d_name.len,
				    attrs.type == S3F_TYPE_DIR);
		inode = key ? s3f_iget(sb, key, &attrs) : ERR_PTR(-ENOMEM);
		kfree(key);
		s3f_xattrs_put(attrs.xattrs);
		if (IS_ERR(inode)) {
			err = PTR_ERR(inode);
			goto out_unlock;
		}
	}
	up_read(&S3F_SB(sb)->rename_sem);
	return d_splice_alias(inode, dentry);

out_unlock:
	up_read(&S3F_SB(sb)->rename_sem);
	return ERR_PTR(err);
}

/*
 * Is @inode's key still named @dentry?  Not after a conflicting commit
 * made the inode the conflict copy (commit.c): the name then belongs to
 * the other writer's object.
 */
static bool s3f_key_names(struct inode *inode, struct dentry *dentry)
{
	const char *key = READ_ONCE(S3F_I(inode)->key);
	size_t klen = strlen(key), nlen = dentry->d_name.len;

	if (S_ISDIR(inode->i_mode))
		klen--;		/* the slash */
	return klen >= nlen && !memcmp(key + klen - nlen, dentry->d_name.name, nlen) &&
	       (klen == nlen || key[klen - nlen - 1] == '/');
}

/*
 * @dentry (positive) is to be looked up again: its directory must ask
 * S3 for that name, not answer from the dcache.
 */
static int s3f_d_invalid(struct dentry *dentry)
{
	struct inode *dir = d_inode_rcu(READ_ONCE(dentry->d_parent));

	if (dir)
		WRITE_ONCE(S3F_I(dir)->complete_time, 0);
	return 0;
}

static int s3f_d_revalidate(struct dentry *dentry, unsigned int flags)
{
	struct s3f_mount_opts *o = &S3F_SB(dentry->d_sb)->opts;
	struct inode *inode;
	int err;

	inode = d_inode_rcu(dentry);
	if (!inode)	/* negative: trusted for actimeo with lookupcache=all */
		return o->lookupcache == S3F_LOOKUPCACHE_ALL &&
		       time_before(jiffies, dentry->d_time + o->actimeo * HZ);
	if (inode != d_inode(dentry->d_sb->s_root) && !s3f_key_names(inode, dentry))
		return s3f_d_invalid(dentry);
	/*
	 * An inode known only from a listing may be a symlink (s3fs keeps
	 * the type in metadata listings do not carry): look before use.
	 * lookupcache=none: every walk asks (local changes still win).
	 */
	if (s3f_inode_fresh(inode) && !s3f_stat_needs_meta(inode) &&
	    (o->lookupcache != S3F_LOOKUPCACHE_NONE || s3f_inode_dirty(inode)))
		return 1;
	if (flags & LOOKUP_RCU)
		return -ECHILD;
	/* the first file of a listing used: fetch its siblings' metadata too */
	if (s3f_stat_needs_meta(inode) && !S_ISDIR(inode->i_mode)) {
		s3f_prefetch_siblings(dentry);
		if (s3f_inode_fresh(inode) && !s3f_stat_needs_meta(inode))
			return 1;
	}

	err = s3f_inode_revalidate(inode);
	if (err == -ESTALE)	/* gone or changed type: look it up again */
		return s3f_d_invalid(dentry);
	/* the helper is unreachable: keep what we know rather than fail the walk */
	return 1;
}

/* An entry leaves the dcache: its directory is no longer complete there. */
static void s3f_d_prune(struct dentry *dentry)
{
	if (d_really_is_positive(dentry) && dentry->d_parent != dentry)
		WRITE_ONCE(S3F_I(d_inode(dentry->d_parent))->complete_time, 0);
}

const struct dentry_operations s3f_dentry_ops = {
	.d_revalidate	= s3f_d_revalidate,
	.d_prune	= s3f_d_prune,
};

/* The key of a new entry; a valid file name S3 can hold. */
static char *s3f_new_key(struct inode *dir, struct dentry *dentry, bool is_dir)
{
	char *key;

	if (dentry->d_name.len > S3F_MAX_NAME_LEN)
		return ERR_PTR(-ENAMETOOLONG);
	if (!s3f_name_valid(dentry->d_name.name, dentry->d_name.len))
		return ERR_PTR(-EINVAL);
	key = s3f_child_key(dir, dentry->d_name.name, dentry->d_name.len, is_dir);
	if (!key)
		return ERR_PTR(-ENOMEM);
	if (strlen(key) > S3F_MAX_KEY_LEN - 1) {
		kfree(key);
		return ERR_PTR(-ENAMETOOLONG);
	}
	return key;
}

/* An inode for a name made here, owned by the caller, dated now. */
static struct inode *s3f_make_inode(s3f_idmap *idmap,
				    struct inode *dir, const char *key,
				    umode_t mode, dev_t rdev)
{
	struct s3f_attrs a = {
		.type = S_ISDIR(mode) ? S3F_TYPE_DIR : S3F_TYPE_FILE,
		.has_meta = true,
		.meta_known = true,
		.mode = mode,
		.rdev = huge_encode_dev(rdev),
		.mtime_ns = ktime_get_real_ns(),
	};
	struct timespec64 now;
	struct inode *inode;

	inode = s3f_new_inode(dir->i_sb, key, &a);
	if (IS_ERR(inode))
		return inode;
	inode_init_owner(idmap, inode, dir, mode);
	now = current_time(inode);
	s3f_set_mtime(inode, now);
	s3f_set_ctime(inode, now);
	s3f_set_atime(inode, now);
	return inode;
}

static void s3f_dir_changed(struct inode *dir)
{
	struct timespec64 now = current_time(dir);

	s3f_set_mtime(dir, now);
	s3f_set_ctime(dir, now);
}

/* A new file exists only here until its first commit. */
int s3f_create(s3f_idmap *idmap, struct inode *dir,
	       struct dentry *dentry, umode_t mode, bool excl)
{
	struct rw_semaphore *rename_sem = &S3F_SB(dir->i_sb)->rename_sem;
	struct inode *inode;
	char *key;

	if (down_read_killable(rename_sem))
		return -EINTR;
	key = s3f_new_key(dir, dentry, false);
	inode = IS_ERR(key) ? ERR_CAST(key) :
		s3f_make_inode(idmap, dir, key, S_IFREG | (mode & 07777), 0);
	if (!IS_ERR(key))
		kfree(key);
	up_read(rename_sem);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	atomic64_inc(&S3F_I(inode)->changes);
	s3f_mark_dirty(inode);
	dentry->d_time = jiffies;
	d_instantiate(dentry, inode);
	s3f_dir_changed(dir);
	return 0;
}

/*
 * mknod(2) of a FIFO, a socket or a device node (regular files go to
 * create): an empty object whose s3fs-fuse mode says what it is, and
 * x-amz-meta-rdev a device's number, committed before it returns.
 * SB_I_NODEV keeps a device node from being opened.
 */
int s3f_mknod(s3f_idmap *idmap, struct inode *dir,
	      struct dentry *dentry, umode_t mode, dev_t rdev)
{
	struct rw_semaphore *rename_sem = &S3F_SB(dir->i_sb)->rename_sem;
	struct inode *inode;
	char *key;
	int err;

	if (!S_ISFIFO(mode) && !S_ISSOCK(mode) && !S_ISCHR(mode) && !S_ISBLK(mode))
		return -EINVAL;
	if (down_read_killable(rename_sem))
		return -EINTR;
	key = s3f_new_key(dir, dentry, false);
	inode = IS_ERR(key) ? ERR_CAST(key) :
		s3f_make_inode(idmap, dir, key, mode & (S_IFMT | 07777), rdev);
	if (!IS_ERR(key))
		kfree(key);
	up_read(rename_sem);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	atomic64_inc(&S3F_I(inode)->changes);
	s3f_mark_dirty(inode);
	err = s3f_commit(inode);
	if (err) {
		if (!s3f_commit_lock(inode)) {
			s3f_forget(inode);
			mutex_unlock(&S3F_I(inode)->commit_mutex);
		}
		set_bit(S3F_STALE, &S3F_I(inode)->flags);
		iput(inode);
		return err;
	}
	dentry->d_time = jiffies;
	d_instantiate(dentry, inode);
	s3f_dir_changed(dir);
	return 0;
}

int s3f_mkdir(s3f_idmap *idmap, struct inode *dir,
	      struct dentry *dentry, umode_t mode)
{
	struct rw_semaphore *rename_sem = &S3F_SB(dir->i_sb)->rename_sem;
	struct inode *inode;
	char etag[S3F_ETAG_MAX];
	char *key;
	int err;

	if (down_read_killable(rename_sem))
		return -EINTR;
	key = s3f_new_key(dir, dentry, true);
	if (IS_ERR(key)) {
		err = PTR_ERR(key);
		goto out_unlock;
	}
	inode = s3f_make_inode(idmap, dir, key, S_IFDIR | (mode & 07777), 0);
	if (IS_ERR(inode)) {
		err = PTR_ERR(inode);
		goto out_free;
	}
	err = s3f_op_mkdir(dir->i_sb, key, inode, 0, etag);
	if (err) {
		set_bit(S3F_STALE, &S3F_I(inode)->flags);
		iput(inode);
		goto out_free;
	}
	kfree(key);
	up_read(rename_sem);
	/* nothing can be under a key the marker was just made for... within actimeo */
	WRITE_ONCE(S3F_I(inode)->complete_time, jiffies | 1);
	dentry->d_time = jiffies;
	d_instantiate(dentry, inode);
	s3f_dir_changed(dir);
	return 0;

out_free:
	kfree(key);
out_unlock:
	up_read(rename_sem);
	return err;
}

int s3f_rmdir(struct inode *dir, struct dentry *dentry)
{
	struct rw_semaphore *rename_sem = &S3F_SB(dir->i_sb)->rename_sem;
	struct inode *inode = d_inode(dentry);
	const char *key;
	int err;

	if (down_read_killable(rename_sem))
		return -EINTR;
	key = S3F_I(inode)->key;
	/* children not committed yet are in no listing */
	if (s3f_dirty_under(dir->i_sb, key) || s3f_inflight_under(dir->i_sb, key))
		err = -ENOTEMPTY;
	else
		err = s3f_op_rmdir(dir->i_sb, key);
	up_read(rename_sem);
	if (err)
		return err;
	clear_nlink(inode);
	s3f_dir_changed(dir);
	return 0;
}

/* Is there an object for @inode (was it ever committed or read from S3)? */
bool s3f_in_s3(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);

	return si->etag[0] || si->committed;
}

/*
 * The object goes at once; an open file stays readable and writable
 * through its descriptors but is never committed again.
 */
int s3f_unlink(struct inode *dir, struct dentry *dentry)
{
	struct rw_semaphore *rename_sem = &S3F_SB(dir->i_sb)->rename_sem;
	struct inode *inode = d_inode(dentry);
	struct s3f_inode *si = S3F_I(inode);
	int err;

	/* a COMMIT in flight may still publish the key: wait for it */
	err = s3f_commit_lock(inode);
	if (err)
		return err;
	if (down_read_killable(rename_sem)) {
		err = -EINTR;
		goto out_unlock;
	}
	if (s3f_in_s3(inode))
		err = s3f_op_delete(dir->i_sb, si->key);
	if (!err)
		s3f_forget(inode);
	up_read(rename_sem);
out_unlock:
	mutex_unlock(&si->commit_mutex);
	if (err)
		return err;
	drop_nlink(inode);
	s3f_set_ctime(inode, current_time(inode));
	s3f_dir_changed(dir);
	return 0;
}

int s3f_symlink(s3f_idmap *idmap, struct inode *dir,
		struct dentry *dentry, const char *target)
{
	struct rw_semaphore *rename_sem = &S3F_SB(dir->i_sb)->rename_sem;
	struct s3f_inode *si;
	struct inode *inode;
	size_t len = strlen(target);
	char *key;
	int err;

	if (len > S3F_MAX_TARGET_LEN)
		return -ENAMETOOLONG;
	if (down_read_killable(rename_sem))
		return -EINTR;
	key = s3f_new_key(dir, dentry, false);
	if (IS_ERR(key)) {
		up_read(rename_sem);
		return PTR_ERR(key);
	}
	inode = s3f_make_inode(idmap, dir, key, S_IFLNK | 0777, 0);
	if (IS_ERR(inode)) {
		kfree(key);
		up_read(rename_sem);
		return PTR_ERR(inode);
	}
	si = S3F_I(inode);
	err = s3f_op_symlink(dir->i_sb, key, target, inode, si->etag);
	kfree(key);
	up_read(rename_sem);
	if (err) {
		set_bit(S3F_STALE, &S3F_I(inode)->flags);
		iput(inode);
		return err;
	}
	i_size_write(inode, len);
	si->base_size = len;
	si->clean_limit = len;
	si->attr_time = jiffies;
	dentry->d_time = jiffies;
	d_instantiate(dentry, inode);
	s3f_dir_changed(dir);
	return 0;
}

int s3f_link(struct dentry *old_dentry, struct inode *dir, struct dentry *dentry)
{
	pr_info_ratelimited("hard links are not supported (%pd -> %pd): S3 has no way to share an object\n",
			    dentry, old_dentry);
	return -EPERM;
}

/*
 * After a directory's keys were copied: a file under it whose staged or
 * cached bytes are based on the old object takes the copy's ETag as its
 * base (a multipart copy gets a new one), when the copy is the size of
 * its base; others are asked again when next used.  Holding rename_sem
 * exclusive, so nothing commits meanwhile.
 */
static void s3f_rebase_copy(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_attrs attrs;

	if (S_ISDIR(inode->i_mode) || !si->etag[0])
		return;
	if (!s3f_inode_dirty(inode) && !inode->i_mapping->nrpages) {
		WRITE_ONCE(si->attr_time, 0);
		return;
	}
	if (s3f_op_lookup(inode->i_sb, si->key, S3F_TYPE_FILE, &attrs) ||
	    (s3f_xattrs_put(attrs.xattrs), attrs.type != S3F_TYPE_FILE) ||
	    attrs.size != si->base_size) {
		pr_warn("%s: the renamed copy is not its base version; its next commit may be a conflict copy\n",
			si->key);
		return;
	}
	spin_lock(&si->lock);
	strscpy(si->etag, attrs.etag, sizeof(si->etag));
	spin_unlock(&si->lock);
}

/*
 * Point every cached inode under directory key @old at @new (a
 * directory rename; rename_sem held exclusive).  Inodes are looked at
 * under s_inode_list_lock and re-keyed outside it, holding a reference,
 * as drop_pagecache_sb does.
 */
static int s3f_rekey_prefix(struct super_block *sb, const char *old,
			    const char *new)
{
	size_t olen = strlen(old);
	struct inode *inode, *toput = NULL;
	char *key;
	int err = 0;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		const char *cur = READ_ONCE(S3F_I(inode)->key);

		if (!cur || strncmp(cur, old, olen))
			continue;
		spin_lock(&inode->i_lock);
		if (inode->i_state & (I_FREEING | I_WILL_FREE | I_NEW)) {
			spin_unlock(&inode->i_lock);
			continue;
		}
		__iget(inode);
		spin_unlock(&inode->i_lock);
		spin_unlock(&sb->s_inode_list_lock);

		key = kasprintf(GFP_KERNEL, "%s%s", new, cur + olen);
		if (!key || s3f_set_key(inode, key))
			err = -ENOMEM;
		else
			s3f_rebase_copy(inode);
		kfree(key);
		iput(toput);
		toput = inode;

		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(toput);
	return err;
}

/*
 * A directory: every key under it is copied, then deleted (not atomic),
 * and every cached inode under it re-keyed.  Nothing else may use a key
 * under it meanwhile: the rename holds rename_sem exclusive, and waits
 * for COMMITs in flight under it to end first.
 */
static int s3f_rename_dir(struct inode *old_dir, struct dentry *old_dentry,
			  struct inode *new_dir, struct dentry *new_dentry,
			  bool noreplace)
{
	struct super_block *sb = old_dir->i_sb;
	struct rw_semaphore *rename_sem = &S3F_SB(sb)->rename_sem;
	struct inode *target = d_inode(new_dentry);
	const char *old_key;
	char *new_key;
	int err;

	/* an existing target must be empty: remove it first, as rmdir would */
	if (target) {
		err = s3f_rmdir(new_dir, new_dentry);
		if (err)
			return err;
	}
	old_key = S3F_I(d_inode(old_dentry))->key;
	err = s3f_commit_prefix(sb, old_key);
	if (err)
		return err;

	if (down_write_killable(rename_sem))
		return -EINTR;
	if (wait_event_killable(s3f_commit_waitq, !s3f_inflight_under(sb, old_key))) {
		err = -EINTR;
		goto out_unlock;
	}
	new_key = s3f_new_key(new_dir, new_dentry, true);
	if (IS_ERR(new_key)) {
		err = PTR_ERR(new_key);
		goto out_unlock;
	}
	err = s3f_op_rename(sb, old_key, new_key, true, noreplace, NULL, 0, NULL);
	if (!err)
		err = s3f_rekey_prefix(sb, old_key, new_key);
	kfree(new_key);
out_unlock:
	up_write(rename_sem);
	return err;
}

/*
 * A file S3 has: commit it, copy it, delete the old key.  A file that
 * was never committed is renamed here only; when it replaces an object,
 * its first commit replaces that version (If-Match on its ETag).
 */
static int s3f_rename_file(struct inode *old_dir, struct dentry *old_dentry,
			   struct inode *new_dir, struct dentry *new_dentry,
			   bool noreplace)
{
	struct super_block *sb = old_dir->i_sb;
	struct rw_semaphore *rename_sem = &S3F_SB(sb)->rename_sem;
	struct inode *inode = d_inode(old_dentry);
	struct inode *target = d_inode(new_dentry);
	struct s3f_inode *si = S3F_I(inode);
	struct timespec64 now = current_time(inode);
	struct s3f_attrs attrs;
	char etag[S3F_ETAG_MAX] = "";
	struct s3f_key *k = NULL;
	char *new_key;
	int err;

	if (s3f_in_s3(inode)) {
		err = s3f_commit(inode);
		if (err)
			return err;
	}
	err = s3f_commit_lock(inode);
	if (err)
		return err;
	/* the target's COMMIT in flight would land on the new name: wait */
	if (target) {
		err = s3f_commit_lock_nested(target, SINGLE_DEPTH_NESTING);
		if (err)
			goto out_unlock;
	}
	if (down_read_killable(rename_sem)) {
		err = -EINTR;
		goto out_unlock_target;
	}
	new_key = s3f_new_key(new_dir, new_dentry, false);
	if (IS_ERR(new_key)) {
		err = PTR_ERR(new_key);
		goto out_up;
	}
	k = s3f_key_alloc(new_key);
	if (!k) {
		err = -ENOMEM;
		goto out_free;
	}
	if (s3f_in_s3(inode)) {
		/* the copy stores the rename's ctime (x-amz-meta-ctime) */
		err = s3f_op_rename(sb, si->key, new_key, false, noreplace,
				    si->etag, timespec64_to_ns(&now), etag);
		if (!err && !etag[0])
			err = -EIO;	/* the helper owes us the copy's ETag */
		if (!err) {
			spin_lock(&si->lock);
			strscpy(si->etag, etag, sizeof(si->etag));
			spin_unlock(&si->lock);
		}
	} else {
		err = s3f_op_lookup(sb, new_key, 0, &attrs);
		if (!err)
			s3f_xattrs_put(attrs.xattrs);
		if (!err && noreplace) {
			err = -EEXIST;
		} else if (!err && attrs.type == S3F_TYPE_FILE) {
			/* replace that version; every byte is ours (clean_limit 0) */
			spin_lock(&si->lock);
			strscpy(si->etag, attrs.etag, sizeof(si->etag));
			si->base_size = attrs.size;
			spin_unlock(&si->lock);
		} else if (err == -ENOENT) {
			err = 0;
		}
	}
	if (err)
		goto out_free;

	if (target) {
		/* its key is ours now: it goes out of the inode table */
		s3f_forget(target);
		drop_nlink(target);
	}
	s3f_install_key(inode, k);
	k = NULL;
	s3f_set_ctime(inode, now);
	/* staged bytes of an open file: the journal follows the key */
	s3f_stage_note(inode, -1);
out_free:
	kfree(k);
	kfree(new_key);
out_up:
	up_read(rename_sem);
out_unlock_target:
	if (target)
		mutex_unlock(&S3F_I(target)->commit_mutex);
out_unlock:
	mutex_unlock(&si->commit_mutex);
	return err;
}

int s3f_rename(s3f_idmap *idmap, struct inode *old_dir,
	       struct dentry *old_dentry, struct inode *new_dir,
	       struct dentry *new_dentry, unsigned int flags)
{
	bool noreplace = flags & RENAME_NOREPLACE;
	int err;

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;	/* RENAME_EXCHANGE, WHITEOUT: not in S3 */
	if (S_ISDIR(d_inode(old_dentry)->i_mode)) {
		err = s3f_rename_dir(old_dir, old_dentry, new_dir, new_dentry,
				     noreplace);
		if (!err)
			s3f_set_ctime(d_inode(old_dentry), current_time(old_dir));
	} else {
		/* sets the file's ctime: the one its copy in S3 stores */
		err = s3f_rename_file(old_dir, old_dentry, new_dir, new_dentry,
				      noreplace);
	}
	if (err)
		return err;
	s3f_dir_changed(old_dir);
	if (new_dir != old_dir)
		s3f_dir_changed(new_dir);
	return 0;
}
