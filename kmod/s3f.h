/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s3f: S3 behind the kernel page cache.  Private declarations of s3f.ko.
 *
 * Layout (one concern per file):
 *   super.c   module init/exit, file system type, mount options, superblock
 *   inode.c   s3f inodes: creation from attributes, getattr, revalidation
 *   namei.c   lookup and dentry revalidation
 *   dir.c     readdir over listing pages, priming the dcache
 *   file.c    open (close-to-open revalidation), file operations
 *   addr.c    read_folio and readahead: ranged GETs into the page cache
 *   fsops.c   the file system upcalls: MOUNT, LOOKUP, READDIR, READ and
 *             the write path's (STAGE_OPEN, COMMIT, DELETE, MKDIR, ...)
 *   stage.c   the staging file of a written inode: which pages it holds,
 *             reading and writing them, the extents a COMMIT sends
 *   commit.c  dirty inodes, commit points, the commit itself, syncfs
 *   keymap.c  which key components can be file names (pure)
 *   xattr.c   extended attributes (user.*), s3fs-fuse's x-amz-meta-xattr
 *   genl.c    the generic netlink family: policy, doit handlers, messages
 *   upcall.c  the helper connection: request ids, deadlines, resending
 *             to a new helper.  No VFS.
 */
#ifndef _S3F_H
#define _S3F_H

#ifdef pr_fmt
#undef pr_fmt
#endif
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/types.h>
#include <net/genetlink.h>

#include "../uapi/s3f.h"
#include "compat.h"

#define S3F_ETAG_MAX		130

/*
 * How long an upcall waits for the helper's reply before failing, and a
 * COMMIT (plus a second per MiB) before its waiter gives up: module
 * parameters upcall_timeout and commit_timeout (seconds; upcall.c).
 * A MOUNT waits mount_timeout: the helper retries a slow or failed
 * request within it (its deadline is in the upcall).
 */
extern unsigned int s3f_upcall_timeout_secs, s3f_commit_timeout_secs;
extern unsigned int s3f_mount_timeout_secs;
#define S3F_UPCALL_TIMEOUT	(max_t(long, 1, READ_ONCE(s3f_upcall_timeout_secs)) * HZ)
#define S3F_COMMIT_TIMEOUT	(max_t(long, 1, READ_ONCE(s3f_commit_timeout_secs)) * HZ)
/* Upcalls nobody waits for (UMOUNT) and PING. */
#define S3F_PING_TIMEOUT	(5 * HZ)
/* A cancelled request not answered this long after its CANCEL is logged. */
#define S3F_CANCEL_GRACE	(30 * HZ)
#define S3F_MOUNT_TIMEOUT	(max_t(long, 1, READ_ONCE(s3f_mount_timeout_secs)) * HZ)
/* One READ upcall covers at most this much (one ranged GET). */
#define S3F_READ_CHUNK		(8 << 20)
/* Readahead window: several READs in flight for a sequential reader. */
#define S3F_READAHEAD		(32 << 20)
/* A first window's async part at least this large gets its own READ. */
#define S3F_READ_SPLIT_MIN	(1 << 20)
/* A writer that dirtied this much of one file stages it before going on. */
#define S3F_FILE_DIRTY_MAX	(64 << 20)
/* Written this much since its last staging, a file is staged behind its writer. */
#define S3F_STAGE_BEHIND	(4 << 20)
/*
 * A file written only below this gets its staging file at its commit,
 * from the commit worker, not in write(2): creating many small files
 * then costs no upcall in the writer.
 */
#define S3F_LAZY_STAGE_MAX	(1 << 20)
/* write(2) fails with ENOSPC when the staging fs would keep less. */
#define S3F_STAGE_RESERVE	(16 << 20)

/*
 * lookupcache=, as NFS's: which dentries a path walk trusts for actimeo.
 * ALL: positive and negative ones, and a directory listed in full
 * answers "no such entry" itself; POSITIVE: a name that was not there
 * is asked for again at every lookup; NONE: every lookup asks S3.
 */
enum s3f_lookupcache {
	S3F_LOOKUPCACHE_POSITIVE,
	S3F_LOOKUPCACHE_ALL,
	S3F_LOOKUPCACHE_NONE,
};

/* Mount options (super.c); immutable once the superblock exists. */
struct s3f_mount_opts {
	char *bucket;
	char *prefix;		/* "" or "a/b/" */
	char *endpoint;		/* "" lets the helper choose AWS's for the region */
	char *region;		/* "" lets the helper choose */
	char *profile;		/* "" for the helper's default credentials */
	u8 addressing;		/* enum s3f_addressing */
	kuid_t uid;
	kgid_t gid;
	umode_t file_mode;	/* permission bits for objects without s3fs metadata */
	umode_t dir_mode;
	unsigned int actimeo;	/* seconds attributes stay trusted (ttl=) */
	u8 lookupcache;		/* enum s3f_lookupcache: what lookups are cached */
	bool nocto;		/* no close-to-open: open() trusts the cache */
	char *staging;		/* "" lets the helper choose */
	unsigned int commit_delay;	/* seconds from the last close to the commit */
	unsigned int commit_interval;	/* seconds data may stay uncommitted; 0: no bound */
	bool conflict_fail;	/* conflict=fail: a conflicting commit fails */
	bool keep_setid;	/* setid=keep: set-id and sticky bits from S3 count */
	bool meta_listing;	/* meta=listing: stat trusts the listing */
	unsigned int helper_grace;	/* seconds requests wait for a restarted helper */
};

struct s3f_sb_info {
	struct s3f_mount_opts opts;
	struct super_block *sb;
	u32 mount_id;
	s64 mount_time_ns;		/* mtime of directories S3 has no date for */
	atomic64_t lookups;		/* LOOKUP upcalls issued */
	atomic64_t readdirs;		/* READDIR upcalls (listing pages) */
	atomic64_t reads;		/* READ upcalls issued */
	atomic64_t read_bytes;		/* bytes they brought in */
	atomic64_t commits;		/* objects committed */
	atomic64_t commit_bytes;	/* bytes uploaded by commits */
	atomic64_t copied_bytes;	/* bytes commits copied server side */
	atomic64_t conflicts;		/* commits kept beside another writer's */
	atomic64_t commit_errors;	/* commits that failed */

	/*
	 * Inodes with local changes S3 does not have yet.  Each holds an
	 * inode reference while on the list, so it is never evicted with
	 * uncommitted data.  @dirty_lock protects the list and the inodes'
	 * @dirty and @commit_due.
	 */
	spinlock_t dirty_lock;
	struct list_head dirty_list;
	struct delayed_work commit_scan;	/* starts commits that are due */
	bool shutdown;			/* umount began: queue nothing (dirty_lock) */
	atomic_t calls;			/* staged COMMITs not yet put (commit.c) */

	/*
	 * A directory's key, and so every key under it, changes only under
	 * @rename_sem held exclusive (a directory rename re-keys every inode
	 * under it; a file's own key changes under its commit lock: file
	 * rename, conflict copy).  Whatever computes a key from a
	 * directory's, or sends one to S3, holds it shared: lookups, readdir,
	 * creates, namespace upcalls, and each staged COMMIT until its wait
	 * ends (COMMITs still in flight then are waited for separately by
	 * the rename).  Taken after the VFS's locks and commit_mutex.  Never wait
	 * for a dentry in lookup (d_alloc_parallel) holding it: s3f_lookup
	 * takes it holding its in-lookup dentry.
	 */
	struct rw_semaphore rename_sem;

	/* The helper's staging directory (MOUNT reply), for statfs and ENOSPC. */
	struct path staging_dir;
	atomic64_t space_left;		/* its free bytes at @space_time, less writes since */
	unsigned long space_time;	/* jiffies */
};

static inline struct s3f_sb_info *S3F_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

/* What the helper says about one key (LOOKUP, READDIR entries). */
struct s3f_attrs {
	u8 type;			/* enum s3f_type */
	bool has_meta;			/* mode/uid/gid from s3fs metadata */
	bool meta_known;		/* a LOOKUP: has_meta is authoritative */
	u64 size;
	s64 mtime_ns;
	s64 atime_ns;			/* x-amz-meta-atime, or 0 (mtime's) */
	s64 ctime_ns;			/* x-amz-meta-ctime, or 0 (mtime's) */
	u32 mode;
	u32 uid;
	u32 gid;
	u64 rdev;			/* a device node's, user space encoding */
	char etag[S3F_ETAG_MAX];
	/* LOOKUP only: a reference the caller drops (s3f_xattrs_put) */
	struct s3f_xattrs *xattrs;
};

/* An inode's extended attributes: immutable, replaced whole (xattr.c). */
struct s3f_xattrs {
	struct kref ref;
	u16 len;
	u8 data[];			/* S3F_ATTR_XATTRS records */
};

/* A key an inode had; kept until the inode is freed (see s3f_inode.key). */
struct s3f_key {
	struct s3f_key *prev;
	char name[];
};

/*
 * An s3f inode.  @key is the object's full key (the mount prefix
 * included); a directory's ends in '/', the root's is the prefix.  A
 * rename gives the inode a new key: @key is then pointed at the new
 * string (WRITE_ONCE, under the parent directories' i_rwsem) and the old
 * one stays allocated on @keys until the inode is freed, so a reader
 * that loaded the pointer may go on using it without a lock.  @lock
 * protects @etag, @attr_time and the attribute fields of the VFS inode
 * that revalidation updates (size, times, mode).
 *
 * The write path (stage.c, commit.c):
 * - @stage_sem orders writes into the staging file: writepages holds it
 *   shared; a commit's snapshot (staging what is left, the size, the
 *   extents) and a truncation hold it exclusive, briefly.  It is never
 *   taken with a folio locked, and never held across an upcall.
 * - @inflight is the staged COMMIT the helper is working on (set under
 *   @stage_sem exclusive and @lock, cleared under @lock when it ends,
 *   with a wake-up on s3f_commit_waitq).  While it is set the staging
 *   file is frozen: the helper reads it, so nothing writes, truncates or
 *   releases it (writeback leaves the pages dirty; truncation waits).
 * - @stage and @stage_path are set once (under @stage_sem exclusive and
 *   @lock) and cleared only when the inode has nothing left to commit;
 *   a reader takes a file reference under @lock.
 * - @staged: page indices whose bytes are in @stage (the xarray's lock).
 * - @commit_mutex serialises commits and namespace operations on the
 *   object; they also wait until no COMMIT is in flight
 *   (s3f_commit_lock()).  @unlinked and @commit_session change under it.
 * - @base_size, @clean_limit and @committed describe the base version:
 *   changed by the end of a COMMIT (under @lock, while it owns the
 *   frozen staging file) or under @commit_mutex with @stage_sem exclusive
 *   and no COMMIT in flight (truncation, revalidation of a clean inode).
 * - @changes counts local changes (staged pages, truncation, metadata,
 *   each after the change is made, under @lock for metadata); the inode
 *   is clean when a commit has sent @changes == @committed and no page
 *   is dirty.
 */
struct s3f_inode {
	struct inode vfs_inode;
	char *key;
	struct s3f_key *keys;		/* @key's storage and older keys */
	spinlock_t lock;		/* see above */
	char etag[S3F_ETAG_MAX];	/* the base version; "" for a new object */
	unsigned long attr_time;	/* jiffies of the last confirmation */
	/*
	 * Listings carry no s3fs metadata: an inode made from one shows the
	 * mount's defaults until a LOOKUP (HEAD) has been applied, which the
	 * first permission check forces.
	 */
	bool meta_checked;
	struct s3f_xattrs *xattrs;	/* @lock; NULL: none */

	struct rw_semaphore stage_sem;
	struct file *stage;
	char *stage_path;
	unsigned long stage_failed;	/* jiffies of the last STAGE_OPEN failure, or 0 */
	int stage_err;			/* and its error */
	struct xarray staged;
	struct mutex commit_mutex;	/* see above */
	struct s3f_commit_call *inflight;
	u64 commit_session;		/* random, new with each base version */
	u64 base_size;			/* size of the version @etag names */
	loff_t clean_limit;		/* unstaged bytes past this are zeros */
	atomic64_t changes;
	u64 committed;
	bool unlinked;			/* never commit again */
	unsigned int retry_secs;	/* backoff of timed commits (dirty_lock) */
	bool dirty;			/* on the sb's dirty list (dirty_lock) */
	struct list_head dirty_node;
	unsigned long commit_due;	/* jiffies (dirty_lock) */
	struct work_struct commit_work;	/* holds an inode reference while queued */
	struct work_struct stage_work;	/* likewise: make the staging file */
	atomic_long_t unstaged;		/* bytes written since the last staging */
	unsigned long flags;		/* S3F_PREFETCHING (atomic bitops) */
	/*
	 * A directory: jiffies when the dcache last held every entry (a
	 * full listing, or mkdir made it empty), 0 when not since; a
	 * positive child pruned from the dcache clears it (d_prune).
	 * WRITE_ONCE/READ_ONCE.
	 */
	unsigned long complete_time;
};

/* s3f_inode.flags */
#define S3F_PREFETCHING		0	/* a directory: its children's metadata is being fetched */
#define S3F_STALE		1	/* no longer the inode of its key (inode table) */

static inline struct s3f_inode *S3F_I(struct inode *inode)
{
	return container_of(inode, struct s3f_inode, vfs_inode);
}

struct s3f_req;
struct s3f_commit_call;

/*
 * Called from the REPLY doit, in the helper's sendmsg context, with the
 * reply's attributes, before the waiter is woken; req->error holds the
 * helper's result (0 or -errno).  Returns the request's final result.
 */
typedef int (*s3f_reply_fn)(struct s3f_req *req, struct genl_info *info);

/*
 * One upcall.  Lifetime: kref; the caller holds one reference, the
 * pending list another from s3f_upcall_start() until the request is DONE.
 *
 * @node and @state are protected by s3f_conn.lock (upcall.c) while the
 * request is on the pending list.  @error and whatever @on_reply fills
 * are written once, before @on_done runs and @done completes; readers
 * look at them only after that.
 */
struct s3f_req {
	struct kref ref;
	struct list_head node;
	u64 id;
	u8 cmd;
	enum {
		S3F_REQ_NEW,		/* built, not yet started */
		S3F_REQ_QUEUED,		/* waiting for a helper to send it to */
		S3F_REQ_SENT,		/* the current helper has it */
		S3F_REQ_REPLYING,	/* off the list, on_reply running */
		S3F_REQ_DONE,		/* answered, failed, timed out */
	} state;
	int error;
	bool keep;			/* never failed by its deadline (s3f_upcall_keep) */
	bool cancelled;			/* its waiter gave up; CANCEL sent (conn lock) */
	bool overdue;			/* the cancellation was not answered in time */
	unsigned long deadline;		/* jiffies */
	long timeout;			/* jiffies from a send to its deadline */
	/*
	 * How long the request may wait, QUEUED, for a helper that went
	 * away to come back (the mount's helper_grace=; 0 for requests of
	 * no mount), and until when it waits (conn lock).
	 */
	unsigned long grace;
	unsigned long grace_until;
	struct sk_buff *msg;		/* kept to resend to a new helper */
	struct nlattr *timeout_attr;	/* in @msg: set to the time left at each send */
	struct nlattr *sends_attr;	/* in @msg: set to @sends at each send */
	u32 sends;			/* delivered to a helper so far (its sender only) */
	struct completion done;
	s3f_reply_fn on_reply;
	/* asynchronous requests: called once, when DONE, in any context that may sleep */
	void (*on_done)(struct s3f_req *req);
	void *priv;
};

/* upcall.c */
int s3f_upcall_init(void);
void s3f_upcall_exit(void);
int s3f_helper_register(struct net *net, u32 portid, pid_t tgid, u32 proto);
int s3f_helper_unregister(struct net *net, u32 portid);
bool s3f_helper_is(struct net *net, u32 portid);
pid_t s3f_helper_pid(void);
u32 s3f_helper_proto(void);
unsigned int s3f_upcall_pending(void);
unsigned int s3f_upcall_waiting(void);
struct s3f_req *s3f_req_alloc(u8 cmd, s3f_reply_fn on_reply, void *priv);
void s3f_req_put(struct s3f_req *req);
void s3f_upcall_start(struct s3f_req *req, struct sk_buff *msg, long timeout);
int s3f_upcall(struct s3f_req *req, struct sk_buff *msg, long timeout);
int s3f_upcall_keep(struct s3f_req *req, struct sk_buff *msg, long timeout);
int s3f_upcall_complete(u64 id, int error, struct genl_info *info);

/* keymap.c */
bool s3f_name_valid(const char *name, size_t len);
bool s3f_bucket_valid(const char *b, size_t len);
bool s3f_prefix_valid(const char *p, size_t *len);

/* fault.c */
bool s3f_fault_upcall(void);
bool s3f_fault_stage(void);
void s3f_fault_init(void);
void s3f_fault_exit(void);

/* trust.c */
int s3f_reply_errno(u32 err);
bool s3f_etag_valid(const char *etag);
bool s3f_conflict_key_valid(const char *key, const char *conflict);
umode_t s3f_trusted_mode(bool is_dir, bool has_meta, u32 meta_mode,
			 umode_t dflt, bool keep_setid);

/* inode.c */
extern const struct inode_operations s3f_file_iops;
extern const struct inode_operations s3f_dir_iops;
extern const struct inode_operations s3f_special_iops;
int s3f_inode_cache_init(void);
void s3f_inode_cache_exit(void);
struct inode *s3f_alloc_inode(struct super_block *sb);
void s3f_free_inode(struct inode *inode);
struct inode *s3f_iget(struct super_block *sb, const char *key,
		       const struct s3f_attrs *attrs);
struct inode *s3f_new_inode(struct super_block *sb, const char *key,
			    const struct s3f_attrs *attrs);
struct inode *s3f_ilookup_local(struct super_block *sb, const char *key);
struct s3f_key *s3f_key_alloc(const char *key);
void s3f_install_key(struct inode *inode, struct s3f_key *k);
int s3f_set_key(struct inode *inode, const char *key);
void s3f_evict_inode(struct inode *inode);
void s3f_inode_refresh(struct inode *inode, const struct s3f_attrs *attrs);
bool s3f_inode_fresh(struct inode *inode);
int s3f_setattr_size(struct inode *inode, loff_t size);
int s3f_meta_changed(struct inode *inode, int own_writers, unsigned int what);

/* xattr.c */
extern const struct xattr_handler *s3f_xattr_handlers[];
struct s3f_xattrs *s3f_xattrs_parse(const void *data, size_t len);
void s3f_xattrs_put(struct s3f_xattrs *x);
struct s3f_xattrs *s3f_inode_xattrs(struct inode *inode);
void s3f_inode_set_xattrs_locked(struct inode *inode, struct s3f_xattrs *x);
ssize_t s3f_listxattr(struct dentry *dentry, char *buf, size_t size);
int s3f_inode_revalidate(struct inode *inode);
char *s3f_child_key(struct inode *dir, const char *name, size_t len, bool is_dir);

/* namei.c */
extern const struct dentry_operations s3f_dentry_ops;
bool s3f_dir_complete(struct inode *dir);
int s3f_create(s3f_idmap *idmap, struct inode *dir,
	       struct dentry *dentry, umode_t mode, bool excl);
int s3f_mkdir(s3f_idmap *idmap, struct inode *dir,
	      struct dentry *dentry, umode_t mode);
int s3f_mknod(s3f_idmap *idmap, struct inode *dir,
	      struct dentry *dentry, umode_t mode, dev_t rdev);
int s3f_rmdir(struct inode *dir, struct dentry *dentry);
int s3f_unlink(struct inode *dir, struct dentry *dentry);
int s3f_rename(s3f_idmap *idmap, struct inode *old_dir,
	       struct dentry *old_dentry, struct inode *new_dir,
	       struct dentry *new_dentry, unsigned int flags);
int s3f_symlink(s3f_idmap *idmap, struct inode *dir,
		struct dentry *dentry, const char *target);
int s3f_link(struct dentry *old_dentry, struct inode *dir, struct dentry *dentry);
struct dentry *s3f_lookup(struct inode *dir, struct dentry *dentry,
			  unsigned int flags);

/* dir.c */
extern const struct file_operations s3f_dir_fops;
void s3f_prefetch_siblings(struct dentry *dentry);

/* file.c */
extern const struct file_operations s3f_file_fops;
extern const struct inode_operations s3f_symlink_iops;

/* stage.c */
struct s3f_stage_state;
void s3f_stage_state(struct inode *inode, struct s3f_stage_state *st);
int s3f_stage_note(struct inode *inode, loff_t clean_size);
int s3f_stage_get(struct inode *inode);
int s3f_stage_try(struct inode *inode);
bool s3f_stage_file_ok(struct file *file, const char *path);
int s3f_stage_space(struct super_block *sb, size_t bytes);
bool s3f_staged(struct inode *inode, pgoff_t index);
int s3f_stage_read_folio(struct inode *inode, struct folio *folio);
int s3f_stage_write_folio(struct inode *inode, struct folio *folio, size_t len);
int s3f_stage_truncate(struct inode *inode, loff_t size);
struct s3f_extent *s3f_stage_extents(struct inode *inode, loff_t size,
				     unsigned int *nr);
int s3f_stage_fill(struct inode *inode, loff_t size);
void s3f_stage_release(struct inode *inode);

/* commit.c */
int s3f_commit_init(void);
void s3f_commit_exit(void);
void s3f_commit_sb_init(struct s3f_sb_info *sbi);
void s3f_commit_inode_init(struct s3f_inode *si);
void s3f_mark_dirty(struct inode *inode);
void s3f_report_error(struct inode *inode, int err);
void s3f_schedule_commit(struct inode *inode, unsigned int delay_secs);
void s3f_schedule_stage(struct inode *inode);
bool s3f_inode_dirty(struct inode *inode);
int s3f_commit(struct inode *inode);
int s3f_sync_fs(struct super_block *sb, int wait);
void s3f_commit_shutdown(struct super_block *sb);
void s3f_forget(struct inode *inode);
int s3f_commit_lock(struct inode *inode);
int s3f_commit_lock_nested(struct inode *inode, unsigned int subclass);
int s3f_wait_thawed(struct inode *inode);
int s3f_commit_prefix(struct super_block *sb, const char *prefix);
bool s3f_dirty_under(struct super_block *sb, const char *prefix);
bool s3f_inflight_under(struct super_block *sb, const char *prefix);
void s3f_sb_calls(struct super_block *sb, int delta);
extern struct wait_queue_head s3f_commit_waitq;
struct inode **s3f_dirty_inodes(struct super_block *sb, const char *prefix,
				unsigned int *nr);
bool s3f_in_s3(struct inode *inode);

/* addr.c */
extern const struct address_space_operations s3f_aops;
struct writeback_control;
int s3f_stage_range(struct address_space *mapping, struct writeback_control *wbc);

/* fsops.c */
int s3f_op_mount(struct super_block *sb, char *errmsg, size_t errlen);
void s3f_op_umount(struct super_block *sb);
int s3f_op_lookup(struct super_block *sb, const char *key, u8 type_hint,
		  struct s3f_attrs *attrs);
struct s3f_prefetch;
void s3f_op_lookup_start(struct inode *inode, struct s3f_prefetch *pf);
/* A batch of asynchronous LOOKUPs (dir.c's metadata prefetch). */
struct s3f_prefetch {
	struct kref ref;		/* the prefetcher's, and one per LOOKUP */
	atomic_t pending;
	wait_queue_head_t wq;
	struct inode **inodes;		/* referenced, restamped at the end */
	unsigned int nr;
};
void s3f_prefetch_put(struct s3f_prefetch *pf);

bool s3f_stat_needs_meta(struct inode *inode);
typedef int (*s3f_entry_fn)(void *arg, const char *name, size_t len,
			    const struct s3f_attrs *attrs);
int s3f_op_readdir(struct super_block *sb, const char *key, char **token,
		   s3f_entry_fn fn, void *arg);
/*
 * One READ in flight: a run of locked page-cache folios of @inode
 * starting at @pos.  The folios stay locked (which pins them and the
 * inode) until s3f_read_done() marks them uptodate or not and unlocks.
 */
struct s3f_read {
	struct inode *inode;
	loff_t pos;
	size_t len;			/* bytes asked of S3, clipped at EOF */
	size_t span;			/* bytes the folios cover */
	char etag[S3F_ETAG_MAX];	/* the version the page cache holds */
	size_t filled;			/* bytes the reply brought */
	bool retried;			/* sent again after our own commit */
	unsigned int nr;
	struct folio *folios[];
};

int s3f_op_read_start(struct super_block *sb, struct s3f_read *rd);
/*
 * One COMMIT.  For s3f_op_commit() with an @on_done (a staged commit),
 * everything it points to must live until on_done has run.
 */
struct s3f_commit_args {
	const char *key;
	const char *stage_path;		/* NULL: nothing staged */
	const void *data;		/* or all @size bytes, inline */
	u64 size;
	const char *base_etag;		/* NULL: a new object */
	u64 base_size;
	const struct s3f_extent *ext;
	unsigned int nr_ext;
	umode_t mode;
	u32 uid, gid;
	u64 rdev;			/* a device node's, user space encoding */
	struct s3f_xattrs *xattrs;	/* a reference, or NULL: none */
	s64 mtime_ns, atime_ns, ctime_ns;
	bool fail_on_conflict;
	u64 commit_id;			/* this attempt */
	u64 commit_session;		/* every attempt since the base */
	/* results */
	char etag[S3F_ETAG_MAX];
	char *conflict;			/* kfree(); the key used instead of @key */
	u64 uploaded, copied;
};

/*
 * What a staging file's journal records (STAGE_OPEN, STAGE_NOTE): a
 * snapshot, s3f_stage_state().  @key points to storage that lives as
 * long as the inode.
 */
struct s3f_stage_state {
	const char *key;
	char etag[S3F_ETAG_MAX];
	u64 base_size;
	u64 clean_size;
	bool gone;
};

int s3f_op_stage_open(struct super_block *sb, struct inode *inode,
		      const struct s3f_stage_state *st, struct file **file,
		      char **path);
int s3f_op_stage_note(struct super_block *sb, const char *path,
		      const struct s3f_stage_state *st);
int s3f_op_commit(struct super_block *sb, struct s3f_commit_args *a,
		  void (*on_done)(struct s3f_req *req));
void s3f_op_stage_release(struct super_block *sb, const char *path);
int s3f_op_delete(struct super_block *sb, const char *key);
int s3f_op_mkdir(struct super_block *sb, const char *key, struct inode *inode,
		 unsigned int flags, char *etag);
int s3f_op_rmdir(struct super_block *sb, const char *key);
int s3f_op_rename(struct super_block *sb, const char *key, const char *new_key,
		  bool is_dir, bool noreplace, const char *etag, s64 ctime_ns,
		  char *new_etag);
int s3f_op_symlink(struct super_block *sb, const char *key, const char *target,
		   struct inode *inode, char *etag);

/* addr.c: the reply's bytes into the folios; the end of a READ */
int s3f_read_fill(struct s3f_read *rd, void __user *buf, size_t len);
void s3f_read_done(struct s3f_read *rd, int error);

/* genl.c */
int s3f_genl_init(void);
void s3f_genl_exit(void);
struct sk_buff *s3f_genl_new_request(struct s3f_req *req, size_t size, void **hdr);
int s3f_genl_put_mount(struct sk_buff *msg, struct s3f_sb_info *sbi);
extern const struct nla_policy s3f_entry_policy[S3F_ATTR_MAX + 1];
int s3f_genl_send(struct net *net, u32 portid, struct sk_buff *msg);
void s3f_genl_cancel(u32 portid, u64 id);
int s3f_ping(u64 *rtt_ns);

/* super.c */
unsigned int s3f_mount_count(void);
extern const struct cred *s3f_stage_cred;

#endif /* _S3F_H */
