// SPDX-License-Identifier: GPL-2.0
/*
 * Credentials and region, following the AWS CLI: environment variables,
 * then the shared credentials and config files.
 *
 * The files are INI as Python's configparser reads them for botocore:
 * "#" and ";" start a comment line, names and values are trimmed, "="
 * or ":" separates them, key names are case-insensitive, a line
 * indented deeper than the key above it continues that key's value
 * (used for nested settings such as "s3 =" in the config file).  The
 * whole file must be well-formed, as for the AWS CLI; an error names
 * the file and line, never the line's content.
 *
 * A profile's credentials come from one file, as botocore does it: the
 * credentials file when its section has aws_access_key_id, else the
 * config file.  Secrets are wiped with explicit_bzero before being
 * freed, including the buffer the file was read into.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"

#define INI_MAX_SIZE	(1 << 20)
#define DEFAULT_REGION	"us-east-1"

enum ini_key {
	K_ACCESS,
	K_SECRET,
	K_TOKEN,
	K_REGION,
	K_NR
};

static const char *const ini_key_names[K_NR] = {
	[K_ACCESS] = "aws_access_key_id",
	[K_SECRET] = "aws_secret_access_key",
	[K_TOKEN] = "aws_session_token",
	[K_REGION] = "region",
};

/* One shared file, read for one profile. */
struct ini_file {
	const char *path;	/* NULL: no path known (no HOME) */
	bool config;		/* "[profile name]" sections */
	const char *profile;
	bool missing;		/* no such file */
	bool found;		/* the profile's section is there */
	char *val[K_NR];
};

/* Parser state across lines. */
struct ini_state {
	unsigned int lineno;
	bool in_section;
	bool ours;		/* current section is the profile */
	bool in_option;		/* a key was seen in this section */
	size_t opt_indent;	/* indentation of that key */
};

static void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

__attribute__((format(printf, 3, 4)))
static void errf(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errbuf || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* Non-empty value of an environment variable, or NULL. */
static const char *env_get(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trim blanks at both ends, in place. */
static char *trim(char *s)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* ---- paths ---- */

static int home_dir(char **out)
{
	const char *home = env_get("HOME");
	struct passwd pw, *res = NULL;
	char buf[4096];

	*out = NULL;
	if (!home && !getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) &&
	    res && res->pw_dir && *res->pw_dir)
		home = res->pw_dir;
	if (!home)
		return 0;
	*out = strdup(home);
	return *out ? 0 : -ENOMEM;
}

/* "~" and "~/..." as the AWS CLI expands them; NULL out without a home. */
static int expand_home(const char *path, char **out)
{
	char *home;
	int ret;

	*out = NULL;
	if (path[0] != '~' || (path[1] && path[1] != '/')) {
		*out = strdup(path);
		return *out ? 0 : -ENOMEM;
	}
	ret = home_dir(&home);
	if (ret || !home)
		return ret;
	if (asprintf(out, "%s%s", home, path + 1) < 0) {
		*out = NULL;
		ret = -ENOMEM;
	}
	free(home);
	return ret;
}

/* The file named by env, else ~/.aws/leaf. */
static int shared_path(const char *env, const char *leaf, char **out)
{
	const char *v = env_get(env);
	char *path;
	int ret;

	if (v)
		return expand_home(v, out);
	if (asprintf(&path, "~/.aws/%s", leaf) < 0)
		return -ENOMEM;
	ret = expand_home(path, out);
	free(path);
	return ret;
}

/* ---- reading a file ---- */

/* The whole file, NUL terminated; -ENOENT when there is none. */
static int file_read(const char *path, char **bufp, size_t *lenp)
{
	struct stat st;
	size_t cap, len = 0;
	ssize_t n;
	char *buf;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto close_fd;
	}
	ret = S_ISDIR(st.st_mode) ? -EISDIR : -EFBIG;
	if (S_ISDIR(st.st_mode) || st.st_size > INI_MAX_SIZE)
		goto close_fd;
	/* one spare byte to see the file grow while being read */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap + 1);
	ret = -ENOMEM;
	if (!buf)
		goto close_fd;
	while (len < cap) {
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto free_buf;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	ret = -EFBIG;
	if (len == cap)
		goto free_buf;
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	close(fd);
	return 0;

free_buf:
	explicit_bzero(buf, len);
	free(buf);
close_fd:
	close(fd);
	return ret;
}

/* ---- parsing ---- */

__attribute__((format(printf, 5, 6)))
static int ini_error(const struct ini_file *ini, const struct ini_state *st,
		     char *errbuf, size_t errlen, const char *fmt, ...)
{
	char why[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	errf(errbuf, errlen, "%s:%u: %s", ini->path, st->lineno, why);
	return -EINVAL;
}

/* The profile a section header names, or NULL when it is none. */
static const char *section_profile(const struct ini_file *ini, char *name)
{
	if (!ini->config)
		return name;
	if (!strcmp(name, "default"))
		return name;
	if (strncmp(name, "profile", 7) || !is_blank(name[7]))
		return NULL;
	return trim(name + 7);
}

/* "[name]" with s at the '['; comments may follow the ']' */
static int ini_section(struct ini_file *ini, struct ini_state *st, char *s,
		       char *errbuf, size_t errlen)
{
	char *end = strrchr(s, ']'), *rest, *name;
	const char *profile;

	if (!end)
		return ini_error(ini, st, errbuf, errlen,
				 "section header without ']'");
	rest = trim(end + 1);
	if (*rest && *rest != '#' && *rest != ';')
		return ini_error(ini, st, errbuf, errlen,
				 "text after section header");
	*end = '\0';
	name = trim(s + 1);
	if (!*name)
		return ini_error(ini, st, errbuf, errlen,
				 "empty section name");
	profile = section_profile(ini, name);
	st->in_section = true;
	st->in_option = false;
	st->ours = profile && !strcmp(profile, ini->profile);
	ini->found |= st->ours;
	return 0;
}

/* Keep the value when it is one we want; a repeated key wins. */
static int ini_store(struct ini_file *ini, const char *key, const char *value)
{
	int k;

	for (k = 0; k < K_NR; k++) {
		if (strcasecmp(key, ini_key_names[k]))
			continue;
		secret_free(ini->val[k]);
		ini->val[k] = NULL;
		if (!*value)
			return 0;
		ini->val[k] = strdup(value);
		return ini->val[k] ? 0 : -ENOMEM;
	}
	return 0;
}

/* "key = value" or "key: value" */
static int ini_option(struct ini_file *ini, struct ini_state *st, char *s,
		      size_t indent, char *errbuf, size_t errlen)
{
	char *sep = strpbrk(s, "=:"), *key;

	if (!sep)
		return ini_error(ini, st, errbuf, errlen,
				 "expected \"name = value\"");
	*sep = '\0';
	key = trim(s);
	if (!*key)
		return ini_error(ini, st, errbuf, errlen,
				 "no name before the separator");
	if (!st->in_section)
		return ini_error(ini, st, errbuf, errlen,
				 "setting before any [section]");
	st->in_option = true;
	st->opt_indent = indent;
	if (!st->ours)
		return 0;
	return ini_store(ini, key, trim(sep + 1));
}

static int ini_line(struct ini_file *ini, struct ini_state *st, char *line,
		    char *errbuf, size_t errlen)
{
	size_t indent = strspn(line, " \t");
	char *s = trim(line);

	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (st->in_option && indent > st->opt_indent)
		return 0;	/* continuation of the key above */
	if (*s == '[')
		return ini_section(ini, st, s, errbuf, errlen);
	return ini_option(ini, st, s, indent, errbuf, errlen);
}

static int ini_parse(struct ini_file *ini, char *buf, size_t len,
		     char *errbuf, size_t errlen)
{
	struct ini_state st = { 0 };
	char *line = buf, *end = buf + len, *eol;
	int ret;

	eol = memchr(buf, '\0', len);
	if (eol) {
		for (st.lineno = 1; line < eol; line++)
			st.lineno += *line == '\n';
		return ini_error(ini, &st, errbuf, errlen, "NUL byte");
	}
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		line += 3;	/* UTF-8 byte order mark */
	while (line < end) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			eol = end;
		*eol = '\0';
		st.lineno++;
		ret = ini_line(ini, &st, line, errbuf, errlen);
		if (ret)
			return ret;
		line = eol + 1;
	}
	return 0;
}

static void ini_free(struct ini_file *ini)
{
	int k;

	for (k = 0; k < K_NR; k++) {
		secret_free(ini->val[k]);
		ini->val[k] = NULL;
	}
}

/* Read ini->path for ini->profile.  A missing file is not an error. */
static int ini_load(struct ini_file *ini, char *errbuf, size_t errlen)
{
	char *buf = NULL, why[128];
	size_t len = 0;
	int ret;

	ini->missing = true;
	if (!ini->path)
		return 0;
	ret = file_read(ini->path, &buf, &len);
	if (ret == -ENOENT || ret == -ENOTDIR)
		return 0;
	if (ret) {
		errf(errbuf, errlen, "cannot read %s: %s", ini->path,
		     strerror_r(-ret, why, sizeof(why)));
		return ret;
	}
	ini->missing = false;
	ret = ini_parse(ini, buf, len, errbuf, errlen);
	explicit_bzero(buf, len);
	free(buf);
	if (ret)
		ini_free(ini);
	return ret;
}

/* ---- credentials ---- */

static int creds_from_env(struct s3_creds *out, char *errbuf, size_t errlen)
{
	const char *access = env_get("AWS_ACCESS_KEY_ID");
	const char *secret = env_get("AWS_SECRET_ACCESS_KEY");
	const char *token = env_get("AWS_SESSION_TOKEN");

	if (!access)
		return -ENOENT;
	if (!secret) {
		errf(errbuf, errlen,
		     "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
		return -EINVAL;
	}
	out->access_key = strdup(access);
	out->secret_key = strdup(secret);
	out->session_token = token ? strdup(token) : NULL;
	out->source = strdup("environment");
	if (!out->access_key || !out->secret_key || !out->source ||
	    (token && !out->session_token)) {
		s3_creds_free(out);
		return -ENOMEM;
	}
	return 0;
}

/* Move the credentials of the file that has them into out. */
static int creds_take(struct ini_file *ini, struct s3_creds *out,
		      char *errbuf, size_t errlen)
{
	if (!ini->val[K_SECRET]) {
		errf(errbuf, errlen,
		     "%s [%s%s]: aws_access_key_id without aws_secret_access_key",
		     ini->path, ini->config &&
		     strcmp(ini->profile, "default") ? "profile " : "",
		     ini->profile);
		return -EINVAL;
	}
	if (asprintf(&out->source, "%s [%s]", ini->path, ini->profile) < 0) {
		out->source = NULL;
		return -ENOMEM;
	}
	out->access_key = ini->val[K_ACCESS];
	out->secret_key = ini->val[K_SECRET];
	out->session_token = ini->val[K_TOKEN];
	ini->val[K_ACCESS] = NULL;
	ini->val[K_SECRET] = NULL;
	ini->val[K_TOKEN] = NULL;
	return 0;
}

static const char *ini_state_str(const struct ini_file *ini)
{
	if (!ini->path)
		return "no path (HOME unknown)";
	if (ini->missing)
		return "no such file";
	if (!ini->found)
		return "no such profile";
	return "profile has no aws_access_key_id";
}

static void creds_not_found(const struct ini_file *cred,
			    const struct ini_file *conf, const char *origin,
			    char *errbuf, size_t errlen)
{
	errf(errbuf, errlen,
	     "no credentials for profile '%s'%s: %s: %s; %s: %s",
	     cred->profile, origin,
	     cred->path ? cred->path : "credentials file", ini_state_str(cred),
	     conf->path ? conf->path : "config file", ini_state_str(conf));
}

static int creds_from_files(const char *profile, const char *origin,
			    struct s3_creds *out, char *errbuf, size_t errlen)
{
	struct ini_file cred = { .profile = profile };
	struct ini_file conf = { .profile = profile, .config = true };
	char *cred_path, *conf_path = NULL;
	int ret;

	ret = shared_path("AWS_SHARED_CREDENTIALS_FILE", "credentials",
			  &cred_path);
	if (ret)
		return ret;
	ret = shared_path("AWS_CONFIG_FILE", "config", &conf_path);
	if (ret)
		goto free_paths;
	cred.path = cred_path;
	conf.path = conf_path;

	ret = ini_load(&cred, errbuf, errlen);
	if (ret)
		goto free_paths;
	ret = ini_load(&conf, errbuf, errlen);
	if (ret)
		goto free_cred;
	if (cred.val[K_ACCESS]) {
		ret = creds_take(&cred, out, errbuf, errlen);
	} else if (conf.val[K_ACCESS]) {
		ret = creds_take(&conf, out, errbuf, errlen);
	} else {
		creds_not_found(&cred, &conf, origin, errbuf, errlen);
		ret = -ENOENT;
	}
	ini_free(&conf);
free_cred:
	ini_free(&cred);
free_paths:
	free(conf_path);
	free(cred_path);
	return ret;
}

int s3_creds_load(const char *profile, struct s3_creds *out,
		  char *errbuf, size_t errlen)
{
	const char *origin = "";
	int ret;

	memset(out, 0, sizeof(*out));
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!profile || !*profile) {
		ret = creds_from_env(out, errbuf, errlen);
		if (ret != -ENOENT)
			return ret;
		profile = env_get("AWS_PROFILE");
		origin = " (from AWS_PROFILE; AWS_ACCESS_KEY_ID not set)";
		if (!profile) {
			profile = "default";
			origin = " (AWS_ACCESS_KEY_ID not set)";
		}
	}
	return creds_from_files(profile, origin, out, errbuf, errlen);
}

void s3_creds_free(struct s3_creds *creds)
{
	if (!creds)
		return;
	secret_free(creds->access_key);
	secret_free(creds->secret_key);
	secret_free(creds->session_token);
	free(creds->source);
	memset(creds, 0, sizeof(*creds));
}

/* ---- region ---- */

/* "region" of the profile in the config file, or NULL. */
static char *config_region(const char *profile)
{
	struct ini_file conf = { .profile = profile, .config = true };
	char *path, *region = NULL;

	if (shared_path("AWS_CONFIG_FILE", "config", &path))
		return NULL;
	conf.path = path;
	if (!ini_load(&conf, NULL, 0)) {
		region = conf.val[K_REGION];
		conf.val[K_REGION] = NULL;
	}
	ini_free(&conf);
	free(path);
	return region;
}

char *s3_region_load(const char *profile)
{
	const char *env = env_get("AWS_REGION");
	char *region;

	if (!env)
		env = env_get("AWS_DEFAULT_REGION");
	if (env)
		return strdup(env);
	if (!profile || !*profile)
		profile = env_get("AWS_PROFILE");
	region = config_region(profile ? profile : "default");
	return region ? region : strdup(DEFAULT_REGION);
}
