/* tests/unit/tls-certs.h — a throw-away CA and certificates for TLS tests, made with libcrypto */
#pragma once

#define TEST_CERTS_N 11         /* leaf certificates below */

struct test_pair {
	char crt[128], key[128];
};

/*
 * Unless said otherwise, leaves are signed by ca, valid from yesterday for
 * 30 days, and say nothing of what they are for (no extendedKeyUsage).
 */
struct test_certs {
	char dir[64];
	char ca[128], other_ca[128];
	char crl[128];                  /* ca's CRL: revokes "revoked" only */
	char other_crl[128];            /* a third CA's CRL: says nothing of ca's certificates */
	union {
		struct {
			/* CN "server"; SAN DNS:server.test, DNS:localhost, IP 127.0.0.1, ::1 */
			struct test_pair server;
			struct test_pair client;        /* CN "client", no SAN */
			struct test_pair expired;       /* CN "old", expired yesterday */
			struct test_pair foreign;       /* CN "eve", signed by other_ca */
			/* CN "wild"; SAN DNS:*.wild.test, DNS:w*.part.test; serverAuth */
			struct test_pair wild;
			struct test_pair cn_only;       /* CN "cn.test", no SAN */
			/* CN "clientonly", SAN IP 127.0.0.1, extendedKeyUsage clientAuth */
			struct test_pair client_eku;
			/* CN "serveronly", SAN IP 127.0.0.1, extendedKeyUsage serverAuth */
			struct test_pair server_eku;
			struct test_pair revoked;       /* CN "revoked", in crl */
			struct test_pair ctl_cn;        /* CN "bad<TAB>cn" */
			struct test_pair ip_other;      /* CN "ip-other", SAN IP 192.0.2.1 */
		};
		struct test_pair all[TEST_CERTS_N];
	};
};

/* Writes everything under a new temporary directory; 0 or -1. */
int test_certs_make(struct test_certs *c);
void test_certs_remove(struct test_certs *c);
