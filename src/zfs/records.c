/*
 * src/zfs/records.c — reading every record of a zfs send stream, and the meta/data split
 *
 * Offsets in a record (zfs_ioctl.h's dmu_replay_record), sender's byte order:
 *
 *   0 u32 type  4 u32 payloadlen  280..311 the running fletcher-4
 *   BEGIN           8 magic  16 versioninfo  40 toguid  56 toname (to 311)
 *   END             8 checksum of the substream (32 bytes)  40 toguid
 *   OBJECT          28 bonuslen  36 raw_bonuslen  40 toguid
 *   FREEOBJECTS     24 toguid
 *   WRITE           32 logical_size  40 toguid  50 compressiontype  96 compressed_size
 *   FREE, REDACT, WRITE_BYREF  32 toguid
 *   SPILL           16 length  24 toguid  40 compressed_size
 *   WRITE_EMBEDDED  32 toguid  52 psize
 *   OBJECT_RANGE    24 toguid
 *
 * The sender (dmu_send.c's dump_record(), libzfs's for the compound
 * header) adds to the checksum the record's first 280 bytes, stores the
 * sum at 280, adds those 32 bytes, then the payload in one call.  A call
 * ignores a tail shorter than a word; zfs send never makes one (payloads
 * come in 8-byte units at least), and as no checksum would cover its bytes
 * the reader refuses it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "util/alloc.h"
#include "util/err.h"
#include "zfs/records.h"
#include "util/banned.h"

#define RS ZF_ZFS_RECORD_SIZE
#define CKOFF 280
#define MAGIC 0x2F5bacbacULL
#define HDR_SUBSTREAM 1
#define HDR_COMPOUND 2

static const char *const type_names[ZF_ZFS_DRR_NUMTYPES] = {
	"BEGIN", "OBJECT", "FREEOBJECTS", "WRITE", "FREE", "END",
	"WRITE_BYREF", "SPILL", "WRITE_EMBEDDED", "OBJECT_RANGE", "REDACT",
};

/* Where each type keeps its toguid. */
static const uint8_t toguid_off[ZF_ZFS_DRR_NUMTYPES] = {
	40, 40, 24, 40, 32, 40, 32, 24, 32, 24, 32,
};

const char *zf_zfs_record_type_name(uint32_t type)
{
	return type < ZF_ZFS_DRR_NUMTYPES ? type_names[type] : "?";
}

static uint64_t rd(const uint8_t *p, size_t n, bool be)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[be ? i : n - 1 - i];
	return v;
}

static void wr(uint8_t *p, uint64_t v, size_t n, bool be)
{
	for (size_t i = 0; i < n; i++)
		p[be ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

struct f4 {
	uint64_t v[4];
};

/* One loop per byte order, so that each compiles to plain loads: this runs over every byte. */
static void f4_words(struct f4 *f, const uint8_t *p, size_t nwords, bool be)
{
	uint64_t a = f->v[0], b = f->v[1], c = f->v[2], d = f->v[3];

	if (be) {
		for (size_t i = 0; i < nwords; i++, p += 4) {
			a += (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
			b += a;
			c += b;
			d += c;
		}
	} else {
		for (size_t i = 0; i < nwords; i++, p += 4) {
			a += (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
			b += a;
			c += b;
			d += c;
		}
	}
	*f = (struct f4){ { a, b, c, d } };
}

static bool f4_equal(const struct f4 *f, const uint8_t *p, bool be)
{
	for (size_t i = 0; i < 4; i++)
		if (rd(p + 8 * i, 8, be) != f->v[i])
			return false;
	return true;
}

static void f4_store(const struct f4 *f, uint8_t *p, bool be)
{
	for (size_t i = 0; i < 4; i++)
		wr(p + 8 * i, f->v[i], 8, be);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

enum state {
	S_START,        /* nothing read */
	S_HEADER,       /* after a compound BEGIN: its END */
	S_BETWEEN,      /* compound: a substream's BEGIN or the final END */
	S_SUB,          /* inside a substream */
	S_DONE,
};

struct zf_zfs_records {
	const struct zf_zfs_records_ops *ops;
	void *userdata;
	enum state state;
	bool compound;
	bool be;
	int failed;
	uint8_t hdr[RS];
	size_t hdr_len;
	struct zf_zfs_record rec;       /* the current record */
	uint64_t remaining;             /* of its payload */
	struct f4 ck;                   /* since the substream's (or header's) BEGIN */
	uint8_t carry[4];               /* a payload's bytes short of a word */
	size_t ncarry;
	uint64_t index;                 /* the next record's */
	uint64_t offset;                /* bytes read */
};

struct zf_zfs_records *zf_zfs_records_new(const struct zf_zfs_records_ops *ops, void *userdata)
{
	struct zf_zfs_records *r = zf_xcalloc(1, sizeof(*r));

	r->ops = ops;
	r->userdata = userdata;
	return r;
}

struct zf_zfs_records *zf_zfs_records_free(struct zf_zfs_records *r)
{
	free(r);
	return NULL;
}

uint64_t zf_zfs_records_count(const struct zf_zfs_records *r)
{
	return r->index;
}

uint64_t zf_zfs_records_offset(const struct zf_zfs_records *r)
{
	return r->offset;
}

/* Fails the current record: "record N (TYPE) at byte X: ..." */
_printf_(4, 5) static int fail(struct zf_zfs_records *r, struct zf_err *err, int code,
			       const char *fmt, ...)
{
	char m[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	r->failed = code;
	return zf_err_set(err, code, "zfs send stream: record %llu (%s) at byte %llu: %s",
			  (unsigned long long)r->rec.index, zf_zfs_record_type_name(r->rec.type),
			  (unsigned long long)r->rec.offset, m);
}

static int too_big(struct zf_zfs_records *r, struct zf_err *err, const char *what, uint64_t v,
		   uint64_t limit)
{
	return fail(r, err, -E2BIG, "%s %llu over the limit of %llu", what, (unsigned long long)v,
		    (unsigned long long)limit);
}

/* The payload length the record's fields give (calc_payload_size()), within the limits. */
static int payload_len(struct zf_zfs_records *r, struct zf_err *err)
{
	const uint8_t *h = r->hdr;
	bool be = r->be;
	uint64_t n = 0, v;

	switch (r->rec.type) {
	case ZF_ZFS_DRR_BEGIN:
		n = rd(h + 4, 4, be);
		if (n > ZF_ZFS_STREAM_MAX_HEADER)
			return too_big(r, err, "payload", n, ZF_ZFS_STREAM_MAX_HEADER);
		break;
	case ZF_ZFS_DRR_OBJECT:
		n = rd(h + 36, 4, be);
		if (n == 0)
			n = (rd(h + 28, 4, be) + 7) & ~7ull;
		if (n > ZF_ZFS_MAX_BONUS)
			return too_big(r, err, "bonus length", n, ZF_ZFS_MAX_BONUS);
		break;
	case ZF_ZFS_DRR_WRITE:
		v = rd(h + 32, 8, be);
		if (v > ZF_ZFS_MAX_BLOCK)
			return too_big(r, err, "logical size", v, ZF_ZFS_MAX_BLOCK);
		n = h[50] != 0 ? rd(h + 96, 8, be) : v;
		if (n > ZF_ZFS_MAX_BLOCK)
			return too_big(r, err, "compressed size", n, ZF_ZFS_MAX_BLOCK);
		break;
	case ZF_ZFS_DRR_SPILL:
		n = rd(h + 40, 8, be);
		if (n == 0)
			n = rd(h + 16, 8, be);
		if (n > ZF_ZFS_MAX_BLOCK)
			return too_big(r, err, "spill length", n, ZF_ZFS_MAX_BLOCK);
		break;
	case ZF_ZFS_DRR_WRITE_EMBEDDED:
		v = rd(h + 52, 4, be);
		if (v > ZF_ZFS_MAX_EMBEDDED)
			return too_big(r, err, "embedded size", v, ZF_ZFS_MAX_EMBEDDED);
		n = (v + 7) & ~7ull;
		break;
	default:
		break;
	}
	/* the sender's sum skips a tail short of a word: nothing would vouch for it */
	if (n % 4 != 0)
		return fail(r, err, -EBADMSG, "payload of %llu bytes, not whole 4-byte words",
			    (unsigned long long)n);
	r->rec.payload_len = n;
	r->rec.block = r->rec.type == ZF_ZFS_DRR_WRITE || r->rec.type == ZF_ZFS_DRR_SPILL ||
		       r->rec.type == ZF_ZFS_DRR_WRITE_EMBEDDED;
	return 0;
}

static int begin(struct zf_zfs_records *r, struct zf_err *err)
{
	uint64_t vi = rd(r->hdr + 16, 8, r->be);

	if (rd(r->hdr + 8, 8, r->be) != MAGIC)
		return fail(r, err, -EBADMSG, "no BEGIN magic");
	switch (r->state) {
	case S_START:
		if ((vi & 3) == HDR_COMPOUND) {
			r->compound = true;
			r->state = S_HEADER;
		} else if ((vi & 3) == HDR_SUBSTREAM) {
			r->state = S_SUB;
		} else {
			return fail(r, err, -EBADMSG, "header type %u, want 1 or 2",
				    (unsigned)(vi & 3));
		}
		break;
	case S_BETWEEN:
		if ((vi & 3) != HDR_SUBSTREAM)
			return fail(r, err, -EBADMSG, "header type %u inside a compound stream, "
				    "want a substream", (unsigned)(vi & 3));
		r->state = S_SUB;
		break;
	case S_HEADER:
		return fail(r, err, -EBADMSG, "BEGIN where the compound header's END belongs");
	default:
		return fail(r, err, -EBADMSG, "BEGIN inside a substream");
	}
	r->rec.substream = r->state == S_SUB;
	r->ck = (struct f4){ { 0 } };
	f4_words(&r->ck, r->hdr, RS / 4, r->be);
	return 0;
}

/* The ENDs libzfs writes around substreams: zero but for the type (and @8 for the header's). */
static int compound_end(struct zf_zfs_records *r, struct zf_err *err)
{
	if (r->state == S_HEADER) {
		if (!f4_equal(&r->ck, r->hdr + 8, r->be))
			return fail(r, err, -ZF_E_CORRUPT, "checksum of the compound header does "
				    "not match");
		if (!all_zero(r->hdr + 4, 4) || !all_zero(r->hdr + 40, RS - 40))
			return fail(r, err, -EBADMSG, "END of the compound header is not blank");
		r->state = S_BETWEEN;
		return 0;
	}
	if (!all_zero(r->hdr + 4, RS - 4))
		return fail(r, err, -EBADMSG, "final END of a compound stream is not blank");
	r->state = S_DONE;
	return 0;
}

/* A record of a substream: its running checksum, and END's of the substream. */
static int sub_record(struct zf_zfs_records *r, struct zf_err *err)
{
	struct f4 before = r->ck;

	f4_words(&r->ck, r->hdr, CKOFF / 4, r->be);
	if (!f4_equal(&r->ck, r->hdr + CKOFF, r->be))
		return fail(r, err, -ZF_E_CORRUPT, "checksum does not match");
	f4_words(&r->ck, r->hdr + CKOFF, (RS - CKOFF) / 4, r->be);
	if (r->rec.type != ZF_ZFS_DRR_END)
		return 0;
	if (!f4_equal(&before, r->hdr + 8, r->be))
		return fail(r, err, -ZF_E_CORRUPT, "checksum of the substream does not match");
	/* no later sum covers END itself: what the rebuild could not vouch for must be blank */
	if (!all_zero(r->hdr + 4, 4) || !all_zero(r->hdr + 48, CKOFF - 48))
		return fail(r, err, -EBADMSG, "END is not blank");
	r->state = r->compound ? S_BETWEEN : S_DONE;
	return 0;
}

static int header_done(struct zf_zfs_records *r, struct zf_err *err)
{
	int q;

	r->rec = (struct zf_zfs_record){
		.index = r->index++,
		.offset = r->offset - RS,
		.header = r->hdr,
	};
	if (r->state == S_START) {
		r->be = rd(r->hdr + 8, 8, false) != MAGIC;
		if (r->be && rd(r->hdr + 8, 8, true) != MAGIC)
			return fail(r, err, -EBADMSG, "not a zfs send stream: no BEGIN magic");
	}
	r->rec.big_endian = r->be;
	r->rec.type = (uint32_t)rd(r->hdr, 4, r->be);
	if (r->rec.type >= ZF_ZFS_DRR_NUMTYPES)
		return fail(r, err, -EBADMSG, "unknown record type %u", r->rec.type);
	if (r->rec.type == ZF_ZFS_DRR_BEGIN) {
		q = begin(r, err);
	} else if (r->state == S_SUB) {
		r->rec.substream = true;
		q = sub_record(r, err);
	} else if (r->rec.type == ZF_ZFS_DRR_END && r->state != S_START) {
		q = compound_end(r, err);
	} else {
		q = fail(r, err, -EBADMSG, "outside a substream");
	}
	if (q < 0)
		return q;
	if ((q = payload_len(r, err)) < 0)
		return q;
	r->remaining = r->rec.payload_len;
	r->ncarry = 0;
	if (r->ops && r->ops->record && (q = r->ops->record(r->userdata, &r->rec, err)) < 0)
		return r->failed = q;
	return 0;
}

/* Adds payload bytes to the checksum; a tail short of a word waits in carry. */
static void payload_sum(struct zf_zfs_records *r, const uint8_t *p, size_t n)
{
	if (r->ncarry > 0) {
		size_t k = MIN(n, 4 - r->ncarry);
		memcpy(r->carry + r->ncarry, p, k);
		r->ncarry += k;
		p += k;
		n -= k;
		if (r->ncarry < 4)
			return;
		f4_words(&r->ck, r->carry, 1, r->be);
		r->ncarry = 0;
	}
	f4_words(&r->ck, p, n / 4, r->be);
	memcpy(r->carry, p + n / 4 * 4, n % 4);
	r->ncarry = n % 4;
}

int zf_zfs_records_feed(struct zf_zfs_records *r, const void *buf, size_t n, struct zf_err *err)
{
	const uint8_t *p = buf;
	int q;

	while (n > 0) {
		size_t k;

		if (r->failed)
			return zf_err_set(err, r->failed, "zfs send stream: reader stopped by an "
					  "earlier error");
		if (r->remaining > 0) {
			k = (size_t)MIN((uint64_t)n, r->remaining);
			payload_sum(r, p, k);
			if (r->ops && r->ops->payload &&
			    (q = r->ops->payload(r->userdata, &r->rec, p, k, err)) < 0)
				return r->failed = q;
			r->remaining -= k;
			if (r->remaining == 0)
				r->ncarry = 0;
		} else {
			if (r->state == S_DONE) {
				r->failed = -EBADMSG;
				return zf_err_set(err, -EBADMSG, "zfs send stream: %zu bytes "
						  "past the end of the stream at byte %llu", n,
						  (unsigned long long)r->offset);
			}
			k = MIN(n, RS - r->hdr_len);
			memcpy(r->hdr + r->hdr_len, p, k);
			r->hdr_len += k;
		}
		r->offset += k;
		p += k;
		n -= k;
		if (r->hdr_len == RS) {
			r->hdr_len = 0;
			if ((q = header_done(r, err)) < 0)
				return q;
		}
	}
	return 0;
}

int zf_zfs_records_finish(struct zf_zfs_records *r, struct zf_err *err)
{
	unsigned long long at = (unsigned long long)r->offset;

	if (r->failed)
		return zf_err_set(err, r->failed, "zfs send stream: reader stopped by an earlier "
				  "error");
	if (r->remaining > 0)
		return fail(r, err, -EBADMSG, "truncated at byte %llu, %llu payload bytes missing",
			    at, (unsigned long long)r->remaining);
	if (r->state == S_DONE && r->hdr_len == 0)
		return 0;
	r->failed = -EBADMSG;
	if (r->hdr_len > 0)
		return zf_err_set(err, -EBADMSG, "zfs send stream: truncated at byte %llu, inside "
				  "the header of record %llu", at, (unsigned long long)r->index);
	if (r->state == S_START)
		return zf_err_set(err, -EBADMSG, "zfs send stream: empty");
	return zf_err_set(err, -EBADMSG, "zfs send stream: truncated at byte %llu, before record "
			  "%llu: no %s", at, (unsigned long long)r->index,
			  r->state == S_BETWEEN ? "final END" : "END");
}

/* The split */

struct zf_zfs_split {
	struct zf_zfs_records *rd;
	zf_zfs_out_fn meta, data;
	void *userdata;
	uint64_t guid;                  /* of the current substream */
};

static void le64(uint8_t *p, uint64_t v)
{
	wr(p, v, 8, false);
}

static int guid_differs(const struct zf_zfs_record *rec, uint64_t guid, uint64_t want,
			struct zf_err *err)
{
	return zf_err_set(err, -ENOTSUP, "zfs send stream: record %llu (%s) at byte %llu: "
			  "toguid %llx is not its BEGIN's %llx, cannot split",
			  (unsigned long long)rec->index, zf_zfs_record_type_name(rec->type),
			  (unsigned long long)rec->offset, (unsigned long long)guid,
			  (unsigned long long)want);
}

static int split_record(void *userdata, const struct zf_zfs_record *rec, struct zf_err *err)
{
	struct zf_zfs_split *s = userdata;
	uint8_t h[RS], extra[32];
	size_t nextra = 0;
	bool be = rec->big_endian;
	int q;

	if (rec->index == 0) {
		uint8_t pre[ZF_ZFS_META_PREAMBLE] = ZF_ZFS_META_MAGIC;
		wr(pre + 8, ZF_ZFS_META_VERSION, 4, false);
		if ((q = s->meta(s->userdata, pre, sizeof(pre), err)) < 0)
			return q;
	}
	memcpy(h, rec->header, RS);
	if (rec->type == ZF_ZFS_DRR_BEGIN) {
		s->guid = rd(h + 40, 8, be);
		le64(extra, s->guid);
		nextra = 8;
		memset(h + 40, 0, 8);
	} else if (rec->substream) {
		size_t off = toguid_off[rec->type];
		if (rd(h + off, 8, be) != s->guid)
			return guid_differs(rec, rd(h + off, 8, be), s->guid, err);
		memset(h + off, 0, 8);
		memset(h + CKOFF, 0, RS - CKOFF);
	}
	if (rec->type == ZF_ZFS_DRR_END) {
		memcpy(extra, h + 8, 32);
		nextra = 32;
		memset(h + 8, 0, 32);
	}
	if ((q = s->meta(s->userdata, h, RS, err)) < 0)
		return q;
	return s->meta(s->userdata, extra, nextra, err);
}

static int split_payload(void *userdata, const struct zf_zfs_record *rec, const void *p, size_t n,
			 struct zf_err *err)
{
	struct zf_zfs_split *s = userdata;

	return (rec->block ? s->data : s->meta)(s->userdata, p, n, err);
}

static const struct zf_zfs_records_ops split_ops = {
	.record = split_record,
	.payload = split_payload,
};

struct zf_zfs_split *zf_zfs_split_new(zf_zfs_out_fn meta, zf_zfs_out_fn data, void *userdata)
{
	struct zf_zfs_split *s = zf_xcalloc(1, sizeof(*s));

	s->meta = meta;
	s->data = data;
	s->userdata = userdata;
	s->rd = zf_zfs_records_new(&split_ops, s);
	return s;
}

struct zf_zfs_split *zf_zfs_split_free(struct zf_zfs_split *s)
{
	if (s) {
		zf_zfs_records_free(s->rd);
		free(s);
	}
	return NULL;
}

int zf_zfs_split_feed(struct zf_zfs_split *s, const void *p, size_t n, struct zf_err *err)
{
	return zf_zfs_records_feed(s->rd, p, n, err);
}

int zf_zfs_split_finish(struct zf_zfs_split *s, struct zf_err *err)
{
	return zf_zfs_records_finish(s->rd, err);
}

/* The rebuild */

#define COPY_BUF (64u << 10)

/* Reads n bytes, or fewer only at the end: *ret_got says how many. */
static int read_full_in(zf_zfs_in_fn fn, void *userdata, void *buf, size_t n, size_t *ret_got,
			struct zf_err *err)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t k = fn(userdata, p + got, n - got, err);
		if (k < 0)
			return (int)k;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	*ret_got = got;
	return 0;
}

static int need(const struct zf_zfs_rebuild_io *io, bool meta, void *buf, size_t n,
		uint64_t index, const char *what, struct zf_err *err)
{
	size_t got;
	int q;

	q = read_full_in(meta ? io->meta : io->data, io->userdata, buf, n, &got, err);
	if (q < 0)
		return q;
	if (got < n)
		return zf_err_set(err, -EBADMSG, "stream rebuild: %s ends inside %s of record %llu",
				  meta ? "meta" : "data", what, (unsigned long long)index);
	return 0;
}

static int emit(struct zf_zfs_records *r, const struct zf_zfs_rebuild_io *io, const void *p,
		size_t n, struct zf_err *err)
{
	int q;

	if ((q = zf_zfs_records_feed(r, p, n, err)) < 0)
		return zf_err_prefix(err, "stream rebuild");
	return io->out(io->userdata, p, n, err);
}

/* Puts back what the split took from a record header h (from meta). */
static int restore(struct zf_zfs_records *r, const struct zf_zfs_rebuild_io *io, uint8_t *h,
		   uint64_t *guid, struct zf_err *err)
{
	uint64_t index = r->index;
	bool be = r->state == S_START ? rd(h + 8, 8, false) != MAGIC : r->be;
	uint32_t type = (uint32_t)rd(h, 4, be);
	bool sub = r->state == S_SUB;
	uint8_t extra[32];
	int q;

	if (type >= ZF_ZFS_DRR_NUMTYPES)
		return 0;       /* the reader names it */
	if (type == ZF_ZFS_DRR_BEGIN) {
		if ((q = need(io, true, extra, 8, index, "the guid", err)) < 0)
			return q;
		if (!all_zero(h + 40, 8))
			goto damaged;
		*guid = rd(extra, 8, false);
		wr(h + 40, *guid, 8, be);
		return 0;
	}
	if (sub) {
		if (!all_zero(h + toguid_off[type], 8) || !all_zero(h + CKOFF, RS - CKOFF))
			goto damaged;
		wr(h + toguid_off[type], *guid, 8, be);
	}
	if (type == ZF_ZFS_DRR_END) {
		if ((q = need(io, true, extra, 32, index, "the checksum", err)) < 0)
			return q;
		if (!all_zero(h + 8, 32))
			goto damaged;
		memcpy(h + 8, extra, 32);
	}
	if (sub) {
		struct f4 f = r->ck;
		f4_words(&f, h, CKOFF / 4, be);
		f4_store(&f, h + CKOFF, be);
	}
	return 0;
damaged:
	return zf_err_set(err, -ZF_E_CORRUPT, "stream rebuild: meta of record %llu (%s) is "
			  "damaged: a field the split zeroes is set", (unsigned long long)index,
			  zf_zfs_record_type_name(type));
}

static int preamble(const struct zf_zfs_rebuild_io *io, struct zf_err *err)
{
	uint8_t pre[ZF_ZFS_META_PREAMBLE];
	size_t got;
	int q;

	if ((q = read_full_in(io->meta, io->userdata, pre, sizeof(pre), &got, err)) < 0)
		return q;
	if (got < sizeof(pre) || memcmp(pre, ZF_ZFS_META_MAGIC, 8) != 0)
		return zf_err_set(err, -EBADMSG, "stream rebuild: meta does not start with '%s'",
				  ZF_ZFS_META_MAGIC);
	if (rd(pre + 8, 4, false) != ZF_ZFS_META_VERSION || rd(pre + 12, 4, false) != 0)
		return zf_err_set(err, -EBADMSG, "stream rebuild: meta version %u flags %#x, want "
				  "version %u", (unsigned)rd(pre + 8, 4, false),
				  (unsigned)rd(pre + 12, 4, false), ZF_ZFS_META_VERSION);
	return 0;
}

static int copy_payload(struct zf_zfs_records *r, const struct zf_zfs_rebuild_io *io,
			uint8_t *buf, struct zf_err *err)
{
	uint64_t left = r->rec.payload_len, index = r->rec.index;
	bool meta = !r->rec.block;
	int q;

	while (left > 0) {
		size_t k = (size_t)MIN(left, (uint64_t)COPY_BUF);
		if ((q = need(io, meta, buf, k, index, "the payload", err)) < 0)
			return q;
		if ((q = emit(r, io, buf, k, err)) < 0)
			return q;
		left -= k;
	}
	return 0;
}

int zf_zfs_rebuild(const struct zf_zfs_rebuild_io *io, struct zf_err *err)
{
	_cleanup_(zf_zfs_records_freep) struct zf_zfs_records *r = zf_zfs_records_new(NULL, NULL);
	_cleanup_free_ uint8_t *buf = zf_xmalloc(COPY_BUF);
	uint64_t guid = 0;
	size_t got;
	int q;

	if ((q = preamble(io, err)) < 0)
		return q;
	for (;;) {
		uint8_t h[RS];

		if ((q = read_full_in(io->meta, io->userdata, h, RS, &got, err)) < 0)
			return q;
		if (got == 0)
			break;
		if (got < RS)
			return zf_err_set(err, -EBADMSG, "stream rebuild: meta ends inside record "
					  "%llu", (unsigned long long)r->index);
		if ((q = restore(r, io, h, &guid, err)) < 0)
			return q;
		if ((q = emit(r, io, h, RS, err)) < 0)
			return q;
		if ((q = copy_payload(r, io, buf, err)) < 0)
			return q;
	}
	if ((q = read_full_in(io->data, io->userdata, buf, 1, &got, err)) < 0)
		return q;
	if (got > 0)
		return zf_err_set(err, -EBADMSG, "stream rebuild: data goes on past the last "
				  "block of the stream");
	if ((q = zf_zfs_records_finish(r, err)) < 0)
		return zf_err_prefix(err, "stream rebuild");
	return 0;
}
