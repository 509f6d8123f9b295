/*
 * src/zfs/nvlist.c — reading XDR-packed nvlists from zfs send streams
 *
 * The layout, from libnvpair's nvs_xdr*() (all integers big-endian, every
 * item padded to 4 bytes):
 *
 *   header   u8 encoding (1 = XDR), u8 endian, u8 reserved, u8 reserved
 *   nvlist   i32 version (0), u32 flags, pair*, then i32 0, i32 0
 *   pair     i32 encoded size (the whole pair, these two words included),
 *            i32 decoded size, string name, i32 type, i32 nelem, value
 *   string   u32 length, bytes, padding
 *   value    BOOLEAN: none; 8/16/32-bit scalars: one 4-byte word; 64-bit
 *            and HRTIME and DOUBLE: 8 bytes; STRING: a string;
 *            BYTE_ARRAY: nelem bytes, padded; other arrays: u32 count
 *            (= nelem), then each element as its scalar; STRING_ARRAY:
 *            nelem strings; NVLIST: an nvlist; NVLIST_ARRAY: nelem nvlists
 *
 * zfs decodes by walking the values, not by the encoded size, so this
 * reader walks them too and then requires the encoded size to agree:
 * a list that two readers could walk differently is refused.
 */
#include <errno.h>
#include <string.h>
#include "util/alloc.h"
#include "util/err.h"
#include "zfs/nvlist.h"
#include "util/banned.h"

struct cursor {
	const uint8_t *p;
	size_t n, off;
	unsigned depth;
	size_t pairs;
};

static int truncated(struct cursor *c, const char *what, struct zf_err *err)
{
	return zf_err_set(err, -EBADMSG, "nvlist: %s truncated at byte %zu of %zu", what, c->off,
			  c->n);
}

static int get_u32(struct cursor *c, const char *what, uint32_t *ret, struct zf_err *err)
{
	const uint8_t *q;

	if (c->n - c->off < 4)
		return truncated(c, what, err);
	q = c->p + c->off;
	*ret = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
	c->off += 4;
	return 0;
}

static int get_u64(struct cursor *c, const char *what, uint64_t *ret, struct zf_err *err)
{
	uint32_t hi, lo;
	int r;

	if ((r = get_u32(c, what, &hi, err)) < 0 || (r = get_u32(c, what, &lo, err)) < 0)
		return r;
	*ret = (uint64_t)hi << 32 | lo;
	return 0;
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static int skip(struct cursor *c, uint64_t n, const char *what, struct zf_err *err)
{
	if (n > c->n - c->off)
		return truncated(c, what, err);
	c->off += (size_t)n;
	return 0;
}

/* An XDR string; ret NULL checks and skips it. */
static int get_string(struct cursor *c, const char *what, char **ret, struct zf_err *err)
{
	uint32_t len;
	size_t at;
	int r;

	if ((r = get_u32(c, what, &len, err)) < 0)
		return r;
	at = c->off;
	if (len > c->n - c->off || pad4(len) > c->n - c->off)
		return truncated(c, what, err);
	if (memchr(c->p + at, '\0', len))
		return zf_err_set(err, -EBADMSG, "nvlist: %s at byte %zu holds a NUL", what, at);
	c->off += pad4(len);
	if (ret)
		*ret = zf_xstrndup((const char *)c->p + at, len);
	return 0;
}

static void pair_release(struct zf_nvpair *pr)
{
	free(pr->name);
	free(pr->str);
	if (pr->nvl) {
		size_t k = pr->type == ZF_NV_NVLIST ? 1 : pr->nelem;
		for (size_t i = 0; i < k; i++) {
			struct zf_nvlist *l = &pr->nvl[i];
			for (size_t j = 0; j < l->n; j++)
				pair_release(&l->v[j]);
			free(l->v);
		}
		free(pr->nvl);
	}
}

static void list_release(struct zf_nvlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		pair_release(&l->v[i]);
	free(l->v);
	*l = (struct zf_nvlist){ 0 };
}

static int read_list(struct cursor *c, struct zf_nvlist *l, struct zf_err *err);

/* Scalars' and arrays' element sizes on the wire; 0 for the types handled apart. */
static unsigned wire_size(enum zf_nv_type t)
{
	switch (t) {
	case ZF_NV_BYTE:
	case ZF_NV_INT8:
	case ZF_NV_UINT8:
	case ZF_NV_INT16:
	case ZF_NV_UINT16:
	case ZF_NV_INT32:
	case ZF_NV_UINT32:
	case ZF_NV_BOOLEAN_VALUE:
	case ZF_NV_INT8_ARRAY:
	case ZF_NV_UINT8_ARRAY:
	case ZF_NV_INT16_ARRAY:
	case ZF_NV_UINT16_ARRAY:
	case ZF_NV_INT32_ARRAY:
	case ZF_NV_UINT32_ARRAY:
	case ZF_NV_BOOLEAN_ARRAY:
		return 4;
	case ZF_NV_INT64:
	case ZF_NV_UINT64:
	case ZF_NV_HRTIME:
	case ZF_NV_DOUBLE:
	case ZF_NV_INT64_ARRAY:
	case ZF_NV_UINT64_ARRAY:
		return 8;
	default:
		return 0;
	}
}

static bool is_array(enum zf_nv_type t)
{
	switch (t) {
	case ZF_NV_BYTE_ARRAY:
	case ZF_NV_INT8_ARRAY:
	case ZF_NV_UINT8_ARRAY:
	case ZF_NV_INT16_ARRAY:
	case ZF_NV_UINT16_ARRAY:
	case ZF_NV_INT32_ARRAY:
	case ZF_NV_UINT32_ARRAY:
	case ZF_NV_INT64_ARRAY:
	case ZF_NV_UINT64_ARRAY:
	case ZF_NV_BOOLEAN_ARRAY:
	case ZF_NV_STRING_ARRAY:
	case ZF_NV_NVLIST_ARRAY:
		return true;
	default:
		return false;
	}
}

static int read_value(struct cursor *c, struct zf_nvpair *pr, struct zf_err *err)
{
	const char *name = pr->name;
	unsigned ws = wire_size(pr->type);
	uint32_t w, count;
	int r;

	if (pr->type == ZF_NV_BOOLEAN) {
		if (pr->nelem != 0)
			return zf_err_set(err, -EBADMSG, "nvlist: flag '%s' has %u values", name,
					  pr->nelem);
		return 0;
	}
	if (!is_array(pr->type) && pr->nelem != 1)
		return zf_err_set(err, -EBADMSG, "nvlist: '%s' has %u values, want 1", name,
				  pr->nelem);
	switch (pr->type) {
	case ZF_NV_STRING:
		return get_string(c, name, &pr->str, err);
	case ZF_NV_NVLIST:
	case ZF_NV_NVLIST_ARRAY:
		if (pr->nelem > (c->n - c->off) / 16)     /* an empty list is 16 bytes */
			return truncated(c, name, err);
		pr->nvl = zf_xcalloc(pr->nelem ? pr->nelem : 1, sizeof(*pr->nvl));
		for (uint32_t i = 0; i < pr->nelem; i++)
			if ((r = read_list(c, &pr->nvl[i], err)) < 0)
				return zf_err_prefix(err, "in '%s'", name);
		return 0;
	case ZF_NV_BYTE_ARRAY:
		return skip(c, pad4(pr->nelem), name, err);
	case ZF_NV_STRING_ARRAY:
		for (uint32_t i = 0; i < pr->nelem; i++)
			if ((r = get_string(c, name, NULL, err)) < 0)
				return r;
		return 0;
	default:
		break;
	}
	if (ws == 0)
		return zf_err_set(err, -EBADMSG, "nvlist: '%s' has unknown type %u", name,
				  (unsigned)pr->type);
	if (is_array(pr->type)) {
		if ((r = get_u32(c, name, &count, err)) < 0)
			return r;
		if (count != pr->nelem)
			return zf_err_set(err, -EBADMSG, "nvlist: array '%s' counts %u, its pair %u",
					  name, count, pr->nelem);
		return skip(c, (uint64_t)ws * count, name, err);
	}
	if (ws == 8)
		return get_u64(c, name, &pr->u64, err);
	if ((r = get_u32(c, name, &w, err)) < 0)
		return r;
	switch (pr->type) {
	case ZF_NV_INT8:
	case ZF_NV_INT16:
	case ZF_NV_INT32:
		pr->u64 = (uint64_t)(int64_t)(int32_t)w;
		break;
	case ZF_NV_BOOLEAN_VALUE:
		if (w > 1)
			return zf_err_set(err, -EBADMSG, "nvlist: boolean '%s' is %u", name, w);
		pr->u64 = w;
		break;
	default:
		pr->u64 = w;
		break;
	}
	return 0;
}

static int read_pair(struct cursor *c, struct zf_nvlist *l, size_t start, uint32_t encoded,
		     struct zf_err *err)
{
	struct zf_nvpair pr = { 0 };
	uint32_t type, nelem;
	int r;

	if (++c->pairs > ZF_NV_MAX_PAIRS)
		return zf_err_set(err, -E2BIG, "nvlist: more than %u pairs", ZF_NV_MAX_PAIRS);
	r = get_string(c, "pair name", &pr.name, err);
	if (r >= 0 && !*pr.name)
		r = zf_err_set(err, -EBADMSG, "nvlist: empty pair name at byte %zu", start);
	if (r >= 0)
		r = get_u32(c, pr.name, &type, err);
	if (r >= 0)
		r = get_u32(c, pr.name, &nelem, err);
	if (r >= 0) {
		pr.type = (enum zf_nv_type)type;
		pr.nelem = nelem;
		if (type < ZF_NV_BOOLEAN || type > ZF_NV_DOUBLE)
			r = zf_err_set(err, -EBADMSG, "nvlist: '%s' has unknown type %u", pr.name,
				       type);
	}
	if (r >= 0)
		r = read_value(c, &pr, err);
	if (r >= 0 && c->off - start != encoded)
		r = zf_err_set(err, -EBADMSG, "nvlist: pair '%s' at byte %zu says %u bytes, "
			       "holds %zu", pr.name, start, encoded, c->off - start);
	if (r < 0) {
		pair_release(&pr);
		return r;
	}
	ZF_ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = pr;
	return 0;
}

static int cmp_pair(const void *a, const void *b)
{
	return strcmp(((const struct zf_nvpair *)a)->name, ((const struct zf_nvpair *)b)->name);
}

/* Sorts l by name, for zf_nvlist_get()'s binary search; a name twice is refused. */
static int sort_unique(struct zf_nvlist *l, struct zf_err *err)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_pair);
	for (size_t i = 1; i < l->n; i++)
		if (streq(l->v[i - 1].name, l->v[i].name))
			return zf_err_set(err, -EBADMSG, "nvlist: name '%s' appears twice",
					  l->v[i].name);
	return 0;
}

static int read_list(struct cursor *c, struct zf_nvlist *l, struct zf_err *err)
{
	uint32_t version, flags;
	int r;

	if (c->depth >= ZF_NV_MAX_DEPTH)
		return zf_err_set(err, -E2BIG, "nvlist: nested deeper than %u", ZF_NV_MAX_DEPTH);
	c->depth++;
	if ((r = get_u32(c, "list header", &version, err)) < 0 ||
	    (r = get_u32(c, "list header", &flags, err)) < 0)
		return r;
	if (version != 0)
		return zf_err_set(err, -EBADMSG, "nvlist: version %u at byte %zu, want 0", version,
				  c->off - 8);
	for (;;) {
		size_t start = c->off;
		uint32_t encoded, decoded;

		if ((r = get_u32(c, "pair size", &encoded, err)) < 0 ||
		    (r = get_u32(c, "pair size", &decoded, err)) < 0)
			return r;
		if (decoded == 0) {
			if (encoded != 0)
				return zf_err_set(err, -EBADMSG, "nvlist: end of list at byte %zu "
						  "has size %u", start, encoded);
			break;
		}
		if (encoded > c->n - start)
			return truncated(c, "pair", err);
		if ((r = read_pair(c, l, start, encoded, err)) < 0)
			return r;
	}
	c->depth--;
	return sort_unique(l, err);
}

int zf_nvlist_unpack(const void *p, size_t n, struct zf_nvlist **ret, struct zf_err *err)
{
	_cleanup_free_ struct zf_nvlist *l = NULL;
	struct cursor c = { p, n, 4, 0, 0 };
	const uint8_t *h = p;
	int r;

	if (n < 4)
		return zf_err_set(err, -EBADMSG, "nvlist: %zu bytes, too short for its header", n);
	if (h[0] != 1)
		return zf_err_set(err, h[0] == 0 ? -EOPNOTSUPP : -EBADMSG,
				  "nvlist: encoding %u, want XDR (1)", h[0]);
	l = zf_xcalloc(1, sizeof(*l));
	r = read_list(&c, l, err);
	if (r >= 0 && c.off != n)
		r = zf_err_set(err, -EBADMSG, "nvlist: %zu bytes after its end", n - c.off);
	if (r < 0) {
		list_release(l);
		return r;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

struct zf_nvlist *zf_nvlist_free(struct zf_nvlist *l)
{
	if (l) {
		list_release(l);
		free(l);
	}
	return NULL;
}

const struct zf_nvpair *zf_nvlist_get(const struct zf_nvlist *l, const char *name)
{
	struct zf_nvpair key = { .name = (char *)name };

	if (!l || l->n == 0)
		return NULL;
	return bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_pair);
}

const struct zf_nvlist *zf_nvlist_get_nvlist(const struct zf_nvlist *l, const char *name)
{
	const struct zf_nvpair *pr = zf_nvlist_get(l, name);

	return pr && pr->type == ZF_NV_NVLIST ? pr->nvl : NULL;
}
