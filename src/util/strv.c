/* src/util/strv.c — string vectors */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "util/alloc.h"
#include "util/strv.h"
#include "util/banned.h"

static void add_owned(struct zf_strv *s, char *str)
{
	ZF_ALLOC_GROW(s->v, s->n + 2, s->alloc);
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
}

void zf_strv_add(struct zf_strv *s, const char *str)
{
	add_owned(s, zf_xstrdup(str));
}

void zf_strv_addf(struct zf_strv *s, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	if (!p)
		p = zf_xstrdup("");     /* vasprintf failed: out of memory */
	add_owned(s, p);
}

void zf_strv_addv(struct zf_strv *s, const char *const *strs)
{
	for (; strs && *strs; strs++)
		zf_strv_add(s, *strs);
}

void zf_strv_addn(struct zf_strv *s, const char *const *strs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		zf_strv_add(s, strs[i]);
}

void zf_strv_release(struct zf_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->alloc = 0;
}

const char *const *zf_strv_argv(struct zf_strv *s)
{
	static const char *const empty[] = { NULL };
	return s->v ? (const char *const *)s->v : empty;
}

int zf_strv_contains(const struct zf_strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->v[i], str))
			return 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void zf_strv_sort(struct zf_strv *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(char *), cmp_str);
}

int zf_strv_remove(struct zf_strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->v[i], str)) {
			free(s->v[i]);
			memmove(&s->v[i], &s->v[i + 1], (s->n - i) * sizeof(char *));
			s->n--;
			return 1;
		}
	return 0;
}
