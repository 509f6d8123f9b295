/* tests/unit/test-rpc-protocol.c — rpc/protocol.def's codecs: bytes, round trips, refusals */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "rpc/msg.h"
#include "rpc/protocol.h"
#include "util/buf.h"
#include "util/err.h"

static void parse(const struct zf_buf *b, struct zf_msg *m)
{
	assert_int_equal(zf_msg_parse((const uint8_t *)b->data, b->len, m, NULL), 0);
}

/* The encoder writes what the hand-written clients wrote: strings in order, then true flags. */
static void test_encode_bytes(void **state)
{
	_cleanup_buf_ struct zf_buf a = ZF_BUF_INIT, b = ZF_BUF_INIT;
	const char *set[] = { "a=b", "c=d", NULL };
	const struct zf_req_recv q = {
		.fs = "pool/dst fs",
		.resumable = true,
		.no_mount = true,
		.set_prop = zf_msg_strs_argv(set),
	};
	(void)state;

	assert_int_equal(zf_req_recv_encode(&q, ZF_RPC_RECV, &a, NULL), 0);
	zf_msg_start(&b, ZF_RPC_RECV);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_FS, "pool/dst fs"), 0);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_SET_PROP, "a=b"), 0);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_SET_PROP, "c=d"), 0);
	zf_msg_add_bool(&b, ZF_TAG_RESUMABLE, true);
	zf_msg_add_bool(&b, ZF_TAG_NO_MOUNT, true);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
}

static void test_roundtrip(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	_cleanup_(zf_req_send_release) struct zf_req_send out = { 0 };
	const struct zf_req_send in = {
		.snapshot = "pool/a b@s 1",
		.from = "pool/a b#m",
		.raw = true,
	};
	(void)state;

	assert_int_equal(zf_req_send_encode(&in, ZF_RPC_SEND_ESTIMATE, &b, NULL), 0);
	parse(&b, &m);
	assert_int_equal(m.kind, ZF_RPC_SEND_ESTIMATE);
	assert_int_equal(zf_req_send_decode(&m, &out, NULL), 0);
	assert_string_equal(out.snapshot, "pool/a b@s 1");
	assert_string_equal(out.from, "pool/a b#m");
	assert_null(out.resume_token);
	assert_true(out.raw);
	assert_false(out.props);
}

static void test_strs(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	_cleanup_(zf_req_create_release) struct zf_req_create out = { 0 };
	const struct zf_req_create none = { .fs = "pool/x" };
	const char *names[] = { "s1", "s 2" };
	const struct zf_req_destroy_versions dv = { .fs = "pool/x", .name = { names, 2 } };
	_cleanup_(zf_req_destroy_versions_release) struct zf_req_destroy_versions dvo = { 0 };
	(void)state;

	/* zero of an optional list: NULL, as the argv users want */
	assert_int_equal(zf_req_create_encode(&none, ZF_RPC_CREATE, &b, NULL), 0);
	parse(&b, &m);
	assert_int_equal(zf_req_create_decode(&m, &out, NULL), 0);
	assert_null(out.prop.v);
	assert_int_equal(out.prop.n, 0);

	assert_int_equal(zf_req_destroy_versions_encode(&dv, ZF_RPC_DESTROY_VERSIONS, &b, NULL), 0);
	parse(&b, &m);
	assert_int_equal(zf_req_destroy_versions_decode(&m, &dvo, NULL), 0);
	assert_int_equal(dvo.name.n, 2);
	assert_string_equal(dvo.name.v[0], "s1");
	assert_string_equal(dvo.name.v[1], "s 2");
	assert_null(dvo.name.v[2]);
}

static void expect_refused(const struct zf_buf *b, int code, const char *msg)
{
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	struct zf_req_hold out = { .hold_tag = "untouched" };
	struct zf_err err = ZF_ERR_INIT;

	parse(b, &m);
	assert_int_equal(zf_req_hold_decode(&m, &out, &err), code);
	assert_string_equal(err.msg, msg);
	assert_string_equal(out.hold_tag, "untouched");        /* written only on success */
}

static void test_refusals(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	(void)state;

	zf_msg_start(&b, ZF_RPC_HOLD);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_HOLD_TAG, "a"), 0);
	expect_refused(&b, -EINVAL, "HOLD: missing field SNAPSHOT");

	zf_msg_start(&b, ZF_RPC_RELEASE);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_HOLD_TAG, "a"), 0);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_HOLD_TAG, "b"), 0);
	expect_refused(&b, -EBADMSG, "RELEASE: field HOLD_TAG: field 4 appears more than once");

	zf_msg_start(&b, ZF_RPC_HOLD);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_HOLD_TAG, "-x"), 0);
	expect_refused(&b, -ZF_E_BADNAME,
		       "HOLD: field HOLD_TAG: invalid HOLD_TAG '-x': must not start with '-'");

	/* the first bad field in the table's order is the one reported */
	zf_msg_start(&b, ZF_RPC_HOLD);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_SNAPSHOT, "pool/a"), 0);
	expect_refused(&b, -EINVAL, "HOLD: missing field HOLD_TAG");
}

static void test_too_long(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	char big[ZF_MSG_MAX_STR + 2];
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(zf_req_fs_encode(&(struct zf_req_fs){ .fs = big }, ZF_RPC_RECV_ABORT, &b,
					  &err), -E2BIG);
	assert_string_equal(err.msg, "name of 8193 bytes exceeds the 8192 of the protocol");
}

static void test_tables(void **state)
{
	(void)state;

	assert_string_equal(zf_rpc_req_lookup(ZF_RPC_DATA_CHANNEL_OPEN)->name, "DATA_CHANNEL_OPEN");
	assert_int_equal(zf_rpc_req_lookup(ZF_RPC_HOLD)->owned_tag, ZF_TAG_HOLD_TAG);
	assert_null(zf_rpc_req_lookup(_ZF_RPC_KIND_MAX));
	assert_string_equal(zf_msg_tag_name(ZF_TAG_USE_DATA_CHANNEL), "USE_DATA_CHANNEL");
	assert_string_equal(zf_msg_tag_name(999), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_bytes),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_strs),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
