/* src/util/num.c — numbers, ports and sizes read from text */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "util/num.h"
#include "util/banned.h"

int zf_parse_u64n(const char *s, size_t n, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	bool over = false;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (d > 9)
			return -EINVAL;
		/* keep reading after an overflow: "99999999999999999999x" is not a number */
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v))
			over = true;
	}
	if (over || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int zf_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	return zf_parse_u64n(s, strlen(s), max, ret);
}

int zf_parse_u64_lenient(const char *s, uint64_t max, uint64_t *ret)
{
	bool neg = false;
	uint64_t v;
	int r;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	r = zf_parse_u64(s, neg ? UINT64_MAX : max, &v);
	if (r < 0)
		return r;
	if (neg && v != 0)
		return -ERANGE;
	*ret = v;
	return 0;
}

int zf_parse_port(const char *s, size_t n, uint16_t *ret)
{
	uint64_t v;
	int r;

	if (n > 5)
		return -EINVAL;
	r = zf_parse_u64n(s, n, 65535, &v);
	if (r < 0)
		return r;
	*ret = (uint16_t)v;
	return 0;
}

int zf_parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "KMGT";
	size_t n = strspn(s, "0123456789");
	unsigned shift = 0;
	uint64_t v;
	int r;

	if (s[n]) {
		const char *u = strchr(units, toupper((unsigned char)s[n]));
		if (!u || !*u || s[n + 1] != '\0')
			return -EINVAL;
		shift = 10 * (unsigned)(u - units + 1);
	}
	r = zf_parse_u64n(s, n, UINT64_MAX >> shift, &v);
	if (r < 0)
		return r;
	*ret = v << shift;
	return 0;
}

int zf_parse_bwlimit(const char *s, uint64_t *ret)
{
	uint64_t v;
	int r = zf_parse_size(s, &v);

	if (r < 0)
		return r;
	if (v && v < ZF_BWLIMIT_MIN)
		return -ERANGE;
	*ret = v;
	return 0;
}
