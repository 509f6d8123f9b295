/* tests/unit/test-daemon-http.c — the daemon's HTTP server: parser, limits, slow and hostile peers */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "daemon/http.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"

/* ---- the parser ---- */

struct head_case {
	const char *head;
	int status;
	const char *method, *path, *query;
};

static const struct head_case heads[] = {
	{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, "GET", "/", "" },
	{ "HEAD /metrics?a=1&b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", 0, "HEAD", "/metrics", "a=1&b" },
	{ "GET / HTTP/1.0\r\n\r\n", 0, "GET", "/", "" },                   /* 1.0 needs no Host */
	{ "\r\nGET /x HTTP/1.0\n\n", 0, "GET", "/x", "" },                  /* empty line first, bare LFs */
	{ "GET / HTTP/1.1\r\nHost:x\r\nContent-Length: 0\r\n\r\n", 0, "GET", "/", "" },
	{ "POST / HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
	{ "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
	{ "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", 413 },
	{ "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 413 },
	{ "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\n\r\n", 400 },                                  /* 1.1 without Host */
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
	{ "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
	{ "GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400 },
	{ "GET / FTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400 },                      /* space before the colon */
	{ "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: x\x7f\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: x\r\n", 400 },                           /* not a whole head */
	{ "\r\n\r\n", 400 },
	{ "", 400 },
};

static void test_parse_head(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		const struct head_case *t = &heads[i];
		struct zf_http_request req = { 0 };
		char buf[512];
		size_t n = strlen(t->head);
		int st;

		memcpy(buf, t->head, n + 1);
		st = zf_http_parse_head(buf, n, &req);
		if (st != t->status)
			fail_msg("case %zu '%s': got %d, want %d", i, t->head, st, t->status);
		if (st == 0) {
			assert_string_equal(req.method, t->method);
			assert_string_equal(req.path, t->path);
			assert_string_equal(req.query, t->query);
		}
	}
}

static void test_parse_head_nul(void **state)
{
	char buf[] = "GET /a\0b HTTP/1.0\r\n\r\n";
	struct zf_http_request req;

	(void)state;
	assert_int_equal(zf_http_parse_head(buf, sizeof(buf) - 1, &req), 400);
}

/* ---- the server, over socketpairs, with a clock the test moves ---- */

struct calls {
	int n;
	char path[64];
};

static void handler(void *userdata, const struct zf_http_request *req, struct zf_http_response *resp)
{
	struct calls *c = userdata;

	c->n++;
	snprintf(c->path, sizeof(c->path), "%s", req->path);
	if (streq(req->path, "/")) {
		resp->content_type = "text/html; charset=utf-8";
		zf_buf_adds(&resp->body, "hello");
	} else if (streq(req->path, "/big")) {
		zf_buf_grow(&resp->body, 1 << 20);
		memset(resp->body.data, 'x', 1 << 20);
		resp->body.len = 1 << 20;
		resp->body.data[resp->body.len] = '\0';
	} else {
		resp->status = 404;
	}
}

/* One turn of a loop: poll without waiting, then handle at now. */
static void pump(struct zf_http_server *srv, int64_t now)
{
	struct pollfd v[ZF_HTTP_MAX_POLLFDS];
	size_t n = zf_http_pollfds(srv, v, ZF_HTTP_MAX_POLLFDS);

	assert_true(poll(v, n, 0) >= 0);
	zf_http_handle(srv, v, n, now);
}

/* A connection: our end returned, the server's end added at now. */
static int connect_pair(struct zf_http_server *srv, int64_t now)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(zf_http_add_conn(srv, sv[1], now), 0);
	return sv[0];
}

/* Everything the server sends until it shuts its side, pumping it meanwhile. */
static void read_reply(struct zf_http_server *srv, int fd, int64_t now, struct zf_buf *out)
{
	for (int i = 0; i < 1000; i++) {
		char buf[65536];
		ssize_t k;

		pump(srv, now);
		k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (k == 0)
			return;
		if (k > 0)
			zf_buf_add(out, buf, (size_t)k);
	}
	fail_msg("no end of reply");
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(zf_write_full(fd, s, strlen(s)), 0);
}

static void test_get_and_close(void **state)
{
	struct calls calls = { 0 };
	struct zf_http_server *srv = zf_http_new(-EBADF, handler, &calls);
	struct zf_buf out = ZF_BUF_INIT;
	int fd = connect_pair(srv, 0);

	(void)state;
	send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	read_reply(srv, fd, 10, &out);
	assert_non_null(strstr(zf_buf_str(&out), "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(zf_buf_str(&out), "Content-Type: text/html; charset=utf-8\r\n"));
	assert_non_null(strstr(zf_buf_str(&out), "Content-Length: 5\r\n"));
	assert_non_null(strstr(zf_buf_str(&out), "Connection: close\r\n"));
	assert_non_null(strstr(zf_buf_str(&out), "\r\n\r\nhello"));
	assert_int_equal(out.len, strstr(zf_buf_str(&out), "\r\n\r\n") - out.data + 4 + 5);
	assert_int_equal(calls.n, 1);
	/* the client closes: the draining connection goes */
	assert_int_equal(zf_http_nconns(srv), 1);
	close(fd);
	pump(srv, 20);
	assert_int_equal(zf_http_nconns(srv), 0);
	assert_int_equal(zf_http_timeout_ms(srv, 20), -1);
	zf_buf_release(&out);
	zf_http_free(srv);
}

static void test_head_404_405(void **state)
{
	static const struct { const char *req, *want, *not; } cases[] = {
		{ "HEAD / HTTP/1.0\r\n\r\n", "Content-Length: 5\r\n", "hello" },
		{ "GET /nope HTTP/1.0\r\n\r\n", "HTTP/1.1 404 Not Found\r\n", NULL },
		{ "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", "Allow: GET, HEAD\r\n", NULL },
		{ "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", "HTTP/1.1 413 ", NULL },
		{ "BREW /pot HTCPCP/1.0\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", NULL },
	};
	struct calls calls = { 0 };
	struct zf_http_server *srv = zf_http_new(-EBADF, handler, &calls);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct zf_buf out = ZF_BUF_INIT;
		int fd = connect_pair(srv, 0);

		send_str(fd, cases[i].req);
		read_reply(srv, fd, 1, &out);
		if (!strstr(zf_buf_str(&out), cases[i].want))
			fail_msg("case %zu: no '%s' in '%s'", i, cases[i].want, zf_buf_str(&out));
		if (cases[i].not)
			assert_null(strstr(zf_buf_str(&out), cases[i].not));
		close(fd);
		zf_buf_release(&out);
	}
	assert_int_equal(calls.n, 2);   /* the handler saw only the good requests */
	zf_http_free(srv);
}

/* A peer that sends one byte a second never completes a head: it is dropped at 5 s. */
static void test_slowloris(void **state)
{
	struct calls calls = { 0 };
	struct zf_http_server *srv = zf_http_new(-EBADF, handler, &calls);
	const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	int fd = connect_pair(srv, 0);
	char c;

	(void)state;
	for (int64_t t = 0; t < ZF_HTTP_DEADLINE_MS; t += 1000) {
		assert_int_equal(zf_write_full(fd, req + t / 1000, 1), 0);
		pump(srv, t);
		assert_int_equal(zf_http_nconns(srv), 1);
		assert_int_equal(zf_http_timeout_ms(srv, t), ZF_HTTP_DEADLINE_MS - t);
	}
	pump(srv, ZF_HTTP_DEADLINE_MS);
	assert_int_equal(zf_http_nconns(srv), 0);
	assert_int_equal(read(fd, &c, 1), 0);           /* closed, with no answer */
	assert_int_equal(calls.n, 0);
	close(fd);
	zf_http_free(srv);
}

static void test_head_too_large(void **state)
{
	struct calls calls = { 0 };
	struct zf_http_server *srv = zf_http_new(-EBADF, handler, &calls);
	struct zf_buf req = ZF_BUF_INIT, out = ZF_BUF_INIT;
	int fd = connect_pair(srv, 0);

	(void)state;
	zf_buf_adds(&req, "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ");
	while (req.len < ZF_HTTP_MAX_HEAD + 100)
		zf_buf_addc(&req, 'a');
	zf_buf_adds(&req, "\r\n\r\n");
	send_str(fd, zf_buf_str(&req));
	read_reply(srv, fd, 1, &out);
	assert_true(startswith(zf_buf_str(&out), "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
	assert_int_equal(calls.n, 0);
	close(fd);
	zf_buf_release(&req);
	zf_buf_release(&out);
	zf_http_free(srv);
}

/* A head of exactly the limit is still served. */
static void test_head_at_limit(void **state)
{
	struct calls calls = { 0 };
	struct zf_http_server *srv = zf_http_new(-EBADF, handler, &calls);
	struct zf_buf req = ZF_BUF_INIT, out = ZF_BUF_INIT;
	int fd = connect_pair(srv, 0);

	(void)state;
	zf_buf_adds(&req, "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ");
	while (req.len < ZF_HTTP_MAX_HEAD - 4)
		zf_buf_addc(&req, 'a');
	zf_buf_adds(&req, "\r\n\r\n");
	assert_int_equal(req.len, ZF_HTTP_MAX_HEAD);
	send_str(fd, zf_buf_str(&req));
	read_reply(srv, fd, 1, &out);
	assert_true(startswith(zf_buf_str(&out), "HTTP/1.1 200 OK\r\n"));
	close(fd);
	zf_buf_release(&req);
	zf_buf_release(&out);
	zf_http_free(srv);
}

/* Pipelined requests and junk after the first head: one answer, the rest read and thrown away. */
static void test_pipelined_junk(void **state)
{
	struct calls calls = { 0 };
	struct zf_http_server *srv = zf_http_new(-EBADF, handler, &calls);
	struct zf_buf out = ZF_BUF_INIT;
	int fd = connect_pair(srv, 0);
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"
				  "\x00\x01\xff junk \r\n\r\n\r\n";

	(void)state;
	assert_int_equal(zf_write_full(fd, req, sizeof(req) - 1), 0);
	read_reply(srv, fd, 1, &out);
	assert_true(startswith(zf_buf_str(&out), "HTTP/1.1 200 OK\r\n"));
	assert_null(strstr(zf_buf_str(&out) + 1, "HTTP/1.1"));
	assert_int_equal(calls.n, 1);
	assert_string_equal(calls.path, "/");
	/* more junk while draining is read, not answered; the client's close ends it */
	send_str(fd, "GET /three HTTP/1.1\r\n\r\n");
	pump(srv, 2);
	assert_int_equal(calls.n, 1);
	close(fd);
	pump(srv, 3);
	assert_int_equal(zf_http_nconns(srv), 0);
	zf_buf_release(&out);
	zf_http_free(srv);
}

/*
 * A peer that asks for 1 MiB (more than a socket buffer holds) and never
 * reads: each turn returns at once, and it is dropped at the deadline.
 */
static void test_peer_never_reads(void **state)
{
	struct calls calls = { 0 };
	struct zf_http_server *srv = zf_http_new(-EBADF, handler, &calls);
	int fd = connect_pair(srv, 0);

	(void)state;
	send_str(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
	for (int64_t t = 0; t < ZF_HTTP_DEADLINE_MS; t += 250) {
		double t0 = zf_now_sec();
		pump(srv, t);
		assert_true(zf_now_sec() - t0 < 0.5);
		assert_int_equal(zf_http_nconns(srv), 1);
	}
	pump(srv, ZF_HTTP_DEADLINE_MS);
	assert_int_equal(zf_http_nconns(srv), 0);
	assert_int_equal(calls.n, 1);
	close(fd);
	zf_http_free(srv);
}

/* The 33rd connection takes the slot of the one that waited longest for its head. */
static void test_connection_limit(void **state)
{
	struct calls calls = { 0 };
	struct zf_http_server *srv = zf_http_new(-EBADF, handler, &calls);
	int fds[ZF_HTTP_MAX_CONNS + 1], sv[2];
	char c;

	(void)state;
	for (int i = 0; i <= ZF_HTTP_MAX_CONNS; i++)
		fds[i] = connect_pair(srv, i);
	assert_int_equal(zf_http_nconns(srv), ZF_HTTP_MAX_CONNS);
	assert_int_equal(read(fds[0], &c, 1), 0);       /* the oldest was dropped */
	assert_int_equal(recv(fds[1], &c, 1, MSG_DONTWAIT), -1);
	/* once every slot is sending to a peer that does not read, newcomers are refused */
	for (int i = 1; i <= ZF_HTTP_MAX_CONNS; i++)
		send_str(fds[i], "GET /big HTTP/1.0\r\n\r\n");
	pump(srv, 100);
	assert_int_equal(calls.n, ZF_HTTP_MAX_CONNS);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(zf_http_add_conn(srv, sv[1], 100), -EBUSY);
	assert_int_equal(read(sv[0], &c, 1), 0);
	close(sv[0]);
	for (int i = 0; i <= ZF_HTTP_MAX_CONNS; i++)
		close(fds[i]);
	zf_http_free(srv);
}

/* Through a real listener on the loopback: accept, answer, close. */
static void test_listen_tcp(void **state)
{
	struct calls calls = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	struct zf_http_server *srv;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct zf_buf out = ZF_BUF_INIT;
	int lfd, fd, port;

	(void)state;
	lfd = zf_http_listen("127.0.0.1:0", &err);
	assert_true(lfd >= 0);
	port = zf_http_local_port(lfd);
	assert_true(port > 0);
	srv = zf_http_new(lfd, handler, &calls);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	send_str(fd, "GET / HTTP/1.0\r\n\r\n");
	read_reply(srv, fd, 0, &out);
	assert_true(startswith(zf_buf_str(&out), "HTTP/1.1 200 OK\r\n"));
	close(fd);
	zf_buf_release(&out);
	zf_http_free(srv);
}

static void test_listen_addresses(void **state)
{
	static const char *const bad[] = { "", "80", "nohost:80", "1.2.3:80", "::1:80", "[::1]80",
					   "[::1:80", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1" };
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct zf_err err = ZF_ERR_INIT;
		fd = zf_http_listen(bad[i], &err);
		if (fd != -EINVAL)
			fail_msg("'%s': got %d", bad[i], fd);
		assert_non_null(strstr(err.msg, "listen address"));
	}
	fd = zf_http_listen("localhost:0", NULL);
	assert_true(fd >= 0);
	close(fd);
	fd = zf_http_listen(":0", NULL);
	assert_true(fd >= 0);
	close(fd);
	fd = zf_http_listen("[::1]:0", NULL);       /* a host without IPv6 says so */
	assert_true(fd >= 0 || fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_head),
		cmocka_unit_test(test_parse_head_nul),
		cmocka_unit_test(test_get_and_close),
		cmocka_unit_test(test_head_404_405),
		cmocka_unit_test(test_slowloris),
		cmocka_unit_test(test_head_too_large),
		cmocka_unit_test(test_head_at_limit),
		cmocka_unit_test(test_pipelined_junk),
		cmocka_unit_test(test_peer_never_reads),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_listen_tcp),
		cmocka_unit_test(test_listen_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
