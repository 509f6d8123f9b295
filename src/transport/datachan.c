/*
 * src/transport/datachan.c — the direct data channel: handshake, record layer, listener
 *
 * The handshake (docs/protocol.md, "Direct data channel") is mutual
 * challenge-response: each side sends a HELLO with a fresh 32-byte nonce
 * first, and only after it has read the other's HELLO does anything keyed
 * by the secret go out, so neither side's proof can be replayed into
 * another session.  The connector proves first; the listener answers with
 * its own proof only to a connector that proved, so a stranger learns
 * nothing derived from the secret.  Both HELLOs (magic, version, encrypt
 * flag, nonces) are inside both MACs, and each MAC has its own direction
 * label, so a reflected proof, a flipped flag or a replayed nonce fails.
 *
 * The listener runs up to MAX_PENDING handshakes at once from one poll()
 * loop on non-blocking sockets, each with its own deadline, so a peer that
 * connects and says nothing costs a slot, not the good peer's time.
 *
 * Records: one EVP_CIPHER_CTX per direction keeps its AES key schedule;
 * each record only resets the IV (a counter), so there is no allocation
 * per record.  The writer seals straight from the caller's buffer into one
 * preallocated wire buffer; the reader reads ahead into another and opens
 * a record straight into the caller's buffer when it is big enough.
 */
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include "log/log.h"
#include "transport/datachan.h"
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/num.h"
#include "util/banned.h"

#define HELLO_LEN 40
#define NONCE_LEN 32
#define MAC_LEN 32
#define KEY_LEN 32
#define TAG_LEN 16
#define IV_LEN 12
#define FLAG_ENCRYPT 0x01
#define VERSION 1
#define VERDICT_OK 0
#define VERDICT_REFUSED 1
#define MAX_PENDING 16
#define RBUF_SIZE (2 * (ZF_DATACHAN_RECORD_MAX + ZF_DATACHAN_RECORD_OVERHEAD))

static const char magic[4] = { 'Z', 'F', 'D', 'C' };
static const char label_connector[] = "zferry datachan v1 auth connector";
static const char label_listener[] = "zferry datachan v1 auth listener";
static const char info_c2l[] = "zferry datachan v1 key connector to listener";
static const char info_l2c[] = "zferry datachan v1 key listener to connector";

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int zf_datachan_secret_new(uint8_t secret[ZF_DATACHAN_SECRET_LEN], struct zf_err *err)
{
	if (RAND_bytes(secret, ZF_DATACHAN_SECRET_LEN) != 1)
		return zf_err_set(err, -EIO, "data channel: cannot get random bytes for a secret");
	return 0;
}

/* ---- record layer ---------------------------------------------------------------------- */

struct zf_datachan_aead {
	EVP_CIPHER_CTX *ctx;
	uint64_t seq;           /* the next record's number, also its nonce */
	bool seal;
	bool failed;            /* a record failed: the stream is dead */
};

struct zf_datachan_aead *zf_datachan_aead_new(const uint8_t *key, bool seal)
{
	struct zf_datachan_aead *a = zf_xcalloc(1, sizeof(*a));

	a->seal = seal;
	a->ctx = EVP_CIPHER_CTX_new();
	if (!a->ctx || EVP_CipherInit_ex(a->ctx, EVP_aes_256_gcm(), NULL, key, NULL, seal) != 1)
		return zf_datachan_aead_free(a);
	return a;
}

struct zf_datachan_aead *zf_datachan_aead_free(struct zf_datachan_aead *a)
{
	if (a) {
		EVP_CIPHER_CTX_free(a->ctx);    /* wipes the key schedule */
		free(a);
	}
	return NULL;
}

static void make_iv(uint64_t seq, uint8_t iv[IV_LEN])
{
	memset(iv, 0, 4);
	for (int i = 0; i < 8; i++)
		iv[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

ssize_t zf_datachan_record_seal(struct zf_datachan_aead *a, const void *p, size_t n, uint8_t *out,
				struct zf_err *err)
{
	uint8_t iv[IV_LEN];
	int len = 0, fin = 0;

	if (!a->seal || n > ZF_DATACHAN_RECORD_MAX)
		return zf_err_set(err, -EINVAL, "data channel: cannot seal %zu bytes", n);
	put_be32(out, (uint32_t)n);
	make_iv(a->seq, iv);
	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, iv, -1) != 1 ||
	    EVP_CipherUpdate(a->ctx, NULL, &len, out, 4) != 1 ||
	    (n > 0 && EVP_CipherUpdate(a->ctx, out + 4, &len, p, (int)n) != 1) ||
	    EVP_CipherFinal_ex(a->ctx, out + 4 + n, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + 4 + n) != 1)
		return zf_err_set(err, -EIO, "data channel: cannot encrypt record %" PRIu64, a->seq);
	a->seq++;
	return (ssize_t)(n + ZF_DATACHAN_RECORD_OVERHEAD);
}

int zf_datachan_record_open(struct zf_datachan_aead *a, const uint8_t *p, size_t n, uint8_t *out,
			    size_t *ret_len, size_t *ret_used, struct zf_err *err)
{
	uint8_t iv[IV_LEN];
	uint32_t len;
	int k = 0, fin = 0;
	bool ok;

	if (a->seal || a->failed)
		return zf_err_set(err, -EBADMSG, "data channel: record %" PRIu64
				  " follows a failed one", a->seq);
	if (n < 4) {
		*ret_used = 4;
		return 0;
	}
	len = get_be32(p);
	if (len > ZF_DATACHAN_RECORD_MAX) {
		a->failed = true;
		return zf_err_set(err, -EBADMSG, "data channel: record %" PRIu64
				  " has length %" PRIu32 ", over %u", a->seq, len,
				  ZF_DATACHAN_RECORD_MAX);
	}
	if (n < (size_t)len + ZF_DATACHAN_RECORD_OVERHEAD) {
		*ret_used = (size_t)len + ZF_DATACHAN_RECORD_OVERHEAD;
		return 0;
	}
	make_iv(a->seq, iv);
	ok = EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, iv, -1) == 1 &&
	     EVP_CipherUpdate(a->ctx, NULL, &k, p, 4) == 1 &&
	     (len == 0 || EVP_CipherUpdate(a->ctx, out, &k, p + 4, (int)len) == 1) &&
	     EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
				 (void *)(p + 4 + len)) == 1 &&
	     EVP_CipherFinal_ex(a->ctx, out + len, &fin) == 1;
	if (!ok) {
		a->failed = true;
		explicit_bzero(out, len);
		return zf_err_set(err, -EBADMSG, "data channel: record %" PRIu64
				  " failed authentication", a->seq);
	}
	a->seq++;
	*ret_len = len;
	*ret_used = (size_t)len + ZF_DATACHAN_RECORD_OVERHEAD;
	return 1;
}

/* ---- the encrypted transport --------------------------------------------------------- */

struct dc {
	struct zf_transport base;
	struct zf_transport *tcp;
	struct zf_datachan_aead *tx, *rx;
	uint8_t *wbuf;          /* one sealed record */
	uint8_t *rbuf;          /* wire bytes read ahead, [rpos, rend) */
	size_t rpos, rend;
	uint8_t *pbuf;          /* an opened record the caller had no room for, [ppos, pend) */
	size_t ppos, pend;
	bool rx_end;            /* the peer's end record arrived */
	bool tx_end;            /* ours went out */
};

static struct dc *to_dc(struct zf_transport *t)
{
	return (struct dc *)t;
}

static ssize_t dc_read(struct zf_transport *t, void *p, size_t n, struct zf_err *err)
{
	struct dc *d = to_dc(t);

	if (d->ppos < d->pend) {
		size_t k = MIN(n, d->pend - d->ppos);
		memcpy(p, d->pbuf + d->ppos, k);
		d->ppos += k;
		return (ssize_t)k;
	}
	if (d->rx_end || n == 0)
		return 0;
	d->tcp->timeout_ms = t->timeout_ms;
	for (;;) {
		size_t avail = d->rend - d->rpos, len = 0, used = 0;
		uint8_t *dest = d->pbuf;
		ssize_t k;
		int r;

		/* open straight into the caller's buffer when the record fits */
		if (avail >= 4 && get_be32(d->rbuf + d->rpos) <= n)
			dest = p;
		r = zf_datachan_record_open(d->rx, d->rbuf + d->rpos, avail, dest, &len, &used, err);
		if (r < 0)
			return zf_err_prefix(err, "from '%s'", t->peer);
		if (r > 0) {
			d->rpos += used;
			if (len == 0) {
				d->rx_end = true;
				return 0;
			}
			if (dest == p)
				return (ssize_t)len;
			d->ppos = MIN(n, len);
			d->pend = len;
			memcpy(p, d->pbuf, d->ppos);
			return (ssize_t)d->ppos;
		}
		if (d->rpos + used > RBUF_SIZE || d->rpos == d->rend) {
			memmove(d->rbuf, d->rbuf + d->rpos, avail);
			d->rpos = 0;
			d->rend = avail;
		}
		k = zf_transport_read(d->tcp, d->rbuf + d->rend, RBUF_SIZE - d->rend, err);
		if (k < 0)
			return k;
		if (k == 0) {
			if (avail == 0)
				return zf_err_set(err, -EBADMSG, "data channel: stream from '%s' "
						  "ended after record %" PRIu64 " without its end record",
						  t->peer, d->rx->seq);
			return zf_err_set(err, -EBADMSG, "data channel: record %" PRIu64
					  " from '%s' truncated after %zu of %zu bytes", d->rx->seq,
					  t->peer, avail, used);
		}
		d->rend += (size_t)k;
	}
}

static int dc_write(struct zf_transport *t, const void *p, size_t n, struct zf_err *err)
{
	struct dc *d = to_dc(t);

	if (d->tx_end)
		return zf_err_set(err, -EPIPE, "data channel to '%s' already shut down", t->peer);
	d->tcp->timeout_ms = t->timeout_ms;
	while (n > 0) {
		size_t c = MIN(n, (size_t)ZF_DATACHAN_RECORD_MAX);
		ssize_t k = zf_datachan_record_seal(d->tx, p, c, d->wbuf, err);
		int r;

		if (k < 0)
			return (int)k;
		r = zf_transport_write(d->tcp, d->wbuf, (size_t)k, err);
		if (r < 0)
			return r;
		p = (const uint8_t *)p + c;
		n -= c;
	}
	return 0;
}

static int dc_shutdown(struct zf_transport *t, struct zf_err *err)
{
	struct dc *d = to_dc(t);
	ssize_t k;
	int r;

	if (d->tx_end)
		return 0;
	d->tcp->timeout_ms = t->timeout_ms;
	k = zf_datachan_record_seal(d->tx, NULL, 0, d->wbuf, err);
	if (k < 0)
		return (int)k;
	r = zf_transport_write(d->tcp, d->wbuf, (size_t)k, err);
	if (r < 0)
		return r;
	d->tx_end = true;
	return zf_transport_shutdown(d->tcp, err);
}

static void dc_free(struct zf_transport *t)
{
	struct dc *d = to_dc(t);

	zf_transport_free(d->tcp);
	zf_datachan_aead_free(d->tx);
	zf_datachan_aead_free(d->rx);
	free(d->wbuf);
	free(d->rbuf);
	if (d->pbuf)
		explicit_bzero(d->pbuf, ZF_DATACHAN_RECORD_MAX);
	free(d->pbuf);
	free(d);
}

static const struct zf_transport_ops dc_ops = {
	.read = dc_read,
	.write = dc_write,
	.shutdown = dc_shutdown,
	.free = dc_free,
};

/* ---- handshake ----------------------------------------------------------------------- */

static void make_hello(bool encrypt, uint8_t hello[HELLO_LEN], struct zf_err *err, int *r)
{
	memcpy(hello, magic, 4);
	hello[4] = VERSION;
	hello[5] = encrypt ? FLAG_ENCRYPT : 0;
	hello[6] = hello[7] = 0;
	*r = RAND_bytes(hello + 8, NONCE_LEN) == 1 ? 0 :
		zf_err_set(err, -EIO, "data channel: cannot get random bytes for a nonce");
}

/* Checks a peer's HELLO: 0, or -errno with the reason in err. */
static int check_hello(const uint8_t hello[HELLO_LEN], bool encrypt, const char *role,
		       const char *peer, struct zf_err *err)
{
	if (memcmp(hello, magic, 4) != 0)
		return zf_err_set(err, -EPROTO, "data channel: %s '%s' is not a zferry data channel",
				  role, peer);
	if (hello[4] != VERSION)
		return zf_err_set(err, -EPROTO, "data channel: %s '%s' speaks version %u, we %u",
				  role, peer, hello[4], VERSION);
	if ((hello[5] & ~FLAG_ENCRYPT) != 0 || hello[6] != 0 || hello[7] != 0)
		return zf_err_set(err, -EPROTO, "data channel: %s '%s' sent unknown flags", role,
				  peer);
	if (!!(hello[5] & FLAG_ENCRYPT) != encrypt)
		return zf_err_set(err, -EPROTO,
				  "data channel: %s '%s' %s encryption but we %s (encrypt flag "
				  "mismatch)", role, peer, encrypt ? "does not want" : "wants",
				  encrypt ? "do" : "do not");
	return 0;
}

/* HMAC-SHA256(secret, HELLO_C || HELLO_L || label). */
static int proof(const uint8_t *secret, const uint8_t *hello_c, const uint8_t *hello_l,
		 const char *label, uint8_t mac[MAC_LEN], struct zf_err *err)
{
	uint8_t msg[2 * HELLO_LEN + sizeof(label_connector)];
	size_t ll = strlen(label);
	unsigned len = 0;

	memcpy(msg, hello_c, HELLO_LEN);
	memcpy(msg + HELLO_LEN, hello_l, HELLO_LEN);
	memcpy(msg + 2 * HELLO_LEN, label, ll);
	if (!HMAC(EVP_sha256(), secret, ZF_DATACHAN_SECRET_LEN, msg, 2 * HELLO_LEN + ll, mac,
		  &len) || len != MAC_LEN)
		return zf_err_set(err, -EIO, "data channel: cannot compute HMAC-SHA256");
	return 0;
}

/* HKDF-SHA256(ikm = secret, salt = nonce_c || nonce_l, info). */
static int derive_key(const uint8_t *secret, const uint8_t *hello_c, const uint8_t *hello_l,
		      const char *info, uint8_t key[KEY_LEN], struct zf_err *err)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	uint8_t salt[2 * NONCE_LEN];
	size_t len = KEY_LEN;
	bool ok;

	memcpy(salt, hello_c + 8, NONCE_LEN);
	memcpy(salt + NONCE_LEN, hello_l + 8, NONCE_LEN);
	ok = pctx && EVP_PKEY_derive_init(pctx) == 1 &&
	     EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) == 1 &&
	     EVP_PKEY_CTX_set1_hkdf_salt(pctx, salt, sizeof(salt)) == 1 &&
	     EVP_PKEY_CTX_set1_hkdf_key(pctx, secret, ZF_DATACHAN_SECRET_LEN) == 1 &&
	     EVP_PKEY_CTX_add1_hkdf_info(pctx, (const unsigned char *)info,
					 (int)strlen(info)) == 1 &&
	     EVP_PKEY_derive(pctx, key, &len) == 1 && len == KEY_LEN;
	EVP_PKEY_CTX_free(pctx);
	if (!ok)
		return zf_err_set(err, -EIO, "data channel: cannot derive keys (HKDF)");
	return 0;
}

/* Wraps an authenticated tcp transport (ownership passes, also on failure). */
static int make_transport(struct zf_transport *tcp, bool encrypt, bool connector,
			  const uint8_t *secret, const uint8_t *hello_c, const uint8_t *hello_l,
			  struct zf_transport **ret, struct zf_err *err)
{
	_cleanup_(zf_transport_freep) struct zf_transport *owned = tcp;
	_cleanup_(zf_transport_freep) struct zf_transport *tt = NULL;
	uint8_t c2l[KEY_LEN], l2c[KEY_LEN];
	struct dc *d;
	int r;

	if (!encrypt) {
		owned->kind = "datachan";
		*ret = TAKE_PTR(owned);
		return 0;
	}
	d = zf_xcalloc(1, sizeof(*d));
	d->base.ops = &dc_ops;
	d->base.kind = "datachan";
	d->base.rfd = tcp->rfd;
	d->base.wfd = tcp->wfd;
	d->base.timeout_ms = tcp->timeout_ms;
	memcpy(d->base.peer, tcp->peer, sizeof(d->base.peer));
	d->tcp = TAKE_PTR(owned);
	tt = &d->base;
	d->wbuf = zf_xmalloc(ZF_DATACHAN_RECORD_MAX + ZF_DATACHAN_RECORD_OVERHEAD);
	d->rbuf = zf_xmalloc(RBUF_SIZE);
	d->pbuf = zf_xmalloc(ZF_DATACHAN_RECORD_MAX);

	r = derive_key(secret, hello_c, hello_l, info_c2l, c2l, err);
	if (r >= 0)
		r = derive_key(secret, hello_c, hello_l, info_l2c, l2c, err);
	if (r >= 0) {
		d->tx = zf_datachan_aead_new(connector ? c2l : l2c, true);
		d->rx = zf_datachan_aead_new(connector ? l2c : c2l, false);
	}
	explicit_bzero(c2l, sizeof(c2l));
	explicit_bzero(l2c, sizeof(l2c));
	if (r < 0)
		return r;
	if (!d->tx || !d->rx)
		return zf_err_set(err, -ENOMEM, "data channel: cannot set up AES-256-GCM");
	*ret = TAKE_PTR(tt);
	return 0;
}

int zf_datachan_connect(const char *host, const char *port, const uint8_t *secret, bool encrypt,
			int timeout_ms, struct zf_transport **ret, struct zf_err *err)
{
	_cleanup_(zf_transport_freep) struct zf_transport *tcp = NULL;
	uint8_t hello_c[HELLO_LEN], hello_l[HELLO_LEN], mac[MAC_LEN], want[MAC_LEN];
	uint8_t verdict = 0;
	int r, hs = ZF_DATACHAN_HANDSHAKE_TIMEOUT_MS;

	if (timeout_ms >= 0 && timeout_ms < hs)
		hs = timeout_ms;
	r = zf_tcp_connect(host, port, timeout_ms, &tcp, err);
	if (r < 0)
		return zf_err_prefix(err, "data channel");
	zf_transport_set_timeout(tcp, hs);
	make_hello(encrypt, hello_c, err, &r);
	if (r < 0)
		return r;
	r = zf_transport_write(tcp, hello_c, HELLO_LEN, err);
	if (r >= 0)
		r = zf_transport_read_full(tcp, hello_l, HELLO_LEN, err);
	if (r < 0)
		return zf_err_prefix(err, "data channel handshake");
	r = check_hello(hello_l, encrypt, "listener", tcp->peer, err);
	if (r < 0)
		return r;
	r = proof(secret, hello_c, hello_l, label_connector, mac, err);
	if (r < 0)
		return r;
	r = zf_transport_write(tcp, mac, MAC_LEN, err);
	explicit_bzero(mac, sizeof(mac));
	if (r < 0)
		return zf_err_prefix(err, "data channel handshake");
	r = zf_transport_read_full(tcp, &verdict, 1, err);
	if (r == -EPIPE || (r >= 0 && verdict == VERDICT_REFUSED)) {
		zf_err_clear(err);
		return zf_err_set(err, -EACCES, "data channel: listener '%s' refused our proof "
				  "(wrong secret, or its one stream is taken)", tcp->peer);
	}
	if (r < 0)
		return zf_err_prefix(err, "data channel handshake");
	if (verdict != VERDICT_OK)
		return zf_err_set(err, -EPROTO, "data channel: listener '%s' sent verdict %u",
				  tcp->peer, verdict);
	r = zf_transport_read_full(tcp, mac, MAC_LEN, err);
	if (r < 0)
		return zf_err_prefix(err, "data channel handshake");
	r = proof(secret, hello_c, hello_l, label_listener, want, err);
	if (r >= 0 && CRYPTO_memcmp(mac, want, MAC_LEN) != 0)
		r = zf_err_set(err, -EACCES, "data channel: listener '%s' failed authentication "
			       "(it does not know the secret)", tcp->peer);
	explicit_bzero(want, sizeof(want));
	if (r < 0)
		return r;
	zf_transport_set_timeout(tcp, timeout_ms);
	return make_transport(TAKE_PTR(tcp), encrypt, true, secret, hello_c, hello_l, ret, err);
}

/* ---- listener ------------------------------------------------------------------------ */

struct zf_datachan_listener {
	int fd;
	uint16_t port;
	bool encrypt;
	int handshake_timeout_ms;
	zf_datachan_refused_fn on_refused;
	void *on_refused_data;
	uint8_t secret[ZF_DATACHAN_SECRET_LEN];
};

struct pending {
	struct zf_transport *tcp;
	int64_t deadline;
	uint8_t hello_l[HELLO_LEN];
	uint8_t in[HELLO_LEN + MAC_LEN];        /* the connector's HELLO and proof */
	size_t have;
};

int zf_datachan_listen(const char *host, const char *port, const uint8_t *secret, bool encrypt,
		       struct zf_datachan_listener **ret, struct zf_err *err)
{
	_cleanup_(zf_datachan_listener_freep) struct zf_datachan_listener *l = NULL;
	int r;

	l = zf_xcalloc(1, sizeof(*l));
	l->fd = -EBADF;
	l->encrypt = encrypt;
	l->handshake_timeout_ms = ZF_DATACHAN_HANDSHAKE_TIMEOUT_MS;
	memcpy(l->secret, secret, ZF_DATACHAN_SECRET_LEN);
	r = zf_tcp_listen(host, port, &l->fd, err);
	if (r < 0)
		return zf_err_prefix(err, "data channel");
	r = zf_tcp_local_port(l->fd, &l->port, err);
	if (r < 0)
		return r;
	r = zf_fd_nonblock(l->fd, 1);
	if (r < 0)
		return zf_err_set(err, r, "data channel: cannot make socket non-blocking: %s",
				  strerror(-r));
	*ret = TAKE_PTR(l);
	return 0;
}

int zf_datachan_ports_parse(const char *s, uint16_t *ret_first, uint16_t *ret_last,
			    struct zf_err *err)
{
	const char *dash = strchr(s, '-');
	uint16_t first, last;

	if (!dash) {
		if (zf_parse_port(s, strlen(s), &first) < 0)
			return zf_err_set(err, -EINVAL, "data channel: bad port '%s': want PORT or "
					  "FIRST-LAST, 0 to 65535", s);
		*ret_first = *ret_last = first;
		return 0;
	}
	if (zf_parse_port(s, (size_t)(dash - s), &first) < 0 ||
	    zf_parse_port(dash + 1, strlen(dash + 1), &last) < 0)
		return zf_err_set(err, -EINVAL, "data channel: bad port range '%s': want "
				  "FIRST-LAST, 0 to 65535", s);
	if (first == 0 || first > last)
		return zf_err_set(err, -EINVAL, "data channel: bad port range '%s': FIRST must be "
				  "1 or more and not above LAST", s);
	*ret_first = first;
	*ret_last = last;
	return 0;
}

uint16_t zf_datachan_port(const struct zf_datachan_listener *l)
{
	return l->port;
}

void zf_datachan_listener_set_handshake_timeout(struct zf_datachan_listener *l, int timeout_ms)
{
	l->handshake_timeout_ms = timeout_ms;
}

struct zf_datachan_listener *zf_datachan_listener_free(struct zf_datachan_listener *l)
{
	if (l) {
		safe_close(l->fd);
		explicit_bzero(l->secret, sizeof(l->secret));
		free(l);
	}
	return NULL;
}

void zf_datachan_listener_on_refused(struct zf_datachan_listener *l, zf_datachan_refused_fn fn,
				     void *userdata)
{
	l->on_refused = fn;
	l->on_refused_data = userdata;
}

static void drop(struct zf_datachan_listener *l, struct pending *v, size_t *n, size_t i,
		 const char *why)
{
	if (why && l->on_refused)
		l->on_refused(l->on_refused_data, l->port, v[i].tcp->peer, why);
	else if (why)
		log_debug("data channel on port %u: dropping peer '%s': %s", l->port,
			  v[i].tcp->peer, why);
	zf_transport_free(v[i].tcp);
	v[i] = v[--*n];
}

/* A new connection: send our HELLO and wait for theirs.  0, or <0 to drop it. */
static int start(struct zf_datachan_listener *l, struct pending *p, struct zf_err *err)
{
	int r;

	make_hello(l->encrypt, p->hello_l, err, &r);
	if (r < 0)
		return r;
	r = zf_fd_nonblock(p->tcp->rfd, 1);
	if (r < 0)
		return zf_err_set(err, r, "cannot make socket non-blocking: %s", strerror(-r));
	/* 40 bytes into an empty socket buffer: anything short is a broken peer */
	if (zf_send_some(p->tcp->rfd, p->hello_l, HELLO_LEN) != HELLO_LEN)
		return zf_err_set(err, -EPIPE, "cannot send HELLO");
	p->deadline = zf_now_ms() + l->handshake_timeout_ms;
	return 0;
}

/*
 * Reads what the peer sent: 0 to wait for more, 1 when it proved the
 * secret (our verdict and proof are sent), <0 to drop it (reason in err).
 */
static int advance(struct zf_datachan_listener *l, struct pending *p, struct zf_err *err)
{
	uint8_t reply[1 + MAC_LEN], want[MAC_LEN];
	size_t before = p->have;
	ssize_t k = zf_recv_some(p->tcp->rfd, p->in + p->have, sizeof(p->in) - p->have);
	int r;

	if (k == -EAGAIN)
		return 0;
	if (k < 0)
		return zf_err_set(err, (int)k, "%s", strerror((int)-k));
	if (k == 0)
		return zf_err_set(err, -EPIPE, "closed the connection during the handshake");
	p->have += (size_t)k;
	if (before < HELLO_LEN && p->have >= HELLO_LEN) {
		r = check_hello(p->in, l->encrypt, "connector", p->tcp->peer, err);
		if (r < 0)
			return r;
	}
	if (p->have < sizeof(p->in))
		return 0;
	r = proof(l->secret, p->in, p->hello_l, label_connector, want, err);
	if (r >= 0 && CRYPTO_memcmp(want, p->in + HELLO_LEN, MAC_LEN) != 0) {
		reply[0] = VERDICT_REFUSED;
		if (zf_send_some(p->tcp->rfd, reply, 1) < 0) {
			/* best effort: the peer learns why before the close */
		}
		r = zf_err_set(err, -EACCES, "failed authentication (wrong secret)");
	}
	explicit_bzero(want, sizeof(want));
	if (r < 0)
		return r;
	reply[0] = VERDICT_OK;
	r = proof(l->secret, p->in, p->hello_l, label_listener, reply + 1, err);
	if (r >= 0)
		r = zf_write_timeout(p->tcp->rfd, reply, sizeof(reply), l->handshake_timeout_ms);
	explicit_bzero(reply, sizeof(reply));
	if (r < 0)
		return zf_err_set(err, r, "cannot send our proof: %s", strerror(-r));
	return 1;
}

/* Drops the handshakes past their deadline; returns wait, shortened to the next deadline. */
static int64_t expire(struct zf_datachan_listener *l, struct pending *v, size_t *n, int64_t now,
		      int64_t wait)
{
	for (size_t i = 0; i < *n;) {
		if (v[i].deadline <= now) {
			char why[64];
			snprintf(why, sizeof(why), "no handshake within %d ms",
				 l->handshake_timeout_ms);
			drop(l, v, n, i, why);
			continue;
		}
		wait = MIN(wait, v[i].deadline - now);
		i++;
	}
	return wait;
}

/*
 * v[i] proved the secret: the other peers are dropped, the listener closes
 * (one stream per secret), and v[i]'s connection becomes the transport.
 */
static int hand_over(struct zf_datachan_listener *l, struct pending *v, size_t *n, size_t i,
		     struct zf_transport **ret, struct zf_err *err)
{
	struct zf_transport *tcp = TAKE_PTR(v[i].tcp);
	uint8_t hello_c[HELLO_LEN], hello_l[HELLO_LEN];

	memcpy(hello_c, v[i].in, HELLO_LEN);
	memcpy(hello_l, v[i].hello_l, HELLO_LEN);
	v[i] = v[--*n];
	while (*n > 0)
		drop(l, v, n, 0, "another peer authenticated first");
	l->fd = safe_close(l->fd);
	log_debug("data channel on port %u: peer '%s' authenticated", l->port, tcp->peer);
	zf_transport_set_timeout(tcp, ZF_TRANSPORT_DEFAULT_TIMEOUT_MS);
	return make_transport(tcp, l->encrypt, false, l->secret, hello_c, hello_l, ret, err);
}

/* The listener is readable: one more pending peer, in place of the oldest when full. */
static void accept_pending(struct zf_datachan_listener *l, struct pending *v, size_t *n)
{
	struct zf_err e = ZF_ERR_INIT;
	struct zf_transport *tcp = NULL;

	if (zf_tcp_accept(l->fd, 0, NULL, &tcp, &e) < 0) {
		if (e.code != -ETIMEDOUT && e.code != -EAGAIN)
			log_debug("data channel on port %u: %s", l->port, zf_err_msg(&e));
		return;
	}
	if (*n == MAX_PENDING) {
		size_t oldest = 0;
		for (size_t i = 1; i < *n; i++)
			if (v[i].deadline < v[oldest].deadline)
				oldest = i;
		drop(l, v, n, oldest, "too many handshakes at once");
	}
	v[*n] = (struct pending){ .tcp = tcp };
	if (start(l, &v[*n], &e) < 0) {
		(*n)++;
		drop(l, v, n, *n - 1, zf_err_msg(&e));
	} else
		(*n)++;
}

int zf_datachan_accept(struct zf_datachan_listener *l, int timeout_ms, struct zf_transport **ret,
		       struct zf_err *err)
{
	struct pending v[MAX_PENDING];
	struct pollfd pfd[1 + MAX_PENDING];
	size_t n = 0;
	int64_t end = timeout_ms >= 0 ? zf_now_ms() + timeout_ms : INT64_MAX;
	int r = 0;

	if (l->fd < 0)
		return zf_err_set(err, -EBADF, "data channel on port %u: listener already closed "
				  "(one stream per secret)", l->port);
	for (;;) {
		int64_t now = zf_now_ms(), wait = end - now;
		size_t ready_n = n;

		if (wait <= 0) {
			r = zf_err_set(err, -ETIMEDOUT, "data channel on port %u: no authenticated "
				       "peer within %d ms", l->port, timeout_ms);
			break;
		}
		wait = expire(l, v, &n, now, wait);
		pfd[0] = (struct pollfd){ .fd = l->fd, .events = POLLIN };
		for (size_t i = 0; i < n; i++)
			pfd[1 + i] = (struct pollfd){ .fd = v[i].tcp->rfd, .events = POLLIN };
		ready_n = n;
		if (poll(pfd, 1 + n, (int)MIN(wait, (int64_t)INT32_MAX)) < 0) {
			if (errno == EINTR)
				continue;
			r = zf_err_set(err, -errno, "data channel: cannot wait for peers: %m");
			break;
		}
		/* pending first: dropping one moves the last into its slot, so walk down */
		for (size_t i = ready_n; i-- > 0;) {
			struct zf_err e = ZF_ERR_INIT;
			int q;

			if (!pfd[1 + i].revents)
				continue;
			q = advance(l, &v[i], &e);
			if (q < 0)
				drop(l, v, &n, i, zf_err_msg(&e));
			else if (q > 0)
				return hand_over(l, v, &n, i, ret, err);
		}
		if (pfd[0].revents)
			accept_pending(l, v, &n);
	}
	while (n > 0)
		drop(l, v, &n, 0, NULL);
	l->fd = safe_close(l->fd);
	return r;
}
