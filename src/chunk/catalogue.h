/* src/chunk/catalogue.h — which backup in a store is which snapshot: the backup catalogue */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chunk/chunk.h"
#include "util/macro.h"

struct zf_buf;
struct zf_err;

/*
 * One entry per backup, at STORE/catalogue/<dataset escaped>/<createtxg>-
 * <guid>-<base>.json, written last and atomically: a backup exists exactly
 * when its entry does, and chunks and indexes no entry names are garbage.
 * docs/backup-format.md ("Catalogue") has the layout, every key, and why
 * entries are read as strictly as they are: a store may be written by
 * other hosts, and a reader that guessed could let gc delete what a
 * backup needs.
 */
#define ZF_CATALOGUE_FORMAT 1
/* An entry file larger than this is refused unread. */
#define ZF_CATALOGUE_ENTRY_MAX (64u * 1024)

/* zfs send's options that change the stream; the JSON names are in the .c. */
enum {
	ZF_CATALOGUE_SEND_LARGE_BLOCKS = 1 << 0,        /* -L */
	ZF_CATALOGUE_SEND_EMBED = 1 << 1,               /* -e */
	ZF_CATALOGUE_SEND_COMPRESSED = 1 << 2,          /* -c */
	ZF_CATALOGUE_SEND_RAW = 1 << 3,                 /* -w */
	ZF_CATALOGUE_SEND_PROPS = 1 << 4,               /* -p */
	ZF_CATALOGUE_SEND_ALL = (1 << 5) - 1,
};

/*
 * The hashes are SHA-512/256, as chunk ids are, so they share the type.
 * Strings are owned (zf_catalogue_entry_release() frees them).
 */
struct zf_catalogue_entry {
	char *dataset;                  /* pool/fs */
	char *snapshot;                 /* after the '@' */
	uint64_t guid;
	uint64_t createtxg;
	int64_t snapshot_time;          /* the snapshot's creation, Unix seconds */
	uint64_t base_guid;             /* 0 for a full backup */
	char *base_snapshot;            /* NULL for a full backup */
	unsigned send_flags;            /* ZF_CATALOGUE_SEND_* */
	uint64_t stream_bytes;
	struct zf_chunk_id stream_digest;       /* of the whole zfs send stream */
	struct zf_chunk_id meta_index;          /* STORE/index/<hex>.caibx, named by its hash */
	struct zf_chunk_id data_index;
	uint64_t chunk_min, chunk_avg, chunk_max;
	int64_t created;                /* when the entry was committed, Unix seconds */
	char *zferry_version;
};

void zf_catalogue_entry_release(struct zf_catalogue_entry *e);
static inline void zf_catalogue_entry_releasep(struct zf_catalogue_entry *e)
{
	zf_catalogue_entry_release(e);
}

/*
 * Checks every field as the parser does (names against OpenZFS's rules,
 * bounds, a full backup without base and an incremental with one): 0 or
 * -EINVAL / -ZF_E_BADNAME naming the field.  Commit calls it first.
 */
_must_check_ int zf_catalogue_entry_check(const struct zf_catalogue_entry *e,
					  struct zf_err *err);
/* Appends the entry's canonical JSON and a newline to out; e must pass the check. */
void zf_catalogue_entry_to_json(const struct zf_catalogue_entry *e, struct zf_buf *out);
/*
 * Parses the n bytes at p (no NUL needed), which must be exactly what
 * zf_catalogue_entry_to_json() writes for the entry they hold.  what names
 * the input in messages (a file name; NULL: "catalogue entry").  0 and
 * *ret filled (release it), or -EBADMSG with one line naming the key;
 * -EPROTONOSUPPORT for a format other than ZF_CATALOGUE_FORMAT.
 */
_must_check_ int zf_catalogue_entry_parse(const uint8_t *p, size_t n, const char *what,
					  struct zf_catalogue_entry *ret, struct zf_err *err);

/*
 * The directory a dataset's entries live in, below STORE/catalogue: the
 * name with every byte outside [A-Za-z0-9_.:-] as %XX, or "=" and the 64
 * hex digits of its SHA-512/256 when that is longer than 200 bytes.
 * Never contains '/', never starts with '.'.  The dataset must be valid.
 */
#define ZF_CATALOGUE_DIR_MAX 201
void zf_catalogue_dataset_dir(const char *dataset, char ret[ZF_CATALOGUE_DIR_MAX]);
/* "catalogue/<dir>/<createtxg>-<guid>-<base>.json", relative to the store; caller frees. */
char *zf_catalogue_entry_relpath(const struct zf_catalogue_entry *e);

/*
 * Commits e into the directory store at store: checks it, checks that both
 * indexes are in STORE/index, writes it to a temporary dot-file, fsyncs,
 * renames without replacing and fsyncs the directory (creating and
 * syncing the directories as needed).  0 when written, 1 when an entry of
 * that name was there already (it is kept), <0 on error; on error no
 * entry and no temporary file is left.  The chunks and indexes must be
 * durable before (docs/backup-format.md, "Commit").
 */
_must_check_ int zf_catalogue_commit(const char *store, const struct zf_catalogue_entry *e,
				     struct zf_err *err);
/* Test only: when set, commit fails with -EIO after writing the temporary file. */
extern bool zf_catalogue_test_fail_before_rename;

/* Entries, sorted by dataset, then createtxg, guid and base guid. */
struct zf_catalogue_list {
	struct zf_catalogue_entry *v;
	size_t n;
};
void zf_catalogue_list_release(struct zf_catalogue_list *l);
static inline void zf_catalogue_list_releasep(struct zf_catalogue_list *l)
{
	zf_catalogue_list_release(l);
}
/* Sorts l in that order (for lists built by hand). */
void zf_catalogue_list_sort(struct zf_catalogue_list *l);

/*
 * Reads every entry of the store, or those of one dataset (NULL: all).
 * Strict: a file that is not a valid entry under the name its fields
 * give, or a directory that is not a dataset's, fails the whole listing
 * with a message naming it, since gc must not run past an entry it cannot
 * read.  Dot-files are skipped.  A store without a catalogue, or a dataset
 * without entries, gives an empty list.  *ret is written only on success.
 */
_must_check_ int zf_catalogue_list(const char *store, const char *dataset,
				   struct zf_catalogue_list *ret, struct zf_err *err);

/*
 * The chain restore sends for spec, "DATASET" (its newest backup by
 * createtxg) or "DATASET@SNAP": the shortest run of entries of that dataset
 * from a full backup to the wanted one, each the base of the next.  On
 * success *ret_chain (caller frees) holds *ret_n indexes into l, the full
 * first.  -ENOENT when the snapshot has no backup or a base is missing
 * (the message names the backup and the base), -ELOOP when base guids go
 * round (a base not older than what needs it), -EINVAL for a bad spec.
 * Never loops, whatever the entries say.
 */
_must_check_ int zf_catalogue_resolve(const struct zf_catalogue_list *l, const char *spec,
				      size_t **ret_chain, size_t *ret_n, struct zf_err *err);

/*
 * For prune: ret_needed[i] (l->n of them) is set for every entry with
 * keep[i], and for every entry of the same dataset whose guid is the base
 * of a needed one, transitively: a superset of every chain a kept entry
 * could restore by.  Returns how many needed incrementals have a base
 * with no entry at all (their chain is broken; prune cannot mend it).
 */
size_t zf_catalogue_needed(const struct zf_catalogue_list *l, const bool *keep,
			   bool *ret_needed);
