/* src/zfs/records.h — every record of a zfs send stream, checked; the stream split and rebuilt */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/macro.h"
#include "zfs/stream.h"

struct zf_err;

/*
 * A zfs send stream is a sequence of 312-byte records, each followed by a
 * payload whose length the record's own fields give (OpenZFS's
 * calc_payload_size(); drr_payloadlen counts for BEGIN only):
 *
 *   BEGIN           drr_payloadlen (compound header, resume or raw-key nvlist)
 *   OBJECT          raw_bonuslen if set, else bonuslen rounded up to 8
 *   WRITE           compressed_size if compressiontype is set, else logical_size
 *   SPILL           compressed_size if set, else length
 *   WRITE_EMBEDDED  psize rounded up to 8
 *   others          none (FREEOBJECTS, FREE, END, WRITE_BYREF, OBJECT_RANGE, REDACT)
 *
 * Every record but BEGIN ends in a fletcher-4 of everything before that
 * field since the substream's BEGIN (words in the sender's byte order),
 * and a substream's END carries the fletcher-4 of the substream before it.
 * Payloads must be whole 4-byte words, or their tail would go unchecked.
 * The reader checks all of it, and the structure: one substream, or a
 * compound stream (BEGIN + header nvlist, END, substreams, END) whose two
 * structural ENDs are written by libzfs without a trailing checksum.
 */

enum {
	ZF_ZFS_DRR_BEGIN,
	ZF_ZFS_DRR_OBJECT,
	ZF_ZFS_DRR_FREEOBJECTS,
	ZF_ZFS_DRR_WRITE,
	ZF_ZFS_DRR_FREE,
	ZF_ZFS_DRR_END,
	ZF_ZFS_DRR_WRITE_BYREF,
	ZF_ZFS_DRR_SPILL,
	ZF_ZFS_DRR_WRITE_EMBEDDED,
	ZF_ZFS_DRR_OBJECT_RANGE,
	ZF_ZFS_DRR_REDACT,
	ZF_ZFS_DRR_NUMTYPES,
};

/* Payload limits: SPA_MAXBLOCKSIZE, a 16 KiB dnode, BPE_PAYLOAD_SIZE. */
#define ZF_ZFS_MAX_BLOCK (16u << 20)
#define ZF_ZFS_MAX_BONUS (16u << 10)
#define ZF_ZFS_MAX_EMBEDDED 112u

/* "WRITE", "END"...; "?" for an unknown type. */
const char *zf_zfs_record_type_name(uint32_t type);

struct zf_zfs_record {
	uint64_t index;                 /* 0 for the stream's first record */
	uint64_t offset;                /* of the record's first byte */
	uint32_t type;                  /* ZF_ZFS_DRR_* */
	bool big_endian;                /* the sender's byte order */
	bool substream;                 /* false: a compound header's BEGIN/END, the final END */
	bool block;                     /* payload is block data: WRITE, SPILL, WRITE_EMBEDDED */
	uint64_t payload_len;
	const uint8_t *header;          /* ZF_ZFS_RECORD_SIZE bytes, as in the stream */
};

/*
 * What a reader calls; either may be NULL.  record() comes once the
 * record's checksum is verified; payload() then gets its payload in
 * pieces (the next record's checksum, or END's, verifies them).  rec and
 * rec->header are valid during the call only.  A negative return stops
 * the reader with that code.
 */
struct zf_zfs_records_ops {
	int (*record)(void *userdata, const struct zf_zfs_record *rec, struct zf_err *err);
	int (*payload)(void *userdata, const struct zf_zfs_record *rec, const void *p, size_t n,
		       struct zf_err *err);
};

struct zf_zfs_records;          /* opaque: holds one record header, never a payload */

struct zf_zfs_records *zf_zfs_records_new(const struct zf_zfs_records_ops *ops, void *userdata);
struct zf_zfs_records *zf_zfs_records_free(struct zf_zfs_records *r);
DEFINE_CLEANUP_FUNC(struct zf_zfs_records *, zf_zfs_records_free);

/*
 * Feeds the next n bytes, cut anywhere.  Returns 0, or a negative errno
 * with a one-line reason naming the record, its type and byte offset:
 * -EBADMSG (malformed, bad structure, bytes past the end), -ZF_E_CORRUPT
 * (a checksum does not match), -E2BIG (a payload over the limits).  After
 * an error the reader refuses everything.
 */
_must_check_ int zf_zfs_records_feed(struct zf_zfs_records *r, const void *p, size_t n,
				     struct zf_err *err);
/* The input is over: 0 if the stream ended whole, -EBADMSG if it is truncated. */
_must_check_ int zf_zfs_records_finish(struct zf_zfs_records *r, struct zf_err *err);
/* Records read so far, and bytes. */
uint64_t zf_zfs_records_count(const struct zf_zfs_records *r);
uint64_t zf_zfs_records_offset(const struct zf_zfs_records *r);

/*
 * The split: a stream into "meta" and "data" so that a chunk store
 * dedups two sends of the same blocks, and back into the same bytes.
 *
 * data is the block payloads (WRITE, SPILL, WRITE_EMBEDDED) back to back.
 * meta, version 1, all integers little-endian:
 *
 *   preamble    8 bytes "zfsmeta\0", u32 version = 1, u32 flags = 0
 *   then, for each record of the stream, in order:
 *     the 312-byte record, with
 *       BEGIN: drr_toguid (@40) zeroed;
 *       a substream's other records: their toguid and the trailing
 *         checksum (@280) zeroed;
 *       END: drr_checksum (@8) zeroed as well;
 *     BEGIN: then u64 the toguid it had (the substream's guid, kept once);
 *     END: then the 32 bytes it had at @8, the substream's checksum;
 *     then the payload unless it is block data (BEGIN's nvlist, OBJECT's bonus).
 *
 * So two sends that differ only in guids and checksums give metas that
 * differ only in the guid after each BEGIN and the checksum after each
 * END.  A stream is refused, naming the record, if it could not be rebuilt
 * to the same bytes: a record whose toguid is not its BEGIN's.
 */
#define ZF_ZFS_META_MAGIC "zfsmeta"     /* with its NUL: 8 bytes */
#define ZF_ZFS_META_VERSION 1u
#define ZF_ZFS_META_PREAMBLE 16u

/* Where the split writes; a negative return stops it with that code. */
typedef int (*zf_zfs_out_fn)(void *userdata, const void *p, size_t n, struct zf_err *err);

struct zf_zfs_split;            /* opaque */

struct zf_zfs_split *zf_zfs_split_new(zf_zfs_out_fn meta, zf_zfs_out_fn data, void *userdata);
struct zf_zfs_split *zf_zfs_split_free(struct zf_zfs_split *s);
DEFINE_CLEANUP_FUNC(struct zf_zfs_split *, zf_zfs_split_free);
/*
 * As zf_zfs_records_feed(), writing meta and data as it goes; also
 * -ENOTSUP for a record the rebuild could not reproduce byte for byte.
 */
_must_check_ int zf_zfs_split_feed(struct zf_zfs_split *s, const void *p, size_t n,
				   struct zf_err *err);
/* As zf_zfs_records_finish(): the split is good only if this returns 0. */
_must_check_ int zf_zfs_split_finish(struct zf_zfs_split *s, struct zf_err *err);

/* Reads up to n bytes: the count, 0 at the end, or a negative errno. */
typedef ssize_t (*zf_zfs_in_fn)(void *userdata, void *p, size_t n, struct zf_err *err);

struct zf_zfs_rebuild_io {
	zf_zfs_in_fn meta, data;
	zf_zfs_out_fn out;
	void *userdata;
};

/*
 * Writes the original stream from meta and data: puts back the guids,
 * recomputes every checksum and reads the result as zf_zfs_records_feed()
 * does, so that END's checksum, which the split kept, must match.  A
 * damaged meta or data gives -ZF_E_CORRUPT or -EBADMSG, never different
 * bytes; the caller must still discard what out() got before an error.
 */
_must_check_ int zf_zfs_rebuild(const struct zf_zfs_rebuild_io *io, struct zf_err *err);
