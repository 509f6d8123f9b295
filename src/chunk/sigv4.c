/*
 * src/chunk/sigv4.c — AWS Signature Version 4 for S3
 *
 * The algorithm is AWS's "Authenticating Requests (AWS Signature Version
 * 4)" for S3: canonical request, string to sign, a signing key derived
 * from the secret by four HMACs, the signature.  S3 differs from other
 * services in two ways that matter here: the path is encoded once and
 * never normalised ("a/./b" and "a//b" are keys of their own), and
 * x-amz-content-sha256 must be sent and signed.
 *
 * Every string that ends up in a header is checked for control
 * characters first: a CR or LF in a header value given to curl would
 * start a header (or a request) of the caller's choosing.  Messages name
 * the field that is wrong, never its value, so neither the secret nor a
 * token can reach a log through them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "chunk/sigv4.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/banned.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
/* 9999-12-31T23:59:59Z: x-amz-date has four digits of year */
#define TIME_MAX INT64_C(253402300799)


static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 9110 token characters: what a method or header name may hold. */
static bool is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static void uri_encode_to(struct zf_buf *b, const char *s, size_t n, bool keep_slash)
{
	static const char hexup[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c) || (keep_slash && c == '/')) {
			zf_buf_addc(b, (char)c);
		} else {
			zf_buf_addc(b, '%');
			zf_buf_addc(b, hexup[c >> 4]);
			zf_buf_addc(b, hexup[c & 15]);
		}
	}
}

char *zf_sigv4_uri_encode(const char *s, size_t n, bool keep_slash)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	zf_buf_init(&b);
	uri_encode_to(&b, s, n, keep_slash);
	return zf_buf_detach(&b, NULL);
}

int zf_sigv4_sha256_hex(const void *p, size_t n, char ret[ZF_SIGV4_HEX_LEN + 1],
			struct zf_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return zf_err_set(err, -EIO, "sigv4: cannot compute SHA-256");
	zf_hex_encode(md, len, ret);
	return 0;
}

static int hmac(const void *key, size_t keylen, const char *msg, unsigned char ret[32],
		struct zf_err *err)
{
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), ret,
		  &len) ||
	    len != 32)
		return zf_err_set(err, -EIO, "sigv4: cannot compute HMAC-SHA256");
	return 0;
}

/* ---- checking what goes into headers ---- */

/* s has no control character (so no CR/LF): it may sit in a header. */
static int check_text(const char *what, const char *s, struct zf_err *err)
{
	for (size_t i = 0; s[i]; i++)
		if (is_ctl((unsigned char)s[i]))
			return zf_err_set(err, -EINVAL,
					  "sigv4: %s has a control character at byte %zu", what, i);
	return 0;
}

/* s is not empty, has no control character, no space and none of reject. */
static int check_word(const char *what, const char *s, const char *reject, struct zf_err *err)
{
	int r;

	if (!s || !*s)
		return zf_err_set(err, -EINVAL, "sigv4: %s is empty", what);
	r = check_text(what, s, err);
	if (r < 0)
		return r;
	for (size_t i = 0; s[i]; i++)
		if (s[i] == ' ' || strchr(reject, s[i]))
			return zf_err_set(err, -EINVAL, "sigv4: %s has a '%c' at byte %zu", what,
					  s[i], i);
	return 0;
}

static int check_token(const char *what, const char *s, struct zf_err *err)
{
	if (!s || !*s)
		return zf_err_set(err, -EINVAL, "sigv4: %s is empty", what);
	for (size_t i = 0; s[i]; i++)
		if (!is_tchar((unsigned char)s[i]))
			return zf_err_set(err, -EINVAL,
					  "sigv4: %s has a character not allowed in an HTTP "
					  "token at byte %zu", what, i);
	return 0;
}

static int check_creds(const struct zf_sigv4_creds *c, struct zf_err *err)
{
	int r;

	/* '/' and ',' would split the Credential=KEY/DATE/REGION/SERVICE field */
	r = check_word("access key id", c->access_key_id, "/,", err);
	if (r < 0)
		return r;
	if (!c->secret_key || !*c->secret_key)
		return zf_err_set(err, -EINVAL, "sigv4: secret key is empty");
	if (c->session_token) {
		if (!*c->session_token)
			return zf_err_set(err, -EINVAL, "sigv4: session token is empty");
		r = check_word("session token", c->session_token, "", err);
		if (r < 0)
			return r;
	}
	r = check_word("region", c->region, "/,", err);
	if (r < 0)
		return r;
	return check_word("service", c->service, "/,", err);
}

static int check_payload_hash(const char *h, struct zf_err *err)
{
	if (h && streq(h, ZF_SIGV4_UNSIGNED_PAYLOAD))
		return 0;
	if (!h || strlen(h) != ZF_SIGV4_HEX_LEN || strspn(h, zf_hex_chars) != ZF_SIGV4_HEX_LEN)
		return zf_err_set(err, -EINVAL,
				  "sigv4: payload hash is neither 64 lowercase hex digits nor "
				  ZF_SIGV4_UNSIGNED_PAYLOAD);
	return 0;
}

static int check_req(const struct zf_sigv4_req *req, struct zf_err *err)
{
	int r;

	r = check_token("method", req->method, err);
	if (r < 0)
		return r;
	r = check_word("host", req->host, "/\\@", err);
	if (r < 0)
		return r;
	if (req->path && *req->path && req->path[0] != '/')
		return zf_err_set(err, -EINVAL, "sigv4: path does not start with '/'");
	if (req->time < 0 || req->time > TIME_MAX)
		return zf_err_set(err, -EINVAL, "sigv4: time %lld is outside 1970-9999",
				  (long long)req->time);
	return check_payload_hash(req->payload_hash, err);
}

static int amz_date(int64_t t, char ret[17], struct zf_err *err)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(ret, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return zf_err_set(err, -EINVAL, "sigv4: cannot format time %lld", (long long)t);
	return 0;
}

/* ---- the query: decoded, encoded once, sorted ---- */

struct pair {
	char *name;
	char *value;
	size_t order;           /* headers: position given, so repeats join in order */
};

struct pairs {
	struct pair *v;
	size_t n, alloc;
};

static void pairs_release(struct pairs *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].value);
	}
	free(p->v);
	*p = (struct pairs){ 0 };
}

static void pairs_add(struct pairs *p, char *name, char *value)
{
	ZF_ALLOC_GROW(p->v, p->n + 1, p->alloc);
	p->v[p->n] = (struct pair){ name, value, p->n };
	p->n++;
}

/* s, n bytes, with %XX decoded, then encoded by S3's rules; NULL for a bad %. */
static char *query_part(const char *s, size_t n)
{
	_cleanup_buf_ struct zf_buf raw = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf enc = ZF_BUF_INIT;

	zf_buf_init(&raw);
	zf_buf_init(&enc);
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			zf_buf_addc(&raw, s[i]);
			continue;
		}
		if (i + 2 >= n)
			return NULL;
		int hi = zf_hex_digit(s[i + 1]), lo = zf_hex_digit(s[i + 2]);
		if (hi < 0 || lo < 0)
			return NULL;
		zf_buf_addc(&raw, (char)(hi << 4 | lo));
		i += 2;
	}
	uri_encode_to(&enc, raw.data, raw.len, false);
	return zf_buf_detach(&enc, NULL);
}

static int cmp_query(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static int canonical_query(const char *q, char **ret, struct zf_err *err)
{
	_cleanup_(pairs_release) struct pairs pairs = { 0 };
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	for (const char *p = q ? q : ""; *p;) {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		size_t nl = eq ? (size_t)(eq - p) : n;

		if (n == 0) {           /* "a&&b", a trailing '&': nothing there */
			p++;
			continue;
		}
		_cleanup_free_ char *name = query_part(p, nl);
		_cleanup_free_ char *value = eq ? query_part(eq + 1, n - nl - 1) : zf_xstrdup("");
		if (!name || !value)
			return zf_err_set(err, -EINVAL,
					  "sigv4: query has a '%%' not followed by two hex digits");
		if (!*name)
			return zf_err_set(err, -EINVAL, "sigv4: query has a parameter without a name");
		pairs_add(&pairs, TAKE_PTR(name), TAKE_PTR(value));
		p += n + (p[n] == '&');
	}
	if (pairs.n > 1)        /* qsort() wants an array even for no elements */
		qsort(pairs.v, pairs.n, sizeof(*pairs.v), cmp_query);
	zf_buf_init(&b);
	for (size_t i = 0; i < pairs.n; i++)
		zf_buf_addf(&b, "%s%s=%s", i ? "&" : "", pairs.v[i].name, pairs.v[i].value);
	*ret = zf_buf_detach(&b, NULL);
	return 0;
}

/* ---- headers: lowercased, trimmed, sorted, repeats joined ---- */

/* value with leading and trailing spaces cut and inner runs of spaces made one */
static char *trim_value(const char *v)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	zf_buf_init(&b);
	while (*v == ' ')
		v++;
	for (; *v; v++) {
		if (*v == ' ') {
			while (v[1] == ' ')
				v++;
			if (!v[1])
				break;
		}
		zf_buf_addc(&b, *v);
	}
	return zf_buf_detach(&b, NULL);
}

static char *lowercase(const char *s)
{
	char *l = zf_xstrdup(s);

	for (char *p = l; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return l;
}

static int cmp_header(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static const char *const signer_headers[] = {
	"host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "authorization",
};

static int add_caller_headers(const struct zf_sigv4_req *req, struct pairs *h, struct zf_err *err)
{
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct zf_sigv4_header *x = &req->headers[i];
		_cleanup_free_ char *name = NULL;
		int r;

		r = check_token("header name", x->name, err);
		if (r < 0)
			return r;
		name = lowercase(x->name);
		for (size_t j = 0; j < ELEMENTSOF(signer_headers); j++)
			if (streq(name, signer_headers[j]))
				return zf_err_set(err, -EINVAL,
						  "sigv4: header '%s' is the signer's to set", name);
		if (!x->value)
			return zf_err_set(err, -EINVAL, "sigv4: header '%s' has no value", name);
		/* the name is a token by now, so it may appear in a message */
		char what[300];
		snprintf(what, sizeof(what), "header '%s' value", name);
		r = check_text(what, x->value, err);
		if (r < 0)
			return r;
		pairs_add(h, TAKE_PTR(name), trim_value(x->value));
	}
	return 0;
}

/* Fills the canonical headers block (each "name:value\n") and the signed header list. */
static void canonical_headers(struct pairs *h, struct zf_buf *ret_block, struct zf_buf *ret_signed)
{
	qsort(h->v, h->n, sizeof(*h->v), cmp_header);
	for (size_t i = 0; i < h->n; i++) {
		bool repeat = i > 0 && streq(h->v[i].name, h->v[i - 1].name);

		if (repeat) {
			/* the previous line ends in '\n': replace it by ",value\n" */
			ret_block->data[--ret_block->len] = '\0';
			zf_buf_addf(ret_block, ",%s\n", h->v[i].value);
			continue;
		}
		zf_buf_addf(ret_block, "%s:%s\n", h->v[i].name, h->v[i].value);
		zf_buf_addf(ret_signed, "%s%s", ret_signed->len ? ";" : "", h->v[i].name);
	}
}

/* ---- the signature ---- */

void zf_sigv4_key_cache_init(struct zf_sigv4_key_cache *c)
{
	*c = (struct zf_sigv4_key_cache){ .day = "" };
	pthread_mutex_init(&c->lock, NULL);
}

void zf_sigv4_key_cache_release(struct zf_sigv4_key_cache *c)
{
	pthread_mutex_destroy(&c->lock);
	explicit_bzero(c, sizeof(*c));
}

/* kDate, kRegion, kService, kSigning: each keys the next. */
static int signing_key(const struct zf_sigv4_creds *c, const char *day, unsigned char ret[32],
		       struct zf_err *err)
{
	_cleanup_free_ char *k0 = zf_xasprintf("AWS4%s", c->secret_key);
	size_t k0len = strlen(k0);
	unsigned char k[3][32];
	const char *msgs[4] = { day, c->region, c->service, "aws4_request" };
	int r;

	r = hmac(k0, k0len, msgs[0], k[0], err);
	explicit_bzero(k0, k0len);
	for (size_t i = 1; r >= 0 && i < 3; i++)
		r = hmac(k[i - 1], sizeof(k[i - 1]), msgs[i], k[i], err);
	if (r >= 0)
		r = hmac(k[2], sizeof(k[2]), msgs[3], ret, err);
	explicit_bzero(k, sizeof(k));
	return r;
}

/* amz_date is the full stamp; the key is derived from its day, YYYYMMDD. */
static int signature(const struct zf_sigv4_creds *c, const char *amz_date, const char *sts,
		     char ret[ZF_SIGV4_HEX_LEN + 1], struct zf_err *err)
{
	struct zf_sigv4_key_cache *kc = c->key_cache;
	unsigned char key[32], sig[32];
	char day[9];
	bool cached = false;
	int r = 0;

	snprintf(day, sizeof(day), "%.8s", amz_date);
	if (kc) {
		pthread_mutex_lock(&kc->lock);
		if (streq(kc->day, day)) {
			memcpy(key, kc->key, sizeof(key));
			cached = true;
		}
		pthread_mutex_unlock(&kc->lock);
	}
	if (!cached)
		r = signing_key(c, day, key, err);
	if (r >= 0 && !cached && kc) {
		pthread_mutex_lock(&kc->lock);
		memcpy(kc->key, key, sizeof(key));
		memcpy(kc->day, day, sizeof(day));
		pthread_mutex_unlock(&kc->lock);
	}
	if (r >= 0)
		r = hmac(key, sizeof(key), sts, sig, err);
	if (r >= 0)
		zf_hex_encode(sig, sizeof(sig), ret);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(sig, sizeof(sig));
	return r;
}

void zf_sigv4_release(struct zf_sigv4 *s)
{
	zf_strv_release(&s->headers);
	free(s->authorization);
	free(s->amz_date);
	free(s->path);
	free(s->query);
	free(s->canonical_request);
	free(s->string_to_sign);
	free(s->signature);
	*s = (struct zf_sigv4)ZF_SIGV4_INIT;
}

/* The request's headers and the signer's own, in canonical form. */
static int headers(const struct zf_sigv4_req *req, const struct zf_sigv4_creds *creds,
		   const char *date, struct zf_buf *ret_block, struct zf_buf *ret_signed,
		   struct zf_err *err)
{
	_cleanup_(pairs_release) struct pairs h = { 0 };
	int r;

	r = add_caller_headers(req, &h, err);
	if (r < 0)
		return r;
	pairs_add(&h, zf_xstrdup("host"), zf_xstrdup(req->host));
	pairs_add(&h, zf_xstrdup("x-amz-date"), zf_xstrdup(date));
	if (!req->no_content_sha256)
		pairs_add(&h, zf_xstrdup("x-amz-content-sha256"), zf_xstrdup(req->payload_hash));
	if (creds->session_token)
		pairs_add(&h, zf_xstrdup("x-amz-security-token"),
			  zf_xstrdup(creds->session_token));
	canonical_headers(&h, ret_block, ret_signed);
	return 0;
}

int zf_sigv4_sign(const struct zf_sigv4_req *req, const struct zf_sigv4_creds *creds,
		  struct zf_sigv4 *ret, struct zf_err *err)
{
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;
	_cleanup_buf_ struct zf_buf block = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf signed_headers = ZF_BUF_INIT;
	const char *path = req->path && *req->path ? req->path : "/";
	char date[17], creq_hash[ZF_SIGV4_HEX_LEN + 1], sig[ZF_SIGV4_HEX_LEN + 1];
	int r;

	r = check_req(req, err);
	if (r < 0)
		return r;
	r = check_creds(creds, err);
	if (r < 0)
		return r;
	r = amz_date(req->time, date, err);
	if (r < 0)
		return r;
	r = canonical_query(req->query, &s.query, err);
	if (r < 0)
		return r;
	zf_buf_init(&block);
	zf_buf_init(&signed_headers);
	r = headers(req, creds, date, &block, &signed_headers, err);
	if (r < 0)
		return r;
	s.path = zf_sigv4_uri_encode(path, strlen(path), true);
	s.amz_date = zf_xstrdup(date);

	s.canonical_request = zf_xasprintf("%s\n%s\n%s\n%s\n%s\n%s", req->method, s.path, s.query,
					   zf_buf_str(&block), zf_buf_str(&signed_headers),
					   req->payload_hash);
	r = zf_sigv4_sha256_hex(s.canonical_request, strlen(s.canonical_request), creq_hash, err);
	if (r < 0)
		return r;
	s.string_to_sign = zf_xasprintf(ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", date, date,
					creds->region, creds->service, creq_hash);
	r = signature(creds, date, s.string_to_sign, sig, err);
	if (r < 0)
		return r;
	s.signature = zf_xstrdup(sig);
	s.authorization = zf_xasprintf(ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, "
				       "SignedHeaders=%s, Signature=%s",
				       creds->access_key_id, date, creds->region, creds->service,
				       zf_buf_str(&signed_headers), sig);

	zf_strv_addf(&s.headers, "Authorization: %s", s.authorization);
	zf_strv_addf(&s.headers, "x-amz-date: %s", date);
	if (!req->no_content_sha256)
		zf_strv_addf(&s.headers, "x-amz-content-sha256: %s", req->payload_hash);
	if (creds->session_token)
		zf_strv_addf(&s.headers, "x-amz-security-token: %s", creds->session_token);
	*ret = s;
	s = (struct zf_sigv4)ZF_SIGV4_INIT;
	return 0;
}
