// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim for tests/guest/fstests.sh: fstat() reports the
 * st_blksize named by S3F_FAKE_BLKSIZE.
 *
 * fsx draws the ranges of its clone/dedupe/exchange operations with
 * st_blksize alignment, and draws them (consuming random numbers) even when
 * the file system does not support those operations.  Its sequence of
 * operations therefore depends on st_blksize.  The test replays each s3f run
 * of fsx on tmpfs to get the file's expected contents; with this shim the
 * tmpfs run sees s3f's st_blksize and makes exactly the same operations.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/stat.h>

static void fake(struct stat *st)
{
	const char *v = getenv("S3F_FAKE_BLKSIZE");

	if (v && *v)
		st->st_blksize = strtol(v, NULL, 10);
}

int fstat64(int fd, struct stat64 *st)
{
	static int (*real)(int, struct stat64 *);
	int ret;

	if (!real)
		real = (int (*)(int, struct stat64 *))dlsym(RTLD_NEXT, "fstat64");
	ret = real(fd, st);
	if (ret == 0)
		fake((struct stat *)st);
	return ret;
}

int fstat(int fd, struct stat *st)
{
	static int (*real)(int, struct stat *);
	int ret;

	if (!real)
		real = (int (*)(int, struct stat *))dlsym(RTLD_NEXT, "fstat");
	ret = real(fd, st);
	if (ret == 0)
		fake(st);
	return ret;
}
