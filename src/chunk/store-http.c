/*
 * src/chunk/store-http.c — a chunk store behind a desync/casync chunk server
 *
 * One libcurl easy handle per request in flight, taken from a pool and put
 * back, so connections are kept alive and as many requests run at once as
 * threads ask (make and extract use one per worker), up to o->parallel.
 * What get_raw returns is verified by zf_store_get(), like any store's.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "chunk/chunk-http.h"
#include "chunk/store-backend.h"
#include "chunk/store-http.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

#define HTTP_TRIES 4            /* a request is sent at most this often */
#define HTTP_BACKOFF_MS 500     /* times the attempt number, as desync */
#define HTTP_CONNECT_TIMEOUT 10L
#define HTTP_STALL_SECS 60L     /* below 1 byte/s this long: a timeout */

struct http_store {
	char *base;             /* the URL as given, ending in '/', credentials and all */
	char *display;          /* without credentials: for messages */
	struct curl_slist *headers;
	char *ca_file, *cert_file, *key_file;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	CURL **idle;
	size_t nidle, nall, max;
	/*
	 * Set while requests fail through all their tries (cleared by the
	 * next one that gets an answer): meanwhile each is sent once, so a
	 * server that is down costs one back-off, not one per chunk.
	 */
	atomic_bool failing;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Drops "user:pass@" from scheme://user:pass@host/... */
static char *url_display(const char *url)
{
	const char *host = strstr(url, "://");
	const char *at, *slash;

	if (!host)
		return zf_xstrdup(url);
	host += 3;
	slash = strchr(host, '/');
	at = memchr(host, '@', slash ? (size_t)(slash - host) : strlen(host));
	if (!at)
		return zf_xstrdup(url);
	return zf_xasprintf("%.*s%s", (int)(host - url), url, at + 1);
}

static CURL *handle_take(struct http_store *h)
{
	CURL *c = NULL;

	pthread_mutex_lock(&h->lock);
	while (h->nidle == 0 && h->nall >= h->max)
		pthread_cond_wait(&h->cond, &h->lock);
	if (h->nidle > 0)
		c = h->idle[--h->nidle];
	else
		h->nall++;
	pthread_mutex_unlock(&h->lock);
	if (!c)
		c = curl_easy_init();
	if (!c)
		abort();        /* out of memory, as zf_xmalloc() */
	return c;
}

static void handle_give(struct http_store *h, CURL *c)
{
	pthread_mutex_lock(&h->lock);
	h->idle[h->nidle++] = c;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

struct body {
	struct zf_buf *out;
	size_t max;
	bool too_big;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb;

	if (b->out->len + n > b->max) {
		b->too_big = true;
		return 0;       /* stops the transfer */
	}
	zf_buf_add(b->out, p, n);
	return n;
}

/* Bodies of PUT answers and of errors: not wanted (libcurl would print them). */
static size_t on_discard(char *p, size_t size, size_t nmemb, void *userdata)
{
	(void)p;
	(void)userdata;
	return size * nmemb;
}

enum req { REQ_HEAD, REQ_GET, REQ_PUT };

static const char *const req_names[] = { "HEAD", "GET", "PUT" };

static bool retryable(CURLcode rc, long status)
{
	switch (rc) {
	case CURLE_OK:
		return status >= 500;
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_COULDNT_RESOLVE_HOST:
		return true;
	default:
		return false;
	}
}

/*
 * What to add to curl's own words when a TLS failure has a usual cause.
 * With TLS 1.3 a server checks our certificate after the handshake, so
 * its refusal reaches curl as a reset or an alert, not as a TLS error.
 */
static const char *tls_hint(const struct http_store *h, CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		return h->ca_file ? "server certificate refused: " :
				    "server certificate refused (checked by the system's CAs; see "
				    "--store-tls-ca): ";
	case CURLE_SSL_CACERT_BADFILE:
		return "cannot use the CA file: ";
	case CURLE_SSL_CERTPROBLEM:
		return "cannot use the client certificate: ";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		if (strncmp(h->base, "https:", 6) != 0)
			return "";
		return h->cert_file ? "TLS connection refused (is our certificate signed by "
				      "the server's CA?): " :
				      "TLS connection refused (does the server want a client "
				      "certificate? see --store-tls-cert): ";
	default:
		return "";
	}
}

/*
 * One request with retries: the HTTP status, or <0 with a message naming
 * the chunk and the URL (never the credentials).  GET bodies land in out.
 */
static int request(struct http_store *h, enum req what, const struct zf_chunk_id *id,
		   const void *p, size_t n, struct zf_buf *out, size_t max, uint64_t *ret_len,
		   struct zf_err *err)
{
	char rel[ZF_CHUNK_HTTP_REL_MAX], hex[ZF_CHUNK_ID_HEX];
	_cleanup_free_ char *url = NULL;
	char errbuf[CURL_ERROR_SIZE];
	struct body b = { out, max, false };
	CURLcode rc = CURLE_OK;
	long status = 0;
	int tries, attempt;
	CURL *c;

	zf_chunk_http_rel(id, rel);
	zf_chunk_id_hex(id, hex);
	url = zf_xasprintf("%s%s", h->base, rel);
	tries = atomic_load(&h->failing) ? 1 : HTTP_TRIES;

	c = handle_take(h);
	for (attempt = 1; attempt <= tries; attempt++) {
		if (attempt > 1)
			zf_sleep_ms((uint64_t)HTTP_BACKOFF_MS * (uint64_t)(attempt - 1));
		curl_easy_reset(c);     /* keeps the connection and the caches */
		errbuf[0] = '\0';
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, HTTP_STALL_SECS);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_discard);
		if (h->ca_file)
			curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
		if (h->cert_file)
			curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert_file);
		if (h->key_file)
			curl_easy_setopt(c, CURLOPT_SSLKEY, h->key_file);
		if (what == REQ_HEAD) {
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		} else if (what == REQ_GET) {
			zf_buf_reset(out);
			b.too_big = false;
			curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
			curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		} else {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, p);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
		}
		rc = curl_easy_perform(c);
		status = 0;
		if (rc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (!retryable(rc, status))
			break;
	}
	if (attempt > tries)
		attempt = tries;
	if (rc == CURLE_OK && ret_len) {
		curl_off_t len = -1;

		curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
		*ret_len = len > 0 ? (uint64_t)len : 0;
	}
	handle_give(h, c);
	atomic_store(&h->failing, retryable(rc, status));
	if (b.too_big)
		return zf_err_set(err, -EBADMSG, "chunk %s at %s%s is larger than %zu bytes", hex,
				  h->display, rel, max);
	if (rc != CURLE_OK)
		return zf_err_set(err, -EIO, "%s of chunk %s at %s%s failed after %d %s: %s%s",
				  req_names[what], hex, h->display, rel, attempt,
				  attempt == 1 ? "try" : "tries", tls_hint(h, rc),
				  errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (status >= 500)
		return zf_err_set(err, -EIO, "%s of chunk %s at %s%s failed after %d %s: "
				  "HTTP %ld", req_names[what], hex, h->display, rel, attempt,
				  attempt == 1 ? "try" : "tries", status);
	return (int)status;
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

	r = request(h, REQ_HEAD, id, NULL, 0, NULL, 0, &len, err);
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

	r = request(h, REQ_PUT, id, p, n, NULL, 0, NULL, err);
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

	r = request(h, REQ_GET, id, NULL, 0, out, max_raw, NULL, err);
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

	for (size_t i = 0; i < h->nidle; i++)
		curl_easy_cleanup(h->idle[i]);
	curl_slist_free_all(h->headers);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h->idle);
	free(h->ca_file);
	free(h->cert_file);
	free(h->key_file);
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
	struct http_store *h;
	size_t n = strlen(url);
	int r;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return zf_err_set(err, -EIO, "cannot initialise libcurl: %s",
				  curl_easy_strerror(global_rc));
	if (strpbrk(url, "?# \t\r\n"))
		return zf_err_set(err, -EINVAL, "store URL may not hold a query, a fragment or "
				  "white space");
	if ((o->ca_file || o->cert_file || o->key_file) && strncmp(url, "https://", 8) != 0) {
		_cleanup_free_ char *shown = url_display(url);

		return zf_err_set(err, -EINVAL, "store '%s': TLS options need an https:// URL",
				  shown);
	}
	if (!o->cert_file != !o->key_file)
		return zf_err_set(err, -EINVAL, "a client certificate needs its key and a key "
				  "its certificate");
	h = zf_xcalloc(1, sizeof(*h));
	h->base = n > 0 && url[n - 1] == '/' ? zf_xstrdup(url) : zf_xasprintf("%s/", url);
	h->display = url_display(h->base);
	h->max = o->parallel ? o->parallel : 16;
	h->ca_file = o->ca_file ? zf_xstrdup(o->ca_file) : NULL;
	h->cert_file = o->cert_file ? zf_xstrdup(o->cert_file) : NULL;
	h->key_file = o->key_file ? zf_xstrdup(o->key_file) : NULL;
	h->idle = zf_xcalloc(h->max, sizeof(*h->idle));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
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
