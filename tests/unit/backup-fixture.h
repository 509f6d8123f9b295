/* tests/unit/backup-fixture.h — a directory store with backups made by hand, for unit tests */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "chunk/catalogue.h"

struct zf_store;

struct backup_fixture {
	char dir[64];
	struct zf_store *store;
};

/* cmocka setup/teardown: *state is a struct backup_fixture with an empty store. */
int backup_fixture_setup(void **state);
int backup_fixture_teardown(void **state);

/* Stores text as a chunk; its id in *ret. */
void bf_put_chunk(struct backup_fixture *f, const char *text, struct zf_chunk_id *ret);
/* Stores each text as a chunk and writes an index of them to STORE/index/<hash>.caibx. */
void bf_put_index(struct backup_fixture *f, const char *const *texts, size_t n,
		  struct zf_chunk_id *ret_hash);
/*
 * Commits a backup of ds@snap (base_guid 0: a full) whose meta index holds
 * the one chunk "meta DS@SNAP" and whose data index holds the chunks
 * texts[0..n); *ret (may be NULL) receives the entry (release it).
 */
void bf_backup(struct backup_fixture *f, const char *ds, const char *snap, uint64_t guid,
	       uint64_t txg, uint64_t base_guid, const char *base_snap,
	       const char *const *texts, size_t n, struct zf_catalogue_entry *ret);
/* STORE/<rel>, caller frees. */
char *bf_path(const struct backup_fixture *f, const char *rel);
/* The path of a chunk's .cacnk file, caller frees. */
char *bf_chunk_path(const struct backup_fixture *f, const struct zf_chunk_id *id);
/* True when the entry's file exists. */
bool bf_entry_exists(const struct backup_fixture *f, const struct zf_catalogue_entry *e);
