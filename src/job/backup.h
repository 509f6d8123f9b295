/* src/job/backup.h — zfs send streams into a chunk store and back: backup and restore */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chunk/chunker.h"
#include "chunk/store-ops.h"
#include "util/macro.h"

struct zf_err;
struct zf_store;

/* Bytes a backup or restore reads or writes at a time. */
#define ZF_BACKUP_IO_BUF (1u << 20)

/*
 * A backup of one snapshot is its `zfs send` stream split into meta and
 * data (src/zfs/records.h), each cut into the store as casync cuts a file,
 * two indexes named by their hashes in STORE/index, and a catalogue entry
 * committed last (src/chunk/catalogue.h).  docs/backup-format.md has the
 * order of the writes and why an interrupted backup leaves no entry.
 */

/* The zfs send options a backup may use (catalogue send_flags). */
struct zf_backup_send {
	bool large_blocks;      /* -L */
	bool embed;             /* -e */
	bool compressed;        /* -c */
	bool raw;               /* -w */
	bool props;             /* -p */
};

struct zf_backup_opts {
	const char *store;              /* a directory store */
	struct zf_backup_send send;
	bool incremental;               /* from the newest backed-up snapshot still on the source */
	unsigned full_every;            /* with incremental: a full once the chain has this many
					 * backups (0: never) */
	struct zf_chunk_params params;
	unsigned jobs;                  /* for the data; 0: four per CPU (meta gets one) */
};

struct zf_backup_result {
	char *snapshot;                 /* dataset@snap */
	uint64_t guid;
	char *base;                     /* dataset@base of an incremental, NULL for a full */
	bool existed;                   /* the catalogue had this backup already */
	uint64_t stream_bytes;
	struct zf_make_stats meta, data;
	double seconds;
};
void zf_backup_result_release(struct zf_backup_result *r);

/*
 * SHA-512/256 of everything readable from fd, read in pieces (an index of
 * a big stream can be large), copied to copy_fd as it goes unless that is
 * negative.  For the indexes, which are named by this hash.  0 or -errno.
 */
_must_check_ int zf_backup_hash_fd(int fd, int copy_fd, struct zf_chunk_id *ret);

/*
 * Backs up dataset@snap (snap: a short name of an existing snapshot) into
 * o->store.  With o->incremental the base is the newest snapshot of
 * dataset (createtxg below snap's) that has a backup in the catalogue and
 * still exists on the source as a snapshot or bookmark of the same guid.
 * 0 and *ret filled (release it), or <0 with a one-line reason; on
 * failure no catalogue entry exists for it.
 */
_must_check_ int zf_backup_run(const struct zf_backup_opts *o, const char *dataset,
			       const char *snap, struct zf_backup_result *ret, struct zf_err *err);

struct zf_restore_opts {
	const char *store;              /* a directory store */
	struct zf_store *cache;         /* NULL, or a store looked in first and filled */
	unsigned jobs;
	bool no_mount;                  /* zfs recv -u */
	/* progress, from the restoring thread: bytes of the current stream so far */
	void (*progress)(const char *snapshot, uint64_t done, uint64_t total, void *userdata);
	void *userdata;
};

struct zf_restore_result {
	size_t chain;                   /* backups in the chain */
	size_t received;                /* streams sent into zfs recv (or written) */
	size_t skipped;                 /* already on the target (same guid) */
	uint64_t bytes;
	double seconds;
};

/*
 * Restores spec ("DATASET" for its newest backup, or "DATASET@SNAP") into
 * the filesystem or volume target: the chain from a full backup, each
 * stream rebuilt and received with `zfs recv` in turn.  Backups whose
 * snapshot (by guid) the target already has are skipped, so an
 * interrupted restore is rerun to go on.  Each stream's length and
 * SHA-512/256 are checked against the entry before its last two records
 * reach zfs recv; a damaged or missing chunk ends the stream there, and
 * zfs recv, seeing it cut short, receives nothing of that backup.
 */
_must_check_ int zf_restore_run(const struct zf_restore_opts *o, const char *spec,
				const char *target, struct zf_restore_result *ret,
				struct zf_err *err);
/*
 * Writes the stream of the one backup spec names (not its chain) to
 * out_path (temporary file + rename, nothing left on failure) or, when
 * out_path is NULL, to out_fd (a failure then leaves the stream's last
 * two records unwritten, so `zfs recv` on the other end refuses it).
 */
_must_check_ int zf_restore_stream(const struct zf_restore_opts *o, const char *spec,
				   const char *out_path, int out_fd, struct zf_restore_result *ret,
				   struct zf_err *err);
