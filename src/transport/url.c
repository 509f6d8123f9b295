/*
 * src/transport/url.c — SRC/DST of a replication
 *
 * scp's rule decides between a local dataset and ssh's host:dataset: a ':'
 * before the first '/' means a host.  Pool names may contain ':' too
 * (zpool allows it), so such a local name is written with a leading "./",
 * as rsync and scp take "./file:name" for a local file.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "transport/url.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/num.h"
#include "util/banned.h"

void zf_url_release(struct zf_url *u)
{
	free(u->user);
	free(u->host);
	free(u->port);
	free(u->dataset);
	*u = (struct zf_url)ZF_URL_INIT;
}

const char *zf_url_kind_str(enum zf_url_kind kind)
{
	switch (kind) {
	case ZF_URL_LOCAL: return "local";
	case ZF_URL_SSH: return "ssh";
	case ZF_URL_TLS: return "tls";
	case ZF_URL_TCP: return "tcp";
	}
	return "?";
}

char *zf_url_origin(const struct zf_url *u)
{
	bool v6 = u->host && strchr(u->host, ':');

	if (u->kind == ZF_URL_LOCAL)
		return zf_xstrdup("local");
	return zf_xasprintf("%s://%s%s%s%s%s%s%s", zf_url_kind_str(u->kind), u->user ? u->user : "",
			    u->user ? "@" : "", v6 ? "[" : "", u->host, v6 ? "]" : "",
			    u->port ? ":" : "", u->port ? u->port : "");
}

static int check_port(const char *url, const char *p, size_t n, struct zf_err *err)
{
	uint16_t v;

	if (zf_parse_port(p, n, &v) < 0 || v < 1)
		return zf_err_set(err, -EINVAL, "bad port '%.*s' in '%s': expected 1-65535", (int)n,
				  p, url);
	return 0;
}

/*
 * [user@]host[:port] in [s, s+n); with_port false: no ":port" (ssh's short
 * form, where ':' ends the host).
 */
static int parse_authority(const char *url, const char *s, size_t n, struct zf_url *u,
			   struct zf_err *err)
{
	const char *at = memchr(s, '@', n), *h, *end = s + n, *hend, *colon;
	int r;

	if (at) {
		if (at == s)
			return zf_err_set(err, -EINVAL, "empty user name in '%s'", url);
		if (s[0] == '-')
			return zf_err_set(err, -EINVAL, "user name in '%s' must not start with '-'",
					  url);
		if (u->kind != ZF_URL_SSH)
			return zf_err_set(err, -EINVAL, "%s URL '%s' takes no user name",
					  zf_url_kind_str(u->kind), url);
		u->user = zf_xstrndup(s, (size_t)(at - s));
		s = at + 1;
		if (memchr(s, '@', (size_t)(end - s)))
			return zf_err_set(err, -EINVAL, "more than one '@' in '%s'", url);
	}
	if (s < end && *s == '[') {
		const char *close = memchr(s, ']', (size_t)(end - s));
		if (!close)
			return zf_err_set(err, -EINVAL, "unclosed '[' in '%s'", url);
		h = s + 1;
		hend = close;
		colon = close + 1 < end ? close + 1 : NULL;
		if (colon && *colon != ':')
			return zf_err_set(err, -EINVAL, "unexpected '%c' after ']' in '%s'", *colon,
					  url);
	} else {
		h = s;
		colon = memchr(s, ':', (size_t)(end - s));
		hend = colon ? colon : end;
		if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return zf_err_set(err, -EINVAL,
					  "bad host in '%s': write IPv6 addresses in brackets",
					  url);
	}
	if (hend == h)
		return zf_err_set(err, -EINVAL, "empty host in '%s'", url);
	if (*h == '-')
		return zf_err_set(err, -EINVAL, "host in '%s' must not start with '-'", url);
	for (const char *c = h; c < hend; c++)
		if ((unsigned char)*c <= ' ' || *c == '/' || *c == '[' || *c == ']' || *c == 0x7f)
			return zf_err_set(err, -EINVAL, "bad character in host of '%s'", url);
	u->host = zf_xstrndup(h, (size_t)(hend - h));
	if (colon) {
		r = check_port(url, colon + 1, (size_t)(end - colon - 1), err);
		if (r < 0)
			return r;
		u->port = zf_xstrndup(colon + 1, (size_t)(end - colon - 1));
	}
	if (!u->port && u->kind != ZF_URL_SSH)
		return zf_err_set(err, -EINVAL, "%s URL '%s' needs a port: %s://HOST:PORT/DATASET",
				  zf_url_kind_str(u->kind), url, zf_url_kind_str(u->kind));
	return 0;
}

static int set_dataset(const char *url, const char *d, struct zf_url *u, struct zf_err *err)
{
	if (!*d)
		return zf_err_set(err, -EINVAL, "no dataset in '%s'", url);
	if (*d == '-')
		return zf_err_set(err, -EINVAL, "dataset in '%s' must not start with '-'", url);
	if (*d == '/')
		return zf_err_set(err, -EINVAL, "dataset in '%s' must not start with '/'", url);
	u->dataset = zf_xstrdup(d);
	return 0;
}

int zf_url_parse(const char *s, struct zf_url *ret, struct zf_err *err)
{
	_cleanup_(zf_url_releasep) struct zf_url u = ZF_URL_INIT;
	const char *sep = strstr(s, "://"), *colon, *slash, *rest;
	size_t slen;
	int r;

	if (!*s)
		return zf_err_set(err, -EINVAL, "empty dataset");
	slen = sep ? strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
		   : 0;
	if (sep && slen == (size_t)(sep - s) && slen > 0) {
		if (slen == 3 && !strncmp(s, "ssh", 3))
			u.kind = ZF_URL_SSH;
		else if (slen == 3 && !strncmp(s, "tls", 3))
			u.kind = ZF_URL_TLS;
		else if (slen == 3 && !strncmp(s, "tcp", 3))
			u.kind = ZF_URL_TCP;
		else
			return zf_err_set(err, -EINVAL,
					  "unknown scheme '%.*s' in '%s' (known: ssh, tls, tcp)",
					  (int)slen, s, s);
		rest = sep + 3;
		slash = strchr(rest, '/');
		if (!slash)
			return zf_err_set(err, -EINVAL, "no dataset in '%s': %s://HOST%s/DATASET",
					  s, zf_url_kind_str(u.kind),
					  u.kind == ZF_URL_SSH ? "" : ":PORT");
		r = parse_authority(s, rest, (size_t)(slash - rest), &u, err);
		if (r < 0)
			return r;
		r = set_dataset(s, slash + 1, &u, err);
	} else if (startswith(s, "./")) {
		r = set_dataset(s, s + 2, &u, err);
	} else {
		colon = strchr(s, ':');
		slash = strchr(s, '/');
		if (!colon || (slash && slash < colon)) {
			r = set_dataset(s, s, &u, err);
		} else {
			/* [user@]host:dataset; in "[v6]:dataset" the host's ':'s are bracketed */
			const char *host = s, *at = strchr(s, '@'), *end;
			if (at && at < colon)
				host = at + 1;
			if (*host == '[') {
				const char *close = strchr(host, ']');
				if (!close || close[1] != ':')
					return zf_err_set(err, -EINVAL, "bad IPv6 host in '%s': "
							  "[ADDRESS]:DATASET", s);
				end = close + 1;
			} else
				end = colon;
			u.kind = ZF_URL_SSH;
			r = parse_authority(s, s, (size_t)(end - s), &u, err);
			if (r < 0)
				return r;
			r = set_dataset(s, end + 1, &u, err);
		}
	}
	if (r < 0)
		return r;
	*ret = u;
	u = (struct zf_url)ZF_URL_INIT;
	return 0;
}
