/* tests/unit/test-chunk-segment.c — parallel segments give the sequential chunker's boundaries */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "chunk/chunk.h"
#include "chunk/chunker.h"
#include "chunk/workq.h"
#include "chunk/segment.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"

enum fill { RANDOM, ZEROS, PERIOD_100, PERIOD_4099, MIXED };

static void fill(uint8_t *p, size_t n, enum fill how, uint64_t seed)
{
	uint64_t x = seed;

	for (size_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		switch (how) {
		case RANDOM:
			p[i] = (uint8_t)(x >> 56);
			break;
		case ZEROS:
			p[i] = 0;
			break;
		case PERIOD_100:
			p[i] = i < 100 ? (uint8_t)(x >> 56) : p[i - 100];
			break;
		case PERIOD_4099:
			p[i] = i < 4099 ? (uint8_t)(x >> 56) : p[i - 4099];
			break;
		case MIXED:
			/* random, then a long run of zeros, then random again */
			p[i] = (i / 20000) % 3 == 1 ? 0 : (uint8_t)(x >> 56);
			break;
		}
	}
}

/* A temporary file holding junk bytes, then data (the segment chunker starts at base). */
static int temp_file(const uint8_t *data, size_t n, size_t base)
{
	char path[] = "/tmp/zf-test-segment-XXXXXX";
	int fd = mkstemp(path);
	uint8_t junk[64];

	assert_true(fd >= 0);
	unlink(path);
	memset(junk, 0xa5, sizeof(junk));
	for (size_t i = 0; i < base; i += sizeof(junk))
		assert_int_equal(zf_write_full(fd, junk, MIN(sizeof(junk), base - i)), 0);
	assert_int_equal(zf_write_full(fd, data, n), 0);
	return fd;
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* The workers' fn: a checksum of the data it was handed, and that it ran at all. */
static int hash_fn(struct zf_seg_chunk *c, const uint8_t *data, struct zf_workq_worker *w,
		   void *userdata, struct zf_err *err)
{
	(void)userdata;
	(void)err;
	(void)w;
	c->aux = fnv(data, c->n);
	c->flags = 1;
	return 0;
}

/*
 * Every chunk the segment chunker returns is the sequential chunker's next
 * one, and fn saw its data.
 */
static void check(const uint8_t *data, size_t n, const struct zf_chunk_params *p,
		  unsigned threads, size_t seg_size, size_t base)
{
	/* declared first, closed last: after the workers are gone */
	_cleanup_close_ int fd = temp_file(data, n, base);
	_cleanup_(zf_seg_chunker_freep) struct zf_seg_chunker *c = NULL;
	const struct zf_seg_chunk *ch;
	size_t pos = 0, chunks = 0;

	c = zf_seg_chunker_new(fd, base, n, p, threads, seg_size, hash_fn, NULL);
	for (;;) {
		size_t want;
		int k = zf_seg_chunker_next(c, &ch, NULL);

		assert_true(k >= 0);
		if (k == 0)
			break;
		want = zf_chunker_find(p, data + pos, n - pos, true);
		if (ch->offset != pos || ch->n != want)
			fail_msg("size %zu seg %zu threads %u: chunk %zu at %llu+%zu, want %zu+%zu",
				 n, seg_size, threads, chunks, (unsigned long long)ch->offset,
				 ch->n, pos, want);
		assert_int_equal(ch->flags, 1);
		assert_true(ch->aux == fnv(data + pos, want));
		pos += ch->n;
		chunks++;
	}
	assert_int_equal(pos, n);
	/* and it stays at the end */
	assert_int_equal(zf_seg_chunker_next(c, &ch, NULL), 0);
}

/* Boundaries only (fn NULL), with one thread per CPU. */
static void test_no_fn(void **state)
{
	_cleanup_close_ int fd = -EBADF;     /* closed after c is freed */
	_cleanup_(zf_seg_chunker_freep) struct zf_seg_chunker *c = NULL;
	const size_t n = 100000;
	_cleanup_free_ uint8_t *data = zf_xmalloc(n);
	const struct zf_seg_chunk *ch;
	struct zf_chunk_params p;
	size_t pos = 0;
	int k;
	(void)state;

	fill(data, n, RANDOM, 11);
	fd = temp_file(data, n, 0);
	assert_int_equal(zf_chunk_params_init(&p, 64, 256, 1024, NULL), 0);
	c = zf_seg_chunker_new(fd, 0, n, &p, 0, 3000, NULL, NULL);
	while ((k = zf_seg_chunker_next(c, &ch, NULL)) > 0) {
		assert_int_equal(ch->offset, pos);
		assert_int_equal(ch->n, zf_chunker_find(&p, data + pos, n - pos, true));
		pos += ch->n;
	}
	assert_int_equal(k, 0);
	assert_int_equal(pos, n);
}

/* fn failing in one segment fails the run with its error. */
static int fail_fn(struct zf_seg_chunk *c, const uint8_t *data, struct zf_workq_worker *w,
		   void *userdata, struct zf_err *err)
{
	(void)data;
	(void)w;
	if (c->offset >= *(const uint64_t *)userdata)
		return zf_err_set(err, -ENOSPC, "no room for chunk at %llu",
				  (unsigned long long)c->offset);
	return 0;
}

static void test_fn_fails(void **state)
{
	_cleanup_close_ int fd = -EBADF;     /* closed after c is freed */
	_cleanup_(zf_seg_chunker_freep) struct zf_seg_chunker *c = NULL;
	const size_t n = 200000;
	_cleanup_free_ uint8_t *data = zf_xmalloc(n);
	const struct zf_seg_chunk *ch;
	struct zf_chunk_params p;
	struct zf_err err = ZF_ERR_INIT;
	uint64_t bad = 50000;
	int k;
	(void)state;

	fill(data, n, RANDOM, 12);
	fd = temp_file(data, n, 0);
	assert_int_equal(zf_chunk_params_init(&p, 64, 256, 1024, NULL), 0);
	c = zf_seg_chunker_new(fd, 0, n, &p, 3, 4000, fail_fn, &bad);
	while ((k = zf_seg_chunker_next(c, &ch, &err)) > 0)
		assert_true(ch->offset < bad);
	assert_int_equal(k, -ENOSPC);
	assert_non_null(strstr(err.msg, "no room for chunk at"));
}

static void check_all(enum fill how, uint64_t min, uint64_t avg, uint64_t max)
{
	static const size_t segs[] = { 1, 1000, 4096, 10007, 65536 };
	struct zf_chunk_params p;
	const size_t total = 300000;
	_cleanup_free_ uint8_t *data = zf_xmalloc(total);

	assert_int_equal(zf_chunk_params_init(&p, min, avg, max, NULL), 0);
	fill(data, total, how, min * 31 + max);
	for (size_t s = 0; s < ELEMENTSOF(segs); s++) {
		size_t seg = MAX(segs[s], (size_t)max);
		/* sizes around segment edges, and a larger one */
		const size_t sizes[] = { 0, 1, seg - 1, seg, seg + 1, 2 * seg - 1, 2 * seg,
					 2 * seg + 1, 3 * seg + 47, total };

		for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
			if (sizes[i] > total)
				continue;
			check(data, sizes[i], &p, 2, seg, 0);
			check(data, sizes[i], &p, 3, seg, 0);
		}
	}
	check(data, total, &p, 1, 5000, 0);
	check(data, total, &p, 2, 7777, 123);       /* input starting at an offset */
}

static void test_random(void **state)
{
	(void)state;
	check_all(RANDOM, 64, 256, 1024);
	check_all(RANDOM, 1024, 4096, 16384);
	check_all(RANDOM, 16, 16, 64);             /* min below the window */
	check_all(RANDOM, 100, 2000, 2001);        /* cut at max most of the time */
}

static void test_repetitive(void **state)
{
	(void)state;
	check_all(ZEROS, 64, 256, 1024);           /* never resynchronises */
	check_all(PERIOD_100, 64, 256, 1024);
	check_all(PERIOD_4099, 64, 256, 1024);
	check_all(PERIOD_4099, 1024, 4096, 16384);
	check_all(MIXED, 64, 256, 1024);
	check_all(MIXED, 1000, 3000, 9000);
}

/* The default parameters over a few segments of the default size. */
static void test_default_size(void **state)
{
	const size_t n = 3 * ZF_SEG_SIZE_DEFAULT + 12345;
	_cleanup_free_ uint8_t *data = zf_xmalloc(n);
	struct zf_chunk_params p;
	(void)state;

	zf_chunk_params_default(&p);
	fill(data, n, RANDOM, 7);
	check(data, n, &p, 2, ZF_SEG_SIZE_DEFAULT, 0);
	fill(data, n, MIXED, 7);
	check(data, n, &p, 4, ZF_SEG_SIZE_DEFAULT, 0);
}

/* A file shorter than promised is an error, not a short index. */
static void test_shrunk(void **state)
{
	_cleanup_close_ int fd = -EBADF;     /* closed after c is freed */
	_cleanup_(zf_seg_chunker_freep) struct zf_seg_chunker *c = NULL;
	uint8_t data[20000];
	struct zf_chunk_params p;
	struct zf_err err = ZF_ERR_INIT;
	const struct zf_seg_chunk *ch;
	int k;
	(void)state;

	fill(data, sizeof(data), RANDOM, 3);
	fd = temp_file(data, sizeof(data), 0);
	assert_int_equal(zf_chunk_params_init(&p, 64, 256, 1024, NULL), 0);
	c = zf_seg_chunker_new(fd, 0, 40000, &p, 2, 4096, hash_fn, NULL);
	while ((k = zf_seg_chunker_next(c, &ch, &err)) > 0)
		assert_true(ch->offset + ch->n <= sizeof(data));
	assert_int_equal(k, -EIO);
	assert_non_null(strstr(err.msg, "shrank"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_repetitive),
		cmocka_unit_test(test_default_size),
		cmocka_unit_test(test_shrunk),
		cmocka_unit_test(test_no_fn),
		cmocka_unit_test(test_fn_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
