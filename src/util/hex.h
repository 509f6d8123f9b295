/* src/util/hex.h — lowercase hex, both ways */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

/* "0123456789abcdef": a nibble's digit, for callers that write one at a time. */
extern const char zf_hex_chars[17];

/* Writes the 2n lowercase digits of the n bytes at p and a NUL to out; returns out. */
char *zf_hex_encode(const void *p, size_t n, char *out);
/* The value of one hex digit, either case, or -1. */
int zf_hex_digit(int c);
/*
 * Reads 2n hex digits (either case) at s into the n bytes at out: 0, or
 * -EINVAL at the first character that is not one, whose offset goes to
 * *ret_bad when ret_bad is not NULL.  Bytes before it may have been written.
 */
_must_check_ int zf_hex_decode(const char *s, size_t n, void *out, size_t *ret_bad);
