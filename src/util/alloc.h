/* src/util/alloc.h — allocation that aborts on out-of-memory (after git's xmalloc) */
#pragma once
#include <stddef.h>
#include "util/macro.h"

/*
 * Small allocations cannot usefully fail: these abort with a message.  Sizes
 * that come from input must be bounded by the caller *before* allocating.
 */
void *zf_xmalloc(size_t n);
void *zf_xcalloc(size_t nmemb, size_t size);
void *zf_xrealloc(void *p, size_t n);
/* realloc of an array of nmemb elements of size each, checking the product. */
void *zf_xreallocarray(void *p, size_t nmemb, size_t size);
char *zf_xstrdup(const char *s);
char *zf_xstrndup(const char *s, size_t n);
_printf_(1, 2) char *zf_xasprintf(const char *fmt, ...);

/* Grows *array (of *alloc elements) so that it holds at least n elements. */
#define ZF_ALLOC_GROW(array, n, alloc)                                               \
	do {                                                                         \
		if ((n) > (alloc)) {                                                 \
			size_t _na_ = (alloc) < 8 ? 8 : (alloc) * 2;                 \
			if (_na_ < (n))                                              \
				_na_ = (n);                                          \
			(array) = zf_xreallocarray((array), _na_, sizeof(*(array))); \
			(alloc) = _na_;                                              \
		}                                                                    \
	} while (0)
