/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test hooks of s3fd, off unless asked for on the command line: replies
 * that break the protocol on purpose (--test-bad-replies), so the tests
 * can check that the kernel refuses each one, and a delay before each
 * COMMIT reads its staging file (--test-commit-delay-ms), so they can
 * race the kernel against a commit in flight.  Never for production.
 */
#ifndef S3F_HELPER_TESTHOOKS_H
#define S3F_HELPER_TESTHOOKS_H

#include <stdbool.h>

#include "genl.h"

struct job;

/* Set once from main() before the workers start; read-only after. */
void testhooks_set(bool bad_replies, unsigned int commit_delay_ms);

/*
 * With --test-bad-replies, a job whose key names one of the faults
 * (tests/guest/safety.sh lists them) is answered with that fault here:
 * true when it was.
 */
bool testhooks_bad_reply(struct s3f_nl *nl, const struct job *job);

/* With --test-commit-delay-ms, sleep before a COMMIT starts. */
void testhooks_commit_delay(const struct job *job);

#endif /* S3F_HELPER_TESTHOOKS_H */
