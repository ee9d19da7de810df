/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The commit engine: turn a locally staged file into an S3 object,
 * atomically and conflict-safely (Documentation/commit.md is the
 * contract).
 *
 * - Atomic: one PUT up to the part size, else a multipart upload with
 *   parts in flight on threads, aborted on any failure.  A reader sees
 *   the previous object or the complete new one, never a mix.
 * - Small edits of big objects: parts holding no dirty byte are copied
 *   server side from the object the file came from (UploadPartCopy with
 *   x-amz-copy-source-if-match on its ETag); only the parts around the
 *   dirty ranges are uploaded.
 * - Conditional: the write replaces only the version the file was based
 *   on (If-Match on its ETag; If-None-Match: * for a new file) where the
 *   server honours conditions, with HEAD checks where it does not
 *   (commit_probe_conditions() finds out, once per mount).
 * - Conflicts lose nothing: by default the local version is committed
 *   beside the other writer's under a conflict name (commit_conflict_name());
 *   COMMIT_FAIL makes the commit fail instead (-ESTALE, -EEXIST).
 * - Integrity: every PUT and UploadPart carries Content-MD5 (verified
 *   by S3 and RGW); single PUTs also carry x-amz-checksum-crc32c.
 *
 * All functions are thread-safe in the engine's sense (one client may
 * serve many commits at once) and return 0 or a negative errno.
 */
#ifndef S3F_HELPER_COMMIT_H
#define S3F_HELPER_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "s3.h"

#define COMMIT_DEFAULT_PART_SIZE	(8ULL << 20)
#define COMMIT_DEFAULT_JOBS		4
/* copied (server-side) parts are this big at least: fewer requests */
#define COMMIT_COPY_PART_SIZE		(128ULL << 20)
/* key and conflict-name limits: S3 keys, and what the mount can show */
#define COMMIT_KEY_MAX			1024
#define COMMIT_NAME_MAX			255
/* ".s3f-conflict-" "YYYYMMDDTHHMMSSZ" "-" "<8 hex>" */
#define COMMIT_CONFLICT_SUFFIX_LEN	39

struct commit_range {
	uint64_t off, len;
};

/* What is committed: a staged file, and what it was based on. */
struct commit_source {
	int fd;				/* the staged file, read with pread */
	uint64_t size;			/* the new object's size */
	/*
	 * The object version this file was based on: its ETag (no quotes)
	 * and size, or NULL for a file that did not exist in S3.
	 */
	const char *base_etag;
	uint64_t base_size;
	/*
	 * Bytes that differ from the base: dirty ranges (any order, may
	 * overlap; clipped to size), or all_dirty.  Bytes past base_size
	 * are dirty by definition.  Ignored without a base.
	 */
	const struct commit_range *dirty;
	size_t ndirty;
	bool all_dirty;
	/*
	 * fd holds only the dirty bytes (and those past base_size); the
	 * clean ones are read from the base object where an uploaded part
	 * needs them.  Without sparse, fd holds every byte of the file.
	 * A sparse file whose base was replaced by another writer cannot
	 * be kept beside it: that conflict is always -ESTALE.
	 */
	bool sparse;
};

enum commit_on_conflict {
	COMMIT_KEEP_BOTH,		/* commit under a conflict name (default) */
	COMMIT_FAIL,			/* -ESTALE (base given) / -EEXIST (new file) */
};

/* Which conditional writes the server enforces (commit_probe_conditions()). */
struct commit_conditions {
	bool put;			/* If-Match / If-None-Match on PutObject */
	bool complete;			/* the same on CompleteMultipartUpload */
};

struct commit_opts {
	/* metadata and content type (x-amz-meta-mode/-uid/-gid/-mtime);
	 * its conditions are ignored: the commit sets its own */
	const struct s3_put_opts *put;
	uint64_t part_size;		/* 0: COMMIT_DEFAULT_PART_SIZE (min 5 MiB) */
	int jobs;			/* parts in flight; 0: COMMIT_DEFAULT_JOBS */
	enum commit_on_conflict on_conflict;
	/*
	 * What the server honours; all false (the zero value) means HEAD
	 * checks only: before the PUT, and right before Complete.
	 */
	struct commit_conditions conditions;
	/*
	 * Test seam, NULL in production: called once, for the commit to the
	 * key itself, after every part is stored and before the checks and
	 * the request that make the object visible (PUT or Complete).
	 */
	void (*before_publish)(void *arg, const char *key);
	void *before_publish_arg;
	/*
	 * This commit's tag, also among put->meta as x-amz-meta-s3f-commit
	 * (COMMIT_TAG_META), or NULL.  When the key turns out changed, an
	 * object there carrying this tag is this very commit, published by
	 * an earlier attempt whose answer was lost (the helper died): that
	 * is success, not a conflict.
	 */
	const char *own_commit_tag;
	/*
	 * The prefix (up to and including '-') that every attempt of this
	 * writer since its base has in its tag, or NULL.  An object carrying
	 * it but not own_commit_tag is this writer's earlier attempt, which
	 * failed after publishing: the commit goes on top of it (its ETag
	 * becomes the base), not to a conflict name.
	 */
	const char *own_session;
	/*
	 * Not NULL: set (to non-zero, by another thread) when the kernel
	 * cancels the commit.  Parts not yet sent are not sent, and nothing
	 * is published after that (-ECANCELED); a request already publishing
	 * ends, and its outcome stands.
	 */
	const int *cancel;
	/*
	 * Not NULL: a file that names the multipart upload in progress
	 * ("KEY\nUPLOAD_ID\n"), from its creation to its Complete or
	 * Abort.  A helper killed in between leaves it behind; the commit
	 * sent again (the same writer's session) aborts that upload first,
	 * so that no upload stays abandoned on the server.  Its mtime is
	 * renewed with every part: a note untouched for COMMIT_NOTE_STALE_S
	 * is a leftover that the next mount of its bucket aborts.
	 */
	const char *upload_note;
};

/*
 * A note (commit_opts.upload_note) of c's endpoint and bucket: abort the
 * upload it names and remove it.  False when it is another server's.
 */
bool commit_abort_noted_upload(struct s3_client *c, const char *note);

#define COMMIT_NOTE_STALE_S	3600

#define COMMIT_TAG_META		"s3f-commit"

struct commit_result {
	char etag[S3_ETAG_MAX];		/* of the object written */
	char *key;			/* where it landed: the key, or its conflict name */
	bool conflict;			/* another writer got there first; both kept */
	size_t nparts;			/* 0 for a single PUT */
	uint64_t bytes_uploaded;	/* body bytes of PUT / UploadPart (once each) */
	uint64_t bytes_copied;		/* bytes copied server side */
	uint64_t bytes_fetched;		/* clean bytes read from the base (sparse) */
};

/*
 * Commit src as key.  On success out->key is malloc'd (free with
 * commit_result_free()).  Errors: -ESTALE / -EEXIST for a conflict with
 * COMMIT_FAIL (the key is untouched), -ESTALE for a sparse source whose
 * base is gone, -ENAMETOOLONG when no conflict name fits, -EINVAL for a
 * bad source, else the engine's errno with *res filled.  A failed
 * commit leaves no object and no multipart upload behind.
 */
int commit_object(struct s3_client *c, const char *key,
		  const struct commit_source *src, const struct commit_opts *o,
		  struct commit_result *out, struct s3_result *res);
void commit_result_free(struct commit_result *r);

/*
 * Find out whether the server enforces conditional writes: PUT a small
 * object at probe_key + "-<16 hex>" twice with If-None-Match: * (the
 * second must get 412), then Complete a one-part multipart upload on it
 * with If-None-Match: * (must get 412), then delete it.  A server that
 * refuses the condition header (400, 501) honours nothing.  Run once
 * per mount; returns a transport or permission error as it is.
 */
int commit_probe_conditions(struct s3_client *c, const char *probe_key,
			    struct commit_conditions *out);

/* ---- pure parts, exposed for the unit tests ---- */

struct commit_part {
	uint64_t off, len;		/* bytes of the new object */
	bool copy;			/* UploadPartCopy of the same bytes of the base */
};

/*
 * Plan the multipart upload of src (size above part_size): parts in
 * order covering [0, size); every part but the last at least 5 MiB and
 * at most 5 GiB, at most 10000 parts (part sizes grow to fit).  Parts
 * without a dirty byte that lie inside the base are copies (at least
 * COMMIT_COPY_PART_SIZE or part_size each); the dirty ranges are
 * uploaded in parts of part_size to 2 * part_size, widened to 5 MiB
 * with clean bytes where needed.  Without a base (or with all_dirty),
 * every part is an upload.  *parts is malloc'd.
 */
int commit_plan(const struct commit_source *src, uint64_t part_size,
		struct commit_part **parts, size_t *nparts);

/*
 * The conflict name of key: "KEY.s3f-conflict-YYYYMMDDTHHMMSSZ-XXXXXXXX"
 * with the UTC time when and rnd in 8 lower-case hex digits, in the
 * key's own "directory".  When the last component would pass 255 bytes
 * (the longest file name the mount shows) or the key 1024, the
 * component's name part is cut (at a UTF-8 character boundary) to fit;
 * -ENAMETOOLONG when even that cannot fit, -EINVAL for an empty key or
 * one ending in '/'.  *out is malloc'd.
 */
int commit_conflict_name(const char *key, time_t when, uint32_t rnd,
			 char **out);

#endif /* S3F_HELPER_COMMIT_H */
