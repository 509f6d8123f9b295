/*
 * src/server/listen.c — serving connections: stdio, or listeners and a child per connection
 *
 * --stdio serves one connection on stdin/stdout, as ssh starts it.
 * --listen accepts tls and tcp connections and forks a child for each, so
 * that a connection's zfs processes, TLS handshake and memory die with it
 * and one client cannot stall another.  The parent only accepts, reaps and
 * logs; it never reads a byte from a client.
 *
 * Strangers (issue 10): until a child has authenticated its client (TLS
 * handshake, HELLO, identity in the config) the parent holds it to
 * serve.handshake_timeout and serve.limits, with the bookkeeping of
 * server/conntab.h.  The deadline lives in the parent, not in the child's
 * reads: the parent reads nothing from clients, so no byte a peer sends
 * can move it, and the signal that ends a child cannot be delayed by
 * whatever the child is blocked in (OpenSSL, a write to a peer that reads
 * nothing).  The same signal evicts the oldest stranger when a newcomer
 * would exceed a limit.  A child says it has authenticated with one byte
 * on a pipe of its own; before writing it, it blocks that signal, so once
 * the parent can know, an eviction can no longer end it.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "config/config.h"
#include "endpoint/endpoint.h"
#include "log/log.h"
#include "rpc/conn.h"
#include "server/conntab.h"
#include "server/grants.h"
#include "server/listen.h"
#include "server/server.h"
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/num.h"
#include "util/proc.h"
#include "util/banned.h"

/* ends a child whose handshake ran out or that is evicted; see the top of the file */
#define SIG_EVICT SIGUSR1

struct listener {
	const struct zf_listen_addr *a;
	int fd;
	char *name;             /* "tls://127.0.0.1:4434", with the real port */
};

/* zf_server_listen()'s listeners, released together. */
struct listeners {
	struct listener v[ZF_SERVER_MAX_LISTENERS];
	size_t n;
};

/* What the accept loop holds. */
struct server {
	const struct zf_server_opts *o;
	struct listener *ls;
	size_t n_ls;
	struct zf_config *cfg;
	const struct zf_tcp_allow *allow;
	struct zf_conntab tab;          /* a row per child; fd: its pipe while unauthenticated */
	struct pollfd *pfd;             /* listeners, then the pipes of pfd_pid[] */
	pid_t *pfd_pid;
	size_t pfd_alloc;
};

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_child;

static void on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

static void on_child(int sig)
{
	(void)sig;
	got_child = 1;
}

/*
 * Tells the parent that this child's client has authenticated (auth_fd -1:
 * there is no parent to tell).  SIG_EVICT is blocked first: after this the
 * parent cannot end us, and if it chose us a moment before it read the
 * byte, the signal stays pending and harmless (zfs processes start with
 * an empty mask, and pending signals are not inherited).
 */
static void tell_authenticated(int auth_fd)
{
	sigset_t evict;
	int r;

	if (auth_fd < 0)
		return;
	sigemptyset(&evict);
	sigaddset(&evict, SIG_EVICT);
	sigprocmask(SIG_BLOCK, &evict, NULL);
	r = zf_write_full(auth_fd, "A", 1);
	if (r < 0)
		log_debug_errno(r, "cannot tell the parent that the client authenticated: %m");
	safe_close(auth_fd);
}

/*
 * Serves one connection that is past the transport's own authentication:
 * the greeting refuses an identity the config does not list, the rest is
 * requests until the client closes.  0 at the client's end, 1 when the
 * greeting refused it (err says why), <0 on errors.
 */
static int serve_one(const struct zf_server_opts *o, struct zf_transport *t, int auth_fd,
		     struct zf_err *err)
{
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *c = NULL;
	_cleanup_(zf_endpoint_freep) struct zf_endpoint *ep = NULL;
	struct zf_config *cfg = o->cfg;
	int r;

	c = zf_rpc_conn_new(t);
	r = zf_serve_greet(c, cfg, err);
	if (r == -EACCES)
		return 1;
	if (r < 0)
		return r;
	tell_authenticated(auth_fd);
	ep = o->endpoint_new();
	const struct zf_serve_datachan dc = {
		.listen = cfg ? cfg->serve.dc_listen : NULL,
		.first = cfg ? (uint16_t)cfg->serve.dc_first : 0,
		.last = cfg ? (uint16_t)cfg->serve.dc_last : 0,
	};
	/* without a config (a root ssh login) everything is allowed, but receives still follow the built-in policy */
	const struct zf_serve_hooks hooks = {
		.allow = cfg ? zf_serve_allow : NULL,
		.datachan = cfg && cfg->serve.dc_present ? &dc : NULL,
		.recv_scope = zf_serve_recv_scope,
		.redact = cfg ? zf_serve_redact : NULL,
		.userdata = cfg,
	};
	return zf_serve_conn(c, ep, &hooks, err);
}

int zf_server_stdio(const struct zf_server_opts *o, const char *identity)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_transport *t;
	int r;

	/* stdout carries the protocol: nothing else may ever write to it */
	zf_log_set_fd(2);
	t = zf_transport_local_new(0, 1, identity);
	if (o->cfg)
		zf_transport_set_timeout(t, o->cfg->serve.timeout_s * 1000);
	log_info("serving '%s' on stdin/stdout", identity);
	r = serve_one(o, t, -1, &err);
	if (r == 1) {
		log_error("serve: refused at the greeting: %s", zf_err_msg(&err));
		return ZF_SERVER_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "serve: identity '%s': %s", identity, zf_err_msg(&err));
		return ZF_SERVER_FAILED;
	}
	return ZF_SERVER_OK;
}

int zf_server_parse_listen(const char *s, struct zf_listen_addr *l, struct zf_err *err)
{
	const char *rest, *colon, *hend;
	uint16_t port;

	if ((rest = startswith(s, "tls://")))
		l->tls = true;
	else if (!(rest = startswith(s, "tcp://")))
		return zf_err_set(err, -EINVAL, "--listen takes tls://[ADDR]:PORT or "
				  "tcp://[ADDR]:PORT, not '%s'", s);
	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');
		if (!close || close[1] != ':')
			return zf_err_set(err, -EINVAL, "bad address in --listen '%s'", s);
		l->host = zf_xstrndup(rest + 1, (size_t)(close - rest - 1));
		colon = close + 1;
	} else {
		colon = strrchr(rest, ':');
		if (!colon)
			return zf_err_set(err, -EINVAL, "no port in --listen '%s'", s);
		hend = colon;
		if (hend > rest)
			l->host = zf_xstrndup(rest, (size_t)(hend - rest));
		if (l->host && strchr(l->host, ':'))
			return zf_err_set(err, -EINVAL,
					  "IPv6 address in --listen '%s' needs brackets", s);
	}
	if (zf_parse_port(colon + 1, strlen(colon + 1), &port) < 0)
		return zf_err_set(err, -EINVAL, "bad port in --listen '%s'", s);
	if (l->host && (!*l->host || l->host[0] == '-'))
		return zf_err_set(err, -EINVAL, "bad address in --listen '%s'", s);
	l->port = zf_xstrdup(colon + 1);
	return 0;
}

void zf_listen_addr_release(struct zf_listen_addr *a)
{
	free(a->host);
	free(a->port);
	*a = (struct zf_listen_addr){};
}

static void listeners_release(struct listeners *ls)
{
	for (size_t i = 0; i < ls->n; i++) {
		ls->v[i].fd = safe_close(ls->v[i].fd);
		free(ls->v[i].name);
	}
}

/*
 * The child of one connection: authenticate, tell the parent on auth_fd,
 * then serve until the client closes.
 */
static _noreturn_ void child_main(const struct zf_server_opts *o, const struct listener *l,
				  struct zf_transport *t, int auth_fd)
{
	const struct zf_config *cfg = o->cfg;
	struct zf_err err = ZF_ERR_INIT;
	char addr[ZF_TRANSPORT_MAX_PEER];
	int r;

	/* a copy: t is freed by a failed tls handshake and at the end of serve_one() */
	snprintf(addr, sizeof(addr), "%s", zf_transport_peer(t));
	_cleanup_(zf_log_scope_end) _unused_ struct zf_log_scope s = zf_log_scope("peer", addr);

	zf_transport_set_timeout(t, cfg->serve.timeout_s * 1000);
	(void)zf_transport_set_keepalive(t, 60, 10, 6, &err);
	zf_err_clear(&err);
	if (l->a->tls) {
		const struct zf_tls_opts tls_opts = {
			.ca_file = cfg->serve.tls_ca,
			.cert_file = cfg->serve.tls_cert,
			.key_file = cfg->serve.tls_key,
			.crl_file = cfg->serve.tls_crl,      /* read again for every connection */
			.timeout_ms = cfg->serve.timeout_s * 1000,
		};
		struct zf_transport *tls = NULL;

		r = zf_tls_server(t, &tls_opts, &tls, &err);
		if (r < 0) {
			log_warning_errno(r, "tls handshake with '%s' failed: %s", addr,
					  zf_err_msg(&err));
			_exit(ZF_SERVER_FAILED);
		}
		t = tls;
		/*
		 * The identity is "tls:CN", so a CN cannot pass for a tcp address
		 * or an ssh key's identity; one that reads like either is still
		 * refused, as it can only be a mistake or a probe.
		 */
		const char *cn = zf_transport_peer(t) + 4;
		if (startswith(cn, "tcp:") || startswith(cn, "ssh:") || startswith(cn, "tls:")) {
			log_warning("refused tls client: certificate CN '%s' looks like a %.3s "
				    "identity", cn, cn);
			zf_transport_free(t);
			_exit(ZF_SERVER_FAILED);
		}
	}
	zf_log_scope_add("identity", zf_transport_peer(t));
	log_notice("connection from '%s': identity '%s'", addr, zf_transport_peer(t));
	r = serve_one(o, t, auth_fd, &err);
	if (r == 1) {
		log_warning("refused '%s' at the greeting: %s", addr, zf_err_msg(&err));
		_exit(ZF_SERVER_FAILED);
	}
	if (r < 0) {
		log_error_errno(r, "connection failed: %s", zf_err_msg(&err));
		_exit(ZF_SERVER_FAILED);
	}
	_exit(ZF_SERVER_OK);
}

static void log_victim(const struct server *srv, const struct zf_conn *c)
{
	const struct zf_conntab_limits *lim = &srv->tab.lim;

	switch (c->why) {
	case ZF_CONN_OUT_OF_TIME:
		log_warning("handshake of '%s' ran out after %d s: closed (pid %d)", c->peer,
			    srv->o->cfg->serve.handshake_timeout_s, (int)c->pid);
		return;
	case ZF_CONN_SOURCE_FULL:
		log_warning("evicted unauthenticated connection from '%s' (pid %d): more than "
			    "%u from %s", c->peer, (int)c->pid, lim->per_source, c->source);
		return;
	case ZF_CONN_UNAUTH_FULL:
		log_warning("evicted unauthenticated connection from '%s' (pid %d): more than "
			    "%u unauthenticated", c->peer, (int)c->pid, lim->unauthenticated);
		return;
	case ZF_CONN_ALL_FULL:
		log_warning("evicted unauthenticated connection from '%s' (pid %d): all %u "
			    "connections taken", c->peer, (int)c->pid, lim->connections);
		return;
	}
}

/* Ends every child the table wants gone: out of time, or over a limit. */
static void evict(struct server *srv)
{
	struct zf_conn *c;

	while ((c = zf_conntab_next_victim(&srv->tab, zf_now_ms()))) {
		(void)kill(c->pid, SIG_EVICT);
		log_victim(srv, c);
	}
}

/* A child's pipe is readable: its one byte (authenticated), or its end. */
static void read_auth(struct server *srv, pid_t pid)
{
	struct zf_conn *c = zf_conntab_find(&srv->tab, pid);
	char b;

	if (!c || c->fd < 0)
		return;
	if (zf_read_timeout(c->fd, &b, 1, 0) == 1) {
		if (c->state == ZF_CONN_DYING)
			log_notice("connection from '%s' authenticated before its eviction took "
				   "effect (pid %d)", c->peer, (int)pid);
		c->state = ZF_CONN_AUTHENTICATED;
	}
	/* else the child ended without authenticating: reap() says how */
	c->fd = safe_close(c->fd);
}

static void reap(struct server *srv)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		struct zf_conn *c;
		char st[64];

		if (pid <= 0)
			return;
		c = zf_conntab_find(&srv->tab, pid);
		if (!c)
			continue;
		zf_proc_status_str(status, st, sizeof(st));
		if (c->state == ZF_CONN_DYING)
			log_info("connection from '%s' closed: %s (pid %d)", c->peer, st, (int)pid);
		else if (status == 0)
			log_info("connection from '%s' ended (pid %d)", c->peer, (int)pid);
		else
			log_notice("connection from '%s' ended: %s (pid %d)", c->peer, st, (int)pid);
		safe_close(c->fd);
		zf_conntab_remove(&srv->tab, c);
	}
}

/* In a child just forked: drop what the parent holds, then serve the connection. */
static _noreturn_ void become_child(struct server *srv, const struct listener *l,
				    struct zf_transport *t, int auth_fd)
{
	sigset_t none;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIG_EVICT, SIG_DFL);     /* even if whoever started us ignored it */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (size_t i = 0; i < srv->n_ls; i++)
		srv->ls[i].fd = safe_close(srv->ls[i].fd);
	for (size_t i = 0; i < srv->tab.n; i++)
		srv->tab.v[i].fd = safe_close(srv->tab.v[i].fd);
	child_main(srv->o, l, t, auth_fd);
}

static void accept_one(struct server *srv, const struct listener *l)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_transport *t = NULL;
	int p[2] = { -EBADF, -EBADF };
	pid_t pid;
	int r;

	r = zf_tcp_accept(l->fd, 0, l->a->tls ? NULL : srv->allow, &t, &err);
	if (r == -ETIMEDOUT || r == -EAGAIN || r == -EINTR)
		return;
	if (r < 0) {
		log_warning_errno(r, "%s: %s", l->name, zf_err_msg(&err));
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		log_error_errno(-errno, "cannot make a pipe for '%s': %m", zf_transport_peer(t));
		zf_transport_free(t);
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_error_errno(-errno, "cannot fork for '%s': %m", zf_transport_peer(t));
		safe_close_pair(p);
		zf_transport_free(t);
		return;
	}
	if (pid == 0) {
		safe_close(p[0]);
		become_child(srv, l, t, p[1]);
	}
	safe_close(p[1]);
	zf_conntab_add(&srv->tab, pid, p[0], zf_transport_peer(t), zf_now_ms());
	log_info("%s: connection from '%s' (pid %d)", l->name, zf_transport_peer(t), (int)pid);
	zf_transport_free(t);
	evict(srv);
}

/*
 * One turn of the accept loop: waits for a connection, a child's byte or
 * end, or the next handshake deadline, then handles what came.  The
 * listeners are left out while no connection may be accepted (they wait
 * in the listen queue) and once stopping.  <0 when waiting failed.
 */
static int turn(struct server *srv, const sigset_t *mask, bool stopping)
{
	bool accepting = !stopping && zf_conntab_can_accept(&srv->tab);
	int64_t wait = zf_conntab_next_deadline(&srv->tab, zf_now_ms());
	struct timespec ts = { wait / 1000, (long)(wait % 1000) * 1000000L };
	size_t n = srv->n_ls;
	int k;

	if (srv->n_ls + srv->tab.n > srv->pfd_alloc) {
		srv->pfd_alloc = 2 * (srv->n_ls + srv->tab.n);
		srv->pfd = zf_xreallocarray(srv->pfd, srv->pfd_alloc, sizeof(*srv->pfd));
		srv->pfd_pid = zf_xreallocarray(srv->pfd_pid, srv->pfd_alloc,
						sizeof(*srv->pfd_pid));
	}
	for (size_t i = 0; i < srv->n_ls; i++)
		srv->pfd[i] = (struct pollfd){ .fd = accepting ? srv->ls[i].fd : -1,
					       .events = POLLIN };
	for (size_t i = 0; i < srv->tab.n; i++) {
		if (srv->tab.v[i].fd < 0)
			continue;
		srv->pfd[n] = (struct pollfd){ .fd = srv->tab.v[i].fd, .events = POLLIN };
		srv->pfd_pid[n++] = srv->tab.v[i].pid;
	}
	k = ppoll(srv->pfd, n, wait >= 0 ? &ts : NULL, mask);
	if (k < 0 && errno != EINTR)
		return log_error_errno(-errno, "cannot wait for connections: %m");
	got_child = 0;
	for (size_t i = srv->n_ls; k > 0 && i < n; i++)
		if (srv->pfd[i].revents)
			read_auth(srv, srv->pfd_pid[i]);
	reap(srv);
	evict(srv);
	for (size_t i = 0; k > 0 && i < srv->n_ls && !got_stop; i++)
		if (srv->pfd[i].revents & POLLIN && zf_conntab_can_accept(&srv->tab))
			accept_one(srv, &srv->ls[i]);
	return 0;
}

static int check_readable(const char *what, const char *path)
{
	if (access(path, R_OK) < 0) {
		fprintf(stderr, "zferry serve: cannot read %s '%s': %s\n", what, path,
			strerror(errno));
		return ZF_SERVER_FAILED;
	}
	return 0;
}

/* Loads the files as each connection will, so that a bad CRL or key stops us now. */
static int check_tls(const struct zf_config *cfg)
{
	const struct zf_tls_opts o = {
		.ca_file = cfg->serve.tls_ca,
		.cert_file = cfg->serve.tls_cert,
		.key_file = cfg->serve.tls_key,
		.crl_file = cfg->serve.tls_crl,
	};
	struct zf_err err = ZF_ERR_INIT;

	if (zf_tls_check(&o, true, &err) < 0) {
		fprintf(stderr, "zferry serve: %s: %s\n", cfg->path, err.msg);
		return ZF_SERVER_FAILED;
	}
	return 0;
}

/*
 * What the listeners need from the config: serve.tls for tls://, and
 * serve.tcp.allow for tcp://, parsed into *allow; TLS files that load.
 * ZF_SERVER_OK, or a status whose reason is said on stderr.
 */
static int check_config(const struct zf_config *cfg, const struct listeners *ls,
			struct zf_tcp_allow **allow)
{
	struct zf_err err = ZF_ERR_INIT;
	bool any_tls = false, any_tcp = false;

	for (size_t i = 0; i < ls->n; i++) {
		any_tls |= ls->v[i].a->tls;
		any_tcp |= !ls->v[i].a->tls;
	}
	if (any_tls && !cfg->serve.tls_ca) {
		fprintf(stderr, "zferry serve: tls:// listener needs serve.tls (ca, cert, key) in "
			"'%s'\n", cfg->path);
		return ZF_SERVER_BAD_CONFIG;
	}
	if (any_tcp && !cfg->serve.tcp_present) {
		fprintf(stderr, "zferry serve: tcp:// listener needs serve.tcp.allow in '%s'\n",
			cfg->path);
		return ZF_SERVER_BAD_CONFIG;
	}
	if (any_tls && (check_readable("serve.tls.ca", cfg->serve.tls_ca) ||
			check_readable("serve.tls.cert", cfg->serve.tls_cert) ||
			check_readable("serve.tls.key", cfg->serve.tls_key) ||
			check_tls(cfg)))
		return ZF_SERVER_FAILED;
	if (any_tcp && zf_tcp_allow_parse((const char *const *)cfg->serve.tcp_allow.v,
					  cfg->serve.tcp_allow.n, allow, &err) < 0) {
		fprintf(stderr, "zferry serve: %s: %s\n", cfg->path, err.msg);
		return ZF_SERVER_BAD_CONFIG;
	}
	return ZF_SERVER_OK;
}

/* Listens on every address, non-blocking, and names each listener with its real port. */
static int open_listeners(struct listeners *ls)
{
	struct zf_err err = ZF_ERR_INIT;

	for (size_t i = 0; i < ls->n; i++) {
		struct listener *l = &ls->v[i];
		uint16_t port = 0;
		bool v6 = l->a->host && strchr(l->a->host, ':');

		if (zf_tcp_listen(l->a->host, l->a->port, &l->fd, &err) < 0 ||
		    zf_tcp_local_port(l->fd, &port, &err) < 0) {
			fprintf(stderr, "zferry serve: %s\n", err.msg);
			return ZF_SERVER_FAILED;
		}
		/* a connection reset between poll and accept must not block the loop */
		(void)zf_fd_nonblock(l->fd, 1);
		l->name = zf_xasprintf("%s://%s%s%s:%u", l->a->tls ? "tls" : "tcp",
				       v6 ? "[" : "", l->a->host ? l->a->host : "*",
				       v6 ? "]" : "", port);
	}
	return ZF_SERVER_OK;
}

/*
 * SIGTERM and SIGINT stop the loop, SIGCHLD says a child ended.  They wake
 * ppoll() only: blocked elsewhere, so no wakeup is lost.  *orig is the
 * mask from before, the one ppoll() waits with.
 */
static void setup_signals(sigset_t *orig)
{
	struct sigaction sa = {};
	sigset_t block;

	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, orig);
}

/* Accepts connections until SIGTERM or SIGINT, or until waiting fails. */
static int accept_loop(struct server *srv, const sigset_t *orig)
{
	while (!got_stop)
		if (turn(srv, orig, false) < 0)
			return ZF_SERVER_FAILED;
	return ZF_SERVER_OK;
}

/*
 * Stops accepting and lets the connections in flight finish, handshakes in
 * their time.  Whatever happens (r: how the loop ended), every child is
 * reaped before we return.
 */
static int drain(struct server *srv, const sigset_t *orig, int r)
{
	for (size_t i = 0; i < srv->n_ls; i++)
		srv->ls[i].fd = safe_close(srv->ls[i].fd);
	if (srv->tab.n)
		log_notice("stopping: waiting for %zu connection%s to end", srv->tab.n,
			   srv->tab.n == 1 ? "" : "s");
	while (srv->tab.n > 0 && r == ZF_SERVER_OK)
		if (turn(srv, orig, true) < 0)
			r = ZF_SERVER_FAILED;
	/* only when waiting failed: still reap every child */
	while (srv->tab.n > 0) {
		sigsuspend(orig);
		reap(srv);
	}
	return r;
}

int zf_server_listen(const struct zf_server_opts *o, const struct zf_listen_addr *addrs, size_t n_addrs)
{
	struct zf_config *cfg = o->cfg;
	_cleanup_(zf_tcp_allow_freep) struct zf_tcp_allow *allow = NULL;
	_cleanup_(listeners_release) struct listeners ls = {};
	struct server srv;
	sigset_t orig;
	int r;

	assert(n_addrs <= ZF_SERVER_MAX_LISTENERS);
	for (size_t i = 0; i < n_addrs; i++)
		ls.v[ls.n++] = (struct listener){ .a = &addrs[i], .fd = -EBADF };
	r = check_config(cfg, &ls, &allow);
	if (r != ZF_SERVER_OK)
		return r;
	r = open_listeners(&ls);
	if (r != ZF_SERVER_OK)
		return r;
	setup_signals(&orig);

	/* plain lines, whatever the log format: scripts and tests read the port here */
	for (size_t i = 0; i < ls.n; i++)
		fprintf(stderr, "zferry serve: listening on %s\n", ls.v[i].name);
	fflush(stderr);

	srv = (struct server){ .o = o, .ls = ls.v, .n_ls = ls.n, .cfg = cfg, .allow = allow };
	zf_conntab_init(&srv.tab, &(struct zf_conntab_limits){
		.connections = cfg->serve.limits.connections,
		.unauthenticated = cfg->serve.limits.unauthenticated,
		.per_source = cfg->serve.limits.unauth_per_address,
		.handshake_ms = (int64_t)cfg->serve.handshake_timeout_s * 1000,
	});
	r = accept_loop(&srv, &orig);
	r = drain(&srv, &orig, r);
	log_info("stopped");
	sigprocmask(SIG_SETMASK, &orig, NULL);
	zf_conntab_release(&srv.tab);
	free(srv.pfd);
	free(srv.pfd_pid);
	return r;
}
