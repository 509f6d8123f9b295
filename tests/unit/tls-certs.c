/*
 * tests/unit/tls-certs.c — a CA, leaf certificates (one expired, one from
 * another CA) as PEM files, generated in C so tests need no openssl CLI
 * and take milliseconds (P-256 keys).
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

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
		       long not_before_days, long not_after_days, int ca, long serial)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (!x)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), not_before_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), not_after_days * 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	if (add_ext(x, issuer ? issuer : x, NID_basic_constraints,
		    ca ? "critical,CA:TRUE" : "critical,CA:FALSE") < 0 ||
	    add_ext(x, issuer ? issuer : x, NID_key_usage,
		    ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") < 0 ||
	    add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash") < 0 ||
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

static int leaf(const char *dir, const char *cn, X509 *ca, EVP_PKEY *ca_key, long nb, long na,
		long serial, char *crt, char *key)
{
	EVP_PKEY *k = make_key();
	X509 *x = k ? make_cert(cn, k, ca, ca_key, nb, na, 0, serial) : NULL;
	int r = -1;

	snprintf(crt, 128, "%s/%s.crt", dir, cn);
	snprintf(key, 128, "%s/%s.key", dir, cn);
	if (x && write_pem(crt, x, NULL) == 0 && write_pem(key, NULL, k) == 0)
		r = 0;
	X509_free(x);
	EVP_PKEY_free(k);
	return r;
}

int test_certs_make(struct test_certs *c)
{
	EVP_PKEY *ca_key = NULL, *other_key = NULL;
	X509 *ca = NULL, *other = NULL;
	int r = -1;

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/zferry-tls-XXXXXX");
	if (!mkdtemp(c->dir))
		return -1;
	snprintf(c->ca, sizeof(c->ca), "%s/ca.crt", c->dir);
	snprintf(c->other_ca, sizeof(c->other_ca), "%s/other-ca.crt", c->dir);
	ca_key = make_key();
	other_key = make_key();
	if (ca_key && other_key) {
		ca = make_cert("zferry test CA", ca_key, NULL, NULL, -1, 30, 1, 1);
		other = make_cert("zferry test CA", other_key, NULL, NULL, -1, 30, 1, 1);
	}
	if (ca && other && write_pem(c->ca, ca, NULL) == 0 && write_pem(c->other_ca, other, NULL) == 0 &&
	    leaf(c->dir, "server", ca, ca_key, -1, 30, 2, c->server_crt, c->server_key) == 0 &&
	    leaf(c->dir, "client", ca, ca_key, -1, 30, 3, c->client_crt, c->client_key) == 0 &&
	    leaf(c->dir, "old", ca, ca_key, -30, -1, 4, c->expired_crt, c->expired_key) == 0 &&
	    leaf(c->dir, "eve", other, other_key, -1, 30, 5, c->foreign_crt, c->foreign_key) == 0)
		r = 0;
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	return r;
}

void test_certs_remove(struct test_certs *c)
{
	const char *files[] = { c->ca, c->other_ca, c->server_crt, c->server_key, c->client_crt,
				c->client_key, c->expired_crt, c->expired_key, c->foreign_crt,
				c->foreign_key };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i][0])
			unlink(files[i]);
	if (c->dir[0])
		rmdir(c->dir);
}
