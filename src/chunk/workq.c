/* src/chunk/workq.c — ordered worker pool (pthreads) */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include "chunk/workq.h"
#include "util/alloc.h"
#include "util/banned.h"

struct zf_workq {
	pthread_mutex_t lock;
	pthread_cond_t work_cv;         /* workers: a job was submitted, or stop */
	pthread_cond_t done_cv;         /* consumer: a job was finished */
	struct zf_workq_job *jobs;
	unsigned nslots;
	uint64_t head;                  /* next to submit */
	uint64_t claim;                 /* next for a worker to take */
	uint64_t tail;                  /* oldest not released */
	bool stop;
	zf_workq_fn fn;
	zf_workq_batch_fn batch_fn;      /* instead of fn: runs of up to batch jobs */
	unsigned batch;
	void *userdata;
	pthread_t *threads;
	unsigned nthreads;
};

unsigned zf_cpu_count(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void *worker_main(void *arg)
{
	struct zf_workq *p = arg;
	struct zf_workq_worker w = { zf_chunk_ctx_new(), ZF_BUF_INIT, ZF_BUF_INIT };

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct zf_workq_job *jobs[ZF_WORKQ_BATCH_MAX];
		unsigned n;

		while (p->claim == p->head && !p->stop)
			pthread_cond_wait(&p->work_cv, &p->lock);
		if (p->claim == p->head)
			break;          /* stop, and nothing left */
		n = (unsigned)MIN((uint64_t)p->batch, p->head - p->claim);
		for (unsigned i = 0; i < n; i++)
			jobs[i] = &p->jobs[(p->claim + i) % p->nslots];
		p->claim += n;
		pthread_mutex_unlock(&p->lock);

		if (p->batch_fn)
			p->batch_fn(jobs, n, &w, p->userdata);
		else
			p->fn(jobs[0], &w, p->userdata);

		pthread_mutex_lock(&p->lock);
		for (unsigned i = 0; i < n; i++)
			jobs[i]->done = true;
		pthread_cond_broadcast(&p->done_cv);
	}
	pthread_mutex_unlock(&p->lock);
	zf_chunk_ctx_free(w.ctx);
	zf_buf_release(&w.scratch);
	zf_buf_release(&w.out);
	return NULL;
}

static struct zf_workq *pool_new(unsigned workers, unsigned slots, zf_workq_fn fn,
			       zf_workq_batch_fn batch_fn, unsigned batch, void *userdata)
{
	struct zf_workq *p = zf_xcalloc(1, sizeof(*p));

	if (workers == 0)
		workers = zf_cpu_count();
	if (slots < 2)
		slots = 2;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	p->jobs = zf_xcalloc(slots, sizeof(*p->jobs));
	p->nslots = slots;
	p->fn = fn;
	p->batch_fn = batch_fn;
	p->batch = batch_fn ? MAX(MIN(batch, (unsigned)ZF_WORKQ_BATCH_MAX), 1u) : 1;
	p->userdata = userdata;
	p->threads = zf_xcalloc(workers, sizeof(*p->threads));
	for (unsigned i = 0; i < workers; i++) {
		int r = pthread_create(&p->threads[i], NULL, worker_main, p);
		if (r != 0) {
			if (i == 0) {
				fprintf(stderr, "zferry: fatal: cannot start worker thread: %s\n",
					strerror(r));
				abort();
			}
			break;  /* fewer workers still work */
		}
		p->nthreads++;
	}
	return p;
}

struct zf_workq *zf_workq_new(unsigned workers, unsigned slots, zf_workq_fn fn, void *userdata)
{
	return pool_new(workers, slots, fn, NULL, 1, userdata);
}

struct zf_workq *zf_workq_new_batch(unsigned workers, unsigned slots, unsigned batch,
				  zf_workq_batch_fn fn, void *userdata)
{
	return pool_new(workers, slots, NULL, fn, batch, userdata);
}

struct zf_workq *zf_workq_free(struct zf_workq *p)
{
	if (!p)
		return NULL;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	for (unsigned i = 0; i < p->nslots; i++)
		free(p->jobs[i].data);
	free(p->jobs);
	free(p->threads);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

unsigned zf_workq_workers(const struct zf_workq *p)
{
	return p->nthreads;
}

struct zf_workq_job *zf_workq_slot(struct zf_workq *p)
{
	struct zf_workq_job *j;

	/* only the producer moves head and tail: no lock needed to read them */
	if (p->head - p->tail >= p->nslots)
		return NULL;
	j = &p->jobs[p->head % p->nslots];
	j->n = 0;
	j->offset = j->size = j->aux = 0;
	j->r = 0;
	j->flags = 0;
	j->done = false;
	zf_err_clear(&j->err);
	return j;
}

void zf_workq_submit(struct zf_workq *p)
{
	pthread_mutex_lock(&p->lock);
	p->head++;
	pthread_cond_signal(&p->work_cv);
	pthread_mutex_unlock(&p->lock);
}

struct zf_workq_job *zf_workq_wait_oldest(struct zf_workq *p)
{
	struct zf_workq_job *j;

	if (p->tail == p->head)
		return NULL;
	j = &p->jobs[p->tail % p->nslots];
	pthread_mutex_lock(&p->lock);
	while (!j->done)
		pthread_cond_wait(&p->done_cv, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return j;
}

struct zf_workq_job *zf_workq_peek_done(struct zf_workq *p, unsigned i)
{
	struct zf_workq_job *j;
	bool done;

	if (p->head - p->tail <= i)
		return NULL;
	j = &p->jobs[(p->tail + i) % p->nslots];
	pthread_mutex_lock(&p->lock);
	done = j->done;
	pthread_mutex_unlock(&p->lock);
	return done ? j : NULL;
}

void zf_workq_release(struct zf_workq *p)
{
	p->tail++;
}

void zf_workq_job_reserve(struct zf_workq_job *j, size_t n)
{
	if (j->alloc < n) {
		j->data = zf_xrealloc(j->data, n);
		j->alloc = n;
	}
}
