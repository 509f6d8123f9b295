/* src/server/server.h — the request handlers of `zferry serve`: one connection served */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

struct zf_endpoint;
struct zf_err;
struct zf_msg;
struct zf_recv_policy;
struct zf_rpc_conn;
struct zf_rpc_req_info;

/*
 * Serves one connection (after the handshake) until the
 * client closes it: every request of docs/protocol.md is carried out by
 * ep (the local endpoint in production, and the zfs layer for requests
 * the endpoint table lacks), after hooks->allow said yes.  allow is the
 * one access check (guarantee 5); NULL allows everything.  Every name in
 * a request is checked with the zfs layer's rules before ep sees it, and
 * every receive and create follows hooks->recv_scope's policy, whatever
 * the client asked (issue 10: the receiving side decides).  The
 * process must ignore SIGPIPE (cli/main.c does): a receive that died
 * makes the next write of its stream fail with EPIPE.
 */
typedef int (*zf_serve_allow_fn)(void *userdata, const char *identity,
				 const struct zf_rpc_req_info *info, const struct zf_msg *msg,
				 struct zf_err *err);
/*
 * The receiving side's rules for an identity (src/zfs/recv-policy.h):
 * the policy its receives and creates follow, and the subtrees a clone's
 * origin may be taken from (NULL-terminated).  Both point into userdata.
 */
typedef void (*zf_serve_recv_scope_fn)(void *userdata, const char *identity,
				       struct zf_recv_policy *ret_policy,
				       const char *const **ret_origin_roots);

/* Rewrites an error before it leaves (grants.c's zf_serve_redact()); true when it did. */
typedef bool (*zf_serve_redact_fn)(void *userdata, const char *identity,
				   const struct zf_msg *request, int *code, char *msg, size_t size);

/* Where a server's data channels listen, from its config (docs/serve.md). */
struct zf_serve_datachan {
	const char *listen;             /* an address, or a wildcard (0.0.0.0, ::) */
	uint16_t first, last;           /* port range; 0-0: any free port */
};

struct zf_serve_hooks {
	/*
	 * NULL: every request (a server without a config); set, the server
	 * decides where data channels listen: datachan, or none at all.
	 */
	zf_serve_allow_fn allow;
	const struct zf_serve_datachan *datachan;
	zf_serve_recv_scope_fn recv_scope;      /* NULL: built-in policy, the target's pool */
	zf_serve_redact_fn redact;              /* NULL: errors go out as they are */
	void *userdata;
};
_must_check_ int zf_serve_conn(struct zf_rpc_conn *c, struct zf_endpoint *ep,
			       const struct zf_serve_hooks *hooks, struct zf_err *err);
