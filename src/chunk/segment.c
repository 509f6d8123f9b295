/* src/chunk/segment.c — parallel chunking of a seekable file that resynchronises */
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "chunk/workq.h"
#include "chunk/segment.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

/* A segment's results, kept with its pool slot. */
struct seg_out {
	uint64_t *at;           /* step 1: at[0] = segment start, ..., last >= segment end */
	size_t nat, aat;
	struct zf_seg_chunk *chunks;    /* step 2: the true chunks starting in the segment */
	size_t n, alloc;
};

struct zf_seg_chunker {
	int fd;
	uint64_t base, size;
	struct zf_chunk_params params;
	size_t seg_size;
	zf_seg_fn fn;
	zf_seg_pre_fn pre;
	void *userdata;
	struct zf_workq *pool;
	struct seg_out *outs;   /* one per pool slot, handed out on first use */
	unsigned nouts, used;
	uint64_t next_seg;      /* start of the next segment to submit */
	uint64_t seq;           /* number of segments submitted */
	struct zf_workq_job *cur;        /* the oldest segment, being consumed */
	size_t next_chunk;      /* in cur */

	/* where the true chunks enter segment entry_seq (the others wait for it) */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	uint64_t entry_seq, entry;
	bool failed;            /* a segment failed, or the consumer gave up: skip fn */
};

static void add_at(struct seg_out *o, uint64_t at)
{
	if (o->nat == o->aat) {
		o->aat = o->aat ? 2 * o->aat : 256;
		o->at = zf_xreallocarray(o->at, o->aat, sizeof(*o->at));
	}
	o->at[o->nat++] = at;
}

static void add_chunk(struct seg_out *o, uint64_t offset, uint64_t n)
{
	if (o->n == o->alloc) {
		o->alloc = o->alloc ? 2 * o->alloc : 64;
		o->chunks = zf_xreallocarray(o->chunks, o->alloc, sizeof(*o->chunks));
	}
	o->chunks[o->n++] = (struct zf_seg_chunk){ .offset = offset, .n = (size_t)n };
}

/* Reads len bytes of the input from segment start j->offset into j->data. */
static int read_segment(struct zf_seg_chunker *c, struct zf_workq_job *j, uint64_t len)
{
	const uint64_t s = j->offset;
	ssize_t got;
	int r = 0;

	zf_workq_job_reserve(j, (size_t)len);
	got = zf_pread_full(c->fd, j->data, (size_t)len, c->base + s);
	if (got < 0)
		r = zf_err_set(&j->err, (int)got, "cannot read input at offset %" PRIu64 ": %s",
			       c->base + s, strerror((int)-got));
	else if ((uint64_t)got < len)
		r = zf_err_set(&j->err, -EIO, "input shrank to %" PRIu64 " bytes while read",
			       c->base + s + (uint64_t)got);
	j->n = (size_t)len;
	return r;
}

/* Step 1, in parallel: the chain of boundaries from the segment's start, into o->at. */
static void chain_boundaries(struct zf_seg_chunker *c, struct seg_out *o,
			     const struct zf_workq_job *j, uint64_t len, bool eof)
{
	const uint64_t s = j->offset, e = j->size;
	uint64_t at = s;

	add_at(o, at);
	/* at < e leaves at least max bytes after it, or the end of the file */
	while (at < e && at < c->size) {
		at += zf_chunker_find(&c->params, j->data + (at - s), (size_t)(s + len - at), eof);
		add_at(o, at);
	}
}

/*
 * Waits until the true chain reaches segment seq: returns where it enters,
 * and *failed says whether a segment failed or the consumer gave up.
 */
static uint64_t wait_entry(struct zf_seg_chunker *c, uint64_t seq, bool *failed)
{
	uint64_t pos;

	pthread_mutex_lock(&c->lock);
	while (c->entry_seq != seq)
		pthread_cond_wait(&c->cv, &c->lock);
	pos = c->entry;
	*failed = c->failed;
	pthread_mutex_unlock(&c->lock);
	return pos;
}

/*
 * Step 2, serial: the true chunks from pos, where the true chain enters,
 * into o->chunks; taken from step 1's chain once the two meet.  Returns
 * where the true chain leaves the segment.
 */
static uint64_t follow_chain(struct zf_seg_chunker *c, struct seg_out *o,
			     const struct zf_workq_job *j, uint64_t len, bool eof, uint64_t pos)
{
	const uint64_t s = j->offset, e = j->size;
	bool synced = false;
	size_t k = 0;

	assert(pos >= s);
	while (pos < e && pos < c->size) {
		uint64_t next;

		if (!synced) {
			while (k < o->nat && o->at[k] < pos)
				k++;
			synced = k < o->nat && o->at[k] == pos;
		}
		if (synced)
			next = o->at[++k];      /* pos < e: the chain goes on */
		else
			next = pos + zf_chunker_find(&c->params, j->data + (pos - s),
						     (size_t)(s + len - pos), eof);
		add_chunk(o, pos, next - pos);
		pos = next;
	}
	return pos;
}

/* Step 3: where the true chain enters segment seq + 1, and whether this one failed. */
static void hand_on(struct zf_seg_chunker *c, uint64_t seq, uint64_t pos, bool failed)
{
	pthread_mutex_lock(&c->lock);
	c->entry_seq = seq + 1;
	c->entry = pos;
	if (failed)
		c->failed = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->lock);
}

/* Step 4, in parallel: the caller's functions on the segment's chunks; a failure stops all. */
static void process_chunks(struct zf_seg_chunker *c, struct zf_workq_job *j,
			   struct zf_workq_worker *w, struct seg_out *o)
{
	const uint64_t s = j->offset;

	if (c->pre && o->n > 0)
		c->pre(o->chunks, o->n, j->data, s, c->userdata);
	for (size_t i = 0; c->fn && i < o->n; i++) {
		struct zf_seg_chunk *ch = &o->chunks[i];
		int r;

		r = c->fn(ch, j->data + (ch->offset - s), w, c->userdata, &j->err);
		if (r < 0) {
			j->r = r;
			pthread_mutex_lock(&c->lock);
			c->failed = true;
			pthread_mutex_unlock(&c->lock);
			return;
		}
	}
}

/*
 * One segment [s, e) (j->offset, j->size), number j->aux; reads up to
 * e + max, so a chunk starting before e is wholly in the buffer.
 */
static void seg_job(struct zf_workq_job *j, struct zf_workq_worker *w, void *userdata)
{
	struct zf_seg_chunker *c = userdata;
	struct seg_out *o = j->user;
	const uint64_t s = j->offset, e = j->size, seq = j->aux;
	uint64_t len, pos;
	bool eof, failed;
	int r;

	o->nat = o->n = 0;
	len = MIN(e + c->params.max, c->size) - s;
	eof = s + len == c->size;
	r = read_segment(c, j, len);
	if (r >= 0)
		chain_boundaries(c, o, j, len, eof);

	/* step 2, serial: follow the true chain from where it enters */
	pos = wait_entry(c, seq, &failed);
	if (r >= 0 && !failed)
		pos = follow_chain(c, o, j, len, eof, pos);

	hand_on(c, seq, pos, r < 0);
	if (r < 0) {
		j->r = r;
		return;
	}
	if (failed) {
		/* the consumer never gets here: an earlier segment reports the error */
		j->r = -ECANCELED;
		return;
	}
	process_chunks(c, j, w, o);
}

struct zf_seg_chunker *zf_seg_chunker_new(int fd, uint64_t base, uint64_t size,
					  const struct zf_chunk_params *p, unsigned threads,
					  size_t seg_size, zf_seg_fn fn, void *userdata)
{
	struct zf_seg_chunker *c = zf_xcalloc(1, sizeof(*c));

	if (threads == 0)
		threads = zf_cpu_count();
	c->fd = fd;
	c->base = base;
	c->size = size;
	c->params = *p;
	c->seg_size = MAX(seg_size, (size_t)p->max);
	c->fn = fn;
	c->userdata = userdata;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cv, NULL);
	/* two segments more than workers: the consumer rarely waits for one */
	c->nouts = threads + 2;
	c->outs = zf_xcalloc(c->nouts, sizeof(*c->outs));
	c->pool = zf_workq_new(threads, c->nouts, seg_job, c);
	return c;
}

void zf_seg_chunker_set_pre(struct zf_seg_chunker *c, zf_seg_pre_fn pre)
{
	c->pre = pre;
}

struct zf_seg_chunker *zf_seg_chunker_free(struct zf_seg_chunker *c)
{
	if (!c)
		return NULL;
	/* segments still queued need not run fn */
	pthread_mutex_lock(&c->lock);
	c->failed = true;
	pthread_mutex_unlock(&c->lock);
	zf_workq_free(c->pool);
	for (unsigned i = 0; i < c->nouts; i++) {
		free(c->outs[i].at);
		free(c->outs[i].chunks);
	}
	free(c->outs);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}

static void submit_more(struct zf_seg_chunker *c)
{
	struct zf_workq_job *j;

	while (c->next_seg < c->size && (j = zf_workq_slot(c->pool))) {
		if (!j->user) {
			assert(c->used < c->nouts);
			j->user = &c->outs[c->used++];
		}
		j->offset = c->next_seg;
		j->size = MIN(c->next_seg + c->seg_size, c->size);
		j->aux = c->seq++;
		c->next_seg = j->size;
		zf_workq_submit(c->pool);
	}
}

int zf_seg_chunker_next(struct zf_seg_chunker *c, const struct zf_seg_chunk **ret,
			struct zf_err *err)
{
	for (;;) {
		const struct seg_out *o;

		if (!c->cur) {
			submit_more(c);
			c->cur = zf_workq_wait_oldest(c->pool);
			if (!c->cur)
				return 0;
			c->next_chunk = 0;
		}
		if (c->cur->r < 0)
			return zf_err_copy(err, c->cur->r, &c->cur->err);
		o = c->cur->user;
		if (c->next_chunk < o->n) {
			*ret = &o->chunks[c->next_chunk++];
			return 1;
		}
		zf_workq_release(c->pool);
		c->cur = NULL;
	}
}
