/* src/chunk/sha512x8.h — SHA-512/256 of several messages at once (AVX-512) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether this CPU (and kernel) runs zf_sha512x8_256(). */
bool zf_sha512x8_available(void);
/*
 * SHA-512/256 of the count messages p[i] (n[i] bytes each) into ret[i], eight
 * at a time.  Only when zf_sha512x8_available(); the same digests as
 * OpenSSL's "SHA2-512/256" (tests/unit/test-chunk-sha.c compares them).
 */
void zf_sha512x8_256(const uint8_t *const *p, const size_t *n, size_t count,
		     uint8_t (*ret)[32]);
