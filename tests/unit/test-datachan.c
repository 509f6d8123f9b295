/* tests/unit/test-datachan.c — the direct data channel: handshake, records, listener, tampering */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "log/log.h"
#include "transport/datachan.h"
#include "transport/transport.h"
#include "util/err.h"
#include "util/io.h"

#define MiB (1024 * 1024)
#define HANDSHAKE_C2L (40 + 32)         /* connector's HELLO and proof */
#define RECORD_WIRE (ZF_DATACHAN_RECORD_MAX + ZF_DATACHAN_RECORD_OVERHEAD)

static const uint8_t secret[ZF_DATACHAN_SECRET_LEN] = "0123456789abcdef0123456789abcde";
static const uint8_t wrong[ZF_DATACHAN_SECRET_LEN] = "0123456789abcdef0123456789abcdX";

static void assert_msg(const struct zf_err *err, const char *what)
{
	if (!strstr(err->msg, what))
		fail_msg("error '%s' does not mention '%s'", err->msg, what);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 11) * 7 + (i >> 20));
}

static void fill(uint8_t *p, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(off + i);
}

/* Log lines go to a memfd; log_text() returns what was written since log_capture(). */
static int log_fd = -1;
static char log_buf[65536];

static void log_capture(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = memfd_create("log", 0);
	assert_true(log_fd >= 0);
	zf_log_set_fd(log_fd);
}

static const char *log_text(void)
{
	ssize_t k = pread(log_fd, log_buf, sizeof(log_buf) - 1, 0);
	log_buf[k > 0 ? k : 0] = '\0';
	return log_buf;
}

static void assert_log(const char *what)
{
	if (!strstr(log_text(), what))
		fail_msg("log '%s' does not mention '%s'", log_buf, what);
}

/* What a caller does with refused peers: here, log them where assert_log() looks. */
static void refused(void *userdata, uint16_t port, const char *peer, const char *why)
{
	(void)userdata;
	log_warning("refused on port %u: '%s': %s", port, peer, why);
}

/* The receiving side in a thread: accept, read to the end checking the pattern, reply "ok". */
struct rx {
	struct zf_datachan_listener *l;
	int timeout_ms;
	bool small_reads;       /* alternate tiny and large reads */
	int accept_r, read_r;
	uint64_t got;           /* bytes read that matched the pattern */
	bool mismatch;
	int64_t accepted_ms;
	struct zf_err err;
};

static void *rx_main(void *p)
{
	struct rx *s = p;
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	static uint8_t buf[2 * MiB];
	unsigned turn = 0;

	zf_err_clear(&s->err);
	s->accept_r = zf_datachan_accept(s->l, s->timeout_ms, &t, &s->err);
	s->accepted_ms = now_ms();
	if (s->accept_r < 0)
		return NULL;
	for (;;) {
		size_t want = s->small_reads && turn++ % 2 ? 1000 + turn % 7 : sizeof(buf);
		ssize_t k = zf_transport_read(t, buf, want, &s->err);
		if (k <= 0) {
			s->read_r = (int)k;
			break;
		}
		for (ssize_t i = 0; i < k; i++)
			if (buf[i] != pattern(s->got + (uint64_t)i))
				s->mismatch = true;
		s->got += (uint64_t)k;
	}
	if (s->read_r == 0 && zf_transport_write(t, "ok", 2, &s->err) == 0)
		s->read_r = zf_transport_shutdown(t, &s->err);
	return NULL;
}

static void rx_start(struct rx *s, pthread_t *th, bool encrypt, int timeout_ms, char *port)
{
	struct zf_err err = ZF_ERR_INIT;

	memset(s, 0, sizeof(*s));
	s->timeout_ms = timeout_ms;
	assert_int_equal(zf_datachan_listen("127.0.0.1", "0", secret, encrypt, &s->l, &err), 0);
	zf_datachan_listener_on_refused(s->l, refused, NULL);
	snprintf(port, 8, "%u", zf_datachan_port(s->l));
	assert_true(zf_datachan_port(s->l) > 0);
	assert_int_equal(pthread_create(th, NULL, rx_main, s), 0);
}

/* Sends n pattern bytes in writes of chunk bytes (0: uneven); 0 or the first error. */
static int send_chunks(struct zf_transport *t, size_t n, size_t chunk, struct zf_err *err)
{
	static uint8_t buf[MiB];
	static const size_t sizes[] = { 100003, 1, 17, 262144, 262145, 700000 };
	uint64_t off = 0;

	for (unsigned i = 0; off < n; i++) {
		size_t c = MIN(chunk ? chunk : sizes[i % ELEMENTSOF(sizes)], n - off);
		int r;
		fill(buf, c, off);
		r = zf_transport_write(t, buf, c, err);
		if (r < 0)
			return r;
		off += c;
	}
	return zf_transport_shutdown(t, err);
}

static int send_pattern(struct zf_transport *t, size_t n, struct zf_err *err)
{
	return send_chunks(t, n, 0, err);
}

static void transfer(bool encrypt, bool small_reads)
{
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct rx s;
	pthread_t th;
	char port[8], reply[4];
	const size_t n = 5 * MiB + 12345;

	rx_start(&s, &th, encrypt, 5000, port);
	s.small_reads = small_reads;
	assert_int_equal(zf_datachan_connect("127.0.0.1", port, secret, encrypt, 5000, &t, &err), 0);
	assert_string_equal(t->kind, "datachan");
	assert_true(strstr(zf_transport_peer(t), "tcp:127.0.0.1:") != NULL);
	assert_int_equal(zf_transport_set_keepalive(t, 10, 5, 3, &err), 0);
	assert_int_equal(send_pattern(t, n, &err), 0);
	assert_int_equal(zf_transport_read_full(t, reply, 2, &err), 0);
	assert_memory_equal(reply, "ok", 2);
	assert_int_equal(zf_transport_read(t, reply, sizeof(reply), &err), 0);
	pthread_join(th, NULL);
	assert_int_equal(s.accept_r, 0);
	assert_int_equal(s.read_r, 0);
	assert_false(s.mismatch);
	assert_int_equal(s.got, n);
	/* one stream per secret: the listener is closed */
	t = zf_transport_free(t);
	zf_err_clear(&err);
	assert_true(zf_datachan_connect("127.0.0.1", port, secret, encrypt, 2000, &t, &err) < 0);
	assert_msg(&err, "data channel: cannot connect");
	zf_err_clear(&err);
	assert_int_equal(zf_datachan_accept(s.l, 100, &t, &err), -EBADF);
	assert_msg(&err, "one stream per secret");
	zf_datachan_listener_free(s.l);
}

static void test_plain(void **state)
{
	(void)state;
	transfer(false, false);
}

static void test_encrypted(void **state)
{
	(void)state;
	transfer(true, false);
	transfer(true, true);
}

static void test_wrong_secret(void **state)
{
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct rx s;
	pthread_t th;
	char port[8];
	(void)state;

	log_capture();
	rx_start(&s, &th, true, 5000, port);
	assert_int_equal(zf_datachan_connect("127.0.0.1", port, wrong, true, 5000, &t, &err),
			 -EACCES);
	assert_msg(&err, "refused our proof");
	assert_null(t);
	/* the listener kept waiting: the right peer gets in */
	zf_err_clear(&err);
	assert_int_equal(zf_datachan_connect("127.0.0.1", port, secret, true, 5000, &t, &err), 0);
	assert_int_equal(send_pattern(t, 1000, &err), 0);
	pthread_join(th, NULL);
	assert_int_equal(s.accept_r, 0);
	assert_int_equal(s.got, 1000);
	assert_log("failed authentication (wrong secret)");
	assert_log("tcp:127.0.0.1:");
	zf_datachan_listener_free(s.l);
}

static void test_encrypt_mismatch(void **state)
{
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct rx s;
	pthread_t th;
	char port[8];
	(void)state;

	log_capture();
	rx_start(&s, &th, true, 600, port);
	assert_int_equal(zf_datachan_connect("127.0.0.1", port, secret, false, 5000, &t, &err),
			 -EPROTO);
	assert_msg(&err, "encrypt flag mismatch");
	pthread_join(th, NULL);
	assert_int_equal(s.accept_r, -ETIMEDOUT);
	assert_log("encrypt flag mismatch");
	zf_datachan_listener_free(s.l);

	rx_start(&s, &th, false, 600, port);
	zf_err_clear(&err);
	assert_int_equal(zf_datachan_connect("127.0.0.1", port, secret, true, 5000, &t, &err),
			 -EPROTO);
	assert_msg(&err, "encrypt flag mismatch");
	pthread_join(th, NULL);
	assert_int_equal(s.accept_r, -ETIMEDOUT);
	zf_datachan_listener_free(s.l);
}

static void test_accept_timeout(void **state)
{
	_cleanup_(zf_datachan_listener_freep) struct zf_datachan_listener *l = NULL;
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	struct zf_err err = ZF_ERR_INIT;
	char port[8];
	int64_t t0;
	(void)state;

	assert_int_equal(zf_datachan_listen(NULL, "0", secret, false, &l, &err), 0);
	snprintf(port, sizeof(port), "%u", zf_datachan_port(l));
	t0 = now_ms();
	assert_int_equal(zf_datachan_accept(l, 200, &t, &err), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 190);
	assert_msg(&err, "no authenticated peer within 200 ms");
	/* closed after the timeout too */
	zf_err_clear(&err);
	assert_true(zf_datachan_connect("127.0.0.1", port, secret, false, 2000, &t, &err) < 0);
	assert_msg(&err, "cannot connect");
	/* bad listen address */
	zf_err_clear(&err);
	{
		struct zf_datachan_listener *bad = NULL;
		assert_true(zf_datachan_listen("192.0.2.1", "0", secret, false, &bad, &err) < 0);
		assert_msg(&err, "data channel: cannot listen on '192.0.2.1'");
	}
}

static void test_silent_peer(void **state)
{
	_cleanup_(zf_transport_freep) struct zf_transport *silent = NULL;
	_cleanup_(zf_transport_freep) struct zf_transport *silent2 = NULL;
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct rx s;
	pthread_t th;
	char port[8], buf[64];
	int64_t t0;
	(void)state;

	/* a peer that says nothing does not delay a good one: handshakes run side by side */
	log_capture();
	rx_start(&s, &th, true, 5000, port);
	zf_datachan_listener_set_handshake_timeout(s.l, 3000);
	assert_int_equal(zf_tcp_connect("127.0.0.1", port, 1000, &silent, &err), 0);
	usleep(50000);
	t0 = now_ms();
	assert_int_equal(zf_datachan_connect("127.0.0.1", port, secret, true, 5000, &t, &err), 0);
	assert_int_equal(send_pattern(t, 10, &err), 0);
	pthread_join(th, NULL);
	assert_int_equal(s.accept_r, 0);
	assert_true(s.accepted_ms - t0 < 1000);
	assert_int_equal(s.got, 10);
	/* the silent one got our HELLO, then was closed */
	zf_transport_set_timeout(silent, 1000);
	assert_int_equal(zf_transport_read_full(silent, buf, 40, &err), 0);
	assert_memory_equal(buf, "ZFDC\x01\x01", 6);
	assert_int_equal(zf_transport_read(silent, buf, sizeof(buf), &err), 0);
	assert_log("another peer authenticated first");
	zf_datachan_listener_free(s.l);

	/* a stalled handshake is dropped after the handshake timeout and logged */
	t = zf_transport_free(t);
	silent = zf_transport_free(silent);
	rx_start(&s, &th, false, 5000, port);
	zf_datachan_listener_set_handshake_timeout(s.l, 200);
	assert_int_equal(zf_tcp_connect("127.0.0.1", port, 1000, &silent, &err), 0);
	/* half a HELLO, then nothing */
	assert_int_equal(zf_transport_write(silent, "ZFDC\x01", 5, &err), 0);
	assert_int_equal(zf_tcp_connect("127.0.0.1", port, 1000, &silent2, &err), 0);
	assert_int_equal(zf_transport_write(silent2, "GET / HTTP/1.0\r\n\r\n"
					    "0123456789012345678901234567890123456789", 58, &err), 0);
	usleep(400000);
	assert_int_equal(zf_datachan_connect("127.0.0.1", port, secret, false, 5000, &t, &err), 0);
	assert_int_equal(send_pattern(t, 10, &err), 0);
	pthread_join(th, NULL);
	assert_int_equal(s.accept_r, 0);
	assert_log("no handshake within 200 ms");
	assert_log("is not a zferry data channel");
	zf_datachan_listener_free(s.l);
}

/* A tiny proxy between connector and listener that can flip a byte or cut the stream. */
struct proxy {
	int lfd;
	char to_port[8];
	uint64_t flip_at;       /* offset in the connector-to-listener stream; UINT64_MAX: none */
	uint64_t cut_at;        /* close both after this many bytes; UINT64_MAX: never */
};

static void *proxy_main(void *p)
{
	struct proxy *x = p;
	_cleanup_(zf_transport_freep) struct zf_transport *a = NULL;
	_cleanup_(zf_transport_freep) struct zf_transport *b = NULL;
	struct zf_err err = ZF_ERR_INIT;
	static uint8_t buf[65536];
	uint64_t off = 0;
	bool a_open = true, b_open = true;

	if (zf_tcp_accept(x->lfd, 5000, NULL, &a, &err) < 0 ||
	    zf_tcp_connect("127.0.0.1", x->to_port, 5000, &b, &err) < 0)
		return NULL;
	while (a_open || b_open) {
		struct pollfd pfd[2] = { { .fd = a_open ? a->rfd : -1, .events = POLLIN },
					 { .fd = b_open ? b->rfd : -1, .events = POLLIN } };
		if (poll(pfd, 2, 5000) <= 0)
			break;
		if (pfd[0].revents) {
			ssize_t k = recv(a->rfd, buf, sizeof(buf), MSG_DONTWAIT);
			if (k <= 0) {
				a_open = false;
				shutdown(b->rfd, SHUT_WR);
			} else {
				size_t n = (size_t)k;
				if (x->flip_at >= off && x->flip_at < off + n)
					buf[x->flip_at - off] ^= 0x01;
				if (x->cut_at < off + n)
					n = (size_t)(x->cut_at - off);
				if (zf_write_timeout(b->rfd, buf, n, 5000) < 0)
					break;
				off += n;
				if (off == x->cut_at)
					break;
			}
		}
		if (pfd[1].revents) {
			ssize_t k = recv(b->rfd, buf, sizeof(buf), MSG_DONTWAIT);
			if (k <= 0) {
				b_open = false;
				shutdown(a->rfd, SHUT_WR);
			} else if (zf_write_timeout(a->rfd, buf, (size_t)k, 5000) < 0)
				break;
		}
	}
	return NULL;
}

/* Sends 2 MiB through a proxy; returns the receiver's state. */
static void through_proxy(uint64_t flip_at, uint64_t cut_at, int accept_ms, struct rx *s,
			  int *ret_connect, struct zf_err *connect_err)
{
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct proxy x = { .lfd = -1, .flip_at = flip_at, .cut_at = cut_at };
	pthread_t th, pth;
	char port[8];
	uint16_t pport = 0;

	rx_start(s, &th, true, accept_ms, port);
	snprintf(x.to_port, sizeof(x.to_port), "%s", port);
	assert_int_equal(zf_tcp_listen("127.0.0.1", "0", &x.lfd, &err), 0);
	assert_int_equal(zf_tcp_local_port(x.lfd, &pport, &err), 0);
	snprintf(port, sizeof(port), "%u", pport);
	assert_int_equal(pthread_create(&pth, NULL, proxy_main, &x), 0);
	*ret_connect = zf_datachan_connect("127.0.0.1", port, secret, true, 3000, &t, connect_err);
	if (*ret_connect == 0 && send_chunks(t, 2 * MiB, ZF_DATACHAN_RECORD_MAX, &err) < 0) {
		/* the cut may break our side as well; the receiver's verdict is what counts */
	}
	t = zf_transport_free(t);
	pthread_join(pth, NULL);
	pthread_join(th, NULL);
	close(x.lfd);
	zf_datachan_listener_free(s->l);
}

static void test_tampered(void **state)
{
	struct zf_err cerr = ZF_ERR_INIT;
	struct rx s;
	int cr;
	(void)state;

	/* untouched through the proxy: all arrives */
	through_proxy(UINT64_MAX, UINT64_MAX, 3000, &s, &cr, &cerr);
	assert_int_equal(cr, 0);
	assert_int_equal(s.read_r, 0);
	assert_int_equal(s.got, 2 * MiB);

	/* a flipped bit in record 3's ciphertext: records 0-2 arrive, then -EBADMSG */
	through_proxy(HANDSHAKE_C2L + 3 * RECORD_WIRE + 4 + 1000, UINT64_MAX, 3000, &s, &cr, &cerr);
	assert_int_equal(cr, 0);
	assert_int_equal(s.read_r, -EBADMSG);
	assert_msg(&s.err, "record 3 failed authentication");
	assert_false(s.mismatch);
	assert_int_equal(s.got, 3 * ZF_DATACHAN_RECORD_MAX);

	/* a flipped bit in a length field or a tag */
	through_proxy(HANDSHAKE_C2L + 1, UINT64_MAX, 3000, &s, &cr, &cerr);
	assert_int_equal(s.read_r, -EBADMSG);
	assert_false(s.mismatch);
	through_proxy(HANDSHAKE_C2L + RECORD_WIRE - 1, UINT64_MAX, 3000, &s, &cr, &cerr);
	assert_int_equal(s.read_r, -EBADMSG);
	assert_msg(&s.err, "record 0 failed authentication");
	assert_int_equal(s.got, 0);

	/* a flipped bit in the connector's nonce: the proofs no longer match */
	zf_err_clear(&cerr);
	log_capture();
	through_proxy(20, UINT64_MAX, 500, &s, &cr, &cerr);
	assert_int_equal(cr, -EACCES);
	assert_int_equal(s.accept_r, -ETIMEDOUT);
	assert_log("failed authentication");
}

static void test_truncated(void **state)
{
	struct zf_err cerr = ZF_ERR_INIT;
	struct rx s;
	int cr;
	(void)state;

	/* cut inside record 1 */
	through_proxy(UINT64_MAX, HANDSHAKE_C2L + RECORD_WIRE + 100, 3000, &s, &cr, &cerr);
	assert_int_equal(cr, 0);
	assert_int_equal(s.read_r, -EBADMSG);
	assert_msg(&s.err, "record 1 from");
	assert_msg(&s.err, "truncated");
	assert_int_equal(s.got, ZF_DATACHAN_RECORD_MAX);
	assert_false(s.mismatch);

	/* cut between records: no end record is an error too */
	through_proxy(UINT64_MAX, HANDSHAKE_C2L + 2 * RECORD_WIRE, 3000, &s, &cr, &cerr);
	assert_int_equal(s.read_r, -EBADMSG);
	assert_msg(&s.err, "without its end record");
	assert_int_equal(s.got, 2 * ZF_DATACHAN_RECORD_MAX);
}

static void test_records(void **state)
{
	_cleanup_(zf_datachan_aead_freep) struct zf_datachan_aead *tx = NULL;
	_cleanup_(zf_datachan_aead_freep) struct zf_datachan_aead *rx = NULL;
	_cleanup_(zf_datachan_aead_freep) struct zf_datachan_aead *rx2 = NULL;
	static uint8_t r0[100 + ZF_DATACHAN_RECORD_OVERHEAD], r1[100 + ZF_DATACHAN_RECORD_OVERHEAD];
	static uint8_t out[ZF_DATACHAN_RECORD_MAX], big[ZF_DATACHAN_RECORD_MAX + 1];
	uint8_t key[32] = { 1 }, msg[100];
	struct zf_err err = ZF_ERR_INIT;
	size_t len = 0, used = 0;
	(void)state;

	tx = zf_datachan_aead_new(key, true);
	rx = zf_datachan_aead_new(key, false);
	rx2 = zf_datachan_aead_new(key, false);
	fill(msg, sizeof(msg), 0);
	assert_int_equal(zf_datachan_record_seal(tx, msg, 100, r0, &err), 100 + 20);
	assert_int_equal(zf_datachan_record_seal(tx, msg, 100, r1, &err), 100 + 20);
	assert_memory_not_equal(r0, r1, sizeof(r0));    /* a fresh nonce per record */
	assert_int_equal(zf_datachan_record_seal(tx, big, sizeof(big), out, &err), -EINVAL);
	/* needs more */
	assert_int_equal(zf_datachan_record_open(rx, r0, 3, out, &len, &used, &err), 0);
	assert_int_equal(used, 4);
	assert_int_equal(zf_datachan_record_open(rx, r0, 50, out, &len, &used, &err), 0);
	assert_int_equal(used, 120);
	/* in order */
	assert_int_equal(zf_datachan_record_open(rx, r0, sizeof(r0), out, &len, &used, &err), 1);
	assert_int_equal(len, 100);
	assert_memory_equal(out, msg, 100);
	assert_int_equal(zf_datachan_record_open(rx, r1, sizeof(r1), out, &len, &used, &err), 1);
	/* out of order: record 1 where 0 belongs */
	zf_err_clear(&err);
	assert_int_equal(zf_datachan_record_open(rx2, r1, sizeof(r1), out, &len, &used, &err),
			 -EBADMSG);
	assert_msg(&err, "record 0 failed authentication");
	/* and the stream stays dead */
	assert_int_equal(zf_datachan_record_open(rx2, r0, sizeof(r0), out, &len, &used, &err),
			 -EBADMSG);
	/* a length over the limit is refused before waiting for it */
	{
		_cleanup_(zf_datachan_aead_freep) struct zf_datachan_aead *rx3 =
			zf_datachan_aead_new(key, false);
		uint8_t hdr[4] = { 0x00, 0x04, 0x00, 0x01 };
		zf_err_clear(&err);
		assert_int_equal(zf_datachan_record_open(rx3, hdr, 4, out, &len, &used, &err),
				 -EBADMSG);
		assert_msg(&err, "over 262144");
	}
}

static void test_secret(void **state)
{
	uint8_t a[ZF_DATACHAN_SECRET_LEN], b[ZF_DATACHAN_SECRET_LEN];
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_datachan_secret_new(a, &err), 0);
	assert_int_equal(zf_datachan_secret_new(b, &err), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_encrypted),
		cmocka_unit_test(test_wrong_secret),
		cmocka_unit_test(test_encrypt_mismatch),
		cmocka_unit_test(test_accept_timeout),
		cmocka_unit_test(test_silent_peer),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_truncated),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
