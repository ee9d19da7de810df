// SPDX-License-Identifier: GPL-2.0
/*
 * s3f upcalls: the kernel asks, the helper answers.
 *
 * Every request gets a 64-bit id and a deadline, is put on the pending
 * list and sent to the registered helper by unicast.  The helper's REPLY
 * names the id; s3f_upcall_complete() takes the request off the list,
 * lets its on_reply hook read the reply's attributes, and finishes it.
 *
 * A request never waits forever: a periodic scan fails those past their
 * deadline with -ETIMEDOUT.  When the helper goes away (GOODBYE, or
 * NETLINK_URELEASE when the process dies) its unanswered requests are
 * kept, marked QUEUED, and sent again as soon as a new helper registers:
 * every upcall carries all it needs (the mount's parameters included), so
 * a new helper can serve it.
 *
 * A helper that goes away is usually being restarted (systemd, an
 * upgrade).  Like an NFS hard mount waiting for its server, but bounded:
 * for req->grace after the helper went (the mount's helper_grace=), new
 * requests are queued too, and no QUEUED request is failed by its
 * deadline; past the grace they fail with -ENOTCONN.  A waiter can still
 * be killed.  When no helper has registered since the module was loaded,
 * or the last one left longer ago than the grace, a new request fails at
 * once with -ENOTCONN.
 *
 * Finishing a request calls its on_done hook (asynchronous requests, e.g.
 * readahead) or wakes its waiter (s3f_upcall()).  No VFS here.
 *
 * A request whose effects must be known before its caller may go on
 * (COMMIT: the helper reads the staging file until it answers) is
 * never failed by its deadline.  Its waiter gives up instead
 * (s3f_upcall_keep(): deadline or fatal signal), sends CANCEL, and the
 * request stays pending, with its on_done hook still to run, until the
 * helper answers it or goes away.  A cancelled request is failed, not
 * resent, when its helper goes: nobody reads on its behalf any more.
 */
#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "s3f.h"

#define S3F_SCAN_INTERVAL	(HZ / 2)

/*
 * The one helper connection.  The family is not netnsok, so the helper
 * always lives in init_net and is named by its socket's port id.
 *
 * @lock protects every field below and s3f_req.node / s3f_req.state of
 * every request on @pending.
 */
static struct s3f_conn {
	spinlock_t lock;		/* see above */
	bool connected;
	u32 portid;
	pid_t tgid;
	u32 proto;			/* the protocol spoken with it (HELLO) */
	unsigned long gone_at;		/* jiffies: the last helper left (0: none yet) */
	struct list_head pending;
	unsigned int npending;
} s3f_conn = {
	.lock = __SPIN_LOCK_UNLOCKED(s3f_conn.lock),
	.pending = LIST_HEAD_INIT(s3f_conn.pending),
};

static atomic64_t s3f_next_req_id = ATOMIC64_INIT(0);

/* Tunable for slow object stores (and for tests of the timeouts). */
unsigned int s3f_upcall_timeout_secs = 30;
module_param_named(upcall_timeout, s3f_upcall_timeout_secs, uint, 0644);
MODULE_PARM_DESC(upcall_timeout, "seconds an upcall waits for the helper (default 30)");
unsigned int s3f_commit_timeout_secs = 120;
module_param_named(commit_timeout, s3f_commit_timeout_secs, uint, 0644);
MODULE_PARM_DESC(commit_timeout, "seconds a commit waits, plus one per MiB, before its caller gets ETIMEDOUT and the commit goes on (default 120)");
unsigned int s3f_mount_timeout_secs = 30;
module_param_named(mount_timeout, s3f_mount_timeout_secs, uint, 0644);
MODULE_PARM_DESC(mount_timeout, "seconds a mount waits for the helper to check the bucket (default 30)");

static void s3f_scan(struct work_struct *work);
static DECLARE_DELAYED_WORK(s3f_scan_work, s3f_scan);

static void s3f_req_release(struct kref *ref)
{
	struct s3f_req *req = container_of(ref, struct s3f_req, ref);

	nlmsg_free(req->msg);
	kfree(req);
}

struct s3f_req *s3f_req_alloc(u8 cmd, s3f_reply_fn on_reply, void *priv)
{
	struct s3f_req *req;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return NULL;
	kref_init(&req->ref);
	INIT_LIST_HEAD(&req->node);
	init_completion(&req->done);
	req->id = atomic64_inc_return(&s3f_next_req_id);
	req->cmd = cmd;
	req->state = S3F_REQ_NEW;
	req->on_reply = on_reply;
	req->priv = priv;
	return req;
}

void s3f_req_put(struct s3f_req *req)
{
	kref_put(&req->ref, s3f_req_release);
}

/* The request is DONE and off the list: report it, drop the list's ref. */
static void s3f_req_finish(struct s3f_req *req, int error)
{
	req->error = error;
	if (req->on_done)
		req->on_done(req);
	complete_all(&req->done);
	s3f_req_put(req);
}

/*
 * End a request nobody answered (deadline, signal).  If a reply is
 * being processed right now the replier finishes it instead.
 */
static void s3f_req_fail(struct s3f_req *req, int error)
{
	spin_lock(&s3f_conn.lock);
	if (req->state != S3F_REQ_SENT && req->state != S3F_REQ_QUEUED) {
		spin_unlock(&s3f_conn.lock);
		return;
	}
	list_del_init(&req->node);
	s3f_conn.npending--;
	req->state = S3F_REQ_DONE;
	spin_unlock(&s3f_conn.lock);

	s3f_req_finish(req, error);
}

/*
 * Stamp @req's message for this send: TIMEOUT_MS, the time the kernel
 * still waits (the helper gives up on the request then; 0 for a request
 * whose waiter sends CANCEL instead, s3f_upcall_keep), and SENDS, how
 * many helpers had it before (they died without answering: the request
 * may have been carried out).  Written before each send; an earlier
 * clone may share the bytes, but its helper is gone.
 */
static void s3f_req_stamp(struct s3f_req *req)
{
	long left = req->deadline - jiffies;
	u32 ms = 0;

	if (!req->timeout_attr)
		return;
	if (!req->keep)
		ms = left > 0 ? jiffies_to_msecs(left) : 1;
	memcpy(nla_data(req->timeout_attr), &ms, sizeof(ms));
	memcpy(nla_data(req->sends_attr), &req->sends, sizeof(req->sends));
}

/*
 * Hand one copy of the request to the helper at @portid.  On failure the
 * request goes back to QUEUED and the scan tries again (a full socket
 * queue drains; a dead socket is followed by URELEASE and a new helper).
 */
static void s3f_req_send(struct s3f_req *req, u32 portid)
{
	struct sk_buff *skb;
	int err = -ENOMEM;

	s3f_req_stamp(req);
	skb = skb_clone(req->msg, GFP_KERNEL);
	if (skb)
		err = s3f_genl_send(&init_net, portid, skb);
	if (!err) {
		req->sends++;	/* one sender at a time: the one that set SENT */
		return;
	}

	pr_debug("upcall %u id %llu: send failed (%d), queued\n",
		 req->cmd, req->id, err);
	spin_lock(&s3f_conn.lock);
	if (req->state == S3F_REQ_SENT)
		req->state = S3F_REQ_QUEUED;
	spin_unlock(&s3f_conn.lock);
}

static void s3f_scan_schedule(void)
{
	mod_delayed_work(system_wq, &s3f_scan_work, S3F_SCAN_INTERVAL);
}

/*
 * With no helper registered: may @req wait for one?  Only within its
 * grace after a helper went away.  Called with the conn lock held.
 */
static bool s3f_helper_may_return(const struct s3f_req *req)
{
	return req->grace && s3f_conn.gone_at &&
	       time_before(jiffies, s3f_conn.gone_at + req->grace);
}

/*
 * Start @req: its message is @msg (which must carry @req's id, see
 * s3f_genl_new_request(); consumed).  Completion is reported through
 * req->on_done and req->done; with no helper that happens before this
 * returns.
 */
void s3f_upcall_start(struct s3f_req *req, struct sk_buff *msg, long timeout)
{
	u32 portid;

	req->msg = msg;
	req->deadline = jiffies + timeout;
	kref_get(&req->ref);		/* for the pending list, until DONE */

	if (s3f_fault_upcall()) {	/* tests: the helper said EIO */
		req->state = S3F_REQ_DONE;
		s3f_req_finish(req, -EIO);
		return;
	}
	req->timeout = timeout;
	spin_lock(&s3f_conn.lock);
	if (!s3f_conn.connected) {
		if (!s3f_helper_may_return(req)) {
			req->state = S3F_REQ_DONE;
			spin_unlock(&s3f_conn.lock);
			s3f_req_finish(req, -ENOTCONN);
			return;
		}
		/* the helper is restarting: wait for it, within the grace */
		req->grace_until = s3f_conn.gone_at + req->grace;
		req->state = S3F_REQ_QUEUED;
		list_add_tail(&req->node, &s3f_conn.pending);
		if (!s3f_conn.npending++)
			s3f_scan_schedule();
		spin_unlock(&s3f_conn.lock);
		return;
	}
	portid = s3f_conn.portid;
	list_add_tail(&req->node, &s3f_conn.pending);
	if (!s3f_conn.npending++)
		s3f_scan_schedule();
	req->state = S3F_REQ_SENT;
	spin_unlock(&s3f_conn.lock);

	s3f_req_send(req, portid);
}

/*
 * Send and wait.  Returns the helper's result (0 or -errno), -ENOTCONN
 * without a helper, -ETIMEDOUT past @timeout, -EINTR on a fatal signal.
 */
int s3f_upcall(struct s3f_req *req, struct sk_buff *msg, long timeout)
{
	s3f_upcall_start(req, msg, timeout);
	if (wait_for_completion_killable(&req->done))
		s3f_req_fail(req, -EINTR);
	/* a reply being processed completes without waiting on anything */
	wait_for_completion(&req->done);
	return req->error;
}

/*
 * The waiter of @req gives up on it (its deadline passed, or a fatal
 * signal).  A request no helper has is failed at once with @error.  One
 * the helper has goes on: the helper is asked to stop (CANCEL), and the
 * request ends when it answers or goes away; on_done runs then.
 * Returns true when the request has ended or is ending (its result is
 * final once req->done completes), false when it goes on.
 */
static bool s3f_req_abandon(struct s3f_req *req, int error)
{
	u32 portid = 0;
	bool cancel = false;

	spin_lock(&s3f_conn.lock);
	switch (req->state) {
	case S3F_REQ_QUEUED:
		list_del_init(&req->node);
		s3f_conn.npending--;
		req->state = S3F_REQ_DONE;
		spin_unlock(&s3f_conn.lock);
		s3f_req_finish(req, error);
		return true;
	case S3F_REQ_SENT:
		req->cancelled = true;
		req->deadline = jiffies + S3F_CANCEL_GRACE;
		cancel = s3f_conn.connected;
		portid = s3f_conn.portid;
		break;
	default:
		spin_unlock(&s3f_conn.lock);
		return true;	/* a reply is being handled right now */
	}
	spin_unlock(&s3f_conn.lock);

	if (cancel)
		s3f_genl_cancel(portid, req->id);
	return false;
}

/*
 * Send and wait, for a request whose effects must be known before its
 * caller may go on (see the top of this file): at @timeout or on a
 * fatal signal the wait ends (-ETIMEDOUT, -EINTR) but the request goes
 * on until the helper answers it; req->on_done, which must have been
 * set, deals with its outcome then.  Otherwise the helper's result.
 */
int s3f_upcall_keep(struct s3f_req *req, struct sk_buff *msg, long timeout)
{
	long left;
	int err;

	req->keep = true;
	s3f_upcall_start(req, msg, timeout);
	left = wait_for_completion_killable_timeout(&req->done, timeout);
	if (left > 0)
		return req->error;
	err = left ? -EINTR : -ETIMEDOUT;
	if (!s3f_req_abandon(req, err))
		return err;
	wait_for_completion(&req->done);	/* at most a reply's handling */
	return req->error;
}

/*
 * The helper answered request @id.  Runs in the helper's sendmsg
 * context.  Returns -ENOENT for an id nobody waits for any more.
 */
int s3f_upcall_complete(u64 id, int error, struct genl_info *info)
{
	struct s3f_req *req, *found = NULL;

	spin_lock(&s3f_conn.lock);
	list_for_each_entry(req, &s3f_conn.pending, node) {
		if (req->id == id) {
			found = req;
			break;
		}
	}
	if (!found || found->state != S3F_REQ_SENT) {
		spin_unlock(&s3f_conn.lock);
		return -ENOENT;
	}
	list_del_init(&found->node);
	s3f_conn.npending--;
	found->state = S3F_REQ_REPLYING;  /* deadlines and aborts leave it alone */
	spin_unlock(&s3f_conn.lock);

	/* on_reply sees failed replies too: they may explain themselves */
	found->error = error;
	if (found->on_reply)
		error = found->on_reply(found, info);
	if (error == -EBADMSG) {
		pr_warn_ratelimited("upcall %u id %llu: malformed reply from helper pid %d\n",
				    found->cmd, found->id, current->tgid);
		error = -EIO;
	}
	found->state = S3F_REQ_DONE;
	s3f_req_finish(found, error);
	return 0;
}

/* Send every QUEUED request to the current helper, one at a time. */
static void s3f_resend_queued(void)
{
	struct s3f_req *req;
	bool requeued;
	u32 portid;
	int budget = 4096;

	while (budget--) {
		spin_lock(&s3f_conn.lock);
		req = NULL;
		if (s3f_conn.connected) {
			list_for_each_entry(req, &s3f_conn.pending, node)
				if (req->state == S3F_REQ_QUEUED)
					break;
			if (list_entry_is_head(req, &s3f_conn.pending, node))
				req = NULL;
		}
		if (!req) {
			spin_unlock(&s3f_conn.lock);
			return;
		}
		req->state = S3F_REQ_SENT;
		/* a new helper has the whole timeout, however long it took to come */
		if (!req->cancelled && req->timeout &&
		    time_before(req->deadline, jiffies + req->timeout))
			req->deadline = jiffies + req->timeout;
		kref_get(&req->ref);
		portid = s3f_conn.portid;
		spin_unlock(&s3f_conn.lock);

		s3f_req_send(req, portid);
		spin_lock(&s3f_conn.lock);
		requeued = req->state == S3F_REQ_QUEUED;
		spin_unlock(&s3f_conn.lock);
		s3f_req_put(req);	/* may free it: not touched after this */
		if (requeued)
			return;		/* the socket is full or gone: later */
	}
}

/* Fail requests past their deadline, resend queued ones, rearm. */
static void s3f_scan(struct work_struct *work)
{
	struct s3f_req *req, *tmp;
	LIST_HEAD(expired);
	bool again;

	spin_lock(&s3f_conn.lock);
	list_for_each_entry_safe(req, tmp, &s3f_conn.pending, node) {
		if (req->state == S3F_REQ_QUEUED && !s3f_conn.connected &&
		    req->grace_until && time_before(jiffies, req->grace_until))
			continue;	/* waiting for the helper to come back */
		if (time_before(jiffies, req->deadline) &&
		    !(req->state == S3F_REQ_QUEUED && req->grace_until &&
		      !s3f_conn.connected))
			continue;
		if (req->keep && req->state != S3F_REQ_QUEUED) {
			/* its waiter decides (s3f_upcall_keep); say so once */
			if (req->cancelled && !req->overdue) {
				req->overdue = true;
				pr_warn_ratelimited("upcall %u id %llu: the helper has not answered its cancellation\n",
						    req->cmd, req->id);
			}
			continue;
		}
		list_move_tail(&req->node, &expired);
		s3f_conn.npending--;
		/* -ENOTCONN: no helper came back within the grace */
		req->error = req->state == S3F_REQ_QUEUED && !s3f_conn.connected ?
			     -ENOTCONN : -ETIMEDOUT;
		req->state = S3F_REQ_DONE;
	}
	spin_unlock(&s3f_conn.lock);

	list_for_each_entry_safe(req, tmp, &expired, node) {
		list_del_init(&req->node);
		if (req->error == -ENOTCONN)
			pr_warn_ratelimited("upcall %u id %llu: no helper came back in time\n",
					    req->cmd, req->id);
		else
			pr_warn_ratelimited("upcall %u id %llu: no reply from the helper in time\n",
					    req->cmd, req->id);
		s3f_req_finish(req, req->error);
	}

	s3f_resend_queued();

	spin_lock(&s3f_conn.lock);
	again = s3f_conn.npending;
	spin_unlock(&s3f_conn.lock);
	if (again)
		s3f_scan_schedule();
}

int s3f_helper_register(struct net *net, u32 portid, pid_t tgid, u32 proto)
{
	int err = 0;

	if (!net_eq(net, &init_net))
		return -EOPNOTSUPP;

	spin_lock(&s3f_conn.lock);
	if (s3f_conn.connected && s3f_conn.portid != portid) {
		err = -EBUSY;
	} else {
		s3f_conn.connected = true;
		s3f_conn.portid = portid;
		s3f_conn.tgid = tgid;
		s3f_conn.proto = proto;
	}
	spin_unlock(&s3f_conn.lock);

	if (err) {
		pr_warn("helper pid %d refused: pid %d is registered\n",
			tgid, s3f_helper_pid());
		return err;
	}
	pr_info("helper pid %d registered, protocol %u\n", tgid, proto);
	/* what the previous helper left unanswered goes to this one */
	mod_delayed_work(system_wq, &s3f_scan_work, 0);
	return 0;
}

/*
 * The helper at (@net, @portid) is gone or said goodbye: forget it; its
 * unanswered requests wait (until their deadlines) for the next helper.
 * Returns -ENOENT when that socket was not the helper (every netlink
 * socket's release comes through here).
 */
int s3f_helper_unregister(struct net *net, u32 portid)
{
	struct s3f_req *req, *tmp;
	LIST_HEAD(cancelled);
	unsigned int n = 0;
	pid_t tgid;

	spin_lock(&s3f_conn.lock);
	if (!net_eq(net, &init_net) || !s3f_conn.connected ||
	    s3f_conn.portid != portid) {
		spin_unlock(&s3f_conn.lock);
		return -ENOENT;
	}
	s3f_conn.connected = false;
	s3f_conn.gone_at = jiffies ?: 1;
	tgid = s3f_conn.tgid;
	s3f_conn.tgid = 0;
	list_for_each_entry_safe(req, tmp, &s3f_conn.pending, node) {
		if (req->state != S3F_REQ_SENT)
			continue;
		req->grace_until = req->grace ? s3f_conn.gone_at + req->grace : 0;
		if (req->cancelled) {
			/* given up on, and nobody works on it any more */
			list_move_tail(&req->node, &cancelled);
			s3f_conn.npending--;
			req->state = S3F_REQ_DONE;
			continue;
		}
		req->state = S3F_REQ_QUEUED;
		n++;
	}
	spin_unlock(&s3f_conn.lock);

	list_for_each_entry_safe(req, tmp, &cancelled, node) {
		list_del_init(&req->node);
		s3f_req_finish(req, -ECANCELED);
	}

	if (n)
		pr_warn("helper pid %d gone with %u requests unanswered; they wait for a new helper\n",
			tgid, n);
	else
		pr_info("helper pid %d unregistered\n", tgid);
	return 0;
}

bool s3f_helper_is(struct net *net, u32 portid)
{
	bool ret;

	spin_lock(&s3f_conn.lock);
	ret = net_eq(net, &init_net) && s3f_conn.connected &&
	      s3f_conn.portid == portid;
	spin_unlock(&s3f_conn.lock);
	return ret;
}

/* The protocol spoken with the helper; 0 without one. */
u32 s3f_helper_proto(void)
{
	u32 proto;

	spin_lock(&s3f_conn.lock);
	proto = s3f_conn.connected ? s3f_conn.proto : 0;
	spin_unlock(&s3f_conn.lock);
	return proto;
}

pid_t s3f_helper_pid(void)
{
	pid_t tgid;

	spin_lock(&s3f_conn.lock);
	tgid = s3f_conn.connected ? s3f_conn.tgid : 0;
	spin_unlock(&s3f_conn.lock);
	return tgid;
}

unsigned int s3f_upcall_pending(void)
{
	unsigned int n;

	spin_lock(&s3f_conn.lock);
	n = s3f_conn.npending;
	spin_unlock(&s3f_conn.lock);
	return n;
}

/* Requests waiting for a helper to come back (none while one is registered). */
unsigned int s3f_upcall_waiting(void)
{
	struct s3f_req *req;
	unsigned int n = 0;

	spin_lock(&s3f_conn.lock);
	if (!s3f_conn.connected)
		list_for_each_entry(req, &s3f_conn.pending, node)
			n += req->state == S3F_REQ_QUEUED;
	spin_unlock(&s3f_conn.lock);
	return n;
}

int s3f_upcall_init(void)
{
	return 0;
}

/* Module unload: the family is gone, so no reply can arrive any more. */
void s3f_upcall_exit(void)
{
	struct s3f_req *req, *tmp;
	LIST_HEAD(aborted);

	cancel_delayed_work_sync(&s3f_scan_work);
	spin_lock(&s3f_conn.lock);
	s3f_conn.connected = false;
	list_for_each_entry_safe(req, tmp, &s3f_conn.pending, node) {
		list_move_tail(&req->node, &aborted);
		req->state = S3F_REQ_DONE;
	}
	s3f_conn.npending = 0;
	spin_unlock(&s3f_conn.lock);

	list_for_each_entry_safe(req, tmp, &aborted, node) {
		list_del_init(&req->node);
		s3f_req_finish(req, -ENOTCONN);
	}
}
