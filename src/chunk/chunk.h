/* src/chunk/chunk.h — chunk ids (SHA512/256) and the .cacnk codec (one zstd frame) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/macro.h"

struct zf_buf;
struct zf_err;

#define ZF_CHUNK_ID_SIZE 32
#define ZF_CHUNK_ID_HEX (2 * ZF_CHUNK_ID_SIZE + 1)     /* with the NUL */
/* zstd level for new chunks: casync's default, so stores compress alike */
#define ZF_CACNK_LEVEL 3

struct zf_chunk_id {
	uint8_t b[ZF_CHUNK_ID_SIZE];
};

static inline bool zf_chunk_id_eq(const struct zf_chunk_id *a, const struct zf_chunk_id *b)
{
	return memcmp(a->b, b->b, ZF_CHUNK_ID_SIZE) == 0;
}
/* Writes the 64 lowercase hex digits and a NUL to ret; returns ret. */
char *zf_chunk_id_hex(const struct zf_chunk_id *id, char ret[ZF_CHUNK_ID_HEX]);
/* Parses exactly 64 hex digits (either case); -EINVAL otherwise. */
_must_check_ int zf_chunk_id_parse(const char *s, struct zf_chunk_id *ret);

/*
 * Per-thread state for hashing and (de)compression: reusing it saves an
 * allocation per chunk.  Not shareable between threads.
 */
struct zf_chunk_ctx;
struct zf_chunk_ctx *zf_chunk_ctx_new(void);
struct zf_chunk_ctx *zf_chunk_ctx_free(struct zf_chunk_ctx *c);
DEFINE_CLEANUP_FUNC(struct zf_chunk_ctx *, zf_chunk_ctx_free);

/* SHA512/256 of the uncompressed chunk.  ctx may be NULL. */
void zf_chunk_id_hash(struct zf_chunk_ctx *ctx, const void *p, size_t n,
		      struct zf_chunk_id *ret);

/* Compresses p[0..n) into one zstd frame appended to out.  ctx may be NULL. */
_must_check_ int zf_cacnk_encode(struct zf_chunk_ctx *ctx, const void *p, size_t n,
				 struct zf_buf *out, struct zf_err *err);
/*
 * Decompresses a .cacnk (one or more zstd frames) into out (replacing its
 * contents); more than max bytes of output is -EBADMSG, as is anything that
 * is not complete zstd.  ctx may be NULL.
 */
_must_check_ int zf_cacnk_decode(struct zf_chunk_ctx *ctx, const uint8_t *p, size_t n,
				 size_t max, struct zf_buf *out, struct zf_err *err);
/*
 * The fast way for a caller that knows the size to expect: decompresses
 * straight into dst (size bytes), with no copy through a stream buffer.
 * The bytes decoded (<= size), or -EBADMSG when the data is not complete
 * zstd or would not fit; then zf_cacnk_decode() says why.  Leaves the
 * context's streaming parameters alone.
 */
_must_check_ ssize_t zf_cacnk_decode_into(struct zf_chunk_ctx *ctx, const uint8_t *p, size_t n,
					  void *dst, size_t size);
