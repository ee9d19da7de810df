// SPDX-License-Identifier: GPL-2.0
/*
 * What s3f.ko accepts from its helper and from S3.  Pure functions,
 * tested under KUnit (trust_test.c).
 *
 * The helper is a root daemon, but its replies carry what anyone who can
 * write the bucket put there (keys, ETags, s3fs metadata), and a helper
 * bug must cost one request, not the kernel's integrity.  So every reply
 * field is checked before use: an error code must be one the file system
 * can return (anything else is EIO), an ETag must be a short printable
 * token, a conflict key must name a sibling of the key committed, and a
 * mode from S3 never carries set-id bits unless the admin mounted with
 * setid=keep (Documentation/threat-model.md).
 */
#include <linux/errno.h>
#include <linux/stat.h>
#include <linux/string.h>
#include <linux/types.h>

#include "s3f.h"

/*
 * The error codes a helper may answer with: what S3 and the network
 * produce, mapped by s3fd (helper/http.c), and what the VFS expects of a
 * file system.  Others, kernel-internal ones (ERESTARTSYS, EIOCBQUEUED)
 * included, become EIO.
 */
static const u16 s3f_reply_errnos[] = {
	EPERM, ENOENT, EIO, E2BIG, ENOMEM, EACCES, EBUSY, EEXIST, ENOTDIR,
	EISDIR, EINVAL, EFBIG, ENOSPC, EROFS, ERANGE, ENAMETOOLONG, ENOTEMPTY,
	EPROTO, EOPNOTSUPP, ENOTCONN, ETIMEDOUT, ECONNREFUSED, EHOSTUNREACH,
	ENETUNREACH, ECONNRESET, ESTALE, EDQUOT, ECANCELED, EAGAIN, ENOKEY,
	EKEYEXPIRED, EKEYREJECTED, EREMOTEIO,
};

/* 0 or -errno for the helper's ERRNO attribute (a positive errno). */
int s3f_reply_errno(u32 err)
{
	size_t i;

	if (!err)
		return 0;
	for (i = 0; i < ARRAY_SIZE(s3f_reply_errnos); i++)
		if (err == s3f_reply_errnos[i])
			return -err;
	return -EIO;
}

/*
 * An ETag as s3fd passes it on (quotes stripped): 1 to S3F_ETAG_MAX - 1
 * printable ASCII characters, no space, no quote.
 */
bool s3f_etag_valid(const char *etag)
{
	size_t i;

	for (i = 0; etag[i]; i++) {
		if (i >= S3F_ETAG_MAX - 1)
			return false;
		if (etag[i] <= ' ' || etag[i] > '~' || etag[i] == '"')
			return false;
	}
	return i > 0;
}

/*
 * The key a conflicting commit of @key was written under: in the same
 * directory as @key, a valid file name there, and not @key itself.
 */
bool s3f_conflict_key_valid(const char *key, const char *conflict)
{
	const char *slash = strrchr(key, '/');
	size_t dlen = slash ? slash - key + 1 : 0;
	size_t clen = strlen(conflict);

	if (clen >= S3F_MAX_KEY_LEN || clen <= dlen ||
	    strncmp(key, conflict, dlen) || !strcmp(key, conflict))
		return false;
	return s3f_name_valid(conflict + dlen, clen - dlen);
}

/*
 * The mode a file or directory shows, from what S3 says of it: its
 * type (@is_dir), and the s3fs-fuse mode (@meta_mode) when it has
 * metadata, else the mount's default permission bits (@dflt).  An
 * object's type may come from metadata (s3fs keeps it there): a
 * symbolic link, a FIFO, a socket or a device node (which the
 * superblock's SB_I_NODEV keeps anyone from opening); set-id and sticky
 * bits only with @keep_setid (setid=keep).
 */
umode_t s3f_trusted_mode(bool is_dir, bool has_meta, u32 meta_mode,
			 umode_t dflt, bool keep_setid)
{
	umode_t fmt = is_dir ? S_IFDIR : S_IFREG;
	umode_t perm = dflt & 07777;

	if (has_meta) {
		switch (is_dir ? 0 : meta_mode & S_IFMT) {
		case S_IFLNK:
		case S_IFIFO:
		case S_IFSOCK:
		case S_IFCHR:
		case S_IFBLK:
			fmt = meta_mode & S_IFMT;
			break;
		}
		perm = meta_mode & 07777;
	}
	if (!keep_setid)
		perm &= 0777;
	return fmt | perm;
}
