/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Staging files: where the kernel keeps a file's dirty bytes until they
 * are committed.  s3fd creates them (STAGE_OPEN) in its staging
 * directory, or the mount's (S3F_MOUNT_ATTR_STAGING), named
 * "s3f-<mount id>-XXXXXX", mode 0600, and deletes them on STAGE_RELEASE;
 * it never deletes anything else.
 */
#ifndef S3F_HELPER_STAGING_H
#define S3F_HELPER_STAGING_H

#include <stdbool.h>
#include <stdint.h>

#define STAGING_DEFAULT_DIR	"/var/lib/s3f/staging"

/* The directory used when a mount names none (s3fd --staging). */
int staging_set_default(const char *dir);
const char *staging_default(void);
/* A mount's staging directory: its staging= option, else the default. */
const char *staging_dir_of(const char *mount_staging);

/* s3f.ko's superblock magic: staging there would write to itself */
#define STAGING_S3F_MAGIC	0x53334653

/*
 * mkdir -p dir, the last component mode 0700; then staging_trusted().
 * 0 or -errno (-EPERM: refused, the reason logged).
 */
int staging_mkdir(const char *dir);
/*
 * May staged data live in dir?  A directory (not a symbolic link),
 * owned by s3fd's user, mode 0700 (nobody else reads or swaps staging
 * files), not on an s3f mount.  0, or -errno with why saying which.
 */
int staging_trusted(const char *dir, char *why, size_t len);

/*
 * Create a staging file for mount_id in dir (made when missing):
 * returns its descriptor (O_RDWR | O_CLOEXEC) and *path (malloc'd), or
 * -errno.
 */
int staging_create(const char *dir, uint32_t mount_id, char **path);

/*
 * Could path be a staging file of ours in dir: directly in dir
 * (compared after resolving both), named "s3f-<digits>-XXXXXX"?
 */
bool staging_is_ours(const char *dir, const char *path);

/*
 * Delete path when it is ours in one of dirs[0..ndirs) (NULL entries
 * skipped) and a regular file (not a symbolic link).  0, -EPERM when it
 * is not ours (nothing deleted), -ENOENT when it is gone, or unlink's
 * -errno.
 */
int staging_remove(const char *const *dirs, int ndirs, const char *path);

#endif /* S3F_HELPER_STAGING_H */
