// SPDX-License-Identifier: GPL-2.0
/*
 * s3fs-fuse's extended attribute header.  s3fs-fuse writes
 * x-amz-meta-xattr as the percent-encoding of {"name":"value",...},
 * each value base64; names are the full names ("user.x").  The kernel
 * keeps them as S3F_ATTR_XATTRS records: u8 name length, u16 value
 * length (host order), name, value.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sigv4.h"
#include "xattrs.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode @s into a new string; NULL on a bad escape or ENOMEM. */
static char *percent_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		if (*s == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			s += 3;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* The quoted string at *p (after its opening quote); advances past it. */
static int take_quoted(char **p, char **str, size_t *len)
{
	char *s = *p, *end;

	if (*s != '"')
		return -EINVAL;
	end = strchr(s + 1, '"');
	if (!end)
		return -EINVAL;
	*str = s + 1;
	*len = end - (s + 1);
	*p = end + 1;
	return 0;
}

static int b64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
		      size_t *outlen)
{
	int n;

	if (len % 4)
		return -EINVAL;
	if (len / 4 * 3 > cap)
		return -E2BIG;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -EINVAL;
	/* EVP_DecodeBlock counts the padding as bytes */
	if (len && in[len - 1] == '=')
		n--;
	if (len > 1 && in[len - 2] == '=')
		n--;
	*outlen = n;
	return 0;
}

static int add_record(unsigned char *out, size_t *used, const char *name,
		      size_t nlen, const char *b64, size_t blen)
{
	unsigned char value[S3F_XATTR_MAX];
	size_t vlen;
	uint16_t v16;
	int err;

	if (!nlen || nlen > 255 || memchr(name, '\0', nlen))
		return -EINVAL;
	err = b64_decode(b64, blen, value, sizeof(value), &vlen);
	if (err)
		return err;
	if (*used + S3F_XATTR_REC_HDR + nlen + vlen > S3F_XATTR_MAX)
		return -E2BIG;
	out[*used] = (unsigned char)nlen;
	v16 = (uint16_t)vlen;
	memcpy(out + *used + 1, &v16, sizeof(v16));
	memcpy(out + *used + S3F_XATTR_REC_HDR, name, nlen);
	memcpy(out + *used + S3F_XATTR_REC_HDR + nlen, value, vlen);
	*used += S3F_XATTR_REC_HDR + nlen + vlen;
	return 0;
}

int xattrs_decode(const char *hdr, unsigned char *out, size_t *len)
{
	char *json = percent_decode(hdr), *p, *name, *b64;
	size_t nlen, blen;
	int err = -EINVAL;

	*len = 0;
	if (!json)
		return -EINVAL;
	p = json;
	if (*p++ != '{')
		goto out;
	if (*p == '}' && !p[1]) {
		err = 0;
		goto out;
	}
	for (;;) {
		if (take_quoted(&p, &name, &nlen) || *p++ != ':' ||
		    take_quoted(&p, &b64, &blen))
			goto out;
		err = add_record(out, len, name, nlen, b64, blen);
		if (err)
			goto out;
		err = -EINVAL;
		if (*p == '}' && !p[1])
			break;
		if (*p++ != ',')
			goto out;
	}
	err = 0;
out:
	free(json);
	return err;
}

/* Append @n bytes at @s to @out (@cap), at *@used. */
static int put(char *out, size_t cap, size_t *used, const char *s, size_t n)
{
	if (*used + n + 1 > cap)
		return -E2BIG;
	memcpy(out + *used, s, n);
	*used += n;
	out[*used] = '\0';
	return 0;
}

int xattrs_encode(const unsigned char *recs, size_t len, char *out, size_t cap)
{
	char json[2 + S3F_XATTR_MAX * 2 + 8 * 256], b64[S3F_XATTR_MAX * 4 / 3 + 8];
	size_t pos = 0, used = 0;
	char *enc;
	int err;

	if (cap)
		out[0] = '\0';
	if (!len)
		return cap ? 0 : -E2BIG;
	err = put(json, sizeof(json), &used, "{", 1);
	while (!err && pos < len) {
		uint16_t vlen;
		size_t nlen;

		if (pos + S3F_XATTR_REC_HDR > len)
			return -EINVAL;
		nlen = recs[pos];
		memcpy(&vlen, recs + pos + 1, sizeof(vlen));
		if (!nlen || pos + S3F_XATTR_REC_HDR + nlen + vlen > len ||
		    memchr(recs + pos + S3F_XATTR_REC_HDR, '"', nlen))
			return -EINVAL;
		EVP_EncodeBlock((unsigned char *)b64, recs + pos + S3F_XATTR_REC_HDR + nlen,
				vlen);
		err = put(json, sizeof(json), &used, pos ? ",\"" : "\"", pos ? 2 : 1) ?:
		      put(json, sizeof(json), &used,
			  (const char *)recs + pos + S3F_XATTR_REC_HDR, nlen) ?:
		      put(json, sizeof(json), &used, "\":\"", 3) ?:
		      put(json, sizeof(json), &used, b64, strlen(b64)) ?:
		      put(json, sizeof(json), &used, "\"", 1);
		pos += S3F_XATTR_REC_HDR + nlen + vlen;
	}
	if (!err)
		err = put(json, sizeof(json), &used, "}", 1);
	if (err)
		return err;
	enc = sigv4_uri_encode(json, false);
	if (!enc)
		return -ENOMEM;
	used = 0;
	err = put(out, cap, &used, enc, strlen(enc));
	free(enc);
	return err;
}
