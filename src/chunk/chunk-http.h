/*
 * src/chunk/chunk-http.h — the desync/casync chunk-server protocol, declared once
 *
 * What `zferry store serve` answers and what the HTTP store client asks,
 * without sockets: paths, the decision for a request head, the
 * Authorization file.  Pure, so every hostile byte can be unit-tested.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chunk/chunk.h"
#include "util/macro.h"

struct zf_buf;
struct zf_err;

/* Chunks decompress to at most this; a PUT body is at most zf_cacnk_max_raw() of it. */
#define ZF_CHUNK_HTTP_MAX_CHUNK (16u * 1024 * 1024)
#define ZF_CHUNK_HTTP_MAX_HEAD  8192u   /* request line + headers */
#define ZF_CHUNK_HTTP_MAX_AUTH  4096u   /* an Authorization value */

/* "<4hex>/<64hex>.cacnk" (lowercase) for id: what follows the prefix. */
#define ZF_CHUNK_HTTP_REL_MAX (5 + 64 + 6 + 1)
void zf_chunk_http_rel(const struct zf_chunk_id *id, char ret[ZF_CHUNK_HTTP_REL_MAX]);

/*
 * Checks a --prefix: "/" or "/A/B/" with segments of [A-Za-z0-9._~-] that
 * are not "." or "..".  Returns 0 or -EINVAL (message in err).
 */
_must_check_ int zf_chunk_http_prefix_check(const char *prefix, struct zf_err *err);

enum zf_chunk_http_target {
	ZF_CHUNK_HTTP_CHUNK = 1,        /* PREFIX<4hex>/<64hex>.cacnk */
	ZF_CHUNK_HTTP_INDEX,            /* PREFIX<name>.caibx / .caidx */
};

/*
 * Parses a request target byte for byte: the prefix, then exactly a chunk
 * path (lowercase hex, the directory = the id's first 4 digits) or, when
 * index_ok, one index name ([A-Za-z0-9_-][A-Za-z0-9._-]* ending .caibx or
 * .caidx, at most 255 bytes).  No query, no fragment, no percent-encoding,
 * no dot segments, no doubled slash: anything else is -EINVAL (400).
 * *ret_name points into target.
 */
_must_check_ int zf_chunk_http_parse_target(const char *target, size_t n, const char *prefix,
					    bool index_ok, enum zf_chunk_http_target *ret_kind,
					    struct zf_chunk_id *ret_id, const char **ret_name,
					    size_t *ret_name_len);

enum zf_chunk_http_method {
	ZF_CHUNK_HTTP_GET = 1,
	ZF_CHUNK_HTTP_HEAD,
	ZF_CHUNK_HTTP_PUT,
	ZF_CHUNK_HTTP_OTHER,
};
enum zf_chunk_http_method zf_chunk_http_method(const char *s, size_t n);

/* A request head as the server parsed it. */
struct zf_chunk_http_req {
	enum zf_chunk_http_method method;
	const char *target;
	size_t target_len;
	bool has_auth;
	const char *auth;               /* the Authorization value, trimmed */
	size_t auth_len;
	bool has_length;
	uint64_t length;                /* Content-Length */
	bool chunked;                   /* a Transfer-Encoding header was sent */
	bool bad_header;                /* repeated Content-Length, bad number, NUL, ... */
};

struct zf_chunk_http_policy {
	const char *prefix;             /* checked by zf_chunk_http_prefix_check() */
	const char *auth;               /* the value required of Authorization; NULL: none */
	bool writable;
	bool index_ok;                  /* --index-dir given */
	uint64_t max_body;
};

/* What the server does with a request head. */
struct zf_chunk_http_decision {
	int status;                     /* 0: go on (GET/HEAD/PUT of target); else answer this */
	const char *why;                /* the body of an error answer */
	enum zf_chunk_http_target kind;
	struct zf_chunk_id id;
	const char *name;               /* index name, into req->target */
	size_t name_len;
};

/*
 * In desync's order: auth (401), then the path (400), then the method
 * (405 for other methods, 400 for a PUT to a read-only server or of an
 * index, as desync answers), then the body (411 without a length, 400 for
 * Transfer-Encoding or a body on GET/HEAD, 413 over max_body).
 */
void zf_chunk_http_decide(const struct zf_chunk_http_req *req,
			  const struct zf_chunk_http_policy *p,
			  struct zf_chunk_http_decision *ret);

/* Constant-time comparison of an Authorization value (no early exit on content). */
bool zf_chunk_http_auth_eq(const char *want, const char *got, size_t got_len);

/*
 * Reads the Authorization value from path: one line (a trailing newline
 * is dropped), printable ASCII only, at most ZF_CHUNK_HTTP_MAX_AUTH bytes.
 * The file's content is never put in a message.
 */
_must_check_ int zf_chunk_http_auth_file_read(const char *path, char **ret, struct zf_err *err);
