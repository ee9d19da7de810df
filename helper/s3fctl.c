// SPDX-License-Identifier: GPL-2.0
/*
 * s3fctl: control and inspect s3f.
 *
 *   s3fctl status [--ping]   is s3f.ko loaded, is a helper registered
 *   s3fctl commit PATH...    commit files to S3 now (fsync each)
 *   s3fctl wait [PATH...]    commit everything written on these file
 *                            systems, or on every s3f mount (syncfs)
 *   s3fctl recover ...       staged data a node crash left (list,
 *                            commit, discard)
 *   s3fctl s3 ...            the S3 engine from the command line
 *
 * Exit status of `status`: 0 helper registered (and answered the ping),
 * 1 no helper (or it did not answer), 3 s3f.ko not loaded, 2 usage.
 * `commit` and `wait`: 0 when every PATH succeeded, 1 otherwise (a PATH
 * not on an s3f mount is a failure: nothing would reach S3).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "genl.h"
#include "log.h"
#include "recovercli.h"
#include "s3cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s3fctl status [--ping]\n"
		"       s3fctl --version\n"
		"       s3fctl commit PATH...\n"
		"       s3fctl wait [PATH...]\n"
		"       s3fctl recover list|commit|discard ...  (s3fctl recover --help)\n"
		"       s3fctl s3 [OPTIONS] COMMAND [ARGS]   (s3fctl s3 --help)\n"
		"\n"
		"  status   is s3f.ko loaded, is a helper registered (--ping: and\n"
		"           does it answer)\n"
		"  commit   commit each file to S3 now and wait for it (fsync)\n"
		"  wait     commit every file written on the file system of each\n"
		"           PATH, or of every s3f mount, and wait (syncfs)\n"
		"  recover  staged data a node crash kept from being committed\n"
		"  s3       the S3 engine without the kernel\n");
}

static int cmd_status(int argc, char **argv)
{
	struct s3f_status st;
	struct s3f_nl nl;
	char errbuf[256];
	bool ping = false;
	int err;

	if (argc == 2 && !strcmp(argv[1], "--ping"))
		ping = true;
	else if (argc != 1) {
		usage(stderr);
		return 2;
	}
	log_init("s3fctl", false, LOG_LVL_WARN);
	err = s3f_nl_open(&nl, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "s3fctl: %s\n", errbuf);
		return err == -ENOENT ? 3 : 1;
	}
	err = s3f_nl_status(&nl, ping, &st);
	s3f_nl_close(&nl);
	if (err) {
		fprintf(stderr, "s3fctl: status: %s%s%s\n", strerror(-err),
			nl.errmsg[0] ? ": " : "", nl.errmsg);
		return 1;
	}
	printf("module: loaded, protocol %" PRIu32 " to %" PRIu32 "\n",
	       st.proto_min, st.proto_version);
	if (st.helper_pid)
		printf("helper: pid %" PRIu32 ", protocol %" PRIu32 "\n",
		       st.helper_pid, st.helper_proto);
	else
		printf("helper: none\n");
	printf("pending: %" PRIu32 "\nmounts: %" PRIu32 "\n", st.pending, st.mounts);
	if (!st.helper_pid)
		printf("waiting for a helper: %" PRIu32 "\n", st.waiting);
	if (st.has_ping)
		printf("ping: %" PRIu64 " us\n", st.ping_ns / 1000);
	return st.helper_pid ? 0 : 1;
}

/*
 * fsync (on s3f: commit to S3) or syncfs path; prints what failed.  A
 * path on another file system is refused: its data would never reach S3.
 */
static int sync_path(const char *what, const char *path, bool whole_fs)
{
	struct statfs sfs;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "s3fctl: %s %s: %s\n", what, path, strerror(errno));
		return -1;
	}
	if (fstatfs(fd, &sfs)) {
		fprintf(stderr, "s3fctl: %s %s: %s\n", what, path, strerror(errno));
		close(fd);
		return -1;
	}
	if (sfs.f_type != S3F_MAGIC) {
		fprintf(stderr, "s3fctl: %s %s: not on an s3f mount\n", what, path);
		close(fd);
		return -1;
	}
	if (whole_fs ? syncfs(fd) : fsync(fd)) {
		err = -1;
		fprintf(stderr, "s3fctl: %s %s: %s\n", what, path, strerror(errno));
	}
	close(fd);
	return err;
}

static int cmd_commit(int argc, char **argv)
{
	int i, status = 0;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (sync_path("commit", argv[i], false))
			status = 1;
	return status;
}

/* syncfs every s3f mount in /proc/self/mounts (getmntent decodes \040) */
static int wait_all_mounts(void)
{
	struct mntent *m;
	FILE *f;
	int status = 0;

	f = setmntent("/proc/self/mounts", "re");
	if (!f) {
		fprintf(stderr, "s3fctl: wait: /proc/self/mounts: %s\n",
			strerror(errno));
		return 1;
	}
	while ((m = getmntent(f)))
		if (!strcmp(m->mnt_type, "s3f") &&
		    sync_path("wait", m->mnt_dir, true))
			status = 1;
	endmntent(f);
	return status;
}

static int cmd_wait(int argc, char **argv)
{
	int i, status = 0;

	if (argc == 1)
		return wait_all_mounts();
	for (i = 1; i < argc; i++)
		if (sync_path("wait", argv[i], true))
			status = 1;
	return status;
}

/*
 * Its own release and protocols, and the loaded module's (its version
 * from sysfs, its protocols and the helper's from STATUS).
 */
static int cmd_version(void)
{
	char version[64] = "?", errbuf[256];
	struct s3f_status st;
	struct s3f_nl nl;
	FILE *f;

	printf("s3fctl %s, protocol %d to %d\n", S3F_RELEASE, S3F_PROTOCOL_MIN,
	       S3F_PROTOCOL_VERSION);
	log_init("s3fctl", false, LOG_LVL_ERR);
	if (s3f_nl_open(&nl, errbuf, sizeof(errbuf))) {
		printf("s3f.ko: not loaded\n");
		return 0;
	}
	f = fopen("/sys/module/s3f/version", "re");
	if (f) {
		if (!fgets(version, sizeof(version), f))
			strcpy(version, "?");
		version[strcspn(version, "\n")] = '\0';
		fclose(f);
	}
	if (s3f_nl_status(&nl, false, &st)) {
		printf("s3f.ko %s\n", version);
	} else {
		printf("s3f.ko %s, protocol %" PRIu32 " to %" PRIu32 "\n", version,
		       st.proto_min, st.proto_version);
		if (st.helper_pid)
			printf("s3fd: pid %" PRIu32 ", protocol %" PRIu32 "\n",
			       st.helper_pid, st.helper_proto);
	}
	s3f_nl_close(&nl);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "commit"))
		return cmd_commit(argc - 1, argv + 1);
	if (!strcmp(argv[1], "wait"))
		return cmd_wait(argc - 1, argv + 1);
	if (!strcmp(argv[1], "s3"))
		return s3cli_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "recover"))
		return recover_cli_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		return cmd_version();
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "s3fctl: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
