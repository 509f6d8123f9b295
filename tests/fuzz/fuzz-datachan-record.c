/*
 * tests/fuzz/fuzz-datachan-record.c — the data channel's record decoder
 *
 * Byte 0 picks the mode.  Even: the rest is wire bytes from a peer,
 * decoded record by record under a fixed key.  Odd: the rest is
 * [u16 position][u8 chunk][u8 mask] plaintext; the plaintext is sealed in
 * records of chunk+1 bytes plus the end record, then (mode bit 1) the byte
 * at position is XORed with mask|1, or (mode bit 2) the stream is cut at
 * position, and decoded again.  An untouched stream must come back whole;
 * a touched one must fail or stop early, and never hand out a byte that
 * differs from what was sealed.
 */
#include <stdio.h>
#include <stdlib.h>
#include "fuzz.h"
#include "transport/datachan.h"
#include "util/err.h"
#include "util/banned.h"

static const uint8_t key[32] = "fuzz-datachan-record-key-0123456";

/* Decodes p[0..n); plaintext goes to out. 1 after the end record, 0 if more was needed, <0. */
static int decode(const uint8_t *p, size_t n, uint8_t *out, size_t out_size, size_t *ret_out)
{
	_cleanup_(zf_datachan_aead_freep) struct zf_datachan_aead *rx = zf_datachan_aead_new(key,
											     false);
	static uint8_t rec[ZF_DATACHAN_RECORD_MAX];
	size_t off = 0, got = 0;

	*ret_out = 0;
	if (!rx)
		return -ENOMEM;
	for (;;) {
		struct zf_err err = ZF_ERR_INIT;
		size_t len = 0, used = 0;
		int r = zf_datachan_record_open(rx, p + off, n - off, rec, &len, &used, &err);

		if (r < 0)
			return r;
		if (r == 0) {
			if (used <= n - off)
				__builtin_trap();       /* asked for what it already had */
			return 0;
		}
		if (used != len + ZF_DATACHAN_RECORD_OVERHEAD || used > n - off)
			__builtin_trap();
		off += used;
		if (len == 0)
			return 1;
		if (out) {
			if (got + len > out_size)
				__builtin_trap();
			memcpy(out + got, rec, len);
		}
		got += len;
		*ret_out = got;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(zf_datachan_aead_freep) struct zf_datachan_aead *tx = NULL;
	_cleanup_free_ uint8_t *wire = NULL;
	_cleanup_free_ uint8_t *back = NULL;
	const uint8_t *plain;
	size_t n, chunk, wn = 0, got = 0, pos;
	uint8_t mode;
	int r;

	if (size < 1)
		return 0;
	mode = data[0];
	if (!(mode & 1)) {
		(void)decode(data + 1, size - 1, NULL, 0, &got);
		return 0;
	}
	if (size < 5)
		return 0;
	pos = (size_t)data[1] << 8 | data[2];
	chunk = (size_t)data[3] + 1;
	plain = data + 5;
	n = size - 5;
	tx = zf_datachan_aead_new(key, true);
	wire = malloc(n + (n / chunk + 2) * ZF_DATACHAN_RECORD_OVERHEAD);
	back = malloc(n + 1);
	if (!tx || !wire || !back)
		return 0;
	for (size_t off = 0;; off += chunk) {
		size_t c = off < n ? (n - off < chunk ? n - off : chunk) : 0;
		ssize_t k = zf_datachan_record_seal(tx, plain + off, c, wire + wn, NULL);
		if (k < 0)
			__builtin_trap();
		wn += (size_t)k;
		if (c == 0)
			break;
	}
	pos %= wn;
	if (mode & 2)
		wire[pos] ^= data[4] | 1;
	else if (mode & 4)
		wn = pos;
	r = decode(wire, wn, back, n + 1, &got);
	if (got > n || memcmp(back, plain, got) != 0)
		__builtin_trap();               /* wrong data handed out */
	if (!(mode & 6) && (r != 1 || got != n))
		__builtin_trap();               /* an untouched stream must come back whole */
	if ((mode & 6) && r == 1)
		__builtin_trap();               /* a touched one must not end cleanly */
	return 0;
}
