// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for trust.c: what s3f.ko accepts from its helper and from
 * S3 (error codes, ETags, conflict keys, modes).  Table driven, one
 * reported case per row.
 *
 * Not part of s3f.ko: tests/kunit/run builds it into a UML kernel.
 */
#include <kunit/test.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/stat.h>
#include <linux/string.h>

#include "s3f.h"

/* ---- s3f_reply_errno ---- */

struct s3f_errno_case {
	const char *desc;
	u32 in;
	int out;
};

static const struct s3f_errno_case s3f_errno_cases[] = {
	{ "zero is success", 0, 0 },
	{ "ENOENT passes", ENOENT, -ENOENT },
	{ "ESTALE passes", ESTALE, -ESTALE },
	{ "EEXIST passes", EEXIST, -EEXIST },
	{ "ENOTEMPTY passes", ENOTEMPTY, -ENOTEMPTY },
	{ "ECANCELED passes", ECANCELED, -ECANCELED },
	{ "ETIMEDOUT passes", ETIMEDOUT, -ETIMEDOUT },
	{ "ENOSPC passes", ENOSPC, -ENOSPC },
	{ "EDQUOT passes", EDQUOT, -EDQUOT },
	{ "EINTR becomes EIO", EINTR, -EIO },
	{ "EFAULT becomes EIO", EFAULT, -EIO },
	{ "EBADMSG becomes EIO", EBADMSG, -EIO },
	{ "ERESTARTSYS (512) becomes EIO", 512, -EIO },
	{ "EIOCBQUEUED (529) becomes EIO", 529, -EIO },
	{ "MAX_ERRNO becomes EIO", MAX_ERRNO, -EIO },
	{ "4096 becomes EIO", 4096, -EIO },
	{ "u32 max becomes EIO", U32_MAX, -EIO },
};

static void s3f_errno_case_desc(const struct s3f_errno_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(s3f_errno, s3f_errno_cases, s3f_errno_case_desc);

static void s3f_reply_errno_test(struct kunit *test)
{
	const struct s3f_errno_case *c = test->param_value;

	KUNIT_EXPECT_EQ_MSG(test, s3f_reply_errno(c->in), c->out,
			    "s3f_reply_errno(%u)", c->in);
}

/* ---- s3f_etag_valid ---- */

static const char s3f_etag_long[S3F_ETAG_MAX + 1] = {
	[0 ... S3F_ETAG_MAX - 1] = 'a',
};

struct s3f_etag_case {
	const char *desc;
	const char *etag;
	bool valid;
};

static const struct s3f_etag_case s3f_etag_cases[] = {
	{ "md5 hex", "9be621976b0244c3f8db62f16d2daa8e", true },
	{ "multipart", "d41d8cd98f00b204e9800998ecf8427e-12", true },
	{ "one character", "x", true },
	{ "empty", "", false },
	{ "quote", "\"abc\"", false },
	{ "space", "ab c", false },
	{ "newline", "abc\n", false },
	{ "escape", "ab\x1b[2J", false },
	{ "DEL", "ab\x7f", false },
	{ "high byte", "ab\xc3\xa9", false },
	{ "longest allowed", s3f_etag_long + 1, true },
	{ "one too long", s3f_etag_long, false },
};

static void s3f_etag_case_desc(const struct s3f_etag_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(s3f_etag, s3f_etag_cases, s3f_etag_case_desc);

static void s3f_etag_valid_test(struct kunit *test)
{
	const struct s3f_etag_case *c = test->param_value;

	KUNIT_EXPECT_EQ_MSG(test, s3f_etag_valid(c->etag), c->valid,
			    "s3f_etag_valid(\"%.40s\")", c->etag);
}

/* ---- s3f_conflict_key_valid ---- */

struct s3f_conflict_case {
	const char *desc;
	const char *key;
	const char *conflict;
	bool valid;
};

static const struct s3f_conflict_case s3f_conflict_cases[] = {
	{ "sibling", "dir/report.txt",
	  "dir/report.txt.s3f-conflict-20231114T221320Z-1a2b3c4d", true },
	{ "top level", "a", "a.s3f-conflict-x", true },
	{ "deeper sibling", "a/b/c", "a/b/c.x", true },
	{ "the key itself", "dir/f", "dir/f", false },
	{ "another directory", "dir/f", "other/f.x", false },
	{ "a subdirectory", "dir/f", "dir/sub/f.x", false },
	{ "the parent", "dir/f", "f.x", false },
	{ "dot dot", "dir/f", "dir/..", false },
	{ "dot", "dir/f", "dir/.", false },
	{ "empty name", "dir/f", "dir/", false },
	{ "empty", "f", "", false },
	{ "prefix trick", "dir/f", "dirx/f", false },
};

static void s3f_conflict_case_desc(const struct s3f_conflict_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(s3f_conflict, s3f_conflict_cases, s3f_conflict_case_desc);

static void s3f_conflict_key_test(struct kunit *test)
{
	const struct s3f_conflict_case *c = test->param_value;

	KUNIT_EXPECT_EQ_MSG(test, s3f_conflict_key_valid(c->key, c->conflict),
			    c->valid, "s3f_conflict_key_valid(\"%s\", \"%s\")",
			    c->key, c->conflict);
}

/* ---- s3f_trusted_mode ---- */

struct s3f_mode_case {
	const char *desc;
	bool is_dir, has_meta;
	u32 meta;
	bool keep_setid;
	umode_t want;
};

static const struct s3f_mode_case s3f_mode_cases[] = {
	{ "file without metadata", false, false, 0, false, S_IFREG | 0644 },
	{ "dir without metadata", true, false, 0, false, S_IFDIR | 0644 },
	{ "file with metadata", false, true, S_IFREG | 0600, false, S_IFREG | 0600 },
	{ "setuid root executable", false, true, S_IFREG | 04755, false, S_IFREG | 0755 },
	{ "setgid", false, true, S_IFREG | 02755, false, S_IFREG | 0755 },
	{ "sticky dir", true, true, S_IFDIR | 01777, false, S_IFDIR | 0777 },
	{ "setuid kept with setid=keep", false, true, S_IFREG | 04755, true, S_IFREG | 04755 },
	{ "symlink", false, true, S_IFLNK | 0777, false, S_IFLNK | 0777 },
	{ "symlink metadata on a dir", true, true, S_IFLNK | 0777, false, S_IFDIR | 0777 },
	/* device nodes show as such; SB_I_NODEV keeps them from being opened */
	{ "char device", false, true, S_IFCHR | 0666, false, S_IFCHR | 0666 },
	{ "block device", false, true, S_IFBLK | 0660, false, S_IFBLK | 0660 },
	{ "fifo", false, true, S_IFIFO | 0644, false, S_IFIFO | 0644 },
	{ "socket", false, true, S_IFSOCK | 0644, false, S_IFSOCK | 0644 },
	{ "fifo metadata on a dir", true, true, S_IFIFO | 0755, false, S_IFDIR | 0755 },
	{ "setuid device, stripped", false, true, S_IFCHR | 04666, false, S_IFCHR | 0666 },
	{ "no type bits", false, true, 0640, false, S_IFREG | 0640 },
	{ "garbage high bits", false, true, 0xffff0000 | 0640, false, S_IFREG | 0640 },
};

static void s3f_mode_case_desc(const struct s3f_mode_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(s3f_mode, s3f_mode_cases, s3f_mode_case_desc);

static void s3f_trusted_mode_test(struct kunit *test)
{
	const struct s3f_mode_case *c = test->param_value;

	KUNIT_EXPECT_EQ_MSG(test, s3f_trusted_mode(c->is_dir, c->has_meta, c->meta,
						   0644, c->keep_setid),
			    c->want, "meta mode 0%o", c->meta);
}

static struct kunit_case s3f_trust_test_cases[] = {
	KUNIT_CASE_PARAM(s3f_reply_errno_test, s3f_errno_gen_params),
	KUNIT_CASE_PARAM(s3f_etag_valid_test, s3f_etag_gen_params),
	KUNIT_CASE_PARAM(s3f_conflict_key_test, s3f_conflict_gen_params),
	KUNIT_CASE_PARAM(s3f_trusted_mode_test, s3f_mode_gen_params),
	{}
};

static struct kunit_suite s3f_trust_test_suite = {
	.name = "s3f_trust",
	.test_cases = s3f_trust_test_cases,
};

kunit_test_suite(s3f_trust_test_suite);

MODULE_DESCRIPTION("KUnit tests for what s3f accepts from its helper and S3");
MODULE_LICENSE("GPL");
