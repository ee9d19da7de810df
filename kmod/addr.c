// SPDX-License-Identifier: GPL-2.0
/*
 * s3f address space: page-cache reads as large ranged GETs.
 *
 * readahead cuts its window into runs of up to S3F_READ_CHUNK and starts
 * one asynchronous READ upcall per run, so a sequential reader keeps
 * several multi-MiB GETs in flight (the window is S3F_READAHEAD).
 * read_folio, for what readahead did not cover, reads one folio.
 *
 * The helper answers a READ with the address of the bytes in its own
 * memory; the REPLY handler, running in the helper's sendmsg, copies them
 * straight into the locked folios (the only copy between the helper's
 * buffer and the page cache), then marks them uptodate and unlocks them.
 * A failed, timed-out or refused READ unlocks them not uptodate, so the
 * reader gets EIO.  The READ carries the ETag of the version the inode
 * describes; the helper refuses bytes of another version (ESTALE).
 */
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "s3f.h"

static struct s3f_read *s3f_read_alloc(struct inode *inode, loff_t pos,
				       unsigned int max_folios)
{
	struct s3f_read *rd;

	rd = kzalloc(struct_size(rd, folios, max_folios), GFP_KERNEL);
	if (!rd)
		return NULL;
	rd->inode = inode;
	rd->pos = pos;
	spin_lock(&S3F_I(inode)->lock);
	strscpy(rd->etag, S3F_I(inode)->etag, sizeof(rd->etag));
	spin_unlock(&S3F_I(inode)->lock);
	return rd;
}

/* Copy the reply's bytes from the helper's memory into the folios. */
int s3f_read_fill(struct s3f_read *rd, void __user *buf, size_t len)
{
	struct iov_iter iter;
	struct iovec iov;
	unsigned int i;
	size_t off, n;
	int err;

	err = import_single_range(ITER_SOURCE, buf, len, &iov, &iter);
	if (err)
		return err;
	for (i = 0; i < rd->nr && iov_iter_count(&iter); i++) {
		struct folio *folio = rd->folios[i];

		for (off = 0; off < folio_size(folio) && iov_iter_count(&iter);
		     off += PAGE_SIZE) {
			n = min_t(size_t, PAGE_SIZE, iov_iter_count(&iter));
			if (copy_page_from_iter(folio_page(folio, off >> PAGE_SHIFT),
						0, n, &iter) != n)
				return -EFAULT;
		}
	}
	rd->filled = len;
	return 0;
}

void s3f_read_done(struct s3f_read *rd, int error)
{
	struct s3f_sb_info *sbi = S3F_SB(rd->inode->i_sb);
	loff_t end = rd->filled;
	unsigned int i;

	/*
	 * Fewer bytes than asked, though the version matched: the object is
	 * shorter than the inode says.  Never paper over that with zeros.
	 */
	if (!error && rd->filled < rd->len) {
		pr_warn_ratelimited("%s: S3 returned %zu of %zu bytes at %lld\n",
				    S3F_I(rd->inode)->key, rd->filled, rd->len, rd->pos);
		error = -EIO;
	}
	if (error)
		pr_debug("read %s @%lld+%zu failed: %d\n", S3F_I(rd->inode)->key,
			 rd->pos, rd->len, error);
	else
		atomic64_add(rd->filled, &sbi->read_bytes);
	for (i = 0; i < rd->nr; i++) {
		struct folio *folio = rd->folios[i];
		loff_t fpos = folio_pos(folio) - rd->pos;

		if (!error) {
			/* past EOF (i_size): zeros, as for a hole */
			if (end < fpos + (loff_t)folio_size(folio))
				folio_zero_segment(folio, max_t(loff_t, end - fpos, 0),
						   folio_size(folio));
			folio_mark_uptodate(folio);
		}
		folio_unlock(folio);
	}
	kfree(rd);
}

static void s3f_read_submit(struct s3f_read *rd)
{
	loff_t isize = i_size_read(rd->inode);
	int err;

	rd->len = rd->pos < isize ? min_t(loff_t, rd->span, isize - rd->pos) : 0;
	if (!rd->len) {
		s3f_read_done(rd, 0);	/* all past EOF: zeros */
		return;
	}
	err = s3f_op_read_start(rd->inode->i_sb, rd);
	if (err)
		s3f_read_done(rd, err);
}

static int s3f_read_folio(struct file *file, struct folio *folio)
{
	struct s3f_read *rd;

	rd = s3f_read_alloc(folio->mapping->host, folio_pos(folio), 1);
	if (!rd) {
		folio_unlock(folio);
		return -ENOMEM;
	}
	rd->folios[rd->nr++] = folio;
	rd->span = folio_size(folio);
	s3f_read_submit(rd);
	return 0;
}

static void s3f_readahead(struct readahead_control *ractl)
{
	struct inode *inode = ractl->mapping->host;
	unsigned int max = S3F_READ_CHUNK / PAGE_SIZE;
	struct s3f_read *rd = NULL;
	struct folio *folio;

	while ((folio = readahead_folio(ractl))) {
		if (rd && (rd->nr == max || rd->span >= S3F_READ_CHUNK)) {
			s3f_read_submit(rd);
			rd = NULL;
		}
		if (!rd) {
			rd = s3f_read_alloc(inode, folio_pos(folio), max);
			if (!rd) {
				folio_unlock(folio);
				continue;	/* read_folio will try again */
			}
		}
		rd->folios[rd->nr++] = folio;
		rd->span += folio_size(folio);
	}
	if (rd)
		s3f_read_submit(rd);
}

const struct address_space_operations s3f_aops = {
	.read_folio	= s3f_read_folio,
	.readahead	= s3f_readahead,
};
