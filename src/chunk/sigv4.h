/* src/chunk/sigv4.h — AWS Signature Version 4 for S3 requests: pure, no I/O, no clock */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"
#include "util/strv.h"

struct zf_err;

/*
 * Debian 12's libcurl (7.88) signs with CURLOPT_AWS_SIGV4 but uses path and
 * query verbatim and neither sends nor signs x-amz-content-sha256, which S3
 * requires; so we sign ourselves and hand curl finished headers.
 *
 * The caller gives the request as it means it: the object key path
 * unencoded, the query as name=value pairs.  zf_sigv4_sign() encodes them
 * (S3's rules: RFC 3986 unreserved characters kept, everything else %XX,
 * '/' kept in the path, each path segment encoded once, never normalised)
 * and returns the encoded path and query to put in the URL, so that what
 * is sent is exactly what was signed.
 *
 * Nothing here reads the clock: the time comes in, so tests can use the
 * published vectors and a caller can correct for clock skew.
 */

/* The payload hash for a body that is not hashed (allowed by S3 over TLS). */
#define ZF_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* Hex SHA-256 of the empty body. */
#define ZF_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ZF_SIGV4_HEX_LEN 64

struct zf_sigv4_header {
	const char *name;       /* any case; sent as the caller likes, signed lowercased */
	const char *value;      /* trimmed, inner runs of spaces collapsed, for signing */
};

struct zf_sigv4_req {
	const char *method;     /* "GET", "PUT", "HEAD", "DELETE", ... */
	/* The Host header as curl will send it: with ":port" when the port is not the
	 * scheme's default: "bucket.s3.amazonaws.com", "127.0.0.1:4568", "[::1]:9000" */
	const char *host;
	const char *path;       /* unencoded, from '/': "/bucket/0a1b/0a1b...cacnk"; NULL: "/" */
	/*
	 * "name=value&name2&..." without '?'; NULL or "" for none.  %XX in it is
	 * decoded first, so an already encoded query is encoded once only; a
	 * literal '%' or '&' must be written %25 or %26, and '=' in a name %3D
	 * (a value runs from the first '=' to the next '&').
	 * '+' is a plus, not a space.
	 */
	const char *query;
	/* Further headers to sign (content-type, range...); the caller sends them too.
	 * Repeated names are joined with ',' in the order given.  host, x-amz-date,
	 * x-amz-content-sha256, x-amz-security-token and authorization are the signer's. */
	const struct zf_sigv4_header *headers;
	size_t n_headers;
	/* zf_sigv4_sha256_hex() of the body, ZF_SIGV4_EMPTY_SHA256, or ZF_SIGV4_UNSIGNED_PAYLOAD */
	const char *payload_hash;
	int64_t time;           /* seconds since the epoch, UTC; 1970..9999 */
	/* Neither send nor sign x-amz-content-sha256: for services other than S3
	 * (and the generic AWS test suite).  S3 answers 400 without it. */
	bool no_content_sha256;
};

/*
 * The signing key of one day, kept across requests: deriving it takes four
 * HMACs, a tenth of what a small request costs the client.  One cache
 * serves one set of credentials, region and service (the caller's to keep
 * so); zf_sigv4_key_cache_init() before use, _release() wipes it.
 */
struct zf_sigv4_key_cache {
	pthread_mutex_t lock;
	char day[9];                    /* YYYYMMDD the key is for; "" for none yet */
	unsigned char key[32];
};
void zf_sigv4_key_cache_init(struct zf_sigv4_key_cache *c);
void zf_sigv4_key_cache_release(struct zf_sigv4_key_cache *c);

struct zf_sigv4_creds {
	const char *access_key_id;
	const char *secret_key;         /* never copied into any output or message */
	const char *session_token;      /* NULL without temporary credentials */
	const char *region;             /* "us-east-1" */
	const char *service;            /* "s3" */
	struct zf_sigv4_key_cache *key_cache;   /* NULL: derive the key each time */
};

struct zf_sigv4 {
	/* "Name: value" lines to send (curl_slist_append takes them as they are):
	 * Authorization, x-amz-date, x-amz-content-sha256 (unless asked not to),
	 * x-amz-security-token (with a session token). */
	struct zf_strv headers;
	char *authorization;            /* the value of the Authorization header */
	char *amz_date;                 /* "YYYYMMDDTHHMMSSZ" */
	char *path;                     /* the encoded path to put in the URL */
	char *query;                    /* the encoded, sorted query for the URL; "" for none */
	/*
	 * For tests and debug logs.  Neither holds the secret key; the canonical
	 * request does hold the session token (it is a signed header), so a log
	 * must not show it where the token must not go.
	 */
	char *canonical_request;
	char *string_to_sign;
	char *signature;                /* 64 hex digits */
};
#define ZF_SIGV4_INIT { ZF_STRV_INIT, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/*
 * Signs req with creds and fills *ret (released with zf_sigv4_release()).
 * -EINVAL with a one-line reason for input that would inject headers or
 * cannot be signed: control characters (CR, LF, tab...) in the method,
 * host, a header name or value or the token; a header name that is not an
 * HTTP token; an empty key; a malformed payload hash or query.  Messages
 * name the field, never its value.
 */
_must_check_ int zf_sigv4_sign(const struct zf_sigv4_req *req, const struct zf_sigv4_creds *creds,
			       struct zf_sigv4 *ret, struct zf_err *err);
void zf_sigv4_release(struct zf_sigv4 *s);
static inline void zf_sigv4_releasep(struct zf_sigv4 *s)
{
	zf_sigv4_release(s);
}

/* ret gets the lowercase hex SHA-256 of p[0..n) and a NUL; -EIO if libcrypto fails. */
_must_check_ int zf_sigv4_sha256_hex(const void *p, size_t n, char ret[ZF_SIGV4_HEX_LEN + 1],
				     struct zf_err *err);
/*
 * s, n bytes, URI-encoded by S3's rules in a new string (caller frees):
 * A-Za-z0-9-._~ kept, '/' kept if keep_slash, every other byte %XX in
 * uppercase hex.  For tests and for building URLs from keys.
 */
char *zf_sigv4_uri_encode(const char *s, size_t n, bool keep_slash);
