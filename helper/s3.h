/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The helper's S3 engine: one client per bucket, thread-safe.
 *
 * Every operation is a blocking call that may run on any thread; calls
 * on different threads proceed in parallel and share one connection
 * cache, so a worker pool gets concurrency and connection reuse.
 * Transient failures (5xx, SlowDown, resets, timeouts, a body damaged
 * on the way: 400 BadDigest) are retried with
 * capped exponential backoff and jitter; 4xx never are.
 *
 * Every operation returns 0 or a negative errno, and fills *res (when
 * not NULL) with the HTTP status and the S3 error code, message and
 * request id, so callers can log a precise line.  Errno mapping:
 *   404 NoSuchKey/NoSuchBucket/NoSuchUpload   -ENOENT
 *   403 AccessDenied, SignatureDoesNotMatch,
 *       InvalidAccessKeyId                    -EACCES
 *   412 PreconditionFailed                    -ESTALE (If-Match) or
 *                                             -EEXIST (If-None-Match)
 *   416 InvalidRange                          -ERANGE
 *   409 Conflict                              -EBUSY
 *   400 BadDigest after the last retry        -EIO
 *   400 (other)                               -EINVAL
 *   405, 501                                  -EOPNOTSUPP
 *   5xx, SlowDown after the last retry        -EIO
 *   connection refused                        -ECONNREFUSED
 *   host not found                            -EHOSTUNREACH
 *   timeout                                   -ETIMEDOUT
 *   reset / empty reply after the last retry  -ECONNRESET
 *   TLS failure                               -EPROTO
 */
#ifndef S3F_HELPER_S3_H
#define S3F_HELPER_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "creds.h"
#include "xml.h"

#define S3_MIN_PART_SIZE	(5ULL << 20)
#define S3_MAX_PART_SIZE	(5ULL << 30)
#define S3_MAX_PARTS		10000
#define S3_MAX_PUT_SIZE		(5ULL << 30)

struct s3_client;

enum s3_addressing {
	S3_ADDR_PATH,		/* http://host/bucket/key */
	S3_ADDR_VIRTUAL,	/* http://bucket.host/key */
};

struct s3_config {
	const char *endpoint;		/* "http://127.0.0.1:7480", "https://s3.eu-west-1.amazonaws.com" */
	const char *region;
	const char *bucket;
	enum s3_addressing addressing;
	int max_retries;		/* retries after the first try; 0 = default (5) */
	long connect_timeout_ms;	/* 0 = default (5000) */
	long low_speed_time_s;		/* abort a transfer stalled this long; 0 = default (30) */
	long retry_base_ms;		/* first backoff; 0 = default (100) */
	long retry_cap_ms;		/* backoff cap; 0 = default (5000) */
	long attempt_timeout_ms;	/* one attempt at most this long; 0 = no bound */
	const char *ca_file;		/* extra CA bundle for https, or NULL */
	const char *profile;		/* credentials profile (reloads), or NULL */
};

/* What the server said, for log lines.  Never holds a secret. */
struct s3_result {
	long http_status;		/* 0 when no HTTP answer */
	int attempts;
	char code[64];			/* "NoSuchKey", or a transport error name */
	char message[256];
	char request_id[96];
};

struct s3_kv {
	char *name;
	char *value;
};

/* Object attributes from HEAD or GET. */
struct s3_object {
	uint64_t size;			/* whole object, also for ranged GETs */
	char etag[S3_ETAG_MAX];		/* quotes stripped */
	struct timespec last_modified;
	char *content_type;
	struct s3_kv *meta;		/* x-amz-meta-NAME: name lowercased, no prefix */
	size_t nmeta;
};

/*
 * A request body: memory when buf is set, else len bytes of fd from
 * offset.  PUT and UploadPart send the checksums that are set (base64,
 * see checksum.h): the server refuses a body that does not match them
 * with 400 BadDigest, which the engine retries like a transfer error.
 */
struct s3_body {
	const void *buf;
	int fd;
	off_t offset;
	uint64_t len;
	const char *content_md5;	/* Content-MD5, or NULL */
	const char *checksum_crc32c;	/* x-amz-checksum-crc32c, or NULL */
};

/* Conditions and metadata for PUT, multipart create/complete and copy. */
struct s3_put_opts {
	const char *if_match;		/* ETag (no quotes): replace only this version */
	bool if_none_match;		/* create only: fail when the key exists */
	const struct s3_kv *meta;	/* x-amz-meta-* to store */
	size_t nmeta;
	const char *content_type;
	/* s3_copy only: replace the metadata even when meta is empty */
	bool replace_meta;
	/*
	 * s3_copy only: copy only from this version of the source
	 * (x-amz-copy-source-if-match; 412 -> -ESTALE).
	 */
	const char *copy_if_match;
};

int s3_client_new(const struct s3_config *cfg, const struct s3_creds *creds,
		  struct s3_client **out, char *errbuf, size_t errlen);
void s3_client_free(struct s3_client *c);
/*
 * Load the credentials again from where they came (profile, environment,
 * files) and use them for the next requests: SIGHUP, ExpiredToken.
 */
int s3_client_reload_creds(struct s3_client *c, char *errbuf, size_t errlen);
const char *s3_client_bucket(const struct s3_client *c);
const char *s3_client_host(const struct s3_client *c);	/* "host[:port]" */

/* One log-ready line describing a failure: "403 SignatureDoesNotMatch: ... (request id ...)". */
const char *s3_result_str(const struct s3_result *res, char *buf, size_t len);

int s3_head(struct s3_client *c, const char *key, struct s3_object *obj,
	    struct s3_result *res);

/*
 * GET bytes [offset, offset+len) (len 0: to the end) into buf (at most
 * bufsize bytes); *got receives the count.  A range starting at or past
 * the end of the object returns 0 with *got == 0.
 */
int s3_get(struct s3_client *c, const char *key, uint64_t offset, uint64_t len,
	   void *buf, size_t bufsize, size_t *got, struct s3_object *obj,
	   struct s3_result *res);
/* GET the whole object (or a range) into fd at its current offset. */
int s3_get_to_fd(struct s3_client *c, const char *key, uint64_t offset,
		 uint64_t len, int fd, uint64_t *written, struct s3_object *obj,
		 struct s3_result *res);

int s3_put(struct s3_client *c, const char *key, const struct s3_body *body,
	   const struct s3_put_opts *opts, char etag[S3_ETAG_MAX],
	   struct s3_result *res);

int s3_delete(struct s3_client *c, const char *key, struct s3_result *res);

/*
 * Server-side copy of a whole object (up to 5 GiB): metadata copied
 * (directive COPY), or replaced by opts->meta and opts->content_type when
 * it has any or opts->replace_meta.
 */
int s3_copy(struct s3_client *c, const char *src_key, const char *dst_key,
	    const struct s3_put_opts *opts, char etag[S3_ETAG_MAX],
	    struct s3_result *res);

/*
 * Copy the object src_key (src: its HEAD) to dst_key with UploadPartCopy
 * in parts of part_size (grown to fit 10000 parts; -EFBIG past 5 GiB
 * parts), jobs at a time, each part only from version src->etag
 * (x-amz-copy-source-if-match).  The metadata is opts's (UploadPartCopy
 * copies none: pass src's).  Any failure aborts the upload.
 */
int s3_copy_multipart(struct s3_client *c, const char *src_key,
		      const char *dst_key, const struct s3_object *src,
		      uint64_t part_size, int jobs,
		      const struct s3_put_opts *opts, char etag[S3_ETAG_MAX],
		      struct s3_result *res);

/* One ListObjectsV2 page; token NULL for the first. */
int s3_list(struct s3_client *c, const char *prefix, const char *delimiter,
	    const char *token, int max_keys, struct s3_list_result *out,
	    struct s3_result *res);

/*
 * The multipart uploads in progress under prefix: the first page (up to
 * 1000).  *out is malloc'd; free with s3_uploads_free().
 */
int s3_mpu_list(struct s3_client *c, const char *prefix, struct s3_upload **out,
		size_t *n, struct s3_result *res);

/* Multipart upload steps. */
int s3_mpu_create(struct s3_client *c, const char *key,
		  const struct s3_put_opts *opts, char **upload_id,
		  struct s3_result *res);
int s3_mpu_upload_part(struct s3_client *c, const char *key,
		       const char *upload_id, int part, const struct s3_body *body,
		       char etag[S3_ETAG_MAX], struct s3_result *res);
int s3_mpu_upload_part_copy(struct s3_client *c, const char *key,
			    const char *upload_id, int part, const char *src_key,
			    uint64_t src_offset, uint64_t src_len,
			    const char *src_if_match, char etag[S3_ETAG_MAX],
			    struct s3_result *res);
int s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id,
		    const struct s3_part *parts, size_t nparts,
		    const struct s3_put_opts *opts, char etag[S3_ETAG_MAX],
		    struct s3_result *res);
int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id,
		 struct s3_result *res);

/*
 * Upload len bytes of fd as key: a single PUT up to part_size, else a
 * multipart upload with up to jobs parts in flight (aborted on any
 * failure, so no partial object ever appears).
 */
int s3_upload_fd(struct s3_client *c, const char *key, int fd, uint64_t len,
		 uint64_t part_size, int jobs, const struct s3_put_opts *opts,
		 char etag[S3_ETAG_MAX], struct s3_result *res);

/*
 * Run fn(arg, i, res) for every i in [0, n) on up to jobs threads (at
 * most 64; in the caller's thread when no thread can be started).  Once
 * an item fails, no new item starts.  Returns 0, or the first failure
 * with its result in *res.  The parallel part of s3_upload_fd() and of
 * the commit engine's multipart uploads.
 */
int s3_parallel(size_t n, int jobs,
		int (*fn)(void *arg, size_t i, struct s3_result *res),
		void *arg, struct s3_result *res);

void s3_object_free(struct s3_object *obj);
const char *s3_object_meta(const struct s3_object *obj, const char *name);

/* Per-client counters (bytes and requests), for stats and tests. */
struct s3_stats {
	uint64_t requests;
	uint64_t retries;
	uint64_t bytes_sent;
	uint64_t bytes_received;
};
void s3_client_stats(struct s3_client *c, struct s3_stats *out);

#endif /* S3F_HELPER_S3_H */
