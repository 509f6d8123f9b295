/* src/chunk/store.h — a casync-layout chunk store in a local directory */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chunk/chunk.h"
#include "util/macro.h"

struct zf_buf;
struct zf_err;

/*
 * Chunks live at <store>/<first 4 hex digits>/<64 hex digits>.cacnk, zstd
 * compressed, as casync keeps them.  A chunk is written to an unnamed
 * O_TMPFILE in its directory and linked in under its final name (where
 * O_TMPFILE is missing: a temporary dot-file renamed without replacing), so
 * a crash never leaves half a chunk under its final name, two writers of one
 * chunk don't conflict, and an existing chunk is never rewritten.  Every
 * reader verifies the chunk's content against its id.  Safe to share
 * between threads.
 */
struct zf_store;

enum {
	ZF_STORE_CREATE = 1 << 0,       /* mkdir the store if missing */
};

/* What a remote store (http[s]://, s3+http[s]://) is opened with; ignored for a directory. */
struct zf_store_remote_opts {
	const char *auth_file;          /* http[s]: holds the Authorization header's value */
	const char *credentials_file;   /* s3: access_key=/secret_key= lines; NULL: environment */
	unsigned parallel;              /* connections kept open at most; 0 = 16 */
	const char *ca_file;            /* https: PEM CA to check the server by; NULL: system's */
	const char *cert_file, *key_file;       /* https: our client certificate; NULL: none */
};

/*
 * path is a directory, http[s]://HOST[:PORT]/PREFIX/ (a desync/casync
 * chunk server; its chunks at PREFIX/<4hex>/<id>.cacnk; append-only: remove
 * and walk answer -EOPNOTSUPP), or s3+http[s]://HOST[:PORT]/BUCKET[/PREFIX]
 * (an S3 bucket in desync's layout; chunk/store-s3.h).
 */
_must_check_ int zf_store_open(const char *path, unsigned flags, struct zf_store **ret,
			       struct zf_err *err);
_must_check_ int zf_store_open_opts(const char *path, unsigned flags,
				    const struct zf_store_remote_opts *ro, struct zf_store **ret,
				    struct zf_err *err);
/* A directory store (not a URL). */
bool zf_store_is_local(const struct zf_store *s);
/* The directory, or the URL without credentials: for messages. */
const char *zf_store_path(const struct zf_store *s);
struct zf_store *zf_store_free(struct zf_store *s);
DEFINE_CLEANUP_FUNC(struct zf_store *, zf_store_free);

/*
 * Fossils (docs/backup-format.md, "Garbage collection"): gc soft-deletes a
 * chunk of a directory store by renaming <id>.cacnk to <id>.cacnk.fossil and
 * removes the fossil a pass later.  Readers fall back to the fossil:
 * zf_store_get(), zf_store_get_raw() and zf_store_has_readable().  Writers do
 * not: zf_store_has() and zf_store_has_quick() answer 0 for a chunk that is
 * only a fossil, so a writer uploads it anew rather than reuse what the next
 * pass may delete.  zf_store_walk() lists chunks, never fossils.
 */
#define ZF_STORE_FOSSIL_SUFFIX ".fossil"
/* "abcd/<64 hex>.cacnk" or, with fossil, "abcd/<64 hex>.cacnk.fossil", relative to the store */
#define ZF_STORE_REL_MAX (5 + 64 + 6 + 7 + 1)
void zf_store_chunk_relpath(const struct zf_chunk_id *id, bool fossil, char ret[ZF_STORE_REL_MAX]);

/*
 * For writers: 1 if a chunk file exists under id (its size in *ret_size, may
 * be NULL), 0 if not (a fossil alone is not), <0.
 */
_must_check_ int zf_store_has(struct zf_store *s, const struct zf_chunk_id *id,
			      uint64_t *ret_size, struct zf_err *err);
/*
 * Like zf_store_has(), but answers 0 without a look when the chunk's
 * directory did not exist when the store was opened and was not created
 * through s since: a chunk another process added meanwhile may be missed.
 * For skipping work only (make uses it before compressing).
 */
_must_check_ int zf_store_has_quick(struct zf_store *s, const struct zf_chunk_id *id,
				    struct zf_err *err);
/*
 * For readers: as zf_store_has(), but a directory store's fossil counts as
 * present (its size in *ret_size).  Other kinds answer as zf_store_has().
 */
_must_check_ int zf_store_has_readable(struct zf_store *s, const struct zf_chunk_id *id,
				       uint64_t *ret_size, struct zf_err *err);
/* Stores compressed bytes under id: 0 written, 1 already there, <0 error. */
_must_check_ int zf_store_put_raw(struct zf_store *s, const struct zf_chunk_id *id,
				  const void *p, size_t n, struct zf_err *err);
/*
 * Reads the compressed bytes (at most max_raw): 0, -ENOENT when missing, <0.
 * A directory store reads the chunk's fossil when the chunk file is missing.
 */
_must_check_ int zf_store_get_raw(struct zf_store *s, const struct zf_chunk_id *id,
				  size_t max_raw, struct zf_buf *out, struct zf_err *err);
/*
 * Reads, decompresses (at most max bytes) and verifies a chunk: 0,
 * -ENOENT when missing, -ZF_E_CORRUPT / -EBADMSG when damaged (message
 * names the chunk), other <0 on I/O errors.  ctx may be NULL.
 */
_must_check_ int zf_store_get(struct zf_store *s, struct zf_chunk_ctx *ctx,
			      const struct zf_chunk_id *id, size_t max, struct zf_buf *out,
			      struct zf_err *err);
/* Removes a chunk; a missing one is not an error. */
_must_check_ int zf_store_remove(struct zf_store *s, const struct zf_chunk_id *id,
				 struct zf_err *err);
/* Makes every chunk written so far durable (syncfs). */
_must_check_ int zf_store_sync(struct zf_store *s, struct zf_err *err);

/*
 * Calls cb for every chunk file (name = valid id + ".cacnk" in the right
 * directory); other files, fossils among them, are skipped.  A negative return from cb stops
 * the walk and is returned.  size is the compressed size.
 */
typedef int (*zf_store_walk_fn)(const struct zf_chunk_id *id, uint64_t size, void *userdata);
_must_check_ int zf_store_walk(struct zf_store *s, zf_store_walk_fn cb, void *userdata,
			       struct zf_err *err);

/* The largest .cacnk file accepted for a chunk of max bytes. */
size_t zf_cacnk_max_raw(size_t max);
