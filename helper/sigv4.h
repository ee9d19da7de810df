/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AWS Signature Version 4: pure functions, no I/O, no global state.
 *
 * Three steps, as in the AWS documentation, each exposed so tests can
 * name the step that fails: canonical request -> string to sign ->
 * signature / Authorization header value.
 */
#ifndef S3F_HELPER_SIGV4_H
#define S3F_HELPER_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

#define SIGV4_SHA256_HEX_LEN	64
#define SIGV4_UNSIGNED_PAYLOAD	"UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One name/value pair: a query parameter or a header. */
struct sigv4_kv {
	const char *name;
	const char *value;
};

struct sigv4_signer {
	const char *access_key;
	const char *secret_key;		/* never logged */
	const char *region;		/* "us-east-1" */
	const char *service;		/* "s3" */
	/*
	 * false for S3: the path is encoded exactly once and never
	 * normalised ("//" and ".." are part of the key).  true for every
	 * other AWS service (and the generic test suite): dot segments and
	 * repeated slashes are removed and the path is encoded twice.
	 */
	bool normalize_and_double_encode;
};

struct sigv4_request {
	const char *method;		/* "GET", "PUT", ... */
	/*
	 * Decoded path as the bytes of the key, e.g. "/bucket/my key+1".
	 * The signer encodes it; build the wire URL with
	 * sigv4_uri_encode(path, false) so both always agree.
	 */
	const char *path;
	const struct sigv4_kv *query;	/* decoded names and values */
	size_t nquery;
	/* must include "host" and "x-amz-date"; names in any case */
	const struct sigv4_kv *headers;
	size_t nheaders;
	/* lowercase hex SHA-256 of the body, or SIGV4_UNSIGNED_PAYLOAD */
	const char *payload_hash;
	const char *amz_date;		/* "20150830T123600Z" */
};

struct sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char *signature;		/* 64 lowercase hex chars */
	char *authorization;		/* full Authorization header value */
	char *signed_headers;		/* "host;x-amz-date" */
};

/* Returns 0, or -ENOMEM / -EINVAL; on error *out is left empty. */
int sigv4_sign(const struct sigv4_signer *signer,
	       const struct sigv4_request *req, struct sigv4_result *out);
void sigv4_result_free(struct sigv4_result *res);

/*
 * RFC 3986 percent-encoding as SigV4 specifies it: A-Z a-z 0-9 - _ . ~
 * are kept, every other byte becomes %XX (uppercase hex).  '/' is kept
 * when keep_slash is true (paths), encoded otherwise (query components).
 * Returns a malloc'd string or NULL on ENOMEM.
 */
char *sigv4_uri_encode(const char *s, bool keep_slash);

/* out receives SIGV4_SHA256_HEX_LEN hex chars and a NUL. */
void sigv4_sha256_hex(const void *data, size_t len, char *out);

/* Format t (UTC) as "YYYYMMDDTHHMMSSZ" into out[17]. */
void sigv4_format_date(long long t, char *out);

#endif /* S3F_HELPER_SIGV4_H */
