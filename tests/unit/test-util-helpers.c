/* tests/unit/test-util-helpers.c — the one-home helpers: JSON writer */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "util/buf.h"
#include "util/json.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_nesting),
		cmocka_unit_test(test_json_numbers),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_json_raw),
		cmocka_unit_test(test_json_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
