/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s3fd's file system upcalls, as jobs: parsed from the upcall on the
 * netlink thread (job_parse), run on a worker (job_run).  The read side
 * (MOUNT, LOOKUP, READDIR, READ, UMOUNT) is handled here; the write
 * path's (STAGE_OPEN, STAGE_NOTE, COMMIT, STAGE_RELEASE, DELETE, MKDIR,
 * RMDIR, RENAME, SYMLINK) in write_upcalls.c, whose S3 work is fsops.c.
 */
#ifndef S3F_HELPER_UPCALLS_H
#define S3F_HELPER_UPCALLS_H

#include <stdint.h>

#include <netlink/attr.h>

#include "genl.h"
#include "mounts.h"
#include "fsops.h"

struct job {
	struct job *next;		/* work queue link */
	struct job **prev_running, *next_running;	/* while a worker runs it */
	int cancel;			/* the kernel sent CANCEL (atomic) */
	uint64_t deadline_ns;		/* CLOCK_MONOTONIC; 0: until CANCEL */
	uint8_t cmd;
	uint64_t id;
	/*
	 * SENDS (protocol 9): helpers that had the upcall before and died
	 * without answering; it may have been carried out already.
	 */
	uint32_t sends;
	struct mount_params mp;
	char *key;
	char *token;
	char *etag;
	uint64_t offset;
	uint64_t length;
	/* the write path (write_upcalls.c) */
	char *new_key;
	char *stage;
	char *target;
	uint64_t size, base_size, clean_size;
	bool has_size, has_base_size, has_clean_size;
	uint32_t flags;
	uint64_t commit_id;		/* COMMIT: 0 when absent */
	uint64_t commit_session;	/* COMMIT: 0 when absent */
	uint8_t type;
	bool has_type;
	struct fsop_meta meta;
	struct commit_range *extents;
	size_t nextents;
	void *data;			/* COMMIT: inline bytes (DATA), malloc'd */
	size_t data_len;
	bool has_data;
};

/* NULL when the upcall is malformed (answered with EINVAL right away). */
struct job *job_parse(struct s3f_nl *nl, uint8_t cmd, struct nlattr **attrs);
void job_run(struct s3f_nl *nl, struct job *job);
void job_free(struct job *job);

#endif /* S3F_HELPER_UPCALLS_H */
