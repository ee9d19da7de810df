/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s3fd's write-path upcalls (uapi/s3f.h is the contract): STAGE_OPEN,
 * STAGE_NOTE, COMMIT, STAGE_RELEASE, DELETE, MKDIR, RMDIR, RENAME,
 * SYMLINK; the staging journals they keep (journal.c).  upcalls.c
 * parses the common part of a job and hands these over; the S3 work is
 * in fsops.c, the staging files in staging.c.
 */
#ifndef S3F_HELPER_WRITE_UPCALLS_H
#define S3F_HELPER_WRITE_UPCALLS_H

#include <stdbool.h>
#include <stdint.h>

#include "upcalls.h"

bool write_upcall_is_write(uint8_t cmd);

/*
 * The write path's attributes of the upcall being dispatched (EXTENTS
 * from every EXTENTS attribute).  0, or -EINVAL when a required one is
 * missing or malformed (the caller answers EINVAL).
 */
int write_upcall_parse(struct s3f_nl *nl, struct job *job, struct nlattr **attrs);

/* STAGE_OPEN and STAGE_RELEASE need no S3 client: run and answer them here. */
bool write_upcall_run_local(struct s3f_nl *nl, struct job *job);

/* Run and answer an upcall that talks to S3, with its mount's entry. */
void write_upcall_run(struct s3f_nl *nl, struct job *job, struct mount_entry *me);

/* Free what write_upcall_parse took (not the job itself). */
void write_upcall_free(struct job *job);

#endif /* S3F_HELPER_WRITE_UPCALLS_H */
