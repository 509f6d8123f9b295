/*
 * src/chunk/store-s3.c — a chunk store in an S3 bucket
 *
 * Every request is signed here with chunk/sigv4.h rather than by libcurl:
 * Debian 12's libcurl 7.88 signs the query unsorted and neither sends nor
 * signs x-amz-content-sha256, which S3 requires (notes C4).  The requests
 * themselves go through chunk/http-client.h, as the HTTP store's do.
 *
 * A 403 is always an error about the credentials, never a missing chunk:
 * desync#43 reported bad credentials as missing chunks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "chunk/http-client.h"
#include "chunk/sigv4.h"
#include "chunk/store-backend.h"
#include "chunk/store-s3.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/num.h"
#include "util/banned.h"

#define CREDS_FILE_MAX 65536u
#define LIST_PAGE_MAX (8u * 1024 * 1024)        /* 1000 keys are ~300 KiB */
#define ERROR_BODY_MAX 65536u
#define AUTH_REFUSED "S3 refused the credentials (403): check the access key and secret"

/* ---- URLs and keys ---- */

bool zf_s3_is_url(const char *s)
{
	return startswith(s, "s3+http://") || startswith(s, "s3+https://");
}

void zf_s3_url_release(struct zf_s3_url *u)
{
	free(u->host);
	free(u->bucket);
	free(u->prefix);
	*u = (struct zf_s3_url)ZF_S3_URL_INIT;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* A bucket or prefix segment: [A-Za-z0-9._~-]+, neither "." nor "..". */
static bool is_segment(const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

/* HOST[:PORT] or [V6]:PORT; the default port of the scheme is dropped, as curl does. */
static int parse_authority(const char *a, size_t n, bool https, char **ret, struct zf_err *err)
{
	const char *end = a + n, *colon;
	size_t hostlen;
	uint16_t port = 0;

	if (memchr(a, '@', n))
		return zf_err_set(err, -EINVAL, "S3 store URL may not hold credentials: use "
				  "--store-credentials-file or S3_ACCESS_KEY/S3_SECRET_KEY");
	if (n > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', n);

		if (!close)
			return zf_err_set(err, -EINVAL, "S3 store URL: unclosed '[' in the host");
		for (const char *p = a + 1; p < close; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			      (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
				return zf_err_set(err, -EINVAL,
						  "S3 store URL: bad IPv6 address in the host");
		hostlen = (size_t)(close - a) + 1;
		colon = close + 1 < end ? close + 1 : NULL;
		if (colon && *colon != ':')
			return zf_err_set(err, -EINVAL,
					  "S3 store URL: junk after the IPv6 address");
	} else {
		colon = memchr(a, ':', n);
		hostlen = colon ? (size_t)(colon - a) : n;
		for (size_t i = 0; i < hostlen; i++)
			if (!is_name_char(a[i]) || a[i] == '_' || a[i] == '~')
				return zf_err_set(err, -EINVAL,
						  "S3 store URL: bad character in the host name");
	}
	if (hostlen == 0 || (hostlen == 2 && a[0] == '['))
		return zf_err_set(err, -EINVAL, "S3 store URL has no host");
	if (colon && (zf_parse_port(colon + 1, (size_t)(end - colon - 1), &port) < 0 || port == 0))
		return zf_err_set(err, -EINVAL, "S3 store URL: bad port");
	if (!colon || port == (https ? 443 : 80))
		*ret = zf_xstrndup(a, hostlen);
	else
		*ret = zf_xasprintf("%.*s:%u", (int)hostlen, a, (unsigned)port);
	return 0;
}

static bool host_is_address(const char *host)
{
	size_t i = 0;

	if (host[0] == '[')
		return true;
	while (host[i] && host[i] != ':' && ((host[i] >= '0' && host[i] <= '9') || host[i] == '.'))
		i++;
	return host[i] == '\0' || host[i] == ':';
}

static bool host_is_aws(const char *host)
{
	const char *colon = strchr(host, ':');
	size_t n = colon ? (size_t)(colon - host) : strlen(host);
	static const char aws[] = ".amazonaws.com";

	return n > strlen(aws) && memcmp(host + n - strlen(aws), aws, strlen(aws)) == 0;
}

static int parse_query(const char *q, struct zf_s3_url *u, struct zf_err *err)
{
	const char *v = startswith(q, "lookup=");

	if (!v)
		return zf_err_set(err, -EINVAL, "S3 store URL: unknown query (only lookup=path, "
				  "lookup=dns or lookup=auto)");
	if (streq(v, "path"))
		u->vhost = false;
	else if (streq(v, "dns"))
		u->vhost = true;
	else if (streq(v, "auto"))
		u->vhost = host_is_aws(u->host);
	else
		return zf_err_set(err, -EINVAL, "S3 store URL: lookup must be path, dns or auto");
	if (u->vhost && host_is_address(u->host))
		return zf_err_set(err, -EINVAL, "S3 store URL: lookup=dns needs a host name, not "
				  "an address");
	return 0;
}

/* BUCKET[/PREFIX...][/] from s (after the authority's '/'), n bytes. */
static int parse_path(const char *s, size_t n, struct zf_s3_url *u, struct zf_err *err)
{
	const char *end = s + n, *slash;
	struct zf_buf prefix = ZF_BUF_INIT;

	slash = memchr(s, '/', n);
	if (!slash)
		slash = end;
	if (!is_segment(s, (size_t)(slash - s)))
		return zf_err_set(err, -EINVAL, "S3 store URL: the bucket name is missing or has a "
				  "character outside [A-Za-z0-9._~-]");
	u->bucket = zf_xstrndup(s, (size_t)(slash - s));
	for (s = slash; s < end && s + 1 < end; s = slash) {
		s++;
		slash = memchr(s, '/', (size_t)(end - s));
		if (!slash)
			slash = end;
		if (!is_segment(s, (size_t)(slash - s))) {
			zf_buf_release(&prefix);
			return zf_err_set(err, -EINVAL, "S3 store URL: the prefix has an empty, "
					  "'.' or '..' segment or a character outside "
					  "[A-Za-z0-9._~-]");
		}
		zf_buf_add(&prefix, s, (size_t)(slash - s));
		zf_buf_add(&prefix, "/", 1);
	}
	u->prefix = zf_xstrndup(prefix.data ? prefix.data : "", prefix.len);
	zf_buf_release(&prefix);
	return 0;
}

int zf_s3_url_parse(const char *url, struct zf_s3_url *ret, struct zf_err *err)
{
	_cleanup_(zf_s3_url_releasep) struct zf_s3_url u = ZF_S3_URL_INIT;
	const char *rest, *auth_end, *query;
	size_t pathlen;
	int r;

	if ((rest = startswith(url, "s3+https://")))
		u.https = true;
	else if (!(rest = startswith(url, "s3+http://")))
		return zf_err_set(err, -EINVAL,
				  "S3 store URL must start s3+https:// or s3+http://");
	for (const char *p = rest; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '#' || *p == '%')
			return zf_err_set(err, -EINVAL, "S3 store URL may not hold white space, "
					  "control characters, '#' or '%%'");
	auth_end = rest + strcspn(rest, "/?");
	r = parse_authority(rest, (size_t)(auth_end - rest), u.https, &u.host, err);
	if (r < 0)
		return r;
	if (*auth_end != '/')
		return zf_err_set(err, -EINVAL, "S3 store URL has no bucket: "
				  "s3+https://HOST/BUCKET[/PREFIX]");
	query = strchr(auth_end, '?');
	pathlen = query ? (size_t)(query - auth_end - 1) : strlen(auth_end + 1);
	r = parse_path(auth_end + 1, pathlen, &u, err);
	if (r < 0)
		return r;
	if (query) {
		r = parse_query(query + 1, &u, err);
		if (r < 0)
			return r;
	}
	*ret = u;
	u = (struct zf_s3_url)ZF_S3_URL_INIT;
	return 0;
}

char *zf_s3_url_display(const struct zf_s3_url *u)
{
	return zf_xasprintf("s3+%s://%s/%s/%s", u->https ? "https" : "http", u->host, u->bucket,
			    u->prefix);
}

char *zf_s3_chunk_key(const struct zf_s3_url *u, const struct zf_chunk_id *id)
{
	char hex[ZF_CHUNK_ID_HEX];

	zf_chunk_id_hex(id, hex);
	return zf_xasprintf("%s%.4s/%s.cacnk", u->prefix, hex, hex);
}

int zf_s3_chunk_key_parse(const struct zf_s3_url *u, const char *key, struct zf_chunk_id *ret_id)
{
	const char *k = startswith(key, u->prefix);
	char hex[ZF_CHUNK_ID_HEX];
	struct zf_chunk_id id;

	/* <4hex>/<64hex>.cacnk: 4 + 1 + 64 + 6 */
	if (!k || strlen(k) != 75 || k[4] != '/' || !streq(k + 69, ".cacnk") ||
	    memcmp(k, k + 5, 4) != 0)
		return -EINVAL;
	memcpy(hex, k + 5, 64);
	hex[64] = '\0';
	if (zf_chunk_id_parse(hex, &id) < 0)
		return -EINVAL;
	if (memcmp(zf_chunk_id_hex(&id, hex), k + 5, 64) != 0)
		return -EINVAL;         /* uppercase: not a key we would write */
	*ret_id = id;
	return 0;
}

char *zf_s3_request_host(const struct zf_s3_url *u)
{
	return u->vhost ? zf_xasprintf("%s.%s", u->bucket, u->host) : zf_xstrdup(u->host);
}

char *zf_s3_request_path(const struct zf_s3_url *u, const char *key)
{
	return u->vhost ? zf_xasprintf("/%s", key) : zf_xasprintf("/%s%s%s", u->bucket,
								  *key ? "/" : "", key);
}

/* ---- credentials ---- */

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void zf_s3_creds_release(struct zf_s3_creds *c)
{
	wipe_free(c->access_key);
	wipe_free(c->secret_key);
	wipe_free(c->session_token);
	*c = (struct zf_s3_creds)ZF_S3_CREDS_INIT;
}

/* One line's value: printable ASCII without spaces (S3 keys and tokens are base64-ish). */
static bool is_value(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return n > 0;
}

int zf_s3_creds_parse(const char *text, size_t n, const char *file, struct zf_s3_creds *ret,
		      struct zf_err *err)
{
	_cleanup_(zf_s3_creds_releasep) struct zf_s3_creds c = ZF_S3_CREDS_INIT;
	const char *p = text, *end = text + n;
	unsigned line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *eq;
		size_t len;
		char **slot;

		line++;
		len = (size_t)(eol - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0 || p[0] == '#') {
			p = nl ? nl + 1 : end;
			continue;
		}
		eq = memchr(p, '=', len);
		if (!eq)
			return zf_err_set(err, -EINVAL, "credentials file '%s' line %u: not "
					  "name=value", file, line);
		if ((size_t)(eq - p) == 10 && memcmp(p, "access_key", 10) == 0)
			slot = &c.access_key;
		else if ((size_t)(eq - p) == 10 && memcmp(p, "secret_key", 10) == 0)
			slot = &c.secret_key;
		else if ((size_t)(eq - p) == 13 && memcmp(p, "session_token", 13) == 0)
			slot = &c.session_token;
		else
			return zf_err_set(err, -EINVAL, "credentials file '%s' line %u: unknown "
					  "name (access_key, secret_key, session_token)", file,
					  line);
		if (*slot)
			return zf_err_set(err, -EINVAL, "credentials file '%s' line %u: %.*s given "
					  "twice", file, line, (int)(eq - p), p);
		if (!is_value(eq + 1, (size_t)(p + len - eq - 1)))
			return zf_err_set(err, -EINVAL, "credentials file '%s' line %u: %.*s is "
					  "empty or has a space or a control character", file, line,
					  (int)(eq - p), p);
		*slot = zf_xstrndup(eq + 1, (size_t)(p + len - eq - 1));
		p = nl ? nl + 1 : end;
	}
	if (!c.access_key || !c.secret_key)
		return zf_err_set(err, -EINVAL, "credentials file '%s' lacks %s", file,
				  c.access_key ? "secret_key=" : "access_key=");
	*ret = c;
	c = (struct zf_s3_creds)ZF_S3_CREDS_INIT;
	return 0;
}

int zf_s3_creds_read(const char *path, struct zf_s3_creds *ret, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open credentials file '%s': %m", path);
	if (fstat(fd, &st) < 0)
		return zf_err_set(err, -errno, "cannot stat credentials file '%s': %m", path);
	if (!S_ISREG(st.st_mode))
		return zf_err_set(err, -EINVAL, "credentials file '%s' is not a regular file",
				  path);
	if (st.st_mode & 077)
		return zf_err_set(err, -EPERM, "credentials file '%s' may be read by group or "
				  "others (mode %04o): chmod 600 it", path,
				  (unsigned)(st.st_mode & 07777));
	r = zf_read_all(fd, &b, CREDS_FILE_MAX);
	if (r < 0) {
		if (b.data)
			explicit_bzero(b.data, b.len);
		return zf_err_set(err, r, "cannot read credentials file '%s': %s", path,
				  r == -E2BIG ? "larger than 64 KiB" : strerror(-r));
	}
	r = zf_s3_creds_parse(b.data ? b.data : "", b.len, path, ret, err);
	if (b.data)
		explicit_bzero(b.data, b.len);
	return r;
}

static int creds_env_pair(const char *key_var, const char *secret_var, const char *token_var,
			  struct zf_s3_creds *ret, struct zf_err *err)
{
	const char *key = getenv(key_var), *secret = getenv(secret_var);
	const char *token = getenv(token_var);

	if (key && !*key)
		key = NULL;
	if (secret && !*secret)
		secret = NULL;
	if (!key && !secret)
		return -ENOENT;
	if (!key || !secret)
		return zf_err_set(err, -EINVAL, "%s is set but %s is not",
				  key ? key_var : secret_var, key ? secret_var : key_var);
	if (!is_value(key, strlen(key)) || !is_value(secret, strlen(secret)) ||
	    (token && *token && !is_value(token, strlen(token))))
		return zf_err_set(err, -EINVAL, "%s, %s or %s has a space or a control character",
				  key_var, secret_var, token_var);
	ret->access_key = zf_xstrdup(key);
	ret->secret_key = zf_xstrdup(secret);
	ret->session_token = token && *token ? zf_xstrdup(token) : NULL;
	return 0;
}

int zf_s3_creds_from_env(struct zf_s3_creds *ret, struct zf_err *err)
{
	int r;

	r = creds_env_pair("S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_SESSION_TOKEN", ret, err);
	if (r != -ENOENT)
		return r;
	return creds_env_pair("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
			      ret, err);
}

/* ---- ListObjectsV2 answers ---- */

/* The text between <tag> and </tag> from p (before end): start and length, or NULL. */
static const char *xml_elem(const char *p, const char *end, const char *tag, size_t *ret_n,
			    const char **ret_after)
{
	char open[64], close[64];
	size_t ol, cl;
	const char *s, *e;

	ol = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
	cl = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
	s = memmem(p, (size_t)(end - p), open, ol);
	if (!s)
		return NULL;
	s += ol;
	e = memmem(s, (size_t)(end - s), close, cl);
	if (!e)
		return NULL;
	*ret_n = (size_t)(e - s);
	if (ret_after)
		*ret_after = e + cl;
	return s;
}

/* Decodes the five XML entities and numeric ASCII references; -EBADMSG on others. */
static int xml_text(const char *s, size_t n, char **ret)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
		{ "apos;", '\'' },
	};
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (s[i] != '&') {
			if (s[i] == '\0' || s[i] == '<')
				return -EBADMSG;
			zf_buf_add(&b, &s[i], 1);
			continue;
		}
		for (k = 0; k < ELEMENTSOF(ents); k++) {
			size_t l = strlen(ents[k].name);

			if (n - i - 1 >= l && memcmp(s + i + 1, ents[k].name, l) == 0) {
				zf_buf_add(&b, &ents[k].c, 1);
				i += l;
				break;
			}
		}
		if (k < ELEMENTSOF(ents))
			continue;
		if (n - i > 3 && s[i + 1] == '#') {
			bool hexa = s[i + 2] == 'x';
			size_t j = i + (hexa ? 3 : 2);
			unsigned long v = 0;
			size_t digits = 0;

			for (; j < n && s[j] != ';' && digits < 6; j++, digits++) {
				int d = s[j] >= '0' && s[j] <= '9' ? s[j] - '0' :
					hexa && s[j] >= 'a' && s[j] <= 'f' ? s[j] - 'a' + 10 :
					hexa && s[j] >= 'A' && s[j] <= 'F' ? s[j] - 'A' + 10 : -1;
				if (d < 0)
					return -EBADMSG;
				v = v * (hexa ? 16 : 10) + (unsigned long)d;
			}
			if (j < n && s[j] == ';' && digits > 0 && v > 0 && v < 0x80) {
				char c = (char)v;

				zf_buf_add(&b, &c, 1);
				i = j;
				continue;
			}
		}
		return -EBADMSG;
	}
	*ret = zf_xstrndup(b.data ? b.data : "", b.len);
	return 0;
}

int zf_s3_list_parse(const char *xml, size_t n, zf_s3_list_fn cb, void *userdata,
		     char **ret_next, struct zf_err *err)
{
	const char *end = xml + n, *p, *v, *after;
	_cleanup_free_ char *next = NULL;
	size_t vn;
	int r;

	if (!memmem(xml, n, "<ListBucketResult", 17))
		return zf_err_set(err, -EBADMSG, "not a ListObjectsV2 answer");
	for (p = xml; (v = xml_elem(p, end, "Contents", &vn, &after)); p = after) {
		const char *kv, *sv;
		size_t kn, sn;
		_cleanup_free_ char *key = NULL;
		uint64_t size;

		kv = xml_elem(v, v + vn, "Key", &kn, NULL);
		sv = xml_elem(v, v + vn, "Size", &sn, NULL);
		if (!kv || !sv || xml_text(kv, kn, &key) < 0 ||
		    zf_parse_u64n(sv, sn, UINT64_MAX, &size) < 0)
			return zf_err_set(err, -EBADMSG, "a ListObjectsV2 entry lacks a good Key "
					  "or Size");
		r = cb(key, size, userdata);
		if (r < 0)
			return r;
	}
	v = xml_elem(xml, end, "IsTruncated", &vn, NULL);
	if (v && vn == 4 && memcmp(v, "true", 4) == 0) {
		v = xml_elem(xml, end, "NextContinuationToken", &vn, NULL);
		if (!v || vn == 0 || xml_text(v, vn, &next) < 0)
			return zf_err_set(err, -EBADMSG, "a truncated ListObjectsV2 answer lacks "
					  "NextContinuationToken");
	}
	*ret_next = TAKE_PTR(next);
	return 0;
}

/* ---- the store ---- */

struct s3_store {
	struct zf_s3_url url;
	char *display;          /* "s3+http://HOST/BUCKET/PREFIX/" */
	char *req_host;         /* the Host header */
	char *region;
	struct zf_s3_creds creds;
	struct zf_sigv4_key_cache key_cache;    /* for creds and region */
	struct zf_http_client *client;
};

static const char *const method_names[] = { "HEAD", "GET", "PUT", "DELETE" };

struct s3_req {
	enum zf_http_method method;
	const char *key;        /* unencoded; "" for the bucket */
	const char *query;      /* for the signer: name=value&...; NULL: none */
	const void *body;
	size_t body_len;
	struct zf_buf *out;
	size_t max;
	const char *what;       /* "PUT of chunk ID at URL" */
};

/* Signs and sends: the status, or <0 (message in err). */
static int s3_send(struct s3_store *s, const struct s3_req *q, uint64_t *ret_len,
		   struct zf_err *err)
{
	static const struct zf_sigv4_header zstd[] = { { "Content-Type", "application/zstd" } };
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 sig = ZF_SIGV4_INIT;
	_cleanup_free_ char *path = zf_s3_request_path(&s->url, q->key), *url = NULL;
	char hash[ZF_SIGV4_HEX_LEN + 1];
	struct curl_slist *headers = NULL;
	const struct zf_sigv4_creds creds = {
		.access_key_id = s->creds.access_key,
		.secret_key = s->creds.secret_key,
		.session_token = s->creds.session_token,
		.region = s->region,
		.service = "s3",
		.key_cache = &s->key_cache,
	};
	struct zf_sigv4_req req = {
		.method = method_names[q->method],
		.host = s->req_host,
		.path = path,
		.query = q->query,
		.payload_hash = ZF_SIGV4_EMPTY_SHA256,
		.time = (int64_t)time(NULL),
	};
	struct zf_err e = ZF_ERR_INIT;
	int r;

	if (q->method == ZF_HTTP_PUT) {
		r = zf_sigv4_sha256_hex(q->body, q->body_len, hash, err);
		if (r < 0)
			return r;
		req.payload_hash = hash;
		req.headers = zstd;
		req.n_headers = 1;
	}
	r = zf_sigv4_sign(&req, &creds, &sig, &e);
	if (r < 0)
		return zf_err_set(err, r, "%s: cannot sign the request: %s", q->what,
				  zf_err_msg(&e));
	for (size_t i = 0; i < sig.headers.n; i++)
		headers = curl_slist_append(headers, sig.headers.v[i]);
	if (q->method == ZF_HTTP_PUT)
		headers = curl_slist_append(headers, "Content-Type: application/zstd");
	/* curl would wait up to a second for "100 Continue" before each large PUT */
	headers = curl_slist_append(headers, "Expect:");
	if (!headers)
		abort();
	url = zf_xasprintf("%s://%s%s%s%s", s->url.https ? "https" : "http", s->req_host, sig.path,
			   sig.query[0] ? "?" : "", sig.query);
	r = zf_http_client_send(s->client, &(struct zf_http_req){
			.method = q->method, .url = url, .what = q->what, .headers = headers,
			.body = q->body, .body_len = q->body_len, .out = q->out, .max = q->max },
			ret_len, err);
	curl_slist_free_all(headers);
	return r;
}

/* A status no operation expects: 403 is always about the credentials. */
static int s3_fail(struct s3_store *s, const char *what, int status, struct zf_err *err)
{
	if (status == 403)
		return zf_err_set(err, -EACCES, "%s: " AUTH_REFUSED, what);
	if (status == 401)
		return zf_err_set(err, -EACCES, "%s: HTTP 401 (credentials refused)", what);
	if (status == 404)      /* where a key cannot be missing: the bucket is */
		return zf_err_set(err, -ENXIO, "%s: HTTP 404 (no bucket '%s'?)", what,
				  s->url.bucket);
	return zf_err_set(err, -ZF_E_PROTO, "%s: HTTP %d", what, status);
}

static char *chunk_what(struct s3_store *s, const char *method, const struct zf_chunk_id *id,
			const char *key)
{
	char hex[ZF_CHUNK_ID_HEX];

	return zf_xasprintf("%s of chunk %s at s3+%s://%s/%s/%s", method, zf_chunk_id_hex(id, hex),
			    s->url.https ? "https" : "http", s->url.host, s->url.bucket, key);
}

static int s3_has(struct zf_store *st, const struct zf_chunk_id *id, uint64_t *ret_size,
		  struct zf_err *err)
{
	struct s3_store *s = zf_store_impl(st);
	_cleanup_free_ char *key = zf_s3_chunk_key(&s->url, id);
	_cleanup_free_ char *what = chunk_what(s, "HEAD", id, key);
	uint64_t len = 0;
	int r;

	r = s3_send(s, &(struct s3_req){ .method = ZF_HTTP_HEAD, .key = key, .what = what }, &len,
		    err);
	if (r < 0)
		return r;
	if (r == 404)
		return 0;
	if (r != 200)
		return s3_fail(s, what, r, err);
	if (ret_size)
		*ret_size = len;
	return 1;
}

/*
 * A plain PUT, never "already there": every writer (make's put_chunk())
 * asks has() just before it compresses a chunk, so a HEAD here would be
 * the second of the same question (a third of all requests of a make).
 * s3rver ignores If-None-Match, and a chunk is named by its content's
 * hash, so two writers racing past the HEAD store the same content (desync
 * does the same).
 */
static int s3_put_raw(struct zf_store *st, const struct zf_chunk_id *id, const void *p, size_t n,
		      struct zf_err *err)
{
	struct s3_store *s = zf_store_impl(st);
	_cleanup_free_ char *key = NULL, *what = NULL;
	int r;

	key = zf_s3_chunk_key(&s->url, id);
	what = chunk_what(s, "PUT", id, key);
	r = s3_send(s, &(struct s3_req){ .method = ZF_HTTP_PUT, .key = key, .body = p,
					 .body_len = n, .what = what }, NULL, err);
	if (r < 0)
		return r;
	if (r == 200 || r == 201 || r == 204)
		return 0;
	return s3_fail(s, what, r, err);
}

static int s3_get_raw(struct zf_store *st, const struct zf_chunk_id *id, size_t max_raw,
		      struct zf_buf *out, struct zf_err *err)
{
	struct s3_store *s = zf_store_impl(st);
	_cleanup_free_ char *key = zf_s3_chunk_key(&s->url, id);
	_cleanup_free_ char *what = chunk_what(s, "GET", id, key);
	int r;

	r = s3_send(s, &(struct s3_req){ .method = ZF_HTTP_GET, .key = key, .out = out,
					 .max = max_raw > ERROR_BODY_MAX ? max_raw : ERROR_BODY_MAX,
					 .what = what }, NULL, err);
	if (r < 0)
		return r;
	if (r == 404) {
		/* the bucket itself missing is not a missing chunk */
		if (out->len > 0 && memmem(out->data, out->len, "<Code>NoSuchBucket</Code>", 25))
			return zf_err_set(err, -ENXIO, "%s: no bucket '%s'", what, s->url.bucket);
		return -ENOENT;
	}
	if (r != 200)
		return s3_fail(s, what, r, err);
	if (out->len > max_raw)
		return zf_err_set(err, -EBADMSG, "%s: larger than %zu bytes", what, max_raw);
	zf_buf_grow(out, 1);
	out->data[out->len] = '\0';
	return 0;
}

static int s3_remove(struct zf_store *st, const struct zf_chunk_id *id, struct zf_err *err)
{
	struct s3_store *s = zf_store_impl(st);
	_cleanup_free_ char *key = zf_s3_chunk_key(&s->url, id);
	_cleanup_free_ char *what = chunk_what(s, "DELETE", id, key);
	int r;

	r = s3_send(s, &(struct s3_req){ .method = ZF_HTTP_DELETE, .key = key, .what = what }, NULL,
		    err);
	if (r < 0)
		return r;
	if (r == 200 || r == 204 || r == 404)
		return 0;
	return s3_fail(s, what, r, err);
}

struct walk_state {
	struct s3_store *s;
	zf_store_walk_fn cb;
	void *userdata;
};

static int walk_one(const char *key, uint64_t size, void *userdata)
{
	struct walk_state *w = userdata;
	struct zf_chunk_id id;

	if (zf_s3_chunk_key_parse(&w->s->url, key, &id) < 0)
		return 0;       /* not a chunk: skipped, as a directory store skips strays */
	return w->cb(&id, size, w->userdata);
}

/* ListObjectsV2 under the prefix, one page of up to 1000 keys at a time. */
static int s3_walk(struct zf_store *st, zf_store_walk_fn cb, void *userdata, struct zf_err *err)
{
	struct s3_store *s = zf_store_impl(st);
	_cleanup_buf_ struct zf_buf page = ZF_BUF_INIT;
	_cleanup_free_ char *token = NULL, *what = NULL, *prefix = NULL;
	struct walk_state w = { s, cb, userdata };
	int r;

	what = zf_xasprintf("listing of %s", s->display);
	prefix = zf_sigv4_uri_encode(s->url.prefix, strlen(s->url.prefix), false);
	do {
		_cleanup_free_ char *query = NULL, *tok = NULL, *next = NULL;
		struct zf_err e = ZF_ERR_INIT;

		if (token) {
			tok = zf_sigv4_uri_encode(token, strlen(token), false);
			query = zf_xasprintf("list-type=2&prefix=%s&continuation-token=%s", prefix,
					     tok);
		} else {
			query = zf_xasprintf("list-type=2&prefix=%s", prefix);
		}
		r = s3_send(s, &(struct s3_req){ .method = ZF_HTTP_GET, .key = "", .query = query,
						 .out = &page, .max = LIST_PAGE_MAX, .what = what },
			    NULL, err);
		if (r < 0)
			return r;
		if (r != 200)
			return s3_fail(s, what, r, err);
		r = zf_s3_list_parse(page.data ? page.data : "", page.len, walk_one, &w, &next, &e);
		if (r < 0)
			return e.code ? zf_err_set(err, r, "%s: %s", what, zf_err_msg(&e)) : r;
		free(token);
		token = TAKE_PTR(next);
	} while (token);
	return 0;
}

static void s3_free(void *impl)
{
	struct s3_store *s = impl;

	zf_http_client_free(s->client);
	zf_s3_creds_release(&s->creds);
	zf_sigv4_key_cache_release(&s->key_cache);
	zf_s3_url_release(&s->url);
	free(s->display);
	free(s->req_host);
	free(s->region);
	free(s);
}

static const struct zf_store_ops s3_ops = {
	.has = s3_has,
	.put_raw = s3_put_raw,
	.get_raw = s3_get_raw,
	.remove = s3_remove,
	.walk = s3_walk,                /* sync: nothing to do, S3 stores what it acknowledged */
	.free = s3_free,
};

static int creds_load(const struct zf_store_remote_opts *o, struct zf_s3_creds *ret,
		      struct zf_err *err)
{
	int r;

	if (o->credentials_file)
		return zf_s3_creds_read(o->credentials_file, ret, err);
	r = zf_s3_creds_from_env(ret, err);
	if (r == -ENOENT)
		return zf_err_set(err, -EINVAL, "no S3 credentials: set S3_ACCESS_KEY and "
				  "S3_SECRET_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
				  "or give --store-credentials-file");
	return r;
}

int zf_s3_store_open(const char *url, const struct zf_store_remote_opts *o, struct zf_store **ret,
		     struct zf_err *err)
{
	const struct zf_http_client_opts co = {
		.parallel = o->parallel, .ca_file = o->ca_file, .cert_file = o->cert_file,
		.key_file = o->key_file,
	};
	struct s3_store *s;
	const char *region;
	int r;

	if (o->auth_file)
		return zf_err_set(err, -EINVAL, "--store-auth-file is for http[s]:// stores; an S3 "
				  "store takes --store-credentials-file");
	if ((o->ca_file || o->cert_file || o->key_file) && !startswith(url, "s3+https://"))
		return zf_err_set(err, -EINVAL, "TLS options need an s3+https:// URL");
	s = zf_xcalloc(1, sizeof(*s));
	zf_sigv4_key_cache_init(&s->key_cache);
	r = zf_s3_url_parse(url, &s->url, err);
	if (r >= 0)
		r = creds_load(o, &s->creds, err);
	if (r >= 0)
		r = zf_http_client_new(&co, &s->client, err);
	if (r < 0) {
		s3_free(s);
		return r;
	}
	region = getenv("S3_REGION");
	if (!region || !*region)
		region = getenv("AWS_REGION");
	s->region = zf_xstrdup(region && *region ? region : "us-east-1");
	s->display = zf_s3_url_display(&s->url);
	s->req_host = zf_s3_request_host(&s->url);
	*ret = zf_store_new(&s3_ops, s, s->display);
	return 0;
}
