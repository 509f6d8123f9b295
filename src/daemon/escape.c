/* src/daemon/escape.c — label values and HTML text from hostile names */
#include <stdbool.h>
#include "daemon/escape.h"
#include "util/buf.h"
#include "util/banned.h"


static bool cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/*
 * RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.  A
 * NUL ends the string before any continuation byte is read, so this never
 * reads past the terminator.
 */
size_t zf_utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return cont(s[1]) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (!cont(s[1]) || !cont(s[2]))
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (!cont(s[1]) || !cont(s[2]) || !cont(s[3]))
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/* The text \xNN, each of its characters through fn (so a label gets \\xNN). */
static void add_byte_text(struct zf_buf *b, unsigned char c, void (*fn)(struct zf_buf *, char))
{
	static const char hex[] = "0123456789abcdef";

	fn(b, '\\');
	fn(b, 'x');
	fn(b, hex[c >> 4]);
	fn(b, hex[c & 15]);
}

/* Copies s, giving each ASCII byte to fn (which may escape it); invalid UTF-8 becomes text. */
static void add_utf8(struct zf_buf *b, const char *s, void (*fn)(struct zf_buf *, char))
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t n = zf_utf8_seq_len(p);

		if (n == 0) {
			add_byte_text(b, *p++, fn);
		} else if (n == 1) {
			fn(b, (char)*p++);
		} else {
			zf_buf_add(b, p, n);
			p += n;
		}
	}
}

static void prom_char(struct zf_buf *b, char c)
{
	switch (c) {
	case '\\': zf_buf_adds(b, "\\\\"); break;
	case '"': zf_buf_adds(b, "\\\""); break;
	case '\n': zf_buf_adds(b, "\\n"); break;
	default: zf_buf_addc(b, c);
	}
}

static void html_char(struct zf_buf *b, char c)
{
	switch (c) {
	case '&': zf_buf_adds(b, "&amp;"); break;
	case '<': zf_buf_adds(b, "&lt;"); break;
	case '>': zf_buf_adds(b, "&gt;"); break;
	case '"': zf_buf_adds(b, "&quot;"); break;
	case '\'': zf_buf_adds(b, "&#39;"); break;
	default:
		if (((unsigned char)c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
			add_byte_text(b, (unsigned char)c, zf_buf_addc);
		else
			zf_buf_addc(b, c);
	}
}

void zf_esc_prom_label(struct zf_buf *b, const char *s)
{
	add_utf8(b, s, prom_char);
}

void zf_esc_html(struct zf_buf *b, const char *s)
{
	add_utf8(b, s, html_char);
}
