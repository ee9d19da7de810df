// SPDX-License-Identifier: GPL-2.0
/*
 * Retries, deadlines and cancellation of S3 requests: the one place that
 * decides whether a failed request is tried again.
 *
 * The failure model (Documentation/failure-model.md says what it means
 * for applications):
 *
 *   - Connection errors (refused, reset, no reply, a body cut short, a
 *     stall longer than the low-speed limit), 5xx, 429, 400
 *     RequestTimeout and BadDigest, 409 OperationAborted, and a 200 whose
 *     body is an <Error> with such a code: transient.  The request is
 *     sent again after an exponential backoff with jitter, up to the
 *     client's retry count, and never past the job's deadline.
 *   - 503 SlowDown and 429: the same, with a four times longer backoff.
 *   - ExpiredToken and friends: the credentials are reloaded and the
 *     request is sent once more (http.c).
 *   - Every other 4xx: final at once; the same request would fail the
 *     same way.
 *   - A request whose answer was lost may have been carried out.  Every
 *     request s3fd retries is idempotent as sent (PUT, DELETE, HEAD, GET,
 *     a part upload), except the ones that publish or remove an object
 *     conditionally, which the commit engine resolves by looking at the
 *     object: its commit tag tells this commit's own object from another
 *     writer's (commit.c), and a DELETE that finds nothing is done.
 *
 * A job's deadline is the time the kernel still waits for its answer
 * (S3F_ATTR_TIMEOUT_MS): past it nobody reads the answer, so no new
 * attempt starts and a transfer in progress is aborted.  A COMMIT has no
 * deadline: the kernel sends CANCEL instead, which the commit engine
 * obeys before publishing.  When s3fd stops (SIGTERM) every transfer
 * and backoff ends within a second; the kernel sends what was not
 * answered to the next helper.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retry.h"

/* Set once by retry_stop_all() (SIGTERM), read by every thread. */
static int stopping;

/* The job the calling thread runs (retry_scope_enter). */
static __thread uint64_t scope_deadline_ns;
static __thread const int *scope_cancel;

uint64_t retry_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool code_is(const char *code, const char *what)
{
	return code && !strcmp(code, what);
}

static bool credentials_expired(const char *code)
{
	return code_is(code, "ExpiredToken") || code_is(code, "TokenRefreshRequired") ||
	       code_is(code, "ExpiredTokenException");
}

enum retry_class retry_classify_status(long status, const char *code)
{
	if (credentials_expired(code))
		return RETRY_CREDENTIALS;
	if (status == 429 || code_is(code, "SlowDown") ||
	    code_is(code, "TooManyRequests"))
		return RETRY_SLOW_DOWN;
	if (status == 501)
		return RETRY_NEVER;		/* NotImplemented */
	if (status >= 500)
		return RETRY_TRANSIENT;
	if (status == 400 && (code_is(code, "RequestTimeout") ||
			      code_is(code, "BadDigest")))
		return RETRY_TRANSIENT;	/* BadDigest: damaged on the way */
	if (status == 409 && code_is(code, "OperationAborted"))
		return RETRY_TRANSIENT;
	return RETRY_NEVER;
}

enum retry_class retry_classify_error_body(const char *code)
{
	if (code_is(code, "SlowDown"))
		return RETRY_SLOW_DOWN;
	if (!code || !*code || code_is(code, "InternalError") ||
	    code_is(code, "ServiceUnavailable") || code_is(code, "RequestTimeout") ||
	    code_is(code, "OperationAborted"))
		return RETRY_TRANSIENT;
	return RETRY_NEVER;
}

void retry_scope_enter(uint64_t deadline_ns, const int *cancel)
{
	scope_deadline_ns = deadline_ns;
	scope_cancel = cancel;
}

void retry_scope_leave(void)
{
	scope_deadline_ns = 0;
	scope_cancel = NULL;
}

void retry_stop_all(void)
{
	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
}

bool retry_stopping(void)
{
	return __atomic_load_n(&stopping, __ATOMIC_ACQUIRE);
}

int retry_should_stop(void)
{
	if (retry_stopping())
		return -ECANCELED;
	if (scope_cancel && __atomic_load_n(scope_cancel, __ATOMIC_ACQUIRE))
		return -ECANCELED;
	if (scope_deadline_ns && retry_now_ns() >= scope_deadline_ns)
		return -ETIMEDOUT;
	return 0;
}

long retry_time_left_ms(void)
{
	uint64_t now;

	if (!scope_deadline_ns)
		return -1;
	now = retry_now_ns();
	return now >= scope_deadline_ns ? 0 :
	       (long)((scope_deadline_ns - now) / 1000000);
}

int retry_backoff(int attempt, enum retry_class cls, long base_ms, long cap_ms,
		  unsigned int *seed)
{
	int shift = attempt > 1 ? attempt - 1 : 0;
	long step, ms, left, slice;
	struct timespec ts;
	int err;

	if (cls == RETRY_SLOW_DOWN) {
		base_ms *= 4;
		cap_ms *= 4;
	}
	step = base_ms << (shift < 16 ? shift : 16);
	if (step > cap_ms || step <= 0)
		step = cap_ms;
	/* "equal jitter": at least half the step, at most the whole step */
	ms = step / 2 + rand_r(seed) % (step / 2 + 1);
	left = retry_time_left_ms();
	if (left >= 0 && ms >= left)
		return -ETIMEDOUT;
	/* in slices, so that stopping and cancelling end the wait */
	while (ms > 0) {
		err = retry_should_stop();
		if (err)
			return err;
		slice = ms < 100 ? ms : 100;
		ts.tv_sec = 0;
		ts.tv_nsec = slice * 1000000L;
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		ms -= slice;
	}
	return retry_should_stop();
}
