// SPDX-License-Identifier: GPL-2.0
/*
 * s3f commits: when local changes become an S3 object.
 *
 * An inode with changes S3 does not have (dirty pages, staged pages not
 * yet committed, a truncation, new metadata, a new file) sits on its
 * superblock's dirty list, holding a reference.  Commit points:
 *
 *   fsync/fdatasync/msync(MS_SYNC)  s3f_commit() in the caller, errors
 *                                   returned to it
 *   close of the last writer        after commit_delay (0: in close)
 *   commit_interval                 at most that long after the first
 *                                   change
 *   syncfs/sync, umount             every dirty inode, waited for
 *
 * Timed commits are started by a per-superblock scan (once a second
 * while the list is not empty) and run on s3f_commit_wq, several at a
 * time; their errors go to the mapping's and the superblock's errseq,
 * so the next fsync, close-time commit or syncfs reports them.
 *
 * A commit stages every dirty page, then, holding stage_sem exclusive
 * (writeback waits, writers go on dirtying the page cache), sends one
 * COMMIT with the size, the ranges that differ from the base object
 * and the metadata; the helper uploads the staging file atomically and
 * conditionally (helper/commit.c).  The reply's ETag is the new base.
 */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/writeback.h>

#include "s3f.h"

static struct workqueue_struct *s3f_commit_wq;

/* Seconds between retries of a timed commit that failed transiently. */
#define S3F_COMMIT_RETRY	30

/*
 * Put @inode on the dirty list (it then holds a reference) unless it is
 * there.  Any context: called from ->dirty_folio.  Every local change
 * calls this after it is made, so a commit that finds nothing left and
 * takes the inode off the list cannot miss a later change.
 */
void s3f_mark_dirty(struct inode *inode)
{
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	struct s3f_inode *si = S3F_I(inode);
	bool first = false;

	spin_lock(&sbi->dirty_lock);
	if (!si->dirty && !si->unlinked) {
		si->dirty = true;
		ihold(inode);
		list_add_tail(&si->dirty_node, &sbi->dirty_list);
		si->commit_due = sbi->opts.commit_interval ?
			(jiffies + sbi->opts.commit_interval * HZ) | 1 : 0;
		first = true;
	}
	spin_unlock(&sbi->dirty_lock);
	if (first)
		queue_delayed_work(s3f_commit_wq, &sbi->commit_scan, HZ);
}

/* Commit @inode within @delay_secs (earlier if already due). */
void s3f_schedule_commit(struct inode *inode, unsigned int delay_secs)
{
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	struct s3f_inode *si = S3F_I(inode);
	unsigned long due = (jiffies + delay_secs * HZ) | 1;

	spin_lock(&sbi->dirty_lock);
	if (si->dirty && (!si->commit_due || time_before(due, si->commit_due)))
		si->commit_due = due;
	spin_unlock(&sbi->dirty_lock);
	queue_delayed_work(s3f_commit_wq, &sbi->commit_scan,
			   min_t(unsigned long, delay_secs * HZ, HZ));
}

bool s3f_inode_dirty(struct inode *inode)
{
	return READ_ONCE(S3F_I(inode)->dirty);
}

/* Queue @si's commit; the queued work holds an inode reference. */
static void s3f_queue_commit(struct s3f_inode *si)
{
	if (queue_work(s3f_commit_wq, &si->commit_work))
		ihold(&si->vfs_inode);
}

static void s3f_commit_scan_fn(struct work_struct *work)
{
	struct s3f_sb_info *sbi = container_of(to_delayed_work(work),
					       struct s3f_sb_info, commit_scan);
	struct s3f_inode *si;
	bool more;

	spin_lock(&sbi->dirty_lock);
	list_for_each_entry(si, &sbi->dirty_list, dirty_node) {
		if (si->commit_due && time_after_eq(jiffies, si->commit_due)) {
			si->commit_due = 0;
			s3f_queue_commit(si);
		}
	}
	more = !list_empty(&sbi->dirty_list);
	spin_unlock(&sbi->dirty_lock);
	if (more)
		queue_delayed_work(s3f_commit_wq, &sbi->commit_scan, HZ);
}

/*
 * Report @err to the next fsync of the file and syncfs of the mount,
 * through their errseq only: mapping_set_error() would also set AS_EIO,
 * which makes every later writeback wait (and so every retry of the
 * commit) fail before it starts.
 */
void s3f_report_error(struct inode *inode, int err)
{
	filemap_set_wb_err(inode->i_mapping, err);
	errseq_set(&inode->i_sb->s_wb_err, err);
}

static bool s3f_commit_retryable(int err)
{
	return err != -ESTALE && err != -EEXIST && err != -EACCES &&
	       err != -EPERM && err != -ENAMETOOLONG && err != -EINVAL;
}

static void s3f_commit_work_fn(struct work_struct *work)
{
	struct s3f_inode *si = container_of(work, struct s3f_inode, commit_work);
	struct inode *inode = &si->vfs_inode;
	int err;

	err = s3f_commit(inode);
	if (err) {
		s3f_report_error(inode, err);
		pr_warn_ratelimited("%s: commit failed (%d)%s\n", si->key, err,
				    s3f_commit_retryable(err) ? ", will retry" :
				    "; kept for the next fsync, sync or unmount");
		if (s3f_commit_retryable(err))
			s3f_schedule_commit(inode, S3F_COMMIT_RETRY);
	}
	iput(inode);
}

/*
 * Writeback met the dirty pages of a file still open for writing that
 * has no staging file yet (lazy staging, file.c): make it here, in
 * process context, and write the pages back to it.  Committing instead
 * would upload a file that is still being written, and again at its
 * fsync or close.  No staging file (helper gone): commit, which tries
 * again and reports the error.  Also write-behind (file.c): a file
 * being written has S3F_STAGE_BEHIND bytes to stage.
 */
static void s3f_stage_work_fn(struct work_struct *work)
{
	struct s3f_inode *si = container_of(work, struct s3f_inode, stage_work);
	struct inode *inode = &si->vfs_inode;

	if (!s3f_stage_get(inode)) {
		atomic_long_set(&si->unstaged, 0);
		filemap_flush(inode->i_mapping);
	} else {
		s3f_schedule_commit(inode, 0);
	}
	iput(inode);
}

/* From ->writepages (any context that may not upcall), write-behind: above. */
void s3f_schedule_stage(struct inode *inode)
{
	if (queue_work(s3f_commit_wq, &S3F_I(inode)->stage_work))
		ihold(inode);
}

/* Take @inode off the dirty list if nothing is left to commit.  True: iput it. */
static bool s3f_try_clean(struct inode *inode)
{
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	struct s3f_inode *si = S3F_I(inode);
	bool put = false;

	spin_lock(&sbi->dirty_lock);
	if (si->dirty &&
	    !mapping_tagged(inode->i_mapping, PAGECACHE_TAG_DIRTY) &&
	    !mapping_tagged(inode->i_mapping, PAGECACHE_TAG_WRITEBACK) &&
	    atomic64_read(&si->changes) == si->committed) {
		list_del_init(&si->dirty_node);
		si->dirty = false;
		put = true;
	}
	spin_unlock(&sbi->dirty_lock);
	return put;
}

/*
 * The key is no longer the inode's to write (unlinked, or replaced by a
 * rename): never commit it again.  Caller holds commit_mutex.
 */
void s3f_forget(struct inode *inode)
{
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	struct s3f_inode *si = S3F_I(inode);
	bool put = false;

	spin_lock(&sbi->dirty_lock);
	si->unlinked = true;
	if (si->dirty) {
		list_del_init(&si->dirty_node);
		si->dirty = false;
		put = true;
	}
	spin_unlock(&sbi->dirty_lock);
	if (put)
		iput(inode);	/* the caller holds a reference too */
}

static void s3f_commit_fill_meta(struct inode *inode, struct s3f_commit_args *a)
{
	a->mode = inode->i_mode;
	a->uid = from_kuid_munged(&init_user_ns, inode->i_uid);
	a->gid = from_kgid_munged(&init_user_ns, inode->i_gid);
	a->mtime_ns = timespec64_to_ns(&inode->i_mtime);
	a->atime_ns = timespec64_to_ns(&inode->i_atime);
	a->ctime_ns = timespec64_to_ns(&inode->i_ctime);
}

/*
 * Another writer got there first: our version went to a conflict name.
 * The inode is that object from now on (open descriptors go on seeing
 * and writing their own version, later commits go there); the name it
 * had is looked up again, and shows the other writer's version.
 */
static void s3f_commit_conflict(struct inode *inode, const char *conflict)
{
	struct s3f_inode *si = S3F_I(inode);

	atomic64_inc(&S3F_SB(inode->i_sb)->conflicts);
	pr_warn("%s: changed in S3 by another writer; this version was committed as %s\n",
		si->key, conflict);
	if (s3f_set_key(inode, conflict))
		pr_err("%s: out of memory: later commits go to the old name\n",
		       conflict);
}

/*
 * Send @a (key, size and data filled in) with the inode's base and
 * metadata, and make the result the inode's new base.  Caller holds
 * commit_mutex and stage_sem exclusive.
 */
static int s3f_commit_send(struct inode *inode, struct s3f_commit_args *a,
			   u64 changes, bool *conflict)
{
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	struct s3f_inode *si = S3F_I(inode);
	int err;

	a->key = si->key;
	a->base_etag = si->etag[0] ? si->etag : NULL;
	a->base_size = si->base_size;
	a->fail_on_conflict = sbi->opts.conflict_fail;
	s3f_commit_fill_meta(inode, a);
	err = s3f_op_commit(inode->i_sb, a);
	if (err) {
		atomic64_inc(&sbi->commit_errors);
		return err;
	}

	atomic64_inc(&sbi->commits);
	atomic64_add(a->uploaded, &sbi->commit_bytes);
	atomic64_add(a->copied, &sbi->copied_bytes);
	*conflict = a->conflict;
	if (a->conflict) {
		s3f_commit_conflict(inode, a->conflict);
		kfree(a->conflict);
	}
	spin_lock(&si->lock);
	strscpy(si->etag, a->etag, sizeof(si->etag));
	si->attr_time = jiffies;
	spin_unlock(&si->lock);
	si->base_size = a->size;
	si->clean_limit = a->size;
	si->committed = changes;
	return 0;
}

/*
 * Send the COMMIT for what is staged.  Caller holds commit_mutex and
 * stage_sem exclusive; every page was staged before.
 */
static int s3f_commit_locked(struct inode *inode, u64 changes, bool *conflict)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_commit_args a = {};
	loff_t size = i_size_read(inode);
	struct s3f_extent *ext;
	int err;

	err = s3f_stage_truncate(inode, size);
	if (err)
		return err;
	ext = s3f_stage_extents(inode, size, &a.nr_ext);
	if (ext == ERR_PTR(-E2BIG)) {
		err = s3f_stage_fill(inode, size);
		if (err)
			return err;
		ext = s3f_stage_extents(inode, size, &a.nr_ext);
	}
	if (IS_ERR(ext))
		return PTR_ERR(ext);

	a.stage_path = si->stage_path;
	a.size = size;
	a.ext = ext;
	err = s3f_commit_send(inode, &a, changes, conflict);
	kvfree(ext);
	return err;
}

/*
 * Inline commits.  A small file without a staging file (lazy staging,
 * file.c) sends its bytes in the COMMIT itself: no STAGE_OPEN, no file
 * in the staging directory, no STAGE_RELEASE; one upcall for a new
 * small file.  Its pages leave the dirty set the way writeback's do
 * (dirty bit cleared, under writeback until the reply, held by our
 * references so reclaim cannot drop them) and are dirtied again if the
 * commit fails.
 */
#define S3F_INLINE_PAGES	(S3F_COMMIT_INLINE_MAX / PAGE_SIZE)

struct s3f_inline {
	struct folio *folios[S3F_INLINE_PAGES];
	bool taken[S3F_INLINE_PAGES];	/* dirty bit cleared, under writeback */
	unsigned int nr;
	void *buf;
};

/* Give the pages back: dirty again if @failed, and drop our references. */
static void s3f_inline_release(struct address_space *mapping,
			       struct s3f_inline *in, bool failed)
{
	unsigned int i;

	for (i = 0; i < in->nr; i++) {
		struct folio *folio = in->folios[i];

		if (in->taken[i]) {
			if (failed) {
				folio_lock(folio);
				if (folio->mapping == mapping)
					folio_mark_dirty(folio);
				folio_unlock(folio);
			}
			folio_end_writeback(folio);
		}
		folio_put(folio);
	}
	kfree(in->buf);
}

/* Copy @size bytes out of the uptodate pages; stage_sem held exclusive. */
static int s3f_inline_take(struct address_space *mapping, struct s3f_inline *in,
			   loff_t size)
{
	unsigned int i;

	for (i = 0; i < in->nr; i++) {
		struct folio *folio = in->folios[i];
		loff_t pos = folio_pos(folio);
		size_t len = min_t(loff_t, folio_size(folio), size - pos), off;

		folio_lock(folio);
		if (folio->mapping != mapping || !folio_test_uptodate(folio)) {
			folio_unlock(folio);
			return -EAGAIN;		/* truncated meanwhile */
		}
		if (folio_clear_dirty_for_io(folio)) {
			folio_start_writeback(folio);
			in->taken[i] = true;
		}
		for (off = 0; off < len; off += PAGE_SIZE) {
			void *p = kmap_local_folio(folio, off);

			memcpy((char *)in->buf + pos + off, p,
			       min_t(size_t, PAGE_SIZE, len - off));
			kunmap_local(p);
		}
		folio_unlock(folio);
	}
	return 0;
}

/*
 * Commit @inode inline if it qualifies: -EAGAIN when it does not (the
 * caller takes the staging path).  Caller holds commit_mutex.
 */
static int s3f_commit_inline(struct inode *inode, u64 changes, bool *conflict)
{
	struct address_space *mapping = inode->i_mapping;
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_commit_args a = {};
	struct s3f_inline in = {};
	loff_t size = i_size_read(inode);
	pgoff_t index;
	int err;

	if (READ_ONCE(si->stage) || size <= 0 || size > S3F_COMMIT_INLINE_MAX)
		return -EAGAIN;
	/* only metadata or a truncation: the helper copies the base in S3 */
	if (si->etag[0] && !mapping_tagged(mapping, PAGECACHE_TAG_DIRTY))
		return -EAGAIN;
	in.buf = kmalloc(size, GFP_KERNEL);
	if (!in.buf)
		return -EAGAIN;
	/* every page uptodate first: clean ones may be read from S3 */
	for (index = 0; index < DIV_ROUND_UP(size, PAGE_SIZE); index++) {
		struct folio *folio = read_mapping_folio(mapping, index, NULL);

		/*
		 * No clean page (the base replaced in S3, the helper away):
		 * the staging path, whose commit sorts out conflicts.
		 */
		if (IS_ERR(folio)) {
			err = -EAGAIN;
			goto out_release;
		}
		in.folios[in.nr++] = folio;
		if (folio_nr_pages(folio) != 1) {
			err = -EAGAIN;		/* one page per folio here */
			goto out_release;
		}
	}

	down_write(&si->stage_sem);
	err = -EAGAIN;
	if (si->stage || i_size_read(inode) != size)
		goto out_unlock;
	err = s3f_inline_take(mapping, &in, size);
	if (err)
		goto out_unlock;
	a.data = in.buf;
	a.size = size;
	err = s3f_commit_send(inode, &a, changes, conflict);
out_unlock:
	up_write(&si->stage_sem);
out_release:
	s3f_inline_release(mapping, &in, err != 0);
	return err;
}

/*
 * Commit @inode's changes and wait until S3 has them (or fail).  The
 * caller holds a reference.
 */
int s3f_commit(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);
	bool conflict = false, put;
	u64 changes;
	int err;

	mutex_lock(&si->commit_mutex);
	if (si->unlinked)
		goto out_unlock;
	changes = atomic64_read(&si->changes);
	if (changes != si->committed ||
	    mapping_tagged(inode->i_mapping, PAGECACHE_TAG_DIRTY)) {
		err = s3f_commit_inline(inode, changes, &conflict);
		if (!err)
			goto out_clean;
		if (err != -EAGAIN)
			goto out_unlock;
		err = 0;
	}
	mutex_unlock(&si->commit_mutex);

	/* dirty pages of a small file: its staging file is made now */
	if (mapping_tagged(inode->i_mapping, PAGECACHE_TAG_DIRTY)) {
		err = s3f_stage_get(inode);
		if (err)
			return err;
	}
	err = filemap_fdatawrite(inode->i_mapping);
	if (!err)
		err = filemap_fdatawait_keep_errors(inode->i_mapping);
	if (err)
		return err;

	mutex_lock(&si->commit_mutex);
	if (si->unlinked)
		goto out_unlock;
	down_write(&si->stage_sem);
	changes = atomic64_read(&si->changes);
	if (changes != si->committed)
		err = s3f_commit_locked(inode, changes, &conflict);
	up_write(&si->stage_sem);
	if (err)
		goto out_unlock;
out_clean:
	put = s3f_try_clean(inode);
	/* nothing left, no writer: the staged bytes are all in S3 now */
	if (!READ_ONCE(si->dirty) && atomic_read(&inode->i_writecount) <= 0 &&
	    READ_ONCE(si->stage))
		s3f_stage_release(inode);
	mutex_unlock(&si->commit_mutex);
	if (put)
		iput(inode);
	return 0;

out_unlock:
	mutex_unlock(&si->commit_mutex);
	return err;
}

/*
 * Hold a reference to every dirty inode of @sb (whose key starts with
 * @prefix); iput() each and kvfree() the array.
 */
struct inode **s3f_dirty_inodes(struct super_block *sb, const char *prefix,
				unsigned int *nr)
{
	struct s3f_sb_info *sbi = S3F_SB(sb);
	size_t plen = prefix ? strlen(prefix) : 0;
	unsigned int n, cap = 0, i;
	struct s3f_inode *si;
	struct inode **v;

	for (;;) {
		v = kvmalloc_array(cap + 16, sizeof(*v), GFP_KERNEL);
		if (!v)
			return NULL;
		cap += 16;
		n = 0;
		spin_lock(&sbi->dirty_lock);
		list_for_each_entry(si, &sbi->dirty_list, dirty_node) {
			if (prefix && strncmp(READ_ONCE(si->key), prefix, plen))
				continue;
			if (n < cap) {
				ihold(&si->vfs_inode);
				v[n] = &si->vfs_inode;
			}
			n++;
		}
		spin_unlock(&sbi->dirty_lock);
		if (n <= cap)
			break;
		for (i = 0; i < cap; i++)
			iput(v[i]);
		kvfree(v);
		cap = n;
	}
	*nr = n;
	return v;
}

/* Commit every dirty inode under @prefix, in parallel; the first error. */
static int s3f_commit_many(struct super_block *sb, const char *prefix, bool wait)
{
	struct inode **v;
	unsigned int i, nr = 0;
	int err = 0, e;

	v = s3f_dirty_inodes(sb, prefix, &nr);
	if (!v)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		s3f_queue_commit(S3F_I(v[i]));
	for (i = 0; i < nr; i++) {
		if (wait) {
			flush_work(&S3F_I(v[i])->commit_work);
			if (s3f_inode_dirty(v[i]) && !err) {
				/* the queued commit failed: once more, for the error */
				e = s3f_commit(v[i]);
				err = e;
			}
		}
		iput(v[i]);
	}
	kvfree(v);
	return err;
}

/* Commit what lies under directory key @prefix (before renaming it). */
int s3f_commit_prefix(struct super_block *sb, const char *prefix)
{
	return s3f_commit_many(sb, prefix, true);
}

/* Does anything under directory key @prefix wait for its first commit? */
bool s3f_dirty_under(struct super_block *sb, const char *prefix)
{
	struct s3f_sb_info *sbi = S3F_SB(sb);
	size_t len = strlen(prefix);
	struct s3f_inode *si;
	bool found = false;

	spin_lock(&sbi->dirty_lock);
	list_for_each_entry(si, &sbi->dirty_list, dirty_node) {
		if (!strncmp(READ_ONCE(si->key), prefix, len)) {
			found = true;
			break;
		}
	}
	spin_unlock(&sbi->dirty_lock);
	return found;
}

/*
 * syncfs(2), sync(2), umount: commit everything.  The errors reach
 * syncfs through the superblock's errseq (s3f_report_error).
 */
int s3f_sync_fs(struct super_block *sb, int wait)
{
	return s3f_commit_many(sb, NULL, wait);
}

/*
 * Unmount, after sync_filesystem(): stop the timers and let go of what
 * could not be committed, saying where its staged bytes are.
 */
void s3f_commit_shutdown(struct super_block *sb)
{
	struct s3f_sb_info *sbi = S3F_SB(sb);
	struct s3f_inode *si;
	unsigned int lost = 0;

	cancel_delayed_work_sync(&sbi->commit_scan);
	flush_workqueue(s3f_commit_wq);
	cancel_delayed_work_sync(&sbi->commit_scan);

	spin_lock(&sbi->dirty_lock);
	while (!list_empty(&sbi->dirty_list)) {
		si = list_first_entry(&sbi->dirty_list, struct s3f_inode, dirty_node);
		list_del_init(&si->dirty_node);
		si->dirty = false;
		spin_unlock(&sbi->dirty_lock);

		lost++;
		spin_lock(&si->lock);
		pr_err("%s: changes not committed at unmount%s%s\n", si->key,
		       si->stage_path ? "; staged bytes kept in " : "",
		       si->stage_path ? si->stage_path : "");
		kfree(si->stage_path);
		si->stage_path = NULL;	/* the helper must not delete it */
		spin_unlock(&si->lock);
		iput(&si->vfs_inode);

		spin_lock(&sbi->dirty_lock);
	}
	spin_unlock(&sbi->dirty_lock);
	if (lost)
		pr_err("s3://%s/%s: %u files with uncommitted changes at unmount\n",
		       sbi->opts.bucket, sbi->opts.prefix, lost);
}

void s3f_commit_sb_init(struct s3f_sb_info *sbi)
{
	spin_lock_init(&sbi->dirty_lock);
	INIT_LIST_HEAD(&sbi->dirty_list);
	INIT_DELAYED_WORK(&sbi->commit_scan, s3f_commit_scan_fn);
}

/* The inode fields commit.c and stage.c own (s3f_alloc_inode). */
void s3f_commit_inode_init(struct s3f_inode *si)
{
	init_rwsem(&si->stage_sem);
	si->stage = NULL;
	si->stage_path = NULL;
	xa_init(&si->staged);
	mutex_init(&si->commit_mutex);
	si->base_size = 0;
	si->clean_limit = 0;
	atomic64_set(&si->changes, 0);
	si->committed = 0;
	si->unlinked = false;
	si->dirty = false;
	INIT_LIST_HEAD(&si->dirty_node);
	si->commit_due = 0;
	INIT_WORK(&si->commit_work, s3f_commit_work_fn);
	INIT_WORK(&si->stage_work, s3f_stage_work_fn);
	atomic_long_set(&si->unstaged, 0);
}

int s3f_commit_init(void)
{
	/* commits upload in the helper: several at once, each mostly waiting */
	s3f_commit_wq = alloc_workqueue("s3f_commit", WQ_UNBOUND | WQ_MEM_RECLAIM, 16);
	return s3f_commit_wq ? 0 : -ENOMEM;
}

void s3f_commit_exit(void)
{
	destroy_workqueue(s3f_commit_wq);
}
