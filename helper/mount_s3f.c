// SPDX-License-Identifier: GPL-2.0
/*
 * mount.s3f: what mount(8) runs for "-t s3f" (and what fstab entries
 * reach): mount.s3f SOURCE DIR [-sfnv] [-N NS] [-o OPTIONS].
 *
 * Uses the fs_context mount API (fsopen/fsconfig/fsmount/move_mount) so
 * that the kernel's own explanation of a refused option or a failed
 * mount is printed, not just "invalid argument".  Options that only
 * concern mount(8) or fstab (defaults, noauto, _netdev, x-*, ...) are
 * dropped; per-mount-point flags (nosuid, nodev, noexec, noatime, ...)
 * become mount attributes; everything else goes to s3f.ko, which
 * rejects what it does not know.
 *
 * Whoever can write the bucket must not gain privileges on the node: an
 * s3f mount is nosuid,nodev unless the admin says suid (which also
 * passes setid=keep, so s3f.ko shows set-id bits from S3) or dev.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static const char *const fstab_only[] = {
	"defaults", "auto", "noauto", "user", "nouser", "users", "owner",
	"group", "nofail", "_netdev", "rw", NULL,
};

static const struct {
	const char *name;
	unsigned int attr;
} mount_attrs[] = {
	{ "nosuid", MOUNT_ATTR_NOSUID },
	{ "nodev", MOUNT_ATTR_NODEV },
	{ "noexec", MOUNT_ATTR_NOEXEC },
	{ "noatime", MOUNT_ATTR_NOATIME },
	{ "relatime", MOUNT_ATTR_RELATIME },
	{ "strictatime", MOUNT_ATTR_STRICTATIME },
	{ "nodiratime", MOUNT_ATTR_NODIRATIME },
	{ "exec", 0 }, { "atime", 0 },
};

/* suid and dev are off unless asked for (see the top of this file). */
struct trust {
	bool suid;
	bool dev;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: mount.s3f BUCKET[/PREFIX] DIR [-sfnv] [-o OPTIONS]\n"
		"options: see Documentation/mount-options.md (endpoint=, region=, ...)\n");
}

/* Print what the kernel logged on the fs_context, e.g. "e s3f: bad option". */
static void print_fs_log(int fsfd)
{
	char buf[1024];
	ssize_t n;

	while ((n = read(fsfd, buf, sizeof(buf) - 1)) > 0) {
		while (n && buf[n - 1] == '\n')
			n--;
		buf[n] = '\0';
		if (n > 2 && buf[1] == ' ')
			fprintf(stderr, "mount.s3f: %s\n", buf + 2);
		else
			fprintf(stderr, "mount.s3f: %s\n", buf);
	}
}

static bool in_list(const char *opt, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(opt, *list))
			return true;
	return false;
}

/* Apply one option; returns 0 or -1 (message printed). */
static int apply_option(int fsfd, char *opt, unsigned int *attrs, bool *ro,
			struct trust *t)
{
	char *eq;
	size_t i;

	if (!*opt || in_list(opt, fstab_only) || !strncmp(opt, "x-", 2) ||
	    !strncmp(opt, "comment=", 8))
		return 0;
	if (!strcmp(opt, "suid") || !strcmp(opt, "nosuid")) {
		t->suid = opt[0] == 's';
		return 0;
	}
	if (!strcmp(opt, "dev") || !strcmp(opt, "nodev")) {
		t->dev = opt[0] == 'd';
		return 0;
	}
	for (i = 0; i < sizeof(mount_attrs) / sizeof(mount_attrs[0]); i++) {
		if (!strcmp(opt, mount_attrs[i].name)) {
			*attrs |= mount_attrs[i].attr;
			return 0;
		}
	}
	if (!strcmp(opt, "ro"))
		*ro = true;
	eq = strchr(opt, '=');
	if (eq) {
		*eq = '\0';
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, opt, eq + 1, 0) == 0)
			return 0;
		*eq = '=';
	} else if (fsconfig(fsfd, FSCONFIG_SET_FLAG, opt, NULL, 0) == 0) {
		return 0;
	}
	fprintf(stderr, "mount.s3f: option \"%s\": %s\n", opt, strerror(errno));
	print_fs_log(fsfd);
	return -1;
}

int main(int argc, char **argv)
{
	const char *source, *dir, *opts = "";
	struct trust trust = { false, false };
	unsigned int attrs = 0;
	bool ro = false;
	char *copy, *opt, *save;
	int ch, fsfd, mfd, status = 32;	/* mount(8): "mount failure" */

	if (argc < 3) {
		usage();
		return 1;
	}
	source = argv[1];
	dir = argv[2];
	optind = 3;
	while ((ch = getopt(argc, argv, "sfnvo:t:N:")) != -1) {
		switch (ch) {
		case 'o':
			opts = optarg;
			break;
		case 's': case 'f': case 'n': case 'v': case 't': case 'N':
			break;		/* sloppy, fake, no-mtab, verbose: nothing to do */
		default:
			usage();
			return 1;
		}
	}

	fsfd = fsopen("s3f", FSOPEN_CLOEXEC);
	if (fsfd < 0) {
		fprintf(stderr, "mount.s3f: %s\n", errno == ENODEV ?
			"the s3f file system is not available: load s3f.ko (modprobe s3f)" :
			strerror(errno));
		return status;
	}
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0)) {
		fprintf(stderr, "mount.s3f: source \"%s\": %s\n", source, strerror(errno));
		print_fs_log(fsfd);
		goto out_close_fs;
	}
	copy = strdup(opts);
	if (!copy)
		goto out_close_fs;
	for (opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save))
		if (apply_option(fsfd, opt, &attrs, &ro, &trust))
			break;
	free(copy);
	if (opt)
		goto out_close_fs;
	if (!trust.suid)
		attrs |= MOUNT_ATTR_NOSUID;
	else if (fsconfig(fsfd, FSCONFIG_SET_STRING, "setid", "keep", 0)) {
		fprintf(stderr, "mount.s3f: option \"suid\": %s\n", strerror(errno));
		print_fs_log(fsfd);
		goto out_close_fs;
	}
	if (!trust.dev)
		attrs |= MOUNT_ATTR_NODEV;

	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
		fprintf(stderr, "mount.s3f: mounting %s failed: %s\n", source,
			strerror(errno));
		print_fs_log(fsfd);
		goto out_close_fs;
	}
	if (ro)
		attrs |= MOUNT_ATTR_RDONLY;
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, attrs);
	if (mfd < 0) {
		fprintf(stderr, "mount.s3f: fsmount: %s\n", strerror(errno));
		goto out_close_fs;
	}
	if (move_mount(mfd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH)) {
		fprintf(stderr, "mount.s3f: %s: %s\n", dir, strerror(errno));
		close(mfd);
		goto out_close_fs;
	}
	close(mfd);
	status = 0;
out_close_fs:
	close(fsfd);
	return status;
}
