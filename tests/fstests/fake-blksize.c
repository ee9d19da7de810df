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
 *
 * fallocate(): tmpfs has no FALLOC_FL_ZERO_RANGE, s3f has.  For the model
 * the shim does what that mode means: punch the range (the file's size
 * kept) and, without FALLOC_FL_KEEP_SIZE, extend the file to the range's
 * end.  The bytes read afterwards are the same.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>
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

int fallocate(int fd, int mode, off_t off, off_t len)
{
	static int (*real)(int, int, off_t, off_t);
	struct stat st;
	int ret;

	if (!real)
		real = (int (*)(int, int, off_t, off_t))dlsym(RTLD_NEXT, "fallocate");
	if (!(mode & FALLOC_FL_ZERO_RANGE))
		return real(fd, mode, off, len);
	ret = real(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	if (ret || (mode & FALLOC_FL_KEEP_SIZE))
		return ret;
	if (fstat(fd, &st))
		return -1;
	if (st.st_size < off + len)
		return ftruncate(fd, off + len);
	return 0;
}

int fallocate64(int fd, int mode, off_t off, off_t len)
{
	return fallocate(fd, mode, off, len);
}
