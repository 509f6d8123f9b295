/* src/chunk/gc.h — garbage collection of a directory store: fossils, two passes, sessions */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "util/macro.h"

struct zf_err;

/*
 * One pass of the collector, exactly as docs/backup-format.md ("Garbage
 * collection", "A pass") describes it, with why it is safe while backups
 * write into the store:
 *
 *   1. take STORE/gc/lock (O_EXCL; refused while another collector holds it);
 *   2. record "pass N started" in STORE/gc/state.json; if pass N-1 finished,
 *      at least grace ago, and every session it saw live has gone or not
 *      beaten since, delete N-1's fossils (renaming back those an entry
 *      needs);
 *   3. mark every chunk and index some catalogue entry needs (an entry or
 *      index that cannot be read ends the pass with an error, deleting
 *      nothing);
 *   4. fossilise every chunk and index not needed and older than min_age;
 *   5. list the sessions, remove those seen with the same beat across grace,
 *      record "pass N finished" with the live ones and their beats.
 *
 * The needed set is held in memory (zf_idmap: 49 bytes a slot, at most
 * 3/4 full, so 65 to 130 bytes a needed chunk: 1 to 2 GiB for the 16 M
 * chunks of 1 TiB cut at 64 KiB), not sorted on disk as the docs suggest.
 * Directory stores only: the collector renames and deletes files.
 */
#define ZF_GC_MIN_AGE_DEFAULT (24 * 3600)       /* A */
#define ZF_GC_GRACE_DEFAULT (4 * 3600)          /* G: at least E, a session's expiry */
/* A lock older than this is reported as such (never broken). */
#define ZF_GC_LOCK_OLD_SECONDS (24 * 3600)

struct zf_gc_opts {
	int64_t min_age;        /* seconds: younger chunks and indexes are kept */
	int64_t grace;          /* seconds between the passes that fossilise and delete */
	bool dry_run;           /* count only: no state written, nothing renamed or removed */
};
#define ZF_GC_OPTS_INIT { ZF_GC_MIN_AGE_DEFAULT, ZF_GC_GRACE_DEFAULT, false }

/*
 * A writer killed mid-way leaves its temporary dot-files (a chunk being
 * linked in, an index being written) in the chunk directories and index/;
 * a pass removes those not modified for this long, whatever --min-age says:
 * a live writer's files change far more often, and a pass must never take
 * one from under it.
 */
#define ZF_GC_TEMP_AGE (24 * 3600)

struct zf_gc_stats {
	uint64_t pass;                          /* this pass's number, from 1 */
	uint64_t entries;                       /* catalogue entries read */
	uint64_t chunks_marked, indexes_marked; /* needed, distinct */
	uint64_t chunks_fossilised, indexes_fossilised, bytes_fossilised;
	uint64_t chunks_deleted, indexes_deleted, bytes_freed;  /* fossils removed */
	uint64_t chunks_revived, indexes_revived;       /* needed fossils renamed back */
	uint64_t sessions_live, sessions_removed;
	uint64_t temp_removed;                  /* abandoned temporary files (ZF_GC_TEMP_AGE) */
	bool deletion_skipped;                  /* step 2 was not run; why: */
	char skip_reason[256];
};

/*
 * Runs one pass on the directory store at store_dir.  0 and *ret filled
 * (with dry_run: what a pass would have done now), or <0 with one line
 * naming the file: -EBUSY when another collector holds the lock.
 */
_must_check_ int zf_store_gc(const char *store_dir, const struct zf_gc_opts *o,
			     struct zf_gc_stats *ret, struct zf_err *err);

/*
 * Test only: seconds added to the collector's wall clock (the time it
 * records, measures grace by and compares file mtimes with), so tests
 * can let hours pass without waiting.  0 in the product.
 */
extern int64_t zf_gc_test_time_shift;
