// SPDX-License-Identifier: GPL-2.0
/* Which failures are tried again, deadlines and stopping (helper/retry.c). */
#include <errno.h>
#include <stdio.h>

#include "check.h"
#include "retry.h"

static const struct {
	long status;
	const char *code;
	enum retry_class want;
} statuses[] = {
	{ 500, "InternalError", RETRY_TRANSIENT },
	{ 502, NULL, RETRY_TRANSIENT },
	{ 503, "SlowDown", RETRY_SLOW_DOWN },
	{ 503, "ServiceUnavailable", RETRY_TRANSIENT },
	{ 429, NULL, RETRY_SLOW_DOWN },
	{ 400, "RequestTimeout", RETRY_TRANSIENT },
	{ 400, "BadDigest", RETRY_TRANSIENT },
	{ 409, "OperationAborted", RETRY_TRANSIENT },
	{ 400, "ExpiredToken", RETRY_CREDENTIALS },
	{ 403, "ExpiredToken", RETRY_CREDENTIALS },
	{ 501, "NotImplemented", RETRY_NEVER },
	{ 400, "InvalidArgument", RETRY_NEVER },
	{ 403, "AccessDenied", RETRY_NEVER },
	{ 403, "SignatureDoesNotMatch", RETRY_NEVER },
	{ 404, "NoSuchKey", RETRY_NEVER },
	{ 404, "NoSuchUpload", RETRY_NEVER },
	{ 409, "BucketNotEmpty", RETRY_NEVER },
	{ 412, "PreconditionFailed", RETRY_NEVER },
	{ 416, "InvalidRange", RETRY_NEVER },
};

int main(void)
{
	unsigned int seed = 1;
	static int cancel;
	uint64_t t0;
	size_t i;
	int err;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		char name[128];

		snprintf(name, sizeof(name), "retry: %ld %s", statuses[i].status,
			 statuses[i].code ? statuses[i].code : "(no code)");
		CHECK(name, retry_classify_status(statuses[i].status, statuses[i].code) ==
		      statuses[i].want, "class %d", retry_classify_status(statuses[i].status,
									   statuses[i].code));
	}
	CHECK("retry: 200 with InternalError is tried again",
	      retry_classify_error_body("InternalError") == RETRY_TRANSIENT, "no");
	CHECK("retry: 200 with SlowDown backs off longer",
	      retry_classify_error_body("SlowDown") == RETRY_SLOW_DOWN, "no");
	CHECK("retry: 200 with AccessDenied is final",
	      retry_classify_error_body("AccessDenied") == RETRY_NEVER, "no");
	CHECK("retry: 200 with EntityTooSmall is final",
	      retry_classify_error_body("EntityTooSmall") == RETRY_NEVER, "no");

	CHECK("retry: no job, no deadline", retry_time_left_ms() == -1 && !retry_should_stop(), "no");
	retry_scope_enter(retry_now_ns() + 300 * 1000000ULL, &cancel);
	CHECK("retry: a deadline 300 ms away", retry_time_left_ms() > 200 &&
	      retry_time_left_ms() <= 300, "%ld ms", retry_time_left_ms());
	t0 = retry_now_ns();
	err = retry_backoff(20, RETRY_TRANSIENT, 1000, 5000, &seed);
	CHECK("retry: a backoff that would cross the deadline does not sleep",
	      err == -ETIMEDOUT && retry_now_ns() - t0 < 50 * 1000000ULL, "err %d", err);
	err = retry_backoff(1, RETRY_TRANSIENT, 20, 40, &seed);
	CHECK("retry: a short backoff within the deadline sleeps", err == 0, "err %d", err);
	cancel = 1;
	CHECK("retry: a cancelled job stops", retry_should_stop() == -ECANCELED, "no");
	cancel = 0;
	retry_scope_enter(retry_now_ns() + 1000000ULL, NULL);
	t0 = retry_now_ns();
	while (retry_now_ns() - t0 < 2000000ULL)
		;
	CHECK("retry: a job past its deadline stops", retry_should_stop() == -ETIMEDOUT, "no");
	retry_scope_leave();
	CHECK("retry: after the job, no deadline", !retry_should_stop(), "no");
	retry_stop_all();
	CHECK("retry: stopping s3fd stops every request", retry_should_stop() == -ECANCELED, "no");
	t0 = retry_now_ns();
	err = retry_backoff(1, RETRY_TRANSIENT, 2000, 4000, &seed);
	CHECK("retry: and ends every backoff at once",
	      err == -ECANCELED && retry_now_ns() - t0 < 200 * 1000000ULL, "err %d", err);
	CHECK_EXIT();
}
