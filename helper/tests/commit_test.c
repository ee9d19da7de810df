// SPDX-License-Identifier: GPL-2.0
/*
 * The commit engine's pure parts: CRC32C and MD5 checksums, the
 * multipart plan (which parts are copied, which uploaded) and conflict
 * names.  The S3 side is tested against RGW (tests/host/commit-rgw.sh).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checksum.h"
#include "check.h"
#include "commit.h"

#define MiB (1ULL << 20)
#define MIN_PART S3_MIN_PART_SIZE

/* CHECK_STREQ for char arrays too */
static void check_str(const char *name, const char *got, const char *want)
{
	CHECK_STREQ(name, got, want);
}

/* ---- checksums ---- */

static uint32_t crc32c_bitwise(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xFFFFFFFF;
	int k;

	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
	}
	return ~crc;
}

static void test_crc32c(void)
{
	unsigned char buf[4096], v[32];
	char b64[CHECKSUM_CRC32C_B64];
	unsigned char be[4];
	uint32_t whole, crc;
	bool ok = true;
	size_t i, cut;

	CHECK("crc32c: \"123456789\" is 0xE3069283",
	      crc32c(0, "123456789", 9) == 0xE3069283,
	      "got 0x%08" PRIX32, crc32c(0, "123456789", 9));
	CHECK("crc32c: empty is 0", crc32c(0, "", 0) == 0, "got 0x%08" PRIX32,
	      crc32c(0, "", 0));
	/* RFC 3720 (iSCSI) B.4 vectors */
	memset(v, 0, sizeof(v));
	CHECK("crc32c: 32 zero bytes (RFC 3720)", crc32c(0, v, 32) == 0x8A9136AA,
	      "got 0x%08" PRIX32, crc32c(0, v, 32));
	memset(v, 0xff, sizeof(v));
	CHECK("crc32c: 32 0xFF bytes (RFC 3720)", crc32c(0, v, 32) == 0x62A8AB43,
	      "got 0x%08" PRIX32, crc32c(0, v, 32));
	for (i = 0; i < 32; i++)
		v[i] = i;
	CHECK("crc32c: 0..31 (RFC 3720)", crc32c(0, v, 32) == 0x46DD794E,
	      "got 0x%08" PRIX32, crc32c(0, v, 32));
	for (i = 0; i < 32; i++)
		v[i] = 31 - i;
	CHECK("crc32c: 31..0 (RFC 3720)", crc32c(0, v, 32) == 0x113FDB5C,
	      "got 0x%08" PRIX32, crc32c(0, v, 32));

	srand(42);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = rand();
	whole = crc32c(0, buf, sizeof(buf));
	CHECK("crc32c: slicing-by-8 equals the bitwise definition",
	      whole == crc32c_bitwise(buf, sizeof(buf)), "0x%08" PRIX32 " vs 0x%08" PRIX32,
	      whole, crc32c_bitwise(buf, sizeof(buf)));
	for (cut = 0; cut <= 64 && ok; cut++) {
		crc = crc32c(crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut);
		ok = crc == whole && crc32c(0, buf + 1, cut) == crc32c_bitwise(buf + 1, cut);
	}
	CHECK("crc32c: continued over any split, any alignment and length", ok,
	      "differs at split %zu", cut - 1);

	crc = crc32c(0, "123456789", 9);
	be[0] = crc >> 24;
	be[1] = crc >> 16;
	be[2] = crc >> 8;
	be[3] = crc;
	checksum_base64(be, 4, b64);
	check_str("crc32c: x-amz-checksum-crc32c form (big-endian, base64)", b64,
		    "4waSgw==");
}

static void test_body_checksum(void)
{
	static const char text[] = "The quick brown fox jumps over the lazy dog";
	struct s3_body mem = { .buf = text, .fd = -1, .len = sizeof(text) - 1 };
	struct s3_body empty = { .buf = "", .fd = -1, .len = 0 };
	struct body_checksums a, b;
	char path[] = "/tmp/s3f-commit-test.XXXXXX";
	struct s3_body file;
	int fd, err;

	err = body_checksum(&empty, true, &a);
	check_str("Content-MD5 of an empty body", err ? "error" : a.md5,
		    "1B2M2Y8AsgTpgAmY7PhCfg==");
	check_str("crc32c of an empty body", a.crc32c, "AAAAAA==");
	err = body_checksum(&mem, true, &a);
	/* md5("The quick brown fox ...") = 9e107d9d372bb6826bd81d3542a419d6 */
	check_str("Content-MD5 of a memory body", err ? "error" : a.md5,
		    "nhB9nTcrtoJr2B01QqQZ1g==");
	check_str("crc32c of a memory body (0x22620404)", a.crc32c, "ImIEBA==");
	err = body_checksum(&mem, false, &b);
	CHECK("no crc32c when not wanted", !err && !b.crc32c[0] &&
	      !strcmp(a.md5, b.md5), "crc \"%s\"", b.crc32c);

	fd = mkstemp(path);
	if (fd < 0 || write(fd, "xx", 2) != 2 ||
	    write(fd, text, sizeof(text) - 1) != (ssize_t)sizeof(text) - 1 ||
	    write(fd, "yy", 2) != 2) {
		CHECK("a temporary file for the fd checksums", false, "%s",
		      strerror(errno));
		return;
	}
	unlink(path);
	file = (struct s3_body){ .fd = fd, .offset = 2, .len = sizeof(text) - 1 };
	err = body_checksum(&file, true, &b);
	CHECK("checksums of a file range equal those of the same bytes in memory",
	      !err && !strcmp(a.md5, b.md5) && !strcmp(a.crc32c, b.crc32c),
	      "err %d md5 %s crc %s", err, b.md5, b.crc32c);
	file.len += 10;
	err = body_checksum(&file, true, &b);
	CHECK("a file shorter than its body is -EIO", err == -EIO, "got %d", err);
	close(fd);
}

/* ---- the plan ---- */

static bool dirty_at(const struct commit_source *src, uint64_t s, uint64_t e)
{
	size_t i;

	for (i = 0; i < src->ndirty; i++) {
		uint64_t ds = src->dirty[i].off, de = ds + src->dirty[i].len;

		if (src->dirty[i].len && ds < e && de > s)
			return true;
	}
	return false;
}

/* Every rule a plan must keep; NULL when it keeps them, else why not. */
static const char *plan_invalid(const struct commit_source *src,
				const struct commit_part *p, size_t n)
{
	uint64_t pos = 0, copyable = 0;
	size_t i;

	if (src->base_etag && !src->all_dirty)
		copyable = src->size < src->base_size ? src->size : src->base_size;
	if (!n || n > S3_MAX_PARTS)
		return "part count out of range";
	for (i = 0; i < n; i++) {
		if (p[i].off != pos)
			return "parts not contiguous";
		if (!p[i].len || p[i].len > S3_MAX_PART_SIZE)
			return "part size out of range";
		if (i + 1 < n && p[i].len < MIN_PART)
			return "a part before the last is below 5 MiB";
		if (p[i].copy && p[i].off + p[i].len > copyable)
			return "a copy reaches past the shareable base";
		if (p[i].copy && dirty_at(src, p[i].off, p[i].off + p[i].len))
			return "a copied part holds dirty bytes";
		pos += p[i].len;
	}
	if (pos != src->size)
		return "parts do not cover the object";
	return NULL;
}

static uint64_t uploaded(const struct commit_part *p, size_t n)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (!p[i].copy)
			sum += p[i].len;
	return sum;
}

static void show_plan(const struct commit_part *p, size_t n)
{
	size_t i;

	printf("  plan:");
	for (i = 0; i < n && i < 12; i++)
		printf(" %s[%" PRIu64 "+%" PRIu64 "]", p[i].copy ? "C" : "U",
		       p[i].off, p[i].len);
	printf("%s\n", n > 12 ? " ..." : "");
}

struct want_part {
	uint64_t off, len;
	char kind;			/* 'C' copy, 'U' upload */
};

static void expect_plan(const char *name, const struct commit_source *src,
			uint64_t part_size, const struct want_part *want,
			size_t nwant)
{
	struct commit_part *p;
	const char *why;
	size_t n, i;
	int err;

	err = commit_plan(src, part_size, &p, &n);
	if (err) {
		CHECK(name, false, "commit_plan: %s", strerror(-err));
		return;
	}
	why = plan_invalid(src, p, n);
	for (i = 0; !why && i < nwant; i++)
		if (i >= n || p[i].off != want[i].off || p[i].len != want[i].len ||
		    p[i].copy != (want[i].kind == 'C'))
			why = "not the expected parts";
	if (!why && n != nwant)
		why = "not the expected number of parts";
	CHECK(name, !why, "%s (%zu parts)", why, n);
	if (why)
		show_plan(p, n);
	free(p);
}

static void test_plan_cases(void)
{
	const uint64_t M40 = 40 * MiB;
	struct commit_source src;
	struct commit_range d[4];

	/* a new file: parts of part_size, the last one short */
	src = (struct commit_source){ .size = M40 };
	expect_plan("plan: new 40 MiB file in 5 MiB parts", &src, 5 * MiB,
		    (struct want_part[]){
			{ 0, 5 * MiB, 'U' }, { 5 * MiB, 5 * MiB, 'U' },
			{ 10 * MiB, 5 * MiB, 'U' }, { 15 * MiB, 5 * MiB, 'U' },
			{ 20 * MiB, 5 * MiB, 'U' }, { 25 * MiB, 5 * MiB, 'U' },
			{ 30 * MiB, 5 * MiB, 'U' }, { 35 * MiB, 5 * MiB, 'U' } }, 8);
	src = (struct commit_source){ .size = 12 * MiB + 12345 };
	expect_plan("plan: new file, short last part", &src, 5 * MiB,
		    (struct want_part[]){
			{ 0, 5 * MiB, 'U' }, { 5 * MiB, 5 * MiB, 'U' },
			{ 10 * MiB, 2 * MiB + 12345, 'U' } }, 3);

	/* all_dirty: as a new file, though there is a base */
	src = (struct commit_source){ .size = 12 * MiB, .base_etag = "e",
				      .base_size = 12 * MiB, .all_dirty = true };
	expect_plan("plan: all dirty uploads everything", &src, 5 * MiB,
		    (struct want_part[]){
			{ 0, 5 * MiB, 'U' }, { 5 * MiB, 5 * MiB, 'U' },
			{ 10 * MiB, 2 * MiB, 'U' } }, 3);

	/* 1 MiB edited in the middle: one 5 MiB upload between two copies */
	d[0] = (struct commit_range){ 20000000, MiB };
	src = (struct commit_source){ .size = M40, .base_etag = "e",
				      .base_size = M40, .dirty = d, .ndirty = 1 };
	expect_plan("plan: 1 MiB edit in the middle of 40 MiB", &src, 5 * MiB,
		    (struct want_part[]){
			{ 0, 20000000, 'C' },
			{ 20000000, 5 * MiB, 'U' },
			{ 20000000 + 5 * MiB, M40 - 20000000 - 5 * MiB, 'C' } }, 3);
	expect_plan("plan: the same with 8 MiB parts uploads 5 MiB only", &src,
		    8 * MiB, (struct want_part[]){
			{ 0, 20000000, 'C' },
			{ 20000000, 5 * MiB, 'U' },
			{ 20000000 + 5 * MiB, M40 - 20000000 - 5 * MiB, 'C' } }, 3);

	/* an edit at the start, near the start, at the end */
	d[0] = (struct commit_range){ 0, MiB };
	expect_plan("plan: edit at offset 0", &src, 5 * MiB,
		    (struct want_part[]){
			{ 0, 5 * MiB, 'U' }, { 5 * MiB, 35 * MiB, 'C' } }, 2);
	d[0] = (struct commit_range){ 3 * MiB, 100 };
	expect_plan("plan: a clean head below 5 MiB is uploaded, not copied",
		    &src, 5 * MiB, (struct want_part[]){
			{ 0, 5 * MiB, 'U' }, { 5 * MiB, 35 * MiB, 'C' } }, 2);
	d[0] = (struct commit_range){ 39 * MiB + 7, 100 };
	expect_plan("plan: edit in the last MiB: a short last part", &src,
		    5 * MiB, (struct want_part[]){
			{ 0, 39 * MiB + 7, 'C' }, { 39 * MiB + 7, MiB - 7, 'U' } }, 2);

	/* two edits 10 MiB apart: widened (the first to its left), copies between */
	d[0] = (struct commit_range){ 10 * MiB, MiB };
	d[1] = (struct commit_range){ 21 * MiB, MiB };
	src.ndirty = 2;
	expect_plan("plan: two edits with a copyable gap", &src, 5 * MiB,
		    (struct want_part[]){
			{ 0, 6 * MiB, 'C' }, { 6 * MiB, 5 * MiB, 'U' },
			{ 11 * MiB, 10 * MiB, 'C' }, { 21 * MiB, 5 * MiB, 'U' },
			{ 26 * MiB, 14 * MiB, 'C' } }, 5);
	/* 6 MiB apart: joining them (8 MiB) costs less than widening both (10) */
	d[1] = (struct commit_range){ 17 * MiB, MiB };
	expect_plan("plan: two close edits are joined when that is cheaper", &src,
		    5 * MiB, (struct want_part[]){
			{ 0, 10 * MiB, 'C' }, { 10 * MiB, 8 * MiB, 'U' },
			{ 18 * MiB, 22 * MiB, 'C' } }, 3);
	/* ... and 3 MiB apart: one upload */
	d[1] = (struct commit_range){ 14 * MiB, MiB };
	expect_plan("plan: a gap below 5 MiB between edits is uploaded", &src,
		    5 * MiB, (struct want_part[]){
			{ 0, 10 * MiB, 'C' }, { 10 * MiB, 5 * MiB, 'U' },
			{ 15 * MiB, 25 * MiB, 'C' } }, 3);
	/* unsorted, overlapping, out of range and empty ranges */
	d[0] = (struct commit_range){ 12 * MiB, 2 * MiB };
	d[1] = (struct commit_range){ 10 * MiB, 3 * MiB };
	d[2] = (struct commit_range){ 90 * MiB, MiB };
	d[3] = (struct commit_range){ 30 * MiB, 0 };
	src.ndirty = 4;
	expect_plan("plan: ranges unsorted, overlapping, past the end, empty",
		    &src, 5 * MiB, (struct want_part[]){
			{ 0, 10 * MiB, 'C' }, { 10 * MiB, 5 * MiB, 'U' },
			{ 15 * MiB, 25 * MiB, 'C' } }, 3);

	/* appended: the base is copied, the tail uploaded */
	src = (struct commit_source){ .size = 41 * MiB, .base_etag = "e",
				      .base_size = M40, .dirty = d, .ndirty = 0 };
	expect_plan("plan: 1 MiB appended to 40 MiB", &src, 5 * MiB,
		    (struct want_part[]){
			{ 0, M40, 'C' }, { M40, MiB, 'U' } }, 2);
	/* truncated: a prefix of the base is copied */
	src = (struct commit_source){ .size = 30 * MiB, .base_etag = "e",
				      .base_size = M40 };
	expect_plan("plan: truncated to 30 MiB: one copy", &src, 5 * MiB,
		    (struct want_part[]){ { 0, 30 * MiB, 'C' } }, 1);
	/* metadata only: copies of COMMIT_COPY_PART_SIZE */
	src = (struct commit_source){ .size = 300 * MiB, .base_etag = "e",
				      .base_size = 300 * MiB };
	expect_plan("plan: nothing dirty: server-side copies of 128 MiB", &src,
		    8 * MiB, (struct want_part[]){
			{ 0, 128 * MiB, 'C' }, { 128 * MiB, 128 * MiB, 'C' },
			{ 256 * MiB, 44 * MiB, 'C' } }, 3);
	/* a base too small to share */
	src = (struct commit_source){ .size = 12 * MiB, .base_etag = "e",
				      .base_size = 4 * MiB };
	expect_plan("plan: a base below 5 MiB is not copied", &src, 5 * MiB,
		    (struct want_part[]){
			{ 0, 5 * MiB, 'U' }, { 5 * MiB, 5 * MiB, 'U' },
			{ 10 * MiB, 2 * MiB, 'U' } }, 3);
	/* a long upload: pieces of part_size, a short remainder joins the last */
	d[0] = (struct commit_range){ 10 * MiB, 12 * MiB };
	src = (struct commit_source){ .size = M40, .base_etag = "e",
				      .base_size = M40, .dirty = d, .ndirty = 1 };
	expect_plan("plan: a 12 MiB edit in 5 MiB parts: 5 + 7", &src, 5 * MiB,
		    (struct want_part[]){
			{ 0, 10 * MiB, 'C' }, { 10 * MiB, 5 * MiB, 'U' },
			{ 15 * MiB, 7 * MiB, 'U' }, { 22 * MiB, 18 * MiB, 'C' } }, 4);
}

static uint64_t rnd64(uint64_t n)
{
	uint64_t r = ((uint64_t)rand() << 31) ^ rand();

	return n ? r % n : 0;
}

static void test_plan_random(void)
{
	static const uint64_t sizes[] = { 5 * MiB, 8 * MiB, 16 * MiB };
	struct commit_range d[8];
	struct commit_source src;
	struct commit_part *p;
	const char *why = NULL;
	uint64_t ps, bound, dirty_sum;
	size_t n, i, k, iter;
	int err = 0;

	srand(7);
	for (iter = 0; iter < 5000 && !why && !err; iter++) {
		ps = sizes[iter % 3];
		src = (struct commit_source){ .size = ps + 1 + rnd64(200 * MiB) };
		if (iter % 5) {
			src.base_etag = "e";
			src.base_size = rnd64(2) ? src.size : rnd64(220 * MiB);
		}
		src.all_dirty = iter % 17 == 0;
		src.ndirty = rnd64(8);
		dirty_sum = 0;
		for (k = 0; k < src.ndirty; k++) {
			d[k].off = rnd64(src.size + MiB);
			d[k].len = rnd64(4) ? rnd64(2 * MiB) : rnd64(30 * MiB);
			dirty_sum += d[k].len;
		}
		src.dirty = d;
		err = commit_plan(&src, ps, &p, &n);
		if (err)
			break;
		why = plan_invalid(&src, p, n);
		/* each edit costs at most its bytes, one widening and one joined gap */
		bound = dirty_sum + (3 * src.ndirty + 2) * MIN_PART;
		if (src.base_size < src.size)
			bound += src.size - src.base_size;
		if (!why && src.base_etag && !src.all_dirty && uploaded(p, n) > bound)
			why = "uploads more than the edits need";
		if (!why && (!src.base_etag || src.all_dirty))
			for (i = 0; i < n && !why; i++)
				if (p[i].copy)
					why = "a copy without a base";
		if (why)
			show_plan(p, n);
		free(p);
	}
	CHECK("plan: 5000 random sources keep every rule", !why && !err,
	      "iteration %zu: %s", iter - 1, why ? why : strerror(-err));
}

static void test_plan_limits(void)
{
	struct commit_range *d;
	struct commit_source src;
	struct commit_part *p;
	const char *why;
	size_t n, k;
	int err;

	/* 100 GiB new file in 5 MiB parts would be 20480 parts */
	src = (struct commit_source){ .size = 100ULL << 30 };
	err = commit_plan(&src, 5 * MiB, &p, &n);
	why = err ? strerror(-err) : plan_invalid(&src, p, n);
	CHECK("plan: 100 GiB new file: parts grow to stay within 10000", !why,
	      "%s (%zu parts)", why, n);
	if (!err)
		free(p);

	/* 20000 scattered 1 MiB edits of a 200 GiB object */
	d = calloc(20000, sizeof(*d));
	for (k = 0; k < 20000; k++)
		d[k] = (struct commit_range){ k * (10 * MiB), MiB };
	src = (struct commit_source){ .size = 200ULL << 30, .base_etag = "e",
				      .base_size = 200ULL << 30, .dirty = d,
				      .ndirty = 20000 };
	err = commit_plan(&src, 5 * MiB, &p, &n);
	why = err ? strerror(-err) : plan_invalid(&src, p, n);
	CHECK("plan: 20000 scattered edits fit in 10000 parts", !why,
	      "%s (%zu parts)", why, n);
	if (!err)
		free(p);
	free(d);

	/* 5 GiB parts, the largest object S3 takes (~48.8 TiB) */
	src = (struct commit_source){ .size = S3_MAX_PART_SIZE * S3_MAX_PARTS };
	err = commit_plan(&src, 5 * MiB, &p, &n);
	why = err ? strerror(-err) : plan_invalid(&src, p, n);
	CHECK("plan: the largest object fits exactly", !why, "%s", why);
	if (!err)
		free(p);
	src.size++;
	err = commit_plan(&src, 5 * MiB, &p, &n);
	CHECK("plan: one byte more is -EFBIG", err == -EFBIG, "got %d", err);
	if (!err)
		free(p);
}

/* ---- conflict names ---- */

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int k;

	while (*p) {
		if (*p < 0x80)
			k = 0;
		else if ((*p & 0xE0) == 0xC0)
			k = 1;
		else if ((*p & 0xF0) == 0xE0)
			k = 2;
		else if ((*p & 0xF8) == 0xF0)
			k = 3;
		else
			return false;
		p++;
		while (k--)
			if ((*p++ & 0xC0) != 0x80)
				return false;
	}
	return true;
}

static void test_conflict_names(void)
{
	char key[1200], *name = NULL, *last;
	int err, i;

	/* 1700000000 is 2023-11-14 22:13:20 UTC */
	err = commit_conflict_name("dir/report.txt", 1700000000, 0x1a2b3c4d, &name);
	CHECK_STREQ("conflict name: KEY.s3f-conflict-YYYYMMDDTHHMMSSZ-XXXXXXXX",
		    err ? "error" : name,
		    "dir/report.txt.s3f-conflict-20231114T221320Z-1a2b3c4d");
	free(name);
	err = commit_conflict_name("x", 0, 7, &name);
	CHECK_STREQ("conflict name: top-level key, zero-padded random",
		    err ? "error" : name, "x.s3f-conflict-19700101T000000Z-00000007");
	free(name);
	err = commit_conflict_name("a b/ü ✓", 1700000000, 0xffffffff, &name);
	CHECK_STREQ("conflict name: spaces and UTF-8 kept", err ? "error" : name,
		    "a b/ü ✓.s3f-conflict-20231114T221320Z-ffffffff");
	free(name);

	/* a 250-byte file name is cut to keep the name within 255 bytes */
	memset(key, 0, sizeof(key));
	strcpy(key, "d/");
	memset(key + 2, 'n', 250);
	err = commit_conflict_name(key, 1700000000, 1, &name);
	last = name ? strrchr(name, '/') + 1 : NULL;
	CHECK("conflict name: a long file name is cut to 255 bytes",
	      !err && strlen(last) == 255 && !strncmp(name, "d/nnnn", 6) &&
	      strstr(name, "n.s3f-conflict-20231114T221320Z-00000001"),
	      "err %d, %zu bytes", err, last ? strlen(last) : 0);
	free(name);
	name = NULL;

	/* never in the middle of a UTF-8 character */
	strcpy(key, "a");
	for (i = 0; i < 80; i++)
		strcat(key, "日");	/* 3 bytes each */
	err = commit_conflict_name(key, 1700000000, 1, &name);
	CHECK("conflict name: cut at a UTF-8 character boundary",
	      !err && utf8_valid(name) && strlen(name) <= 255 &&
	      strlen(name) == 1 + 71 * 3 + COMMIT_CONFLICT_SUFFIX_LEN,
	      "err %d, %zu bytes, valid %d", err, name ? strlen(name) : 0,
	      name ? utf8_valid(name) : 0);
	free(name);
	name = NULL;

	/* a deep key: the whole key stays within 1024 bytes */
	memset(key, 0, sizeof(key));
	memset(key, 'd', 980);
	strcat(key, "/file-name");
	err = commit_conflict_name(key, 1700000000, 1, &name);
	CHECK("conflict name: within S3's 1024-byte keys",
	      !err && strlen(name) == 1024 && !strncmp(name + 981, "file.s3f-", 9),
	      "err %d, %zu bytes", err, name ? strlen(name) : 0);
	free(name);
	name = NULL;
	memset(key, 0, sizeof(key));
	memset(key, 'd', 990);
	strcat(key, "/f");
	err = commit_conflict_name(key, 1700000000, 1, &name);
	CHECK("conflict name: no room at all is -ENAMETOOLONG",
	      err == -ENAMETOOLONG && !name, "got %d", err);

	err = commit_conflict_name("", 0, 1, &name);
	CHECK("conflict name: empty key is -EINVAL", err == -EINVAL, "got %d", err);
	err = commit_conflict_name("dir/", 0, 1, &name);
	CHECK("conflict name: a directory key is -EINVAL", err == -EINVAL,
	      "got %d", err);
}

int main(void)
{
	test_crc32c();
	test_body_checksum();
	test_plan_cases();
	test_plan_random();
	test_plan_limits();
	test_conflict_names();
	CHECK_EXIT();
}
