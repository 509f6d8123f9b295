/* src/server/listen.h — `zferry serve`: one connection on stdio, or listeners that fork a child per connection */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct zf_config;
struct zf_endpoint;
struct zf_err;

#define ZF_SERVER_MAX_LISTENERS 16

/* Statuses of zf_server_stdio() and zf_server_listen(); the command's exit status. */
enum {
	ZF_SERVER_OK = 0,               /* the client closed, or a signal stopped the loop */
	ZF_SERVER_FAILED = 1,           /* cannot start, or a connection failed (logged) */
	ZF_SERVER_BAD_CONFIG = 2,       /* the config cannot serve these listeners (said on stderr) */
};

struct zf_server_opts {
	struct zf_config *cfg;          /* grants, tls, limits; NULL only for stdio (root over ssh) */
	/* the endpoint a connection's requests are carried out by: zf_endpoint_local_new */
	struct zf_endpoint *(*endpoint_new)(void);
};

/* --listen tls://[ADDR]:PORT or tcp://[ADDR]:PORT; ADDR may be empty (every address) or [v6]. */
struct zf_listen_addr {
	bool tls;
	char *host;                     /* NULL: every address */
	char *port;
};
int zf_server_parse_listen(const char *s, struct zf_listen_addr *ret, struct zf_err *err);
void zf_listen_addr_release(struct zf_listen_addr *a);

/*
 * Serves one connection on stdin/stdout (as ssh starts us) for identity.
 * stdout carries the protocol: the log goes to stderr from here on.
 */
int zf_server_stdio(const struct zf_server_opts *o, const char *identity);

/*
 * Listens on addrs (at most ZF_SERVER_MAX_LISTENERS) and forks a child per
 * connection until SIGTERM or SIGINT, then lets the connections in flight
 * finish.  Prints "zferry serve: listening on URL" for each listener, with
 * the real port, before the first accept.
 */
int zf_server_listen(const struct zf_server_opts *o, const struct zf_listen_addr *addrs, size_t n);
