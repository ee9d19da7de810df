/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s3fd's configuration file (s3fd.conf(5)): one setting a line,
 * "NAME = VALUE" or "NAME" alone (a switch), '#' starts a comment; each
 * NAME is one of s3fd's long options.  The file becomes "--NAME=VALUE"
 * arguments that s3fd parses before its command line, which wins.
 */
#ifndef S3F_HELPER_CONFIG_H
#define S3F_HELPER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_DEFAULT_PATH	"/etc/s3f/s3fd.conf"

struct config_args {
	char **argv;		/* argv[0] is the program name; NULL-terminated */
	int argc;
};

/*
 * Read path into args.  A missing file is no error unless must_exist.
 * The file must be a regular file owned by root and writable by root
 * only (it decides, e.g., whether plain http may carry credentials).
 * Returns 0 or -1 with err saying what and where (file and line).
 */
int config_load(const char *path, bool must_exist, const char *prog,
		struct config_args *args, char *err, size_t errlen);
void config_free(struct config_args *args);

#endif /* S3F_HELPER_CONFIG_H */
