/* src/chunk/make.c — make and chop: chunk, hash and compress on all cores, then index */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "chunk/index.h"
#include "chunk/store-ops.h"
#include "chunk/workq.h"
#include "chunk/segment.h"
#include "chunk/sha512x8.h"
#include "chunk/store.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

enum {
	JOB_EXPECT = 1 << 0,    /* job->id holds the id the data must have */
	JOB_NEW = 1 << 1,       /* the worker wrote a chunk file */
	SEG_HASHED = 1 << 2,    /* seg_pre() put the chunk's id in place */
};

/* Bytes of chunk data in flight: bounds memory whatever the input. */
#define IN_FLIGHT_BYTES (16u * 1024 * 1024)

struct make_state {
	struct zf_store *store;
};

/*
 * Puts a chunk whose id is known into the store unless it is there: 1 when
 * a chunk file was written (*ret_size its size), 0 when not, or -errno.
 */
static int put_chunk(struct zf_store *store, struct zf_workq_worker *w,
		     const struct zf_chunk_id *id, const uint8_t *data, size_t n,
		     uint64_t *ret_size, struct zf_err *err)
{
	int r;

	r = zf_store_has_quick(store, id, err);
	if (r != 0)
		return r < 0 ? r : 0;
	zf_buf_reset(&w->scratch);
	r = zf_cacnk_encode(w->ctx, data, n, &w->scratch, err);
	if (r >= 0)
		r = zf_store_put_raw(store, id, w->scratch.data, w->scratch.len, err);
	if (r < 0)
		return r;
	if (r > 0)
		return 0;       /* another writer was first */
	*ret_size = w->scratch.len;
	return 1;
}

static void make_job(struct zf_workq_job *j, struct zf_workq_worker *w, void *userdata)
{
	struct make_state *m = userdata;
	struct zf_chunk_id id;
	int r;

	zf_chunk_id_hash(w->ctx, j->data, j->n, &id);
	if (j->flags & JOB_EXPECT) {
		if (!zf_chunk_id_eq(&id, &j->id)) {
			char hex[ZF_CHUNK_ID_HEX];
			j->r = zf_err_set(&j->err, -ZF_E_CORRUPT,
					  "data at offset %" PRIu64 " does not match chunk %s",
					  j->offset, zf_chunk_id_hex(&j->id, hex));
			return;
		}
	}
	j->id = id;
	if (!m->store)
		return;
	r = put_chunk(m->store, w, &id, j->data, j->n, &j->aux, &j->err);
	if (r < 0)
		j->r = r;
	else if (r > 0)
		j->flags |= JOB_NEW;
}

/*
 * A segment's chunk ids, eight at a time where the CPU can (sha512x8.h):
 * all of them in one call, so a lane whose chunk ends takes the next.
 */
static void seg_pre(struct zf_seg_chunk *chunks, size_t n, const uint8_t *data, uint64_t offset,
		    void *userdata)
{
	_cleanup_free_ const uint8_t **p = zf_xcalloc(n, sizeof(*p));
	_cleanup_free_ size_t *len = zf_xcalloc(n, sizeof(*len));
	_cleanup_free_ uint8_t (*got)[ZF_CHUNK_ID_SIZE] = zf_xcalloc(n, sizeof(*got));
	(void)userdata;

	for (size_t i = 0; i < n; i++) {
		p[i] = data + (chunks[i].offset - offset);
		len[i] = chunks[i].n;
	}
	zf_sha512x8_256(p, len, n, got);
	for (size_t i = 0; i < n; i++) {
		memcpy(chunks[i].id.b, got[i], ZF_CHUNK_ID_SIZE);
		chunks[i].flags = SEG_HASHED;
	}
}

/* The same for a chunk of a segment (segment.h), on a segment's worker. */
static int seg_job(struct zf_seg_chunk *c, const uint8_t *data, struct zf_workq_worker *w,
		   void *userdata, struct zf_err *err)
{
	struct make_state *m = userdata;
	int r;

	if (!(c->flags & SEG_HASHED))
		zf_chunk_id_hash(w->ctx, data, c->n, &c->id);
	if (!m->store)
		return 0;
	r = put_chunk(m->store, w, &c->id, data, c->n, &c->aux, err);
	if (r < 0)
		return r;
	c->flags = r > 0 ? JOB_NEW : 0;
	return 0;
}

static unsigned slots_for(size_t max, unsigned workers)
{
	size_t s = IN_FLIGHT_BYTES / (max ? max : 1);

	s = MAX(s, (size_t)workers * 2 + 2);
	return (unsigned)MIN(s, (size_t)256);
}

/* Consumes the oldest job: into the index (w may be NULL) and the stats. */
static int consume(struct zf_workq *pool, struct zf_index_writer *w, struct zf_make_stats *st,
		   int first, struct zf_err *err)
{
	struct zf_workq_job *j = zf_workq_wait_oldest(pool);
	int r = 0;

	if (first < 0) {
		/* already failed: only drain */
		zf_workq_release(pool);
		return first;
	}
	if (j->r < 0) {
		r = zf_err_copy(err, j->r, &j->err);
	} else {
		if (w)
			r = zf_index_writer_add(w, &j->id, j->n, err);
		st->chunks++;
		st->size += j->n;
		if (j->flags & JOB_NEW) {
			st->new_chunks++;
			st->new_bytes += j->aux;
		}
	}
	zf_workq_release(pool);
	return r;
}

/*
 * A regular file big enough to be worth it is chunked in parallel segments
 * (segment.h), each read, chunked, hashed and stored by one worker; anything
 * else (pipes, small files, tiny min or huge max) streams through one
 * reader and the pool.  Both give the same boundaries.
 */
static bool want_segments(int fd, const struct zf_chunk_params *p, uint64_t *ret_base,
			  uint64_t *ret_size)
{
	struct stat st;
	off_t base;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	base = lseek(fd, 0, SEEK_CUR);
	if (base < 0 || base > st.st_size)
		return false;
	/* at least 256 bytes a boundary keeps each segment's list small */
	if (p->min < 256 || p->max > ZF_SEG_SIZE_DEFAULT / 2 ||
	    (uint64_t)(st.st_size - base) < 2 * (uint64_t)ZF_SEG_SIZE_DEFAULT)
		return false;
	*ret_base = (uint64_t)base;
	*ret_size = (uint64_t)(st.st_size - base);
	return true;
}

/* A chunk of a segment into the index and the stats. */
static int add_seg_chunk(struct zf_index_writer *w, const struct zf_seg_chunk *c,
			 struct zf_make_stats *st, struct zf_err *err)
{
	st->chunks++;
	st->size += c->n;
	if (c->flags & JOB_NEW) {
		st->new_chunks++;
		st->new_bytes += c->aux;
	}
	return zf_index_writer_add(w, &c->id, c->n, err);
}

int zf_chunk_make(int fd, const char *index_path, struct zf_store *store,
		  const struct zf_make_opts *o, struct zf_make_stats *ret, struct zf_err *err)
{
	/* before the workers: cleanups run in reverse order, and they use m until joined */
	struct make_state m = { store };
	_cleanup_(zf_index_writer_freep) struct zf_index_writer *w = NULL;
	_cleanup_(zf_chunk_reader_freep) struct zf_chunk_reader *rd = NULL;
	_cleanup_(zf_seg_chunker_freep) struct zf_seg_chunker *seg = NULL;
	_cleanup_(zf_workq_freep) struct zf_workq *pool = NULL;
	struct zf_make_stats st = { 0 };
	unsigned workers = o->jobs ? o->jobs : ZF_JOBS_DEFAULT();
	uint64_t base, size;
	int r = 0;

	r = zf_index_writer_new(index_path, &o->params, &w, err);
	if (r < 0)
		return r;
	if (want_segments(fd, &o->params, &base, &size)) {
		const struct zf_seg_chunk *c;

		seg = zf_seg_chunker_new(fd, base, size, &o->params, workers, ZF_SEG_SIZE_DEFAULT,
					 seg_job, &m);
		if (zf_sha512x8_available())
			zf_seg_chunker_set_pre(seg, seg_pre);
		while ((r = zf_seg_chunker_next(seg, &c, err)) > 0) {
			r = add_seg_chunk(w, c, &st, err);
			if (r < 0)
				break;
		}
		if (r < 0)
			return r;
		/* as if read: the next reader of fd starts after the input */
		(void)lseek(fd, (off_t)(base + size), SEEK_SET);
	} else {
		rd = zf_chunk_reader_new(fd, &o->params);
		pool = zf_workq_new(workers, slots_for((size_t)o->params.max, workers), make_job,
				   &m);
		while (r >= 0) {
			struct zf_workq_job *j;
			const uint8_t *p;
			size_t n;
			int k;

			k = zf_chunk_reader_next(rd, &p, &n, err);
			if (k <= 0) {
				r = k;
				break;
			}
			while (r >= 0 && !(j = zf_workq_slot(pool)))
				r = consume(pool, w, &st, r, err);
			if (r < 0)
				break;
			zf_workq_job_reserve(j, n);
			memcpy(j->data, p, n);
			j->n = n;
			j->offset = zf_chunk_reader_offset(rd) - n;
			zf_workq_submit(pool);
		}
		while (zf_workq_wait_oldest(pool))
			r = consume(pool, w, &st, r, err);
		if (r < 0)
			return r;
	}
	if (store) {
		r = zf_store_sync(store, err);
		if (r < 0)
			return r;
	}
	r = zf_index_writer_finish(w, err);
	if (r < 0)
		return r;
	if (ret)
		*ret = st;
	return 0;
}

int zf_chunk_chop(const char *index_path, const char *file_path, struct zf_store *store,
		  unsigned jobs, struct zf_make_stats *ret, struct zf_err *err)
{
	struct make_state m = { store };       /* before pool: its workers use m until joined */
	_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
	_cleanup_(zf_workq_freep) struct zf_workq *pool = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct zf_chunk_params params;
	struct zf_make_stats st = { 0 };
	unsigned workers = jobs ? jobs : ZF_JOBS_DEFAULT();
	int r;

	r = zf_index_open_read(index_path, &idx, err);
	if (r < 0)
		return r;
	zf_index_params(idx, &params);
	fd = open(file_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open '%s': %m", file_path);
	pool = zf_workq_new(workers, slots_for((size_t)params.max, workers), make_job, &m);

	while (r >= 0) {
		struct zf_workq_job *j;
		struct zf_chunk_id id;
		uint64_t off, size;
		ssize_t k;

		r = zf_index_next(idx, &id, &off, &size, err);
		if (r <= 0)
			break;
		r = 0;
		while (r >= 0 && !(j = zf_workq_slot(pool)))
			r = consume(pool, NULL, &st, r, err);
		if (r < 0)
			break;
		zf_workq_job_reserve(j, (size_t)size);
		k = zf_read_full(fd, j->data, (size_t)size);
		if (k < 0) {
			r = zf_err_set(err, (int)k, "cannot read '%s': %s", file_path,
				       strerror((int)-k));
			break;
		}
		if ((uint64_t)k < size) {
			r = zf_err_set(err, -EBADMSG,
				       "'%s' ends at byte %" PRIu64 ", index '%s' needs %" PRIu64,
				       file_path, off + (uint64_t)k, index_path, off + size);
			break;
		}
		j->n = (size_t)size;
		j->offset = off;
		j->id = id;
		j->flags = JOB_EXPECT;
		zf_workq_submit(pool);
	}
	while (zf_workq_wait_oldest(pool))
		r = consume(pool, NULL, &st, r, err);
	if (r < 0)
		return r;
	r = zf_store_sync(store, err);
	if (r < 0)
		return r;
	if (ret)
		*ret = st;
	return 0;
}
