/* src/util/regex.h — bounded POSIX extended regular expressions */
#pragma once
#include <regex.h>
#include <stddef.h>
#include <sys/types.h>

#define ZF_REGEX_MAX_LEN   1024
#define ZF_REGEX_MAX_NODES 4096
#define ZF_REGEX_MAX_DEPTH 32

/*
 * -1 when re is safe to hand to regcomp(); else the offset of the offending
 * character and, in *why, the reason: longer than ZF_REGEX_MAX_LEN, a
 * repetition of a repetition, groups nested deeper than ZF_REGEX_MAX_DEPTH,
 * or an estimated expansion over ZF_REGEX_MAX_NODES.
 */
ssize_t zf_regex_unsafe(const char *re, const char **why);

/* zf_regex_unsafe() then regcomp(REG_EXTENDED | REG_NOSUB): 0, or -EINVAL and why. */
int zf_regex_compile(regex_t *re, const char *src, char *why, size_t why_size);
