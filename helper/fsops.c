// SPDX-License-Identifier: GPL-2.0
/*
 * The write path's S3 operations (fsops.h): namespace changes and the
 * commit of a staged file, as plain functions of an S3 client.
 *
 * S3 has no directories and no rename: a directory is a "dir/" marker
 * (or just keys under "dir/"), a rename is a copy and a delete.  A file
 * rename is one CopyObject (metadata copied with it) and one
 * DeleteObject; a directory rename moves every key under the directory
 * that way: all copies first, then all deletions, so a failure leaves
 * both trees (never neither).  Neither is atomic for other clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mimetypes.h"
#include "staging.h"
#include "fsops.h"
#include "xattrs.h"

#define FSOP_LIST_PAGE		1000
#define FSOP_COPY_PART_SIZE	(512ULL << 20)
#define FSOP_JOBS		4

/* ---- metadata ---- */

void fsop_format_time(int64_t ns, char *buf, size_t len)
{
	int64_t sec = ns / 1000000000LL, frac = ns % 1000000000LL;

	if (frac < 0) {		/* before 1970: floor seconds, positive fraction */
		sec--;
		frac += 1000000000LL;
	}
	if (frac)
		snprintf(buf, len, "%" PRId64 ".%09" PRId64, sec, frac);
	else
		snprintf(buf, len, "%" PRId64, sec);
}

static void meta_add(struct fsop_meta_kv *out, const char *name)
{
	out->kv[out->n].name = (char *)name;
	out->kv[out->n].value = out->val[out->n];
	out->n++;
}

void fsop_meta_kv(const struct fsop_meta *m, struct fsop_meta_kv *out)
{
	out->n = 0;
	if (m->has_mode) {
		snprintf(out->val[out->n], FSOP_META_LEN, "%" PRIu32, m->mode);
		meta_add(out, "mode");
	}
	if (m->has_uid) {
		snprintf(out->val[out->n], FSOP_META_LEN, "%" PRIu32, m->uid);
		meta_add(out, "uid");
	}
	if (m->has_gid) {
		snprintf(out->val[out->n], FSOP_META_LEN, "%" PRIu32, m->gid);
		meta_add(out, "gid");
	}
	if (m->has_mtime) {
		fsop_format_time(m->mtime_ns, out->val[out->n], FSOP_META_LEN);
		meta_add(out, "mtime");
	}
	if (m->has_atime) {
		fsop_format_time(m->atime_ns, out->val[out->n], FSOP_META_LEN);
		meta_add(out, "atime");
	}
	if (m->has_ctime) {
		fsop_format_time(m->ctime_ns, out->val[out->n], FSOP_META_LEN);
		meta_add(out, "ctime");
	}
	if (m->rdev) {
		snprintf(out->val[out->n], FSOP_META_LEN, "%" PRIu64, m->rdev);
		meta_add(out, "rdev");
	}
	/* the kernel checked the size (S3F_XATTR_HDR_MAX); bad records: none */
	if (m->has_xattrs && m->xattrs_len &&
	    !xattrs_encode(m->xattrs, m->xattrs_len, out->xattr, sizeof(out->xattr))) {
		out->kv[out->n].name = (char *)"xattr";
		out->kv[out->n].value = out->xattr;
		out->n++;
	}
}

/* An answer decided here, not by the server: *res must not show the last request's. */
static int refuse(int err, struct s3_result *res)
{
	if (res)
		memset(res, 0, sizeof(*res));
	return err;
}

static bool is_dir_key(const char *key)
{
	size_t len = strlen(key);

	return len && key[len - 1] == '/';
}

/* ---- delete, mkdir, rmdir, symlink ---- */

int fsop_delete(struct s3_client *c, const char *key, struct s3_result *res)
{
	int err;

	if (!key[0])
		return -EINVAL;
	err = s3_delete(c, key, res);
	return err == -ENOENT ? 0 : err;
}

int fsop_mkdir(struct s3_client *c, const char *key, const struct fsop_meta *m,
	       char etag[S3_ETAG_MAX], struct s3_result *res)
{
	struct s3_body empty = { .fd = -1 };
	struct s3_put_opts put = { .content_type = "application/x-directory" };
	struct fsop_meta_kv kv;

	if (!is_dir_key(key))
		return -EINVAL;
	fsop_meta_kv(m, &kv);
	put.meta = kv.kv;
	put.nmeta = kv.n;
	return s3_put(c, key, &empty, &put, etag, res);
}

/*
 * An old-style directory object: "dir" without the '/', as s3fs-fuse
 * versions before 1.7x and other tools made them (Content-Type
 * application/x-directory, or a directory's x-amz-meta-mode).
 */
bool fsop_is_old_dir_object(const struct s3_object *obj)
{
	const char *mode = s3_object_meta(obj, "mode");
	const char *type = obj->content_type;

	if (obj->size)
		return false;
	if (type && !strncmp(type, "application/x-directory", 23) &&
	    (!type[23] || type[23] == ';'))
		return true;
	return mode && S_ISDIR(strtoul(mode, NULL, 10));
}

/*
 * dir/ (key) has a marker or is gone: an old-style "dir" object beside it
 * would show the directory again.  Delete it; failures only logged.
 */
static void drop_old_dir_object(struct s3_client *c, const char *key)
{
	struct s3_object obj;
	char *name;

	name = strndup(key, strlen(key) - 1);
	if (!name)
		return;
	if (!s3_head(c, name, &obj, NULL)) {
		if (fsop_is_old_dir_object(&obj) && fsop_delete(c, name, NULL))
			log_warn("%s: cannot delete the old-style directory object", name);
		s3_object_free(&obj);
	}
	free(name);
}

/*
 * obj's metadata with each of set[i] (nset of them) put in: a name it has
 * gets the new value, a new name is added, a NULL value removes the name.
 * *out (calloc'd, free() it; its strings are obj's and set's) and *n.
 */
static int meta_merge(const struct s3_object *obj, const struct s3_kv *set,
		      size_t nset, struct s3_kv **out, size_t *n)
{
	struct s3_kv *kv = calloc(obj->nmeta + nset, sizeof(*kv));
	size_t i, j;

	if (!kv)
		return -ENOMEM;
	memcpy(kv, obj->meta, obj->nmeta * sizeof(*kv));
	*n = obj->nmeta;
	for (i = 0; i < nset; i++) {
		for (j = 0; j < *n && strcmp(kv[j].name, set[i].name); j++)
			;
		if (!set[i].value) {
			if (j < *n)
				kv[j] = kv[--(*n)];
			continue;
		}
		kv[j] = set[i];
		if (j == *n)
			(*n)++;
	}
	*out = kv;
	return 0;
}

int fsop_setattr_dir(struct s3_client *c, const char *key,
		     const struct fsop_meta *m, unsigned int fields,
		     char etag[S3_ETAG_MAX], struct s3_result *res)
{
	static const struct { unsigned int flag; const char *name; } map[] = {
		{ S3F_MKDIR_MODE, "mode" }, { S3F_MKDIR_OWNER, "uid" },
		{ S3F_MKDIR_OWNER, "gid" }, { S3F_MKDIR_MTIME, "mtime" },
		{ S3F_MKDIR_ATIME, "atime" }, { ~0U, "ctime" },
		{ S3F_MKDIR_XATTRS, "xattr" },
	};
	struct s3_kv set[sizeof(map) / sizeof(map[0])];
	struct s3_put_opts put = { .replace_meta = true };
	struct s3_kv *meta = NULL;
	struct fsop_meta_kv kv;
	struct s3_object obj;
	size_t n = 0, i, j;
	int err;

	if (!is_dir_key(key))
		return -EINVAL;
	err = s3_head(c, key, &obj, res);
	if (err == -ENOENT) {	/* no marker: make one, with every field */
		err = fsop_mkdir(c, key, m, etag, res);
		if (!err)
			drop_old_dir_object(c, key);
		return err;
	}
	if (err)
		return err;
	/* the marker's own metadata, the changed fields replaced (or gone) */
	fsop_meta_kv(m, &kv);
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!(fields & map[i].flag))
			continue;
		set[n] = (struct s3_kv){ (char *)map[i].name, NULL };
		for (j = 0; j < kv.n; j++)
			if (!strcmp(kv.kv[j].name, map[i].name))
				set[n].value = kv.kv[j].value;
		n++;
	}
	err = meta_merge(&obj, set, n, &meta, &n);
	if (err)
		goto out_free;
	put.meta = meta;
	put.nmeta = n;
	put.content_type = obj.content_type ? obj.content_type : "application/x-directory";
	put.copy_if_match = obj.etag;
	err = s3_copy(c, key, key, &put, etag, res);
	free(meta);
out_free:
	s3_object_free(&obj);
	return err;
}

/* Is there any key under prefix other than except (may be NULL)? */
static int has_keys_under(struct s3_client *c, const char *prefix,
			  const char *except, bool *found, struct s3_result *res)
{
	struct s3_list_result page;
	size_t i;
	int err;

	*found = false;
	err = s3_list(c, prefix, NULL, NULL, 2, &page, res);
	if (err)
		return err;
	for (i = 0; i < page.nentries; i++)
		if (!except || strcmp(page.entries[i].key, except))
			*found = true;
	s3_list_result_free(&page);
	return 0;
}

/*
 * rmdir asks both questions at once: is anything under dir/, and is
 * there an old-style "dir" object to delete with the marker (one more
 * request, no more waiting).
 */
struct rmdir_probe {
	struct s3_client *c;
	const char *key;		/* "dir/" */
	char *name;			/* "dir" */
	bool found;
	int list_err;
	struct s3_result list_res;
	struct s3_object obj;
	int head_err;
};

static int rmdir_probe_fn(void *arg, size_t i, struct s3_result *res)
{
	struct rmdir_probe *p = arg;

	if (i == 0)
		p->list_err = has_keys_under(p->c, p->key, p->key, &p->found,
					     &p->list_res);
	else
		p->head_err = s3_head(p->c, p->name, &p->obj, NULL);
	return 0;	/* each keeps its own result */
}

int fsop_rmdir(struct s3_client *c, const char *key, struct s3_result *res)
{
	struct rmdir_probe p = { .c = c, .key = key };
	int err;

	if (!is_dir_key(key))
		return -EINVAL;
	p.name = strndup(key, strlen(key) - 1);
	if (!p.name)
		return -ENOMEM;
	s3_parallel(2, 2, rmdir_probe_fn, &p, NULL);
	err = p.list_err;
	if (err) {
		if (res)
			*res = p.list_res;
	} else if (p.found) {
		err = refuse(-ENOTEMPTY, res);
	} else {
		err = fsop_delete(c, key, res);
		if (!err && !p.head_err && fsop_is_old_dir_object(&p.obj) &&
		    fsop_delete(c, p.name, NULL))
			log_warn("%s: cannot delete the old-style directory object", p.name);
	}
	s3_object_free(&p.obj);
	free(p.name);
	return err;
}

/*
 * Is the object at key the link an earlier attempt of this very request
 * made (the kernel sends a request again when its helper died before
 * answering)?  Its body is target and its x-amz-meta-mtime is the
 * link's, to the nanosecond.  Then etag is its.
 */
static bool symlink_landed(struct s3_client *c, const char *key,
			   const char *target, const struct fsop_meta *m,
			   char etag[S3_ETAG_MAX])
{
	size_t tlen = strlen(target), got = 0;
	char mtime[FSOP_META_LEN], *body;
	struct s3_object obj = { 0 };
	const char *had;
	bool ours;

	if (!m->has_mtime)
		return false;
	body = malloc(tlen + 1);
	if (!body)
		return false;
	/* one GET: the body, and the metadata with it */
	ours = !s3_get(c, key, 0, 0, body, tlen + 1, &got, &obj, NULL) &&
	       got == tlen && obj.size == tlen && !memcmp(body, target, tlen);
	fsop_format_time(m->mtime_ns, mtime, sizeof(mtime));
	had = s3_object_meta(&obj, "mtime");
	ours = ours && had && !strcmp(had, mtime);
	if (ours)
		memcpy(etag, obj.etag, S3_ETAG_MAX);
	free(body);
	s3_object_free(&obj);
	return ours;
}

int fsop_symlink(struct s3_client *c, const char *key, const char *target,
		 const struct fsop_meta *m, bool create_only,
		 char etag[S3_ETAG_MAX], struct s3_result *res)
{
	struct s3_body body = { .buf = target, .fd = -1, .len = strlen(target) };
	struct s3_put_opts put = {
		.content_type = "application/octet-stream",
		.if_none_match = create_only,
	};
	struct fsop_meta_kv kv;
	int err;

	if (!key[0] || is_dir_key(key) || !target[0])
		return -EINVAL;
	fsop_meta_kv(m, &kv);
	put.meta = kv.kv;
	put.nmeta = kv.n;
	err = s3_put(c, key, &body, &put, etag, res);
	if (err == -EEXIST && symlink_landed(c, key, target, m, etag)) {
		log_info("symlink %s: made already (the request came again)", key);
		err = 0;
	}
	return err;
}

/* ---- rename ---- */

/* Does key exist as an object, or as a directory (keys under key/)? */
static int name_taken(struct s3_client *c, const char *key, bool *taken,
		      struct s3_result *res)
{
	struct s3_object obj;
	char *dir;
	int err;

	*taken = false;
	err = s3_head(c, key, &obj, res);
	if (!err) {
		s3_object_free(&obj);
		*taken = true;
		return 0;
	}
	if (err != -ENOENT)
		return err;
	if (asprintf(&dir, "%s/", key) < 0)
		return -ENOMEM;
	err = has_keys_under(c, dir, NULL, taken, res);
	free(dir);
	return err;
}

static uint64_t copy_threshold(const struct fsop_rename_opts *o)
{
	return o->multipart_threshold ? o->multipart_threshold : S3_MAX_PUT_SIZE;
}

/*
 * The Content-Type of src's copy at dst: the one dst's name gives (as
 * s3fs-fuse does on rename) when src's was its own name's or a default
 * (ours, or binary/octet-stream, what S3 stores when a PUT names none);
 * a type someone chose on purpose stays.
 */
static const char *copy_content_type(const char *src, const char *dst,
				     const struct s3_object *obj)
{
	const char *had = obj->content_type;

	if (!had || !had[0] || !strcmp(had, MIME_DEFAULT) ||
	    !strcmp(had, "binary/octet-stream") || !strcmp(had, mime_type_for(src)))
		return mime_type_for(dst);
	return had;
}

/*
 * Copy src (its HEAD: obj; only its size when not HEADed, a directory's
 * move) to dst: CopyObject, or a multipart copy with src's metadata above
 * the threshold.  if_match: only from that version.  A HEADed src's
 * metadata is written anew when the Content-Type changes with the name
 * or o->ctime_ns gives the rename's ctime (s3fs-fuse's x-amz-meta-ctime).
 */
static int copy_object(struct s3_client *c, const char *src, const char *dst,
		       const struct s3_object *obj, const char *if_match,
		       const struct fsop_rename_opts *o, char etag[S3_ETAG_MAX],
		       struct s3_result *res)
{
	const char *type = copy_content_type(src, dst, obj);
	struct s3_put_opts put = { .copy_if_match = if_match };
	bool headed = obj->etag[0];	/* a HEAD always brings the ETag */
	char ctime[FSOP_META_LEN];
	struct s3_kv *meta = NULL;
	size_t n = obj->nmeta;
	int err;

	if (headed && o->ctime_ns) {
		fsop_format_time(o->ctime_ns, ctime, sizeof(ctime));
		err = meta_merge(obj, &(struct s3_kv){ (char *)"ctime", ctime }, 1,
				 &meta, &n);
		if (err)
			return err;
	}
	if (obj->size <= copy_threshold(o)) {
		if (meta || (obj->content_type && strcmp(type, obj->content_type))) {
			put.meta = meta ? meta : obj->meta;
			put.nmeta = n;
			put.content_type = type;
			put.replace_meta = true;
		}
		err = s3_copy(c, src, dst, &put, etag, res);
	} else {
		put = (struct s3_put_opts){
			.meta = meta ? meta : obj->meta, .nmeta = n,
			.content_type = type,
		};
		err = s3_copy_multipart(c, src, dst, obj,
					o->part_size ? o->part_size : FSOP_COPY_PART_SIZE,
					o->jobs ? o->jobs : FSOP_JOBS, &put, etag, res);
	}
	free(meta);
	return err;
}

/*
 * Is the object at new_key this very rename's copy, made by an earlier
 * attempt?  The kernel sends a rename again when its helper died before
 * answering, and that helper may have copied (and deleted) already.
 * The copy carries the rename's ctime to the nanosecond
 * (x-amz-meta-ctime) and, made by one CopyObject, the source's ETag (a
 * multipart copy's ETag is its own: "...-N").  Then *etag is the copy's.
 */
static bool rename_landed(struct s3_client *c, const char *new_key,
			  const struct fsop_rename_opts *o, char etag[S3_ETAG_MAX])
{
	char ctime[FSOP_META_LEN];
	struct s3_object obj;
	const char *had;
	bool ours;

	if (!o->ctime_ns || !o->etag || !o->etag[0] ||
	    s3_head(c, new_key, &obj, NULL))
		return false;
	fsop_format_time(o->ctime_ns, ctime, sizeof(ctime));
	had = s3_object_meta(&obj, "ctime");
	ours = had && !strcmp(had, ctime) &&
	       (!strcmp(obj.etag, o->etag) || strchr(obj.etag, '-'));
	if (ours)
		memcpy(etag, obj.etag, S3_ETAG_MAX);
	s3_object_free(&obj);
	return ours;
}

int fsop_rename_file(struct s3_client *c, const char *key, const char *new_key,
		     const struct fsop_rename_opts *o, char etag[S3_ETAG_MAX],
		     struct s3_result *res)
{
	struct s3_object obj;
	bool taken, landed = false;
	int err;

	if (!key[0] || !new_key[0] || is_dir_key(key) || is_dir_key(new_key))
		return -EINVAL;
	if (o->flags & FSOP_RENAME_NOREPLACE) {
		err = name_taken(c, new_key, &taken, res);
		if (err)
			return err;
		/* unless by our own copy: an earlier attempt got that far */
		if (taken && (!strcmp(key, new_key) ||
			      !(landed = rename_landed(c, new_key, o, etag))))
			return refuse(-EEXIST, res);
	}
	err = s3_head(c, key, &obj, res);
	if (err == -ENOENT && strcmp(key, new_key) &&
	    (landed || rename_landed(c, new_key, o, etag))) {
		log_info("rename %s -> %s: done already (the request came again)",
			 key, new_key);
		return 0;
	}
	if (err)
		return err;
	if (o->etag && o->etag[0] && strcmp(obj.etag, o->etag)) {
		log_info("rename %s: it is version %s now, not %s: refused",
			 key, obj.etag, o->etag);
		err = refuse(-ESTALE, res);
		goto out_free;
	}
	if (!strcmp(key, new_key)) {	/* a copy onto itself, then a delete: no */
		memcpy(etag, obj.etag, S3_ETAG_MAX);
		goto out_free;
	}
	if (!landed)
		err = copy_object(c, key, new_key, &obj,
				  o->etag && o->etag[0] ? o->etag : NULL, o, etag, res);
	if (err)
		goto out_free;
	err = fsop_delete(c, key, res);
	if (err)
		log_warn("rename %s -> %s: copied, but the source cannot be deleted: %s",
			 key, new_key, strerror(-err));
out_free:
	s3_object_free(&obj);
	return err;
}

/* Every key under prefix, all pages; *keys malloc'd (free_keys). */
static int list_all(struct s3_client *c, const char *prefix, char ***keys,
		    uint64_t **sizes, size_t *nkeys, struct s3_result *res)
{
	struct s3_list_result page;
	char *token = NULL, **k = NULL, **kp;
	uint64_t *s = NULL, *sp;
	size_t n = 0, i;
	int err;

	do {
		err = s3_list(c, prefix, NULL, token, FSOP_LIST_PAGE, &page, res);
		free(token);
		token = NULL;
		if (err)
			break;
		kp = realloc(k, (n + page.nentries + 1) * sizeof(*k));
		if (kp)
			k = kp;
		sp = realloc(s, (n + page.nentries + 1) * sizeof(*s));
		if (sp)
			s = sp;
		if (!kp || !sp) {
			err = -ENOMEM;
			s3_list_result_free(&page);
			break;
		}
		for (i = 0; i < page.nentries; i++) {
			s[n] = page.entries[i].size;
			k[n++] = page.entries[i].key;	/* taken over */
			page.entries[i].key = NULL;
		}
		if (page.truncated && page.next_token &&
		    !(token = strdup(page.next_token)))
			err = -ENOMEM;
		s3_list_result_free(&page);
	} while (!err && token);
	if (err) {
		for (i = 0; i < n; i++)
			free(k[i]);
		free(k);
		free(s);
		return err;
	}
	*keys = k;
	*sizes = s;
	*nkeys = n;
	return 0;
}

struct move_job {
	struct s3_client *c;
	const char *key, *new_key;
	const struct fsop_rename_opts *o;
	char **keys;
	uint64_t *sizes;
};

static int move_copy_fn(void *arg, size_t i, struct s3_result *res)
{
	struct move_job *m = arg;
	struct s3_object obj = { .size = m->sizes[i] };
	char etag[S3_ETAG_MAX], *dst;
	int err;

	if (asprintf(&dst, "%s%s", m->new_key, m->keys[i] + strlen(m->key)) < 0)
		return -ENOMEM;
	/* a big one needs its metadata for the multipart copy: HEAD it */
	if (obj.size > copy_threshold(m->o))
		err = s3_head(m->c, m->keys[i], &obj, res);
	else
		err = 0;
	if (!err)
		err = copy_object(m->c, m->keys[i], dst, &obj, NULL, m->o, etag,
				  res);
	if (err)
		log_warn("rename %s -> %s: copying %s failed: %s", m->key,
			 m->new_key, m->keys[i], strerror(-err));
	s3_object_free(&obj);
	free(dst);
	return err;
}

static int move_delete_fn(void *arg, size_t i, struct s3_result *res)
{
	struct move_job *m = arg;

	return fsop_delete(m->c, m->keys[i], res);
}

int fsop_rename_dir(struct s3_client *c, const char *key, const char *new_key,
		    const struct fsop_rename_opts *o, size_t *ncopied,
		    struct s3_result *res)
{
	struct move_job m = { .c = c, .key = key, .new_key = new_key, .o = o };
	int jobs = o->jobs ? o->jobs : FSOP_JOBS;
	bool taken = false, checked = false;
	size_t n = 0, i;
	int err;

	if (ncopied)
		*ncopied = 0;
	if (!is_dir_key(key) || !is_dir_key(new_key) ||
	    !strncmp(new_key, key, strlen(key)) ||
	    !strncmp(key, new_key, strlen(new_key)))
		return -EINVAL;		/* also: into itself, or onto a parent */
	if (o->flags & FSOP_RENAME_NOREPLACE) {
		err = has_keys_under(c, new_key, NULL, &taken, res);
		if (err)
			return err;
		/* resent: maybe by the first attempt's copies (below) */
		if (taken && !o->resent)
			return refuse(-EEXIST, res);
		checked = true;
	}
	err = list_all(c, key, &m.keys, &m.sizes, &n, res);
	if (err)
		return err;
	if (!n && o->resent && !checked) {
		err = has_keys_under(c, new_key, NULL, &taken, res);
		if (err)
			goto out_free;
	}
	if (!n && o->resent && taken) {
		log_info("rename %s -> %s: done already (the request came again)",
			 key, new_key);
		goto out_free;
	}
	/* resent, half done: whose keys are under new_key cannot be told */
	if (taken) {
		err = refuse(-EEXIST, res);
		goto out_free;
	}
	if (!n) {
		err = refuse(-ENOENT, res);
		goto out_free;
	}
	err = s3_parallel(n, jobs, move_copy_fn, &m, res);
	if (err)
		goto out_free;
	err = s3_parallel(n, jobs, move_delete_fn, &m, res);
	if (err)
		log_warn("rename %s -> %s: copied, but not every source was deleted: %s",
			 key, new_key, strerror(-err));
	else if (ncopied)
		*ncopied = n;
	log_info("rename %s -> %s: %zu keys moved%s", key, new_key, n,
		 err ? " (sources partly left)" : "");
out_free:
	for (i = 0; i < n; i++)
		free(m.keys[i]);
	free(m.keys);
	free(m.sizes);
	return err;
}

/* ---- commit ---- */

/*
 * An inline COMMIT's bytes as a file the commit engine can read: a
 * memfd (never on disk).  The descriptor, or -errno.
 */
static int data_fd(const void *data, uint64_t len)
{
	const char *p = data;
	ssize_t n;
	int fd;

	fd = memfd_create("s3f-commit", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			n = n < 0 ? -errno : -EIO;
			close(fd);
			return n;
		}
		p += n;
		len -= n;
	}
	return fd;
}

/*
 * Where the multipart upload of a writer's session is noted while in
 * progress (commit_opts.upload_note): in the staging directory's
 * .uploads/ (made by the commit engine when it writes a note).
 */
static char *upload_note_path(uint64_t session)
{
	char *path;

	if (asprintf(&path, "%s/.uploads/%016" PRIx64, staging_default(), session) < 0)
		return NULL;
	return path;
}

void fsop_commit_tag(const struct fsop_commit_req *req, char *buf, size_t len)
{
	if (req->commit_id && req->commit_session)
		snprintf(buf, len, "%016" PRIx64 "-%016" PRIx64,
			 req->commit_session, req->commit_id);
	else if (req->commit_id)
		snprintf(buf, len, "%016" PRIx64, req->commit_id);
	else if (len)
		buf[0] = '\0';
}

int fsop_commit(struct s3_client *c, const char *key,
		const struct fsop_commit_req *req, struct commit_result *out,
		struct s3_result *res)
{
	struct s3_put_opts put = { .content_type = mime_type_for(key) };
	struct commit_source src = {
		.size = req->size,
		.base_etag = req->base_etag,
		.base_size = req->base_size,
		.dirty = req->extents,
		.ndirty = req->nextents,
		.sparse = req->base_etag != NULL,
	};
	struct commit_opts o = {
		.put = &put,
		.on_conflict = req->fail_on_conflict ? COMMIT_FAIL : COMMIT_KEEP_BOTH,
		.conditions = req->conditions,
		.cancel = req->cancel,
	};
	const char *path = req->stage ? req->stage : "/dev/zero";
	struct fsop_meta_kv kv;
	char session[24], *note = NULL;
	int err;

	if (req->size > S3F_MAX_OBJECT_SIZE)
		return refuse(-EFBIG, res);	/* S3 stores no larger object */
	if (req->data) {
		src.fd = data_fd(req->data, req->size);
		if (src.fd < 0) {
			log_warn("commit %s: %s", key, strerror(-src.fd));
			return src.fd;
		}
		src.sparse = false;
		src.all_dirty = true;
		src.dirty = NULL;
		src.ndirty = 0;
	} else {
		src.fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (src.fd < 0) {
		err = -errno;
		log_warn("commit %s: cannot open the staging file %s: %s", key,
			 path, strerror(errno));
		return err;
	}
	fsop_meta_kv(&req->meta, &kv);
	if (req->commit_id && req->commit_session) {
		/* "SESSION-ID": a retry is recognised by both, a rebase by the first */
		fsop_commit_tag(req, kv.val[kv.n], FSOP_META_LEN);
		snprintf(session, sizeof(session), "%016" PRIx64 "-", req->commit_session);
		o.own_commit_tag = kv.val[kv.n];
		o.own_session = session;
		meta_add(&kv, COMMIT_TAG_META);
		note = upload_note_path(req->commit_session);
		o.upload_note = note;
	} else if (req->commit_id) {
		fsop_commit_tag(req, kv.val[kv.n], FSOP_META_LEN);
		o.own_commit_tag = kv.val[kv.n];
		meta_add(&kv, COMMIT_TAG_META);
	}
	put.meta = kv.kv;
	put.nmeta = kv.n;
	err = commit_object(c, key, &src, &o, out, res);
	close(src.fd);
	free(note);
	return err;
}
