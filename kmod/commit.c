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
 * so the next fsync, close-time commit or syncfs reports them, and they
 * are retried with a growing delay (1 s doubling to S3F_RETRY_MAX).
 *
 * A staged commit takes a snapshot under stage_sem exclusive (it stages
 * the dirty pages below the size, fixes the size and the extents that
 * differ from the base), marks the COMMIT in flight, which freezes the
 * staging file (stage.c), and drops stage_sem: writers go on dirtying
 * the page cache, writeback leaves their pages dirty, truncation waits.
 * The helper uploads the file atomically and conditionally
 * (helper/commit.c); the end of the COMMIT (s3f_commit_call_done, in
 * whatever context the request ends) makes the reply's ETag the new base
 * and thaws the file.  The committer waits for that, killably and until
 * the deadline; when it gives up the request goes on (upcall.c,
 * s3f_upcall_keep), so the helper never reads a file the kernel changes
 * under it, and the inode is not committed again until the helper has
 * answered.  Small files without a staging file send their bytes inline.
 *
 * Attempts carry an id, and every attempt since the base carries the same
 * session (s3f_commit_args): the helper recognises an object published
 * by an attempt whose answer was lost as this commit's, or as this
 * writer's own earlier version, never as another writer's.
 */
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/writeback.h>

#include "s3f.h"

/* Commits: long (an upload), several at once. */
static struct workqueue_struct *s3f_commit_wq;
/* Short jobs: the scans, making staging files, dropping references. */
static struct workqueue_struct *s3f_wq;

/* Longest delay between retries of a timed commit that failed, seconds. */
#define S3F_RETRY_MAX		120

/* Woken when a staged COMMIT ends or is detached (s3f_inode.inflight). */
DECLARE_WAIT_QUEUE_HEAD(s3f_commit_waitq);

/*
 * A staged COMMIT.  It lives from the snapshot until its request has
 * ended and its references are dropped (s3f_commit_call_put), which may
 * be long after the committer gave up waiting.
 *
 * @node and @inode are protected by s3f_calls_lock: @inode is the
 * referenced inode the result goes to, cleared once, by the end of the
 * request or by umount (s3f_commit_detach), whichever comes first; that
 * one drops the reference and the superblock's count.
 */
struct s3f_commit_call {
	struct s3f_commit_args a;	/* first: the request's priv */
	struct list_head node;
	struct inode *inode;
	struct super_block *sb;
	u64 changes;			/* the local changes it covers */
	struct inode *put_inode;	/* for s3f_commit_call_put */
	struct work_struct put_work;
	char *key;			/* a.key: the key when the snapshot was taken */
	char *stage_path;		/* a.stage_path */
	char base_etag[S3F_ETAG_MAX];	/* a.base_etag */
	struct s3f_extent *ext;		/* a.ext */
};

static DEFINE_SPINLOCK(s3f_calls_lock);
static LIST_HEAD(s3f_calls);	/* every staged COMMIT in flight */

static void s3f_commit_call_free(struct s3f_commit_call *call)
{
	s3f_xattrs_put(call->a.xattrs);
	kfree(call->a.conflict);
	kfree(call->key);
	kfree(call->stage_path);
	kvfree(call->ext);
	kfree(call);
}

/* ---- the dirty list and the timed commits ---- */

static void s3f_scan_soon(struct s3f_sb_info *sbi, unsigned long delay)
{
	lockdep_assert_held(&sbi->dirty_lock);
	if (!sbi->shutdown)
		mod_delayed_work(s3f_wq, &sbi->commit_scan, delay);
}

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

	spin_lock(&sbi->dirty_lock);
	if (!si->dirty && !si->unlinked) {
		si->dirty = true;
		ihold(inode);
		list_add_tail(&si->dirty_node, &sbi->dirty_list);
		si->commit_due = sbi->opts.commit_interval ?
			(jiffies + sbi->opts.commit_interval * HZ) | 1 : 0;
		if (!delayed_work_pending(&sbi->commit_scan))
			s3f_scan_soon(sbi, HZ);
	}
	spin_unlock(&sbi->dirty_lock);
}

/*
 * Commit @inode within @delay_secs (earlier if already due), but not
 * before a failed timed commit's retry delay is over.
 */
void s3f_schedule_commit(struct inode *inode, unsigned int delay_secs)
{
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	struct s3f_inode *si = S3F_I(inode);
	unsigned long due;

	spin_lock(&sbi->dirty_lock);
	delay_secs = max(delay_secs, si->retry_secs);
	due = (jiffies + delay_secs * HZ) | 1;
	if (si->dirty && (!si->commit_due || time_before(due, si->commit_due)))
		si->commit_due = due;
	s3f_scan_soon(sbi, min_t(unsigned long, delay_secs * HZ, HZ));
	spin_unlock(&sbi->dirty_lock);
}

bool s3f_inode_dirty(struct inode *inode)
{
	return READ_ONCE(S3F_I(inode)->dirty);
}

/*
 * Queue @si's commit; the queued work holds an inode reference.  Taken
 * after queue_work() succeeds: safe because the caller holds dirty_lock,
 * which the work takes before its iput(), or a reference of its own.
 */
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

	spin_lock(&sbi->dirty_lock);
	if (sbi->shutdown)
		goto out_unlock;
	list_for_each_entry(si, &sbi->dirty_list, dirty_node) {
		if (si->commit_due && time_after_eq(jiffies, si->commit_due)) {
			si->commit_due = 0;
			s3f_queue_commit(si);
		}
	}
	if (!list_empty(&sbi->dirty_list))
		s3f_scan_soon(sbi, HZ);
out_unlock:
	spin_unlock(&sbi->dirty_lock);
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

/* Worth trying again by itself later?  (A conflict or a refusal is not.) */
static bool s3f_commit_retryable(int err)
{
	return err != -ESTALE && err != -EEXIST && err != -EACCES &&
	       err != -EPERM && err != -ENAMETOOLONG && err != -EINVAL &&
	       err != -EFBIG;
}

static void s3f_commit_work_fn(struct work_struct *work)
{
	struct s3f_inode *si = container_of(work, struct s3f_inode, commit_work);
	struct inode *inode = &si->vfs_inode;
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	unsigned int retry;
	int err;

	if (READ_ONCE(sbi->shutdown)) {	/* umount commits what it can itself */
		iput(inode);
		return;
	}
	err = s3f_commit(inode);
	spin_lock(&sbi->dirty_lock);
	if (!err)
		si->retry_secs = 0;
	else if (s3f_commit_retryable(err))
		si->retry_secs = clamp(si->retry_secs * 2, 1U, (unsigned int)S3F_RETRY_MAX);
	retry = si->retry_secs;
	spin_unlock(&sbi->dirty_lock);
	/*
	 * A failure worth retrying leaves every change in place for the
	 * retry, or for the next fsync, which commits and reports its own
	 * result: telling that fsync about this one would fail it although
	 * it committed everything.  Any other failure goes to the errseq.
	 */
	if (err) {
		pr_warn_ratelimited("%s: commit failed (%d)%s\n", si->key, err,
				    s3f_commit_retryable(err) ? ", will retry" :
				    "; kept for the next fsync, sync or unmount");
		if (s3f_commit_retryable(err))
			s3f_schedule_commit(inode, retry);
		else
			s3f_report_error(inode, err);
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

	if (!s3f_stage_try(inode)) {
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
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	bool queued;

	/*
	 * The work's reference is taken before queue_work(): the work may
	 * run and iput() at once, and would otherwise drop the caller's
	 * (fsstress found i_count reaching 0 under a mapped file).  Not
	 * queued: ours is never the last, the caller holds one.
	 */
	ihold(inode);
	spin_lock(&sbi->dirty_lock);
	queued = !sbi->shutdown && queue_work(s3f_wq, &S3F_I(inode)->stage_work);
	spin_unlock(&sbi->dirty_lock);
	if (!queued)
		iput(inode);
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
	    atomic64_read(&si->changes) == READ_ONCE(si->committed)) {
		list_del_init(&si->dirty_node);
		si->dirty = false;
		si->retry_secs = 0;
		put = true;
	}
	spin_unlock(&sbi->dirty_lock);
	return put;
}

/*
 * The key is no longer the inode's to write (unlinked, or replaced by a
 * rename): never commit it again, and let lookups of the key make a new
 * inode (s3f_iget skips unlinked ones); its staging journal says so.
 * Caller holds commit_mutex; process context.
 */
void s3f_forget(struct inode *inode)
{
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	struct s3f_inode *si = S3F_I(inode);
	bool put = false;

	spin_lock(&sbi->dirty_lock);
	WRITE_ONCE(si->unlinked, true);
	if (si->dirty) {
		list_del_init(&si->dirty_node);
		si->dirty = false;
		put = true;
	}
	spin_unlock(&sbi->dirty_lock);
	/* a node crash must not bring the staged bytes back */
	s3f_stage_note(inode, -1);
	if (put)
		iput(inode);	/* the caller holds a reference too */
}

/*
 * Lock @inode for a commit or a namespace operation on its key: its
 * commit_mutex, and no COMMIT in flight (the helper may be publishing
 * the key).  Killable; 0 or -EINTR.
 */
int s3f_commit_lock_nested(struct inode *inode, unsigned int subclass)
{
	struct s3f_inode *si = S3F_I(inode);

	if (mutex_lock_killable_nested(&si->commit_mutex, subclass))
		return -EINTR;
	if (wait_event_killable(s3f_commit_waitq, !READ_ONCE(si->inflight))) {
		mutex_unlock(&si->commit_mutex);
		return -EINTR;
	}
	return 0;
}

int s3f_commit_lock(struct inode *inode)
{
	return s3f_commit_lock_nested(inode, 0);
}

/* Wait until no COMMIT reads @inode's staging file.  Killable. */
int s3f_wait_thawed(struct inode *inode)
{
	if (wait_event_killable(s3f_commit_waitq,
				!READ_ONCE(S3F_I(inode)->inflight)))
		return -EINTR;
	return 0;
}

/* ---- the commit ---- */

/*
 * The metadata and the changes a commit covers.  setattr applies a
 * change, then counts it (inode.c); reading the count first means the
 * metadata sent is never older than the count recorded as committed.
 */
static u64 s3f_commit_snapshot(struct inode *inode, struct s3f_commit_args *a)
{
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	struct s3f_inode *si = S3F_I(inode);
	u64 changes;

	spin_lock(&si->lock);
	changes = atomic64_read(&si->changes);
	smp_rmb();	/* pairs with setattr's barrier before it counts */
	a->mode = inode->i_mode;
	a->uid = from_kuid_munged(&init_user_ns, inode->i_uid);
	a->gid = from_kgid_munged(&init_user_ns, inode->i_gid);
	a->rdev = S_ISCHR(inode->i_mode) || S_ISBLK(inode->i_mode) ?
		  huge_encode_dev(inode->i_rdev) : 0;
	s3f_xattrs_put(a->xattrs);	/* a snapshot taken again replaces it */
	a->xattrs = si->xattrs;
	if (a->xattrs)
		kref_get(&a->xattrs->ref);
	a->mtime_ns = s3f_mtime_ns(inode);
	a->atime_ns = s3f_atime_ns(inode);
	a->ctime_ns = s3f_ctime_ns(inode);
	a->base_size = si->base_size;
	a->commit_session = si->commit_session;
	spin_unlock(&si->lock);
	a->fail_on_conflict = sbi->opts.conflict_fail;
	a->commit_id = get_random_u64();
	return changes;
}

/*
 * A commit succeeded: what it wrote is the inode's base from now on.
 * When another writer had got there first, the inode became the conflict
 * copy: open descriptors go on seeing and writing their own version,
 * later commits go there; the name it had is looked up again and shows
 * the other writer's version.  @key: preallocated key for a conflict.
 * Caller owns the base: holds commit_mutex, or is the COMMIT in flight.
 */
static void s3f_commit_apply(struct inode *inode, struct s3f_commit_args *a,
			     u64 size, u64 changes, struct s3f_key *key)
{
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	struct s3f_inode *si = S3F_I(inode);

	atomic64_inc(&sbi->commits);
	atomic64_add(a->uploaded, &sbi->commit_bytes);
	atomic64_add(a->copied, &sbi->copied_bytes);
	if (a->conflict) {
		atomic64_inc(&sbi->conflicts);
		pr_warn("%s: changed in S3 by another writer; this version was committed as %s\n",
			a->key, a->conflict);
		if (key)
			s3f_install_key(inode, key);
		else
			pr_err("%s: out of memory: later commits go to the old name\n",
			       a->conflict);
	}
	spin_lock(&si->lock);
	strscpy(si->etag, a->etag, sizeof(si->etag));
	si->attr_time = jiffies;
	si->base_size = size;
	si->clean_limit = size;
	WRITE_ONCE(si->committed, changes);
	si->commit_session = get_random_u64();
	spin_unlock(&si->lock);
}

/* A conflict's new key, allocated where sleeping is allowed. */
static struct s3f_key *s3f_conflict_key(struct s3f_commit_args *a)
{
	return a->conflict ? s3f_key_alloc(a->conflict) : NULL;
}

/*
 * Inline commits.  A small file without a staging file (lazy staging,
 * file.c) sends its bytes in the COMMIT itself: no STAGE_OPEN, no file
 * in the staging directory, no STAGE_RELEASE; one upcall for a new
 * small file.  The message holds a copy of the bytes, so the helper can
 * never publish a mix: the request is an ordinary one, dropped at its
 * deadline or when the committer is killed.  The pages' dirty bits are
 * cleared when they are copied (references held, so reclaim cannot drop
 * them) and set again if the commit fails.
 */
#define S3F_INLINE_PAGES	(S3F_COMMIT_INLINE_MAX / PAGE_SIZE)

struct s3f_inline {
	struct folio *folios[S3F_INLINE_PAGES];
	bool taken[S3F_INLINE_PAGES];	/* dirty bit cleared by us */
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

		if (in->taken[i] && failed) {
			folio_lock(folio);
			if (folio->mapping == mapping)
				folio_mark_dirty(folio);
			folio_unlock(folio);
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
		/* a writeback that ends at once: it clears the dirty tag too */
		in->taken[i] = folio_clear_dirty_for_io(folio);
		if (in->taken[i])
			folio_start_writeback(folio);
		for (off = 0; off < len; off += PAGE_SIZE) {
			void *p = kmap_local_folio(folio, off);

			memcpy((char *)in->buf + pos + off, p,
			       min_t(size_t, PAGE_SIZE, len - off));
			kunmap_local(p);
		}
		if (in->taken[i])
			folio_end_writeback(folio);
		folio_unlock(folio);
	}
	return 0;
}

/*
 * Commit @inode inline if it qualifies: -EAGAIN when it does not (the
 * caller takes the staging path).  Caller holds the commit lock.
 */
static int s3f_commit_inline(struct inode *inode)
{
	struct address_space *mapping = inode->i_mapping;
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_commit_args a = {};
	struct s3f_inline in = {};
	char base_etag[S3F_ETAG_MAX];
	loff_t size = i_size_read(inode);
	u64 changes;
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

	err = down_write_killable(&si->stage_sem);
	if (err)
		goto out_release;
	err = -EAGAIN;
	if (si->stage || i_size_read(inode) != size)
		goto out_unlock;
	changes = s3f_commit_snapshot(inode, &a);
	err = s3f_inline_take(mapping, &in, size);
	if (err)
		goto out_unlock;
	spin_lock(&si->lock);
	strscpy(base_etag, si->etag, sizeof(base_etag));
	spin_unlock(&si->lock);
	a.key = si->key;
	a.base_etag = base_etag[0] ? base_etag : NULL;
	a.data = in.buf;
	a.size = size;
	err = s3f_op_commit(inode->i_sb, &a, NULL);
	if (!err)
		s3f_commit_apply(inode, &a, size, changes, s3f_conflict_key(&a));
	else
		atomic64_inc(&S3F_SB(inode->i_sb)->commit_errors);
	kfree(a.conflict);
out_unlock:
	s3f_xattrs_put(a.xattrs);
	up_write(&si->stage_sem);
out_release:
	s3f_inline_release(mapping, &in, err != 0);
	return err;
}

/*
 * The end of a staged COMMIT, in the context that ended its request
 * (the helper's reply, its death, the committer's abandoning a request
 * no helper had): the result goes to the inode, the staging file thaws.
 * Sleeping locks are out of place here (the committer may hold them
 * while it waits): the references go in a work item.
 */
static void s3f_commit_call_put(struct work_struct *work)
{
	struct s3f_commit_call *call = container_of(work, struct s3f_commit_call,
						    put_work);
	struct inode *inode = call->put_inode;

	if (inode) {
		struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);

		iput(inode);
		if (atomic_dec_and_test(&sbi->calls))
			wake_up_all(&s3f_commit_waitq);
	}
	s3f_commit_call_free(call);
}

static void s3f_commit_call_done(struct s3f_req *req)
{
	struct s3f_commit_call *call = req->priv;
	struct s3f_inode *si;
	struct inode *inode;
	struct s3f_key *key;

	spin_lock(&s3f_calls_lock);
	inode = call->inode;
	call->inode = NULL;
	list_del_init(&call->node);
	spin_unlock(&s3f_calls_lock);

	if (inode) {
		si = S3F_I(inode);
		if (!req->error) {
			key = s3f_conflict_key(&call->a);
			s3f_commit_apply(inode, &call->a, call->a.size, call->changes,
					 key);
		} else {
			atomic64_inc(&S3F_SB(inode->i_sb)->commit_errors);
			/*
			 * A waiter gets the error; one that gave up was told
			 * ETIMEDOUT or EINTR, so the next fsync hears how it
			 * ended (unless it was cancelled: nothing happened).
			 */
			if (req->cancelled && req->error != -ECANCELED) {
				s3f_report_error(inode, req->error);
				pr_warn_ratelimited("%s: commit given up by its waiter ended: %d\n",
						    call->key, req->error);
			}
		}
		spin_lock(&si->lock);
		si->inflight = NULL;
		spin_unlock(&si->lock);
		wake_up_all(&s3f_commit_waitq);
	}
	call->put_inode = inode;
	INIT_WORK(&call->put_work, s3f_commit_call_put);
	queue_work(s3f_wq, &call->put_work);
}

/* Stage every dirty page below @size.  Caller holds stage_sem exclusive. */
static int s3f_stage_dirty_locked(struct inode *inode, loff_t size)
{
	struct writeback_control wbc = {
		.sync_mode = WB_SYNC_ALL,
		.nr_to_write = LONG_MAX,
		.range_start = 0,
		.range_end = size - 1,
	};

	if (!size || !mapping_tagged(inode->i_mapping, PAGECACHE_TAG_DIRTY))
		return 0;
	return s3f_stage_range(inode->i_mapping, &wbc);
}

/*
 * Take the snapshot of a staged commit into @call and mark it in flight.
 * Returns 1 when there is nothing to commit.  Caller holds the commit
 * lock and the mount's rename_sem shared; takes stage_sem.
 */
static int s3f_commit_prepare(struct inode *inode, struct s3f_commit_call *call)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_commit_args *a = &call->a;
	loff_t size;
	int err;

	err = down_write_killable(&si->stage_sem);
	if (err)
		return err;
	/*
	 * write_end dirties a page before it raises i_size past it: every
	 * byte below this size is in the page cache, dirty, or staged.
	 */
	size = i_size_read(inode);
	smp_rmb();
	err = s3f_stage_dirty_locked(inode, size);
	if (!err)
		err = s3f_stage_truncate(inode, size);
	if (err)
		goto out_unlock;
	call->ext = s3f_stage_extents(inode, size, &a->nr_ext);
	if (call->ext == ERR_PTR(-E2BIG)) {
		err = s3f_stage_fill(inode, size);
		if (err)
			goto out_unlock;
		call->ext = s3f_stage_extents(inode, size, &a->nr_ext);
	}
	if (IS_ERR(call->ext)) {
		err = PTR_ERR(call->ext);
		call->ext = NULL;
		goto out_unlock;
	}
	call->changes = s3f_commit_snapshot(inode, a);
	if (call->changes == READ_ONCE(si->committed)) {
		err = 1;
		goto out_unlock;
	}
	/* the key changes only under rename_sem, the path under stage_sem */
	call->key = kstrdup(si->key, GFP_KERNEL);
	call->stage_path = si->stage_path ? kstrdup(si->stage_path, GFP_KERNEL) : NULL;
	if (!call->key || (si->stage_path && !call->stage_path)) {
		err = -ENOMEM;
		goto out_unlock;
	}
	spin_lock(&si->lock);
	strscpy(call->base_etag, si->etag, sizeof(call->base_etag));
	si->inflight = call;
	spin_unlock(&si->lock);
	a->key = call->key;
	a->stage_path = call->stage_path;
	a->base_etag = call->base_etag[0] ? call->base_etag : NULL;
	a->size = size;
	a->ext = call->ext;
	call->sb = inode->i_sb;
	call->inode = inode;
	ihold(inode);
	atomic_inc(&S3F_SB(inode->i_sb)->calls);
	spin_lock(&s3f_calls_lock);
	list_add_tail(&call->node, &s3f_calls);
	spin_unlock(&s3f_calls_lock);
out_unlock:
	up_write(&si->stage_sem);
	return err;
}

/*
 * Commit what is staged (every dirty page was staged before).  Caller
 * holds the commit lock and rename_sem shared.  -ETIMEDOUT or -EINTR:
 * the COMMIT goes on without us (the inode stays frozen until it ends).
 */
static int s3f_commit_staged(struct inode *inode)
{
	struct s3f_commit_call *call;
	int err;

	call = kzalloc(sizeof(*call), GFP_KERNEL);
	if (!call)
		return -ENOMEM;
	INIT_LIST_HEAD(&call->node);
	err = s3f_commit_prepare(inode, call);
	if (err) {
		s3f_commit_call_free(call);
		return err > 0 ? 0 : err;
	}
	/* from here on, the end of the request (call_done) owns @call */
	return s3f_op_commit(inode->i_sb, &call->a, s3f_commit_call_done);
}

/* Anything to commit: dirty pages, or changes not yet committed? */
static bool s3f_has_changes(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);

	return atomic64_read(&si->changes) != READ_ONCE(si->committed) ||
	       mapping_tagged(inode->i_mapping, PAGECACHE_TAG_DIRTY);
}

/*
 * Commit @inode's changes and wait until S3 has them (or fail).  The
 * caller holds a reference.  Killable.
 */
int s3f_commit(struct inode *inode)
{
	struct s3f_sb_info *sbi = S3F_SB(inode->i_sb);
	struct s3f_inode *si = S3F_I(inode);
	struct address_space *mapping = inode->i_mapping;
	bool put;
	int err;

	err = s3f_commit_lock(inode);
	if (err)
		return err;
	if (si->unlinked)
		goto out_unlock;
	if (!s3f_has_changes(inode))
		goto out_clean;
	err = down_read_killable(&sbi->rename_sem);
	if (err)
		goto out_unlock;
	err = s3f_commit_inline(inode);
	if (err == -EAGAIN) {
		/* dirty pages of a small file: its staging file is made now */
		err = 0;
		if (mapping_tagged(mapping, PAGECACHE_TAG_DIRTY))
			err = s3f_stage_get(inode);
		if (!err)
			err = filemap_fdatawrite(mapping);
		if (!err)
			err = filemap_fdatawait_keep_errors(mapping);
		if (!err)
			err = s3f_commit_staged(inode);
	}
	up_read(&sbi->rename_sem);
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

/*
 * Commit every dirty inode under @prefix: queue them all (they run in
 * parallel), then, with @wait, commit each that is still dirty in the
 * caller (which waits for a queued commit running meanwhile, through
 * the commit lock).  The first error; killable.
 */
static int s3f_commit_many(struct super_block *sb, const char *prefix, bool wait)
{
	struct s3f_sb_info *sbi = S3F_SB(sb);
	struct inode **v;
	unsigned int i, nr = 0;
	int err = 0, e;

	v = s3f_dirty_inodes(sb, prefix, &nr);
	if (!v)
		return -ENOMEM;
	spin_lock(&sbi->dirty_lock);
	for (i = 0; i < nr && !sbi->shutdown; i++)
		s3f_queue_commit(S3F_I(v[i]));
	spin_unlock(&sbi->dirty_lock);
	for (i = 0; i < nr; i++) {
		if (wait && err != -EINTR && s3f_inode_dirty(v[i])) {
			e = s3f_commit(v[i]);
			if (e && (!err || e == -EINTR))
				err = e;
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

/* Is a COMMIT of a key under @prefix in flight on @sb? */
bool s3f_inflight_under(struct super_block *sb, const char *prefix)
{
	size_t len = prefix ? strlen(prefix) : 0;
	struct s3f_commit_call *call;
	bool found = false;

	spin_lock(&s3f_calls_lock);
	list_for_each_entry(call, &s3f_calls, node) {
		if (call->sb == sb && (!prefix || !strncmp(call->key, prefix, len))) {
			found = true;
			break;
		}
	}
	spin_unlock(&s3f_calls_lock);
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
 * Cancel @work, an inode's, dropping the reference it held if it was
 * queued.  A running one (a commit may wait for s3fd as long as
 * commit_timeout) is waited for in short sleeps, so umount is never a
 * task the kernel reports hung.
 */
static void s3f_cancel_work(struct work_struct *work, struct inode *inode)
{
	while (work_busy(work) & WORK_BUSY_RUNNING)
		schedule_timeout_uninterruptible(HZ / 10);
	if (cancel_work_sync(work))
		iput(inode);
}

/*
 * Cancel the queued work items of every inode of @sb, dropping the
 * references they held (the drop_pagecache_sb walk).
 */
static void s3f_cancel_works(struct super_block *sb)
{
	struct inode *inode, *toput = NULL;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		struct s3f_inode *si = S3F_I(inode);

		spin_lock(&inode->i_lock);
		if (inode->i_state & (I_FREEING | I_WILL_FREE | I_NEW)) {
			spin_unlock(&inode->i_lock);
			continue;
		}
		__iget(inode);
		spin_unlock(&inode->i_lock);
		spin_unlock(&sb->s_inode_list_lock);

		s3f_cancel_work(&si->commit_work, inode);
		s3f_cancel_work(&si->stage_work, inode);
		iput(toput);
		toput = inode;

		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(toput);
}

/*
 * Umount: COMMITs still in flight were given up by their committers and
 * cancelled.  Give the helper a while to answer; then let go of them:
 * the kernel writes no staging file any more, so the helper may go on
 * reading, and the files are kept for it (and for recovery).
 */
static void s3f_commit_detach(struct super_block *sb)
{
	struct s3f_commit_call *call;
	struct inode *inode;

	if (s3f_inflight_under(sb, NULL)) {
		pr_warn("s3://%s/%s: waiting for the helper to end commits in flight\n",
			S3F_SB(sb)->opts.bucket, S3F_SB(sb)->opts.prefix);
		wait_event_killable_timeout(s3f_commit_waitq,
					    !s3f_inflight_under(sb, NULL),
					    S3F_CANCEL_GRACE);
	}
	for (;;) {
		inode = NULL;
		spin_lock(&s3f_calls_lock);
		list_for_each_entry(call, &s3f_calls, node) {
			if (call->sb == sb) {
				inode = call->inode;
				call->inode = NULL;
				list_del_init(&call->node);
				break;
			}
		}
		spin_unlock(&s3f_calls_lock);
		if (!inode)
			break;

		spin_lock(&S3F_I(inode)->lock);
		pr_err("%s: commit still in flight at unmount; staging file kept: %s\n",
		       S3F_I(inode)->key, S3F_I(inode)->stage_path ?: "(none)");
		kfree(S3F_I(inode)->stage_path);
		S3F_I(inode)->stage_path = NULL;	/* the helper must not delete it */
		S3F_I(inode)->inflight = NULL;
		spin_unlock(&S3F_I(inode)->lock);
		iput(inode);
		if (atomic_dec_and_test(&S3F_SB(sb)->calls))
			wake_up_all(&s3f_commit_waitq);
	}
}

/*
 * Unmount, after sync_filesystem(): stop queueing, wait for what is in
 * flight (boundedly), and let go of what could not be committed, saying
 * where its staged bytes are.
 */
void s3f_commit_shutdown(struct super_block *sb)
{
	struct s3f_sb_info *sbi = S3F_SB(sb);
	struct s3f_inode *si;
	unsigned int lost = 0;

	spin_lock(&sbi->dirty_lock);
	sbi->shutdown = true;
	spin_unlock(&sbi->dirty_lock);
	cancel_delayed_work_sync(&sbi->commit_scan);
	s3f_cancel_works(sb);
	s3f_commit_detach(sb);

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
	/*
	 * Requests that hold references into the mount (READ, prefetch,
	 * puts) end within their deadlines; wait in short sleeps.
	 */
	while (!wait_event_timeout(s3f_commit_waitq, !atomic_read(&sbi->calls), HZ))
		;
}

void s3f_commit_sb_init(struct s3f_sb_info *sbi)
{
	spin_lock_init(&sbi->dirty_lock);
	INIT_LIST_HEAD(&sbi->dirty_list);
	INIT_DELAYED_WORK(&sbi->commit_scan, s3f_commit_scan_fn);
	atomic_set(&sbi->calls, 0);
	init_rwsem(&sbi->rename_sem);
}

/* A request holding references into @sb starts (+1) or ends (-1). */
void s3f_sb_calls(struct super_block *sb, int delta)
{
	if (atomic_add_return(delta, &S3F_SB(sb)->calls) == 0)
		wake_up_all(&s3f_commit_waitq);
}

/* The inode fields commit.c and stage.c own (s3f_alloc_inode). */
void s3f_commit_inode_init(struct s3f_inode *si)
{
	init_rwsem(&si->stage_sem);
	si->stage = NULL;
	si->stage_path = NULL;
	si->stage_failed = 0;
	xa_init(&si->staged);
	mutex_init(&si->commit_mutex);
	si->inflight = NULL;
	si->commit_session = get_random_u64();
	si->base_size = 0;
	si->clean_limit = 0;
	atomic64_set(&si->changes, 0);
	si->committed = 0;
	si->unlinked = false;
	si->retry_secs = 0;
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
	if (!s3f_commit_wq)
		return -ENOMEM;
	s3f_wq = alloc_workqueue("s3f", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!s3f_wq) {
		destroy_workqueue(s3f_commit_wq);
		return -ENOMEM;
	}
	return 0;
}

void s3f_commit_exit(void)
{
	destroy_workqueue(s3f_commit_wq);
	destroy_workqueue(s3f_wq);
}
