/* tests/unit/test-util-helpers.c — the one-home helpers: JSON writer, numbers, hex, clock, error copies */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/json.h"
#include "util/num.h"

static void test_json_nesting(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_json j = ZF_JSON_INIT(&b);
	(void)state;

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "name", "tank/a");
	zf_json_key(&j, "empty");
	zf_json_array_begin(&j);
	zf_json_array_end(&j);
	zf_json_key(&j, "list");
	zf_json_array_begin(&j);
	zf_json_u64(&j, 1);
	zf_json_object_begin(&j);
	zf_json_object_end(&j);
	zf_json_array_begin(&j);
	zf_json_null(&j);
	zf_json_bool(&j, false);
	zf_json_array_end(&j);
	zf_json_str(&j, NULL);
	zf_json_array_end(&j);
	zf_json_key_bool(&j, "ok", true);
	zf_json_key_u64_str(&j, "guid", UINT64_MAX);
	zf_json_object_end(&j);
	zf_json_newline(&j);
	assert_string_equal(b.data, "{\"name\":\"tank/a\",\"empty\":[],\"list\":[1,{},[null,false],"
				    "null],\"ok\":true,\"guid\":\"18446744073709551615\"}\n");
}

static void test_json_finish(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_json j = ZF_JSON_INIT(&b);
	(void)state;

	zf_json_object_begin(&j);
	zf_json_key_array_begin(&j, "a");
	zf_json_object_begin(&j);
	zf_json_key_object_begin(&j, "b");
	zf_json_key_u64(&j, "c", 1);
	zf_json_finish(&j);
	assert_string_equal(b.data, "{\"a\":[{\"b\":{\"c\":1}}]}\n");
	assert_int_equal(j.depth, 0);
}

static void test_json_numbers(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_json j = ZF_JSON_INIT(&b);
	(void)state;

	zf_json_array_begin(&j);
	zf_json_u64(&j, 0);
	zf_json_u64(&j, UINT64_MAX);
	zf_json_i64(&j, INT64_MIN);
	zf_json_i64(&j, -1);
	zf_json_fixed(&j, 1.0, 3);
	zf_json_fixed(&j, 2.0 / 3.0, 3);
	zf_json_fixed(&j, 0.5, 0);
	zf_json_array_end(&j);
	assert_string_equal(b.data, "[0,18446744073709551615,-9223372036854775808,-1,1.000,0.667,"
				    "0]");
}

static void test_json_escapes(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_json j = ZF_JSON_INIT(&b);
	(void)state;

	zf_json_object_begin(&j);
	/* quote, backslash, the named controls, other controls as \u, DEL and UTF-8 as is */
	zf_json_key_str(&j, "k\"\\", "a\"b\\c\nd\re\tf\x01g\x1fh\x7fi é ✓");
	zf_json_object_end(&j);
	assert_string_equal(b.data, "{\"k\\\"\\\\\":\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fh\x7fi é ✓\"}");
}

static void test_json_raw(void **state)
{
	_cleanup_buf_ struct zf_buf inner = ZF_BUF_INIT, b = ZF_BUF_INIT;
	struct zf_json items = ZF_JSON_INIT(&inner), j = ZF_JSON_INIT(&b);
	(void)state;

	zf_json_array_begin(&items);
	zf_json_str(&items, "x");
	zf_json_str(&items, "y");
	zf_json_array_end(&items);
	zf_json_object_begin(&j);
	zf_json_key_u64(&j, "n", 2);
	zf_json_key(&j, "items");
	zf_json_raw(&j, zf_buf_str(&inner));
	zf_json_object_end(&j);
	assert_string_equal(b.data, "{\"n\":2,\"items\":[\"x\",\"y\"]}");
}

static void test_json_file(void **state)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;

	f = open_memstream(&text, &len);
	assert_non_null(f);
	zf_json_init_file(&j, f);
	zf_json_object_begin(&j);
	zf_json_key_i64(&j, "a", -5);
	zf_json_key(&j, "b");
	zf_json_array_begin(&j);
	zf_json_str(&j, "\"");
	zf_json_array_end(&j);
	zf_json_object_end(&j);
	zf_json_newline(&j);
	/* written through: nothing waits in the writer */
	assert_int_equal(j.scratch.len, 0);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(text, "{\"a\":-5,\"b\":[\"\\\"\"]}\n");
	free(text);
}

static void test_num_u64(void **state)
{
	uint64_t v = 7;
	(void)state;

	assert_int_equal(zf_parse_u64("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(zf_parse_u64("007", 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(zf_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	v = 1;
	assert_int_equal(zf_parse_u64("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(zf_parse_u64("99999999999999999999999", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(zf_parse_u64("11", 10, &v), -ERANGE);
	assert_int_equal(v, 1);        /* untouched on failure */
	const char *bad[] = { "", " 1", "1 ", "+1", "-1", "0x10", "1e3", "1.0",
			      "9999999999999999999999x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(zf_parse_u64(bad[i], UINT64_MAX, &v), -EINVAL);
	assert_int_equal(zf_parse_u64n("123456", 3, 1000, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(zf_parse_u64n("1", 0, 1000, &v), -EINVAL);
}

static void test_num_lenient(void **state)
{
	uint64_t v = 9;
	(void)state;

	/* what strtoull took: white space and a sign first */
	assert_int_equal(zf_parse_u64_lenient(" \t+5", 100, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(zf_parse_u64_lenient("-0", 100, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(zf_parse_u64_lenient("-1", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(zf_parse_u64_lenient("101", 100, &v), -ERANGE);
	assert_int_equal(zf_parse_u64_lenient("", 100, &v), -EINVAL);
	assert_int_equal(zf_parse_u64_lenient(" ", 100, &v), -EINVAL);
	assert_int_equal(zf_parse_u64_lenient("+", 100, &v), -EINVAL);
	assert_int_equal(zf_parse_u64_lenient("+ 5", 100, &v), -EINVAL);
	assert_int_equal(zf_parse_u64_lenient("5 ", 100, &v), -EINVAL);
	assert_int_equal(zf_parse_u64_lenient("++5", 100, &v), -EINVAL);
}

static void test_num_port(void **state)
{
	uint16_t p = 1;
	(void)state;

	assert_int_equal(zf_parse_port("0", 1, &p), 0);
	assert_int_equal(p, 0);
	assert_int_equal(zf_parse_port("65535", 5, &p), 0);
	assert_int_equal(p, 65535);
	assert_int_equal(zf_parse_port("00022", 5, &p), 0);
	assert_int_equal(p, 22);
	assert_int_equal(zf_parse_port("22-30", 2, &p), 0);
	assert_int_equal(p, 22);
	assert_int_equal(zf_parse_port("65536", 5, &p), -ERANGE);
	assert_int_equal(zf_parse_port("000022", 6, &p), -EINVAL);
	assert_int_equal(zf_parse_port("", 0, &p), -EINVAL);
	assert_int_equal(zf_parse_port("2a", 2, &p), -EINVAL);
	assert_int_equal(zf_parse_port("-1", 2, &p), -EINVAL);
}

static void test_num_size(void **state)
{
	uint64_t v = 0;
	(void)state;

	assert_int_equal(zf_parse_size("123", &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(zf_parse_size("4K", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(zf_parse_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(zf_parse_size("3M", &v), 0);
	assert_int_equal(v, 3 << 20);
	assert_int_equal(zf_parse_size("2g", &v), 0);
	assert_true(v == UINT64_C(2) << 30);
	assert_int_equal(zf_parse_size("16777215T", &v), 0);
	assert_true(v == UINT64_C(16777215) << 40);
	assert_int_equal(zf_parse_size("16777216T", &v), -ERANGE);
	assert_int_equal(zf_parse_size("99999999999999999999", &v), -ERANGE);
	const char *bad[] = { "", "K", "4KB", "4P", "4 K", " 4", "+4", "-4", "4.5M",
			      "4Ki" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(zf_parse_size(bad[i], &v), -EINVAL);

	/* a bandwidth limit: 0 or at least 64K */
	assert_int_equal(zf_parse_bwlimit("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(zf_parse_bwlimit("64K", &v), 0);
	assert_int_equal(v, 64 << 10);
	assert_int_equal(zf_parse_bwlimit("20M", &v), 0);
	assert_int_equal(v, 20 << 20);
	assert_int_equal(zf_parse_bwlimit("65535", &v), -ERANGE);
	assert_int_equal(zf_parse_bwlimit("1K", &v), -ERANGE);
	assert_int_equal(zf_parse_bwlimit("-1", &v), -EINVAL);
	assert_int_equal(zf_parse_bwlimit("1MB/s", &v), -EINVAL);
}

static void test_hex(void **state)
{
	const uint8_t b[] = { 0x00, 0x01, 0x9f, 0xa0, 0xff };
	uint8_t back[5] = { 0 };
	char s[11];
	size_t bad = 99;
	(void)state;

	assert_string_equal(zf_hex_encode(b, sizeof(b), s), "00019fa0ff");
	assert_string_equal(zf_hex_encode(b, 0, s), "");
	assert_int_equal(zf_hex_decode("00019FA0ff", 5, back, &bad), 0);
	assert_memory_equal(back, b, sizeof(b));
	assert_int_equal(bad, 99);
	assert_int_equal(zf_hex_decode("0001g0", 3, back, &bad), -EINVAL);
	assert_int_equal(bad, 4);
	assert_int_equal(zf_hex_decode("00010g", 3, back, &bad), -EINVAL);
	assert_int_equal(bad, 5);
	/* a short string stops at its NUL, never reads past it */
	assert_int_equal(zf_hex_decode("0", 1, back, NULL), -EINVAL);
	assert_int_equal(zf_hex_digit('7'), 7);
	assert_int_equal(zf_hex_digit('B'), 11);
	assert_int_equal(zf_hex_digit('x'), -1);
	assert_int_equal(zf_hex_digit(' '), -1);
}

static void test_clock(void **state)
{
	int64_t ms = zf_now_ms();
	double sec = zf_now_sec();
	(void)state;

	/* one clock: the two readings agree to within the time between them */
	assert_true(sec * 1000 - (double)ms >= -1.0);
	assert_true(sec * 1000 - (double)ms < 1000.0);
	assert_true(zf_now_sec() >= sec);
	assert_true(zf_now_ms() >= ms);
}

static void test_err_copy(void **state)
{
	struct zf_err inner = ZF_ERR_INIT, outer = ZF_ERR_INIT, bare = ZF_ERR_INIT;
	(void)state;

	zf_err_set(&inner, -ENOENT, "no '%s'", "x");
	assert_int_equal(zf_err_copy(&outer, -EIO, &inner), -EIO);
	assert_int_equal(outer.code, -EIO);
	assert_string_equal(outer.msg, "no 'x'");
	/* the first message wins */
	assert_int_equal(zf_err_copy(&outer, -EPERM, &bare), -EPERM);
	assert_int_equal(outer.code, -EIO);
	assert_string_equal(outer.msg, "no 'x'");
	/* a callee that set no message: the text its code stands for */
	zf_err_clear(&outer);
	bare.code = -ENOSPC;
	assert_int_equal(zf_err_copy(&outer, -ENOSPC, &bare), -ENOSPC);
	assert_string_equal(outer.msg, zf_err_msg(&bare));
	assert_int_equal(zf_err_copy(NULL, -EINVAL, &inner), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_nesting),
		cmocka_unit_test(test_json_finish),
		cmocka_unit_test(test_json_numbers),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_json_raw),
		cmocka_unit_test(test_json_file),
		cmocka_unit_test(test_num_u64),
		cmocka_unit_test(test_num_lenient),
		cmocka_unit_test(test_num_port),
		cmocka_unit_test(test_num_size),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_err_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
