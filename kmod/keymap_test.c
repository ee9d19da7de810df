// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for keymap.c: which S3 key components, bucket names and
 * mount prefixes s3f accepts.  Table driven: each table row is one
 * parameter of its test case, reported under its own description.
 *
 * Not part of s3f.ko: tests/kunit/run builds it into a UML kernel
 * together with keymap.c.
 */
#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/string.h>

#include "s3f.h"

/* S3F_MAX_NAME_LEN + 1 bytes of 'x', NUL-terminated: too long a name. */
static const char s3f_x256[S3F_MAX_NAME_LEN + 2] = {
	[0 ... S3F_MAX_NAME_LEN] = 'x',
};

/* Prefixes with a component of exactly 255 and of 256 bytes. */
static const char s3f_prefix_255[] = {
	'a', '/', [2 ... S3F_MAX_NAME_LEN + 1] = 'x', '/', 'b', '/', '\0',
};

static const char s3f_prefix_256[] = {
	'a', '/', [2 ... S3F_MAX_NAME_LEN + 2] = 'x', '/', 'b', '\0',
};

static const char s3f_prefix_256_last[] = {
	'a', '/', [2 ... S3F_MAX_NAME_LEN + 2] = 'x', '/', '\0',
};

/* Longest bytes of an input shown in a failure message. */
#define SHOW_MAX	40

struct s3f_name_case {
	const char *desc;
	const char *name;
	size_t len;
	bool valid;
};

static const struct s3f_name_case s3f_name_cases[] = {
	{ "empty", "", 0, false },
	{ "dot", ".", 1, false },
	{ "dotdot", "..", 2, false },
	{ "three dots", "...", 3, true },
	{ "dot then x", ".x", 2, true },
	{ "dotdot then x", "..x", 3, true },
	{ "x then dot", "x.", 2, true },
	{ "single letter", "a", 1, true },
	{ "255 bytes", s3f_x256, S3F_MAX_NAME_LEN, true },
	{ "256 bytes", s3f_x256, S3F_MAX_NAME_LEN + 1, false },
	{ "slash inside", "a/b", 3, false },
	{ "slash alone", "/", 1, false },
	{ "slash at end", "a/", 2, false },
	{ "slash at start", "/a", 2, false },
	{ "NUL inside", "a\0b", 3, false },
	{ "NUL at end", "ab\0", 3, false },
	{ "NUL alone", "\0", 1, false },
	{ "length stops before slash", "a/b", 1, true },
	{ "length stops before NUL", "ab\0c", 2, true },
	{ "dot prefix of dotdot by length", "..", 1, false },
	{ "UTF-8 two-byte", "caf\xc3\xa9", 5, true },
	{ "UTF-8 three-byte", "\xe6\x97\xa5\xe6\x9c\xac", 6, true },
	{ "UTF-8 four-byte", "\xf0\x9f\x93\x81", 4, true },
	{ "space alone", " ", 1, true },
	{ "space inside", "a b", 3, true },
	{ "leading and trailing spaces", " a ", 3, true },
	{ "dot and space", ". ", 2, true },
	{ "control characters", "a\tb\n", 4, true },
	{ "backslash", "a\\b", 3, true },
};

static void s3f_name_case_desc(const struct s3f_name_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(s3f_name, s3f_name_cases, s3f_name_case_desc);

static void s3f_name_valid_test(struct kunit *test)
{
	const struct s3f_name_case *c = test->param_value;

	KUNIT_EXPECT_EQ_MSG(test, s3f_name_valid(c->name, c->len), c->valid,
			    "s3f_name_valid(\"%*pE\", %zu)",
			    (int)min_t(size_t, c->len, SHOW_MAX), c->name,
			    c->len);
}

struct s3f_bucket_case {
	const char *desc;
	const char *bucket;
	size_t len;
	bool valid;
};

static const struct s3f_bucket_case s3f_bucket_cases[] = {
	{ "empty", "", 0, false },
	{ "2 chars", "ab", 2, false },
	{ "3 chars", "abc", 3, true },
	{ "63 chars", s3f_x256, S3F_MAX_BUCKET_LEN, true },
	{ "64 chars", s3f_x256, S3F_MAX_BUCKET_LEN + 1, false },
	{ "uppercase first", "Abc", 3, false },
	{ "uppercase last", "abC", 3, false },
	{ "all uppercase", "ABC", 3, false },
	{ "underscore", "a_b", 3, true },
	{ "dot", "a.b", 3, true },
	{ "hyphen", "a-b", 3, true },
	{ "digits only", "123", 3, true },
	{ "mixed", "my-bucket.2_x", 13, true },
	{ "only punctuation", ".-_", 3, true },
	{ "space", "a b", 3, false },
	{ "slash", "a/b", 3, false },
	{ "colon", "a:b", 3, false },
	{ "NUL inside", "a\0b", 3, false },
	{ "UTF-8", "caf\xc3\xa9", 5, false },
	{ "Latin-1 e-acute", "caf\xe9", 4, false },
	{ "Latin-1 sharp s", "stra\xdf" "e", 6, false },
	{ "length shorter, rest ignored", "abcDEF", 3, true },
	{ "length shorter, rest valid", "abcdef", 4, true },
	{ "length shorter than 3", "abcdef", 2, false },
};

static void s3f_bucket_case_desc(const struct s3f_bucket_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(s3f_bucket, s3f_bucket_cases, s3f_bucket_case_desc);

static void s3f_bucket_valid_test(struct kunit *test)
{
	const struct s3f_bucket_case *c = test->param_value;

	KUNIT_EXPECT_EQ_MSG(test, s3f_bucket_valid(c->bucket, c->len), c->valid,
			    "s3f_bucket_valid(\"%*pE\", %zu)",
			    (int)min_t(size_t, c->len, SHOW_MAX), c->bucket,
			    c->len);
}

struct s3f_prefix_case {
	const char *desc;
	const char *prefix;
	bool valid;
	size_t len;		/* checked only when valid */
};

static const struct s3f_prefix_case s3f_prefix_cases[] = {
	{ "empty", "", true, 0 },
	{ "one component", "a", true, 1 },
	{ "two components", "a/b", true, 3 },
	{ "trailing slash", "a/b/", true, 3 },
	{ "several trailing slashes", "a/b///", true, 3 },
	{ "only slashes", "//", true, 0 },
	{ "double slash", "a//b", false, 0 },
	{ "double slash then trailing", "a//b/", false, 0 },
	{ "dot component", "a/./b", false, 0 },
	{ "dot alone", ".", false, 0 },
	{ "dot last", "a/.", false, 0 },
	{ "dotdot component", "a/../b", false, 0 },
	{ "dotdot alone", "..", false, 0 },
	{ "dotdot last then slash", "a/../", false, 0 },
	{ "three dots", "a/.../b", true, 7 },
	{ "leading slash", "/a", false, 0 },
	{ "spaces and UTF-8", "my dir/caf\xc3\xa9/", true, 12 },
	{ "255-byte component", s3f_prefix_255, true, S3F_MAX_NAME_LEN + 4 },
	{ "256-byte component", s3f_prefix_256, false, 0 },
	{ "256-byte last component", s3f_prefix_256_last, false, 0 },
};

static void s3f_prefix_case_desc(const struct s3f_prefix_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(s3f_prefix, s3f_prefix_cases, s3f_prefix_case_desc);

static void s3f_prefix_valid_test(struct kunit *test)
{
	const struct s3f_prefix_case *c = test->param_value;
	size_t len = 0xdead;
	bool valid = s3f_prefix_valid(c->prefix, &len);
	int shown = min_t(size_t, strlen(c->prefix), SHOW_MAX);

	KUNIT_EXPECT_EQ_MSG(test, valid, c->valid, "s3f_prefix_valid(\"%*pE\")",
			    shown, c->prefix);
	if (c->valid && valid)
		KUNIT_EXPECT_EQ_MSG(test, len, c->len,
				    "length from s3f_prefix_valid(\"%*pE\")",
				    shown, c->prefix);
}

static struct kunit_case s3f_keymap_test_cases[] = {
	KUNIT_CASE_PARAM(s3f_name_valid_test, s3f_name_gen_params),
	KUNIT_CASE_PARAM(s3f_bucket_valid_test, s3f_bucket_gen_params),
	KUNIT_CASE_PARAM(s3f_prefix_valid_test, s3f_prefix_gen_params),
	{}
};

static struct kunit_suite s3f_keymap_test_suite = {
	.name = "s3f_keymap",
	.test_cases = s3f_keymap_test_cases,
};

kunit_test_suite(s3f_keymap_test_suite);

MODULE_DESCRIPTION("KUnit tests for s3f's key, bucket and prefix checks");
MODULE_LICENSE("GPL");
