/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Staging journals: a small text file next to each staging file
 * ("<staging file>.journal") saying what the staged bytes are, so that
 * s3fd can commit them after the node crashed and the kernel's map of
 * them is gone (Documentation/recovery.md).
 *
 * The staging file is sparse: below CLEAN_SIZE, a byte the kernel never
 * staged is the base version's, above it a zero.  With the journal's key,
 * base ETag and clean size, the staging file's data ranges (SEEK_DATA)
 * and its size, the file's content can be rebuilt.
 *
 * Who writes it: STAGE_OPEN (before the kernel has the file), STAGE_NOTE
 * (truncation, rename, unlink), COMMIT (the commit it is about to make,
 * then its result).  STAGE_RELEASE deletes it with the staging file.
 * Each write replaces the file atomically and durably (a temporary file,
 * fsync, rename, fsync of the directory).
 */
#ifndef S3F_HELPER_JOURNAL_H
#define S3F_HELPER_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#define JOURNAL_SUFFIX		".journal"
#define JOURNAL_BOOT_ID_LEN	36	/* /proc/sys/kernel/random/boot_id */

struct journal {
	char boot_id[JOURNAL_BOOT_ID_LEN + 1];	/* the boot that staged it */
	char *endpoint;			/* the mount's; "" = AWS's */
	char *bucket;
	char *region;			/* the mount's; "" = the default */
	char *profile;			/* credentials profile; "" = default chain */
	bool virtual_hosted;		/* addressing=virtual */
	char *key;
	char *base_etag;		/* NULL: a new object */
	uint64_t base_size;
	uint64_t clean_size;		/* unstaged bytes past it are zeros */
	uint32_t mode, uid, gid;
	int64_t mtime_ns;
	bool gone;			/* unlinked or replaced: never recover */
	/*
	 * The staging file, its holes read as zeros, is the whole content:
	 * every byte it lacks below the clean size is a zero of the base
	 * too.  True from STAGE_OPEN of a new file or one rewritten from 0
	 * (clean size 0), and after a COMMIT that uploaded every byte; kept
	 * through later staging and truncation.  Recovery then needs no
	 * holes told apart (recover.c).
	 */
	bool whole;
	/* a COMMIT under way: its x-amz-meta-s3f-commit tag, "" when none */
	char pending[40];
	/*
	 * After a successful COMMIT: the staging file's size and mtime then.
	 * Unchanged at recovery (and the same bytes): nothing to commit.
	 */
	bool committed;
	uint64_t committed_size;
	int64_t committed_mtime_ns;
};

/* "<stage>.journal", malloc'd, or NULL. */
char *journal_path(const char *stage);

/* This boot's id.  0 or -errno. */
int journal_boot_id(char out[JOURNAL_BOOT_ID_LEN + 1]);

/*
 * Replace stage's journal with j, durably.  j->boot_id empty: this
 * boot's.  0 or -errno.
 */
int journal_write(const char *stage, const struct journal *j);

/*
 * Read stage's journal into *j (journal_free() it).  0, -ENOENT, or
 * -EINVAL for a journal that is not one (unknown version, garbled).
 */
int journal_read(const char *stage, struct journal *j);
void journal_free(struct journal *j);

/* Delete stage's journal.  0 or -errno (-ENOENT: there was none). */
int journal_remove(const char *stage);

/* The text form of j, as journal_write() stores it (malloc'd), or NULL. */
char *journal_format(const struct journal *j);
/* Parse text (journal_format's).  0 or -EINVAL; journal_free() *j. */
int journal_parse(const char *text, struct journal *j);

/* Escape s for one journal line (%XX for bytes outside '!'..'~' and '%'). */
char *journal_escape(const char *s);
/* The reverse; NULL for a malformed escape. */
char *journal_unescape(const char *s);

#endif /* S3F_HELPER_JOURNAL_H */
