/* tests/unit/test-chunk-sha.c — eight-lane SHA-512/256 against OpenSSL's */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "chunk/chunk.h"
#include "chunk/sha512x8.h"
#include "util/alloc.h"

/* FIPS 180-4's example: SHA-512/256("abc") */
static void test_known_answer(void **state)
{
	static const char want[] =
		"53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23";
	const uint8_t *p[1] = { (const uint8_t *)"abc" };
	size_t n[1] = { 3 };
	uint8_t got[1][32];
	struct zf_chunk_id id;
	char hex[ZF_CHUNK_ID_HEX];

	(void)state;
	if (!zf_sha512x8_available())
		skip();
	zf_sha512x8_256(p, n, 1, got);
	memcpy(id.b, got[0], 32);
	assert_string_equal(zf_chunk_id_hex(&id, hex), want);
}

/*
 * Every length around the padding's edges (111/112 bytes of tail: one
 * padding block or two) and whole blocks, in batches of 1 to 21 messages of
 * mixed lengths, so lanes end and restart at different blocks.
 */
static void test_matches_openssl(void **state)
{
	static const size_t lens[] = { 0,   1,   3,    111,  112,  113,   127,  128,  129,
				       239, 240, 255,  256,  257,  1000,  4096, 65535, 65536,
				       70001, 131072, 262144 };
	const size_t nlens = sizeof(lens) / sizeof(lens[0]);
	uint8_t *data = zf_xmalloc(262144 + 64);
	uint32_t x = 12345;

	(void)state;
	if (!zf_sha512x8_available()) {
		free(data);
		skip();
	}
	for (size_t i = 0; i < 262144 + 64; i++) {
		x = x * 1103515245 + 12345;
		data[i] = (uint8_t)(x >> 16);
	}
	for (size_t count = 1; count <= nlens; count++) {
		const uint8_t *p[32];
		size_t n[32];
		uint8_t got[32][32];

		for (size_t i = 0; i < count; i++) {
			/* mixed lengths and unaligned starts */
			n[i] = lens[(i * 7 + count) % nlens];
			p[i] = data + (i * 13) % 64;
		}
		zf_sha512x8_256(p, n, count, got);
		for (size_t i = 0; i < count; i++) {
			struct zf_chunk_id want;

			zf_chunk_id_hash(NULL, p[i], n[i], &want);
			assert_memory_equal(got[i], want.b, 32);
		}
	}
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_matches_openssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
