/* SPDX-License-Identifier: GPL-2.0 */
/*
 * When an S3 request is tried again, and when s3fd gives up on it: the
 * classification of failures, the backoff, the deadline and the
 * cancellation of the job a request belongs to.  retry.c has the
 * failure model at its top.
 */
#ifndef S3F_HELPER_RETRY_H
#define S3F_HELPER_RETRY_H

#include <stdbool.h>
#include <stdint.h>

/* What a failed attempt says about the next one. */
enum retry_class {
	RETRY_NEVER,		/* the same request fails the same way: 4xx */
	RETRY_TRANSIENT,	/* the server or the network: try again later */
	RETRY_SLOW_DOWN,	/* the server asks for less: back off longer */
	RETRY_CREDENTIALS,	/* expired credentials: reload, then once more */
};

/* An HTTP answer that is no success; code is S3's error code or NULL. */
enum retry_class retry_classify_status(long status, const char *code);
/*
 * A 200 whose body is an <Error> (CompleteMultipartUpload, CopyObject):
 * S3 carried nothing out, and says whether trying again may help.
 */
enum retry_class retry_classify_error_body(const char *code);

/*
 * The job this thread works on (set by the worker around each job):
 * requests made until retry_scope_leave() stop at deadline_ns
 * (CLOCK_MONOTONIC; 0: none) and when *cancel becomes non-zero.
 * Thread-local: a worker runs one job at a time.
 */
void retry_scope_enter(uint64_t deadline_ns, const int *cancel);
void retry_scope_leave(void);

/* s3fd is stopping: every request in flight and every backoff ends now. */
void retry_stop_all(void);
bool retry_stopping(void);

/*
 * Should the current request stop?  -ECANCELED (the job was cancelled or
 * s3fd stops), -ETIMEDOUT (the job's deadline passed), else 0.
 */
int retry_should_stop(void);
/* Milliseconds left before the job's deadline; -1 without one. */
long retry_time_left_ms(void);

/*
 * Sleep before attempt number attempt (1, 2 ...): "equal jitter"
 * exponential backoff between base_ms and cap_ms (four times longer for
 * SlowDown).  Returns 0, or what retry_should_stop() says when the
 * sleep would cross the deadline or the job is stopped meanwhile.
 */
int retry_backoff(int attempt, enum retry_class cls, long base_ms, long cap_ms,
		  unsigned int *seed);

uint64_t retry_now_ns(void);

#endif /* S3F_HELPER_RETRY_H */
