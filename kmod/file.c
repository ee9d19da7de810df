// SPDX-License-Identifier: GPL-2.0
/*
 * s3f regular files: reads and mmap through the page cache.
 *
 * Close-to-open consistency, as NFS: open() asks S3 about the object
 * again unless its attributes were confirmed within the mount's ttl.  An
 * unchanged ETag keeps the cached pages; a changed one drops them, so a
 * file reopened after another client replaced the object reads the new
 * version, and a file whose object did not change is not fetched twice.
 *
 * The file system is read-only for now (SB_RDONLY): the VFS refuses every
 * write with EROFS before it reaches us.
 */
#include <linux/fs.h>
#include <linux/mm.h>

#include "s3f.h"

static int s3f_file_open(struct inode *inode, struct file *file)
{
	int err;

	if (!s3f_inode_fresh(inode)) {
		err = s3f_inode_revalidate(inode);
		if (err == -ESTALE)
			return -ENOENT;	/* deleted (or now a directory) in S3 */
		if (err)
			return err;
	}
	return generic_file_open(inode, file);
}

const struct file_operations s3f_file_fops = {
	.open		= s3f_file_open,
	.llseek		= generic_file_llseek,
	.read_iter	= generic_file_read_iter,
	.mmap		= generic_file_readonly_mmap,
	.splice_read	= generic_file_splice_read,
	.fsync		= noop_fsync,
};
