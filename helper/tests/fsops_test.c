// SPDX-License-Identifier: GPL-2.0
/*
 * The write path's pure parts: how s3fs times are written (and that
 * upcalls.c's reader gets them back), the parsing of write upcalls (EXTENTS
 * from several attributes, required attributes), and which paths
 * STAGE_RELEASE may delete.  The S3 side: tests/host/fsops-rgw.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/genl/genl.h>

#include "check.h"
#include "log.h"
#include "staging.h"
#include "write_upcalls.h"
#include "fsops.h"

/* CHECK_STREQ for char arrays too */
static void check_str(const char *name, const char *got, const char *want)
{
	CHECK_STREQ(name, got, want);
}

/* ---- times ---- */

static void test_times(void)
{
	static const struct {
		int64_t ns;
		const char *want;
	} v[] = {
		{ 1700000000000000000LL, "1700000000" },
		{ 1700000000123456789LL, "1700000000.123456789" },
		{ 1700000000000000005LL, "1700000000.000000005" },
		{ 1700000000500000000LL, "1700000000.500000000" },
		{ 0, "0" },
		{ -1500000000LL, "-2.500000000" },
		{ -1000000000LL, "-1" },
	};
	struct fsop_meta m = {
		.has_mode = true, .mode = 0100644, .has_gid = true, .gid = 5,
		.has_ctime = true, .ctime_ns = 7,
	};
	struct fsop_meta_kv kv;
	char buf[FSOP_META_LEN], name[64];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		fsop_format_time(v[i].ns, buf, sizeof(buf));
		snprintf(name, sizeof(name), "time %" PRId64 " ns", v[i].ns);
		check_str(name, buf, v[i].want);
	}
	fsop_format_time(INT64_MIN, buf, sizeof(buf));
	check_str("time: INT64_MIN fits", buf, "-9223372037.145224192");

	fsop_meta_kv(&m, &kv);
	CHECK("meta: only the fields present", kv.n == 3, "n = %zu", kv.n);
	CHECK("meta: mode in decimal", kv.n == 3 && !strcmp(kv.kv[0].name, "mode") &&
	      !strcmp(kv.kv[0].value, "33188"), "%s=%s", kv.kv[0].name, kv.kv[0].value);
	CHECK("meta: gid", kv.n == 3 && !strcmp(kv.kv[1].name, "gid") &&
	      !strcmp(kv.kv[1].value, "5"), "%s=%s", kv.kv[1].name, kv.kv[1].value);
	CHECK("meta: ctime", kv.n == 3 && !strcmp(kv.kv[2].name, "ctime") &&
	      !strcmp(kv.kv[2].value, "0.000000007"), "%s=%s", kv.kv[2].name,
	      kv.kv[2].value);
}

/* ---- parsing upcalls ---- */

static struct nl_msg *new_msg(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc_size(1 << 20);

	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, 1, 0, 0, cmd, 1);
	return msg;
}

static void put_extents(struct nl_msg *msg, size_t n, uint64_t first)
{
	struct s3f_extent *e = calloc(n, sizeof(*e));
	size_t i;

	for (i = 0; i < n; i++) {
		e[i].off = first + i * 10;
		e[i].len = 5;
	}
	nla_put(msg, S3F_ATTR_EXTENTS, n * sizeof(*e), e);
	free(e);
}

/* write_upcall_parse of msg as the upcall being dispatched: 0 or -EINVAL. */
static int parse(struct nl_msg *msg, struct job *job)
{
	struct nlattr *attrs[S3F_ATTR_MAX + 1];
	struct s3f_nl nl = { 0 };
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	int err;

	memset(job, 0, sizeof(*job));
	job->cmd = gh->cmd;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, attrs, S3F_ATTR_MAX, NULL))
		return -EBADMSG;
	if (attrs[S3F_ATTR_KEY])
		job->key = strdup(nla_get_string(attrs[S3F_ATTR_KEY]));
	if (attrs[S3F_ATTR_ETAG])
		job->etag = strdup(nla_get_string(attrs[S3F_ATTR_ETAG]));
	nl.upcall = nlmsg_hdr(msg);
	err = write_upcall_parse(&nl, job, attrs);
	nlmsg_free(msg);
	return err;
}

static void job_done(struct job *job)
{
	free(job->key);
	free(job->etag);
	write_upcall_free(job);
}

static void test_parse_commit(void)
{
	struct nl_msg *msg;
	struct job job;
	int err;

	msg = new_msg(S3F_CMD_COMMIT);
	nla_put_string(msg, S3F_ATTR_KEY, "dir/file");
	nla_put_u64(msg, S3F_ATTR_SIZE, 100000);
	nla_put_string(msg, S3F_ATTR_ETAG, "abc");
	nla_put_u64(msg, S3F_ATTR_BASE_SIZE, 5000);
	nla_put_u32(msg, S3F_ATTR_MODE, 0100600);
	nla_put_u64(msg, S3F_ATTR_MTIME_NS, (uint64_t)-5);
	nla_put_u32(msg, S3F_ATTR_FLAGS, S3F_COMMIT_FAIL_ON_CONFLICT);
	put_extents(msg, 3, 0);
	put_extents(msg, 2, 1000);
	err = parse(msg, &job);
	CHECK("commit: parsed", !err, "%d", err);
	CHECK("commit: extents from both attributes, in order",
	      job.nextents == 5 && job.extents[0].off == 0 &&
	      job.extents[2].off == 20 && job.extents[3].off == 1000 &&
	      job.extents[4].off == 1010 && job.extents[4].len == 5,
	      "%zu extents", job.nextents);
	CHECK("commit: sizes and flags", job.has_size && job.size == 100000 &&
	      job.has_base_size && job.base_size == 5000 &&
	      job.flags == S3F_COMMIT_FAIL_ON_CONFLICT, "size %" PRIu64, job.size);
	CHECK("commit: metadata", job.meta.has_mode && job.meta.mode == 0100600 &&
	      job.meta.has_mtime && job.meta.mtime_ns == -5 && !job.meta.has_uid,
	      "mode %o", job.meta.mode);
	job_done(&job);

	msg = new_msg(S3F_CMD_COMMIT);
	nla_put_string(msg, S3F_ATTR_KEY, "f");
	nla_put_u64(msg, S3F_ATTR_SIZE, 1);
	put_extents(msg, S3F_MAX_EXTENTS - 1, 0);
	put_extents(msg, 1, 0);
	err = parse(msg, &job);
	CHECK("commit: S3F_MAX_EXTENTS extents are accepted", !err && job.nextents ==
	      S3F_MAX_EXTENTS, "%d, %zu", err, job.nextents);
	job_done(&job);

	msg = new_msg(S3F_CMD_COMMIT);
	nla_put_string(msg, S3F_ATTR_KEY, "f");
	nla_put_u64(msg, S3F_ATTR_SIZE, 1);
	put_extents(msg, S3F_MAX_EXTENTS / 2, 0);
	put_extents(msg, S3F_MAX_EXTENTS / 2, 0);
	put_extents(msg, 1, 0);
	err = parse(msg, &job);
	CHECK("commit: one extent more is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_COMMIT);
	nla_put_string(msg, S3F_ATTR_KEY, "f");
	nla_put_u64(msg, S3F_ATTR_SIZE, 1);
	nla_put(msg, S3F_ATTR_EXTENTS, 17, "0123456789abcdefg");
	err = parse(msg, &job);
	CHECK("commit: an EXTENTS not a multiple of 16 bytes is EINVAL",
	      err == -EINVAL, "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_COMMIT);
	nla_put_string(msg, S3F_ATTR_KEY, "f");
	err = parse(msg, &job);
	CHECK("commit: without SIZE is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_COMMIT);
	nla_put_string(msg, S3F_ATTR_KEY, "f");
	nla_put_u64(msg, S3F_ATTR_SIZE, 1);
	nla_put_string(msg, S3F_ATTR_ETAG, "abc");
	err = parse(msg, &job);
	CHECK("commit: ETAG without BASE_SIZE is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);

	/* inline: DATA is the whole object */
	msg = new_msg(S3F_CMD_COMMIT);
	nla_put_string(msg, S3F_ATTR_KEY, "f");
	nla_put_u64(msg, S3F_ATTR_SIZE, 5);
	nla_put(msg, S3F_ATTR_DATA, 5, "hello");
	err = parse(msg, &job);
	CHECK("commit inline: parsed, the bytes copied", !err && job.has_data &&
	      job.data_len == 5 && !memcmp(job.data, "hello", 5), "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_COMMIT);
	nla_put_string(msg, S3F_ATTR_KEY, "f");
	nla_put_u64(msg, S3F_ATTR_SIZE, 6);
	nla_put(msg, S3F_ATTR_DATA, 5, "hello");
	err = parse(msg, &job);
	CHECK("commit inline: DATA shorter than SIZE is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_COMMIT);
	nla_put_string(msg, S3F_ATTR_KEY, "f");
	nla_put_u64(msg, S3F_ATTR_SIZE, 5);
	nla_put(msg, S3F_ATTR_DATA, 5, "hello");
	nla_put_string(msg, S3F_ATTR_STAGE, "/var/lib/s3f/staging/x");
	err = parse(msg, &job);
	CHECK("commit inline: DATA with STAGE is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_COMMIT);
	nla_put_string(msg, S3F_ATTR_KEY, "f");
	nla_put_u64(msg, S3F_ATTR_SIZE, 5);
	nla_put(msg, S3F_ATTR_DATA, 5, "hello");
	put_extents(msg, 1, 0);
	err = parse(msg, &job);
	CHECK("commit inline: DATA with EXTENTS is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);

	{
		static char big[S3F_COMMIT_INLINE_MAX + 1];

		msg = new_msg(S3F_CMD_COMMIT);
		nla_put_string(msg, S3F_ATTR_KEY, "f");
		nla_put_u64(msg, S3F_ATTR_SIZE, sizeof(big));
		nla_put(msg, S3F_ATTR_DATA, sizeof(big), big);
		err = parse(msg, &job);
		CHECK("commit inline: DATA over S3F_COMMIT_INLINE_MAX is EINVAL",
		      err == -EINVAL, "%d", err);
		job_done(&job);
	}
}

static void test_parse_namespace(void)
{
	struct nl_msg *msg;
	struct job job;
	int err;

	msg = new_msg(S3F_CMD_RENAME);
	nla_put_string(msg, S3F_ATTR_KEY, "a/");
	nla_put_string(msg, S3F_ATTR_NEW_KEY, "b/");
	nla_put_u8(msg, S3F_ATTR_TYPE, S3F_TYPE_DIR);
	nla_put_u32(msg, S3F_ATTR_FLAGS, S3F_RENAME_NOREPLACE);
	err = parse(msg, &job);
	CHECK("rename dir: parsed", !err && !strcmp(job.new_key, "b/") &&
	      job.flags == S3F_RENAME_NOREPLACE, "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_RENAME);
	nla_put_string(msg, S3F_ATTR_KEY, "a");
	nla_put_string(msg, S3F_ATTR_NEW_KEY, "b/");
	nla_put_u8(msg, S3F_ATTR_TYPE, S3F_TYPE_FILE);
	err = parse(msg, &job);
	CHECK("rename file: a directory key is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_RENAME);
	nla_put_string(msg, S3F_ATTR_KEY, "a");
	nla_put_string(msg, S3F_ATTR_NEW_KEY, "b");
	err = parse(msg, &job);
	CHECK("rename: without TYPE is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_MKDIR);
	nla_put_string(msg, S3F_ATTR_KEY, "d");
	err = parse(msg, &job);
	CHECK("mkdir: a key without '/' is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_SYMLINK);
	nla_put_string(msg, S3F_ATTR_KEY, "l");
	err = parse(msg, &job);
	CHECK("symlink: without TARGET is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_SYMLINK);
	nla_put_string(msg, S3F_ATTR_KEY, "l");
	nla_put_string(msg, S3F_ATTR_TARGET, "../t");
	err = parse(msg, &job);
	CHECK("symlink: parsed", !err && !strcmp(job.target, "../t"), "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_STAGE_RELEASE);
	err = parse(msg, &job);
	CHECK("stage release: without STAGE is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);

	msg = new_msg(S3F_CMD_DELETE);
	err = parse(msg, &job);
	CHECK("delete: without KEY is EINVAL", err == -EINVAL, "%d", err);
	job_done(&job);
}

/* ---- staging files ---- */

static void test_staging(void)
{
	char tmpl[] = "/tmp/s3f-fsops-test.XXXXXX", *dir, *sub, *path = NULL;
	char other[256], link[256], misnamed[256];
	const char *dirs[1];
	struct stat st;
	int fd, err;

	dir = mkdtemp(tmpl);
	if (!dir) {
		CHECK("staging: temporary directory", 0, "%s", strerror(errno));
		return;
	}
	if (asprintf(&sub, "%s/a/staging", dir) < 0)
		return;
	fd = staging_create(sub, 42, &path);
	CHECK("staging: create makes the directory", fd >= 0 &&
	      !stat(sub, &st) && (st.st_mode & 0777) == 0700, "%d", fd);
	CHECK("staging: the file is mode 0600 and named s3f-42-XXXXXX",
	      fd >= 0 && !fstat(fd, &st) && (st.st_mode & 0777) == 0600 &&
	      !strncmp(strrchr(path, '/'), "/s3f-42-", 8) &&
	      strlen(strrchr(path, '/')) == 14, "%s", path ? path : "");
	CHECK("staging: the descriptor is close-on-exec",
	      fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "flags");
	if (fd >= 0)
		close(fd);

	dirs[0] = sub;
	snprintf(other, sizeof(other), "%s/s3f-42-abcdef", dir);	/* not in sub */
	close(open(other, O_CREAT | O_WRONLY, 0600));
	err = staging_remove(dirs, 1, other);
	CHECK("staging: a file outside the directory is refused", err == -EPERM &&
	      !access(other, F_OK), "%d", err);
	snprintf(misnamed, sizeof(misnamed), "%s/passwd", sub);
	close(open(misnamed, O_CREAT | O_WRONLY, 0600));
	err = staging_remove(dirs, 1, misnamed);
	CHECK("staging: a file not named like ours is refused", err == -EPERM &&
	      !access(misnamed, F_OK), "%d", err);
	snprintf(link, sizeof(link), "%s/s3f-1-zzzzzz", sub);
	err = symlink(other, link) ? -errno : staging_remove(dirs, 1, link);
	CHECK("staging: a symbolic link is refused", err == -EPERM &&
	      !access(other, F_OK), "%d", err);
	snprintf(link, sizeof(link), "%s/../staging/../staging/s3f-42-zzzzzz", sub);
	err = staging_remove(dirs, 1, link);
	CHECK("staging: a missing file of ours is ENOENT", err == -ENOENT, "%d", err);
	err = path ? staging_remove(dirs, 1, path) : -1;
	CHECK("staging: our file is removed", !err && path && access(path, F_OK),
	      "%d", err);

	unlink(other);
	unlink(misnamed);
	snprintf(link, sizeof(link), "%s/s3f-1-zzzzzz", sub);
	unlink(link);
	rmdir(sub);
	snprintf(other, sizeof(other), "%s/a", dir);
	rmdir(other);
	rmdir(dir);
	free(sub);
	free(path);
}

int main(void)
{
	log_init("fsops_test", false, LOG_LVL_ERR);
	test_times();
	test_parse_commit();
	test_parse_namespace();
	test_staging();
	CHECK_EXIT();
}
