// SPDX-License-Identifier: GPL-2.0
/*
 * S3 operations on top of the transport in http.c.
 *
 * Each function maps one S3 API call; s3_upload_fd() composes them into
 * an atomic upload (single PUT, or multipart with parallel parts that
 * is aborted on failure so no partial object ever becomes visible).
 * s3_parallel() runs the parts on threads, for it and for commit.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "retry.h"

#define S3_XML_MAX	(16 << 20)	/* largest XML answer we accept */

void s3_object_free(struct s3_object *obj)
{
	size_t i;

	for (i = 0; i < obj->nmeta; i++) {
		free(obj->meta[i].name);
		free(obj->meta[i].value);
	}
	free(obj->meta);
	free(obj->content_type);
	memset(obj, 0, sizeof(*obj));
}

const char *s3_object_meta(const struct s3_object *obj, const char *name)
{
	size_t i;

	for (i = 0; i < obj->nmeta; i++)
		if (!strcmp(obj->meta[i].name, name))
			return obj->meta[i].value;
	return NULL;
}

/* Hand the response's object attributes to the caller. */
static void take_object(struct http_response *resp, struct s3_object *obj)
{
	if (!obj)
		return;
	*obj = resp->obj;
	memset(&resp->obj, 0, sizeof(resp->obj));
}

static void log_failure(const char *op, const char *key, int err,
			const struct s3_result *res)
{
	char buf[512];

	/* expected outcomes are the caller's business, not the log's */
	if (err == -ENOENT || err == -ESTALE || err == -EEXIST)
		return;
	log_warn("s3: %s %s: %s", op, key ? key : "(bucket)",
		 s3_result_str(res, buf, sizeof(buf)));
}

int s3_head(struct s3_client *c, const char *key, struct s3_object *obj,
	    struct s3_result *res)
{
	struct http_request req = { .method = "HEAD", .key = key, .head = true };
	struct http_response resp;
	struct s3_result local;
	int err;

	if (!res)
		res = &local;
	err = http_do(c, &req, &resp, res);
	if (!err)
		take_object(&resp, obj);
	else
		log_failure("HEAD", key, err, res);
	http_response_free(&resp);
	return err;
}

static int get_common(struct s3_client *c, const char *key, uint64_t offset,
		      uint64_t len, struct http_sink *sink,
		      struct s3_object *obj, struct s3_result *res)
{
	struct http_request req = { .method = "GET", .key = key, .sink = sink };
	struct sigv4_kv range;
	struct http_response resp;
	struct s3_result local;
	char rbuf[64];
	int err;

	if (!res)
		res = &local;
	if (offset || len) {
		if (len)
			snprintf(rbuf, sizeof(rbuf), "bytes=%" PRIu64 "-%" PRIu64,
				 offset, offset + len - 1);
		else
			snprintf(rbuf, sizeof(rbuf), "bytes=%" PRIu64 "-", offset);
		range = (struct sigv4_kv){ "range", rbuf };
		req.headers = &range;
		req.nheaders = 1;
	}
	err = http_do(c, &req, &resp, res);
	if (!err && (offset || len) && resp.status == 200 && offset) {
		/* the server ignored Range: refuse rather than mis-place bytes */
		snprintf(res->code, sizeof(res->code), "RangeIgnored");
		err = -EPROTO;
	}
	if (err == -ERANGE && offset) {
		/* a range at or past the end: nothing to read */
		err = 0;
		resp.obj.size = offset;
	}
	if (!err)
		take_object(&resp, obj);
	else
		log_failure("GET", key, err, res);
	http_response_free(&resp);
	return err;
}

int s3_get(struct s3_client *c, const char *key, uint64_t offset, uint64_t len,
	   void *buf, size_t bufsize, size_t *got, struct s3_object *obj,
	   struct s3_result *res)
{
	struct http_sink sink = { .buf = buf, .size = bufsize };
	int err;

	if (len > bufsize || !len)
		len = bufsize;
	err = get_common(c, key, offset, len, &sink, obj, res);
	*got = err ? 0 : sink.len;
	return err;
}

int s3_get_to_fd(struct s3_client *c, const char *key, uint64_t offset,
		 uint64_t len, int fd, uint64_t *written, struct s3_object *obj,
		 struct s3_result *res)
{
	struct http_sink sink = { .fd = fd, .to_fd = true };
	int err;

	err = get_common(c, key, offset, len, &sink, obj, res);
	if (written)
		*written = sink.fd_written;
	return err;
}

/*
 * Condition and metadata headers for a write.  hdrs must have room for
 * 3 + opts->nmeta entries; names[] keeps the x-amz-meta-* strings alive.
 */
static int put_headers(struct s3_client *c, const struct s3_put_opts *opts,
		       struct sigv4_kv *hdrs, size_t *n, char **names,
		       char *etagbuf, size_t etaglen)
{
	size_t i;

	if (!opts)
		return 0;
	if (opts->if_match) {
		if (http_etag_unquoted(c))
			snprintf(etagbuf, etaglen, "%s", opts->if_match);
		else
			snprintf(etagbuf, etaglen, "\"%s\"", opts->if_match);
		hdrs[(*n)++] = (struct sigv4_kv){ "if-match", etagbuf };
	}
	if (opts->if_none_match)
		hdrs[(*n)++] = (struct sigv4_kv){ "if-none-match", "*" };
	if (opts->content_type)
		hdrs[(*n)++] = (struct sigv4_kv){ "content-type", opts->content_type };
	for (i = 0; i < opts->nmeta; i++) {
		if (asprintf(&names[i], "x-amz-meta-%s", opts->meta[i].name) < 0) {
			names[i] = NULL;
			return -ENOMEM;
		}
		hdrs[(*n)++] = (struct sigv4_kv){ names[i], opts->meta[i].value };
	}
	return 0;
}

static void free_names(char **names, size_t n)
{
	size_t i;

	if (!names)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * A 412 on If-Match may be RGW's quirk (it compares the quoted form
 * literally): if the object's ETag does equal ours, the condition held,
 * so switch to unquoted ETags and let the caller try again once.  Not
 * skipped when the switch is already made: another thread may have made
 * it while this request was on its way, quoted.
 */
static bool if_match_quirk(struct s3_client *c, const char *key,
			   const struct s3_put_opts *opts, int err)
{
	struct s3_object cur;
	bool same;

	if (err != -ESTALE || !opts || !opts->if_match)
		return false;
	if (s3_head(c, key, &cur, NULL))
		return false;
	same = !strcmp(cur.etag, opts->if_match);
	s3_object_free(&cur);
	if (same)
		http_set_etag_unquoted(c);
	return same;
}

static int do_write(struct s3_client *c, const char *method, const char *key,
		    const struct sigv4_kv *query, size_t nquery,
		    const struct sigv4_kv *extra, size_t nextra,
		    const struct s3_body *body, const struct s3_put_opts *opts,
		    struct http_sink *sink, struct http_response *resp,
		    struct s3_result *res)
{
	struct http_request req = {
		.method = method, .key = key, .query = query, .nquery = nquery,
		.body = body, .sink = sink,
	};
	size_t nmeta = opts ? opts->nmeta : 0, n = 0, i;
	char etagbuf[S3_ETAG_MAX + 2];
	struct sigv4_kv *hdrs;
	char **names;
	int err;

	hdrs = calloc(nextra + nmeta + 6, sizeof(*hdrs));
	names = calloc(nmeta + 1, sizeof(*names));
	err = -ENOMEM;
	if (!hdrs || !names)
		goto out_free;
	for (i = 0; i < nextra; i++)
		hdrs[n++] = extra[i];
	if (body && body->content_md5)
		hdrs[n++] = (struct sigv4_kv){ "content-md5", body->content_md5 };
	if (body && body->checksum_crc32c)
		hdrs[n++] = (struct sigv4_kv){ "x-amz-checksum-crc32c",
					       body->checksum_crc32c };
	err = put_headers(c, opts, hdrs, &n, names, etagbuf, sizeof(etagbuf));
	if (err)
		goto out_free;
	req.headers = hdrs;
	req.nheaders = n;
	err = http_do(c, &req, resp, res);
	if (err == -ESTALE && opts && opts->if_none_match)
		err = -EEXIST;
out_free:
	free_names(names, nmeta);
	free(hdrs);
	return err;
}

int s3_put(struct s3_client *c, const char *key, const struct s3_body *body,
	   const struct s3_put_opts *opts, char etag[S3_ETAG_MAX],
	   struct s3_result *res)
{
	struct s3_body empty = { .fd = -1 };
	struct http_response resp;
	struct s3_result local;
	int err;

	if (!res)
		res = &local;
	if (!body)
		body = &empty;
	err = do_write(c, "PUT", key, NULL, 0, NULL, 0, body, opts, NULL,
		       &resp, res);
	if (if_match_quirk(c, key, opts, err)) {
		http_response_free(&resp);
		err = do_write(c, "PUT", key, NULL, 0, NULL, 0, body, opts,
			       NULL, &resp, res);
	}
	if (!err && etag)
		memcpy(etag, resp.obj.etag, S3_ETAG_MAX);
	if (err)
		log_failure("PUT", key, err, res);
	http_response_free(&resp);
	return err;
}

int s3_delete(struct s3_client *c, const char *key, struct s3_result *res)
{
	struct http_request req = { .method = "DELETE", .key = key };
	struct http_response resp;
	struct s3_result local;
	int err;

	if (!res)
		res = &local;
	err = http_do(c, &req, &resp, res);
	if (err)
		log_failure("DELETE", key, err, res);
	http_response_free(&resp);
	return err;
}

/* x-amz-copy-source: "/bucket/key", the key URL-encoded. */
static char *copy_source(struct s3_client *c, const char *src_key)
{
	char *enc, *src;

	enc = sigv4_uri_encode(src_key, true);
	if (!enc)
		return NULL;
	if (asprintf(&src, "/%s/%s", s3_client_bucket(c), enc) < 0)
		src = NULL;
	free(enc);
	return src;
}

/*
 * A Complete or a copy that answered 200 with an <Error> did nothing: it
 * is sent again when the error is transient (retry.h), at most this
 * often more.  Sending a Complete again is safe: should the first have
 * completed after all, the next one answers NoSuchUpload, which the
 * commit engine resolves by the object's commit tag.
 */
#define S3_ERROR_BODY_RETRIES	3

/*
 * After a 200 whose <Error> (res->code) may be transient: back off and
 * say so.  True: send the request again; false: the failure stands.
 */
static bool error_body_again(const char *op, const char *key,
			     const struct s3_result *res, int *retries,
			     unsigned int *seed)
{
	enum retry_class cls = retry_classify_error_body(res->code);

	if (cls == RETRY_NEVER || (*retries)++ >= S3_ERROR_BODY_RETRIES)
		return false;
	log_info("%s %s: 200 with %s: sending it again", op, key, res->code);
	return !retry_backoff(*retries, cls, 200, 2000, seed);
}

/* A copy answered 200 whose body is an <Error>: report it like any error. */
static int copy_result(struct http_sink *sink, char etag[S3_ETAG_MAX],
		       struct s3_result *res)
{
	struct s3_error_info einfo;
	int err;

	err = s3_xml_parse_copy(sink->data, sink->len, etag);
	if (err != -EREMOTEIO)
		return err;
	if (!s3_xml_parse_error(sink->data, sink->len, &einfo)) {
		snprintf(res->code, sizeof(res->code), "%s",
			 einfo.code ? einfo.code : "InternalError");
		snprintf(res->message, sizeof(res->message), "%s",
			 einfo.message ? einfo.message : "");
		s3_error_info_free(&einfo);
	}
	return -EIO;
}

int s3_copy(struct s3_client *c, const char *src_key, const char *dst_key,
	    const struct s3_put_opts *opts, char etag[S3_ETAG_MAX],
	    struct s3_result *res)
{
	struct http_sink sink = { .max = S3_XML_MAX };
	struct s3_body empty = { .fd = -1 };
	char match[S3_ETAG_MAX + 2];
	struct sigv4_kv extra[3];
	struct http_response resp;
	struct s3_result local;
	unsigned int seed = (unsigned int)(uintptr_t)&sink;
	size_t nextra = 0;
	int err, retries = 0;
	char *src;

	if (!res)
		res = &local;
	src = copy_source(c, src_key);
	if (!src)
		return -ENOMEM;
	extra[nextra++] = (struct sigv4_kv){ "x-amz-copy-source", src };
	if (opts && (opts->nmeta || opts->replace_meta))
		extra[nextra++] = (struct sigv4_kv){ "x-amz-metadata-directive",
						     "REPLACE" };
	if (opts && opts->copy_if_match) {
		snprintf(match, sizeof(match), "\"%s\"", opts->copy_if_match);
		extra[nextra++] = (struct sigv4_kv){ "x-amz-copy-source-if-match",
						     match };
	}
	for (;;) {
		err = do_write(c, "PUT", dst_key, NULL, 0, extra, nextra, &empty,
			       opts, &sink, &resp, res);
		/* a copy can fail after its 200: the body then holds an <Error> */
		if (!err)
			err = copy_result(&sink, resp.obj.etag, res);
		/* ... and did nothing: a transient one is tried again */
		if (err != -EIO || res->http_status < 200 || res->http_status >= 300 ||
		    !error_body_again("COPY", dst_key, res, &retries, &seed))
			break;
		http_response_free(&resp);
		free(sink.data);
		sink = (struct http_sink){ .max = S3_XML_MAX };
	}
	if (!err && etag)
		memcpy(etag, resp.obj.etag, S3_ETAG_MAX);
	if (err)
		log_failure("COPY", dst_key, err, res);
	http_response_free(&resp);
	free(sink.data);
	free(src);
	return err;
}

int s3_list(struct s3_client *c, const char *prefix, const char *delimiter,
	    const char *token, int max_keys, struct s3_list_result *out,
	    struct s3_result *res)
{
	struct http_sink sink = { .max = S3_XML_MAX };
	struct http_request req = { .method = "GET", .sink = &sink };
	struct sigv4_kv q[6];
	struct http_response resp;
	struct s3_result local;
	char maxbuf[16];
	size_t n = 0;
	int err;

	if (!res)
		res = &local;
	memset(out, 0, sizeof(*out));
	q[n++] = (struct sigv4_kv){ "list-type", "2" };
	q[n++] = (struct sigv4_kv){ "encoding-type", "url" };
	if (prefix && *prefix)
		q[n++] = (struct sigv4_kv){ "prefix", prefix };
	if (delimiter && *delimiter)
		q[n++] = (struct sigv4_kv){ "delimiter", delimiter };
	if (token)
		q[n++] = (struct sigv4_kv){ "continuation-token", token };
	if (max_keys > 0) {
		snprintf(maxbuf, sizeof(maxbuf), "%d", max_keys);
		q[n++] = (struct sigv4_kv){ "max-keys", maxbuf };
	}
	req.query = q;
	req.nquery = n;
	err = http_do(c, &req, &resp, res);
	if (!err) {
		err = s3_xml_parse_list(sink.data, sink.len, out);
		if (err)
			snprintf(res->code, sizeof(res->code), "MalformedListing");
	}
	if (err)
		log_failure("LIST", prefix, err, res);
	http_response_free(&resp);
	free(sink.data);
	return err;
}

int s3_mpu_list(struct s3_client *c, const char *prefix, struct s3_upload **out,
		size_t *n, struct s3_result *res)
{
	struct http_sink sink = { .max = S3_XML_MAX };
	struct http_request req = { .method = "GET", .sink = &sink };
	struct sigv4_kv q[2] = { { "prefix", prefix }, { "uploads", "" } };
	struct http_response resp;
	struct s3_result local;
	char what[512];
	int err;

	if (!res)
		res = &local;
	req.query = q;
	req.nquery = 2;
	err = http_do(c, &req, &resp, res);
	if (!err)
		err = s3_xml_parse_uploads(sink.data, sink.len, out, n);
	/* the caller says what a failure means (some servers lack the call) */
	if (err)
		log_debug("s3: LIST-MULTIPART %s: %s", prefix,
			  s3_result_str(res, what, sizeof(what)));
	http_response_free(&resp);
	free(sink.data);
	return err;
}

/*
 * CreateMultipartUpload may have been carried out more than once: s3fd
 * retried it after a lost answer, or curl did, silently (a request on a
 * reused connection that died before any answer is sent again on a new
 * one).  The server then holds uploads of key that nobody knows the id
 * of.  Abort those it initiated between our first attempt and our upload
 * (by its clock: at most elapsed_s + 1 before ours).  One listing per
 * multipart upload; an upload of the same key that another node started
 * in that second is aborted too, and its commit fails and is tried again
 * (two writers of one key at once are a conflict anyway).
 */
static void mpu_abort_lost(struct s3_client *c, const char *key,
			   const char *ours, long elapsed_s)
{
	struct s3_upload *u;
	struct timespec mine = { 0 };
	size_t n, i;

	if (s3_mpu_list(c, key, &u, &n, NULL))
		return;
	for (i = 0; i < n; i++)
		if (!strcmp(u[i].upload_id, ours))
			mine = u[i].initiated;
	for (i = 0; mine.tv_sec && i < n; i++) {
		if (strcmp(u[i].key, key) || !strcmp(u[i].upload_id, ours) ||
		    u[i].initiated.tv_sec > mine.tv_sec ||
		    u[i].initiated.tv_sec < mine.tv_sec - elapsed_s - 1)
			continue;
		if (!s3_mpu_abort(c, key, u[i].upload_id, NULL))
			log_info("CREATE-MULTIPART %s: aborted upload %s, whose answer was lost",
				 key, u[i].upload_id);
	}
	s3_uploads_free(u, n);
}

int s3_mpu_create(struct s3_client *c, const char *key,
		  const struct s3_put_opts *opts, char **upload_id,
		  struct s3_result *res)
{
	time_t started = time(NULL);
	struct http_sink sink = { .max = S3_XML_MAX };
	struct sigv4_kv q = { "uploads", "" };
	struct s3_body empty = { .fd = -1 };
	struct s3_put_opts meta_only = { 0 };
	struct http_response resp;
	struct s3_result local;
	int err;

	if (!res)
		res = &local;
	*upload_id = NULL;
	/* conditions belong to Complete; only metadata is set here */
	if (opts) {
		meta_only.meta = opts->meta;
		meta_only.nmeta = opts->nmeta;
		meta_only.content_type = opts->content_type;
	}
	err = do_write(c, "POST", key, &q, 1, NULL, 0, &empty, &meta_only,
		       &sink, &resp, res);
	if (!err)
		err = s3_xml_parse_initiate(sink.data, sink.len, upload_id);
	if (err)
		log_failure("CREATE-MULTIPART", key, err, res);
	else
		mpu_abort_lost(c, key, *upload_id, (long)(time(NULL) - started));
	http_response_free(&resp);
	free(sink.data);
	return err;
}

static void part_query(struct sigv4_kv q[2], char *numbuf, size_t numlen,
		       int part, const char *upload_id)
{
	snprintf(numbuf, numlen, "%d", part);
	q[0] = (struct sigv4_kv){ "partNumber", numbuf };
	q[1] = (struct sigv4_kv){ "uploadId", upload_id };
}

int s3_mpu_upload_part(struct s3_client *c, const char *key,
		       const char *upload_id, int part, const struct s3_body *body,
		       char etag[S3_ETAG_MAX], struct s3_result *res)
{
	struct http_response resp;
	struct s3_result local;
	struct sigv4_kv q[2];
	char numbuf[16];
	int err;

	if (!res)
		res = &local;
	part_query(q, numbuf, sizeof(numbuf), part, upload_id);
	err = do_write(c, "PUT", key, q, 2, NULL, 0, body, NULL, NULL, &resp, res);
	if (!err)
		memcpy(etag, resp.obj.etag, S3_ETAG_MAX);
	else
		log_failure("UPLOAD-PART", key, err, res);
	http_response_free(&resp);
	return err;
}

int s3_mpu_upload_part_copy(struct s3_client *c, const char *key,
			    const char *upload_id, int part, const char *src_key,
			    uint64_t src_offset, uint64_t src_len,
			    const char *src_if_match, char etag[S3_ETAG_MAX],
			    struct s3_result *res)
{
	struct http_sink sink = { .max = S3_XML_MAX };
	struct s3_body empty = { .fd = -1 };
	char numbuf[16], range[64], match[S3_ETAG_MAX + 2];
	struct sigv4_kv q[2], extra[3];
	struct http_response resp;
	struct s3_result local;
	size_t nextra = 0;
	char *src;
	int err;

	if (!res)
		res = &local;
	src = copy_source(c, src_key);
	if (!src)
		return -ENOMEM;
	part_query(q, numbuf, sizeof(numbuf), part, upload_id);
	extra[nextra++] = (struct sigv4_kv){ "x-amz-copy-source", src };
	if (src_len) {
		snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64,
			 src_offset, src_offset + src_len - 1);
		extra[nextra++] = (struct sigv4_kv){ "x-amz-copy-source-range", range };
	}
	if (src_if_match) {
		snprintf(match, sizeof(match), "\"%s\"", src_if_match);
		extra[nextra++] = (struct sigv4_kv){ "x-amz-copy-source-if-match",
						     match };
	}
	err = do_write(c, "PUT", key, q, 2, extra, nextra, &empty, NULL, &sink,
		       &resp, res);
	if (!err)
		err = copy_result(&sink, etag, res);
	if (err)
		log_failure("UPLOAD-PART-COPY", key, err, res);
	http_response_free(&resp);
	free(sink.data);
	free(src);
	return err;
}

/* RGW answers Complete with an empty ETag: ask the object itself. */
static int complete_etag(struct s3_client *c, const char *key,
			 char etag[S3_ETAG_MAX])
{
	struct s3_object obj;
	int err;

	err = s3_head(c, key, &obj, NULL);
	if (!err)
		memcpy(etag, obj.etag, S3_ETAG_MAX);
	s3_object_free(&obj);
	return err;
}

/* One CompleteMultipartUpload request, with its 200-with-<Error> answer. */
static int mpu_complete_once(struct s3_client *c, const char *key,
			     const struct sigv4_kv *q, struct s3_body *body,
			     const struct s3_put_opts *cond, char etag[S3_ETAG_MAX],
			     struct s3_result *res)
{
	struct http_sink sink = { .max = S3_XML_MAX };
	struct s3_error_info einfo;
	struct http_response resp;
	int err;

	err = do_write(c, "POST", key, q, 1, NULL, 0, body, cond, &sink,
		       &resp, res);
	if (if_match_quirk(c, key, cond, err)) {
		http_response_free(&resp);
		free(sink.data);
		sink = (struct http_sink){ .max = S3_XML_MAX };
		err = do_write(c, "POST", key, q, 1, NULL, 0, body, cond,
			       &sink, &resp, res);
	}
	if (!err) {
		/* 200 with an <Error> body is a failure (S3 documents it) */
		memset(&einfo, 0, sizeof(einfo));
		err = s3_xml_parse_complete(sink.data, sink.len, etag, &einfo);
		if (err == -EREMOTEIO) {
			snprintf(res->code, sizeof(res->code), "%s",
				 einfo.code ? einfo.code : "InternalError");
			snprintf(res->message, sizeof(res->message), "%s",
				 einfo.message ? einfo.message : "");
		}
		s3_error_info_free(&einfo);
	}
	http_response_free(&resp);
	free(sink.data);
	return err;
}

int s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id,
		    const struct s3_part *parts, size_t nparts,
		    const struct s3_put_opts *opts, char etag[S3_ETAG_MAX],
		    struct s3_result *res)
{
	struct sigv4_kv q = { "uploadId", upload_id };
	struct s3_put_opts cond = { 0 };
	unsigned int seed = (unsigned int)(uintptr_t)&q;
	struct s3_result local;
	struct s3_body body;
	int err, retries = 0;
	char *xml;

	if (!res)
		res = &local;
	xml = s3_xml_build_complete(parts, nparts);
	if (!xml)
		return errno ? -errno : -ENOMEM;	/* EINVAL: bad part list */
	body = (struct s3_body){ .buf = xml, .fd = -1, .len = strlen(xml) };
	if (opts) {
		cond.if_match = opts->if_match;
		cond.if_none_match = opts->if_none_match;
	}
	for (;;) {
		err = mpu_complete_once(c, key, &q, &body, &cond, etag, res);
		if (err != -EREMOTEIO)
			break;
		err = -EIO;
		if (!error_body_again("COMPLETE-MULTIPART", key, res, &retries, &seed))
			break;
	}
	if (!err && etag && !etag[0])
		err = complete_etag(c, key, etag);
	if (err)
		log_failure("COMPLETE-MULTIPART", key, err, res);
	free(xml);
	return err;
}

int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id,
		 struct s3_result *res)
{
	struct http_request req = { .method = "DELETE", .key = key };
	struct sigv4_kv q = { "uploadId", upload_id };
	struct http_response resp;
	struct s3_result local;
	int err;

	if (!res)
		res = &local;
	req.query = &q;
	req.nquery = 1;
	err = http_do(c, &req, &resp, res);
	if (err)
		log_failure("ABORT-MULTIPART", key, err, res);
	http_response_free(&resp);
	return err;
}

/* ---- work on parallel threads ---- */

struct parallel_job {
	int (*fn)(void *arg, size_t i, struct s3_result *res);
	void *arg;
	size_t n;

	pthread_mutex_t lock;		/* guards next, err, res */
	size_t next;			/* next item to start */
	int err;			/* first failure */
	struct s3_result res;
};

static void *parallel_worker(void *arg)
{
	struct parallel_job *job = arg;
	struct s3_result res;
	size_t i;
	int err;

	for (;;) {
		pthread_mutex_lock(&job->lock);
		i = job->next++;
		if (job->err || i >= job->n) {
			pthread_mutex_unlock(&job->lock);
			return NULL;
		}
		pthread_mutex_unlock(&job->lock);

		memset(&res, 0, sizeof(res));
		err = job->fn(job->arg, i, &res);
		if (err) {
			pthread_mutex_lock(&job->lock);
			if (!job->err) {
				job->err = err;
				job->res = res;
			}
			pthread_mutex_unlock(&job->lock);
			return NULL;
		}
	}
}

int s3_parallel(size_t n, int jobs,
		int (*fn)(void *arg, size_t i, struct s3_result *res),
		void *arg, struct s3_result *res)
{
	struct parallel_job job = { .fn = fn, .arg = arg, .n = n };
	pthread_t tids[64];
	int i, started = 0;

	if (jobs < 1)
		jobs = 1;
	if (jobs > 64)
		jobs = 64;
	if ((size_t)jobs > n)
		jobs = n;
	pthread_mutex_init(&job.lock, NULL);
	for (i = 0; i < jobs; i++) {
		if (pthread_create(&tids[i], NULL, parallel_worker, &job))
			break;
		started++;
	}
	if (!started)
		parallel_worker(&job);	/* no threads: do it here */
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&job.lock);
	if (job.err && res)
		*res = job.res;
	return job.err;
}

/* ---- multipart upload of a file ---- */

struct upload_job {
	struct s3_client *c;
	const char *key;
	const char *upload_id;
	int fd;
	uint64_t len;
	uint64_t part_size;
	struct s3_part *parts;
};

static int upload_part_fn(void *arg, size_t i, struct s3_result *res)
{
	struct upload_job *job = arg;
	struct s3_body body = { .fd = job->fd };

	body.offset = i * job->part_size;
	body.len = job->len - body.offset < job->part_size ?
		   job->len - body.offset : job->part_size;
	job->parts[i].number = i + 1;
	return s3_mpu_upload_part(job->c, job->key, job->upload_id, i + 1,
				  &body, job->parts[i].etag, res);
}

int s3_upload_fd(struct s3_client *c, const char *key, int fd, uint64_t len,
		 uint64_t part_size, int jobs, const struct s3_put_opts *opts,
		 char etag[S3_ETAG_MAX], struct s3_result *res)
{
	struct upload_job job = { .c = c, .key = key, .fd = fd, .len = len };
	struct s3_result local;
	struct s3_body body;
	size_t nparts;
	char *upload_id;
	int err;

	if (!res)
		res = &local;
	if (part_size < S3_MIN_PART_SIZE)
		part_size = S3_MIN_PART_SIZE;
	if (len <= part_size) {
		body = (struct s3_body){ .fd = fd, .offset = 0, .len = len };
		return s3_put(c, key, &body, opts, etag, res);
	}
	/* S3 allows at most 10000 parts: grow the part size to fit */
	while ((len + part_size - 1) / part_size > S3_MAX_PARTS)
		part_size *= 2;
	if (part_size > S3_MAX_PART_SIZE)
		return -EFBIG;

	err = s3_mpu_create(c, key, opts, &upload_id, res);
	if (err)
		return err;
	job.upload_id = upload_id;
	job.part_size = part_size;
	nparts = (len + part_size - 1) / part_size;
	job.parts = calloc(nparts, sizeof(*job.parts));
	if (!job.parts) {
		err = -ENOMEM;
		goto out_abort;
	}
	err = s3_parallel(nparts, jobs > 0 ? jobs : 4, upload_part_fn, &job, res);
	if (err)
		goto out_abort;
	err = s3_mpu_complete(c, key, upload_id, job.parts, nparts, opts,
			      etag, res);
	if (err)
		goto out_abort;
	goto out_free;

out_abort:
	/* never leave a half upload behind (it costs storage, and is invisible) */
	s3_mpu_abort(c, key, upload_id, NULL);
out_free:
	free(job.parts);
	free(upload_id);
	return err;
}

/* ---- multipart copy of an object ---- */

struct copy_job {
	struct s3_client *c;
	const char *src_key, *dst_key;
	const char *upload_id;
	const char *src_etag;
	uint64_t size;
	uint64_t part_size;
	struct s3_part *parts;
};

static int copy_part_fn(void *arg, size_t i, struct s3_result *res)
{
	struct copy_job *job = arg;
	uint64_t off = i * job->part_size;
	uint64_t len = job->size - off < job->part_size ?
		       job->size - off : job->part_size;

	job->parts[i].number = i + 1;
	return s3_mpu_upload_part_copy(job->c, job->dst_key, job->upload_id,
				       i + 1, job->src_key, off, len,
				       job->src_etag, job->parts[i].etag, res);
}

int s3_copy_multipart(struct s3_client *c, const char *src_key,
		      const char *dst_key, const struct s3_object *src,
		      uint64_t part_size, int jobs,
		      const struct s3_put_opts *opts, char etag[S3_ETAG_MAX],
		      struct s3_result *res)
{
	struct copy_job job = {
		.c = c, .src_key = src_key, .dst_key = dst_key,
		.src_etag = src->etag[0] ? src->etag : NULL, .size = src->size,
	};
	struct s3_result local;
	size_t nparts;
	char *upload_id;
	int err;

	if (!res)
		res = &local;
	if (part_size < S3_MIN_PART_SIZE)
		part_size = S3_MIN_PART_SIZE;
	while ((src->size + part_size - 1) / part_size > S3_MAX_PARTS)
		part_size *= 2;
	if (part_size > S3_MAX_PART_SIZE)
		return -EFBIG;
	nparts = src->size ? (src->size + part_size - 1) / part_size : 1;
	job.part_size = part_size;
	job.parts = calloc(nparts, sizeof(*job.parts));
	if (!job.parts)
		return -ENOMEM;
	err = s3_mpu_create(c, dst_key, opts, &upload_id, res);
	if (err)
		goto out_free;
	job.upload_id = upload_id;
	err = s3_parallel(nparts, jobs > 0 ? jobs : 4, copy_part_fn, &job, res);
	if (!err)
		err = s3_mpu_complete(c, dst_key, upload_id, job.parts, nparts,
				      NULL, etag, res);
	if (err)
		s3_mpu_abort(c, dst_key, upload_id, NULL);
	free(upload_id);
out_free:
	free(job.parts);
	return err;
}
