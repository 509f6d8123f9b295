/*
 * src/transport/tcp.c — plain TCP: connect, listen, accept with an address allow-list
 *
 * A tcp transport is the local transport over a connected socket, named
 * after the peer's address.  Connects are non-blocking so the timeout
 * holds for a host that drops SYNs; the allow-list is checked right after
 * accept(), before a byte is read, so an unlisted peer never reaches the
 * frame parser.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/num.h"
#include "util/banned.h"

/* "tcp:192.0.2.1:22" or "tcp:[2001:db8::1]:22"; IPv4-mapped shown as IPv4. */
static void format_addr(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, size, "tcp:%s:%u", host, ntohs(in->sin_port));
		return;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(buf, size, "tcp:%s:%u", host, port);
			return;
		}
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "tcp:[%s]:%u", host, port);
		return;
	}
	snprintf(buf, size, "tcp:?");
}

static struct zf_transport *tcp_new(int fd, const struct sockaddr *peer)
{
	struct zf_transport *t = zf_transport_local_new(fd, fd, "");
	int one = 1;

	t->kind = "tcp";
	format_addr(peer, t->peer, sizeof(t->peer));
	/* frames are written whole; don't let Nagle hold a small RESPONSE back */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return t;
}

/* Accepts "host", "[v6addr]" and a bare IPv6 address. */
static const char *strip_brackets(const char *host, char *buf, size_t size)
{
	size_t n;

	if (!host || host[0] != '[')
		return host;
	n = strlen(host);
	if (n < 2 || host[n - 1] != ']' || n - 2 >= size)
		return host;
	memcpy(buf, host + 1, n - 2);
	buf[n - 2] = '\0';
	return buf;
}

static int connect_one(const struct addrinfo *ai, int timeout_ms, int *ret_fd)
{
	_cleanup_close_ int fd = -EBADF;
	int r, soerr = 0;
	socklen_t len = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		r = zf_fd_wait(fd, POLLOUT, timeout_ms);
		if (r < 0)
			return r;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			return -errno;
		if (soerr != 0)
			return -soerr;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int zf_tcp_connect(const char *host, const char *port, int timeout_ms, struct zf_transport **ret,
		   struct zf_err *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res = NULL;
	char hbuf[256];
	const char *h = strip_brackets(host, hbuf, sizeof(hbuf));
	int r, last = -EHOSTUNREACH;

	r = getaddrinfo(h, port, &hints, &res);
	if (r != 0)
		return zf_err_set(err, r == EAI_SYSTEM ? -errno : -EHOSTUNREACH,
				  "cannot resolve '%s' port '%s': %s", host, port, gai_strerror(r));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = -EBADF;

		last = connect_one(ai, timeout_ms, &fd);
		if (last == 0) {
			*ret = tcp_new(fd, ai->ai_addr);
			zf_transport_set_timeout(*ret, timeout_ms);
			freeaddrinfo(res);
			return 0;
		}
	}
	freeaddrinfo(res);
	if (last == -ETIMEDOUT)
		return zf_err_set(err, last, "cannot connect to '%s' port %s: no answer in %d ms",
				  host, port, timeout_ms);
	return zf_err_set(err, last, "cannot connect to '%s' port %s: %s", host, port,
			  strerror(-last));
}

static int listen_addrinfo(const char *h, const char *port, int family, int *ret_fd)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE,
				  .ai_family = family };
	struct addrinfo *res = NULL;
	int r, last = -EADDRNOTAVAIL;

	r = getaddrinfo(h, port, &hints, &res);
	if (r != 0)
		return r == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		_cleanup_close_ int fd = -EBADF;
		int one = 1, zero = 0;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			last = -errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* without a host, one IPv6 socket serves IPv4 too */
		if (!h && ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
			last = -errno;
			continue;
		}
		*ret_fd = TAKE_FD(fd);
		freeaddrinfo(res);
		return 0;
	}
	freeaddrinfo(res);
	return last;
}

int zf_tcp_listen(const char *host, const char *port, int *ret_fd, struct zf_err *err)
{
	char hbuf[256];
	const char *h = strip_brackets(host, hbuf, sizeof(hbuf));
	int r;

	if (h)
		r = listen_addrinfo(h, port, AF_UNSPEC, ret_fd);
	else {
		/* every address: dual-stack IPv6, or IPv4 alone on hosts without IPv6 */
		r = listen_addrinfo(NULL, port, AF_INET6, ret_fd);
		if (r < 0)
			r = listen_addrinfo(NULL, port, AF_INET, ret_fd);
	}
	if (r < 0)
		return zf_err_set(err, r, "cannot listen on '%s' port %s: %s", host ? host : "*",
				  port, strerror(-r));
	return 0;
}

int zf_tcp_local_port(int fd, uint16_t *ret_port, struct zf_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return zf_err_set(err, -errno, "cannot get socket address: %m");
	if (ss.ss_family == AF_INET)
		*ret_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		*ret_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		return zf_err_set(err, -EAFNOSUPPORT, "not an IP socket");
	return 0;
}

struct allow_entry {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;        /* bits */
};

struct zf_tcp_allow {
	struct allow_entry *v;
	size_t n;
};

struct zf_tcp_allow *zf_tcp_allow_free(struct zf_tcp_allow *a)
{
	if (a) {
		free(a->v);
		free(a);
	}
	return NULL;
}

static int parse_entry(const char *s, struct allow_entry *e, struct zf_err *err)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	if (alen == 0 || alen >= sizeof(buf))
		return zf_err_set(err, -EINVAL, "bad address '%s' in allow-list", s);
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, e->addr) == 1) {
		e->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, e->addr) == 1) {
		e->family = AF_INET6;
		max = 128;
	} else
		return zf_err_set(err, -EINVAL, "bad address '%s' in allow-list", s);
	e->prefix = max;
	if (slash) {
		uint64_t p;

		if (slash[1] == '-' || slash[1] == '+' || zf_parse_u64_lenient(slash + 1, max, &p) < 0)
			return zf_err_set(err, -EINVAL, "bad prefix length in allow-list entry '%s'",
					  s);
		e->prefix = (unsigned)p;
	}
	return 0;
}

int zf_tcp_allow_parse(const char *const *entries, size_t n, struct zf_tcp_allow **ret,
		       struct zf_err *err)
{
	_cleanup_(zf_tcp_allow_freep) struct zf_tcp_allow *a = zf_xcalloc(1, sizeof(*a));

	a->v = zf_xcalloc(n ? n : 1, sizeof(*a->v));
	for (size_t i = 0; i < n; i++) {
		int r = parse_entry(entries[i], &a->v[i], err);
		if (r < 0)
			return r;
		a->n++;
	}
	*ret = TAKE_PTR(a);
	return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool zf_tcp_allow_check(const struct zf_tcp_allow *a, const struct sockaddr *sa, socklen_t len)
{
	uint8_t addr[16];
	int family;

	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		family = AF_INET;
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			family = AF_INET;
			memcpy(addr, &in6->s6_addr[12], 4);
		} else {
			family = AF_INET6;
			memcpy(addr, in6, 16);
		}
	} else
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].family == family && prefix_match(a->v[i].addr, addr, a->v[i].prefix))
			return true;
	return false;
}

int zf_tcp_accept(int listen_fd, int timeout_ms, const struct zf_tcp_allow *allow,
		  struct zf_transport **ret, struct zf_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	_cleanup_close_ int fd = -EBADF;
	int r = zf_fd_wait(listen_fd, POLLIN, timeout_ms);

	if (r == -ETIMEDOUT)
		return zf_err_set(err, r, "no connection within %d ms", timeout_ms);
	if (r < 0)
		return zf_err_set(err, r, "cannot wait for connections: %s", strerror(-r));
	fd = accept4(listen_fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot accept connection: %m");
	if (allow && !zf_tcp_allow_check(allow, (struct sockaddr *)&ss, len)) {
		char name[ZF_TRANSPORT_MAX_PEER];
		format_addr((struct sockaddr *)&ss, name, sizeof(name));
		return zf_err_set(err, -EACCES, "connection from '%s' refused: not in allow-list",
				  name);
	}
	*ret = tcp_new(TAKE_FD(fd), (struct sockaddr *)&ss);
	return 0;
}
