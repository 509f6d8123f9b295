/* src/util/json.h — a small streaming JSON writer: every --json output comes from here */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "util/buf.h"

/*
 * The writer puts the commas and tracks the nesting itself, so a caller says
 * only what goes out, in order:
 *
 *         struct zf_json j = ZF_JSON_INIT(&b);
 *
 *         zf_json_object_begin(&j);
 *         zf_json_key_str(&j, "name", name);          // "name":"tank/a"
 *         zf_json_key(&j, "sizes");
 *         zf_json_array_begin(&j);
 *         zf_json_u64(&j, 1); zf_json_u64(&j, 2);     // [1,2]
 *         zf_json_array_end(&j);
 *         zf_json_object_end(&j);                     // {"name":"tank/a","sizes":[1,2]}
 *
 * Output is compact: no spaces, no newline (zf_json_newline() adds one).
 * Strings are escaped as zf_buf_add_json_str() does: quote, backslash and
 * control characters; other bytes, UTF-8 included, pass through.  Nesting
 * deeper than ZF_JSON_DEPTH_MAX is a programmer mistake and asserts.
 */
#define ZF_JSON_DEPTH_MAX 32

struct zf_json {
	struct zf_buf *b;       /* where the text goes, unless ... */
	FILE *f;                /* ... it is written through to this stream */
	struct zf_buf scratch;  /* with f: one value at a time */
	unsigned depth;
	bool has_items[ZF_JSON_DEPTH_MAX + 1];  /* a comma before the next value at this level */
	char closers[ZF_JSON_DEPTH_MAX + 1];    /* '}' or ']' for each open level */
	bool after_key;         /* a value follows a key: no comma */
};

/* Writing into a buffer holds nothing: no release needed. */
#define ZF_JSON_INIT(buf) { .b = (buf), .scratch = ZF_BUF_INIT }
/* Writing through to a stream: release with zf_json_release() (or _cleanup_json_). */
#define ZF_JSON_INIT_FILE(file) { .f = (file), .scratch = ZF_BUF_INIT }
void zf_json_init_buf(struct zf_json *j, struct zf_buf *b);
void zf_json_init_file(struct zf_json *j, FILE *f);
/* Frees what the writer holds (not b, not f). */
void zf_json_release(struct zf_json *j);

void zf_json_object_begin(struct zf_json *j);
void zf_json_object_end(struct zf_json *j);
void zf_json_array_begin(struct zf_json *j);
void zf_json_array_end(struct zf_json *j);
/* Inside an object: the next value's name. */
void zf_json_key(struct zf_json *j, const char *key);
/* A key whose value is an object or array, opened: "key":{ / "key":[ */
void zf_json_key_object_begin(struct zf_json *j, const char *key);
void zf_json_key_array_begin(struct zf_json *j, const char *key);
/* Closes whatever is open, innermost first, and ends the document with "\n". */
void zf_json_finish(struct zf_json *j);

/* Values. zf_json_str() writes null for a NULL s. */
void zf_json_str(struct zf_json *j, const char *s);
void zf_json_u64(struct zf_json *j, uint64_t v);
void zf_json_i64(struct zf_json *j, int64_t v);
/* A u64 as a string ("123"): guids, which JSON's doubles cannot hold exactly. */
void zf_json_u64_str(struct zf_json *j, uint64_t v);
void zf_json_bool(struct zf_json *j, bool v);
void zf_json_null(struct zf_json *j);
/* A number with a fixed count of decimals, as printf's "%.*f" (1.500). */
void zf_json_fixed(struct zf_json *j, double v, int decimals);
/* A value already written as JSON, e.g. an array another writer filled. */
void zf_json_raw(struct zf_json *j, const char *json);
/* After the top-level value: "\n", as every --json document ends. */
void zf_json_newline(struct zf_json *j);

/* A key and its value in one call. */
void zf_json_key_str(struct zf_json *j, const char *key, const char *s);
void zf_json_key_u64(struct zf_json *j, const char *key, uint64_t v);
void zf_json_key_u64_str(struct zf_json *j, const char *key, uint64_t v);
/* As zf_json_key_u64_str(), but null for 0 (a guid that is not there: a full backup's base). */
void zf_json_key_guid_or_null(struct zf_json *j, const char *key, uint64_t v);
void zf_json_key_i64(struct zf_json *j, const char *key, int64_t v);
void zf_json_key_bool(struct zf_json *j, const char *key, bool v);
void zf_json_key_fixed(struct zf_json *j, const char *key, double v, int decimals);

static inline void zf_json_releasep(struct zf_json *j)
{
	zf_json_release(j);
}
#define _cleanup_json_ _cleanup_(zf_json_releasep)
