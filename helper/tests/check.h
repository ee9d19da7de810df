/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal test reporting shared by the helper's unit tests.
 *
 * Each check prints one line, "PASS: name" or "FAIL: name: why", which
 * tests/run counts.  A test program exits 1 when any check failed.
 */
#ifndef S3F_TEST_CHECK_H
#define S3F_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(name, cond, ...)						\
	do {								\
		if (cond) {						\
			printf("PASS: %s\n", name);			\
		} else {						\
			check_failures++;				\
			printf("FAIL: %s: ", name);			\
			printf(__VA_ARGS__);				\
			printf("\n");					\
		}							\
	} while (0)

#define CHECK_STREQ(name, got, want)					\
	CHECK(name, (got) && !strcmp((got), (want)),			\
	      "got \"%s\", want \"%s\"", (got) ? (got) : "(null)", (want))

#define CHECK_EXIT() return check_failures ? 1 : 0

#endif /* S3F_TEST_CHECK_H */
