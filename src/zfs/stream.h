/* src/zfs/stream.h — what the head of a zfs send stream says it is */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"
#include "util/strv.h"

struct zf_err;

/*
 * A zfs send stream is a sequence of 312-byte records (zfs_ioctl.h's
 * dmu_replay_record), each maybe followed by a payload, in the sender's
 * byte order.  It starts with a BEGIN record that says what it is:
 *
 *   substream   BEGIN [payload: resume or raw-key nvlist] ... END
 *   compound    BEGIN [payload: header nvlist] END  substream...  END
 *
 * `zfs send -R`, `-p`, `-I`, `--holds` and `--backup` make compound
 * streams; the header nvlist (src/zfs/nvlist.h) carries "not_recursive"
 * unless the stream is a -R replication stream, the filesystem's
 * properties for -p ("fss" -> one entry -> "props", "snapprops") and,
 * for a clone, its origin's guid.
 *
 * A receiving side reads the head (the compound header, if any, and the
 * first substream's BEGIN) before it starts `zfs recv`, and decides from
 * it what the receive may do (docs/serve.md, "Receive policy").  Later
 * substreams of a compound stream go to the same target, which by then
 * exists and has a snapshot, so zfs no longer looks up anything by guid
 * for them.
 */

#define ZF_ZFS_RECORD_SIZE 312
#define ZF_ZFS_STREAM_MAX_HEADER (64u << 20)    /* compound header nvlist */

/* DMU_BACKUP_FEATURE_* of zfs_ioctl.h */
enum {
	ZF_ZFS_FEATURE_DEDUP = 1u << 0,
	ZF_ZFS_FEATURE_DEDUPPROPS = 1u << 1,
	ZF_ZFS_FEATURE_SA_SPILL = 1u << 2,
	ZF_ZFS_FEATURE_EMBED_DATA = 1u << 16,
	ZF_ZFS_FEATURE_LZ4 = 1u << 17,
	ZF_ZFS_FEATURE_LARGE_BLOCKS = 1u << 19,
	ZF_ZFS_FEATURE_RESUMING = 1u << 20,
	ZF_ZFS_FEATURE_REDACTED = 1u << 21,
	ZF_ZFS_FEATURE_COMPRESSED = 1u << 22,
	ZF_ZFS_FEATURE_LARGE_DNODE = 1u << 23,
	ZF_ZFS_FEATURE_RAW = 1u << 24,
	ZF_ZFS_FEATURE_ZSTD = 1u << 25,
	ZF_ZFS_FEATURE_HOLDS = 1u << 26,
	ZF_ZFS_FEATURE_SWITCH_TO_LARGE_BLOCKS = 1u << 27,
	ZF_ZFS_FEATURE_LONGNAME = 1u << 28,
	ZF_ZFS_FEATURE_LARGE_MICROZAP = 1u << 29,
};

/* DRR_FLAG_* */
enum {
	ZF_ZFS_DRR_CLONE = 1u << 0,
	ZF_ZFS_DRR_CI_DATA = 1u << 1,
	ZF_ZFS_DRR_FREERECORDS = 1u << 2,
	ZF_ZFS_DRR_SPILL_BLOCK = 1u << 3,
};

enum zf_zfs_stream_kind {
	ZF_ZFS_STREAM_FILESYSTEM = 2,   /* DMU_OST_ZFS */
	ZF_ZFS_STREAM_VOLUME = 3,       /* DMU_OST_ZVOL */
};

struct zf_zfs_stream_head {
	bool big_endian;                /* the sender's byte order */
	bool compound;                  /* a compound header came first */
	bool recursive;                 /* compound without "not_recursive": zfs send -R */
	bool header_raw;                /* the compound header says "raw" */
	size_t n_fss;                   /* filesystems the compound header describes */
	/* the first substream's BEGIN */
	enum zf_zfs_stream_kind kind;
	uint64_t features;              /* ZF_ZFS_FEATURE_* */
	uint32_t flags;                 /* ZF_ZFS_DRR_* */
	uint64_t toguid, fromguid;
	uint64_t creation;
	char toname[256];               /* as the sender wrote it; checked with zf_zfs_name_check */
	char header_toname[256];        /* the compound header's, "" without one */
	/* from the compound header's filesystems (-p): sorted, no repeats */
	struct zf_strv props;           /* property names of the filesystem(s) */
	struct zf_strv snapprops;       /* property names set on snapshots */
	bool has_origin;                /* a filesystem entry names an origin guid */
	uint64_t origin;
	bool has_parentfromsnap;        /* an entry with a nonzero "parentfromsnap" */
	size_t len;                     /* bytes of the head: through the first substream's BEGIN */
};
void zf_zfs_stream_head_release(struct zf_zfs_stream_head *h);

/*
 * Reads the head of a stream from p[0..n).  Returns 0 with *ret filled and
 * ret->len the bytes it spans (the first substream's BEGIN payload is not
 * part of it); a positive number when the head continues past n: call
 * again with at least that many bytes; or a negative errno with a one-line
 * reason (-EBADMSG: not a zfs send stream or malformed; -E2BIG: compound
 * header over ZF_ZFS_STREAM_MAX_HEADER).  Nothing is trusted: names,
 * lengths and the header nvlist are checked as hostile input.
 */
_must_check_ int zf_zfs_stream_head_parse(const void *p, size_t n, struct zf_zfs_stream_head *ret,
					  struct zf_err *err);

/*
 * Writes one substream BEGIN record (little-endian, no payload) for a full
 * stream of toname (fs@snap): for tests, and for benchmarks that push
 * bytes through a receiving side that reads a stream's head first.
 */
void zf_zfs_stream_begin_record(uint8_t out[ZF_ZFS_RECORD_SIZE], enum zf_zfs_stream_kind kind,
				const char *toname, uint64_t toguid);
