// SPDX-License-Identifier: GPL-2.0
/*
 * s3fd's write-path upcalls: parse, run, reply (write_upcalls.h).
 *
 * Replies, as built:
 *   STAGE_OPEN     FD (u32, our descriptor; closed once the reply is
 *                  sent, the kernel has its own reference by then) and
 *                  STAGE (path).  A reply that cannot be sent: the file
 *                  is deleted.
 *   COMMIT         (from STAGE, or DATA: the bytes themselves)
 *                  ETAG, BYTES_UPLOADED, BYTES_COPIED; CONFLICT (the key
 *                  written) when another writer's version was kept.
 *   STAGE_NOTE     0 once the journal says what the kernel said.
 *   STAGE_RELEASE  0 (the kernel does not wait).
 *   DELETE, RMDIR  0.
 *   MKDIR, SYMLINK ETAG.
 *   RENAME         ETAG of the copy (a file); nothing more (a directory).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "staging.h"
#include "write_upcalls.h"

bool write_upcall_is_write(uint8_t cmd)
{
	switch (cmd) {
	case S3F_CMD_STAGE_OPEN:
	case S3F_CMD_STAGE_NOTE:
	case S3F_CMD_COMMIT:
	case S3F_CMD_STAGE_RELEASE:
	case S3F_CMD_DELETE:
	case S3F_CMD_MKDIR:
	case S3F_CMD_RMDIR:
	case S3F_CMD_RENAME:
	case S3F_CMD_SYMLINK:
		return true;
	}
	return false;
}

/* ---- parsing ---- */

static char *attr_dup(struct nlattr *a)
{
	return a ? strndup(nla_data(a), nla_len(a)) : NULL;
}

static void parse_meta(struct nlattr **attrs, struct fsop_meta *m)
{
	if (attrs[S3F_ATTR_MODE]) {
		m->has_mode = true;
		m->mode = nla_get_u32(attrs[S3F_ATTR_MODE]);
	}
	if (attrs[S3F_ATTR_UID]) {
		m->has_uid = true;
		m->uid = nla_get_u32(attrs[S3F_ATTR_UID]);
	}
	if (attrs[S3F_ATTR_GID]) {
		m->has_gid = true;
		m->gid = nla_get_u32(attrs[S3F_ATTR_GID]);
	}
	if (attrs[S3F_ATTR_MTIME_NS]) {
		m->has_mtime = true;
		m->mtime_ns = (int64_t)nla_get_u64(attrs[S3F_ATTR_MTIME_NS]);
	}
	if (attrs[S3F_ATTR_ATIME_NS]) {
		m->has_atime = true;
		m->atime_ns = (int64_t)nla_get_u64(attrs[S3F_ATTR_ATIME_NS]);
	}
	if (attrs[S3F_ATTR_CTIME_NS]) {
		m->has_ctime = true;
		m->ctime_ns = (int64_t)nla_get_u64(attrs[S3F_ATTR_CTIME_NS]);
	}
	if (attrs[S3F_ATTR_RDEV])
		m->rdev = nla_get_u64(attrs[S3F_ATTR_RDEV]);
	if (attrs[S3F_ATTR_XATTRS] && nla_len(attrs[S3F_ATTR_XATTRS]) <= S3F_XATTR_MAX) {
		m->has_xattrs = true;
		m->xattrs_len = nla_len(attrs[S3F_ATTR_XATTRS]);
		memcpy(m->xattrs, nla_data(attrs[S3F_ATTR_XATTRS]), m->xattrs_len);
	}
}

/* Every EXTENTS attribute, concatenated: at most S3F_MAX_EXTENTS ranges. */
static int parse_extents(struct s3f_nl *nl, struct job *job)
{
	struct nlattr **a = NULL;
	struct s3f_extent e;
	size_t na, i, total = 0, k;
	int err = -EINVAL;

	na = s3f_nl_upcall_attrs(nl, S3F_ATTR_EXTENTS, NULL, 0);
	if (!na)
		return 0;
	a = calloc(na, sizeof(*a));
	if (!a)
		return -ENOMEM;
	s3f_nl_upcall_attrs(nl, S3F_ATTR_EXTENTS, a, na);
	for (i = 0; i < na; i++) {
		if (nla_len(a[i]) % sizeof(e))
			goto out_free;
		total += nla_len(a[i]) / sizeof(e);
	}
	if (total > S3F_MAX_EXTENTS)
		goto out_free;
	job->extents = calloc(total ? total : 1, sizeof(*job->extents));
	if (!job->extents) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < na; i++) {
		for (k = 0; k < nla_len(a[i]) / sizeof(e); k++) {
			memcpy(&e, (char *)nla_data(a[i]) + k * sizeof(e), sizeof(e));
			if (e.off + e.len < e.off)
				goto out_free;
			job->extents[job->nextents].off = e.off;
			job->extents[job->nextents].len = e.len;
			job->nextents++;
		}
	}
	err = 0;
out_free:
	free(a);
	return err;
}

static bool ends_in_slash(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	return len && s[len - 1] == '/';
}

static bool nonempty(const char *s)
{
	return s && s[0];
}

/* Does the job have what its command needs? */
static bool write_upcall_valid(const struct job *job)
{
	switch (job->cmd) {
	case S3F_CMD_STAGE_OPEN:
		return nonempty(job->key) && job->has_base_size && job->has_clean_size;
	case S3F_CMD_STAGE_NOTE:
		return nonempty(job->key) && nonempty(job->stage) &&
		       job->has_base_size && job->has_clean_size;
	case S3F_CMD_COMMIT:
		if (job->has_data && (job->stage || job->nextents ||
				      job->data_len != job->size))
			return false;
		return nonempty(job->key) && !ends_in_slash(job->key) &&
		       job->has_size && (!job->etag || job->has_base_size);
	case S3F_CMD_STAGE_RELEASE:
		return nonempty(job->stage);
	case S3F_CMD_DELETE:
		return nonempty(job->key);
	case S3F_CMD_MKDIR:
	case S3F_CMD_RMDIR:
		return ends_in_slash(job->key);
	case S3F_CMD_RENAME:
		if (!nonempty(job->key) || !nonempty(job->new_key) || !job->has_type)
			return false;
		if (job->type == S3F_TYPE_DIR)
			return ends_in_slash(job->key) && ends_in_slash(job->new_key);
		return job->type == S3F_TYPE_FILE && !ends_in_slash(job->key) &&
		       !ends_in_slash(job->new_key);
	case S3F_CMD_SYMLINK:
		return nonempty(job->key) && !ends_in_slash(job->key) &&
		       nonempty(job->target) &&
		       strlen(job->target) <= S3F_MAX_TARGET_LEN;
	}
	return false;
}

int write_upcall_parse(struct s3f_nl *nl, struct job *job, struct nlattr **attrs)
{
	job->new_key = attr_dup(attrs[S3F_ATTR_NEW_KEY]);
	job->stage = attr_dup(attrs[S3F_ATTR_STAGE]);
	job->target = attr_dup(attrs[S3F_ATTR_TARGET]);
	if (attrs[S3F_ATTR_SIZE]) {
		job->has_size = true;
		job->size = nla_get_u64(attrs[S3F_ATTR_SIZE]);
	}
	if (attrs[S3F_ATTR_BASE_SIZE]) {
		job->has_base_size = true;
		job->base_size = nla_get_u64(attrs[S3F_ATTR_BASE_SIZE]);
	}
	if (attrs[S3F_ATTR_CLEAN_SIZE]) {
		job->has_clean_size = true;
		job->clean_size = nla_get_u64(attrs[S3F_ATTR_CLEAN_SIZE]);
	}
	if (attrs[S3F_ATTR_FLAGS])
		job->flags = nla_get_u32(attrs[S3F_ATTR_FLAGS]);
	if (attrs[S3F_ATTR_COMMIT_ID])
		job->commit_id = nla_get_u64(attrs[S3F_ATTR_COMMIT_ID]);
	if (attrs[S3F_ATTR_COMMIT_SESSION])
		job->commit_session = nla_get_u64(attrs[S3F_ATTR_COMMIT_SESSION]);
	if (attrs[S3F_ATTR_TYPE]) {
		job->has_type = true;
		job->type = nla_get_u8(attrs[S3F_ATTR_TYPE]);
	}
	parse_meta(attrs, &job->meta);
	if (job->etag && !job->etag[0]) {	/* "" is no base */
		free(job->etag);
		job->etag = NULL;
	}
	if (job->cmd == S3F_CMD_COMMIT && parse_extents(nl, job))
		return -EINVAL;
	if (attrs[S3F_ATTR_DATA]) {
		job->data_len = nla_len(attrs[S3F_ATTR_DATA]);
		if (job->data_len > S3F_COMMIT_INLINE_MAX)
			return -EINVAL;
		job->data = malloc(job->data_len ? job->data_len : 1);
		if (!job->data)
			return -ENOMEM;
		memcpy(job->data, nla_data(attrs[S3F_ATTR_DATA]), job->data_len);
		job->has_data = true;
	}
	return write_upcall_valid(job) ? 0 : -EINVAL;
}

void write_upcall_free(struct job *job)
{
	free(job->data);
	free(job->new_key);
	free(job->stage);
	free(job->target);
	free(job->extents);
}

/* ---- replies ---- */

/* Log a failed operation; the expected refusals at info level. */
static void log_failure(const struct job *job, const char *what, const char *key,
			int err, const struct s3_result *res)
{
	char buf[512] = "";

	if (res && (res->http_status || res->code[0]))
		s3_result_str(res, buf, sizeof(buf));
	if (err == -EEXIST || err == -ESTALE || err == -ENOTEMPTY ||
	    err == -ENOENT)
		log_info("mount %u: %s %s: %s%s%s", job->mp.id, what, key,
			 strerror(-err), buf[0] ? ": " : "", buf);
	else
		log_warn("mount %u: %s %s: %s%s%s", job->mp.id, what, key,
			 strerror(-err), buf[0] ? ": " : "", buf);
}

/* Reply with err, and an ETAG when err is 0 and etag is not empty. */
static void reply_etag(struct s3f_nl *nl, struct job *job, int err,
		       const char *etag)
{
	struct nl_msg *msg = NULL;

	if (!err && etag && etag[0]) {
		msg = s3f_nl_msg(nl, S3F_CMD_REPLY);
		if (!msg || nla_put_string(msg, S3F_ATTR_ETAG, etag)) {
			nlmsg_free(msg);
			msg = NULL;
			err = -ENOMEM;
		}
	}
	s3f_nl_reply(nl, job->id, err, msg);
}

static const char *job_staging_dir(const struct job *job)
{
	return staging_dir_of(job->mp.staging);
}

/* ---- staging files ---- */

/* Is job->stage a staging file of the job's mount (or s3fd's default)? */
static bool stage_is_ours(const struct job *job)
{
	return staging_is_ours(job_staging_dir(job), job->stage) ||
	       staging_is_ours(staging_default(), job->stage);
}


/* The journal fields STAGE_OPEN and STAGE_NOTE carry. */
static void stage_journal_fill(const struct job *job, struct journal *j)
{
	j->key = job->key;
	j->base_etag = job->etag;
	j->base_size = job->base_size;
	j->clean_size = job->clean_size;
}

static int stage_journal_open(const struct job *job, const char *path)
{
	struct journal j = {
		.endpoint = job->mp.endpoint,
		.bucket = job->mp.bucket,
		.region = job->mp.region,
		.profile = job->mp.profile,
		.virtual_hosted = job->mp.addressing == S3F_ADDRESSING_VIRTUAL,
		.mode = job->meta.has_mode ? job->meta.mode : 0100644,
		.uid = job->meta.uid,
		.gid = job->meta.gid,
		.mtime_ns = job->meta.mtime_ns,
		/* no base byte below the clean size: nothing to tell from holes */
		.whole = !job->etag || !job->clean_size,
	};

	stage_journal_fill(job, &j);
	return journal_write(path, &j);
}

static void op_stage_open(struct s3f_nl *nl, struct job *job)
{
	const char *dir = job_staging_dir(job);
	struct nl_msg *msg = NULL;
	char *path = NULL;
	int fd, err;

	fd = staging_create(dir, job->mp.id, &path);
	if (fd < 0) {
		log_warn("mount %u: cannot create a staging file for %s in %s: %s",
			 job->mp.id, job->key, dir, strerror(-fd));
		s3f_nl_reply(nl, job->id, fd, NULL);
		return;
	}
	/* the file's owner pays for it: quotas on the staging file system */
	if (job->meta.has_uid && job->meta.has_gid &&
	    fchown(fd, job->meta.uid, job->meta.gid))
		log_debug("mount %u: staging file %s: chown %u:%u: %s", job->mp.id,
			  path, job->meta.uid, job->meta.gid, strerror(errno));
	/* before the kernel stages a byte: a node crash finds it */
	err = stage_journal_open(job, path);
	if (err) {
		log_warn("mount %u: cannot write the journal of %s (%s): %s",
			 job->mp.id, path, job->key, strerror(-err));
		close(fd);
		unlink(path);
		free(path);
		s3f_nl_reply(nl, job->id, err, NULL);
		return;
	}
	msg = s3f_nl_msg(nl, S3F_CMD_REPLY);
	if (!msg || nla_put_u32(msg, S3F_ATTR_FD, fd) ||
	    nla_put_string(msg, S3F_ATTR_STAGE, path)) {
		nlmsg_free(msg);
		msg = NULL;
		err = -ENOMEM;
		s3f_nl_reply(nl, job->id, err, NULL);
	} else {
		/* the kernel fget()s fd while it handles this reply */
		err = s3f_nl_reply(nl, job->id, 0, msg);
	}
	close(fd);
	if (err) {
		log_warn("mount %u: staging file for %s not handed over (%s): %s removed",
			 job->mp.id, job->key, strerror(-err), path);
		unlink(path);
		journal_remove(path);
	} else {
		log_debug("mount %u: %s staged in %s", job->mp.id, job->key, path);
	}
	free(path);
}

static void op_stage_release(struct s3f_nl *nl, struct job *job)
{
	const char *dirs[2] = { job_staging_dir(job), staging_default() };
	int err;

	err = staging_remove(dirs, 2, job->stage);
	if (!err || err == -ENOENT)
		journal_remove(job->stage);	/* only next to a file of ours */
	if (err == -EPERM)
		log_warn("mount %u: STAGE_RELEASE of %s refused: not a staging file in %s or %s",
			 job->mp.id, job->stage, dirs[0], dirs[1]);
	else if (err && err != -ENOENT)
		log_warn("mount %u: cannot remove %s: %s", job->mp.id, job->stage,
			 strerror(-err));
	else
		log_debug("mount %u: %s released", job->mp.id, job->stage);
	s3f_nl_reply(nl, job->id, 0, NULL);
}

static void op_stage_note(struct s3f_nl *nl, struct job *job)
{
	struct journal j;
	char *keep[2];
	int err;

	if (!stage_is_ours(job)) {
		log_warn("mount %u: STAGE_NOTE of %s refused: not a staging file in %s or %s",
			 job->mp.id, job->stage, job_staging_dir(job), staging_default());
		s3f_nl_reply(nl, job->id, -EPERM, NULL);
		return;
	}
	err = journal_read(job->stage, &j);
	if (err) {
		log_warn("mount %u: journal of %s: %s", job->mp.id, job->stage,
			 strerror(-err));
		s3f_nl_reply(nl, job->id, err, NULL);
		return;
	}
	/* the job's strings stand in for the journal's while it is written */
	keep[0] = j.key;
	keep[1] = j.base_etag;
	stage_journal_fill(job, &j);
	j.gone = job->flags & S3F_STAGE_GONE;
	err = journal_write(job->stage, &j);
	j.key = keep[0];
	j.base_etag = keep[1];
	journal_free(&j);
	if (err)
		log_warn("mount %u: journal of %s: %s", job->mp.id, job->stage,
			 strerror(-err));
	else
		log_debug("mount %u: journal of %s: %s, clean below %" PRIu64 "%s",
			  job->mp.id, job->stage, job->key, job->clean_size,
			  j.gone ? ", gone" : "");
	s3f_nl_reply(nl, job->id, err, NULL);
}

bool write_upcall_run_local(struct s3f_nl *nl, struct job *job)
{
	switch (job->cmd) {
	case S3F_CMD_STAGE_OPEN:
		op_stage_open(nl, job);
		return true;
	case S3F_CMD_STAGE_NOTE:
		op_stage_note(nl, job);
		return true;
	case S3F_CMD_STAGE_RELEASE:
		op_stage_release(nl, job);
		return true;
	}
	return false;
}

/* ---- COMMIT ---- */

static int commit_reply(struct s3f_nl *nl, const struct commit_result *out,
			struct nl_msg **msgp)
{
	struct nl_msg *msg = s3f_nl_msg(nl, S3F_CMD_REPLY);

	*msgp = msg;
	if (!msg)
		return -ENOMEM;
	if (nla_put_string(msg, S3F_ATTR_ETAG, out->etag) ||
	    nla_put_u64(msg, S3F_ATTR_BYTES_UPLOADED, out->bytes_uploaded) ||
	    nla_put_u64(msg, S3F_ATTR_BYTES_COPIED, out->bytes_copied) ||
	    (out->conflict && nla_put_string(msg, S3F_ATTR_CONFLICT, out->key)))
		return -EMSGSIZE;
	return 0;
}

/*
 * The journal of a staged COMMIT: the tag of the commit about to be
 * made, so that recovery after a crash knows an object carrying it for
 * this very commit (committed, nothing left to do).  A staging file
 * without a journal (a helper before protocol 8 made it) is left so.
 */
static void commit_journal_pending(const struct job *job,
				   const struct fsop_commit_req *req)
{
	struct journal j;
	int err;

	if (!stage_is_ours(job) || journal_read(job->stage, &j))
		return;
	fsop_commit_tag(req, j.pending, sizeof(j.pending));
	err = journal_write(job->stage, &j);
	if (err)
		log_warn("mount %u: journal of %s: %s", job->mp.id, job->stage,
			 strerror(-err));
	journal_free(&j);
}

/*
 * A staged COMMIT succeeded: the object is the journal's base from now
 * on (under the conflict copy's key when there was one), every staged
 * byte below its size is the base's, and the staging file as it is now
 * holds nothing new.
 */
static void commit_journal_done(const struct job *job,
				const struct commit_result *out)
{
	struct journal j;
	struct stat st;
	int err;

	if (!stage_is_ours(job) || journal_read(job->stage, &j))
		return;
	free(j.key);
	free(j.base_etag);
	j.key = strdup(out->key ? out->key : job->key);
	j.base_etag = strdup(out->etag);
	j.base_size = j.clean_size = job->size;
	j.pending[0] = '\0';
	/* uploaded from the staging file alone: the object is what it holds */
	if (!job->size ||
	    (job->nextents == 1 && !job->extents[0].off && job->extents[0].len == job->size))
		j.whole = true;
	j.committed = !stat(job->stage, &st);
	j.committed_size = st.st_size;
	j.committed_mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	err = j.key && j.base_etag ? journal_write(job->stage, &j) : -ENOMEM;
	if (err)
		log_warn("mount %u: journal of %s: %s", job->mp.id, job->stage,
			 strerror(-err));
	journal_free(&j);
}

static void op_commit(struct s3f_nl *nl, struct job *job, struct mount_entry *me)
{
	struct fsop_commit_req req = {
		.stage = job->stage,
		.data = job->has_data ? job->data : NULL,
		.size = job->size,
		.base_etag = job->etag,
		.base_size = job->base_size,
		.extents = job->extents,
		.nextents = job->nextents,
		.meta = job->meta,
		.fail_on_conflict = job->flags & S3F_COMMIT_FAIL_ON_CONFLICT,
		.commit_id = job->commit_id,
		.commit_session = job->commit_session,
		.cancel = &job->cancel,
	};
	struct commit_result out = { 0 };
	struct nl_msg *msg = NULL;
	struct s3_result res = { 0 };
	int err;

	mount_conditions(me, &req.conditions);
	if (job->stage)
		commit_journal_pending(job, &req);
	err = fsop_commit(mount_client(me), job->key, &req, &out, &res);
	if (err) {
		log_failure(job, "commit", job->key, err, &res);
		s3f_nl_reply(nl, job->id, err, NULL);
		return;
	}
	if (job->stage)
		commit_journal_done(job, &out);
	if (out.conflict)
		log_warn("mount %u: commit %s: another writer replaced it; both kept: theirs at %s, ours at %s",
			 job->mp.id, job->key, job->key, out.key);
	else
		log_debug("mount %u: committed %s (%" PRIu64 " bytes, ETag %s, %"
			  PRIu64 " uploaded, %" PRIu64 " copied)", job->mp.id,
			  job->key, job->size, out.etag, out.bytes_uploaded,
			  out.bytes_copied);
	err = commit_reply(nl, &out, &msg);
	if (err) {
		nlmsg_free(msg);
		msg = NULL;
	}
	s3f_nl_reply(nl, job->id, err, msg);
	commit_result_free(&out);
}

/* ---- namespace ---- */

static void op_delete(struct s3f_nl *nl, struct job *job, struct s3_client *c)
{
	struct s3_result res = { 0 };
	int err;

	err = fsop_delete(c, job->key, &res);
	if (err)
		log_failure(job, "delete", job->key, err, &res);
	s3f_nl_reply(nl, job->id, err, NULL);
}

static void op_mkdir(struct s3f_nl *nl, struct job *job, struct s3_client *c)
{
	char etag[S3_ETAG_MAX] = "";
	struct s3_result res = { 0 };
	int err;

	if (job->flags & S3F_MKDIR_SETATTR)
		err = fsop_setattr_dir(c, job->key, &job->meta, job->flags, etag, &res);
	else
		err = fsop_mkdir(c, job->key, &job->meta, etag, &res);
	if (err)
		log_failure(job, "mkdir", job->key, err, &res);
	reply_etag(nl, job, err, etag);
}

static void op_rmdir(struct s3f_nl *nl, struct job *job, struct s3_client *c)
{
	struct s3_result res = { 0 };
	int err;

	err = fsop_rmdir(c, job->key, &res);
	if (err)
		log_failure(job, "rmdir", job->key, err, &res);
	s3f_nl_reply(nl, job->id, err, NULL);
}

static void op_rename(struct s3f_nl *nl, struct job *job, struct s3_client *c)
{
	struct fsop_rename_opts o = {
		.flags = job->flags & S3F_RENAME_NOREPLACE ? FSOP_RENAME_NOREPLACE : 0,
		.etag = job->etag,
		.ctime_ns = job->meta.has_ctime ? job->meta.ctime_ns : 0,
		.resent = job->sends > 0,
	};
	char etag[S3_ETAG_MAX] = "", what[64];
	struct s3_result res = { 0 };
	int err;

	if (job->type == S3F_TYPE_DIR)
		err = fsop_rename_dir(c, job->key, job->new_key, &o, NULL, &res);
	else
		err = fsop_rename_file(c, job->key, job->new_key, &o, etag, &res);
	if (err) {
		snprintf(what, sizeof(what), "rename to %.40s", job->new_key);
		log_failure(job, what, job->key, err, &res);
	}
	reply_etag(nl, job, err, etag);
}

static void op_symlink(struct s3f_nl *nl, struct job *job, struct mount_entry *me)
{
	struct commit_conditions cond;
	char etag[S3_ETAG_MAX] = "";
	struct s3_result res = { 0 };
	int err;

	mount_conditions(me, &cond);
	err = fsop_symlink(mount_client(me), job->key, job->target, &job->meta,
			   cond.put, etag, &res);
	if (err)
		log_failure(job, "symlink", job->key, err, &res);
	reply_etag(nl, job, err, etag);
}

void write_upcall_run(struct s3f_nl *nl, struct job *job, struct mount_entry *me)
{
	struct s3_client *c = mount_client(me);

	switch (job->cmd) {
	case S3F_CMD_COMMIT:
		op_commit(nl, job, me);
		break;
	case S3F_CMD_DELETE:
		op_delete(nl, job, c);
		break;
	case S3F_CMD_MKDIR:
		op_mkdir(nl, job, c);
		break;
	case S3F_CMD_RMDIR:
		op_rmdir(nl, job, c);
		break;
	case S3F_CMD_RENAME:
		op_rename(nl, job, c);
		break;
	case S3F_CMD_SYMLINK:
		op_symlink(nl, job, me);
		break;
	default:
		s3f_nl_reply(nl, job->id, -EOPNOTSUPP, NULL);
		break;
	}
}
