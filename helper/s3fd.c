// SPDX-License-Identifier: GPL-2.0
/*
 * s3fd: the s3f helper daemon.
 *
 * Registers with s3f.ko over generic netlink and answers its upcalls.
 * One poll loop over the netlink socket and a signalfd (SIGTERM, SIGINT:
 * say goodbye and exit; SIGHUP: ignored for now).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "genl.h"
#include "log.h"

struct s3fd_opts {
	bool foreground;
	bool ignore_upcalls;	/* test hook: play a hung helper */
	bool use_syslog;
	enum log_level level;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s3fd [--foreground] [--syslog] [--log-level LEVEL]\n"
		"\n"
		"The s3f helper daemon: does all S3 I/O for s3f.ko.\n"
		"  -f, --foreground     stay in the foreground, log to stderr\n"
		"      --syslog         log to syslog (the default in the background)\n"
		"  -l, --log-level L    error, warning, info (default), debug\n"
		"      --test-ignore-upcalls  register but never answer (tests of\n"
		"                       timeouts and helper restarts)\n"
		"  -h, --help           this text\n");
}

static int parse_args(int argc, char **argv, struct s3fd_opts *o)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "syslog", no_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "test-ignore-upcalls", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->level = LOG_LVL_INFO;
	while ((ch = getopt_long(argc, argv, "fl:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->foreground = true;
			break;
		case 's':
			o->use_syslog = true;
			break;
		case 'l':
			if (log_parse_level(optarg, &o->level)) {
				fprintf(stderr, "s3fd: unknown log level \"%s\"\n", optarg);
				return -1;
			}
			break;
		case 'I':
			o->ignore_upcalls = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	if (!o->foreground)
		o->use_syslog = true;
	return 0;
}

static void handle_upcall(struct s3f_nl *nl, uint8_t cmd, struct nlattr **attrs,
			  void *arg)
{
	const struct s3fd_opts *o = arg;
	uint64_t id;
	int err;

	if (o->ignore_upcalls) {
		log_info("upcall %u ignored (--test-ignore-upcalls)", cmd);
		return;
	}
	if (!attrs[S3F_ATTR_REQ_ID]) {
		log_warn("upcall %u without a request id, ignored", cmd);
		return;
	}
	id = nla_get_u64(attrs[S3F_ATTR_REQ_ID]);
	switch (cmd) {
	case S3F_CMD_PING:
		log_debug("ping %" PRIu64, id);
		err = 0;
		break;
	default:
		log_warn("upcall %u (id %" PRIu64 ") not supported by this s3fd",
			 cmd, id);
		err = -EOPNOTSUPP;
		break;
	}
	if (s3f_nl_reply(nl, id, err, NULL))
		log_warn("cannot reply to upcall %" PRIu64, id);
}

static int open_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Returns the exit status. */
static int serve(struct s3f_nl *nl, int sfd, const struct s3fd_opts *o)
{
	struct pollfd pfd[2] = {
		{ .fd = s3f_nl_fd(nl), .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	struct signalfd_siginfo si;

	/* upcalls that arrived while we registered */
	if (nl->ndeferred)
		s3f_nl_receive_deferred(nl, handle_upcall, (void *)o);
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			return 1;
		}
		if (pfd[1].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP)
				continue;
			log_info("signal %u: unregistering and exiting", si.ssi_signo);
			return 0;
		}
		if (pfd[0].revents & (POLLERR | POLLHUP)) {
			log_err("netlink socket failed");
			return 1;
		}
		if (pfd[0].revents & POLLIN)
			s3f_nl_receive(nl, handle_upcall, (void *)o);
	}
}

int main(int argc, char **argv)
{
	struct s3fd_opts o = { 0 };
	struct s3f_nl nl;
	char errbuf[256];
	int sfd, err, status;

	if (parse_args(argc, argv, &o))
		return 2;
	log_init("s3fd", o.use_syslog, o.level);

	if (!o.foreground && daemon(0, 0)) {
		log_err("cannot daemonize: %s", strerror(errno));
		return 1;
	}
	/*
	 * Writeback may wait on us: never let our own allocations recurse
	 * into file system reclaim (needs CAP_SYS_RESOURCE; best effort).
	 */
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0))
		log_debug("PR_SET_IO_FLUSHER: %s", strerror(errno));

	sfd = open_signalfd();
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return 1;
	}
	err = s3f_nl_open(&nl, errbuf, sizeof(errbuf));
	if (err) {
		log_err("%s", errbuf);
		status = 1;
		goto out_close_sfd;
	}
	err = s3f_nl_hello(&nl);
	if (err) {
		log_err("cannot register with s3f.ko: %s%s%s", strerror(-err),
			nl.errmsg[0] ? ": " : "", nl.errmsg);
		status = 1;
		goto out_close_nl;
	}
	log_info("registered with s3f.ko (protocol %d), pid %d",
		 S3F_PROTOCOL_VERSION, (int)getpid());

	status = serve(&nl, sfd, &o);
	err = s3f_nl_goodbye(&nl);
	if (err)
		log_warn("goodbye: %s", strerror(-err));
out_close_nl:
	s3f_nl_close(&nl);
out_close_sfd:
	close(sfd);
	return status;
}
