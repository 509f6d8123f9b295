/*
 * src/endpoint/remote.c — the endpoint on another host, over the rpc protocol
 *
 * Every op is one request of docs/protocol.md §4, its body written by the
 * codec rpc/protocol.def declares (zf_req_BODY_encode()), on a connection
 * taken from a pool: idle connections wait in a list, an op takes one (or
 * opens a new one) and gives it back when the request ended on a frame
 * boundary.  A connection whose request broke (transport or protocol
 * error, a killed stream) is closed instead: what is left in it cannot be
 * trusted to start the next request cleanly.
 *
 * Streams run in a pump thread per stream, because zf_rpc_call() is one
 * blocking call from REQUEST to the END of the stream, while the engine
 * wants a file descriptor it can splice from or to.  A send's pump writes
 * the DATA payloads into a pipe whose read end the engine gets; a
 * receive's pump reads the engine's pipe and sends it as the request's
 * stream.  The pump blocks SIGPIPE for itself, so an engine that stops
 * reading makes its pipe write fail with -EPIPE rather than kill us
 * (cli/main.c ignores SIGPIPE for the process too).
 *
 * With a data channel (opts->data_addr), a stream's connection first asks
 * for one (DATA_CHANNEL_OPEN) and the pump moves the stream over it: a
 * send's pump connects from zf_rpc_call()'s on_response and receives the
 * stream there, then checks that control's stream is empty; a receive's
 * pump connects in its source's first call, sends the stream there and
 * then ends control's stream empty.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "endpoint/endpoint.h"
#include "endpoint/remote.h"
#include "log/log.h"
#include "rpc/conn.h"
#include "rpc/protocol.h"
#include "transport/datachan.h"
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/strv.h"
#include "util/banned.h"

/* TCP keepalive: probe after 30 s of silence, every 10 s, give up after 6. */
#define KEEPALIVE_IDLE_S 30
#define KEEPALIVE_INTVL_S 10
#define KEEPALIVE_CNT 6

struct rconn {
	struct zf_rpc_conn *c;
	struct zf_transport *t;         /* owned by c; kept to cut it from another thread */
	struct rconn *next;
};

struct remote {
	struct zf_endpoint ep;
	zf_remote_connect_fn connect;
	void *userdata;
	void (*userdata_free)(void *userdata);
	char *name;
	int timeout_ms;
	char *data_addr, *data_ports;   /* data_addr NULL: streams stay on control */
	bool data_encrypt;
	pthread_mutex_t lock;
	struct rconn *idle;             /* protected by lock */
	char *served_as;                /* the first handshake's, protected by lock */
};

static struct remote *to_remote(struct zf_endpoint *ep)
{
	return (struct remote *)ep;
}

static void rconn_free(struct rconn *rc, bool clean)
{
	if (!rc)
		return;
	/* a clean close tells the server this was the end, not a dropped link */
	if (clean)
		(void)zf_rpc_conn_close(rc->c, NULL);
	zf_rpc_conn_free(rc->c);
	free(rc);
}

/*
 * Errors after which the connection may be inside a frame or a stream.
 * The server's ERROR replies map to none of these except TIMEDOUT and
 * PROTO, and closing a healthy connection only costs a reconnect.
 */
static bool conn_broken(int r)
{
	switch (-r) {
	case EPIPE:
	case ETIMEDOUT:
	case EBADMSG:
	case ECONNRESET:
	case ECONNABORTED:
	case ENOTCONN:
	case EPROTO:
	case ESHUTDOWN:
	case ZF_E_PROTO:
		return true;
	default:
		return false;
	}
}

static int conn_get(struct remote *rm, struct rconn **ret, struct zf_err *err)
{
	struct zf_err kerr = ZF_ERR_INIT;
	struct zf_transport *t = NULL;
	struct rconn *rc;
	int r;

	pthread_mutex_lock(&rm->lock);
	rc = rm->idle;
	if (rc)
		rm->idle = rc->next;
	pthread_mutex_unlock(&rm->lock);
	if (rc) {
		rc->next = NULL;
		*ret = rc;
		return 0;
	}

	r = rm->connect(rm->userdata, &t, err);
	if (r < 0) {
		zf_err_prefix(err, "cannot connect to '%s'", rm->name);
		return r;
	}
	if (!t)
		return zf_err_set(err, -EINVAL, "cannot connect to '%s': no transport", rm->name);
	zf_transport_set_timeout(t, rm->timeout_ms);
	r = zf_transport_set_keepalive(t, KEEPALIVE_IDLE_S, KEEPALIVE_INTVL_S, KEEPALIVE_CNT,
				       &kerr);
	if (r < 0 && r != -ENOTSOCK) {
		zf_transport_free(t);
		return zf_err_set(err, r, "%s: %s", rm->name, zf_err_msg(&kerr));
	}
	rc = zf_xcalloc(1, sizeof(*rc));
	rc->t = t;
	rc->c = zf_rpc_conn_new(t);
	r = zf_rpc_handshake(rc->c, false, err);
	if (r < 0) {
		rconn_free(rc, false);
		zf_err_prefix(err, "cannot connect to '%s'", rm->name);
		return r;
	}
	pthread_mutex_lock(&rm->lock);
	if (!rm->served_as)
		rm->served_as = zf_xstrdup(zf_rpc_conn_peer_says(rc->c));
	pthread_mutex_unlock(&rm->lock);
	*ret = rc;
	return 0;
}

/* Gives a connection back after a request that ended with r. */
static void conn_put(struct remote *rm, struct rconn *rc, int r)
{
	if (conn_broken(r)) {
		rconn_free(rc, false);
		return;
	}
	pthread_mutex_lock(&rm->lock);
	rc->next = rm->idle;
	rm->idle = rc;
	pthread_mutex_unlock(&rm->lock);
}

/*
 * Names the remote in a failure: "NAME: message".  The server's ERROR
 * arrives as "PEER: message" (PEER being the transport's view of the
 * server, e.g. a certificate CN); NAME replaces it, as it is what the
 * person configured.
 */
static int remote_err(struct remote *rm, const char *peer, int r, struct zf_err *err)
{
	size_t n = strlen(peer);

	if (!err)
		return r;
	if (!err->code)
		zf_err_set(err, r, "%s", strerror(r < 0 && -r < ZF_E_BASE ? -r : EIO));
	if (strncmp(err->msg, peer, n) == 0 && strncmp(err->msg + n, ": ", 2) == 0)
		memmove(err->msg, err->msg + n + 2, strlen(err->msg + n + 2) + 1);
	zf_err_prefix(err, "%s", rm->name);
	return r;
}

/* One request on a pooled connection; *ret borrows resp. */
static int remote_call(struct remote *rm, const struct zf_buf *body, struct zf_rpc_call *call,
		       struct zf_buf *resp, struct zf_msg *ret, struct zf_err *err)
{
	struct rconn *rc = NULL;
	char peer[ZF_TRANSPORT_MAX_PEER];
	int r;

	r = conn_get(rm, &rc, err);
	if (r < 0)
		return r;
	snprintf(peer, sizeof(peer), "%s", zf_rpc_conn_peer(rc->c));
	r = zf_rpc_call(rc->c, body, call, resp, ret, err);
	conn_put(rm, rc, r);
	if (r < 0)
		return remote_err(rm, peer, r, err);
	return 0;
}

/* A request whose response carries nothing we need. */
static int remote_simple(struct remote *rm, const struct zf_buf *body, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf resp = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;

	return remote_call(rm, body, NULL, &resp, &m, err);
}

/* ---- encoding ---------------------------------------------------------------- */

/* After a zf_req_BODY_encode() (rpc/protocol.def): names the remote in a failure. */
static int encoded(struct remote *rm, int r, struct zf_err *err)
{
	if (r < 0)
		zf_err_prefix(err, "%s", rm->name);
	return r;
}

/* A request whose response carries nothing we need, once encoded. */
static int remote_simple_encoded(struct remote *rm, int r, const struct zf_buf *body,
				 struct zf_err *err)
{
	if (r < 0)
		return encoded(rm, r, err);
	return remote_simple(rm, body, err);
}

static int encode_send(struct remote *rm, struct zf_buf *b, uint16_t kind, const char *snapshot,
		       const struct zf_zfs_send_opts *o, struct zf_err *err)
{
	static const struct zf_zfs_send_opts none = { 0 };
	struct zf_req_send q;

	if (!o)
		o = &none;
	q = (struct zf_req_send){
		.snapshot = snapshot,
		.from = o->from,
		.resume_token = o->resume_token,
		.intermediates = o->intermediates,
		.raw = o->raw,
		.compressed = o->compressed,
		.large_block = o->large_block,
		.embed = o->embed,
		.props = o->props,
	};
	return encoded(rm, zf_req_send_encode(&q, kind, b, err), err);
}

/* A required field of a list entry. */
static int entry_str(const struct zf_msg *m, uint16_t tag, const char *what, char **ret,
		     struct zf_err *err)
{
	int r = zf_msg_get_str(m, tag, ret, err);

	if (r == -ENOENT)
		return zf_err_set(err, -EBADMSG, "list entry without %s", what);
	return r;
}

static int entry_opt_str(const struct zf_msg *m, uint16_t tag, char **ret, struct zf_err *err)
{
	int r = zf_msg_get_str(m, tag, ret, err);

	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	return r;
}

static int entry_u64(const struct zf_msg *m, uint16_t tag, const char *what, uint64_t *ret,
		     struct zf_err *err)
{
	int r = zf_msg_get_u64(m, tag, ret, err);

	if (r == -ENOENT)
		return zf_err_set(err, -EBADMSG, "list entry without %s", what);
	return r;
}

static int entry_bool(const struct zf_msg *m, uint16_t tag, const char *what, bool *ret,
		      struct zf_err *err)
{
	int r = zf_msg_get_bool(m, tag, ret, err);

	if (r == -ENOENT)
		return zf_err_set(err, -EBADMSG, "list entry without %s", what);
	return r;
}

static int entry_sink(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	return zf_msg_entry_reader_feed(userdata, p, n, err);
}

/* A STREAM_OUT list request: every entry goes to fn. */
static int remote_list_call(struct remote *rm, const struct zf_buf *body, zf_msg_entry_fn fn,
			    void *userdata, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf resp = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	struct zf_msg_entry_reader er;
	struct zf_rpc_call call = { 0 };
	int r;

	zf_msg_entry_reader_init(&er, fn, userdata);
	call.sink = entry_sink;
	call.sink_data = &er;
	r = remote_call(rm, body, &call, &resp, &m, err);
	if (r >= 0) {
		r = zf_msg_entry_reader_finish(&er, err);
		if (r < 0)
			zf_err_prefix(err, "%s", rm->name);
	}
	zf_msg_entry_reader_release(&er);
	return r;
}

/* ---- list ---------------------------------------------------------------------- */

struct list_ctx {
	struct zf_ep_fs_list *l;
	zf_zfs_filter_fn filter;
	void *userdata;
};

static int fs_entry(void *userdata, const struct zf_msg *m, struct zf_err *err)
{
	struct list_ctx *ctx = userdata;
	struct zf_ep_fs f = { 0 };
	int r;

	r = entry_str(m, ZF_TAG_FS, "FS", &f.name, err);
	if (r >= 0)
		r = entry_bool(m, ZF_TAG_ENCRYPTED, "ENCRYPTED", &f.encrypted, err);
	if (r >= 0)
		r = entry_bool(m, ZF_TAG_MODIFIED, "MODIFIED", &f.modified, err);
	if (r >= 0)
		r = entry_bool(m, ZF_TAG_PLACEHOLDER, "PLACEHOLDER", &f.placeholder, err);
	if (r >= 0)
		r = entry_opt_str(m, ZF_TAG_RESUME_TOKEN, &f.resume_token, err);
	if (r >= 0)
		r = entry_opt_str(m, ZF_TAG_SENDFLAGS, &f.sendflags, err);
	if (r >= 0)
		r = entry_opt_str(m, ZF_TAG_ORIGIN, &f.origin, err);
	if (r >= 0 && f.origin && zf_zfs_name_check(f.origin, ZF_ZFS_NAME_SNAPSHOT, NULL) < 0) {
		free(f.origin);         /* not a name: not a clone we could use */
		f.origin = NULL;
	}
	if (r < 0 || (ctx->filter && !ctx->filter(f.name, ctx->userdata))) {
		free(f.name);
		free(f.resume_token);
		free(f.sendflags);
		free(f.origin);
		return r < 0 ? r : 0;
	}
	ZF_ALLOC_GROW(ctx->l->v, ctx->l->n + 1, ctx->l->alloc);
	ctx->l->v[ctx->l->n++] = f;
	return 0;
}

static int version_entry(void *userdata, const struct zf_msg *m, struct zf_err *err)
{
	struct list_ctx *ctx = userdata;
	struct zf_zfs_version_list *vl = &ctx->l->versions;
	struct zf_zfs_version v = { 0 };
	uint64_t creation = 0;
	int r;

	r = entry_str(m, ZF_TAG_FS, "FS", &v.fs, err);
	if (r >= 0)
		r = entry_str(m, ZF_TAG_NAME, "NAME", &v.name, err);
	if (r >= 0)
		r = entry_bool(m, ZF_TAG_IS_BOOKMARK, "IS_BOOKMARK", &v.bookmark, err);
	if (r >= 0)
		r = entry_u64(m, ZF_TAG_GUID, "GUID", &v.guid, err);
	if (r >= 0)
		r = entry_u64(m, ZF_TAG_CREATETXG, "CREATETXG", &v.createtxg, err);
	if (r >= 0)
		r = entry_u64(m, ZF_TAG_CREATION, "CREATION", &creation, err);
	if (r >= 0)
		r = entry_u64(m, ZF_TAG_USERREFS, "USERREFS", &v.userrefs, err);
	if (r < 0 || (ctx->filter && !ctx->filter(v.fs, ctx->userdata))) {
		free(v.fs);
		free(v.name);
		return r < 0 ? r : 0;
	}
	v.creation = (int64_t)creation;
	ZF_ALLOC_GROW(vl->v, vl->n + 1, vl->alloc);
	vl->v[vl->n++] = v;
	return 0;
}

static int remote_list(struct zf_endpoint *ep, const char *root, bool recursive,
		       zf_zfs_filter_fn filter, void *userdata, struct zf_ep_fs_list *ret,
		       struct zf_err *err)
{
	struct remote *rm = to_remote(ep);
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	struct zf_ep_fs_list l = { 0 };
	struct list_ctx ctx = { &l, filter, userdata };
	int r;

	for (int i = 0; i < 2; i++) {
		/* LIST_FS, then LIST_VERSIONS with the same fields */
		r = zf_req_list_encode(&(struct zf_req_list){ .fs = root, .recursive = recursive },
				       i == 0 ? ZF_RPC_LIST_FS : ZF_RPC_LIST_VERSIONS, &body, err);
		if (r < 0)
			return encoded(rm, r, err);
		r = remote_list_call(rm, &body, i == 0 ? fs_entry : version_entry, &ctx, err);
		if (r < 0 || l.n == 0)
			break;
	}
	if (r < 0) {
		zf_ep_fs_list_release(&l);
		return r;
	}
	zf_ep_fs_list_link(&l);
	*ret = l;
	return 0;
}

/* ---- simple requests ------------------------------------------------------------- */

static int remote_snapshot(struct zf_endpoint *ep, const char *const *fs, size_t n,
			   const char *name, struct zf_err *err)
{
	const struct zf_req_snapshot q = { .fs = { fs, n }, .name = name };
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	int r = zf_req_snapshot_encode(&q, ZF_RPC_SNAPSHOT, &body, err);

	return remote_simple_encoded(to_remote(ep), r, &body, err);
}

static int hold_release(struct remote *rm, uint16_t kind, const char *tag,
			const char *const *snaps, size_t n, struct zf_err *err)
{
	const struct zf_req_hold q = { .hold_tag = tag, .snapshot = { snaps, n } };
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	int r = zf_req_hold_encode(&q, kind, &body, err);

	return remote_simple_encoded(rm, r, &body, err);
}

static int remote_hold(struct zf_endpoint *ep, const char *tag, const char *const *snaps,
		       size_t n, struct zf_err *err)
{
	return hold_release(to_remote(ep), ZF_RPC_HOLD, tag, snaps, n, err);
}

static int remote_release(struct zf_endpoint *ep, const char *tag, const char *const *snaps,
			  size_t n, struct zf_err *err)
{
	return hold_release(to_remote(ep), ZF_RPC_RELEASE, tag, snaps, n, err);
}

static int hold_entry(void *userdata, const struct zf_msg *m, struct zf_err *err)
{
	struct zf_zfs_hold_list *hl = userdata;
	struct zf_zfs_hold h = { 0 };
	uint64_t created = 0;
	int r;

	r = entry_str(m, ZF_TAG_SNAPSHOT, "SNAPSHOT", &h.snapshot, err);
	if (r >= 0)
		r = entry_str(m, ZF_TAG_HOLD_TAG, "HOLD_TAG", &h.tag, err);
	if (r >= 0)
		r = entry_u64(m, ZF_TAG_CREATION, "CREATION", &created, err);
	if (r < 0) {
		free(h.snapshot);
		free(h.tag);
		return r;
	}
	h.created = (int64_t)created;
	ZF_ALLOC_GROW(hl->v, hl->n + 1, hl->alloc);
	hl->v[hl->n++] = h;
	return 0;
}

static int remote_holds(struct zf_endpoint *ep, const char *const *snaps, size_t n,
			struct zf_zfs_hold_list *ret, struct zf_err *err)
{
	struct remote *rm = to_remote(ep);
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	const struct zf_req_holds q = { .snapshot = { snaps, n } };
	struct zf_zfs_hold_list hl = { 0 };
	int r;

	r = encoded(rm, zf_req_holds_encode(&q, ZF_RPC_HOLDS, &body, err), err);
	if (r >= 0)
		r = remote_list_call(rm, &body, hold_entry, &hl, err);
	if (r < 0) {
		zf_zfs_hold_list_release(&hl);
		return r;
	}
	*ret = hl;
	return 0;
}

static int remote_bookmark(struct zf_endpoint *ep, const char *snapshot, const char *bookmark,
			   struct zf_err *err)
{
	const struct zf_req_bookmark q = { .snapshot = snapshot, .bookmark = bookmark };
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	int r = zf_req_bookmark_encode(&q, ZF_RPC_BOOKMARK, &body, err);

	return remote_simple_encoded(to_remote(ep), r, &body, err);
}

static int remote_destroy_bookmark(struct zf_endpoint *ep, const char *bookmark,
				   struct zf_err *err)
{
	const struct zf_req_destroy_bookmark q = { .bookmark = bookmark };
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	int r = zf_req_destroy_bookmark_encode(&q, ZF_RPC_DESTROY_BOOKMARK, &body, err);

	return remote_simple_encoded(to_remote(ep), r, &body, err);
}

static int remote_create(struct zf_endpoint *ep, const char *fs, const char *const *props,
			 struct zf_err *err)
{
	const struct zf_req_create q = { .fs = fs, .prop = zf_msg_strs_argv(props) };
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	int r = zf_req_create_encode(&q, ZF_RPC_CREATE, &body, err);

	return remote_simple_encoded(to_remote(ep), r, &body, err);
}

static int remote_destroy_snapshots(struct zf_endpoint *ep, const char *fs,
				    const char *const *names, size_t n, struct zf_err *err)
{
	const struct zf_req_destroy_versions q = { .fs = fs, .name = { names, n } };
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	int r = zf_req_destroy_versions_encode(&q, ZF_RPC_DESTROY_VERSIONS, &body, err);

	return remote_simple_encoded(to_remote(ep), r, &body, err);
}

static int remote_rename(struct zf_endpoint *ep, const char *from, const char *to,
			 struct zf_err *err)
{
	const struct zf_req_rename q = { .from = from, .to = to };
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	int r = zf_req_rename_encode(&q, ZF_RPC_RENAME, &body, err);

	return remote_simple_encoded(to_remote(ep), r, &body, err);
}

static int remote_inherit(struct zf_endpoint *ep, const char *fs, const char *prop,
			  struct zf_err *err)
{
	const struct zf_req_inherit q = { .fs = fs, .prop = prop };
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	int r = zf_req_inherit_encode(&q, ZF_RPC_INHERIT, &body, err);

	return remote_simple_encoded(to_remote(ep), r, &body, err);
}

static int remote_recv_abort(struct zf_endpoint *ep, const char *fs, struct zf_err *err)
{
	const struct zf_req_fs q = { .fs = fs };
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	int r = zf_req_fs_encode(&q, ZF_RPC_RECV_ABORT, &body, err);

	return remote_simple_encoded(to_remote(ep), r, &body, err);
}

static int remote_send_estimate(struct zf_endpoint *ep, const char *snapshot,
				const struct zf_zfs_send_opts *opts, uint64_t *ret_bytes,
				struct zf_err *err)
{
	struct remote *rm = to_remote(ep);
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf resp = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	uint64_t bytes;
	int r;

	r = encode_send(rm, &body, ZF_RPC_SEND_ESTIMATE, snapshot, opts, err);
	if (r >= 0)
		r = remote_call(rm, &body, NULL, &resp, &m, err);
	if (r < 0)
		return r;
	r = zf_msg_get_u64(&m, ZF_TAG_BYTES, &bytes, err);
	if (r == -ENOENT)
		return zf_err_set(err, -EBADMSG, "%s: SEND_ESTIMATE response without BYTES",
				  rm->name);
	if (r < 0) {
		zf_err_prefix(err, "%s: SEND_ESTIMATE response", rm->name);
		return r;
	}
	*ret_bytes = bytes;
	return 0;
}

/* ---- streams ------------------------------------------------------------------- */

struct rstream {
	struct remote *rm;
	struct rconn *rc;
	char peer[ZF_TRANSPORT_MAX_PEER];
	struct zf_buf body;             /* the request */
	bool sending;                   /* SEND: the pump writes into the pipe */
	int pump_fd;                    /* the pump's end of the pipe */
	pthread_t thread;
	bool joined;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started;                   /* SEND: the first DATA arrived */
	bool done;                      /* the call returned: r and err are set */
	bool killed;                    /* atomic: stream_kill ran */
	int r;
	struct zf_err err;

	/* the data channel, when the stream runs on one */
	bool use_dc;
	bool dc_broke;                  /* control was left inside the request */
	bool dc_done;                   /* RECV: the channel's stream was sent */
	char dc_host[ZF_TRANSPORT_MAX_PEER];
	char dc_port[8];
	uint8_t dc_secret[ZF_DATACHAN_SECRET_LEN];
	struct zf_transport *dt;        /* protected by lock: cut from another thread */
};

static void rstream_free(struct rstream *st)
{
	if (!st)
		return;
	explicit_bzero(st->dc_secret, sizeof(st->dc_secret));
	safe_close(st->pump_fd);
	zf_buf_release(&st->body);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	free(st);
}

/*
 * Cuts the connection under a running pump, so that its blocked read or
 * write fails now rather than at the timeout: shutdown(2) for a socket;
 * for a transport over pipes (ssh's stdin and stdout), /dev/null is
 * dup2()ed over both fds, which reads as the end of the stream and refuses
 * writes.  The fd numbers stay valid either way (the pump still uses
 * them) until the connection is freed after the join.
 */
static void cut_fd(int fd)
{
	_cleanup_close_ int null = -EBADF;

	if (fd < 0 || shutdown(fd, SHUT_RDWR) == 0 || errno != ENOTSOCK)
		return;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0)
		(void)dup3(null, fd, O_CLOEXEC);
}

static void cut(struct rstream *st)
{
	struct zf_transport *t = st->rc->t;

	__atomic_store_n(&st->killed, true, __ATOMIC_SEQ_CST);
	cut_fd(t->rfd);
	if (t->wfd != t->rfd)
		cut_fd(t->wfd);
	pthread_mutex_lock(&st->lock);
	if (st->dt)
		(void)shutdown(st->dt->rfd, SHUT_RDWR);
	pthread_mutex_unlock(&st->lock);
}

static void mark_started(struct rstream *st)
{
	pthread_mutex_lock(&st->lock);
	st->started = true;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/* SEND: DATA payloads into the engine's pipe. */
static int pump_sink(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	struct rstream *st = userdata;
	int r;

	if (!st->started)
		mark_started(st);
	r = zf_write_full(st->pump_fd, p, n);
	if (r < 0) {
		/*
		 * The engine stopped reading.  zf_rpc_stream_recv() would
		 * drain the rest of a possibly huge stream to keep the
		 * connection usable; cutting it is cheaper.
		 */
		cut(st);
		return zf_err_set(err, r, "cannot pass the stream on: %s", strerror(-r));
	}
	return 0;
}

/* RECV: the engine's pipe as the request's stream. */
static int pump_source(void *userdata, void *buf, size_t size, size_t *ret_n, struct zf_err *err)
{
	struct rstream *st = userdata;
	ssize_t k = zf_read_full(st->pump_fd, buf, size);

	if (k < 0)
		return zf_err_set(err, (int)k, "cannot read the stream to send: %s",
				  strerror((int)-k));
	/* a killed stream's end is no end: the server must not take it for complete */
	if (k == 0 && __atomic_load_n(&st->killed, __ATOMIC_SEQ_CST))
		return zf_err_set(err, -ECANCELED, "stream stopped by the sender");
	*ret_n = (size_t)k;
	return 0;
}

/* Names a data-channel failure as one: "data channel: ..." (once). */
static int dc_fail(struct zf_err *err, int r, const struct zf_err *why)
{
	const char *m = zf_err_msg(why);

	if (strncmp(m, "data channel: ", 14) == 0)
		return zf_err_set(err, r, "%s", m);
	return zf_err_set(err, r, "data channel: %s", m);
}

/* Connects the stream's data channel; the rpc connection over it. */
static int dc_connect(struct rstream *st, struct zf_rpc_conn **ret, struct zf_err *err)
{
	struct zf_transport *t = NULL;
	struct zf_err cerr = ZF_ERR_INIT;
	int r;

	r = zf_datachan_connect(st->dc_host, st->dc_port, st->dc_secret, st->rm->data_encrypt,
				st->rm->timeout_ms, &t, &cerr);
	explicit_bzero(st->dc_secret, sizeof(st->dc_secret));
	if (r < 0)
		return dc_fail(err, r, &cerr);
	pthread_mutex_lock(&st->lock);
	st->dt = t;
	pthread_mutex_unlock(&st->lock);
	/* a kill that came before dt was visible must still cut it */
	if (__atomic_load_n(&st->killed, __ATOMIC_SEQ_CST))
		(void)shutdown(t->rfd, SHUT_RDWR);
	*ret = zf_rpc_conn_new(t);
	zf_rpc_conn_set_stream_sum(*ret, zf_rpc_conn_stream_sum(st->rc->c));
	return 0;
}

static void dc_close(struct rstream *st, struct zf_rpc_conn *dc, bool clean)
{
	if (!dc)
		return;
	pthread_mutex_lock(&st->lock);
	st->dt = NULL;
	pthread_mutex_unlock(&st->lock);
	if (clean)
		(void)zf_rpc_conn_close(dc, NULL);
	zf_rpc_conn_free(dc);
}

/* SEND: once RESPONSE is in, the stream comes on the data channel. */
static int dc_on_response(void *userdata, const struct zf_msg *resp, struct zf_err *err)
{
	struct rstream *st = userdata;
	struct zf_rpc_conn *dc = NULL;
	struct zf_err serr = ZF_ERR_INIT;
	int r;
	(void)resp;

	st->dc_broke = true;            /* until control's empty stream is read */
	r = dc_connect(st, &dc, err);
	if (r < 0)
		return r;
	r = zf_rpc_stream_recv(dc, ZF_RPC_DATACHAN_ID, pump_sink, st, NULL, &serr);
	dc_close(st, dc, r >= 0);
	if (r < 0)
		return dc_fail(err, r, &serr);
	st->dc_broke = false;
	return 0;
}

/* SEND: what follows on control must be the empty stream. */
static int dc_control_sink(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	(void)userdata;
	(void)p;
	return zf_err_set(err, -ZF_E_PROTO, "data channel: %zu bytes on the control connection "
			  "besides the data channel's stream", n);
}

/* RECV: the first call sends the whole stream on the data channel, then control's ends. */
static int dc_recv_source(void *userdata, void *buf, size_t size, size_t *ret_n,
			  struct zf_err *err)
{
	struct rstream *st = userdata;
	struct zf_rpc_conn *dc = NULL;
	struct zf_err serr = ZF_ERR_INIT;
	int r;
	(void)buf;
	(void)size;

	*ret_n = 0;
	if (st->dc_done)
		return 0;
	st->dc_done = true;
	st->dc_broke = true;
	r = dc_connect(st, &dc, err);
	if (r < 0)
		return r;
	r = zf_rpc_stream_send(dc, ZF_RPC_DATACHAN_ID, pump_source, st, &serr);
	dc_close(st, dc, r >= 0);
	if (r < 0)
		return dc_fail(err, r, &serr);
	st->dc_broke = false;
	return 0;
}

static void *pump_main(void *userdata)
{
	struct rstream *st = userdata;
	_cleanup_buf_ struct zf_buf resp = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	struct zf_rpc_call call = { 0 };
	sigset_t set;
	int r;

	/* an engine that closed its end makes our pipe write fail, not kill us */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (st->sending && st->use_dc) {
		call.on_response = dc_on_response;
		call.on_response_data = st;
		call.sink = dc_control_sink;
	} else if (st->sending) {
		call.sink = pump_sink;
		call.sink_data = st;
	} else {
		call.source = st->use_dc ? dc_recv_source : pump_source;
		call.source_data = st;
	}
	r = zf_rpc_call(st->rc->c, &st->body, &call, &resp, &m, &st->err);
	/* EOF for the engine reading a send, EPIPE for one still writing a receive */
	st->pump_fd = safe_close(st->pump_fd);
	pthread_mutex_lock(&st->lock);
	st->r = r;
	st->done = true;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* Joins the pump and gives the connection back; the stream's result. */
static int stream_end(struct rstream *st, struct zf_err *err)
{
	int r;

	if (!st->joined) {
		pthread_join(st->thread, NULL);
		st->joined = true;
	}
	r = st->r;
	conn_put(st->rm, st->rc, __atomic_load_n(&st->killed, __ATOMIC_SEQ_CST) || st->dc_broke
				 ? -EPIPE : r);
	st->rc = NULL;
	if (r < 0) {
		remote_err(st->rm, st->peer, r, &st->err);
		return zf_err_copy(err, r, &st->err);
	}
	return 0;
}

static bool wildcard(const char *addr)
{
	return streq(addr, "0.0.0.0") || streq(addr, "::") || streq(addr, "[::]");
}

/* Where the server is: the control connection's peer address, or ssh's host. */
static int control_host(struct remote *rm, struct rconn *rc, char *buf, size_t n,
			struct zf_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const void *a = NULL;

	if (getpeername(rc->t->rfd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			a = &((struct sockaddr_in *)&ss)->sin_addr;
		else if (ss.ss_family == AF_INET6)
			a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (a && inet_ntop(ss.ss_family, a, buf, (socklen_t)n))
			return 0;
	}
	if (strncmp(rc->t->peer, "ssh:", 4) == 0) {
		snprintf(buf, n, "%s", rc->t->peer + 4);
		return 0;
	}
	return zf_err_set(err, -EDESTADDRREQ, "%s: data channel: cannot tell the server's "
			  "address from the control connection; give one instead of '%s'",
			  rm->name, rm->data_addr);
}

/* DATA_CHANNEL_OPEN on the stream's connection: port and secret for the pump. */
static int open_channel(struct remote *rm, struct rstream *st, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf resp = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	const struct zf_msg_field *secret = NULL;
	struct zf_err e2 = ZF_ERR_INIT;
	const struct zf_req_data_channel_open q = {
		.data_addr = rm->data_addr,
		.data_ports = rm->data_ports,
		.data_encrypt = rm->data_encrypt,
	};
	uint64_t port = 0;
	int r;

	r = zf_req_data_channel_open_encode(&q, ZF_RPC_DATA_CHANNEL_OPEN, &body, err);
	if (r < 0)
		return encoded(rm, r, err);
	r = zf_rpc_call(st->rc->c, &body, NULL, &resp, &m, err);
	if (r < 0) {
		st->dc_broke = conn_broken(r);
		return remote_err(rm, st->peer, r, err);
	}
	r = zf_msg_get_u64(&m, ZF_TAG_DATA_PORT, &port, &e2);
	/*
	 * Where to connect: where a server that chose its own address says
	 * (docs/protocol.md), else where we asked, a wildcard meaning the
	 * control connection's host.
	 */
	if (r >= 0) {
		_cleanup_free_ char *there = NULL;
		struct zf_err e3 = ZF_ERR_INIT;

		if (zf_msg_get_str(&m, ZF_TAG_DATA_ADDR, &there, &e3) >= 0) {
			if (!*there || strlen(there) >= sizeof(st->dc_host) || there[0] == '-' ||
			    strpbrk(there, " /\n"))
				return zf_err_set(err, -EBADMSG, "%s: data channel: bad DATA_ADDR in "
						  "the response", rm->name);
			snprintf(st->dc_host, sizeof(st->dc_host), "%s", there);
		} else if (wildcard(rm->data_addr)) {
			r = control_host(rm, st->rc, st->dc_host, sizeof(st->dc_host), err);
			if (r < 0)
				return r;
		} else if (snprintf(st->dc_host, sizeof(st->dc_host), "%s", rm->data_addr) >=
			   (int)sizeof(st->dc_host)) {
			return zf_err_set(err, -ENAMETOOLONG, "%s: data channel: address too long",
					  rm->name);
		}
	}
	for (size_t i = 0; i < m.n; i++)
		if (m.fields[i].tag == ZF_TAG_DATA_SECRET && m.fields[i].type == ZF_MSG_BYTES)
			secret = &m.fields[i];
	if (r < 0 || port == 0 || port > 65535 || !secret ||
	    secret->len != ZF_DATACHAN_SECRET_LEN)
		return zf_err_set(err, -EBADMSG, "%s: data channel: DATA_CHANNEL_OPEN response "
				  "without a valid DATA_PORT and DATA_SECRET", rm->name);
	snprintf(st->dc_port, sizeof(st->dc_port), "%u", (unsigned)port);
	memcpy(st->dc_secret, secret->p, ZF_DATACHAN_SECRET_LEN);
	explicit_bzero(resp.data, resp.len);
	st->use_dc = true;
	return 0;
}

static int stream_start(struct remote *rm, struct zf_buf *body, bool sending,
			struct zf_ep_stream *ret, struct zf_err *err)
{
	struct rstream *st;
	int p[2], r;

	st = zf_xcalloc(1, sizeof(*st));
	st->rm = rm;
	st->sending = sending;
	st->pump_fd = -EBADF;
	st->body = *body;
	*body = (struct zf_buf)ZF_BUF_INIT;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);

	r = conn_get(rm, &st->rc, err);
	if (r < 0) {
		rstream_free(st);
		return r;
	}
	snprintf(st->peer, sizeof(st->peer), "%s", zf_rpc_conn_peer(st->rc->c));
	if (rm->data_addr) {
		r = open_channel(rm, st, err);
		if (r < 0) {
			conn_put(rm, st->rc, st->dc_broke ? -EPIPE : 0);
			rstream_free(st);
			return r;
		}
		/* no body's field (rpc/protocol.def): it follows the body once a channel is open */
		zf_msg_add_bool(&st->body, ZF_TAG_USE_DATA_CHANNEL, true);
	}
	r = zf_stream_pipe(p);          /* the pump moves whole 256 KiB frames */
	if (r < 0) {
		r = zf_err_set(err, r, "%s: cannot create stream pipe: %s", rm->name, strerror(-r));
		conn_put(rm, st->rc, 0);
		rstream_free(st);
		return r;
	}
	st->pump_fd = sending ? p[1] : p[0];
	ret->fd = sending ? p[0] : p[1];
	r = -pthread_create(&st->thread, NULL, pump_main, st);
	if (r < 0) {
		ret->fd = safe_close(ret->fd);
		conn_put(rm, st->rc, 0);
		rstream_free(st);
		return zf_err_set(err, r, "%s: cannot start stream thread: %s", rm->name,
				  strerror(-r));
	}

	/*
	 * A send that the server refuses (no such snapshot, access denied)
	 * fails here, where the engine expects it, rather than as an empty
	 * stream: wait for the first DATA or the end of the call.  Once data
	 * came, a failure is the stream's, for stream_finish to report, even
	 * if the whole call already ended (a short stream fits in the pipe).
	 */
	if (sending) {
		pthread_mutex_lock(&st->lock);
		while (!st->started && !st->done)
			pthread_cond_wait(&st->cond, &st->lock);
		r = st->started ? 0 : st->r;
		pthread_mutex_unlock(&st->lock);
		if (r < 0) {
			ret->fd = safe_close(ret->fd);
			r = stream_end(st, err);
			rstream_free(st);
			return r;
		}
	}
	ret->priv = st;
	return 0;
}

static int remote_send_start(struct zf_endpoint *ep, const char *snapshot,
			     const struct zf_zfs_send_opts *opts, struct zf_ep_stream *ret,
			     struct zf_err *err)
{
	struct remote *rm = to_remote(ep);
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	int r;

	r = encode_send(rm, &body, ZF_RPC_SEND, snapshot, opts, err);
	if (r < 0)
		return r;
	return stream_start(rm, &body, true, ret, err);
}

/*
 * The server decides the receive by its own policy from the stream it
 * reads (docs/serve.md): the request only asks.  NO_MOUNT is always set,
 * so that a server from before the receive policy does not mount either.
 */
static int remote_recv_start(struct zf_endpoint *ep, const char *target,
			     const struct zf_ep_recv *rq, struct zf_ep_stream *ret,
			     struct zf_err *err)
{
	struct remote *rm = to_remote(ep);
	const struct zf_req_recv q = {
		.fs = target,
		.resumable = rq->resumable,
		.no_mount = true,
		.force = rq->force,
		.set_prop = zf_msg_strs_argv(rq->request.set),
		.exclude_prop = zf_msg_strs_argv(rq->request.exclude),
	};
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	int r;

	r = zf_req_recv_encode(&q, ZF_RPC_RECV, &body, err);
	if (r < 0)
		return encoded(rm, r, err);
	return stream_start(rm, &body, false, ret, err);
}

static int remote_stream_finish(struct zf_endpoint *ep, struct zf_ep_stream *s, const char *what,
				struct zf_err *err)
{
	struct rstream *st = s->priv;
	int r;
	(void)ep;
	(void)what;

	s->fd = safe_close(s->fd);
	if (!st)
		return 0;
	r = stream_end(st, err);
	rstream_free(st);
	s->priv = NULL;
	return r;
}

static void remote_stream_kill(struct zf_endpoint *ep, struct zf_ep_stream *s)
{
	struct rstream *st = s->priv;
	(void)ep;

	if (st && st->rc)
		cut(st);
}

static void remote_free(struct zf_endpoint *ep)
{
	struct remote *rm = to_remote(ep);

	while (rm->idle) {
		struct rconn *rc = rm->idle;
		rm->idle = rc->next;
		rconn_free(rc, true);
	}
	if (rm->userdata_free)
		rm->userdata_free(rm->userdata);
	pthread_mutex_destroy(&rm->lock);
	free(rm->name);
	free(rm->data_addr);
	free(rm->data_ports);
	free(rm->served_as);
	free(rm);
}

static int remote_served_as(struct zf_endpoint *ep, const char **ret, struct zf_err *err)
{
	struct remote *rm = to_remote(ep);
	struct rconn *rc;
	int r;

	pthread_mutex_lock(&rm->lock);
	*ret = rm->served_as;
	pthread_mutex_unlock(&rm->lock);
	if (*ret)
		return 0;
	if ((r = conn_get(rm, &rc, err)) < 0)
		return r;
	conn_put(rm, rc, 0);
	pthread_mutex_lock(&rm->lock);
	*ret = rm->served_as;
	pthread_mutex_unlock(&rm->lock);
	return 0;
}

static const struct zf_endpoint_ops remote_ops = {
	.list = remote_list,
	.snapshot = remote_snapshot,
	.hold = remote_hold,
	.release = remote_release,
	.holds = remote_holds,
	.bookmark = remote_bookmark,
	.destroy_bookmark = remote_destroy_bookmark,
	.create = remote_create,
	.rename = remote_rename,
	.inherit = remote_inherit,
	.recv_abort = remote_recv_abort,
	.send_estimate = remote_send_estimate,
	.send_start = remote_send_start,
	.recv_start = remote_recv_start,
	.destroy_snapshots = remote_destroy_snapshots,
	.served_as = remote_served_as,
	.stream_finish = remote_stream_finish,
	.stream_kill = remote_stream_kill,
	.free = remote_free,
};

int zf_endpoint_remote_new(const struct zf_remote_opts *opts, struct zf_endpoint **ret,
			   struct zf_err *err)
{
	struct remote *rm;

	if (!opts || !opts->connect)
		return zf_err_set(err, -EINVAL, "remote endpoint without a connect function");
	if (opts->timeout_ms < 0)
		return zf_err_set(err, -EINVAL, "remote '%s': negative timeout %d ms",
				  opts->name ? opts->name : "?", opts->timeout_ms);
	rm = zf_xcalloc(1, sizeof(*rm));
	rm->ep.ops = &remote_ops;
	rm->ep.kind = "remote";
	rm->connect = opts->connect;
	rm->userdata = opts->userdata;
	rm->userdata_free = opts->userdata_free;
	rm->name = zf_xstrdup(opts->name ? opts->name : "remote");
	rm->timeout_ms = opts->timeout_ms ? opts->timeout_ms : ZF_TRANSPORT_DEFAULT_TIMEOUT_MS;
	if (opts->data_addr) {
		rm->data_addr = zf_xstrdup(opts->data_addr);
		rm->data_ports = zf_xstrdup(opts->data_ports ? opts->data_ports : "0");
		rm->data_encrypt = opts->data_encrypt;
	}
	pthread_mutex_init(&rm->lock, NULL);
	*ret = &rm->ep;
	return 0;
}
