/* src/util/num.h — numbers, ports and sizes read from text, each one way */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

/*
 * Each returns 0 and sets *ret, -EINVAL when the text is not of the form,
 * or -ERANGE when it is but the value exceeds the bound; *ret is written
 * only on success.  The caller words the message, since it knows the option.
 */

/* Decimal digits only (no sign, no white space, at least one), at most max. */
_must_check_ int zf_parse_u64(const char *s, uint64_t max, uint64_t *ret);
/* The same for the n bytes at s, which need no NUL. */
_must_check_ int zf_parse_u64n(const char *s, size_t n, uint64_t max, uint64_t *ret);
/*
 * As strtoull(3) reads a decimal, for options that always took it so:
 * white space first, then one '+' or '-'; "-0" is 0 and any other negative
 * number is out of range.  New options want zf_parse_u64().
 */
_must_check_ int zf_parse_u64_lenient(const char *s, uint64_t max, uint64_t *ret);
/* A port in the n bytes at s: one to five digits, 0 to 65535 (callers refuse 0 if need be). */
_must_check_ int zf_parse_port(const char *s, size_t n, uint16_t *ret);
/* A byte count: digits, then at most one of K M G T (either case), powers of 1024. */
_must_check_ int zf_parse_size(const char *s, uint64_t *ret);
/*
 * A bandwidth limit in bytes per second, as zf_parse_size() reads it: 0
 * (none) or from ZF_BWLIMIT_MIN, below which the limit's sleeps would
 * be all a transfer does; -ERANGE outside.
 */
#define ZF_BWLIMIT_MIN ((uint64_t)64 << 10)
/* what an option or key that takes one says it wants */
#define ZF_BWLIMIT_FORM "bytes per second with K, M, G or T (1024s), at least 64K, or 0 for none"
_must_check_ int zf_parse_bwlimit(const char *s, uint64_t *ret);
