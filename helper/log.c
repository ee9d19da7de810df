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
	enum log_level level;
} log_cfg = { "s3f", false, LOG_LVL_INFO };

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

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (level > log_cfg.level)
		return;

	va_start(ap, fmt);
	if (log_cfg.use_syslog) {
		vsnprintf(line, sizeof(line), fmt, ap);
		syslog(level_prio[level], "%s", line);
	} else {
		n = snprintf(line, sizeof(line), "%s[%d]: %s: ",
			     log_cfg.ident, (int)getpid(), level_names[level]);
		if (n < 0 || (size_t)n >= sizeof(line))
			n = 0;
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		n = strlen(line);
		if ((size_t)n < sizeof(line) - 1)
			line[n++] = '\n';
		else
			line[sizeof(line) - 2] = '\n';
		if (write(STDERR_FILENO, line, n) < 0) {
			/* nowhere left to report it */
		}
	}
	va_end(ap);
}
