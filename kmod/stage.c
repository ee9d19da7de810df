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
 * The staging file belongs to root (the helper); the kernel reads,
 * writes and truncates it with the module's own credentials, whoever
 * the writer is.
 */
#include <linux/bvec.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/xarray.h>

#include "s3f.h"

/*
 * Give @inode a staging file unless it has one.  Process context; call
 * it before dirtying a page, never from writeback.
 */
int s3f_stage_get(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);
	struct file *file;
	char *path;
	int err = 0;

	if (READ_ONCE(si->stage))
		return 0;
	down_write(&si->stage_sem);
	if (si->stage)
		goto out;
	err = s3f_op_stage_open(inode->i_sb, si->key, &file, &path);
	if (err) {
		pr_warn_ratelimited("%s: no staging file: %d\n", si->key, err);
		goto out;
	}
	spin_lock(&si->lock);
	si->stage = file;
	si->stage_path = path;
	spin_unlock(&si->lock);
out:
	up_write(&si->stage_sem);
	return err;
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
	old_cred = override_creds(s3f_kernel_cred);
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
	bvec_set_page(&bv, &folio->page, len, 0);
	iov_iter_bvec(&iter, ITER_SOURCE, &bv, 1, len);
	old_cred = override_creds(s3f_kernel_cred);
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
	old_cred = override_creds(s3f_kernel_cred);
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
