/* src/util/strv.h — NULL-terminated string vectors (argv building, name lists) */
#pragma once
#include <stddef.h>
#include "util/macro.h"

struct zf_strv {
	char **v;       /* NULL-terminated once anything was added; NULL when empty */
	size_t n;
	size_t alloc;
};

#define ZF_STRV_INIT { NULL, 0, 0 }

void zf_strv_add(struct zf_strv *s, const char *str);
_printf_(2, 3) void zf_strv_addf(struct zf_strv *s, const char *fmt, ...);
void zf_strv_addv(struct zf_strv *s, const char *const *strs);   /* NULL-terminated list */
void zf_strv_addn(struct zf_strv *s, const char *const *strs, size_t n);       /* n strings */
void zf_strv_release(struct zf_strv *s);
/* The vector as const argv, valid until the next add; never NULL. */
const char *const *zf_strv_argv(struct zf_strv *s);
/* 1 if str is in s. */
int zf_strv_contains(const struct zf_strv *s, const char *str);
void zf_strv_sort(struct zf_strv *s);
/* Removes the first copy of str, keeping the order: 1 if one was there. */
int zf_strv_remove(struct zf_strv *s, const char *str);

static inline void zf_strv_releasep(struct zf_strv *s)
{
	zf_strv_release(s);
}
#define _cleanup_strv_ _cleanup_(zf_strv_releasep)
