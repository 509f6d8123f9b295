/*
 * src/rpc/conn.c — handshake, client calls, server dispatch and streams
 *
 * Version 1 runs one request at a time, so the code is a plain sequence of
 * blocking steps over the transport; the transport's timeout bounds each
 * one.  Frames are read header first: a header that zf_frame_header_check()
 * refuses never makes us wait for (or allocate) its payload.
 *
 * Streams always end in a way the other side can check.  A failing source
 * sends ERROR in place of END; a failing sink drains the rest so that the
 * next request starts on a frame boundary; a stream cut by a closed or
 * silent connection is an error all the way up (STYLE.md §12 pitfall 3).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "log/log.h"
#include "rpc/conn.h"
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

struct zf_rpc_conn {
	struct zf_transport *t;
	struct zf_buf rbuf;             /* the last frame read: header and payload */
	struct zf_buf wbuf;             /* the frame being written */
	uint16_t vmin, vmax;            /* what we offer */
	uint16_t version;               /* negotiated */
	uint64_t features;              /* what we offer */
	uint64_t agreed;                /* features both offered */
	enum zf_stream_sum_kind sum;    /* END's checksum on this connection */
	uint32_t next_id;
	char peer_says[ZF_FRAME_MAX_IDENTITY + 1];
	char hello_identity[ZF_FRAME_MAX_IDENTITY + 1];         /* "": the transport's */
	zf_rpc_error_filter_fn error_filter;
	void *error_filter_data;
	const struct zf_msg *serving;   /* the request dispatch() is answering, or NULL */
};

struct zf_rpc_conn *zf_rpc_conn_new(struct zf_transport *t)
{
	struct zf_rpc_conn *c = zf_xcalloc(1, sizeof(*c));

	c->t = t;
	zf_buf_init(&c->rbuf);
	zf_buf_init(&c->wbuf);
	c->vmin = ZF_RPC_VERSION_MIN;
	c->vmax = ZF_RPC_VERSION_MAX;
	c->features = ZF_FEATURES_KNOWN;
	c->sum = ZF_STREAM_SUM_SHA256;
	c->next_id = 1;
	return c;
}

int zf_rpc_conn_close(struct zf_rpc_conn *c, struct zf_err *err)
{
	return zf_transport_shutdown(c->t, err);
}

struct zf_rpc_conn *zf_rpc_conn_free(struct zf_rpc_conn *c)
{
	if (!c)
		return NULL;
	zf_transport_free(c->t);
	zf_buf_release(&c->rbuf);
	zf_buf_release(&c->wbuf);
	free(c);
	return NULL;
}

const char *zf_rpc_conn_peer(const struct zf_rpc_conn *c)
{
	return zf_transport_peer(c->t);
}

uint16_t zf_rpc_conn_version(const struct zf_rpc_conn *c)
{
	return c->version;
}

const char *zf_rpc_conn_transport_kind(const struct zf_rpc_conn *c)
{
	return c->t->kind;
}

int zf_rpc_conn_timeout(const struct zf_rpc_conn *c)
{
	return c->t->timeout_ms;
}

void zf_rpc_conn_set_error_filter(struct zf_rpc_conn *c, zf_rpc_error_filter_fn fn,
				  void *userdata)
{
	c->error_filter = fn;
	c->error_filter_data = userdata;
}

void zf_rpc_conn_set_hello_identity(struct zf_rpc_conn *c, const char *identity)
{
	snprintf(c->hello_identity, sizeof(c->hello_identity), "%s", identity);
}

const char *zf_rpc_conn_peer_says(const struct zf_rpc_conn *c)
{
	return c->peer_says;
}

void zf_rpc_conn_set_versions(struct zf_rpc_conn *c, uint16_t min, uint16_t max)
{
	c->vmin = min;
	c->vmax = max;
}

void zf_rpc_conn_set_features(struct zf_rpc_conn *c, uint64_t features)
{
	c->features = features;
}

uint64_t zf_rpc_conn_features(const struct zf_rpc_conn *c)
{
	return c->agreed;
}

enum zf_stream_sum_kind zf_rpc_conn_stream_sum(const struct zf_rpc_conn *c)
{
	return c->sum;
}

void zf_rpc_conn_set_stream_sum(struct zf_rpc_conn *c, enum zf_stream_sum_kind kind)
{
	c->sum = kind;
}

static int flush_wbuf(struct zf_rpc_conn *c, struct zf_err *err)
{
	int r = zf_transport_write(c->t, c->wbuf.data, c->wbuf.len, err);

	zf_buf_reset(&c->wbuf);
	return r;
}

struct zf_rpc_keepalive {
	struct zf_rpc_conn *c;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	int interval_ms;
	unsigned sent;
};

static void *keepalive_main(void *p)
{
	struct zf_rpc_keepalive *k = p;
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	if (zf_frame_append(&b, ZF_FRAME_PING, 0, "keepalive", 9) < 0)
		return NULL;
	pthread_mutex_lock(&k->lock);
	while (!k->stop) {
		struct zf_err err = ZF_ERR_INIT;
		struct timespec ts;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += k->interval_ms / 1000;
		ts.tv_nsec += (long)(k->interval_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&k->cond, &k->lock, &ts) != ETIMEDOUT || k->stop)
			continue;
		pthread_mutex_unlock(&k->lock);
		r = zf_transport_write(k->c->t, b.data, b.len, &err);
		pthread_mutex_lock(&k->lock);
		if (r < 0) {
			/* the caller's next use of the connection reports it */
			log_debug("rpc: keepalive to '%s' stopped: %s", zf_rpc_conn_peer(k->c),
				  zf_err_msg(&err));
			break;
		}
		k->sent++;
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

struct zf_rpc_keepalive *zf_rpc_keepalive_start(struct zf_rpc_conn *c)
{
	struct zf_rpc_keepalive *k;
	pthread_condattr_t ca;
	int t = zf_rpc_conn_timeout(c);

	if (t <= 0)
		return NULL;            /* no timeout on the peer's side either */
	k = zf_xcalloc(1, sizeof(*k));
	k->c = c;
	k->interval_ms = MAX(t / 3, 50);
	pthread_mutex_init(&k->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&k->thread, NULL, keepalive_main, k) != 0) {
		/* without it a slow step may time out the peer; not worth failing for */
		pthread_cond_destroy(&k->cond);
		pthread_mutex_destroy(&k->lock);
		free(k);
		return NULL;
	}
	return k;
}

unsigned zf_rpc_keepalive_stop(struct zf_rpc_keepalive *k)
{
	unsigned sent;

	if (!k)
		return 0;
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	sent = k->sent;
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->lock);
	free(k);
	return sent;
}

int zf_rpc_send_frame(struct zf_rpc_conn *c, enum zf_frame_type type, uint32_t id, const void *p,
		      size_t n, struct zf_err *err)
{
	int r;

	zf_buf_reset(&c->wbuf);
	r = zf_frame_append(&c->wbuf, type, id, p, n);
	if (r < 0)
		return zf_err_set(err, r, "%s frame of %zu bytes exceeds the frame limit",
				  zf_frame_type_name(type), n);
	return flush_wbuf(c, err);
}

static int send_error(struct zf_rpc_conn *c, uint32_t id, int code, const char *msg,
		      struct zf_err *err)
{
	char filtered[ZF_FRAME_MAX_ERROR_MSG + 1];
	int r;

	if (c->error_filter) {
		snprintf(filtered, sizeof(filtered), "%s", msg);
		c->error_filter(c->error_filter_data, zf_rpc_conn_peer(c), c->serving, &code,
				filtered, sizeof(filtered));
		msg = filtered;
	}
	zf_buf_reset(&c->wbuf);
	r = zf_frame_append_error(&c->wbuf, id ? id : 1, zf_rpc_errcode_from_errno(code), msg);
	if (r < 0)
		return zf_err_set(err, r, "cannot build ERROR frame");
	return flush_wbuf(c, err);
}

/* Reads one frame, PING/PONG included: 1, 0 at a clean end, <0. */
static int read_frame(struct zf_rpc_conn *c, struct zf_frame *ret, struct zf_err *err)
{
	uint8_t h[ZF_FRAME_HEADER_SIZE];
	struct zf_frame f;
	size_t got = 0, used;
	int r;

	while (got < sizeof(h)) {
		ssize_t k = zf_transport_read(c->t, h + got, sizeof(h) - got, err);
		if (k < 0)
			return (int)k;
		if (k == 0) {
			if (got == 0)
				return 0;
			return zf_err_set(err, -EPIPE, "peer '%s' closed the connection inside a "
					  "frame header", zf_rpc_conn_peer(c));
		}
		got += (size_t)k;
	}
	r = zf_frame_header_check(h, &f, err);
	if (r < 0)
		return zf_err_prefix(err, "from '%s'", zf_rpc_conn_peer(c));
	zf_buf_reset(&c->rbuf);
	zf_buf_grow(&c->rbuf, sizeof(h) + f.len);
	zf_buf_add(&c->rbuf, h, sizeof(h));
	if (f.len > 0) {
		r = zf_transport_read_full(c->t, c->rbuf.data + sizeof(h), f.len, err);
		if (r < 0)
			return zf_err_prefix(err, "inside %s frame", zf_frame_type_name(f.type));
		c->rbuf.len += f.len;
	}
	r = zf_frame_decode((const uint8_t *)c->rbuf.data, c->rbuf.len, ret, &used, err);
	if (r < 0)
		return zf_err_prefix(err, "from '%s'", zf_rpc_conn_peer(c));
	if (r == 0 || used != c->rbuf.len)
		return zf_err_set(err, -EBADMSG, "frame decoder disagrees with its header check");
	return 1;
}

int zf_rpc_recv_frame(struct zf_rpc_conn *c, struct zf_frame *ret, struct zf_err *err)
{
	for (;;) {
		int r = read_frame(c, ret, err);
		if (r <= 0)
			return r;
		if (ret->type == ZF_FRAME_PONG)
			continue;
		if (ret->type == ZF_FRAME_PING) {
			/* the payload lives in rbuf, which send does not touch */
			r = zf_rpc_send_frame(c, ZF_FRAME_PONG, 0, ret->payload, ret->len, err);
			if (r < 0)
				return r;
			continue;
		}
		return 1;
	}
}

/* The next frame, where a clean end is an error too (we expected more). */
static int recv_expected(struct zf_rpc_conn *c, struct zf_frame *ret, const char *what,
			 struct zf_err *err)
{
	int r = zf_rpc_recv_frame(c, ret, err);

	if (r == 0)
		return zf_err_set(err, -EPIPE, "peer '%s' closed the connection while we waited "
				  "for %s", zf_rpc_conn_peer(c), what);
	return r < 0 ? r : 0;
}

/* The peer's ERROR as our error: its code as errno, its message. */
static int peer_error(struct zf_rpc_conn *c, const struct zf_frame *f, struct zf_err *err)
{
	char msg[ZF_FRAME_MAX_ERROR_MSG + 1];
	uint16_t code;
	int r = zf_frame_parse_error(f, &code, msg, sizeof(msg), err);

	if (r < 0)
		return r;
	return zf_err_set(err, zf_rpc_errcode_to_errno(code), "%s: %s", zf_rpc_conn_peer(c),
			  msg[0] ? msg : zf_rpc_errcode_name(code));
}

int zf_rpc_handshake(struct zf_rpc_conn *c, bool server, struct zf_err *err)
{
	struct zf_frame_hello mine = {
		.version_min = c->vmin, .version_max = c->vmax, .features = c->features,
	};
	struct zf_frame_hello theirs;
	struct zf_frame f;
	uint16_t lo, hi;
	int r;

	snprintf(mine.identity, sizeof(mine.identity), "%s",
		 c->hello_identity[0] ? c->hello_identity : zf_rpc_conn_peer(c));
	zf_buf_reset(&c->wbuf);
	r = zf_frame_append_hello(&c->wbuf, &mine);
	if (r < 0)
		return zf_err_set(err, r, "cannot build HELLO");
	r = flush_wbuf(c, err);
	if (r < 0)
		return r;
	r = recv_expected(c, &f, "HELLO", err);
	if (r < 0)
		return r;
	if (f.type == ZF_FRAME_ERROR)
		return peer_error(c, &f, err);
	if (f.type != ZF_FRAME_HELLO)
		return zf_err_set(err, -ZF_E_PROTO, "peer '%s' sent %s before HELLO",
				  zf_rpc_conn_peer(c), zf_frame_type_name(f.type));
	r = zf_frame_parse_hello(&f, &theirs, err);
	if (r < 0)
		return r;
	snprintf(c->peer_says, sizeof(c->peer_says), "%s", theirs.identity);
	lo = MAX(mine.version_min, theirs.version_min);
	hi = MIN(mine.version_max, theirs.version_max);
	if (lo > hi) {
		char msg[160];
		snprintf(msg, sizeof(msg), "no common protocol version: we speak %u..%u, you %u..%u",
			 mine.version_min, mine.version_max, theirs.version_min, theirs.version_max);
		if (server)
			(void)send_error(c, 1, -EPROTONOSUPPORT, msg, NULL);
		return zf_err_set(err, -EPROTONOSUPPORT,
				  "peer '%s' speaks protocol %u..%u, we speak %u..%u",
				  zf_rpc_conn_peer(c), theirs.version_min, theirs.version_max,
				  mine.version_min, mine.version_max);
	}
	c->version = hi;
	c->agreed = mine.features & theirs.features & ZF_FEATURES_KNOWN;
	c->sum = c->agreed & ZF_FEATURE_END_XXH3 ? ZF_STREAM_SUM_XXH3 : ZF_STREAM_SUM_SHA256;
	log_debug("rpc: connected to '%s' (says '%s'), protocol version %u, stream sum %s",
		  zf_rpc_conn_peer(c), theirs.identity, hi, zf_stream_sum_kind_name(c->sum));
	return 0;
}

int zf_rpc_refuse(struct zf_rpc_conn *c, int code, const char *msg, struct zf_err *err)
{
	struct zf_frame f;
	int r;

	/*
	 * Take the client's HELLO before answering: closing a socket with
	 * unread bytes resets it, and a reset can overtake our ERROR.
	 */
	r = read_frame(c, &f, err);
	if (r == 0)
		return zf_err_set(err, -EPIPE, "peer '%s' closed the connection before HELLO",
				  zf_rpc_conn_peer(c));
	if (r < 0)
		return r;
	r = send_error(c, 1, code, msg, err);
	if (r < 0)
		return r;
	return zf_rpc_conn_close(c, err);
}

int zf_rpc_fd_source(void *userdata, void *buf, size_t size, size_t *ret_n, struct zf_err *err)
{
	ssize_t k = zf_read_full(*(int *)userdata, buf, size);

	if (k < 0)
		return zf_err_set(err, (int)k, "cannot read stream: %s", strerror((int)-k));
	*ret_n = (size_t)k;
	return 0;
}

int zf_rpc_fd_sink(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	int r = zf_write_full(*(int *)userdata, p, n);

	if (r < 0)
		return zf_err_set(err, r, "cannot write stream: %s", strerror(-r));
	return 0;
}

int zf_rpc_stream_send(struct zf_rpc_conn *c, uint32_t id, zf_rpc_source_fn source,
		       void *userdata, struct zf_err *err)
{
	_cleanup_(zf_stream_sum_freep) struct zf_stream_sum *sum = zf_stream_sum_new(c->sum);
	int r;

	if (!sum)
		return zf_err_set(err, -ENOMEM, "cannot start stream checksum");
	for (;;) {
		uint8_t *frame, *payload;
		size_t n = 0;

		/* the source fills the frame's payload in place, behind room for its header */
		zf_buf_reset(&c->wbuf);
		zf_buf_grow(&c->wbuf, ZF_FRAME_HEADER_SIZE + ZF_RPC_STREAM_CHUNK);
		frame = (uint8_t *)c->wbuf.data;
		payload = frame + ZF_FRAME_HEADER_SIZE;
		r = source(userdata, payload, ZF_RPC_STREAM_CHUNK, &n, err);
		if (r < 0) {
			/* tell the receiver this stream is cut; the connection goes on */
			int q = send_error(c, id, r, err ? zf_err_msg(err) : "stream source failed",
					   NULL);
			return q < 0 ? zf_err_set(err, q, "cannot report stream failure") : r;
		}
		if (n == 0)
			break;
		if (n > ZF_RPC_STREAM_CHUNK)
			return zf_err_set(err, -EINVAL, "stream source overfilled its buffer");
		zf_stream_sum_add(sum, payload, n);
		r = zf_frame_put_header(frame, ZF_FRAME_DATA, id, n);
		if (r < 0)
			return zf_err_set(err, r, "DATA frame of %zu bytes exceeds the frame limit", n);
		c->wbuf.len = ZF_FRAME_HEADER_SIZE + n;
		r = flush_wbuf(c, err);
		if (r < 0)
			return r;
	}
	zf_buf_reset(&c->wbuf);
	r = zf_stream_sum_append_end(sum, &c->wbuf, id);
	if (r < 0)
		return zf_err_set(err, r, "cannot finish stream checksum");
	return flush_wbuf(c, err);
}

int zf_rpc_stream_recv(struct zf_rpc_conn *c, uint32_t id, zf_rpc_sink_fn sink, void *userdata,
		       uint64_t *ret_bytes, struct zf_err *err)
{
	_cleanup_(zf_stream_sum_freep) struct zf_stream_sum *sum = zf_stream_sum_new(c->sum);
	struct zf_err sink_err = ZF_ERR_INIT;
	int sink_r = 0, r;

	if (!sum)
		return zf_err_set(err, -ENOMEM, "cannot start stream checksum");
	for (;;) {
		struct zf_frame f;

		r = zf_rpc_recv_frame(c, &f, err);
		if (r == 0)
			return zf_err_set(err, -EPIPE, "stream from '%s' ended after %llu bytes "
					  "without END", zf_rpc_conn_peer(c),
					  (unsigned long long)zf_stream_sum_bytes(sum));
		if (r < 0)
			return zf_err_prefix(err, "stream cut after %llu bytes",
					     (unsigned long long)zf_stream_sum_bytes(sum));
		if (f.id != id)
			return zf_err_set(err, -ZF_E_PROTO, "%s frame for request %u inside the "
					  "stream of request %u", zf_frame_type_name(f.type), f.id, id);
		switch (f.type) {
		case ZF_FRAME_DATA:
			zf_stream_sum_add(sum, f.payload, f.len);
			if (sink_r == 0 && sink)
				sink_r = sink(userdata, f.payload, f.len, &sink_err);
			continue;
		case ZF_FRAME_END:
			r = zf_stream_sum_check(sum, &f, err);
			if (r < 0)
				return zf_err_prefix(err, "stream from '%s'", zf_rpc_conn_peer(c));
			if (sink_r < 0)
				return zf_err_copy(err, sink_r, &sink_err);
			if (ret_bytes)
				*ret_bytes = zf_stream_sum_bytes(sum);
			return 0;
		case ZF_FRAME_ERROR:
			r = peer_error(c, &f, err);
			return zf_err_prefix(err, "stream cut after %llu bytes",
					     (unsigned long long)zf_stream_sum_bytes(sum));
		default:
			return zf_err_set(err, -ZF_E_PROTO, "%s frame inside a stream",
					  zf_frame_type_name(f.type));
		}
	}
}

int zf_rpc_call(struct zf_rpc_conn *c, const struct zf_buf *body, struct zf_rpc_call *call,
		struct zf_buf *resp_buf, struct zf_msg *ret, struct zf_err *err)
{
	const struct zf_rpc_req_info *info;
	uint32_t id = c->next_id;
	uint16_t kind;
	struct zf_frame f;
	int r;

	if (body->len < 2)
		return zf_err_set(err, -EINVAL, "empty request body");
	kind = (uint16_t)(((uint8_t)body->data[0] << 8) | (uint8_t)body->data[1]);
	info = zf_rpc_req_lookup(kind);
	if (!info)
		return zf_err_set(err, -EINVAL, "unknown request kind %u", kind);
	if ((info->flags & ZF_RPC_STREAM_IN) && (!call || !call->source))
		return zf_err_set(err, -EINVAL, "%s needs a stream source", info->name);
	c->next_id = c->next_id == UINT32_MAX ? 1 : c->next_id + 1;

	r = zf_rpc_send_frame(c, ZF_FRAME_REQUEST, id, body->data, body->len, err);
	if (r < 0)
		return zf_err_prefix(err, "%s", info->name);
	if (info->flags & ZF_RPC_STREAM_IN) {
		r = zf_rpc_stream_send(c, id, call->source, call->source_data, err);
		if (r < 0 && r != -EPIPE && r != -ETIMEDOUT && r != -ECONNRESET) {
			/* our source failed and ERROR went out: the server answers it */
			struct zf_err ignore = ZF_ERR_INIT;
			if (zf_rpc_recv_frame(c, &f, &ignore) < 0) {}
			return zf_err_prefix(err, "%s", info->name);
		}
		if (r < 0)
			return zf_err_prefix(err, "%s", info->name);
	}
	r = recv_expected(c, &f, "a response", err);
	if (r < 0)
		return zf_err_prefix(err, "%s", info->name);
	if (f.id != id)
		return zf_err_set(err, -ZF_E_PROTO, "%s: response for request %u, expected %u",
				  info->name, f.id, id);
	if (f.type == ZF_FRAME_ERROR)
		return peer_error(c, &f, err);
	if (f.type != ZF_FRAME_RESPONSE)
		return zf_err_set(err, -ZF_E_PROTO, "%s: got %s instead of RESPONSE", info->name,
				  zf_frame_type_name(f.type));
	zf_buf_reset(resp_buf);
	zf_buf_add(resp_buf, f.payload, f.len);
	r = zf_msg_parse((const uint8_t *)resp_buf->data, resp_buf->len, ret, err);
	if (r < 0)
		return zf_err_prefix(err, "%s response", info->name);
	if (ret->kind != kind)
		return zf_err_set(err, -ZF_E_PROTO, "%s: response of kind %u", info->name,
				  ret->kind);
	if (call && call->on_response) {
		r = call->on_response(call->on_response_data, ret, err);
		if (r < 0)
			return zf_err_prefix(err, "%s", info->name);
	}
	if (info->flags & ZF_RPC_STREAM_OUT) {
		r = zf_rpc_stream_recv(c, id, call ? call->sink : NULL,
				       call ? call->sink_data : NULL,
				       call ? &call->stream_bytes : NULL, err);
		if (r < 0)
			return zf_err_prefix(err, "%s", info->name);
	}
	return 0;
}

int zf_rpc_request_recv_stream(struct zf_rpc_request *req, zf_rpc_sink_fn sink, void *userdata,
			       uint64_t *ret_bytes, struct zf_err *err)
{
	if (!(req->info->flags & ZF_RPC_STREAM_IN) || req->stream_done)
		return zf_err_set(err, -EINVAL, "%s has no stream to receive", req->info->name);
	req->stream_done = true;
	return zf_rpc_stream_recv(req->conn, req->id, sink, userdata, ret_bytes, err);
}

static int send_response(struct zf_rpc_request *req, struct zf_err *err)
{
	int r = zf_rpc_send_frame(req->conn, ZF_FRAME_RESPONSE, req->id, req->resp.data,
				  req->resp.len, err);

	req->responded = true;
	return r;
}

int zf_rpc_request_send_stream(struct zf_rpc_request *req, zf_rpc_source_fn source, void *userdata,
			       struct zf_err *err)
{
	int r;

	if (!(req->info->flags & ZF_RPC_STREAM_OUT) || req->stream_done || req->responded)
		return zf_err_set(err, -EINVAL, "%s has no stream to send", req->info->name);
	r = send_response(req, err);
	if (r < 0)
		return r;
	req->stream_done = true;
	return zf_rpc_stream_send(req->conn, req->id, source, userdata, err);
}

static int handle_ping(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	const struct zf_msg *m = req->msg;
	(void)userdata;
	(void)err;

	for (size_t i = 0; i < m->n; i++)
		if (m->fields[i].tag == ZF_TAG_PAYLOAD && m->fields[i].type == ZF_MSG_BYTES)
			return zf_msg_add_bytes(&req->resp, ZF_TAG_PAYLOAD, m->fields[i].p,
						m->fields[i].len);
	return 0;
}

/* Runs one request; <0 only when the connection cannot go on. */
static int dispatch(struct zf_rpc_conn *c, const struct zf_rpc_server *s, const struct zf_frame *f,
		    struct zf_err *err)
{
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	struct zf_rpc_request req = { .conn = c, .id = f->id, .identity = zf_rpc_conn_peer(c) };
	struct zf_err herr = ZF_ERR_INIT;
	zf_rpc_handler_fn fn = NULL;
	int r;

	/* the body outlives the next frame read (a stream's DATA) */
	zf_buf_add(&body, f->payload, f->len);
	r = zf_msg_parse((const uint8_t *)body.data, body.len, &m, &herr);
	if (r < 0) {
		zf_err_prefix(&herr, "malformed request");
		return send_error(c, f->id, -ZF_E_PROTO, herr.msg, err);
	}
	req.msg = &m;
	req.info = zf_rpc_req_lookup(m.kind);
	c->serving = &m;
	if (!req.info)
		return send_error(c, f->id, -EOPNOTSUPP, "unknown request kind", err);
	zf_buf_init(&req.resp);
	zf_msg_start(&req.resp, m.kind);

	if (m.kind == ZF_RPC_PING)
		fn = handle_ping;
	for (size_t i = 0; i < s->n_handlers && !fn; i++)
		if (s->handlers[i].kind == m.kind)
			fn = s->handlers[i].fn;

	if (!fn)
		r = zf_err_set(&herr, -EOPNOTSUPP, "%s is not served here", req.info->name);
	else if (s->allow && m.kind != ZF_RPC_PING)
		r = s->allow(s->userdata, req.identity, req.info, &m, &herr);
	else
		r = 0;
	if (r == 0)
		r = fn(&req, s->userdata, &herr);
	if (r == 0 && !req.stream_done &&
	    (req.info->flags & (ZF_RPC_STREAM_IN | ZF_RPC_STREAM_OUT)))
		r = zf_err_set(&herr, -EIO, "%s handler did not handle its stream",
			       req.info->name);
	if (r < 0 && (req.info->flags & ZF_RPC_STREAM_IN) && !req.stream_done) {
		/* drain the client's stream so the next request starts on a frame */
		struct zf_err derr = ZF_ERR_INIT;
		int q = zf_rpc_stream_recv(c, f->id, NULL, NULL, NULL, &derr);
		if (q == -EPIPE || q == -ETIMEDOUT || q == -EBADMSG || q == -ZF_E_PROTO) {
			zf_buf_release(&req.resp);
			return zf_err_copy(err, q, &derr);
		}
	}
	if (r < 0) {
		log_debug("rpc: %s from '%s' failed: %s", req.info->name, req.identity,
			  zf_err_msg(&herr));
		zf_buf_release(&req.resp);
		/* a stream already sent its own ERROR in place of END */
		if (req.responded)
			return 0;
		return send_error(c, f->id, r, zf_err_msg(&herr), err);
	}
	if (!req.responded)
		r = send_response(&req, err);
	zf_buf_release(&req.resp);
	return r;
}

int zf_rpc_serve(struct zf_rpc_conn *c, const struct zf_rpc_server *s, struct zf_err *err)
{
	for (;;) {
		struct zf_frame f;
		int r = zf_rpc_recv_frame(c, &f, err);

		if (r == 0)
			return zf_rpc_conn_close(c, err);       /* answer the client's end */
		if (r < 0) {
			if (r == -EBADMSG)
				(void)send_error(c, 1, -ZF_E_PROTO, err ? err->msg : "malformed frame",
						 NULL);
			return r;
		}
		if (f.type != ZF_FRAME_REQUEST) {
			char msg[96];
			snprintf(msg, sizeof(msg), "%s frame where a REQUEST was expected",
				 zf_frame_type_name(f.type));
			(void)send_error(c, f.id, -ZF_E_PROTO, msg, NULL);
			return zf_err_set(err, -ZF_E_PROTO, "client '%s' sent %s",
					  zf_rpc_conn_peer(c), msg);
		}
		r = dispatch(c, s, &f, err);
		c->serving = NULL;      /* dispatch()'s request is gone */
		if (r < 0)
			return r;
	}
}
