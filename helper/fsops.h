/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The write path's S3 operations, without netlink: what the COMMIT,
 * DELETE, MKDIR, RMDIR, RENAME and SYMLINK upcalls do (write_upcalls.c), and
 * what `s3fctl s3 mkdir|rmdir|rename|rename-dir|symlink|commit-stage`
 * runs, so the logic is tested against a server without the kernel.
 *
 * Keys are full keys (the mount prefix included); directories end in
 * '/'.  Metadata is s3fs-fuse's (helper/upcalls.c reads it back).
 * Every function returns 0 or a negative errno, with *res (when not
 * NULL) saying what the server answered.
 */
#ifndef S3F_HELPER_FSOPS_H
#define S3F_HELPER_FSOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "commit.h"
#include "s3.h"
#include "s3f.h"

/* s3fs-fuse metadata of an object; only the fields marked present are written. */
struct fsop_meta {
	bool has_mode, has_uid, has_gid, has_mtime, has_atime, has_ctime;
	uint32_t mode, uid, gid;
	int64_t mtime_ns, atime_ns, ctime_ns;
	uint64_t rdev;		/* a device node's; 0: none */
	bool has_xattrs;	/* S3F_ATTR_XATTRS came (empty: none) */
	size_t xattrs_len;
	unsigned char xattrs[S3F_XATTR_MAX];
};

#define FSOP_META_MAX	9	/* the eight s3fs ones and s3f-commit */
#define FSOP_META_LEN	40	/* "-9223372036.854775808", a commit tag fit */

/* The header values of m: x-amz-meta-mode|uid|gid|mtime|atime|ctime|rdev|xattr. */
struct fsop_meta_kv {
	struct s3_kv kv[FSOP_META_MAX];
	char val[FSOP_META_MAX][FSOP_META_LEN];
	char xattr[S3F_XATTR_HDR_MAX + 1];	/* x-amz-meta-xattr's value */
	size_t n;
};

/*
 * Fill out from m: mode, uid, gid in decimal, times as epoch seconds
 * with ".NNNNNNNNN" only when the nanoseconds are not zero (times
 * before 1970: floor seconds and a positive fraction, which upcalls.c's
 * parse_mtime reads back exactly).
 */
void fsop_meta_kv(const struct fsop_meta *m, struct fsop_meta_kv *out);
/* "1700000000" or "1700000000.000000005": buf of FSOP_META_LEN. */
void fsop_format_time(int64_t ns, char *buf, size_t len);

/* DeleteObject key; a key that does not exist is success. */
int fsop_delete(struct s3_client *c, const char *key, struct s3_result *res);

/* PUT the empty marker key (ending in '/') with m (mode incl. S_IFDIR). */
int fsop_mkdir(struct s3_client *c, const char *key, const struct fsop_meta *m,
	       char etag[S3_ETAG_MAX], struct s3_result *res);

/*
 * Change directory key's (ending in '/') metadata, @fields (S3F_MKDIR_*
 * but SETATTR) and ctime taken from m: an existing marker is copied onto
 * itself (If-Match its version) with its own metadata but those fields,
 * so what other clients stored stays; without a marker, one is PUT with
 * all of m, and an old-style "dir" object (fsop_is_old_dir_object) is
 * deleted.
 */
int fsop_setattr_dir(struct s3_client *c, const char *key,
		     const struct fsop_meta *m, unsigned int fields,
		     char etag[S3_ETAG_MAX], struct s3_result *res);

/* An empty "dir" object (no '/') that stands for a directory? */
bool fsop_is_old_dir_object(const struct s3_object *obj);

/*
 * Remove directory key (ending in '/'): -ENOTEMPTY when any key other
 * than the marker lies under it, else delete the marker (none: success)
 * and an old-style "dir" object beside it.
 */
int fsop_rmdir(struct s3_client *c, const char *key, struct s3_result *res);

#define FSOP_RENAME_NOREPLACE	(1U << 0)

struct fsop_rename_opts {
	unsigned int flags;		/* FSOP_RENAME_* */
	const char *etag;		/* file: copy only this version, or NULL */
	/*
	 * file: copy objects larger than this with UploadPartCopy in parts
	 * of part_size (0: S3_MAX_PUT_SIZE, and 512 MiB parts); a test seam.
	 */
	uint64_t multipart_threshold;
	uint64_t part_size;
	int jobs;			/* parts copied at once; 0: 4 */
	int64_t ctime_ns;		/* file: the copy's x-amz-meta-ctime; 0: kept */
	/*
	 * directory: the request came before, to a helper that died without
	 * answering (SENDS): keys under new_key and none left under key
	 * are that attempt's work, done.
	 */
	bool resent;
};

/*
 * Rename the object key to new_key: CopyObject (metadata copied) or a
 * multipart copy above the threshold, then DeleteObject key.
 * -EEXIST with NOREPLACE when new_key or keys under new_key/ exist;
 * -ESTALE when key is no longer version o->etag (nothing written);
 * -ENOENT when key does not exist.  etag: the copy's.  Done again with
 * the same o->etag and o->ctime_ns (the kernel resends a request its
 * helper died on), it succeeds whatever the first attempt got through:
 * a copy at new_key with that ctime is this rename's.
 */
int fsop_rename_file(struct s3_client *c, const char *key, const char *new_key,
		     const struct fsop_rename_opts *o, char etag[S3_ETAG_MAX],
		     struct s3_result *res);

/*
 * Rename directory key to new_key (both ending in '/'): copy every key
 * under key (all pages, nested ones and the marker) to new_key plus its
 * remainder, then delete the sources.  A failed copy stops the rename
 * before any source is deleted (copies made so far stay).  Not atomic.
 * -EEXIST with NOREPLACE when any key lies under new_key.  *ncopied
 * (may be NULL): the keys moved.  o->resent: no key left under key and
 * some under new_key is success (the first attempt moved them all); a
 * NOREPLACE rename half done by the first attempt stays EEXIST.
 */
int fsop_rename_dir(struct s3_client *c, const char *key, const char *new_key,
		    const struct fsop_rename_opts *o, size_t *ncopied,
		    struct s3_result *res);

/*
 * Symbolic link key -> target, s3fs-fuse's way: the body is target, m
 * has S_IFLNK.  create_only: If-None-Match: * (the server honours it:
 * -EEXIST when key exists, unless it is this very link, made by an
 * earlier attempt: same target and mtime to the nanosecond).
 */
int fsop_symlink(struct s3_client *c, const char *key, const char *target,
		 const struct fsop_meta *m, bool create_only,
		 char etag[S3_ETAG_MAX], struct s3_result *res);

/* A COMMIT as the kernel describes it. */
struct fsop_commit_req {
	const char *stage;		/* staging file, or NULL: zeros */
	const void *data;		/* or the whole object: size bytes */
	uint64_t size;
	const char *base_etag;		/* NULL: a new object */
	uint64_t base_size;
	const struct commit_range *extents;	/* dirty ranges */
	size_t nextents;
	struct fsop_meta meta;
	bool fail_on_conflict;
	struct commit_conditions conditions;
	/*
	 * Not 0: stored as x-amz-meta-s3f-commit (16 hex digits), so a
	 * commit resent after a helper crash knows its own upload.
	 */
	uint64_t commit_id;
	/* Not 0: the tag is "SESSION-ID" (commit.h, own_session). */
	uint64_t commit_session;
	const int *cancel;		/* commit_opts.cancel */
};

/*
 * The x-amz-meta-s3f-commit tag fsop_commit() stores for req: "SESSION-ID"
 * or "ID" (16 hex digits each), "" without a commit_id.
 */
void fsop_commit_tag(const struct fsop_commit_req *req, char *buf, size_t len);

/*
 * Commit req as key through commit_object(): the staging file read-only
 * (sparse when there is a base) or req->data (all of it), metadata from req->meta,
 * Content-Type application/octet-stream.  out as commit_object's.
 */
int fsop_commit(struct s3_client *c, const char *key,
		const struct fsop_commit_req *req, struct commit_result *out,
		struct s3_result *res);

#endif /* S3F_HELPER_FSOPS_H */
