// SPDX-License-Identifier: GPL-2.0
/*
 * s3f helper logging.
 *
 * The configuration below is process-wide and written once by log_init()
 * (or log_set_level()) before any worker thread starts; afterwards it is
 * only read, so it needs no lock.  Each message is formatted into one
 * buffer and written with a single call so lines from threads never
 * interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static struct {
	const char *ident;
	bool use_syslog;
	bool errors_to_stderr;	/* syslog: errors on stderr too (s3fd's start-up) */
	enum log_level level;
} log_cfg = { "s3f", false, false, LOG_LVL_INFO };

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

static const int level_prio[] = {
	[LOG_LVL_ERR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
};

void log_init(const char *ident, bool use_syslog, enum log_level level)
{
	log_cfg.ident = ident;
	log_cfg.use_syslog = use_syslog;
	log_cfg.level = level;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_errors_to_stderr(bool on)
{
	log_cfg.errors_to_stderr = on;
}

void log_set_level(enum log_level level)
{
	log_cfg.level = level;
}

enum log_level log_get_level(void)
{
	return log_cfg.level;
}

int log_parse_level(const char *name, enum log_level *out)
{
	unsigned int i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcasecmp(name, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/*
 * Keys, server messages and paths come from whoever writes the bucket:
 * a newline or an escape sequence among them must not forge a log line
 * or drive a terminal.  Control bytes (and backslashes) become \xNN.
 */
static void escape_controls(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *in && o + 5 < outlen; in++) {
		unsigned char ch = *in;

		if (ch < 0x20 || ch == 0x7f || ch == '\\') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = ch;
		}
	}
	out[o] = '\0';
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char raw[2048], line[2048 + 64];
	va_list ap;
	int n;

	if (level > log_cfg.level)
		return;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (log_cfg.use_syslog) {
		escape_controls(raw, line, sizeof(line));
		syslog(level_prio[level], "%s", line);
		if (level != LOG_LVL_ERR || !log_cfg.errors_to_stderr)
			return;
	}
	n = snprintf(line, sizeof(line), "%s[%d]: %s: ",
		     log_cfg.ident, (int)getpid(), level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	escape_controls(raw, line + n, sizeof(line) - n - 1);
	n = strlen(line);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
}
