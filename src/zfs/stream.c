/*
 * src/zfs/stream.c — reading the head of a zfs send stream
 *
 * Offsets in a 312-byte record (zfs_ioctl.h), in the sender's byte order:
 *
 *   0 u32 drr_type (BEGIN 0, END 5)    4 u32 drr_payloadlen
 *   BEGIN:  8 u64 magic  16 u64 versioninfo (bits 0-1 header type: 1
 *           substream, 2 compound; bits 2.. feature flags)  24 u64
 *           creation time  32 u32 objset type (2 filesystem, 3 volume)
 *           36 u32 flags  40 u64 toguid  48 u64 fromguid  56 char toname[256]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "util/alloc.h"
#include "util/err.h"
#include "zfs/nvlist.h"
#include "zfs/stream.h"
#include "zfs/zfs.h"
#include "util/banned.h"

#define MAGIC 0x2F5bacbacULL
#define DRR_BEGIN 0
#define DRR_END 5
#define HDR_SUBSTREAM 1
#define HDR_COMPOUND 2

struct rec {
	const uint8_t *p;
	bool be;
};

static uint64_t rd(const struct rec *r, size_t off, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		size_t k = r->be ? i : n - 1 - i;
		v = (v << 8) | r->p[off + k];
	}
	return v;
}

static uint32_t rd32(const struct rec *r, size_t off)
{
	return (uint32_t)rd(r, off, 4);
}

static uint64_t rd64(const struct rec *r, size_t off)
{
	return rd(r, off, 8);
}

void zf_zfs_stream_head_release(struct zf_zfs_stream_head *h)
{
	zf_strv_release(&h->props);
	zf_strv_release(&h->snapprops);
	*h = (struct zf_zfs_stream_head){ 0 };
}

/* A BEGIN record at p (the byte order of the stream's first one, or found). */
static int begin(const uint8_t *p, size_t at, struct rec *r, bool find_order, uint64_t *ret_vi,
		 struct zf_err *err)
{
	r->p = p;
	if (find_order) {
		r->be = false;
		if (rd64(r, 8) != MAGIC) {
			r->be = true;
			if (rd64(r, 8) != MAGIC)
				return zf_err_set(err, -EBADMSG, "not a zfs send stream: no BEGIN "
						  "record magic at byte %zu", at);
		}
	} else if (rd64(r, 8) != MAGIC) {
		return zf_err_set(err, -EBADMSG, "zfs send stream: no BEGIN record magic at byte %zu",
				  at);
	}
	if (rd32(r, 0) != DRR_BEGIN)
		return zf_err_set(err, -EBADMSG, "zfs send stream: record type %u at byte %zu, "
				  "want BEGIN", rd32(r, 0), at);
	*ret_vi = rd64(r, 16);
	return 0;
}

static int toname(const struct rec *r, size_t at, char *out, struct zf_err *err)
{
	const char *s = (const char *)r->p + 56;
	size_t len = strnlen(s, 256);

	if (len == 256)
		return zf_err_set(err, -EBADMSG, "zfs send stream: BEGIN at byte %zu: name not "
				  "terminated", at);
	memcpy(out, s, len);
	out[len] = '\0';
	if (zf_zfs_name_check(out, ZF_ZFS_NAME_SNAPSHOT, err) < 0)
		return zf_err_prefix(err, "zfs send stream: BEGIN at byte %zu", at);
	return 0;
}

static void add_names(struct zf_strv *to, const struct zf_nvlist *l)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (!zf_strv_contains(to, l->v[i].name))
			zf_strv_add(to, l->v[i].name);
}

/* The compound header's list: what it says about recursion and each filesystem. */
static int header(const struct zf_nvlist *nv, struct zf_zfs_stream_head *h, struct zf_err *err)
{
	const struct zf_nvlist *fss = zf_nvlist_get_nvlist(nv, "fss");

	h->recursive = !zf_nvlist_get(nv, "not_recursive");
	h->header_raw = zf_nvlist_get(nv, "raw") != NULL;
	if (zf_nvlist_get(nv, "fss") && !fss)
		return zf_err_set(err, -EBADMSG, "zfs send stream: header 'fss' is not a list");
	for (size_t i = 0; fss && i < fss->n; i++) {
		const struct zf_nvpair *fs = &fss->v[i];
		const struct zf_nvpair *v;
		const struct zf_nvlist *sp;

		if (fs->type != ZF_NV_NVLIST)
			return zf_err_set(err, -EBADMSG, "zfs send stream: header entry '%s' is not "
					  "a list", fs->name);
		h->n_fss++;
		if ((v = zf_nvlist_get(fs->nvl, "origin"))) {
			if (v->type != ZF_NV_UINT64)
				return zf_err_set(err, -EBADMSG, "zfs send stream: origin of '%s' is "
						  "not a number", fs->name);
			h->has_origin = true;
			h->origin = v->u64;
		}
		if ((v = zf_nvlist_get(fs->nvl, "parentfromsnap")) && v->u64 != 0)
			h->has_parentfromsnap = true;
		if (zf_nvlist_get(fs->nvl, "props") && !zf_nvlist_get_nvlist(fs->nvl, "props"))
			return zf_err_set(err, -EBADMSG, "zfs send stream: props of '%s' are not a "
					  "list", fs->name);
		add_names(&h->props, zf_nvlist_get_nvlist(fs->nvl, "props"));
		sp = zf_nvlist_get_nvlist(fs->nvl, "snapprops");
		for (size_t j = 0; sp && j < sp->n; j++) {
			if (sp->v[j].type != ZF_NV_NVLIST)
				return zf_err_set(err, -EBADMSG, "zfs send stream: snapprops of '%s' "
						  "are not lists", fs->name);
			add_names(&h->snapprops, sp->v[j].nvl);
		}
	}
	zf_strv_sort(&h->props);
	zf_strv_sort(&h->snapprops);
	return 0;
}

static size_t fs_len(const char *name)
{
	return strcspn(name, "@");
}

/*
 * The compound header at p[0..n), whose BEGIN is r: its nvlist into h,
 * then its END and the first substream's BEGIN, which r, *vi and *ret_at
 * (its offset) then describe.  0; the bytes needed when the header goes on
 * past n; or <0.
 */
static int compound_header(const uint8_t *p, size_t n, struct rec *r, uint64_t *vi,
			   struct zf_zfs_stream_head *h, size_t *ret_at, struct zf_err *err)
{
	_cleanup_(zf_nvlist_freep) struct zf_nvlist *nv = NULL;
	struct rec e = { NULL, r->be };
	uint64_t plen;
	size_t at, need;
	int q;

	h->compound = true;
	if ((q = toname(r, 0, h->header_toname, err)) < 0)
		return q;
	plen = rd32(r, 4);
	if (plen > ZF_ZFS_STREAM_MAX_HEADER)
		return zf_err_set(err, -E2BIG, "zfs send stream: compound header of %llu "
				  "bytes (limit %u)", (unsigned long long)plen,
				  ZF_ZFS_STREAM_MAX_HEADER);
	need = ZF_ZFS_RECORD_SIZE * 3 + (size_t)plen;
	if (n < need)
		return (int)need;
	if (plen > 0) {
		if ((q = zf_nvlist_unpack(p + ZF_ZFS_RECORD_SIZE, plen, &nv, err)) < 0)
			return zf_err_prefix(err, "zfs send stream: compound header");
		if ((q = header(nv, h, err)) < 0)
			return q;
	}
	at = ZF_ZFS_RECORD_SIZE + (size_t)plen;
	e.p = p + at;
	if (rd32(&e, 0) != DRR_END || rd32(&e, 4) != 0)
		return zf_err_set(err, -EBADMSG, "zfs send stream: no END after the compound "
				  "header at byte %zu", at);
	at += ZF_ZFS_RECORD_SIZE;
	e.p = p + at;
	if (rd32(&e, 0) == DRR_END)
		return zf_err_set(err, -EBADMSG, "zfs send stream: compound stream without "
				  "a substream");
	if ((q = begin(p + at, at, r, false, vi, err)) < 0)
		return q;
	if ((*vi & 3) != HDR_SUBSTREAM)
		return zf_err_set(err, -EBADMSG, "zfs send stream: header type %u at byte "
				  "%zu, want a substream", (unsigned)(*vi & 3), at);
	*ret_at = at;
	return 0;
}

/* The first substream's BEGIN (r, versioninfo vi, at byte at) into h, checked. */
static int substream_begin(const struct rec *r, uint64_t vi, size_t at,
			   struct zf_zfs_stream_head *h, struct zf_err *err)
{
	int q;

	h->features = vi >> 2;
	h->creation = rd64(r, 24);
	h->kind = (enum zf_zfs_stream_kind)rd32(r, 32);
	h->flags = rd32(r, 36);
	h->toguid = rd64(r, 40);
	h->fromguid = rd64(r, 48);
	q = toname(r, at, h->toname, err);
	if (q < 0)
		return q;
	if (h->kind != ZF_ZFS_STREAM_FILESYSTEM && h->kind != ZF_ZFS_STREAM_VOLUME)
		return zf_err_set(err, -EBADMSG, "zfs send stream: dataset type %u is neither a "
				  "filesystem nor a volume", (unsigned)h->kind);
	/* zfs picks targets by the tail of a name below the header's: keep them one */
	if (h->compound && (fs_len(h->toname) != fs_len(h->header_toname) ||
			    strncmp(h->toname, h->header_toname, fs_len(h->toname)) != 0))
		return zf_err_set(err, -EBADMSG, "zfs send stream: substream of '%s' in a stream "
				  "of '%s'", h->toname, h->header_toname);
	return 0;
}

int zf_zfs_stream_head_parse(const void *buf, size_t n, struct zf_zfs_stream_head *ret,
			     struct zf_err *err)
{
	const uint8_t *p = buf;
	_cleanup_(zf_zfs_stream_head_release) struct zf_zfs_stream_head h = { 0 };
	struct rec r;
	uint64_t vi;
	size_t at = 0;
	int q;

	if (n < ZF_ZFS_RECORD_SIZE)
		return ZF_ZFS_RECORD_SIZE;
	if ((q = begin(p, 0, &r, true, &vi, err)) < 0)
		return q;
	h.big_endian = r.be;
	if ((vi & 3) != HDR_SUBSTREAM && (vi & 3) != HDR_COMPOUND)
		return zf_err_set(err, -EBADMSG, "zfs send stream: header type %u, want 1 or 2",
				  (unsigned)(vi & 3));
	if ((vi & 3) == HDR_COMPOUND && (q = compound_header(p, n, &r, &vi, &h, &at, err)) != 0)
		return q;
	q = substream_begin(&r, vi, at, &h, err);
	if (q < 0)
		return q;
	h.len = at + ZF_ZFS_RECORD_SIZE;
	*ret = h;
	h = (struct zf_zfs_stream_head){ 0 };   /* *ret owns the property lists now */
	return 0;
}

static void wr_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void zf_zfs_stream_begin_record(uint8_t out[ZF_ZFS_RECORD_SIZE], enum zf_zfs_stream_kind kind,
				const char *toname, uint64_t toguid)
{
	memset(out, 0, ZF_ZFS_RECORD_SIZE);
	wr_le(out + 8, MAGIC, 8);
	wr_le(out + 16, HDR_SUBSTREAM | ((uint64_t)ZF_ZFS_FEATURE_SA_SPILL << 2), 8);
	wr_le(out + 32, (uint64_t)kind, 4);
	wr_le(out + 40, toguid, 8);
	snprintf((char *)out + 56, 256, "%s", toname);
}
