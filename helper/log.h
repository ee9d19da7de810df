/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s3f helper logging: levels, stderr or syslog.
 *
 * Never pass a secret (secret key, session token, signing key, full
 * Authorization header) to these functions.
 */
#ifndef S3F_HELPER_LOG_H
#define S3F_HELPER_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void log_init(const char *ident, bool use_syslog, enum log_level level);
/* With syslog: errors go to stderr too (until a daemon is ready). */
void log_errors_to_stderr(bool on);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_parse_level(const char *name, enum log_level *out);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* S3F_HELPER_LOG_H */
