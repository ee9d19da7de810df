// SPDX-License-Identifier: GPL-2.0
/*
 * Staging journals (journal.h).  The format, one field a line:
 *
 *   s3f-journal 1
 *   boot 0f1e...           the boot that staged it
 *   endpoint http://...    escaped: %XX outside '!'..'~', and '%'
 *   bucket b
 *   region eu-west-1       (or -: the default)
 *   profile -              (or a credentials profile)
 *   addressing path        (or virtual)
 *   key dir/file%20name
 *   base-etag 9a0364b9e99bb480dd25e1f0284c8555   (or -: a new object)
 *   base-size 1048576
 *   clean-size 1048576
 *   mode 100644            octal
 *   uid 1000
 *   gid 1000
 *   mtime-ns 1764800000000000000
 *   state staged           (or gone)
 *   whole yes              (or no: holes below clean-size are the base's)
 *   pending -              (or SESSION-ID of a COMMIT under way)
 *   committed 4096 1764800000000000000   (or -)
 *
 * Unknown fields are ignored, a missing required one is an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"

#define JOURNAL_MAGIC	"s3f-journal 1"

char *journal_path(const char *stage)
{
	char *path;

	return asprintf(&path, "%s" JOURNAL_SUFFIX, stage) < 0 ? NULL : path;
}

int journal_boot_id(char out[JOURNAL_BOOT_ID_LEN + 1])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(out, 1, JOURNAL_BOOT_ID_LEN, f);
	fclose(f);
	if (n != JOURNAL_BOOT_ID_LEN)
		return -EIO;
	out[JOURNAL_BOOT_ID_LEN] = '\0';
	return 0;
}

char *journal_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out, *o;

	out = malloc(strlen(s) * 3 + 1);
	if (!out)
		return NULL;
	for (o = out; *s; s++) {
		unsigned char c = *s;

		if (c > ' ' && c <= '~' && c != '%') {
			*o++ = c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *journal_unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	int hi, lo;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		hi = hexval(s[1]);
		lo = hi < 0 ? -1 : hexval(s[2]);
		if (lo < 0 || (!hi && !lo)) {	/* no NUL inside a key */
			free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*o = '\0';
	return out;
}

char *journal_format(const struct journal *j)
{
	char *endpoint = journal_escape(j->endpoint ? j->endpoint : "");
	char *bucket = journal_escape(j->bucket ? j->bucket : "");
	char *key = journal_escape(j->key ? j->key : "");
	char *region = journal_escape(j->region ? j->region : "");
	char *profile = journal_escape(j->profile ? j->profile : "");
	char *etag = j->base_etag ? journal_escape(j->base_etag) : strdup("-");
	char committed[64] = "-";
	char *text = NULL;

	if (j->committed)
		snprintf(committed, sizeof(committed), "%" PRIu64 " %" PRId64,
			 j->committed_size, j->committed_mtime_ns);
	if (endpoint && bucket && key && etag && region && profile &&
	    asprintf(&text, JOURNAL_MAGIC "\nboot %s\nendpoint %s\nbucket %s\n"
		     "region %s\nprofile %s\naddressing %s\n"
		     "key %s\nbase-etag %s\nbase-size %" PRIu64 "\n"
		     "clean-size %" PRIu64 "\nmode %o\nuid %" PRIu32 "\n"
		     "gid %" PRIu32 "\nmtime-ns %" PRId64 "\nstate %s\n"
		     "whole %s\npending %s\ncommitted %s\n",
		     j->boot_id, endpoint[0] ? endpoint : "-", bucket,
		     region[0] ? region : "-", profile[0] ? profile : "-",
		     j->virtual_hosted ? "virtual" : "path", key, etag,
		     j->base_size, j->clean_size, (unsigned int)j->mode, j->uid,
		     j->gid, j->mtime_ns, j->gone ? "gone" : "staged",
		     j->whole ? "yes" : "no",
		     j->pending[0] ? j->pending : "-", committed) < 0)
		text = NULL;
	free(endpoint);
	free(bucket);
	free(key);
	free(etag);
	free(region);
	free(profile);
	return text;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end;
}

static bool parse_s64(const char *s, int64_t *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !errno && !*end;
}

static bool parse_u32(const char *s, uint32_t *out, int base)
{
	unsigned long v;
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*out = v;
	return true;
}

/* An escaped string field; "-" is NULL when dash_is_null. */
static bool parse_str(const char *s, char **out, bool dash_is_null)
{
	free(*out);
	*out = NULL;
	if (dash_is_null && !strcmp(s, "-"))
		return true;
	*out = journal_unescape(s);
	return *out != NULL;
}

static bool parse_committed(const char *s, struct journal *j)
{
	char size[32];
	const char *sp = strchr(s, ' ');

	if (!strcmp(s, "-")) {
		j->committed = false;
		return true;
	}
	if (!sp || (size_t)(sp - s) >= sizeof(size))
		return false;
	memcpy(size, s, sp - s);
	size[sp - s] = '\0';
	j->committed = parse_u64(size, &j->committed_size) &&
		       parse_s64(sp + 1, &j->committed_mtime_ns);
	return j->committed;
}

enum {
	F_BOOT = 1 << 0, F_ENDPOINT = 1 << 1, F_BUCKET = 1 << 2, F_KEY = 1 << 3,
	F_ETAG = 1 << 4, F_BASE_SIZE = 1 << 5, F_CLEAN = 1 << 6, F_STATE = 1 << 7,
	F_REQUIRED = (1 << 8) - 1,
};

/* One "name value" line; the F_ bit it set, 0 for an unknown name, -1 bad. */
static int parse_field(const char *name, const char *v, struct journal *j)
{
	if (!strcmp(name, "boot")) {
		if (strlen(v) != JOURNAL_BOOT_ID_LEN)
			return -1;
		memcpy(j->boot_id, v, JOURNAL_BOOT_ID_LEN + 1);
		return F_BOOT;
	}
	if (!strcmp(name, "endpoint"))
		return parse_str(strcmp(v, "-") ? v : "", &j->endpoint, false) ? F_ENDPOINT : -1;
	if (!strcmp(name, "region"))
		return parse_str(strcmp(v, "-") ? v : "", &j->region, false) ? 0 : -1;
	if (!strcmp(name, "profile"))
		return parse_str(strcmp(v, "-") ? v : "", &j->profile, false) ? 0 : -1;
	if (!strcmp(name, "addressing")) {
		if (strcmp(v, "path") && strcmp(v, "virtual"))
			return -1;
		j->virtual_hosted = !strcmp(v, "virtual");
		return 0;
	}
	if (!strcmp(name, "bucket"))
		return parse_str(v, &j->bucket, false) && j->bucket[0] ? F_BUCKET : -1;
	if (!strcmp(name, "key"))
		return parse_str(v, &j->key, false) && j->key[0] ? F_KEY : -1;
	if (!strcmp(name, "base-etag"))
		return parse_str(v, &j->base_etag, true) ? F_ETAG : -1;
	if (!strcmp(name, "base-size"))
		return parse_u64(v, &j->base_size) ? F_BASE_SIZE : -1;
	if (!strcmp(name, "clean-size"))
		return parse_u64(v, &j->clean_size) ? F_CLEAN : -1;
	if (!strcmp(name, "mode"))
		return parse_u32(v, &j->mode, 8) ? 0 : -1;
	if (!strcmp(name, "uid"))
		return parse_u32(v, &j->uid, 10) ? 0 : -1;
	if (!strcmp(name, "gid"))
		return parse_u32(v, &j->gid, 10) ? 0 : -1;
	if (!strcmp(name, "mtime-ns"))
		return parse_s64(v, &j->mtime_ns) ? 0 : -1;
	if (!strcmp(name, "state")) {
		if (strcmp(v, "staged") && strcmp(v, "gone"))
			return -1;
		j->gone = !strcmp(v, "gone");
		return F_STATE;
	}
	if (!strcmp(name, "whole")) {
		if (strcmp(v, "yes") && strcmp(v, "no"))
			return -1;
		j->whole = !strcmp(v, "yes");
		return 0;
	}
	if (!strcmp(name, "pending")) {
		if (strlen(v) >= sizeof(j->pending))
			return -1;
		strcpy(j->pending, strcmp(v, "-") ? v : "");
		return 0;
	}
	if (!strcmp(name, "committed"))
		return parse_committed(v, j) || !strcmp(v, "-") ? 0 : -1;
	return 0;
}

int journal_parse(const char *text, struct journal *j)
{
	char *copy, *line, *save = NULL, *sp;
	int seen = 0, bit, err = 0;

	memset(j, 0, sizeof(*j));
	j->mode = 0100644;
	if (strncmp(text, JOURNAL_MAGIC "\n", sizeof(JOURNAL_MAGIC)))
		return -EINVAL;
	copy = strdup(text + sizeof(JOURNAL_MAGIC));
	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line && !err;
	     line = strtok_r(NULL, "\n", &save)) {
		sp = strchr(line, ' ');
		if (!sp) {
			err = -EINVAL;
			break;
		}
		*sp = '\0';
		bit = parse_field(line, sp + 1, j);
		if (bit < 0)
			err = -EINVAL;
		else
			seen |= bit;
	}
	free(copy);
	if (!err && (seen & F_REQUIRED) != F_REQUIRED)
		err = -EINVAL;
	if (err)
		journal_free(j);
	return err;
}

void journal_free(struct journal *j)
{
	free(j->endpoint);
	free(j->bucket);
	free(j->key);
	free(j->base_etag);
	free(j->region);
	free(j->profile);
	j->endpoint = j->bucket = j->key = j->base_etag = NULL;
	j->region = j->profile = NULL;
}

/* fsync the directory that holds path, so a rename in it is durable. */
static int sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : slash - path) : strdup(".");
	int fd, err = 0;

	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	/* file systems that cannot fsync a directory (9p) still renamed it */
	return err == -EINVAL || err == -EBADF ? 0 : err;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

int journal_write(const char *stage, const struct journal *j)
{
	struct journal copy = *j;
	char *path, *tmp = NULL, *text;
	int fd = -1, err;

	if (!copy.boot_id[0]) {
		err = journal_boot_id(copy.boot_id);
		if (err)
			return err;
	}
	text = journal_format(&copy);
	path = journal_path(stage);
	if (!text || !path || asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		err = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_all(fd, text, strlen(text));
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (!err)
		err = sync_parent(path);
	else
		unlink(tmp);
out:
	free(text);
	free(path);
	free(tmp);
	return err;
}

int journal_read(const char *stage, struct journal *j)
{
	char *path = journal_path(stage), *text = NULL;
	size_t len = 0, cap = 0;
	int fd, err = 0;
	ssize_t n;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (len + 1 >= cap) {
			char *bigger;

			cap = cap ? cap * 2 : 4096;
			if (cap > (1 << 20)) {	/* a key is at most 1 KiB */
				err = -EINVAL;
				break;
			}
			bigger = realloc(text, cap);
			if (!bigger) {
				err = -ENOMEM;
				break;
			}
			text = bigger;
		}
		n = read(fd, text + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (!err) {
		text[len] = '\0';
		err = journal_parse(text, j);
	}
	free(text);
	return err;
}

int journal_remove(const char *stage)
{
	char *path = journal_path(stage);
	int err = 0;

	if (!path)
		return -ENOMEM;
	if (unlink(path))
		err = -errno;
	free(path);
	return err;
}
