/*
 * tests/unit/tls-certs.c — a CA, leaf certificates (expired, from another
 * CA, with and without subjectAltName and extendedKeyUsage, revoked) and a
 * CRL as PEM files, generated in C so tests need no openssl CLI and take
 * milliseconds (P-256 keys).
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tls-certs.h"

static EVP_PKEY *make_key(void)
{
	return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return 0;
}

/* What a leaf says besides its CN; NULL: the extension is left out. */
struct ext {
	const char *san;        /* "DNS:a.test,IP:127.0.0.1" */
	const char *eku;        /* "serverAuth" */
};

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
		       long not_before_days, long not_after_days, int ca, long serial,
		       const struct ext *e)
{
	X509 *x = X509_new();
	X509 *by;
	X509_NAME *name;

	if (!x)
		return NULL;
	by = issuer ? issuer : x;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), not_before_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), not_after_days * 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	if (add_ext(x, by, NID_basic_constraints,
		    ca ? "critical,CA:TRUE" : "critical,CA:FALSE") < 0 ||
	    add_ext(x, by, NID_key_usage,
		    ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") < 0 ||
	    add_ext(x, by, NID_subject_key_identifier, "hash") < 0 ||
	    (e && e->san && add_ext(x, by, NID_subject_alt_name, e->san) < 0) ||
	    (e && e->eku && add_ext(x, by, NID_ext_key_usage, e->eku) < 0) ||
	    X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int leaf(const char *dir, const char *file, const char *cn, X509 *ca, EVP_PKEY *ca_key,
		long nb, long na, long serial, const struct ext *e, struct test_pair *ret)
{
	EVP_PKEY *k = make_key();
	X509 *x = k ? make_cert(cn, k, ca, ca_key, nb, na, 0, serial, e) : NULL;
	int r = -1;

	snprintf(ret->crt, sizeof(ret->crt), "%s/%s.crt", dir, file);
	snprintf(ret->key, sizeof(ret->key), "%s/%s.key", dir, file);
	if (x && write_pem(ret->crt, x, NULL) == 0 && write_pem(ret->key, NULL, k) == 0)
		r = 0;
	X509_free(x);
	EVP_PKEY_free(k);
	return r;
}

/* A CRL by ca, valid from yesterday for 30 days, revoking serial (0: nothing). */
static int write_crl(const char *path, X509 *ca, EVP_PKEY *ca_key, long serial)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	FILE *f = NULL;
	int r = -1;

	if (!crl || !t)
		goto out;
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	X509_gmtime_adj(t, -86400);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, 30 * 86400);
	X509_CRL_set1_nextUpdate(crl, t);
	if (serial) {
		X509_REVOKED *rv = X509_REVOKED_new();
		ASN1_INTEGER *sn = ASN1_INTEGER_new();
		X509_gmtime_adj(t, -3600);
		ASN1_INTEGER_set(sn, serial);
		X509_REVOKED_set_serialNumber(rv, sn);
		X509_REVOKED_set_revocationDate(rv, t);
		ASN1_INTEGER_free(sn);
		X509_CRL_add0_revoked(crl, rv);
	}
	X509_CRL_sort(crl);
	if (X509_CRL_sign(crl, ca_key, EVP_sha256()) == 0)
		goto out;
	f = fopen(path, "w");
	if (f && PEM_write_X509_CRL(f, crl))
		r = 0;
out:
	if (f && fclose(f) != 0)
		r = -1;
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return r;
}

int test_certs_make(struct test_certs *c)
{
	static const struct ext server = { "DNS:server.test,DNS:localhost,IP:127.0.0.1,IP:::1", NULL };
	static const struct ext wild = { "DNS:*.wild.test,DNS:w*.part.test", "serverAuth" };
	static const struct ext client_eku = { "IP:127.0.0.1", "clientAuth" };
	static const struct ext server_eku = { "IP:127.0.0.1", "serverAuth" };
	static const struct ext ip_other = { "IP:192.0.2.1", NULL };
	EVP_PKEY *ca_key = NULL, *other_key = NULL, *third_key = NULL;
	X509 *ca = NULL, *other = NULL, *third = NULL;
	const char *d = c->dir;
	int r = -1;

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/zferry-tls-XXXXXX");
	if (!mkdtemp(c->dir))
		return -1;
	snprintf(c->ca, sizeof(c->ca), "%s/ca.crt", c->dir);
	snprintf(c->other_ca, sizeof(c->other_ca), "%s/other-ca.crt", c->dir);
	snprintf(c->crl, sizeof(c->crl), "%s/ca.crl", c->dir);
	snprintf(c->other_crl, sizeof(c->other_crl), "%s/other-ca.crl", c->dir);
	ca_key = make_key();
	other_key = make_key();
	third_key = make_key();
	if (ca_key && other_key && third_key) {
		ca = make_cert("zferry test CA", ca_key, NULL, NULL, -1, 30, 1, 1, NULL);
		other = make_cert("zferry test CA", other_key, NULL, NULL, -1, 30, 1, 1, NULL);
		third = make_cert("zferry third CA", third_key, NULL, NULL, -1, 30, 1, 1, NULL);
	}
	if (ca && other && third && write_pem(c->ca, ca, NULL) == 0 && write_pem(c->other_ca, other, NULL) == 0 &&
	    leaf(d, "server", "server", ca, ca_key, -1, 30, 2, &server, &c->server) == 0 &&
	    leaf(d, "client", "client", ca, ca_key, -1, 30, 3, NULL, &c->client) == 0 &&
	    leaf(d, "old", "old", ca, ca_key, -30, -1, 4, NULL, &c->expired) == 0 &&
	    leaf(d, "eve", "eve", other, other_key, -1, 30, 5, NULL, &c->foreign) == 0 &&
	    leaf(d, "wild", "wild", ca, ca_key, -1, 30, 6, &wild, &c->wild) == 0 &&
	    leaf(d, "cn-only", "cn.test", ca, ca_key, -1, 30, 7, NULL, &c->cn_only) == 0 &&
	    leaf(d, "clientonly", "clientonly", ca, ca_key, -1, 30, 8, &client_eku,
		 &c->client_eku) == 0 &&
	    leaf(d, "serveronly", "serveronly", ca, ca_key, -1, 30, 9, &server_eku,
		 &c->server_eku) == 0 &&
	    leaf(d, "revoked", "revoked", ca, ca_key, -1, 30, 10, NULL, &c->revoked) == 0 &&
	    leaf(d, "ctl", "bad\tcn", ca, ca_key, -1, 30, 11, NULL, &c->ctl_cn) == 0 &&
	    leaf(d, "ip-other", "ip-other", ca, ca_key, -1, 30, 12, &ip_other, &c->ip_other) == 0 &&
	    write_crl(c->crl, ca, ca_key, 10) == 0 &&
	    write_crl(c->other_crl, third, third_key, 0) == 0)
		r = 0;
	X509_free(ca);
	X509_free(other);
	X509_free(third);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(third_key);
	return r;
}

void test_certs_remove(struct test_certs *c)
{
	const char *files[] = { c->ca, c->other_ca, c->crl, c->other_crl };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i][0])
			unlink(files[i]);
	for (size_t i = 0; i < TEST_CERTS_N; i++) {
		if (c->all[i].crt[0])
			unlink(c->all[i].crt);
		if (c->all[i].key[0])
			unlink(c->all[i].key);
	}
	if (c->dir[0])
		rmdir(c->dir);
}
