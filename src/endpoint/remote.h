/* src/endpoint/remote.h — the remote endpoint: a replication's far end, spoken to over rpc */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

struct zf_endpoint;
struct zf_err;
struct zf_transport;

/*
 * A remote endpoint implements struct zf_endpoint_ops over
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
