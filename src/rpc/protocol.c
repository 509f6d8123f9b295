/*
 * src/rpc/protocol.c — what rpc/protocol.def declares: the request table, tag names, codecs
 *
 * The codecs are one table-driven encoder and decoder: each body's fields
 * become a row array of tag, kind, check and the member's offset, and the
 * generated zf_req_BODY_* functions hand it to them.  So a field's rules
 * (required or not, repeated or not, which names it takes) live in the
 * table, not in a dozen hand-written call sequences on two sides.
 *
 * The request table.  ZF_RPC_SOURCE_OK decides the access check (guarantee
 * 5): a read-only grant may run exactly those rows, the ones without
 * ZF_RPC_CHANGES_STATE plus the changes a replication source makes to
 * itself (SNAPSHOT, HOLD, RELEASE, BOOKMARK, DESTROY_BOOKMARK, and
 * DESTROY_VERSIONS of its own sync snapshots).  Under a read grant what
 * those create or remove must carry the identity's namespace (owned_tag),
 * so one client never releases, removes or pre-empts another's or the
 * admin's holds, bookmarks and snapshots.
 * SEND only reads, but it can reveal data, so it is still subject to the
 * per-filesystem check through fs_tag.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "rpc/msg.h"
#include "rpc/protocol.h"
#include "util/err.h"
#include "util/macro.h"
#include "util/strv.h"
#include "zfs/zfs.h"
#include "util/banned.h"

static const struct zf_rpc_req_info requests[] = {
#define ZF_REQUEST(name, kind, flags, fs_tag, owned_tag, owned_prefix, handler) \
	{ ZF_RPC_##name, #name, flags, fs_tag, owned_tag, owned_prefix },
#include "rpc/protocol.def"
};

const struct zf_rpc_req_info *zf_rpc_req_lookup(uint16_t kind)
{
	for (size_t i = 0; i < ELEMENTSOF(requests); i++)
		if (requests[i].kind == kind)
			return &requests[i];
	return NULL;
}

const char *zf_msg_tag_name(uint16_t tag)
{
	switch (tag) {
#define ZF_TAG(name, number, type) case ZF_TAG_##name: return #name;
#include "rpc/protocol.def"
	default: return "?";
	}
}

/* ---- name checks ------------------------------------------------------------------ */

static int check_word(const char *s, const char *what, struct zf_err *err)
{
	if (!*s)
		return zf_err_set(err, -ZF_E_BADNAME, "invalid %s: empty", what);
	if (s[0] == '-')
		return zf_err_set(err, -ZF_E_BADNAME, "invalid %s '%s': must not start with '-'",
				  what, s);
	if (strpbrk(s, "\n\r"))
		return zf_err_set(err, -ZF_E_BADNAME, "invalid %s: contains a line break", what);
	return 0;
}

int zf_msg_check_value(const char *s, enum zf_msg_check check, const char *what,
		       struct zf_err *err)
{
	const char *eq;

	switch (check) {
	case ZF_CHECK_NONE:
		return 0;
	case ZF_CHECK_SHORT:
		return zf_zfs_shortname_check(s, err);
	case ZF_CHECK_WORD:
		return check_word(s, what, err);
	case ZF_CHECK_ASSIGN:
		eq = strchr(s, '=');
		if (!eq || eq == s)
			return zf_err_set(err, -ZF_E_BADNAME, "invalid %s '%s': want name=value",
					  what, s);
		return check_word(s, what, err);
	default:
		return zf_zfs_name_check(s, (unsigned)check, err);
	}
}

/* ---- codecs ----------------------------------------------------------------------- */

enum kind {
	KIND_STR,
	KIND_STR_OPT,
	KIND_STRV,
	KIND_STRV_OPT,
	KIND_FLAG,
};

struct field {
	uint16_t tag;
	enum kind kind;
	enum zf_msg_check check;
	size_t off;                     /* of the member in struct zf_req_BODY */
};

/*
 * The table checked as it compiles: each field's kind fits its tag's type,
 * and every string has a check while no flag has one.
 */
#define ZF_TAG(name, number, type) enum { TYPE_OF_##name = ZF_MSG_##type };
#include "rpc/protocol.def"
#define WIRE_STR ZF_MSG_STR
#define WIRE_STR_OPT ZF_MSG_STR
#define WIRE_STRV ZF_MSG_STR
#define WIRE_STRV_OPT ZF_MSG_STR
#define WIRE_FLAG ZF_MSG_BOOL
#define ZF_FIELD(body, kind, tag, member, check)                                          \
	_Static_assert((int)TYPE_OF_##tag == (int)WIRE_##kind, #body "." #member ": a " #kind \
		       " field on a tag of another type");                                 \
	_Static_assert((WIRE_##kind == ZF_MSG_BOOL) == (ZF_CHECK_##check == ZF_CHECK_NONE), \
		       #body "." #member ": strings need a check, flags take NONE");
#include "rpc/protocol.def"

/* Each body's fields, e.g. send_fields[]. */
#define ZF_BODY(body) static const struct field body##_fields[] = {
#define ZF_FIELD(body, kind, tag, member, check) \
	{ ZF_TAG_##tag, KIND_##kind, ZF_CHECK_##check, offsetof(struct zf_req_##body, member) },
#define ZF_BODY_END(body) };
#include "rpc/protocol.def"

static int add_str(struct zf_buf *b, uint16_t tag, const char *s, struct zf_err *err)
{
	if (zf_msg_add_str(b, tag, s) < 0)
		return zf_err_set(err, -E2BIG, "name of %zu bytes exceeds the %u of the protocol",
				  strlen(s), ZF_MSG_MAX_STR);
	return 0;
}

/* The strings first, which alone can fail, then the flags: the order clients always sent. */
static int encode(const struct field *fields, size_t n, const void *q, uint16_t kind,
		  struct zf_buf *b, struct zf_err *err)
{
	zf_msg_start(b, kind);
	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fields[i];
		const void *p = (const char *)q + f->off;
		const struct zf_msg_strs *v = p;
		const char *const *s = p;
		int r = 0;

		switch (f->kind) {
		case KIND_STR:
		case KIND_STR_OPT:
			if (*s)
				r = add_str(b, f->tag, *s, err);
			break;
		case KIND_STRV:
		case KIND_STRV_OPT:
			for (size_t j = 0; r >= 0 && j < v->n; j++)
				r = add_str(b, f->tag, v->v[j], err);
			break;
		case KIND_FLAG:
			break;
		}
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++)
		if (fields[i].kind == KIND_FLAG && *(const bool *)((const char *)q + fields[i].off))
			zf_msg_add_bool(b, fields[i].tag, true);
	return 0;
}

/* One string: -ENOENT (no message) when absent, else 0 and *ret checked. */
static int get_str(const struct zf_msg *m, const struct field *f, const char **ret,
		   struct zf_err *err)
{
	char *s = NULL;
	int r = zf_msg_get_str(m, f->tag, &s, err);

	if (r >= 0)
		r = zf_msg_check_value(s, f->check, zf_msg_tag_name(f->tag), err);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* Every string of the tag, each checked; -ENOENT when there is none. */
static int get_strs(const struct zf_msg *m, const struct field *f, struct zf_msg_strs *ret,
		    struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv v = ZF_STRV_INIT;
	int r = zf_msg_get_strv(m, f->tag, &v, err);

	for (size_t i = 0; r >= 0 && i < v.n; i++)
		r = zf_msg_check_value(v.v[i], f->check, zf_msg_tag_name(f->tag), err);
	if (r < 0)
		return r;
	if (v.n == 0)
		return -ENOENT;
	ret->n = v.n;
	ret->v = (const char *const *)TAKE_PTR(v.v);
	v = (struct zf_strv)ZF_STRV_INIT;      /* handed on */
	return 0;
}

static int decode_field(const struct zf_msg *m, const struct field *f, void *p,
			struct zf_err *err)
{
	int r;

	switch (f->kind) {
	case KIND_STR:
	case KIND_STR_OPT:
		r = get_str(m, f, p, err);
		break;
	case KIND_STRV:
	case KIND_STRV_OPT:
		r = get_strs(m, f, p, err);
		break;
	case KIND_FLAG:
		return zf_msg_get_flag(m, f->tag, p, err);
	default:
		abort();
	}
	if (r == -ENOENT && (f->kind == KIND_STR_OPT || f->kind == KIND_STRV_OPT))
		return 0;
	return r;
}

static int decode(const struct field *fields, size_t n, const struct zf_msg *m, void *q,
		  struct zf_err *err)
{
	const struct zf_rpc_req_info *info = zf_rpc_req_lookup(m->kind);
	const char *kind = info ? info->name : "?";

	for (size_t i = 0; i < n; i++) {
		const char *name = zf_msg_tag_name(fields[i].tag);
		struct zf_err ferr = ZF_ERR_INIT;
		int r = decode_field(m, &fields[i], (char *)q + fields[i].off, &ferr);

		if (r == -ENOENT)
			return zf_err_set(err, -EINVAL, "%s: missing field %s", kind, name);
		if (r < 0)
			return zf_err_set(err, r, "%s: field %s: %s", kind, name,
					  zf_err_msg(&ferr));
	}
	return 0;
}

static void release(const struct field *fields, size_t n, void *q)
{
	for (size_t i = 0; q && i < n; i++) {
		void *p = (char *)q + fields[i].off;
		const char **s = p;
		struct zf_msg_strs *v = p;

		switch (fields[i].kind) {
		case KIND_STR:
		case KIND_STR_OPT:
			free((char *)*s);
			*s = NULL;
			break;
		case KIND_STRV:
		case KIND_STRV_OPT:
			for (size_t j = 0; j < v->n; j++)
				free((char *)v->v[j]);
			free((char **)v->v);
			*v = (struct zf_msg_strs){ NULL, 0 };
			break;
		case KIND_FLAG:
			break;
		}
	}
}

#define ZF_BODY_END(body)                                                                    \
	int zf_req_##body##_encode(const struct zf_req_##body *q, uint16_t kind,             \
				   struct zf_buf *b, struct zf_err *err)                      \
	{                                                                                    \
		return encode(body##_fields, ELEMENTSOF(body##_fields), q, kind, b, err);    \
	}                                                                                    \
	int zf_req_##body##_decode(const struct zf_msg *m, struct zf_req_##body *ret,        \
				   struct zf_err *err)                                        \
	{                                                                                    \
		struct zf_req_##body q = { 0 };                                              \
		int r = decode(body##_fields, ELEMENTSOF(body##_fields), m, &q, err);        \
		if (r < 0) {                                                                 \
			release(body##_fields, ELEMENTSOF(body##_fields), &q);               \
			return r;                                                            \
		}                                                                            \
		*ret = q;                                                                    \
		return 0;                                                                    \
	}                                                                                    \
	void zf_req_##body##_release(struct zf_req_##body *q)                                \
	{                                                                                    \
		release(body##_fields, ELEMENTSOF(body##_fields), q);                        \
	}
#include "rpc/protocol.def"
