/* src/rpc/conn.h — an rpc connection: handshake, client calls, server dispatch, streams */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rpc/frame.h"
#include "rpc/msg.h"
#include "util/buf.h"
#include "util/macro.h"

struct zf_err;
struct zf_transport;

/*
 * A connection owns a transport and speaks docs/protocol.md over it: one
 * request at a time, frames read whole (header first, so an oversized or
 * malformed frame is refused before its payload is waited for), PING
 * frames answered wherever they arrive.  Both sides call
 * zf_rpc_handshake() first; then the client uses zf_rpc_call() and the
 * server zf_rpc_serve().
 */
struct zf_rpc_conn;

#define ZF_RPC_VERSION_MIN 1
#define ZF_RPC_VERSION_MAX 1
/* The request id of the one stream on a data channel's connection (no handshake there). */
#define ZF_RPC_DATACHAN_ID 1
/* DATA payload size streams are cut into. */
#define ZF_RPC_STREAM_CHUNK (256u * 1024)

/* Takes ownership of t (freed with the connection). */
struct zf_rpc_conn *zf_rpc_conn_new(struct zf_transport *t);
/*
 * Ends our side cleanly (TLS close_notify, TCP FIN): the peer's next read
 * at a frame boundary sees the end.  zf_rpc_conn_free() without it looks
 * like a dropped connection to a TLS peer, which is what an abort should
 * look like.
 */
int zf_rpc_conn_close(struct zf_rpc_conn *c, struct zf_err *err);
struct zf_rpc_conn *zf_rpc_conn_free(struct zf_rpc_conn *c);
DEFINE_CLEANUP_FUNC(struct zf_rpc_conn *, zf_rpc_conn_free);
/* The peer's identity as the transport established it (never what HELLO claimed). */
const char *zf_rpc_conn_peer(const struct zf_rpc_conn *c);
/* The negotiated protocol version; 0 before the handshake. */
uint16_t zf_rpc_conn_version(const struct zf_rpc_conn *c);
/*
 * What the peer's HELLO says about us: a server tells its client the
 * identity it serves it as (the client's namespace on the server, see
 * docs/serve.md); informational otherwise.
 */
const char *zf_rpc_conn_peer_says(const struct zf_rpc_conn *c);
/*
 * Server: the name our HELLO gives the peer (default: its transport
 * identity), e.g. the config entry it matched.  Before the handshake.
 */
void zf_rpc_conn_set_hello_identity(struct zf_rpc_conn *c, const char *identity);
/*
 * Server: every ERROR this connection sends passes through fn first, which
 * may rewrite its code and message in place (size bytes, NUL-terminated):
 * the server withholds zfs's words about datasets outside a client's
 * grants.  The identity is the connection's peer; request is the request
 * being answered (its names are the client's own), or NULL.
 */
typedef void (*zf_rpc_error_filter_fn)(void *userdata, const char *identity,
				       const struct zf_msg *request, int *code, char *msg,
				       size_t size);
void zf_rpc_conn_set_error_filter(struct zf_rpc_conn *c, zf_rpc_error_filter_fn fn,
				  void *userdata);
/* The transport's kind ("tcp", "tls", "local"...): whether the connection is private. */
const char *zf_rpc_conn_transport_kind(const struct zf_rpc_conn *c);
/* The transport's timeout per read/write, in ms (-1: none). */
int zf_rpc_conn_timeout(const struct zf_rpc_conn *c);
/* Test-only: the version range this side offers. */
void zf_rpc_conn_set_versions(struct zf_rpc_conn *c, uint16_t min, uint16_t max);
/* Test-only: the HELLO feature bits this side offers (default ZF_FEATURES_KNOWN). */
void zf_rpc_conn_set_features(struct zf_rpc_conn *c, uint64_t features);
/* The features both sides offered; 0 before the handshake. */
uint64_t zf_rpc_conn_features(const struct zf_rpc_conn *c);
/*
 * The checksum streams on c end with: what the handshake settled, SHA-256
 * before it.  A data channel's connection has no handshake of its own and
 * takes its control connection's with zf_rpc_conn_set_stream_sum().
 */
enum zf_stream_sum_kind zf_rpc_conn_stream_sum(const struct zf_rpc_conn *c);
void zf_rpc_conn_set_stream_sum(struct zf_rpc_conn *c, enum zf_stream_sum_kind kind);

/*
 * Keeps the peer from timing out while we wait on something slow with
 * nothing to send (zfs recv finishing a stream, destroying many snapshots,
 * listing a large pool): a thread sends a PING frame every third of the
 * connection's timeout; the peer answers wherever it reads, and each PING
 * restarts its read timeout.  Between start and stop the caller must not
 * use c at all (a TLS connection is not safe for two threads).  NULL (and
 * nothing to stop) when c has no timeout.  stop returns the PINGs sent.
 */
struct zf_rpc_keepalive;
struct zf_rpc_keepalive *zf_rpc_keepalive_start(struct zf_rpc_conn *c);
unsigned zf_rpc_keepalive_stop(struct zf_rpc_keepalive *k);

/* Exchanges HELLO and settles the version; -EPROTONOSUPPORT when ranges do not overlap. */
_must_check_ int zf_rpc_handshake(struct zf_rpc_conn *c, bool server, struct zf_err *err);
/*
 * The server's handshake when it will not serve the peer at all: reads the
 * peer's HELLO (which a client sends without waiting for ours), answers
 * ERROR (request id 1, code as -errno, msg) in place of our HELLO and
 * closes our side.  The client's zf_rpc_handshake() fails with that code
 * and message.  0 when the answer went out, <0 when the peer broke first.
 */
_must_check_ int zf_rpc_refuse(struct zf_rpc_conn *c, int code, const char *msg,
			       struct zf_err *err);

/* Low level, for tests and stream helpers: one frame out, one frame in. */
_must_check_ int zf_rpc_send_frame(struct zf_rpc_conn *c, enum zf_frame_type type, uint32_t id,
				   const void *p, size_t n, struct zf_err *err);
/*
 * The next frame other than PING/PONG (PING is answered here): 1 and *ret,
 * valid until the next call; 0 when the peer closed cleanly between
 * frames; <0 on errors (-EBADMSG for a malformed frame, -EPIPE for a
 * connection that ended inside one, -ETIMEDOUT for a silent peer).
 */
_must_check_ int zf_rpc_recv_frame(struct zf_rpc_conn *c, struct zf_frame *ret,
				   struct zf_err *err);

/*
 * Streams: a source fills buf with up to size bytes, *ret_n = 0 meaning the
 * end (a source that wraps `zfs send` must only report the end once zfs
 * exited successfully, because END vouches for the stream); a sink takes
 * bytes.  Both return 0 or -errno with the reason in err.
 */
typedef int (*zf_rpc_source_fn)(void *userdata, void *buf, size_t size, size_t *ret_n,
				struct zf_err *err);
typedef int (*zf_rpc_sink_fn)(void *userdata, const void *p, size_t n, struct zf_err *err);
/* Adapters for file descriptors: userdata points to an int fd. */
int zf_rpc_fd_source(void *userdata, void *buf, size_t size, size_t *ret_n, struct zf_err *err);
int zf_rpc_fd_sink(void *userdata, const void *p, size_t n, struct zf_err *err);

/*
 * Sends DATA frames from source, then END with count and checksum.  If the
 * source fails, sends ERROR (its code and message) instead of END so the
 * receiver never takes a cut stream for a complete one.
 */
_must_check_ int zf_rpc_stream_send(struct zf_rpc_conn *c, uint32_t id, zf_rpc_source_fn source,
				    void *userdata, struct zf_err *err);
/*
 * Receives a stream into sink and checks END: 0 only after a matching END.
 * A sink failure stops delivering but drains the stream to its end, so the
 * connection stays usable, and returns the sink's error.  The peer's ERROR
 * returns its code mapped to errno with "peer: message".
 */
_must_check_ int zf_rpc_stream_recv(struct zf_rpc_conn *c, uint32_t id, zf_rpc_sink_fn sink,
				    void *userdata, uint64_t *ret_bytes, struct zf_err *err);

/*
 * Client: one request.  body is a message from zf_msg_start() (its kind
 * picks the request).  For STREAM_IN requests, source supplies the stream;
 * for STREAM_OUT ones, sink takes it (the other may be NULL).  On success
 * *ret holds the parsed response, borrowing resp_buf, which the caller
 * keeps alive.  The server's ERROR comes back as its errno with the
 * server's message.  on_response, when set, sees the parsed RESPONSE
 * before a STREAM_OUT request's stream is read (a stream that runs on a
 * data channel is received there); if it fails, zf_rpc_call() returns its
 * error with the stream unread, so the caller must discard the connection.
 */
struct zf_rpc_call {
	zf_rpc_source_fn source;
	void *source_data;
	zf_rpc_sink_fn sink;
	void *sink_data;
	int (*on_response)(void *userdata, const struct zf_msg *resp, struct zf_err *err);
	void *on_response_data;
	uint64_t stream_bytes;          /* out: bytes streamed either way */
};
_must_check_ int zf_rpc_call(struct zf_rpc_conn *c, const struct zf_buf *body,
			     struct zf_rpc_call *call, struct zf_buf *resp_buf,
			     struct zf_msg *ret, struct zf_err *err);

/* Server: what a handler gets. */
struct zf_rpc_request {
	struct zf_rpc_conn *conn;
	uint32_t id;
	const struct zf_rpc_req_info *info;
	const struct zf_msg *msg;
	const char *identity;           /* zf_rpc_conn_peer() */
	struct zf_buf resp;             /* the response body, started with the request's kind */
	bool responded;                 /* RESPONSE sent */
	bool stream_done;               /* STREAM_IN consumed, or STREAM_OUT sent */
};
/* STREAM_IN handlers: take the client's stream. */
_must_check_ int zf_rpc_request_recv_stream(struct zf_rpc_request *req, zf_rpc_sink_fn sink,
					    void *userdata, uint64_t *ret_bytes,
					    struct zf_err *err);
/*
 * STREAM_OUT handlers: sends RESPONSE (req->resp as filled so far), then the
 * stream.  Whatever can still fail (zfs send's exit status) must fail inside
 * the source, before it reports the end: once END is out the stream is
 * vouched for, and a handler error after it is only logged.
 */
_must_check_ int zf_rpc_request_send_stream(struct zf_rpc_request *req, zf_rpc_source_fn source,
					    void *userdata, struct zf_err *err);

typedef int (*zf_rpc_handler_fn)(struct zf_rpc_request *req, void *userdata, struct zf_err *err);

struct zf_rpc_handler {
	uint16_t kind;
	zf_rpc_handler_fn fn;
};

struct zf_rpc_server {
	const struct zf_rpc_handler *handlers;
	size_t n_handlers;
	/*
	 * The one access check (guarantee 5), run before every handler with
	 * the request table's row: return <0 (e.g. -EACCES and why) to refuse.
	 * NULL allows everything.
	 */
	int (*allow)(void *userdata, const char *identity, const struct zf_rpc_req_info *info,
		     const struct zf_msg *msg, struct zf_err *err);
	void *userdata;
};

/*
 * Serves requests until the client closes (0, after closing our side too)
 * or the connection breaks (<0).  Handler failures become ERROR frames and the connection goes on;
 * protocol violations end it.  PING requests are answered here.
 */
_must_check_ int zf_rpc_serve(struct zf_rpc_conn *c, const struct zf_rpc_server *s,
			      struct zf_err *err);
