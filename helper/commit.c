// SPDX-License-Identifier: GPL-2.0
/*
 * The commit engine: a staged file becomes an S3 object, atomically,
 * conditional on the version it was based on, with server-side copies
 * of the parts it did not change.  Documentation/commit.md is the
 * contract; commit.h describes the API.
 *
 * One commit is one or two attempts: the key itself, and on a conflict
 * (with COMMIT_KEEP_BOTH) a fresh conflict name.  An attempt is a
 * single PUT (size up to the part size) or a multipart upload whose
 * parts run on threads through s3_parallel(); a multipart upload that
 * fails for any reason is aborted, so nothing partial ever appears.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bufbudget.h"
#include "checksum.h"
#include "commit.h"
#include "log.h"
#include "s3f.h"

#define CONFLICT	1	/* internal: the key is not in the state we expect */

/* ---- dirty ranges ---- */

static int range_cmp(const void *a, const void *b)
{
	const struct commit_range *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return 0;
}

/*
 * The dirty ranges clipped to [0, lim), sorted, overlapping and adjacent
 * ones merged, empty ones dropped.  *out is malloc'd (NULL when none).
 */
static int dirty_normalize(const struct commit_range *d, size_t n, uint64_t lim,
			   struct commit_range **out, size_t *nout)
{
	struct commit_range *v;
	size_t i, k = 0;

	*out = NULL;
	*nout = 0;
	if (!n || !lim)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		uint64_t s = d[i].off, e;

		if (s >= lim || !d[i].len)
			continue;
		e = d[i].len > lim - s ? lim : s + d[i].len;
		v[k++] = (struct commit_range){ s, e - s };
	}
	qsort(v, k, sizeof(*v), range_cmp);
	n = k;
	k = 0;
	for (i = 0; i < n; i++) {
		if (k && v[i].off <= v[k - 1].off + v[k - 1].len) {
			uint64_t e = v[i].off + v[i].len;

			if (e > v[k - 1].off + v[k - 1].len)
				v[k - 1].len = e - v[k - 1].off;
		} else {
			v[k++] = v[i];
		}
	}
	if (!k) {
		free(v);
		return 0;
	}
	*out = v;
	*nout = k;
	return 0;
}

/* Bytes of the base the new object can share: [0, copyable). */
static uint64_t copyable_len(const struct commit_source *src)
{
	if (!src->base_etag || src->all_dirty)
		return 0;
	return src->size < src->base_size ? src->size : src->base_size;
}

/* Is some byte of [s, e) clean (inside the base and in no dirty range)? */
static bool has_clean(const struct commit_range *d, size_t n, uint64_t copyable,
		      uint64_t s, uint64_t e)
{
	size_t i;

	if (e > copyable)
		e = copyable;
	for (i = 0; i < n && s < e; i++) {
		if (d[i].off + d[i].len <= s)
			continue;
		if (d[i].off > s)
			return true;
		s = d[i].off + d[i].len;
	}
	return s < e;
}

/* ---- planning ---- */

struct plan {
	struct commit_part *v;
	size_t n, cap;
};

static int plan_push(struct plan *p, uint64_t off, uint64_t len, bool copy)
{
	struct commit_part *v;

	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		v = realloc(p->v, p->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->v = v;
	}
	p->v[p->n++] = (struct commit_part){ off, len, copy };
	return 0;
}

/*
 * [s, e) in pieces of chunk bytes; a remainder below 5 MiB joins the
 * previous piece unless [s, e) ends the object (the last part may be
 * small).  Callers guarantee e - s >= 5 MiB unless it ends the object.
 */
static int plan_split(struct plan *p, uint64_t s, uint64_t e, uint64_t chunk,
		      bool copy, bool tail)
{
	uint64_t len = e - s, cnt = len / chunk, r = len % chunk, j;
	struct commit_part *last;
	int err;

	if (!len)
		return 0;
	if (!cnt)
		return plan_push(p, s, len, copy);
	for (j = 0; j < cnt; j++) {
		err = plan_push(p, s + j * chunk, chunk, copy);
		if (err)
			return err;
	}
	if (!r)
		return 0;
	if (r >= S3_MIN_PART_SIZE || tail)
		return plan_push(p, s + cnt * chunk, r, copy);
	last = &p->v[p->n - 1];
	last->len += r;
	if (last->len > S3_MAX_PART_SIZE) {
		/* two halves, each far above the minimum */
		uint64_t whole = last->len, half = whole / 2;

		last->len = half;
		return plan_push(p, last->off + half, whole - half, copy);
	}
	return 0;
}

/*
 * The uploads, in place: u[0..n) are the dirty ranges (and whatever
 * lies past the base), sorted and merged.  Widen and join them so that
 * every upload and every copy between them is at least wmin bytes
 * (S3's 5 MiB minimum part, more when there are too many parts); only
 * the stretch that ends the object may be shorter.  A short upload
 * grows into the clean bytes on its left first (leaving room on its
 * right for the next one), then on its right; it joins the next upload
 * when the gap between them cannot be copied, or costs no more than
 * widening both.  Returns the new count.
 */
static size_t plan_uploads(struct commit_range *u, size_t n, uint64_t size,
			   uint64_t wmin)
{
	uint64_t cs, ce, ns, ne, gap, need, need_next, l, r, el, er;
	uint64_t prev_end = 0;		/* end of the last upload placed */
	size_t i, k = 0;

	if (!n)
		return 0;
	cs = u[0].off;
	ce = cs + u[0].len;
	if (cs && cs < wmin)
		cs = 0;			/* a clean head too small to copy */
	for (i = 1; i < n; i++) {
		ns = u[i].off;
		ne = ns + u[i].len;
		gap = ns - ce;
		need = ce - cs < wmin ? wmin - (ce - cs) : 0;
		need_next = ne - ns < wmin && ne < size ? wmin - (ne - ns) : 0;
		if (gap < wmin || (need && gap <= need + need_next)) {
			ce = ne;	/* join */
			continue;
		}
		if (need) {
			l = cs - prev_end >= wmin ? cs - prev_end - wmin : 0;
			r = gap - wmin;
			el = need < l ? need : l;
			er = need - el;
			if (er > r) {
				ce = ne;
				continue;
			}
			cs -= el;
			ce += er;
		}
		u[k++] = (struct commit_range){ cs, ce - cs };
		prev_end = ce;
		cs = ns;
		ce = ne;
	}
	/* the last upload can grow into the clean tail, or end the object */
	if (ce - cs < wmin && ce < size)
		ce = size - cs < wmin ? size : cs + wmin;
	u[k++] = (struct commit_range){ cs, ce - cs };
	return k;
}

/* One plan with these sizes: uploads of ps, copies of cs, widened to wmin. */
static int plan_once(const struct commit_source *src, uint64_t ps, uint64_t cs,
		     uint64_t wmin, struct plan *p)
{
	uint64_t size = src->size, copyable = copyable_len(src), prev;
	struct commit_range *u = NULL, *d;
	size_t n = 0, i;
	int err;

	err = dirty_normalize(src->dirty, src->ndirty, copyable, &d, &n);
	if (err)
		return err;
	u = realloc(d, (n + 1) * sizeof(*u));
	if (!u) {
		free(d);
		return -ENOMEM;
	}
	if (copyable < size) {
		if (n && u[n - 1].off + u[n - 1].len == copyable)
			u[n - 1].len = size - u[n - 1].off;
		else
			u[n++] = (struct commit_range){ copyable, size - copyable };
	}
	n = plan_uploads(u, n, size, wmin);

	prev = 0;
	for (i = 0; i < n && !err; i++) {
		uint64_t s = u[i].off, e = s + u[i].len;

		if (s > prev)
			err = plan_split(p, prev, s, cs, true, false);
		if (!err)
			err = plan_split(p, s, e, ps, false, e == size);
		prev = e;
	}
	if (!err && prev < size)
		err = plan_split(p, prev, size, cs, true, true);
	free(u);
	return err;
}

int commit_plan(const struct commit_source *src, uint64_t part_size,
		struct commit_part **parts, size_t *nparts)
{
	uint64_t ps = part_size < S3_MIN_PART_SIZE ? S3_MIN_PART_SIZE : part_size;
	uint64_t cs, wmin = S3_MIN_PART_SIZE;
	struct plan p = { 0 };
	int err;

	*parts = NULL;
	*nparts = 0;
	if (ps > S3_MAX_PART_SIZE)
		ps = S3_MAX_PART_SIZE;
	for (;;) {
		cs = ps > COMMIT_COPY_PART_SIZE ? ps : COMMIT_COPY_PART_SIZE;
		if (cs > S3_MAX_PART_SIZE)
			cs = S3_MAX_PART_SIZE;
		p.n = 0;
		err = plan_once(src, ps, cs, wmin, &p);
		if (err) {
			free(p.v);
			return err;
		}
		if (p.n <= S3_MAX_PARTS)
			break;
		/* too many parts: bigger parts, fewer and wider uploads */
		if (ps >= S3_MAX_PART_SIZE) {
			free(p.v);
			return -EFBIG;
		}
		ps *= 2;
		if (ps > S3_MAX_PART_SIZE)
			ps = S3_MAX_PART_SIZE;
		wmin *= 2;
		if (wmin > ps)
			wmin = ps;
	}
	*parts = p.v;
	*nparts = p.n;
	return 0;
}

/* ---- conflict names ---- */

int commit_conflict_name(const char *key, time_t when, uint32_t rnd, char **out)
{
	const char *slash, *comp;
	size_t klen, dirlen, clen, maxc, cut;
	char stamp[32], suffix[64];
	struct tm tm;
	int n;

	*out = NULL;
	klen = key ? strlen(key) : 0;
	if (!klen || key[klen - 1] == '/')
		return -EINVAL;
	if (!gmtime_r(&when, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm))
		return -EINVAL;
	n = snprintf(suffix, sizeof(suffix), ".s3f-conflict-%s-%08" PRIx32,
		     stamp, rnd);
	if (n < 0 || (size_t)n >= sizeof(suffix))
		return -EINVAL;
	slash = strrchr(key, '/');
	comp = slash ? slash + 1 : key;
	dirlen = comp - key;
	clen = klen - dirlen;
	/* the component must stay a file name, the key an S3 key */
	if ((size_t)n >= COMMIT_NAME_MAX || dirlen + n >= COMMIT_KEY_MAX)
		return -ENAMETOOLONG;
	maxc = COMMIT_NAME_MAX - n;
	if (maxc > COMMIT_KEY_MAX - n - dirlen)
		maxc = COMMIT_KEY_MAX - n - dirlen;
	cut = clen;
	if (cut > maxc) {
		cut = maxc;
		/* never split a UTF-8 sequence: back up to its first byte */
		while (cut && ((unsigned char)comp[cut] & 0xC0) == 0x80)
			cut--;
	}
	if (!cut)
		return -ENAMETOOLONG;
	if (asprintf(out, "%.*s%.*s%s", (int)dirlen, key, (int)cut, comp,
		     suffix) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static uint32_t random32(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) == sizeof(r))
		return r;
	return (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16) ^
	       (uint32_t)(uintptr_t)&r;
}

/* ---- one attempt ---- */

struct commit_ctx {
	struct s3_client *c;
	const struct commit_source *src;
	const struct commit_opts *o;
	uint64_t part_size;
	int jobs;
	uint64_t copyable;		/* [0, copyable) of the base may be shared */
	struct commit_range *dirty;	/* normalised, inside [0, copyable) */
	size_t ndirty;
	struct commit_result *out;	/* counters accumulate here (atomics) */
};

struct attempt {
	struct commit_ctx *x;
	const char *key;
	/* the base may be used (copies, clean bytes): it lives at key */
	bool use_base;
	const char *upload_id;
	struct commit_part *plan;
	size_t nplan;
	struct s3_part *parts;
	int conflict;			/* atomic: a part found the base gone */
};

static void add_stat(uint64_t *v, uint64_t n)
{
	__atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

static void __attribute__((format(printf, 2, 3)))
set_conflict_res(struct s3_result *res, const char *fmt, ...)
{
	va_list ap;

	memset(res, 0, sizeof(*res));
	snprintf(res->code, sizeof(res->code), "Conflict");
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

/*
 * Does key hold what this attempt expects (base_etag, or nothing)?
 * 0 yes, CONFLICT no, else -errno.
 */
static int head_check(struct s3_client *c, const char *key,
		      const char *base_etag, struct s3_result *res)
{
	struct s3_object obj;
	int err;

	err = s3_head(c, key, &obj, res);
	if (err == -ENOENT) {
		if (!base_etag)
			return 0;
		set_conflict_res(res, "%s was deleted by another writer", key);
		return CONFLICT;
	}
	if (err)
		return err;
	if (base_etag && !strcmp(obj.etag, base_etag)) {
		s3_object_free(&obj);
		return 0;
	}
	if (base_etag)
		set_conflict_res(res, "replaced by another writer (ETag now %s)",
				 obj.etag);
	else
		set_conflict_res(res, "created by another writer (ETag %s)",
				 obj.etag);
	s3_object_free(&obj);
	return CONFLICT;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = pread(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;	/* shorter than its size says */
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

/*
 * Bytes [off, off + len) of the new object as a request body with its
 * checksums.  From the staged file, unless it is sparse and the range
 * holds clean bytes: then they are read from the base (one ranged GET,
 * whose ETag must still be the base's) and the dirty ones laid over
 * them, in *mem (bufbudget_free(*mem, body->len) after the request).
 */
static int make_body(struct attempt *a, uint64_t off, uint64_t len,
		     bool want_crc, struct s3_body *body,
		     struct body_checksums *sums, void **mem,
		     struct s3_result *res)
{
	struct commit_ctx *x = a->x;
	const struct commit_source *src = x->src;
	uint64_t end = off + len, fend, s, e;
	struct s3_object obj;
	size_t got, i;
	char *buf;
	int err;

	*mem = NULL;
	*body = (struct s3_body){ .fd = src->fd, .offset = off, .len = len };
	if (src->sparse && a->use_base &&
	    has_clean(x->dirty, x->ndirty, x->copyable, off, end)) {
		fend = end < x->copyable ? end : x->copyable;
		buf = bufbudget_alloc(len);
		if (!buf)
			return -ENOMEM;
		err = s3_get(x->c, a->key, off, fend - off, buf, fend - off,
			     &got, &obj, res);
		if (err == -ENOENT) {
			set_conflict_res(res, "%s was deleted by another writer",
					 a->key);
			err = CONFLICT;
		} else if (!err) {
			if (strcmp(obj.etag, src->base_etag)) {
				set_conflict_res(res, "replaced by another writer (ETag now %s)",
						 obj.etag);
				err = CONFLICT;
			} else if (got != fend - off) {
				set_conflict_res(res, "%s",
						 "the base object is shorter than its size");
				err = CONFLICT;
			} else {
				add_stat(&x->out->bytes_fetched, got);
			}
			s3_object_free(&obj);
		}
		for (i = 0; !err && i < x->ndirty; i++) {
			s = x->dirty[i].off;
			e = s + x->dirty[i].len;
			if (e <= off || s >= fend)
				continue;
			s = s < off ? off : s;
			e = e > fend ? fend : e;
			err = pread_full(src->fd, buf + (s - off), e - s, s);
		}
		if (!err && fend < end)	/* past the base: the staged file's */
			err = pread_full(src->fd, buf + (fend - off), end - fend, fend);
		if (err) {
			bufbudget_free(buf, len);
			return err;
		}
		body->buf = buf;
		*mem = buf;
	}
	err = body_checksum(body, want_crc, sums);
	if (err) {
		bufbudget_free(*mem, len);
		*mem = NULL;
		return err;
	}
	body->content_md5 = sums->md5;
	if (want_crc)
		body->checksum_crc32c = sums->crc32c;
	return 0;
}

/* Is this failure of the PUT or the Complete a conflict? */
static bool is_conflict(int err, const char *base_etag,
			const struct s3_result *res)
{
	if (err == -ESTALE || err == -EEXIST)
		return true;
	/*
	 * AWS answers If-Match on a missing key with 404 NoSuchKey; a
	 * multipart upload that vanished (NoSuchUpload) is no conflict.
	 */
	return err == -ENOENT && base_etag && strcmp(res->code, "NoSuchUpload");
}

/* The kernel cancelled the commit (commit_opts.cancel). */
static bool cancelled(const struct commit_ctx *x)
{
	return x->o->cancel && __atomic_load_n(x->o->cancel, __ATOMIC_ACQUIRE);
}

static int part_fn(void *arg, size_t i, struct s3_result *res)
{
	struct attempt *a = arg;
	struct commit_ctx *x = a->x;
	const struct commit_part *p = &a->plan[i];
	struct body_checksums sums;
	struct s3_body body;
	void *mem;
	int err;

	a->parts[i].number = i + 1;
	if (cancelled(x))
		return -ECANCELED;
	if (p->copy) {
		err = s3_mpu_upload_part_copy(x->c, a->key, a->upload_id, i + 1,
					      a->key, p->off, p->len,
					      x->src->base_etag,
					      a->parts[i].etag, res);
		if (!err)
			add_stat(&x->out->bytes_copied, p->len);
		else if (err == -ESTALE ||
			 (err == -ENOENT && strcmp(res->code, "NoSuchUpload")))
			__atomic_store_n(&a->conflict, 1, __ATOMIC_RELAXED);
		return err;
	}
	err = make_body(a, p->off, p->len, false, &body, &sums, &mem, res);
	if (err == CONFLICT) {
		__atomic_store_n(&a->conflict, 1, __ATOMIC_RELAXED);
		return -ESTALE;
	}
	if (!err)
		err = s3_mpu_upload_part(x->c, a->key, a->upload_id, i + 1,
					 &body, a->parts[i].etag, res);
	if (!err)
		add_stat(&x->out->bytes_uploaded, p->len);
	bufbudget_free(mem, p->len);
	/* the upload is alive: its note is no leftover (commit.h) */
	if (!err && x->o->upload_note)
		utimensat(AT_FDCWD, x->o->upload_note, NULL, 0);
	return err;
}

/*
 * Right before the request that makes the object visible: the test
 * seam, and the last point where a cancelled commit stops (-ECANCELED:
 * nothing is published).
 */
static int publish_point(struct commit_ctx *x, const char *key, bool first)
{
	if (first && x->o->before_publish)
		x->o->before_publish(x->o->before_publish_arg, key);
	return cancelled(x) ? -ECANCELED : 0;
}

static int commit_single(struct attempt *a, const char *base_etag, bool first,
			 const struct s3_put_opts *put, struct s3_result *res)
{
	struct commit_ctx *x = a->x;
	struct body_checksums sums;
	struct s3_body body;
	void *mem;
	int err;

	err = publish_point(x, a->key, first);
	if (err)
		return err;
	if (!x->o->conditions.put) {
		err = head_check(x->c, a->key, base_etag, res);
		if (err)
			return err;
	}
	err = make_body(a, 0, x->src->size, true, &body, &sums, &mem, res);
	if (err)
		return err;
	err = s3_put(x->c, a->key, &body, put, x->out->etag, res);
	bufbudget_free(mem, x->src->size);
	if (!err)
		add_stat(&x->out->bytes_uploaded, x->src->size);
	if (is_conflict(err, base_etag, res))
		return CONFLICT;
	return err;
}

enum own_commit {
	OWN_NOT,	/* another writer's object, or none */
	OWN_THIS,	/* this very commit, published by an attempt whose answer was lost */
	OWN_EARLIER,	/* an earlier attempt of this writer since its base */
	OWN_TORN,	/* this commit's tag on an object of another size */
};

static enum own_commit own_commit_landed(struct s3_client *c, const char *key,
					 const struct commit_opts *o,
					 uint64_t want_size,
					 struct commit_result *out,
					 char *etag, uint64_t *size);

/*
 * The Complete failed with NoSuchUpload: the upload is gone.  When an
 * earlier attempt of this very request completed it and its answer was
 * lost on the way, the object carries this commit's tag: a success
 * (out->etag set), not a failure and not a conflict.
 */
static bool complete_landed(struct commit_ctx *x, const char *key, int err,
			    const struct s3_result *res)
{
	char etag[S3_ETAG_MAX];
	uint64_t size;

	if (err != -ENOENT || strcmp(res->code, "NoSuchUpload") ||
	    !x->o->own_commit_tag)
		return false;
	return own_commit_landed(x->c, key, x->o, x->src->size, x->out, etag,
				 &size) == OWN_THIS;
}

/* ---- notes of uploads in progress (commit_opts.upload_note) ---- */

static void upload_note_clear(const char *note)
{
	if (note && unlink(note) && errno != ENOENT)
		log_debug("upload note %s: %s", note, strerror(errno));
}

static void upload_note_write(struct s3_client *c, const char *note,
			      const char *key, const char *upload_id)
{
	FILE *f;

	if (!note)
		return;
	f = fopen(note, "we");
	if (!f && errno == ENOENT) {
		/* its directory, the first time */
		char *dir = strdup(note), *slash = dir ? strrchr(dir, '/') : NULL;

		if (slash) {
			*slash = '\0';
			mkdir(dir, 0700);
		}
		free(dir);
		f = fopen(note, "we");
	}
	if (!f) {
		log_debug("upload note %s: %s", note, strerror(errno));
		return;
	}
	fprintf(f, "%s\n%s\n%s %s\n", key, upload_id, s3_client_host(c),
		s3_client_bucket(c));
	if (fclose(f))
		upload_note_clear(note);
}

/*
 * The upload a note names, when it is one of c's endpoint and bucket:
 * aborted, and the note removed.  Returns false when the note is of
 * another server (left alone).
 */
bool commit_abort_noted_upload(struct s3_client *c, const char *note)
{
	char key[S3F_MAX_KEY_LEN + 2], id[1024], where[1024], mine[1024];
	bool ours = true;
	FILE *f;

	if (!note || !(f = fopen(note, "re")))
		return true;
	if (fgets(key, sizeof(key), f) && fgets(id, sizeof(id), f)) {
		key[strcspn(key, "\n")] = '\0';
		id[strcspn(id, "\n")] = '\0';
		snprintf(mine, sizeof(mine), "%s %s\n", s3_client_host(c),
			 s3_client_bucket(c));
		ours = fgets(where, sizeof(where), f) && !strcmp(where, mine);
		if (ours && key[0] && id[0] && !s3_mpu_abort(c, key, id, NULL))
			log_info("commit %s: aborted upload %s, left by an earlier helper",
				 key, id);
	}
	fclose(f);
	if (ours)
		upload_note_clear(note);
	return ours;
}

static int commit_multipart(struct attempt *a, const char *base_etag,
			    bool first, const struct s3_put_opts *put,
			    struct s3_result *res)
{
	struct commit_ctx *x = a->x;
	struct commit_source view = *x->src;
	char *upload_id = NULL;
	int err;

	/* cheap, and it spares uploading gigabytes to a key already taken */
	err = head_check(x->c, a->key, base_etag, res);
	if (err)
		return err;
	if (!a->use_base)
		view.base_etag = NULL;	/* everything uploaded */
	err = commit_plan(&view, x->part_size, &a->plan, &a->nplan);
	if (err)
		return err;
	a->parts = calloc(a->nplan, sizeof(*a->parts));
	if (!a->parts)
		return -ENOMEM;
	/* an earlier helper's upload for this writer, left in progress */
	commit_abort_noted_upload(x->c, x->o->upload_note);
	err = s3_mpu_create(x->c, a->key, put, &upload_id, res);
	if (err)
		return err;
	upload_note_write(x->c, x->o->upload_note, a->key, upload_id);
	a->upload_id = upload_id;
	err = s3_parallel(a->nplan, x->jobs, part_fn, a, res);
	if (__atomic_load_n(&a->conflict, __ATOMIC_RELAXED)) {
		if (!err || err == -ESTALE || err == -ENOENT)
			set_conflict_res(res, "%s",
					 "the base object changed during the upload");
		err = CONFLICT;
	}
	if (!err)
		err = publish_point(x, a->key, first);
	if (err)
		goto out_abort;
	if (!x->o->conditions.complete) {
		err = head_check(x->c, a->key, base_etag, res);
		if (err)
			goto out_abort;
	}
	err = s3_mpu_complete(x->c, a->key, upload_id, a->parts, a->nplan, put,
			      x->out->etag, res);
	if (complete_landed(x, a->key, err, res))
		err = 0;
	if (is_conflict(err, base_etag, res))
		err = CONFLICT;
	if (!err) {
		x->out->nparts = a->nplan;
		goto out_free;
	}
out_abort:
	/* nothing partial stays behind, visible or not */
	s3_mpu_abort(x->c, a->key, upload_id, NULL);
out_free:
	upload_note_clear(x->o->upload_note);
	free(upload_id);
	a->upload_id = NULL;
	return err;
}

/*
 * Commit to key, expecting it to hold base_etag (NULL: nothing).
 * use_base: the base is the object at key, parts may be copied from it.
 * Returns 0, CONFLICT or -errno.
 */
static int commit_to(struct commit_ctx *x, const char *key,
		     const char *base_etag, bool use_base, bool first,
		     struct s3_result *res)
{
	struct attempt a = { .x = x, .key = key, .use_base = use_base };
	struct s3_put_opts put = { 0 };
	int err;

	if (x->o->put) {
		put.meta = x->o->put->meta;
		put.nmeta = x->o->put->nmeta;
		put.content_type = x->o->put->content_type;
	}
	if (x->o->conditions.put) {
		if (base_etag)
			put.if_match = base_etag;
		else
			put.if_none_match = true;
	}
	x->out->nparts = 0;
	if (x->src->size <= x->part_size)
		err = commit_single(&a, base_etag, first, &put, res);
	else
		err = commit_multipart(&a, base_etag, first, &put, res);
	free(a.plan);
	free(a.parts);
	return err;
}

/* ---- the commit ---- */

void commit_result_free(struct commit_result *r)
{
	free(r->key);
	r->key = NULL;
}


/*
 * Whose is the object at key?  Its tag (COMMIT_TAG_META) says: this
 * commit's own tag, or the same writer session's (o->own_session, the
 * tag's prefix up to and including '-').  This commit's tag on an object
 * that is not this commit's size is an attempt the server kept torn (a
 * server that stores a PUT cut short): ours to replace, never a
 * success.  For OWN_THIS, out->etag is set; for OWN_EARLIER and
 * OWN_TORN, *etag and *size describe that object.
 */
static enum own_commit own_commit_landed(struct s3_client *c, const char *key,
					 const struct commit_opts *o,
					 uint64_t want_size,
					 struct commit_result *out,
					 char *etag, uint64_t *size)
{
	enum own_commit own = OWN_NOT;
	struct s3_object obj;
	struct s3_result res;
	const char *tag;

	if (s3_head(c, key, &obj, &res))
		return OWN_NOT;
	tag = s3_object_meta(&obj, COMMIT_TAG_META);
	snprintf(etag, S3_ETAG_MAX, "%s", obj.etag);
	*size = obj.size;
	if (tag && !strcmp(tag, o->own_commit_tag) && obj.size == want_size) {
		own = OWN_THIS;
		snprintf(out->etag, sizeof(out->etag), "%s", obj.etag);
		log_info("commit %s: already published by an earlier attempt of this commit (ETag %s)",
			 key, obj.etag);
	} else if (tag && !strcmp(tag, o->own_commit_tag)) {
		own = OWN_TORN;
		log_warn("commit %s: the server kept an earlier attempt of this commit cut short (%" PRIu64 " of %" PRIu64 " bytes): replacing it",
			 key, obj.size, want_size);
	} else if (tag && o->own_session && o->own_session[0] &&
		   !strncmp(tag, o->own_session, strlen(o->own_session))) {
		own = OWN_EARLIER;
		log_info("commit %s: the object is this writer's earlier attempt (ETag %s): committing on top of it",
			 key, obj.etag);
	}
	s3_object_free(&obj);
	return own;
}

int commit_object(struct s3_client *c, const char *key,
		  const struct commit_source *src, const struct commit_opts *o,
		  struct commit_result *out, struct s3_result *res)
{
	static const struct commit_opts dflt;
	struct commit_ctx x = { .c = c, .src = src, .out = out };
	struct s3_result local;
	char *name = NULL;
	int err, tries;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	memset(out, 0, sizeof(*out));
	if (!o)
		o = &dflt;
	if (!key || !*key || (src->size && src->fd < 0) ||
	    (src->ndirty && !src->dirty))
		return -EINVAL;
	x.o = o;
	x.part_size = o->part_size ? o->part_size : COMMIT_DEFAULT_PART_SIZE;
	if (x.part_size < S3_MIN_PART_SIZE)
		x.part_size = S3_MIN_PART_SIZE;
	if (x.part_size > S3_MAX_PART_SIZE)
		x.part_size = S3_MAX_PART_SIZE;
	x.jobs = o->jobs > 0 ? o->jobs : COMMIT_DEFAULT_JOBS;
	x.copyable = copyable_len(src);
	err = dirty_normalize(src->dirty, src->ndirty, x.copyable, &x.dirty,
			      &x.ndirty);
	if (err)
		return err;

	err = commit_to(&x, key, src->base_etag, true, true, res);
	if (err == CONFLICT && o->own_commit_tag) {
		char etag[S3_ETAG_MAX];
		uint64_t size;

		switch (own_commit_landed(c, key, o, src->size, out, etag, &size)) {
		case OWN_THIS:
			err = 0;
			break;
		case OWN_TORN:
			/* its bytes are no base: only a source with none clean replaces it */
			if (src->sparse && has_clean(x.dirty, x.ndirty, x.copyable, 0,
						     x.copyable)) {
				err = -ESTALE;
				goto out;
			}
			/* fall through */
		case OWN_EARLIER: {
			/*
			 * Our own version is the base now.  Its bytes outside
			 * the dirty ranges are the old base's: the ranges only
			 * grow until a commit succeeds.
			 */
			struct commit_source rebased = *src;
			struct commit_opts once = *o;

			rebased.base_etag = etag;
			rebased.base_size = size;
			once.own_session = NULL;	/* once */
			free(x.dirty);
			return commit_object(c, key, &rebased, &once, out, res);
		}
		case OWN_NOT:
			break;
		}
	}
	if (err != CONFLICT)
		goto out;

	log_info("commit %s: another writer changed it since %s", key,
		 src->base_etag ? src->base_etag : "(new file)");
	if (o->on_conflict == COMMIT_FAIL) {
		err = src->base_etag ? -ESTALE : -EEXIST;
		goto out;
	}
	if (src->sparse && has_clean(x.dirty, x.ndirty, x.copyable, 0,
				     x.copyable)) {
		/* the clean bytes lived only in the version that is gone */
		log_warn("commit %s: changed by another writer, and the staged file lacks bytes of the replaced version: not committed",
			 key);
		err = -ESTALE;
		goto out;
	}
	/* a fresh name each time: a collision is a conflict there too */
	for (tries = 0; tries < 5; tries++) {
		err = commit_conflict_name(key, time(NULL), random32(), &name);
		if (err)
			goto out;
		err = commit_to(&x, name, NULL, false, false, res);
		if (err != CONFLICT)
			break;
		free(name);
		name = NULL;
	}
	if (err == CONFLICT)
		err = -EEXIST;
	if (!err) {
		out->conflict = true;
		log_warn("commit %s: changed by another writer; this version kept as %s",
			 key, name);
	}
out:
	if (!err) {
		out->key = name ? name : strdup(key);
		name = NULL;
		if (!out->key)
			err = -ENOMEM;
	}
	free(name);
	free(x.dirty);
	return err;
}

/* ---- probing the server ---- */

int commit_probe_conditions(struct s3_client *c, const char *probe_key,
			    struct commit_conditions *out)
{
	static const char text[] = "s3f probe: are conditional writes honoured?\n";
	struct s3_body body = { .buf = text, .fd = -1, .len = sizeof(text) - 1 };
	struct s3_put_opts cond = { .if_none_match = true };
	struct s3_part part = { .number = 1 };
	char etag[S3_ETAG_MAX], *key, *upload_id = NULL;
	struct s3_result res;
	int err;

	memset(out, 0, sizeof(*out));
	if (asprintf(&key, "%s-%08" PRIx32 "%08" PRIx32, probe_key, random32(),
		     random32()) < 0)
		return -ENOMEM;
	err = s3_put(c, key, &body, &cond, etag, &res);
	if (err == -EINVAL || err == -EOPNOTSUPP) {
		/* the server refuses the header itself: no conditions */
		err = 0;
		goto out_free;
	}
	if (err == -EEXIST) {
		/*
		 * Nobody else knows this random key: an attempt whose
		 * answer was lost made it, and the retry was refused.
		 */
		out->put = true;
	} else if (err) {
		goto out_delete;	/* an attempt may have made it */
	} else {
		err = s3_put(c, key, &body, &cond, etag, &res);
		if (err && err != -EEXIST)
			goto out_delete;
		out->put = err == -EEXIST;
	}
	err = 0;
	if (!out->put)
		goto out_delete;

	err = s3_mpu_create(c, key, NULL, &upload_id, &res);
	if (err)
		goto out_delete;
	err = s3_mpu_upload_part(c, key, upload_id, 1, &body, part.etag, &res);
	if (!err)
		err = s3_mpu_complete(c, key, upload_id, &part, 1, &cond, etag,
				      &res);
	out->complete = err == -EEXIST;
	if (err)
		s3_mpu_abort(c, key, upload_id, NULL);
	if (err == -EEXIST)
		err = 0;
out_delete:
	s3_delete(c, key, NULL);
out_free:
	log_info("s3: conditional writes on PUT %s, on Complete %s",
		 out->put ? "honoured" : "ignored",
		 out->complete ? "honoured" : "ignored");
	free(upload_id);
	free(key);
	return err;
}
