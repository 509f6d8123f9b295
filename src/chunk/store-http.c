/*
 * src/chunk/store-http.c — a chunk store behind a desync/casync chunk server
 *
 * Requests go through chunk/http-client.h (kept-alive connections, one per
 * worker thread up to o->parallel, retries); this file says what the chunk
 * server's answers mean.  What get_raw returns is verified by
 * zf_store_get(), like any store's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "chunk/chunk-http.h"
#include "chunk/http-client.h"
#include "chunk/store-backend.h"
#include "chunk/store-http.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/banned.h"

struct http_store {
	char *base;             /* the URL as given, ending in '/', credentials and all */
	char *display;          /* without credentials: for messages */
	struct curl_slist *headers;
	struct zf_http_client *client;
};

static const char *const method_names[] = { "HEAD", "GET", "PUT", "DELETE" };

/* One request about a chunk: the HTTP status, or <0 with a message naming the chunk and URL. */
static int request(struct http_store *h, enum zf_http_method method, const struct zf_chunk_id *id,
		   const void *p, size_t n, struct zf_buf *out, size_t max, uint64_t *ret_len,
		   struct zf_err *err)
{
	char rel[ZF_CHUNK_HTTP_REL_MAX], hex[ZF_CHUNK_ID_HEX];
	_cleanup_free_ char *url = NULL, *what = NULL;

	zf_chunk_http_rel(id, rel);
	zf_chunk_id_hex(id, hex);
	url = zf_xasprintf("%s%s", h->base, rel);
	what = zf_xasprintf("%s of chunk %s at %s%s", method_names[method], hex, h->display, rel);
	return zf_http_client_send(h->client, &(struct zf_http_req){
			.method = method, .url = url, .what = what, .headers = h->headers,
			.body = p, .body_len = n, .out = out, .max = max }, ret_len, err);
}

static int http_fail(struct http_store *h, const char *what, const struct zf_chunk_id *id,
		     int status, struct zf_err *err)
{
	char rel[ZF_CHUNK_HTTP_REL_MAX], hex[ZF_CHUNK_ID_HEX];
	const char *why = status == 401 || status == 403 ? " (check --store-auth-file)" :
			  status == 409 ? " (a different chunk is stored under this id)" : "";

	zf_chunk_http_rel(id, rel);
	return zf_err_set(err, status == 401 || status == 403 ? -EACCES : -ZF_E_PROTO,
			  "%s of chunk %s at %s%s: HTTP %d%s", what, zf_chunk_id_hex(id, hex),
			  h->display, rel, status, why);
}

static int http_has(struct zf_store *s, const struct zf_chunk_id *id, uint64_t *ret_size,
		    struct zf_err *err)
{
	struct http_store *h = zf_store_impl(s);
	uint64_t len = 0;
	int r;

	r = request(h, ZF_HTTP_HEAD, id, NULL, 0, NULL, 0, &len, err);
	if (r < 0)
		return r;
	if (r == 404)
		return 0;
	if (r != 200)
		return http_fail(h, "HEAD", id, r, err);
	if (ret_size)
		*ret_size = len;
	return 1;
}

static int http_put_raw(struct zf_store *s, const struct zf_chunk_id *id, const void *p,
			size_t n, struct zf_err *err)
{
	struct http_store *h = zf_store_impl(s);
	int r;

	r = request(h, ZF_HTTP_PUT, id, p, n, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	if (r == 201)
		return 0;       /* stored */
	if (r == 200 || r == 204)
		return 1;       /* was there (zferry), or stored (desync answers 200) */
	return http_fail(h, "PUT", id, r, err);
}

static int http_get_raw(struct zf_store *s, const struct zf_chunk_id *id, size_t max_raw,
			struct zf_buf *out, struct zf_err *err)
{
	struct http_store *h = zf_store_impl(s);
	int r;

	r = request(h, ZF_HTTP_GET, id, NULL, 0, out, max_raw, NULL, err);
	if (r < 0)
		return r;
	if (r == 404)
		return -ENOENT;
	if (r != 200)
		return http_fail(h, "GET", id, r, err);
	zf_buf_grow(out, 1);
	out->data[out->len] = '\0';
	return 0;
}

static void http_free(void *impl)
{
	struct http_store *h = impl;

	zf_http_client_free(h->client);
	curl_slist_free_all(h->headers);
	free(h->base);
	free(h->display);
	free(h);
}

static const struct zf_store_ops http_ops = {
	.has = http_has,
	.put_raw = http_put_raw,
	.get_raw = http_get_raw,
	.free = http_free,
};

static int add_auth(struct http_store *h, const char *auth_file, struct zf_err *err)
{
	_cleanup_free_ char *value = NULL, *line = NULL;
	int r;

	r = zf_chunk_http_auth_file_read(auth_file, &value, err);
	if (r < 0)
		return r;
	line = zf_xasprintf("Authorization: %s", value);
	h->headers = curl_slist_append(h->headers, line);
	explicit_bzero(line, strlen(line));
	explicit_bzero(value, strlen(value));
	return 0;
}

int zf_http_store_open(const char *url, const struct zf_store_remote_opts *o,
		       struct zf_store **ret, struct zf_err *err)
{
	const struct zf_http_client_opts co = {
		.parallel = o->parallel, .ca_file = o->ca_file, .cert_file = o->cert_file,
		.key_file = o->key_file,
	};
	struct http_store *h;
	size_t n = strlen(url);
	int r;

	if (strpbrk(url, "?# \t\r\n"))
		return zf_err_set(err, -EINVAL, "store URL may not hold a query, a fragment or "
				  "white space");
	if ((o->ca_file || o->cert_file || o->key_file) && strncmp(url, "https://", 8) != 0) {
		_cleanup_free_ char *shown = zf_http_url_display(url);

		return zf_err_set(err, -EINVAL, "store '%s': TLS options need an https:// URL",
				  shown);
	}
	h = zf_xcalloc(1, sizeof(*h));
	r = zf_http_client_new(&co, &h->client, err);
	if (r < 0) {
		free(h);
		return r;
	}
	h->base = n > 0 && url[n - 1] == '/' ? zf_xstrdup(url) : zf_xasprintf("%s/", url);
	h->display = zf_http_url_display(h->base);
	/* curl would wait up to a second for "100 Continue" before each large PUT */
	h->headers = curl_slist_append(NULL, "Expect:");
	if (o->auth_file) {
		r = add_auth(h, o->auth_file, err);
		if (r < 0) {
			http_free(h);
			return r;
		}
	}
	*ret = zf_store_new(&http_ops, h, h->display);
	return 0;
}
