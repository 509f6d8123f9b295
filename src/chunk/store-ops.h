/* src/chunk/store-ops.h — store operations: make, extract, chop, verify, prune, info */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chunk/chunk.h"
#include "chunk/chunker.h"
#include "util/macro.h"

struct zf_err;
struct zf_store;

struct zf_make_opts {
	struct zf_chunk_params params;
	unsigned jobs;                  /* worker threads; 0 = one per CPU */
};

struct zf_make_stats {
	uint64_t size;                  /* bytes of input */
	uint64_t chunks;                /* entries in the index */
	uint64_t new_chunks;            /* chunk files written */
	uint64_t new_bytes;             /* their compressed size */
};

/*
 * Cuts everything readable from fd into chunks, stores each (if store is
 * not NULL) and writes the index to index_path (temporary file + rename,
 * after the store was synced).  Memory is bounded: input is never held
 * whole, so fd may be a pipe.
 */
_must_check_ int zf_chunk_make(int fd, const char *index_path, struct zf_store *store,
			       const struct zf_make_opts *o, struct zf_make_stats *ret,
			       struct zf_err *err);

/*
 * Stores the chunks of file_path as index_path describes them: each piece
 * must hash to the id the index names (else -ZF_E_CORRUPT naming the offset).
 */
_must_check_ int zf_chunk_chop(const char *index_path, const char *file_path,
			       struct zf_store *store, unsigned jobs, struct zf_make_stats *ret,
			       struct zf_err *err);

struct zf_extract_opts {
	struct zf_store *const *stores; /* looked in in order */
	size_t nstores;
	struct zf_store *cache;         /* looked in first; filled from stores; may be NULL */
	const char *const *seeds;       /* files whose chunks may be reused */
	size_t nseeds;
	bool seed_output;               /* an existing output file is a seed too */
	bool fsync;                     /* make a file output durable before renaming it */
	bool direct;                    /* write a file output with O_DIRECT (past the page
					 * cache); buffered where the filesystem refuses it */
	/*
	 * Chunks from the stores are decoded but not hashed against their ids:
	 * the caller checks the whole output against a digest of its own, and
	 * on a mismatch extracts again without this to name the damaged chunk.
	 * What fills the cache, or comes from it or from a seed, is checked
	 * all the same.
	 */
	bool check_later;
	/*
	 * With neither out_path nor an out_fd: the output, in order, goes to
	 * sink instead, in pieces of one or more chunks that are extract's own
	 * (valid during the call only).  A return < 0 stops the extract with
	 * it; err says why.  So a caller in the same process takes the bytes
	 * without a pipe's two copies.
	 */
	int (*sink)(void *userdata, const void *p, size_t n, struct zf_err *err);
	void *sink_userdata;
	unsigned jobs;
};

struct zf_extract_stats {
	uint64_t size, chunks;
	uint64_t from_seed, from_cache, from_store;     /* chunks */
	bool direct;                    /* the output was written with O_DIRECT */
};

/* Test only: makes o->direct behave as on a filesystem that refuses O_DIRECT. */
extern bool zf_extract_refuse_direct_for_test;
/* Test only: microseconds the --direct writer thread sleeps before each block. */
extern unsigned zf_extract_write_delay_us_for_test;

/*
 * Restores the blob index_path describes into out_path (temporary file +
 * rename: a failure leaves no output and the old file as it was; fsync()ed
 * first with o->fsync, as cp, rsync and casync do not by default), or to
 * out_fd in order when out_path is NULL, or to o->sink when out_fd is < 0
 * too (with neither, nowhere: only the chunks' checks are done).  Every chunk is verified; one that
 * is damaged or missing everywhere stops it with an error naming the id and
 * its offset in the blob.
 */
_must_check_ int zf_chunk_extract(const char *index_path, const char *out_path, int out_fd,
				  const struct zf_extract_opts *o, struct zf_extract_stats *ret,
				  struct zf_err *err);

/* Called for each damaged chunk; removed tells whether --repair removed it. */
typedef void (*zf_verify_report_fn)(const struct zf_chunk_id *id, const char *why, bool removed,
				    void *userdata);
struct zf_verify_stats {
	uint64_t chunks, damaged, removed;
};
/* Checks every chunk in store; repair removes damaged ones. */
_must_check_ int zf_chunk_verify(struct zf_store *store, unsigned jobs, bool repair,
				 zf_verify_report_fn report, void *userdata,
				 struct zf_verify_stats *ret, struct zf_err *err);

typedef void (*zf_prune_report_fn)(const struct zf_chunk_id *id, uint64_t size, void *userdata);
struct zf_prune_stats {
	uint64_t kept, removed, removed_bytes;
};
/* Removes (or with dry_run only reports) chunks no index in indexes needs. */
_must_check_ int zf_chunk_prune(struct zf_store *store, const char *const *indexes, size_t n,
				bool dry_run, zf_prune_report_fn report, void *userdata,
				struct zf_prune_stats *ret, struct zf_err *err);

struct zf_index_stats {
	uint64_t min, avg, max;
	uint64_t size, chunks;
	uint64_t unique, unique_bytes;  /* distinct ids, and the bytes they hold */
	uint64_t stored_bytes;          /* with a store: compressed size of those present */
	uint64_t missing;               /* with a store: distinct ids not in it */
};
/* Reads an index (and with a store, stats its chunks). */
_must_check_ int zf_chunk_index_stats(const char *index_path, struct zf_store *store,
				      struct zf_index_stats *ret, struct zf_err *err);
