// SPDX-License-Identifier: GPL-2.0
/*
 * Jobs waiting for a worker, by kind and by mount.
 *
 * Two kinds.  Quick jobs are what an application waits on right now:
 * lookups, listings, reads, namespace changes, staging files, mounts.
 * Commits move whole objects and may take minutes.  A free worker takes
 * a quick job whenever one waits, and at most nworkers - WQ_QUICK_RESERVED
 * workers run commits at once: a flood of large commits never leaves a
 * read waiting behind it.  Within a kind the mounts take turns (round
 * robin), so that one busy mount cannot starve the others; within a
 * mount, first come first served.
 *
 * Locking: wq.lock guards everything here, the job links (next,
 * prev_running, next_running) and the cancel flag's writer side.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "upcalls.h"
#include "workqueue.h"
#include "s3f.h"

#define WQ_QUICK_RESERVED	4	/* workers commits may not take */

enum wq_kind { WQ_QUICK, WQ_COMMIT, WQ_KINDS };

/* One mount's jobs of one kind; on its kind's ring while it has any. */
struct wq_mount {
	struct wq_mount *next;		/* ring */
	uint32_t mount_id;
	struct job *head, **tail;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct wq_mount *ring[WQ_KINDS];	/* the mount whose turn it is */
	unsigned int queued[WQ_KINDS];
	unsigned int running[WQ_KINDS];
	unsigned int max_running[WQ_KINDS];
	struct job *running_list;	/* for CANCEL */
	bool stopping;
} wq = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static enum wq_kind kind_of(const struct job *job)
{
	return job->cmd == S3F_CMD_COMMIT ? WQ_COMMIT : WQ_QUICK;
}

void wq_init(int nworkers)
{
	wq.max_running[WQ_QUICK] = nworkers;
	wq.max_running[WQ_COMMIT] = nworkers > WQ_QUICK_RESERVED ?
				    nworkers - WQ_QUICK_RESERVED : 1;
}

/* The mount's entry on kind's ring, added (at the end of the turn) if missing. */
static struct wq_mount *ring_find(enum wq_kind kind, uint32_t id, bool add)
{
	struct wq_mount *m = wq.ring[kind];

	if (m) {
		do {
			if (m->mount_id == id)
				return m;
			m = m->next;
		} while (m != wq.ring[kind]);
	}
	if (!add)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->mount_id = id;
	m->tail = &m->head;
	if (!wq.ring[kind]) {
		m->next = m;
		wq.ring[kind] = m;
	} else {
		/* just before the current turn: served last */
		struct wq_mount *prev = wq.ring[kind];

		while (prev->next != wq.ring[kind])
			prev = prev->next;
		prev->next = m;
		m->next = wq.ring[kind];
	}
	return m;
}

static void ring_remove(enum wq_kind kind, struct wq_mount *m)
{
	struct wq_mount *prev = m;

	while (prev->next != m)
		prev = prev->next;
	if (prev == m) {
		wq.ring[kind] = NULL;
	} else {
		prev->next = m->next;
		if (wq.ring[kind] == m)
			wq.ring[kind] = m->next;
	}
	free(m);
}

int wq_push(struct job *job)
{
	enum wq_kind kind = kind_of(job);
	struct wq_mount *m;

	pthread_mutex_lock(&wq.lock);
	m = ring_find(kind, job->mp.id, true);
	if (!m) {
		/* out of memory: the mount whose turn it is takes it */
		m = wq.ring[kind];
	}
	if (!m) {
		pthread_mutex_unlock(&wq.lock);
		return -ENOMEM;
	}
	job->next = NULL;
	*m->tail = job;
	m->tail = &job->next;
	wq.queued[kind]++;
	/* every worker can take any job it may take: waking one is enough */
	pthread_cond_signal(&wq.cond);
	pthread_mutex_unlock(&wq.lock);
	return 0;
}

/* The first job of the mount whose turn it is; the turn passes on. */
static struct job *take_kind(enum wq_kind kind)
{
	struct wq_mount *m = wq.ring[kind];
	struct job *job;

	if (!m || wq.running[kind] >= wq.max_running[kind])
		return NULL;
	job = m->head;
	m->head = job->next;
	if (!m->head) {
		m->tail = &m->head;
		wq.ring[kind] = m->next;
		ring_remove(kind, m);
	} else {
		wq.ring[kind] = m->next;
	}
	wq.queued[kind]--;
	wq.running[kind]++;
	return job;
}

struct job *wq_take(void)
{
	struct job *job = NULL;

	pthread_mutex_lock(&wq.lock);
	while (!wq.stopping) {
		job = take_kind(WQ_QUICK);
		if (!job)
			job = take_kind(WQ_COMMIT);
		if (job)
			break;
		pthread_cond_wait(&wq.cond, &wq.lock);
	}
	if (job) {
		job->next_running = wq.running_list;
		if (wq.running_list)
			wq.running_list->prev_running = &job->next_running;
		job->prev_running = &wq.running_list;
		wq.running_list = job;
	}
	pthread_mutex_unlock(&wq.lock);
	return job;
}

void wq_done(struct job *job)
{
	pthread_mutex_lock(&wq.lock);
	*job->prev_running = job->next_running;
	if (job->next_running)
		job->next_running->prev_running = job->prev_running;
	wq.running[kind_of(job)]--;
	/* a commit slot may have come free: one waiting worker takes it */
	if (wq.queued[WQ_COMMIT])
		pthread_cond_signal(&wq.cond);
	pthread_mutex_unlock(&wq.lock);
}

struct job *wq_cancel(uint64_t id)
{
	struct job **pp, *job, *found = NULL;
	struct wq_mount *m;
	int kind;

	pthread_mutex_lock(&wq.lock);
	for (kind = 0; kind < WQ_KINDS && !found; kind++) {
		m = wq.ring[kind];
		if (!m)
			continue;
		do {
			for (pp = &m->head; (job = *pp); pp = &job->next) {
				if (job->id != id)
					continue;
				*pp = job->next;
				if (m->tail == &job->next)
					m->tail = pp;
				wq.queued[kind]--;
				found = job;
				break;
			}
			if (found) {
				if (!m->head)
					ring_remove(kind, m);
				break;
			}
			m = m->next;
		} while (m != wq.ring[kind]);
	}
	if (!found) {
		for (job = wq.running_list; job; job = job->next_running)
			if (job->id == id)
				__atomic_store_n(&job->cancel, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&wq.lock);
	return found;
}

void wq_stop(void)
{
	pthread_mutex_lock(&wq.lock);
	wq.stopping = true;
	pthread_cond_broadcast(&wq.cond);
	pthread_mutex_unlock(&wq.lock);
}

void wq_drain(void)
{
	struct wq_mount *m;
	struct job *job;
	int kind;

	pthread_mutex_lock(&wq.lock);
	for (kind = 0; kind < WQ_KINDS; kind++) {
		while ((m = wq.ring[kind])) {
			while ((job = m->head)) {
				m->head = job->next;
				job_free(job);
			}
			ring_remove(kind, m);
		}
		wq.queued[kind] = 0;
	}
	pthread_mutex_unlock(&wq.lock);
}

void wq_counts(unsigned int *queued, unsigned int *running)
{
	pthread_mutex_lock(&wq.lock);
	*queued = wq.queued[WQ_QUICK] + wq.queued[WQ_COMMIT];
	*running = wq.running[WQ_QUICK] + wq.running[WQ_COMMIT];
	pthread_mutex_unlock(&wq.lock);
}
