/* tests/unit/test-rpc-frame.c — frame and message codecs: round trips and every malformed class */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "rpc/frame.h"
#include "rpc/msg.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/strv.h"

static const uint8_t *u8(const struct zf_buf *b)
{
	return (const uint8_t *)b->data;
}

static void test_frame_roundtrip(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_frame f;
	size_t used = 0;
	(void)state;

	assert_int_equal(zf_frame_append(&b, ZF_FRAME_REQUEST, 7, "abc", 3), 0);
	assert_int_equal(zf_frame_append(&b, ZF_FRAME_PING, 0, NULL, 0), 0);
	assert_int_equal(b.len, 2 * ZF_FRAME_HEADER_SIZE + 3);
	assert_memory_equal(b.data, "ZF\x01\x02\0\0\0\0\0\0\0\x03\0\0\0\x07" "abc", 19);

	/* every prefix asks for more, never fails */
	for (size_t n = 0; n < ZF_FRAME_HEADER_SIZE + 3; n++) {
		struct zf_err err = ZF_ERR_INIT;
		assert_int_equal(zf_frame_decode(u8(&b), n, &f, &used, &err), 0);
		assert_true(used > n);
	}
	assert_int_equal(zf_frame_decode(u8(&b), b.len, &f, &used, NULL), 1);
	assert_int_equal(used, ZF_FRAME_HEADER_SIZE + 3);
	assert_int_equal(f.type, ZF_FRAME_REQUEST);
	assert_int_equal(f.id, 7);
	assert_int_equal(f.len, 3);
	assert_memory_equal(f.payload, "abc", 3);
	assert_int_equal(zf_frame_decode(u8(&b) + used, b.len - used, &f, &used, NULL), 1);
	assert_int_equal(f.type, ZF_FRAME_PING);
	assert_int_equal(f.len, 0);
}

static void expect_bad(const uint8_t *p, size_t n, const char *why)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_frame f;
	size_t used;

	if (zf_frame_decode(p, n, &f, &used, &err) != -EBADMSG)
		fail_msg("accepted, expected '%s'", why);
	if (!strstr(err.msg, why))
		fail_msg("'%s' does not mention '%s'", err.msg, why);
}

static void test_frame_malformed(void **state)
{
	uint8_t h[ZF_FRAME_HEADER_SIZE + 64];
	const uint8_t good[ZF_FRAME_HEADER_SIZE] = "ZF\x01\x05\0\0\0\0\0\0\0\x01\0\0\0\x01";
	(void)state;

	memset(h, 'x', sizeof(h));
#define RESET() memcpy(h, good, sizeof(good))
	RESET(); h[0] = 'X'; expect_bad(h, 1, "magic");
	RESET(); h[1] = 'Q'; expect_bad(h, 2, "magic");
	RESET(); h[2] = 2; expect_bad(h, sizeof(h), "version");
	RESET(); h[3] = 0; expect_bad(h, sizeof(h), "unknown frame type");
	RESET(); h[3] = 9; expect_bad(h, sizeof(h), "unknown frame type");
	RESET(); h[5] = 1; expect_bad(h, sizeof(h), "flags");
	RESET(); h[7] = 1; expect_bad(h, sizeof(h), "reserved");
	RESET(); h[15] = 0; expect_bad(h, sizeof(h), "without request id");
	RESET(); h[3] = ZF_FRAME_PING; expect_bad(h, sizeof(h), "with request id");
	RESET(); h[11] = 0; expect_bad(h, sizeof(h), "empty DATA");
	/* oversized: refused from the header alone, before the payload arrives */
	RESET(); h[9] = 0x10; h[11] = 1; expect_bad(h, ZF_FRAME_HEADER_SIZE, "exceeds");
	RESET(); h[8] = 0xff; expect_bad(h, ZF_FRAME_HEADER_SIZE, "exceeds");
	RESET(); h[3] = ZF_FRAME_END; expect_bad(h, sizeof(h), "END frame of 1 bytes");
	RESET(); h[3] = ZF_FRAME_PONG; h[15] = 0; h[11] = 65; expect_bad(h, sizeof(h), "exceeds 64");
	RESET(); h[3] = ZF_FRAME_ERROR; h[11] = 3; expect_bad(h, sizeof(h), "ERROR frame of 3");
	RESET(); h[3] = ZF_FRAME_ERROR; h[11] = 5;
	h[16] = 0; h[17] = 1; h[18] = 0; h[19] = 2; expect_bad(h, sizeof(h), "message length");
	h[19] = 1; h[20] = 0; expect_bad(h, sizeof(h), "contains NUL");
	h[17] = 0; h[20] = 'a'; expect_bad(h, sizeof(h), "code 0");
	RESET(); h[3] = ZF_FRAME_HELLO; h[15] = 0; h[11] = 3; expect_bad(h, sizeof(h), "HELLO frame of");
#undef RESET
	{
		/* exactly the limit is fine */
		_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
		_cleanup_free_ char *big = calloc(1, ZF_FRAME_MAX_PAYLOAD + 1);
		struct zf_frame f;
		size_t used;

		assert_int_equal(zf_frame_append(&b, ZF_FRAME_DATA, 1, big, ZF_FRAME_MAX_PAYLOAD), 0);
		assert_int_equal(zf_frame_decode(u8(&b), b.len, &f, &used, NULL), 1);
		assert_int_equal(f.len, ZF_FRAME_MAX_PAYLOAD);
		assert_int_equal(zf_frame_append(&b, ZF_FRAME_DATA, 1, big, ZF_FRAME_MAX_PAYLOAD + 1),
				 -EMSGSIZE);
	}
}

static void test_hello(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_frame_hello h = { .version_min = 1, .version_max = 3, .features = 0x8000000000000001ull };
	struct zf_frame_hello got;
	struct zf_frame f;
	size_t used;
	(void)state;

	snprintf(h.identity, sizeof(h.identity), "backup.example.com");
	assert_int_equal(zf_frame_append_hello(&b, &h), 0);
	assert_int_equal(zf_frame_decode(u8(&b), b.len, &f, &used, NULL), 1);
	assert_int_equal(zf_frame_parse_hello(&f, &got, NULL), 0);
	assert_int_equal(got.version_min, 1);
	assert_int_equal(got.version_max, 3);
	assert_true(got.features == h.features);
	assert_string_equal(got.identity, "backup.example.com");

	/* identity length disagreeing with the frame length */
	b.data[ZF_FRAME_HEADER_SIZE + ZF_FRAME_HELLO_FIXED] = 3;
	expect_bad(u8(&b), b.len, "identity length");
	/* empty version range */
	h.version_min = 4;
	assert_int_equal(zf_frame_append_hello(&b, &h), -EINVAL);
}

static void test_error_frames(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	char msg[ZF_FRAME_MAX_ERROR_MSG + 1];
	char longmsg[3000];
	struct zf_frame f;
	uint16_t code;
	size_t used;
	(void)state;

	assert_int_equal(zf_frame_append_error(&b, 5, zf_rpc_errcode_from_errno(-ENOENT),
					       "no filesystem 'tank/x'"), 0);
	assert_int_equal(zf_frame_decode(u8(&b), b.len, &f, &used, NULL), 1);
	assert_int_equal(zf_frame_parse_error(&f, &code, msg, sizeof(msg), NULL), 0);
	assert_int_equal(code, ZF_RPC_E_NOENT);
	assert_int_equal(zf_rpc_errcode_to_errno(code), -ENOENT);
	assert_string_equal(msg, "no filesystem 'tank/x'");

	/* long messages are cut to the limit, not refused */
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	zf_buf_reset(&b);
	assert_int_equal(zf_frame_append_error(&b, 5, ZF_RPC_E_IO, longmsg), 0);
	assert_int_equal(zf_frame_decode(u8(&b), b.len, &f, &used, NULL), 1);
	assert_int_equal(zf_frame_parse_error(&f, &code, msg, sizeof(msg), NULL), 0);
	assert_int_equal(strlen(msg), ZF_FRAME_MAX_ERROR_MSG);

	/* the mapping table round-trips every code and folds unknown errnos */
	for (uint16_t c = 1; c < _ZF_RPC_E_MAX; c++) {
		if (c == ZF_RPC_E_UNKNOWN)
			continue;
		assert_int_equal(zf_rpc_errcode_from_errno(zf_rpc_errcode_to_errno(c)), c);
		assert_string_not_equal(zf_rpc_errcode_name(c), "UNKNOWN");
	}
	assert_int_equal(zf_rpc_errcode_from_errno(-ENOTTY), ZF_RPC_E_UNKNOWN);
	assert_int_equal(zf_rpc_errcode_from_errno(-EPERM), ZF_RPC_E_DENIED);
	assert_int_equal(zf_rpc_errcode_from_errno(-EPROTONOSUPPORT), ZF_RPC_E_NOTSUP);
	assert_int_equal(zf_rpc_errcode_to_errno(999), -EIO);
	assert_int_equal(zf_rpc_errcode_to_errno(ZF_RPC_E_WOULD_DESTROY), -ZF_E_WOULD_DESTROY);
}

/* The END sum make_stream() and read_stream() use. */
static enum zf_stream_sum_kind sum_kind;

/* Builds DATA frames of data in chunks, then END, into b. */
static void make_stream(struct zf_buf *b, const char *data, size_t n, size_t chunk)
{
	_cleanup_(zf_stream_sum_freep) struct zf_stream_sum *s = zf_stream_sum_new(sum_kind);

	for (size_t o = 0; o < n; o += chunk) {
		size_t k = MIN(chunk, n - o);
		zf_stream_sum_add(s, data + o, k);
		assert_int_equal(zf_frame_append(b, ZF_FRAME_DATA, 9, data + o, k), 0);
	}
	assert_int_equal(zf_stream_sum_append_end(s, b, 9), 0);
}

/* Decodes a whole stream: 0 after a matching END, <0 otherwise; total bytes in *ret_n. */
static int read_stream(const uint8_t *p, size_t n, uint64_t *ret_n, struct zf_err *err)
{
	_cleanup_(zf_stream_sum_freep) struct zf_stream_sum *s = zf_stream_sum_new(sum_kind);
	size_t off = 0;

	for (;;) {
		struct zf_frame f;
		size_t used;
		int r = zf_frame_decode(p + off, n - off, &f, &used, err);
		if (r < 0)
			return r;
		if (r == 0)
			return zf_err_set(err, -EPIPE, "stream ended after %llu bytes without END",
					  (unsigned long long)zf_stream_sum_bytes(s));
		off += used;
		if (f.type == ZF_FRAME_DATA) {
			zf_stream_sum_add(s, f.payload, f.len);
			continue;
		}
		*ret_n = zf_stream_sum_bytes(s);
		return zf_stream_sum_check(s, &f, err);
	}
}

static void stream_end_cases(enum zf_stream_sum_kind kind)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	char data[10000];
	uint64_t n = 0;
	struct zf_err err = ZF_ERR_INIT;

	sum_kind = kind;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	make_stream(&b, data, sizeof(data), 999);
	assert_int_equal(read_stream(u8(&b), b.len, &n, &err), 0);
	assert_int_equal(n, sizeof(data));

	/* truncated anywhere before END's last byte: never a success */
	for (size_t cut = 0; cut < b.len; cut += 97) {
		zf_err_clear(&err);
		assert_int_not_equal(read_stream(u8(&b), cut, &n, &err), 0);
	}
	zf_err_clear(&err);
	assert_int_equal(read_stream(u8(&b), b.len - 1, &n, &err), -EPIPE);

	/* one flipped data byte: checksum mismatch */
	b.data[ZF_FRAME_HEADER_SIZE + 5] ^= 1;
	zf_err_clear(&err);
	assert_int_equal(read_stream(u8(&b), b.len, &n, &err), -ZF_E_CORRUPT);
	assert_non_null(strstr(err.msg, "checksum"));
	b.data[ZF_FRAME_HEADER_SIZE + 5] ^= 1;

	/* END's count disagrees */
	b.data[b.len - ZF_FRAME_END_SIZE + 7] ^= 1;
	zf_err_clear(&err);
	assert_int_equal(read_stream(u8(&b), b.len, &n, &err), -ZF_E_CORRUPT);
	assert_non_null(strstr(err.msg, "bytes but"));

	/* a whole DATA frame dropped: count mismatch */
	zf_buf_reset(&b);
	make_stream(&b, data, sizeof(data), 5000);
	{
		_cleanup_buf_ struct zf_buf c = ZF_BUF_INIT;
		size_t fl = ZF_FRAME_HEADER_SIZE + 5000;
		zf_buf_add(&c, b.data + fl, b.len - fl);
		zf_err_clear(&err);
		assert_int_equal(read_stream(u8(&c), c.len, &n, &err), -ZF_E_CORRUPT);
	}

	/* empty stream: END alone, zero bytes */
	zf_buf_reset(&b);
	make_stream(&b, data, 0, 1);
	assert_int_equal(read_stream(u8(&b), b.len, &n, NULL), 0);
	assert_int_equal(n, 0);

	/* a stream ended by something else */
	zf_buf_reset(&b);
	assert_int_equal(zf_frame_append(&b, ZF_FRAME_RESPONSE, 9, "\0\1", 2), 0);
	zf_err_clear(&err);
	assert_int_equal(read_stream(u8(&b), b.len, &n, &err), -ZF_E_PROTO);
}

static void test_stream_end(void **state)
{
	(void)state;
	stream_end_cases(ZF_STREAM_SUM_SHA256);
	stream_end_cases(ZF_STREAM_SUM_XXH3);
}

/* END's bytes for "hello zferry": what sha256sum and xxh128sum print. */
static void test_stream_end_known(void **state)
{
	static const struct {
		enum zf_stream_sum_kind kind;
		const char *hex;
	} cases[] = {
		{ ZF_STREAM_SUM_SHA256,
		  "69f1ff8e34e937cec893c604acb56529dcd28920aa2307c3927f81ae13a57757" },
		{ ZF_STREAM_SUM_XXH3,
		  "ad06cce1945b0e1791a5f738762c3f1000000000000000000000000000000000" },
	};
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(zf_stream_sum_freep) struct zf_stream_sum *s = zf_stream_sum_new(cases[i].kind);
		_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
		char hex[2 * ZF_FRAME_SUM_SIZE + 1];
		const uint8_t *p;

		zf_stream_sum_add(s, "hello ", 6);
		zf_stream_sum_add(s, "zferry", 6);
		assert_int_equal(zf_stream_sum_append_end(s, &b, 3), 0);
		assert_int_equal(b.len, ZF_FRAME_HEADER_SIZE + ZF_FRAME_END_SIZE);
		p = u8(&b) + ZF_FRAME_HEADER_SIZE;
		assert_int_equal(p[7], 12);     /* u64 count, big-endian */
		for (size_t k = 0; k < ZF_FRAME_SUM_SIZE; k++)
			snprintf(hex + 2 * k, 3, "%02x", p[8 + k]);
		assert_string_equal(hex, cases[i].hex);
	}
	assert_string_equal(zf_stream_sum_kind_name(ZF_STREAM_SUM_XXH3), "xxh3-128");
}

/* A stream ended with one sum and checked with the other never matches. */
static void test_stream_end_kinds_differ(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_err err = ZF_ERR_INIT;
	uint64_t n = 0;
	(void)state;

	for (int k = 0; k <= 1; k++) {
		zf_buf_reset(&b);
		sum_kind = k ? ZF_STREAM_SUM_XXH3 : ZF_STREAM_SUM_SHA256;
		make_stream(&b, "some bytes", 10, 4);
		sum_kind = k ? ZF_STREAM_SUM_SHA256 : ZF_STREAM_SUM_XXH3;
		zf_err_clear(&err);
		assert_int_equal(read_stream(u8(&b), b.len, &n, &err), -ZF_E_CORRUPT);
		assert_non_null(strstr(err.msg, k ? "(sha256) mismatch" : "(xxh3-128) mismatch"));
	}
}

static void test_msg_roundtrip(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	_cleanup_strv_ struct zf_strv sv = ZF_STRV_INIT;
	_cleanup_free_ char *s = NULL;
	uint64_t v;
	bool flag;
	(void)state;

	zf_msg_start(&b, ZF_RPC_RECV);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_FS, "tank/with space:and.dots"), 0);
	zf_msg_add_bool(&b, ZF_TAG_RESUMABLE, true);
	zf_msg_add_u64(&b, ZF_TAG_GUID, 0xfedcba9876543210ull);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_SET_PROP, "a=1"), 0);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_SET_PROP, "b=2"), 0);
	assert_int_equal(zf_msg_add_bytes(&b, ZF_TAG_PAYLOAD, "\0\1\2", 3), 0);
	assert_int_equal(zf_msg_add_str(&b, 999, ""), 0);      /* unknown tags are skipped */

	assert_int_equal(zf_msg_parse(u8(&b), b.len, &m, NULL), 0);
	assert_int_equal(m.kind, ZF_RPC_RECV);
	assert_int_equal(m.n, 7);
	assert_int_equal(zf_msg_get_str(&m, ZF_TAG_FS, &s, NULL), 0);
	assert_string_equal(s, "tank/with space:and.dots");
	assert_int_equal(zf_msg_get_bool(&m, ZF_TAG_RESUMABLE, &flag, NULL), 0);
	assert_true(flag);
	assert_int_equal(zf_msg_get_flag(&m, ZF_TAG_FORCE, &flag, NULL), 0);
	assert_false(flag);
	assert_int_equal(zf_msg_get_bool(&m, ZF_TAG_FORCE, &flag, NULL), -ENOENT);
	assert_int_equal(zf_msg_get_u64(&m, ZF_TAG_GUID, &v, NULL), 0);
	assert_true(v == 0xfedcba9876543210ull);
	assert_int_equal(zf_msg_get_strv(&m, ZF_TAG_SET_PROP, &sv, NULL), 0);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[1], "b=2");
	/* wrong type and repeated single values are refused */
	assert_int_equal(zf_msg_get_u64(&m, ZF_TAG_FS, &v, NULL), -EBADMSG);
	assert_int_equal(zf_msg_get_str(&m, ZF_TAG_SET_PROP, &s, NULL), -EBADMSG);
}

static void expect_msg_bad(const char *p, size_t n, const char *why)
{
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	struct zf_err err = ZF_ERR_INIT;

	assert_int_equal(zf_msg_parse((const uint8_t *)p, n, &m, &err), -EBADMSG);
	if (!strstr(err.msg, why))
		fail_msg("'%s' does not mention '%s'", err.msg, why);
}

static void test_msg_malformed(void **state)
{
	char big[2 + 3 + 2 + ZF_MSG_MAX_STR + 1] = { 0, 1, 0, 1, 3, 0x20, 0x01 };
	(void)state;

	expect_msg_bad("", 0, "body of 0");
	expect_msg_bad("\0\1", 1, "body of 1");
	expect_msg_bad("\0\1\0", 3, "header truncated");
	expect_msg_bad("\0\1\0\1\1\0\0", 7, "u64 truncated");
	expect_msg_bad("\0\1\0\1\2", 5, "bool truncated");
	expect_msg_bad("\0\1\0\1\2\2", 6, "bool value 2");
	expect_msg_bad("\0\1\0\1\3\0", 6, "length truncated");
	expect_msg_bad("\0\1\0\1\3\0\5ab", 9, "overrun");
	expect_msg_bad("\0\1\0\1\3\0\2a\0", 9, "contains NUL");
	expect_msg_bad("\0\1\0\1\4\0\0\0\5ab", 11, "overrun");
	expect_msg_bad("\0\1\0\1\4\xff\xff\xff\xff", 9, "overrun");
	expect_msg_bad("\0\1\0\1\7", 5, "unknown type 7");
	memset(big + 7, 'a', sizeof(big) - 7);
	expect_msg_bad(big, sizeof(big), "exceeds");
	{
		_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
		char s[ZF_MSG_MAX_STR + 2];
		memset(s, 'x', sizeof(s) - 1);
		s[sizeof(s) - 1] = '\0';
		assert_int_equal(zf_msg_add_str(&b, ZF_TAG_FS, s), -E2BIG);
		assert_int_equal(b.len, 0);
	}
}

static int count_entry(void *userdata, const struct zf_msg *m, struct zf_err *err)
{
	uint64_t *seen = userdata, v = 0;
	int r = zf_msg_get_u64(m, ZF_TAG_GUID, &v, err);

	if (r < 0)
		return r;
	if (v != *seen)
		return zf_err_set(err, -EINVAL, "entry %llu out of order", (unsigned long long)v);
	(*seen)++;
	return 0;
}

static void test_list_entries(void **state)
{
	_cleanup_buf_ struct zf_buf stream = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf e = ZF_BUF_INIT;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	for (uint64_t i = 0; i < 500; i++) {
		zf_msg_start(&e, 0);
		assert_int_equal(zf_msg_add_str(&e, ZF_TAG_FS, "pool/some fs"), 0);
		zf_msg_add_u64(&e, ZF_TAG_GUID, i);
		assert_int_equal(zf_msg_entry_append(&stream, &e), 0);
	}
	/* cut into pieces of every size from 1 to 37 bytes */
	for (size_t step = 1; step < 38; step += 6) {
		struct zf_msg_entry_reader r;
		uint64_t seen = 0;

		zf_msg_entry_reader_init(&r, count_entry, &seen);
		for (size_t o = 0; o < stream.len; o += step)
			assert_int_equal(zf_msg_entry_reader_feed(&r, stream.data + o,
								  MIN(step, stream.len - o), &err), 0);
		assert_int_equal(zf_msg_entry_reader_finish(&r, &err), 0);
		assert_int_equal(seen, 500);
		assert_int_equal(r.count, 500);
		zf_msg_entry_reader_release(&r);
	}
	/* a list that stops inside an entry */
	{
		struct zf_msg_entry_reader r;
		uint64_t seen = 0;

		zf_msg_entry_reader_init(&r, count_entry, &seen);
		assert_int_equal(zf_msg_entry_reader_feed(&r, stream.data, stream.len - 3, &err), 0);
		assert_int_equal(zf_msg_entry_reader_finish(&r, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, "inside entry 500"));
		zf_msg_entry_reader_release(&r);
	}
	/* an entry length over the limit, and a malformed entry body */
	{
		struct zf_msg_entry_reader r;
		uint64_t seen = 0;

		zf_msg_entry_reader_init(&r, count_entry, &seen);
		zf_err_clear(&err);
		assert_int_equal(zf_msg_entry_reader_feed(&r, "\x00\x10\x00\x01", 4, &err),
				 -EBADMSG);
		assert_non_null(strstr(err.msg, "exceeds"));
		zf_msg_entry_reader_release(&r);
		zf_msg_entry_reader_init(&r, count_entry, &seen);
		zf_err_clear(&err);
		assert_int_equal(zf_msg_entry_reader_feed(&r, "\0\0\0\3\0\0\0", 7, &err),
				 -EBADMSG);
		assert_non_null(strstr(err.msg, "list entry 1"));
		zf_msg_entry_reader_release(&r);
	}
}

static void test_request_table(void **state)
{
	(void)state;
	for (uint16_t k = 1; k < _ZF_RPC_KIND_MAX; k++) {
		const struct zf_rpc_req_info *i = zf_rpc_req_lookup(k);
		assert_non_null(i);
		assert_int_equal(i->kind, k);
		/* a stream into the server is always a state change */
		if (i->flags & ZF_RPC_STREAM_IN)
			assert_true(i->flags & ZF_RPC_CHANGES_STATE);
	}
	assert_null(zf_rpc_req_lookup(0));
	assert_null(zf_rpc_req_lookup(_ZF_RPC_KIND_MAX));
	assert_true(zf_rpc_changes_state(_ZF_RPC_KIND_MAX));
	assert_true(zf_rpc_changes_state(ZF_RPC_RECV));
	assert_true(zf_rpc_changes_state(ZF_RPC_DESTROY_VERSIONS));
	assert_false(zf_rpc_changes_state(ZF_RPC_SEND));
	assert_false(zf_rpc_changes_state(ZF_RPC_LIST_FS));
	assert_false(zf_rpc_changes_state(ZF_RPC_PING));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test(test_frame_malformed),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_error_frames),
		cmocka_unit_test(test_stream_end),
		cmocka_unit_test(test_stream_end_known),
		cmocka_unit_test(test_stream_end_kinds_differ),
		cmocka_unit_test(test_msg_roundtrip),
		cmocka_unit_test(test_msg_malformed),
		cmocka_unit_test(test_list_entries),
		cmocka_unit_test(test_request_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
