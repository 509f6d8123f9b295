/* src/util/json.c — streaming JSON writer */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include "util/buf.h"
#include "util/json.h"
#include "util/banned.h"

void zf_json_init_buf(struct zf_json *j, struct zf_buf *b)
{
	*j = (struct zf_json)ZF_JSON_INIT(b);
}

void zf_json_init_file(struct zf_json *j, FILE *f)
{
	*j = (struct zf_json)ZF_JSON_INIT_FILE(f);
}

void zf_json_release(struct zf_json *j)
{
	zf_buf_release(&j->scratch);
}

/* Where the text goes first: with a stream, the scratch buffer flush() empties. */
static struct zf_buf *out(struct zf_json *j)
{
	return j->f ? &j->scratch : j->b;
}

/* With a stream, what the last call added goes out now. */
static void flush(struct zf_json *j)
{
	if (!j->f)
		return;
	fwrite(j->scratch.data, 1, j->scratch.len, j->f);
	zf_buf_reset(&j->scratch);
}

/* Before any value: the comma that separates it from the one before. */
static void value_begin(struct zf_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->has_items[j->depth])
		zf_buf_addc(out(j), ',');
	j->has_items[j->depth] = true;
}

static void nest_begin(struct zf_json *j, char c)
{
	value_begin(j);
	assert(j->depth < ZF_JSON_DEPTH_MAX);
	j->depth++;
	j->has_items[j->depth] = false;
	j->closers[j->depth] = c == '{' ? '}' : ']';
	zf_buf_addc(out(j), c);
	flush(j);
}

static void nest_end(struct zf_json *j, char c)
{
	assert(j->depth > 0 && !j->after_key && j->closers[j->depth] == c);
	j->depth--;
	zf_buf_addc(out(j), c);
	flush(j);
}

void zf_json_object_begin(struct zf_json *j)
{
	nest_begin(j, '{');
}

void zf_json_object_end(struct zf_json *j)
{
	nest_end(j, '}');
}

void zf_json_array_begin(struct zf_json *j)
{
	nest_begin(j, '[');
}

void zf_json_array_end(struct zf_json *j)
{
	nest_end(j, ']');
}

void zf_json_key(struct zf_json *j, const char *key)
{
	assert(!j->after_key);
	value_begin(j);
	zf_buf_add_json_str(out(j), key);
	zf_buf_addc(out(j), ':');
	j->after_key = true;
	flush(j);
}

void zf_json_key_object_begin(struct zf_json *j, const char *key)
{
	zf_json_key(j, key);
	zf_json_object_begin(j);
}

void zf_json_key_array_begin(struct zf_json *j, const char *key)
{
	zf_json_key(j, key);
	zf_json_array_begin(j);
}

void zf_json_finish(struct zf_json *j)
{
	while (j->depth > 0)
		nest_end(j, j->closers[j->depth]);
	zf_json_newline(j);
}

void zf_json_str(struct zf_json *j, const char *s)
{
	value_begin(j);
	if (s)
		zf_buf_add_json_str(out(j), s);
	else
		zf_buf_adds(out(j), "null");
	flush(j);
}

void zf_json_u64(struct zf_json *j, uint64_t v)
{
	value_begin(j);
	zf_buf_addf(out(j), "%" PRIu64, v);
	flush(j);
}

void zf_json_i64(struct zf_json *j, int64_t v)
{
	value_begin(j);
	zf_buf_addf(out(j), "%" PRId64, v);
	flush(j);
}

void zf_json_u64_str(struct zf_json *j, uint64_t v)
{
	value_begin(j);
	zf_buf_addf(out(j), "\"%" PRIu64 "\"", v);
	flush(j);
}

void zf_json_bool(struct zf_json *j, bool v)
{
	value_begin(j);
	zf_buf_adds(out(j), v ? "true" : "false");
	flush(j);
}

void zf_json_null(struct zf_json *j)
{
	zf_json_str(j, NULL);
}

void zf_json_fixed(struct zf_json *j, double v, int decimals)
{
	value_begin(j);
	zf_buf_addf(out(j), "%.*f", decimals, v);
	flush(j);
}

void zf_json_raw(struct zf_json *j, const char *json)
{
	value_begin(j);
	zf_buf_adds(out(j), json);
	flush(j);
}

void zf_json_newline(struct zf_json *j)
{
	zf_buf_addc(out(j), '\n');
	flush(j);
}

/* zf_json_key_T(j, key, v): the key, then zf_json_T(j, v). */
#define KEYED(T, type)                                                  \
	void zf_json_key_##T(struct zf_json *j, const char *key, type v)  \
	{                                                               \
		zf_json_key(j, key);                                    \
		zf_json_##T(j, v);                                      \
	}

KEYED(str, const char *)
KEYED(u64, uint64_t)
KEYED(u64_str, uint64_t)
KEYED(i64, int64_t)
KEYED(bool, bool)

void zf_json_key_guid_or_null(struct zf_json *j, const char *key, uint64_t v)
{
	zf_json_key(j, key);
	if (v)
		zf_json_u64_str(j, v);
	else
		zf_json_null(j);
}

void zf_json_key_fixed(struct zf_json *j, const char *key, double v, int decimals)
{
	zf_json_key(j, key);
	zf_json_fixed(j, v, decimals);
}
