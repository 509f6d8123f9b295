/*
 * src/cli/cmd-serve.c — zferry serve: the far end of a remote replication
 *
 * --stdio serves one connection on stdin/stdout, as ssh starts it.
 * --listen accepts tls and tcp connections and forks a child for each, so
 * that a connection's zfs processes, TLS handshake and memory die with it
 * and one client cannot stall another.  The parent only accepts, reaps and
 * logs; it never reads a byte from a client.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/cli.h"
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

#define MAX_CONNECTIONS 64
#define MAX_LISTENERS 16

struct listener {
	bool tls;
	char *host;             /* NULL: every address */
	char *port;
	int fd;
	char *name;             /* "tls://127.0.0.1:4434", with the real port */
};

struct child {
	pid_t pid;
	char peer[ZF_TRANSPORT_MAX_PEER];
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
 * Serves one connection that is past the transport's own authentication:
 * the greeting refuses an identity the config does not list, the rest is
 * requests until the client closes.  0 at the client's end, 1 when the
 * greeting refused it (err says why), <0 on errors.
 */
static int serve_one(struct zf_transport *t, struct zf_config *cfg, struct zf_err *err)
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
	r = serve_one(t, cfg, &err);
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

/* The child of one connection: authenticate, then serve until the client closes. */
static _noreturn_ void child_main(const struct listener *l, struct zf_transport *t,
				  struct zf_config *cfg)
{
	struct zf_err err = ZF_ERR_INIT;
	const char *addr = zf_transport_peer(t);
	_cleanup_(zf_log_scope_end) _unused_ struct zf_log_scope s = zf_log_scope("peer", addr);
	int r;

	zf_transport_set_timeout(t, cfg->serve.timeout_s * 1000);
	(void)zf_transport_set_keepalive(t, 60, 10, 6, &err);
	zf_err_clear(&err);
	if (l->tls) {
		const struct zf_tls_opts o = {
			.ca_file = cfg->serve.tls_ca,
			.cert_file = cfg->serve.tls_cert,
			.key_file = cfg->serve.tls_key,
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
		/* a CN must not pass for a tcp address or an ssh key's identity */
		if (startswith(zf_transport_peer(t), "tcp:") ||
		    startswith(zf_transport_peer(t), "ssh:")) {
			log_warning("refused tls client: certificate CN '%s' looks like a %s "
				    "identity", zf_transport_peer(t),
				    startswith(zf_transport_peer(t), "tcp:") ? "tcp" : "ssh");
			zf_transport_free(t);
			_exit(ZF_EXIT_FAIL);
		}
	}
	zf_log_scope_add("identity", zf_transport_peer(t));
	log_notice("connection from '%s': identity '%s'", addr, zf_transport_peer(t));
	r = serve_one(t, cfg, &err);
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

static void reap(struct child *kids, size_t *n)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		char st[64];

		if (pid <= 0)
			return;
		for (size_t i = 0; i < *n; i++) {
			if (kids[i].pid != pid)
				continue;
			zf_proc_status_str(status, st, sizeof(st));
			if (status == 0)
				log_info("connection from '%s' ended (pid %d)", kids[i].peer,
					 (int)pid);
			else
				log_notice("connection from '%s' ended: %s (pid %d)", kids[i].peer,
					   st, (int)pid);
			kids[i] = kids[--*n];
			break;
		}
	}
}

static int accept_one(const struct listener *l, struct zf_config *cfg,
		      const struct zf_tcp_allow *allow, struct listener *all, size_t n_all,
		      struct child *kids, size_t *n_kids)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_transport *t = NULL;
	pid_t pid;
	int r;

	r = zf_tcp_accept(l->fd, 0, l->tls ? NULL : allow, &t, &err);
	if (r == -ETIMEDOUT || r == -EAGAIN || r == -EINTR)
		return 0;
	if (r < 0) {
		log_warning_errno(r, "%s: %s", l->name, zf_err_msg(&err));
		return 0;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		log_error_errno(r, "cannot fork for '%s': %m", zf_transport_peer(t));
		zf_transport_free(t);
		return 0;
	}
	if (pid == 0) {
		sigset_t none;

		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (size_t i = 0; i < n_all; i++)
			all[i].fd = safe_close(all[i].fd);
		child_main(l, t, cfg);
	}
	kids[*n_kids].pid = pid;
	snprintf(kids[*n_kids].peer, sizeof(kids[*n_kids].peer), "%s", zf_transport_peer(t));
	(*n_kids)++;
	log_info("%s: connection from '%s' (pid %d)", l->name, zf_transport_peer(t), (int)pid);
	zf_transport_free(t);
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

static int serve_listen(struct zf_config *cfg, struct zf_strv *urls)
{
	_cleanup_(zf_tcp_allow_freep) struct zf_tcp_allow *allow = NULL;
	struct listener ls[MAX_LISTENERS] = {};
	struct child kids[MAX_CONNECTIONS];
	struct zf_err err = ZF_ERR_INIT;
	struct sigaction sa = {};
	sigset_t block, orig;
	size_t n = 0, n_kids = 0;
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
			check_readable("serve.tls.key", cfg->serve.tls_key))) {
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

	while (!got_stop) {
		struct pollfd p[MAX_LISTENERS];
		bool full = n_kids >= MAX_CONNECTIONS;
		int k;

		for (size_t i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = full ? -1 : ls[i].fd, .events = POLLIN };
		k = ppoll(p, n, NULL, &orig);
		if (k < 0 && errno != EINTR) {
			log_error_errno(-errno, "cannot wait for connections: %m");
			r = ZF_EXIT_FAIL;
			break;
		}
		got_child = 0;
		reap(kids, &n_kids);
		for (size_t i = 0; k > 0 && i < n && !got_stop; i++)
			if (p[i].revents & POLLIN && n_kids < MAX_CONNECTIONS)
				accept_one(&ls[i], cfg, allow, ls, n, kids, &n_kids);
	}

	/* stop accepting; let the connections in flight finish */
	for (size_t i = 0; i < n; i++)
		ls[i].fd = safe_close(ls[i].fd);
	if (n_kids)
		log_notice("stopping: waiting for %zu connection%s to end", n_kids,
			   n_kids == 1 ? "" : "s");
	while (n_kids > 0) {
		sigsuspend(&orig);
		reap(kids, &n_kids);
	}
	log_info("stopped");
	sigprocmask(SIG_SETMASK, &orig, NULL);
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
	if (identity && (!*identity || strlen(identity) >= ZF_TRANSPORT_MAX_PEER))
		return zf_usage_error("serve", "bad --identity '%s'", identity);
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
		return serve_stdio(cfg, identity ? identity : "ssh");
	return serve_listen(cfg, &listen);
}
