/* src/chunk/workq.h — the chunk work queue: worker threads hash and compress chunks, results consumed in order */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chunk/chunk.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/macro.h"

/*
 * One thread produces jobs and consumes their results, in submission order;
 * the workers run the queue's function on them in any order.  Jobs live in
 * a ring of a fixed number of slots whose buffers are reused, so memory is
 * bounded by slots * the largest job.
 *
 *         while (more) {
 *                 struct zf_workq_job *j;
 *                 while (!(j = zf_workq_slot(queue)))       // ring full: consume one
 *                         consume(zf_workq_wait_oldest(queue)), zf_workq_release(queue);
 *                 fill(j);
 *                 zf_workq_submit(queue);
 *         }
 *         while ((j = zf_workq_wait_oldest(queue)))
 *                 consume(j), zf_workq_release(queue);
 */
struct zf_workq_job {
	uint8_t *data;          /* reused between jobs: grow with zf_workq_job_reserve() */
	size_t n, alloc;
	uint64_t offset;
	struct zf_chunk_id id;
	uint64_t size;
	int r;                  /* the worker's result */
	struct zf_err err;
	unsigned flags;         /* free for the queue's user */
	uint64_t aux;           /* free for the queue's user */
	void *user;             /* free for the queue's user; kept when the slot is reused */
	bool done;
};

/* What a worker hands its function: per-thread state. */
struct zf_workq_worker {
	struct zf_chunk_ctx *ctx;
	struct zf_buf scratch;
	struct zf_buf out;
};

typedef void (*zf_workq_fn)(struct zf_workq_job *job, struct zf_workq_worker *w, void *userdata);

/* Runs on n (>= 1) jobs, submitted one after another, that one worker took at once. */
typedef void (*zf_workq_batch_fn)(struct zf_workq_job **jobs, unsigned n, struct zf_workq_worker *w,
				 void *userdata);
#define ZF_WORKQ_BATCH_MAX 32

struct zf_workq;
/* workers == 0 means one per CPU. */
struct zf_workq *zf_workq_new(unsigned workers, unsigned slots, zf_workq_fn fn, void *userdata);
/*
 * The same, but a worker takes up to batch (at most ZF_WORKQ_BATCH_MAX) of
 * the waiting jobs at once, for work that is cheaper done together.
 */
struct zf_workq *zf_workq_new_batch(unsigned workers, unsigned slots, unsigned batch,
				  zf_workq_batch_fn fn, void *userdata);
/* Waits for the workers to finish what was submitted and joins them. */
struct zf_workq *zf_workq_free(struct zf_workq *p);
DEFINE_CLEANUP_FUNC(struct zf_workq *, zf_workq_free);

/* The next free slot (reset: r = 0, err clear, flags = 0), or NULL when all are in use. */
struct zf_workq_job *zf_workq_slot(struct zf_workq *p);
void zf_workq_submit(struct zf_workq *p);
/* The oldest submitted job once it is done, or NULL when none is outstanding. */
struct zf_workq_job *zf_workq_wait_oldest(struct zf_workq *p);
/*
 * The i-th oldest outstanding job (0: the oldest) if it is done, without
 * waiting; NULL when it is not done or not submitted.  Lets the consumer
 * take a run of finished jobs at once, then release them one by one.
 */
struct zf_workq_job *zf_workq_peek_done(struct zf_workq *p, unsigned i);
/* Hands the oldest job's slot back. */
void zf_workq_release(struct zf_workq *p);
void zf_workq_job_reserve(struct zf_workq_job *j, size_t n);
unsigned zf_workq_workers(const struct zf_workq *p);
/* Number of CPUs this process may run on. */
unsigned zf_cpu_count(void);
/*
 * Default number of workers: all CPUs, and some more, because workers also
 * wait for file I/O (open, read, rename of chunk files): measured on 2 CPUs,
 * extract ran 1.7x faster with 8 workers than with 2, make no slower.
 */
#define ZF_JOBS_DEFAULT() (4 * zf_cpu_count())
