/* tests/unit/tls-certs.h — a throw-away CA and certificates for TLS tests, made with libcrypto */
#pragma once

struct test_certs {
	char dir[64];
	char ca[128], other_ca[128];
	char server_crt[128], server_key[128];
	char client_crt[128], client_key[128];          /* CN "client" */
	char expired_crt[128], expired_key[128];        /* CN "old", expired yesterday */
	char foreign_crt[128], foreign_key[128];        /* CN "eve", signed by other_ca */
};

/* Writes everything under a new temporary directory; 0 or -1. */
int test_certs_make(struct test_certs *c);
void test_certs_remove(struct test_certs *c);
