/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Recovery of staged data after a node crash (Documentation/recovery.md).
 *
 * A staging file whose journal (journal.h) was written in an earlier
 * boot lost its kernel: nobody will commit or release it.  Recovery
 * rebuilds the file from the journal and the staging file and commits it
 * the way the kernel would have: onto the base version when S3 still
 * has it, as a conflict copy (both kept) when another writer replaced
 * it.  A file recovery cannot rebuild (the base's bytes it needs are
 * gone, or the staging file system cannot tell staged bytes from holes)
 * is held: listed by `s3fctl recover`, never committed wrong.
 */
#ifndef S3F_HELPER_RECOVER_H
#define S3F_HELPER_RECOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "commit.h"
#include "journal.h"
#include "s3.h"

enum recover_outcome {
	RECOVER_COMMITTED,	/* committed onto the base, or as a new object */
	RECOVER_CONFLICT,	/* committed as a conflict copy: result.key */
	RECOVER_UNCHANGED,	/* S3 already has these bytes: nothing to do */
	RECOVER_DISCARDED,	/* unlinked before the crash, or discarded */
	RECOVER_HELD,		/* cannot be rebuilt: result.why */
	RECOVER_BUSY,		/* another recovery holds it */
	RECOVER_FAILED,		/* S3 failed: try again later (result.why) */
};

struct recover_result {
	enum recover_outcome outcome;
	char key[1100];		/* where it was committed */
	char why[256];
};

const char *recover_outcome_name(enum recover_outcome o);

/* One journal in a staging directory (recover_scan). */
struct recover_item {
	const char *stage;	/* the staging file's path */
	struct journal j;	/* -EINVAL journals are skipped (logged) */
	bool this_boot;		/* staged in this boot: the kernel's still */
	bool has_stage;		/* the staging file exists */
	unsigned long long stage_size;
};

/*
 * Call fn for each journal in dir (sorted by name).  fn returning
 * non-zero stops the scan with that value.  0, or -errno of dir.
 */
int recover_scan(const char *dir, int (*fn)(const struct recover_item *it, void *arg),
		 void *arg);

/*
 * Recover staging file stage with client c (the journal's endpoint and
 * bucket): decide, commit, and delete the staging file and its journal
 * when done (COMMITTED, CONFLICT, UNCHANGED, DISCARDED).  A journal of
 * this boot is refused (HELD) unless this_boot_ok.  0, or -errno with
 * out->outcome FAILED.
 */
int recover_one(struct s3_client *c, const char *stage,
		const struct commit_conditions *cond, bool this_boot_ok,
		struct recover_result *out);

/* Delete stage and its journal, whatever they hold.  0 or -errno. */
int recover_discard(const char *stage);

/*
 * Recover every journal of an earlier boot in dir that belongs to
 * endpoint and bucket (a mount's, at MOUNT).  Logs each outcome;
 * returns how many are left held or failed.
 */
int recover_dir(struct s3_client *c, const char *dir, const char *endpoint,
		const char *bucket, const struct commit_conditions *cond);

/* How many journals of an earlier boot in dir are endpoint's and bucket's. */
int recover_count(const char *dir, const char *endpoint, const char *bucket);

/*
 * Does dir's file system report a staging file's holes exactly, page
 * by page (SEEK_DATA/SEEK_HOLE)?  1 yes, 0 no, or -errno.
 */
int recover_holes_exact(const char *dir);

/*
 * The byte ranges of a staging file (fd) of size bytes that differ from
 * the base: its data ranges below min(clean, size), and [clean, size).
 * *out malloc'd.  0 or -errno.
 */
int recover_ranges(int fd, uint64_t clean, uint64_t size,
		   struct commit_range **out, size_t *n);

#endif /* S3F_HELPER_RECOVER_H */
