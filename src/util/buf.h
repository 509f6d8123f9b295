/* src/util/buf.h — a growable byte buffer, always NUL-terminated (after git's strbuf) */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include "util/macro.h"

struct zf_buf {
	char *data;     /* NUL-terminated; never NULL after zf_buf_init() */
	size_t len;
	size_t alloc;
};

#define ZF_BUF_INIT { NULL, 0, 0 }

void zf_buf_init(struct zf_buf *b);
void zf_buf_release(struct zf_buf *b);          /* frees contents; b can be reused */
void zf_buf_reset(struct zf_buf *b);            /* empties, keeps the allocation */
void zf_buf_grow(struct zf_buf *b, size_t extra);
void zf_buf_add(struct zf_buf *b, const void *p, size_t n);
void zf_buf_adds(struct zf_buf *b, const char *s);
void zf_buf_addc(struct zf_buf *b, char c);
_printf_(2, 3) void zf_buf_addf(struct zf_buf *b, const char *fmt, ...);
_printf_(2, 0) void zf_buf_vaddf(struct zf_buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included. */
void zf_buf_add_json_str(struct zf_buf *b, const char *s);
/* Takes the data out: the caller frees it; b is left empty. */
char *zf_buf_detach(struct zf_buf *b, size_t *ret_len);
/* The data, valid even for a buffer never written to. */
static inline const char *zf_buf_str(const struct zf_buf *b)
{
	return b->data ? b->data : "";
}

static inline void zf_buf_releasep(struct zf_buf *b)
{
	zf_buf_release(b);
}
#define _cleanup_buf_ _cleanup_(zf_buf_releasep)
