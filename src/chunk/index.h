/* src/chunk/index.h — reader/writer for casync .caibx index files */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chunk/chunk.h"
#include "chunk/chunker.h"
#include "util/macro.h"

struct zf_buf;
struct zf_err;

/*
 * Layout (all little-endian uint64):
 *   header   size=48, type=ZF_CAFORMAT_INDEX, feature flags, chunk size min, avg, max
 *   table    size=UINT64_MAX, type=ZF_CAFORMAT_TABLE
 *            then per chunk: end offset in the blob, 32-byte chunk id
 *   tail     0, 0, offset of the table (48), size of the table incl. its tail,
 *            ZF_CAFORMAT_TABLE_TAIL_MARKER
 */
#define ZF_CAFORMAT_INDEX UINT64_C(0x96824d9c7b129ff9)
#define ZF_CAFORMAT_TABLE UINT64_C(0xe75b9e112f17417d)
#define ZF_CAFORMAT_TABLE_TAIL_MARKER UINT64_C(0x4b4f050e5549ecd1)
#define ZF_CAFORMAT_SHA512_256 UINT64_C(0x2000000000000000)
/* what casync 2 `make` writes for a blob index with its default options */
#define ZF_CAFORMAT_BLOB_FEATURES UINT64_C(0xb000000000000000)
#define ZF_INDEX_HEADER_SIZE 48
#define ZF_INDEX_ENTRY_SIZE 40

struct zf_index_info {
	uint64_t features;
	uint64_t min, avg, max;
};

struct zf_index;

/* Opens PATH for reading and checks the header. On success *ret owns the index. */
_must_check_ int zf_index_open_read(const char *path, struct zf_index **ret, struct zf_err *err);
/* The same for an index held in memory (not copied: p must outlive *ret). */
_must_check_ int zf_index_open_mem(const uint8_t *p, size_t n, struct zf_index **ret,
				   struct zf_err *err);
const struct zf_index_info *zf_index_info(const struct zf_index *idx);
/* Chunking parameters from the header (valid: checked when opened). */
void zf_index_params(const struct zf_index *idx, struct zf_chunk_params *ret);
/*
 * Next entry: 1 and fills the outputs (start offset in the blob, size), 0 at
 * the end (after the tail was checked), <0 (-errno) on error.
 */
_must_check_ int zf_index_next(struct zf_index *idx, struct zf_chunk_id *ret_id,
			       uint64_t *ret_offset, uint64_t *ret_size, struct zf_err *err);
struct zf_index *zf_index_free(struct zf_index *idx);     /* NULL-safe; returns NULL */
DEFINE_CLEANUP_FUNC(struct zf_index *, zf_index_free);

/*
 * Writer.  With a path the index goes to a temporary file next to it and is
 * renamed into place (after fsync) by zf_index_writer_finish(); with NULL it
 * accumulates in memory (zf_index_writer_data()).
 */
struct zf_index_writer;
_must_check_ int zf_index_writer_new(const char *path, const struct zf_chunk_params *p,
				     struct zf_index_writer **ret, struct zf_err *err);
_must_check_ int zf_index_writer_add(struct zf_index_writer *w, const struct zf_chunk_id *id,
				     uint64_t size, struct zf_err *err);
_must_check_ int zf_index_writer_finish(struct zf_index_writer *w, struct zf_err *err);
/* Memory writers: the bytes written so far. */
const uint8_t *zf_index_writer_data(const struct zf_index_writer *w, size_t *ret_n);
/* Frees; an unfinished file is removed. */
struct zf_index_writer *zf_index_writer_free(struct zf_index_writer *w);
DEFINE_CLEANUP_FUNC(struct zf_index_writer *, zf_index_writer_free);
