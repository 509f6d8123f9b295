/* src/rpc/frame.h — the frame layer of the zferry rpc protocol (docs/protocol.md) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

struct zf_buf;
struct zf_err;

/*
 * Every byte between two zferry processes travels in a frame:
 *
 *   0  'Z' 'F'        magic
 *   2  version        ZF_FRAME_VERSION
 *   3  type           enum zf_frame_type
 *   4  flags          u16, big-endian; no flag is defined in version 1, so any set bit
 *                     is malformed
 *   6  reserved       u16, zero
 *   8  length         u32, big-endian, payload bytes, at most ZF_FRAME_MAX_PAYLOAD
 *  12  request id     u32, big-endian; 0 only for HELLO, PING and PONG
 *  16  payload
 *
 * The decoder works on a byte buffer, never a file descriptor, so the fuzzer
 * and the transports share it.
 */
#define ZF_FRAME_MAGIC0 'Z'
#define ZF_FRAME_MAGIC1 'F'
#define ZF_FRAME_VERSION 1
#define ZF_FRAME_HEADER_SIZE 16
#define ZF_FRAME_MAX_PAYLOAD (1u << 20)
#define ZF_FRAME_MAX_IDENTITY 255       /* bytes of the peer identity in HELLO */
#define ZF_FRAME_MAX_ERROR_MSG 1024     /* bytes of an ERROR frame's message */
#define ZF_FRAME_MAX_PING 64            /* bytes of a PING/PONG payload */
#define ZF_FRAME_HELLO_FIXED 16         /* HELLO bytes before the identity */
#define ZF_FRAME_SUM_SIZE 32             /* END's checksum field */
#define ZF_FRAME_END_SIZE (8 + ZF_FRAME_SUM_SIZE)

/*
 * HELLO feature bits.  A feature is on for a connection when both sides
 * set its bit; receivers ignore bits they do not know.
 */
#define ZF_FEATURE_END_XXH3 (1ull << 0)  /* END carries XXH3-128, not SHA-256 */
#define ZF_FEATURES_KNOWN ZF_FEATURE_END_XXH3

enum zf_frame_type {
	ZF_FRAME_HELLO = 1,
	ZF_FRAME_REQUEST = 2,
	ZF_FRAME_RESPONSE = 3,
	ZF_FRAME_ERROR = 4,
	ZF_FRAME_DATA = 5,
	ZF_FRAME_END = 6,
	ZF_FRAME_PING = 7,
	ZF_FRAME_PONG = 8,
	_ZF_FRAME_TYPE_MAX,
};

/* One decoded frame; payload points into the decoder's input. */
struct zf_frame {
	enum zf_frame_type type;
	uint16_t flags;
	uint32_t id;
	const uint8_t *payload;
	uint32_t len;
};

/* "HELLO", "DATA", ... or "?" */
const char *zf_frame_type_name(int type);

/*
 * Decodes the frame at the start of p[0..n): 1 with *ret and *ret_used (the
 * frame's total size) filled, 0 when more bytes are needed (*ret_used then
 * says how many in total, or the header size when the header is incomplete),
 * -EBADMSG when the bytes can never become a valid frame (reason in err).
 * Checks the header and the fixed layout of HELLO, ERROR, END and PING/PONG
 * payloads; REQUEST/RESPONSE bodies are msg.h's business.
 */
_must_check_ int zf_frame_decode(const uint8_t *p, size_t n, struct zf_frame *ret,
				 size_t *ret_used, struct zf_err *err);
/* Checks just a 16-byte header; on success *ret_len is the payload length. */
_must_check_ int zf_frame_header_check(const uint8_t *h, struct zf_frame *ret, struct zf_err *err);

/*
 * Writes a frame header for a payload of len bytes into h[0..16), for a
 * caller that put the payload right behind it; -EMSGSIZE over the limit.
 */
_must_check_ int zf_frame_put_header(uint8_t *h, enum zf_frame_type type, uint32_t id, size_t len);
/* Appends one frame to b; -EMSGSIZE when len exceeds the limit. */
_must_check_ int zf_frame_append(struct zf_buf *b, enum zf_frame_type type, uint32_t id,
				 const void *payload, size_t len);

/* HELLO: both sides send one first, and nothing else until they did. */
struct zf_frame_hello {
	uint16_t version_min;           /* lowest protocol version the sender speaks */
	uint16_t version_max;           /* highest */
	uint64_t features;              /* ZF_FEATURE_* bits */
	uint32_t reserved;
	char identity[ZF_FRAME_MAX_IDENTITY + 1];       /* as the transport established it */
};
_must_check_ int zf_frame_append_hello(struct zf_buf *b, const struct zf_frame_hello *h);
_must_check_ int zf_frame_parse_hello(const struct zf_frame *f, struct zf_frame_hello *ret,
				      struct zf_err *err);

/*
 * The protocol's own error codes: errno numbers differ between systems
 * (EAGAIN is 11 on Linux, 35 on FreeBSD), so frames carry these instead.
 * The numbers are part of the protocol and never change.
 */
enum zf_rpc_errcode {
	ZF_RPC_E_UNKNOWN = 1,           /* anything not below */
	ZF_RPC_E_NOENT = 2,             /* no such filesystem, snapshot, bookmark */
	ZF_RPC_E_EXIST = 3,
	ZF_RPC_E_BUSY = 4,
	ZF_RPC_E_NOSPC = 5,
	ZF_RPC_E_DENIED = 6,            /* the identity may not do this */
	ZF_RPC_E_INVAL = 7,             /* a request field is invalid */
	ZF_RPC_E_PROTO = 8,             /* the peer violated the protocol */
	ZF_RPC_E_IO = 9,
	ZF_RPC_E_TIMEDOUT = 10,
	ZF_RPC_E_NOTSUP = 11,           /* unknown request or feature */
	ZF_RPC_E_CORRUPT = 12,          /* a stream's END did not match */
	ZF_RPC_E_WOULD_DESTROY = 13,
	ZF_RPC_E_BADNAME = 14,
	ZF_RPC_E_CANCELED = 15,         /* the sender of a stream gave up */
	ZF_RPC_E_ZFS = 16,              /* zfs failed, see message */
	ZF_RPC_E_TOOBIG = 17,
	ZF_RPC_E_ROFS = 18,             /* the pool is read-only */
	_ZF_RPC_E_MAX,
};
/* The wire code for a negative errno (or -ZF_E_*), and back. Unknown maps to UNKNOWN / -EIO. */
enum zf_rpc_errcode zf_rpc_errcode_from_errno(int negative_errno);
int zf_rpc_errcode_to_errno(uint16_t code);
const char *zf_rpc_errcode_name(uint16_t code);

/* ERROR: u16 code, u16 message length, message (no NUL, at most ZF_FRAME_MAX_ERROR_MSG). */
_must_check_ int zf_frame_append_error(struct zf_buf *b, uint32_t id, uint16_t code,
				       const char *msg);
/* Fills *ret_code and msg (NUL-terminated, msg_size >= ZF_FRAME_MAX_ERROR_MSG + 1). */
_must_check_ int zf_frame_parse_error(const struct zf_frame *f, uint16_t *ret_code, char *msg,
				      size_t msg_size, struct zf_err *err);

/*
 * Bulk streams: DATA frames, then one END with the byte count and the
 * checksum of all DATA payloads: SHA-256, or XXH3-128 (then padded with 16
 * zero bytes) when both peers' HELLO set ZF_FEATURE_END_XXH3.  The
 * receiver feeds each DATA payload to zf_stream_sum_add() and hands the
 * END frame to zf_stream_sum_check(); a stream that stops before END is
 * an error in the caller, never a short success.
 */
enum zf_stream_sum_kind {
	ZF_STREAM_SUM_SHA256 = 0,       /* protocol version 1 without features */
	ZF_STREAM_SUM_XXH3 = 1,         /* ZF_FEATURE_END_XXH3 */
};
/* "sha256" or "xxh3-128" */
const char *zf_stream_sum_kind_name(enum zf_stream_sum_kind kind);
struct zf_stream_sum;
struct zf_stream_sum *zf_stream_sum_new(enum zf_stream_sum_kind kind);
struct zf_stream_sum *zf_stream_sum_free(struct zf_stream_sum *s);
DEFINE_CLEANUP_FUNC(struct zf_stream_sum *, zf_stream_sum_free);
void zf_stream_sum_add(struct zf_stream_sum *s, const void *p, size_t n);
uint64_t zf_stream_sum_bytes(const struct zf_stream_sum *s);
/* Appends the END frame for everything added so far (finishes the hash). */
_must_check_ int zf_stream_sum_append_end(struct zf_stream_sum *s, struct zf_buf *b, uint32_t id);
/* 0 when END matches what was added, -ZF_E_CORRUPT (and why) when not. */
_must_check_ int zf_stream_sum_check(struct zf_stream_sum *s, const struct zf_frame *end,
				     struct zf_err *err);
