/* src/chunk/chunk-http.c — the desync/casync chunk-server protocol: paths, decisions, auth */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include "chunk/chunk-http.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

void zf_chunk_http_rel(const struct zf_chunk_id *id, char ret[ZF_CHUNK_HTTP_REL_MAX])
{
	char hex[ZF_CHUNK_ID_HEX];

	zf_chunk_id_hex(id, hex);
	snprintf(ret, ZF_CHUNK_HTTP_REL_MAX, "%.4s/%s.cacnk", hex, hex);
}

static bool is_lhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_name_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_' || c == '-' || c == '.';
}

int zf_chunk_http_prefix_check(const char *prefix, struct zf_err *err)
{
	size_t n = strlen(prefix);
	const char *seg;

	if (n == 0 || prefix[0] != '/' || prefix[n - 1] != '/' || n > 1024)
		return zf_err_set(err, -EINVAL, "prefix '%s' must start and end with '/'", prefix);
	seg = prefix + 1;
	for (const char *p = seg; *p; p++) {
		if (*p == '/') {
			size_t len = (size_t)(p - seg);

			if (len == 0 || (len == 1 && seg[0] == '.') ||
			    (len == 2 && seg[0] == '.' && seg[1] == '.'))
				return zf_err_set(err, -EINVAL,
						  "prefix '%s' has an empty, '.' or '..' segment",
						  prefix);
			seg = p + 1;
		} else if (!is_name_char(*p) && *p != '~') {
			return zf_err_set(err, -EINVAL,
					  "prefix '%s' may hold only letters, digits and ._~-",
					  prefix);
		}
	}
	return 0;
}

static bool has_suffix(const char *p, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(p + n - k, suffix, k) == 0;
}

int zf_chunk_http_parse_target(const char *target, size_t n, const char *prefix, bool index_ok,
			       enum zf_chunk_http_target *ret_kind, struct zf_chunk_id *ret_id,
			       const char **ret_name, size_t *ret_name_len)
{
	size_t plen = strlen(prefix);
	const char *p;
	char hex[ZF_CHUNK_ID_HEX];

	if (n < plen || memcmp(target, prefix, plen) != 0)
		return -EINVAL;
	p = target + plen;
	n -= plen;
	/* a chunk: exactly 4 + 1 + 64 + 6 bytes */
	if (n == 4 + 1 + 64 + 6 && p[4] == '/' && memcmp(p + 69, ".cacnk", 6) == 0) {
		for (size_t i = 0; i < 4; i++)
			if (!is_lhex(p[i]))
				return -EINVAL;
		for (size_t i = 5; i < 69; i++)
			if (!is_lhex(p[i]))
				return -EINVAL;
		if (memcmp(p, p + 5, 4) != 0)
			return -EINVAL;
		memcpy(hex, p + 5, 64);
		hex[64] = '\0';
		if (zf_chunk_id_parse(hex, ret_id) < 0)
			return -EINVAL;
		*ret_kind = ZF_CHUNK_HTTP_CHUNK;
		return 0;
	}
	if (!index_ok || n == 0 || n > 255 || p[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(p[i]))
			return -EINVAL;
	if (!has_suffix(p, n, ".caibx") && !has_suffix(p, n, ".caidx"))
		return -EINVAL;
	*ret_kind = ZF_CHUNK_HTTP_INDEX;
	*ret_name = p;
	*ret_name_len = n;
	return 0;
}

enum zf_chunk_http_method zf_chunk_http_method(const char *s, size_t n)
{
	if (n == 3 && memcmp(s, "GET", 3) == 0)
		return ZF_CHUNK_HTTP_GET;
	if (n == 4 && memcmp(s, "HEAD", 4) == 0)
		return ZF_CHUNK_HTTP_HEAD;
	if (n == 3 && memcmp(s, "PUT", 3) == 0)
		return ZF_CHUNK_HTTP_PUT;
	return ZF_CHUNK_HTTP_OTHER;
}

bool zf_chunk_http_auth_eq(const char *want, const char *got, size_t got_len)
{
	size_t wlen = strlen(want);
	unsigned char d = wlen != got_len;

	/* the same work whatever the content; only the length leaks, as in desync */
	for (size_t i = 0; i < got_len; i++)
		d |= (unsigned char)(got[i] ^ want[i < wlen ? i : 0]);
	return d == 0 && wlen > 0;
}

static void deny(struct zf_chunk_http_decision *d, int status, const char *why)
{
	d->status = status;
	d->why = why;
}

void zf_chunk_http_decide(const struct zf_chunk_http_req *req,
			  const struct zf_chunk_http_policy *p,
			  struct zf_chunk_http_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (req->bad_header)
		return deny(d, 400, "bad request header");
	if (p->auth && (!req->has_auth || !zf_chunk_http_auth_eq(p->auth, req->auth, req->auth_len)))
		return deny(d, 401, "unauthorized");
	if (zf_chunk_http_parse_target(req->target, req->target_len, p->prefix, p->index_ok,
				       &d->kind, &d->id, &d->name, &d->name_len) < 0)
		return deny(d, 400, "bad path");
	if (req->method == ZF_CHUNK_HTTP_OTHER)
		return deny(d, 405, "method not allowed");
	if (req->chunked)
		return deny(d, 400, "Transfer-Encoding is not accepted");
	if (req->method != ZF_CHUNK_HTTP_PUT) {
		if (req->has_length && req->length > 0)
			return deny(d, 400, "a body is not accepted here");
		return;
	}
	if (!p->writable)
		return deny(d, 400, "only GET and HEAD are allowed in read-only mode");
	if (d->kind != ZF_CHUNK_HTTP_CHUNK)
		return deny(d, 400, "indexes are read-only");
	if (!req->has_length)
		return deny(d, 411, "Content-Length required");
	if (req->length > p->max_body)
		return deny(d, 413, "chunk too large");
}

int zf_chunk_http_auth_file_read(const char *path, char **ret, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open auth file '%s': %m", path);
	r = zf_read_all(fd, &b, ZF_CHUNK_HTTP_MAX_AUTH + 2);
	if (r < 0)
		return zf_err_set(err, r, "cannot read auth file '%s': %s", path, strerror(-r));
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.len--;
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.len--;
	if (b.len == 0 || b.len > ZF_CHUNK_HTTP_MAX_AUTH)
		return zf_err_set(err, -EINVAL,
				  "auth file '%s' must hold one line of 1 to %u bytes", path,
				  ZF_CHUNK_HTTP_MAX_AUTH);
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20 || (unsigned char)b.data[i] > 0x7e)
			return zf_err_set(err, -EINVAL,
					  "auth file '%s' holds more than one line or a control "
					  "character", path);
	*ret = zf_xstrndup(b.data, b.len);
	return 0;
}
