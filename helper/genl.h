/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The helper's side of the s3f generic netlink family (libnl-genl-3).
 * No S3 here: open, request/ack, receive upcalls, reply.
 */
#ifndef S3F_HELPER_GENL_H
#define S3F_HELPER_GENL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "s3f.h"

#define S3F_NL_DEFERRED_MAX	256

struct s3f_nl {
	struct nl_sock *sock;
	int family;
	/*
	 * Upcalls that arrived while s3f_nl_request() waited for its own
	 * answer (the kernel resends queued requests the moment HELLO
	 * registers us, before its ack); s3f_nl_receive() handles them
	 * first.  Owned by the thread that calls both.
	 */
	struct nl_msg *deferred[S3F_NL_DEFERRED_MAX];
	int ndeferred;
	/* replies come from worker threads: one message at a time */
	pthread_mutex_t send_lock;
	/* the upcall being dispatched, during the upcall callback only */
	struct nlmsghdr *upcall;
	/* outcome of the last s3f_nl_request(), read by its caller */
	uint32_t proto;			/* spoken with the module (s3f_nl_hello) */
	int err;			/* 0 or -errno from the kernel */
	char errmsg[256];		/* kernel's extended ack message, or "" */
};

/*
 * Returns 0, -ENOENT when the s3f family is not registered (module not
 * loaded), or another -errno; errbuf says what failed.
 */
int s3f_nl_open(struct s3f_nl *nl, char *errbuf, size_t errlen);
void s3f_nl_close(struct s3f_nl *nl);
int s3f_nl_fd(const struct s3f_nl *nl);

/* A new message for cmd, or NULL on ENOMEM; _size for large ones. */
struct nl_msg *s3f_nl_msg(struct s3f_nl *nl, uint8_t cmd);
struct nl_msg *s3f_nl_msg_size(struct s3f_nl *nl, uint8_t cmd, size_t size);

typedef int (*s3f_nl_reply_fn)(struct nlattr **attrs, void *arg);

/*
 * Send msg (consumed) and wait for the kernel's answer; each reply
 * message is parsed and handed to on_reply (may be NULL).  Returns 0 or
 * the kernel's -errno (then nl->errmsg may explain it).
 */
int s3f_nl_request(struct s3f_nl *nl, struct nl_msg *msg,
		   s3f_nl_reply_fn on_reply, void *arg);

/* Daemon: one upcall from the kernel (cmd, parsed attrs). */
typedef void (*s3f_nl_upcall_fn)(struct s3f_nl *nl, uint8_t cmd,
				 struct nlattr **attrs, void *arg);

/*
 * In the upcall callback: every top-level attribute of type in the
 * upcall (parsed attrs[] hold only the last one of a type).  Stores up
 * to max in out; returns how many there are.
 */
size_t s3f_nl_upcall_attrs(struct s3f_nl *nl, int type, struct nlattr **out,
			   size_t max);

/* Dispatch upcalls deferred during s3f_nl_request(). */
void s3f_nl_receive_deferred(struct s3f_nl *nl, s3f_nl_upcall_fn fn, void *arg);

/* Receive and dispatch what is queued on the socket.  0 or -errno. */
int s3f_nl_receive(struct s3f_nl *nl, s3f_nl_upcall_fn fn, void *arg);

/*
 * Answer upcall req_id with error (0 or -errno); thread-safe.  msg, when not NULL,
 * is a REPLY message already holding result attributes (from
 * s3f_nl_msg(nl, S3F_CMD_REPLY)); it is consumed.
 */
int s3f_nl_reply(struct s3f_nl *nl, uint64_t req_id, int error,
		 struct nl_msg *msg);

struct s3f_status {
	uint32_t helper_pid;
	uint32_t proto_version;	/* the module's newest protocol */
	uint32_t proto_min;	/* ... and oldest */
	uint32_t helper_proto;	/* spoken with the helper (0: none) */
	uint32_t pending;
	uint32_t waiting;	/* upcalls waiting for a helper to come back */
	uint32_t mounts;
	bool has_ping;
	uint64_t ping_ns;
};

/* STATUS (optionally with a ping round trip through the helper). */
int s3f_nl_status(struct s3f_nl *nl, bool ping, struct s3f_status *st);
/*
 * HELLO: register this socket as the helper, in the newest protocol
 * both sides speak (nl->proto).  -EPROTO: none in common.
 */
int s3f_nl_hello(struct s3f_nl *nl);
int s3f_nl_goodbye(struct s3f_nl *nl);

#endif /* S3F_HELPER_GENL_H */
