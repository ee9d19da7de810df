// SPDX-License-Identifier: GPL-2.0
/*
 * S3 XML bodies <-> C structs, with libxml2.  Pure: no I/O.
 *
 * Safety: documents are read with XML_PARSE_NONET and without
 * XML_PARSE_NOENT or XML_PARSE_DTDLOAD, and a document that carries a
 * DTD is rejected outright, so nothing but the predefined entities and
 * character references is ever expanded.  Text is gathered from text
 * and CDATA nodes only.  Elements are matched on their local name: S3
 * uses the namespace http://s3.amazonaws.com/doc/2006-03-01/ but some
 * servers omit it.
 *
 * Threads: xmlInitParser() runs once (pthread_once).  Parse errors are
 * kept off stderr by XML_PARSE_NOERROR | XML_PARSE_NOWARNING, which act
 * on the parser context of that one parse only.  The few errors
 * libxml2 raises without a parser context (character conversion, out of
 * memory) go to the generic error handler, which libxml2 keeps per
 * thread ("for multi-threaded applications, this must be set separately
 * for each thread"): each thread installs a silent one the first time
 * it parses.  Nothing process-wide is changed after the first call.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "xml.h"

#define S3_XML_NS	"http://s3.amazonaws.com/doc/2006-03-01/"
#define S3_XML_DECL	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define XML_READ_OPTS	(XML_PARSE_NONET | XML_PARSE_NOERROR | \
			 XML_PARSE_NOWARNING)

#define S3_PARTS_MAX	10000	/* parts in one multipart upload */
#define S3_DELETE_MAX	1000	/* keys in one DeleteObjects request */

/* ---- character helpers (locale independent) ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *skip_space(const char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode s in place.  With plus_space, '+' means ' ' as in
 * application/x-www-form-urlencoded, which is what S3 sends for
 * EncodingType=url (a literal '+' arrives as %2B).  %00 is refused: the
 * result is a C string.
 */
static int pct_decode(char *s, bool plus_space)
{
	char *r, *w = s;
	int hi, lo;

	for (r = s; *r; r++) {
		if (*r == '%') {
			hi = hex_value(r[1]);
			if (hi < 0)
				return -EINVAL;
			lo = hex_value(r[2]);
			if (lo < 0 || (hi | lo) == 0)
				return -EINVAL;
			*w++ = (char)(hi << 4 | lo);
			r += 2;
		} else if (plus_space && *r == '+') {
			*w++ = ' ';
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return 0;
}

int s3_url_decode(char *s)
{
	if (!s)
		return -EINVAL;
	return pct_decode(s, false);
}

/* ---- reading a document ---- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static __thread bool xml_thread_ready;

static void xml_discard(void *ctx, const char *msg, ...)
{
}

static void xml_init_once(void)
{
	xmlInitParser();
}

static void xml_setup(void)
{
	pthread_once(&xml_once, xml_init_once);
	if (!xml_thread_ready) {
		xmlSetGenericErrorFunc(NULL, xml_discard);
		xml_thread_ready = true;
	}
}

/*
 * Parse body into *docp.  Leading white space is skipped: S3 sends
 * spaces to keep the connection alive while it works on a Complete or
 * Copy, before the XML declaration.
 */
static int xml_read(const char *body, size_t len, xmlDoc **docp)
{
	const xmlError *err;
	xmlDoc *doc;

	*docp = NULL;
	xml_setup();
	if (!body)
		return -EBADMSG;
	while (len && is_space(*body)) {
		body++;
		len--;
	}
	if (!len || len > INT_MAX)
		return -EBADMSG;

	xmlResetLastError();
	doc = xmlReadMemory(body, (int)len, NULL, NULL, XML_READ_OPTS);
	if (!doc) {
		err = xmlGetLastError();
		if (err && err->code == XML_ERR_NO_MEMORY)
			return -ENOMEM;
		return -EBADMSG;
	}
	if (doc->intSubset || doc->extSubset || !xmlDocGetRootElement(doc)) {
		xmlFreeDoc(doc);
		return -EBADMSG;
	}
	*docp = doc;
	return 0;
}

static bool xml_is(const xmlNode *node, const char *name)
{
	return node && node->type == XML_ELEMENT_NODE &&
	       !strcmp((const char *)node->name, name);
}

/* Concatenated text and CDATA children of node, malloc'd. */
static int xml_text(const xmlNode *node, char **out)
{
	const xmlNode *c;
	size_t len = 0, n;
	char *s;

	for (c = node->children; c; c = c->next) {
		switch (c->type) {
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (c->content)
				len += strlen((const char *)c->content);
			break;
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			break;
		default:
			return -EBADMSG;
		}
	}
	s = malloc(len + 1);
	if (!s)
		return -ENOMEM;
	len = 0;
	for (c = node->children; c; c = c->next) {
		if ((c->type != XML_TEXT_NODE &&
		     c->type != XML_CDATA_SECTION_NODE) || !c->content)
			continue;
		n = strlen((const char *)c->content);
		memcpy(s + len, c->content, n);
		len += n;
	}
	s[len] = '\0';
	*out = s;
	return 0;
}

/*
 * A leaf element wanted under some parent.  xml_fields() fills text for
 * each one present (a repeated one is -EBADMSG); others are ignored.
 */
struct xml_field {
	const char *name;
	char *text;
};

static int xml_fields(const xmlNode *parent, struct xml_field *f, size_t n)
{
	const xmlNode *c;
	size_t i;
	int ret;

	for (c = parent->children; c; c = c->next) {
		for (i = 0; i < n; i++) {
			if (!xml_is(c, f[i].name))
				continue;
			if (f[i].text)
				return -EBADMSG;
			ret = xml_text(c, &f[i].text);
			if (ret)
				return ret;
			break;
		}
	}
	return 0;
}

static void xml_fields_free(struct xml_field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(f[i].text);
		f[i].text = NULL;
	}
}

static size_t xml_count(const xmlNode *parent, const char *name)
{
	const xmlNode *c;
	size_t n = 0;

	for (c = parent->children; c; c = c->next)
		n += xml_is(c, name);
	return n;
}

/* ---- values ---- */

/* Decimal, no sign; at most INT64_MAX so it fits an loff_t. */
static int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int d;
	const char *p = skip_space(s);

	if (!is_digit(*p))
		return -EBADMSG;
	for (; is_digit(*p); p++) {
		d = (unsigned int)(*p - '0');
		if (v > ((uint64_t)INT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	if (*skip_space(p))
		return -EBADMSG;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	const char *p = skip_space(s);
	size_t n = strlen(p);

	while (n && is_space(p[n - 1]))
		n--;
	if (n == 4 && !strncasecmp(p, "true", 4))
		*out = true;
	else if (n == 5 && !strncasecmp(p, "false", 5))
		*out = false;
	else
		return -EBADMSG;
	return 0;
}

/* Exactly ndigits decimal digits; stops at the first non-digit. */
static int parse_digits(const char **p, int ndigits, int *out)
{
	int i, v = 0;

	for (i = 0; i < ndigits; i++) {
		if (!is_digit((*p)[i]))
			return -EBADMSG;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += ndigits;
	*out = v;
	return 0;
}

static int days_in_month(int year, int mon)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return days[mon - 1] + (mon == 2 && leap);
}

/* ".123456789" (any number of digits, nanoseconds kept) */
static int parse_fraction(const char **p, long *nsec)
{
	long scale = 100000000;

	*nsec = 0;
	if (**p != '.' && **p != ',')
		return 0;
	(*p)++;
	if (!is_digit(**p))
		return -EBADMSG;
	for (; is_digit(**p); (*p)++) {
		*nsec += (**p - '0') * scale;
		scale /= 10;
	}
	return 0;
}

/* "Z", "+hh:mm", "-hhmm" or nothing (UTC) -> seconds east of UTC */
static int parse_zone(const char **p, long *off)
{
	int sign, hh, mm;

	*off = 0;
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return 0;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (parse_digits(p, 2, &hh))
		return -EBADMSG;
	if (**p == ':')
		(*p)++;
	if (parse_digits(p, 2, &mm) || hh > 23 || mm > 59)
		return -EBADMSG;
	*off = sign * (hh * 3600L + mm * 60L);
	return 0;
}

/* "2009-10-12" */
static int parse_date(const char **p, struct tm *tm)
{
	int year, mon, day;

	if (parse_digits(p, 4, &year) || *(*p)++ != '-' ||
	    parse_digits(p, 2, &mon) || *(*p)++ != '-' ||
	    parse_digits(p, 2, &day))
		return -EBADMSG;
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon))
		return -EBADMSG;
	tm->tm_year = year - 1900;
	tm->tm_mon = mon - 1;
	tm->tm_mday = day;
	return 0;
}

/* "17:50:30" */
static int parse_clock(const char **p, struct tm *tm)
{
	if (parse_digits(p, 2, &tm->tm_hour) || *(*p)++ != ':' ||
	    parse_digits(p, 2, &tm->tm_min) || *(*p)++ != ':' ||
	    parse_digits(p, 2, &tm->tm_sec))
		return -EBADMSG;
	if (tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60)
		return -EBADMSG;
	return 0;
}

/* ISO 8601 "2009-10-12T17:50:30.000Z" */
static int parse_time(const char *s, struct timespec *ts)
{
	const char *p = skip_space(s);
	struct tm tm = { 0 };
	long nsec, off;

	if (parse_date(&p, &tm))
		return -EBADMSG;
	if (*p != 'T' && *p != 't')
		return -EBADMSG;
	p++;
	if (parse_clock(&p, &tm) || parse_fraction(&p, &nsec) ||
	    parse_zone(&p, &off) || *skip_space(p))
		return -EBADMSG;
	ts->tv_sec = timegm(&tm) - off;
	ts->tv_nsec = nsec;
	return 0;
}

/* Strip white space and one pair of surrounding quotes; may be empty. */
static int etag_copy(char etag[S3_ETAG_MAX], const char *src)
{
	const char *s = skip_space(src);
	size_t n = strlen(s);

	while (n && is_space(s[n - 1]))
		n--;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	if (n >= S3_ETAG_MAX)
		return -EBADMSG;
	memcpy(etag, s, n);
	etag[n] = '\0';
	return 0;
}

/* A Key or Prefix: decoded when url, never empty. */
static int name_decode(char *s, bool url)
{
	if (url && pct_decode(s, true))
		return -EBADMSG;
	return *s ? 0 : -EBADMSG;
}

/* ---- ListObjectsV2 ---- */

static int list_entry_parse(const xmlNode *node, bool url,
			    struct s3_list_entry *e)
{
	enum { F_KEY, F_SIZE, F_ETAG, F_MTIME, F_NR };
	struct xml_field f[F_NR] = {
		[F_KEY] = { .name = "Key" },
		[F_SIZE] = { .name = "Size" },
		[F_ETAG] = { .name = "ETag" },
		[F_MTIME] = { .name = "LastModified" },
	};
	int ret;

	ret = xml_fields(node, f, F_NR);
	if (ret)
		goto free_fields;
	ret = -EBADMSG;
	if (!f[F_KEY].text || !f[F_SIZE].text)
		goto free_fields;
	if (parse_size(f[F_SIZE].text, &e->size))
		goto free_fields;
	if (f[F_ETAG].text && etag_copy(e->etag, f[F_ETAG].text))
		goto free_fields;
	if (f[F_MTIME].text && parse_time(f[F_MTIME].text, &e->last_modified))
		goto free_fields;
	if (name_decode(f[F_KEY].text, url))
		goto free_fields;
	e->key = f[F_KEY].text;
	f[F_KEY].text = NULL;
	ret = 0;
free_fields:
	xml_fields_free(f, F_NR);
	return ret;
}

static int list_prefix_parse(const xmlNode *node, bool url, char **prefix)
{
	struct xml_field f = { .name = "Prefix" };
	int ret;

	ret = xml_fields(node, &f, 1);
	if (!ret && !f.text)
		ret = -EBADMSG;
	if (!ret)
		ret = name_decode(f.text, url);
	if (ret) {
		free(f.text);
		return ret;
	}
	*prefix = f.text;
	return 0;
}

/* Allocate room for every Contents and CommonPrefixes, then fill it. */
static int list_parse_items(const xmlNode *root, bool url,
			    struct s3_list_result *out)
{
	size_t nent = xml_count(root, "Contents");
	size_t npre = xml_count(root, "CommonPrefixes");
	const xmlNode *c;
	int ret;

	if (nent) {
		out->entries = calloc(nent, sizeof(*out->entries));
		if (!out->entries)
			return -ENOMEM;
	}
	if (npre) {
		out->prefixes = calloc(npre, sizeof(*out->prefixes));
		if (!out->prefixes)
			return -ENOMEM;
	}
	for (c = root->children; c; c = c->next) {
		if (xml_is(c, "Contents")) {
			ret = list_entry_parse(c, url,
					       &out->entries[out->nentries]);
			if (ret)
				return ret;
			out->nentries++;
		} else if (xml_is(c, "CommonPrefixes")) {
			ret = list_prefix_parse(c, url,
						&out->prefixes[out->nprefixes]);
			if (ret)
				return ret;
			out->nprefixes++;
		}
	}
	return 0;
}

static int list_parse_root(const xmlNode *root, struct s3_list_result *out)
{
	enum { F_TRUNC, F_TOKEN, F_ENC, F_NR };
	struct xml_field f[F_NR] = {
		[F_TRUNC] = { .name = "IsTruncated" },
		[F_TOKEN] = { .name = "NextContinuationToken" },
		[F_ENC] = { .name = "EncodingType" },
	};
	bool url = false;
	int ret;

	ret = xml_fields(root, f, F_NR);
	if (ret)
		goto free_fields;
	ret = -EBADMSG;
	if (f[F_ENC].text && *f[F_ENC].text) {
		if (strcasecmp(f[F_ENC].text, "url"))
			goto free_fields;
		url = true;
	}
	if (f[F_TRUNC].text && parse_bool(f[F_TRUNC].text, &out->truncated))
		goto free_fields;
	/* The token only means something when the listing goes on. */
	if (out->truncated) {
		if (!f[F_TOKEN].text || !*f[F_TOKEN].text)
			goto free_fields;
		out->next_token = f[F_TOKEN].text;
		f[F_TOKEN].text = NULL;
	}
	ret = list_parse_items(root, url, out);
free_fields:
	xml_fields_free(f, F_NR);
	return ret;
}

/*
 * Read a document whose root must be the element @name and hand that
 * root to @parse.  -EBADMSG for any other root.
 */
static int parse_document(const char *body, size_t len, const char *name,
			  int (*parse)(const xmlNode *root, void *out), void *out)
{
	xmlDoc *doc;
	int ret;

	ret = xml_read(body, len, &doc);
	if (ret)
		return ret;
	if (xml_is(xmlDocGetRootElement(doc), name))
		ret = parse(xmlDocGetRootElement(doc), out);
	else
		ret = -EBADMSG;
	xmlFreeDoc(doc);
	return ret;
}

static int list_parse_document(const xmlNode *root, void *out)
{
	return list_parse_root(root, out);
}

int s3_xml_parse_list(const char *body, size_t len, struct s3_list_result *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_document(body, len, "ListBucketResult", list_parse_document, out);
	if (ret)
		s3_list_result_free(out);
	return ret;
}

void s3_list_result_free(struct s3_list_result *res)
{
	size_t i;

	if (!res)
		return;
	for (i = 0; i < res->nentries; i++)
		free(res->entries[i].key);
	free(res->entries);
	for (i = 0; i < res->nprefixes; i++)
		free(res->prefixes[i]);
	free(res->prefixes);
	free(res->next_token);
	memset(res, 0, sizeof(*res));
}

/* ---- Error ---- */

static int error_parse(const xmlNode *root, struct s3_error_info *out)
{
	enum { F_CODE, F_MSG, F_REQID, F_RES, F_NR };
	struct xml_field f[F_NR] = {
		[F_CODE] = { .name = "Code" },
		[F_MSG] = { .name = "Message" },
		[F_REQID] = { .name = "RequestId" },
		[F_RES] = { .name = "Resource" },
	};
	int ret;

	ret = xml_fields(root, f, F_NR);
	if (ret) {
		xml_fields_free(f, F_NR);
		return ret;
	}
	out->code = f[F_CODE].text;
	out->message = f[F_MSG].text;
	out->request_id = f[F_REQID].text;
	out->resource = f[F_RES].text;
	return 0;
}

static int error_parse_document(const xmlNode *root, void *out)
{
	return error_parse(root, out);
}

int s3_xml_parse_error(const char *body, size_t len, struct s3_error_info *out)
{
	memset(out, 0, sizeof(*out));
	return parse_document(body, len, "Error", error_parse_document, out);
}

void s3_error_info_free(struct s3_error_info *err)
{
	if (!err)
		return;
	free(err->code);
	free(err->message);
	free(err->request_id);
	free(err->resource);
	memset(err, 0, sizeof(*err));
}

/* An <Error> where a result was expected (a 200 that failed). */
static int remote_error(const xmlNode *root, struct s3_error_info *err)
{
	int ret;

	if (!err)
		return -EREMOTEIO;
	ret = error_parse(root, err);
	return ret ? ret : -EREMOTEIO;
}

/* ---- results holding one ETag or UploadId ---- */

/*
 * allow_empty: RGW answers CompleteMultipartUpload with an empty ETag
 * element; the caller then asks the object for it.
 */
static int etag_field(const xmlNode *root, char etag[S3_ETAG_MAX],
		      bool allow_empty)
{
	struct xml_field f = { .name = "ETag" };
	int ret;

	ret = xml_fields(root, &f, 1);
	if (!ret && !f.text && allow_empty)
		return 0;
	if (!ret && !f.text)
		ret = -EBADMSG;
	if (!ret)
		ret = etag_copy(etag, f.text);
	if (!ret && !etag[0] && !allow_empty)
		ret = -EBADMSG;
	if (ret)
		etag[0] = '\0';
	free(f.text);
	return ret;
}

void s3_uploads_free(struct s3_upload *u, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(u[i].key);
		free(u[i].upload_id);
	}
	free(u);
}

int s3_xml_parse_uploads(const char *body, size_t len, struct s3_upload **out,
			 size_t *n)
{
	const xmlNode *root, *c;
	struct s3_upload *u = NULL;
	size_t count = 0, cap;
	xmlDoc *doc;
	int ret;

	*out = NULL;
	*n = 0;
	ret = xml_read(body, len, &doc);
	if (ret)
		return ret;
	root = xmlDocGetRootElement(doc);
	ret = -EBADMSG;
	if (!xml_is(root, "ListMultipartUploadsResult"))
		goto out_free;
	cap = xml_count(root, "Upload");
	ret = -ENOMEM;
	u = calloc(cap ? cap : 1, sizeof(*u));
	if (!u)
		goto out_free;
	ret = 0;
	for (c = root->children; c && !ret; c = c->next) {
		struct xml_field f[3] = {
			{ .name = "Key" }, { .name = "UploadId" }, { .name = "Initiated" },
		};

		if (!xml_is(c, "Upload"))
			continue;
		ret = xml_fields(c, f, 3);
		if (!ret && (!f[0].text || !f[1].text || !f[2].text ||
			     parse_time(f[2].text, &u[count].initiated)))
			ret = -EBADMSG;
		if (!ret) {
			u[count].key = f[0].text;
			u[count].upload_id = f[1].text;
			f[0].text = f[1].text = NULL;
			count++;
		}
		xml_fields_free(f, 3);
	}
out_free:
	xmlFreeDoc(doc);
	if (ret) {
		s3_uploads_free(u, count);
		return ret;
	}
	*out = u;
	*n = count;
	return 0;
}

int s3_xml_parse_initiate(const char *body, size_t len, char **upload_id)
{
	struct xml_field f = { .name = "UploadId" };
	const xmlNode *root;
	xmlDoc *doc;
	int ret;

	*upload_id = NULL;
	ret = xml_read(body, len, &doc);
	if (ret)
		return ret;
	root = xmlDocGetRootElement(doc);
	ret = -EBADMSG;
	if (xml_is(root, "InitiateMultipartUploadResult"))
		ret = xml_fields(root, &f, 1);
	if (!ret && (!f.text || !*f.text))
		ret = -EBADMSG;
	xmlFreeDoc(doc);
	if (ret) {
		free(f.text);
		return ret;
	}
	*upload_id = f.text;
	return 0;
}

int s3_xml_parse_complete(const char *body, size_t len,
			  char etag[S3_ETAG_MAX], struct s3_error_info *err)
{
	const xmlNode *root;
	xmlDoc *doc;
	int ret;

	etag[0] = '\0';
	if (err)
		memset(err, 0, sizeof(*err));
	ret = xml_read(body, len, &doc);
	if (ret)
		return ret;
	root = xmlDocGetRootElement(doc);
	if (xml_is(root, "CompleteMultipartUploadResult"))
		ret = etag_field(root, etag, true);
	else if (xml_is(root, "Error"))
		ret = remote_error(root, err);
	else
		ret = -EBADMSG;
	xmlFreeDoc(doc);
	return ret;
}

int s3_xml_parse_copy(const char *body, size_t len, char etag[S3_ETAG_MAX])
{
	const xmlNode *root;
	xmlDoc *doc;
	int ret;

	etag[0] = '\0';
	ret = xml_read(body, len, &doc);
	if (ret)
		return ret;
	root = xmlDocGetRootElement(doc);
	if (xml_is(root, "CopyObjectResult") || xml_is(root, "CopyPartResult"))
		ret = etag_field(root, etag, false);
	else if (xml_is(root, "Error"))
		ret = -EREMOTEIO;
	else
		ret = -EBADMSG;
	xmlFreeDoc(doc);
	return ret;
}

/* ---- building request bodies ---- */

struct sbuf {
	char *buf;
	size_t len;
	size_t cap;
	bool nomem;
};

static void sb_add(struct sbuf *sb, const char *s, size_t n)
{
	size_t cap;
	char *buf;

	if (sb->nomem)
		return;
	if (n >= sb->cap - sb->len) {
		cap = sb->cap ? sb->cap : 512;
		while (n >= cap - sb->len)
			cap *= 2;
		buf = realloc(sb->buf, cap);
		if (!buf) {
			sb->nomem = true;
			return;
		}
		sb->buf = buf;
		sb->cap = cap;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

static void sb_str(struct sbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

/*
 * Text content, escaped.  \t \n \r become character references so they
 * survive end-of-line normalisation (the key must come back unchanged).
 */
static void sb_escaped(struct sbuf *sb, const char *s)
{
	const char *ent;
	size_t run;

	while (*s) {
		run = strcspn(s, "&<>\"'\t\n\r");
		sb_add(sb, s, run);
		s += run;
		switch (*s) {
		case '\0':
			return;
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&apos;";
			break;
		case '\t':
			ent = "&#9;";
			break;
		case '\n':
			ent = "&#10;";
			break;
		default:
			ent = "&#13;";
			break;
		}
		sb_str(sb, ent);
		s++;
	}
}

static char *sb_finish(struct sbuf *sb)
{
	if (sb->nomem || !sb->buf) {
		free(sb->buf);
		errno = ENOMEM;
		return NULL;
	}
	return sb->buf;
}

/*
 * Can s be carried in XML 1.0 text: valid UTF-8 (no overlong form, no
 * surrogate) of XML Chars only, i.e. no C0 control but \t \n \r and no
 * U+FFFE / U+FFFF.
 */
static bool xml_str_ok(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp, min;
	int i, n;

	while (*s) {
		if (*s < 0x80) {
			if (*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
				return false;
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) {
			cp = *s & 0x1f;
			n = 1;
			min = 0x80;
		} else if ((*s & 0xf0) == 0xe0) {
			cp = *s & 0x0f;
			n = 2;
			min = 0x800;
		} else if ((*s & 0xf8) == 0xf0) {
			cp = *s & 0x07;
			n = 3;
			min = 0x10000;
		} else {
			return false;
		}
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    cp == 0xfffe || cp == 0xffff)
			return false;
		s += n + 1;
	}
	return true;
}

static bool parts_ok(const struct s3_part *parts, size_t nparts)
{
	size_t i, n;

	if (!parts || !nparts || nparts > S3_PARTS_MAX)
		return false;
	for (i = 0; i < nparts; i++) {
		if (parts[i].number < 1 || parts[i].number > S3_PARTS_MAX)
			return false;
		if (i && parts[i].number <= parts[i - 1].number)
			return false;
		n = strnlen(parts[i].etag, S3_ETAG_MAX);
		if (!n || n == S3_ETAG_MAX || !xml_str_ok(parts[i].etag))
			return false;
	}
	return true;
}

char *s3_xml_build_complete(const struct s3_part *parts, size_t nparts)
{
	struct sbuf sb = { 0 };
	char num[16];
	size_t i;

	if (!parts_ok(parts, nparts)) {
		errno = EINVAL;
		return NULL;
	}
	sb_str(&sb, S3_XML_DECL
	       "<CompleteMultipartUpload xmlns=\"" S3_XML_NS "\">");
	for (i = 0; i < nparts; i++) {
		snprintf(num, sizeof(num), "%d", parts[i].number);
		sb_str(&sb, "<Part><PartNumber>");
		sb_str(&sb, num);
		sb_str(&sb, "</PartNumber><ETag>\"");
		sb_escaped(&sb, parts[i].etag);
		sb_str(&sb, "\"</ETag></Part>");
	}
	sb_str(&sb, "</CompleteMultipartUpload>");
	return sb_finish(&sb);
}

static bool keys_ok(const char *const *keys, size_t nkeys)
{
	size_t i;

	if (!keys || !nkeys || nkeys > S3_DELETE_MAX)
		return false;
	for (i = 0; i < nkeys; i++) {
		if (!keys[i] || !*keys[i] || !xml_str_ok(keys[i]))
			return false;
	}
	return true;
}

char *s3_xml_build_delete(const char *const *keys, size_t nkeys, bool quiet)
{
	struct sbuf sb = { 0 };
	size_t i;

	if (!keys_ok(keys, nkeys)) {
		errno = EINVAL;
		return NULL;
	}
	sb_str(&sb, S3_XML_DECL "<Delete xmlns=\"" S3_XML_NS "\">");
	if (quiet)
		sb_str(&sb, "<Quiet>true</Quiet>");
	for (i = 0; i < nkeys; i++) {
		sb_str(&sb, "<Object><Key>");
		sb_escaped(&sb, keys[i]);
		sb_str(&sb, "</Key></Object>");
	}
	sb_str(&sb, "</Delete>");
	return sb_finish(&sb);
}
