/* src/chunk/segment.h — chunk boundaries of a seekable file, found in parallel segments */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "chunk/chunker.h"
#include "util/macro.h"

struct zf_err;

/*
 * The boundaries zf_chunker_find() gives when run from the start of the
 * file to its end, found by several threads at once.
 *
 * The file is cut into segments of seg_size bytes.  A worker chunks each
 * segment from its first byte, as if a chunk started there, until a chunk
 * ends at or past the segment's end.  Where a chunk ends depends only on
 * where it starts (the hash window restarts at every boundary), so once
 * the true sequence of boundaries, coming from the segment before, lands
 * on a boundary the worker found, all the worker's later boundaries are
 * true too.  Until it does, the consumer chunks on by itself from the true
 * boundary, in the segment's data the worker already read: usually one or
 * two chunks per segment.  Data that never resynchronises (say, all zeros,
 * cut only at max) is chunked wholly by the consumer: slower, still right.
 *
 * Memory: about (threads + 2) * (seg_size + max) bytes, and one boundary
 * per min bytes of a segment.
 */
struct zf_seg_chunker;

/* Segment size that make uses: large enough that resynchronising costs ~1%. */
#define ZF_SEG_SIZE_DEFAULT (8u * 1024 * 1024)

/*
 * Chunks bytes [base, base + size) of fd with pread(2), which must not move
 * while this runs; threads == 0 means one per CPU.  seg_size is raised to
 * max if lower.
 */
struct zf_seg_chunker *zf_seg_chunker_new(int fd, uint64_t base, uint64_t size,
					  const struct zf_chunk_params *p, unsigned threads,
					  size_t seg_size);
/*
 * 1 and the next chunk's offset (from base) and length, 0 at the end, or
 * -errno (a read error, or -EIO when the file shrank while being read).
 */
_must_check_ int zf_seg_chunker_next(struct zf_seg_chunker *c, uint64_t *ret_offset,
				     size_t *ret_n, struct zf_err *err);
struct zf_seg_chunker *zf_seg_chunker_free(struct zf_seg_chunker *c);
DEFINE_CLEANUP_FUNC(struct zf_seg_chunker *, zf_seg_chunker_free);
