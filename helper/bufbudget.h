/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The budget for s3fd's large buffers: the data of READ replies, the
 * merged bodies of sparse commits and the chunks uploads are checksummed
 * in.  These are the only buffers whose number and size grow with the
 * load, so bounding them bounds the daemon's resident size: the budget
 * (s3fd --buffer-mib) plus what its libraries and threads need.
 *
 * No caller holds two budgeted buffers at once, so waiting for room
 * cannot deadlock: every holder frees without waiting on another.
 */
#ifndef S3F_HELPER_BUFBUDGET_H
#define S3F_HELPER_BUFBUDGET_H

#include <stddef.h>
#include <stdint.h>

/* s3fd's default budget: a 32 MiB readahead window's READs and a few commits */
#define BUFBUDGET_DEFAULT	(64ULL << 20)

/* Set the budget in bytes; 0 (the default, e.g. in s3fctl): unlimited. */
void bufbudget_set(uint64_t bytes);

/*
 * A buffer of len bytes (page-aligned, not zeroed unless fresh), after
 * waiting while the budget has no room; one larger than the whole
 * budget waits until it is the only one.  NULL when mmap fails.
 */
void *bufbudget_alloc(size_t len);

/* Give back a buffer from bufbudget_alloc(p, len); NULL is ignored. */
void bufbudget_free(void *p, size_t len);

/* The budget, and the most its buffers ever held at once. */
void bufbudget_stats(uint64_t *limit, uint64_t *peak);

#endif /* S3F_HELPER_BUFBUDGET_H */
