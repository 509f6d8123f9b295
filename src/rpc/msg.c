/*
 * src/rpc/msg.c — request and response bodies
 *
 * Parsing is in two steps: zf_msg_parse() walks the whole body once and
 * checks every field's framing (so a malformed body is refused before any
 * handler sees it), then the getters look fields up by tag.  Bodies are at
 * most one frame (1 MiB) and fields at least 4 bytes, so the linear lookup
 * stays cheap and the field array is bounded before it is allocated.
 */
#include <errno.h>
#include <string.h>
#include "rpc/frame.h"
#include "rpc/msg.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/strv.h"
#include "util/banned.h"

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static void add_head(struct zf_buf *b, uint16_t tag, uint8_t type)
{
	uint8_t h[3];
	put_be(h, tag, 2);
	h[2] = type;
	zf_buf_add(b, h, sizeof(h));
}

void zf_msg_start(struct zf_buf *b, uint16_t kind)
{
	uint8_t k[2];
	put_be(k, kind, 2);
	zf_buf_reset(b);
	zf_buf_add(b, k, sizeof(k));
}

void zf_msg_add_u64(struct zf_buf *b, uint16_t tag, uint64_t v)
{
	uint8_t p[8];
	add_head(b, tag, ZF_MSG_U64);
	put_be(p, v, 8);
	zf_buf_add(b, p, 8);
}

void zf_msg_add_bool(struct zf_buf *b, uint16_t tag, bool v)
{
	add_head(b, tag, ZF_MSG_BOOL);
	zf_buf_addc(b, v ? 1 : 0);
}

int zf_msg_add_str(struct zf_buf *b, uint16_t tag, const char *s)
{
	size_t n = strlen(s);
	uint8_t l[2];

	if (n > ZF_MSG_MAX_STR)
		return -E2BIG;
	add_head(b, tag, ZF_MSG_STR);
	put_be(l, n, 2);
	zf_buf_add(b, l, 2);
	zf_buf_add(b, s, n);
	return 0;
}

int zf_msg_add_bytes(struct zf_buf *b, uint16_t tag, const void *p, size_t n)
{
	uint8_t l[4];

	if (n > ZF_FRAME_MAX_PAYLOAD)
		return -E2BIG;
	add_head(b, tag, ZF_MSG_BYTES);
	put_be(l, n, 4);
	zf_buf_add(b, l, 4);
	zf_buf_add(b, p, n);
	return 0;
}

void zf_msg_release(struct zf_msg *m)
{
	free(m->fields);
	m->fields = NULL;
	m->n = 0;
	m->kind = 0;
}

/* Reads one field at p[*off..n); 0 and *f, or -EBADMSG. */
static int parse_field(const uint8_t *p, size_t n, size_t *off, struct zf_msg_field *f,
		       struct zf_err *err)
{
	size_t o = *off, need;

	if (n - o < 3)
		return zf_err_set(err, -EBADMSG, "field header truncated at offset %zu", o);
	f->tag = (uint16_t)get_be(p + o, 2);
	f->type = p[o + 2];
	o += 3;
	switch (f->type) {
	case ZF_MSG_U64:
		if (n - o < 8)
			return zf_err_set(err, -EBADMSG, "field %u: u64 truncated at offset %zu",
					  f->tag, o);
		f->u64 = get_be(p + o, 8);
		o += 8;
		break;
	case ZF_MSG_BOOL:
		if (n - o < 1)
			return zf_err_set(err, -EBADMSG, "field %u: bool truncated at offset %zu",
					  f->tag, o);
		if (p[o] > 1)
			return zf_err_set(err, -EBADMSG, "field %u: bool value %u at offset %zu",
					  f->tag, p[o], o);
		f->u64 = p[o];
		o += 1;
		break;
	case ZF_MSG_STR:
	case ZF_MSG_BYTES:
		need = f->type == ZF_MSG_STR ? 2 : 4;
		if (n - o < need)
			return zf_err_set(err, -EBADMSG, "field %u: length truncated at offset %zu",
					  f->tag, o);
		f->len = (uint32_t)get_be(p + o, need);
		o += need;
		if (f->type == ZF_MSG_STR && f->len > ZF_MSG_MAX_STR)
			return zf_err_set(err, -EBADMSG, "field %u: string of %u bytes exceeds %u",
					  f->tag, f->len, ZF_MSG_MAX_STR);
		if (f->len > ZF_FRAME_MAX_PAYLOAD || n - o < f->len)
			return zf_err_set(err, -EBADMSG,
					  "field %u: %u bytes at offset %zu overrun the body",
					  f->tag, f->len, o);
		f->p = p + o;
		if (f->type == ZF_MSG_STR && memchr(f->p, 0, f->len))
			return zf_err_set(err, -EBADMSG, "field %u: string contains NUL", f->tag);
		o += f->len;
		break;
	default:
		return zf_err_set(err, -EBADMSG, "field %u: unknown type %u at offset %zu", f->tag,
				  f->type, o - 1);
	}
	*off = o;
	return 0;
}

int zf_msg_parse(const uint8_t *p, size_t n, struct zf_msg *ret, struct zf_err *err)
{
	_cleanup_free_ struct zf_msg_field *fields = NULL;
	size_t nf = 0, alloc = 0, off = 2;

	if (n < 2)
		return zf_err_set(err, -EBADMSG, "message body of %zu bytes", n);
	while (off < n) {
		struct zf_msg_field f = {};
		int r = parse_field(p, n, &off, &f, err);
		if (r < 0)
			return r;
		if (nf >= ZF_MSG_MAX_FIELDS)
			return zf_err_set(err, -EBADMSG, "more than %u fields", ZF_MSG_MAX_FIELDS);
		ZF_ALLOC_GROW(fields, nf + 1, alloc);
		fields[nf++] = f;
	}
	zf_msg_release(ret);
	ret->kind = (uint16_t)get_be(p, 2);
	ret->fields = TAKE_PTR(fields);
	ret->n = nf;
	return 0;
}

static const char *type_name(uint8_t t)
{
	switch (t) {
	case ZF_MSG_U64: return "u64";
	case ZF_MSG_BOOL: return "bool";
	case ZF_MSG_STR: return "string";
	case ZF_MSG_BYTES: return "bytes";
	default: return "?";
	}
}

static int find_one(const struct zf_msg *m, uint16_t tag, uint8_t type,
		    const struct zf_msg_field **ret, struct zf_err *err)
{
	const struct zf_msg_field *found = NULL;

	for (size_t i = 0; i < m->n; i++) {
		if (m->fields[i].tag != tag)
			continue;
		if (found)
			return zf_err_set(err, -EBADMSG, "field %u appears more than once", tag);
		found = &m->fields[i];
	}
	if (!found)
		return -ENOENT;
	if (found->type != type)
		return zf_err_set(err, -EBADMSG, "field %u is %s, want %s", tag,
				  type_name(found->type), type_name(type));
	*ret = found;
	return 0;
}

int zf_msg_get_u64(const struct zf_msg *m, uint16_t tag, uint64_t *ret, struct zf_err *err)
{
	const struct zf_msg_field *f;
	int r = find_one(m, tag, ZF_MSG_U64, &f, err);

	if (r < 0)
		return r;
	*ret = f->u64;
	return 0;
}

int zf_msg_get_bool(const struct zf_msg *m, uint16_t tag, bool *ret, struct zf_err *err)
{
	const struct zf_msg_field *f;
	int r = find_one(m, tag, ZF_MSG_BOOL, &f, err);

	if (r < 0)
		return r;
	*ret = f->u64 != 0;
	return 0;
}

int zf_msg_get_flag(const struct zf_msg *m, uint16_t tag, bool *ret, struct zf_err *err)
{
	int r = zf_msg_get_bool(m, tag, ret, err);

	if (r == -ENOENT) {
		*ret = false;
		return 0;
	}
	return r;
}

int zf_msg_get_str(const struct zf_msg *m, uint16_t tag, char **ret, struct zf_err *err)
{
	const struct zf_msg_field *f;
	int r = find_one(m, tag, ZF_MSG_STR, &f, err);

	if (r < 0)
		return r;
	*ret = zf_xstrndup((const char *)f->p, f->len);
	return 0;
}

int zf_msg_get_strv(const struct zf_msg *m, uint16_t tag, struct zf_strv *ret, struct zf_err *err)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct zf_msg_field *f = &m->fields[i];
		_cleanup_free_ char *s = NULL;

		if (f->tag != tag)
			continue;
		if (f->type != ZF_MSG_STR)
			return zf_err_set(err, -EBADMSG, "field %u is %s, want string", tag,
					  type_name(f->type));
		s = zf_xstrndup((const char *)f->p, f->len);
		zf_strv_add(ret, s);
	}
	return 0;
}

int zf_msg_entry_append(struct zf_buf *out, const struct zf_buf *entry)
{
	uint8_t l[4];

	if (entry->len > ZF_MSG_MAX_ENTRY)
		return -E2BIG;
	put_be(l, entry->len, 4);
	zf_buf_add(out, l, 4);
	zf_buf_add(out, entry->data, entry->len);
	return 0;
}

void zf_msg_entry_reader_init(struct zf_msg_entry_reader *r, zf_msg_entry_fn fn, void *userdata)
{
	zf_buf_init(&r->pending);
	r->fn = fn;
	r->userdata = userdata;
	r->count = 0;
}

void zf_msg_entry_reader_release(struct zf_msg_entry_reader *r)
{
	zf_buf_release(&r->pending);
}

int zf_msg_entry_reader_feed(struct zf_msg_entry_reader *r, const void *p, size_t n,
			     struct zf_err *err)
{
	const uint8_t *d;
	size_t off = 0, avail;

	zf_buf_add(&r->pending, p, n);
	d = (const uint8_t *)r->pending.data;
	avail = r->pending.len;
	while (avail - off >= 4) {
		_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
		uint32_t len = (uint32_t)get_be(d + off, 4);
		int q;

		if (len > ZF_MSG_MAX_ENTRY)
			return zf_err_set(err, -EBADMSG, "list entry %llu of %u bytes exceeds %u",
					  (unsigned long long)r->count + 1, len, ZF_MSG_MAX_ENTRY);
		if (avail - off - 4 < len)
			break;
		q = zf_msg_parse(d + off + 4, len, &m, err);
		if (q < 0)
			return zf_err_prefix(err, "list entry %llu", (unsigned long long)r->count + 1);
		q = r->fn(r->userdata, &m, err);
		if (q < 0)
			return q;
		r->count++;
		off += 4 + (size_t)len;
	}
	/* keep only the incomplete tail */
	if (off > 0) {
		memmove(r->pending.data, r->pending.data + off, avail - off);
		r->pending.len = avail - off;
		r->pending.data[r->pending.len] = '\0';
	}
	return 0;
}

int zf_msg_entry_reader_finish(struct zf_msg_entry_reader *r, struct zf_err *err)
{
	if (r->pending.len > 0)
		return zf_err_set(err, -EBADMSG, "list ends inside entry %llu (%zu bytes left over)",
				  (unsigned long long)r->count + 1, r->pending.len);
	return 0;
}
