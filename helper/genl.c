// SPDX-License-Identifier: GPL-2.0
/*
 * The helper's generic netlink socket.
 *
 * Sequence checking is off: the kernel sends upcalls unsolicited, and a
 * REPLY the kernel no longer waits for comes back as an error message
 * (ENOENT) that must not derail the next request.  Extended acks are on,
 * so the kernel's reason for a refusal reaches the log and the user.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "genl.h"
#include "log.h"
#include "retry.h"

/* Room for a burst of upcalls; forced past rmem_max (we are root). */
#define S3F_NL_BUFSIZE	(4 << 20)

static struct nla_policy s3f_nl_policy[S3F_ATTR_MAX + 1] = {
	[S3F_ATTR_PROTO_VERSION]	= { .type = NLA_U32 },
	[S3F_ATTR_HELPER_PID]		= { .type = NLA_U32 },
	[S3F_ATTR_REQ_ID]		= { .type = NLA_U64 },
	[S3F_ATTR_ERRNO]		= { .type = NLA_U32 },
	[S3F_ATTR_PENDING]		= { .type = NLA_U32 },
	[S3F_ATTR_WAITING]		= { .type = NLA_U32 },
	[S3F_ATTR_TIMEOUT_MS]		= { .type = NLA_U32 },
	[S3F_ATTR_MOUNTS]		= { .type = NLA_U32 },
	[S3F_ATTR_PING]			= { .type = NLA_FLAG },
	[S3F_ATTR_PING_NS]		= { .type = NLA_U64 },
	[S3F_ATTR_MOUNT]		= { .type = NLA_NESTED },
	[S3F_ATTR_KEY]			= { .type = NLA_STRING },
	[S3F_ATTR_ETAG]			= { .type = NLA_STRING },
	[S3F_ATTR_TOKEN]		= { .type = NLA_STRING },
	[S3F_ATTR_OFFSET]		= { .type = NLA_U64 },
	[S3F_ATTR_LENGTH]		= { .type = NLA_U64 },
	/* the write path */
	[S3F_ATTR_TYPE]			= { .type = NLA_U8 },
	[S3F_ATTR_SIZE]			= { .type = NLA_U64 },
	[S3F_ATTR_MTIME_NS]		= { .type = NLA_U64 },	/* s64 */
	[S3F_ATTR_MODE]			= { .type = NLA_U32 },
	[S3F_ATTR_RDEV]			= { .type = NLA_U64 },
	[S3F_ATTR_XATTRS]		= { .type = NLA_BINARY, .maxlen = S3F_XATTR_MAX },
	[S3F_ATTR_UID]			= { .type = NLA_U32 },
	[S3F_ATTR_GID]			= { .type = NLA_U32 },
	[S3F_ATTR_FD]			= { .type = NLA_U32 },
	[S3F_ATTR_STAGE]		= { .type = NLA_STRING },
	[S3F_ATTR_BASE_SIZE]		= { .type = NLA_U64 },
	[S3F_ATTR_CLEAN_SIZE]		= { .type = NLA_U64 },
	[S3F_ATTR_SENDS]		= { .type = NLA_U32 },
	[S3F_ATTR_PROTO_MIN]		= { .type = NLA_U32 },
	[S3F_ATTR_HELPER_PROTO]		= { .type = NLA_U32 },
	[S3F_ATTR_EXTENTS]		= { .type = NLA_UNSPEC },
	[S3F_ATTR_DATA]			= { .type = NLA_UNSPEC },
	[S3F_ATTR_ATIME_NS]		= { .type = NLA_U64 },	/* s64 */
	[S3F_ATTR_CTIME_NS]		= { .type = NLA_U64 },	/* s64 */
	[S3F_ATTR_FLAGS]		= { .type = NLA_U32 },
	[S3F_ATTR_CONFLICT]		= { .type = NLA_STRING },
	[S3F_ATTR_BYTES_UPLOADED]	= { .type = NLA_U64 },
	[S3F_ATTR_BYTES_COPIED]		= { .type = NLA_U64 },
	[S3F_ATTR_NEW_KEY]		= { .type = NLA_STRING },
	[S3F_ATTR_TARGET]		= { .type = NLA_STRING },
	[S3F_ATTR_COMMIT_ID]		= { .type = NLA_U64 },
	[S3F_ATTR_COMMIT_SESSION]	= { .type = NLA_U64 },
};

static void set_buffers(struct nl_sock *sock)
{
	int fd = nl_socket_get_fd(sock), size = S3F_NL_BUFSIZE, one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)))
		log_debug("netlink: cannot grow receive buffer: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)))
		log_debug("netlink: cannot grow send buffer: %s", strerror(errno));
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
}

int s3f_nl_open(struct s3f_nl *nl, char *errbuf, size_t errlen)
{
	int err;

	memset(nl, 0, sizeof(*nl));
	pthread_mutex_init(&nl->send_lock, NULL);
	nl->sock = nl_socket_alloc();
	if (!nl->sock) {
		snprintf(errbuf, errlen, "out of memory");
		return -ENOMEM;
	}
	err = genl_connect(nl->sock);
	if (err) {
		snprintf(errbuf, errlen, "cannot open a generic netlink socket: %s",
			 nl_geterror(err));
		err = -EIO;
		goto out_free;
	}
	nl_socket_disable_seq_check(nl->sock);
	set_buffers(nl->sock);
	nl->family = genl_ctrl_resolve(nl->sock, S3F_GENL_NAME);
	if (nl->family < 0) {
		snprintf(errbuf, errlen,
			 "the kernel has no \"%s\" netlink family: is s3f.ko loaded?",
			 S3F_GENL_NAME);
		err = -ENOENT;
		goto out_free;
	}
	return 0;

out_free:
	nl_socket_free(nl->sock);
	nl->sock = NULL;
	return err;
}

void s3f_nl_close(struct s3f_nl *nl)
{
	int i;

	for (i = 0; i < nl->ndeferred; i++)
		nlmsg_free(nl->deferred[i]);
	nl->ndeferred = 0;
	if (nl->sock)
		nl_socket_free(nl->sock);	/* closes the fd */
	nl->sock = NULL;
}

int s3f_nl_fd(const struct s3f_nl *nl)
{
	return nl_socket_get_fd(nl->sock);
}

struct nl_msg *s3f_nl_msg(struct s3f_nl *nl, uint8_t cmd)
{
	return s3f_nl_msg_size(nl, cmd, 0);
}

struct nl_msg *s3f_nl_msg_size(struct s3f_nl *nl, uint8_t cmd, size_t size)
{
	struct nl_msg *msg;

	msg = size ? nlmsg_alloc_size(size) : nlmsg_alloc();
	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, 0, cmd,
			 S3F_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* A private copy of the socket's callbacks: keeps seq checks off. */
static struct nl_cb *socket_cb_clone(struct s3f_nl *nl)
{
	struct nl_cb *scb, *cb;

	scb = nl_socket_get_cb(nl->sock);	/* takes a reference */
	if (!scb)
		return NULL;
	cb = nl_cb_clone(scb);
	nl_cb_put(scb);
	return cb;
}

struct request_ctx {
	uint8_t cmd;			/* the command we sent */
	struct s3f_nl *nl;
	s3f_nl_reply_fn on_reply;
	void *arg;
	bool done;
	int cb_err;
};

/* The extended ack's message, when the kernel attached one. */
static void copy_extack(struct s3f_nl *nl, struct nlmsgerr *e)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*e);
	struct nlattr *attrs;
	int len;

	nl->errmsg[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	len = nlh->nlmsg_len - NLMSG_HDRLEN - off;
	if (len <= 0)
		return;
	attrs = (struct nlattr *)((char *)e + off);
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, attrs, len, NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(nl->errmsg, sizeof(nl->errmsg), "%s",
			 (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
}

static int request_err_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct request_ctx *ctx = arg;

	ctx->nl->err = e->error;
	if (e->error)
		copy_extack(ctx->nl, e);
	ctx->done = true;
	return NL_STOP;
}

static int request_ack_cb(struct nl_msg *msg, void *arg)
{
	struct request_ctx *ctx = arg;

	ctx->nl->err = 0;
	ctx->done = true;
	return NL_STOP;
}

/* Keep an upcall that arrived in the middle of a request for later. */
static void defer_upcall(struct s3f_nl *nl, struct nl_msg *msg)
{
	struct nl_msg *copy;

	if (nl->ndeferred == S3F_NL_DEFERRED_MAX) {
		log_warn("netlink: too many upcalls during a request, one dropped (it will time out)");
		return;
	}
	copy = nlmsg_convert(nlmsg_hdr(msg));
	if (!copy) {
		log_warn("netlink: out of memory, an upcall dropped (it will time out)");
		return;
	}
	nl->deferred[nl->ndeferred++] = copy;
}

static int request_valid_cb(struct nl_msg *msg, void *arg)
{
	struct request_ctx *ctx = arg;
	struct nlattr *attrs[S3F_ATTR_MAX + 1];
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	int err;

	if (gh->cmd != ctx->cmd) {
		defer_upcall(ctx->nl, msg);
		return NL_OK;
	}

	err = genlmsg_parse(nlmsg_hdr(msg), 0, attrs, S3F_ATTR_MAX, s3f_nl_policy);
	if (err) {
		ctx->cb_err = -EBADMSG;
		return NL_SKIP;
	}
	if (ctx->on_reply) {
		err = ctx->on_reply(attrs, ctx->arg);
		if (err && !ctx->cb_err)
			ctx->cb_err = err;
	}
	return NL_OK;
}

int s3f_nl_request(struct s3f_nl *nl, struct nl_msg *msg,
		   s3f_nl_reply_fn on_reply, void *arg)
{
	struct request_ctx ctx = { .nl = nl, .on_reply = on_reply, .arg = arg };
	struct nl_cb *cb;
	int err;

	ctx.cmd = ((struct genlmsghdr *)nlmsg_data(nlmsg_hdr(msg)))->cmd;
	nl->err = 0;
	nl->errmsg[0] = '\0';
	nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_ACK;
	cb = socket_cb_clone(nl);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, request_valid_cb, &ctx);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, request_ack_cb, &ctx);
	nl_cb_err(cb, NL_CB_CUSTOM, request_err_cb, &ctx);

	err = nl_send_auto(nl->sock, msg);
	nlmsg_free(msg);
	if (err < 0) {
		err = -EIO;
		goto out_put_cb;
	}
	while (!ctx.done) {
		err = nl_recvmsgs(nl->sock, cb);
		if (err < 0 && !ctx.done) {
			log_debug("netlink: receive: %s", nl_geterror(err));
			err = -EIO;
			goto out_put_cb;
		}
	}
	err = nl->err ? nl->err : ctx.cb_err;
out_put_cb:
	nl_cb_put(cb);
	return err;
}

struct upcall_ctx {
	struct s3f_nl *nl;
	s3f_nl_upcall_fn fn;
	void *arg;
};

static int upcall_valid_cb(struct nl_msg *msg, void *arg)
{
	struct upcall_ctx *ctx = arg;
	struct nlattr *attrs[S3F_ATTR_MAX + 1];
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	if (genlmsg_parse(nlmsg_hdr(msg), 0, attrs, S3F_ATTR_MAX, s3f_nl_policy)) {
		log_warn("netlink: malformed message from the kernel (cmd %u)",
			 gh->cmd);
		return NL_SKIP;
	}
	ctx->nl->upcall = nlmsg_hdr(msg);
	ctx->fn(ctx->nl, gh->cmd, attrs, ctx->arg);
	ctx->nl->upcall = NULL;
	return NL_OK;
}

size_t s3f_nl_upcall_attrs(struct s3f_nl *nl, int type, struct nlattr **out,
			   size_t max)
{
	struct nlattr *a;
	size_t n = 0;
	int rem;

	if (!nl->upcall)
		return 0;
	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nl->upcall), 0),
			  genlmsg_attrlen(nlmsg_data(nl->upcall), 0), rem) {
		if (nla_type(a) != type)
			continue;
		if (n < max)
			out[n] = a;
		n++;
	}
	return n;
}

/* A late REPLY's ENOENT, or any other refusal of something we sent. */
static int upcall_err_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct upcall_ctx *ctx = arg;

	if (e->error == -ENOENT)
		log_debug("netlink: reply for a request the kernel gave up on");
	else if (e->error) {
		copy_extack(ctx->nl, e);
		log_warn("netlink: kernel refused a message: %s%s%s",
			 strerror(-e->error), ctx->nl->errmsg[0] ? ": " : "",
			 ctx->nl->errmsg);
	}
	return NL_SKIP;
}

void s3f_nl_receive_deferred(struct s3f_nl *nl, s3f_nl_upcall_fn fn, void *arg)
{
	struct upcall_ctx ctx = { .nl = nl, .fn = fn, .arg = arg };
	int i;

	for (i = 0; i < nl->ndeferred; i++) {
		upcall_valid_cb(nl->deferred[i], &ctx);
		nlmsg_free(nl->deferred[i]);
	}
	nl->ndeferred = 0;
}

int s3f_nl_receive(struct s3f_nl *nl, s3f_nl_upcall_fn fn, void *arg)
{
	struct upcall_ctx ctx = { .nl = nl, .fn = fn, .arg = arg };
	struct nl_cb *cb;
	int err;

	s3f_nl_receive_deferred(nl, fn, arg);

	cb = socket_cb_clone(nl);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, upcall_valid_cb, &ctx);
	nl_cb_err(cb, NL_CB_CUSTOM, upcall_err_cb, &ctx);
	err = nl_recvmsgs(nl->sock, cb);
	nl_cb_put(cb);
	if (err < 0) {
		/* NLE_NOMEM here is ENOBUFS: the kernel dropped upcalls */
		log_warn("netlink: receive: %s", nl_geterror(err));
		return -EIO;
	}
	return 0;
}

int s3f_nl_reply(struct s3f_nl *nl, uint64_t req_id, int error,
		 struct nl_msg *msg)
{
	int err;

	/*
	 * s3fd is stopping and aborted the job's requests: no answer, so
	 * that the kernel sends the upcall again to the next helper.
	 */
	if (error && retry_stopping()) {
		log_debug("upcall %" PRIu64 ": not answered (%s): stopping",
			  req_id, strerror(-error));
		nlmsg_free(msg);
		return 0;
	}
	if (!msg)
		msg = s3f_nl_msg(nl, S3F_CMD_REPLY);
	if (!msg)
		return -ENOMEM;
	if (nla_put_u64(msg, S3F_ATTR_REQ_ID, req_id) ||
	    nla_put_u32(msg, S3F_ATTR_ERRNO, (uint32_t)-error)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	pthread_mutex_lock(&nl->send_lock);
	err = nl_send_auto(nl->sock, msg);
	pthread_mutex_unlock(&nl->send_lock);
	nlmsg_free(msg);
	if (err < 0) {
		log_warn("netlink: cannot send a reply: %s", nl_geterror(err));
		return -EIO;
	}
	return 0;
}

static int status_reply(struct nlattr **attrs, void *arg)
{
	struct s3f_status *st = arg;

	if (attrs[S3F_ATTR_HELPER_PID])
		st->helper_pid = nla_get_u32(attrs[S3F_ATTR_HELPER_PID]);
	if (attrs[S3F_ATTR_PROTO_VERSION])
		st->proto_version = nla_get_u32(attrs[S3F_ATTR_PROTO_VERSION]);
	/* a protocol 8 module: it speaks its own version only */
	st->proto_min = attrs[S3F_ATTR_PROTO_MIN] ?
			nla_get_u32(attrs[S3F_ATTR_PROTO_MIN]) : st->proto_version;
	if (attrs[S3F_ATTR_HELPER_PROTO])
		st->helper_proto = nla_get_u32(attrs[S3F_ATTR_HELPER_PROTO]);
	else if (attrs[S3F_ATTR_HELPER_PID] && nla_get_u32(attrs[S3F_ATTR_HELPER_PID]))
		st->helper_proto = st->proto_version;
	if (attrs[S3F_ATTR_PENDING])
		st->pending = nla_get_u32(attrs[S3F_ATTR_PENDING]);
	if (attrs[S3F_ATTR_WAITING])
		st->waiting = nla_get_u32(attrs[S3F_ATTR_WAITING]);
	if (attrs[S3F_ATTR_MOUNTS])
		st->mounts = nla_get_u32(attrs[S3F_ATTR_MOUNTS]);
	if (attrs[S3F_ATTR_PING_NS]) {
		st->has_ping = true;
		st->ping_ns = nla_get_u64(attrs[S3F_ATTR_PING_NS]);
	}
	return 0;
}

int s3f_nl_status(struct s3f_nl *nl, bool ping, struct s3f_status *st)
{
	struct nl_msg *msg;

	memset(st, 0, sizeof(*st));
	msg = s3f_nl_msg(nl, S3F_CMD_STATUS);
	if (!msg)
		return -ENOMEM;
	if (ping && nla_put_flag(msg, S3F_ATTR_PING)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return s3f_nl_request(nl, msg, status_reply, st);
}

static int hello_reply(struct nlattr **attrs, void *arg)
{
	uint32_t *proto = arg;

	if (attrs[S3F_ATTR_PROTO_VERSION])
		*proto = nla_get_u32(attrs[S3F_ATTR_PROTO_VERSION]);
	return 0;
}

static int hello(struct s3f_nl *nl, uint32_t version, uint32_t *proto)
{
	struct nl_msg *msg;

	msg = s3f_nl_msg(nl, S3F_CMD_HELLO);
	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, S3F_ATTR_PROTO_VERSION, version)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	*proto = version;	/* a protocol 8 module answers with its own */
	return s3f_nl_request(nl, msg, hello_reply, proto);
}

/*
 * The newest version first; the module answers with the one both speak.
 * A module of protocol 8 or before wants its own version exactly and
 * says EPROTO to any other: then each older version we speak.
 */
int s3f_nl_hello(struct s3f_nl *nl)
{
	uint32_t version = S3F_PROTOCOL_VERSION, proto = 0;
	int err;

	for (;;) {
		err = hello(nl, version, &proto);
		if (err != -EPROTO || version == S3F_PROTOCOL_MIN)
			break;
		version--;
	}
	if (err)
		return err;
	if (proto < S3F_PROTOCOL_MIN || proto > S3F_PROTOCOL_VERSION) {
		s3f_nl_goodbye(nl);
		snprintf(nl->errmsg, sizeof(nl->errmsg),
			 "the module chose protocol %" PRIu32 ", s3fd speaks %d to %d",
			 proto, S3F_PROTOCOL_MIN, S3F_PROTOCOL_VERSION);
		return -EPROTO;
	}
	nl->proto = proto;
	return 0;
}

int s3f_nl_goodbye(struct s3f_nl *nl)
{
	struct nl_msg *msg;

	msg = s3f_nl_msg(nl, S3F_CMD_GOODBYE);
	if (!msg)
		return -ENOMEM;
	return s3f_nl_request(nl, msg, NULL, NULL);
}
