// SPDX-License-Identifier: GPL-2.0
/*
 * s3fd's test hooks (testhooks.h).  Each bad reply breaks one rule the
 * kernel must enforce (kmod/trust.c, kmod/fsops.c, kmod/dir.c); the key
 * of the upcall chooses which, so one helper serves a whole test run:
 *
 *   ...s3f-fault-errno...     LOOKUP answered with errno 4095
 *   ...s3f-fault-etag...      LOOKUP answered with an ETag holding a quote
 *   ...s3f-fault-loop/        READDIR answered with the same token forever
 *   ...s3f-fault-conflict...  COMMIT "kept both" under a key outside the
 *                             file's directory
 *   ...s3f-fault-stagefd...   STAGE_OPEN answered with the staging
 *                             directory's descriptor
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "upcalls.h"
#include "staging.h"
#include "testhooks.h"

/* Set once before the workers start (testhooks_set), then only read. */
static bool bad_replies;
static unsigned int commit_delay_ms;

void testhooks_set(bool bad, unsigned int delay_ms)
{
	bad_replies = bad;
	commit_delay_ms = delay_ms;
	if (bad)
		log_warn("test hook: answering s3f-fault-* keys with bad replies");
	if (delay_ms)
		log_warn("test hook: every commit waits %u ms first", delay_ms);
}

static bool names(const struct job *job, const char *fault)
{
	return job->key && strstr(job->key, fault);
}

/* Reply with err and, when name is set, one string attribute. */
static void reply_str(struct s3f_nl *nl, const struct job *job, int err,
		      int type, const char *val)
{
	struct nl_msg *msg = s3f_nl_msg(nl, S3F_CMD_REPLY);

	if (msg && val && nla_put_string(msg, type, val)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	s3f_nl_reply(nl, job->id, err, msg);
}

static void bad_entry(struct s3f_nl *nl, const struct job *job)
{
	struct nl_msg *msg = s3f_nl_msg(nl, S3F_CMD_REPLY);
	struct nlattr *nest;

	nest = msg ? nla_nest_start(msg, S3F_ATTR_ENTRY) : NULL;
	if (!nest || nla_put_u8(msg, S3F_ATTR_TYPE, S3F_TYPE_FILE) ||
	    nla_put_u64(msg, S3F_ATTR_SIZE, 1) ||
	    nla_put_string(msg, S3F_ATTR_ETAG, "bad\"etag")) {
		nlmsg_free(msg);
		msg = NULL;
	} else {
		nla_nest_end(msg, nest);
	}
	s3f_nl_reply(nl, job->id, 0, msg);
}

static void bad_stage_fd(struct s3f_nl *nl, const struct job *job)
{
	const char *dir = staging_dir_of(job->mp.staging);
	struct nl_msg *msg = s3f_nl_msg(nl, S3F_CMD_REPLY);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!msg || fd < 0 || nla_put_u32(msg, S3F_ATTR_FD, fd) ||
	    nla_put_string(msg, S3F_ATTR_STAGE, dir)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	s3f_nl_reply(nl, job->id, msg ? 0 : -EIO, msg);
	if (fd >= 0)
		close(fd);
}

static void bad_conflict(struct s3f_nl *nl, const struct job *job)
{
	struct nl_msg *msg = s3f_nl_msg(nl, S3F_CMD_REPLY);

	if (!msg || nla_put_string(msg, S3F_ATTR_ETAG, "0123abcd") ||
	    nla_put_string(msg, S3F_ATTR_CONFLICT, "elsewhere/s3f-fault-conflict")) {
		nlmsg_free(msg);
		msg = NULL;
	}
	s3f_nl_reply(nl, job->id, msg ? 0 : -EIO, msg);
}

bool testhooks_bad_reply(struct s3f_nl *nl, const struct job *job)
{
	if (!bad_replies)
		return false;
	switch (job->cmd) {
	case S3F_CMD_LOOKUP:
		if (names(job, "s3f-fault-errno")) {
			s3f_nl_reply(nl, job->id, -4095, NULL);
			return true;
		}
		if (names(job, "s3f-fault-etag")) {
			bad_entry(nl, job);
			return true;
		}
		break;
	case S3F_CMD_READDIR:
		if (names(job, "s3f-fault-loop/")) {
			reply_str(nl, job, 0, S3F_ATTR_TOKEN, "again");
			return true;
		}
		break;
	case S3F_CMD_COMMIT:
		if (names(job, "s3f-fault-conflict")) {
			bad_conflict(nl, job);
			return true;
		}
		break;
	case S3F_CMD_STAGE_OPEN:
		if (names(job, "s3f-fault-stagefd")) {
			bad_stage_fd(nl, job);
			return true;
		}
		break;
	}
	return false;
}

void testhooks_commit_delay(const struct job *job)
{
	struct timespec ts = {
		.tv_sec = commit_delay_ms / 1000,
		.tv_nsec = (long)(commit_delay_ms % 1000) * 1000000,
	};

	if (commit_delay_ms && job->cmd == S3F_CMD_COMMIT)
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
}
