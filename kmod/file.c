// SPDX-License-Identifier: GPL-2.0
/*
 * s3f regular files: reads, writes and mmap through the page cache.
 *
 * Close-to-open consistency, as NFS (the default; nocto turns it off):
 * the last writer's close commits the file and returns the commit's
 * error, and open() asks S3 about the object again (one LOOKUP) unless
 * the inode has local changes, which win.  An unchanged ETag keeps the
 * cached pages; a changed one drops them, so a file reopened after
 * another client replaced the object reads the new version, and a file
 * whose object did not change is not fetched twice.  With nocto, open()
 * trusts attributes confirmed within actimeo, and close schedules the
 * commit commit_delay later.
 *
 * Writes go to the page cache (the inode gets a staging file first, so
 * writeback has somewhere to put them); commit.c turns them into an
 * object at the commit points: fsync here, the last writer's close
 * (flush), and the timed and sync commits.
 */
#include <linux/bvec.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/uio.h>

#include "s3f.h"

static int s3f_file_open(struct inode *inode, struct file *file)
{
	int err;

	if (!S3F_SB(inode->i_sb)->opts.nocto || !s3f_inode_fresh(inode)) {
		err = s3f_inode_revalidate(inode);
		if (err == -ESTALE)
			return -ENOENT;	/* deleted (or now a directory) in S3 */
		if (err)
			return err;
	}
	return generic_file_open(inode, file);
}

/*
 * Write-behind: once a file that has its staging file has had
 * S3F_STAGE_BEHIND bytes written since its last staging, a worker
 * stages them (s3f_stage_work_fn) while the writer goes on, on another
 * CPU where there is one.  fsync and close then find little left to
 * copy, and memory holds little of the file dirty.  A writer that gets
 * S3F_FILE_DIRTY_MAX ahead of the worker stages the file itself.
 */
static void s3f_write_behind(struct inode *inode, ssize_t written)
{
	struct s3f_inode *si = S3F_I(inode);
	long unstaged = atomic_long_add_return(written, &si->unstaged);

	if (unstaged > S3F_FILE_DIRTY_MAX && !s3f_stage_try(inode)) {
		atomic_long_set(&si->unstaged, 0);
		filemap_fdatawrite(inode->i_mapping);
	} else if (unstaged >= S3F_STAGE_BEHIND && READ_ONCE(si->stage)) {
		s3f_schedule_stage(inode);
	}
}

static ssize_t s3f_file_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	size_t count = iov_iter_count(from);
	loff_t end = iocb->ki_pos + count;
	ssize_t ret;

	/* what cannot be staged is refused now, not lost at the commit */
	ret = s3f_stage_space(inode->i_sb, count);
	if (ret)
		return ret;

	/*
	 * A big file wants its staging file now, so that writeback can
	 * move its pages out of memory.  Without a helper (restarting) the
	 * write still goes to the page cache: the commit makes the file,
	 * and dirty limits throttle the writer until then.  A helper that
	 * refuses one (a full or broken staging directory) fails the write:
	 * bytes that cannot be staged are not taken.  (O_APPEND: the offset
	 * is known only under the inode lock; assume the worst.)
	 */
	if (end > S3F_LAZY_STAGE_MAX || (iocb->ki_flags & IOCB_APPEND) ||
	    i_size_read(inode) > S3F_LAZY_STAGE_MAX) {
		ret = s3f_stage_try(inode);
		if (ret && ret != -ENOTCONN && ret != -ETIMEDOUT && ret != -EINTR)
			return ret;
	}
	ret = generic_file_write_iter(iocb, from);
	if (ret > 0)
		s3f_write_behind(inode, ret);
	return ret;
}

/* Zeros into [@pos, @end) through the page cache, as write(2) would. */
static int s3f_write_zeros(struct file *file, loff_t pos, loff_t end)
{
	struct bio_vec bv[16];
	struct iov_iter iter;
	struct kiocb kiocb;
	unsigned int i;
	ssize_t n;

	for (i = 0; i < ARRAY_SIZE(bv); i++)
		bv[i] = (struct bio_vec){ .bv_page = ZERO_PAGE(0), .bv_len = PAGE_SIZE };
	init_sync_kiocb(&kiocb, file);
	while (pos < end) {
		size_t chunk = min_t(loff_t, end - pos, sizeof(bv) / sizeof(bv[0]) * PAGE_SIZE);

		iov_iter_bvec(&iter, WRITE, bv, ARRAY_SIZE(bv), chunk);
		kiocb.ki_pos = pos;
		n = generic_perform_write(&kiocb, &iter);
		if (n < 0)
			return n;
		if (!n)
			return -EIO;
		pos += n;
		s3f_write_behind(file_inode(file), n);
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

/*
 * fallocate: S3 stores every byte, so there is nothing to reserve but
 * room in the staging file system.  Mode 0 (and ZERO_RANGE) past EOF
 * grow the file as truncate(2) would; PUNCH_HOLE and ZERO_RANGE write
 * zeros over the range below EOF (an object has no holes); KEEP_SIZE
 * alone only checks for room.  Other modes: EOPNOTSUPP.
 */
static long s3f_fallocate(struct file *file, int mode, loff_t offset, loff_t len)
{
	struct inode *inode = file_inode(file);
	loff_t end = offset + len, size;
	int err;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	err = s3f_stage_space(inode->i_sb, len);
	if (err)
		return err;
	if (end > S3F_LAZY_STAGE_MAX) {
		err = s3f_stage_try(inode);
		if (err && err != -ENOTCONN && err != -ETIMEDOUT && err != -EINTR)
			return err;
	}
	inode_lock(inode);
	err = file_modified(file);
	if (err)
		goto out_unlock;
	size = i_size_read(inode);
	if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) && offset < size)
		err = s3f_write_zeros(file, offset, min(end, size));
	if (!err && !(mode & FALLOC_FL_KEEP_SIZE) && end > size) {
		err = s3f_setattr_size(inode, end);
		if (!err)
			s3f_mark_dirty(inode);
	}
out_unlock:
	inode_unlock(inode);
	return err;
}

/*
 * fsync, fdatasync, msync(MS_SYNC), O_SYNC writes: the object in S3 is
 * this file's content when it returns 0.
 */
static int s3f_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	int err;

	/* a small file's staging file is made by the commit (writepages cannot) */
	err = file_write_and_wait_range(file, 0, LLONG_MAX);
	if (err)
		return err;
	return s3f_commit(file_inode(file));
}

/*
 * Every close(2) of a descriptor.  The last writer's commits the file
 * and returns the error (commit_delay=0, the default with cto), or
 * schedules the commit.
 */
static int s3f_file_flush(struct file *file, fl_owner_t id)
{
	struct inode *inode = file_inode(file);
	unsigned int delay = S3F_SB(inode->i_sb)->opts.commit_delay;

	if (!(file->f_mode & FMODE_WRITE) || file_count(file) > 1 ||
	    atomic_read(&inode->i_writecount) > 1)
		return 0;
	if (!s3f_inode_dirty(inode) && !READ_ONCE(S3F_I(inode)->stage))
		return 0;
	if (!delay)
		return s3f_commit(inode);
	s3f_schedule_commit(inode, delay);
	return 0;
}

/*
 * The last writer is gone.  Changes made after its close(2) (through a
 * shared mapping that outlived the descriptor) are committed
 * commit_delay from now; with nothing left to commit, the staging file
 * is dropped.  (Killed meanwhile: the next commit or the eviction drops
 * it.)
 */
static int s3f_file_release(struct inode *inode, struct file *file)
{
	if (!(file->f_mode & FMODE_WRITE) || atomic_read(&inode->i_writecount) != 1)
		return 0;
	if (s3f_inode_dirty(inode)) {
		s3f_schedule_commit(inode, S3F_SB(inode->i_sb)->opts.commit_delay);
		return 0;
	}
	if (READ_ONCE(S3F_I(inode)->stage) &&
	    !s3f_commit_lock(inode)) {
		if (!s3f_inode_dirty(inode))
			s3f_stage_release(inode);
		mutex_unlock(&S3F_I(inode)->commit_mutex);
	}
	return 0;
}

/*
 * A shared writable mapping is about to dirty a page: have a worker ask
 * for a staging file if there is none yet (else the commit will).  Never
 * here: the fault holds mmap_lock, and stage_sem is taken before the
 * staging file system's sb_writers (writeback), which a write(2) there
 * takes before it faults in its buffer: lockdep found that cycle; and a
 * fault must not wait for the helper.
 */
static vm_fault_t s3f_page_mkwrite(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);

	if (!READ_ONCE(S3F_I(inode)->stage))
		s3f_schedule_stage(inode);
	return filemap_page_mkwrite(vmf);
}

static const struct vm_operations_struct s3f_file_vm_ops = {
	.fault		= filemap_fault,
	.map_pages	= filemap_map_pages,
	.page_mkwrite	= s3f_page_mkwrite,
};

static int s3f_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	file_accessed(file);
	vma->vm_ops = &s3f_file_vm_ops;
	return 0;
}

const struct file_operations s3f_file_fops = {
	.open		= s3f_file_open,
	.flush		= s3f_file_flush,
	.release	= s3f_file_release,
	.llseek		= generic_file_llseek,
	.read_iter	= generic_file_read_iter,
	.write_iter	= s3f_file_write_iter,
	.mmap		= s3f_file_mmap,
	.splice_read	= s3f_splice_read,
	.splice_write	= iter_file_splice_write,
	.fsync		= s3f_fsync,
	.fallocate	= s3f_fallocate,
};
