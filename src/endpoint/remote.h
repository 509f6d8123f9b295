/* src/job/remote.h — the rpc ends of a replication: remote endpoint (client) and request handlers (server) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

struct zf_endpoint;
struct zf_err;
struct zf_recv_policy;
struct zf_msg;
struct zf_rpc_conn;
struct zf_rpc_req_info;
struct zf_transport;

/*
 * Client side.  A remote endpoint implements struct zf_endpoint_ops over
 * the protocol of docs/protocol.md.  It opens connections through connect
 * (one per concurrent caller: each replication worker gets its own, a
 * running stream keeps its connection until stream_finish), runs the
 * handshake on each, and reuses idle ones.  A connection that failed
 * mid-request is discarded, never reused; one that got the server's ERROR
 * is kept.  connect may run in several threads at once.
 *
 * Errors name the remote: "NAME: message", with the server's own message
 * for its failures.  A stream's fd is a pipe served by a thread of the
 * endpoint: stream_finish closes it, joins the thread and returns the
 * stream's result, which is never success for a stream that stopped
 * without a matching END; stream_kill cuts the connection at once.
 * Finish every stream before freeing the endpoint.
 */
typedef int (*zf_remote_connect_fn)(void *userdata, struct zf_transport **ret,
				    struct zf_err *err);

struct zf_remote_opts {
	zf_remote_connect_fn connect;
	void *userdata;                 /* for connect; must outlive the endpoint */
	void (*userdata_free)(void *userdata);  /* called by free, may be NULL */
	const char *name;               /* for messages: "tls://host:port", "ssh host" */
	int timeout_ms;                 /* per read/write; 0: ZF_TRANSPORT_DEFAULT_TIMEOUT_MS */
	/*
	 * With data_addr set, every send_start/recv_start first opens a
	 * direct data channel on its connection (DATA_CHANNEL_OPEN: the
	 * server listens on data_addr, a port of data_ports, "PORT" or
	 * "FIRST-LAST", "0" for any) and its stream runs there; we connect
	 * to data_addr, or to the control connection's host when data_addr
	 * is a wildcard (0.0.0.0, ::).  Other requests stay on control.
	 */
	const char *data_addr;
	const char *data_ports;         /* NULL: "0" */
	bool data_encrypt;              /* AES-256-GCM on the data channel */
};
_must_check_ int zf_endpoint_remote_new(const struct zf_remote_opts *opts,
					struct zf_endpoint **ret, struct zf_err *err);

/*
 * Server side.  Serves one connection (after the handshake) until the
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
