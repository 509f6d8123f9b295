/* tests/unit/test-chunk-index.c — .caibx reader and writer, malformed inputs */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include "chunk/index.h"
#include "util/alloc.h"
#include "util/err.h"

/* An index of n chunks of the given sizes, in memory; returns its bytes. */
static uint8_t *make_index(const struct zf_chunk_params *p, const uint64_t *sizes, size_t n,
			   size_t *ret_len)
{
	_cleanup_(zf_index_writer_freep) struct zf_index_writer *w = NULL;
	const uint8_t *d;
	uint8_t *copy;

	assert_int_equal(zf_index_writer_new(NULL, p, &w, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		struct zf_chunk_id id;
		memset(id.b, (int)i + 1, sizeof(id.b));
		assert_int_equal(zf_index_writer_add(w, &id, sizes[i], NULL), 0);
	}
	assert_int_equal(zf_index_writer_finish(w, NULL), 0);
	d = zf_index_writer_data(w, ret_len);
	copy = zf_xmalloc(*ret_len);
	memcpy(copy, d, *ret_len);
	return copy;
}

/* Reads the whole index: number of entries, or the error. */
static int read_all(const uint8_t *p, size_t n, struct zf_err *err)
{
	_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
	int r, count = 0;

	r = zf_index_open_mem(p, n, &idx, err);
	if (r < 0)
		return r;
	for (;;) {
		struct zf_chunk_id id;
		uint64_t off, size;

		r = zf_index_next(idx, &id, &off, &size, err);
		if (r < 0)
			return r;
		if (r == 0)
			return count;
		count++;
	}
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static void test_roundtrip(void **state)
{
	static const uint64_t sizes[] = { 16384, 262144, 70000, 5 };
	_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
	_cleanup_free_ uint8_t *p = NULL;
	struct zf_chunk_params params;
	struct zf_chunk_id id;
	uint64_t off, size, want_off = 0;
	size_t n;
	(void)state;

	zf_chunk_params_default(&params);
	p = make_index(&params, sizes, 4, &n);
	assert_int_equal(n, 48 + 16 + 4 * 40 + 40);
	assert_int_equal(zf_index_open_mem(p, n, &idx, NULL), 0);
	assert_true(zf_index_info(idx)->features == ZF_CAFORMAT_BLOB_FEATURES);
	assert_int_equal(zf_index_info(idx)->avg, 65536);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(zf_index_next(idx, &id, &off, &size, NULL), 1);
		assert_int_equal(off, want_off);
		assert_int_equal(size, sizes[i]);
		assert_int_equal(id.b[0], i + 1);
		want_off += size;
	}
	assert_int_equal(zf_index_next(idx, &id, &off, &size, NULL), 0);
	assert_int_equal(zf_index_next(idx, &id, &off, &size, NULL), 0);
}

static void test_empty(void **state)
{
	struct zf_chunk_params params;
	_cleanup_free_ uint8_t *p = NULL;
	size_t n;
	(void)state;

	zf_chunk_params_default(&params);
	p = make_index(&params, NULL, 0, &n);
	assert_int_equal(n, 104);
	assert_int_equal(read_all(p, n, NULL), 0);
}

static void test_truncated(void **state)
{
	static const uint64_t sizes[] = { 20000, 30000, 100 };
	struct zf_chunk_params params;
	_cleanup_free_ uint8_t *p = NULL;
	size_t n;
	(void)state;

	zf_chunk_params_default(&params);
	p = make_index(&params, sizes, 3, &n);
	assert_int_equal(read_all(p, n, NULL), 3);
	for (size_t k = 0; k < n; k++) {
		struct zf_err err = ZF_ERR_INIT;
		assert_int_equal(read_all(p, k, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, k < 64 ? "header" : "truncated"));
	}
}

static void test_malformed(void **state)
{
	static const uint64_t sizes[] = { 20000, 30000, 100 };
	struct zf_chunk_params params;
	_cleanup_free_ uint8_t *p = NULL;
	_cleanup_free_ uint8_t *q = NULL;
	struct zf_err err = ZF_ERR_INIT;
	size_t n;
	(void)state;

	zf_chunk_params_default(&params);
	p = make_index(&params, sizes, 3, &n);
	q = zf_xmalloc(n + 1);

#define MUTATE(off, val, want, text)                                            \
	do {                                                                    \
		memcpy(q, p, n);                                                \
		put64(q + (off), (val));                                        \
		zf_err_clear(&err);                                             \
		assert_int_equal(read_all(q, n, &err), (want));                 \
		assert_non_null(strstr(err.msg, (text)));                       \
	} while (0)

	MUTATE(0, 49, -EBADMSG, "not a casync index");
	MUTATE(8, 1, -EBADMSG, "not a casync index");
	MUTATE(16, 0, -ENOTSUP, "SHA256");
	MUTATE(24, 0, -EINVAL, "outside");
	MUTATE(24, 70000, -EINVAL, "not in order");
	MUTATE(40, 1u << 30, -EINVAL, "outside");
	MUTATE(48, 5, -EBADMSG, "table header");
	MUTATE(64 + 40, 20000, -EBADMSG, "not after");         /* second end == first */
	MUTATE(64 + 40, 10000, -EBADMSG, "not after");
	MUTATE(64 + 40, 20000 + 262145, -EBADMSG, "above max");
	MUTATE(64, 100, -EBADMSG, "below min");                 /* small chunk not last */
	MUTATE(64 + 3 * 40 + 16, 40, -EBADMSG, "table tail");
	MUTATE(64 + 3 * 40 + 24, 7, -EBADMSG, "table tail");
	MUTATE(64 + 3 * 40 + 32, 7, -EBADMSG, "table tail");
	MUTATE(64 + 3 * 40 + 8, 1, -EBADMSG, "table tail");

	/* trailing garbage */
	memcpy(q, p, n);
	q[n] = 0;
	zf_err_clear(&err);
	assert_int_equal(read_all(q, n + 1, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "trailing"));
}

static void test_file(void **state)
{
	static const uint64_t sizes[] = { 20000, 30000, 100 };
	char dir[] = "/tmp/zf-test-index-XXXXXX";
	_cleanup_(zf_index_writer_freep) struct zf_index_writer *w = NULL;
	_cleanup_free_ char *path = NULL;
	struct zf_chunk_params params;
	struct zf_chunk_id id = { { 0 } };
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_non_null(mkdtemp(dir));
	path = zf_xasprintf("%s/a.caibx", dir);
	zf_chunk_params_default(&params);
	assert_int_equal(zf_index_writer_new(path, &params, &w, NULL), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(zf_index_writer_add(w, &id, sizes[i], NULL), 0);
	/* not visible before finish */
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(zf_index_writer_finish(w, NULL), 0);
	w = zf_index_writer_free(w);
	{
		_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
		uint64_t off, size;
		int k = 0;
		assert_int_equal(zf_index_open_read(path, &idx, NULL), 0);
		while (zf_index_next(idx, &id, &off, &size, NULL) == 1)
			k++;
		assert_int_equal(k, 3);
	}
	/* an unfinished writer leaves nothing behind */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(zf_index_writer_new(path, &params, &w, NULL), 0);
	w = zf_index_writer_free(w);
	assert_int_equal(rmdir(dir), 0);
	{
		struct zf_index *idx = NULL;
		assert_int_equal(zf_index_open_read(path, &idx, &err), -ENOENT);
		assert_non_null(strstr(err.msg, "cannot open index"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
