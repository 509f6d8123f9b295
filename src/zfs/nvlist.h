/* src/zfs/nvlist.h — a reader of XDR-packed nvlists, as zfs send streams carry them */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

struct zf_err;

/*
 * A packed nvlist (libnvpair's NV_ENCODE_XDR) is what a zfs send stream
 * carries in the payload of its BEGIN records: the compound header of -p,
 * -I and -R streams (property values, snapshot guids, the "not_recursive"
 * flag) and the resume and raw-key lists of a substream.  The stream is
 * the sender's, so a receiving side that must decide what a stream may do
 * reads it as hostile input: every length is checked against what is
 * left, nesting is bounded, names may hold no NUL, and a name that appears
 * twice in one list is refused, so that no reading of the list can differ
 * from zfs's own.  Only XDR is accepted (zfs send never packs natively).
 *
 * Values of the types zfs sends in these lists are kept (booleans,
 * integers, strings, nested lists); arrays are checked and skipped.
 */

enum zf_nv_type {
	ZF_NV_BOOLEAN = 1,              /* a flag: present, no value */
	ZF_NV_BYTE = 2,
	ZF_NV_INT16 = 3,
	ZF_NV_UINT16 = 4,
	ZF_NV_INT32 = 5,
	ZF_NV_UINT32 = 6,
	ZF_NV_INT64 = 7,
	ZF_NV_UINT64 = 8,
	ZF_NV_STRING = 9,
	ZF_NV_BYTE_ARRAY = 10,
	ZF_NV_INT16_ARRAY = 11,
	ZF_NV_UINT16_ARRAY = 12,
	ZF_NV_INT32_ARRAY = 13,
	ZF_NV_UINT32_ARRAY = 14,
	ZF_NV_INT64_ARRAY = 15,
	ZF_NV_UINT64_ARRAY = 16,
	ZF_NV_STRING_ARRAY = 17,
	ZF_NV_HRTIME = 18,
	ZF_NV_NVLIST = 19,
	ZF_NV_NVLIST_ARRAY = 20,
	ZF_NV_BOOLEAN_VALUE = 21,
	ZF_NV_INT8 = 22,
	ZF_NV_UINT8 = 23,
	ZF_NV_BOOLEAN_ARRAY = 24,
	ZF_NV_INT8_ARRAY = 25,
	ZF_NV_UINT8_ARRAY = 26,
	ZF_NV_DOUBLE = 27,
};

#define ZF_NV_MAX_DEPTH 16              /* zfs nests three deep (fss -> fs -> props) */
#define ZF_NV_MAX_PAIRS 1000000         /* over the whole list, nested ones included */

struct zf_nvlist;

struct zf_nvpair {
	char *name;
	enum zf_nv_type type;
	uint32_t nelem;                 /* 0 for BOOLEAN, 1 for scalars */
	uint64_t u64;                   /* integer scalars (signed ones as two's complement) */
	char *str;                      /* STRING */
	struct zf_nvlist *nvl;          /* NVLIST: one list; NVLIST_ARRAY: nelem lists */
};

struct zf_nvlist {
	struct zf_nvpair *v;
	size_t n, alloc;
};

/*
 * Unpacks a whole packed nvlist of exactly n bytes (the 4-byte header
 * included).  On success *ret owns the list.  -EBADMSG with the byte
 * offset and the name of the pair for anything malformed, -E2BIG past
 * the limits above, -EOPNOTSUPP for a native (non-XDR) encoding.
 */
_must_check_ int zf_nvlist_unpack(const void *p, size_t n, struct zf_nvlist **ret,
				  struct zf_err *err);
struct zf_nvlist *zf_nvlist_free(struct zf_nvlist *l);         /* NULL-safe; returns NULL */
DEFINE_CLEANUP_FUNC(struct zf_nvlist *, zf_nvlist_free);

/* The pair called name in l (not in nested lists), or NULL; l may be NULL. */
const struct zf_nvpair *zf_nvlist_get(const struct zf_nvlist *l, const char *name);
/* The nested list called name, or NULL when absent or of another type. */
const struct zf_nvlist *zf_nvlist_get_nvlist(const struct zf_nvlist *l, const char *name);
