/* src/chunk/extract.c — restore a blob from an index: seeds, cache, stores; verified */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "util/atomic-file.h"
#include "chunk/idmap.h"
#include "chunk/index.h"
#include "chunk/store-ops.h"
#include "chunk/workq.h"
#include "chunk/sha512x8.h"
#include "chunk/store.h"
#include "log/log.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

enum {
	FROM_SEED = 1,
	FROM_CACHE,
	FROM_STORE,
	FROM_OUTPUT,            /* a copy of an earlier chunk of the output (at job->aux) */
	FROM_STAGING,           /* the same, copied by the consumer from the staging buffer */
};

bool zf_extract_refuse_direct_for_test;
unsigned zf_extract_write_delay_us_for_test;

/*
 * A file output written with O_DIRECT goes through a ring of aligned
 * buffers, one per block of the file: the consumer copies finished chunks
 * in, in order, and hands each full block to a writer thread, which writes
 * it at its aligned offset, past the page cache, while the consumer fills
 * the next.  Block b lives in buffer b % STAGING_BUFS until block
 * b + STAGING_BUFS is begun, which waits until block b was written: so the
 * last STAGING_BUFS blocks (the one being filled, and those queued, being
 * written or just written) are in memory, and all before them in the file.
 */
#define STAGING_SIZE (4u << 20)
#define STAGING_BUFS 3u

struct staging {
	int fd;                         /* the temporary file, O_DIRECT; -EBADF: not used */
	uint8_t *buf;                   /* STAGING_BUFS * STAGING_SIZE */
	size_t len;                     /* bytes in the block being filled */
	size_t align;
	uint64_t block;                 /* the block being filled (offset block * STAGING_SIZE) */
	bool started;                   /* the writer thread runs (else the consumer writes) */
	pthread_t thread;
	/* under lock, shared with the writer thread */
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* a block was queued or written, or stop */
	uint64_t queued;                /* blocks < queued were handed to the writer */
	uint64_t written;               /* blocks < written were written (or failed) */
	int r;                          /* the first write error */
	bool stop;
};

/*
 * Chunks already written to a file output are remembered (up to this many:
 * about 12 MiB), and a later chunk with the same id is copied from there
 * instead of read, decompressed and hashed again: the output is its own
 * seed.  Only after the consumer released the first copy, which a worker
 * wrote, and verified before.
 */
#define WRITTEN_MAX (1u << 17)

struct seed {
	const char *path;
	int fd;
};

struct extract_state {
	const struct zf_extract_opts *o;
	struct zf_idmap seeds;          /* chunk id -> (seed file, offset, size) */
	struct seed *files;
	size_t nfiles;
	size_t max;
	int out_fd;                     /* >= 0: workers write here at each chunk's offset */
	struct zf_idmap written;        /* chunks of out_fd, for FROM_OUTPUT */
	uint64_t flushed;               /* output bytes whose writeback was started */
	struct staging direct;
};

/* Seed chunks: hash them in the pool, in order, to learn their ids. */
static void hash_job(struct zf_workq_job *j, struct zf_workq_worker *w, void *userdata)
{
	(void)userdata;
	zf_chunk_id_hash(w->ctx, j->data, j->n, &j->id);
}

static int add_seed(struct extract_state *x, struct zf_workq *pool, uint32_t file,
		    const struct zf_chunk_params *params, struct zf_err *err)
{
	_cleanup_(zf_chunk_reader_freep) struct zf_chunk_reader *rd = NULL;
	struct zf_workq_job *j;
	int r = 0;

	rd = zf_chunk_reader_new(x->files[file].fd, params);
	for (;;) {
		const uint8_t *p;
		size_t n;

		r = zf_chunk_reader_next(rd, &p, &n, err);
		if (r <= 0)
			break;
		while (!(j = zf_workq_slot(pool))) {
			j = zf_workq_wait_oldest(pool);
			struct zf_idmap_value v = { j->offset, (uint32_t)j->n, file };
			zf_idmap_add(&x->seeds, &j->id, &v);
			zf_workq_release(pool);
		}
		zf_workq_job_reserve(j, n);
		memcpy(j->data, p, n);
		j->n = n;
		j->offset = zf_chunk_reader_offset(rd) - n;
		zf_workq_submit(pool);
	}
	while ((j = zf_workq_wait_oldest(pool))) {
		struct zf_idmap_value v = { j->offset, (uint32_t)j->n, file };
		zf_idmap_add(&x->seeds, &j->id, &v);
		zf_workq_release(pool);
	}
	if (r < 0)
		return zf_err_prefix(err, "seed '%s'", x->files[file].path);
	return 0;
}

static bool try_seed(struct extract_state *x, struct zf_workq_job *j, struct zf_workq_worker *w)
{
	const struct zf_idmap_value *v = zf_idmap_get(&x->seeds, &j->id);
	struct zf_chunk_id got;
	ssize_t k;

	if (!v || v->size != j->size)
		return false;
	zf_workq_job_reserve(j, v->size);
	k = zf_pread_full(x->files[v->file].fd, j->data, v->size, v->offset);
	if (k != (ssize_t)v->size)
		return false;
	/* the seed may have changed since it was hashed: check again */
	zf_chunk_id_hash(w->ctx, j->data, v->size, &got);
	if (!zf_chunk_id_eq(&got, &j->id))
		return false;
	j->n = v->size;
	return true;
}

/* Gives the job the worker's decoded buffer, and the worker the job's old one. */
static void swap_out(struct zf_workq_job *j, struct zf_buf *out)
{
	uint8_t *data = j->data;
	size_t alloc = j->alloc;

	j->data = (uint8_t *)out->data;
	j->alloc = out->alloc;
	j->n = out->len;
	out->data = (char *)data;
	out->alloc = alloc;
	out->len = 0;
	if (out->data)
		out->data[0] = '\0';
}

/*
 * Fetches from one store: 1 found and verified (raw bytes in w->scratch,
 * the data in the job), 0 missing, <0 damaged or unreadable (message in err).
 * Without check, found means decoded to the right size (check_later).
 */
static int try_store(struct zf_store *s, struct zf_workq_job *j, struct zf_workq_worker *w,
		     size_t max, bool check, struct zf_err *err)
{
	struct zf_err e = ZF_ERR_INIT;
	struct zf_chunk_id got;
	char hex[ZF_CHUNK_ID_HEX];
	int r;

	r = zf_store_get_raw(s, &j->id, zf_cacnk_max_raw(max), &w->scratch, &e);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return zf_err_copy(err, r, &e);
	/* usually: the data decoded into the job's buffer, with no copy, is right */
	zf_workq_job_reserve(j, (size_t)j->size);
	if (zf_cacnk_decode_into(w->ctx, (const uint8_t *)w->scratch.data, w->scratch.len, j->data,
				 (size_t)j->size) == (ssize_t)j->size) {
		if (check)
			zf_chunk_id_hash(w->ctx, j->data, (size_t)j->size, &got);
		if (!check || zf_chunk_id_eq(&got, &j->id)) {
			j->n = (size_t)j->size;
			return 1;
		}
	}
	/* else decode again the careful way, to say what is wrong */
	r = zf_cacnk_decode(w->ctx, (const uint8_t *)w->scratch.data, w->scratch.len, max, &w->out,
			    &e);
	zf_chunk_id_hex(&j->id, hex);
	if (r < 0)
		return zf_err_set(err, r, "chunk %s at offset %" PRIu64 " is damaged in store '%s': %s",
				  hex, j->offset, zf_store_path(s), zf_err_msg(&e));
	zf_chunk_id_hash(w->ctx, w->out.data, w->out.len, &got);
	if (!zf_chunk_id_eq(&got, &j->id))
		return zf_err_set(err, -ZF_E_CORRUPT,
				  "chunk %s at offset %" PRIu64
				  " is damaged in store '%s': content does not match its id",
				  hex, j->offset, zf_store_path(s));
	if (w->out.len != j->size)
		return zf_err_set(err, -EBADMSG,
				  "chunk %s at offset %" PRIu64 " has %zu bytes, the index says %" PRIu64,
				  hex, j->offset, w->out.len, j->size);
	swap_out(j, &w->out);
	return 1;
}

static void fetch(struct extract_state *x, struct zf_workq_job *j, struct zf_workq_worker *w)
{
	const struct zf_extract_opts *o = x->o;
	struct zf_err first = ZF_ERR_INIT;
	char hex[ZF_CHUNK_ID_HEX];
	int r;

	if (try_seed(x, j, w)) {
		j->flags = FROM_SEED;
		return;
	}
	if (o->cache) {
		struct zf_err e = ZF_ERR_INIT;
		r = try_store(o->cache, j, w, x->max, true, &e);
		if (r > 0) {
			j->flags = FROM_CACHE;
			return;
		}
		/* a damaged cache entry is dropped and fetched again */
		if (r < 0) {
			int q = zf_store_remove(o->cache, &j->id, NULL);
			(void)q;
		}
	}
	for (size_t i = 0; i < o->nstores; i++) {
		r = try_store(o->stores[i], j, w, x->max, !o->check_later || o->cache, &first);
		if (r > 0) {
			j->flags = FROM_STORE;
			if (o->cache) {
				/* a cache that cannot be written only costs speed */
				int q = zf_store_put_raw(o->cache, &j->id, w->scratch.data,
							 w->scratch.len, NULL);
				(void)q;
			}
			return;
		}
	}
	if (first.code < 0)
		j->r = zf_err_copy(&j->err, first.code, &first);
	else
		j->r = zf_err_set(&j->err, -ENOENT,
				  "chunk %s at offset %" PRIu64 " is in no store",
				  zf_chunk_id_hex(&j->id, hex), j->offset);
}

/* A chunk the output already holds, written and verified earlier in this run. */
static void copy_output(struct extract_state *x, struct zf_workq_job *j)
{
	ssize_t k;

	zf_workq_job_reserve(j, (size_t)j->size);
	k = zf_pread_full(x->out_fd, j->data, (size_t)j->size, j->aux);
	if (k < 0) {
		j->r = zf_err_set(&j->err, (int)k, "cannot read back output at offset %" PRIu64
				  ": %s", j->aux, strerror((int)-k));
		return;
	}
	if ((uint64_t)k != j->size) {
		j->r = zf_err_set(&j->err, -EIO, "output shrank while written");
		return;
	}
	j->n = (size_t)j->size;
}

static void extract_job(struct zf_workq_job *j, struct zf_workq_worker *w, void *userdata)
{
	struct extract_state *x = userdata;

	if (j->flags == FROM_OUTPUT)
		copy_output(x, j);
	else if (j->flags != FROM_STAGING)      /* filled when submitted */
		fetch(x, j, w);
}

/*
 * The common case, in bulk: no seeds, no cache, the chunk in the first
 * store and as big as the index says.  Reads and decodes each job's chunk,
 * then hashes them all eight at a time; a job that does not fit, or whose
 * hash is wrong, goes the careful way (fetch()), which says what is wrong.
 */
static void extract_batch(struct zf_workq_job **jobs, unsigned n, struct zf_workq_worker *w,
			  void *userdata)
{
	struct extract_state *x = userdata;
	const uint8_t *p[ZF_WORKQ_BATCH_MAX] = { NULL };
	size_t len[ZF_WORKQ_BATCH_MAX] = { 0 };
	uint8_t got[ZF_WORKQ_BATCH_MAX][ZF_CHUNK_ID_SIZE];
	struct zf_workq_job *quick[ZF_WORKQ_BATCH_MAX];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		struct zf_workq_job *j = jobs[i];
		size_t size = (size_t)j->size;
		int r;

		if (j->flags == FROM_OUTPUT || j->flags == FROM_STAGING || x->nfiles > 0 ||
		    x->o->cache || x->o->nstores == 0) {
			extract_job(j, w, x);
			continue;
		}
		r = zf_store_get_raw(x->o->stores[0], &j->id, zf_cacnk_max_raw(x->max), &w->scratch,
				     NULL);
		zf_workq_job_reserve(j, size);
		if (r < 0 || zf_cacnk_decode_into(w->ctx, (const uint8_t *)w->scratch.data,
						  w->scratch.len, j->data, size) != (ssize_t)size) {
			fetch(x, j, w);
			continue;
		}
		p[k] = j->data;
		len[k] = size;
		quick[k++] = j;
	}
	if (k > 0 && !x->o->check_later)
		zf_sha512x8_256(p, len, k, got);
	for (unsigned i = 0; i < k; i++) {
		struct zf_workq_job *j = quick[i];

		if (!x->o->check_later && memcmp(got[i], j->id.b, ZF_CHUNK_ID_SIZE) != 0) {
			fetch(x, j, w);
			continue;
		}
		j->n = (size_t)j->size;
		j->flags = FROM_STORE;
	}
}

static int open_seed(struct extract_state *x, const char *path, bool must, struct zf_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (!must && errno == ENOENT)
			return 0;
		return zf_err_set(err, -errno, "cannot open seed '%s': %m", path);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		safe_close(fd);
		if (!must)
			return 0;
		return zf_err_set(err, -EINVAL, "seed '%s' is not a regular file", path);
	}
	x->files = zf_xreallocarray(x->files, x->nfiles + 1, sizeof(*x->files));
	x->files[x->nfiles].path = path;
	x->files[x->nfiles].fd = fd;
	x->nfiles++;
	return 1;
}

static uint8_t *staging_block(const struct staging *s, uint64_t block)
{
	return s->buf + (size_t)(block % STAGING_BUFS) * STAGING_SIZE;
}

/* The writer thread: writes the queued blocks in order until stopped. */
static void *writer_main(void *userdata)
{
	struct staging *s = userdata;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		uint64_t b;
		int r = 0;

		while (s->written == s->queued && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->written == s->queued)
			break;
		b = s->written;
		pthread_mutex_unlock(&s->lock);
		/* after a failure only drain: the output is abandoned */
		if (s->r == 0) {
			if (zf_extract_write_delay_us_for_test)
				(void)usleep(zf_extract_write_delay_us_for_test);
			r = zf_pwrite_full(s->fd, staging_block(s, b), STAGING_SIZE,
					   b * STAGING_SIZE);
		}
		pthread_mutex_lock(&s->lock);
		if (r < 0 && s->r == 0)
			s->r = r;
		s->written = b + 1;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Stops the writer thread once it wrote (or dropped) every queued block. */
static void staging_stop(struct staging *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->started = false;
}

/*
 * Opens the temporary output a second time, with O_DIRECT, and allocates the
 * staging buffer.  A filesystem that refuses O_DIRECT gets buffered writes.
 */
static int open_direct(struct extract_state *x, const char *tmp, struct zf_err *err)
{
	struct staging *s = &x->direct;
	struct stat st;
	void *buf = NULL;
	int fd, r;

	fd = zf_extract_refuse_direct_for_test ? (errno = EINVAL, -1)
					       : open(tmp, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EINVAL) {
			log_debug("output '%s' refuses O_DIRECT: writing it through the page cache",
				  tmp);
			return 0;
		}
		return zf_err_set(err, -errno, "cannot open '%s' for direct writes: %m", tmp);
	}
	s->align = 4096;
	/* a larger preferred I/O size, if a power of two (any of them divides the buffer) */
	if (fstat(fd, &st) == 0 && st.st_blksize > 4096 &&
	    st.st_blksize <= (blksize_t)STAGING_SIZE && (st.st_blksize & (st.st_blksize - 1)) == 0)
		s->align = (size_t)st.st_blksize;
	r = posix_memalign(&buf, s->align, (size_t)STAGING_BUFS * STAGING_SIZE);
	if (r != 0) {
		safe_close(fd);
		return zf_err_set(err, -r, "cannot allocate %u bytes for direct writes",
				  STAGING_BUFS * STAGING_SIZE);
	}
	s->buf = buf;
	s->fd = fd;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	/* without the thread the consumer writes each block itself: slower, same bytes */
	s->started = pthread_create(&s->thread, NULL, writer_main, s) == 0;
	return 1;
}

static void state_release(struct extract_state *x)
{
	for (size_t i = 0; i < x->nfiles; i++)
		safe_close(x->files[i].fd);
	free(x->files);
	if (x->direct.buf) {
		staging_stop(&x->direct);
		pthread_mutex_destroy(&x->direct.lock);
		pthread_cond_destroy(&x->direct.cond);
	}
	safe_close(x->direct.fd);
	free(x->direct.buf);
	zf_idmap_release(&x->seeds);
	zf_idmap_release(&x->written);
}

/*
 * Starts writeback of each finished 16 MiB of a file output, so the fsync()
 * at the end finds little left to write: the disk works while we compute.
 */
static void start_writeback(struct extract_state *x, uint64_t done)
{
	const uint64_t step = 16u << 20;

	if (x->out_fd < 0 || x->direct.fd >= 0 || !x->o->fsync || done < x->flushed + step)
		return;
	(void)sync_file_range(x->out_fd, (off_t)x->flushed, (off_t)(done - x->flushed),
			      SYNC_FILE_RANGE_WRITE);
	x->flushed = done;
}

/*
 * Hands the full block to the writer and begins the next one, once its
 * buffer is free: the block STAGING_BUFS before it was written.
 */
static int staging_next(struct staging *s)
{
	int r;

	if (!s->started) {
		r = zf_pwrite_full(s->fd, staging_block(s, s->block), STAGING_SIZE,
				   s->block * STAGING_SIZE);
		s->block++;
		s->len = 0;
		s->written = s->queued = s->block;
		return r;
	}
	pthread_mutex_lock(&s->lock);
	s->queued = ++s->block;
	s->len = 0;
	pthread_cond_broadcast(&s->cond);
	while (s->block - s->written >= STAGING_BUFS)
		pthread_cond_wait(&s->cond, &s->lock);
	r = s->r;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Copies n bytes to the block being filled, handing it on each time it is full. */
static int staging_add(struct staging *s, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k = MIN(n, STAGING_SIZE - s->len);
		int r;

		memcpy(staging_block(s, s->block) + s->len, p, k);
		s->len += k;
		p += k;
		n -= k;
		if (s->len < STAGING_SIZE)
			break;
		r = staging_next(s);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Output offset below which everything is in the file; all after it in the ring. */
static uint64_t staging_low(const struct staging *s)
{
	return s->block < STAGING_BUFS ? 0 : (s->block - STAGING_BUFS + 1) * STAGING_SIZE;
}

/*
 * The last partial buffer: zero-padded to a whole block, written the same
 * way, then the file is cut to its real size (through the ordinary fd).
 */
static int staging_finish(struct staging *s, int fd, struct zf_err *err)
{
	uint64_t size = s->block * STAGING_SIZE + s->len;
	uint8_t *last = staging_block(s, s->block);
	int r;

	staging_stop(s);
	if (s->r < 0)
		return zf_err_set(err, s->r, "cannot write output: %s", strerror(-s->r));
	if (s->len > 0) {
		size_t padded = (s->len + s->align - 1) / s->align * s->align;

		memset(last + s->len, 0, padded - s->len);
		r = zf_pwrite_full(s->fd, last, padded, s->block * STAGING_SIZE);
		if (r < 0)
			return zf_err_set(err, r, "cannot write output: %s", strerror(-r));
	}
	if (ftruncate(fd, (off_t)size) < 0)
		return zf_err_set(err, -errno, "cannot write output: %m");
	return 0;
}

/*
 * A repeated chunk whose first copy is not all known to be in the file: the
 * consumer fills the job now, from the file up to the ring and from the
 * ring after (a worker reading later would race with the reuse of a
 * buffer, and the file may not have such bytes yet).
 */
static void copy_staged(struct extract_state *x, struct zf_workq_job *j, uint64_t from)
{
	const struct staging *s = &x->direct;
	uint64_t low = staging_low(s);
	size_t size = (size_t)j->size, head = 0;

	zf_workq_job_reserve(j, size);
	if (from < low) {
		ssize_t k;

		head = (size_t)(low - from);
		k = zf_pread_full(x->out_fd, j->data, head, from);
		if (k < 0) {
			j->r = zf_err_set(&j->err, (int)k, "cannot read back output at offset %"
					  PRIu64 ": %s", from, strerror((int)-k));
			return;
		}
		if ((size_t)k != head) {
			j->r = zf_err_set(&j->err, -EIO, "output shrank while written");
			return;
		}
	}
	/* the rest from the ring, a block at a time (the buffers wrap around) */
	for (size_t done = head; done < size;) {
		uint64_t at = from + done;
		size_t in = (size_t)(at % STAGING_SIZE);
		size_t k = MIN(size - done, STAGING_SIZE - in);

		memcpy(j->data + done, staging_block(s, at / STAGING_SIZE) + in, k);
		done += k;
	}
	j->n = size;
}

/* Chunks a worker takes at once to hash together: eight lanes, refilled as they end. */
#define BATCH_HASH 16

/* Chunks written with one writev(2), at most: 1 MiB at the average chunk size, a quarter
 * of the ring or less, so the workers have slots to fill while it runs. */
#define BATCH_MAX 16

/* Counts a written chunk and remembers where it went. */
static void account(struct extract_state *x, const struct zf_workq_job *d,
		    struct zf_extract_stats *st)
{
	st->size += d->n;
	st->chunks++;
	/* the output counts as a seed of itself */
	st->from_seed += d->flags == FROM_SEED || d->flags == FROM_OUTPUT ||
			 d->flags == FROM_STAGING;
	st->from_cache += d->flags == FROM_CACHE;
	st->from_store += d->flags == FROM_STORE;
	if (x->out_fd >= 0 && d->flags != FROM_OUTPUT && d->flags != FROM_STAGING &&
	    x->written.n < WRITTEN_MAX) {
		struct zf_idmap_value v = { d->offset, (uint32_t)d->n, 0 };
		zf_idmap_add(&x->written, &d->id, &v);
	}
}

/*
 * Waits for the oldest job, then writes it and the finished jobs right
 * after it with one writev(2), in order (or, once failed, only drains the
 * oldest).  One thread writes: workers writing a file at their chunks'
 * offsets all queued on its inode lock, spinning on it while the holder
 * faulted in page cache (see bench/store on cold memory).
 */
static int write_done(struct extract_state *x, struct zf_workq *pool, int out_fd,
		      struct zf_extract_stats *st, int r, struct zf_err *err)
{
	struct zf_workq_job *d = zf_workq_wait_oldest(pool), *done[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	unsigned n = 0;

	if (r < 0) {
		zf_workq_release(pool);
		return r;
	}
	if (d->r < 0) {
		r = zf_err_copy(err, d->r, &d->err);
		zf_workq_release(pool);
		return r;
	}
	do {
		done[n] = d;
		iov[n] = (struct iovec){ d->data, d->n };
		n++;
	} while (n < BATCH_MAX && (d = zf_workq_peek_done(pool, n)) && d->r >= 0);
	if (x->direct.fd >= 0) {
		for (unsigned i = 0; i < n && r >= 0; i++)
			r = staging_add(&x->direct, done[i]->data, done[i]->n);
		if (r < 0)
			zf_err_set(err, r, "cannot write output: %s", strerror(-r));
	} else if (out_fd >= 0) {
		r = zf_writev_full(out_fd, iov, (int)n);
		if (r < 0)
			zf_err_set(err, r, "cannot write output: %s", strerror(-r));
	} else if (x->o->sink) {
		for (unsigned i = 0; i < n && r >= 0; i++)
			r = x->o->sink(x->o->sink_userdata, done[i]->data, done[i]->n, err);
	}
	for (unsigned i = 0; i < n; i++) {
		if (r >= 0)
			account(x, done[i], st);
		zf_workq_release(pool);
	}
	if (r >= 0)
		start_writeback(x, st->size);
	return r;
}

/* Learns the seed files' chunk ids, hashing in a pool of its own that is gone on return. */
static int index_seeds(struct extract_state *x, unsigned workers, unsigned slots,
		       const struct zf_chunk_params *params, struct zf_err *err)
{
	_cleanup_(zf_workq_freep) struct zf_workq *hp = NULL;
	int r;

	if (x->nfiles == 0)
		return 0;
	hp = zf_workq_new(workers, slots, hash_job, x);
	for (uint32_t i = 0; i < x->nfiles; i++) {
		r = add_seed(x, hp, i, params, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Where job j (chunk id, size) comes from when the file output already has
 * it: copied now from the file and the ring when its first copy may still
 * be in the ring, else read back by a worker.  Otherwise j is left as is.
 */
static void reuse_written(struct extract_state *x, struct zf_workq_job *j,
			  const struct zf_chunk_id *id, uint64_t size)
{
	const struct zf_idmap_value *v;

	if (x->out_fd < 0)
		return;
	v = zf_idmap_get(&x->written, id);
	if (v && v->size == size && x->direct.fd >= 0 &&
	    v->offset + size > staging_low(&x->direct)) {
		j->flags = FROM_STAGING;
		copy_staged(x, j, v->offset);
	} else if (v && v->size == size) {
		j->flags = FROM_OUTPUT;
		j->aux = v->offset;
	}
}

static int do_extract(struct extract_state *x, struct zf_index *idx, const char *index_path,
		      int out_fd, struct zf_extract_stats *st, struct zf_err *err)
{
	_cleanup_(zf_workq_freep) struct zf_workq *pool = NULL;
	const struct zf_extract_opts *o = x->o;
	struct zf_chunk_params params;
	unsigned workers = o->jobs ? o->jobs : ZF_JOBS_DEFAULT();
	unsigned slots;
	int r = 0;

	zf_index_params(idx, &params);
	x->max = (size_t)params.max;
	slots = (unsigned)MIN(MAX((16u << 20) / x->max, (size_t)workers * 2 + 2), (size_t)256);
	r = index_seeds(x, workers, slots, &params, err);
	if (r < 0)
		return r;

	if (zf_sha512x8_available())
		pool = zf_workq_new_batch(workers, slots, BATCH_HASH, extract_batch, x);
	else
		pool = zf_workq_new(workers, slots, extract_job, x);
	for (;;) {
		struct zf_workq_job *j;
		struct zf_chunk_id id;
		uint64_t off, size;

		r = zf_index_next(idx, &id, &off, &size, err);
		if (r <= 0)
			break;
		r = 0;
		while (r >= 0 && !(j = zf_workq_slot(pool))) {
			r = write_done(x, pool, out_fd, st, r, err);
		}
		if (r < 0)
			break;
		j->id = id;
		j->offset = off;
		j->size = size;
		reuse_written(x, j, &id, size);
		zf_workq_submit(pool);
	}
	while (zf_workq_wait_oldest(pool))
		r = write_done(x, pool, out_fd, st, r, err);
	if (r < 0 && err && err->code == 0)
		zf_err_set(err, r, "cannot extract '%s'", index_path);
	return r;
}

int zf_chunk_extract(const char *index_path, const char *out_path, int out_fd,
		     const struct zf_extract_opts *o, struct zf_extract_stats *ret,
		     struct zf_err *err)
{
	_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
	_cleanup_(zf_atomic_file_releasep) struct zf_atomic_file f = ZF_ATOMIC_FILE_INIT;
	_cleanup_(state_release) struct extract_state x = { .o = o, .out_fd = -EBADF,
							    .direct.fd = -EBADF };
	struct zf_extract_stats st = { 0 };
	int r;

	r = zf_index_open_read(index_path, &idx, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < o->nseeds; i++) {
		r = open_seed(&x, o->seeds[i], true, err);
		if (r < 0)
			return r;
	}
	if (out_path && o->seed_output) {
		r = open_seed(&x, out_path, false, err);
		if (r < 0)
			return r;
	}
	if (out_path) {
		r = zf_atomic_file_open(&f, out_path, err);
		if (r < 0)
			return r;
		/* a file: written in order like a pipe, and read back for repeats */
		x.out_fd = f.fd;
		out_fd = f.fd;
		if (o->direct) {
			r = open_direct(&x, f.tmp, err);
			if (r < 0)
				return r;
		}
	}
	/* a pipe: fewer, larger writes wake its reader less often (best effort) */
	if (!out_path && out_fd >= 0)
		(void)fcntl(out_fd, F_SETPIPE_SZ, 1 << 20);
	r = do_extract(&x, idx, index_path, out_fd, &st, err);
	if (r < 0)
		return r;
	if (x.direct.fd >= 0) {
		r = staging_finish(&x.direct, f.fd, err);
		if (r < 0)
			return r;
		st.direct = true;
	}
	if (out_path) {
		r = zf_atomic_file_commit(&f, o->fsync, false, err);
		if (r < 0)
			return r;
	}
	if (ret)
		*ret = st;
	return 0;
}
