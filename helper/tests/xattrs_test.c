// SPDX-License-Identifier: GPL-2.0
/* s3fs-fuse's x-amz-meta-xattr header <-> S3F_ATTR_XATTRS records (helper/xattrs.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "xattrs.h"

/* Append one record to @buf at *@n. */
static void rec(unsigned char *buf, size_t *n, const char *name, const void *v, uint16_t vlen)
{
	buf[*n] = (unsigned char)strlen(name);
	memcpy(buf + *n + 1, &vlen, 2);
	memcpy(buf + *n + 3, name, strlen(name));
	memcpy(buf + *n + 3 + strlen(name), v, vlen);
	*n += 3 + strlen(name) + vlen;
}

int main(void)
{
	unsigned char recs[S3F_XATTR_MAX], out[S3F_XATTR_MAX], bin[256];
	char hdr[S3F_XATTR_HDR_MAX + 1];
	size_t n = 0, len = 0;
	int err, i;

	/* what s3fs-fuse writes for user.foo=bar */
	err = xattrs_decode("%7B%22user.foo%22%3A%22YmFy%22%7D", out, &len);
	rec(recs, &n, "user.foo", "bar", 3);
	CHECK("xattrs: decode s3fs-fuse's header", !err && len == n && !memcmp(out, recs, n),
	      "err %d len %zu", err, len);
	err = xattrs_encode(recs, n, hdr, sizeof(hdr));
	CHECK("xattrs: encode it the same way",
	      !err && !strcmp(hdr, "%7B%22user.foo%22%3A%22YmFy%22%7D"), "err %d: %s", err, hdr);

	/* a round trip: several, binary values, every padding length, empty */
	for (i = 0; i < 256; i++)
		bin[i] = (unsigned char)i;
	n = 0;
	rec(recs, &n, "user.bin", bin, 256);
	rec(recs, &n, "user.one", "x", 1);
	rec(recs, &n, "user.two", "xy", 2);
	rec(recs, &n, "user.empty", "", 0);
	rec(recs, &n, "system.posix_acl_access", "\x02\0\0\0", 4);
	err = xattrs_encode(recs, n, hdr, sizeof(hdr));
	CHECK("xattrs: encode five", !err, "err %d", err);
	err = xattrs_decode(hdr, out, &len);
	CHECK("xattrs: and decode them back byte for byte", !err && len == n && !memcmp(out, recs, n),
	      "err %d len %zu want %zu", err, len, n);

	CHECK("xattrs: {} is no attributes", !xattrs_decode("%7B%7D", out, &len) && len == 0,
	      "len %zu", len);
	CHECK("xattrs: no records encode as \"\"", !xattrs_encode(recs, 0, hdr, sizeof(hdr)) && !hdr[0],
	      "\"%s\"", hdr);
	CHECK("xattrs: malformed JSON is refused", xattrs_decode("%7B%22a%22%3A%7D", out, &len) == -EINVAL,
	      "accepted");
	CHECK("xattrs: bad base64 is refused", xattrs_decode("%7B%22a%22%3A%22Y%22%7D", out, &len) == -EINVAL,
	      "accepted");
	CHECK("xattrs: a bad escape is refused", xattrs_decode("%7B%2", out, &len) == -EINVAL, "accepted");
	CHECK("xattrs: an encoded NUL is refused", xattrs_decode("%7B%22a%00%22%3A%22%22%7D", out, &len) == -EINVAL,
	      "accepted");
	CHECK("xattrs: trailing bytes are refused",
	      xattrs_decode("%7B%22a%22%3A%22YmFy%22%7Dx", out, &len) == -EINVAL, "accepted");
	CHECK("xattrs: a header too small for them: E2BIG",
	      xattrs_encode(recs, n, hdr, 16) == -E2BIG, "no error");
	CHECK_EXIT();
}
