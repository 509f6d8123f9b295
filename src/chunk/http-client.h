/* src/chunk/http-client.h — the libcurl requests the remote stores (HTTP, S3) share */
#pragma once
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

struct zf_buf;
struct zf_err;

/*
 * A pool of libcurl easy handles: one per request in flight, taken and put
 * back, so connections are kept alive and as many requests run at once as
 * threads ask, up to parallel.  Each request is retried with a growing
 * back-off on a connection failure, a reset, a timeout or a 5xx answer, never
 * on a 4xx.  While requests keep failing through all their tries, each new
 * one is sent once only, so a server that is down costs one back-off, not
 * one per chunk.  Safe to share between threads.
 */
struct zf_http_client;

struct zf_http_client_opts {
	unsigned parallel;              /* requests in flight at most; 0 = 16 */
	const char *ca_file;            /* https: PEM CA to check the server by; NULL: system's */
	const char *cert_file, *key_file;       /* https: our client certificate; NULL: none */
};

enum zf_http_method { ZF_HTTP_HEAD, ZF_HTTP_GET, ZF_HTTP_PUT, ZF_HTTP_DELETE };

struct zf_http_req {
	enum zf_http_method method;
	const char *url;                /* may hold credentials: never shown */
	/* What failed, for messages: "PUT of chunk ID at URL" (no credentials). */
	const char *what;
	const struct curl_slist *headers;       /* sent as they are; NULL: none */
	const void *body;               /* PUT */
	size_t body_len;
	struct zf_buf *out;             /* GET: the body (emptied first); NULL: discarded */
	size_t max;                     /* GET: a longer body is -EBADMSG */
};

/* -EINVAL when cert and key do not come together, -EIO if libcurl cannot start. */
_must_check_ int zf_http_client_new(const struct zf_http_client_opts *o,
				    struct zf_http_client **ret, struct zf_err *err);
struct zf_http_client *zf_http_client_free(struct zf_http_client *c);
DEFINE_CLEANUP_FUNC(struct zf_http_client *, zf_http_client_free);

/*
 * Sends req, with retries: the HTTP status of the last answer (a 5xx only
 * once its tries are spent is an error), or <0 with "WHAT failed after N
 * tries: REASON" in err.  *ret_len (may be NULL) gets the answer's
 * Content-Length, 0 when absent.
 */
_must_check_ int zf_http_client_send(struct zf_http_client *c, const struct zf_http_req *req,
				     uint64_t *ret_len, struct zf_err *err);

/* Drops "user:pass@" from scheme://user:pass@host/...: the URL for messages; caller frees. */
char *zf_http_url_display(const char *url);
