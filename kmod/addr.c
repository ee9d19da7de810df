// SPDX-License-Identifier: GPL-2.0
/*
 * s3f address space: page-cache reads as large ranged GETs.
 *
 * readahead cuts its window into runs of up to S3F_READ_CHUNK and starts
 * one asynchronous READ upcall per run, so a sequential reader keeps
 * several multi-MiB GETs in flight (the window is S3F_READAHEAD, reached
 * at the stream's first asynchronous window: s3f_readahead_ramp).
 * read_folio, for what readahead did not cover, reads one folio.
 *
 * The helper answers a READ with the address of the bytes in its own
 * memory; the REPLY handler, running in the helper's sendmsg, copies them
 * straight into the locked folios (the only copy between the helper's
 * buffer and the page cache), then marks them uptodate and unlocks them.
 * A failed, timed-out or refused READ unlocks them not uptodate, so the
 * reader gets EIO.  The READ carries the ETag of the version the inode
 * describes; the helper refuses bytes of another version (ESTALE).
 *
 * A written inode's pages come from three places (stage.c): its staging
 * file for staged pages, zeros past the clean limit, S3 below it.
 *
 * Writes: write_begin reads a page first unless the write covers it or
 * it holds only zeros; a dirtied page puts the inode on the dirty list
 * (dirty_folio).  writepages copies dirty pages into the staging file,
 * synchronously and without the helper, so reclaim and the flusher
 * never wait on userspace.  There is no ->writepage: reclaim leaves our
 * dirty pages to the flusher.
 */
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/writeback.h>

#include "s3f.h"

static struct s3f_read *s3f_read_alloc(struct inode *inode, loff_t pos,
				       unsigned int max_folios)
{
	struct s3f_read *rd;

	rd = kzalloc(struct_size(rd, folios, max_folios), GFP_KERNEL);
	if (!rd)
		return NULL;
	s3f_sb_calls(inode->i_sb, 1);	/* umount waits until it ends */
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
	unsigned int i;
	size_t off, n;

	if (!access_ok(buf, len))
		return -EFAULT;
	iov_iter_ubuf(&iter, ITER_SOURCE, buf, len);
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

/*
 * A READ refused (ESTALE) because this mount committed a new version
 * meanwhile: the bytes asked for are not staged, so they are the same
 * in the new version.  Ask again, once, for that one.
 */
static bool s3f_read_retry(struct s3f_read *rd)
{
	struct s3f_inode *si = S3F_I(rd->inode);
	bool retry;

	spin_lock(&si->lock);
	retry = !rd->retried && si->etag[0] && strcmp(si->etag, rd->etag);
	if (retry)
		strscpy(rd->etag, si->etag, sizeof(rd->etag));
	spin_unlock(&si->lock);
	if (!retry)
		return false;
	rd->retried = true;
	rd->filled = 0;
	return !s3f_op_read_start(rd->inode->i_sb, rd);
}

void s3f_read_done(struct s3f_read *rd, int error)
{
	struct super_block *sb = rd->inode->i_sb;
	struct s3f_sb_info *sbi = S3F_SB(sb);
	loff_t end = rd->filled;
	unsigned int i;

	if (error == -ESTALE && s3f_read_retry(rd))
		return;

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
	s3f_sb_calls(sb, -1);
}

static void s3f_read_submit(struct s3f_read *rd)
{
	/* past the clean limit S3 has nothing for us (zeros) */
	loff_t isize = min_t(loff_t, i_size_read(rd->inode),
			     READ_ONCE(S3F_I(rd->inode)->clean_limit));
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

/* Where the bytes of @folio are. */
enum s3f_source { S3F_FROM_S3, S3F_FROM_STAGE, S3F_ZEROS };

static enum s3f_source s3f_folio_source(struct inode *inode, struct folio *folio)
{
	if (s3f_staged(inode, folio->index))
		return S3F_FROM_STAGE;
	if (folio_pos(folio) >= READ_ONCE(S3F_I(inode)->clean_limit))
		return S3F_ZEROS;
	return S3F_FROM_S3;
}

/* Fill a folio that does not come from S3, and unlock it. */
static void s3f_read_local(struct inode *inode, struct folio *folio,
			   enum s3f_source src)
{
	int err = 0;

	if (src == S3F_FROM_STAGE)
		err = s3f_stage_read_folio(inode, folio);
	else
		folio_zero_range(folio, 0, folio_size(folio));
	if (!err)
		folio_mark_uptodate(folio);
	folio_unlock(folio);
}

static int s3f_read_folio(struct file *file, struct folio *folio)
{
	struct inode *inode = folio->mapping->host;
	enum s3f_source src = s3f_folio_source(inode, folio);
	struct s3f_read *rd;

	if (src != S3F_FROM_S3) {
		s3f_read_local(inode, folio, src);
		return 0;
	}
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

/*
 * The kernel ramps a sequential reader's window up from four times the
 * read (4 MiB for 1 MiB reads) by doubling it each time the reader
 * enters the previous window, up to the maximum (S3F_READAHEAD).  That
 * suits disks; on S3 every GET costs a round trip and a server-side
 * setup, and a ramp of 4, 8, 16 MiB leaves the stream with one or two
 * GETs in flight for its first seconds and a lone GET at its tail.
 * Keep the kernel's first window (the reader's first bytes come back
 * with one GET), then make the first window read ahead asynchronously
 * the full size at once.  readahead_expand() grows the ra state as
 * well, so the kernel goes on from there: the next window starts when
 * the reader enters this one.
 */
static void s3f_readahead_ramp(struct readahead_control *ractl)
{
	struct file_ra_state *ra = ractl->ra;
	loff_t isize = i_size_read(ractl->mapping->host);
	loff_t start = readahead_pos(ractl), end;

	/* only an asynchronous window below the maximum */
	if (!ra || readahead_index(ractl) != ra->start ||
	    ra->async_size != ra->size || ra->size >= ra->ra_pages)
		return;
	end = min_t(loff_t, isize, start + ((loff_t)ra->ra_pages << PAGE_SHIFT));
	if (end > start + (loff_t)readahead_length(ractl))
		readahead_expand(ractl, start, round_up(end - start, PAGE_SIZE));
}

/*
 * A stream's first window is synchronous: the reader waits for the part
 * it asked for, and the kernel places its async mark right after that
 * part, so the next window (the full one, s3f_readahead_ramp) starts
 * only when the reader has it.  One GET for the whole first window (4 MiB
 * for 1 MiB reads) makes the stream wait for all of it first.  Give the
 * part the reader waits for its own READ, so the next window starts
 * while the rest of the first one is still coming.  Only where the rest
 * is large and the file goes on past the window: small files and small
 * reads keep one GET.  Returns the index of the first folio of the async
 * part, or ULONG_MAX.
 */
static pgoff_t s3f_readahead_split(struct readahead_control *ractl)
{
	struct file_ra_state *ra = ractl->ra;
	loff_t isize = i_size_read(ractl->mapping->host);

	if (!ra || readahead_index(ractl) != ra->start ||
	    ra->async_size >= ra->size ||
	    ((loff_t)ra->async_size << PAGE_SHIFT) < S3F_READ_SPLIT_MIN ||
	    isize <= (loff_t)(ra->start + ra->size) << PAGE_SHIFT)
		return ULONG_MAX;
	return ra->start + ra->size - ra->async_size;
}

static void s3f_readahead(struct readahead_control *ractl)
{
	struct inode *inode = ractl->mapping->host;
	unsigned int max = S3F_READ_CHUNK / PAGE_SIZE;
	struct s3f_read *rd = NULL;
	struct folio *folio;
	pgoff_t split;

	s3f_readahead_ramp(ractl);
	split = s3f_readahead_split(ractl);
	while ((folio = readahead_folio(ractl))) {
		enum s3f_source src = s3f_folio_source(inode, folio);

		if (src != S3F_FROM_S3) {
			/* ends the current run: READs cover contiguous bytes */
			if (rd)
				s3f_read_submit(rd);
			rd = NULL;
			s3f_read_local(inode, folio, src);
			continue;
		}
		if (rd && (rd->nr == max || rd->span >= S3F_READ_CHUNK ||
			   (folio->index >= split &&
			    rd->pos < (loff_t)split << PAGE_SHIFT))) {
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

/*
 * Prepare a page for a write of @len bytes at @pos: read it unless the
 * write covers it, or it holds only zeros.
 */
static int s3f_write_begin(struct file *file, struct address_space *mapping,
			   loff_t pos, unsigned int len, s3f_wb_page **pagep,
			   void **fsdata)
{
	struct inode *inode = mapping->host;
	enum s3f_source src;
	struct folio *folio;
	struct page *page;
	int err;

again:
	page = grab_cache_page_write_begin(mapping, pos >> PAGE_SHIFT);
	if (!page)
		return -ENOMEM;
	folio = page_folio(page);
	*pagep = s3f_wb_page_of(folio);
	if (folio_test_uptodate(folio) || len == folio_size(folio))
		return 0;
	src = s3f_folio_source(inode, folio);
	if (src == S3F_ZEROS) {
		folio_zero_range(folio, 0, folio_size(folio));
		folio_mark_uptodate(folio);
		return 0;
	}

	/* the read unlocks the folio, when done or at once on failure */
	err = s3f_read_folio(file, folio);
	if (err) {
		folio_put(folio);
		return err;
	}
	folio_lock(folio);
	if (folio->mapping != mapping) {	/* truncated meanwhile */
		folio_unlock(folio);
		folio_put(folio);
		goto again;
	}
	if (!folio_test_uptodate(folio)) {
		folio_unlock(folio);
		folio_put(folio);
		return -EIO;
	}
	return 0;
}

static int s3f_write_end(struct file *file, struct address_space *mapping,
			 loff_t pos, unsigned int len, unsigned int copied,
			 s3f_wb_page *page, void *fsdata)
{
	struct folio *folio = s3f_wb_folio(page);
	struct inode *inode = mapping->host;

	if (!folio_test_uptodate(folio)) {
		/* a whole-page write that copied short: the VFS retries */
		if (copied < len) {
			copied = 0;
			goto out;
		}
		folio_mark_uptodate(folio);
	}
	/*
	 * Dirty first, then the size: a commit that sees the new size finds
	 * the page dirty (s3f_commit_prepare), never a hole past the bytes
	 * it stages.
	 */
	folio_mark_dirty(folio);
	smp_wmb();
	if (pos + copied > i_size_read(inode))
		i_size_write(inode, pos + copied);
out:
	folio_unlock(folio);
	folio_put(folio);
	return copied;
}

/* A page was dirtied: the inode has something to commit. */
static bool s3f_dirty_folio(struct address_space *mapping, struct folio *folio)
{
	if (!filemap_dirty_folio(mapping, folio))
		return false;
	s3f_mark_dirty(mapping->host);
	return true;
}

/* write_cache_pages() callback: one locked, dirty-cleared folio to the staging file. */
static int s3f_stage_one(s3f_wcp_page *page, struct writeback_control *wbc,
			 void *data)
{
	struct folio *folio = s3f_wcp_folio(page);
	struct inode *inode = folio->mapping->host;
	loff_t isize = i_size_read(inode), pos = folio_pos(folio);
	int err;

	if (pos >= isize) {	/* truncated away */
		folio_unlock(folio);
		return 0;
	}
	folio_start_writeback(folio);
	err = s3f_stage_write_folio(inode, folio,
				    min_t(loff_t, folio_size(folio), isize - pos));
	if (err) {
		/* keep the data: dirty again, and tell fsync */
		pr_warn_ratelimited("%s: staging page %lu failed: %d\n",
				    S3F_I(inode)->key, folio->index, err);
		s3f_report_error(inode, err);
		folio_redirty_for_writepage(wbc, folio);
	}
	folio_end_writeback(folio);
	folio_unlock(folio);
	return err;
}

static int s3f_writepages(struct address_space *mapping,
			  struct writeback_control *wbc)
{
	struct s3f_inode *si = S3F_I(mapping->host);
	int err;

	/*
	 * A small file has no staging file until its commit makes one
	 * (S3F_LAZY_STAGE_MAX), if it needs one at all (inline commits,
	 * commit.c), and writeback cannot upcall for one.  Leave the pages
	 * dirty and: for fsync or sync, nothing (they commit next); for
	 * background writeback of a file still being written, have a
	 * worker make the staging file; else commit now (it is due soon).
	 */
	if (!READ_ONCE(si->stage)) {
		if (!mapping_tagged(mapping, PAGECACHE_TAG_DIRTY))
			return 0;
		if (atomic_read(&mapping->host->i_writecount) <= 0)
			s3f_schedule_commit(mapping->host, 0);
		else if (wbc->sync_mode == WB_SYNC_NONE)
			s3f_schedule_stage(mapping->host);
		return 0;
	}
	/*
	 * A commit's snapshot holds stage_sem briefly: background writeback
	 * comes back later.  While the helper reads the staging file for a
	 * COMMIT it is frozen: the pages stay dirty, for the next commit
	 * (fsync and sync commit after writeback, and stage them then).
	 * Writeback never waits for the helper.
	 */
	if (wbc->sync_mode == WB_SYNC_NONE) {
		if (!down_read_trylock(&si->stage_sem))
			return 0;
	} else if (down_read_killable(&si->stage_sem)) {
		return -EINTR;
	}
	err = 0;
	if (!READ_ONCE(si->inflight))
		err = s3f_stage_range(mapping, wbc);
	up_read(&si->stage_sem);
	return err;
}

/* Stage the dirty pages @wbc names.  Caller holds stage_sem, thawed. */
int s3f_stage_range(struct address_space *mapping, struct writeback_control *wbc)
{
	return write_cache_pages(mapping, wbc, s3f_stage_one, NULL);
}

/*
 * O_DIRECT is taken and served through the page cache: doing nothing
 * here makes generic_file_{read,write}_iter fall back to buffered I/O,
 * after writing back (a read) or before dropping the pages (a write).
 * S3 has no blocks to aim DMA at; what matters is that O_DIRECT users
 * (databases, fsx -Z) can open the file and stay coherent with the
 * page cache and mmap.
 */
static ssize_t s3f_direct_IO(struct kiocb *iocb, struct iov_iter *iter)
{
	return 0;
}

const struct address_space_operations s3f_aops = {
	.read_folio	= s3f_read_folio,
	.readahead	= s3f_readahead,
	.write_begin	= s3f_write_begin,
	.write_end	= s3f_write_end,
	.dirty_folio	= s3f_dirty_folio,
	.writepages	= s3f_writepages,
	.direct_IO	= s3f_direct_IO,
};
