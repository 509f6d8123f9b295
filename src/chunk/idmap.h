/* src/chunk/idmap.h — a hash map from chunk id to a small value (open addressing) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chunk/chunk.h"

struct zf_idmap_value {
	uint64_t offset;
	uint32_t size;
	uint32_t file;
};

struct zf_idmap {
	struct zf_chunk_id *keys;
	struct zf_idmap_value *values;
	uint8_t *used;
	size_t n, cap;
};

#define ZF_IDMAP_INIT { NULL, NULL, NULL, 0, 0 }

/* Adds id unless present: 1 added, 0 already there (value kept). */
int zf_idmap_add(struct zf_idmap *m, const struct zf_chunk_id *id, const struct zf_idmap_value *v);
/* The value for id, or NULL. */
const struct zf_idmap_value *zf_idmap_get(const struct zf_idmap *m, const struct zf_chunk_id *id);
void zf_idmap_release(struct zf_idmap *m);
static inline void zf_idmap_releasep(struct zf_idmap *m)
{
	zf_idmap_release(m);
}
