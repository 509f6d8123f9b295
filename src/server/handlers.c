/*
 * src/server/handlers.c — the server's request handlers: docs/protocol.md §4 on an endpoint
 *
 * One handler per request kind, named in its row of rpc/protocol.def,
 * whose dispatch table is derived below.  Each decodes its body first with
 * the generated zf_req_BODY_decode(), which checks every name with the zfs
 * layer's rules (a leading '-' never reaches an argv), and only then calls
 * the endpoint.  A missing field is -EINVAL, a repeated single field
 * -EBADMSG, a bad name -ZF_E_BADNAME, each with one line naming the
 * request and the field; zf_rpc_serve() turns them into ERROR frames and
 * the connection goes on.
 *
 * Streams keep their promise: SEND reports the end of its stream only
 * after the endpoint's stream_finish succeeded, so END vouches for a send
 * that zfs completed; RECV answers only after its receive finished, and a
 * client stream that breaks kills the receive (zfs recv -s keeps the
 * resume token) instead of letting it finish on a short stream.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "endpoint/endpoint.h"
#include "server/server.h"
#include "log/log.h"
#include "rpc/conn.h"
#include "rpc/protocol.h"
#include "transport/datachan.h"
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/strv.h"
#include "zfs/recv-policy.h"
#include "zfs/stream.h"
#include "zfs/zfs.h"
#include "util/banned.h"

struct serve {
	struct zf_endpoint *ep;
	const struct zf_serve_hooks *hooks;
	/* this connection's one pending data channel (DATA_CHANNEL_OPEN), or NULL */
	struct zf_datachan_listener *dc;
	/*
	 * The list LIST_FS made, kept for a LIST_VERSIONS of the same root
	 * that comes as the very next request (the client's list sends the
	 * pair), so one client list costs one endpoint list, not two.
	 */
	struct zf_ep_fs_list cached;
	char *cached_root;
	bool cached_recursive;
	uint32_t cached_id;             /* the LIST_FS request's id; 0: nothing cached */
};

static void cache_drop(struct serve *s)
{
	zf_ep_fs_list_release(&s->cached);
	free(s->cached_root);
	s->cached_root = NULL;
	s->cached_id = 0;
}

static int get_flag(const struct zf_rpc_request *req, uint16_t tag, const char *what, bool *ret,
		    struct zf_err *err)
{
	struct zf_err ferr = ZF_ERR_INIT;
	int r = zf_msg_get_flag(req->msg, tag, ret, &ferr);

	if (r < 0)
		return zf_err_set(err, r, "%s: field %s: %s", req->info->name, what,
				  zf_err_msg(&ferr));
	return 0;
}

static struct zf_endpoint *endpoint(void *userdata)
{
	return ((struct serve *)userdata)->ep;
}

/* The receiving side's rules for the request's identity. */
static void recv_scope(struct serve *sv, const struct zf_rpc_request *req,
		       struct zf_recv_policy *ret_policy, const char *const **ret_roots)
{
	*ret_policy = (struct zf_recv_policy){ 0 };
	*ret_roots = NULL;
	if (sv->hooks->recv_scope)
		sv->hooks->recv_scope(sv->hooks->userdata, req->identity, ret_policy, ret_roots);
}

/* ---- list results ----------------------------------------------------------------- */

struct mem {
	const struct zf_buf *b;
	size_t pos;
};

static int mem_source(void *userdata, void *buf, size_t size, size_t *ret_n, struct zf_err *err)
{
	struct mem *m = userdata;
	size_t k = MIN(size, m->b->len - m->pos);
	(void)err;

	if (k > 0)
		memcpy(buf, m->b->data + m->pos, k);
	m->pos += k;
	*ret_n = k;
	return 0;
}

static int send_entries(struct zf_rpc_request *req, const struct zf_buf *out, struct zf_err *err)
{
	struct mem m = { out, 0 };

	return zf_rpc_request_send_stream(req, mem_source, &m, err);
}

static int append_entry(struct zf_buf *out, struct zf_buf *e, struct zf_err *err)
{
	if (zf_msg_entry_append(out, e) < 0)
		return zf_err_set(err, -E2BIG, "list entry of %zu bytes too long", e->len);
	return 0;
}

static int add_str(struct zf_buf *b, uint16_t tag, const char *s, struct zf_err *err)
{
	if (zf_msg_add_str(b, tag, s) < 0)
		return zf_err_set(err, -E2BIG, "string of %zu bytes too long for the protocol",
				  strlen(s));
	return 0;
}

/* LIST_FS and LIST_VERSIONS: FS (root), RECURSIVE?. */
static int list(struct zf_rpc_request *req, void *userdata, struct zf_ep_fs_list *ret,
		struct zf_err *err)
{
	struct serve *sv = userdata;
	struct zf_endpoint *ep = sv->ep;
	_cleanup_(zf_req_list_release) struct zf_req_list q = { 0 };
	struct zf_rpc_keepalive *ka;
	int r;

	r = zf_req_list_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	if (req->info->kind == ZF_RPC_LIST_VERSIONS && sv->cached_id &&
	    req->id == sv->cached_id + 1 && streq(sv->cached_root, q.fs) &&
	    sv->cached_recursive == q.recursive) {
		*ret = sv->cached;
		sv->cached = (struct zf_ep_fs_list){ 0 };
		cache_drop(sv);
		return 0;
	}
	cache_drop(sv);
	ka = zf_rpc_keepalive_start(req->conn);
	r = ep->ops->list(ep, q.fs, q.recursive, NULL, NULL, ret, err);
	zf_rpc_keepalive_stop(ka);
	if (r >= 0 && req->info->kind == ZF_RPC_LIST_FS) {
		sv->cached_root = zf_xstrdup(q.fs);
		sv->cached_recursive = q.recursive;
	}
	return r;
}

/* Whether the client may learn a clone's origin: inside its grants (or no access check). */
static bool origin_visible(struct serve *sv, const struct zf_rpc_request *req, const char *origin)
{
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	const struct zf_rpc_req_info *info = zf_rpc_req_lookup(ZF_RPC_LIST_FS);
	const struct zf_req_list q = { .fs = origin };
	struct zf_err e = ZF_ERR_INIT;

	if (!sv->hooks->allow)
		return true;
	if (zf_req_list_encode(&q, ZF_RPC_LIST_FS, &body, &e) < 0 ||
	    zf_msg_parse((const uint8_t *)body.data, body.len, &m, &e) < 0)
		return false;
	return sv->hooks->allow(sv->hooks->userdata, req->identity, info, &m, &e) >= 0;
}

static int h_list_fs(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct serve *sv = userdata;
	struct zf_ep_fs_list l = { 0 };
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf e = ZF_BUF_INIT;
	int r;

	r = list(req, userdata, &l, err);
	for (size_t i = 0; r >= 0 && i < l.n; i++) {
		const struct zf_ep_fs *f = &l.v[i];

		zf_msg_start(&e, 0);
		r = add_str(&e, ZF_TAG_FS, f->name, err);
		zf_msg_add_bool(&e, ZF_TAG_ENCRYPTED, f->encrypted);
		zf_msg_add_bool(&e, ZF_TAG_MODIFIED, f->modified);
		zf_msg_add_bool(&e, ZF_TAG_PLACEHOLDER, f->placeholder);
		if (r >= 0 && f->resume_token)
			r = add_str(&e, ZF_TAG_RESUME_TOKEN, f->resume_token, err);
		if (r >= 0 && f->sendflags)
			r = add_str(&e, ZF_TAG_SENDFLAGS, f->sendflags, err);
		/* an origin outside the grants is not the client's to know */
		if (r >= 0 && f->origin && origin_visible(sv, req, f->origin))
			r = add_str(&e, ZF_TAG_ORIGIN, f->origin, err);
		if (r >= 0)
			r = append_entry(&out, &e, err);
	}
	if (r >= 0 && sv->cached_root) {
		sv->cached = l;         /* for the LIST_VERSIONS that follows */
		sv->cached_id = req->id;
	} else {
		zf_ep_fs_list_release(&l);
	}
	if (r < 0)
		return r;
	return send_entries(req, &out, err);
}

static int h_list_versions(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_ep_fs_list l = { 0 };
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf e = ZF_BUF_INIT;
	int r;

	r = list(req, userdata, &l, err);
	for (size_t i = 0; r >= 0 && i < l.n; i++)
		for (size_t j = 0; r >= 0 && j < l.v[i].n_versions; j++) {
			const struct zf_zfs_version *v = &l.v[i].versions[j];

			zf_msg_start(&e, 0);
			r = add_str(&e, ZF_TAG_FS, l.v[i].name, err);
			if (r >= 0)
				r = add_str(&e, ZF_TAG_NAME, v->name, err);
			zf_msg_add_bool(&e, ZF_TAG_IS_BOOKMARK, v->bookmark);
			zf_msg_add_u64(&e, ZF_TAG_GUID, v->guid);
			zf_msg_add_u64(&e, ZF_TAG_CREATETXG, v->createtxg);
			zf_msg_add_u64(&e, ZF_TAG_CREATION, (uint64_t)v->creation);
			zf_msg_add_u64(&e, ZF_TAG_USERREFS, v->userrefs);
			if (r >= 0)
				r = append_entry(&out, &e, err);
		}
	zf_ep_fs_list_release(&l);
	if (r < 0)
		return r;
	return send_entries(req, &out, err);
}

static int h_get_resume_token(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	_cleanup_(zf_req_fs_release) struct zf_req_fs q = { 0 };
	struct zf_ep_fs_list l = { 0 };
	int r;

	r = zf_req_fs_decode(req->msg, &q, err);
	if (r >= 0)
		r = ep->ops->list(ep, q.fs, false, NULL, NULL, &l, err);
	for (size_t i = 0; r >= 0 && i < l.n; i++)
		if (streq(l.v[i].name, q.fs) && l.v[i].resume_token)
			r = add_str(&req->resp, ZF_TAG_RESUME_TOKEN, l.v[i].resume_token, err);
	zf_ep_fs_list_release(&l);
	return r;
}

/* ---- simple requests ------------------------------------------------------------------ */

static int h_snapshot(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	_cleanup_(zf_req_snapshot_release) struct zf_req_snapshot q = { 0 };
	struct zf_rpc_keepalive *ka;
	int r;

	r = zf_req_snapshot_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	ka = zf_rpc_keepalive_start(req->conn);
	r = ep->ops->snapshot(ep, q.fs.v, q.fs.n, q.name, err);
	zf_rpc_keepalive_stop(ka);
	return r;
}

static int hold_release(struct zf_rpc_request *req, void *userdata, bool hold,
			struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	_cleanup_(zf_req_hold_release) struct zf_req_hold q = { 0 };
	int r;

	r = zf_req_hold_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	if (hold)
		return ep->ops->hold(ep, q.hold_tag, q.snapshot.v, q.snapshot.n, err);
	return ep->ops->release(ep, q.hold_tag, q.snapshot.v, q.snapshot.n, err);
}

static int h_hold(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	return hold_release(req, userdata, true, err);
}

static int h_release(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	return hold_release(req, userdata, false, err);
}

static int h_holds(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	_cleanup_(zf_req_holds_release) struct zf_req_holds q = { 0 };
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf e = ZF_BUF_INIT;
	struct zf_zfs_hold_list hl = { 0 };
	int r;

	r = zf_req_holds_decode(req->msg, &q, err);
	if (r >= 0)
		r = ep->ops->holds(ep, q.snapshot.v, q.snapshot.n, &hl, err);
	for (size_t i = 0; r >= 0 && i < hl.n; i++) {
		zf_msg_start(&e, 0);
		r = add_str(&e, ZF_TAG_SNAPSHOT, hl.v[i].snapshot, err);
		if (r >= 0)
			r = add_str(&e, ZF_TAG_HOLD_TAG, hl.v[i].tag, err);
		zf_msg_add_u64(&e, ZF_TAG_CREATION, (uint64_t)hl.v[i].created);
		if (r >= 0)
			r = append_entry(&out, &e, err);
	}
	zf_zfs_hold_list_release(&hl);
	if (r < 0)
		return r;
	return send_entries(req, &out, err);
}

static int h_bookmark(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	_cleanup_(zf_req_bookmark_release) struct zf_req_bookmark q = { 0 };
	int r;

	r = zf_req_bookmark_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	return ep->ops->bookmark(ep, q.snapshot, q.bookmark, err);
}

static int h_destroy_bookmark(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	_cleanup_(zf_req_destroy_bookmark_release) struct zf_req_destroy_bookmark q = { 0 };
	int r;

	r = zf_req_destroy_bookmark_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	return ep->ops->destroy_bookmark(ep, q.bookmark, err);
}

/* Not in the endpoint table: the zfs layer of this host. */
static int h_destroy_versions(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	_cleanup_(zf_req_destroy_versions_release) struct zf_req_destroy_versions q = { 0 };
	struct zf_rpc_keepalive *ka;
	int r;
	(void)userdata;

	r = zf_req_destroy_versions_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	ka = zf_rpc_keepalive_start(req->conn);
	r = zf_zfs_destroy_snapshots(q.fs, q.name.v, q.name.n, err);
	zf_rpc_keepalive_stop(ka);
	return r;
}

/* CREATE: the client's properties as the receive policy lets a sender set them. */
static int h_create(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	_cleanup_(zf_req_create_release) struct zf_req_create q = { 0 };
	_cleanup_strv_ struct zf_strv final = ZF_STRV_INIT;
	struct zf_recv_policy pol;
	const char *const *roots;
	int r;

	r = zf_req_create_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	recv_scope(userdata, req, &pol, &roots);
	r = zf_recv_policy_create(&pol, q.prop.v, false, &final, err);
	if (r < 0)
		return zf_err_prefix(err, "create '%s'", q.fs);
	return ep->ops->create(ep, q.fs, final.n ? zf_strv_argv(&final) : NULL, err);
}

static int h_rename(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	_cleanup_(zf_req_rename_release) struct zf_req_rename q = { 0 };
	int r;

	r = zf_req_rename_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	return ep->ops->rename(ep, q.from, q.to, err);
}

static int h_inherit(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	_cleanup_(zf_req_inherit_release) struct zf_req_inherit q = { 0 };
	struct zf_recv_policy pol;
	const char *const *roots;
	int r;

	r = zf_req_inherit_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	/* inheriting canmount turns mounting on: only what a sender may set */
	recv_scope(userdata, req, &pol, &roots);
	if ((r = zf_recv_policy_check_inherit(&pol, q.prop, false, err)) < 0)
		return r;
	return ep->ops->inherit(ep, q.fs, q.prop, err);
}

static int h_recv_abort(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	_cleanup_(zf_req_fs_release) struct zf_req_fs q = { 0 };
	int r;

	r = zf_req_fs_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	return ep->ops->recv_abort(ep, q.fs, err);
}

/* ---- data channel ------------------------------------------------------------------ */

/* Names a data-channel failure as one: "data channel: ..." (once). */
static int dc_fail(struct zf_err *err, int r, const struct zf_err *why)
{
	const char *m = zf_err_msg(why);

	if (strncmp(m, "data channel: ", 14) == 0)
		return zf_err_set(err, r, "%s", m);
	return zf_err_set(err, r, "data channel: %s", m);
}

/* A stranger knocked on a client's data channel: the server's admin wants to know. */
static void dc_refused(void *userdata, uint16_t port, const char *peer, const char *why)
{
	log_warning("serve: data channel of '%s' on port %u: refused '%s': %s",
		    (const char *)userdata, port, peer, why);
}

static bool wildcard(const char *addr)
{
	return streq(addr, "0.0.0.0") || streq(addr, "::");
}

/*
 * DATA_CHANNEL_OPEN: DATA_ADDR, DATA_PORTS, DATA_ENCRYPT?.  Binds the
 * first free port of the range with a fresh secret and keeps the listener
 * as the connection's pending channel (replacing an older one); the
 * response carries DATA_PORT and DATA_SECRET, and DATA_ADDR when the
 * server chose a specific address.  Where it listens is the server's
 * config's choice (serve.data_channel); only a server without a config
 * (a root ssh login) listens where the client asks.  A secret never
 * travels over plain tcp.
 */
static int h_data_channel_open(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct serve *sv = userdata;
	const struct zf_serve_datachan *conf = sv->hooks->datachan;
	_cleanup_(zf_datachan_listener_freep) struct zf_datachan_listener *l = NULL;
	_cleanup_(zf_req_data_channel_open_release) struct zf_req_data_channel_open q = { 0 };
	_cleanup_free_ char *conf_ports = NULL;
	const char *addr, *ports;
	uint8_t secret[ZF_DATACHAN_SECRET_LEN];
	struct zf_err lerr = ZF_ERR_INIT;
	uint16_t first = 0, last = 0;
	bool encrypt;
	int r;

	r = zf_req_data_channel_open_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	addr = q.data_addr;
	ports = q.data_ports;
	encrypt = q.data_encrypt;
	if (streq(zf_rpc_conn_transport_kind(req->conn), "tcp"))
		return zf_err_set(err, -EACCES, "data channel refused over a plain tcp:// "
				  "connection: its secret would travel in clear (use tls:// or ssh)");
	if (sv->hooks->allow && !conf)
		return zf_err_set(err, -EOPNOTSUPP, "data channel: this server offers none "
				  "(serve.data_channel in its config)");
	if (conf) {
		addr = conf->listen;
		ports = conf_ports = zf_xasprintf("%u-%u", conf->first, conf->last);
		first = conf->first;
		last = conf->last;
	} else if ((r = zf_datachan_ports_parse(ports, &first, &last, err)) < 0) {
		return r;
	}
	if (first != 0 && first < 1024)
		return zf_err_set(err, -EACCES, "data channel: port %u refused: ports below 1024 "
				  "are privileged", first);
	/* the old channel goes first, so a repeated OPEN may bind its port again */
	sv->dc = zf_datachan_listener_free(sv->dc);
	r = zf_datachan_secret_new(secret, err);
	if (r < 0)
		return r;
	for (unsigned p = first; p <= last; p++) {
		char port[8];

		snprintf(port, sizeof(port), "%u", p);
		zf_err_clear(&lerr);
		r = zf_datachan_listen(addr, port, secret, encrypt, &l, &lerr);
		if (r != -EADDRINUSE)
			break;
	}
	if (r < 0) {
		explicit_bzero(secret, sizeof(secret));
		if (r == -EADDRINUSE && first != last)
			return zf_err_set(err, r, "data channel: no free port in %s on '%s'", ports,
					  addr);
		return dc_fail(err, r, &lerr);
	}
	zf_msg_add_u64(&req->resp, ZF_TAG_DATA_PORT, zf_datachan_port(l));
	r = conf && !wildcard(addr) ? zf_msg_add_str(&req->resp, ZF_TAG_DATA_ADDR, addr) : 0;
	if (r >= 0)
		r = zf_msg_add_bytes(&req->resp, ZF_TAG_DATA_SECRET, secret, sizeof(secret));
	explicit_bzero(secret, sizeof(secret));
	if (r < 0)
		return zf_err_set(err, r, "data channel: cannot add the secret to the response");
	log_debug("serve: data channel for '%s' on '%s' port %u%s", req->identity, addr,
		  zf_datachan_port(l), encrypt ? ", encrypted" : "");
	/* the identity lives as long as the connection, which outlives the channel */
	zf_datachan_listener_on_refused(l, dc_refused, (void *)zf_rpc_conn_peer(req->conn));
	sv->dc = TAKE_PTR(l);
	return 0;
}

/* USE_DATA_CHANNEL?: the pending channel, taken (one stream per secret), or NULL. */
static int take_channel(struct zf_rpc_request *req, struct serve *sv,
			struct zf_datachan_listener **ret, struct zf_err *err)
{
	bool use = false;
	int r = get_flag(req, ZF_TAG_USE_DATA_CHANNEL, "USE_DATA_CHANNEL", &use, err);

	if (r < 0)
		return r;
	*ret = NULL;
	if (!use)
		return 0;
	if (!sv->dc)
		return zf_err_set(err, -EINVAL, "data channel: %s: no data channel open (send "
				  "DATA_CHANNEL_OPEN first)", req->info->name);
	*ret = TAKE_PTR(sv->dc);
	return 0;
}

/* Waits for the client on l and wraps the data connection in an rpc connection. */
static int channel_accept(struct zf_rpc_request *req, struct zf_datachan_listener *l,
			  struct zf_rpc_conn **ret, struct zf_err *err)
{
	struct zf_transport *t = NULL;
	struct zf_err aerr = ZF_ERR_INIT;
	int r;

	r = zf_datachan_accept(l, zf_rpc_conn_timeout(req->conn), &t, &aerr);
	if (r < 0)
		return dc_fail(err, r, &aerr);
	zf_transport_set_timeout(t, zf_rpc_conn_timeout(req->conn));
	*ret = zf_rpc_conn_new(t);
	zf_rpc_conn_set_stream_sum(*ret, zf_rpc_conn_stream_sum(req->conn));
	return 0;
}

/* ---- send ------------------------------------------------------------------------ */

/*
 * SEND and SEND_ESTIMATE: the body, which names a snapshot or a resume
 * token; *ret_opts borrows from *ret.
 */
static int decode_send(struct zf_rpc_request *req, struct zf_req_send *ret,
		       struct zf_zfs_send_opts *ret_opts, struct zf_err *err)
{
	_cleanup_(zf_req_send_release) struct zf_req_send q = { 0 };
	const char *name = req->info->name;
	int r;

	r = zf_req_send_decode(req->msg, &q, err);
	if (r < 0)
		return r;
	if (!q.snapshot && !q.resume_token)
		return zf_err_set(err, -EINVAL, "%s: missing field SNAPSHOT (or RESUME_TOKEN)",
				  name);
	if (q.snapshot && q.resume_token)
		return zf_err_set(err, -EINVAL, "%s: SNAPSHOT and RESUME_TOKEN exclude each other",
				  name);
	if (q.resume_token && q.from)
		return zf_err_set(err, -EINVAL, "%s: FROM and RESUME_TOKEN exclude each other",
				  name);
	*ret_opts = (struct zf_zfs_send_opts){
		.from = q.from,
		.resume_token = q.resume_token,
		.intermediates = q.intermediates,
		.raw = q.raw,
		.compressed = q.compressed,
		.large_block = q.large_block,
		.embed = q.embed,
		.props = q.props,
	};
	*ret = q;
	q = (struct zf_req_send){ 0 };
	return 0;
}

/*
 * A send by resume token names no snapshot the access check could read, so
 * the token's target and base are read by this side's zfs (the endpoint
 * checks that zfs will find them by the token's guids) and checked again,
 * as if the request had named them (docs/protocol.md, "Settled...").
 */
static int check_token(struct zf_rpc_request *req, struct serve *sv, const struct zf_req_send *s,
		       struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT;
	_cleanup_free_ char *target = NULL, *from = NULL;
	struct zf_err eerr = ZF_ERR_INIT;
	struct zf_msg m = ZF_MSG_INIT;
	int r;

	if (!s->resume_token || !sv->hooks->allow)
		return 0;
	if (!sv->ep->ops->resume_target)
		return zf_err_set(err, -EOPNOTSUPP, "%s: cannot read resume tokens here",
				  req->info->name);
	r = sv->ep->ops->resume_target(sv->ep, s->resume_token, &target, &from, err);
	if (r < 0)
		return r;
	r = zf_req_send_encode(&(struct zf_req_send){ .snapshot = target, .from = from },
			       req->info->kind, &body, &eerr);
	if (r < 0)
		return zf_err_set(err, r, "%s: resume token target too long", req->info->name);
	r = zf_msg_parse((const uint8_t *)body.data, body.len, &m, err);
	if (r >= 0)
		r = sv->hooks->allow(sv->hooks->userdata, req->identity, req->info, &m, err);
	zf_msg_release(&m);
	return r;
}

static int h_send_estimate(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	_cleanup_(zf_req_send_release) struct zf_req_send s = { 0 };
	struct zf_zfs_send_opts o;
	uint64_t bytes = 0;
	int r;

	r = decode_send(req, &s, &o, err);
	if (r >= 0)
		r = check_token(req, userdata, &s, err);
	if (r >= 0)
		r = ep->ops->send_estimate(ep, s.snapshot, &o, &bytes, err);
	if (r >= 0)
		zf_msg_add_u64(&req->resp, ZF_TAG_BYTES, bytes);
	return r;
}

struct send_stream {
	struct zf_endpoint *ep;
	struct zf_ep_stream st;
	const char *what;
	bool finished;
};

/* The send's fd; its end only once stream_finish said zfs send succeeded. */
static int send_source(void *userdata, void *buf, size_t size, size_t *ret_n, struct zf_err *err)
{
	struct send_stream *ss = userdata;
	ssize_t k = zf_read_full(ss->st.fd, buf, size);
	int r;

	if (k < 0)
		return zf_err_set(err, (int)k, "cannot read %s: %s", ss->what, strerror((int)-k));
	if (k == 0) {
		ss->finished = true;
		r = ss->ep->ops->stream_finish(ss->ep, &ss->st, ss->what, err);
		if (r < 0)
			return r;
	}
	*ret_n = (size_t)k;
	return 0;
}

/*
 * SEND on a data channel: control's stream source.  Its first call does
 * the whole transfer on the data connection (DATA... END, as on control)
 * and then reports the end, so control carries an empty stream; a failure
 * becomes control's ERROR instead.
 */
struct dc_send {
	struct zf_rpc_request *req;
	struct zf_datachan_listener *l;
	struct send_stream *ss;
	bool source_failed;             /* zfs send failed, not the channel */
};

static int dc_send_inner(void *userdata, void *buf, size_t size, size_t *ret_n,
			 struct zf_err *err)
{
	struct dc_send *d = userdata;
	int r = send_source(d->ss, buf, size, ret_n, err);

	if (r < 0)
		d->source_failed = true;
	return r;
}

static int dc_send_source(void *userdata, void *buf, size_t size, size_t *ret_n,
			  struct zf_err *err)
{
	struct dc_send *d = userdata;
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *dc = NULL;
	struct zf_err serr = ZF_ERR_INIT;
	int r;
	(void)buf;
	(void)size;

	if (!d->l) {
		*ret_n = 0;
		return 0;
	}
	r = channel_accept(d->req, d->l, &dc, err);
	d->l = zf_datachan_listener_free(d->l);
	if (r < 0)
		return r;
	r = zf_rpc_stream_send(dc, ZF_RPC_DATACHAN_ID, dc_send_inner, d, &serr);
	if (r >= 0)
		r = zf_rpc_conn_close(dc, &serr);
	if (r < 0)
		return d->source_failed ? zf_err_copy(err, r, &serr)
					: dc_fail(err, r, &serr);
	*ret_n = 0;
	return 0;
}

static int h_send(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	struct zf_endpoint *ep = endpoint(userdata);
	struct send_stream ss = { .ep = ep, .st = { -EBADF, NULL } };
	struct dc_send d = { .req = req, .ss = &ss };
	_cleanup_(zf_req_send_release) struct zf_req_send s = { 0 };
	_cleanup_free_ char *what = NULL;
	struct zf_zfs_send_opts o;
	int r;

	r = decode_send(req, &s, &o, err);
	if (r >= 0)
		r = take_channel(req, userdata, &d.l, err);
	if (r >= 0)
		r = check_token(req, userdata, &s, err);
	if (r >= 0)
		r = ep->ops->send_start(ep, s.snapshot, &o, &ss.st, err);
	if (r < 0) {
		zf_datachan_listener_free(d.l);
		return r;
	}
	what = s.snapshot ? zf_xasprintf("send '%s'", s.snapshot)
			  : zf_xstrdup("resumed send");
	ss.what = what;
	/* no BYTES: an estimate costs a second zfs run; SEND_ESTIMATE asks for it */
	if (d.l)
		r = zf_rpc_request_send_stream(req, dc_send_source, &d, err);
	else
		r = zf_rpc_request_send_stream(req, send_source, &ss, err);
	d.l = zf_datachan_listener_free(d.l);
	if (!ss.finished) {
		/* the client went away or the read failed: stop zfs send, reap it */
		struct zf_err ferr = ZF_ERR_INIT;
		ep->ops->stream_kill(ep, &ss.st);
		(void)ep->ops->stream_finish(ep, &ss.st, what, &ferr);
	}
	return r;
}

/* ---- receive ----------------------------------------------------------------------- */

/*
 * The client's stream on its way into zfs recv.  Nothing runs before the
 * stream's head has arrived: the receive's arguments are decided from it
 * (the local endpoint applies the identity's receive policy), then the
 * head and the rest go to zfs recv.  A refusal fails the sink, so the
 * stream is drained to its END and the client gets the refusal.
 */
struct recv_gate {
	struct zf_endpoint *ep;
	const char *target;
	struct zf_ep_recv rq;
	struct zf_buf head;
	size_t want;                    /* bytes the head needs at least */
	struct zf_ep_stream st;
	bool started;                   /* zfs recv runs */
	bool failed;                    /* refused, or zfs recv stopped taking data */
};

static int gate_open(struct recv_gate *g, struct zf_err *err)
{
	struct zf_zfs_stream_head h;
	int r = zf_zfs_stream_head_parse(g->head.data, g->head.len, &h, err);

	if (r > 0) {
		g->want = (size_t)r;
		return 0;
	}
	/* a bad stream is the client's mistake, not the connection's: INVAL, never retried */
	if (r == -EBADMSG)
		err->code = r = -EINVAL;
	if (r < 0)
		return zf_err_prefix(err, "receive into '%s'", g->target);
	zf_zfs_stream_head_release(&h);
	g->rq.head = g->head.data;
	g->rq.head_len = g->head.len;
	r = g->ep->ops->recv_start(g->ep, g->target, &g->rq, &g->st, err);
	if (r < 0)
		return r;
	g->started = true;
	r = zf_write_full(g->st.fd, g->head.data, g->head.len);
	zf_buf_release(&g->head);
	if (r < 0)
		return zf_err_set(err, r, "cannot write to zfs recv: %s", strerror(-r));
	return 0;
}

static int recv_sink(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	struct recv_gate *g = userdata;
	int r;

	if (g->started) {
		r = zf_write_full(g->st.fd, p, n);
		if (r < 0)
			r = zf_err_set(err, r, "cannot write to zfs recv: %s", strerror(-r));
	} else {
		zf_buf_add(&g->head, p, n);
		r = g->head.len >= g->want ? gate_open(g, err) : 0;
	}
	if (r < 0)
		g->failed = true;
	return r;
}

/* The stream arrives on the data channel; control carries an empty one, still ended. */
static int recv_on_channel(struct zf_rpc_request *req, struct zf_datachan_listener *l,
			   struct recv_gate *g, struct zf_err *serr)
{
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *dc = NULL;
	struct zf_err derr = ZF_ERR_INIT;
	uint64_t n = 0;
	int r, q;

	r = channel_accept(req, l, &dc, serr);
	if (r >= 0) {
		r = zf_rpc_stream_recv(dc, ZF_RPC_DATACHAN_ID, recv_sink, g, NULL, &derr);
		if (r < 0 && !g->failed)
			r = dc_fail(serr, r, &derr);
		else if (r < 0)
			r = zf_err_copy(serr, r, &derr);
	}
	if (r >= 0 || g->failed) {
		zf_err_clear(&derr);
		q = zf_rpc_request_recv_stream(req, NULL, NULL, &n, &derr);
		if (q >= 0 && n > 0)
			q = zf_err_set(&derr, -ZF_E_PROTO, "%llu bytes on the control "
				       "connection besides the data channel's stream",
				       (unsigned long long)n);
		if (q < 0) {
			g->failed = false;
			r = dc_fail(serr, q, &derr);
		}
	}
	return r;
}

/* The receive's arguments: what the client asks, under its identity's receive policy. */
static void recv_prepare(struct serve *sv, const struct zf_rpc_request *req,
			 const struct zf_req_recv *q, struct zf_recv_policy *pol,
			 struct recv_gate *g)
{
	const char *const *roots;

	recv_scope(sv, req, pol, &roots);
	g->target = q->fs;
	g->rq.resumable = q->resumable;
	g->rq.force = q->force;
	g->rq.request = (struct zf_recv_request){ q->set_prop.v, q->exclude_prop.v, false };
	g->rq.policy = pol;
	g->rq.origin_roots = roots;
}

/* The client's stream through the gate, on the data channel l (then freed) or on control. */
static int recv_take_stream(struct zf_rpc_request *req, struct zf_datachan_listener *l,
			    struct recv_gate *g, struct zf_err *serr)
{
	int r;

	if (l)
		r = recv_on_channel(req, l, g, serr);
	else
		r = zf_rpc_request_recv_stream(req, recv_sink, g, NULL, serr);
	zf_datachan_listener_free(l);
	zf_buf_release(&g->head);
	return r;
}

/* zfs recv never ran: refused before it, or the stream ended inside its head. */
static int recv_refused(const char *what, int r, const struct zf_err *serr, struct zf_err *err)
{
	if (r < 0)
		return zf_err_copy(err, r, serr);
	return zf_err_set(err, -EINVAL, "%s: the stream ended before its first record was "
			  "complete", what);
}

/*
 * The client's stream broke (ERROR, a cut connection, a bad END): zfs recv
 * must not finish on what it got as if that were the whole stream.
 * Killed, it keeps its resume token.
 */
static int recv_abandon(struct recv_gate *g, const char *what, int r, const struct zf_err *serr,
			struct zf_err *err)
{
	struct zf_err ferr = ZF_ERR_INIT;

	g->ep->ops->stream_kill(g->ep, &g->st);
	(void)g->ep->ops->stream_finish(g->ep, &g->st, what, &ferr);
	return zf_err_set(err, r, "%s: %s", what, zf_err_msg(serr));
}

/*
 * zfs recv's own verdict, which explains a sink failure (r, serr) better
 * than EPIPE does.  It may take long to come (zfs recv commits the stream
 * after the last byte), and the client waits for it on a timed read.
 */
static int recv_verdict(struct zf_rpc_request *req, struct recv_gate *g, const char *what, int r,
			const struct zf_err *serr, struct zf_err *err)
{
	struct zf_err ferr = ZF_ERR_INIT;
	struct zf_rpc_keepalive *ka;
	int k;

	ka = zf_rpc_keepalive_start(req->conn);
	k = g->ep->ops->stream_finish(g->ep, &g->st, what, &ferr);
	zf_rpc_keepalive_stop(ka);
	if (k < 0)
		return zf_err_copy(err, k, &ferr);
	if (r < 0)
		return zf_err_set(err, r, "%s: %s", what, zf_err_msg(serr));
	return 0;
}

static int h_recv(struct zf_rpc_request *req, void *userdata, struct zf_err *err)
{
	_cleanup_(zf_req_recv_release) struct zf_req_recv q = { 0 };
	_cleanup_(zf_datachan_listener_freep) struct zf_datachan_listener *l = NULL;
	_cleanup_free_ char *what = NULL;
	struct recv_gate g = { .ep = endpoint(userdata), .want = ZF_ZFS_RECORD_SIZE,
			       .st = { -EBADF, NULL } };
	struct zf_err serr = ZF_ERR_INIT;
	struct zf_recv_policy pol;
	int r;

	r = zf_req_recv_decode(req->msg, &q, err);
	if (r >= 0)
		r = take_channel(req, userdata, &l, err);
	if (r < 0)
		return r;
	recv_prepare(userdata, req, &q, &pol, &g);
	what = zf_xasprintf("receive into '%s'", q.fs);

	r = recv_take_stream(req, TAKE_PTR(l), &g, &serr);
	if (!g.started)
		return recv_refused(what, r, &serr, err);
	if (r < 0 && !g.failed)
		return recv_abandon(&g, what, r, &serr, err);
	return recv_verdict(req, &g, what, r, &serr, err);
}

/* ---- serving ---------------------------------------------------------------------- */

/* One row per request of rpc/protocol.def: PING's is NULL, rpc/conn.c answers it. */
static const struct zf_rpc_handler handlers[] = {
#define ZF_REQUEST(name, kind, flags, fs_tag, owned_tag, owned_prefix, handler) \
	{ ZF_RPC_##name, handler },
#include "rpc/protocol.def"
};

static int serve_allow(void *userdata, const char *identity, const struct zf_rpc_req_info *info,
		       const struct zf_msg *msg, struct zf_err *err)
{
	struct serve *s = userdata;

	return s->hooks->allow(s->hooks->userdata, identity, info, msg, err);
}

/* What a client may not read stays in the server's log. */
static void error_filter(void *userdata, const char *identity, const struct zf_msg *request,
			 int *code, char *msg, size_t size)
{
	const struct zf_serve_hooks *hooks = userdata;
	_cleanup_free_ char *orig = zf_xstrdup(msg);

	if (hooks->redact(hooks->userdata, identity, request, code, msg, size))
		log_notice("serve: error for '%s' withheld from it: %s", identity, orig);
}

int zf_serve_conn(struct zf_rpc_conn *c, struct zf_endpoint *ep,
		  const struct zf_serve_hooks *hooks, struct zf_err *err)
{
	static const struct zf_serve_hooks none = { 0 };
	struct serve s = { .ep = ep, .hooks = hooks ? hooks : &none };
	struct zf_rpc_server server = {
		.handlers = handlers,
		.n_handlers = ELEMENTSOF(handlers),
		.allow = s.hooks->allow ? serve_allow : NULL,
		.userdata = &s,
	};

	if (s.hooks->redact)
		zf_rpc_conn_set_error_filter(c, error_filter, (void *)s.hooks);
	int r;

	r = zf_rpc_serve(c, &server, err);
	zf_datachan_listener_free(s.dc);
	cache_drop(&s);
	return r;
}
