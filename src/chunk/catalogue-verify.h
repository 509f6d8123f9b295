/* src/chunk/catalogue-verify.h — store verify's catalogue pass: can every backup be restored */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chunk/catalogue.h"
#include "chunk/chunk.h"
#include "util/macro.h"

struct zf_buf;
struct zf_err;
struct zf_idmap;
struct zf_store;

/* What is wrong with one backup: a chunk or one of its two indexes. */
enum zf_catalogue_fault_kind {
	ZF_CATALOGUE_CHUNK_MISSING,
	ZF_CATALOGUE_CHUNK_DAMAGED,
	ZF_CATALOGUE_INDEX_MISSING,
	ZF_CATALOGUE_INDEX_DAMAGED,     /* its SHA-512/256 is not its name, or it does not parse */
};

struct zf_catalogue_fault {
	enum zf_catalogue_fault_kind kind;
	bool data;                      /* in (or of) the data index; false: the meta index */
	struct zf_chunk_id id;          /* the chunk, or the index's name */
	char detail[256];               /* a damaged index: why; else empty */
};

/* "chunk <hex> missing (in data index)", "meta index <hex> damaged: ..." appended to out. */
void zf_catalogue_fault_str(const struct zf_catalogue_fault *f, struct zf_buf *out);

/* At most this many faults of one backup are kept for the report; the rest are counted. */
#define ZF_CATALOGUE_FAULTS_SHOWN 3

/* Called once per broken backup: its first faults, and how many more it has. */
typedef void (*zf_catalogue_broken_fn)(const struct zf_catalogue_entry *e,
				       const struct zf_catalogue_fault *f, size_t n,
				       uint64_t more, void *userdata);

struct zf_catalogue_verify_stats {
	uint64_t backups;               /* entries checked */
	uint64_t broken;                /* of them, with at least one fault */
};

/*
 * Reads every catalogue entry of the directory store and checks that both
 * its indexes are in STORE/index, hash to their names and parse, and that
 * every chunk they name is there.  Chunk content is not read again:
 * damaged holds the ids the chunk pass (zf_chunk_verify()) found damaged
 * (NULL: none), and a chunk in it is a damaged one for every backup that
 * needs it.  Each chunk is looked up once, however many backups share it.
 * A store without a catalogue has no backups: 0 and zeros.  An entry that
 * cannot be read fails the whole pass (the message names it);
 * -EOPNOTSUPP for a store that is not a directory.
 */
_must_check_ int zf_catalogue_verify(struct zf_store *store, const struct zf_idmap *damaged,
				     zf_catalogue_broken_fn report, void *userdata,
				     struct zf_catalogue_verify_stats *ret, struct zf_err *err);
