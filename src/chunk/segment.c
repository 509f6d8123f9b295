/* src/chunk/segment.c — parallel chunking of a seekable file that resynchronises */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "chunk/pool.h"
#include "chunk/segment.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

/* What a worker found in one segment: the chain of boundaries from its start. */
struct bounds {
	uint64_t *at;           /* at[0] = segment start, ..., last >= segment end */
	size_t n, alloc;
};

struct zf_seg_chunker {
	int fd;
	uint64_t base, size;
	struct zf_chunk_params params;
	size_t seg_size;
	struct zf_pool *pool;
	struct bounds *bounds;  /* one per pool slot, handed out on first use */
	unsigned nbounds, used;
	uint64_t next_seg;      /* start of the next segment to submit */
	uint64_t pos;           /* the next true boundary */
	struct zf_pool_job *cur;        /* the segment pos lies in, NULL before fetching it */
	size_t k;               /* with synced: cur's bounds->at[k] == pos */
	bool synced;
};

static void bounds_add(struct bounds *b, uint64_t at)
{
	if (b->n == b->alloc) {
		b->alloc = b->alloc ? 2 * b->alloc : 256;
		b->at = zf_xreallocarray(b->at, b->alloc, sizeof(*b->at));
	}
	b->at[b->n++] = at;
}

/* One segment: j->offset is its start, j->size its end; reads up to end + max. */
static void seg_job(struct zf_pool_job *j, struct zf_pool_worker *w, void *userdata)
{
	struct zf_seg_chunker *c = userdata;
	struct bounds *b = j->user;
	uint64_t s = j->offset, e = j->size, want, at;
	ssize_t k;
	bool eof;

	(void)w;
	want = MIN(e + c->params.max, c->size) - s;
	zf_pool_job_reserve(j, (size_t)want);
	k = zf_pread_full(c->fd, j->data, (size_t)want, c->base + s);
	if (k < 0) {
		j->r = zf_err_set(&j->err, (int)k, "cannot read input at offset %" PRIu64 ": %s",
				  c->base + s, strerror((int)-k));
		return;
	}
	if ((uint64_t)k < want) {
		j->r = zf_err_set(&j->err, -EIO, "input shrank to %" PRIu64 " bytes while read",
				  c->base + s + (uint64_t)k);
		return;
	}
	j->n = (size_t)want;
	eof = s + want == c->size;
	b->n = 0;
	at = s;
	bounds_add(b, at);
	/* at < e leaves at least max bytes after it, or the end of the file */
	while (at < e && at < c->size) {
		at += zf_chunker_find(&c->params, j->data + (at - s), (size_t)(s + want - at), eof);
		bounds_add(b, at);
	}
}

struct zf_seg_chunker *zf_seg_chunker_new(int fd, uint64_t base, uint64_t size,
					  const struct zf_chunk_params *p, unsigned threads,
					  size_t seg_size)
{
	struct zf_seg_chunker *c = zf_xcalloc(1, sizeof(*c));

	if (threads == 0)
		threads = zf_cpu_count();
	c->fd = fd;
	c->base = base;
	c->size = size;
	c->params = *p;
	c->seg_size = MAX(seg_size, (size_t)p->max);
	/* two segments ahead of the workers: the consumer never waits for one */
	c->nbounds = threads + 2;
	c->bounds = zf_xcalloc(c->nbounds, sizeof(*c->bounds));
	c->pool = zf_pool_new(threads, c->nbounds, seg_job, c);
	return c;
}

struct zf_seg_chunker *zf_seg_chunker_free(struct zf_seg_chunker *c)
{
	if (!c)
		return NULL;
	zf_pool_free(c->pool);
	for (unsigned i = 0; i < c->nbounds; i++)
		free(c->bounds[i].at);
	free(c->bounds);
	free(c);
	return NULL;
}

static void submit_more(struct zf_seg_chunker *c)
{
	struct zf_pool_job *j;

	while (c->next_seg < c->size && (j = zf_pool_slot(c->pool))) {
		if (!j->user) {
			assert(c->used < c->nbounds);
			j->user = &c->bounds[c->used++];
		}
		j->offset = c->next_seg;
		j->size = MIN(c->next_seg + c->seg_size, c->size);
		c->next_seg = j->size;
		zf_pool_submit(c->pool);
	}
}

int zf_seg_chunker_next(struct zf_seg_chunker *c, uint64_t *ret_offset, size_t *ret_n,
			struct zf_err *err)
{
	uint64_t next;

	for (;;) {
		if (c->pos >= c->size)
			return 0;
		if (!c->cur) {
			submit_more(c);
			c->cur = zf_pool_wait_oldest(c->pool);
			assert(c->cur);
			if (c->cur->r < 0)
				return zf_err_set(err, c->cur->r, "%s", zf_err_msg(&c->cur->err));
			c->k = 0;
			c->synced = false;
		}
		/* the true chain left this segment: on to the next one */
		if (c->pos >= c->cur->size) {
			c->cur = NULL;
			zf_pool_release(c->pool);
			continue;
		}
		break;
	}

	struct zf_pool_job *j = c->cur;
	const struct bounds *b = j->user;

	if (!c->synced) {
		while (c->k < b->n && b->at[c->k] < c->pos)
			c->k++;
		c->synced = c->k < b->n && b->at[c->k] == c->pos;
	}
	if (c->synced) {
		/* pos < segment end, so the chain goes on past it */
		next = b->at[++c->k];
	} else {
		uint64_t s = j->offset, have = s + j->n - c->pos;

		next = c->pos + zf_chunker_find(&c->params, j->data + (c->pos - s), (size_t)have,
						s + j->n == c->size);
	}
	*ret_offset = c->pos;
	*ret_n = (size_t)(next - c->pos);
	c->pos = next;
	return 1;
}
