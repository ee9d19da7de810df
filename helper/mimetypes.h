/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Content-Type of a new object, from its key's extension and the
 * system's /etc/mime.types, as s3fs-fuse sets it: buckets served over
 * HTTP depend on it.
 */
#ifndef S3F_MIMETYPES_H
#define S3F_MIMETYPES_H

#define MIME_DEFAULT	"application/octet-stream"

/*
 * The type for @key ("dir/name.ext": the extension of its last
 * component, any case), or MIME_DEFAULT.  Loads /etc/mime.types on first
 * use; the table never changes after that.  Never NULL.
 */
const char *mime_type_for(const char *key);

/* Tests: load this file instead (before the first mime_type_for). */
int mime_types_load(const char *path);

#endif /* S3F_MIMETYPES_H */
