/* src/transport/transport.h — byte streams for rpc behind one vtable: local, tcp, tls, ssh */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "util/macro.h"

struct zf_buf;
struct zf_err;
struct zf_strv;

/*
 * A transport is a reliable, ordered byte stream with a peer identity and
 * a timeout on every read and write: a peer that stops talking fails the
 * call with -ETIMEDOUT instead of hanging a job.  rpc/ frames whatever
 * goes through it and never looks below this table.
 */
struct zf_transport;

struct zf_transport_ops {
	/* At most n bytes: > 0 read, 0 at the peer's clean end of stream, < 0 -errno. */
	ssize_t (*read)(struct zf_transport *t, void *p, size_t n, struct zf_err *err);
	/* All n bytes, or -errno. */
	int (*write)(struct zf_transport *t, const void *p, size_t n, struct zf_err *err);
	/* Ends our direction (TLS close_notify, shutdown(SHUT_WR)); reads still work. */
	int (*shutdown)(struct zf_transport *t, struct zf_err *err);
	/* Frees t and closes what it owns. */
	void (*free)(struct zf_transport *t);
};

#define ZF_TRANSPORT_DEFAULT_TIMEOUT_MS 60000
#define ZF_TRANSPORT_MAX_PEER 256

struct zf_transport {
	const struct zf_transport_ops *ops;
	const char *kind;               /* "local", "tcp", "tls", "ssh" */
	int rfd, wfd;                   /* the fds polled for reading and writing */
	int timeout_ms;                 /* per read/write without progress; -1 waits forever */
	bool sock;                      /* rfd and wfd are one socket: reads and writes are
					 * tried before polling (local transports only) */
	char peer[ZF_TRANSPORT_MAX_PEER];       /* the identity the transport established */
};

_must_check_ ssize_t zf_transport_read(struct zf_transport *t, void *p, size_t n,
				       struct zf_err *err);
/* Reads exactly n bytes: 0, or -EPIPE when the stream ends first (after 0 < k < n bytes
 * as well as after none: callers that accept a clean end check zf_transport_read()). */
_must_check_ int zf_transport_read_full(struct zf_transport *t, void *p, size_t n,
					struct zf_err *err);
_must_check_ int zf_transport_write(struct zf_transport *t, const void *p, size_t n,
				    struct zf_err *err);
int zf_transport_shutdown(struct zf_transport *t, struct zf_err *err);
/* The peer identity: "local", "tcp:[::1]:4242", "tls:" and the peer certificate's CN. */
const char *zf_transport_peer(const struct zf_transport *t);
void zf_transport_set_timeout(struct zf_transport *t, int timeout_ms);
/*
 * TCP keepalive on the underlying socket (tcp and tls): probes after idle_s
 * seconds of silence, every intvl_s, giving up after cnt.  -ENOTSOCK for
 * local transports over pipes; a socketpair accepts and ignores it.
 */
int zf_transport_set_keepalive(struct zf_transport *t, int idle_s, int intvl_s, int cnt,
			       struct zf_err *err);
struct zf_transport *zf_transport_free(struct zf_transport *t);       /* NULL-safe */
DEFINE_CLEANUP_FUNC(struct zf_transport *, zf_transport_free);

/*
 * local: a socketpair, or a pipe pair (rfd != wfd, e.g. ssh's stdin/stdout).
 * Takes ownership of both fds (once when equal); identity names the peer.
 * Sockets are written with MSG_NOSIGNAL; a pipe whose reader is gone
 * raises SIGPIPE, which cli/main.c ignores, so the write then fails -EPIPE.
 */
struct zf_transport *zf_transport_local_new(int rfd, int wfd, const char *identity);
/* Both ends of a fresh socketpair, for in-process peers and tests. */
_must_check_ int zf_transport_local_pair(struct zf_transport **ret_a, struct zf_transport **ret_b,
					 struct zf_err *err);

/* tcp: HOST may be a name, an IPv4 or IPv6 address (brackets allowed); PORT a number. */
_must_check_ int zf_tcp_connect(const char *host, const char *port, int timeout_ms,
				struct zf_transport **ret, struct zf_err *err);
/* A listening socket (SO_REUSEADDR, close-on-exec); host NULL means every address. */
_must_check_ int zf_tcp_listen(const char *host, const char *port, int *ret_fd,
			       struct zf_err *err);
/* The port a listening socket is bound to (after port "0"). */
_must_check_ int zf_tcp_local_port(int fd, uint16_t *ret_port, struct zf_err *err);

/*
 * An address allow-list for servers: entries "192.0.2.7", "2001:db8::/32",
 * "10.0.0.0/8".  IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 entries.
 */
struct zf_tcp_allow;
_must_check_ int zf_tcp_allow_parse(const char *const *entries, size_t n,
				    struct zf_tcp_allow **ret, struct zf_err *err);
bool zf_tcp_allow_check(const struct zf_tcp_allow *a, const struct sockaddr *sa, socklen_t len);
struct zf_tcp_allow *zf_tcp_allow_free(struct zf_tcp_allow *a);
DEFINE_CLEANUP_FUNC(struct zf_tcp_allow *, zf_tcp_allow_free);
/*
 * Accepts one connection within timeout_ms.  With allow set, a peer not on
 * the list is closed before a byte is read and the call fails with -EACCES
 * (the message names the address).
 */
_must_check_ int zf_tcp_accept(int listen_fd, int timeout_ms, const struct zf_tcp_allow *allow,
			       struct zf_transport **ret, struct zf_err *err);

/*
 * tls: TLS 1.3 only, both sides present certificates signed by ca_file.
 * The server requires a client certificate.  The client checks that the
 * server's certificate is for server_name (a DNS name in its
 * subjectAltName, or the CN when it lists none; an address in an IP SAN)
 * and, when it says what it is for, for TLS servers; the server checks
 * that a client's is for TLS clients.  With crl_file, a revoked peer
 * certificate is refused.  Each side's zf_transport_peer() is "tls:" and
 * the other's CN; a certificate whose CN is missing, doubled, empty or
 * holds a control character is refused.
 */
struct zf_tls_opts {
	const char *ca_file;            /* PEM: the CA that signs both sides */
	const char *cert_file;          /* PEM: our certificate */
	const char *key_file;           /* PEM: its private key */
	const char *crl_file;           /* PEM: CRLs of that CA; NULL: no revocation check */
	/* server: CNs allowed in (NULL: any the CA signed); client: unused */
	const char *const *allowed_cn;
	size_t n_allowed_cn;
	/*
	 * client, required: the host the server's certificate must be for,
	 * a DNS name (also sent as SNI) or an IPv4/IPv6 address (brackets
	 * allowed); server: unused
	 */
	const char *server_name;
	int timeout_ms;                 /* handshake and later I/O; 0: the default */
};
/*
 * Runs the handshake over tcp (ownership passes, also on failure) and
 * returns the TLS transport.  Errors are one line: "certificate of 'x' has
 * expired", "not signed by the CA in 'ca.pem'", "is not for 'host'",
 * "is revoked", "client CN 'eve' not allowed".
 */
_must_check_ int zf_tls_client(struct zf_transport *tcp, const struct zf_tls_opts *opts,
			       struct zf_transport **ret, struct zf_err *err);
_must_check_ int zf_tls_server(struct zf_transport *tcp, const struct zf_tls_opts *opts,
			       struct zf_transport **ret, struct zf_err *err);
/* Loads CA, certificate, key and CRL as a handshake would: a server's startup check. */
_must_check_ int zf_tls_check(const struct zf_tls_opts *opts, bool server, struct zf_err *err);

/*
 * ssh: runs the system ssh with an argv (no shell on our side):
 *
 *   ssh [-p PORT] [-l USER] [-o OPT]... -o BatchMode=yes HOST -- 'zferry' 'serve' '--stdio'
 *
 * The remote command's words are single-quoted, because ssh joins them
 * with spaces and the remote user's shell parses the result.  The
 * transport reads ssh's stdout and writes its stdin; ssh's stderr is ours,
 * so its own messages (host key, permission denied) reach the user.  The
 * identity is "ssh:HOST".  If ssh exits before the peer sent a byte, the
 * error says so with ssh's exit status.  Freeing closes both pipes and
 * reaps ssh, with SIGTERM if it lingers.
 */
struct zf_ssh_opts {
	const char *host;               /* name or address, without brackets */
	const char *user;               /* -l; NULL: ssh's default */
	const char *port;               /* -p; NULL: ssh's default */
	const char *const *options;     /* each passed as -o OPT */
	size_t n_options;
	const char *remote_zferry;      /* the remote command's first word; NULL: "zferry" */
	const char *ssh;                /* the program; NULL: "ssh" from PATH */
	int timeout_ms;                 /* per read/write; 0: the default */
	int exit_grace_ms;              /* free waits this long before SIGTERM; 0: 5000 */
};
_must_check_ int zf_ssh_connect(const struct zf_ssh_opts *opts, struct zf_transport **ret,
				struct zf_err *err);
/* Test-only: the argv zf_ssh_connect() runs; -EINVAL for an option-like host or user. */
_must_check_ int zf_ssh_argv(const struct zf_ssh_opts *opts, struct zf_strv *ret,
			     struct zf_err *err);
/* Appends s quoted as one word for a POSIX shell: it's -> 'it'\''s'. */
void zf_sh_quote(struct zf_buf *b, const char *s);
