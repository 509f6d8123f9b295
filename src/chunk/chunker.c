/* src/chunk/chunker.c — buzhash content-defined chunking, boundaries as casync's */
#include <stdio.h>
#include <string.h>
#include "chunk/buzhash-table.h"
#include "chunk/chunker.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

static inline uint32_t rol32(uint32_t x, unsigned k)
{
	k &= 31;
	return k ? (x << k) | (x >> (32 - k)) : x;
}

uint32_t zf_buzhash(const uint8_t *p, size_t n)
{
	uint32_t h = 0;

	for (size_t i = 0; i < n; i++)
		h = rol32(h, 1) ^ buzhash_table[p[i]];
	return h;
}

uint32_t zf_chunk_discriminator(uint64_t avg)
{
	double d = (double)avg / (-1.42888852e-7 * (double)avg + 1.33237515);

	/* the formula is casync's; outside (0, 2^32) it means nothing */
	if (!(d >= 1.0) || d >= 4294967296.0)
		return 0;
	return (uint32_t)d;
}

int zf_chunk_params_init(struct zf_chunk_params *p, uint64_t min, uint64_t avg, uint64_t max,
			 struct zf_err *err)
{
	uint32_t d;

	if (min < ZF_CHUNK_SIZE_LIMIT_MIN || max > ZF_CHUNK_SIZE_LIMIT_MAX)
		return zf_err_set(err, -EINVAL,
				  "chunk sizes %llu:%llu:%llu outside %u..%u bytes",
				  (unsigned long long)min, (unsigned long long)avg,
				  (unsigned long long)max, ZF_CHUNK_SIZE_LIMIT_MIN,
				  ZF_CHUNK_SIZE_LIMIT_MAX);
	if (min > avg || avg > max)
		return zf_err_set(err, -EINVAL,
				  "chunk sizes %llu:%llu:%llu not in order min <= avg <= max",
				  (unsigned long long)min, (unsigned long long)avg,
				  (unsigned long long)max);
	/*
	 * casync never lets the discriminator fall below min (found by
	 * experiment: with 16:16:64 and 47:48:49 its boundaries are those of
	 * discriminator = min, not of the formula's 12 and 36; with 1:1:1 every
	 * byte ends a chunk).
	 */
	d = zf_chunk_discriminator(avg);
	if (d == 0 && avg >= 2)
		return zf_err_set(err, -EINVAL, "average chunk size %llu too large (8M works)",
				  (unsigned long long)avg);
	if (d < min)
		d = (uint32_t)min;
	p->min = min;
	p->avg = avg;
	p->max = max;
	p->discriminator = d;
	/* Lemire's fast remainder: exact for 32-bit operands */
	p->fastmod = UINT64_MAX / d + 1;
	return 0;
}

void zf_chunk_params_default(struct zf_chunk_params *p)
{
	int r = zf_chunk_params_init(p, ZF_CHUNK_MIN_DEFAULT, ZF_CHUNK_AVG_DEFAULT,
				     ZF_CHUNK_MAX_DEFAULT, NULL);
	(void)r;
}

/*
 * h % d == d - 1, with one multiplication: h - (d - 1) divisible by d
 * (Lemire, Kaser and Kurz's test: for 32-bit n and d, n % d == 0 exactly
 * when n * m <= m - 1 in 64 bits, m = 2^64 / d rounded up).  h >= d - 1
 * keeps n from wrapping; h + 1 instead would need 33 bits, exact only
 * for d < 2^31, and d gets near 2^32 for an avg just below 9.3M.
 */
static inline bool is_boundary(uint32_t h, uint32_t want, uint64_t m)
{
	return (h >= want) & ((uint64_t)(h - want) * m <= m - 1);
}

size_t zf_chunker_find(const struct zf_chunk_params *p, const uint8_t *data, size_t n, bool eof)
{
	const uint32_t want = p->discriminator - 1;
	const uint64_t m = p->fastmod;
	size_t limit, k;
	uint32_t h, x;

	if (n == 0)
		return 0;
	limit = n < p->max ? n : (size_t)p->max;

	/*
	 * The hash only depends on the window, so the bytes before the first
	 * position that may end a chunk need not be hashed: start with the
	 * window that ends there.  A boundary needs a full window (casync
	 * tests only once 48 bytes of the chunk are in it) and k >= min.
	 */
	k = p->min > ZF_CHUNK_WINDOW ? (size_t)p->min : ZF_CHUNK_WINDOW;
	if (k <= limit) {
		h = zf_buzhash(data + k - ZF_CHUNK_WINDOW, ZF_CHUNK_WINDOW);
		for (;;) {
			if (_unlikely_(is_boundary(h, want, m)))
				return k;
			if (k == limit)
				break;
			/* out and in first: h's own chain is then one rotate, one xor */
			x = rol32(buzhash_table[data[k - ZF_CHUNK_WINDOW]], ZF_CHUNK_WINDOW) ^
			    buzhash_table[data[k]];
			h = rol32(h, 1) ^ x;
			k++;
		}
	}
	if (limit == p->max)
		return limit;
	return eof ? n : 0;
}

struct zf_chunk_reader {
	int fd;
	struct zf_chunk_params params;
	uint8_t *buf;
	size_t alloc, start, end;       /* unconsumed data is buf[start..end) */
	uint64_t offset;
	bool eof;
};

struct zf_chunk_reader *zf_chunk_reader_new(int fd, const struct zf_chunk_params *p)
{
	struct zf_chunk_reader *r = zf_xcalloc(1, sizeof(*r));

	r->fd = fd;
	r->params = *p;
	r->alloc = (size_t)p->max + 4 * 1024 * 1024;
	r->buf = zf_xmalloc(r->alloc);
	return r;
}

struct zf_chunk_reader *zf_chunk_reader_free(struct zf_chunk_reader *r)
{
	if (r) {
		free(r->buf);
		free(r);
	}
	return NULL;
}

uint64_t zf_chunk_reader_offset(const struct zf_chunk_reader *r)
{
	return r->offset;
}

static int fill(struct zf_chunk_reader *r, struct zf_err *err)
{
	ssize_t k;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	k = zf_read_full(r->fd, r->buf + r->end, r->alloc - r->end);
	if (k < 0)
		return zf_err_set(err, (int)k, "cannot read input: %s", strerror((int)-k));
	if ((size_t)k < r->alloc - r->end)
		r->eof = true;
	r->end += (size_t)k;
	return 0;
}

int zf_chunk_reader_next(struct zf_chunk_reader *r, const uint8_t **ret_p, size_t *ret_n,
			 struct zf_err *err)
{
	size_t len;

	for (;;) {
		size_t have = r->end - r->start;

		len = zf_chunker_find(&r->params, r->buf + r->start, have, r->eof);
		if (len > 0)
			break;
		if (r->eof)
			return 0;       /* have == 0 */
		int q = fill(r, err);
		if (q < 0)
			return q;
	}
	*ret_p = r->buf + r->start;
	*ret_n = len;
	r->start += len;
	r->offset += len;
	return 1;
}
