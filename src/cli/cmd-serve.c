/*
 * src/cli/cmd-serve.c — zferry serve: the far end of a remote replication
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
 * daemon/conntab.h.  The deadline lives in the parent, not in the child's
 * reads: the parent reads nothing from clients, so no byte a peer sends
 * can move it, and the signal that ends a child cannot be delayed by
 * whatever the child is blocked in (OpenSSL, a write to a peer that reads
 * nothing).  The same signal evicts the oldest stranger when a newcomer
 * would exceed a limit.  A child says it has authenticated with one byte
 * on a pipe of its own; before writing it, it blocks that signal, so once
 * the parent can know, an eviction can no longer end it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/cli.h"
#include "daemon/conntab.h"
#include "job/config.h"
#include "job/endpoint.h"
#include "job/grants.h"
#include "job/remote.h"
#include "log/log.h"
#include "rpc/conn.h"
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/proc.h"
#include "util/strv.h"
#include "util/banned.h"

#define MAX_LISTENERS 16
/* ends a child whose handshake ran out or that is evicted; see the top of the file */
#define SIG_EVICT SIGUSR1

struct listener {
	bool tls;
	char *host;             /* NULL: every address */
	char *port;
	int fd;
	char *name;             /* "tls://127.0.0.1:4434", with the real port */
};

/* What the accept loop holds. */
struct server {
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

/* --debug-null-endpoint: receives go nowhere (bench/replicate-net) */
static bool null_endpoint;

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
static int serve_one(struct zf_transport *t, struct zf_config *cfg, int auth_fd,
		     struct zf_err *err)
{
	_cleanup_(zf_rpc_conn_freep) struct zf_rpc_conn *c = NULL;
	_cleanup_(zf_endpoint_freep) struct zf_endpoint *ep = NULL;
	int r;

	c = zf_rpc_conn_new(t);
	r = zf_serve_greet(c, cfg, err);
	if (r == -EACCES)
		return 1;
	if (r < 0)
		return r;
	tell_authenticated(auth_fd);
	ep = null_endpoint ? zf_endpoint_null_new() : zf_endpoint_local_new();
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

static int serve_stdio(struct zf_config *cfg, const char *identity)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_transport *t;
	int r;

	/* stdout carries the protocol: nothing else may ever write to it */
	zf_log_set_fd(2);
	t = zf_transport_local_new(0, 1, identity);
	if (cfg)
		zf_transport_set_timeout(t, cfg->serve.timeout_s * 1000);
	log_info("serving '%s' on stdin/stdout", identity);
	r = serve_one(t, cfg, -1, &err);
	if (r == 1) {
		log_error("serve: refused at the greeting: %s", zf_err_msg(&err));
		return ZF_EXIT_FAIL;
	}
	if (r < 0) {
		log_error_errno(r, "serve: identity '%s': %s", identity, zf_err_msg(&err));
		return ZF_EXIT_FAIL;
	}
	return ZF_EXIT_OK;
}

/* tls://[ADDR]:PORT or tcp://[ADDR]:PORT; ADDR may be empty (every address) or [v6]. */
static int parse_listen(const char *s, struct listener *l, struct zf_err *err)
{
	const char *rest, *colon, *hend;

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
	if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 5 || strtoul(colon + 1, NULL, 10) > 65535)
		return zf_err_set(err, -EINVAL, "bad port in --listen '%s'", s);
	if (l->host && (!*l->host || l->host[0] == '-'))
		return zf_err_set(err, -EINVAL, "bad address in --listen '%s'", s);
	l->port = zf_xstrdup(colon + 1);
	return 0;
}

static void listeners_release(struct listener *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		v[i].fd = safe_close(v[i].fd);
		free(v[i].host);
		free(v[i].port);
		free(v[i].name);
	}
}

/*
 * The child of one connection: authenticate, tell the parent on auth_fd,
 * then serve until the client closes.
 */
static _noreturn_ void child_main(const struct listener *l, struct zf_transport *t,
				  struct zf_config *cfg, int auth_fd)
{
	struct zf_err err = ZF_ERR_INIT;
	char addr[ZF_TRANSPORT_MAX_PEER];
	int r;

	/* a copy: t is freed by a failed tls handshake and at the end of serve_one() */
	snprintf(addr, sizeof(addr), "%s", zf_transport_peer(t));
	_cleanup_(zf_log_scope_end) _unused_ struct zf_log_scope s = zf_log_scope("peer", addr);

	zf_transport_set_timeout(t, cfg->serve.timeout_s * 1000);
	(void)zf_transport_set_keepalive(t, 60, 10, 6, &err);
	zf_err_clear(&err);
	if (l->tls) {
		const struct zf_tls_opts o = {
			.ca_file = cfg->serve.tls_ca,
			.cert_file = cfg->serve.tls_cert,
			.key_file = cfg->serve.tls_key,
			.crl_file = cfg->serve.tls_crl,      /* read again for every connection */
			.timeout_ms = cfg->serve.timeout_s * 1000,
		};
		struct zf_transport *tls = NULL;

		r = zf_tls_server(t, &o, &tls, &err);
		if (r < 0) {
			log_warning_errno(r, "tls handshake with '%s' failed: %s", addr,
					  zf_err_msg(&err));
			_exit(ZF_EXIT_FAIL);
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
			_exit(ZF_EXIT_FAIL);
		}
	}
	zf_log_scope_add("identity", zf_transport_peer(t));
	log_notice("connection from '%s': identity '%s'", addr, zf_transport_peer(t));
	r = serve_one(t, cfg, auth_fd, &err);
	if (r == 1) {
		log_warning("refused '%s' at the greeting: %s", addr, zf_err_msg(&err));
		_exit(ZF_EXIT_FAIL);
	}
	if (r < 0) {
		log_error_errno(r, "connection failed: %s", zf_err_msg(&err));
		_exit(ZF_EXIT_FAIL);
	}
	_exit(ZF_EXIT_OK);
}

static void log_victim(const struct server *srv, const struct zf_conn *c)
{
	const struct zf_conntab_limits *lim = &srv->tab.lim;

	switch (c->why) {
	case ZF_CONN_OUT_OF_TIME:
		log_warning("handshake of '%s' ran out after %d s: closed (pid %d)", c->peer,
			    srv->cfg->serve.handshake_timeout_s, (int)c->pid);
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
	child_main(l, t, srv->cfg, auth_fd);
}

static void accept_one(struct server *srv, const struct listener *l)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_transport *t = NULL;
	int p[2] = { -EBADF, -EBADF };
	pid_t pid;
	int r;

	r = zf_tcp_accept(l->fd, 0, l->tls ? NULL : srv->allow, &t, &err);
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
		return ZF_EXIT_FAIL;
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
		return ZF_EXIT_FAIL;
	}
	return 0;
}

/*
 * --identity NAME: the ssh key's identity, "ssh:NAME" to the grants (an
 * "ssh:" given is not doubled).  Refused: empty, control characters, and
 * "tls:" or "tcp:", which would claim another transport's identity.
 */
static int ssh_identity(const char *s, char *buf, size_t size, struct zf_err *err)
{
	const char *name = startswith(s, "ssh:") ? s + 4 : s;

	if (!*name)
		return zf_err_set(err, -EINVAL, "--identity is empty");
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return zf_err_set(err, -EINVAL, "--identity contains a control character");
	if (startswith(name, "tls:") || startswith(name, "tcp:"))
		return zf_err_set(err, -EINVAL, "--identity '%s' would pass for a %.3s identity",
				  name, name);
	if ((size_t)snprintf(buf, size, "ssh:%s", name) >= size)
		return zf_err_set(err, -EINVAL, "--identity is longer than %zu bytes", size - 5);
	return 0;
}

static int serve_listen(struct zf_config *cfg, struct zf_strv *urls)
{
	_cleanup_(zf_tcp_allow_freep) struct zf_tcp_allow *allow = NULL;
	struct listener ls[MAX_LISTENERS] = {};
	struct zf_err err = ZF_ERR_INIT;
	struct sigaction sa = {};
	struct server srv;
	sigset_t block, orig;
	size_t n = 0;
	bool any_tls = false, any_tcp = false;
	int r = ZF_EXIT_OK;

	if (urls->n > MAX_LISTENERS)
		return zf_usage_error("serve", "at most %d --listen", MAX_LISTENERS);
	for (size_t i = 0; i < urls->n; i++) {
		ls[i].fd = -EBADF;
		n++;
		if (parse_listen(urls->v[i], &ls[i], &err) < 0) {
			listeners_release(ls, n);
			return zf_usage_error("serve", "%s", err.msg);
		}
		any_tls |= ls[i].tls;
		any_tcp |= !ls[i].tls;
	}
	if (any_tls && !cfg->serve.tls_ca) {
		fprintf(stderr, "zferry serve: tls:// listener needs serve.tls (ca, cert, key) in "
			"'%s'\n", cfg->path);
		listeners_release(ls, n);
		return ZF_EXIT_USAGE;
	}
	if (any_tcp && !cfg->serve.tcp_present) {
		fprintf(stderr, "zferry serve: tcp:// listener needs serve.tcp.allow in '%s'\n",
			cfg->path);
		listeners_release(ls, n);
		return ZF_EXIT_USAGE;
	}
	if (any_tls && (check_readable("serve.tls.ca", cfg->serve.tls_ca) ||
			check_readable("serve.tls.cert", cfg->serve.tls_cert) ||
			check_readable("serve.tls.key", cfg->serve.tls_key) ||
			check_tls(cfg))) {
		listeners_release(ls, n);
		return ZF_EXIT_FAIL;
	}
	if (any_tcp && zf_tcp_allow_parse((const char *const *)cfg->serve.tcp_allow.v,
					  cfg->serve.tcp_allow.n, &allow, &err) < 0) {
		fprintf(stderr, "zferry serve: %s: %s\n", cfg->path, err.msg);
		listeners_release(ls, n);
		return ZF_EXIT_USAGE;
	}
	for (size_t i = 0; i < n; i++) {
		uint16_t port = 0;
		bool v6 = ls[i].host && strchr(ls[i].host, ':');

		if (zf_tcp_listen(ls[i].host, ls[i].port, &ls[i].fd, &err) < 0 ||
		    zf_tcp_local_port(ls[i].fd, &port, &err) < 0) {
			fprintf(stderr, "zferry serve: %s\n", err.msg);
			listeners_release(ls, n);
			return ZF_EXIT_FAIL;
		}
		/* a connection reset between poll and accept must not block the loop */
		(void)zf_fd_nonblock(ls[i].fd, 1);
		ls[i].name = zf_xasprintf("%s://%s%s%s:%u", ls[i].tls ? "tls" : "tcp",
					  v6 ? "[" : "", ls[i].host ? ls[i].host : "*",
					  v6 ? "]" : "", port);
	}

	/* signals wake ppoll() only: blocked elsewhere, so no wakeup is lost */
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &orig);

	/* plain lines, whatever the log format: scripts and tests read the port here */
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "zferry serve: listening on %s\n", ls[i].name);
	fflush(stderr);

	srv = (struct server){ .ls = ls, .n_ls = n, .cfg = cfg, .allow = allow };
	zf_conntab_init(&srv.tab, &(struct zf_conntab_limits){
		.connections = cfg->serve.limits.connections,
		.unauthenticated = cfg->serve.limits.unauthenticated,
		.per_source = cfg->serve.limits.unauth_per_address,
		.handshake_ms = (int64_t)cfg->serve.handshake_timeout_s * 1000,
	});
	while (!got_stop && r == ZF_EXIT_OK)
		if (turn(&srv, &orig, false) < 0)
			r = ZF_EXIT_FAIL;

	/* stop accepting; let the connections in flight finish, handshakes in their time */
	for (size_t i = 0; i < n; i++)
		ls[i].fd = safe_close(ls[i].fd);
	if (srv.tab.n)
		log_notice("stopping: waiting for %zu connection%s to end", srv.tab.n,
			   srv.tab.n == 1 ? "" : "s");
	while (srv.tab.n > 0 && r == ZF_EXIT_OK)
		if (turn(&srv, &orig, true) < 0)
			r = ZF_EXIT_FAIL;
	/* only when waiting failed: still reap every child */
	while (srv.tab.n > 0) {
		sigsuspend(&orig);
		reap(&srv);
	}
	log_info("stopped");
	sigprocmask(SIG_SETMASK, &orig, NULL);
	zf_conntab_release(&srv.tab);
	free(srv.pfd);
	free(srv.pfd_pid);
	listeners_release(ls, n);
	return r;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stdio", no_argument, NULL, 's' },
		{ "identity", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "debug-null-endpoint", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(zf_config_freep) struct zf_config *cfg = NULL;
	_cleanup_strv_ struct zf_strv listen = ZF_STRV_INIT;
	struct zf_err err = ZF_ERR_INIT;
	const char *identity = NULL, *config = NULL;
	char ssh_id[ZF_TRANSPORT_MAX_PEER];
	bool stdio = false;
	int c;

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) >= 0) {
		switch (c) {
		case 's': stdio = true; break;
		case 'i': identity = optarg; break;
		case 'c': config = optarg; break;
		case 'l': zf_strv_add(&listen, optarg); break;
		case 'N': null_endpoint = true; break;
		case 'h': return zf_cmd_help("serve", stdout, ZF_EXIT_OK);
		default:
			return zf_usage_error("serve", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return zf_usage_error("serve", "unexpected argument '%s'", argv[optind]);
	if (stdio == !!listen.n)
		return zf_usage_error("serve", "give either --stdio or --listen");
	if (identity && !config)
		return zf_usage_error("serve", "--identity needs -c: grants come from the config");
	if (identity && ssh_identity(identity, ssh_id, sizeof(ssh_id), &err) < 0)
		return zf_usage_error("serve", "%s", zf_err_msg(&err));
	if (listen.n && identity)
		return zf_usage_error("serve", "--identity is for --stdio; listeners take the "
				      "identity from the transport");
	if (listen.n && !config)
		return zf_usage_error("serve", "--listen needs -c FILE (certificates, grants)");
	if (config && !identity && stdio)
		return zf_usage_error("serve", "--stdio with -c needs --identity NAME");
	if (config && zf_config_load(config, &cfg, &err) < 0) {
		fprintf(stderr, "zferry serve: %s\n", err.msg);
		return err.code == -ENOENT || err.code == -EACCES ? ZF_EXIT_FAIL : ZF_EXIT_USAGE;
	}
	if (stdio)
		return serve_stdio(cfg, identity ? ssh_id : "ssh");
	return serve_listen(cfg, &listen);
}
