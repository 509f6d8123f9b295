/* src/util/regex.c — refuse regular expressions that glibc's regcomp() would blow up on */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/macro.h"
#include "util/regex.h"
#include "util/banned.h"

/*
 * The offset of the ']' that closes the bracket expression opening at
 * re[i], as regcomp() reads it: a ']' first (after an optional '^') is a
 * member, "[:", "[." and "[=" open classes that end at ":]", ".]", "=]",
 * and any other '[' is a member.  The end of re when it is unterminated
 * (regcomp() then refuses it).
 */
static size_t bracket_end(const char *re, size_t i)
{
	size_t j = i + 1;

	if (re[j] == '^')
		j++;
	if (re[j] == ']')
		j++;
	for (; re[j]; j++) {
		if (re[j] == '[' && (re[j + 1] == ':' || re[j + 1] == '.' || re[j + 1] == '=')) {
			char kind = re[j + 1];
			size_t k = j + 2;

			while (re[k] && !(re[k] == kind && re[k + 1] == ']'))
				k++;
			if (!re[k])
				return k - 1;
			j = k + 1;
		} else if (re[j] == ']') {
			return j;
		}
	}
	return j - 1;
}

/*
 * glibc's regcomp() copies the tree for each repetition: "a{9}{9}" or
 * "((a{99}){99}){99}" grow exponentially with nesting (a 60-byte rule took
 * 2 GB under the fuzzer).  POSIX leaves stacked repetitions undefined, so
 * refuse them; for the rest, estimate the expanded size (atoms times the
 * bounds of every repetition around them) and refuse what would not fit in
 * ZF_REGEX_MAX_NODES.  Returns the offset of the offending character and its
 * reason, or -1.
 */
ssize_t zf_regex_unsafe(const char *re, const char **why)
{
	uint64_t size[ZF_REGEX_MAX_DEPTH + 1] = { 0 };  /* expanded size of each open group */
	uint64_t last = 0;                          /* size of the last atom or group */
	bool after_rep = false;
	size_t len = strlen(re), depth = 0;

	if (len > ZF_REGEX_MAX_LEN) {
		*why = "expression longer than 1024 bytes";
		return ZF_REGEX_MAX_LEN;
	}
	for (size_t i = 0; i < len; i++) {
		char ch = re[i];
		size_t at = i;
		uint64_t times = 0;     /* nonzero: this is a repetition with that bound */

		if (ch == '(') {
			if (depth == ZF_REGEX_MAX_DEPTH) {
				*why = "groups nested too deeply";
				return (ssize_t)i;
			}
			size[++depth] = 0;
			after_rep = false;
			continue;
		}
		if (ch == ')' && depth > 0) {
			last = size[depth--];
			size[depth] += last;
			after_rep = false;
			continue;
		}
		if (ch == '|') {
			after_rep = false;
			continue;
		}
		if (ch == '*' || ch == '+' || ch == '?') {
			times = 2;
		} else if (ch == '{') {
			const char *close = strchr(re + i, '}');
			unsigned long lo = 0, hi = 0;
			char *q;

			lo = strtoul(re + i + 1, &q, 10);
			hi = lo;
			if (*q == ',')
				hi = q[1] == '}' ? lo + 1 : strtoul(q + 1, &q, 10);
			times = MAX(MAX(lo, hi), 1UL);
			if (close)
				i = (size_t)(close - re);
		} else {
			if (ch == '\\' && re[i + 1])
				i++;
			else if (ch == '[')
				i = bracket_end(re, i);
			last = 1;
			size[depth] += 1;
			after_rep = false;
			continue;
		}
		if (after_rep) {
			*why = "repetition of a repetition";
			return (ssize_t)at;
		}
		after_rep = true;
		if (times > ZF_REGEX_MAX_NODES || last * times > ZF_REGEX_MAX_NODES ||
		    size[depth] + last * (times - 1) > ZF_REGEX_MAX_NODES) {
			*why = "repetitions expand too far";
			return (ssize_t)at;
		}
		size[depth] += last * (times - 1);
		last *= times;
	}
	return -1;
}

int zf_regex_compile(regex_t *re, const char *src, char *why, size_t why_size)
{
	const char *unsafe = NULL;
	ssize_t bad = zf_regex_unsafe(src, &unsafe);
	int rc;

	if (bad >= 0) {
		snprintf(why, why_size, "%s at offset %zd", unsafe, bad);
		return -EINVAL;
	}
	rc = regcomp(re, src, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, re, why, why_size);
		return -EINVAL;
	}
	return 0;
}
