/* src/chunk/segment.h — chunk a seekable file in parallel segments that resynchronise */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "chunk/chunk.h"
#include "chunk/chunker.h"
#include "util/macro.h"

struct zf_err;
struct zf_workq_worker;

/*
 * Cuts a file where zf_chunker_find() run from its start to its end cuts
 * it, with several threads, and lets them process the chunks too.
 *
 * The file is cut into segments of seg_size bytes, each read once by one
 * worker, which:
 *  1. chunks its segment from its first byte, as if a chunk started there,
 *     until a chunk ends at or past the segment's end;
 *  2. waits for the segment before it to say where its last true chunk
 *     ends (the entry point, in this segment), and from there follows the
 *     true boundaries: where a chunk ends depends only on where it starts
 *     (the hash window restarts at every boundary), so once they land on a
 *     boundary found in step 1 the rest of step 1's are true too; until
 *     then the worker chunks on by itself (usually one or two chunks).
 *     Data that never resynchronises (say, zeros, cut only at max) is
 *     chunked wholly in this step: slower, still right;
 *  3. says where its own last true chunk ends, for the next segment;
 *  4. runs fn on each of its true chunks, with the data in its buffer.
 * Only step 2 is serial, and it is short; the consumer gets the chunks in
 * file order.
 *
 * Memory: (threads + 2) * (seg_size + max) bytes of buffers, and an entry
 * per chunk (at most one per min bytes) of each segment.
 */
struct zf_seg_chunker;

/* Segment size make uses: resynchronising costs a few chunks per segment. */
#define ZF_SEG_SIZE_DEFAULT (2u * 1024 * 1024)

/* One chunk, and what fn made of it. */
struct zf_seg_chunk {
	uint64_t offset;        /* from base */
	size_t n;
	struct zf_chunk_id id;  /* free for fn */
	unsigned flags;         /* free for fn */
	uint64_t aux;           /* free for fn */
};

/*
 * Runs on a worker for each chunk, data holding its c->n bytes; 0 or -errno
 * (and a message in err), which fails the whole run.
 */
typedef int (*zf_seg_fn)(struct zf_seg_chunk *c, const uint8_t *data, struct zf_workq_worker *w,
			 void *userdata, struct zf_err *err);

/*
 * Called once per segment, on its worker, before fn runs for each of its
 * chunks (in order), with all of them: for work cheaper done together,
 * such as hashing several chunks at once.  data + (chunks[i].offset -
 * offset) is chunk i's first byte.
 */
typedef void (*zf_seg_pre_fn)(struct zf_seg_chunk *chunks, size_t n, const uint8_t *data,
			      uint64_t offset, void *userdata);

/*
 * Chunks bytes [base, base + size) of fd with pread(2); the fd is not moved.
 * threads == 0 means one per CPU; seg_size is raised to max if lower; fn may
 * be NULL.
 */
struct zf_seg_chunker *zf_seg_chunker_new(int fd, uint64_t base, uint64_t size,
					  const struct zf_chunk_params *p, unsigned threads,
					  size_t seg_size, zf_seg_fn fn, void *userdata);
/* Sets the per-segment hook (before the first zf_seg_chunker_next()). */
void zf_seg_chunker_set_pre(struct zf_seg_chunker *c, zf_seg_pre_fn pre);
/*
 * 1 and the next chunk (valid until the next call), 0 at the end, or -errno:
 * fn's, a read error, or -EIO when the file shrank while being read.
 */
_must_check_ int zf_seg_chunker_next(struct zf_seg_chunker *c, const struct zf_seg_chunk **ret,
				     struct zf_err *err);
struct zf_seg_chunker *zf_seg_chunker_free(struct zf_seg_chunker *c);
DEFINE_CLEANUP_FUNC(struct zf_seg_chunker *, zf_seg_chunker_free);
