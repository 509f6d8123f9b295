/* src/transport/url.h — where a replication end lives: local pool, ssh, tls or tcp */
#pragma once
#include "util/macro.h"

struct zf_err;

/*
 *   pool/fs                          local
 *   ./pool:with:colons/fs            local (a pool name may contain ':')
 *   [user@]host:pool/fs              ssh, when the part before the first ':' has no '/'
 *   [user@][v6addr]:pool/fs          ssh to an IPv6 address
 *   ssh://[user@]host[:port]/pool/fs
 *   tls://host:port/pool/fs
 *   tcp://host:port/pool/fs          (hosts in brackets for IPv6: tls://[::1]:4434/p/fs)
 *
 * Only the shape is checked here; the dataset name meets zfs's rules when
 * the replication uses it.  Host, user and dataset must not start with
 * '-', so none of them can ever be read as an option by ssh or zfs.
 */
enum zf_url_kind {
	ZF_URL_LOCAL,
	ZF_URL_SSH,
	ZF_URL_TLS,
	ZF_URL_TCP,
};

struct zf_url {
	enum zf_url_kind kind;
	char *user;             /* ssh only; NULL when absent */
	char *host;             /* without brackets; NULL for local */
	char *port;             /* digits, 1-65535; NULL when absent (ssh: its default) */
	char *dataset;          /* the dataset on that host */
};
#define ZF_URL_INIT { ZF_URL_LOCAL, NULL, NULL, NULL, NULL }

/* Fills *ret (released with zf_url_release()); -EINVAL and a one-line reason. */
_must_check_ int zf_url_parse(const char *s, struct zf_url *ret, struct zf_err *err);
void zf_url_release(struct zf_url *u);
static inline void zf_url_releasep(struct zf_url *u)
{
	zf_url_release(u);
}
/* "local", "ssh", "tls", "tcp" */
const char *zf_url_kind_str(enum zf_url_kind kind);
/* Where it points, for messages: "ssh://user@host:22", "tls://[::1]:4434"; caller frees. */
char *zf_url_origin(const struct zf_url *u);
