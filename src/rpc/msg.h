/* src/rpc/msg.h — bodies of REQUEST and RESPONSE frames, and the request table (protocol.def) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/buf.h"
#include "util/macro.h"

struct zf_err;
struct zf_strv;

/*
 * A body is self-describing, so a reader can skip what it does not know:
 *
 *   u16 kind                       request kind (a RESPONSE repeats its request's)
 *   then fields, each:
 *     u16 tag, u8 type, value
 *       U64   (1): u64 big-endian
 *       BOOL  (2): u8, 0 or 1
 *       STR   (3): u16 length, bytes (no NUL), at most ZF_MSG_MAX_STR
 *       BYTES (4): u32 length, bytes, at most ZF_FRAME_MAX_PAYLOAD
 *
 * A tag may repeat (lists: one field per element); the single-value getters
 * refuse a repeated tag so that an access check and a handler can never
 * read different values of one field.  Unknown tags are ignored.
 */
#define ZF_MSG_MAX_STR 8192
#define ZF_MSG_MAX_FIELDS 65536

enum zf_msg_type {
	ZF_MSG_U64 = 1,
	ZF_MSG_BOOL = 2,
	ZF_MSG_STR = 3,
	ZF_MSG_BYTES = 4,
};

/* Field tags: one namespace for every request and response (rpc/protocol.def). */
enum zf_msg_tag {
#define ZF_TAG(name, number, type) ZF_TAG_##name = number,
#include "rpc/protocol.def"
};

/* Writing: zf_msg_start() then fields; the buffer then holds the body. */
void zf_msg_start(struct zf_buf *b, uint16_t kind);
void zf_msg_add_u64(struct zf_buf *b, uint16_t tag, uint64_t v);
void zf_msg_add_bool(struct zf_buf *b, uint16_t tag, bool v);
/* -E2BIG for a string over ZF_MSG_MAX_STR bytes (nothing is appended then). */
_must_check_ int zf_msg_add_str(struct zf_buf *b, uint16_t tag, const char *s);
_must_check_ int zf_msg_add_bytes(struct zf_buf *b, uint16_t tag, const void *p, size_t n);

struct zf_msg_field {
	uint16_t tag;
	uint8_t type;
	uint64_t u64;                   /* U64 and BOOL */
	const uint8_t *p;               /* STR and BYTES: points into the parsed input */
	uint32_t len;
};

struct zf_msg {
	uint16_t kind;
	struct zf_msg_field *fields;
	size_t n;
};
#define ZF_MSG_INIT { 0, NULL, 0 }
void zf_msg_release(struct zf_msg *m);
static inline void zf_msg_releasep(struct zf_msg *m)
{
	zf_msg_release(m);
}

/*
 * Parses a body; *ret borrows p, which must outlive it.  -EBADMSG with the
 * reason and offset in err for anything malformed: truncated fields, unknown
 * types, bad BOOL values, strings with NUL or over the limit, too many fields.
 */
_must_check_ int zf_msg_parse(const uint8_t *p, size_t n, struct zf_msg *ret, struct zf_err *err);

/*
 * Single values: 0 and *ret, -ENOENT when absent, -EBADMSG (and why) when
 * the field has another type or appears more than once.  Strings are copied
 * (the caller frees).
 */
_must_check_ int zf_msg_get_u64(const struct zf_msg *m, uint16_t tag, uint64_t *ret,
				struct zf_err *err);
_must_check_ int zf_msg_get_bool(const struct zf_msg *m, uint16_t tag, bool *ret,
				 struct zf_err *err);
_must_check_ int zf_msg_get_str(const struct zf_msg *m, uint16_t tag, char **ret,
				struct zf_err *err);
/* Like zf_msg_get_bool() but absent is false. */
_must_check_ int zf_msg_get_flag(const struct zf_msg *m, uint16_t tag, bool *ret,
				 struct zf_err *err);
/* Appends every STR with tag, in order, to ret (nothing when none). */
_must_check_ int zf_msg_get_strv(const struct zf_msg *m, uint16_t tag, struct zf_strv *ret,
				 struct zf_err *err);

/*
 * List results (LIST_FS, LIST_VERSIONS, HOLDS) are streams of entries, each
 * a u32 length and a body of that length (kind 0), so a list is bounded by
 * nothing but the stream and is checksummed like one.  An entry is at most
 * ZF_MSG_MAX_ENTRY bytes.
 */
#define ZF_MSG_MAX_ENTRY (1u << 20)
/* Appends entry (a body from zf_msg_start(b, 0)) to out; -E2BIG when too long. */
_must_check_ int zf_msg_entry_append(struct zf_buf *out, const struct zf_buf *entry);

typedef int (*zf_msg_entry_fn)(void *userdata, const struct zf_msg *entry, struct zf_err *err);
/* Reassembles entries from stream bytes cut anywhere (a stream sink). */
struct zf_msg_entry_reader {
	struct zf_buf pending;          /* bytes of an entry not yet complete */
	zf_msg_entry_fn fn;
	void *userdata;
	uint64_t count;                 /* entries delivered */
};
void zf_msg_entry_reader_init(struct zf_msg_entry_reader *r, zf_msg_entry_fn fn, void *userdata);
void zf_msg_entry_reader_release(struct zf_msg_entry_reader *r);
/* Feeds bytes, calling fn for each complete entry; -EBADMSG for a malformed one. */
_must_check_ int zf_msg_entry_reader_feed(struct zf_msg_entry_reader *r, const void *p, size_t n,
					  struct zf_err *err);
/* At the stream's END: -EBADMSG when a partial entry is left over. */
_must_check_ int zf_msg_entry_reader_finish(struct zf_msg_entry_reader *r, struct zf_err *err);

/* The requests (rpc/protocol.def).  Numbers are part of the protocol and never change. */
enum zf_rpc_kind {
#define ZF_REQUEST(name, kind, flags, fs_tag, owned_tag, owned_prefix, handler) \
	ZF_RPC_##name = kind,
#include "rpc/protocol.def"
	_ZF_RPC_KIND_MAX,
};

enum {
	ZF_RPC_CHANGES_STATE = 1 << 0,  /* writes to the server's pools: access checks */
	ZF_RPC_STREAM_IN = 1 << 1,      /* the client sends DATA... END after REQUEST */
	ZF_RPC_STREAM_OUT = 1 << 2,     /* the server sends DATA... END after RESPONSE */
	/*
	 * A read (source-only) grant may run it: the read-only requests plus
	 * what a replication source does to itself (sync snapshots, step
	 * holds, cursor bookmarks).  Everything else needs a write grant.
	 */
	ZF_RPC_SOURCE_OK = 1 << 3,
	/*
	 * Removes, renames or changes what exists, whatever its fields say:
	 * refused under an append-only grant (server/grants.c; RECV is
	 * refused there only when it asks for -F).
	 */
	ZF_RPC_APPEND_REFUSED = 1 << 4,
};

/* One row per request (STYLE.md §7); what an access check needs is here, in one place. */
struct zf_rpc_req_info {
	uint16_t kind;
	const char *name;               /* "LIST_FS" */
	unsigned flags;                 /* ZF_RPC_* above */
	uint16_t fs_tag;                /* the field naming what the request touches, or 0 */
	/*
	 * Under a read grant, what the request creates or removes must be the
	 * client's own: every value of owned_tag (a hold tag, or the short name
	 * after '@' or '#') starts with owned_prefix, the identity's namespace
	 * and '_' (docs/serve.md, "What a grant allows").  0: nothing owned.
	 */
	uint16_t owned_tag;
	const char *owned_prefix;       /* "zferry_replicate_", "zferry_cursor_", "zferry_" */
};
/* The row for kind, or NULL for a kind this version does not know. */
const struct zf_rpc_req_info *zf_rpc_req_lookup(uint16_t kind);
/* A tag's name in protocol.def ("HOLD_TAG"), or "?" for a tag this version does not know. */
const char *zf_msg_tag_name(uint16_t tag);
static inline bool zf_rpc_changes_state(uint16_t kind)
{
	const struct zf_rpc_req_info *i = zf_rpc_req_lookup(kind);
	return !i || (i->flags & ZF_RPC_CHANGES_STATE);  /* unknown: assume the worst */
}
