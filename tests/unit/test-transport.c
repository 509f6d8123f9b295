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

static void tls_opts(struct zf_tls_opts *o, const char *crt, const char *key)
{
	*o = (struct zf_tls_opts){ .ca_file = certs.ca, .cert_file = crt, .key_file = key,
				   .timeout_ms = 5000 };
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

	tls_opts(&so, certs.server_crt, certs.server_key);
	so.allowed_cn = allowed;
	so.n_allowed_cn = 2;
	tls_opts(&co, certs.client_crt, certs.client_key);
	co.expected_cn = "server";
	assert_int_equal(tls_exchange(&s, &so, &co, peer, &err), 0);
	assert_int_equal(s.rc, 0);
	assert_string_equal(s.peer, "client");       /* the server knows the client by its CN */
	assert_string_equal(peer, "server");
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
	tls_opts(&so, certs.server_crt, certs.server_key);
	tls_opts(&co, certs.expired_crt, certs.expired_key);
	assert_int_not_equal(tls_exchange(&s, &so, &co, peer, &err), 0);
	assert_int_equal(s.rc, -EACCES);
	assert_msg(&s.err, "certificate of client 'old'");
	assert_msg(&s.err, "has expired");

	/* client certificate from another CA */
	memset(&s, 0, sizeof(s));
	zf_err_clear(&err);
	tls_opts(&co, certs.foreign_crt, certs.foreign_key);
	assert_int_not_equal(tls_exchange(&s, &so, &co, peer, &err), 0);
	assert_int_equal(s.rc, -EACCES);
	assert_msg(&s.err, "certificate of client 'eve'");
	assert_msg(&s.err, "not signed by the CA in");

	/* the client trusts another CA than the one that signed the server */
	memset(&s, 0, sizeof(s));
	zf_err_clear(&err);
	tls_opts(&co, certs.client_crt, certs.client_key);
	co.ca_file = certs.other_ca;
	assert_int_not_equal(tls_exchange(&s, &so, &co, peer, &err), 0);
	assert_msg(&err, "certificate of server 'server'");
	assert_msg(&err, "not signed by the CA in");
	assert_int_not_equal(s.rc, 0);

	/* a CN the server does not know */
	memset(&s, 0, sizeof(s));
	zf_err_clear(&err);
	tls_opts(&co, certs.client_crt, certs.client_key);
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
	co.expected_cn = "backup-server";
	assert_int_equal(tls_exchange(&s, &so, &co, peer, &err), -EACCES);
	assert_msg(&err, "presented CN 'server', expected 'backup-server'");
	assert_int_not_equal(s.rc, 0);

	/* bad file names say which file */
	memset(&s, 0, sizeof(s));
	zf_err_clear(&err);
	co.expected_cn = NULL;
	co.key_file = "/nonexistent/key.pem";
	assert_int_equal(tls_exchange(&s, &so, &co, peer, &err), -EINVAL);
	assert_msg(&err, "cannot load key '/nonexistent/key.pem'");
	co.key_file = certs.server_key;
	zf_err_clear(&err);
	memset(&s, 0, sizeof(s));
	assert_int_equal(tls_exchange(&s, &so, &co, peer, &err), -EINVAL);
	assert_msg(&err, "does not match certificate");
}

/* A plain tcp client talking to a tls server (or the reverse) fails within the timeout. */
static void test_tls_plain_peer(void **state)
{
	struct zf_tls_opts so;
	struct srv s = {};
	struct zf_err err = ZF_ERR_INIT;
	char peer[ZF_TRANSPORT_MAX_PEER];
	(void)state;

	tls_opts(&so, certs.server_crt, certs.server_key);
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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
