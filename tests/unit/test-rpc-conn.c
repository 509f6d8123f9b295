/*
 * tests/unit/test-rpc-conn.c — handshake, requests, streams and access checks
 * between a client and a server thread, over socketpair, tcp and tls
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "rpc/conn.h"
#include "tls-certs.h"
#include "transport/transport.h"
#include "util/err.h"

static struct test_certs certs;

static void assert_msg(const struct zf_err *err, const char *what)
{
	if (!strstr(err->msg, what))
		fail_msg("error '%s' does not mention '%s'", err->msg, what);
}

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 9));
}

/* A source of n pattern bytes that fails after fail_at bytes (if nonzero). */
struct gen {
	uint64_t n, pos, fail_at;
};

static int gen_source(void *userdata, void *buf, size_t size, size_t *ret_n, struct zf_err *err)
{
	struct gen *g = userdata;
	size_t k = (size_t)MIN((uint64_t)size, g->n - g->pos);

	if (g->fail_at && g->pos >= g->fail_at)
		return zf_err_set(err, -ZF_E_ZFS, "cannot send 'pool/fs@fail': simulated failure");
	k = MIN(k, 100000);     /* uneven chunks */
	for (size_t i = 0; i < k; i++)
		((uint8_t *)buf)[i] = pattern(g->pos + i);
	g->pos += k;
	*ret_n = k;
	return 0;
}

/* A sink that checks the pattern and counts; fails at fail_at if set. */
struct check {
	uint64_t pos, fail_at;
	bool bad;
};

static int check_sink(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	struct check *c = userdata;

	if (c->fail_at && c->pos + n > c->fail_at)
		return zf_err_set(err, -ENOSPC, "cannot receive: out of space");
	for (size_t i = 0; i < n; i++)
		if (((const uint8_t *)p)[i] != pattern(c->pos + i))
			c->bad = true;
	c->pos += n;
	return 0;
}

/* Server side. */
struct policy {
	bool read_only;
};

static int allow(void *userdata, const char *identity, const struct zf_rpc_req_info *info,
		 const struct zf_msg *m, struct zf_err *err)
{
	const struct policy *p = userdata;
	_cleanup_free_ char *subject = NULL;

	if (p->read_only && (info->flags & ZF_RPC_CHANGES_STATE))
		return zf_err_set(err, -EACCES, "'%s' may not %s: read-only", identity, info->name);
	if (info->fs_tag && zf_msg_get_str(m, info->fs_tag, &subject, NULL) == 0 &&
	    startswith(subject, "secret"))
		return zf_err_set(err, -EACCES, "'%s' may not see '%s'", identity, subject);
	return 0;
}

static int h_send(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	_cleanup_free_ char *snap = NULL;
	struct gen g = {};
	int r;
	(void)userdata;

	r = zf_msg_get_str(req->msg, ZF_TAG_SNAPSHOT, &snap, err);
	if (r < 0)
		return zf_err_set(err, -EINVAL, "SEND needs a snapshot");
	if (streq(snap, "pool/fs@big"))
		g.n = 3u << 20;
	else if (streq(snap, "pool/fs@fail"))
		g.n = 3u << 20, g.fail_at = 1u << 20;
	else if (!streq(snap, "pool/fs@empty"))
		return zf_err_set(err, -ENOENT, "snapshot '%s' does not exist", snap);
	zf_msg_add_u64(&req->resp, ZF_TAG_BYTES, g.n);
	return zf_rpc_request_send_stream(req, gen_source, &g, err);
}

static int h_recv(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct check c = {};
	uint64_t n = 0;
	int r;
	(void)userdata;

	r = zf_rpc_request_recv_stream(req, check_sink, &c, &n, err);
	if (r < 0)
		return r;
	if (c.bad)
		return zf_err_set(err, -ZF_E_CORRUPT, "pattern mismatch");
	zf_msg_add_u64(&req->resp, ZF_TAG_BYTES, n);
	return 0;
}

static int h_hold(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	(void)req;
	(void)userdata;
	(void)err;
	return 0;
}

struct mem {
	const char *p;
	size_t n, pos;
};

static int mem_source(void *userdata, void *buf, size_t size, size_t *ret_n, struct zf_err *err)
{
	struct mem *m = userdata;
	size_t k = MIN(size, m->n - m->pos);
	(void)err;

	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	*ret_n = k;
	return 0;
}

/* LIST_FS: 20000 entries, several DATA frames' worth. */
static int h_list(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf e = ZF_BUF_INIT;
	struct mem m;
	(void)userdata;

	for (uint64_t i = 0; i < 20000; i++) {
		char name[64];
		snprintf(name, sizeof(name), "pool/fs with space %llu", (unsigned long long)i);
		zf_msg_start(&e, 0);
		zf_msg_add_u64(&e, ZF_TAG_GUID, i);
		if (zf_msg_add_str(&e, ZF_TAG_FS, name) < 0 || zf_msg_entry_append(&out, &e) < 0)
			return zf_err_set(err, -E2BIG, "entry too long");
	}
	m = (struct mem){ out.data, out.len, 0 };
	return zf_rpc_request_send_stream(req, mem_source, &m, err);
}

static int list_entry(void *userdata, const struct zf_msg *m, struct zf_err *err)
{
	_cleanup_free_ char *fs = NULL;
	uint64_t *n = userdata;
	char want[64];
	int r = zf_msg_get_str(m, ZF_TAG_FS, &fs, err);

	if (r < 0)
		return r;
	snprintf(want, sizeof(want), "pool/fs with space %llu", (unsigned long long)*n);
	if (!streq(fs, want))
		return zf_err_set(err, -EINVAL, "entry '%s', want '%s'", fs, want);
	(*n)++;
	return 0;
}

static int entry_sink(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	return zf_msg_entry_reader_feed(userdata, p, n, err);
}

/* PINGs the slow SNAPSHOT handler's keepalive sent, for the test to see. */
static unsigned keepalive_pings;

/* SNAPSHOT NAME=keepalive|silent: 1200 ms of work, with or without a keepalive. */
static int h_slow(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	_cleanup_free_ char *name = NULL;
	struct zf_rpc_keepalive *ka = NULL;
	int r = zf_msg_get_str(req->msg, ZF_TAG_NAME, &name, err);
	(void)userdata;

	if (r < 0)
		return r;
	if (streq(name, "keepalive"))
		ka = zf_rpc_keepalive_start(req->conn);
	usleep(1200 * 1000);
	keepalive_pings = zf_rpc_keepalive_stop(ka);
	return 0;
}

static const struct zf_rpc_handler handlers[] = {
	{ ZF_RPC_LIST_FS, h_list },
	{ ZF_RPC_SEND, h_send },
	{ ZF_RPC_RECV, h_recv },
	{ ZF_RPC_HOLD, h_hold },
	{ ZF_RPC_SNAPSHOT, h_slow },
};

struct srv {
	struct zf_transport *t;         /* established, or: */
	int lfd;                        /* accept here */
	const struct zf_tls_opts *tls;
	struct policy policy;
	bool old;                       /* offer no features, as a first-version peer */
	int timeout_ms;                 /* 0: 5000 */
	int rc;
	struct zf_err err;
};

static void *srv_main(void *p)
{
	struct srv *s = p;
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *c = NULL;
	struct zf_rpc_server server = { handlers, ELEMENTSOF(handlers), allow, &s->policy };
	struct zf_transport *t = TAKE_PTR(s->t);

	if (!t) {
		s->rc = zf_tcp_accept(s->lfd, 5000, NULL, &t, &s->err);
		if (s->rc < 0)
			return NULL;
		if (s->tls) {
			struct zf_transport *tcp = t;
			s->rc = zf_tls_server(tcp, s->tls, &t, &s->err);
			if (s->rc < 0)
				return NULL;
		}
	}
	zf_transport_set_timeout(t, s->timeout_ms ? s->timeout_ms : 5000);
	c = zf_rpc_conn_new(t);
	if (s->old)
		zf_rpc_conn_set_features(c, 0);
	s->rc = zf_rpc_handshake(c, true, &s->err);
	if (s->rc < 0)
		return NULL;
	s->rc = zf_rpc_serve(c, &server, &s->err);
	return NULL;
}

static int call(struct zf_rpc_conn *c, struct zf_buf *body, struct zf_rpc_call *rc,
		struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf resp = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;

	zf_err_clear(err);
	return zf_rpc_call(c, body, rc, &resp, &m, err);
}

static void ping(struct zf_rpc_conn *c)
{
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf resp = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	struct zf_err err = ZF_ERR_INIT;
	const struct zf_msg_field *f = NULL;

	zf_msg_start(&body, ZF_RPC_PING);
	assert_int_equal(zf_msg_add_bytes(&body, ZF_TAG_PAYLOAD, "xyz", 3), 0);
	if (zf_rpc_call(c, &body, NULL, &resp, &m, &err) < 0)
		fail_msg("PING: %s", err.msg);
	for (size_t i = 0; i < m.n; i++)
		if (m.fields[i].tag == ZF_TAG_PAYLOAD)
			f = &m.fields[i];
	assert_non_null(f);
	assert_int_equal(f->len, 3);
	assert_memory_equal(f->p, "xyz", 3);
}

/* The exchange every transport must carry. */
static void session(struct zf_rpc_conn *c, bool read_only)
{
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	struct zf_err err = ZF_ERR_INIT;
	struct check chk = {};
	struct gen g = { .n = (5u << 20) / 2 };
	struct zf_rpc_call rc = { .sink = check_sink, .sink_data = &chk };
	int r;

	if (zf_rpc_handshake(c, false, &err) < 0)
		fail_msg("handshake: %s", err.msg);
	assert_int_equal(zf_rpc_conn_version(c), 1);

	/* a link-level PING anywhere is answered and skipped */
	assert_int_equal(zf_rpc_send_frame(c, ZF_FRAME_PING, 0, "abc", 3, &err), 0);
	ping(c);

	/* SEND: RESPONSE, then 3 MiB in DATA frames, then a matching END */
	zf_msg_start(&body, ZF_RPC_SEND);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "pool/fs@big"), 0);
	r = call(c, &body, &rc, &err);
	if (r < 0)
		fail_msg("SEND: %s", err.msg);
	assert_int_equal(rc.stream_bytes, 3u << 20);
	assert_int_equal(chk.pos, 3u << 20);
	assert_false(chk.bad);

	/* LIST_FS: a list as a stream of entries */
	{
		struct zf_msg_entry_reader er;
		uint64_t n = 0;

		zf_msg_entry_reader_init(&er, list_entry, &n);
		zf_msg_start(&body, ZF_RPC_LIST_FS);
		assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FS, "pool"), 0);
		rc = (struct zf_rpc_call){ .sink = entry_sink, .sink_data = &er };
		r = call(c, &body, &rc, &err);
		if (r < 0)
			fail_msg("LIST_FS: %s", err.msg);
		assert_int_equal(zf_msg_entry_reader_finish(&er, &err), 0);
		assert_int_equal(n, 20000);
		zf_msg_entry_reader_release(&er);
		rc = (struct zf_rpc_call){ .sink = check_sink, .sink_data = &chk };
	}

	/* the empty stream is END alone */
	zf_msg_start(&body, ZF_RPC_SEND);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "pool/fs@empty"), 0);
	chk = (struct check){};
	assert_int_equal(call(c, &body, &rc, &err), 0);
	assert_int_equal(rc.stream_bytes, 0);

	/* a source that fails mid-stream: ERROR in place of END, never success */
	zf_msg_start(&body, ZF_RPC_SEND);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "pool/fs@fail"), 0);
	chk = (struct check){};
	assert_int_equal(call(c, &body, &rc, &err), -ZF_E_ZFS);
	assert_msg(&err, "simulated failure");
	assert_msg(&err, "stream cut after");
	ping(c);

	/* our sink fails: the stream is drained, the error is ours */
	zf_msg_start(&body, ZF_RPC_SEND);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "pool/fs@big"), 0);
	chk = (struct check){ .fail_at = 1000 };
	assert_int_equal(call(c, &body, &rc, &err), -ENOSPC);
	assert_msg(&err, "out of space");
	ping(c);

	/* a handler error before any stream */
	zf_msg_start(&body, ZF_RPC_SEND);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "pool/fs@nope"), 0);
	assert_int_equal(call(c, &body, &rc, &err), -ENOENT);
	assert_msg(&err, "snapshot 'pool/fs@nope' does not exist");

	/* the access check sees the subject */
	zf_msg_start(&body, ZF_RPC_SEND);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "secret/fs@big"), 0);
	assert_int_equal(call(c, &body, &rc, &err), -EACCES);
	assert_msg(&err, "may not see 'secret/fs@big'");

	/* RECV: a stream to the server, answered after END */
	zf_msg_start(&body, ZF_RPC_RECV);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FS, "pool/dst"), 0);
	rc = (struct zf_rpc_call){ .source = gen_source, .source_data = &g };
	r = call(c, &body, &rc, &err);
	if (read_only) {
		/* refused by the table's changes-state bit; the stream is drained */
		assert_int_equal(r, -EACCES);
		assert_msg(&err, "may not RECV: read-only");
	} else {
		if (r < 0)
			fail_msg("RECV: %s", err.msg);
	}
	ping(c);

	/* RECV whose source fails: the server sees ERROR, not END */
	g = (struct gen){ .n = 3u << 20, .fail_at = 1u << 20 };
	zf_msg_start(&body, ZF_RPC_RECV);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FS, "pool/dst"), 0);
	assert_true(call(c, &body, &rc, &err) < 0);
	ping(c);

	/* HOLD changes state */
	zf_msg_start(&body, ZF_RPC_HOLD);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_HOLD_TAG, "zferry"), 0);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "pool/fs@big"), 0);
	r = call(c, &body, NULL, &err);
	assert_int_equal(r, read_only ? -EACCES : 0);

	/* a request this server does not serve */
	zf_msg_start(&body, ZF_RPC_RENAME);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FROM, "pool/a"), 0);
	assert_int_equal(call(c, &body, NULL, &err), -EOPNOTSUPP);
	assert_msg(&err, "RENAME is not served here");

	/* a malformed body gets PROTO and the connection goes on */
	assert_int_equal(zf_rpc_send_frame(c, ZF_FRAME_REQUEST, 999, "\0\1\0\1\7", 5, &err), 0);
	{
		struct zf_frame f;
		uint16_t code;
		char msg[ZF_FRAME_MAX_ERROR_MSG + 1];
		assert_int_equal(zf_rpc_recv_frame(c, &f, &err), 1);
		assert_int_equal(f.type, ZF_FRAME_ERROR);
		assert_int_equal(f.id, 999);
		assert_int_equal(zf_frame_parse_error(&f, &code, msg, sizeof(msg), &err), 0);
		assert_int_equal(code, ZF_RPC_E_PROTO);
		assert_non_null(strstr(msg, "unknown type 7"));
	}
	ping(c);
}

static void test_local(void **state)
{
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *c = NULL;
	struct zf_transport *a = NULL;
	struct srv s = { .lfd = -1 };
	struct zf_err err = ZF_ERR_INIT;
	pthread_t th;
	(void)state;

	/* read-write, read-only, and a peer that offers no features (SHA-256 END) */
	for (int run = 0; run <= 2; run++) {
		bool ro = run == 1;
		assert_int_equal(zf_transport_local_pair(&a, &s.t, &err), 0);
		s.policy.read_only = ro;
		s.old = run == 2;
		assert_int_equal(pthread_create(&th, NULL, srv_main, &s), 0);
		c = zf_rpc_conn_new(a);
		session(c, ro);
		assert_int_equal(zf_rpc_conn_features(c), s.old ? 0 : ZF_FEATURE_END_XXH3);
		assert_int_equal(zf_rpc_conn_stream_sum(c),
				 s.old ? ZF_STREAM_SUM_SHA256 : ZF_STREAM_SUM_XXH3);
		assert_int_equal(zf_rpc_conn_close(c, &err), 0);
		c = zf_rpc_conn_free(c);
		pthread_join(th, NULL);
		if (s.rc != 0)
			fail_msg("server: %s", s.err.msg);
	}
}

static void run_tcp(const struct zf_tls_opts *so, const struct zf_tls_opts *co)
{
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *c = NULL;
	struct zf_transport *t = NULL;
	struct srv s = { .lfd = -1, .tls = so };
	struct zf_err err = ZF_ERR_INIT;
	char port[8];
	uint16_t p;
	pthread_t th;

	assert_int_equal(zf_tcp_listen("127.0.0.1", "0", &s.lfd, &err), 0);
	assert_int_equal(zf_tcp_local_port(s.lfd, &p, &err), 0);
	snprintf(port, sizeof(port), "%u", p);
	assert_int_equal(pthread_create(&th, NULL, srv_main, &s), 0);
	assert_int_equal(zf_tcp_connect("127.0.0.1", port, 5000, &t, &err), 0);
	if (co) {
		struct zf_transport *tcp = t;
		if (zf_tls_client(tcp, co, &t, &err) < 0)
			fail_msg("tls: %s", err.msg);
		assert_string_equal(zf_transport_peer(t), "tls:server");
	}
	c = zf_rpc_conn_new(t);
	session(c, false);
	assert_int_equal(zf_rpc_conn_close(c, &err), 0);
	/* the server answers our end with its own */
	{
		struct zf_frame f;
		assert_int_equal(zf_rpc_recv_frame(c, &f, &err), 0);
	}
	c = zf_rpc_conn_free(c);
	pthread_join(th, NULL);
	close(s.lfd);
	if (s.rc != 0)
		fail_msg("server: %s", s.err.msg);
}

static void test_tcp(void **state)
{
	(void)state;
	run_tcp(NULL, NULL);
}

static void test_tls(void **state)
{
	struct zf_tls_opts so = { .ca_file = certs.ca, .cert_file = certs.server.crt,
				  .key_file = certs.server.key, .timeout_ms = 5000 };
	struct zf_tls_opts co = { .ca_file = certs.ca, .cert_file = certs.client.crt,
				  .key_file = certs.client.key, .server_name = "127.0.0.1",
				  .timeout_ms = 5000 };
	(void)state;
	run_tcp(&so, &co);
}

/* A scripted server: handshake, read one REQUEST, then write raw frames. */
struct fake {
	struct zf_transport *t;
	int script;
	uint16_t vmin, vmax;
	int rc;
	struct zf_err err;
};

static void *fake_main(void *p)
{
	struct fake *s = p;
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *c = zf_rpc_conn_new(TAKE_PTR(s->t));
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_(zf_stream_sum_freep) struct zf_stream_sum *sum = NULL;
	struct zf_frame f;

	if (s->vmin)
		zf_rpc_conn_set_versions(c, s->vmin, s->vmax);
	s->rc = zf_rpc_handshake(c, true, &s->err);
	if (s->rc < 0)
		return NULL;
	sum = zf_stream_sum_new(zf_rpc_conn_stream_sum(c));
	assert_non_null(sum);
	s->rc = zf_rpc_recv_frame(c, &f, &s->err);
	if (s->rc <= 0)
		return NULL;
	s->rc = 0;
	switch (s->script) {
	case 0:         /* RESPONSE, some DATA, then the connection drops */
		zf_msg_start(&b, ZF_RPC_SEND);
		if (zf_rpc_send_frame(c, ZF_FRAME_RESPONSE, f.id, b.data, b.len, &s->err) < 0 ||
		    zf_rpc_send_frame(c, ZF_FRAME_DATA, f.id, "partial", 7, &s->err) < 0)
			s->rc = -1;
		break;
	case 1:         /* END that claims one byte more than was sent */
		zf_msg_start(&b, ZF_RPC_SEND);
		if (zf_rpc_send_frame(c, ZF_FRAME_RESPONSE, f.id, b.data, b.len, &s->err) < 0 ||
		    zf_rpc_send_frame(c, ZF_FRAME_DATA, f.id, "data", 4, &s->err) < 0)
			s->rc = -1;
		zf_stream_sum_add(sum, "data!", 5);
		zf_buf_reset(&b);
		if (zf_stream_sum_append_end(sum, &b, f.id) < 0 ||
		    zf_rpc_send_frame(c, ZF_FRAME_END, f.id, b.data + ZF_FRAME_HEADER_SIZE,
				      b.len - ZF_FRAME_HEADER_SIZE, &s->err) < 0)
			s->rc = -1;
		/* and wait for the client to hang up */
		if (zf_rpc_recv_frame(c, &f, &s->err) < 0) {}
		break;
	case 2:         /* silence */
		usleep(300 * 1000);
		break;
	}
	return NULL;
}

static int fake_send(int script, uint16_t vmin, uint16_t vmax, int timeout_ms, struct zf_err *err)
{
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *c = NULL;
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	struct zf_transport *a = NULL;
	struct fake s = { .script = script, .vmin = vmin, .vmax = vmax };
	struct check chk = {};
	struct zf_rpc_call rc = { .sink = check_sink, .sink_data = &chk };
	pthread_t th;
	int r;

	assert_int_equal(zf_transport_local_pair(&a, &s.t, err), 0);
	zf_transport_set_timeout(a, timeout_ms);
	assert_int_equal(pthread_create(&th, NULL, fake_main, &s), 0);
	c = zf_rpc_conn_new(a);
	r = zf_rpc_handshake(c, false, err);
	if (r == 0) {
		zf_msg_start(&body, ZF_RPC_SEND);
		assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "p/f@s"), 0);
		r = call(c, &body, &rc, err);
	}
	c = zf_rpc_conn_free(c);
	pthread_join(th, NULL);
	return r;
}

static void test_stream_truncated(void **state)
{
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(fake_send(0, 0, 0, 5000, &err), -EPIPE);
	assert_msg(&err, "ended after 7 bytes without END");
}

static void test_stream_end_mismatch(void **state)
{
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(fake_send(1, 0, 0, 5000, &err), -ZF_E_CORRUPT);
	assert_msg(&err, "END says 5 bytes but 4 arrived");
}

static void test_silent_server(void **state)
{
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(fake_send(2, 0, 0, 100, &err), -ETIMEDOUT);
	assert_msg(&err, "sent nothing for 100 ms");
}

/*
 * A handler busy for 1200 ms while both sides time out after 400: with a
 * keepalive the client's call waits it out (PINGs restart its timer),
 * without one it gives up.  The connection is usable after the first.
 */
static void test_keepalive(void **state)
{
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *c = NULL;
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	struct zf_transport *a = NULL;
	struct srv s = { .lfd = -1, .timeout_ms = 400 };
	struct zf_err err = ZF_ERR_INIT;
	pthread_t th;
	(void)state;

	assert_int_equal(zf_transport_local_pair(&a, &s.t, &err), 0);
	zf_transport_set_timeout(a, 400);
	assert_int_equal(pthread_create(&th, NULL, srv_main, &s), 0);
	c = zf_rpc_conn_new(a);
	assert_int_equal(zf_rpc_handshake(c, false, &err), 0);

	zf_msg_start(&body, ZF_RPC_SNAPSHOT);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FS, "pool/fs"), 0);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_NAME, "keepalive"), 0);
	if (call(c, &body, NULL, &err) < 0)
		fail_msg("slow call with keepalive: %s", err.msg);
	assert_true(keepalive_pings >= 3);      /* every 133 ms for 1200 ms */
	ping(c);

	zf_msg_start(&body, ZF_RPC_SNAPSHOT);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FS, "pool/fs"), 0);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_NAME, "silent"), 0);
	zf_err_clear(&err);
	assert_int_equal(call(c, &body, NULL, &err), -ETIMEDOUT);
	c = zf_rpc_conn_free(c);
	pthread_join(th, NULL);
	assert_int_equal(keepalive_pings, 0);   /* the handler has returned now */
}

static void test_version_mismatch(void **state)
{
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(fake_send(0, 2, 3, 5000, &err), -EPROTONOSUPPORT);
	assert_msg(&err, "speaks protocol 2..3, we speak 1..1");
}

static void test_garbage_from_client(void **state)
{
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *c = NULL;
	struct zf_transport *a = NULL;
	struct srv s = { .lfd = -1 };
	struct zf_err err = ZF_ERR_INIT;
	struct zf_frame f;
	pthread_t th;
	(void)state;

	assert_int_equal(zf_transport_local_pair(&a, &s.t, &err), 0);
	assert_int_equal(pthread_create(&th, NULL, srv_main, &s), 0);
	c = zf_rpc_conn_new(a);
	assert_int_equal(zf_rpc_handshake(c, false, &err), 0);
	/* a is still ours to write through: bytes that are no frame */
	assert_int_equal(zf_transport_write(a, "GET / HTTP/1.1\r\n\r\n", 18, &err), 0);
	assert_int_equal(zf_rpc_recv_frame(c, &f, &err), 1);
	assert_int_equal(f.type, ZF_FRAME_ERROR);
	pthread_join(th, NULL);
	assert_int_equal(s.rc, -EBADMSG);
	assert_msg(&s.err, "bad frame magic");
	/* and a HELLO-less client is refused too */
	c = zf_rpc_conn_free(c);
}

static void test_no_hello(void **state)
{
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *c = NULL;
	struct zf_transport *a = NULL;
	struct srv s = { .lfd = -1 };
	struct zf_err err = ZF_ERR_INIT;
	pthread_t th;
	(void)state;

	assert_int_equal(zf_transport_local_pair(&a, &s.t, &err), 0);
	assert_int_equal(pthread_create(&th, NULL, srv_main, &s), 0);
	c = zf_rpc_conn_new(a);
	assert_int_equal(zf_rpc_send_frame(c, ZF_FRAME_REQUEST, 1, "\0\1", 2, &err), 0);
	pthread_join(th, NULL);
	assert_int_equal(s.rc, -ZF_E_PROTO);
	assert_msg(&s.err, "sent REQUEST before HELLO");
}

static int setup(void **state)
{
	(void)state;
	return test_certs_make(&certs);
}

static int teardown(void **state)
{
	(void)state;
	test_certs_remove(&certs);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_stream_truncated),
		cmocka_unit_test(test_stream_end_mismatch),
		cmocka_unit_test(test_silent_server),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_version_mismatch),
		cmocka_unit_test(test_garbage_from_client),
		cmocka_unit_test(test_no_hello),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
