/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Jobs waiting for a worker, by kind and by mount (workqueue.c): the
 * netlink thread pushes the upcalls it parsed, the workers take them.
 */
#ifndef S3F_HELPER_WORKQUEUE_H
#define S3F_HELPER_WORKQUEUE_H

#include <stdbool.h>
#include <stdint.h>

struct job;

/* Before the workers start: how many there are (reserves a few for quick jobs). */
void wq_init(int nworkers);
/* 0, or -ENOMEM (the caller answers the upcall). */
int wq_push(struct job *job);
/*
 * The next job for a worker, which runs it and then calls wq_done();
 * blocks while there is none it may take.  NULL once wq_stop() was called.
 */
struct job *wq_take(void);
void wq_done(struct job *job);
/*
 * CANCEL of upcall id: a job still queued is taken off the queue and
 * returned (the caller answers it); a running one gets its cancel flag
 * set, and NULL is returned.
 */
struct job *wq_cancel(uint64_t id);
/* Wake every worker; wq_take() returns NULL from now on. */
void wq_stop(void);
/* After the workers are gone: free what is still queued (unanswered). */
void wq_drain(void);
/* Jobs queued and running, for the status line. */
void wq_counts(unsigned int *queued, unsigned int *running);

#endif /* S3F_HELPER_WORKQUEUE_H */
