// SPDX-License-Identifier: GPL-2.0
/*
 * s3fctl: control and inspect s3f.
 *
 *   s3fctl status [--ping]   is s3f.ko loaded, is a helper registered
 *   s3fctl s3 ...            the S3 engine from the command line
 *
 * Exit status of `status`: 0 helper registered (and answered the ping),
 * 1 no helper (or it did not answer), 3 s3f.ko not loaded, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "genl.h"
#include "log.h"
#include "s3cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s3fctl status [--ping]\n"
		"       s3fctl s3 [OPTIONS] COMMAND [ARGS]   (s3fctl s3 --help)\n");
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
	printf("module: loaded, protocol %" PRIu32 "\n", st.proto_version);
	if (st.helper_pid)
		printf("helper: pid %" PRIu32 "\n", st.helper_pid);
	else
		printf("helper: none\n");
	printf("pending: %" PRIu32 "\nmounts: %" PRIu32 "\n", st.pending, st.mounts);
	if (st.has_ping)
		printf("ping: %" PRIu64 " us\n", st.ping_ns / 1000);
	return st.helper_pid ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "s3"))
		return s3cli_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "s3fctl: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
