// SPDX-License-Identifier: GPL-2.0
/*
 * AWS Signature Version 4 (header-based, AWS4-HMAC-SHA256).
 *
 * Pure functions: no I/O, no global mutable state.  Every string that
 * leaves this file is malloc'd and owned by the caller; the secret key,
 * and every key derived from it, is wiped from memory after use.
 *
 * References: AWS General Reference, "Create a canonical request",
 * "Create a string to sign", "Calculate the signature", and the S3 API
 * Reference, "Signature Calculations for the Authorization Header".
 */
#include "sigv4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIGV4_ALGORITHM		"AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR	"aws4_request"
#define SIGV4_AMZ_DATE_LEN	16	/* "20150830T123600Z" */
#define SIGV4_DATE_LEN		8	/* "20150830" */
#define SHA256_LEN		32

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

/* ---------------------------------------------------------------- */
/* Growable string with a sticky error: check it once at the end.     */

struct sbuf {
	char *buf;
	size_t len;
	size_t cap;
	bool oom;
};

static void sb_putn(struct sbuf *sb, const char *s, size_t n)
{
	size_t need, cap;
	char *nbuf;

	if (sb->oom)
		return;
	need = sb->len + n + 1;
	if (need > sb->cap) {
		cap = sb->cap ? sb->cap : 256;
		while (cap < need)
			cap *= 2;
		nbuf = realloc(sb->buf, cap);
		if (!nbuf) {
			sb->oom = true;
			return;
		}
		sb->buf = nbuf;
		sb->cap = cap;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

static void sb_puts(struct sbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

static void sb_putc(struct sbuf *sb, char c)
{
	sb_putn(sb, &c, 1);
}

/* Hand the string over (never NULL on success, "" when nothing added). */
static char *sb_finish(struct sbuf *sb)
{
	char *s;

	if (!sb->oom && !sb->buf)
		sb_putn(sb, "", 0);
	if (sb->oom) {
		free(sb->buf);
		sb->buf = NULL;
		return NULL;
	}
	s = sb->buf;
	sb->buf = NULL;
	return s;
}

static void sb_release(struct sbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
}

/* ---------------------------------------------------------------- */
/* Hashing.                                                           */

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex_lower[in[i] >> 4];
		out[2 * i + 1] = hex_lower[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[SHA256_LEN];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != SHA256_LEN) {
		out[0] = '\0';
		return -ENOMEM;
	}
	hex_encode(md, SHA256_LEN, out);
	return 0;
}

void sigv4_sha256_hex(const void *data, size_t len, char *out)
{
	/* On (allocation) failure out is "", which never verifies. */
	sha256_hex(data, len, out);
}

static int hmac_sha256(const void *key, size_t keylen, const char *msg,
		       unsigned char out[SHA256_LEN])
{
	unsigned int outlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
		  strlen(msg), out, &outlen) || outlen != SHA256_LEN)
		return -ENOMEM;
	return 0;
}

/*
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
 *                 service), "aws4_request")
 */
static int derive_signing_key(const struct sigv4_signer *signer,
			      const char *date, unsigned char key[SHA256_LEN])
{
	size_t slen = strlen(signer->secret_key);
	unsigned char a[SHA256_LEN], b[SHA256_LEN];
	char *k_secret;
	int ret;

	k_secret = malloc(slen + 5);
	if (!k_secret)
		return -ENOMEM;
	memcpy(k_secret, "AWS4", 4);
	memcpy(k_secret + 4, signer->secret_key, slen + 1);

	ret = hmac_sha256(k_secret, slen + 4, date, a);
	if (ret)
		goto out_wipe;
	ret = hmac_sha256(a, SHA256_LEN, signer->region, b);
	if (ret)
		goto out_wipe;
	ret = hmac_sha256(b, SHA256_LEN, signer->service, a);
	if (ret)
		goto out_wipe;
	ret = hmac_sha256(a, SHA256_LEN, SIGV4_TERMINATOR, key);

out_wipe:
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	OPENSSL_cleanse(k_secret, slen + 4);
	free(k_secret);
	return ret;
}

/* ---------------------------------------------------------------- */
/* URI encoding and the canonical URI.                                */

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' ||
	       c == '.' || c == '~';
}

static void sb_uri_encode(struct sbuf *sb, const char *s, size_t n,
			  bool keep_slash)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[3] = { '%' };
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		if (is_unreserved(p[i]) || (keep_slash && p[i] == '/')) {
			run++;
			continue;
		}
		sb_putn(sb, s + i - run, run);
		run = 0;
		esc[1] = hex_upper[p[i] >> 4];
		esc[2] = hex_upper[p[i] & 0xf];
		sb_putn(sb, esc, 3);
	}
	sb_putn(sb, s + n - run, run);
}

char *sigv4_uri_encode(const char *s, bool keep_slash)
{
	struct sbuf sb = { 0 };

	sb_uri_encode(&sb, s, strlen(s), keep_slash);
	return sb_finish(&sb);
}

struct segment {
	size_t start;
	size_t len;
};

/*
 * Remove dot segments (RFC 3986 5.2.4) and empty segments from an
 * absolute path.  A path whose last segment is "", "." or ".." keeps a
 * trailing slash: "//example//" -> "/example/", "/a/b/.." -> "/a/".
 */
static char *normalize_path(const char *path)
{
	size_t n = strlen(path), nseg = 0, i;
	struct sbuf sb = { 0 };
	struct segment *segs;
	const char *seg, *end;
	bool trailing = false;

	/* "/a/b": a path of n bytes has at most n / 2 named segments */
	segs = calloc(n / 2 + 1, sizeof(*segs));
	if (!segs)
		return NULL;

	for (seg = path + 1; seg <= path + n; seg = end + 1) {
		end = strchrnul(seg, '/');
		trailing = true;
		if (end == seg || (end - seg == 1 && seg[0] == '.'))
			continue;
		if (end - seg == 2 && seg[0] == '.' && seg[1] == '.') {
			if (nseg)
				nseg--;
			continue;
		}
		segs[nseg].start = seg - path;
		segs[nseg].len = end - seg;
		nseg++;
		trailing = false;
	}

	for (i = 0; i < nseg; i++) {
		sb_putc(&sb, '/');
		sb_putn(&sb, path + segs[i].start, segs[i].len);
	}
	if (!nseg || trailing)
		sb_putc(&sb, '/');

	free(segs);
	return sb_finish(&sb);
}

static int canonical_uri(struct sbuf *sb, const char *path, bool generic)
{
	char *norm, *once;

	if (!path || !path[0]) {
		sb_putc(sb, '/');
		return 0;
	}
	if (path[0] != '/')
		return -EINVAL;
	if (!generic) {
		/* S3: the key's bytes, encoded once, exactly as given. */
		sb_uri_encode(sb, path, strlen(path), true);
		return 0;
	}

	norm = normalize_path(path);
	if (!norm)
		return -ENOMEM;
	once = sigv4_uri_encode(norm, true);
	free(norm);
	if (!once)
		return -ENOMEM;
	sb_uri_encode(sb, once, strlen(once), true);
	free(once);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Canonical query string.                                            */

struct enc_param {
	char *name;
	char *value;
};

static int enc_param_cmp(const void *a, const void *b)
{
	const struct enc_param *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : strcmp(x->value, y->value);
}

static void free_params(struct enc_param *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

static int canonical_query(struct sbuf *sb, const struct sigv4_kv *query,
			   size_t nquery)
{
	struct enc_param *p;
	int ret = 0;
	size_t i;

	if (!nquery)
		return 0;
	if (!query)
		return -EINVAL;
	p = calloc(nquery, sizeof(*p));
	if (!p)
		return -ENOMEM;

	for (i = 0; i < nquery; i++) {
		if (!query[i].name) {
			ret = -EINVAL;
			goto out_free_params;
		}
		p[i].name = sigv4_uri_encode(query[i].name, false);
		p[i].value = sigv4_uri_encode(query[i].value ?
					      query[i].value : "", false);
		if (!p[i].name || !p[i].value) {
			ret = -ENOMEM;
			goto out_free_params;
		}
	}
	qsort(p, nquery, sizeof(*p), enc_param_cmp);

	for (i = 0; i < nquery; i++) {
		if (i)
			sb_putc(sb, '&');
		sb_puts(sb, p[i].name);
		sb_putc(sb, '=');
		sb_puts(sb, p[i].value);
	}

out_free_params:
	free_params(p, nquery);		/* calloc'd: unset entries are NULL */
	return ret;
}

/* ---------------------------------------------------------------- */
/* Canonical headers.                                                 */

struct canon_header {
	char *name;		/* lowercase */
	char *value;		/* trimmed, inner whitespace collapsed */
	size_t order;		/* position in the request: stable sort */
};

static int canon_header_cmp(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void free_headers(struct canon_header *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* A token character (RFC 9110): no separators, spaces or controls. */
static bool valid_header_name(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!*p)
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *p))
			return false;
	return true;
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s), *p;

	if (!d)
		return NULL;
	for (p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return d;
}

/* Trim and collapse whitespace runs to one space. */
static int canon_value(const char *s, char **out)
{
	struct sbuf sb = { 0 };
	bool pending = false;

	for (; *s; s++) {
		/* a line break would forge canonical request lines */
		if (*s == '\r' || *s == '\n')
			goto out_release;
		if (is_ws(*s)) {
			pending = sb.len > 0;
			continue;
		}
		if (pending)
			sb_putc(&sb, ' ');
		pending = false;
		sb_putc(&sb, *s);
	}
	*out = sb_finish(&sb);
	return *out ? 0 : -ENOMEM;

out_release:
	sb_release(&sb);
	return -EINVAL;
}

static int canon_header_init(struct canon_header *h,
			     const struct sigv4_kv *kv, size_t order)
{
	if (!kv->name || !kv->value || !valid_header_name(kv->name))
		return -EINVAL;
	h->order = order;
	h->name = lower_dup(kv->name);
	if (!h->name)
		return -ENOMEM;
	return canon_value(kv->value, &h->value);
}

/*
 * "host" is required, and so is "x-amz-date", which must carry the
 * same time as the credential scope.
 */
static int check_required_headers(const struct canon_header *h, size_t n,
				  const char *amz_date)
{
	bool have_host = false, have_date = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(h[i].name, "host")) {
			have_host = true;
		} else if (!strcmp(h[i].name, "x-amz-date")) {
			if (strcmp(h[i].value, amz_date))
				return -EINVAL;
			have_date = true;
		}
	}
	return have_host && have_date ? 0 : -EINVAL;
}

/* Appends "name:value\n" lines to sb and "a;b;c" to signed_hdrs. */
static int canonical_headers(struct sbuf *sb, struct sbuf *signed_hdrs,
			     const struct sigv4_request *req)
{
	size_t i, n = req->nheaders;
	struct canon_header *h;
	int ret = 0;

	if (!n || !req->headers)
		return -EINVAL;
	h = calloc(n, sizeof(*h));
	if (!h)
		return -ENOMEM;

	for (i = 0; i < n; i++) {
		ret = canon_header_init(&h[i], &req->headers[i], i);
		if (ret)
			goto out_free_headers;
	}
	ret = check_required_headers(h, n, req->amz_date);
	if (ret)
		goto out_free_headers;
	qsort(h, n, sizeof(*h), canon_header_cmp);

	for (i = 0; i < n; i++) {
		if (i && !strcmp(h[i].name, h[i - 1].name)) {
			/* repeated name: one line, values in given order */
			sb_putc(sb, ',');
		} else {
			if (i) {
				sb_putc(sb, '\n');
				sb_putc(signed_hdrs, ';');
			}
			sb_puts(sb, h[i].name);
			sb_putc(sb, ':');
			sb_puts(signed_hdrs, h[i].name);
		}
		sb_puts(sb, h[i].value);
	}
	sb_putc(sb, '\n');

out_free_headers:
	free_headers(h, n);		/* calloc'd: unset entries are NULL */
	return ret;
}

/* ---------------------------------------------------------------- */
/* The three steps.                                                   */

static bool valid_amz_date(const char *d)
{
	int i;

	if (!d || strlen(d) != SIGV4_AMZ_DATE_LEN || d[8] != 'T' ||
	    d[15] != 'Z')
		return false;
	for (i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return false;
	return true;
}

static bool valid_input(const struct sigv4_signer *signer,
			const struct sigv4_request *req)
{
	return signer && req && signer->access_key && signer->secret_key &&
	       signer->region && signer->service && signer->region[0] &&
	       signer->service[0] && req->method && req->method[0] &&
	       req->payload_hash && req->payload_hash[0] &&
	       !strpbrk(req->method, " \t\r\n") &&
	       !strpbrk(req->payload_hash, "\r\n") &&
	       valid_amz_date(req->amz_date);
}

static int build_canonical_request(const struct sigv4_signer *signer,
				   const struct sigv4_request *req,
				   struct sigv4_result *out)
{
	struct sbuf sb = { 0 }, sh = { 0 };
	int ret;

	sb_puts(&sb, req->method);
	sb_putc(&sb, '\n');
	ret = canonical_uri(&sb, req->path,
			    signer->normalize_and_double_encode);
	if (ret)
		goto out_release;
	sb_putc(&sb, '\n');
	ret = canonical_query(&sb, req->query, req->nquery);
	if (ret)
		goto out_release;
	sb_putc(&sb, '\n');
	ret = canonical_headers(&sb, &sh, req);
	if (ret)
		goto out_release;
	sb_putc(&sb, '\n');
	sb_puts(&sb, sh.buf ? sh.buf : "");
	sb_putc(&sb, '\n');
	sb_puts(&sb, req->payload_hash);

	out->canonical_request = sb_finish(&sb);
	out->signed_headers = sb_finish(&sh);
	if (!out->canonical_request || !out->signed_headers)
		return -ENOMEM;
	return 0;

out_release:
	sb_release(&sh);
	sb_release(&sb);
	return ret;
}

/* "20150830/us-east-1/service/aws4_request" */
static void put_scope(struct sbuf *sb, const struct sigv4_signer *signer,
		      const char *amz_date)
{
	sb_putn(sb, amz_date, SIGV4_DATE_LEN);
	sb_putc(sb, '/');
	sb_puts(sb, signer->region);
	sb_putc(sb, '/');
	sb_puts(sb, signer->service);
	sb_putc(sb, '/');
	sb_puts(sb, SIGV4_TERMINATOR);
}

static int build_string_to_sign(const struct sigv4_signer *signer,
				const struct sigv4_request *req,
				struct sigv4_result *out)
{
	char hash[SIGV4_SHA256_HEX_LEN + 1];
	struct sbuf sb = { 0 };
	int ret;

	ret = sha256_hex(out->canonical_request,
			 strlen(out->canonical_request), hash);
	if (ret)
		return ret;
	sb_puts(&sb, SIGV4_ALGORITHM "\n");
	sb_puts(&sb, req->amz_date);
	sb_putc(&sb, '\n');
	put_scope(&sb, signer, req->amz_date);
	sb_putc(&sb, '\n');
	sb_puts(&sb, hash);

	out->string_to_sign = sb_finish(&sb);
	return out->string_to_sign ? 0 : -ENOMEM;
}

static int build_signature(const struct sigv4_signer *signer,
			   const struct sigv4_request *req,
			   struct sigv4_result *out)
{
	unsigned char key[SHA256_LEN], mac[SHA256_LEN];
	char date[SIGV4_DATE_LEN + 1];
	int ret;

	memcpy(date, req->amz_date, SIGV4_DATE_LEN);
	date[SIGV4_DATE_LEN] = '\0';

	ret = derive_signing_key(signer, date, key);
	if (ret)
		goto out_wipe;
	ret = hmac_sha256(key, SHA256_LEN, out->string_to_sign, mac);
	if (ret)
		goto out_wipe;

	out->signature = malloc(SIGV4_SHA256_HEX_LEN + 1);
	if (!out->signature) {
		ret = -ENOMEM;
		goto out_wipe;
	}
	hex_encode(mac, SHA256_LEN, out->signature);

out_wipe:
	OPENSSL_cleanse(key, sizeof(key));
	return ret;
}

static int build_authorization(const struct sigv4_signer *signer,
			       const struct sigv4_request *req,
			       struct sigv4_result *out)
{
	struct sbuf sb = { 0 };

	sb_puts(&sb, SIGV4_ALGORITHM " Credential=");
	sb_puts(&sb, signer->access_key);
	sb_putc(&sb, '/');
	put_scope(&sb, signer, req->amz_date);
	sb_puts(&sb, ", SignedHeaders=");
	sb_puts(&sb, out->signed_headers);
	sb_puts(&sb, ", Signature=");
	sb_puts(&sb, out->signature);

	out->authorization = sb_finish(&sb);
	return out->authorization ? 0 : -ENOMEM;
}

int sigv4_sign(const struct sigv4_signer *signer,
	       const struct sigv4_request *req, struct sigv4_result *out)
{
	int ret;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!valid_input(signer, req))
		return -EINVAL;

	ret = build_canonical_request(signer, req, out);
	if (ret)
		goto out_free_result;
	ret = build_string_to_sign(signer, req, out);
	if (ret)
		goto out_free_result;
	ret = build_signature(signer, req, out);
	if (ret)
		goto out_free_result;
	ret = build_authorization(signer, req, out);
	if (ret)
		goto out_free_result;
	return 0;

out_free_result:
	sigv4_result_free(out);
	return ret;
}

void sigv4_result_free(struct sigv4_result *res)
{
	if (!res)
		return;
	free(res->canonical_request);
	free(res->string_to_sign);
	free(res->signature);
	free(res->authorization);
	free(res->signed_headers);
	memset(res, 0, sizeof(*res));
}

/* ---------------------------------------------------------------- */
/* Dates.                                                             */

#define SECS_PER_DAY	86400LL
#define MIN_TIME	(-62167219200LL)	/* 0000-01-01T00:00:00Z */
#define MAX_TIME	253402300799LL		/* 9999-12-31T23:59:59Z */

static void put_digits(char *out, long long v, int width)
{
	while (width--) {
		out[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * Proleptic Gregorian calendar from days since 1970-01-01 (H. Hinnant,
 * "chrono-compatible low-level date algorithms"); no libc, no TZ.
 * Times outside years 0000..9999 are clamped to that range.
 */
void sigv4_format_date(long long t, char *out)
{
	long long days, secs, era, doe, yoe, doy, mp, y, m, d;

	if (t < MIN_TIME)
		t = MIN_TIME;
	if (t > MAX_TIME)
		t = MAX_TIME;
	days = t / SECS_PER_DAY;
	secs = t % SECS_PER_DAY;
	if (secs < 0) {
		secs += SECS_PER_DAY;
		days--;
	}

	days += 719468;			/* shift epoch to 0000-03-01 */
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);

	put_digits(out, y, 4);
	put_digits(out + 4, m, 2);
	put_digits(out + 6, d, 2);
	out[8] = 'T';
	put_digits(out + 9, secs / 3600, 2);
	put_digits(out + 11, secs / 60 % 60, 2);
	put_digits(out + 13, secs % 60, 2);
	out[15] = 'Z';
	out[16] = '\0';
}
