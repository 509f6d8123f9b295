/* src/daemon/escape.h — names from state made safe for the text formats the daemon serves */
#pragma once
#include <stddef.h>

struct zf_buf;

/*
 * Dataset and job names are bytes chosen by whoever names a dataset: they
 * may hold quotes, newlines, '<' and bytes that are not UTF-8.  Both
 * helpers write valid UTF-8 only: a byte that does not start a valid
 * sequence is written as the four characters \xNN, so a parser or a
 * browser never sees it raw, and two names that differ only in such bytes
 * stay two label values (U+FFFD for both would merge two series).
 */

/* A Prometheus label value, without its quotes: \ " and newline as \\ \" \n. */
void zf_esc_prom_label(struct zf_buf *b, const char *s);
/* HTML text or a quoted attribute value: & < > " ' as entities, controls but tab and LF as \xNN. */
void zf_esc_html(struct zf_buf *b, const char *s);
/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when s[0] does not start one. */
size_t zf_utf8_seq_len(const unsigned char *s);


