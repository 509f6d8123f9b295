/* src/chunk/chunker.h — casync-compatible content-defined chunking (buzhash, window 48) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

struct zf_err;

#define ZF_CHUNK_WINDOW 48
#define ZF_CHUNK_MIN_DEFAULT (16u * 1024)
#define ZF_CHUNK_AVG_DEFAULT (64u * 1024)
#define ZF_CHUNK_MAX_DEFAULT (256u * 1024)
/* Bounds a chunk size taken from input must keep (casync's own limits). */
#define ZF_CHUNK_SIZE_LIMIT_MIN 1u
#define ZF_CHUNK_SIZE_LIMIT_MAX (128u * 1024 * 1024)

/*
 * Chunking parameters.  A boundary falls after byte k of a chunk (k counted
 * from 1) when k >= max, or when k >= min, k >= 48 and the buzhash of the
 * chunk's last 48 bytes h satisfies h % discriminator == discriminator - 1.
 * The hash window restarts at every boundary.  This is what casync does, so
 * for the same input and parameters the boundaries are casync's.
 */
struct zf_chunk_params {
	uint64_t min, avg, max;
	uint32_t discriminator;         /* derived from avg by zf_chunk_params_init() */
	uint64_t fastmod;               /* 2^64 / discriminator rounded up, for the boundary test */
};

/* Fills p from min/avg/max; -EINVAL (with a message) unless 1 <= min <= avg <= max <= 128M. */
_must_check_ int zf_chunk_params_init(struct zf_chunk_params *p, uint64_t min, uint64_t avg,
				      uint64_t max, struct zf_err *err);
/* The defaults, 16K/64K/256K. */
void zf_chunk_params_default(struct zf_chunk_params *p);
/*
 * casync's discriminator for an average size: avg / (1.33237515 - 1.42888852e-7 * avg),
 * 0 when that is outside 1..2^32-1.  zf_chunk_params_init() raises it to min if lower.
 */
uint32_t zf_chunk_discriminator(uint64_t avg);

/* The buzhash of n bytes (exported for tests). */
uint32_t zf_buzhash(const uint8_t *p, size_t n);

/*
 * Finds the end of the chunk that starts at p[0].  Stateless: the caller
 * passes everything it has from the chunk's start; n may be more than max.
 * Returns the chunk's length when its end lies within p[0..n) — at most max,
 * and n itself when eof and no earlier boundary — or 0 when more data is
 * needed (n < max and not eof) and for n == 0.
 */
size_t zf_chunker_find(const struct zf_chunk_params *p, const uint8_t *data, size_t n, bool eof);

/*
 * Reads a file descriptor and cuts it into chunks, with one buffer of
 * bounded size (max + 4 MiB): the chunk returned points into it and stays
 * valid until the next call.
 */
struct zf_chunk_reader;
struct zf_chunk_reader *zf_chunk_reader_new(int fd, const struct zf_chunk_params *p);
/* 1 and the next chunk, 0 at end of input, or -errno. */
_must_check_ int zf_chunk_reader_next(struct zf_chunk_reader *r, const uint8_t **ret_p,
				      size_t *ret_n, struct zf_err *err);
/* Offset of the next chunk in the stream (bytes returned so far). */
uint64_t zf_chunk_reader_offset(const struct zf_chunk_reader *r);
struct zf_chunk_reader *zf_chunk_reader_free(struct zf_chunk_reader *r);
DEFINE_CLEANUP_FUNC(struct zf_chunk_reader *, zf_chunk_reader_free);
