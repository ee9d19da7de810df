// SPDX-License-Identifier: GPL-2.0
/*
 * The large-buffer budget (bufbudget.h).  Buffers are mmap'd, so freeing
 * one returns its pages to the kernel at once: malloc would keep them
 * in per-thread arenas once its mmap threshold has grown, and the
 * daemon's resident size would drift up to workers x largest buffer.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bufbudget.h"

/*
 * Process-wide, shared by every worker thread: lock guards the rest;
 * waiters sleep on room.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t room;
	uint64_t limit;		/* bytes; 0: unlimited */
	uint64_t used;		/* bytes in buffers handed out */
	uint64_t peak;		/* most of used ever */
} budget = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.room = PTHREAD_COND_INITIALIZER,
};

static size_t page_round(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return len ? (len + page - 1) / page * page : page;
}

static void release(size_t size)
{
	pthread_mutex_lock(&budget.lock);
	budget.used -= size;
	pthread_cond_broadcast(&budget.room);
	pthread_mutex_unlock(&budget.lock);
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
	void *p;

	pthread_mutex_lock(&budget.lock);
	while (budget.limit && budget.used &&
	       budget.used + size > budget.limit)
		pthread_cond_wait(&budget.room, &budget.lock);
	budget.used += size;
	if (budget.used > budget.peak)
		budget.peak = budget.used;
	pthread_mutex_unlock(&budget.lock);

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		return p;
	release(size);
	return NULL;
}

void bufbudget_free(void *p, size_t len)
{
	size_t size = page_round(len);

	if (!p)
		return;
	munmap(p, size);
	release(size);
}

void bufbudget_stats(uint64_t *limit, uint64_t *peak)
{
	pthread_mutex_lock(&budget.lock);
	*limit = budget.limit;
	*peak = budget.peak;
	pthread_mutex_unlock(&budget.lock);
}
