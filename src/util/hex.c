/* src/util/hex.c — lowercase hex, both ways */
#include <errno.h>
#include "util/hex.h"
#include "util/banned.h"

const char zf_hex_chars[17] = "0123456789abcdef";

char *zf_hex_encode(const void *p, size_t n, char *out)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = zf_hex_chars[b[i] >> 4];
		out[2 * i + 1] = zf_hex_chars[b[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

int zf_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int zf_hex_decode(const char *s, size_t n, void *out, size_t *ret_bad)
{
	uint8_t *b = out;

	for (size_t i = 0; i < 2 * n; i += 2) {
		int hi = zf_hex_digit(s[i]), lo = hi < 0 ? -1 : zf_hex_digit(s[i + 1]);
		if (hi < 0 || lo < 0) {
			if (ret_bad)
				*ret_bad = i + (hi < 0 ? 0 : 1);
			return -EINVAL;
		}
		b[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
