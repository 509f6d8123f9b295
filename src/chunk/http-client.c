/*
 * src/chunk/http-client.c — the libcurl requests the remote stores share
 *
 * Pulled out of the HTTP store when the S3 store came: the handle pool,
 * the retry loop and what a failure says are the same for both; only the
 * URLs, the headers and what a status means differ.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "chunk/http-client.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

#define HTTP_TRIES 4            /* a request is sent at most this often */
#define HTTP_BACKOFF_MS 500     /* times the attempt number, as desync */
#define HTTP_CONNECT_TIMEOUT 10L
#define HTTP_STALL_SECS 60L     /* below 1 byte/s this long: a timeout */

struct zf_http_client {
	char *ca_file, *cert_file, *key_file;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	CURL **idle;
	size_t nidle, nall, max;
	/* Set while requests fail through all their tries (cleared by the next one
	 * that gets an answer); meanwhile each is sent once. */
	atomic_bool failing;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

char *zf_http_url_display(const char *url)
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

int zf_http_client_new(const struct zf_http_client_opts *o, struct zf_http_client **ret,
		       struct zf_err *err)
{
	struct zf_http_client *c;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return zf_err_set(err, -EIO, "cannot initialise libcurl: %s",
				  curl_easy_strerror(global_rc));
	if (!o->cert_file != !o->key_file)
		return zf_err_set(err, -EINVAL, "a client certificate needs its key and a key "
				  "its certificate");
	c = zf_xcalloc(1, sizeof(*c));
	c->max = o->parallel ? o->parallel : 16;
	c->ca_file = o->ca_file ? zf_xstrdup(o->ca_file) : NULL;
	c->cert_file = o->cert_file ? zf_xstrdup(o->cert_file) : NULL;
	c->key_file = o->key_file ? zf_xstrdup(o->key_file) : NULL;
	c->idle = zf_xcalloc(c->max, sizeof(*c->idle));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	*ret = c;
	return 0;
}

struct zf_http_client *zf_http_client_free(struct zf_http_client *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->idle);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c);
	return NULL;
}

static CURL *handle_take(struct zf_http_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	while (c->nidle == 0 && c->nall >= c->max)
		pthread_cond_wait(&c->cond, &c->lock);
	if (c->nidle > 0)
		h = c->idle[--c->nidle];
	else
		c->nall++;
	pthread_mutex_unlock(&c->lock);
	if (!h)
		h = curl_easy_init();
	if (!h)
		abort();        /* out of memory, as zf_xmalloc() */
	return h;
}

static void handle_give(struct zf_http_client *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	c->idle[c->nidle++] = h;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
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
static const char *tls_hint(const struct zf_http_client *c, const char *url, CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		return c->ca_file ? "server certificate refused: " :
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
		if (strncmp(url, "https:", 6) != 0)
			return "";
		return c->cert_file ? "TLS connection refused (is our certificate signed by "
				      "the server's CA?): " :
				      "TLS connection refused (does the server want a client "
				      "certificate? see --store-tls-cert): ";
	default:
		return "";
	}
}

static void setup(struct zf_http_client *c, CURL *h, const struct zf_http_req *req,
		  struct body *b, char *errbuf)
{
	curl_easy_reset(h);     /* keeps the connection and the caches */
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, HTTP_STALL_SECS);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, req->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_discard);
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	if (c->key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	switch (req->method) {
	case ZF_HTTP_HEAD:
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		break;
	case ZF_HTTP_GET:
		if (req->out) {
			zf_buf_reset(req->out);
			b->too_big = false;
			curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
			curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
		}
		break;
	case ZF_HTTP_PUT:
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		break;
	case ZF_HTTP_DELETE:
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
		break;
	}
}

int zf_http_client_send(struct zf_http_client *c, const struct zf_http_req *req,
			uint64_t *ret_len, struct zf_err *err)
{
	char errbuf[CURL_ERROR_SIZE];
	struct body b = { req->out, req->max, false };
	CURLcode rc = CURLE_OK;
	long status = 0;
	int tries, attempt;
	CURL *h;

	tries = atomic_load(&c->failing) ? 1 : HTTP_TRIES;
	h = handle_take(c);
	for (attempt = 1; attempt <= tries; attempt++) {
		if (attempt > 1)
			zf_sleep_ms((uint64_t)HTTP_BACKOFF_MS * (uint64_t)(attempt - 1));
		setup(c, h, req, &b, errbuf);
		rc = curl_easy_perform(h);
		status = 0;
		if (rc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (!retryable(rc, status))
			break;
	}
	if (attempt > tries)
		attempt = tries;
	if (rc == CURLE_OK && ret_len) {
		curl_off_t len = -1;

		curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
		*ret_len = len > 0 ? (uint64_t)len : 0;
	}
	handle_give(c, h);
	atomic_store(&c->failing, retryable(rc, status));
	if (b.too_big)
		return zf_err_set(err, -EBADMSG, "%s: the answer is larger than %zu bytes",
				  req->what, req->max);
	if (rc != CURLE_OK)
		return zf_err_set(err, -EIO, "%s failed after %d %s: %s%s", req->what, attempt,
				  attempt == 1 ? "try" : "tries", tls_hint(c, req->url, rc),
				  errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (status >= 500)
		return zf_err_set(err, -EIO, "%s failed after %d %s: HTTP %ld", req->what, attempt,
				  attempt == 1 ? "try" : "tries", status);
	return (int)status;
}
