// SPDX-License-Identifier: GPL-2.0
/*
 * s3fd's file system upcalls.
 *
 * Keys: the kernel sends full keys (the mount prefix included).  LOOKUP
 * takes a key without a trailing '/': it is a directory when keys exist
 * under "key/" (a "key/" marker counts), else a file when the object
 * exists.  READDIR lists one page of a directory's prefix with delimiter
 * '/'; when both an object "a" and keys under "a/" exist, the directory
 * wins and the object is hidden (logged).
 *
 * Attributes follow s3fs-fuse: x-amz-meta-mode (decimal st_mode),
 * -uid, -gid (decimal), -mtime, -atime, -ctime (epoch seconds, a fraction
 * allowed).
 * Malformed values are ignored with a log line, never turned into 0.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bufbudget.h"
#include "log.h"
#include "upcalls.h"
#include "retry.h"
#include "xattrs.h"
#include "s3.h"
#include "staging.h"
#include "testhooks.h"
#include "write_upcalls.h"
#include "fsops.h"

#define READDIR_PAGE	1000

static char *attr_dup(struct nlattr *a)
{
	return a ? strndup(nla_data(a), nla_len(a)) : NULL;
}

struct job *job_parse(struct s3f_nl *nl, uint8_t cmd, struct nlattr **attrs)
{
	struct job *job;

	job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	job->cmd = cmd;
	job->id = nla_get_u64(attrs[S3F_ATTR_REQ_ID]);
	/* the kernel stops waiting then: so do we (retry.h) */
	if (attrs[S3F_ATTR_SENDS])
		job->sends = nla_get_u32(attrs[S3F_ATTR_SENDS]);
	if (attrs[S3F_ATTR_TIMEOUT_MS] && nla_get_u32(attrs[S3F_ATTR_TIMEOUT_MS]))
		job->deadline_ns = retry_now_ns() +
				   nla_get_u32(attrs[S3F_ATTR_TIMEOUT_MS]) * 1000000ULL;
	if (mount_params_parse(attrs[S3F_ATTR_MOUNT], &job->mp))
		goto out_bad;
	job->key = attr_dup(attrs[S3F_ATTR_KEY]);
	job->token = attr_dup(attrs[S3F_ATTR_TOKEN]);
	job->etag = attr_dup(attrs[S3F_ATTR_ETAG]);
	if (attrs[S3F_ATTR_OFFSET])
		job->offset = nla_get_u64(attrs[S3F_ATTR_OFFSET]);
	if (attrs[S3F_ATTR_LENGTH])
		job->length = nla_get_u64(attrs[S3F_ATTR_LENGTH]);
	if (cmd == S3F_CMD_LOOKUP && attrs[S3F_ATTR_TYPE]) {
		job->has_type = true;
		job->type = nla_get_u8(attrs[S3F_ATTR_TYPE]);
	}

	switch (cmd) {
	case S3F_CMD_MOUNT:
	case S3F_CMD_UMOUNT:
		return job;
	case S3F_CMD_LOOKUP:
	case S3F_CMD_READDIR:
		if (job->key)
			return job;
		break;
	case S3F_CMD_READ:
		if (job->key && job->length && job->length <= S3F_MAX_READ)
			return job;
		break;
	default:
		if (write_upcall_is_write(cmd) && !write_upcall_parse(nl, job, attrs))
			return job;
		break;
	}
out_bad:
	log_warn("upcall %u (id %" PRIu64 ") malformed", cmd, job->id);
	s3f_nl_reply(nl, job->id, -EINVAL, NULL);
	job_free(job);
	return NULL;
}

void job_free(struct job *job)
{
	if (!job)
		return;
	mount_params_free(&job->mp);
	free(job->key);
	free(job->token);
	free(job->etag);
	write_upcall_free(job);
	free(job);
}

/* ---- s3fs-fuse metadata ---- */

static bool parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || s[0] == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* "1700000000" or "1700000000.25" -> ns (x-amz-meta-mtime, -atime, -ctime) */
static bool parse_mtime(const char *s, int64_t *ns)
{
	char *end;
	long long sec;
	int64_t frac = 0, scale = 100000000;

	if (!s || !*s)
		return false;
	errno = 0;
	sec = strtoll(s, &end, 10);
	if (errno || (*end && *end != '.'))
		return false;
	if (*end == '.') {
		for (end++; *end >= '0' && *end <= '9'; end++) {
			frac += (*end - '0') * scale;
			scale /= 10;
		}
		if (*end)
			return false;
	}
	*ns = sec * 1000000000LL + frac;
	return true;
}

struct attrs {
	int type;
	uint64_t size;
	int64_t mtime_ns;
	int64_t atime_ns, ctime_ns;	/* x-amz-meta-atime/-ctime, or 0 */
	const char *etag;
	bool has_meta;
	uint32_t mode, uid, gid;
	uint64_t rdev;		/* x-amz-meta-rdev of a device node, or 0 */
	size_t xattrs_len;	/* x-amz-meta-xattr as S3F_ATTR_XATTRS records */
	bool has_xattrs;
	unsigned char xattrs[S3F_XATTR_MAX];
};

static void attrs_from_object(const char *key, const struct s3_object *obj,
			      struct attrs *a)
{
	const char *mode = s3_object_meta(obj, "mode");
	const char *uid = s3_object_meta(obj, "uid");
	const char *gid = s3_object_meta(obj, "gid");
	const char *mtime = s3_object_meta(obj, "mtime");
	const char *atime = s3_object_meta(obj, "atime");
	const char *ctime = s3_object_meta(obj, "ctime");
	const char *rdev = s3_object_meta(obj, "rdev");
	const char *xattr = s3_object_meta(obj, "xattr");
	int err;

	a->size = obj->size;
	a->etag = obj->etag;
	a->mtime_ns = obj->last_modified.tv_sec * 1000000000LL +
		      obj->last_modified.tv_nsec;
	if (mtime && !parse_mtime(mtime, &a->mtime_ns))
		log_warn("%s: ignoring malformed x-amz-meta-mtime \"%s\"", key, mtime);
	if (atime && !parse_mtime(atime, &a->atime_ns))
		log_warn("%s: ignoring malformed x-amz-meta-atime \"%s\"", key, atime);
	if (ctime && !parse_mtime(ctime, &a->ctime_ns))
		log_warn("%s: ignoring malformed x-amz-meta-ctime \"%s\"", key, ctime);
	if (xattr) {
		err = xattrs_decode(xattr, a->xattrs, &a->xattrs_len);
		if (!err)
			a->has_xattrs = a->xattrs_len > 0;
		else
			log_warn("%s: ignoring %s x-amz-meta-xattr (%zu bytes)", key,
				 err == -E2BIG ? "too large an" : "a malformed",
				 strlen(xattr));
	}
	/* "dir" without the '/': an old-style directory object */
	if (key[0] && key[strlen(key) - 1] != '/' && fsop_is_old_dir_object(obj)) {
		a->type = S3F_TYPE_DIR;
		a->size = 0;
	}
	if (!mode && !uid && !gid)
		return;
	a->has_meta = parse_u32(mode, &a->mode) && parse_u32(uid, &a->uid) &&
		      parse_u32(gid, &a->gid);
	/* s3fs writes all three; a partial or malformed set is ignored whole */
	if (!a->has_meta)
		log_warn("%s: ignoring incomplete or malformed s3fs metadata (mode \"%s\" uid \"%s\" gid \"%s\")",
			 key, mode ? mode : "", uid ? uid : "", gid ? gid : "");
	if (a->has_meta && S_ISDIR(a->mode))
		a->type = S3F_TYPE_DIR;
	if (a->has_meta && (S_ISCHR(a->mode) || S_ISBLK(a->mode)) && rdev &&
	    !parse_u64(rdev, &a->rdev))
		log_warn("%s: ignoring malformed x-amz-meta-rdev \"%s\"", key, rdev);
}

static int put_attrs(struct nl_msg *msg, const struct attrs *a)
{
	if (nla_put_u8(msg, S3F_ATTR_TYPE, a->type) ||
	    nla_put_u64(msg, S3F_ATTR_SIZE, a->size) ||
	    nla_put_s64(msg, S3F_ATTR_MTIME_NS, a->mtime_ns) ||
	    (a->etag && a->etag[0] && nla_put_string(msg, S3F_ATTR_ETAG, a->etag)) ||
	    (a->atime_ns && nla_put_s64(msg, S3F_ATTR_ATIME_NS, a->atime_ns)) ||
	    (a->ctime_ns && nla_put_s64(msg, S3F_ATTR_CTIME_NS, a->ctime_ns)))
		return -EMSGSIZE;
	if (a->has_meta &&
	    (nla_put_u32(msg, S3F_ATTR_MODE, a->mode) ||
	     nla_put_u32(msg, S3F_ATTR_UID, a->uid) ||
	     nla_put_u32(msg, S3F_ATTR_GID, a->gid) ||
	     (a->rdev && nla_put_u64(msg, S3F_ATTR_RDEV, a->rdev))))
		return -EMSGSIZE;
	if (a->has_xattrs && nla_put(msg, S3F_ATTR_XATTRS, a->xattrs_len, a->xattrs))
		return -EMSGSIZE;
	return 0;
}

static int put_entry(struct nl_msg *msg, const char *name, size_t len,
		     const struct attrs *a);

/* ---- MOUNT ---- */

/*
 * Uploads a helper left in progress (killed, or its node crashed) and no
 * commit came back for within COMMIT_NOTE_STALE_S: abort those of this
 * mount's endpoint and bucket (commit_opts.upload_note).
 */
static void sweep_upload_notes(struct s3_client *c)
{
	char *dir, *path;
	struct dirent *d;
	struct stat st;
	DIR *dh;

	if (asprintf(&dir, "%s/.uploads", staging_default()) < 0)
		return;
	dh = opendir(dir);
	while (dh && (d = readdir(dh))) {
		if (d->d_name[0] == '.' || asprintf(&path, "%s/%s", dir, d->d_name) < 0)
			continue;
		if (!lstat(path, &st) && S_ISREG(st.st_mode) &&
		    time(NULL) - st.st_mtime > COMMIT_NOTE_STALE_S)
			commit_abort_noted_upload(c, path);
		free(path);
	}
	if (dh)
		closedir(dh);
	free(dir);
}

/*
 * A read-write mount: make its client now, so that credentials problems
 * show at mount time.  Which conditional writes the server honours is
 * found out by the first write that needs it (mount_conditions): a
 * mount writes nothing to the bucket, but for what an earlier boot
 * staged and a crash kept from being committed (recovered in the
 * background).
 */
static void mount_prepare_writes(struct job *job)
{
	struct mount_entry *me;
	char errbuf[512];
	int err;

	me = mounts_get(&job->mp, errbuf, sizeof(errbuf), &err);
	if (!me) {
		log_warn("mount %u: %s", job->mp.id, errbuf);
		return;
	}
	sweep_upload_notes(mount_client(me));
	if (job->mp.staging[0]) {
		err = staging_mkdir(job->mp.staging);
		if (err)
			log_warn("mount %u: staging directory %s: %s (writes will fail)",
				 job->mp.id, job->mp.staging, strerror(-err));
	}
	/* what an earlier boot staged for this bucket and never committed */
	if (!staging_mkdir(staging_dir_of(job->mp.staging)))
		mounts_recover(me, staging_dir_of(job->mp.staging));
	mounts_put(me);
}

static void op_mount(struct s3f_nl *nl, struct job *job)
{
	struct nl_msg *msg;
	char errbuf[512];
	int err;

	err = mounts_probe(&job->mp, errbuf, sizeof(errbuf));
	if (err)
		log_warn("mount %u: s3://%s/%s: %s", job->mp.id, job->mp.bucket,
			 job->mp.prefix, errbuf);
	else
		log_info("mount %u: s3://%s/%s checked%s", job->mp.id,
			 job->mp.bucket, job->mp.prefix,
			 job->mp.rw ? ", read-write" : "");
	if (!err && job->mp.rw)
		mount_prepare_writes(job);
	/*
	 * A read-write mount needs its staging directory: one that cannot
	 * be made (a read-only or missing file system, no permission) or
	 * that others could read or swap fails the mount now; writes would
	 * otherwise find no staging file.  EINVAL: mount(8) shows the
	 * reason (for EPERM it shows its own words, and on EACCES or EROFS
	 * it retries read-only, which needs no staging).
	 */
	if (!err && job->mp.rw) {
		const char *dir = staging_dir_of(job->mp.staging);
		char why[256];
		int serr = staging_mkdir(dir);

		if (serr == -EPERM && staging_trusted(dir, why, sizeof(why)) == -EPERM) {
			err = -EINVAL;
			snprintf(errbuf, sizeof(errbuf), "staging directory %s refused: it %s",
				 dir, why);
		} else if (serr) {
			err = -EINVAL;
			snprintf(errbuf, sizeof(errbuf),
				 "staging directory %s cannot be made: %s (a read-write mount stages written data there: staging=DIR, s3fd --staging, or mount ro)",
				 dir, strerror(-serr));
		}
		if (err)
			log_warn("mount %u: %s", job->mp.id, errbuf);
	}
	msg = s3f_nl_msg(nl, S3F_CMD_REPLY);
	if (msg && err && nla_put_string(msg, S3F_ATTR_ERRMSG, errbuf)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	/* where written data waits: the kernel reports its room (statfs) */
	if (msg && !err && job->mp.rw &&
	    nla_put_string(msg, S3F_ATTR_STAGE, staging_dir_of(job->mp.staging))) {
		nlmsg_free(msg);
		msg = NULL;
	}
	s3f_nl_reply(nl, job->id, err, msg);
}

/* ---- LOOKUP ---- */

static int lookup_dir(struct s3_client *c, const char *key, struct attrs *a,
		      struct s3_object *marker)
{
	struct s3_list_result page;
	char *prefix;
	bool has_marker;
	int err;

	if (asprintf(&prefix, "%s/", key) < 0)
		return -ENOMEM;
	err = s3_list(c, prefix, "/", NULL, 1, &page, NULL);
	if (err)
		goto out_free;
	if (!page.nentries && !page.nprefixes) {
		err = -ENOENT;
		goto out_list;
	}
	a->type = S3F_TYPE_DIR;
	has_marker = page.nentries && !strcmp(page.entries[0].key, prefix);
	if (has_marker) {
		a->mtime_ns = page.entries[0].last_modified.tv_sec * 1000000000LL +
			      page.entries[0].last_modified.tv_nsec;
		/* the marker may carry s3fs metadata (mode, owner) */
		if (!s3_head(c, prefix, marker, NULL))
			attrs_from_object(prefix, marker, a);
		a->type = S3F_TYPE_DIR;
		a->size = 0;
		a->etag = NULL;
	}
out_list:
	s3_list_result_free(&page);
out_free:
	free(prefix);
	return err;
}

/*
 * A name of unknown type is a directory when "KEY/" lists anything (a
 * directory wins over an object of the same name, as in s3fs), else the
 * object KEY when it exists.  Unless the kernel knows the type, both
 * questions go out at once: a file is found in one round trip instead of
 * two, at the price of a HEAD that 404s for a directory.
 */
struct lookup_probe {
	struct s3_client *c;
	const char *key;
	struct attrs dir;		/* item 0: the listing of KEY/ */
	struct s3_object marker;
	int dir_err;
	struct s3_object obj;		/* item 1: HEAD KEY */
	int head_err;
};

static int lookup_probe_fn(void *arg, size_t i, struct s3_result *res)
{
	struct lookup_probe *p = arg;

	if (i == 0)
		p->dir_err = lookup_dir(p->c, p->key, &p->dir, &p->marker);
	else
		p->head_err = s3_head(p->c, p->key, &p->obj, NULL);
	return 0;	/* each keeps its own result: s3_parallel stops at errors */
}

static void op_lookup(struct s3f_nl *nl, struct job *job, struct s3_client *c)
{
	struct lookup_probe p = { .c = c, .key = job->key,
				  .dir = { .type = S3F_TYPE_FILE } };
	struct attrs a = { .type = S3F_TYPE_FILE };
	struct nl_msg *msg = NULL;
	int err;

	/*
	 * TYPE FILE: the kernel saw the key as an object in a listing (so no
	 * directory hides it) and wants its metadata: one HEAD.  TYPE DIR: it
	 * knows a directory there (listed, or its inode); the HEAD is needed
	 * only if the directory is gone.
	 */
	if (job->has_type && job->type == S3F_TYPE_FILE) {
		p.dir_err = -ENOENT;
		p.head_err = s3_head(c, job->key, &p.obj, NULL);
	} else if (job->has_type && job->type == S3F_TYPE_DIR) {
		p.dir_err = lookup_dir(c, job->key, &p.dir, &p.marker);
		if (p.dir_err == -ENOENT)
			p.head_err = s3_head(c, job->key, &p.obj, NULL);
	} else {
		s3_parallel(2, 2, lookup_probe_fn, &p, NULL);
	}
	err = p.dir_err;
	if (!err)
		a = p.dir;
	else if (err == -ENOENT) {
		err = p.head_err;
		if (!err)
			attrs_from_object(job->key, &p.obj, &a);
	}
	if (!err) {
		msg = s3f_nl_msg(nl, S3F_CMD_REPLY);
		if (!msg || put_entry(msg, NULL, 0, &a)) {
			err = -ENOMEM;
			nlmsg_free(msg);
			msg = NULL;
		}
	}
	log_debug("lookup %s: %d", job->key, err);
	s3f_nl_reply(nl, job->id, err, msg);
	s3_object_free(&p.obj);
	s3_object_free(&p.marker);
}

/* ---- READDIR ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int put_entry(struct nl_msg *msg, const char *name, size_t len,
		     const struct attrs *a)
{
	struct nlattr *nest;
	char *copy;
	int err;

	nest = nla_nest_start(msg, S3F_ATTR_ENTRY);
	if (!nest)
		return -EMSGSIZE;
	if (name) {		/* READDIR entries are named; a LOOKUP's is not */
		copy = strndup(name, len);
		if (!copy)
			return -ENOMEM;
		err = nla_put_string(msg, S3F_ATTR_NAME, copy) ? -EMSGSIZE : 0;
		free(copy);
		if (err)
			return err;
	}
	err = put_attrs(msg, a) ? -EMSGSIZE : 0;
	if (!err)
		nla_nest_end(msg, nest);
	return err;
}

static size_t readdir_msg_size(const struct s3_list_result *page)
{
	size_t n = 4096, i;

	for (i = 0; i < page->nentries; i++)
		n += strlen(page->entries[i].key) + 256;
	for (i = 0; i < page->nprefixes; i++)
		n += strlen(page->prefixes[i]) + 128;
	return n;
}

static int readdir_fill(struct nl_msg *msg, const char *dir,
			struct s3_list_result *page)
{
	size_t plen = strlen(dir), i;
	char **dirs = NULL;
	int err = 0;

	/* common prefixes: directories, names without the trailing '/' */
	if (page->nprefixes) {
		dirs = calloc(page->nprefixes, sizeof(*dirs));
		if (!dirs)
			return -ENOMEM;
	}
	for (i = 0; i < page->nprefixes && !err; i++) {
		const char *p = page->prefixes[i];
		size_t len = strlen(p);
		struct attrs a = { .type = S3F_TYPE_DIR };

		if (len <= plen || strncmp(p, dir, plen) || p[len - 1] != '/')
			continue;
		dirs[i] = page->prefixes[i] + plen;
		err = put_entry(msg, p + plen, len - plen - 1, &a);
	}
	if (dirs)
		qsort(dirs, page->nprefixes, sizeof(*dirs), cmp_str);
	for (i = 0; i < page->nentries && !err; i++) {
		struct s3_list_entry *e = &page->entries[i];
		struct attrs a = {
			.type = S3F_TYPE_FILE,
			.size = e->size,
			.etag = e->etag,
			.mtime_ns = e->last_modified.tv_sec * 1000000000LL +
				    e->last_modified.tv_nsec,
		};
		const char *name = e->key + plen;
		char *as_dir;
		bool shadowed = false;

		if (strncmp(e->key, dir, plen))
			continue;
		if (dirs && asprintf(&as_dir, "%s/", name) >= 0) {
			const char *k = as_dir;

			shadowed = bsearch(&k, dirs, page->nprefixes, sizeof(*dirs),
					   cmp_str) != NULL;
			free(as_dir);
		}
		if (shadowed) {
			log_warn("%s: hidden by the directory %s/ of the same name",
				 e->key, e->key);
			continue;
		}
		err = put_entry(msg, name, strlen(name), &a);
	}
	free(dirs);
	return err;
}

static void op_readdir(struct s3f_nl *nl, struct job *job, struct s3_client *c)
{
	struct s3_list_result page;
	struct nl_msg *msg = NULL;
	int err;

	err = s3_list(c, job->key, "/", job->token, READDIR_PAGE, &page, NULL);
	if (err)
		goto out_reply;
	msg = s3f_nl_msg_size(nl, S3F_CMD_REPLY, readdir_msg_size(&page));
	err = msg ? readdir_fill(msg, job->key, &page) : -ENOMEM;
	if (!err && page.truncated && page.next_token &&
	    nla_put_string(msg, S3F_ATTR_TOKEN, page.next_token))
		err = -EMSGSIZE;
	log_debug("readdir %s: %zu objects, %zu prefixes%s: %d", job->key,
		  page.nentries, page.nprefixes, page.truncated ? ", more" : "", err);
	s3_list_result_free(&page);
	if (err) {
		nlmsg_free(msg);
		msg = NULL;
	}
out_reply:
	s3f_nl_reply(nl, job->id, err, msg);
}

/* ---- READ ---- */

static void op_read(struct s3f_nl *nl, struct job *job, struct s3_client *c)
{
	struct nl_msg *msg = NULL;
	struct s3_object obj = { 0 };
	size_t got = 0;
	void *buf;
	int err;

	buf = bufbudget_alloc(job->length);
	if (!buf) {
		err = -ENOMEM;
		goto out_reply;
	}
	err = s3_get(c, job->key, job->offset, job->length, buf, job->length,
		     &got, &obj, NULL);
	if (!err && job->etag && job->etag[0] && obj.etag[0] &&
	    strcmp(job->etag, obj.etag)) {
		log_info("%s changed in S3 (ETag %s, was %s): read refused",
			 job->key, obj.etag, job->etag);
		err = -ESTALE;
	}
	if (!err) {
		msg = s3f_nl_msg(nl, S3F_CMD_REPLY);
		if (!msg || nla_put_u64(msg, S3F_ATTR_DATA_ADDR, (uintptr_t)buf) ||
		    nla_put_u64(msg, S3F_ATTR_DATA_LEN, got)) {
			nlmsg_free(msg);
			msg = NULL;
			err = -ENOMEM;
		}
	}
	log_debug("read %s @%" PRIu64 "+%" PRIu64 ": %zu bytes, %d", job->key,
		  job->offset, job->length, got, err);
out_reply:
	/* the kernel copies from buf while handling this reply */
	s3f_nl_reply(nl, job->id, err, msg);
	s3_object_free(&obj);
	bufbudget_free(buf, job->length);
}

void job_run(struct s3f_nl *nl, struct job *job)
{
	struct mount_entry *me;
	char errbuf[512];
	int err;

	if (job->cmd == S3F_CMD_MOUNT) {
		op_mount(nl, job);
		return;
	}
	if (job->cmd == S3F_CMD_UMOUNT) {
		mounts_forget(job->mp.id);
		s3f_nl_reply(nl, job->id, 0, NULL);
		return;
	}
	if (testhooks_bad_reply(nl, job))
		return;
	testhooks_commit_delay(job);
	if (write_upcall_run_local(nl, job))
		return;		/* staging files: no S3 client needed */
	me = mounts_get(&job->mp, errbuf, sizeof(errbuf), &err);
	if (!me) {
		log_warn("mount %u: %s", job->mp.id, errbuf);
		s3f_nl_reply(nl, job->id, err, NULL);
		return;
	}
	switch (job->cmd) {
	case S3F_CMD_LOOKUP:
		op_lookup(nl, job, mount_client(me));
		break;
	case S3F_CMD_READDIR:
		op_readdir(nl, job, mount_client(me));
		break;
	case S3F_CMD_READ:
		op_read(nl, job, mount_client(me));
		break;
	default:
		write_upcall_run(nl, job, me);
		break;
	}
	mounts_put(me);
}
