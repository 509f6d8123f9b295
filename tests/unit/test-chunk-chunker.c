/* tests/unit/test-chunk-chunker.c — buzhash, discriminator, boundaries, ids, .cacnk codec */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "chunk/chunk.h"
#include "chunk/chunker.h"
#include "chunk/index.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"

#define LCG_SIZE (1u << 20)

/* The same bytes as the Python one-liner the expected values came from. */
static uint8_t *lcg_data(void)
{
	uint8_t *p = zf_xmalloc(LCG_SIZE);
	uint64_t x = 1;

	for (size_t i = 0; i < LCG_SIZE; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(x >> 56);
	}
	return p;
}

static void test_buzhash(void **state)
{
	uint8_t b[48];
	(void)state;

	for (int i = 0; i < 48; i++)
		b[i] = (uint8_t)i;
	/* values from an independent Python model over casync's table */
	assert_int_equal(zf_buzhash(b, 48), 0x6b67dec6);
	memset(b, 0, sizeof(b));
	assert_int_equal(zf_buzhash(b, 48), 0x9e489e48);
}

static void test_discriminator(void **state)
{
	struct zf_chunk_params p;
	(void)state;

	assert_int_equal(zf_chunk_discriminator(65536), 49535);
	assert_int_equal(zf_chunk_discriminator(1000), 750);
	assert_int_equal(zf_chunk_discriminator(16), 12);
	assert_int_equal(zf_chunk_params_init(&p, 16, 16, 64, NULL), 0);
	assert_int_equal(p.discriminator, 16);    /* raised to min, as casync does */
	assert_int_equal(zf_chunk_params_init(&p, 1, 1, 1, NULL), 0);
	assert_int_equal(p.discriminator, 1);
	zf_chunk_params_default(&p);
	assert_int_equal(p.min, 16384);
	assert_int_equal(p.avg, 65536);
	assert_int_equal(p.max, 262144);
	assert_int_equal(p.discriminator, 49535);
}

static void test_params_invalid(void **state)
{
	struct zf_chunk_params p;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_chunk_params_init(&p, 0, 64, 256, NULL), -EINVAL);
	assert_int_equal(zf_chunk_params_init(&p, 100, 50, 200, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "min <= avg <= max"));
	assert_int_equal(zf_chunk_params_init(&p, 1, 2, 200u << 20, NULL), -EINVAL);
	assert_int_equal(zf_chunk_params_init(&p, 1, 100u << 20, 120u << 20, NULL), -EINVAL);
}

static void test_find_edges(void **state)
{
	struct zf_chunk_params p;
	uint8_t buf[4096] = { 0 };
	(void)state;

	zf_chunk_params_default(&p);
	assert_int_equal(zf_chunker_find(&p, buf, 0, true), 0);
	assert_int_equal(zf_chunker_find(&p, buf, 0, false), 0);
	assert_int_equal(zf_chunker_find(&p, buf, 1, true), 1);
	assert_int_equal(zf_chunker_find(&p, buf, 47, true), 47);
	assert_int_equal(zf_chunker_find(&p, buf, 48, true), 48);
	assert_int_equal(zf_chunker_find(&p, buf, 4096, false), 0);     /* needs more */
	assert_int_equal(zf_chunk_params_init(&p, 2, 2, 2, NULL), 0);
	assert_int_equal(zf_chunker_find(&p, buf, 4096, false), 2);     /* max < window */
	assert_int_equal(zf_chunk_params_init(&p, 64, 128, 192, NULL), 0);
	assert_int_equal(zf_chunker_find(&p, buf, 4096, false), 192);   /* zeros never match */
}

/* The definition in chunker.h, spelt out: no rolling, a plain remainder. */
static size_t naive_find(const struct zf_chunk_params *p, const uint8_t *data, size_t n)
{
	size_t limit = MIN(n, (size_t)p->max);

	for (size_t k = MAX((size_t)p->min, (size_t)ZF_CHUNK_WINDOW); k <= limit; k++)
		if (zf_buzhash(data + k - ZF_CHUNK_WINDOW, ZF_CHUNK_WINDOW) % p->discriminator ==
		    p->discriminator - 1)
			return k;
	return limit;
}

/* The rolling hash and the one-multiplication boundary test agree with it. */
static void test_find_naive(void **state)
{
	static const uint64_t sizes[][3] = {
		{ 64, 256, 1024 },      /* d = 192 */
		{ 16, 16, 64 },         /* d = min = 16, a power of two */
		{ 1, 1, 1 },            /* d = 1: every byte */
		{ 100, 1000, 5000 },
		{ 1024, 4096, 16384 },
		{ 48, 100000, 300000 }, /* large d */
	};
	_cleanup_free_ uint8_t *data = lcg_data();
	const size_t n = 200000;
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		struct zf_chunk_params p;
		size_t pos = 0;

		assert_int_equal(zf_chunk_params_init(&p, sizes[i][0], sizes[i][1], sizes[i][2],
						      NULL), 0);
		while (pos < n) {
			size_t k = zf_chunker_find(&p, data + pos, n - pos, true);

			assert_int_equal(k, naive_find(&p, data + pos, n - pos));
			pos += k;
		}
	}
}

/* Boundaries of casync 2 `make` for the LCG data. */
static void test_find_casync(void **state)
{
	static const size_t ends[] = { 18247, 154840, 215596, 266832, 307764, 326684,
				       496597, 545715, 567548, 666706, 691823, 798951 };
	_cleanup_free_ uint8_t *data = lcg_data();
	struct zf_chunk_params p;
	size_t pos = 0, n = 0;
	(void)state;

	zf_chunk_params_default(&p);
	while (pos < LCG_SIZE) {
		size_t k = zf_chunker_find(&p, data + pos, LCG_SIZE - pos, true);
		assert_true(k > 0);
		pos += k;
		if (n < ELEMENTSOF(ends))
			assert_int_equal(pos, ends[n]);
		n++;
	}
	assert_int_equal(n, 17);
}

/* The whole index, against the SHA512/256 of the file casync wrote for the same data. */
static void check_index(const struct zf_chunk_params *p, size_t want_len, const char *want_hash)
{
	_cleanup_(zf_index_writer_freep) struct zf_index_writer *w = NULL;
	_cleanup_free_ uint8_t *data = lcg_data();
	struct zf_chunk_id id;
	char hex[ZF_CHUNK_ID_HEX];
	const uint8_t *bytes;
	size_t pos = 0, n;

	assert_int_equal(zf_index_writer_new(NULL, p, &w, NULL), 0);
	while (pos < LCG_SIZE) {
		size_t k = zf_chunker_find(p, data + pos, LCG_SIZE - pos, true);
		zf_chunk_id_hash(NULL, data + pos, k, &id);
		assert_int_equal(zf_index_writer_add(w, &id, k, NULL), 0);
		pos += k;
	}
	assert_int_equal(zf_index_writer_finish(w, NULL), 0);
	bytes = zf_index_writer_data(w, &n);
	assert_int_equal(n, want_len);
	zf_chunk_id_hash(NULL, bytes, n, &id);
	assert_string_equal(zf_chunk_id_hex(&id, hex), want_hash);
}

static void test_index_casync(void **state)
{
	struct zf_chunk_params p;
	(void)state;

	zf_chunk_params_default(&p);
	check_index(&p, 784, "24e8aadc3682a3cefc04839590d90d17d3310e6797e85b9df09cfaf012c553f0");
	assert_int_equal(zf_chunk_params_init(&p, 1024, 4096, 16384, NULL), 0);
	check_index(&p, 10264, "aad052304f91538247893a7619d0c2d9715053fff22f5d2997bcfd41ba68d223");
}

/* The reader cuts a pipe exactly where find() cuts the whole buffer. */
static void test_reader_pipe(void **state)
{
	_cleanup_free_ uint8_t *data = lcg_data();
	_cleanup_(zf_chunk_reader_freep) struct zf_chunk_reader *r = NULL;
	struct zf_chunk_params p;
	int fds[2];
	pid_t pid;
	size_t pos = 0;
	(void)state;

	assert_int_equal(zf_chunk_params_init(&p, 1024, 4096, 16384, NULL), 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		/* dribble it in odd pieces */
		for (size_t off = 0; off < LCG_SIZE; off += 777)
			if (zf_write_full(fds[1], data + off, MIN((size_t)777, LCG_SIZE - off)) < 0)
				_exit(1);
		_exit(0);
	}
	close(fds[1]);
	r = zf_chunk_reader_new(fds[0], &p);
	for (;;) {
		const uint8_t *c;
		size_t n, want;
		int k = zf_chunk_reader_next(r, &c, &n, NULL);

		assert_true(k >= 0);
		if (k == 0)
			break;
		want = zf_chunker_find(&p, data + pos, LCG_SIZE - pos, true);
		assert_int_equal(n, want);
		assert_memory_equal(c, data + pos, n);
		assert_true(n <= p.max);
		pos += n;
		if (pos < LCG_SIZE)
			assert_true(n >= p.min);
	}
	assert_int_equal(pos, LCG_SIZE);
	close(fds[0]);
}

static void test_chunk_id(void **state)
{
	struct zf_chunk_id id, id2;
	char hex[ZF_CHUNK_ID_HEX];
	(void)state;

	zf_chunk_id_hash(NULL, "abc", 3, &id);
	assert_string_equal(zf_chunk_id_hex(&id, hex),
			    "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
	assert_int_equal(zf_chunk_id_parse(hex, &id2), 0);
	assert_true(zf_chunk_id_eq(&id, &id2));
	assert_int_equal(zf_chunk_id_parse("53048E2681941EF99B2E29B76B4C7DABE4C2D0C634FC6D46E0E2F13107E7AF23",
					   &id2), 0);
	assert_true(zf_chunk_id_eq(&id, &id2));
	assert_int_equal(zf_chunk_id_parse("53048e", &id2), -EINVAL);
	hex[10] = 'g';
	assert_int_equal(zf_chunk_id_parse(hex, &id2), -EINVAL);
}

static void test_cacnk(void **state)
{
	_cleanup_free_ uint8_t *data = lcg_data();
	_cleanup_(zf_chunk_ctx_freep) struct zf_chunk_ctx *ctx = zf_chunk_ctx_new();
	_cleanup_buf_ struct zf_buf enc = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf two = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf dec = ZF_BUF_INIT;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_cacnk_encode(ctx, data, 100000, &enc, NULL), 0);
	assert_int_equal(zf_cacnk_decode(ctx, (uint8_t *)enc.data, enc.len, 100000, &dec, NULL), 0);
	assert_int_equal(dec.len, 100000);
	assert_memory_equal(dec.data, data, 100000);
	/* more than max */
	assert_int_equal(zf_cacnk_decode(ctx, (uint8_t *)enc.data, enc.len, 99999, &dec, &err),
			 -EBADMSG);
	assert_non_null(strstr(err.msg, "more than 99999"));
	/* truncated, garbage, empty */
	zf_err_clear(&err);
	assert_int_equal(zf_cacnk_decode(ctx, (uint8_t *)enc.data, enc.len - 10, 100000, &dec,
					 &err), -EBADMSG);
	zf_err_clear(&err);
	assert_int_equal(zf_cacnk_decode(ctx, data, 5000, 100000, &dec, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "not valid zstd"));
	assert_int_equal(zf_cacnk_decode(ctx, data, 0, 100000, &dec, NULL), -EBADMSG);
	/* two frames are one valid chunk */
	assert_int_equal(zf_cacnk_encode(ctx, data, 1000, &two, NULL), 0);
	assert_int_equal(zf_cacnk_encode(ctx, data + 1000, 1000, &two, NULL), 0);
	assert_int_equal(zf_cacnk_decode(ctx, (uint8_t *)two.data, two.len, 4096, &dec, NULL), 0);
	assert_int_equal(dec.len, 2000);
	assert_memory_equal(dec.data, data, 2000);
	/* empty chunk content round-trips */
	zf_buf_reset(&enc);
	assert_int_equal(zf_cacnk_encode(NULL, data, 0, &enc, NULL), 0);
	assert_int_equal(zf_cacnk_decode(NULL, (uint8_t *)enc.data, enc.len, 10, &dec, NULL), 0);
	assert_int_equal(dec.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buzhash),
		cmocka_unit_test(test_discriminator),
		cmocka_unit_test(test_params_invalid),
		cmocka_unit_test(test_find_edges),
		cmocka_unit_test(test_find_casync),
		cmocka_unit_test(test_find_naive),
		cmocka_unit_test(test_index_casync),
		cmocka_unit_test(test_reader_pipe),
		cmocka_unit_test(test_chunk_id),
		cmocka_unit_test(test_cacnk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
