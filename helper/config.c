// SPDX-License-Identifier: GPL-2.0
/*
 * s3fd.conf: the settings an admin keeps in /etc rather than in a unit
 * file's command line (config.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

/* The settings the file may hold: s3fd's options, less the test hooks. */
static const struct {
	const char *name;
	bool has_value;
} settings[] = {
	{ "staging", true },
	{ "workers", true },
	{ "buffer-mib", true },
	{ "conditions", true },
	{ "log-level", true },
	{ "syslog", false },
	{ "allow-http", false },
	{ "no-recover", false },
};

static int find_setting(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (!strcmp(settings[i].name, name))
			return (int)i;
	return -1;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int add_arg(struct config_args *args, char *arg)
{
	char **grown;

	grown = realloc(args->argv, (args->argc + 2) * sizeof(*grown));
	if (!grown) {
		free(arg);
		return -1;
	}
	args->argv = grown;
	args->argv[args->argc++] = arg;
	args->argv[args->argc] = NULL;
	return 0;
}

/* One line (comment and newline gone): 0, or -1 with err set. */
static int parse_line(char *line, struct config_args *args, char *err,
		      size_t errlen)
{
	char *name = line, *value = NULL, *eq, *arg;
	int i;

	eq = strchr(line, '=');
	if (eq) {
		*eq = '\0';
		value = trim(eq + 1);
	}
	name = trim(name);
	i = find_setting(name);
	if (i < 0) {
		snprintf(err, errlen, "unknown setting \"%s\"", name);
		return -1;
	}
	if (settings[i].has_value && (!value || !value[0])) {
		snprintf(err, errlen, "\"%s\" needs a value (%s = ...)", name, name);
		return -1;
	}
	if (!settings[i].has_value && value) {
		snprintf(err, errlen, "\"%s\" takes no value", name);
		return -1;
	}
	if (asprintf(&arg, "--%s%s%s", name, value ? "=" : "", value ? value : "") < 0 ||
	    add_arg(args, arg)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int config_load(const char *path, bool must_exist, const char *prog,
		struct config_args *args, char *err, size_t errlen)
{
	char line[1024], why[256];
	struct stat st;
	unsigned int lineno = 0;
	int ret = -1;
	FILE *f;

	args->argv = NULL;
	args->argc = 0;
	if (add_arg(args, strdup(prog))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out_free;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022)) {
		snprintf(err, errlen, "%s: not a regular file owned by root and writable by root only",
			 path);
		goto out_close;
	}
	while (fgets(line, sizeof(line), f)) {
		char *hash;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			goto out_close;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		if (!trim(line)[0])
			continue;
		if (parse_line(line, args, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			goto out_close;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out_close;
	}
	ret = 0;
out_close:
	fclose(f);
out_free:
	if (ret)
		config_free(args);
	return ret;
}

void config_free(struct config_args *args)
{
	int i;

	for (i = 0; i < args->argc; i++)
		free(args->argv[i]);
	free(args->argv);
	args->argv = NULL;
	args->argc = 0;
}
