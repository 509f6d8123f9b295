/* tests/unit/test-transport.c — local, tcp and tls transports: data, timeouts, EOF, access */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "tls-certs.h"
#include "transport/transport.h"
#include "util/err.h"

static struct test_certs certs;

static void assert_msg(const struct zf_err *err, const char *what)
{
	if (!strstr(err->msg, what))
		fail_msg("error '%s' does not mention '%s'", err->msg, what);
}

static void test_local_pair(void **state)
{
	_cleanup_(zf_transport_freep) struct zf_transport *a = NULL;
	_cleanup_(zf_transport_freep) struct zf_transport *b = NULL;
	struct zf_err err = ZF_ERR_INIT;
	char buf[16];
	(void)state;

	assert_int_equal(zf_transport_local_pair(&a, &b, &err), 0);
	assert_string_equal(zf_transport_peer(a), "local");
	assert_int_equal(zf_transport_write(a, "hello", 5, &err), 0);
	assert_int_equal(zf_transport_read_full(b, buf, 5, &err), 0);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(zf_transport_set_keepalive(a, 10, 5, 3, &err), 0);

	/* a silent peer is detected */
	zf_transport_set_timeout(b, 50);
	assert_int_equal(zf_transport_read(b, buf, sizeof(buf), &err), -ETIMEDOUT);
	assert_msg(&err, "sent nothing for 50 ms");

	/* a clean end is 0 for read, -EPIPE for a read that wanted more */
	assert_int_equal(zf_transport_write(a, "ab", 2, &err), 0);
	assert_int_equal(zf_transport_shutdown(a, &err), 0);
	zf_err_clear(&err);
	assert_int_equal(zf_transport_read_full(b, buf, 3, &err), -EPIPE);
	assert_msg(&err, "after 2 of 3 bytes");
	assert_int_equal(zf_transport_read(b, buf, sizeof(buf), &err), 0);

	/* writing to a closed peer is -EPIPE, not SIGPIPE */
	a = zf_transport_free(a);
	zf_err_clear(&err);
	assert_int_equal(zf_transport_write(b, "x", 1, &err), -EPIPE);
}

static void test_local_pipes(void **state)
{
	_cleanup_(zf_transport_freep) struct zf_transport *a = NULL;
	_cleanup_(zf_transport_freep) struct zf_transport *b = NULL;
	struct zf_err err = ZF_ERR_INIT;
	int p1[2], p2[2];
	char buf[4];
	(void)state;

	assert_int_equal(pipe2(p1, O_CLOEXEC), 0);
	assert_int_equal(pipe2(p2, O_CLOEXEC), 0);
	a = zf_transport_local_new(p1[0], p2[1], "stdio");
	b = zf_transport_local_new(p2[0], p1[1], "stdio");
	assert_int_equal(zf_transport_write(b, "ping", 4, &err), 0);
	assert_int_equal(zf_transport_read_full(a, buf, 4, &err), 0);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(zf_transport_shutdown(b, &err), 0);
	assert_int_equal(zf_transport_read(a, buf, 4, &err), 0);
	/* the reader went away: the writer sees EPIPE (SIGPIPE ignored as in main.c) */
	zf_err_clear(&err);
	assert_int_equal(zf_transport_write(b, "x", 1, &err), -EPIPE);       /* after shutdown */
	assert_msg(&err, "already shut down");
	b = zf_transport_free(b);
	signal(SIGPIPE, SIG_IGN);
	zf_err_clear(&err);
	assert_int_equal(zf_transport_write(a, "x", 1, &err), -EPIPE);
	signal(SIGPIPE, SIG_DFL);
}

static void test_allow_list(void **state)
{
	_cleanup_(zf_tcp_allow_freep) struct zf_tcp_allow *a = NULL;
	const char *ok[] = { "192.0.2.7", "10.0.0.0/8", "2001:db8::/32", "::1" };
	const char *bad[] = { "", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "host.example",
			      "::1/129", "1.2.3.4/-1" };
	struct zf_err err = ZF_ERR_INIT;
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	(void)state;

	assert_int_equal(zf_tcp_allow_parse(ok, 4, &a, &err), 0);
#define V4(s) (inet_pton(AF_INET, s, &in.sin_addr), \
	       zf_tcp_allow_check(a, (struct sockaddr *)&in, sizeof(in)))
#define V6(s) (inet_pton(AF_INET6, s, &in6.sin6_addr), \
	       zf_tcp_allow_check(a, (struct sockaddr *)&in6, sizeof(in6)))
	assert_true(V4("192.0.2.7"));
	assert_false(V4("192.0.2.8"));
	assert_true(V4("10.255.1.2"));
	assert_false(V4("11.0.0.1"));
	assert_true(V6("2001:db8:1::5"));
	assert_false(V6("2001:db9::5"));
	assert_true(V6("::1"));
	assert_false(V6("::2"));
	assert_true(V6("::ffff:10.1.2.3"));     /* v4-mapped matches the v4 entry */
	assert_false(V6("::ffff:11.1.2.3"));
#undef V4
#undef V6
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct zf_tcp_allow *x = NULL;
		zf_err_clear(&err);
		assert_int_equal(zf_tcp_allow_parse(&bad[i], 1, &x, &err), -EINVAL);
		assert_null(x);
	}
}

/* A server in a thread: accept (tcp, optionally tls), echo one message, wait for EOF. */
struct srv {
	int lfd;
	const struct zf_tcp_allow *allow;
	const struct zf_tls_opts *tls;
	int rc;
	struct zf_err err;
	char peer[ZF_TRANSPORT_MAX_PEER];
};

static void *srv_main(void *p)
{
	struct srv *s = p;
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	char buf[64];
	ssize_t k;

	s->rc = zf_tcp_accept(s->lfd, 5000, s->allow, &t, &s->err);
	if (s->rc < 0)
		return NULL;
	zf_transport_set_timeout(t, 5000);
	if (s->tls) {
		struct zf_transport *tcp = TAKE_PTR(t);
		s->rc = zf_tls_server(tcp, s->tls, &t, &s->err);
		if (s->rc < 0)
			return NULL;
	}
	snprintf(s->peer, sizeof(s->peer), "%s", zf_transport_peer(t));
	k = zf_transport_read(t, buf, sizeof(buf), &s->err);
	if (k <= 0) {
		s->rc = k < 0 ? (int)k : -EPIPE;
		return NULL;
	}
	s->rc = zf_transport_write(t, buf, (size_t)k, &s->err);
	if (s->rc < 0)
		return NULL;
	k = zf_transport_read(t, buf, sizeof(buf), &s->err);
	s->rc = k < 0 ? (int)k : 0;
	if (s->rc == 0)
		(void)zf_transport_shutdown(t, &s->err);
	return NULL;
}

static void start_server(struct srv *s, pthread_t *th, const char *host, char *port)
{
	struct zf_err err = ZF_ERR_INIT;
	uint16_t p = 0;

	assert_int_equal(zf_tcp_listen(host, "0", &s->lfd, &err), 0);
	assert_int_equal(zf_tcp_local_port(s->lfd, &p, &err), 0);
	snprintf(port, 8, "%u", p);
	assert_int_equal(pthread_create(th, NULL, srv_main, s), 0);
}

/* Connects, optionally over tls, sends "hello" and expects it back: 0 or -errno. */
static int client(const char *host, const char *port, const struct zf_tls_opts *tls,
		  char *ret_peer, struct zf_err *err)
{
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	char buf[5];
	int r;

	r = zf_tcp_connect(host, port, 5000, &t, err);
	if (r < 0)
		return r;
	if (tls) {
		struct zf_transport *tcp = TAKE_PTR(t);
		r = zf_tls_client(tcp, tls, &t, err);
		if (r < 0)
			return r;
	}
	snprintf(ret_peer, ZF_TRANSPORT_MAX_PEER, "%s", zf_transport_peer(t));
	r = zf_transport_write(t, "hello", 5, err);
	if (r < 0)
		return r;
	r = zf_transport_read_full(t, buf, 5, err);
	if (r < 0)
		return r;
	if (memcmp(buf, "hello", 5) != 0)
		return -EBADMSG;
	r = zf_transport_shutdown(t, err);
	if (r < 0)
		return r;
	/* the server answers our end with its own clean end */
	return (int)zf_transport_read(t, buf, 1, err);
}

static void test_tcp(void **state)
{
	struct srv s = { .lfd = -1 };
	struct zf_err err = ZF_ERR_INIT;
	char port[8], peer[ZF_TRANSPORT_MAX_PEER];
	pthread_t th;
	(void)state;

	start_server(&s, &th, "127.0.0.1", port);
	assert_int_equal(client("127.0.0.1", port, NULL, peer, &err), 0);
	pthread_join(th, NULL);
	assert_int_equal(s.rc, 0);
	assert_non_null(startswith(s.peer, "tcp:127.0.0.1:"));
	{
		char want[64];
		snprintf(want, sizeof(want), "tcp:127.0.0.1:%s", port);
		assert_string_equal(peer, want);
	}
	close(s.lfd);
}

/* Listening on every address reaches IPv4 loopback. */
static void test_tcp_any(void **state)
{
	struct srv s = { .lfd = -1 };
	struct zf_err err = ZF_ERR_INIT;
	char port[8], peer[ZF_TRANSPORT_MAX_PEER];
	pthread_t th;
	(void)state;

	start_server(&s, &th, NULL, port);
	assert_int_equal(client("127.0.0.1", port, NULL, peer, &err), 0);
	pthread_join(th, NULL);
	assert_int_equal(s.rc, 0);
	assert_non_null(startswith(s.peer, "tcp:127.0.0.1:"));  /* v4-mapped shown as v4 */
	close(s.lfd);
}

static void test_tcp_ipv6(void **state)
{
	struct srv s = { .lfd = -1 };
	struct zf_err err = ZF_ERR_INIT;
	char port[8], peer[ZF_TRANSPORT_MAX_PEER];
	pthread_t th;
	int fd = -1;
	(void)state;

	if (zf_tcp_listen("::1", "0", &fd, &err) < 0)
		skip();
	close(fd);
	start_server(&s, &th, "[::1]", port);
	assert_int_equal(client("::1", port, NULL, peer, &err), 0);
	pthread_join(th, NULL);
	assert_int_equal(s.rc, 0);
	assert_non_null(startswith(s.peer, "tcp:[::1]:"));
	close(s.lfd);
}

static void test_tcp_refused(void **state)
{
	_cleanup_(zf_tcp_allow_freep) struct zf_tcp_allow *allow = NULL;
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	const char *only[] = { "192.0.2.0/24" };
	struct srv s = { .lfd = -1 };
	struct zf_err err = ZF_ERR_INIT;
	char port[8], peer[ZF_TRANSPORT_MAX_PEER];
	pthread_t th;
	(void)state;

	/* not on the allow-list: closed before a byte is read */
	assert_int_equal(zf_tcp_allow_parse(only, 1, &allow, &err), 0);
	s.allow = allow;
	start_server(&s, &th, "127.0.0.1", port);
	assert_int_not_equal(client("127.0.0.1", port, NULL, peer, &err), 0);
	pthread_join(th, NULL);
	assert_int_equal(s.rc, -EACCES);
	assert_msg(&s.err, "connection from 'tcp:127.0.0.1:");
	assert_msg(&s.err, "not in allow-list");

	/* nobody listening */
	close(s.lfd);
	zf_err_clear(&err);
	assert_int_equal(zf_tcp_connect("127.0.0.1", port, 1000, &t, &err), -ECONNREFUSED);
	assert_msg(&err, "cannot connect to '127.0.0.1'");
	zf_err_clear(&err);
	assert_int_equal(zf_tcp_accept(-1, 10, NULL, &t, &err) < 0, 1);
}

static void test_tcp_silent_peer(void **state)
{
	_cleanup_(zf_transport_freep) struct zf_transport *c = NULL;
	_cleanup_(zf_transport_freep) struct zf_transport *sv = NULL;
	struct zf_err err = ZF_ERR_INIT;
	char port[8], buf[4];
	uint16_t p;
	int lfd = -1;
	(void)state;

	assert_int_equal(zf_tcp_listen("127.0.0.1", "0", &lfd, &err), 0);
	assert_int_equal(zf_tcp_local_port(lfd, &p, &err), 0);
	snprintf(port, sizeof(port), "%u", p);
	assert_int_equal(zf_tcp_connect("127.0.0.1", port, 1000, &c, &err), 0);
	assert_int_equal(zf_tcp_accept(lfd, 1000, NULL, &sv, &err), 0);
	assert_int_equal(zf_transport_set_keepalive(c, 30, 10, 3, &err), 0);
	zf_transport_set_timeout(c, 50);
	assert_int_equal(zf_transport_read(c, buf, sizeof(buf), &err), -ETIMEDOUT);
	close(lfd);
}

/* Options for one side; a client expects the server at 127.0.0.1, where it is. */
static void tls_opts(struct zf_tls_opts *o, const struct test_pair *p)
{
	*o = (struct zf_tls_opts){ .ca_file = certs.ca, .cert_file = p->crt, .key_file = p->key,
				   .server_name = "127.0.0.1", .timeout_ms = 5000 };
}

/* Runs one tls exchange; returns the client's result, the server's in *s. */
static int tls_exchange(struct srv *s, const struct zf_tls_opts *so, const struct zf_tls_opts *co,
			char *peer, struct zf_err *cerr)
{
	char port[8];
	pthread_t th;
	int r;

	s->lfd = -1;
	s->tls = so;
	start_server(s, &th, "127.0.0.1", port);
	r = client("127.0.0.1", port, co, peer, cerr);
	pthread_join(th, NULL);
	close(s->lfd);
	return r;
}

static void test_tls_ok(void **state)
{
	struct zf_tls_opts so, co;
	struct srv s = {};
	struct zf_err err = ZF_ERR_INIT;
	char peer[ZF_TRANSPORT_MAX_PEER];
	const char *allowed[] = { "someone", "client" };
	(void)state;

	tls_opts(&so, &certs.server);
	so.allowed_cn = allowed;
	so.n_allowed_cn = 2;
	tls_opts(&co, &certs.client);
	assert_int_equal(tls_exchange(&s, &so, &co, peer, &err), 0);
	assert_int_equal(s.rc, 0);
	assert_string_equal(s.peer, "tls:client");   /* the server knows the client by its CN */
	assert_string_equal(peer, "tls:server");
}

static void test_tls_rejects(void **state)
{
	struct zf_tls_opts so, co;
	struct srv s = {};
	struct zf_err err = ZF_ERR_INIT;
	char peer[ZF_TRANSPORT_MAX_PEER];
	const char *allowed[] = { "someone" };
	(void)state;

	/* expired client certificate */
	tls_opts(&so, &certs.server);
	tls_opts(&co, &certs.expired);
	assert_int_not_equal(tls_exchange(&s, &so, &co, peer, &err), 0);
	assert_int_equal(s.rc, -EACCES);
	assert_msg(&s.err, "certificate of client 'old'");
	assert_msg(&s.err, "has expired");

	/* client certificate from another CA */
	memset(&s, 0, sizeof(s));
	zf_err_clear(&err);
	tls_opts(&co, &certs.foreign);
	assert_int_not_equal(tls_exchange(&s, &so, &co, peer, &err), 0);
	assert_int_equal(s.rc, -EACCES);
	assert_msg(&s.err, "certificate of client 'eve'");
	assert_msg(&s.err, "not signed by the CA in");

	/* the client trusts another CA than the one that signed the server */
	memset(&s, 0, sizeof(s));
	zf_err_clear(&err);
	tls_opts(&co, &certs.client);
	co.ca_file = certs.other_ca;
	assert_int_not_equal(tls_exchange(&s, &so, &co, peer, &err), 0);
	assert_msg(&err, "certificate of server 'server'");
	assert_msg(&err, "not signed by the CA in");
	assert_int_not_equal(s.rc, 0);

	/* a CN the server does not know */
	memset(&s, 0, sizeof(s));
	zf_err_clear(&err);
	tls_opts(&co, &certs.client);
	so.allowed_cn = allowed;
	so.n_allowed_cn = 1;
	assert_int_not_equal(tls_exchange(&s, &so, &co, peer, &err), 0);
	assert_int_equal(s.rc, -EACCES);
	assert_msg(&s.err, "client CN 'client'");
	assert_msg(&s.err, "is not allowed");
	/* the client only sees a drop, and is told where to look */
	assert_msg(&err, "did the server refuse our certificate?");

	/* the server is not who the client expects */
	memset(&s, 0, sizeof(s));
	zf_err_clear(&err);
	so.allowed_cn = NULL;
	co.server_name = "backup-server";
	assert_int_equal(tls_exchange(&s, &so, &co, peer, &err), -EACCES);
	assert_msg(&err, "certificate of server 'server' (tcp:127.0.0.1:");
	assert_msg(&err, "is not for 'backup-server'");
	assert_int_not_equal(s.rc, 0);

	/* bad file names say which file */
	memset(&s, 0, sizeof(s));
	zf_err_clear(&err);
	co.server_name = "127.0.0.1";
	co.key_file = "/nonexistent/key.pem";
	assert_int_equal(tls_exchange(&s, &so, &co, peer, &err), -EINVAL);
	assert_msg(&err, "cannot load key '/nonexistent/key.pem'");
	co.key_file = certs.server.key;
	zf_err_clear(&err);
	memset(&s, 0, sizeof(s));
	assert_int_equal(tls_exchange(&s, &so, &co, peer, &err), -EINVAL);
	assert_msg(&err, "does not match certificate");
}

/* Client and server certificates as given; 0 or the client's error, the server's in *s. */
static int tls_pair(struct srv *s, const struct test_pair *server, const struct test_pair *client,
		    const char *server_name, const char *server_crl, const char *client_crl,
		    struct zf_err *err)
{
	struct zf_tls_opts so, co;
	char peer[ZF_TRANSPORT_MAX_PEER];

	memset(s, 0, sizeof(*s));
	zf_err_clear(err);
	tls_opts(&so, server);
	so.crl_file = server_crl;
	tls_opts(&co, client);
	co.server_name = server_name;
	co.crl_file = client_crl;
	return tls_exchange(s, &so, &co, peer, err);
}

/* The client checks the server's certificate is for the name it dialled. */
static void test_tls_names(void **state)
{
	const char *ok[][2] = {
		{ "server", "server.test" },    /* DNS in SAN */
		{ "server", "localhost" },
		{ "server", "127.0.0.1" },      /* IPs in SAN */
		{ "server", "::1" },
		{ "server", "[::1]" },          /* as a URL writes it */
		{ "server", "SERVER.test" },    /* DNS names are not case-sensitive */
		{ "wild", "a.wild.test" },      /* a whole-label wildcard */
		{ "cn_only", "cn.test" },       /* no SAN at all: the CN */
		{ "ip_other", "192.0.2.1" },    /* --tls-server-name rescues a URL by another address */
	};
	const char *bad[][3] = {
		{ "server", "other.test", "is not for 'other.test': no DNS name" },
		{ "server", "server", "is not for 'server'" },           /* CN, but SANs listed */
		{ "server", "10.0.0.1", "is not for address '10.0.0.1': no IP address" },
		{ "server", "::2", "is not for address '::2'" },
		{ "ip_other", "127.0.0.1", "is not for address '127.0.0.1'" },
		{ "cn_only", "127.0.0.1", "is not for address '127.0.0.1'" },  /* an IP is no CN */
		{ "cn_only", "other.test", "lists no DNS name in its subjectAltName and its CN differs" },
		{ "ip_other", "cn.test", "lists no DNS name in its subjectAltName and its CN differs" },
		{ "wild", "wild.test", "is not for 'wild.test'" },
		{ "wild", "a.b.wild.test", "is not for 'a.b.wild.test'" },
		{ "wild", "wx.part.test", "is not for 'wx.part.test'" },   /* w*: partial wildcard */
		{ "wild", "wild", "is not for 'wild'" },
	};
	const struct { const char *name; const struct test_pair *p; } by_name[] = {
		{ "server", &certs.server }, { "wild", &certs.wild }, { "cn_only", &certs.cn_only },
		{ "ip_other", &certs.ip_other },
	};
	struct zf_err err = ZF_ERR_INIT;
	struct srv s;
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(ok) + ELEMENTSOF(bad); i++) {
		bool good = i < ELEMENTSOF(ok);
		const char *const *row = good ? ok[i] : bad[i - ELEMENTSOF(ok)];
		const struct test_pair *p = NULL;
		int r;

		for (size_t j = 0; j < ELEMENTSOF(by_name); j++)
			if (streq(by_name[j].name, row[0]))
				p = by_name[j].p;
		r = tls_pair(&s, p, &certs.client, row[1], NULL, NULL, &err);
		if (good && r != 0)
			fail_msg("%s as '%s': %s", row[0], row[1], err.msg);
		if (good)
			continue;
		if (r != -EACCES || !strstr(err.msg, row[2]))
			fail_msg("%s as '%s': %d %s", row[0], row[1], r, err.msg);
		assert_int_not_equal(s.rc, 0);
	}

	/* a client without a name to check refuses to start */
	assert_int_equal(tls_pair(&s, &certs.server, &certs.client, NULL, NULL, NULL, &err),
			 -EINVAL);
	assert_msg(&err, "no server name");
}

/* A certificate that says what it is for must be for this end's role. */
static void test_tls_purpose(void **state)
{
	struct zf_err err = ZF_ERR_INIT;
	struct srv s;
	(void)state;

	/* a client-only certificate cannot serve */
	assert_int_equal(tls_pair(&s, &certs.client_eku, &certs.client, "127.0.0.1", NULL, NULL,
				  &err), -EACCES);
	assert_msg(&err, "certificate of server 'clientonly'");
	assert_msg(&err, "is not for TLS servers (extendedKeyUsage)");
	/* a server-only one cannot be a client */
	assert_int_not_equal(tls_pair(&s, &certs.server, &certs.server_eku, "127.0.0.1", NULL,
				      NULL, &err), 0);
	assert_int_equal(s.rc, -EACCES);
	assert_msg(&s.err, "certificate of client 'serveronly'");
	assert_msg(&s.err, "is not for TLS clients (extendedKeyUsage)");
	/* each in its own role is fine, as are those that do not say (test_tls_ok) */
	assert_int_equal(tls_pair(&s, &certs.server_eku, &certs.client_eku, "127.0.0.1", NULL,
				  NULL, &err), 0);
	assert_int_equal(s.rc, 0);
}

static void test_tls_crl(void **state)
{
	struct zf_tls_opts o;
	struct zf_err err = ZF_ERR_INIT;
	struct srv s;
	(void)state;

	/* the server refuses a revoked client, and takes one that is not */
	assert_int_not_equal(tls_pair(&s, &certs.server, &certs.revoked, "127.0.0.1", certs.crl,
				      NULL, &err), 0);
	assert_int_equal(s.rc, -EACCES);
	assert_msg(&s.err, "certificate of client 'revoked'");
	assert_msg(&s.err, "is revoked (CRL '");
	assert_int_equal(tls_pair(&s, &certs.server, &certs.client, "127.0.0.1", certs.crl, NULL,
				  &err), 0);
	assert_int_equal(s.rc, 0);
	/* without the CRL the revoked one gets in: the check above is the CRL's */
	assert_int_equal(tls_pair(&s, &certs.server, &certs.revoked, "127.0.0.1", NULL, NULL,
				  &err), 0);

	/* the client refuses a revoked server */
	assert_int_equal(tls_pair(&s, &certs.revoked, &certs.client, "revoked", NULL, certs.crl,
				  &err), -EACCES);
	assert_msg(&err, "certificate of server 'revoked'");
	assert_msg(&err, "is revoked");

	/* a CRL file without the CA's CRL refuses everyone, and says why */
	assert_int_not_equal(tls_pair(&s, &certs.server, &certs.client, "127.0.0.1",
				      certs.other_crl, NULL, &err), 0);
	assert_int_equal(s.rc, -EACCES);
	assert_msg(&s.err, "has no CRL from the CA that signed it");

	/* missing and unparsable files are found before any connection */
	tls_opts(&o, &certs.server);
	o.crl_file = "/nonexistent/crl.pem";
	zf_err_clear(&err);
	assert_int_equal(zf_tls_check(&o, true, &err), -ENOENT);
	assert_msg(&err, "cannot read CRL '/nonexistent/crl.pem'");
	o.crl_file = certs.ca;
	zf_err_clear(&err);
	assert_int_equal(zf_tls_check(&o, true, &err), -EINVAL);
	assert_msg(&err, "cannot load CRL '");
	assert_msg(&err, "no PEM CRL in it");
	o.crl_file = certs.crl;
	zf_err_clear(&err);
	assert_int_equal(zf_tls_check(&o, true, &err), 0);
}

/* A CN with a control character is no identity. */
static void test_tls_bad_cn(void **state)
{
	struct zf_err err = ZF_ERR_INIT;
	struct srv s;
	(void)state;

	assert_int_not_equal(tls_pair(&s, &certs.server, &certs.ctl_cn, "127.0.0.1", NULL, NULL,
				      &err), 0);
	assert_int_equal(s.rc, -EACCES);
	assert_msg(&s.err, "certificate of client 'tcp:127.0.0.1:");
	assert_msg(&s.err, "unusable CN");
	assert_null(strchr(s.err.msg, '\t'));
}

/* A plain tcp client talking to a tls server (or the reverse) fails within the timeout. */
static void test_tls_plain_peer(void **state)
{
	struct zf_tls_opts so;
	struct srv s = {};
	struct zf_err err = ZF_ERR_INIT;
	char peer[ZF_TRANSPORT_MAX_PEER];
	(void)state;

	tls_opts(&so, &certs.server);
	so.timeout_ms = 200;
	assert_int_not_equal(tls_exchange(&s, &so, NULL, peer, &err), 0);
	assert_int_not_equal(s.rc, 0);
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
		cmocka_unit_test(test_local_pair),
		cmocka_unit_test(test_local_pipes),
		cmocka_unit_test(test_allow_list),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_tcp_any),
		cmocka_unit_test(test_tcp_ipv6),
		cmocka_unit_test(test_tcp_refused),
		cmocka_unit_test(test_tcp_silent_peer),
		cmocka_unit_test(test_tls_ok),
		cmocka_unit_test(test_tls_rejects),
		cmocka_unit_test(test_tls_plain_peer),
		cmocka_unit_test(test_tls_names),
		cmocka_unit_test(test_tls_purpose),
		cmocka_unit_test(test_tls_crl),
		cmocka_unit_test(test_tls_bad_cn),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
