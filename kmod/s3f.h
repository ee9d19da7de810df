/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s3f: S3 behind the kernel page cache.  Private declarations of s3f.ko.
 *
 * Layout (one concern per file):
 *   super.c   module init/exit, file system type, fs_context, superblock
 *   genl.c    the generic netlink family: policy, doit handlers, messages
 *   upcall.c  the helper connection: request ids, waits, timeouts,
 *             failing everything when the helper goes away.  No VFS.
 */
#ifndef _S3F_H
#define _S3F_H

#ifdef pr_fmt
#undef pr_fmt
#endif
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/types.h>
#include <net/genetlink.h>

#include "../uapi/s3f.h"

/* How long an upcall waits for the helper's reply before failing. */
#define S3F_UPCALL_TIMEOUT	(30 * HZ)

struct s3f_req;

/*
 * Called from the REPLY doit, in the helper's sendmsg context, with the
 * reply's attributes, before the waiter is woken.  Returns 0 or a
 * negative errno that becomes the request's result.
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
	unsigned long deadline;		/* jiffies */
	struct sk_buff *msg;		/* kept to resend to a new helper */
	struct completion done;
	s3f_reply_fn on_reply;
	/* asynchronous requests: called once, when DONE, in any context that may sleep */
	void (*on_done)(struct s3f_req *req);
	void *priv;
};

/* upcall.c */
int s3f_upcall_init(void);
void s3f_upcall_exit(void);
int s3f_helper_register(struct net *net, u32 portid, pid_t tgid);
int s3f_helper_unregister(struct net *net, u32 portid);
bool s3f_helper_is(struct net *net, u32 portid);
pid_t s3f_helper_pid(void);
unsigned int s3f_upcall_pending(void);
struct s3f_req *s3f_req_alloc(u8 cmd, s3f_reply_fn on_reply, void *priv);
void s3f_req_put(struct s3f_req *req);
void s3f_upcall_start(struct s3f_req *req, struct sk_buff *msg, long timeout);
int s3f_upcall(struct s3f_req *req, struct sk_buff *msg, long timeout);
int s3f_upcall_complete(u64 id, int error, struct genl_info *info);

/* genl.c */
int s3f_genl_init(void);
void s3f_genl_exit(void);
struct sk_buff *s3f_genl_new_request(struct s3f_req *req, void **hdr);
int s3f_genl_send(struct net *net, u32 portid, struct sk_buff *msg);
int s3f_ping(u64 *rtt_ns);

/* super.c */
unsigned int s3f_mount_count(void);

#endif /* _S3F_H */
