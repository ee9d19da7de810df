// SPDX-License-Identifier: GPL-2.0
/*
 * Recovery of staged data after a node crash (recover.h).
 *
 * What a staging file holds, with its journal J (journal.h):
 *   - below min(J.clean, size): the data ranges are staged bytes, the
 *     holes the base version's (J.base_etag, J.base_size);
 *   - from J.clean to size: the staging file's bytes (holes are zeros);
 *   - size: the staging file's (the kernel keeps it equal to the file's).
 *
 * The decision, in order:
 *   1. J says gone (unlinked, replaced): discard.
 *   2. The object carries J.pending, the tag of the COMMIT that was under
 *      way: it landed, and the kernel staged nothing after it (a staging
 *      file is frozen while its COMMIT is in flight): unchanged.
 *   3. The object is still J's base: when the staging file is as the last
 *      commit left it (J.committed) and its bytes equal the object's:
 *      unchanged.  Else commit onto the base (conditional, like the
 *      kernel's commit).
 *   4. A new file (no base): commit; If-None-Match makes it a conflict
 *      copy when another writer created the key meanwhile.
 *   5. The base was replaced or deleted: the base's bytes are gone, so
 *      only a staging file that holds every byte (no hole below the
 *      clean size) can be committed: as a conflict copy.  Else held.
 * Holes are trusted only on a file system that reports them page by
 * page (recover_holes_exact); elsewhere a file with base bytes is held,
 * unless the journal says the staging file is the whole content
 * (journal.whole: its holes are zeros of the file too).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "recover.h"
#include "staging.h"
#include "fsops.h"

#define RECOVER_PAGE		4096
#define RECOVER_CMP_CHUNK	(4 << 20)

const char *recover_outcome_name(enum recover_outcome o)
{
	static const char *const names[] = {
		[RECOVER_COMMITTED] = "committed",
		[RECOVER_CONFLICT] = "conflict copy",
		[RECOVER_UNCHANGED] = "already in S3",
		[RECOVER_DISCARDED] = "discarded",
		[RECOVER_HELD] = "held",
		[RECOVER_BUSY] = "busy",
		[RECOVER_FAILED] = "failed",
	};

	return o <= RECOVER_FAILED ? names[o] : "?";
}

/* ---- finding journals ---- */

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* "s3f-…" + JOURNAL_SUFFIX whose staging name is one of ours */
static int is_journal(const struct dirent *d)
{
	size_t len = strlen(d->d_name), slen = strlen(JOURNAL_SUFFIX);

	return len > slen && !strncmp(d->d_name, "s3f-", 4) &&
	       !strcmp(d->d_name + len - slen, JOURNAL_SUFFIX);
}

int recover_scan(const char *dir, int (*fn)(const struct recover_item *it, void *arg),
		 void *arg)
{
	char boot[JOURNAL_BOOT_ID_LEN + 1] = "";
	struct dirent **names;
	int i, n, err, ret = 0;

	n = scandir(dir, &names, is_journal, name_cmp);
	if (n < 0)
		return -errno;
	journal_boot_id(boot);
	for (i = 0; i < n; i++) {
		struct recover_item it = { 0 };
		struct stat st;
		char *stage;

		if (ret ||
		    asprintf(&stage, "%s/%.*s", dir,
			     (int)(strlen(names[i]->d_name) - strlen(JOURNAL_SUFFIX)),
			     names[i]->d_name) < 0) {
			free(names[i]);
			continue;
		}
		free(names[i]);
		it.stage = stage;
		if (!staging_is_ours(dir, stage)) {
			free(stage);
			continue;
		}
		err = journal_read(stage, &it.j);
		if (err) {
			if (err != -ENOENT)
				log_warn("recover: journal of %s: %s", stage, strerror(-err));
			free(stage);
			continue;
		}
		it.this_boot = !strcmp(it.j.boot_id, boot);
		if (!lstat(stage, &st) && S_ISREG(st.st_mode)) {
			it.has_stage = true;
			it.stage_size = st.st_size;
		}
		ret = fn(&it, arg);
		journal_free(&it.j);
		free(stage);
	}
	free(names);
	return ret;
}

/* ---- what the staging file holds ---- */

int recover_holes_exact(const char *dir)
{
	char *path;
	char page[RECOVER_PAGE];
	off_t data, hole;
	int fd, err = 0;

	if (asprintf(&path, "%s/.s3f-holes-XXXXXX", dir) < 0)
		return -ENOMEM;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(path);
		return err;
	}
	memset(page, 0x5a, sizeof(page));
	/* one page staged in the middle of a 1 MiB sparse file */
	if (ftruncate(fd, 1 << 20) ||
	    pwrite(fd, page, sizeof(page), 32 * RECOVER_PAGE) != sizeof(page) ||
	    fsync(fd)) {
		err = -errno;
		goto out;
	}
	data = lseek(fd, 0, SEEK_DATA);
	hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
	err = data == 32 * RECOVER_PAGE && hole == 33 * RECOVER_PAGE;
out:
	close(fd);
	/* not before: 9p cannot truncate an unlinked file */
	unlink(path);
	free(path);
	return err;
}

static int range_add(struct commit_range **r, size_t *n, size_t *cap,
		     uint64_t off, uint64_t end)
{
	if (off >= end)
		return 0;
	if (*n && (*r)[*n - 1].off + (*r)[*n - 1].len >= off) {
		uint64_t last = (*r)[*n - 1].off + (*r)[*n - 1].len;

		if (end > last)
			(*r)[*n - 1].len = end - (*r)[*n - 1].off;
		return 0;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct commit_range *bigger = realloc(*r, ncap * sizeof(**r));

		if (!bigger)
			return -ENOMEM;
		*r = bigger;
		*cap = ncap;
	}
	(*r)[*n].off = off;
	(*r)[*n].len = end - off;
	(*n)++;
	return 0;
}

int recover_ranges(int fd, uint64_t clean, uint64_t size,
		   struct commit_range **out, size_t *n)
{
	uint64_t limit = clean < size ? clean : size, off = 0;
	size_t cap = 0;
	off_t data, hole;
	int err = 0;

	*out = NULL;
	*n = 0;
	while (off < limit && !err) {
		data = lseek(fd, off, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			return free(*out), *out = NULL, -errno;
		if ((uint64_t)data >= limit)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return free(*out), *out = NULL, -errno;
		if ((uint64_t)hole > limit)
			hole = limit;
		err = range_add(out, n, &cap, data, hole);
		off = hole;
	}
	if (!err)
		err = range_add(out, n, &cap, limit, size);
	if (err) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

/* Do ranges cover every byte of [0, size)? */
static bool ranges_whole(const struct commit_range *r, size_t n, uint64_t size)
{
	return !size || (n == 1 && r[0].off == 0 && r[0].len == size);
}

/*
 * Are the staged ranges' bytes the object's (ETag etag)?  1 yes, 0 no,
 * -errno when S3 could not tell.
 */
static int same_bytes(struct s3_client *c, const char *key, const char *etag,
		      int fd, const struct commit_range *r, size_t n)
{
	char *mine = malloc(RECOVER_CMP_CHUNK), *theirs = malloc(RECOVER_CMP_CHUNK);
	struct s3_object obj = { 0 };
	struct s3_result res = { 0 };
	uint64_t off, len;
	size_t i, got;
	int ret = 1;

	if (!mine || !theirs) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n && ret == 1; i++) {
		for (off = r[i].off; off < r[i].off + r[i].len && ret == 1; off += len) {
			len = r[i].off + r[i].len - off;
			if (len > RECOVER_CMP_CHUNK)
				len = RECOVER_CMP_CHUNK;
			if (pread(fd, mine, len, off) != (ssize_t)len) {
				ret = -EIO;
				break;
			}
			ret = s3_get(c, key, off, len, theirs, RECOVER_CMP_CHUNK, &got,
				     &obj, &res);
			if (!ret)
				ret = strcmp(obj.etag, etag) ? -ESTALE :
				      got == len && !memcmp(mine, theirs, len);
			s3_object_free(&obj);
		}
	}
out:
	free(mine);
	free(theirs);
	return ret;
}

/* ---- one staging file ---- */

static void result_set(struct recover_result *out, enum recover_outcome o,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void result_set(struct recover_result *out, enum recover_outcome o,
		       const char *fmt, ...)
{
	va_list ap;

	out->outcome = o;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

int recover_discard(const char *stage)
{
	int err = 0;

	if (unlink(stage) && errno != ENOENT)
		err = -errno;
	if (journal_remove(stage) == -EACCES && !err)
		err = -EACCES;
	return err;
}

static uint64_t random_u64(void)
{
	uint64_t v = 0;

	while (!v && getrandom(&v, sizeof(v), 0) != sizeof(v))
		;
	return v ? v : 1;
}

/* The session of a "SESSION-ID" tag, or a new one. */
static uint64_t pending_session(const char *pending)
{
	char *end;
	uint64_t s;

	if (strlen(pending) == 33 && pending[16] == '-') {
		s = strtoull(pending, &end, 16);
		if (end == pending + 16 && s)
			return s;
	}
	return random_u64();
}

struct recovery {
	struct s3_client *c;
	const char *stage;
	int fd;
	struct stat st;
	struct journal j;
	struct s3_object obj;
	bool has_obj;
	struct commit_range *ranges;
	size_t nranges;
	const struct commit_conditions *cond;
};

/* Commit the staging file as the kernel would have. */
static int recovery_commit(struct recovery *r, struct recover_result *out)
{
	struct fsop_commit_req req = {
		.stage = r->stage,
		.size = r->st.st_size,
		.base_etag = r->j.base_etag,
		.base_size = r->j.base_size,
		.extents = r->ranges,
		.nextents = r->nranges,
		.meta = {
			.has_mode = true, .mode = r->j.mode,
			.has_uid = true, .uid = r->j.uid,
			.has_gid = true, .gid = r->j.gid,
			.has_mtime = true,
			.mtime_ns = r->st.st_mtim.tv_sec * 1000000000LL +
				    r->st.st_mtim.tv_nsec,
		},
		.conditions = *r->cond,
		.commit_id = random_u64(),
		.commit_session = pending_session(r->j.pending),
	};
	struct commit_result res_out = { 0 };
	struct s3_result res = { 0 };
	char buf[256] = "";
	int err;

	if (req.meta.mtime_ns < r->j.mtime_ns)
		req.meta.mtime_ns = r->j.mtime_ns;
	/* a crash during this commit finds it landed (step 2) */
	fsop_commit_tag(&req, r->j.pending, sizeof(r->j.pending));
	err = journal_write(r->stage, &r->j);
	if (err) {
		result_set(out, RECOVER_FAILED, "journal: %s", strerror(-err));
		return err;
	}
	err = fsop_commit(r->c, r->j.key, &req, &res_out, &res);
	if (err) {
		s3_result_str(&res, buf, sizeof(buf));
		result_set(out, err == -ESTALE ? RECOVER_HELD : RECOVER_FAILED,
			   "commit: %s%s%s", strerror(-err), buf[0] ? ": " : "", buf);
		return err == -ESTALE ? 0 : err;
	}
	snprintf(out->key, sizeof(out->key), "%s", res_out.key ? res_out.key : r->j.key);
	result_set(out, res_out.conflict ? RECOVER_CONFLICT : RECOVER_COMMITTED,
		   "%" PRIu64 " bytes, ETag %s", (uint64_t)r->st.st_size, res_out.etag);
	commit_result_free(&res_out);
	return 0;
}

/* recover_holes_exact() of the directory that holds stage. */
static int stage_holes_exact(const char *stage)
{
	const char *slash = strrchr(stage, '/');
	char *dir = slash ? strndup(stage, slash == stage ? 1 : slash - stage) : strdup(".");
	int ret;

	if (!dir)
		return -ENOMEM;
	ret = recover_holes_exact(dir);
	free(dir);
	return ret;
}

/*
 * The staging file's ranges that differ from the base (recover_ranges),
 * or, where holes cannot be told (*exact false), all of it.
 */
static int recovery_map(struct recovery *r, bool *exact)
{
	uint64_t size = r->st.st_size;
	int ret = 1;

	/*
	 * A new file, one rewritten from 0, or one whose every byte a
	 * commit uploaded (j.whole): its holes are zeros, nothing to tell.
	 */
	if (r->j.whole) {
		*exact = true;
		return recover_ranges(r->fd, 0, size, &r->ranges, &r->nranges);
	}
	if (r->j.base_etag && r->j.clean_size)
		ret = stage_holes_exact(r->stage);
	if (ret < 0)
		return ret;
	*exact = ret;
	if (*exact)
		return recover_ranges(r->fd, r->j.base_etag ? r->j.clean_size : 0, size,
				      &r->ranges, &r->nranges);
	r->nranges = 0;
	r->ranges = malloc(sizeof(*r->ranges));
	if (!r->ranges)
		return -ENOMEM;
	r->ranges[0].off = 0;
	r->ranges[0].len = size;
	r->nranges = size ? 1 : 0;
	return 0;
}

/*
 * Is the staging file as its last commit left it, and so already in S3?
 * Its size and mtime as the journal recorded them after the commit, and
 * (the clock may not have ticked between that commit and a later write)
 * its bytes the object's.  1 yes, 0 no, -errno.
 */
static int recovery_unchanged(struct recovery *r)
{
	int64_t mtime = r->st.st_mtim.tv_sec * 1000000000LL + r->st.st_mtim.tv_nsec;

	if (!r->j.committed || r->j.committed_size != (uint64_t)r->st.st_size ||
	    r->j.committed_mtime_ns != mtime || r->obj.size != (uint64_t)r->st.st_size)
		return 0;
	/*
	 * Holes read as zeros: equal bytes mean the object has zeros there
	 * too, so even a hole taken for data proves the same content.
	 */
	return same_bytes(r->c, r->j.key, r->obj.etag, r->fd, r->ranges, r->nranges);
}

/* Steps 2 to 5 of the decision (the head comment). */
static int recovery_decide(struct recovery *r, struct recover_result *out)
{
	const char *tag = r->has_obj ? s3_object_meta(&r->obj, COMMIT_TAG_META) : NULL;
	bool onto_base = r->has_obj && r->j.base_etag &&
			 !strcmp(r->obj.etag, r->j.base_etag);
	uint64_t size = r->st.st_size;
	bool exact;
	int err;

	if (r->j.pending[0] && tag && !strcmp(tag, r->j.pending) && r->obj.size == size) {
		result_set(out, RECOVER_UNCHANGED, "its last commit landed (ETag %s)",
			   r->obj.etag);
		return 0;
	}
	err = recovery_map(r, &exact);
	if (err)
		return result_set(out, RECOVER_FAILED, "cannot map the staging file: %s",
				  strerror(-err)), err;
	if (onto_base) {
		err = recovery_unchanged(r);
		if (err < 0)
			return result_set(out, RECOVER_FAILED, "compare: %s",
					  strerror(-err)), err;
		if (err) {
			result_set(out, RECOVER_UNCHANGED,
				   "committed before the crash (ETag %s)", r->obj.etag);
			return 0;
		}
	}
	if (!exact) {
		result_set(out, RECOVER_HELD,
			   "the staging file system does not report holes: staged bytes cannot be told from the base's");
		return 0;
	}
	if (r->j.base_etag && !onto_base &&
	    !ranges_whole(r->ranges, r->nranges, size)) {
		result_set(out, RECOVER_HELD,
			   "the base version was %s and not every byte was staged",
			   r->has_obj ? "replaced by another writer" : "deleted");
		return 0;
	}
	return recovery_commit(r, out);
}

int recover_one(struct s3_client *c, const char *stage,
		const struct commit_conditions *cond, bool this_boot_ok,
		struct recover_result *out)
{
	char boot[JOURNAL_BOOT_ID_LEN + 1] = "";
	struct recovery r = { .c = c, .stage = stage, .fd = -1, .cond = cond };
	struct s3_result res = { 0 };
	int err;

	memset(out, 0, sizeof(*out));
	err = journal_read(stage, &r.j);
	if (err)
		return result_set(out, RECOVER_FAILED, "journal: %s", strerror(-err)), err;
	snprintf(out->key, sizeof(out->key), "%s", r.j.key);
	journal_boot_id(boot);
	if (!this_boot_ok && !strcmp(boot, r.j.boot_id)) {
		result_set(out, RECOVER_HELD, "staged in this boot: s3f.ko may still own it");
		goto out;
	}
	r.fd = open(stage, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (r.fd < 0 && errno == ENOENT) {
		journal_remove(stage);
		result_set(out, RECOVER_DISCARDED, "no staging file left");
		goto out;
	}
	if (r.fd < 0 || fstat(r.fd, &r.st) || !S_ISREG(r.st.st_mode)) {
		err = r.fd < 0 ? -errno : -EINVAL;
		result_set(out, RECOVER_FAILED, "staging file: %s", strerror(-err));
		goto out;
	}
	if (flock(r.fd, LOCK_EX | LOCK_NB)) {
		result_set(out, RECOVER_BUSY, "another recovery has it");
		goto out;
	}
	if (r.j.gone) {
		err = recover_discard(stage);
		result_set(out, RECOVER_DISCARDED, "unlinked before the crash");
		goto out;
	}
	err = s3_head(c, r.j.key, &r.obj, &res);
	r.has_obj = !err;
	if (err && err != -ENOENT) {
		char buf[256] = "";

		s3_result_str(&res, buf, sizeof(buf));
		result_set(out, RECOVER_FAILED, "HEAD: %s%s%s", strerror(-err),
			   buf[0] ? ": " : "", buf);
		goto out;
	}
	err = recovery_decide(&r, out);
	if (!err && out->outcome != RECOVER_HELD)
		err = recover_discard(stage);
out:
	if (r.has_obj)
		s3_object_free(&r.obj);
	if (r.fd >= 0)
		close(r.fd);
	free(r.ranges);
	journal_free(&r.j);
	return err;
}

/* ---- at mount ---- */

struct dir_scan {
	struct s3_client *c;
	const char *endpoint, *bucket;
	const struct commit_conditions *cond;
	int left;
};

/* Is it an earlier boot's journal of ds's endpoint and bucket? */
static bool item_is_ours(const struct recover_item *it, const struct dir_scan *ds)
{
	const char *endpoint = it->j.endpoint ? it->j.endpoint : "";

	return !it->this_boot && !strcmp(endpoint, ds->endpoint) &&
	       !strcmp(it->j.bucket, ds->bucket);
}

static int count_item(const struct recover_item *it, void *arg)
{
	struct dir_scan *ds = arg;

	if (item_is_ours(it, ds))
		ds->left++;
	return 0;
}

int recover_count(const char *dir, const char *endpoint, const char *bucket)
{
	struct dir_scan ds = { .endpoint = endpoint ? endpoint : "", .bucket = bucket };
	int err;

	err = recover_scan(dir, count_item, &ds);
	return err ? err : ds.left;
}

static int recover_item_at_mount(const struct recover_item *it, void *arg)
{
	struct dir_scan *ds = arg;
	struct recover_result out;

	if (!item_is_ours(it, ds))
		return 0;
	recover_one(ds->c, it->stage, ds->cond, false, &out);
	switch (out.outcome) {
	case RECOVER_COMMITTED:
	case RECOVER_CONFLICT:
		log_warn("recover: s3://%s/%s staged before a crash: %s as %s (%s)",
			 ds->bucket, it->j.key, recover_outcome_name(out.outcome),
			 out.key, out.why);
		break;
	case RECOVER_UNCHANGED:
	case RECOVER_DISCARDED:
	case RECOVER_BUSY:
		log_info("recover: s3://%s/%s: %s (%s)", ds->bucket, it->j.key,
			 recover_outcome_name(out.outcome), out.why);
		break;
	case RECOVER_HELD:
	case RECOVER_FAILED:
		ds->left++;
		log_warn("recover: s3://%s/%s (%s): %s: %s; see s3fctl recover",
			 ds->bucket, it->j.key, it->stage,
			 recover_outcome_name(out.outcome), out.why);
		break;
	}
	return 0;
}

int recover_dir(struct s3_client *c, const char *dir, const char *endpoint,
		const char *bucket, const struct commit_conditions *cond)
{
	struct dir_scan ds = {
		.c = c, .endpoint = endpoint ? endpoint : "", .bucket = bucket,
		.cond = cond,
	};
	int err;

	err = recover_scan(dir, recover_item_at_mount, &ds);
	if (err && err != -ENOENT)
		log_warn("recover: %s: %s", dir, strerror(-err));
	return ds.left;
}
