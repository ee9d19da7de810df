// SPDX-License-Identifier: GPL-2.0
/*
 * Staging journals (helper/journal.c) and what recovery reads from a
 * staging file (helper/recover.c: recover_ranges, recover_scan).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "journal.h"
#include "log.h"
#include "recover.h"

static char dir[] = "/tmp/s3f-journal-test.XXXXXX";

static void test_escape(void)
{
	char *e = journal_escape("a b\n%c\x7f\xc3\xa9/d");
	char *u = e ? journal_unescape(e) : NULL;

	CHECK_STREQ("journal: escape keeps a line a line", e,
		    "a%20b%0A%25c%7F%C3%A9/d");
	CHECK_STREQ("journal: unescape is the reverse", u, "a b\n%c\x7f\xc3\xa9/d");
	free(e);
	free(u);
	CHECK("journal: an escaped NUL is refused", !journal_unescape("a%00b"), "accepted");
	CHECK("journal: a short escape is refused", !journal_unescape("a%4"), "accepted");
}

static void test_roundtrip(void)
{
	struct journal j = {
		.endpoint = "http://127.0.0.1:7480", .bucket = "b",
		.region = "eu-west-1", .profile = "", .key = "dir/a b\nc",
		.base_etag = "9a0364b9e99bb480dd25e1f0284c8555",
		.base_size = 1 << 20, .clean_size = 4096, .mode = 0100640,
		.uid = 1000, .gid = 100, .mtime_ns = 1764800000123456789LL,
		.committed = true, .committed_size = 5000, .whole = true,
		.committed_mtime_ns = 1764800000000000001LL,
	};
	struct journal r;
	char *text, stage[256];
	int err;

	strcpy(j.boot_id, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	strcpy(j.pending, "00000000000000aa-00000000000000bb");
	text = journal_format(&j);
	CHECK("journal: formats", text != NULL, "NULL");
	err = text ? journal_parse(text, &r) : -1;
	CHECK("journal: parses what it formats", !err, "%d", err);
	if (!err) {
		CHECK_STREQ("journal: key", r.key, j.key);
		CHECK_STREQ("journal: etag", r.base_etag, j.base_etag);
		CHECK_STREQ("journal: endpoint", r.endpoint, j.endpoint);
		CHECK_STREQ("journal: region", r.region, "eu-west-1");
		CHECK_STREQ("journal: pending", r.pending, j.pending);
		CHECK("journal: numbers", r.base_size == j.base_size &&
		      r.clean_size == 4096 && r.mode == 0100640 && r.uid == 1000 &&
		      r.gid == 100 && r.mtime_ns == j.mtime_ns && r.committed &&
		      r.committed_size == 5000 &&
		      r.committed_mtime_ns == j.committed_mtime_ns && !r.gone &&
		      r.whole,
		      "mode %o size %llu", r.mode, (unsigned long long)r.base_size);
		journal_free(&r);
	}
	free(text);

	/* a new object, gone, through a file */
	j.base_etag = NULL;
	j.gone = true;
	j.committed = false;
	j.pending[0] = '\0';
	j.boot_id[0] = '\0';	/* this boot's */
	snprintf(stage, sizeof(stage), "%s/s3f-1-abcdef", dir);
	err = journal_write(stage, &j);
	CHECK("journal: written", !err, "%d", err);
	err = journal_read(stage, &r);
	CHECK("journal: read back", !err, "%d", err);
	if (!err) {
		char boot[JOURNAL_BOOT_ID_LEN + 1] = "";

		journal_boot_id(boot);
		CHECK("journal: a new object has no base", !r.base_etag, "%s", r.base_etag);
		CHECK("journal: gone", r.gone && !r.committed && !r.pending[0], "state");
		CHECK_STREQ("journal: this boot's id", r.boot_id, boot);
		journal_free(&r);
	}
	CHECK("journal: removed", !journal_remove(stage) &&
	      journal_read(stage, &r) == -ENOENT, "still there");

	CHECK("journal: garbage is not a journal",
	      journal_parse("s3f-journal 2\nkey a\n", &r) == -EINVAL &&
	      journal_parse("s3f-journal 1\nkey a\n", &r) == -EINVAL &&
	      journal_parse("s3f-journal 1\nboot x\n", &r) == -EINVAL, "parsed");
}

/* A sparse staging file: pages at the given indices, size bytes. */
static int sparse_file(const char *path, const int *pages, int n, off_t size)
{
	char page[4096];
	int fd, i;

	memset(page, 0x61, sizeof(page));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (pwrite(fd, page, sizeof(page), (off_t)pages[i] * 4096) != sizeof(page))
			return close(fd), -1;
	if (ftruncate(fd, size))
		return close(fd), -1;
	return fd;
}

static void test_ranges(void)
{
	static const int pages[] = { 2, 3, 10 };
	struct commit_range *r;
	char path[256];
	size_t n;
	int fd, exact, err;

	exact = recover_holes_exact(dir);
	CHECK("recover: holes probe answers", exact >= 0, "%d", exact);
	if (exact != 1) {
		printf("PASS: recover: ranges skipped (%s reports no holes)\n", dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/sparse", dir);
	fd = sparse_file(path, pages, 3, 20 * 4096 + 100);
	CHECK("recover: sparse file made", fd >= 0, "%s", strerror(errno));
	if (fd < 0)
		return;
	err = recover_ranges(fd, 16 * 4096, 20 * 4096 + 100, &r, &n);
	CHECK("recover: staged pages and the tail are the ranges",
	      !err && n == 3 && r[0].off == 2 * 4096 && r[0].len == 2 * 4096 &&
	      r[1].off == 10 * 4096 && r[1].len == 4096 &&
	      r[2].off == 16 * 4096 && r[2].len == 4 * 4096 + 100,
	      "err %d n %zu", err, n);
	free(r);
	err = recover_ranges(fd, 11 * 4096, 20 * 4096 + 100, &r, &n);
	CHECK("recover: a page touching the clean size merges with the tail",
	      !err && n == 2 && r[1].off == 10 * 4096 && r[1].len == 10 * 4096 + 100,
	      "err %d n %zu", err, n);
	free(r);
	err = recover_ranges(fd, 0, 20 * 4096 + 100, &r, &n);
	CHECK("recover: clean size 0: one range, the whole file",
	      !err && n == 1 && r[0].off == 0 && r[0].len == 20 * 4096 + 100,
	      "err %d n %zu", err, n);
	free(r);
	err = recover_ranges(fd, 1 << 20, 3 * 4096, &r, &n);
	CHECK("recover: truncated below the clean size: staged pages only",
	      !err && n == 1 && r[0].off == 2 * 4096 && r[0].len == 4096,
	      "err %d n %zu", err, n);
	free(r);
	close(fd);
	unlink(path);
}

static int count_item(const struct recover_item *it, void *arg)
{
	int *n = arg;

	if (it->has_stage && it->stage_size == 123 && !strcmp(it->j.key, "k"))
		(*n)++;
	return 0;
}

static void test_scan(void)
{
	struct journal j = { .endpoint = "", .bucket = "b", .key = "k" };
	char stage[256], other[256];
	int fd, n = 0;

	snprintf(stage, sizeof(stage), "%s/s3f-7-Zz09aB", dir);
	snprintf(other, sizeof(other), "%s/not-ours", dir);
	fd = open(stage, O_RDWR | O_CREAT, 0600);
	if (fd >= 0 && !ftruncate(fd, 123))
		close(fd);
	journal_write(stage, &j);
	journal_write(other, &j);
	recover_scan(dir, count_item, &n);
	CHECK("recover: scan finds journals of staging files, and only those",
	      n == 1, "%d", n);
	CHECK("recover: an earlier boot's journal of this bucket counts",
	      recover_count(dir, "", "b") == 0, "this boot's should not");
	strcpy(j.boot_id, "00000000-0000-0000-0000-000000000000");
	journal_write(stage, &j);
	CHECK("recover: count: an earlier boot's journal",
	      recover_count(dir, "", "b") == 1 && recover_count(dir, "", "c") == 0 &&
	      recover_count(dir, "http://x", "b") == 0, "miscounted");
	CHECK("recover: discard deletes both", !recover_discard(stage) &&
	      access(stage, F_OK) && recover_count(dir, "", "b") == 0, "left");
	journal_remove(other);
}

int main(void)
{
	log_init("journal_test", false, LOG_LVL_ERR);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_escape();
	test_roundtrip();
	test_ranges();
	test_scan();
	rmdir(dir);
	CHECK_EXIT();
}
