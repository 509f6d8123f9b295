/* src/chunk/store-s3.h — a chunk store in an S3 bucket, in desync's layout (libcurl, SigV4) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chunk/chunk.h"
#include "chunk/store.h"
#include "util/macro.h"

struct zf_err;

/*
 *   s3+https://HOST[:PORT]/BUCKET[/PREFIX][/][?lookup=path|dns|auto]
 *   s3+http://...                                  (plain HTTP: test servers)
 *
 * desync's URL form.  Path style (https://HOST/BUCKET/KEY) by default and
 * with lookup=path; lookup=dns asks https://BUCKET.HOST/KEY (virtual host);
 * lookup=auto is dns for *.amazonaws.com and path elsewhere.  A chunk's key
 * is [PREFIX/]<4hex>/<64hex>.cacnk, exactly as desync lays it out, so
 * desync and zferry share a bucket.  Credentials never go in the URL: they
 * come from --store-credentials-file or the environment (zf_s3_creds_*).
 * The region is S3_REGION, else AWS_REGION, else us-east-1.
 */
_must_check_ int zf_s3_store_open(const char *url, const struct zf_store_remote_opts *o,
				  struct zf_store **ret, struct zf_err *err);
/* Whether s starts with s3+http:// or s3+https://. */
bool zf_s3_is_url(const char *s);

/* ---- the pure parts, exported for the unit tests ---- */

struct zf_s3_url {
	bool https;
	bool vhost;             /* BUCKET.HOST/KEY rather than HOST/BUCKET/KEY */
	/* as the Host header: "h", "h:9000", "[::1]:9000"; the scheme's default port dropped */
	char *host;
	char *bucket;
	char *prefix;           /* "" or "a/b/" (ends in '/') */
};
#define ZF_S3_URL_INIT { false, false, NULL, NULL, NULL }

/* Fills *ret (released with zf_s3_url_release()); -EINVAL and a one-line reason. */
_must_check_ int zf_s3_url_parse(const char *url, struct zf_s3_url *ret, struct zf_err *err);
void zf_s3_url_release(struct zf_s3_url *u);
static inline void zf_s3_url_releasep(struct zf_s3_url *u)
{
	zf_s3_url_release(u);
}
/* "s3+http://HOST/BUCKET/PREFIX" ending in '/' (no query): for messages; caller frees. */
char *zf_s3_url_display(const struct zf_s3_url *u);
/* The object key of a chunk: "[PREFIX]<4hex>/<64hex>.cacnk"; caller frees. */
char *zf_s3_chunk_key(const struct zf_s3_url *u, const struct zf_chunk_id *id);
/* 0 and *ret_id when key is a chunk's key under u's prefix, -EINVAL if not. */
_must_check_ int zf_s3_chunk_key_parse(const struct zf_s3_url *u, const char *key,
				       struct zf_chunk_id *ret_id);
/* The Host header and the unencoded request path of KEY ("" for the bucket itself). */
char *zf_s3_request_host(const struct zf_s3_url *u);
char *zf_s3_request_path(const struct zf_s3_url *u, const char *key);

/* Secrets: wiped when released. */
struct zf_s3_creds {
	char *access_key;
	char *secret_key;
	char *session_token;    /* NULL without temporary credentials */
};
#define ZF_S3_CREDS_INIT { NULL, NULL, NULL }
void zf_s3_creds_release(struct zf_s3_creds *c);
static inline void zf_s3_creds_releasep(struct zf_s3_creds *c)
{
	zf_s3_creds_release(c);
}
/*
 * The text of a credentials file: lines access_key=..., secret_key=... and
 * optionally session_token=...; blank lines and lines starting '#' skipped.
 * Messages name the file and line, never a value.
 */
_must_check_ int zf_s3_creds_parse(const char *text, size_t n, const char *file,
				   struct zf_s3_creds *ret, struct zf_err *err);
/* Reads and parses path; refuses a file that group or others may read. */
_must_check_ int zf_s3_creds_read(const char *path, struct zf_s3_creds *ret,
				  struct zf_err *err);
/*
 * S3_ACCESS_KEY and S3_SECRET_KEY (with S3_SESSION_TOKEN), else
 * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN):
 * 0, -ENOENT when neither pair is set, -EINVAL when one half is missing.
 */
_must_check_ int zf_s3_creds_from_env(struct zf_s3_creds *ret, struct zf_err *err);

/*
 * One page of a ListObjectsV2 answer: cb for each <Contents>' Key (XML
 * entities decoded) and Size; *ret_next gets NextContinuationToken when
 * IsTruncated is true, else NULL.  -EBADMSG for an answer that is not one.
 * A negative return from cb stops the parse and is returned.
 */
typedef int (*zf_s3_list_fn)(const char *key, uint64_t size, void *userdata);
_must_check_ int zf_s3_list_parse(const char *xml, size_t n, zf_s3_list_fn cb, void *userdata,
				  char **ret_next, struct zf_err *err);
