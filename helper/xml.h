/* SPDX-License-Identifier: GPL-2.0 */
/*
 * S3 XML response bodies -> C structs (libxml2).  Pure: no I/O.
 *
 * Every parser returns 0 on success or a negative errno:
 * -EBADMSG for a malformed, truncated or unexpected document,
 * -ENOMEM when out of memory.  On error nothing is left allocated in
 * the output struct (it is zeroed).
 */
#ifndef S3F_HELPER_XML_H
#define S3F_HELPER_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define S3_ETAG_MAX	130	/* quotes included, NUL terminated */

struct s3_list_entry {
	char *key;			/* decoded (see EncodingType) */
	uint64_t size;
	char etag[S3_ETAG_MAX];		/* as sent, quotes stripped */
	struct timespec last_modified;	/* from ISO 8601 LastModified */
};

struct s3_list_result {
	struct s3_list_entry *entries;
	size_t nentries;
	char **prefixes;		/* CommonPrefixes/Prefix, decoded */
	size_t nprefixes;
	bool truncated;			/* IsTruncated */
	char *next_token;		/* NextContinuationToken or NULL */
};

/*
 * Parse a ListObjectsV2 result.  When the body says
 * <EncodingType>url</EncodingType>, Key and Prefix values are
 * percent-decoded ('+' means space there, as AWS sends it; a literal
 * '+' comes as %2B).  A body with IsTruncated=true and no
 * NextContinuationToken is -EBADMSG (it would loop forever); next_token
 * is NULL when the listing is not truncated.  A Size above INT64_MAX is
 * -EBADMSG.
 */
int s3_xml_parse_list(const char *body, size_t len, struct s3_list_result *out);
void s3_list_result_free(struct s3_list_result *res);

struct s3_error_info {
	char *code;			/* "NoSuchKey", may be NULL */
	char *message;
	char *request_id;
	char *resource;
};

/* Parse an <Error> document (any status). */
int s3_xml_parse_error(const char *body, size_t len, struct s3_error_info *out);
void s3_error_info_free(struct s3_error_info *err);

/* An upload in progress (ListMultipartUploads). */
struct s3_upload {
	char *key;
	char *upload_id;
	struct timespec initiated;	/* the server's clock */
};

/* ListMultipartUploadsResult -> the uploads (s3_uploads_free). */
int s3_xml_parse_uploads(const char *body, size_t len, struct s3_upload **out,
			 size_t *n);
void s3_uploads_free(struct s3_upload *u, size_t n);

/* InitiateMultipartUploadResult -> UploadId (malloc'd). */
int s3_xml_parse_initiate(const char *body, size_t len, char **upload_id);

/*
 * CompleteMultipartUploadResult -> ETag (quotes stripped).  S3 can
 * answer 200 with an <Error> body: then returns -EREMOTEIO and fills
 * *err (if err is not NULL).
 */
int s3_xml_parse_complete(const char *body, size_t len,
			  char etag[S3_ETAG_MAX], struct s3_error_info *err);

/*
 * CopyObjectResult or CopyPartResult -> ETag (quotes stripped).  An
 * <Error> body (S3 can answer 200 with one) is -EREMOTEIO.
 */
int s3_xml_parse_copy(const char *body, size_t len, char etag[S3_ETAG_MAX]);

struct s3_part {
	int number;			/* 1..10000 */
	char etag[S3_ETAG_MAX];		/* quotes stripped */
};

/*
 * The builders return NULL with errno ENOMEM, or EINVAL for no items,
 * too many (10000 parts, 1000 keys), part numbers not strictly
 * increasing within 1..10000, or a key or ETag that is empty or not
 * UTF-8 text XML 1.0 can carry (C0 controls other than \t \n \r).
 */

/* Build a CompleteMultipartUpload request body; malloc'd, NUL terminated. */
char *s3_xml_build_complete(const struct s3_part *parts, size_t nparts);

/* Build a DeleteObjects (multi-object delete) body for keys; malloc'd. */
char *s3_xml_build_delete(const char *const *keys, size_t nkeys, bool quiet);

/*
 * Percent-decode in place ('+' is left alone); returns -EINVAL on a bad
 * escape or %00.
 */
int s3_url_decode(char *s);

#endif /* S3F_HELPER_XML_H */
