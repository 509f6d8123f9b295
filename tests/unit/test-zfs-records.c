/*
 * tests/unit/test-zfs-records.c — every record of a zfs send stream checked; split and rebuild
 *
 * The corpus streams (tests/fuzz/corpus/zfs-stream/, the test's argument)
 * are real OpenZFS 2.3.2 output cut at 4 KiB, so all but incr.bin stop
 * mid-stream.  "Closing" one keeps its whole records and appends the
 * ENDs it lacks; the checksums are recomputed by this file's own
 * fletcher-4, which must agree with the sender's on every record kept.
 * Big-endian streams and the record types the corpus lacks (SPILL,
 * REDACT, WRITE_BYREF, compressed WRITE, raw OBJECT bonus) are built here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "zfs/records.h"

#define RS ZF_ZFS_RECORD_SIZE

static const char *corpus;

/* What a reader saw, record by record. */
struct rinfo {
	uint64_t off, plen;
	uint32_t type;
	bool sub;
};

struct seen {
	struct rinfo v[256];
	size_t n;
	uint64_t payload;               /* payload bytes seen */
};

static int seen_record(void *userdata, const struct zf_zfs_record *rec, struct zf_err *err)
{
	struct seen *s = userdata;

	(void)err;
	assert_true(s->n < ELEMENTSOF(s->v));
	assert_int_equal(rec->index, s->n);
	s->v[s->n++] = (struct rinfo){ rec->offset, rec->payload_len, rec->type, rec->substream };
	return 0;
}

static int seen_payload(void *userdata, const struct zf_zfs_record *rec, const void *p, size_t n,
			struct zf_err *err)
{
	struct seen *s = userdata;

	(void)rec, (void)p, (void)err;
	s->payload += n;
	return 0;
}

static const struct zf_zfs_records_ops seen_ops = { seen_record, seen_payload };

/* Reads p whole in pieces of `step` bytes; returns finish's result. */
static int read_stream(const uint8_t *p, size_t n, size_t step, struct seen *s, struct zf_err *err)
{
	_cleanup_(zf_zfs_records_freep) struct zf_zfs_records *r = zf_zfs_records_new(&seen_ops, s);
	int q;

	for (size_t i = 0; i < n; i += step)
		if ((q = zf_zfs_records_feed(r, p + i, MIN(step, n - i), err)) < 0)
			return q;
	return zf_zfs_records_finish(r, err);
}

static uint64_t get(const uint8_t *p, size_t n, bool be)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * (be ? n - 1 - i : i));
	return v;
}

static void put(uint8_t *p, uint64_t v, size_t n, bool be)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (be ? n - 1 - i : i)));
}

/* fletcher-4 written apart from records.c's, one word at a time */
static void sum(uint64_t f[4], const uint8_t *p, size_t n, bool be)
{
	for (size_t i = 0; i + 4 <= n; i += 4) {
		f[0] += get(p + i, 4, be);
		f[1] += f[0];
		f[2] += f[1];
		f[3] += f[2];
	}
}

static void put_sum(uint8_t *p, const uint64_t f[4], bool be)
{
	for (int i = 0; i < 4; i++)
		put(p + 8 * i, f[i], 8, be);
}

static const uint8_t toguid_at[] = { 40, 40, 24, 40, 32, 40, 32, 24, 32, 24, 32 };

/* Recomputes every checksum of a substream record (and END's @8) of the records in s. */
static void reseal(uint8_t *p, const struct seen *s, bool be)
{
	uint64_t f[4] = { 0 };

	for (size_t i = 0; i < s->n; i++) {
		uint8_t *h = p + s->v[i].off;
		if (s->v[i].type == ZF_ZFS_DRR_BEGIN) {
			memset(f, 0, sizeof(f));
			sum(f, h, RS, be);
		} else if (s->v[i].sub) {
			if (s->v[i].type == ZF_ZFS_DRR_END)
				put_sum(h + 8, f, be);
			sum(f, h, 280, be);
			put_sum(h + 280, f, be);
			sum(f, h + 280, 32, be);
		} else if (s->v[i].type == ZF_ZFS_DRR_END && i > 0 &&
			   s->v[i - 1].type == ZF_ZFS_DRR_BEGIN) {
			put_sum(h + 8, f, be);         /* the compound header's END */
		}
		sum(f, h + RS, s->v[i].plen, be);
	}
}

static void load(const char *name, struct zf_buf *b)
{
	char path[512];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", corpus, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	zf_buf_reset(b);
	r = zf_read_all(fd, b, 1 << 20);
	close(fd);
	assert_int_equal(r, 0);
}

static bool is_be(const uint8_t *p)
{
	return get(p + 8, 8, false) != 0x2F5bacbacULL;
}

static void add_end(struct zf_buf *b, uint64_t guid, bool be)
{
	uint8_t h[RS] = { 0 };

	put(h, ZF_ZFS_DRR_END, 4, be);
	put(h + 40, guid, 8, be);
	zf_buf_add(b, h, RS);
}

/*
 * A corpus stream closed: its whole records, then the ENDs it lacks.  Every
 * record the sender wrote must read clean up to the cut, and resealing must
 * leave the sender's bytes alone.
 */
static void closed(const char *name, struct zf_buf *out)
{
	_cleanup_buf_ struct zf_buf raw = ZF_BUF_INIT;
	struct zf_err err = ZF_ERR_INIT;
	struct seen s = { 0 };
	size_t keep = 0, last = 0;
	uint64_t guid = 0;
	bool be, in_sub = false, compound;
	int q;

	load(name, &raw);
	be = is_be((uint8_t *)raw.data);
	compound = (get((uint8_t *)raw.data + 16, 8, be) & 3) == 2;
	q = read_stream((uint8_t *)raw.data, raw.len, 997, &s, &err);
	if (q < 0 && !strstr(err.msg, "truncated"))
		fail_msg("%s: %s", name, err.msg);
	for (size_t i = 0; i < s.n; i++) {
		if (s.v[i].off + RS + s.v[i].plen > raw.len)
			break;
		keep = s.v[i].off + RS + s.v[i].plen;
		last = i + 1;
		if (s.v[i].type == ZF_ZFS_DRR_BEGIN && s.v[i].sub) {
			in_sub = true;
			guid = get((uint8_t *)raw.data + s.v[i].off + 40, 8, be);
		} else if (s.v[i].type == ZF_ZFS_DRR_END) {
			in_sub = false;
		}
	}
	zf_buf_reset(out);
	zf_buf_add(out, raw.data, keep);
	s.n = last;
	if (in_sub) {
		s.v[s.n++] = (struct rinfo){ out->len, 0, ZF_ZFS_DRR_END, true };
		add_end(out, guid, be);
	}
	if (compound && (in_sub || s.v[last - 1].type == ZF_ZFS_DRR_END)) {
		s.v[s.n++] = (struct rinfo){ out->len, 0, ZF_ZFS_DRR_END, false };
		add_end(out, 0, be);
	}
	reseal((uint8_t *)out->data, &s, be);
	assert_memory_equal(out->data, raw.data, keep);
	err = (struct zf_err)ZF_ERR_INIT;
	s = (struct seen){ 0 };
	q = read_stream((uint8_t *)out->data, out->len, 4096, &s, &err);
	if (q < 0)
		fail_msg("%s closed: %s", name, err.msg);
}

/* in-memory ends for split and rebuild */
struct mem {
	struct zf_buf meta, data, out;
	size_t meta_at, data_at, piece;
};

static int out_meta(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	(void)err;
	zf_buf_add(&((struct mem *)userdata)->meta, p, n);
	return 0;
}

static int out_data(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	(void)err;
	zf_buf_add(&((struct mem *)userdata)->data, p, n);
	return 0;
}

static int out_stream(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	(void)err;
	zf_buf_add(&((struct mem *)userdata)->out, p, n);
	return 0;
}

static ssize_t take(const struct zf_buf *b, size_t *at, size_t piece, void *p, size_t n)
{
	size_t k = MIN(MIN(n, piece), b->len - *at);

	if (k == 0)
		return 0;         /* b->data may be NULL */
	memcpy(p, b->data + *at, k);
	*at += k;
	return (ssize_t)k;
}

static ssize_t in_meta(void *userdata, void *p, size_t n, struct zf_err *err)
{
	struct mem *m = userdata;

	(void)err;
	return take(&m->meta, &m->meta_at, m->piece, p, n);
}

static ssize_t in_data(void *userdata, void *p, size_t n, struct zf_err *err)
{
	struct mem *m = userdata;

	(void)err;
	return take(&m->data, &m->data_at, m->piece, p, n);
}

static void mem_release(struct mem *m)
{
	zf_buf_release(&m->meta);
	zf_buf_release(&m->data);
	zf_buf_release(&m->out);
}

static int split(const uint8_t *p, size_t n, size_t step, struct mem *m, struct zf_err *err)
{
	_cleanup_(zf_zfs_split_freep) struct zf_zfs_split *s =
		zf_zfs_split_new(out_meta, out_data, m);
	int q;

	zf_buf_reset(&m->meta);
	zf_buf_reset(&m->data);
	for (size_t i = 0; i < n; i += step)
		if ((q = zf_zfs_split_feed(s, p + i, MIN(step, n - i), err)) < 0)
			return q;
	return zf_zfs_split_finish(s, err);
}

static int rebuild(struct mem *m, size_t piece, struct zf_err *err)
{
	const struct zf_zfs_rebuild_io io = { in_meta, in_data, out_stream, m };

	m->meta_at = m->data_at = 0;
	m->piece = piece;
	zf_buf_reset(&m->out);
	return zf_zfs_rebuild(&io, err);
}

/* Split in pieces of `step`, rebuild, compare. */
static void round_trip(const char *what, const struct zf_buf *b, size_t step, struct mem *m)
{
	struct zf_err err = ZF_ERR_INIT;

	if (split((uint8_t *)b->data, b->len, step, m, &err) < 0)
		fail_msg("%s: split: %s", what, err.msg);
	assert_true(m->meta.len + m->data.len >= b->len + ZF_ZFS_META_PREAMBLE);
	if (rebuild(m, step, &err) < 0)
		fail_msg("%s: rebuild: %s", what, err.msg);
	assert_int_equal(m->out.len, b->len);
	assert_memory_equal(m->out.data, b->data, b->len);
}

static const char *const streams[] = {
	"clone.bin", "flags.bin", "full.bin", "holds.bin", "holds2.bin", "incr-I.bin",
	"incr.bin", "props-I.bin", "props.bin", "raw-props.bin", "raw.bin", "repl.bin",
	"resume.bin", "zvol-props.bin", "zvol.bin",
};

static void test_corpus(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT, raw = ZF_BUF_INIT;
	struct mem m = { 0 };
	uint64_t meta = 0, data = 0;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(streams); i++) {
		struct zf_err err = ZF_ERR_INIT;
		struct seen s = { 0 };
		int q;

		/* as cut: read clean up to the cut, then "truncated" */
		load(streams[i], &raw);
		q = read_stream((uint8_t *)raw.data, raw.len, 4096, &s, &err);
		if (streq(streams[i], "incr.bin"))
			assert_int_equal(q, 0);
		else if (q != -EBADMSG || !strstr(err.msg, "truncated"))
			fail_msg("%s: %d %s", streams[i], q, err.msg);

		closed(streams[i], &b);
		round_trip(streams[i], &b, 4096, &m);
		round_trip(streams[i], &b, 1, &m);
		round_trip(streams[i], &b, 313, &m);
		meta += m.meta.len;
		data += m.data.len;
	}
	print_message("corpus: meta %llu bytes, data %llu bytes\n", (unsigned long long)meta,
		      (unsigned long long)data);
	mem_release(&m);
}

/* A stream with every record type, in either byte order, built and sealed here. */
struct builder {
	struct zf_buf b;
	struct seen s;
	bool be;
	uint64_t guid;
};

static uint8_t *rec(struct builder *k, uint32_t type, uint64_t plen, bool sub)
{
	uint8_t h[RS] = { 0 };
	size_t at = k->b.len;

	put(h, type, 4, k->be);
	if (type != ZF_ZFS_DRR_BEGIN && sub)
		put(h + toguid_at[type], k->guid, 8, k->be);
	zf_buf_add(&k->b, h, RS);
	for (uint64_t i = 0; i < plen; i++)
		zf_buf_addc(&k->b, (char)(i * 7 + type));
	k->s.v[k->s.n++] = (struct rinfo){ at, plen, type, sub };
	return (uint8_t *)k->b.data + at;
}

static void begin(struct builder *k, uint32_t hdrtype, uint64_t plen, uint64_t guid)
{
	uint8_t *h;

	k->guid = guid;
	h = rec(k, ZF_ZFS_DRR_BEGIN, plen, hdrtype == 1);
	put(h + 4, plen, 4, k->be);
	put(h + 8, 0x2F5bacbacULL, 8, k->be);
	put(h + 16, hdrtype | (1u << 4), 8, k->be);
	put(h + 40, hdrtype == 1 ? guid : 0, 8, k->be);
	snprintf((char *)h + 56, 64, "pool/fs@s%llx", (unsigned long long)guid);
}

/* Each record type once (and the payload variants), in one substream. */
static void substream(struct builder *k, uint64_t guid, uint64_t bpl)
{
	uint8_t *h;
	bool be = k->be;

	begin(k, 1, bpl, guid);
	h = rec(k, ZF_ZFS_DRR_OBJECT_RANGE, 0, true);
	put(h + 8, 0, 8, be);
	h = rec(k, ZF_ZFS_DRR_OBJECT, 176, true);
	put(h + 28, 170, 4, be);                         /* bonuslen, rounded up to 176 */
	h = rec(k, ZF_ZFS_DRR_OBJECT, 320, true);
	put(h + 28, 300, 4, be);
	put(h + 36, 320, 4, be);                         /* raw_bonuslen wins */
	h = rec(k, ZF_ZFS_DRR_WRITE, 4096, true);
	put(h + 32, 4096, 8, be);
	h = rec(k, ZF_ZFS_DRR_WRITE, 1024, true);
	put(h + 32, 131072, 8, be);
	h[50] = 15;                                      /* compressed: compressed_size */
	put(h + 96, 1024, 8, be);
	h = rec(k, ZF_ZFS_DRR_FREE, 0, true);
	h = rec(k, ZF_ZFS_DRR_SPILL, 512, true);
	put(h + 16, 512, 8, be);
	h = rec(k, ZF_ZFS_DRR_SPILL, 256, true);
	put(h + 16, 512, 8, be);
	put(h + 40, 256, 8, be);
	h = rec(k, ZF_ZFS_DRR_WRITE_EMBEDDED, 40, true);
	put(h + 52, 37, 4, be);
	h = rec(k, ZF_ZFS_DRR_REDACT, 0, true);
	h = rec(k, ZF_ZFS_DRR_WRITE_BYREF, 0, true);
	h = rec(k, ZF_ZFS_DRR_FREEOBJECTS, 0, true);
	(void)h;
	rec(k, ZF_ZFS_DRR_END, 0, true);
}

static void build(struct builder *k, bool be, bool compound, uint64_t guid)
{
	zf_buf_reset(&k->b);
	k->s = (struct seen){ 0 };
	k->be = be;
	if (compound) {
		begin(k, 2, 96, 0);
		rec(k, ZF_ZFS_DRR_END, 0, false);
		substream(k, guid, 0);
		substream(k, guid + 1, 24);
		rec(k, ZF_ZFS_DRR_END, 0, false);
	} else {
		substream(k, guid, 0);
	}
	reseal((uint8_t *)k->b.data, &k->s, be);
}

static void test_built(void **state)
{
	struct builder k = { ZF_BUF_INIT };
	struct mem m = { 0 };

	(void)state;
	for (int be = 0; be < 2; be++)
		for (int compound = 0; compound < 2; compound++) {
			struct zf_err err = ZF_ERR_INIT;
			struct seen s = { 0 };

			build(&k, be, compound, 0x1234567890abcdefULL);
			if (read_stream((uint8_t *)k.b.data, k.b.len, 100, &s, &err) < 0)
				fail_msg("be %d compound %d: %s", be, compound, err.msg);
			assert_int_equal(s.n, k.s.n);
			for (size_t i = 0; i < s.n; i++) {
				assert_int_equal(s.v[i].off, k.s.v[i].off);
				assert_int_equal(s.v[i].plen, k.s.v[i].plen);
				assert_int_equal(s.v[i].type, k.s.v[i].type);
				assert_int_equal(s.v[i].sub, k.s.v[i].sub);
			}
			round_trip("built", &k.b, 4096, &m);
			round_trip("built", &k.b, 7, &m);
		}
	zf_buf_release(&k.b);
	mem_release(&m);
}

/* Every cut of a stream, at each record boundary and at random places, is an error. */
static void cuts(const struct zf_buf *b, const char *what)
{
	struct seen all = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	struct mem m = { 0 };

	assert_int_equal(read_stream((uint8_t *)b->data, b->len, 4096, &all, &err), 0);
	for (size_t i = 0; i <= all.n + 40; i++) {
		size_t cut = i < all.n ? all.v[i].off : (size_t)random() % b->len;
		struct seen s = { 0 };
		int q;

		err = (struct zf_err)ZF_ERR_INIT;
		q = read_stream((uint8_t *)b->data, cut, 1000, &s, &err);
		if (q != -EBADMSG || (!strstr(err.msg, "truncated") && !strstr(err.msg, "empty")))
			fail_msg("%s cut at %zu: %d %s", what, cut, q, err.msg);
		err = (struct zf_err)ZF_ERR_INIT;
		q = split((uint8_t *)b->data, cut, 1000, &m, &err);
		assert_int_equal(q, -EBADMSG);
	}
	/* a meta or data cut short fails the rebuild too */
	assert_int_equal(split((uint8_t *)b->data, b->len, 4096, &m, &err), 0);
	for (size_t i = 0; i < 20; i++) {
		size_t full = m.meta.len, fulld = m.data.len;
		int q;
		m.meta.len = (size_t)random() % full;
		err = (struct zf_err)ZF_ERR_INIT;
		q = rebuild(&m, 4096, &err);
		assert_true(q < 0);
		m.meta.len = full;
		if (fulld == 0)
			continue;
		m.data.len = (size_t)random() % fulld;
		err = (struct zf_err)ZF_ERR_INIT;
		q = rebuild(&m, 4096, &err);
		assert_true(q < 0);
		m.data.len = fulld;
	}
	mem_release(&m);
}

static void test_truncated(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct builder k = { ZF_BUF_INIT };

	(void)state;
	srandom(14);
	for (size_t i = 0; i < ELEMENTSOF(streams); i++) {
		closed(streams[i], &b);
		cuts(&b, streams[i]);
	}
	build(&k, true, true, 42);
	cuts(&k.b, "built");
	zf_buf_release(&k.b);
}

/* One flipped bit in meta or data: the rebuild fails, never gives other bytes. */
static void flips(const struct zf_buf *b, const char *what)
{
	struct zf_err err = ZF_ERR_INIT;
	struct mem m = { 0 };

	assert_int_equal(split((uint8_t *)b->data, b->len, 4096, &m, &err), 0);
	for (size_t i = 0; i < m.meta.len * 8; i += 29) {
		m.meta.data[i / 8] ^= (char)(1 << (i % 8));
		err = (struct zf_err)ZF_ERR_INIT;
		if (rebuild(&m, 4096, &err) >= 0)
			fail_msg("%s: meta bit %zu flipped, rebuild succeeded", what, i);
		m.meta.data[i / 8] ^= (char)(1 << (i % 8));
	}
	for (size_t i = 0; i < m.data.len * 8; i += 31) {
		m.data.data[i / 8] ^= (char)(1 << (i % 8));
		err = (struct zf_err)ZF_ERR_INIT;
		if (rebuild(&m, 4096, &err) >= 0)
			fail_msg("%s: data bit %zu flipped, rebuild succeeded", what, i);
		assert_true(err.code == -ZF_E_CORRUPT);
		m.data.data[i / 8] ^= (char)(1 << (i % 8));
	}
	/* and the untouched ones still rebuild */
	assert_int_equal(rebuild(&m, 4096, &err), 0);
	assert_memory_equal(m.out.data, b->data, b->len);
	mem_release(&m);
}

static void test_flipped(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct builder k = { ZF_BUF_INIT };

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(streams); i++) {
		closed(streams[i], &b);
		flips(&b, streams[i]);
	}
	for (int be = 0; be < 2; be++) {
		build(&k, be, true, 42);
		flips(&k.b, "built");
	}
	/* a bit flipped in the stream itself is named by the reader */
	closed("full.bin", &b);
	for (size_t i = 0; i < b.len * 8; i += 37) {
		struct zf_err err = ZF_ERR_INIT;
		struct seen s = { 0 };
		b.data[i / 8] ^= (char)(1 << (i % 8));
		if (read_stream((uint8_t *)b.data, b.len, 4096, &s, &err) >= 0)
			fail_msg("full.bin: stream bit %zu flipped, read clean", i);
		assert_non_null(strstr(err.msg, "zfs send stream: "));
		b.data[i / 8] ^= (char)(1 << (i % 8));
	}
	zf_buf_release(&k.b);
}

/* Sends that differ only in guid: same data, metas differ only where guids and sums are kept. */
static void guid_pair(const struct zf_buf *b, bool be, const char *what)
{
	_cleanup_buf_ struct zf_buf c = ZF_BUF_INIT;
	struct mem m1 = { 0 }, m2 = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	struct seen s = { 0 };
	size_t at = ZF_ZFS_META_PREAMBLE, kept = 0, differ = 0;

	assert_int_equal(read_stream((uint8_t *)b->data, b->len, 4096, &s, &err), 0);
	zf_buf_add(&c, b->data, b->len);
	for (size_t i = 0; i < s.n; i++) {
		uint8_t *h = (uint8_t *)c.data + s.v[i].off;
		if (s.v[i].sub)
			put(h + toguid_at[s.v[i].type], get(h + toguid_at[s.v[i].type], 8, be) ^
			    0x5a5a00ff00ff5a5aULL, 8, be);
	}
	reseal((uint8_t *)c.data, &s, be);
	assert_memory_not_equal(c.data, b->data, b->len);
	assert_int_equal(split((uint8_t *)b->data, b->len, 4096, &m1, &err), 0);
	assert_int_equal(split((uint8_t *)c.data, c.len, 4096, &m2, &err), 0);
	assert_int_equal(m1.data.len, m2.data.len);
	assert_memory_equal(m1.data.data, m2.data.data, m1.data.len);
	assert_int_equal(m1.meta.len, m2.meta.len);
	/* walk meta: the bytes after each BEGIN (guid) and END (checksum) may differ */
	for (size_t i = 0; i < s.n; i++) {
		size_t extra = s.v[i].type == ZF_ZFS_DRR_BEGIN ? 8 :
			       s.v[i].type == ZF_ZFS_DRR_END ? 32 : 0;
		assert_memory_equal(m1.meta.data + at, m2.meta.data + at, RS);
		at += RS;
		differ += memcmp(m1.meta.data + at, m2.meta.data + at, extra) != 0;
		kept += extra;
		at += extra;
		if (!(s.v[i].type == ZF_ZFS_DRR_WRITE || s.v[i].type == ZF_ZFS_DRR_SPILL ||
		      s.v[i].type == ZF_ZFS_DRR_WRITE_EMBEDDED)) {
			assert_memory_equal(m1.meta.data + at, m2.meta.data + at, s.v[i].plen);
			at += s.v[i].plen;
		}
	}
	assert_int_equal(at, m1.meta.len);
	assert_true(differ > 0);
	(void)kept;
	/* and each rebuilds to its own stream */
	assert_int_equal(rebuild(&m2, 4096, &err), 0);
	assert_memory_equal(m2.out.data, c.data, c.len);
	(void)what;
	mem_release(&m1);
	mem_release(&m2);
}

static void test_guid(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct builder k = { ZF_BUF_INIT };

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(streams); i++) {
		closed(streams[i], &b);
		guid_pair(&b, is_be((uint8_t *)b.data), streams[i]);
	}
	for (int be = 0; be < 2; be++) {
		build(&k, be, true, 7);
		guid_pair(&k.b, be, "built");
	}
	zf_buf_release(&k.b);
}

static int expect(const struct zf_buf *b, int code, const char *msg)
{
	struct zf_err err = ZF_ERR_INIT;
	struct seen s = { 0 };
	int q = read_stream((uint8_t *)b->data, b->len, 4096, &s, &err);

	if (q != code || !strstr(err.msg, msg))
		fail_msg("want %d '%s', got %d '%s'", code, msg, q, err.msg);
	return 0;
}

/* Hostile records: each refused with its record number, type and offset. */
static void test_hostile(void **state)
{
	struct builder k = { ZF_BUF_INIT };
	struct zf_err err = ZF_ERR_INIT;
	struct mem m = { 0 };
	uint8_t *h;

	(void)state;
	build(&k, false, false, 1);
	/* record 4 is the first WRITE, at 4 * 312 + 176 + 320 */
	assert_int_equal(k.s.v[4].type, ZF_ZFS_DRR_WRITE);
	h = (uint8_t *)k.b.data + k.s.v[4].off;
	h[300] ^= 1;
	expect(&k.b, -ZF_E_CORRUPT, "record 4 (WRITE) at byte 1744: checksum does not match");
	h[300] ^= 1;
	put(h + 32, ZF_ZFS_MAX_BLOCK + 512, 8, false);
	reseal((uint8_t *)k.b.data, &k.s, false);
	expect(&k.b, -E2BIG, "record 4 (WRITE) at byte 1744: logical size 16777728 over");
	put(h, 77, 4, false);
	reseal((uint8_t *)k.b.data, &k.s, false);
	expect(&k.b, -EBADMSG, "record 4 (?) at byte 1744: unknown record type 77");
	put(h, ZF_ZFS_DRR_BEGIN, 4, false);
	expect(&k.b, -EBADMSG, "record 4 (BEGIN) at byte 1744: no BEGIN magic");
	put(h + 8, 0x2F5bacbacULL, 8, false);
	put(h + 16, 1, 8, false);
	expect(&k.b, -EBADMSG, "BEGIN inside a substream");

	/* embedded payload over BPE_PAYLOAD_SIZE; bonus over a dnode */
	build(&k, true, false, 1);
	h = (uint8_t *)k.b.data + k.s.v[9].off;
	assert_int_equal(k.s.v[9].type, ZF_ZFS_DRR_WRITE_EMBEDDED);
	put(h + 52, 113, 4, true);
	reseal((uint8_t *)k.b.data, &k.s, true);
	expect(&k.b, -E2BIG, "record 9 (WRITE_EMBEDDED)");
	build(&k, true, false, 1);
	put((uint8_t *)k.b.data + k.s.v[2].off + 28, 20000, 4, true);
	reseal((uint8_t *)k.b.data, &k.s, true);
	expect(&k.b, -E2BIG, "record 2 (OBJECT)");

	/* a payload whose tail no checksum would cover */
	build(&k, false, false, 1);
	put((uint8_t *)k.b.data + k.s.v[7].off + 16, 510, 8, false);
	reseal((uint8_t *)k.b.data, &k.s, false);
	expect(&k.b, -EBADMSG, "record 7 (SPILL) at byte 7800: payload of 510 bytes, not whole");

	/* the END of a substream must sum it */
	build(&k, false, false, 1);
	h = (uint8_t *)k.b.data + k.s.v[k.s.n - 1].off;
	h[8] ^= 1;
	expect(&k.b, -ZF_E_CORRUPT, "(END)");

	/* compound structure: nested compound, no header END, a blank final END */
	build(&k, false, true, 1);
	h = (uint8_t *)k.b.data + k.s.v[2].off;
	put(h + 16, 2, 8, false);
	expect(&k.b, -EBADMSG, "record 2 (BEGIN) at byte 720: header type 2 inside a compound");
	build(&k, false, true, 1);
	h = (uint8_t *)k.b.data + k.s.v[k.s.n - 1].off;
	h[100] = 1;
	expect(&k.b, -EBADMSG, "final END of a compound stream is not blank");
	build(&k, false, true, 1);
	h = (uint8_t *)k.b.data + k.s.v[1].off;
	h[300] = 1;
	expect(&k.b, -EBADMSG, "record 1 (END) at byte 408: END of the compound header");
	h[300] = 0;
	h[8] ^= 1;
	expect(&k.b, -ZF_E_CORRUPT, "checksum of the compound header");

	/* not a stream, records outside a substream, bytes after the end */
	build(&k, false, false, 1);
	h = (uint8_t *)k.b.data;
	h[8] ^= 1;
	expect(&k.b, -EBADMSG, "record 0 (BEGIN) at byte 0: not a zfs send stream");
	h[8] ^= 1;
	zf_buf_add(&k.b, "x", 1);
	expect(&k.b, -EBADMSG, "1 bytes past the end of the stream");
	build(&k, false, true, 1);
	put((uint8_t *)k.b.data + k.s.v[1].off, ZF_ZFS_DRR_FREE, 4, false);
	expect(&k.b, -EBADMSG, "record 1 (FREE) at byte 408: outside a substream");

	/* a record with another guid cannot be split back to the same bytes */
	build(&k, false, false, 1);
	put((uint8_t *)k.b.data + k.s.v[6].off + 32, 99, 8, false);
	reseal((uint8_t *)k.b.data, &k.s, false);
	expect(&k.b, 0, "");
	assert_int_equal(split((uint8_t *)k.b.data, k.b.len, 4096, &m, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "record 6 (FREE)"));

	/* meta that is not ours */
	build(&k, false, false, 1);
	err = (struct zf_err)ZF_ERR_INIT;
	assert_int_equal(split((uint8_t *)k.b.data, k.b.len, 4096, &m, &err), 0);
	m.meta.data[9] = 2;
	assert_int_equal(rebuild(&m, 4096, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "version"));
	mem_release(&m);
	zf_buf_release(&k.b);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_built),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_flipped),
		cmocka_unit_test(test_guid),
		cmocka_unit_test(test_hostile),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	corpus = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
