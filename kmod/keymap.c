// SPDX-License-Identifier: GPL-2.0
/*
 * Which S3 key components can be file names.
 *
 * A key is split at '/'.  A component becomes a directory entry only if
 * it is a valid Linux file name: not empty (from "//" or a leading '/'),
 * not "." or "..", at most 255 bytes, no NUL.  Keys with other
 * components are skipped (and logged, rate-limited, by the caller); their
 * siblings are listed as usual.
 */
#include <linux/string.h>
#include <linux/types.h>

#include "s3f.h"

bool s3f_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > S3F_MAX_NAME_LEN)
		return false;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return false;
	return !memchr(name, '/', len) && !memchr(name, '\0', len);
}

/* Bucket names: 3-63 of [a-z0-9.-_], as S3 (and s3fs-fuse) accept. */
bool s3f_bucket_valid(const char *b, size_t len)
{
	size_t i;

	if (len < 3 || len > S3F_MAX_BUCKET_LEN)
		return false;
	for (i = 0; i < len; i++)
		/* not islower(): the kernel's ctype is Latin-1 */
		if (!(b[i] >= 'a' && b[i] <= 'z') && !(b[i] >= '0' && b[i] <= '9') &&
		    b[i] != '.' && b[i] != '-' && b[i] != '_')
			return false;
	return true;
}

/*
 * The prefix part of a mount source ("a/b", "a/b/", ""): every component
 * must be a valid file name.  *len is set to the prefix length without
 * trailing slashes.
 */
bool s3f_prefix_valid(const char *p, size_t *len)
{
	size_t plen = strlen(p), n;
	const char *q, *end;

	while (plen && p[plen - 1] == '/')
		plen--;
	*len = plen;
	for (q = p; q < p + plen; q += n + 1) {
		end = memchr(q, '/', p + plen - q);
		n = end ? (size_t)(end - q) : (size_t)(p + plen - q);
		if (!s3f_name_valid(q, n))
			return false;
	}
	return true;
}
