// SPDX-License-Identifier: GPL-2.0
/*
 * s3f staging files: where a written inode's dirty pages go before they
 * become part of an object.
 *
 * The helper makes the file (STAGE_OPEN) in its staging directory and
 * the REPLY handler takes a reference to it; from then on the kernel
 * alone writes it (writeback) and reads it back (read_folio of a page
 * that was evicted after staging), so neither waits on the helper and
 * the file outlives a helper crash.  The file is sparse: page i of the
 * inode is at offset i * PAGE_SIZE, and @staged records which pages are
 * there.  Every other byte below the inode's clean limit is the base
 * object's (read from S3 when needed, never downloaded to stage it);
 * above the clean limit it is a zero (the file was truncated, or grew).
 *
 * The helper creates the file and gives it to the owner of the inode,
 * so its blocks count against that user's quota; the kernel reads,
 * writes and truncates it with the module's own credentials less
 * CAP_SYS_RESOURCE (s3f_stage_cred), so quotas and the file system's
 * reserved blocks hold, and ENOSPC or EDQUOT reach the writer through
 * fsync and close.  write(2) fails with ENOSPC early when the staging
 * file system is nearly full (s3f_stage_space).
 */
#include <linux/bvec.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/uio.h>
#include <linux/xarray.h>

#include "s3f.h"

/*
 * What the journal of @inode's staging file records (STAGE_OPEN,
 * STAGE_NOTE): the key, the base version, the clean limit, and whether
 * the key is still the file's.
 */
void s3f_stage_state(struct inode *inode, struct s3f_stage_state *st)
{
	struct s3f_inode *si = S3F_I(inode);

	spin_lock(&si->lock);
	st->key = si->key;
	strscpy(st->etag, si->etag, sizeof(st->etag));
	st->base_size = si->base_size;
	st->clean_size = READ_ONCE(si->clean_limit);
	st->gone = READ_ONCE(si->unlinked);
	spin_unlock(&si->lock);
}

static bool s3f_stage_state_same(const struct s3f_stage_state *a,
				 const struct s3f_stage_state *b)
{
	return a->key == b->key && !strcmp(a->etag, b->etag) &&
	       a->base_size == b->base_size && a->clean_size == b->clean_size &&
	       a->gone == b->gone;
}

/*
 * Tell the helper what the journal of @inode's staging file must now
 * say, and wait until it is on disk: the state as it is, or, with
 * @clean_size >= 0, as it will be once a truncation to @clean_size is
 * applied (sent before it, so a crash never finds a journal that takes
 * zeros for the base's bytes; see Documentation/recovery.md).  0 when
 * the inode has no staging file.  Process context, no s3f lock that a
 * COMMIT's end takes.
 */
int s3f_stage_note(struct inode *inode, loff_t clean_size)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_stage_state st;
	char *path = NULL;
	int err;

	spin_lock(&si->lock);
	if (si->stage_path)
		path = kstrdup(si->stage_path, GFP_ATOMIC);
	spin_unlock(&si->lock);
	if (!path)
		return READ_ONCE(si->stage) ? -ENOMEM : 0;
	s3f_stage_state(inode, &st);
	if (clean_size >= 0)
		st.clean_size = min_t(u64, st.clean_size, clean_size);
	err = s3f_op_stage_note(inode->i_sb, path, &st);
	if (err)
		pr_warn_ratelimited("%s: staging journal not updated: %d\n", st.key, err);
	kfree(path);
	return err;
}

/*
 * Give @inode a staging file unless it has one.  Process context; call
 * it before dirtying a page, never from writeback.
 */
int s3f_stage_get(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_stage_state sent, now;
	struct file *file;
	char *path;
	int err;

	if (READ_ONCE(si->stage))
		return 0;
	s3f_stage_state(inode, &sent);
	/* no lock across the upcall: two racing callers make two files */
	err = s3f_op_stage_open(inode->i_sb, inode, &sent, &file, &path);
	if (err) {
		WRITE_ONCE(si->stage_err, err);
		WRITE_ONCE(si->stage_failed, jiffies | 1);
		pr_warn_ratelimited("%s: no staging file: %d\n", si->key, err);
		return err;
	}
	if (down_write_killable(&si->stage_sem)) {
		err = -EINTR;
		goto out_release;
	}
	if (!si->stage) {
		spin_lock(&si->lock);
		si->stage = file;
		si->stage_path = path;
		spin_unlock(&si->lock);
		file = NULL;
		/*
		 * The staging file is as long as the inode from the start
		 * (setattr keeps it so): after a crash its size is the file's.
		 */
		err = s3f_stage_truncate(inode, i_size_read(inode));
		if (err)
			pr_warn_ratelimited("%s: staging file not sized: %d\n", si->key, err);
		/*
		 * A truncation or rename while STAGE_OPEN was out found no
		 * staging file to note; from here on they do.
		 */
		s3f_stage_state(inode, &now);
	}
	up_write(&si->stage_sem);
	if (!file) {
		if (!s3f_stage_state_same(&sent, &now))
			s3f_stage_note(inode, -1);
		return 0;
	}
out_release:
	fput(file);
	s3f_op_stage_release(inode->i_sb, path);
	kfree(path);
	return err;
}

/*
 * Is @file, which the helper sent for a new staging file named @path,
 * one the kernel may write: a new, empty regular file of another file
 * system (never an s3f one: writeback would recurse), open read-write,
 * not appending, writable by its owner only, and @path names it?
 * Called in the helper's REPLY, so @path resolves as the helper sees it.
 */
bool s3f_stage_file_ok(struct file *file, const char *path)
{
	struct inode *inode = file_inode(file);
	struct path p;
	bool same;

	if (!S_ISREG(inode->i_mode) || inode->i_sb->s_magic == S3F_MAGIC ||
	    (file->f_flags & O_APPEND) || i_size_read(inode) ||
	    (inode->i_mode & 0022) || inode->i_nlink != 1 ||
	    (file->f_mode & (FMODE_READ | FMODE_WRITE)) != (FMODE_READ | FMODE_WRITE))
		return false;
	if (path[0] != '/' || kern_path(path, 0, &p))
		return false;
	same = d_backing_inode(p.dentry) == inode;
	path_put(&p);
	return same;
}

/*
 * s3f_stage_get() where the staging file is only wanted early (write(2),
 * mmap, write-behind): at most one try a second after a failure, so a
 * helper that cannot make one does not cost every write an upcall.  The
 * commit always tries.
 */
int s3f_stage_try(struct inode *inode)
{
	unsigned long failed = READ_ONCE(S3F_I(inode)->stage_failed);

	if (READ_ONCE(S3F_I(inode)->stage))
		return 0;
	if (failed && time_before(jiffies, failed + HZ))
		return READ_ONCE(S3F_I(inode)->stage_err);
	return s3f_stage_get(inode);
}

bool s3f_staged(struct inode *inode, pgoff_t index)
{
	return xa_load(&S3F_I(inode)->staged, index);
}

static struct file *s3f_stage_file(struct s3f_inode *si)
{
	struct file *file = NULL;

	spin_lock(&si->lock);
	if (si->stage)
		file = get_file(si->stage);
	spin_unlock(&si->lock);
	return file;
}

/* Fill the locked @folio from the staging file; bytes past its end are zeros. */
int s3f_stage_read_folio(struct inode *inode, struct folio *folio)
{
	struct s3f_inode *si = S3F_I(inode);
	const struct cred *old_cred;
	size_t size = folio_size(folio);
	loff_t pos = folio_pos(folio);
	struct iov_iter iter;
	struct bio_vec bv;
	struct file *file;
	ssize_t n;

	file = s3f_stage_file(si);
	if (!file)
		return -EIO;	/* staged pages and no file: cannot be */
	bvec_set_page(&bv, &folio->page, size, 0);
	iov_iter_bvec(&iter, ITER_DEST, &bv, 1, size);
	old_cred = override_creds(s3f_stage_cred);
	n = vfs_iter_read(file, &iter, &pos, 0);
	revert_creds(old_cred);
	fput(file);
	if (n < 0)
		return n;
	if (n < size)
		folio_zero_segment(folio, n, size);
	return 0;
}

/*
 * Write the first @len bytes of the locked @folio to the staging file
 * and record its pages as staged.  Caller holds stage_sem (shared).
 */
int s3f_stage_write_folio(struct inode *inode, struct folio *folio, size_t len)
{
	struct s3f_inode *si = S3F_I(inode);
	const struct cred *old_cred;
	loff_t pos = folio_pos(folio);
	struct iov_iter iter;
	struct bio_vec bv;
	long i, nr = folio_nr_pages(folio);
	ssize_t n;
	int err;

	if (!si->stage)
		return -EIO;
	if (s3f_fault_stage())
		return -ENOSPC;
	bvec_set_page(&bv, &folio->page, len, 0);
	iov_iter_bvec(&iter, ITER_SOURCE, &bv, 1, len);
	old_cred = override_creds(s3f_stage_cred);
	file_start_write(si->stage);
	n = vfs_iter_write(si->stage, &iter, &pos, 0);
	file_end_write(si->stage);
	revert_creds(old_cred);
	if (n < 0)
		return n;
	if (n != len)
		return -EIO;
	for (i = 0; i < nr; i++) {
		err = xa_err(xa_store(&si->staged, folio->index + i,
				      xa_mk_value(1), GFP_NOFS));
		if (err)
			return err;
	}
	atomic64_inc(&si->changes);
	return 0;
}

/*
 * Make the staging file @size bytes long: shorter drops the pages past
 * @size (the file's holes then read as zeros), longer adds a hole.
 * Caller holds stage_sem exclusive.
 */
int s3f_stage_truncate(struct inode *inode, loff_t size)
{
	struct s3f_inode *si = S3F_I(inode);
	const struct cred *old_cred;
	unsigned long index;
	void *entry;
	int err;

	if (!si->stage)
		return 0;
	old_cred = override_creds(s3f_stage_cred);
	err = vfs_truncate(&si->stage->f_path, size);
	revert_creds(old_cred);
	if (err)
		return err;
	xa_for_each_start(&si->staged, index, entry, DIV_ROUND_UP(size, PAGE_SIZE))
		xa_erase(&si->staged, index);
	return 0;
}

static int s3f_extent_add(struct s3f_extent *ext, unsigned int *nr,
			  u64 off, u64 end)
{
	if (*nr && ext[*nr - 1].off + ext[*nr - 1].len == off) {
		ext[*nr - 1].len += end - off;
		return 0;
	}
	if (*nr == S3F_MAX_EXTENTS)
		return -E2BIG;
	ext[*nr].off = off;
	ext[*nr].len = end - off;
	(*nr)++;
	return 0;
}

/*
 * The byte ranges of a file of @size that differ from the base object:
 * its staged pages, and everything from the clean limit on.  kvfree()
 * the result.  ERR_PTR(-E2BIG) past S3F_MAX_EXTENTS (see s3f_stage_fill).
 * Caller holds stage_sem exclusive.
 */
struct s3f_extent *s3f_stage_extents(struct inode *inode, loff_t size,
				     unsigned int *nr)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_extent *ext;
	unsigned long index;
	void *entry;
	u64 off, end;
	int err = 0;

	ext = kvmalloc_array(S3F_MAX_EXTENTS, sizeof(*ext), GFP_KERNEL);
	if (!ext)
		return ERR_PTR(-ENOMEM);
	*nr = 0;
	xa_for_each(&si->staged, index, entry) {
		off = (u64)index << PAGE_SHIFT;
		if (off >= size || off >= si->clean_limit)
			break;
		end = min_t(u64, off + PAGE_SIZE, size);
		err = s3f_extent_add(ext, nr, off, end);
		if (err)
			goto out_free;
	}
	if (si->clean_limit < size) {
		off = si->clean_limit;
		if (*nr && ext[*nr - 1].off + ext[*nr - 1].len > off)
			ext[*nr - 1].len = off - ext[*nr - 1].off;
		err = s3f_extent_add(ext, nr, off, size);
		if (err)
			goto out_free;
	}
	return ext;

out_free:
	kvfree(ext);
	return ERR_PTR(err);
}

/*
 * Stage every page below the clean limit that is not staged yet, so
 * the whole file is one extent: for files written in more scattered
 * places than one COMMIT can describe.  Clean pages are read through
 * the page cache (from S3).  Caller holds stage_sem exclusive.
 */
int s3f_stage_fill(struct inode *inode, loff_t size)
{
	struct s3f_inode *si = S3F_I(inode);
	loff_t limit = min_t(loff_t, si->clean_limit, size);
	pgoff_t index, last = DIV_ROUND_UP(limit, PAGE_SIZE);
	struct folio *folio;
	int err;

	for (index = 0; index < last; index++) {
		if (s3f_staged(inode, index))
			continue;
		folio = read_mapping_folio(inode->i_mapping, index, NULL);
		if (IS_ERR(folio))
			return PTR_ERR(folio);
		folio_lock(folio);
		err = s3f_stage_write_folio(inode, folio,
					    min_t(loff_t, folio_size(folio),
						  size - folio_pos(folio)));
		folio_unlock(folio);
		folio_put(folio);
		if (err)
			return err;
		cond_resched();
	}
	return 0;
}

/*
 * Room for @bytes more in the mount's staging file system?  -ENOSPC
 * when what is left would fall under S3F_STAGE_RESERVE; 0 when it is
 * unknown (no staging directory, a read-only mount).
 */
int s3f_stage_space(struct super_block *sb, size_t bytes)
{
	struct s3f_sb_info *sbi = S3F_SB(sb);
	unsigned long now = jiffies;
	struct kstatfs st;
	s64 avail;

	if (!sbi->staging_dir.dentry)
		return 0;
	/* a statfs at most every second, and when the room may run out */
	avail = atomic64_sub_return(bytes, &sbi->space_left);
	if (avail > S3F_STAGE_RESERVE &&
	    time_before(now, READ_ONCE(sbi->space_time) + HZ))
		return 0;
	if (vfs_statfs(&sbi->staging_dir, &st))
		return 0;
	avail = (s64)min_t(u64, (u64)st.f_bavail * st.f_bsize, S64_MAX / 2);
	atomic64_set(&sbi->space_left, avail);
	WRITE_ONCE(sbi->space_time, now);
	if (avail < (s64)bytes + S3F_STAGE_RESERVE) {
		pr_warn_ratelimited("s3://%s/%s: the staging file system is full\n",
				    sbi->opts.bucket, sbi->opts.prefix);
		return -ENOSPC;
	}
	return 0;
}

/*
 * Drop the staging file: the inode has nothing left to commit, or is
 * going away.  The helper deletes the file; s3f_commit_shutdown() keeps
 * one that holds uncommitted bytes by clearing @stage_path first.
 */
void s3f_stage_release(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);
	struct file *file;
	char *path;

	down_write(&si->stage_sem);
	if (si->inflight) {
		/* a COMMIT reads it: the next commit or the eviction drops it */
		up_write(&si->stage_sem);
		return;
	}
	spin_lock(&si->lock);
	file = si->stage;
	path = si->stage_path;
	si->stage = NULL;
	si->stage_path = NULL;
	spin_unlock(&si->lock);
	xa_destroy(&si->staged);
	up_write(&si->stage_sem);

	if (file)
		fput(file);
	if (path) {
		s3f_op_stage_release(inode->i_sb, path);
		kfree(path);
	}
}
