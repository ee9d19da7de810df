// SPDX-License-Identifier: GPL-2.0
/*
 * s3f upcalls: the kernel asks, the helper answers.
 *
 * Every request gets a 64-bit id, is put on the pending list and sent to
 * the registered helper by unicast.  The helper's REPLY names the id;
 * s3f_upcall_complete() finds the request, lets its on_reply hook read
 * the reply's attributes, and wakes the waiter.  A waiter never sleeps
 * forever: it waits killably with a timeout, and when the helper's
 * socket goes away (orderly GOODBYE or NETLINK_URELEASE when the process
 * dies) every pending request fails with -ENOTCONN.
 *
 * No VFS here.
 */
#include <linux/atomic.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "s3f.h"

/*
 * The one helper connection.  The family is not netnsok, so the helper
 * always lives in init_net and is named by its socket's port id.
 *
 * @lock protects every field below and s3f_req.node / s3f_req.state of
 * requests on @pending.
 */
static struct s3f_conn {
	spinlock_t lock;
	bool connected;
	u32 portid;
	pid_t tgid;
	struct list_head pending;
	unsigned int npending;
} s3f_conn = {
	.lock = __SPIN_LOCK_UNLOCKED(s3f_conn.lock),
	.pending = LIST_HEAD_INIT(s3f_conn.pending),
};

static atomic64_t s3f_next_req_id = ATOMIC64_INIT(0);

static void s3f_req_release(struct kref *ref)
{
	kfree(container_of(ref, struct s3f_req, ref));
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

/* Caller holds s3f_conn.lock and has seen req->state == S3F_REQ_SENT. */
static void s3f_req_unlink(struct s3f_req *req)
{
	list_del_init(&req->node);
	s3f_conn.npending--;
}

/*
 * End a request that nobody answered (timeout, signal, send failure).
 * If a reply is being processed right now the request is no longer
 * SENT and the replier finishes it instead.
 */
static void s3f_req_fail(struct s3f_req *req, int error)
{
	spin_lock(&s3f_conn.lock);
	if (req->state != S3F_REQ_SENT) {
		spin_unlock(&s3f_conn.lock);
		return;
	}
	s3f_req_unlink(req);
	req->state = S3F_REQ_DONE;
	spin_unlock(&s3f_conn.lock);

	req->error = error;
	complete(&req->done);
	s3f_req_put(req);		/* the pending list's reference */
}

/* Fail every pending request; caller holds s3f_conn.lock. */
static void s3f_abort_pending_locked(struct list_head *out)
{
	struct s3f_req *req, *tmp;

	list_for_each_entry_safe(req, tmp, &s3f_conn.pending, node) {
		s3f_req_unlink(req);
		req->state = S3F_REQ_DONE;
		list_add_tail(&req->node, out);
	}
}

static void s3f_end_requests(struct list_head *head, int error)
{
	struct s3f_req *req, *tmp;

	list_for_each_entry_safe(req, tmp, head, node) {
		list_del_init(&req->node);
		req->error = error;
		complete(&req->done);
		s3f_req_put(req);
	}
}

/*
 * Send @msg (which must carry @req's id, see s3f_genl_new_request()) to
 * the helper and wait for the answer.  Consumes @msg.  Returns the
 * helper's result (0 or -errno), -ENOTCONN without a helper or when it
 * went away, -ETIMEDOUT after @timeout, -EINTR on a fatal signal.
 */
int s3f_upcall(struct s3f_req *req, struct sk_buff *msg, long timeout)
{
	u32 portid;
	long left;
	int err;

	spin_lock(&s3f_conn.lock);
	if (!s3f_conn.connected) {
		spin_unlock(&s3f_conn.lock);
		nlmsg_free(msg);
		return -ENOTCONN;
	}
	portid = s3f_conn.portid;
	kref_get(&req->ref);		/* for the pending list */
	list_add_tail(&req->node, &s3f_conn.pending);
	s3f_conn.npending++;
	req->state = S3F_REQ_SENT;
	spin_unlock(&s3f_conn.lock);

	err = s3f_genl_send(&init_net, portid, msg);
	if (err) {
		/* -ECONNREFUSED: the socket is gone; -EAGAIN: its queue is full */
		pr_warn_ratelimited("upcall %u id %llu: send to helper failed: %d\n",
				    req->cmd, req->id, err);
		s3f_req_fail(req, err == -ECONNREFUSED ? -ENOTCONN : -EAGAIN);
		goto out_wait;
	}

	left = wait_for_completion_killable_timeout(&req->done, timeout);
	if (left == 0) {
		pr_warn_ratelimited("upcall %u id %llu: no reply from helper in %ld s\n",
				    req->cmd, req->id, timeout / HZ);
		s3f_req_fail(req, -ETIMEDOUT);
	} else if (left < 0) {
		s3f_req_fail(req, -EINTR);
	}

out_wait:
	/*
	 * Either we just failed it, or a reply or an abort owns it and
	 * completes it without waiting on anything: this wait is short.
	 */
	wait_for_completion(&req->done);
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
	if (!found) {
		spin_unlock(&s3f_conn.lock);
		return -ENOENT;
	}
	s3f_req_unlink(found);
	found->state = S3F_REQ_DONE;	/* timeouts and aborts leave it alone */
	spin_unlock(&s3f_conn.lock);

	if (!error && found->on_reply)
		error = found->on_reply(found, info);
	found->error = error;
	complete(&found->done);
	s3f_req_put(found);		/* the pending list's reference */
	return 0;
}

int s3f_helper_register(struct net *net, u32 portid, pid_t tgid)
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
	}
	spin_unlock(&s3f_conn.lock);

	if (err)
		pr_warn("helper pid %d refused: pid %d is registered\n",
			tgid, s3f_helper_pid());
	else
		pr_info("helper pid %d registered\n", tgid);
	return err;
}

/*
 * The helper at (@net, @portid) is gone or said goodbye: forget it and
 * fail everything it had not answered.  Returns -ENOENT when that socket
 * was not the helper (every netlink socket's release comes through here).
 */
int s3f_helper_unregister(struct net *net, u32 portid)
{
	LIST_HEAD(aborted);
	pid_t tgid;

	spin_lock(&s3f_conn.lock);
	if (!net_eq(net, &init_net) || !s3f_conn.connected ||
	    s3f_conn.portid != portid) {
		spin_unlock(&s3f_conn.lock);
		return -ENOENT;
	}
	s3f_conn.connected = false;
	tgid = s3f_conn.tgid;
	s3f_conn.tgid = 0;
	s3f_abort_pending_locked(&aborted);
	spin_unlock(&s3f_conn.lock);

	s3f_end_requests(&aborted, -ENOTCONN);
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

int s3f_upcall_init(void)
{
	return 0;
}

/* Module unload: the family is gone, so no reply can arrive any more. */
void s3f_upcall_exit(void)
{
	LIST_HEAD(aborted);

	spin_lock(&s3f_conn.lock);
	s3f_conn.connected = false;
	s3f_abort_pending_locked(&aborted);
	spin_unlock(&s3f_conn.lock);

	s3f_end_requests(&aborted, -ENOTCONN);
}
