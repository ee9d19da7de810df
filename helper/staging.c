// SPDX-License-Identifier: GPL-2.0
/*
 * Staging files (staging.h).  The kernel's input is trusted, but a path
 * handed to unlink() is checked anyway: only a regular file named like
 * ours, directly inside a staging directory, is ever deleted.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"
#include "staging.h"

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static char *default_dir;		/* guarded by default_lock; never freed while set */

int staging_set_default(const char *dir)
{
	char *copy = strdup(dir);

	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&default_lock);
	/* the old string stays valid for callers that hold it: leak it */
	default_dir = copy;
	pthread_mutex_unlock(&default_lock);
	return 0;
}

const char *staging_default(void)
{
	const char *dir;

	pthread_mutex_lock(&default_lock);
	dir = default_dir ? default_dir : STAGING_DEFAULT_DIR;
	pthread_mutex_unlock(&default_lock);
	return dir;
}

const char *staging_dir_of(const char *mount_staging)
{
	return mount_staging && mount_staging[0] ? mount_staging : staging_default();
}

int staging_trusted(const char *dir, char *why, size_t len)
{
	struct statfs sfs;
	struct stat st;

	if (lstat(dir, &st))
		return snprintf(why, len, "%s", strerror(errno)), -errno;
	if (S_ISLNK(st.st_mode))
		return snprintf(why, len, "is a symbolic link"), -EPERM;
	if (!S_ISDIR(st.st_mode))
		return snprintf(why, len, "is not a directory"), -ENOTDIR;
	if (st.st_uid != geteuid())
		return snprintf(why, len, "is owned by uid %u, not by s3fd's (%u)",
				(unsigned int)st.st_uid, (unsigned int)geteuid()), -EPERM;
	if (st.st_mode & 077)
		return snprintf(why, len, "has mode %04o: others could read or replace staged data (chmod 0700)",
				(unsigned int)(st.st_mode & 07777)), -EPERM;
	if (!statfs(dir, &sfs) && sfs.f_type == STAGING_S3F_MAGIC)
		return snprintf(why, len, "is on an s3f mount"), -EPERM;
	return 0;
}

/* The checks of staging_trusted(), the reason logged. */
static int check_trusted(const char *dir)
{
	char why[256];
	int err;

	err = staging_trusted(dir, why, sizeof(why));
	if (err)
		log_warn("staging directory %s refused: it %s", dir, why);
	return err;
}

int staging_mkdir(const char *dir)
{
	char *p, *slash;
	struct stat st;
	int err = 0;

	if (!dir[0])
		return -EINVAL;
	if (!lstat(dir, &st))
		return check_trusted(dir);
	p = strdup(dir);
	if (!p)
		return -ENOMEM;
	/* the parents, as a usual mkdir -p would make them */
	for (slash = strchr(p + 1, '/'); slash && !err; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(p, 0755) && errno != EEXIST)
			err = -errno;
		*slash = '/';
	}
	if (!err && mkdir(p, 0700) && errno != EEXIST)
		err = -errno;
	if (!err)
		log_info("staging directory %s created", dir);
	free(p);
	return err ? err : check_trusted(dir);
}

int staging_create(const char *dir, uint32_t mount_id, char **path)
{
	char *tmpl;
	int fd, err;

	err = staging_mkdir(dir);
	if (err)
		return err;
	if (asprintf(&tmpl, "%s/s3f-%u-XXXXXX", dir, mount_id) < 0)
		return -ENOMEM;
	fd = mkostemp(tmpl, O_CLOEXEC);	/* O_RDWR, mode 0600 */
	if (fd < 0) {
		err = -errno;
		free(tmpl);
		return err;
	}
	*path = tmpl;
	return fd;
}

/* "s3f-<digits>-XXXXXX", X alphanumeric (mkstemp's alphabet) */
static bool name_is_ours(const char *name)
{
	const char *p = name + 4;
	size_t i;

	if (strncmp(name, "s3f-", 4) || !isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p++ != '-')
		return false;
	for (i = 0; i < 6; i++)
		if (!isalnum((unsigned char)p[i]))
			return false;
	return p[6] == '\0';
}

bool staging_is_ours(const char *dir, const char *path)
{
	char rdir[PATH_MAX], rparent[PATH_MAX], *parent;
	const char *name = strrchr(path, '/');
	bool ours;

	if (!dir || !dir[0] || !name || !name_is_ours(name + 1))
		return false;
	parent = name == path ? strdup("/") : strndup(path, name - path);
	if (!parent)
		return false;
	ours = realpath(dir, rdir) && realpath(parent, rparent) &&
	       !strcmp(rdir, rparent);
	free(parent);
	return ours;
}

int staging_remove(const char *const *dirs, int ndirs, const char *path)
{
	struct stat st;
	int i;

	for (i = 0; i < ndirs; i++) {
		if (!dirs[i] || !staging_is_ours(dirs[i], path))
			continue;
		if (lstat(path, &st))
			return -errno;
		if (!S_ISREG(st.st_mode))
			return -EPERM;
		if (unlink(path))
			return -errno;
		return 0;
	}
	return -EPERM;
}
