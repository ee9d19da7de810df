/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The S3 engine's transport (internal to http.c and s3.c): build the
 * URL for an addressing style, sign with SigV4, run the request on a
 * pooled curl handle, retry what is transient, map errors to errno.
 */
#ifndef S3F_HELPER_HTTP_H
#define S3F_HELPER_HTTP_H

#include "s3.h"
#include "sigv4.h"

/* Where a response body goes when the status is 2xx. */
struct http_sink {
	/* caller's buffer */
	void *buf;
	size_t size;
	/* or a file descriptor, written at its current offset */
	int fd;
	bool to_fd;
	/* or, when neither, a malloc'd buffer up to max (then -EFBIG) */
	size_t max;
	/* results */
	char *data;			/* malloc'd buffer mode only */
	size_t len;			/* bytes stored */
	uint64_t fd_written;
	int error;			/* sink failure: -EFBIG, -EIO ... */
};

struct http_request {
	const char *method;
	const char *key;		/* NULL: bucket-level request */
	const struct sigv4_kv *query;	/* decoded */
	size_t nquery;
	const struct sigv4_kv *headers;	/* extra headers */
	size_t nheaders;
	const struct s3_body *body;	/* NULL: no body */
	struct http_sink *sink;		/* NULL: body discarded */
	bool head;			/* HEAD: no body expected */
};

struct http_response {
	long status;
	struct s3_object obj;		/* etag, size, last_modified, meta ... */
	bool has_length;
	uint64_t content_length;
	bool has_range;
	char *error_body;		/* non-2xx body, malloc'd */
	size_t error_len;
};

/*
 * Run the request with retries.  Returns 0 for a 2xx answer, else a
 * negative errno (see s3.h) with *res filled; the response is valid
 * (and must be released with http_response_free) in both cases.
 */
int http_do(struct s3_client *c, const struct http_request *req,
	    struct http_response *resp, struct s3_result *res);
void http_response_free(struct http_response *resp);
int http_errno_for(long status, const char *code);

/* RGW refuses a quoted ETag in If-Match: remember and send it bare. */
bool http_etag_unquoted(struct s3_client *c);
void http_set_etag_unquoted(struct s3_client *c);

#endif /* S3F_HELPER_HTTP_H */
