// SPDX-License-Identifier: GPL-2.0
/* Quick jobs first, commits capped, mounts taking turns (helper/workqueue.c). */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "upcalls.h"
#include "s3f.h"
#include "workqueue.h"

static struct job *mkjob(uint8_t cmd, uint32_t mount, uint64_t id)
{
	struct job *j = calloc(1, sizeof(*j));

	j->cmd = cmd;
	j->mp.id = mount;
	j->id = id;
	return j;
}

static void *taker(void *arg)
{
	struct job **out = arg;

	*out = wq_take();
	return NULL;
}

int main(void)
{
	struct job *got[16], *late = NULL, *c;
	unsigned int queued, running;
	pthread_t t;
	int i;

	wq_init(6);			/* commits: at most 6 - 4 = 2 at once */
	for (i = 0; i < 5; i++)
		wq_push(mkjob(S3F_CMD_COMMIT, 1, 100 + i));
	for (i = 0; i < 3; i++)
		wq_push(mkjob(S3F_CMD_READ, 2, 200 + i));
	for (i = 0; i < 3; i++)
		wq_push(mkjob(S3F_CMD_LOOKUP, 3, 300 + i));
	for (i = 0; i < 6; i++)
		got[i] = wq_take();
	CHECK("workqueue: quick jobs before commits queued earlier",
	      got[0]->id == 200 && got[5]->id == 302, "first %lu last %lu",
	      (unsigned long)got[0]->id, (unsigned long)got[5]->id);
	CHECK("workqueue: mounts take turns",
	      got[0]->mp.id == 2 && got[1]->mp.id == 3 && got[2]->mp.id == 2 &&
	      got[3]->mp.id == 3, "mounts %u %u %u %u", got[0]->mp.id, got[1]->mp.id,
	      got[2]->mp.id, got[3]->mp.id);
	CHECK("workqueue: first come first served within a mount",
	      got[0]->id == 200 && got[2]->id == 201 && got[4]->id == 202, "ids");
	for (i = 0; i < 6; i++) {
		wq_done(got[i]);
		job_free(got[i]);
	}
	got[0] = wq_take();
	got[1] = wq_take();
	CHECK("workqueue: commits in order", got[0]->id == 100 && got[1]->id == 101, "ids");
	pthread_create(&t, NULL, taker, &late);
	usleep(200000);
	CHECK("workqueue: a third commit waits: 4 workers stay for quick jobs",
	      late == NULL, "took %lu", late ? (unsigned long)late->id : 0UL);
	wq_push(mkjob(S3F_CMD_READ, 4, 400));
	usleep(200000);
	CHECK("workqueue: ... while a quick job gets a worker at once",
	      late && late->id == 400, "got %lu", late ? (unsigned long)late->id : 0UL);
	pthread_join(t, NULL);
	wq_done(late);
	job_free(late);
	late = NULL;
	pthread_create(&t, NULL, taker, &late);
	usleep(100000);
	wq_done(got[0]);
	job_free(got[0]);
	pthread_join(t, NULL);
	CHECK("workqueue: a commit ending lets the next one run", late && late->id == 102, "got %lu",
	      late ? (unsigned long)late->id : 0UL);
	c = wq_cancel(104);
	CHECK("workqueue: CANCEL takes a queued job off the queue", c && c->id == 104, "no");
	job_free(c);
	wq_cancel(101);
	CHECK("workqueue: CANCEL of a running job sets its flag", got[1]->cancel == 1, "no");
	wq_counts(&queued, &running);
	CHECK("workqueue: counts", queued == 1 && running == 2, "queued %u running %u", queued, running);
	wq_stop();
	CHECK("workqueue: after stop, no job is handed out", wq_take() == NULL, "one was");
	wq_drain();
	wq_counts(&queued, &running);
	CHECK("workqueue: drained", queued == 0, "queued %u", queued);
	CHECK_EXIT();
}
