// SPDX-License-Identifier: GPL-2.0
/* s3fd.conf(5): what a file turns into, and what it refuses (helper/config.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

static char path[] = "/tmp/s3f-config-test.XXXXXX";

/* Write text to the test file with mode; load it; the args joined by ' '. */
static int load(const char *text, mode_t mode, char *out, size_t outlen,
		char *err, size_t errlen)
{
	struct config_args args;
	FILE *f = fopen(path, "w");
	int i, ret;

	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	out[0] = '\0';
	err[0] = '\0';
	ret = config_load(path, true, "s3fd", &args, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < args.argc; i++) {
		strncat(out, args.argv[i], outlen - strlen(out) - 2);
		if (i + 1 < args.argc)
			strcat(out, " ");
	}
	if (args.argv[args.argc])
		ret = -2;	/* not NULL-terminated */
	config_free(&args);
	return ret;
}

int main(void)
{
	struct config_args args;
	char out[1024], err[512];
	int fd, ret;

	fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);

	ret = load("# s3fd settings\n\nworkers = 8\n  staging=/var/lib/s3f/staging  # local disk\n"
		   "allow-http\nlog-level = debug\n", 0644, out, sizeof(out), err, sizeof(err));
	CHECK("config: settings become options, comments and blanks skipped", ret == 0 &&
	      !strcmp(out, "s3fd --workers=8 --staging=/var/lib/s3f/staging --allow-http --log-level=debug"),
	      "%d \"%s\" %s", ret, out, err);
	ret = load("workers = 8\nbogus = 1\n", 0600, out, sizeof(out), err, sizeof(err));
	CHECK("config: an unknown setting is refused with its line", ret == -1 &&
	      strstr(err, ":2: unknown setting \"bogus\""), "%d %s", ret, err);
	ret = load("test-bad-replies\n", 0600, out, sizeof(out), err, sizeof(err));
	CHECK("config: test hooks are not settings", ret == -1 && strstr(err, "unknown setting"),
	      "%d %s", ret, err);
	ret = load("workers\n", 0600, out, sizeof(out), err, sizeof(err));
	CHECK("config: a setting without its value is refused", ret == -1 &&
	      strstr(err, "needs a value"), "%d %s", ret, err);
	ret = load("no-recover = yes\n", 0600, out, sizeof(out), err, sizeof(err));
	CHECK("config: a switch with a value is refused", ret == -1 &&
	      strstr(err, "takes no value"), "%d %s", ret, err);
	if (getuid() == 0) {
		ret = load("workers = 8\n", 0666, out, sizeof(out), err, sizeof(err));
		CHECK("config: a file others may write is refused", ret == -1 &&
		      strstr(err, "writable by root only"), "%d %s", ret, err);
	}
	unlink(path);
	ret = config_load(path, false, "s3fd", &args, err, sizeof(err));
	CHECK("config: no default file is no error", ret == 0 && args.argc == 1, "%d %s", ret, err);
	config_free(&args);
	ret = config_load(path, true, "s3fd", &args, err, sizeof(err));
	CHECK("config: a named file that is missing is an error", ret == -1 &&
	      strstr(err, "No such file"), "%d %s", ret, err);
	CHECK_EXIT();
}
