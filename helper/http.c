// SPDX-License-Identifier: GPL-2.0
/*
 * S3 engine transport: URLs, SigV4 headers, one request on a curl easy
 * handle of the client (client.c), the attempt loop (retry.c decides
 * what is tried again), errno.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client.h"
#include "creds.h"
#include "http.h"
#include "log.h"
#include "retry.h"

#define HTTP_ERROR_BODY_MAX	(64 * 1024)

/* Does the request carry a Content-MD5 header (signed with the rest)? */
static bool has_content_md5(const struct http_request *req)
{
	size_t i;

	for (i = 0; i < req->nheaders; i++)
		if (!strcasecmp(req->headers[i].name, "content-md5"))
			return true;
	return false;
}

void http_response_free(struct http_response *resp)
{
	s3_object_free(&resp->obj);
	free(resp->error_body);
	memset(resp, 0, sizeof(*resp));
}

/* ---- one attempt ---- */

struct http_attempt {
	struct s3_client *c;
	const struct http_request *req;
	struct http_response *resp;
	uint64_t body_pos;		/* request body bytes handed to curl */
	size_t error_cap;
	int io_error;			/* read or sink failure, -errno */
	/*
	 * The blank line that ends the response's header block was seen.
	 * curl reports success for a HEAD whose connection closed in the
	 * middle of its headers (7.88): without this, half a response
	 * would pass for a whole one (metadata missing, sizes wrong).
	 */
	bool headers_done;
};

static size_t body_read(char *dst, size_t size, size_t nmemb, void *userp)
{
	struct http_attempt *a = userp;
	const struct s3_body *b = a->req->body;
	uint64_t left = b->len - a->body_pos;
	size_t want = size * nmemb;
	ssize_t n;

	if (want > left)
		want = left;
	if (!want)
		return 0;
	if (b->buf) {
		memcpy(dst, (const char *)b->buf + a->body_pos, want);
		n = want;
	} else {
		n = pread(b->fd, dst, want, b->offset + a->body_pos);
		if (n < 0) {
			a->io_error = -errno;
			return CURL_READFUNC_ABORT;
		}
		if (n == 0) {		/* file shrank under us */
			a->io_error = -EIO;
			return CURL_READFUNC_ABORT;
		}
	}
	a->body_pos += n;
	return n;
}

static int body_seek(void *userp, curl_off_t offset, int origin)
{
	struct http_attempt *a = userp;

	if (origin != SEEK_SET || offset < 0 ||
	    (uint64_t)offset > a->req->body->len)
		return CURL_SEEKFUNC_FAIL;
	a->body_pos = offset;
	return CURL_SEEKFUNC_OK;
}

static int sink_store(struct http_sink *s, const char *data, size_t n)
{
	size_t newcap;
	char *p;

	if (s->to_fd) {
		while (n) {
			ssize_t w = write(s->fd, data, n);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			data += w;
			n -= w;
			s->fd_written += w;
		}
		return 0;
	}
	if (s->buf) {
		if (n > s->size - s->len)
			return -EFBIG;
		memcpy((char *)s->buf + s->len, data, n);
		s->len += n;
		return 0;
	}
	if (n > s->max - s->len)
		return -EFBIG;
	newcap = s->len + n + 1;
	p = realloc(s->data, newcap);
	if (!p)
		return -ENOMEM;
	s->data = p;
	memcpy(s->data + s->len, data, n);
	s->len += n;
	s->data[s->len] = '\0';
	return 0;
}

static size_t body_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_attempt *a = userp;
	struct http_response *resp = a->resp;
	size_t n = size * nmemb;
	char *p;

	if (resp->status < 200 || resp->status >= 300) {
		/* error bodies are kept apart, bounded */
		if (resp->error_len + n > HTTP_ERROR_BODY_MAX)
			return n;	/* ignore the excess, keep the start */
		p = realloc(resp->error_body, resp->error_len + n + 1);
		if (!p)
			return 0;
		resp->error_body = p;
		memcpy(p + resp->error_len, data, n);
		resp->error_len += n;
		p[resp->error_len] = '\0';
		return n;
	}
	if (!a->req->sink)
		return n;
	a->io_error = sink_store(a->req->sink, data, n);
	return a->io_error ? 0 : n;
}

static void header_trim(char **value, size_t *len)
{
	while (*len && isspace((unsigned char)**value)) {
		(*value)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*value)[*len - 1]))
		(*len)--;
}

static void copy_etag(char *dst, const char *v, size_t len)
{
	if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
		v++;
		len -= 2;
	}
	if (len >= S3_ETAG_MAX)
		len = S3_ETAG_MAX - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static int add_meta(struct s3_object *obj, const char *name, size_t nlen,
		    const char *value, size_t vlen)
{
	struct s3_kv *m;
	size_t i;

	m = realloc(obj->meta, (obj->nmeta + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	obj->meta = m;
	m = &obj->meta[obj->nmeta];
	m->name = strndup(name, nlen);
	m->value = strndup(value, vlen);
	if (!m->name || !m->value) {
		free(m->name);
		free(m->value);
		return -ENOMEM;
	}
	for (i = 0; i < nlen; i++)
		m->name[i] = tolower((unsigned char)m->name[i]);
	obj->nmeta++;
	return 0;
}

static void parse_header(struct http_attempt *a, char *line, size_t len)
{
	struct http_response *resp = a->resp;
	struct s3_object *obj = &resp->obj;
	char *colon, *value, tmp[64];
	size_t nlen, vlen;
	struct tm tm;

	colon = memchr(line, ':', len);
	if (!colon)
		return;
	nlen = colon - line;
	value = colon + 1;
	vlen = len - nlen - 1;
	header_trim(&value, &vlen);

#define IS(h) (nlen == sizeof(h) - 1 && !strncasecmp(line, h, nlen))
	if (IS("etag")) {
		copy_etag(obj->etag, value, vlen);
	} else if (IS("content-length") && vlen < sizeof(tmp)) {
		memcpy(tmp, value, vlen);
		tmp[vlen] = '\0';
		resp->content_length = strtoull(tmp, NULL, 10);
		resp->has_length = true;
		if (!resp->has_range)
			obj->size = resp->content_length;
	} else if (IS("content-range") && vlen < sizeof(tmp)) {
		char *slash;

		memcpy(tmp, value, vlen);
		tmp[vlen] = '\0';
		slash = strchr(tmp, '/');
		if (slash && slash[1] != '*') {
			obj->size = strtoull(slash + 1, NULL, 10);
			resp->has_range = true;
		}
	} else if (IS("last-modified") && vlen < sizeof(tmp)) {
		memcpy(tmp, value, vlen);
		tmp[vlen] = '\0';
		memset(&tm, 0, sizeof(tm));
		if (strptime(tmp, "%a, %d %b %Y %H:%M:%S", &tm)) {
			obj->last_modified.tv_sec = timegm(&tm);
			obj->last_modified.tv_nsec = 0;
		}
	} else if (IS("content-type")) {
		free(obj->content_type);
		obj->content_type = strndup(value, vlen);
	} else if (nlen > 11 && !strncasecmp(line, "x-amz-meta-", 11)) {
		add_meta(obj, line + 11, nlen - 11, value, vlen);
	}
#undef IS
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_attempt *a = userp;
	size_t n = size * nmemb;
	long status;

	if (n > 5 && !strncmp(data, "HTTP/", 5)) {
		/* a new response (100-continue, then the real one) */
		char *sp = memchr(data, ' ', n);

		status = sp ? strtol(sp + 1, NULL, 10) : 0;
		s3_object_free(&a->resp->obj);
		a->resp->has_length = false;
		a->resp->has_range = false;
		a->resp->status = status;
		a->headers_done = false;
		return n;
	}
	if ((n == 2 && data[0] == '\r' && data[1] == '\n') || (n == 1 && data[0] == '\n')) {
		a->headers_done = true;
		return n;
	}
	parse_header(a, data, n);
	return n;
}

/* ---- request building ---- */

static char *build_query(const struct http_request *req)
{
	size_t i, len = 0;
	char *q = NULL, *name, *value, *p;
	int err = 0;

	for (i = 0; i < req->nquery && !err; i++) {
		name = sigv4_uri_encode(req->query[i].name, false);
		value = sigv4_uri_encode(req->query[i].value ? req->query[i].value : "",
					 false);
		if (!name || !value) {
			err = -ENOMEM;
		} else {
			p = realloc(q, len + strlen(name) + strlen(value) + 3);
			if (!p) {
				err = -ENOMEM;
			} else {
				q = p;
				len += sprintf(q + len, "%s%s=%s", i ? "&" : "?",
					       name, value);
			}
		}
		free(name);
		free(value);
	}
	if (err) {
		free(q);
		return NULL;
	}
	return q ? q : strdup("");
}

/* Decoded request path: what is signed; the wire form is its encoding. */
static char *build_path(struct s3_client *c, const char *key)
{
	char *path;
	int n;

	if (c->addressing == S3_ADDR_VIRTUAL)
		n = asprintf(&path, "%s/%s", c->base_path, key ? key : "");
	else if (key)
		n = asprintf(&path, "%s/%s/%s", c->base_path, c->bucket, key);
	else
		n = asprintf(&path, "%s/%s", c->base_path, c->bucket);
	return n < 0 ? NULL : path;
}

struct signed_headers {
	struct curl_slist *list;
	char *auth;
};

static int add_header(struct curl_slist **list, const char *name,
		      const char *value)
{
	struct curl_slist *l;
	char *line;

	if (asprintf(&line, "%s: %s", name, value) < 0)
		return -ENOMEM;
	l = curl_slist_append(*list, line);
	free(line);
	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

static int sign_request(struct s3_client *c, const struct http_request *req,
			const char *path, struct curl_slist **list)
{
	struct sigv4_signer signer = {
		.region = c->region,
		.service = "s3",
	};
	struct sigv4_kv *hdrs;
	struct sigv4_request sreq;
	struct sigv4_result sres;
	char date[17], hash[SIGV4_SHA256_HEX_LEN + 1];
	const char *payload_hash;
	size_t n = 0, i;
	int err;

	/*
	 * A body with a signed Content-MD5 is checked by the server against
	 * it: hashing it again for the signature (SHA-256) only costs CPU.
	 */
	if (!req->body || !req->body->len)
		payload_hash = SIGV4_EMPTY_SHA256;
	else if (req->body->buf && !has_content_md5(req)) {
		sigv4_sha256_hex(req->body->buf, req->body->len, hash);
		payload_hash = hash;
	} else {
		payload_hash = SIGV4_UNSIGNED_PAYLOAD;
	}
	sigv4_format_date(time(NULL), date);

	hdrs = calloc(req->nheaders + 4, sizeof(*hdrs));
	if (!hdrs)
		return -ENOMEM;
	pthread_rwlock_rdlock(&c->creds_lock);
	signer.access_key = c->creds.access_key;
	signer.secret_key = c->creds.secret_key;
	hdrs[n++] = (struct sigv4_kv){ "host", c->host };
	hdrs[n++] = (struct sigv4_kv){ "x-amz-date", date };
	hdrs[n++] = (struct sigv4_kv){ "x-amz-content-sha256", payload_hash };
	if (c->creds.session_token)
		hdrs[n++] = (struct sigv4_kv){ "x-amz-security-token",
					       c->creds.session_token };
	for (i = 0; i < req->nheaders; i++)
		hdrs[n++] = req->headers[i];

	sreq = (struct sigv4_request){
		.method = req->method,
		.path = path,
		.query = req->query,
		.nquery = req->nquery,
		.headers = hdrs,
		.nheaders = n,
		.payload_hash = payload_hash,
		.amz_date = date,
	};
	err = sigv4_sign(&signer, &sreq, &sres);
	if (err)
		goto out_free_hdrs;

	/* curl sets Host itself from the URL; send the rest explicitly */
	for (i = 1; i < n && !err; i++)
		err = add_header(list, hdrs[i].name, hdrs[i].value);
	if (!err)
		err = add_header(list, "Authorization", sres.authorization);
	/* no 100-continue round trip, no default Accept/Content-Type */
	if (!err && !curl_slist_append(*list, "Expect:"))
		err = -ENOMEM;
	if (!err && !curl_slist_append(*list, "Accept:"))
		err = -ENOMEM;
	sigv4_result_free(&sres);
out_free_hdrs:
	pthread_rwlock_unlock(&c->creds_lock);
	free(hdrs);
	return err;
}

static const char *curl_code_name(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:	return "ConnectionRefused";
	case CURLE_COULDNT_RESOLVE_HOST: return "HostNotFound";
	case CURLE_OPERATION_TIMEDOUT:	return "Timeout";
	case CURLE_GOT_NOTHING:		return "EmptyReply";
	case CURLE_SEND_ERROR:		return "SendError";
	case CURLE_RECV_ERROR:		return "ConnectionReset";
	case CURLE_PARTIAL_FILE:	return "PartialBody";
	case CURLE_PEER_FAILED_VERIFICATION: return "CertificateRejected";
	case CURLE_SSL_CONNECT_ERROR:	return "TLSHandshakeFailed";
	case CURLE_ABORTED_BY_CALLBACK:	return "Cancelled";
	default:			return "TransportError";
	}
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:	return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:		return -ETIMEDOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:		return -EPROTO;
	case CURLE_OUT_OF_MEMORY:		return -ENOMEM;
	case CURLE_URL_MALFORMAT:		return -EINVAL;
	case CURLE_ABORTED_BY_CALLBACK:
		return retry_should_stop() ?: -ECANCELED;
	default:				return -ECONNRESET;
	}
}

static bool curl_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

int http_errno_for(long status, const char *code)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400:
		if (code && !strcmp(code, "EntityTooLarge"))
			return -EFBIG;
		if (code && !strcmp(code, "RequestTimeout"))
			return -ETIMEDOUT;
		if (code && !strcmp(code, "BadDigest"))
			return -EIO;	/* the body was damaged on the way */
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 405:
	case 501:
		return -EOPNOTSUPP;
	case 409:
		return -EBUSY;
	case 411:
	case 413:
		return -EFBIG;
	case 412:
		return -ESTALE;
	case 416:
		return -ERANGE;
	default:
		return -EIO;
	}
}

static void fill_error(struct s3_result *res, struct http_response *resp)
{
	struct s3_error_info info;
	const char *dflt;

	if (resp->error_body &&
	    !s3_xml_parse_error(resp->error_body, resp->error_len, &info)) {
		snprintf(res->code, sizeof(res->code), "%s", info.code ? info.code : "");
		snprintf(res->message, sizeof(res->message), "%s",
			 info.message ? info.message : "");
		if (info.request_id)
			snprintf(res->request_id, sizeof(res->request_id), "%s",
				 info.request_id);
		s3_error_info_free(&info);
		if (res->code[0])
			return;
	}
	/* HEAD answers carry no body: name the status */
	switch (resp->status) {
	case 403: dflt = "Forbidden"; break;
	case 404: dflt = "NotFound"; break;
	case 412: dflt = "PreconditionFailed"; break;
	case 416: dflt = "InvalidRange"; break;
	case 503: dflt = "ServiceUnavailable"; break;
	default: dflt = "HttpError"; break;
	}
	snprintf(res->code, sizeof(res->code), "%s", dflt);
}

static void reset_sink(struct http_sink *s, off_t fd_start)
{
	if (!s)
		return;
	free(s->data);
	s->data = NULL;
	s->len = 0;
	s->error = 0;
	if (s->to_fd && s->fd_written) {
		/* a retried GET rewrites from the start */
		if (lseek(s->fd, fd_start, SEEK_SET) < 0 || ftruncate(s->fd, fd_start))
			s->error = -errno;
	}
	s->fd_written = 0;
}

/* curl asks about once a second: stop when the job is gone or s3fd stops */
static int xfer_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow,
			 curl_off_t ultotal, curl_off_t ulnow)
{
	return retry_should_stop() ? 1 : 0;
}

static int perform_once(struct s3_client *c, CURL *h,
			const struct http_request *req, const char *url,
			struct http_attempt *a, CURLcode *rc)
{
	struct curl_slist *hdrs = NULL;
	long left_ms;
	char *path;
	int err;

	path = build_path(c, req->key);
	if (!path)
		return -ENOMEM;
	err = sign_request(c, req, path, &hdrs);
	free(path);
	if (err)
		goto out_free_hdrs;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);	/* keys may hold "..", "//" */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	/* this handle's own connections (see the top of this file) */
	curl_easy_setopt(h, CURLOPT_MAXCONNECTS, (long)CLIENT_HANDLE_CONNECTS);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xfer_progress);
	/* an attempt ends at the job's deadline, and at the client's bound */
	left_ms = retry_time_left_ms();
	if (c->attempt_timeout_ms && (left_ms < 0 || left_ms > c->attempt_timeout_ms))
		left_ms = c->attempt_timeout_ms;
	if (left_ms >= 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left_ms > 0 ? left_ms : 1L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->low_speed_time_s);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "s3f/0.1");
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);

	if (req->head) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (req->body) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)req->body->len);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, body_read);
		curl_easy_setopt(h, CURLOPT_READDATA, a);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, body_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, a);
		if (strcmp(req->method, "PUT"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	} else if (strcmp(req->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}

	*rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->resp->status);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
out_free_hdrs:
	curl_slist_free_all(hdrs);
	return err;
}

static void count_transfer(struct s3_client *c, CURL *h)
{
	curl_off_t up = 0, down = 0;

	curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &down);
	__atomic_fetch_add(&c->stats.requests, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->stats.bytes_sent, (uint64_t)up, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->stats.bytes_received, (uint64_t)down, __ATOMIC_RELAXED);
}

int http_do(struct s3_client *c, const struct http_request *req,
	    struct http_response *resp, struct s3_result *res)
{
	struct s3_result local;
	struct http_attempt a;
	unsigned int seed;
	char *query, *wire_path, *url = NULL, *path;
	off_t fd_start = 0;
	enum retry_class cls = RETRY_TRANSIENT;
	CURLcode rc = CURLE_OK;
	bool reloaded = false;
	int attempt, err, stop;
	CURL *h;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	memset(resp, 0, sizeof(*resp));

	path = build_path(c, req->key);
	query = build_query(req);
	wire_path = path ? sigv4_uri_encode(path, true) : NULL;
	if (!path || !query || !wire_path ||
	    asprintf(&url, "%s://%s%s%s", c->scheme, c->host, wire_path, query) < 0) {
		url = NULL;
		err = -ENOMEM;
		goto out_free;
	}
	if (req->sink && req->sink->to_fd)
		fd_start = lseek(req->sink->fd, 0, SEEK_CUR);
	h = client_handle_get(c);
	if (!h) {
		err = -ENOMEM;
		goto out_free;
	}
	seed = (unsigned int)time(NULL) ^ (unsigned int)(uintptr_t)&a;

	for (attempt = 0;; attempt++) {
		if (attempt) {
			__atomic_fetch_add(&c->stats.retries, 1, __ATOMIC_RELAXED);
			/* past the deadline, or stopped: the last failure stands */
			if (retry_backoff(attempt, cls, c->retry_base_ms,
					  c->retry_cap_ms, &seed))
				break;
			http_response_free(resp);
			reset_sink(req->sink, fd_start);
			/* what went to a pipe cannot be taken back: no retry */
			if (req->sink && req->sink->error) {
				err = req->sink->error;
				snprintf(res->code, sizeof(res->code), "LocalIOError");
				snprintf(res->message, sizeof(res->message),
					 "cannot rewind the output to try again: %s",
					 strerror(-err));
				break;
			}
		}
		stop = retry_should_stop();
		if (stop) {
			err = stop;
			res->http_status = 0;
			snprintf(res->code, sizeof(res->code), "%s",
				 stop == -ETIMEDOUT ? "DeadlinePassed" : "Cancelled");
			res->message[0] = '\0';
			break;
		}
		memset(&a, 0, sizeof(a));
		a.c = c;
		a.req = req;
		a.resp = resp;
		res->attempts = attempt + 1;

		err = perform_once(c, h, req, url, &a, &rc);
		if (err)
			break;
		count_transfer(c, h);
		if (rc == CURLE_OK && !a.headers_done)
			rc = CURLE_RECV_ERROR;	/* cut in its headers: see headers_done */
		if (a.io_error) {
			err = a.io_error;
			snprintf(res->code, sizeof(res->code), "LocalIOError");
			snprintf(res->message, sizeof(res->message), "%s",
				 strerror(-err));
			break;
		}
		if (rc != CURLE_OK) {
			err = curl_errno(rc);
			res->http_status = 0;
			snprintf(res->code, sizeof(res->code), "%s", curl_code_name(rc));
			snprintf(res->message, sizeof(res->message), "%s",
				 curl_easy_strerror(rc));
			cls = curl_transient(rc) ? RETRY_TRANSIENT : RETRY_NEVER;
			if (cls != RETRY_NEVER && attempt < c->max_retries) {
				log_debug("s3: %s %s: %s, retrying", req->method,
					  req->key ? req->key : "/", res->message);
				continue;
			}
			break;
		}
		res->http_status = resp->status;
		if (resp->status >= 200 && resp->status < 300) {
			err = 0;
			res->code[0] = '\0';
			res->message[0] = '\0';
			break;
		}
		fill_error(res, resp);
		err = http_errno_for(resp->status, res->code);
		cls = retry_classify_status(resp->status, res->code);
		/*
		 * A HEAD's answer has no body, so no error code: a 400 or
		 * 403 there may be expired credentials as well.
		 */
		if (req->head && (resp->status == 400 || resp->status == 403))
			cls = RETRY_CREDENTIALS;
		if (cls == RETRY_CREDENTIALS) {
			char why[256];

			/*
			 * Reload once and send the request again; after that
			 * it is one more transient failure (within the budget).
			 */
			if (attempt >= c->max_retries)
				break;
			cls = RETRY_TRANSIENT;
			if (reloaded)
				continue;
			reloaded = true;
			if (s3_client_reload_creds(c, why, sizeof(why))) {
				log_warn("s3: %s: reloading credentials failed: %s",
					 res->code, why);
				break;
			}
			log_info("s3: %s: credentials reloaded", res->code);
			continue;
		}
		if (cls != RETRY_NEVER && attempt < c->max_retries) {
			log_debug("s3: %s %s: %ld %s, retrying", req->method,
				  req->key ? req->key : "/", resp->status, res->code);
			continue;
		}
		break;
	}
	client_handle_put(c, h);
out_free:
	free(url);
	free(wire_path);
	free(query);
	free(path);
	return err;
}

const char *s3_result_str(const struct s3_result *res, char *buf, size_t len)
{
	if (res->http_status)
		snprintf(buf, len, "%ld %s%s%s%s%s%s", res->http_status, res->code,
			 res->message[0] ? ": " : "", res->message,
			 res->request_id[0] ? " (request id " : "",
			 res->request_id,
			 res->request_id[0] ? ")" : "");
	else
		snprintf(buf, len, "%s%s%s", res->code,
			 res->message[0] ? ": " : "", res->message);
	if (res->attempts > 1) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, " after %d attempts", res->attempts);
	}
	return buf;
}
