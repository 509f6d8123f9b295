/* src/util/buf.c — growable byte buffer */
#include <stdio.h>
#include <string.h>
#include "util/alloc.h"
#include "util/buf.h"
#include "util/banned.h"

void zf_buf_init(struct zf_buf *b)
{
	b->data = NULL;
	b->len = b->alloc = 0;
	zf_buf_grow(b, 0);
}

void zf_buf_release(struct zf_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void zf_buf_reset(struct zf_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void zf_buf_grow(struct zf_buf *b, size_t extra)
{
	size_t need;
	if (__builtin_add_overflow(b->len, extra + 1, &need))
		need = SIZE_MAX;
	ZF_ALLOC_GROW(b->data, need, b->alloc);
	b->data[b->len] = '\0';
}

void zf_buf_add(struct zf_buf *b, const void *p, size_t n)
{
	zf_buf_grow(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void zf_buf_adds(struct zf_buf *b, const char *s)
{
	zf_buf_add(b, s, strlen(s));
}

void zf_buf_addc(struct zf_buf *b, char c)
{
	zf_buf_add(b, &c, 1);
}

void zf_buf_vaddf(struct zf_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	zf_buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->data + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->alloc - b->len) {
		zf_buf_grow(b, (size_t)n);
		n = vsnprintf(b->data + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void zf_buf_addf(struct zf_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	zf_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void zf_buf_add_json_str(struct zf_buf *b, const char *s)
{
	zf_buf_addc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  zf_buf_adds(b, "\\\""); break;
		case '\\': zf_buf_adds(b, "\\\\"); break;
		case '\n': zf_buf_adds(b, "\\n"); break;
		case '\r': zf_buf_adds(b, "\\r"); break;
		case '\t': zf_buf_adds(b, "\\t"); break;
		default:
			if (*p < 0x20)
				zf_buf_addf(b, "\\u%04x", *p);
			else
				zf_buf_addc(b, (char)*p);
		}
	}
	zf_buf_addc(b, '"');
}

char *zf_buf_detach(struct zf_buf *b, size_t *ret_len)
{
	char *p;
	if (!b->data)
		zf_buf_grow(b, 0);
	p = b->data;
	if (ret_len)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}
