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
