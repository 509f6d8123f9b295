/* src/chunk/store-backend.h — what a kind of chunk store implements (directory, HTTP) */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "chunk/store.h"

struct zf_buf;
struct zf_err;

/*
 * One table per kind of store; zf_store_*() dispatch through it, and
 * zf_store_get() verifies what get_raw hands back whatever the kind, so no
 * backend can return data that does not match its id.  remove, sync and
 * walk may be NULL: not supported (sync: nothing to do).  Same returns as
 * the zf_store_*() functions of the same names.
 */
struct zf_store_ops {
	int (*has)(struct zf_store *s, const struct zf_chunk_id *id, uint64_t *ret_size,
		   struct zf_err *err);
	int (*put_raw)(struct zf_store *s, const struct zf_chunk_id *id, const void *p, size_t n,
		       struct zf_err *err);
	int (*get_raw)(struct zf_store *s, const struct zf_chunk_id *id, size_t max_raw,
		       struct zf_buf *out, struct zf_err *err);
	int (*remove)(struct zf_store *s, const struct zf_chunk_id *id, struct zf_err *err);
	int (*sync)(struct zf_store *s, struct zf_err *err);
	int (*walk)(struct zf_store *s, zf_store_walk_fn cb, void *userdata, struct zf_err *err);
	void (*free)(void *impl);
};

/* A store of another kind; display names it in messages (never with credentials). */
struct zf_store *zf_store_new(const struct zf_store_ops *ops, void *impl, const char *display);
void *zf_store_impl(const struct zf_store *s);
