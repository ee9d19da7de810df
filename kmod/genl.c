// SPDX-License-Identifier: GPL-2.0
/*
 * s3f generic netlink family: the wire side of the helper connection.
 *
 * Commands and attributes are defined in uapi/s3f.h and described in
 * Documentation/protocol.md.  The family sets parallel_ops: a STATUS
 * with PING waits inside its doit for the helper's REPLY, which must not
 * queue behind it on the global genl_mutex.
 */
#include <linux/capability.h>
#include <linux/ktime.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/sched.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "s3f.h"

/* One listing entry (READDIR), or the attributes of a LOOKUP reply. */
const struct nla_policy s3f_entry_policy[S3F_ATTR_MAX + 1] = {
	[S3F_ATTR_NAME]		= { .type = NLA_NUL_STRING, .len = S3F_MAX_KEY_LEN },
	[S3F_ATTR_TYPE]		= NLA_POLICY_RANGE(NLA_U8, S3F_TYPE_FILE, S3F_TYPE_DIR),
	[S3F_ATTR_SIZE]		= { .type = NLA_U64 },
	[S3F_ATTR_MTIME_NS]	= { .type = NLA_S64 },
	[S3F_ATTR_ATIME_NS]	= { .type = NLA_S64 },
	[S3F_ATTR_CTIME_NS]	= { .type = NLA_S64 },
	[S3F_ATTR_ETAG]		= { .type = NLA_NUL_STRING, .len = S3F_ETAG_MAX - 1 },
	[S3F_ATTR_MODE]		= { .type = NLA_U32 },
	[S3F_ATTR_RDEV]		= { .type = NLA_U64 },
	[S3F_ATTR_XATTRS]	= { .type = NLA_BINARY, .len = S3F_XATTR_MAX },
	[S3F_ATTR_UID]		= { .type = NLA_U32 },
	[S3F_ATTR_GID]		= { .type = NLA_U32 },
};

static const struct nla_policy s3f_genl_policy[S3F_ATTR_MAX + 1] = {
	[S3F_ATTR_PROTO_VERSION]	= { .type = NLA_U32 },
	[S3F_ATTR_HELPER_PID]		= { .type = NLA_U32 },
	[S3F_ATTR_REQ_ID]		= { .type = NLA_U64 },
	[S3F_ATTR_ERRNO]		= NLA_POLICY_MAX(NLA_U32, MAX_ERRNO),
	[S3F_ATTR_PENDING]		= { .type = NLA_U32 },
	[S3F_ATTR_MOUNTS]		= { .type = NLA_U32 },
	[S3F_ATTR_PING]			= { .type = NLA_FLAG },
	[S3F_ATTR_PING_NS]		= { .type = NLA_U64 },
	/* REPLY results; a LOOKUP's attributes come in one ENTRY */
	[S3F_ATTR_ERRMSG]		= { .type = NLA_NUL_STRING, .len = 512 },
	[S3F_ATTR_ENTRY]		= NLA_POLICY_NESTED(s3f_entry_policy),
	[S3F_ATTR_TOKEN]		= { .type = NLA_NUL_STRING, .len = S3F_MAX_KEY_LEN },
	[S3F_ATTR_DATA_ADDR]		= { .type = NLA_U64 },
	[S3F_ATTR_DATA_LEN]		= { .type = NLA_U64 },
	[S3F_ATTR_ETAG]			= { .type = NLA_NUL_STRING, .len = S3F_ETAG_MAX - 1 },
	[S3F_ATTR_FD]			= { .type = NLA_U32 },
	[S3F_ATTR_STAGE]		= { .type = NLA_NUL_STRING, .len = PATH_MAX - 1 },
	[S3F_ATTR_CONFLICT]		= { .type = NLA_NUL_STRING, .len = S3F_MAX_KEY_LEN },
	[S3F_ATTR_BYTES_UPLOADED]	= { .type = NLA_U64 },
	[S3F_ATTR_BYTES_COPIED]		= { .type = NLA_U64 },
};

static struct genl_family s3f_genl_family;

/*
 * GENL_ADMIN_PERM already demands CAP_NET_ADMIN in init_user_ns; the
 * helper also reads and writes any user's file data, so it must hold
 * CAP_SYS_ADMIN there too.
 */
static bool s3f_genl_sender_is_admin(struct sk_buff *skb, struct genl_info *info)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN))
		return true;
	NL_SET_ERR_MSG_MOD(info->extack, "CAP_SYS_ADMIN required");
	return false;
}

static int s3f_genl_hello(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *reply;
	void *hdr;
	u32 version;
	int err;

	if (!s3f_genl_sender_is_admin(skb, info))
		return -EPERM;
	if (GENL_REQ_ATTR_CHECK(info, S3F_ATTR_PROTO_VERSION))
		return -EINVAL;
	/* the newest both speak (uapi/s3f.h) */
	version = min_t(u32, nla_get_u32(info->attrs[S3F_ATTR_PROTO_VERSION]),
			S3F_PROTOCOL_VERSION);
	if (version < S3F_PROTOCOL_MIN) {
		NL_SET_ERR_MSG_MOD(info->extack, "no protocol version in common");
		pr_warn("helper pid %d speaks protocol %u, module speaks %u to %u\n",
			current->tgid, version, S3F_PROTOCOL_MIN,
			S3F_PROTOCOL_VERSION);
		return -EPROTO;
	}

	reply = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &s3f_genl_family, 0, S3F_CMD_HELLO);
	if (!hdr ||
	    nla_put_u32(reply, S3F_ATTR_PROTO_VERSION, version) ||
	    nla_put_u32(reply, S3F_ATTR_HELPER_PID, current->tgid)) {
		err = -EMSGSIZE;
		goto out_free;
	}
	genlmsg_end(reply, hdr);

	err = s3f_helper_register(genl_info_net(info), info->snd_portid,
				  current->tgid, version);
	if (err) {
		NL_SET_ERR_MSG_MOD(info->extack, "another helper is registered");
		goto out_free;
	}
	return genlmsg_reply(reply, info);

out_free:
	nlmsg_free(reply);
	return err;
}

static int s3f_genl_goodbye(struct sk_buff *skb, struct genl_info *info)
{
	if (s3f_helper_unregister(genl_info_net(info), info->snd_portid)) {
		NL_SET_ERR_MSG_MOD(info->extack, "sender is not the helper");
		return -ENOENT;
	}
	return 0;
}

static int s3f_genl_status(struct sk_buff *skb, struct genl_info *info)
{
	u32 helper_proto = s3f_helper_proto();
	struct sk_buff *reply;
	u64 rtt_ns = 0;
	void *hdr;
	int err;

	if (info->attrs[S3F_ATTR_PING]) {
		err = s3f_ping(&rtt_ns);
		if (err) {
			NL_SET_ERR_MSG_MOD(info->extack, "helper did not answer the ping");
			return err;
		}
	}

	reply = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &s3f_genl_family, 0, S3F_CMD_STATUS);
	if (!hdr ||
	    nla_put_u32(reply, S3F_ATTR_PROTO_VERSION, S3F_PROTOCOL_VERSION) ||
	    nla_put_u32(reply, S3F_ATTR_PROTO_MIN, S3F_PROTOCOL_MIN) ||
	    (helper_proto && nla_put_u32(reply, S3F_ATTR_HELPER_PROTO, helper_proto)) ||
	    nla_put_u32(reply, S3F_ATTR_HELPER_PID, s3f_helper_pid()) ||
	    nla_put_u32(reply, S3F_ATTR_PENDING, s3f_upcall_pending()) ||
	    nla_put_u32(reply, S3F_ATTR_WAITING, s3f_upcall_waiting()) ||
	    nla_put_u32(reply, S3F_ATTR_MOUNTS, s3f_mount_count()) ||
	    (info->attrs[S3F_ATTR_PING] &&
	     nla_put_u64_64bit(reply, S3F_ATTR_PING_NS, rtt_ns, S3F_ATTR_PAD))) {
		nlmsg_free(reply);
		return -EMSGSIZE;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

static int s3f_genl_reply(struct sk_buff *skb, struct genl_info *info)
{
	u64 id;
	int err;

	if (!s3f_genl_sender_is_admin(skb, info))
		return -EPERM;
	if (!s3f_helper_is(genl_info_net(info), info->snd_portid)) {
		NL_SET_ERR_MSG_MOD(info->extack, "sender is not the registered helper");
		return -EPERM;
	}
	if (GENL_REQ_ATTR_CHECK(info, S3F_ATTR_REQ_ID) ||
	    GENL_REQ_ATTR_CHECK(info, S3F_ATTR_ERRNO))
		return -EINVAL;

	id = nla_get_u64(info->attrs[S3F_ATTR_REQ_ID]);
	err = s3f_reply_errno(nla_get_u32(info->attrs[S3F_ATTR_ERRNO]));
	return s3f_upcall_complete(id, err, info);
}

static const struct genl_small_ops s3f_genl_ops[] = {
	{
		.cmd	= S3F_CMD_HELLO,
		.flags	= GENL_ADMIN_PERM,
		.doit	= s3f_genl_hello,
	},
	{
		.cmd	= S3F_CMD_GOODBYE,
		.flags	= GENL_ADMIN_PERM,
		.doit	= s3f_genl_goodbye,
	},
	{
		.cmd	= S3F_CMD_STATUS,
		.flags	= GENL_ADMIN_PERM,
		.doit	= s3f_genl_status,
	},
	{
		.cmd	= S3F_CMD_REPLY,
		.flags	= GENL_ADMIN_PERM,
		.doit	= s3f_genl_reply,
	},
};

static struct genl_family s3f_genl_family __ro_after_init = {
	.name		= S3F_GENL_NAME,
	.version	= S3F_GENL_VERSION,
	.maxattr	= S3F_ATTR_MAX,
	.policy		= s3f_genl_policy,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.small_ops	= s3f_genl_ops,
	.n_small_ops	= ARRAY_SIZE(s3f_genl_ops),
};

/* Start an upcall message for @req: header plus REQ_ID; @size 0: a page. */
struct sk_buff *s3f_genl_new_request(struct s3f_req *req, size_t size, void **hdr)
{
	struct sk_buff *msg;

	msg = genlmsg_new(size ? size : NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &s3f_genl_family, 0, req->cmd);
	if (!*hdr ||
	    nla_put_u64_64bit(msg, S3F_ATTR_REQ_ID, req->id, S3F_ATTR_PAD) ||
	    nla_put_u32(msg, S3F_ATTR_TIMEOUT_MS, 0)) {
		nlmsg_free(msg);
		return NULL;
	}
	req->timeout_attr = (struct nlattr *)(skb_tail_pointer(msg) -
					      nla_total_size(sizeof(u32)));
	/* protocol 8 helpers ignore it (an attribute they do not know) */
	if (nla_put_u32(msg, S3F_ATTR_SENDS, 0)) {
		nlmsg_free(msg);
		return NULL;
	}
	req->sends_attr = (struct nlattr *)(skb_tail_pointer(msg) -
					    nla_total_size(sizeof(u32)));
	return msg;
}

/* The mount's parameters: every file system upcall carries them. */
int s3f_genl_put_mount(struct sk_buff *msg, struct s3f_sb_info *sbi)
{
	struct s3f_mount_opts *o = &sbi->opts;
	struct nlattr *nest;

	nest = nla_nest_start(msg, S3F_ATTR_MOUNT);
	if (!nest ||
	    nla_put_u32(msg, S3F_MOUNT_ATTR_ID, sbi->mount_id) ||
	    nla_put_string(msg, S3F_MOUNT_ATTR_BUCKET, o->bucket) ||
	    nla_put_string(msg, S3F_MOUNT_ATTR_PREFIX, o->prefix) ||
	    nla_put_string(msg, S3F_MOUNT_ATTR_ENDPOINT, o->endpoint) ||
	    nla_put_string(msg, S3F_MOUNT_ATTR_REGION, o->region) ||
	    nla_put_string(msg, S3F_MOUNT_ATTR_PROFILE, o->profile) ||
	    nla_put_u8(msg, S3F_MOUNT_ATTR_ADDRESSING, o->addressing) ||
	    (o->staging[0] && nla_put_string(msg, S3F_MOUNT_ATTR_STAGING, o->staging)) ||
	    (!sb_rdonly(sbi->sb) && nla_put_flag(msg, S3F_MOUNT_ATTR_RW)))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

int s3f_genl_send(struct net *net, u32 portid, struct sk_buff *msg)
{
	return genlmsg_unicast(net, msg, portid);
}

/*
 * Ask the helper at @portid to stop working on request @id (it still
 * answers it).  Best effort: a lost CANCEL costs time, not correctness.
 */
void s3f_genl_cancel(u32 portid, u64 id)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &s3f_genl_family, 0, S3F_CMD_CANCEL);
	if (!hdr || nla_put_u64_64bit(msg, S3F_ATTR_REQ_ID, id, S3F_ATTR_PAD)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	s3f_genl_send(&init_net, portid, msg);
}

/* Round trip through the helper; proves the request/reply path. */
int s3f_ping(u64 *rtt_ns)
{
	struct s3f_req *req;
	struct sk_buff *msg;
	void *hdr;
	u64 start;
	int err;

	req = s3f_req_alloc(S3F_CMD_PING, NULL, NULL);
	if (!req)
		return -ENOMEM;
	msg = s3f_genl_new_request(req, 0, &hdr);
	if (!msg) {
		err = -ENOMEM;
		goto out_put;
	}
	genlmsg_end(msg, hdr);

	start = ktime_get_ns();
	err = s3f_upcall(req, msg, S3F_PING_TIMEOUT);
	*rtt_ns = ktime_get_ns() - start;
out_put:
	s3f_req_put(req);
	return err;
}

/*
 * Every netlink socket's release comes through here; when it is the
 * helper's, fail its pending requests at once instead of letting them
 * time out.  The chain is a blocking notifier, so no deferral needed.
 */
static int s3f_netlink_notify(struct notifier_block *nb, unsigned long state,
			      void *data)
{
	struct netlink_notify *notify = data;

	if (state != NETLINK_URELEASE || notify->protocol != NETLINK_GENERIC)
		return NOTIFY_DONE;
	s3f_helper_unregister(notify->net, notify->portid);
	return NOTIFY_DONE;
}

static struct notifier_block s3f_netlink_notifier = {
	.notifier_call = s3f_netlink_notify,
};

int s3f_genl_init(void)
{
	int err;

	err = netlink_register_notifier(&s3f_netlink_notifier);
	if (err)
		return err;
	err = genl_register_family(&s3f_genl_family);
	if (err)
		goto out_unregister_notifier;
	return 0;

out_unregister_notifier:
	netlink_unregister_notifier(&s3f_netlink_notifier);
	return err;
}

void s3f_genl_exit(void)
{
	genl_unregister_family(&s3f_genl_family);
	netlink_unregister_notifier(&s3f_netlink_notifier);
}
