// SPDX-License-Identifier: GPL-2.0
/*
 * The large-buffer budget (bufbudget.h).  Buffers are mmap'd and freed
 * ones are kept for reuse while they fit in the budget beside the ones
 * handed out: a READ then fills pages that are already mapped (a fresh
 * 4 MiB mapping costs 1024 page faults and the zeroing of every page),
 * and the memory never exceeds the budget.  malloc would keep freed
 * buffers in per-thread arenas once its mmap threshold has grown, and
 * the daemon's resident size would drift up to workers x largest buffer.
 */
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bufbudget.h"

#define BUFBUDGET_CACHE	16	/* idle buffers kept at most */

struct idle_buf {
	void *p;
	size_t size;
};

/*
 * Process-wide, shared by every worker thread: lock guards the rest;
 * waiters sleep on room.  used + cached <= limit whenever limit is set.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t room;
	uint64_t limit;		/* bytes; 0: unlimited, nothing kept idle */
	uint64_t used;		/* bytes in buffers handed out */
	uint64_t cached;	/* bytes in idle[] */
	uint64_t peak;		/* most of used ever */
	struct idle_buf idle[BUFBUDGET_CACHE];
	int nidle;
} budget = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.room = PTHREAD_COND_INITIALIZER,
};

static size_t page_round(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return len ? (len + page - 1) / page * page : page;
}

/* Take idle buffer i out of the cache; lock held. */
static struct idle_buf take_idle(int i)
{
	struct idle_buf b = budget.idle[i];

	budget.idle[i] = budget.idle[--budget.nidle];
	budget.cached -= b.size;
	return b;
}

void bufbudget_set(uint64_t bytes)
{
	pthread_mutex_lock(&budget.lock);
	budget.limit = bytes;
	pthread_cond_broadcast(&budget.room);
	pthread_mutex_unlock(&budget.lock);
}

void *bufbudget_alloc(size_t len)
{
	size_t size = page_round(len);
	struct idle_buf evict[BUFBUDGET_CACHE];
	int nevict = 0, i;
	void *p = NULL;

	pthread_mutex_lock(&budget.lock);
	while (budget.limit && budget.used &&
	       budget.used + size > budget.limit)
		pthread_cond_wait(&budget.room, &budget.lock);
	budget.used += size;
	if (budget.used > budget.peak)
		budget.peak = budget.used;
	for (i = 0; i < budget.nidle; i++) {
		if (budget.idle[i].size == size) {
			p = take_idle(i).p;
			break;
		}
	}
	/* no reuse: make room for a new mapping by dropping idle ones */
	while (!p && budget.nidle && budget.used + budget.cached > budget.limit)
		evict[nevict++] = take_idle(0);
	pthread_mutex_unlock(&budget.lock);

	for (i = 0; i < nevict; i++)
		munmap(evict[i].p, evict[i].size);
	if (p)
		return p;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		return p;
	pthread_mutex_lock(&budget.lock);
	budget.used -= size;
	pthread_cond_broadcast(&budget.room);
	pthread_mutex_unlock(&budget.lock);
	return NULL;
}

void bufbudget_free(void *p, size_t len)
{
	size_t size = page_round(len);
	bool keep;

	if (!p)
		return;
	pthread_mutex_lock(&budget.lock);
	budget.used -= size;
	keep = budget.limit && budget.nidle < BUFBUDGET_CACHE;
	if (keep) {
		budget.idle[budget.nidle++] = (struct idle_buf){ p, size };
		budget.cached += size;
	}
	pthread_cond_broadcast(&budget.room);
	pthread_mutex_unlock(&budget.lock);
	if (!keep)
		munmap(p, size);
}

void bufbudget_stats(uint64_t *limit, uint64_t *peak)
{
	pthread_mutex_lock(&budget.lock);
	*limit = budget.limit;
	*peak = budget.peak;
	pthread_mutex_unlock(&budget.lock);
}
