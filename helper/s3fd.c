// SPDX-License-Identifier: GPL-2.0
/*
 * s3fd: the s3f helper daemon.
 *
 * Registers with s3f.ko over generic netlink and answers its upcalls.
 * One poll loop over the netlink socket and a signalfd (SIGTERM, SIGINT:
 * stop every S3 request in flight, say goodbye and exit within seconds;
 * SIGHUP: load every mount's credentials again).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "bufbudget.h"
#include "config.h"
#include "genl.h"
#include "log.h"
#include "upcalls.h"
#include "mounts.h"
#include "retry.h"
#include "staging.h"
#include "testhooks.h"
#include "write_upcalls.h"
#include "workqueue.h"

#define S3FD_DEFAULT_WORKERS	16
#define S3FD_MAX_WORKERS	256

struct s3fd_opts {
	int workers;
	bool foreground;
	bool ignore_upcalls;	/* test hook: play a hung helper */
	bool bad_replies;	/* test hook: testhooks.h */
	unsigned int commit_delay_ms;	/* test hook: testhooks.h */
	bool use_syslog;
	enum log_level level;
	const char *staging;	/* staging directory */
	uint64_t buffer_bytes;	/* bufbudget.h */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s3fd [--foreground] [--syslog] [--log-level LEVEL] [--workers N]\n"
		"            [--staging DIR] [--buffer-mib N]\n"
		"\n"
		"The s3f helper daemon: does all S3 I/O for s3f.ko, and keeps the\n"
		"staging files that hold written data until it is committed.\n"
		"  -f, --foreground     stay in the foreground, log to stderr\n"
		"      --syslog         log to syslog (the default in the background)\n"
		"  -l, --log-level L    error, warning, info (default), debug\n"
		"  -w, --workers N      S3 requests in parallel (default 16)\n"
		"  -s, --staging DIR    staging files of mounts without staging=\n"
		"                       (default " STAGING_DEFAULT_DIR "; created\n"
		"                       mode 0700 when missing)\n"
		"  -b, --buffer-mib N   memory for data buffers (READ replies,\n"
		"                       checksum chunks, merged commit parts), at\n"
		"                       least 8; requests wait for room (default %llu)\n"
		"      --allow-http     allow http:// endpoints other than this node\n"
		"                       (S3FD_ALLOW_HTTP=1 too); https otherwise\n"
		"      --no-recover     do not commit what an earlier boot staged and\n"
		"                       never committed (a node crash) when a mount\n"
		"                       of its bucket starts; s3fctl recover does it\n"
		"      --conditions C   which conditional writes the servers honour:\n"
		"                       auto (default: probed once per endpoint and\n"
		"                       bucket, by the first write), none, put, or\n"
		"                       put,complete (If-Match/If-None-Match on\n"
		"                       CompleteMultipartUpload too)\n"
		"      --test-ignore-upcalls  register but never answer (tests of\n"
		"                       timeouts and helper restarts)\n"
		"      --test-bad-replies  answer s3f-fault-* keys with replies that\n"
		"                       break the protocol (tests of the kernel's checks)\n"
		"      --test-commit-delay-ms N  wait N ms before each commit\n"
		"  -c, --config FILE    settings (s3fd.conf(5)) read before the command\n"
		"                       line, which wins (default " CONFIG_DEFAULT_PATH ",\n"
		"                       when it exists)\n"
		"  -V, --version        the release and the protocols s3fd speaks\n"
		"  -h, --help           this text\n",
		BUFBUDGET_DEFAULT >> 20);
}

/* One pass of options: the configuration file's, then the command line's. */
static int parse_opts(int argc, char **argv, struct s3fd_opts *o)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "staging", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "buffer-mib", required_argument, NULL, 'b' },
		{ "conditions", required_argument, NULL, 'C' },
		{ "allow-http", no_argument, NULL, 'H' },
		{ "no-recover", no_argument, NULL, 'R' },
		{ "test-ignore-upcalls", no_argument, NULL, 'I' },
		{ "test-bad-replies", no_argument, NULL, 'B' },
		{ "test-commit-delay-ms", required_argument, NULL, 'D' },
		{ "config", required_argument, NULL, 'c' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0;	/* glibc: start afresh (a second pass) */
	while ((ch = getopt_long(argc, argv, "fl:w:s:b:hVc:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':	/* read before the passes (parse_args) */
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'S':
			o->use_syslog = true;
			break;
		case 's':
			if (optarg[0] != '/') {
				fprintf(stderr, "s3fd: --staging needs an absolute path\n");
				return -1;
			}
			o->staging = optarg;
			break;
		case 'l':
			if (log_parse_level(optarg, &o->level)) {
				fprintf(stderr, "s3fd: unknown log level \"%s\"\n", optarg);
				return -1;
			}
			break;
		case 'w':
			o->workers = atoi(optarg);
			if (o->workers < 1 || o->workers > S3FD_MAX_WORKERS) {
				fprintf(stderr, "s3fd: --workers must be 1..%d\n",
					S3FD_MAX_WORKERS);
				return -1;
			}
			break;
		case 'b': {
			char *end;
			unsigned long long mib;

			errno = 0;
			mib = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || mib < 8 ||
			    mib > (1ULL << 20)) {
				fprintf(stderr, "s3fd: --buffer-mib must be 8..1048576\n");
				return -1;
			}
			o->buffer_bytes = mib << 20;
			break;
		}
		case 'H':
			mounts_allow_http(true);
			break;
		case 'R':
			mounts_set_recover(false);
			break;
		case 'C': {
			struct commit_conditions cond = { 0 };

			if (!strcmp(optarg, "auto"))
				break;
			if (!strcmp(optarg, "put,complete"))
				cond.put = cond.complete = true;
			else if (!strcmp(optarg, "put"))
				cond.put = true;
			else if (strcmp(optarg, "none")) {
				fprintf(stderr, "s3fd: --conditions must be auto, none, put or put,complete\n");
				return -1;
			}
			mounts_state_conditions(&cond);
			break;
		}
		case 'I':
			o->ignore_upcalls = true;
			break;
		case 'B':
			o->bad_replies = true;
			break;
		case 'D':
			o->commit_delay_ms = strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("s3fd %s, protocol %d to %d\n", S3F_RELEASE,
			       S3F_PROTOCOL_MIN, S3F_PROTOCOL_VERSION);
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
	return 0;
}

/*
 * The configuration file (--config FILE, or CONFIG_DEFAULT_PATH when it
 * exists), then the command line, which wins.  cfg keeps the strings
 * the options point into.
 */
static int parse_args(int argc, char **argv, struct s3fd_opts *o,
		      struct config_args *cfg)
{
	const char *path = CONFIG_DEFAULT_PATH, *env;
	bool named = false;
	char err[512];
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			path = argv[++i];
			named = true;
		} else if (!strncmp(argv[i], "--config=", 9)) {
			path = argv[i] + 9;
			named = true;
		}
	}
	o->level = LOG_LVL_INFO;
	o->workers = S3FD_DEFAULT_WORKERS;
	o->staging = STAGING_DEFAULT_DIR;
	o->buffer_bytes = BUFBUDGET_DEFAULT;
	env = getenv("S3FD_ALLOW_HTTP");
	if (env && !strcmp(env, "1"))
		mounts_allow_http(true);
	if (config_load(path, named, "s3fd", cfg, err, sizeof(err))) {
		fprintf(stderr, "s3fd: %s\n", err);
		return -1;
	}
	if (cfg->argc > 1 && parse_opts(cfg->argc, cfg->argv, o)) {
		fprintf(stderr, "s3fd: in %s\n", path);
		return -1;
	}
	if (parse_opts(argc, argv, o))
		return -1;
	if (!o->foreground)
		o->use_syslog = true;
	return 0;
}

/* Jobs go to workers through workqueue.c; the workers send the replies. */
static struct s3f_nl *workers_nl;

static void *worker_main(void *arg)
{
	struct job *job;

	while ((job = wq_take())) {
		/*
		 * Its requests end when the kernel stops waiting for it or
		 * cancels it.  A COMMIT's CANCEL is the commit engine's to
		 * obey (before publishing, never in the middle of it).
		 */
		retry_scope_enter(job->deadline_ns,
				  job->cmd == S3F_CMD_COMMIT ? NULL : &job->cancel);
		job_run(workers_nl, job);
		retry_scope_leave();
		wq_done(job);
		job_free(job);
	}
	return NULL;
}

/*
 * CANCEL of upcall id: a job still queued is dropped and answered
 * ECANCELED; a running one is told to stop where it safely can (a
 * commit: before publishing) and answers as usual.
 */
static void queue_cancel(struct s3f_nl *nl, uint64_t id)
{
	struct job *job = wq_cancel(id);

	if (job) {
		log_info("upcall %" PRIu64 " cancelled before it started", id);
		s3f_nl_reply(nl, id, -ECANCELED, NULL);
		job_free(job);
	}
}

/* Parsed upcall to the queue; answered ENOMEM when it cannot go there. */
static void queue_push(struct s3f_nl *nl, struct job *job)
{
	if (!wq_push(job))
		return;
	s3f_nl_reply(nl, job->id, -ENOMEM, NULL);
	job_free(job);
}

/* Start n workers; returns how many started. */
static int workers_start(struct s3f_nl *nl, pthread_t *tids, int n)
{
	int i;

	workers_nl = nl;
	wq_init(n);
	for (i = 0; i < n; i++)
		if (pthread_create(&tids[i], NULL, worker_main, NULL))
			break;
	return i;
}

/*
 * Stop the workers.  Every S3 request in flight is aborted (retry.h),
 * so a worker's current job ends within about a second; its failure is
 * not answered (genl.c drops error replies once stopping), and queued
 * jobs are dropped unanswered: the kernel sends them again to the next
 * helper.  A worker still busy after S3FD_STOP_WAIT_S is left behind
 * (returns false): exiting says goodbye all the same.
 */
#define S3FD_STOP_WAIT_S	10

static bool workers_stop(pthread_t *tids, int n)
{
	struct timespec until;
	bool all = true;
	int i;

	retry_stop_all();
	wq_stop();
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += S3FD_STOP_WAIT_S;
	for (i = 0; i < n; i++) {
		if (pthread_timedjoin_np(tids[i], NULL, &until)) {
			all = false;
			continue;
		}
	}
	if (!all) {
		log_warn("workers still busy %d s after the stop: exiting without them",
			 S3FD_STOP_WAIT_S);
		return false;
	}
	wq_drain();
	return true;
}

static void handle_upcall(struct s3f_nl *nl, uint8_t cmd, struct nlattr **attrs,
			  void *arg)
{
	const struct s3fd_opts *o = arg;
	struct job *job;
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
	case S3F_CMD_CANCEL:
		log_info("upcall %" PRIu64 ": cancelled by the kernel", id);
		queue_cancel(nl, id);
		return;		/* a CANCEL is not answered itself */
	case S3F_CMD_MOUNT:
	case S3F_CMD_LOOKUP:
	case S3F_CMD_READDIR:
	case S3F_CMD_READ:
	case S3F_CMD_UMOUNT:
		job = job_parse(nl, cmd, attrs);
		if (job)
			queue_push(nl, job);
		return;
	default:
		if (write_upcall_is_write(cmd)) {
			job = job_parse(nl, cmd, attrs);
			if (job)
				queue_push(nl, job);
			return;
		}
		log_warn("upcall %u (id %" PRIu64 ") not supported by this s3fd",
			 cmd, id);
		err = -EOPNOTSUPP;
		break;
	}
	if (s3f_nl_reply(nl, id, err, NULL))
		log_warn("cannot reply to upcall %" PRIu64, id);
}

/*
 * The default staging directory.  A failure does not stop s3fd (a
 * read-only host still reads): STAGE_OPEN tries again and says why.
 */
static void staging_init(const char *dir)
{
	int err;

	if (staging_set_default(dir)) {
		log_err("out of memory");
		exit(1);
	}
	err = staging_mkdir(dir);
	if (err)
		log_warn("staging directory %s: %s (writes will fail)", dir,
			 strerror(-err));
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
			if (si.ssi_signo == SIGHUP) {
				log_info("SIGHUP: reloading credentials");
				mounts_reload_creds();
				continue;
			}
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

/*
 * Into the background, but so that whoever started us (systemd's
 * Type=forking, an init script, a shell) learns whether we came up: the
 * parent waits on a pipe until the child reports that it registered
 * with s3f.ko (report_ready) and exits 0, or exits 1 when the child died
 * first.  The child keeps the pipe's write end in *ready_fd.
 */
static int daemonize(int *ready_fd)
{
	int fds[2], null;
	char c;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		log_err("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_err("fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid > 0) {
		ssize_t n;

		close(fds[1]);
		do
			n = read(fds[0], &c, 1);
		while (n < 0 && errno == EINTR);
		/* nothing read: the child exited before it was ready (it said why) */
		_exit(n == 1 && c == 'R' ? 0 : 1);
	}
	close(fds[0]);
	*ready_fd = fds[1];
	log_errors_to_stderr(true);
	if (setsid() < 0 || chdir("/"))
		log_warn("setsid/chdir: %s", strerror(errno));
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		/* stderr stays until ready: the parent's caller sees start-up errors */
		if (null > STDERR_FILENO)
			close(null);
	}
	return 0;
}

/*
 * Registered: tell systemd (Type=notify; nothing without NOTIFY_SOCKET)
 * and the parent that daemonize() left waiting; stderr goes quiet.
 */
static void report_ready(int *ready_fd, uint32_t proto)
{
	int null;

	sd_notifyf(0, "READY=1\nSTATUS=registered with s3f.ko, protocol %" PRIu32 "\nMAINPID=%d",
		   proto, (int)getpid());
	if (*ready_fd < 0)
		return;
	if (write(*ready_fd, "R", 1) != 1)
		log_warn("cannot report readiness: %s", strerror(errno));
	close(*ready_fd);
	*ready_fd = -1;
	log_errors_to_stderr(false);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDERR_FILENO);
		close(null);
	}
}

int main(int argc, char **argv)
{
	struct s3fd_opts o = { 0 };
	pthread_t tids[S3FD_MAX_WORKERS];
	struct s3f_nl nl;
	char errbuf[256];
	struct config_args cfg = { 0 };
	int sfd, err, status, nworkers, ready_fd = -1;
	bool clean;
	uint64_t budget, peak;

	if (parse_args(argc, argv, &o, &cfg))
		return 2;
	log_init("s3fd", o.use_syslog, o.level);

	if (!o.foreground && daemonize(&ready_fd))
		return 1;
	/*
	 * Credentials live in our memory: no core dumps, no ptrace by
	 * processes of the same uid without CAP_SYS_PTRACE.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		log_warn("PR_SET_DUMPABLE: %s", strerror(errno));
	/*
	 * Writeback may wait on us: never let our own allocations recurse
	 * into file system reclaim (needs CAP_SYS_RESOURCE; best effort).
	 */
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0))
		log_debug("PR_SET_IO_FLUSHER: %s", strerror(errno));
	staging_init(o.staging);
	bufbudget_set(o.buffer_bytes);
	testhooks_set(o.bad_replies, o.commit_delay_ms);

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
	log_info("s3fd %s registered with s3f.ko (protocol %" PRIu32 "), pid %d",
		 S3F_RELEASE, nl.proto, (int)getpid());
	report_ready(&ready_fd, nl.proto);

	nworkers = workers_start(&nl, tids, o.workers);
	if (!nworkers) {
		log_err("cannot start worker threads");
		status = 1;
	} else {
		status = serve(&nl, sfd, &o);
	}
	clean = workers_stop(tids, nworkers);
	bufbudget_stats(&budget, &peak);
	log_info("data buffers: peak %llu KiB of a %llu KiB budget",
		 (unsigned long long)(peak >> 10), (unsigned long long)(budget >> 10));
	err = s3f_nl_goodbye(&nl);
	if (err)
		log_warn("goodbye: %s", strerror(-err));
	if (!clean) {
		/* workers still use the mounts, the socket and the budget */
		log_info("exiting");
		_exit(status);
	}
out_close_nl:
	s3f_nl_close(&nl);
	mounts_cleanup();
out_close_sfd:
	close(sfd);
	config_free(&cfg);
	return status;
}
