/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s3fs-fuse's x-amz-meta-xattr header <-> the kernel's S3F_ATTR_XATTRS
 * records (uapi/s3f.h): the header is {"name":"base64 value",...},
 * percent-encoded.
 */
#ifndef S3F_XATTRS_H
#define S3F_XATTRS_H

#include <stddef.h>

#include "s3f.h"

/*
 * Decode header @hdr into records in @out (S3F_XATTR_MAX bytes); *@len
 * gets their size.  -EINVAL for a malformed header, -E2BIG when the
 * records would not fit.
 */
int xattrs_decode(const char *hdr, unsigned char *out, size_t *len);

/*
 * Encode @len bytes of records into a header in @out (@cap bytes, NUL
 * terminated).  "" for no records.  -EINVAL for malformed records,
 * -E2BIG when @cap is too small.
 */
int xattrs_encode(const unsigned char *recs, size_t len, char *out, size_t cap);

#endif /* S3F_XATTRS_H */
