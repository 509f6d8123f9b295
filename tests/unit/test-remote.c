/*
 * tests/unit/test-remote.c — the remote endpoint against zf_serve_conn() over socketpairs
 *
 * A fake endpoint stands in for zfs on the server: it records every call
 * as one line, returns canned lists, sends a known byte pattern and checks
 * what it receives.  The remote endpoint under test reaches it through a
 * connect callback that makes a socketpair and a server thread per
 * connection, so the tests can count connections and cut one mid-stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "endpoint/endpoint.h"
#include "endpoint/remote.h"
#include "server/server.h"
#include "rpc/conn.h"
#include "transport/datachan.h"
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "zfs/stream.h"
#include "util/io.h"
#include "util/strv.h"
#include "zfs/zfs.h"

/* Quotes, ';' and unicode: fine in tags, values and list results, never in dataset names. */
#define ODD_TAG "zferry \"q\"; 'x' \xc3\xbc\xe2\x9c\x93"
#define ODD_VALUE "a \"b\"; c='d' \xc3\xbc"

static void assert_msg(const struct zf_err *err, const char *what)
{
	if (!strstr(err->msg, what))
		fail_msg("error '%s' does not mention '%s'", err->msg, what);
}

/* Every stream starts with a zfs BEGIN record: a receiving side reads that head first. */
static uint8_t begin_record[ZF_ZFS_RECORD_SIZE];

static uint8_t pattern(uint64_t i)
{
	if (i < sizeof(begin_record))
		return begin_record[i];
	return (uint8_t)(i * 131 + (i >> 9));
}

static const struct zf_ep_recv no_rq;

/* ---- the fake endpoint --------------------------------------------------------- */

struct fake {
	struct zf_endpoint ep;
	pthread_mutex_t lock;
	struct zf_strv calls;           /* one line per call, in order */
	int fail_code;                  /* the next op fails with this */
	const char *fail_msg;
	/* the last finished receive */
	uint64_t recv_bytes;
	bool recv_bad, recv_killed, recv_done;
	/* the last finished send */
	bool send_killed, send_done;
};

static void logf_(struct fake *f, const char *fmt, ...) _printf_(2, 3);
static void logf_(struct fake *f, const char *fmt, ...)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	zf_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&f->lock);
	zf_strv_add(&f->calls, zf_buf_str(&b));
	pthread_mutex_unlock(&f->lock);
}

static int maybe_fail(struct fake *f, struct zf_err *err)
{
	int code;

	pthread_mutex_lock(&f->lock);
	code = f->fail_code;
	f->fail_code = 0;
	pthread_mutex_unlock(&f->lock);
	if (code)
		return zf_err_set(err, code, "%s", f->fail_msg);
	return 0;
}

static void join_list(struct zf_buf *b, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		zf_buf_addf(b, "[%s]", v[i]);
}

static void join_strv(struct zf_buf *b, const char *const *v)
{
	for (; v && *v; v++)
		zf_buf_addf(b, "[%s]", *v);
}

static struct fake *to_fake(struct zf_endpoint *ep)
{
	return (struct fake *)ep;
}

static void add_version(struct zf_ep_fs_list *l, const char *fs, const char *name, bool bm,
			uint64_t guid, uint64_t txg, int64_t creation, uint64_t refs)
{
	struct zf_zfs_version_list *vl = &l->versions;

	ZF_ALLOC_GROW(vl->v, vl->n + 1, vl->alloc);
	vl->v[vl->n++] = (struct zf_zfs_version){ zf_xstrdup(fs), zf_xstrdup(name), bm, guid, txg,
						  creation, refs };
}

static void add_fs(struct zf_ep_fs_list *l, const char *name, bool enc, const char *token,
		   bool mod, bool ph, const char *flags)
{
	ZF_ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = (struct zf_ep_fs){ .name = zf_xstrdup(name), .encrypted = enc,
					  .resume_token = token ? zf_xstrdup(token) : NULL,
					  .modified = mod, .placeholder = ph,
					  .sendflags = flags ? zf_xstrdup(flags) : NULL };
}

static int f_list(struct zf_endpoint *ep, const char *root, bool recursive,
		  zf_zfs_filter_fn filter, void *userdata, struct zf_ep_fs_list *ret,
		  struct zf_err *err)
{
	struct fake *f = to_fake(ep);
	struct zf_ep_fs_list l = { 0 };
	size_t k = 0;
	int r;

	logf_(f, "list root=%s rec=%d filter=%d", root, recursive, filter != NULL);
	(void)userdata;
	if ((r = maybe_fail(f, err)) < 0)
		return r;
	if (!streq(root, "pool/a b") && !streq(root, "pool/empty"))
		return zf_err_set(err, -ENOENT, "dataset '%s' does not exist", root);
	if (streq(root, "pool/empty")) {
		add_fs(&l, "pool/empty", false, NULL, false, false, NULL);
		*ret = l;
		return 0;
	}
	add_version(&l, "pool/a b", "s1", false, UINT64_MAX, 5, -5, 2);
	add_version(&l, "pool/a b", "m1", true, 7, 6, 1700000000, 0);
	add_fs(&l, "pool/a b", true, "1-abc " ODD_VALUE, false, false, "-w " ODD_VALUE);
	if (recursive) {
		add_version(&l, "pool/a b/child\"x\";\xc3\xbc", "s2", false, 9, 9, 1, 0);
		add_fs(&l, "pool/a b/child\"x\";\xc3\xbc", false, NULL, true, true, NULL);
		add_fs(&l, "pool/a b/none", false, NULL, false, false, NULL);
	}
	for (size_t i = 0; i < l.n; i++) {
		l.v[i].versions = l.versions.v + k;
		while (k < l.versions.n && streq(l.versions.v[k].fs, l.v[i].name)) {
			l.v[i].n_versions++;
			k++;
		}
		if (!l.v[i].n_versions)
			l.v[i].versions = NULL;
	}
	*ret = l;
	return 0;
}

static int f_snapshot(struct zf_endpoint *ep, const char *const *fs, size_t n, const char *name,
		      struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	join_list(&b, fs, n);
	logf_(to_fake(ep), "snapshot fs=%s name=%s", b.data, name);
	return maybe_fail(to_fake(ep), err);
}

static int f_hold(struct zf_endpoint *ep, const char *tag, const char *const *snaps, size_t n,
		  struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	join_list(&b, snaps, n);
	logf_(to_fake(ep), "hold tag=%s snaps=%s", tag, b.data);
	return maybe_fail(to_fake(ep), err);
}

static int f_release(struct zf_endpoint *ep, const char *tag, const char *const *snaps, size_t n,
		     struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	join_list(&b, snaps, n);
	logf_(to_fake(ep), "release tag=%s snaps=%s", tag, b.data);
	return maybe_fail(to_fake(ep), err);
}

static int f_holds(struct zf_endpoint *ep, const char *const *snaps, size_t n,
		   struct zf_zfs_hold_list *ret, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_zfs_hold_list hl = { 0 };
	int r;

	join_list(&b, snaps, n);
	logf_(to_fake(ep), "holds snaps=%s", b.data);
	if ((r = maybe_fail(to_fake(ep), err)) < 0)
		return r;
	ZF_ALLOC_GROW(hl.v, 2, hl.alloc);
	hl.v[0] = (struct zf_zfs_hold){ zf_xstrdup(snaps[0]), zf_xstrdup(ODD_TAG), -3 };
	hl.v[1] = (struct zf_zfs_hold){ zf_xstrdup(snaps[0]), zf_xstrdup("keep"), 1700000000 };
	hl.n = 2;
	*ret = hl;
	return 0;
}

static int f_bookmark(struct zf_endpoint *ep, const char *snapshot, const char *bookmark,
		      struct zf_err *err)
{
	logf_(to_fake(ep), "bookmark %s -> %s", snapshot, bookmark);
	return maybe_fail(to_fake(ep), err);
}

static int f_destroy_bookmark(struct zf_endpoint *ep, const char *bookmark, struct zf_err *err)
{
	logf_(to_fake(ep), "destroy_bookmark %s", bookmark);
	return maybe_fail(to_fake(ep), err);
}

static int f_create(struct zf_endpoint *ep, const char *fs, const char *const *props,
		    struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	join_strv(&b, props);
	logf_(to_fake(ep), "create %s props=%s null=%d", fs, zf_buf_str(&b), props == NULL);
	return maybe_fail(to_fake(ep), err);
}

static int f_rename(struct zf_endpoint *ep, const char *from, const char *to, struct zf_err *err)
{
	logf_(to_fake(ep), "rename %s -> %s", from, to);
	return maybe_fail(to_fake(ep), err);
}

static int f_inherit(struct zf_endpoint *ep, const char *fs, const char *prop, struct zf_err *err)
{
	logf_(to_fake(ep), "inherit %s %s", fs, prop);
	return maybe_fail(to_fake(ep), err);
}

static int f_recv_abort(struct zf_endpoint *ep, const char *fs, struct zf_err *err)
{
	logf_(to_fake(ep), "recv_abort %s", fs);
	return maybe_fail(to_fake(ep), err);
}

static void log_send(struct fake *f, const char *op, const char *snapshot,
		     const struct zf_zfs_send_opts *o)
{
	logf_(f, "%s snap=%s from=%s tok=%s I=%d w=%d c=%d L=%d e=%d p=%d", op,
	      snapshot ? snapshot : "-", o->from ? o->from : "-",
	      o->resume_token ? o->resume_token : "-", o->intermediates, o->raw, o->compressed,
	      o->large_block, o->embed, o->props);
}

static int f_send_estimate(struct zf_endpoint *ep, const char *snapshot,
			   const struct zf_zfs_send_opts *opts, uint64_t *ret_bytes,
			   struct zf_err *err)
{
	int r;

	log_send(to_fake(ep), "estimate", snapshot, opts);
	if ((r = maybe_fail(to_fake(ep), err)) < 0)
		return r;
	*ret_bytes = 123456789012ull;
	return 0;
}

/* What a resume token resumes: "other/..." for tokens with "secret" in them; "base" adds a base. */
static int f_resume_target(struct zf_endpoint *ep, const char *token, char **ret_snapshot,
			   char **ret_from, struct zf_err *err)
{
	(void)ep;
	(void)err;
	*ret_snapshot = zf_xstrdup(strstr(token, "secret") ? "other/x@s" : "pool/a b@s 1");
	*ret_from = strstr(token, "otherbase") ? zf_xstrdup("other/y@b")
		    : strstr(token, "base") ? zf_xstrdup("pool/a b#b") : NULL;
	return 0;
}

/* A stream on the fake's side: a thread writes the pattern or reads and checks it. */
struct fstream {
	struct fake *f;
	bool sending;
	int fd;                         /* the thread's end */
	pthread_t th;
	uint64_t n;                     /* send: bytes to write (UINT64_MAX: until EPIPE) */
	uint64_t fail_at;               /* send: stop and fail here; recv: stop reading here */
	uint64_t pos;
	bool bad, killed;
	int r;
};

static void *fstream_main(void *p)
{
	struct fstream *s = p;
	uint8_t buf[65536];

	for (;;) {
		uint64_t end = s->sending ? s->n : UINT64_MAX;
		size_t k;

		if (s->fail_at && s->pos >= s->fail_at)
			break;
		if (s->sending) {
			k = (size_t)MIN((uint64_t)sizeof(buf), end - s->pos);
			if (k == 0)
				break;
			for (size_t i = 0; i < k; i++)
				buf[i] = pattern(s->pos + i);
			s->r = zf_write_full(s->fd, buf, k);
			if (s->r < 0)
				break;
		} else {
			ssize_t got = zf_read_full(s->fd, buf, sizeof(buf));
			if (got <= 0) {
				s->r = (int)got;
				break;
			}
			k = (size_t)got;
			for (size_t i = 0; i < k; i++)
				if (buf[i] != pattern(s->pos + i))
					s->bad = true;
		}
		s->pos += k;
	}
	s->fd = safe_close(s->fd);
	return NULL;
}

static int fstream_start(struct fake *f, bool sending, uint64_t n, uint64_t fail_at,
			 struct zf_ep_stream *ret)
{
	struct fstream *s = zf_xcalloc(1, sizeof(*s));
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	s->f = f;
	s->sending = sending;
	s->n = n;
	s->fail_at = fail_at;
	s->fd = sending ? p[1] : p[0];
	ret->fd = sending ? p[0] : p[1];
	ret->priv = s;
	assert_int_equal(pthread_create(&s->th, NULL, fstream_main, s), 0);
	return 0;
}

static int f_send_start(struct zf_endpoint *ep, const char *snapshot,
			const struct zf_zfs_send_opts *opts, struct zf_ep_stream *ret,
			struct zf_err *err)
{
	struct fake *f = to_fake(ep);
	int r;

	log_send(f, "send", snapshot, opts);
	if ((r = maybe_fail(f, err)) < 0)
		return r;
	if (snapshot && streq(snapshot, "pool/a b@big"))
		return fstream_start(f, true, (3u << 20) + 12345, 0, ret);
	if (snapshot && streq(snapshot, "pool/a b@endless"))
		return fstream_start(f, true, UINT64_MAX, 0, ret);
	if (snapshot && streq(snapshot, "pool/a b@fail"))
		return fstream_start(f, true, 3u << 20, 1u << 20, ret);
	if (snapshot && streq(snapshot, "pool/a b@empty"))
		return fstream_start(f, true, 0, 0, ret);
	if (!snapshot)
		return fstream_start(f, true, 1000, 0, ret);
	return zf_err_set(err, -ENOENT, "snapshot '%s' does not exist", snapshot);
}

static int f_recv_start(struct zf_endpoint *ep, const char *target,
			const struct zf_ep_recv *rq, struct zf_ep_stream *ret,
			struct zf_err *err)
{
	struct fake *f = to_fake(ep);
	_cleanup_buf_ struct zf_buf set = ZF_BUF_INIT, ex = ZF_BUF_INIT;
	int r;

	join_strv(&set, rq->request.set);
	join_strv(&ex, rq->request.exclude);
	/* the server hands over the head it read, and never trusts the client's words */
	assert_true(rq->head_len >= sizeof(begin_record));
	assert_memory_equal(rq->head, begin_record, sizeof(begin_record));
	assert_false(rq->request.trusted);
	logf_(f, "recv %s s=%d F=%d o=%s x=%s", target, rq->resumable, rq->force,
	      zf_buf_str(&set), zf_buf_str(&ex));
	if ((r = maybe_fail(f, err)) < 0)
		return r;
	/* "full" stops reading after 1 MiB, as a zfs recv that ran out of space */
	return fstream_start(f, false, 0, strstr(target, "full") ? 1u << 20 : 0, ret);
}

static int f_stream_finish(struct zf_endpoint *ep, struct zf_ep_stream *s, const char *what,
			   struct zf_err *err)
{
	struct fake *f = to_fake(ep);
	struct fstream *fs = s->priv;
	int r = 0;

	s->fd = safe_close(s->fd);
	if (!fs)
		return 0;
	pthread_join(fs->th, NULL);
	pthread_mutex_lock(&f->lock);
	if (fs->sending) {
		f->send_killed = fs->killed;
		f->send_done = true;
	} else {
		f->recv_bytes = fs->pos;
		f->recv_bad = fs->bad;
		f->recv_killed = fs->killed;
		f->recv_done = true;
	}
	pthread_mutex_unlock(&f->lock);
	if (fs->killed)
		r = zf_err_set(err, -ECANCELED, "%s: killed", what);
	else if (fs->sending && fs->fail_at)
		r = zf_err_set(err, -ZF_E_ZFS, "%s: simulated zfs send failure", what);
	else if (!fs->sending && fs->fail_at)
		r = zf_err_set(err, -ENOSPC, "%s: out of space", what);
	else if (fs->r < 0)
		r = zf_err_set(err, fs->r, "%s: %s", what, strerror(-fs->r));
	free(fs);
	s->priv = NULL;
	return r;
}

static void f_stream_kill(struct zf_endpoint *ep, struct zf_ep_stream *s)
{
	struct fstream *fs = s->priv;
	(void)ep;

	if (fs)
		fs->killed = true;
}

static void f_free(struct zf_endpoint *ep)
{
	(void)ep;
}

static const struct zf_endpoint_ops fake_ops = {
	.list = f_list,
	.snapshot = f_snapshot,
	.hold = f_hold,
	.release = f_release,
	.holds = f_holds,
	.bookmark = f_bookmark,
	.destroy_bookmark = f_destroy_bookmark,
	.create = f_create,
	.rename = f_rename,
	.inherit = f_inherit,
	.recv_abort = f_recv_abort,
	.send_estimate = f_send_estimate,
	.resume_target = f_resume_target,
	.send_start = f_send_start,
	.recv_start = f_recv_start,
	.stream_finish = f_stream_finish,
	.stream_kill = f_stream_kill,
	.free = f_free,
};

/* The next recorded call must be want. */
static void expect_call(struct fake *f, const char *want)
{
	pthread_mutex_lock(&f->lock);
	if (f->calls.n == 0) {
		pthread_mutex_unlock(&f->lock);
		fail_msg("no call recorded, want '%s'", want);
	}
	if (!streq(f->calls.v[0], want)) {
		char got[1024];
		snprintf(got, sizeof(got), "%s", f->calls.v[0]);
		pthread_mutex_unlock(&f->lock);
		fail_msg("call '%s', want '%s'", got, want);
	}
	free(f->calls.v[0]);
	memmove(f->calls.v, f->calls.v + 1, f->calls.n * sizeof(char *));
	f->calls.n--;
	pthread_mutex_unlock(&f->lock);
}

static void expect_no_call(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	if (f->calls.n) {
		char got[1024];
		snprintf(got, sizeof(got), "%s", f->calls.v[0]);
		pthread_mutex_unlock(&f->lock);
		fail_msg("unexpected call '%s'", got);
	}
	pthread_mutex_unlock(&f->lock);
}

/* ---- the network: a socketpair and a server thread per connection ---------------- */

struct srv {
	struct net *net;
	struct zf_transport *t;         /* the server's end (owned by its connection) */
	pthread_t th;
	int rc;
	struct zf_err err;
};

struct net {
	struct fake fake;
	pthread_mutex_t lock;
	struct srv *srvs[32];
	size_t n;
	bool deny_hold;                 /* the access check refuses HOLD */
	bool freed;                     /* userdata_free ran */
	const char *refuse_connect;     /* connect fails with this */
	bool pipes;                     /* two pipes, as ssh's stdin/stdout, not a socketpair */
	/*
	 * A server without a config (no access check): data channels where
	 * the client asks.  Otherwise dc is the config's data_channel, or none.
	 */
	bool open_server;
	const struct zf_serve_datachan *dc;
};

static int allow(void *userdata, const char *identity, const struct zf_rpc_req_info *info,
		 const struct zf_msg *m, struct zf_err *err)
{
	struct net *net = userdata;
	_cleanup_free_ char *snap = NULL;
	struct zf_err e2 = ZF_ERR_INIT;

	if (net->deny_hold && info->kind == ZF_RPC_HOLD)
		return zf_err_set(err, -EACCES, "'%s' may not %s here", identity, info->name);
	/* a send of anything under other/: what a resume token may try to reach */
	if (info->kind == ZF_RPC_SEND && zf_msg_get_str(m, ZF_TAG_SNAPSHOT, &snap, &e2) >= 0 &&
	    strncmp(snap, "other/", 6) == 0)
		return zf_err_set(err, -EACCES, "'%s' may not send '%s'", identity, snap);
	free(snap);
	snap = NULL;
	if (info->kind == ZF_RPC_SEND && zf_msg_get_str(m, ZF_TAG_FROM, &snap, &e2) >= 0 &&
	    strncmp(snap, "other/", 6) == 0)
		return zf_err_set(err, -EACCES, "'%s' may not send from '%s'", identity, snap);
	return 0;
}

static void *srv_main(void *p)
{
	struct srv *s = p;
	struct zf_rpc_conn *c = zf_rpc_conn_new(s->t);

	zf_transport_set_timeout(s->t, 5000);
	s->rc = zf_rpc_handshake(c, true, &s->err);
	if (s->rc >= 0)
	{
		const struct zf_serve_hooks hooks = {
			.allow = s->net->open_server ? NULL : allow,
			.datachan = s->net->dc,
			.userdata = s->net,
		};
		s->rc = zf_serve_conn(c, &s->net->fake.ep, &hooks, &s->err);
	}
	zf_rpc_conn_free(c);
	return NULL;
}

static int net_connect(void *userdata, struct zf_transport **ret, struct zf_err *err)
{
	struct net *net = userdata;
	struct zf_transport *a = NULL;
	struct srv *s;
	int r;

	if (net->refuse_connect)
		return zf_err_set(err, -ECONNREFUSED, "%s", net->refuse_connect);
	s = zf_xcalloc(1, sizeof(*s));
	if (net->pipes) {
		int up[2], down[2];

		assert_int_equal(pipe2(up, O_CLOEXEC), 0);
		assert_int_equal(pipe2(down, O_CLOEXEC), 0);
		a = zf_transport_local_new(down[0], up[1], "ssh far");
		s->t = zf_transport_local_new(up[0], down[1], "local");
	} else {
		r = zf_transport_local_pair(&a, &s->t, err);
		if (r < 0) {
			free(s);
			return r;
		}
	}
	s->net = net;
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
	pthread_mutex_lock(&net->lock);
	assert_true(net->n < ELEMENTSOF(net->srvs));
	net->srvs[net->n++] = s;
	pthread_mutex_unlock(&net->lock);
	*ret = a;
	return 0;
}

static void net_userdata_free(void *userdata)
{
	((struct net *)userdata)->freed = true;
}

static size_t connects(struct net *net)
{
	size_t n;

	pthread_mutex_lock(&net->lock);
	n = net->n;
	pthread_mutex_unlock(&net->lock);
	return n;
}

static struct net *net_new(void)
{
	struct net *net = zf_xcalloc(1, sizeof(*net));

	net->fake.ep.ops = &fake_ops;
	net->fake.ep.kind = "fake";
	pthread_mutex_init(&net->fake.lock, NULL);
	pthread_mutex_init(&net->lock, NULL);
	return net;
}

/* data_addr: streams go over a data channel there (NULL: on control). */
static struct zf_endpoint *remote_new_dc(struct net *net, const char *data_addr, bool encrypt)
{
	struct zf_remote_opts o = {
		.connect = net_connect,
		.userdata = net,
		.userdata_free = net_userdata_free,
		.name = "tls://far:4242",
		.timeout_ms = 5000,
		.data_addr = data_addr,
		.data_ports = data_addr ? "0" : NULL,
		.data_encrypt = encrypt,
	};
	struct zf_endpoint *ep = NULL;
	struct zf_err err = ZF_ERR_INIT;

	if (zf_endpoint_remote_new(&o, &ep, &err) < 0)
		fail_msg("remote: %s", err.msg);
	assert_string_equal(ep->kind, "remote");
	return ep;
}

static struct zf_endpoint *remote_new(struct net *net)
{
	return remote_new_dc(net, NULL, false);
}

/* Frees ep, waits for every server; killed_ok: servers that saw a cut are fine. */
static void net_finish(struct net *net, struct zf_endpoint *ep, bool cut_ok)
{
	zf_endpoint_free(ep);
	assert_true(net->freed);
	for (size_t i = 0; i < net->n; i++) {
		pthread_join(net->srvs[i]->th, NULL);
		if (net->srvs[i]->rc < 0 && !cut_ok)
			fail_msg("server %zu: %s", i, net->srvs[i]->err.msg);
		free(net->srvs[i]);
	}
	expect_no_call(&net->fake);
	zf_strv_release(&net->fake.calls);
	pthread_mutex_destroy(&net->fake.lock);
	pthread_mutex_destroy(&net->lock);
	free(net);
}

/* ---- streams as the engine drives them -------------------------------------------- */

/* Reads a send's fd to EOF, checking the pattern; the byte count. */
static uint64_t drain(int fd, bool *bad)
{
	uint8_t buf[70000];
	uint64_t pos = 0;

	for (;;) {
		ssize_t k = zf_read_full(fd, buf, sizeof(buf));
		assert_true(k >= 0);
		if (k == 0)
			return pos;
		for (ssize_t i = 0; i < k; i++)
			if (buf[i] != pattern(pos + (uint64_t)i))
				*bad = true;
		pos += (uint64_t)k;
	}
}

/* Writes n pattern bytes from *pos; the write's result. */
static int feed(int fd, uint64_t *pos, uint64_t n)
{
	uint8_t buf[50000];

	while (n > 0) {
		size_t k = (size_t)MIN((uint64_t)sizeof(buf), n);
		int r;

		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(*pos + i);
		r = zf_write_full(fd, buf, k);
		if (r < 0)
			return r;
		*pos += k;
		n -= k;
	}
	return 0;
}

/* ---- tests ------------------------------------------------------------------------- */

static bool drop_none(const char *name, void *userdata)
{
	(void)userdata;
	return strstr(name, "/none") == NULL;
}

static bool drop_child(const char *name, void *userdata)
{
	assert_ptr_equal(userdata, NULL);
	return strstr(name, "/child") == NULL;
}

static void test_list(void **state)
{
	struct net *net = net_new();
	struct zf_endpoint *ep = remote_new(net);
	struct zf_ep_fs_list l = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	const struct zf_ep_fs *f;
	(void)state;

	if (ep->ops->list(ep, "pool/a b", true, drop_none, NULL, &l, &err) < 0)
		fail_msg("list: %s", err.msg);
	/* LIST_FS and LIST_VERSIONS: the server lists once, the second reuses it */
	expect_call(&net->fake, "list root=pool/a b rec=1 filter=0");
	assert_int_equal(l.n, 2);
	f = &l.v[0];
	assert_string_equal(f->name, "pool/a b");
	assert_true(f->encrypted);
	assert_false(f->modified);
	assert_false(f->placeholder);
	assert_string_equal(f->resume_token, "1-abc " ODD_VALUE);
	assert_string_equal(f->sendflags, "-w " ODD_VALUE);
	assert_int_equal(f->n_versions, 2);
	assert_string_equal(f->versions[0].fs, "pool/a b");
	assert_string_equal(f->versions[0].name, "s1");
	assert_false(f->versions[0].bookmark);
	assert_true(f->versions[0].guid == UINT64_MAX);
	assert_int_equal(f->versions[0].createtxg, 5);
	assert_true(f->versions[0].creation == -5);
	assert_int_equal(f->versions[0].userrefs, 2);
	assert_string_equal(f->versions[1].name, "m1");
	assert_true(f->versions[1].bookmark);
	assert_int_equal(f->versions[1].guid, 7);
	assert_int_equal(f->versions[1].createtxg, 6);
	assert_true(f->versions[1].creation == 1700000000);
	f = &l.v[1];
	assert_string_equal(f->name, "pool/a b/child\"x\";\xc3\xbc");
	assert_false(f->encrypted);
	assert_true(f->modified);
	assert_true(f->placeholder);
	assert_null(f->resume_token);
	assert_null(f->sendflags);
	assert_int_equal(f->n_versions, 1);
	assert_string_equal(f->versions[0].name, "s2");
	assert_int_equal(l.versions.n, 3);
	assert_true(f->versions >= l.versions.v && f->versions < l.versions.v + l.versions.n);
	zf_ep_fs_list_release(&l);

	/* a filtered filesystem takes its versions with it */
	if (ep->ops->list(ep, "pool/a b", true, drop_child, NULL, &l, &err) < 0)
		fail_msg("list: %s", err.msg);
	expect_call(&net->fake, "list root=pool/a b rec=1 filter=0");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].name, "pool/a b/none");
	assert_null(l.v[1].versions);
	assert_int_equal(l.versions.n, 2);
	assert_int_equal(l.v[0].n_versions, 2);
	zf_ep_fs_list_release(&l);

	/* a filesystem without versions */
	if (ep->ops->list(ep, "pool/empty", false, NULL, NULL, &l, &err) < 0)
		fail_msg("list: %s", err.msg);
	expect_call(&net->fake, "list root=pool/empty rec=0 filter=0");
	assert_int_equal(l.n, 1);
	assert_null(l.v[0].versions);
	assert_int_equal(l.v[0].n_versions, 0);
	zf_ep_fs_list_release(&l);

	/* a root that does not exist: ENOENT with the server's words, named after the remote */
	zf_err_clear(&err);
	assert_int_equal(ep->ops->list(ep, "pool/nope", false, NULL, NULL, &l, &err), -ENOENT);
	expect_call(&net->fake, "list root=pool/nope rec=0 filter=0");
	assert_string_equal(err.msg, "tls://far:4242: dataset 'pool/nope' does not exist");
	assert_int_equal(l.n, 0);
	/* every request above ran on one connection */
	assert_int_equal(connects(net), 1);
	net_finish(net, ep, false);
}

static void test_ops(void **state)
{
	struct net *net = net_new();
	struct zf_endpoint *ep = remote_new(net);
	const struct zf_endpoint_ops *o = ep->ops;
	struct zf_err err = ZF_ERR_INIT;
	const char *fs[] = { "pool/a b", "pool/c:d.e_f-g" };
	const char *snaps[] = { "pool/a b@s 1", "pool/c@x" };
	const char *props[] = { "compression=lz4", "zferry:note=" ODD_VALUE, NULL };
	struct zf_zfs_hold_list hl = { 0 };
	struct zf_zfs_send_opts so = { .from = "pool/a b#m 1", .intermediates = true, .raw = true,
				       .compressed = true, .large_block = true, .embed = true,
				       .props = true };
	uint64_t bytes = 0;
	(void)state;

#define OK(call)                                                  \
	do {                                                      \
		zf_err_clear(&err);                               \
		if ((call) < 0)                                   \
			fail_msg("%s: %s", #call, err.msg);       \
	} while (0)

	OK(o->snapshot(ep, fs, 2, "zferry_2024-01-01 00:00", &err));
	expect_call(&net->fake, "snapshot fs=[pool/a b][pool/c:d.e_f-g] name=zferry_2024-01-01 00:00");
	OK(o->hold(ep, ODD_TAG, snaps, 2, &err));
	expect_call(&net->fake, "hold tag=" ODD_TAG " snaps=[pool/a b@s 1][pool/c@x]");
	OK(o->release(ep, ODD_TAG, snaps, 1, &err));
	expect_call(&net->fake, "release tag=" ODD_TAG " snaps=[pool/a b@s 1]");
	OK(o->holds(ep, snaps, 2, &hl, &err));
	expect_call(&net->fake, "holds snaps=[pool/a b@s 1][pool/c@x]");
	assert_int_equal(hl.n, 2);
	assert_string_equal(hl.v[0].snapshot, "pool/a b@s 1");
	assert_string_equal(hl.v[0].tag, ODD_TAG);
	assert_true(hl.v[0].created == -3);
	assert_string_equal(hl.v[1].tag, "keep");
	assert_true(hl.v[1].created == 1700000000);
	zf_zfs_hold_list_release(&hl);
	OK(o->bookmark(ep, "pool/a b@s 1", "pool/a b#m 1", &err));
	expect_call(&net->fake, "bookmark pool/a b@s 1 -> pool/a b#m 1");
	OK(o->destroy_bookmark(ep, "pool/a b#m 1", &err));
	expect_call(&net->fake, "destroy_bookmark pool/a b#m 1");
	/* the server's receive policy adds canmount=noauto: nothing it creates mounts */
	OK(o->create(ep, "pool/new fs", props, &err));
	expect_call(&net->fake, "create pool/new fs props=[compression=lz4][zferry:note=" ODD_VALUE
				"][canmount=noauto] null=0");
	OK(o->create(ep, "pool/bare", NULL, &err));
	expect_call(&net->fake, "create pool/bare props=[canmount=noauto] null=0");
	OK(o->rename(ep, "pool/a b", "pool/x y", &err));
	expect_call(&net->fake, "rename pool/a b -> pool/x y");
	OK(o->inherit(ep, "pool/a b", "zferry:placeholder", &err));
	expect_call(&net->fake, "inherit pool/a b zferry:placeholder");
	OK(o->recv_abort(ep, "pool/a b", &err));
	expect_call(&net->fake, "recv_abort pool/a b");
	OK(o->send_estimate(ep, "pool/a b@s 1", &so, &bytes, &err));
	expect_call(&net->fake, "estimate snap=pool/a b@s 1 from=pool/a b#m 1 tok=- I=1 w=1 c=1 "
				"L=1 e=1 p=1");
	assert_true(bytes == 123456789012ull);
	so = (struct zf_zfs_send_opts){ .resume_token = "1-f00 " ODD_VALUE };
	OK(o->send_estimate(ep, NULL, &so, &bytes, &err));
	expect_call(&net->fake, "estimate snap=- from=- tok=1-f00 " ODD_VALUE " I=0 w=0 c=0 L=0 "
				"e=0 p=0");

	/* a server-side error: its errno class and its message, named after the remote */
	net->fake.fail_code = -EBUSY;
	net->fake.fail_msg = "dataset 'pool/a b' is busy";
	zf_err_clear(&err);
	assert_int_equal(o->hold(ep, "t", snaps, 1, &err), -EBUSY);
	expect_call(&net->fake, "hold tag=t snaps=[pool/a b@s 1]");
	assert_string_equal(err.msg, "tls://far:4242: dataset 'pool/a b' is busy");
	net->fake.fail_code = -ZF_E_WOULD_DESTROY;
	net->fake.fail_msg = "would destroy";
	zf_err_clear(&err);
	assert_int_equal(o->rename(ep, "pool/a", "pool/b", &err), -ZF_E_WOULD_DESTROY);
	expect_call(&net->fake, "rename pool/a -> pool/b");

	/* the connection stayed usable after both errors: one for everything */
	assert_int_equal(connects(net), 1);

	/* the access check refuses with its message and runs nothing */
	net->deny_hold = true;
	zf_err_clear(&err);
	assert_int_equal(o->hold(ep, "t", snaps, 1, &err), -EACCES);
	assert_string_equal(err.msg, "tls://far:4242: 'local' may not HOLD here");
	expect_no_call(&net->fake);
	OK(o->release(ep, "t", snaps, 1, &err));
	expect_call(&net->fake, "release tag=t snaps=[pool/a b@s 1]");
	net->deny_hold = false;

	/* names are checked on the server before anything runs */
	zf_err_clear(&err);
	assert_int_equal(o->recv_abort(ep, "-pool/a", &err), -ZF_E_BADNAME);
	assert_msg(&err, "RECV_ABORT: field FS: invalid name '-pool/a'");
	zf_err_clear(&err);
	assert_int_equal(o->snapshot(ep, (const char *[]){ "pool/q\"uote" }, 1, "s", &err),
			 -ZF_E_BADNAME);
	assert_msg(&err, "SNAPSHOT: field FS:");
	zf_err_clear(&err);
	assert_int_equal(o->bookmark(ep, "pool/a@s", "pool/a#b;c", &err), -ZF_E_BADNAME);
	zf_err_clear(&err);
	assert_int_equal(o->hold(ep, "-d", snaps, 1, &err), -ZF_E_BADNAME);
	assert_msg(&err, "must not start with '-'");
	zf_err_clear(&err);
	assert_int_equal(o->create(ep, "pool/x", (const char *[]){ "novalue", NULL }, &err),
			 -ZF_E_BADNAME);
	assert_msg(&err, "want name=value");
	zf_err_clear(&err);
	assert_int_equal(o->hold(ep, "t", (const char *[]){ "pool/a" }, 1, &err), -ZF_E_BADNAME);
	assert_msg(&err, "expected a snapshot name");
	expect_no_call(&net->fake);
	assert_int_equal(connects(net), 1);
	net_finish(net, ep, false);
#undef OK
}

static void test_send_stream(void **state)
{
	struct net *net = net_new();
	struct zf_endpoint *ep = remote_new(net);
	const struct zf_endpoint_ops *o = ep->ops;
	struct zf_zfs_send_opts so = { .from = "pool/a b@s1", .raw = true };
	struct zf_ep_stream s = { -EBADF, NULL };
	struct zf_err err = ZF_ERR_INIT;
	bool bad = false;
	(void)state;

	/* identical bytes, a few MiB */
	if (o->send_start(ep, "pool/a b@big", &so, &s, &err) < 0)
		fail_msg("send_start: %s", err.msg);
	expect_call(&net->fake, "send snap=pool/a b@big from=pool/a b@s1 tok=- I=0 w=1 c=0 L=0 "
				"e=0 p=0");
	assert_true(drain(s.fd, &bad) == (3u << 20) + 12345);
	assert_false(bad);
	if (o->stream_finish(ep, &s, "zfs send", &err) < 0)
		fail_msg("stream_finish: %s", err.msg);
	assert_int_equal(s.fd, -EBADF);
	assert_true(net->fake.send_done && !net->fake.send_killed);

	/* the empty stream, and a resumed send */
	assert_int_equal(o->send_start(ep, "pool/a b@empty", NULL, &s, &err), 0);
	expect_call(&net->fake, "send snap=pool/a b@empty from=- tok=- I=0 w=0 c=0 L=0 e=0 p=0");
	assert_true(drain(s.fd, &bad) == 0);
	assert_int_equal(o->stream_finish(ep, &s, "zfs send", &err), 0);
	so = (struct zf_zfs_send_opts){ .resume_token = "1-e0" };
	assert_int_equal(o->send_start(ep, NULL, &so, &s, &err), 0);
	expect_call(&net->fake, "send snap=- from=- tok=1-e0 I=0 w=0 c=0 L=0 e=0 p=0");
	assert_true(drain(s.fd, &bad) == 1000);
	assert_int_equal(o->stream_finish(ep, &s, "zfs send", &err), 0);

	/* a token is checked by what it resumes, not by what the client says */
	so = (struct zf_zfs_send_opts){ .resume_token = "1-secret" };
	zf_err_clear(&err);
	assert_int_equal(o->send_start(ep, NULL, &so, &s, &err), -EACCES);
	assert_non_null(strstr(err.msg, "may not send 'other/x@s'"));
	assert_false(bad);
	/* ... and by the base it resumes from */
	so = (struct zf_zfs_send_opts){ .resume_token = "1-otherbase" };
	zf_err_clear(&err);
	assert_int_equal(o->send_start(ep, NULL, &so, &s, &err), -EACCES);
	assert_non_null(strstr(err.msg, "may not send from 'other/y@b'"));
	so = (struct zf_zfs_send_opts){ .resume_token = "1-base" };
	assert_int_equal(o->send_start(ep, NULL, &so, &s, &err), 0);
	expect_call(&net->fake, "send snap=- from=- tok=1-base I=0 w=0 c=0 L=0 e=0 p=0");
	assert_true(drain(s.fd, &bad) == 1000);
	assert_int_equal(o->stream_finish(ep, &s, "zfs send", &err), 0);

	/* a send the server refuses fails in send_start */
	zf_err_clear(&err);
	assert_int_equal(o->send_start(ep, "pool/a b@nope", NULL, &s, &err), -ENOENT);
	expect_call(&net->fake, "send snap=pool/a b@nope from=- tok=- I=0 w=0 c=0 L=0 e=0 p=0");
	assert_string_equal(err.msg, "tls://far:4242: snapshot 'pool/a b@nope' does not exist");
	assert_null(s.priv);

	/* zfs send failing mid-stream: ERROR, not END, so finish fails with its message */
	if (o->send_start(ep, "pool/a b@fail", NULL, &s, &err) < 0)
		fail_msg("send_start: %s", err.msg);
	expect_call(&net->fake, "send snap=pool/a b@fail from=- tok=- I=0 w=0 c=0 L=0 e=0 p=0");
	assert_true(drain(s.fd, &bad) == 1u << 20);
	zf_err_clear(&err);
	assert_int_equal(o->stream_finish(ep, &s, "zfs send", &err), -ZF_E_ZFS);
	assert_msg(&err, "tls://far:4242: SEND: stream cut after 1048576 bytes");
	assert_msg(&err, "simulated zfs send failure");

	/* ... and the connection survived all of it */
	assert_int_equal(connects(net), 1);
	net_finish(net, ep, false);
}

static void test_recv_stream(void **state)
{
	struct net *net = net_new();
	struct zf_endpoint *ep = remote_new(net);
	const struct zf_endpoint_ops *o = ep->ops;
	const char *set[] = { "readonly=on", "zferry:sendflags=" ODD_VALUE, NULL };
	const char *ex[] = { "mountpoint", NULL };
	struct zf_ep_recv ro = { .request = { set, ex, true }, .resumable = true, .force = true };
	struct zf_ep_stream s = { -EBADF, NULL };
	struct zf_err err = ZF_ERR_INIT;
	uint64_t pos = 0;
	(void)state;

	if (o->recv_start(ep, "pool/dst fs", &ro, &s, &err) < 0)
		fail_msg("recv_start: %s", err.msg);
	assert_int_equal(feed(s.fd, &pos, (5u << 20) / 2 + 7), 0);
	if (o->stream_finish(ep, &s, "zfs recv", &err) < 0)
		fail_msg("stream_finish: %s", err.msg);
	expect_call(&net->fake, "recv pool/dst fs s=1 F=1 o=[readonly=on][zferry:sendflags="
				ODD_VALUE "] x=[mountpoint]");
	assert_true(net->fake.recv_done);
	assert_true(net->fake.recv_bytes == (5u << 20) / 2 + 7);
	assert_false(net->fake.recv_bad);
	assert_false(net->fake.recv_killed);

	/* zfs recv fails (out of space): the RESPONSE after END carries it */
	net->fake.recv_done = false;
	assert_int_equal(o->recv_start(ep, "pool/full", &no_rq, &s, &err), 0);
	pos = 0;
	assert_int_equal(feed(s.fd, &pos, 3u << 20), 0);
	zf_err_clear(&err);
	assert_int_equal(o->stream_finish(ep, &s, "zfs recv", &err), -ENOSPC);
	expect_call(&net->fake, "recv pool/full s=0 F=0 o= x=");
	assert_string_equal(err.msg, "tls://far:4242: receive into 'pool/full': out of space");
	assert_true(net->fake.recv_done);
	assert_true(net->fake.recv_bytes == 1u << 20);

	/* a refused receive: the stream goes, nothing runs, the error comes back */
	net->fake.fail_code = -EEXIST;
	net->fake.fail_msg = "destination 'pool/dst fs' exists";
	assert_int_equal(o->recv_start(ep, "pool/dst fs", &no_rq, &s, &err), 0);
	pos = 0;
	assert_int_equal(feed(s.fd, &pos, 1000), 0);
	zf_err_clear(&err);
	assert_int_equal(o->stream_finish(ep, &s, "zfs recv", &err), -EEXIST);
	expect_call(&net->fake, "recv pool/dst fs s=0 F=0 o= x=");
	assert_string_equal(err.msg, "tls://far:4242: destination 'pool/dst fs' exists");

	/* a bad name in RECV: refused before recv_start, and the stream is drained */
	assert_int_equal(o->recv_start(ep, "pool/dst\nx", &no_rq, &s, &err), 0);
	pos = 0;
	assert_int_equal(feed(s.fd, &pos, 300000), 0);
	zf_err_clear(&err);
	assert_int_equal(o->stream_finish(ep, &s, "zfs recv", &err), -ZF_E_BADNAME);
	assert_msg(&err, "RECV: field FS");
	expect_no_call(&net->fake);

	assert_int_equal(connects(net), 1);
	net_finish(net, ep, false);
}

/* A stream is looked at before anything runs: what is no zfs send stream never reaches recv. */
static void test_recv_gate(void **state)
{
	struct net *net = net_new();
	struct zf_endpoint *ep = remote_new(net);
	const struct zf_endpoint_ops *o = ep->ops;
	struct zf_ep_stream s = { -EBADF, NULL };
	struct zf_err err = ZF_ERR_INIT;
	char junk[4096];
	(void)state;

	memset(junk, 'x', sizeof(junk));
	assert_int_equal(o->recv_start(ep, "pool/dst", &no_rq, &s, &err), 0);
	assert_int_equal(zf_write_full(s.fd, junk, sizeof(junk)), 0);
	assert_int_equal(o->stream_finish(ep, &s, "zfs recv", &err), -EINVAL);
	assert_msg(&err, "not a zfs send stream");
	expect_no_call(&net->fake);

	/* ends inside its first record */
	zf_err_clear(&err);
	assert_int_equal(o->recv_start(ep, "pool/dst", &no_rq, &s, &err), 0);
	assert_int_equal(zf_write_full(s.fd, begin_record, 100), 0);
	assert_int_equal(o->stream_finish(ep, &s, "zfs recv", &err), -EINVAL);
	assert_msg(&err, "ended before its first record was complete");
	expect_no_call(&net->fake);

	/* an empty stream */
	zf_err_clear(&err);
	assert_int_equal(o->recv_start(ep, "pool/dst", &no_rq, &s, &err), 0);
	assert_int_equal(o->stream_finish(ep, &s, "zfs recv", &err), -EINVAL);
	expect_no_call(&net->fake);

	assert_int_equal(connects(net), 1);
	net_finish(net, ep, false);
}

static void test_concurrent_streams(void **state)
{
	struct net *net = net_new();
	struct zf_endpoint *ep = remote_new(net);
	const struct zf_endpoint_ops *o = ep->ops;
	struct zf_ep_stream a = { -EBADF, NULL }, b = { -EBADF, NULL };
	struct zf_err err = ZF_ERR_INIT;
	bool bad = false;
	uint64_t pos = 0;
	(void)state;

	/* a send and a receive at once: two connections */
	assert_int_equal(o->send_start(ep, "pool/a b@big", NULL, &a, &err), 0);
	assert_int_equal(o->recv_start(ep, "pool/dst", &no_rq, &b, &err), 0);
	assert_int_equal(connects(net), 2);
	/* the engine's copy: send into receive */
	{
		uint8_t buf[65536];
		for (;;) {
			ssize_t k = zf_read_full(a.fd, buf, sizeof(buf));
			assert_true(k >= 0);
			if (k == 0)
				break;
			for (ssize_t i = 0; i < k; i++)
				if (buf[i] != pattern(pos + (uint64_t)i))
					bad = true;
			pos += (uint64_t)k;
			assert_int_equal(zf_write_full(b.fd, buf, (size_t)k), 0);
		}
	}
	assert_false(bad);
	assert_int_equal(o->stream_finish(ep, &a, "zfs send", &err), 0);
	assert_int_equal(o->stream_finish(ep, &b, "zfs recv", &err), 0);
	assert_true(net->fake.recv_bytes == (3u << 20) + 12345);
	assert_false(net->fake.recv_bad);
	expect_call(&net->fake, "send snap=pool/a b@big from=- tok=- I=0 w=0 c=0 L=0 e=0 p=0");
	expect_call(&net->fake, "recv pool/dst s=0 F=0 o= x=");

	/* both went back to the pool: two more requests open nothing new */
	assert_int_equal(o->recv_abort(ep, "pool/dst", &err), 0);
	assert_int_equal(o->recv_abort(ep, "pool/dst", &err), 0);
	expect_call(&net->fake, "recv_abort pool/dst");
	expect_call(&net->fake, "recv_abort pool/dst");
	assert_int_equal(connects(net), 2);
	net_finish(net, ep, false);
}

static void cut_server(struct net *net, size_t i)
{
	pthread_mutex_lock(&net->lock);
	assert_true(i < net->n);
	assert_int_equal(shutdown(net->srvs[i]->t->rfd, SHUT_RDWR), 0);
	pthread_mutex_unlock(&net->lock);
}

static void test_server_dies(void **state)
{
	struct net *net = net_new();
	struct zf_endpoint *ep = remote_new(net);
	const struct zf_endpoint_ops *o = ep->ops;
	struct zf_ep_stream s = { -EBADF, NULL };
	struct zf_err err = ZF_ERR_INIT;
	uint8_t buf[100000];
	uint64_t pos = 0;
	int r;
	(void)state;

	/* send: the server goes away after the stream started */
	assert_int_equal(o->send_start(ep, "pool/a b@endless", NULL, &s, &err), 0);
	assert_int_equal(zf_read_full(s.fd, buf, sizeof(buf)), sizeof(buf));
	cut_server(net, 0);
	while ((r = (int)zf_read_full(s.fd, buf, sizeof(buf))) > 0) {}
	assert_int_equal(r, 0);
	zf_err_clear(&err);
	r = o->stream_finish(ep, &s, "zfs send", &err);
	if (r >= 0)
		fail_msg("a cut send stream finished with success");
	assert_msg(&err, "tls://far:4242: ");
	expect_call(&net->fake, "send snap=pool/a b@endless from=- tok=- I=0 w=0 c=0 L=0 e=0 p=0");

	/* the broken connection was not pooled: the next op connects anew */
	assert_int_equal(o->recv_abort(ep, "pool/x", &err), 0);
	expect_call(&net->fake, "recv_abort pool/x");
	assert_int_equal(connects(net), 2);

	/* receive: the server goes away mid-stream; its zfs recv is killed, not finished */
	net->fake.recv_done = false;
	assert_int_equal(o->recv_start(ep, "pool/dst", &no_rq, &s, &err), 0);
	/* more than the 1 MiB stream pipe holds: the server has started receiving */
	assert_int_equal(feed(s.fd, &pos, 4u << 20), 0);
	cut_server(net, 1);
	/* the engine may see EPIPE once the pump gave up; either way finish fails */
	(void)feed(s.fd, &pos, 4u << 20);
	zf_err_clear(&err);
	r = o->stream_finish(ep, &s, "zfs recv", &err);
	if (r >= 0)
		fail_msg("a cut receive finished with success");
	assert_msg(&err, "tls://far:4242: ");
	expect_call(&net->fake, "recv pool/dst s=0 F=0 o= x=");
	/* the server ended once its connection broke: its receive was killed */
	pthread_join(net->srvs[1]->th, NULL);
	net->srvs[1]->th = pthread_self();
	assert_true(net->fake.recv_done);
	assert_true(net->fake.recv_killed);

	/* a fresh connection still works */
	assert_int_equal(o->recv_abort(ep, "pool/x", &err), 0);
	expect_call(&net->fake, "recv_abort pool/x");
	assert_int_equal(connects(net), 3);

	/* servers 0 and 1 failed on purpose; don't join 1 twice */
	zf_endpoint_free(ep);
	for (size_t i = 0; i < net->n; i++) {
		if (i != 1)
			pthread_join(net->srvs[i]->th, NULL);
		if (i == 2 && net->srvs[i]->rc < 0)
			fail_msg("server %zu: %s", i, net->srvs[i]->err.msg);
		free(net->srvs[i]);
	}
	net->n = 0;
	ep = NULL;
	net_finish(net, ep, true);
}

static void run_kill(bool pipes)
{
	struct net *net = net_new();
	struct zf_endpoint *ep = remote_new(net);
	const struct zf_endpoint_ops *o = ep->ops;
	struct zf_ep_stream s = { -EBADF, NULL }, rv = { -EBADF, NULL };
	struct zf_err err = ZF_ERR_INIT;
	uint8_t buf[10000];
	uint64_t pos = 0;

	net->pipes = pipes;
	/* the engine stops reading an endless send: kill, finish, never success */
	assert_int_equal(o->send_start(ep, "pool/a b@endless", NULL, &s, &err), 0);
	assert_int_equal(zf_read_full(s.fd, buf, sizeof(buf)), sizeof(buf));
	o->stream_kill(ep, &s);
	assert_true(o->stream_finish(ep, &s, "zfs send", &err) < 0);
	expect_call(&net->fake, "send snap=pool/a b@endless from=- tok=- I=0 w=0 c=0 L=0 e=0 p=0");

	/* a killed receive does not finish on the server: its zfs recv is killed */
	assert_int_equal(o->recv_start(ep, "pool/dst", &no_rq, &rv, &err), 0);
	assert_int_equal(feed(rv.fd, &pos, 4u << 20), 0);
	o->stream_kill(ep, &rv);
	zf_err_clear(&err);
	assert_true(o->stream_finish(ep, &rv, "zfs recv", &err) < 0);
	expect_call(&net->fake, "recv pool/dst s=0 F=0 o= x=");

	/* both connections were dropped, the servers saw the cut */
	for (size_t i = 0; i < 2; i++)
		pthread_join(net->srvs[i]->th, NULL);
	assert_true(net->fake.send_done && net->fake.send_killed);
	assert_true(net->fake.recv_done && net->fake.recv_killed);
	assert_int_equal(o->recv_abort(ep, "pool/x", &err), 0);
	expect_call(&net->fake, "recv_abort pool/x");
	assert_int_equal(connects(net), 3);

	zf_endpoint_free(ep);
	pthread_join(net->srvs[2]->th, NULL);
	assert_int_equal(net->srvs[2]->rc, 0);
	for (size_t i = 0; i < net->n; i++)
		free(net->srvs[i]);
	net->n = 0;
	net_finish(net, NULL, true);
}

static void test_kill(void **state)
{
	(void)state;
	run_kill(false);
}

/*
 * Over pipes there is no shutdown(2): the kill must still stop the pump
 * at once, and a killed receive must end in ERROR, never in END.
 */
static void test_kill_pipes(void **state)
{
	(void)state;
	run_kill(true);
}

static void test_connect_fails(void **state)
{
	struct net *net = net_new();
	struct zf_endpoint *ep = remote_new(net);
	struct zf_ep_stream s = { -EBADF, NULL };
	struct zf_err err = ZF_ERR_INIT;
	struct zf_remote_opts bad = { .connect = NULL, .name = "x" };
	struct zf_endpoint *none = NULL;
	(void)state;

	net->refuse_connect = "connection to 'far' port 4242 refused";
	assert_int_equal(ep->ops->recv_abort(ep, "pool/x", &err), -ECONNREFUSED);
	assert_string_equal(err.msg, "cannot connect to 'tls://far:4242': connection to 'far' "
				     "port 4242 refused");
	zf_err_clear(&err);
	assert_int_equal(ep->ops->send_start(ep, "pool/a b@big", NULL, &s, &err), -ECONNREFUSED);
	assert_int_equal(s.fd, -EBADF);
	zf_err_clear(&err);
	assert_int_equal(zf_endpoint_remote_new(&bad, &none, &err), -EINVAL);
	assert_null(none);
	net_finish(net, ep, false);
}

/* Raw requests against zf_serve_conn(): decoding failures get a clear one-line error. */
static void test_decode_errors(void **state)
{
	struct net *net = net_new();
	struct zf_transport *a = NULL;
	struct zf_rpc_conn *c;
	struct zf_err err = ZF_ERR_INIT;
	struct zf_buf body = ZF_BUF_INIT, resp = ZF_BUF_INIT;
	struct zf_msg m = ZF_MSG_INIT;
	(void)state;

	assert_int_equal(net_connect(net, &a, &err), 0);
	c = zf_rpc_conn_new(a);
	assert_int_equal(zf_rpc_handshake(c, false, &err), 0);

#define CALL(want, what)                                                           \
	do {                                                                       \
		zf_err_clear(&err);                                                \
		zf_msg_release(&m);                                                \
		assert_int_equal(zf_rpc_call(c, &body, NULL, &resp, &m, &err), want); \
		assert_msg(&err, what);                                            \
	} while (0)

	zf_msg_start(&body, ZF_RPC_SNAPSHOT);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FS, "pool/a"), 0);
	CALL(-EINVAL, "SNAPSHOT: missing field NAME");

	zf_msg_start(&body, ZF_RPC_SNAPSHOT);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_NAME, "s"), 0);
	CALL(-EINVAL, "SNAPSHOT: missing field FS");

	zf_msg_start(&body, ZF_RPC_HOLD);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_HOLD_TAG, "a"), 0);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_HOLD_TAG, "b"), 0);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "pool/a@s"), 0);
	CALL(-ZF_E_PROTO, "HOLD: field HOLD_TAG: field 4 appears more than once");

	zf_msg_start(&body, ZF_RPC_HOLD);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_HOLD_TAG, "a"), 0);
	CALL(-EINVAL, "HOLD: missing field SNAPSHOT");

	zf_msg_start(&body, ZF_RPC_RENAME);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FROM, "pool/a"), 0);
	CALL(-EINVAL, "RENAME: missing field TO");

	zf_msg_start(&body, ZF_RPC_INHERIT);
	zf_msg_add_u64(&body, ZF_TAG_FS, 7);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_PROP, "atime"), 0);
	CALL(-ZF_E_PROTO, "INHERIT: field FS: field 1 is u64, want string");

	zf_msg_start(&body, ZF_RPC_SEND_ESTIMATE);
	CALL(-EINVAL, "SEND_ESTIMATE: missing field SNAPSHOT (or RESUME_TOKEN)");

	zf_msg_start(&body, ZF_RPC_SEND_ESTIMATE);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "pool/a@s"), 0);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_RESUME_TOKEN, "1-x"), 0);
	CALL(-EINVAL, "SNAPSHOT and RESUME_TOKEN exclude each other");

	zf_msg_start(&body, ZF_RPC_SEND_ESTIMATE);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "pool/a@s"), 0);
	zf_msg_add_u64(&body, ZF_TAG_RAW, 1);
	CALL(-ZF_E_PROTO, "SEND_ESTIMATE: field RAW:");

	zf_msg_start(&body, ZF_RPC_SEND);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_SNAPSHOT, "pool/a"), 0);
	CALL(-ZF_E_BADNAME, "SEND: field SNAPSHOT: invalid name 'pool/a': expected a snapshot");

	zf_msg_start(&body, ZF_RPC_DESTROY_VERSIONS);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FS, "pool/a"), 0);
	CALL(-EINVAL, "DESTROY_VERSIONS: missing field NAME");

	zf_msg_start(&body, ZF_RPC_DESTROY_VERSIONS);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FS, "pool/a"), 0);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_NAME, "a,b"), 0);
	CALL(-ZF_E_BADNAME, "DESTROY_VERSIONS: field NAME:");

	zf_msg_start(&body, ZF_RPC_LIST_FS);
	CALL(-EINVAL, "LIST_FS: missing field FS");

	zf_msg_start(&body, ZF_RPC_GET_RESUME_TOKEN);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FS, "-pool"), 0);
	CALL(-ZF_E_BADNAME, "must not start with '-'");

	/* GET_RESUME_TOKEN answers from the endpoint's list */
	zf_msg_start(&body, ZF_RPC_GET_RESUME_TOKEN);
	assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FS, "pool/a b"), 0);
	zf_msg_release(&m);
	assert_int_equal(zf_rpc_call(c, &body, NULL, &resp, &m, &err), 0);
	expect_call(&net->fake, "list root=pool/a b rec=0 filter=0");
	{
		_cleanup_free_ char *tok = NULL;
		assert_int_equal(zf_msg_get_str(&m, ZF_TAG_RESUME_TOKEN, &tok, &err), 0);
		assert_string_equal(tok, "1-abc " ODD_VALUE);
	}
	expect_no_call(&net->fake);

	/* DESTROY_VERSIONS goes to the zfs layer: a fake zfs records its argv */
	{
		char dir[] = "/tmp/zferry-remote-XXXXXX", prog[64], out[64];
		_cleanup_buf_ struct zf_buf got = ZF_BUF_INIT;
		FILE *fp;
		int fd;

		assert_non_null(mkdtemp(dir));
		snprintf(prog, sizeof(prog), "%s/zfs", dir);
		snprintf(out, sizeof(out), "%s/argv", dir);
		fp = fopen(prog, "w");
		assert_non_null(fp);
		fprintf(fp, "#!/bin/sh\nfor a; do printf '[%%s]' \"$a\"; done > '%s'\n", out);
		assert_int_equal(fclose(fp), 0);
		assert_int_equal(chmod(prog, 0700), 0);
		zf_zfs_set_program(prog);
		zf_msg_start(&body, ZF_RPC_DESTROY_VERSIONS);
		assert_int_equal(zf_msg_add_str(&body, ZF_TAG_FS, "pool/a b"), 0);
		assert_int_equal(zf_msg_add_str(&body, ZF_TAG_NAME, "s 1"), 0);
		assert_int_equal(zf_msg_add_str(&body, ZF_TAG_NAME, "s2"), 0);
		zf_msg_release(&m);
		if (zf_rpc_call(c, &body, NULL, &resp, &m, &err) < 0)
			fail_msg("DESTROY_VERSIONS: %s", err.msg);
		zf_zfs_set_program("zfs");
		fd = open(out, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(zf_read_all(fd, &got, 4096), 0);
		close(fd);
		assert_string_equal(got.data, "[destroy][pool/a b@s 1,s2]");
		assert_int_equal(unlink(out), 0);
		assert_int_equal(unlink(prog), 0);
		assert_int_equal(rmdir(dir), 0);
	}
#undef CALL

	zf_msg_release(&m);
	zf_buf_release(&body);
	zf_buf_release(&resp);
	assert_int_equal(zf_rpc_conn_close(c, &err), 0);
	zf_rpc_conn_free(c);
	net->freed = true;
	net_finish(net, NULL, false);
}

/* ---- the direct data channel --------------------------------------------------------- */

/* Push and pull through a data channel on loopback: the same bytes as on control. */
/*
 * dc NULL: a server without a config, listening where the client asks
 * (127.0.0.1); else a configured one that listens where dc says, whatever
 * the client asks (a wildcard, which it could not reach over a socketpair).
 */
static void run_data_channel(bool encrypt, const struct zf_serve_datachan *dc)
{
	struct net *net = net_new();
	struct zf_endpoint *ep;

	net->open_server = !dc;
	net->dc = dc;
	ep = remote_new_dc(net, dc ? "0.0.0.0" : "127.0.0.1", encrypt);
	const struct zf_endpoint_ops *o = ep->ops;
	struct zf_ep_stream s = { -EBADF, NULL };
	struct zf_err err = ZF_ERR_INIT;
	bool bad = false;
	uint64_t pos = 0;

	if (o->send_start(ep, "pool/a b@big", NULL, &s, &err) < 0)
		fail_msg("send_start: %s", err.msg);
	expect_call(&net->fake, "send snap=pool/a b@big from=- tok=- I=0 w=0 c=0 L=0 e=0 p=0");
	assert_true(drain(s.fd, &bad) == (3u << 20) + 12345);
	assert_false(bad);
	if (o->stream_finish(ep, &s, "zfs send", &err) < 0)
		fail_msg("stream_finish: %s", err.msg);
	assert_true(net->fake.send_done && !net->fake.send_killed);

	/* the empty stream */
	assert_int_equal(o->send_start(ep, "pool/a b@empty", NULL, &s, &err), 0);
	expect_call(&net->fake, "send snap=pool/a b@empty from=- tok=- I=0 w=0 c=0 L=0 e=0 p=0");
	assert_true(drain(s.fd, &bad) == 0);
	assert_int_equal(o->stream_finish(ep, &s, "zfs send", &err), 0);

	if (o->recv_start(ep, "pool/dst", &no_rq, &s, &err) < 0)
		fail_msg("recv_start: %s", err.msg);
	assert_int_equal(feed(s.fd, &pos, (5u << 20) / 2 + 7), 0);
	if (o->stream_finish(ep, &s, "zfs recv", &err) < 0)
		fail_msg("stream_finish: %s", err.msg);
	expect_call(&net->fake, "recv pool/dst s=0 F=0 o= x=");
	assert_true(net->fake.recv_done && !net->fake.recv_killed && !net->fake.recv_bad);
	assert_true(net->fake.recv_bytes == (5u << 20) / 2 + 7);

	/* zfs recv fails: its own message comes back after the data channel's END */
	assert_int_equal(o->recv_start(ep, "pool/full", &no_rq, &s, &err), 0);
	pos = 0;
	assert_int_equal(feed(s.fd, &pos, 3u << 20), 0);
	zf_err_clear(&err);
	assert_int_equal(o->stream_finish(ep, &s, "zfs recv", &err), -ENOSPC);
	expect_call(&net->fake, "recv pool/full s=0 F=0 o= x=");
	assert_msg(&err, "out of space");

	/* every stream went over its own channel on the one control connection */
	assert_int_equal(connects(net), 1);

	/* zfs send failing mid-stream: never success */
	if (o->send_start(ep, "pool/a b@fail", NULL, &s, &err) < 0)
		fail_msg("send_start: %s", err.msg);
	expect_call(&net->fake, "send snap=pool/a b@fail from=- tok=- I=0 w=0 c=0 L=0 e=0 p=0");
	assert_true(drain(s.fd, &bad) == 1u << 20);
	zf_err_clear(&err);
	assert_true(o->stream_finish(ep, &s, "zfs send", &err) < 0);
	assert_msg(&err, "simulated zfs send failure");
	net_finish(net, ep, true);
}

static void test_data_channel(void **state)
{
	(void)state;
	run_data_channel(false, NULL);
}

static void test_data_channel_encrypted(void **state)
{
	(void)state;
	run_data_channel(true, NULL);
}

/* The server's config decides where its channel listens; the client goes there. */
static void test_data_channel_configured(void **state)
{
	static const struct zf_serve_datachan dc = { "127.0.0.1", 0, 0 };
	(void)state;
	run_data_channel(false, &dc);
}

/* A wildcard DATA_ADDR needs the control connection's host, which a socketpair lacks. */
static void test_data_channel_wildcard(void **state)
{
	struct net *net = net_new();
	struct zf_endpoint *ep;
	struct zf_ep_stream s = { -EBADF, NULL };
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	net->open_server = true;
	ep = remote_new_dc(net, "0.0.0.0", false);
	assert_int_equal(ep->ops->send_start(ep, "pool/a b@big", NULL, &s, &err), -EDESTADDRREQ);
	assert_msg(&err, "data channel: cannot tell the server's address");
	assert_int_equal(s.fd, -EBADF);
	expect_no_call(&net->fake);
	net_finish(net, ep, false);
}

/* A raw client for the data channel requests. */
struct raw {
	struct net *net;
	struct zf_rpc_conn *c;
	struct zf_buf body, resp;
	struct zf_msg m;
	struct zf_err err;
	char port[8];
	uint8_t secret[ZF_DATACHAN_SECRET_LEN];
};

static struct raw *raw_new(void)
{
	struct raw *w = zf_xcalloc(1, sizeof(*w));
	struct zf_transport *a = NULL;

	w->net = net_new();
	w->net->open_server = true;
	assert_int_equal(net_connect(w->net, &a, &w->err), 0);
	w->c = zf_rpc_conn_new(a);
	assert_int_equal(zf_rpc_handshake(w->c, false, &w->err), 0);
	return w;
}

static void raw_free(struct raw *w)
{
	zf_rpc_conn_free(w->c);
	zf_buf_release(&w->body);
	zf_buf_release(&w->resp);
	zf_msg_release(&w->m);
	pthread_join(w->net->srvs[0]->th, NULL);
	free(w->net->srvs[0]);
	w->net->n = 0;
	w->net->freed = true;
	net_finish(w->net, NULL, true);
	free(w);
}


/* DATA_CHANNEL_OPEN: the call's result; on success w->port and w->secret. */
static int raw_open(struct raw *w, const char *ports)
{
	const struct zf_msg_field *sec = NULL;
	uint64_t port = 0;
	int r;

	zf_msg_start(&w->body, ZF_RPC_DATA_CHANNEL_OPEN);
	assert_int_equal(zf_msg_add_str(&w->body, ZF_TAG_DATA_ADDR, "127.0.0.1"), 0);
	assert_int_equal(zf_msg_add_str(&w->body, ZF_TAG_DATA_PORTS, ports), 0);
	zf_err_clear(&w->err);
	zf_msg_release(&w->m);
	r = zf_rpc_call(w->c, &w->body, NULL, &w->resp, &w->m, &w->err);
	if (r < 0)
		return r;
	assert_int_equal(zf_msg_get_u64(&w->m, ZF_TAG_DATA_PORT, &port, &w->err), 0);
	assert_true(port > 0 && port <= 65535);
	for (size_t i = 0; i < w->m.n; i++)
		if (w->m.fields[i].tag == ZF_TAG_DATA_SECRET)
			sec = &w->m.fields[i];
	assert_non_null(sec);
	assert_int_equal(sec->len, ZF_DATACHAN_SECRET_LEN);
	memcpy(w->secret, sec->p, ZF_DATACHAN_SECRET_LEN);
	snprintf(w->port, sizeof(w->port), "%u", (unsigned)port);
	return 0;
}

static int empty_source(void *userdata, void *buf, size_t size, size_t *ret_n,
			struct zf_err *err)
{
	(void)userdata;
	(void)buf;
	(void)size;
	(void)err;
	*ret_n = 0;
	return 0;
}

/* USE_DATA_CHANNEL without OPEN, and OPEN's bad input: one clear line each. */
static void test_data_channel_errors(void **state)
{
	struct raw *w = raw_new();
	struct zf_rpc_call call = { .source = empty_source };
	(void)state;

	zf_msg_start(&w->body, ZF_RPC_SEND);
	assert_int_equal(zf_msg_add_str(&w->body, ZF_TAG_SNAPSHOT, "pool/a b@big"), 0);
	zf_msg_add_bool(&w->body, ZF_TAG_USE_DATA_CHANNEL, true);
	assert_int_equal(zf_rpc_call(w->c, &w->body, NULL, &w->resp, &w->m, &w->err), -EINVAL);
	assert_msg(&w->err, "data channel: SEND: no data channel open");
	expect_no_call(&w->net->fake);

	zf_msg_start(&w->body, ZF_RPC_RECV);
	assert_int_equal(zf_msg_add_str(&w->body, ZF_TAG_FS, "pool/dst"), 0);
	zf_msg_add_bool(&w->body, ZF_TAG_USE_DATA_CHANNEL, true);
	zf_err_clear(&w->err);
	assert_int_equal(zf_rpc_call(w->c, &w->body, &call, &w->resp, &w->m, &w->err), -EINVAL);
	assert_msg(&w->err, "data channel: RECV: no data channel open");
	expect_no_call(&w->net->fake);

	assert_int_equal(raw_open(w, "80"), -EACCES);
	assert_msg(&w->err, "data channel: port 80 refused");
	assert_int_equal(raw_open(w, "70000"), -EINVAL);
	assert_msg(&w->err, "data channel: bad port '70000'");
	assert_int_equal(raw_open(w, "5000-4000"), -EINVAL);
	assert_msg(&w->err, "data channel: bad port range '5000-4000'");
	assert_int_equal(raw_open(w, "x"), -EINVAL);

	/* a channel is one stream: a second SEND on it finds none */
	assert_int_equal(raw_open(w, "0"), 0);
	zf_msg_start(&w->body, ZF_RPC_SEND);
	assert_int_equal(zf_msg_add_str(&w->body, ZF_TAG_SNAPSHOT, "pool/a b@nope"), 0);
	zf_msg_add_bool(&w->body, ZF_TAG_USE_DATA_CHANNEL, true);
	zf_err_clear(&w->err);
	assert_int_equal(zf_rpc_call(w->c, &w->body, NULL, &w->resp, &w->m, &w->err), -ENOENT);
	expect_call(&w->net->fake, "send snap=pool/a b@nope from=- tok=- I=0 w=0 c=0 L=0 e=0 p=0");
	zf_err_clear(&w->err);
	assert_int_equal(zf_rpc_call(w->c, &w->body, NULL, &w->resp, &w->m, &w->err), -EINVAL);
	assert_msg(&w->err, "no data channel open");
	raw_free(w);
}

/* A server with a config but no serve.data_channel offers none. */
static void test_data_channel_refused(void **state)
{
	struct raw *w = zf_xcalloc(1, sizeof(*w));
	struct zf_transport *a = NULL;
	(void)state;

	w->net = net_new();
	assert_int_equal(net_connect(w->net, &a, &w->err), 0);
	w->c = zf_rpc_conn_new(a);
	assert_int_equal(zf_rpc_handshake(w->c, false, &w->err), 0);
	assert_int_equal(raw_open(w, "20000"), -EOPNOTSUPP);
	assert_msg(&w->err, "data channel: this server offers none (serve.data_channel in its "
		   "config)");
	raw_free(w);
}

/* Reads a little of a SEND's data channel, then drops the connection. */
static int cut_on_response(void *userdata, const struct zf_msg *resp, struct zf_err *err)
{
	struct raw *w = userdata;
	struct zf_transport *t = NULL;
	struct zf_rpc_conn *dc;
	struct zf_frame f;
	(void)resp;

	assert_int_equal(zf_datachan_connect("127.0.0.1", w->port, w->secret, false, 5000, &t, err),
			 0);
	dc = zf_rpc_conn_new(t);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(zf_rpc_recv_frame(dc, &f, err), 1);
		assert_int_equal(f.type, ZF_FRAME_DATA);
	}
	zf_rpc_conn_free(dc);
	return 0;
}

/* Sends some DATA on a RECV's data channel and drops it without END. */
static int cut_source(void *userdata, void *buf, size_t size, size_t *ret_n, struct zf_err *err)
{
	struct raw *w = userdata;
	struct zf_transport *t = NULL;
	struct zf_rpc_conn *dc;
	uint8_t data[4096];
	(void)buf;
	(void)size;

	assert_int_equal(zf_datachan_connect("127.0.0.1", w->port, w->secret, false, 5000, &t, err),
			 0);
	dc = zf_rpc_conn_new(t);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pattern(i);
	assert_int_equal(zf_rpc_send_frame(dc, ZF_FRAME_DATA, ZF_RPC_DATACHAN_ID, data,
					   sizeof(data), err), 0);
	zf_rpc_conn_free(dc);
	*ret_n = 0;                     /* and control's stream ends cleanly */
	return 0;
}

/* A data connection cut mid-stream is an error on both sides, never success. */
static void test_data_channel_cut(void **state)
{
	struct raw *w = raw_new();
	struct zf_rpc_call call = { 0 };
	(void)state;

	/* pull: the client drops the data connection of an endless send */
	assert_int_equal(raw_open(w, "0"), 0);
	zf_msg_start(&w->body, ZF_RPC_SEND);
	assert_int_equal(zf_msg_add_str(&w->body, ZF_TAG_SNAPSHOT, "pool/a b@endless"), 0);
	zf_msg_add_bool(&w->body, ZF_TAG_USE_DATA_CHANNEL, true);
	call.on_response = cut_on_response;
	call.on_response_data = w;
	zf_err_clear(&w->err);
	zf_msg_release(&w->m);
	if (zf_rpc_call(w->c, &w->body, &call, &w->resp, &w->m, &w->err) >= 0)
		fail_msg("a cut data channel ended in success");
	assert_msg(&w->err, "data channel: ");
	expect_call(&w->net->fake, "send snap=pool/a b@endless from=- tok=- I=0 w=0 c=0 L=0 "
				   "e=0 p=0");

	/* push: the data connection ends without END; zfs recv is killed, not finished */
	assert_int_equal(raw_open(w, "0"), 0);
	/* the server answered the next request, so the send's handler is done: killed */
	assert_true(w->net->fake.send_done && w->net->fake.send_killed);
	zf_msg_start(&w->body, ZF_RPC_RECV);
	assert_int_equal(zf_msg_add_str(&w->body, ZF_TAG_FS, "pool/dst"), 0);
	zf_msg_add_bool(&w->body, ZF_TAG_USE_DATA_CHANNEL, true);
	call = (struct zf_rpc_call){ .source = cut_source, .source_data = w };
	zf_err_clear(&w->err);
	zf_msg_release(&w->m);
	if (zf_rpc_call(w->c, &w->body, &call, &w->resp, &w->m, &w->err) >= 0)
		fail_msg("a receive over a cut data channel ended in success");
	assert_msg(&w->err, "data channel: ");
	expect_call(&w->net->fake, "recv pool/dst s=0 F=0 o= x=");
	assert_true(w->net->fake.recv_done && w->net->fake.recv_killed);
	assert_true(w->net->fake.recv_bytes == 4096);
	raw_free(w);
}

static void push_version(struct zf_zfs_version_list *l, const char *fs, const char *name,
			uint64_t txg)
{
	ZF_ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = (struct zf_zfs_version){ .fs = zf_xstrdup(fs), .name = zf_xstrdup(name),
						 .guid = txg, .createtxg = txg };
}

/*
 * After a sync snapshot the engine lists only the snapshotted filesystems
 * again: their versions are replaced, the others' kept, each run relinked.
 */
static void test_fs_list_update(void **state)
{
	struct zf_ep_fs_list l = { 0 };
	struct zf_zfs_version_list vl = { 0 };
	const char *const changed[] = { "p/b" };
	(void)state;

	l.v = zf_xcalloc(3, sizeof(*l.v));
	l.n = l.alloc = 3;
	l.v[0].name = zf_xstrdup("p/a");
	l.v[1].name = zf_xstrdup("p/b");
	l.v[2].name = zf_xstrdup("p/c");
	push_version(&l.versions, "p/b", "old", 1);
	push_version(&l.versions, "p/a", "a1", 2);
	push_version(&l.versions, "p/c", "c1", 3);
	zf_ep_fs_list_link(&l);
	push_version(&vl, "p/b", "old", 1);
	push_version(&vl, "p/b", "sync", 9);
	zf_ep_fs_list_update(&l, changed, 1, &vl);

	assert_int_equal(vl.n, 0);
	assert_int_equal(l.versions.n, 4);
	assert_int_equal(l.v[0].n_versions, 1);
	assert_string_equal(l.v[0].versions[0].name, "a1");
	assert_int_equal(l.v[1].n_versions, 2);
	assert_string_equal(l.v[1].versions[0].name, "old");
	assert_string_equal(l.v[1].versions[1].name, "sync");
	assert_int_equal(l.v[2].n_versions, 1);
	assert_string_equal(l.v[2].versions[0].name, "c1");
	zf_ep_fs_list_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_fs_list_update),
		cmocka_unit_test(test_ops),
		cmocka_unit_test(test_send_stream),
		cmocka_unit_test(test_recv_stream),
		cmocka_unit_test(test_recv_gate),
		cmocka_unit_test(test_concurrent_streams),
		cmocka_unit_test(test_server_dies),
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_kill_pipes),
		cmocka_unit_test(test_connect_fails),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_data_channel),
		cmocka_unit_test(test_data_channel_encrypted),
		cmocka_unit_test(test_data_channel_configured),
		cmocka_unit_test(test_data_channel_refused),
		cmocka_unit_test(test_data_channel_wildcard),
		cmocka_unit_test(test_data_channel_errors),
		cmocka_unit_test(test_data_channel_cut),
	};

	/* as cli/main.c does: a closed pipe is EPIPE, not death */
	signal(SIGPIPE, SIG_IGN);
	zf_zfs_stream_begin_record(begin_record, ZF_ZFS_STREAM_FILESYSTEM, "pool/src@s", 77);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
