/*
 * src/transport/tls.c — TLS 1.3 with mutual certificates over a tcp transport
 *
 * Both sides load the same CA and present a certificate it signed; nothing
 * older than TLS 1.3 is offered, so there are no cipher or renegotiation
 * choices to get wrong.  The peer's identity is "tls:" and its
 * certificate's CN, so that no certificate can pass for an ssh or tcp
 * identity.  The socket is non-blocking and every SSL call that wants I/O
 * waits in poll() with the transport's timeout, so a peer that stops
 * mid-handshake or mid-stream fails the call instead of hanging it.
 *
 * What a certificate must be, beyond signed by the CA and in its dates:
 *  - the server's is for the name the client dialled: a DNS name in its
 *    subjectAltName (OpenSSL's matching, "*.example.org" only as a whole
 *    left label), or for an address, an IP address in it.  The CN counts
 *    only for a DNS name and only when the certificate lists no DNS name
 *    at all (OpenSSL's default), which keeps CN-only certificates made
 *    before SANs were asked for working; an address never matches a CN;
 *  - the server's is for TLS servers, a client's for TLS clients, when it
 *    says what it is for (extendedKeyUsage, keyUsage, nsCertType); one that
 *    says nothing is accepted;
 *  - with a CRL file, the leaf is not revoked (intermediate CAs are not
 *    checked: X509_V_FLAG_CRL_CHECK, not CRL_CHECK_ALL);
 *  - its CN is one, non-empty, with no control characters: it becomes the
 *    identity that grants and logs name.
 *
 * Messages name the cause a person can fix (expired, wrong CA, CN not
 * allowed) rather than OpenSSL's error queue, which is kept only as a
 * fallback.  A connection that ends without close_notify is -EPIPE, never
 * a clean end of stream.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

struct tls {
	struct zf_transport base;
	struct zf_transport *tcp;
	SSL_CTX *ctx;
	SSL *ssl;
	const char *role;       /* "server" or "client": the peer's role, for messages */
	int verify_error;       /* first failure the verify callback saw at depth 0..n */
	int verify_depth;       /* where it was: 0 the peer's own certificate */
	const char *verify_why; /* INVALID_PURPOSE: the extension that said no */
	bool verify_dns_san;    /* HOSTNAME_MISMATCH: the certificate lists DNS names */
	bool server;
	bool got_data;          /* read anything since the handshake */
	char verify_cn[ZF_TRANSPORT_MAX_PEER];
};

static struct tls *to_tls(struct zf_transport *t)
{
	return (struct tls *)t;
}

/* OpenSSL's error queue as one line; clears it. */
static const char *ssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, size, "unknown tls error");
	else {
		const char *r = ERR_reason_error_string(e);
		snprintf(buf, size, "%s", r ? r : "unknown tls error");
	}
	ERR_clear_error();
	return buf;
}

/*
 * The certificate's one CN, as UTF-8: -ENOENT without one, -EBADMSG when it
 * is empty, too long, has a control character (it goes into logs and
 * grants) or there are two (which one would be the identity?).
 */
static int cert_cn(X509 *x, char *buf, size_t size)
{
	X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
	int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	unsigned char *utf8 = NULL;
	int len;

	if (i < 0)
		return -ENOENT;
	if (X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return -EBADMSG;
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (len <= 0 || (size_t)len >= size) {
		OPENSSL_free(utf8);
		return -EBADMSG;
	}
	for (int k = 0; k < len; k++)
		if (utf8[k] < 0x20 || utf8[k] == 0x7f) {
			OPENSSL_free(utf8);
			return -EBADMSG;
		}
	memcpy(buf, utf8, (size_t)len);
	buf[len] = '\0';
	OPENSSL_free(utf8);
	return 0;
}

/* For messages: a CN that is fit to print, else "?". */
static void cert_cn_or_what(X509 *x, char *buf, size_t size)
{
	if (cert_cn(x, buf, size) < 0)
		snprintf(buf, size, "?");
}

static int ex_index = -1;
static BIO_METHOD *bio_method;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/*
 * OpenSSL's socket BIO writes with write(2): a peer that went away would
 * raise SIGPIPE and kill a daemon that forgot to ignore it.  This BIO
 * sends with MSG_NOSIGNAL, through util/io.c.
 */
static int bio_write(BIO *b, const char *p, size_t n, size_t *ret)
{
	ssize_t k = zf_send_some(BIO_get_fd(b, NULL), p, n);

	BIO_clear_retry_flags(b);
	if (k == -EAGAIN)
		BIO_set_retry_write(b);
	if (k < 0) {
		errno = (int)-k;
		return 0;
	}
	*ret = (size_t)k;
	return 1;
}

static int bio_read(BIO *b, char *p, size_t n, size_t *ret)
{
	ssize_t k = zf_recv_some(BIO_get_fd(b, NULL), p, n);

	BIO_clear_retry_flags(b);
	if (k == -EAGAIN)
		BIO_set_retry_read(b);
	if (k <= 0) {
		errno = k < 0 ? (int)-k : 0;
		return 0;
	}
	*ret = (size_t)k;
	return 1;
}

static void init(void)
{
	const BIO_METHOD *sock = BIO_s_socket();

	ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
				  BIO_TYPE_DESCRIPTOR, "zferry socket");
	if (!bio_method)
		return;
	/* the socket BIO's ctrl, create and destroy handle the fd; only I/O differs */
	BIO_meth_set_write_ex(bio_method, bio_write);
	BIO_meth_set_read_ex(bio_method, bio_read);
	BIO_meth_set_ctrl(bio_method, BIO_meth_get_ctrl(sock));
	BIO_meth_set_create(bio_method, BIO_meth_get_create(sock));
	BIO_meth_set_destroy(bio_method, BIO_meth_get_destroy(sock));
	BIO_meth_set_puts(bio_method, BIO_meth_get_puts(sock));
}

/* Which extension of x refuses the purpose (TLS server when for_server, else client). */
static const char *purpose_why(X509 *x, bool for_server)
{
	uint32_t f = x ? X509_get_extension_flags(x) : 0;

	if ((f & EXFLAG_XKUSAGE) &&
	    !(X509_get_extended_key_usage(x) & (for_server ? XKU_SSL_SERVER : XKU_SSL_CLIENT)))
		return "extendedKeyUsage";
	if (f & EXFLAG_NSCERT)
		return "nsCertType";
	return "keyUsage";
}

static bool has_dns_san(X509 *x)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; i++)
		found = sk_GENERAL_NAME_value(names, i)->type == GEN_DNS;
	GENERAL_NAMES_free(names);
	return found;
}

static int verify_cb(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls *t = ssl ? SSL_get_ex_data(ssl, ex_index) : NULL;

	if (!ok && t && t->verify_error == 0) {
		X509 *leaf = X509_STORE_CTX_get0_cert(store);
		t->verify_error = X509_STORE_CTX_get_error(store);
		t->verify_depth = X509_STORE_CTX_get_error_depth(store);
		if (t->verify_error == X509_V_ERR_INVALID_PURPOSE)
			/* the server checks its client, the client its server */
			t->verify_why = purpose_why(X509_STORE_CTX_get_current_cert(store),
						    !t->server);
		if (t->verify_error == X509_V_ERR_HOSTNAME_MISMATCH)
			t->verify_dns_san = has_dns_san(leaf);
		cert_cn_or_what(leaf, t->verify_cn, sizeof(t->verify_cn));
	}
	return ok;
}

static int verify_message(struct tls *t, const struct zf_tls_opts *o, struct zf_err *err)
{
	const char *peer = t->tcp->peer;

	switch (t->verify_error) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return zf_err_set(err, -EACCES, "tls: certificate of %s '%s' (%s) has expired",
				  t->role, t->verify_cn, peer);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return zf_err_set(err, -EACCES, "tls: certificate of %s '%s' (%s) is not valid yet",
				  t->role, t->verify_cn, peer);
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return zf_err_set(err, -EACCES,
				  "tls: certificate of %s '%s' (%s) is not signed by the CA in '%s'",
				  t->role, t->verify_cn, peer, o->ca_file);
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return zf_err_set(err, -EACCES, "tls: certificate of server '%s' (%s) is not for "
				  "'%s': %s (--tls-server-name names the host to expect)",
				  t->verify_cn, peer, o->server_name,
				  t->verify_dns_san ? "no DNS name in its subjectAltName matches"
				  : "it lists no DNS name in its subjectAltName and its CN differs");
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return zf_err_set(err, -EACCES, "tls: certificate of server '%s' (%s) is not for "
				  "address '%s': no IP address in its subjectAltName matches "
				  "(--tls-server-name names the host to expect)", t->verify_cn, peer,
				  o->server_name);
	case X509_V_ERR_INVALID_PURPOSE:
		return zf_err_set(err, -EACCES, "tls: %scertificate of %s '%s' (%s) is not for TLS "
				  "%ss (%s)", t->verify_depth > 0 ? "a CA in the chain of the " : "",
				  t->role, t->verify_cn, peer, t->role,
				  t->verify_why ? t->verify_why : "extendedKeyUsage");
	case X509_V_ERR_CERT_REVOKED:
		return zf_err_set(err, -EACCES, "tls: certificate of %s '%s' (%s) is revoked "
				  "(CRL '%s')", t->role, t->verify_cn, peer, o->crl_file);
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		return zf_err_set(err, -EACCES, "tls: certificate of %s '%s' (%s) rejected: the "
				  "CRL file '%s' has no CRL from the CA that signed it", t->role,
				  t->verify_cn, peer, o->crl_file);
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return zf_err_set(err, -EACCES, "tls: certificate of %s '%s' (%s) rejected: the "
				  "CRL in '%s' has expired (its nextUpdate passed): renew it",
				  t->role, t->verify_cn, peer, o->crl_file);
	default:
		return zf_err_set(err, -EACCES, "tls: certificate of %s '%s' (%s) rejected: %s",
				  t->role, t->verify_cn, peer,
				  X509_verify_cert_error_string(t->verify_error));
	}
}

/*
 * After an SSL call returned r <= 0: 1 to retry (waited for I/O), 0 for the
 * peer's clean close_notify, <0 for an error (message in err).
 */
static int ssl_wait(struct tls *t, int r, const char *what, struct zf_err *err)
{
	char buf[256];
	int e = SSL_get_error(t->ssl, r), q;

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		q = zf_fd_wait(t->base.rfd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			       t->base.timeout_ms);
		if (q == -ETIMEDOUT)
			return zf_err_set(err, q, "tls %s with '%s' timed out after %d ms", what,
					  t->base.peer[0] ? t->base.peer : t->tcp->peer,
					  t->base.timeout_ms);
		if (q < 0)
			return zf_err_set(err, q, "tls %s: %s", what, strerror(-q));
		return 1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		q = errno;
		if (ERR_peek_last_error() != 0)
			break;
		ERR_clear_error();
		/*
		 * In TLS 1.3 the server checks our certificate after our
		 * handshake ended, so a refusal shows up here as a drop.
		 */
		return zf_err_set(err, q ? -q : -EPIPE,
				  "tls %s with '%s': connection closed without close_notify%s",
				  what, t->base.peer[0] ? t->base.peer : t->tcp->peer,
				  !t->server && !t->got_data ?
				  " (did the server refuse our certificate? see its log)" : "");
	default:
		break;
	}
	/*
	 * An alert from the server before any data: in TLS 1.3 that is the
	 * server refusing our certificate (unknown ca, certificate expired),
	 * which only shows up at our first read.
	 */
	if (!t->server && !t->got_data && ERR_GET_LIB(ERR_peek_last_error()) == ERR_LIB_SSL &&
	    ERR_GET_REASON(ERR_peek_last_error()) >= SSL_AD_REASON_OFFSET)
		return zf_err_set(err, -EACCES, "tls: '%s' refused our certificate: %s",
				  t->base.peer[0] ? t->base.peer : t->tcp->peer,
				  ssl_reason(buf, sizeof(buf)));
	return zf_err_set(err, -EPROTO, "tls %s with '%s' failed: %s", what,
			  t->base.peer[0] ? t->base.peer : t->tcp->peer,
			  ssl_reason(buf, sizeof(buf)));
}

static ssize_t tls_read(struct zf_transport *tt, void *p, size_t n, struct zf_err *err)
{
	struct tls *t = to_tls(tt);

	for (;;) {
		size_t got = 0;
		int r = SSL_read_ex(t->ssl, p, n, &got);
		if (r == 1) {
			t->got_data = true;
			return (ssize_t)got;
		}
		r = ssl_wait(t, r, "read", err);
		if (r <= 0)
			return r;
	}
}

static int tls_write(struct zf_transport *tt, const void *p, size_t n, struct zf_err *err)
{
	struct tls *t = to_tls(tt);

	while (n > 0) {
		size_t done = 0;
		int r = SSL_write_ex(t->ssl, p, n, &done);
		if (r == 1) {
			p = (const char *)p + done;
			n -= done;
			continue;
		}
		r = ssl_wait(t, r, "write", err);
		if (r == 0)
			return zf_err_set(err, -EPIPE, "tls peer '%s' closed the connection",
					  t->base.peer);
		if (r < 0)
			return r;
	}
	return 0;
}

static int tls_shutdown(struct zf_transport *tt, struct zf_err *err)
{
	struct tls *t = to_tls(tt);

	for (;;) {
		int r = SSL_shutdown(t->ssl);
		if (r >= 0)
			return 0;       /* close_notify sent; we do not wait for the peer's */
		r = ssl_wait(t, r, "shutdown", err);
		if (r <= 0)
			return r;
	}
}

static void tls_free(struct zf_transport *tt)
{
	struct tls *t = to_tls(tt);

	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	zf_transport_free(t->tcp);
	free(t);
}

static const struct zf_transport_ops tls_ops = {
	.read = tls_read,
	.write = tls_write,
	.shutdown = tls_shutdown,
	.free = tls_free,
};

static int load_crl(SSL_CTX *ctx, const char *path, struct zf_err *err)
{
	X509_LOOKUP *lu = X509_STORE_add_lookup(SSL_CTX_get_cert_store(ctx), X509_LOOKUP_file());
	char buf[256];
	int n;

	if (access(path, R_OK) < 0)
		return zf_err_set(err, -errno, "tls: cannot read CRL '%s': %m", path);
	n = lu ? X509_load_crl_file(lu, path, X509_FILETYPE_PEM) : 0;
	if (n <= 0)
		return zf_err_set(err, -EINVAL, "tls: cannot load CRL '%s': no PEM CRL in it (%s)",
				  path, ssl_reason(buf, sizeof(buf)));
	/* the peer's own certificate; see the top of the file for why not the chain */
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_CRL_CHECK);
	return 0;
}

static int make_ctx(const struct zf_tls_opts *o, bool server, SSL_CTX **ret, struct zf_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	char buf[256];
	int r;

	if (!ctx)
		return zf_err_set(err, -ENOMEM, "tls: cannot create context");
	*ret = ctx;             /* the caller frees it, also on failure */
	if (!o->ca_file || !o->cert_file || !o->key_file)
		return zf_err_set(err, -EINVAL, "tls: CA, certificate and key files are required");
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1)
		return zf_err_set(err, -EINVAL, "tls: cannot load CA '%s': %s", o->ca_file,
				  ssl_reason(buf, sizeof(buf)));
	if (o->crl_file && (r = load_crl(ctx, o->crl_file, err)) < 0)
		return r;
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1)
		return zf_err_set(err, -EINVAL, "tls: cannot load certificate '%s': %s",
				  o->cert_file, ssl_reason(buf, sizeof(buf)));
	if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			return zf_err_set(err, -EINVAL,
					  "tls: key '%s' does not match certificate '%s'",
					  o->key_file, o->cert_file);
		}
		return zf_err_set(err, -EINVAL, "tls: cannot load key '%s': %s", o->key_file,
				  ssl_reason(buf, sizeof(buf)));
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
		return zf_err_set(err, -EINVAL, "tls: key '%s' does not match certificate '%s'",
				  o->key_file, o->cert_file);
	/*
	 * OpenSSL picks these purposes itself when none is set; saying so
	 * keeps the check from depending on that default.
	 */
	X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(ctx), server ? X509_PURPOSE_SSL_CLIENT
									: X509_PURPOSE_SSL_SERVER);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
			   verify_cb);
	if (server) {
		/* no resumption: every connection proves its certificate again */
		SSL_CTX_set_num_tickets(ctx, 0);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	return 0;
}

/*
 * The client's check of the server's name: an address (IPv4, or IPv6 with
 * or without brackets) against the certificate's IP SANs, anything else as
 * a DNS name, which also goes out as SNI (RFC 6066 has no SNI for
 * addresses).
 */
static int set_server_name(SSL *ssl, const char *name, struct zf_err *err)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	char ip[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	size_t len = name ? strlen(name) : 0;

	if (len == 0)
		return zf_err_set(err, -EINVAL, "tls: no server name to check the server's "
				  "certificate against");
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return zf_err_set(err, -EINVAL, "tls: bad server name '%s'", name);
	if (name[0] == '[' && name[len - 1] == ']' && len - 2 < sizeof(ip)) {
		memcpy(ip, name + 1, len - 2);
		ip[len - 2] = '\0';
		if (inet_pton(AF_INET6, ip, bin) != 1)
			return zf_err_set(err, -EINVAL, "tls: bad server address '%s'", name);
	} else if (len < sizeof(ip) && (inet_pton(AF_INET, name, bin) == 1 ||
					inet_pton(AF_INET6, name, bin) == 1)) {
		memcpy(ip, name, len + 1);
	} else {
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (X509_VERIFY_PARAM_set1_host(param, name, 0) != 1 ||
		    SSL_set_tlsext_host_name(ssl, name) != 1)
			return zf_err_set(err, -EINVAL, "tls: bad server name '%s'", name);
		return 0;
	}
	if (X509_VERIFY_PARAM_set1_ip_asc(param, ip) != 1)
		return zf_err_set(err, -EINVAL, "tls: bad server address '%s'", name);
	return 0;
}

int zf_tls_check(const struct zf_tls_opts *o, bool server, struct zf_err *err)
{
	SSL_CTX *ctx = NULL;
	int r;

	pthread_once(&init_once, init);
	r = make_ctx(o, server, &ctx, err);
	SSL_CTX_free(ctx);
	return r;
}

/* t's SSL context and connection over its tcp socket, non-blocking, with SNI on a client. */
static int ssl_setup(struct tls *t, const struct zf_tls_opts *o, bool server, struct zf_err *err)
{
	SSL_CTX *ctx = NULL;
	BIO *bio;
	int r;

	r = make_ctx(o, server, &ctx, err);
	t->ctx = ctx;
	if (r < 0)
		return r;
	r = zf_fd_nonblock(t->base.rfd, 1);
	if (r < 0)
		return zf_err_set(err, r, "tls: cannot make socket non-blocking: %s", strerror(-r));
	t->ssl = SSL_new(ctx);
	if (!t->ssl || !bio_method || ex_index < 0)
		return zf_err_set(err, -ENOMEM, "tls: cannot create connection");
	bio = BIO_new(bio_method);
	if (!bio)
		return zf_err_set(err, -ENOMEM, "tls: cannot create connection");
	BIO_set_fd(bio, t->base.rfd, BIO_NOCLOSE);    /* the tcp transport owns the fd */
	SSL_set_bio(t->ssl, bio, bio);
	SSL_set_ex_data(t->ssl, ex_index, t);
	if (!server && (r = set_server_name(t->ssl, o->server_name, err)) < 0)
		return r;
	return 0;
}

/* The TLS handshake, waiting as the socket needs; a failed verification says why. */
static int handshake(struct tls *t, const struct zf_tls_opts *o, bool server,
		     struct zf_err *err)
{
	int r;

	for (;;) {
		r = server ? SSL_accept(t->ssl) : SSL_connect(t->ssl);
		if (r == 1)
			return 0;
		if (t->verify_error != 0) {
			ERR_clear_error();
			return verify_message(t, o, err);
		}
		r = ssl_wait(t, r, "handshake", err);
		if (r == 0)
			return zf_err_set(err, -EPIPE, "tls handshake with '%s': peer closed",
					  t->tcp->peer);
		if (r < 0)
			return r;
	}
}

/*
 * The peer's certificate: valid, with one usable CN, which names the peer
 * ("tls:CN") and, on a server with a list, is allowed.
 */
static int check_peer(struct tls *t, const struct zf_tls_opts *o, bool server,
		      struct zf_err *err)
{
	char cn[ZF_TRANSPORT_MAX_PEER - 4];
	X509 *peer_cert;
	int r;

	peer_cert = SSL_get0_peer_certificate(t->ssl);
	if (!peer_cert || SSL_get_verify_result(t->ssl) != X509_V_OK)
		return zf_err_set(err, -EACCES, "tls: %s '%s' presented no valid certificate",
				  t->role, t->tcp->peer);
	r = cert_cn(peer_cert, cn, sizeof(cn));
	if (r == -ENOENT)
		return zf_err_set(err, -EACCES, "tls: certificate of %s '%s' has no CN",
				  t->role, t->tcp->peer);
	if (r < 0)
		return zf_err_set(err, -EACCES, "tls: certificate of %s '%s' has an unusable CN "
				  "(empty, two of them, longer than %d bytes or with a control "
				  "character)", t->role, t->tcp->peer, ZF_TRANSPORT_MAX_PEER - 5);
	snprintf(t->base.peer, sizeof(t->base.peer), "tls:%s", cn);
	if (server && o->allowed_cn) {
		bool ok = false;
		for (size_t i = 0; i < o->n_allowed_cn && !ok; i++)
			ok = streq(o->allowed_cn[i], cn);
		if (!ok)
			return zf_err_set(err, -EACCES, "tls: client CN '%s' (%s) is not allowed",
					  cn, t->tcp->peer);
	}
	return 0;
}

static int tls_new(struct zf_transport *tcp, const struct zf_tls_opts *o, bool server,
		   struct zf_transport **ret, struct zf_err *err)
{
	_cleanup_(zf_transport_freep) struct zf_transport *owned = tcp;
	struct tls *t;
	_cleanup_(zf_transport_freep) struct zf_transport *tt = NULL;
	int r;

	pthread_once(&init_once, init);
	t = zf_xcalloc(1, sizeof(*t));
	t->base.ops = &tls_ops;
	t->base.kind = "tls";
	t->base.rfd = tcp->rfd;
	t->base.wfd = tcp->wfd;
	t->base.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : tcp->timeout_ms;
	t->tcp = TAKE_PTR(owned);
	t->role = server ? "client" : "server";
	t->server = server;
	tt = &t->base;

	r = ssl_setup(t, o, server, err);
	if (r < 0)
		return r;
	r = handshake(t, o, server, err);
	if (r < 0)
		return r;
	r = check_peer(t, o, server, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(tt);
	return 0;
}

int zf_tls_client(struct zf_transport *tcp, const struct zf_tls_opts *opts,
		  struct zf_transport **ret, struct zf_err *err)
{
	return tls_new(tcp, opts, false, ret, err);
}

int zf_tls_server(struct zf_transport *tcp, const struct zf_tls_opts *opts,
		  struct zf_transport **ret, struct zf_err *err)
{
	return tls_new(tcp, opts, true, ret, err);
}
