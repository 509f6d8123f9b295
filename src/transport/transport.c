/*
 * src/transport/transport.c — the generic calls and the local transport
 *
 * The local transport is the base the others build on: tcp is a local
 * transport over a connected socket with a different peer name, and tls
 * wraps one.  The timeout holds for blocking and non-blocking fds alike:
 * a pipe is polled before every read and write, a socket only when a
 * non-waiting recv or send would block.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

ssize_t zf_transport_read(struct zf_transport *t, void *p, size_t n, struct zf_err *err)
{
	return t->ops->read(t, p, n, err);
}

int zf_transport_read_full(struct zf_transport *t, void *p, size_t n, struct zf_err *err)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = t->ops->read(t, (char *)p + done, n - done, err);
		if (k < 0)
			return (int)k;
		if (k == 0)
			return zf_err_set(err, -EPIPE,
					  "%s peer '%s' closed the connection after %zu of %zu bytes",
					  t->kind, t->peer, done, n);
		done += (size_t)k;
	}
	return 0;
}

int zf_transport_write(struct zf_transport *t, const void *p, size_t n, struct zf_err *err)
{
	return t->ops->write(t, p, n, err);
}

int zf_transport_shutdown(struct zf_transport *t, struct zf_err *err)
{
	return t->ops->shutdown(t, err);
}

const char *zf_transport_peer(const struct zf_transport *t)
{
	return t->peer;
}

void zf_transport_set_timeout(struct zf_transport *t, int timeout_ms)
{
	t->timeout_ms = timeout_ms;
}

int zf_transport_set_keepalive(struct zf_transport *t, int idle_s, int intvl_s, int cnt,
			       struct zf_err *err)
{
	int on = 1, domain = 0;
	socklen_t len = sizeof(domain);

	if (getsockopt(t->rfd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return zf_err_set(err, -errno, "cannot set keepalive on %s transport: %m", t->kind);
	if (domain == AF_UNIX)
		return 0;
	if (setsockopt(t->rfd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0 ||
	    setsockopt(t->rfd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof(idle_s)) < 0 ||
	    setsockopt(t->rfd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl_s, sizeof(intvl_s)) < 0 ||
	    setsockopt(t->rfd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0)
		return zf_err_set(err, -errno, "cannot set keepalive for '%s': %m", t->peer);
	return 0;
}

struct zf_transport *zf_transport_free(struct zf_transport *t)
{
	if (t)
		t->ops->free(t);
	return NULL;
}

static ssize_t fd_read(struct zf_transport *t, void *p, size_t n, struct zf_err *err)
{
	ssize_t k = t->sock ? zf_sock_read_timeout(t->rfd, p, n, t->timeout_ms)
			    : zf_read_timeout(t->rfd, p, n, t->timeout_ms);

	if (k == -ETIMEDOUT)
		return zf_err_set(err, -ETIMEDOUT, "%s peer '%s' sent nothing for %d ms", t->kind,
				  t->peer, t->timeout_ms);
	if (k < 0)
		return zf_err_set(err, (int)k, "cannot read from %s peer '%s': %s", t->kind, t->peer,
				  strerror((int)-k));
	return k;
}

static int fd_write(struct zf_transport *t, const void *p, size_t n, struct zf_err *err)
{
	int r;

	if (t->wfd < 0)
		return zf_err_set(err, -EPIPE, "connection to %s peer '%s' already shut down",
				  t->kind, t->peer);
	r = t->sock ? zf_sock_write_timeout(t->wfd, p, n, t->timeout_ms)
		    : zf_write_timeout(t->wfd, p, n, t->timeout_ms);

	if (r == -ETIMEDOUT)
		return zf_err_set(err, r, "%s peer '%s' accepted nothing for %d ms", t->kind,
				  t->peer, t->timeout_ms);
	if (r < 0)
		return zf_err_set(err, r, "cannot write to %s peer '%s': %s", t->kind, t->peer,
				  strerror(-r));
	return 0;
}

static int fd_shutdown(struct zf_transport *t, struct zf_err *err)
{
	if (t->rfd != t->wfd) {
		t->wfd = safe_close(t->wfd);
		return 0;
	}
	if (shutdown(t->wfd, SHUT_WR) < 0 && errno != ENOTCONN)
		return zf_err_set(err, -errno, "cannot shut down connection to '%s': %m", t->peer);
	return 0;
}

static void fd_free(struct zf_transport *t)
{
	if (t->wfd != t->rfd)
		safe_close(t->wfd);
	safe_close(t->rfd);
	free(t);
}

static const struct zf_transport_ops fd_ops = {
	.read = fd_read,
	.write = fd_write,
	.shutdown = fd_shutdown,
	.free = fd_free,
};

struct zf_transport *zf_transport_local_new(int rfd, int wfd, const char *identity)
{
	struct zf_transport *t = zf_xcalloc(1, sizeof(*t));
	int type = 0;
	socklen_t len = sizeof(type);

	t->ops = &fd_ops;
	t->sock = rfd == wfd && getsockopt(rfd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
		  type == SOCK_STREAM;
	t->kind = "local";
	t->rfd = rfd;
	t->wfd = wfd;
	t->timeout_ms = ZF_TRANSPORT_DEFAULT_TIMEOUT_MS;
	snprintf(t->peer, sizeof(t->peer), "%s", identity);
	return t;
}

int zf_transport_local_pair(struct zf_transport **ret_a, struct zf_transport **ret_b,
			    struct zf_err *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return zf_err_set(err, -errno, "cannot create socketpair: %m");
	*ret_a = zf_transport_local_new(sv[0], sv[0], "local");
	*ret_b = zf_transport_local_new(sv[1], sv[1], "local");
	return 0;
}
