/* src/rpc/protocol.h — the request bodies of rpc/protocol.def as structs, and their codecs */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rpc/msg.h"
#include "util/macro.h"
#include "zfs/zfs.h"

struct zf_buf;
struct zf_err;

/* What a string field must be (protocol.def's check column). */
enum zf_msg_check {
	ZF_CHECK_NONE = 0,                                      /* flags */
	ZF_CHECK_FS = ZF_ZFS_NAME_DATASET,
	ZF_CHECK_SNAPSHOT = ZF_ZFS_NAME_SNAPSHOT,
	ZF_CHECK_BOOKMARK = ZF_ZFS_NAME_BOOKMARK,
	ZF_CHECK_VERSION = ZF_ZFS_NAME_SNAPSHOT | ZF_ZFS_NAME_BOOKMARK,
	ZF_CHECK_ANY = ZF_ZFS_NAME_ANY,
	ZF_CHECK_SHORT = 1 << 8,        /* snapshot name after '@' */
	ZF_CHECK_WORD,                  /* hold tag, property name, resume token */
	ZF_CHECK_ASSIGN,                /* name=value */
};

/*
 * Checks s as a field named what (its tag's name) must be: 0, or
 * -ZF_E_BADNAME and why.  A word becomes one argv element: not empty, no
 * option, one line.
 */
_must_check_ int zf_msg_check_value(const char *s, enum zf_msg_check check, const char *what,
				    struct zf_err *err);

/* A repeated string field: n strings; decoded, v is NULL-terminated (NULL when n is 0). */
struct zf_msg_strs {
	const char *const *v;
	size_t n;
};

/* The strings of a NULL-terminated list (or of NULL: none), for an encoder. */
static inline struct zf_msg_strs zf_msg_strs_argv(const char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return (struct zf_msg_strs){ v, n };
}

/*
 * struct zf_req_BODY for each ZF_BODY of protocol.def, a member per field:
 * STR and STR_OPT a string (NULL: absent), STRV and STRV_OPT a struct
 * zf_msg_strs, FLAG a bool.  A client fills one with borrowed strings; a
 * decoded one owns its strings.
 */
#define ZF_MSG_MEMBER_STR const char *
#define ZF_MSG_MEMBER_STR_OPT const char *
#define ZF_MSG_MEMBER_STRV struct zf_msg_strs
#define ZF_MSG_MEMBER_STRV_OPT struct zf_msg_strs
#define ZF_MSG_MEMBER_FLAG bool
#define ZF_BODY(body) struct zf_req_##body {
#define ZF_FIELD(body, kind, tag, member, check) ZF_MSG_MEMBER_##kind member;
#define ZF_BODY_END(body) };
#include "rpc/protocol.def"

/*
 * And its codecs:
 *
 * zf_req_BODY_encode(q, kind, b, err) starts b as a body of kind and
 * writes q's fields: the strings in the table's order (a NULL one is left
 * out), then the flags that are true.  -E2BIG and why for a string over
 * ZF_MSG_MAX_STR.
 *
 * zf_req_BODY_decode(m, ret, err) reads and checks m's fields in the
 * table's order, as the server does before anything runs: "KIND: missing
 * field TAG" (-EINVAL) for an absent required field, else "KIND: field
 * TAG: why" with the getter's code (-EBADMSG: wrong type, a single field
 * repeated) or the check's (-ZF_E_BADNAME).  *ret is written only on
 * success, and then owns copies of the strings.
 *
 * zf_req_BODY_release(q) frees a decoded one's strings (NULL-safe, and
 * usable as _cleanup_(zf_req_BODY_release)); never call it on a struct
 * filled with borrowed strings.
 */
#define ZF_BODY_END(body)                                                                     \
	_must_check_ int zf_req_##body##_encode(const struct zf_req_##body *q, uint16_t kind, \
						struct zf_buf *b, struct zf_err *err);        \
	_must_check_ int zf_req_##body##_decode(const struct zf_msg *m,                       \
						struct zf_req_##body *ret, struct zf_err *err); \
	void zf_req_##body##_release(struct zf_req_##body *q);
#include "rpc/protocol.def"
