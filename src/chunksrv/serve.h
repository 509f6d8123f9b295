/* src/chunksrv/serve.h — `zferry store serve`: a desync-compatible HTTP chunk server */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "chunk/chunk-http.h"
#include "transport/transport.h"

struct zf_err;
struct zf_store;

struct zf_chunksrv_opts {
	struct zf_store *store;         /* a directory store */
	const char *host;               /* NULL: every address */
	const char *port;               /* "0": any free port (printed) */
	struct zf_chunk_http_policy policy;
	bool verify;                    /* a PUT must decompress to its id (off: --no-verify) */
	int index_dirfd;                /* --index-dir, or -1 */
	unsigned max_conns;             /* connections served at once; more get 503 */
	unsigned timeout_ms;            /* per request, head and body; idle keep-alive too */
	/* cert_file set: HTTPS, TLS 1.3, clients must show a certificate ca_file signed */
	struct zf_tls_opts tls;
};

/*
 * Binds, prints "zferry store serve: listening on HOST:PORT" (the real
 * port) on stdout, and serves with a thread per connection until killed.
 * Returns only on a setup error.
 */
_must_check_ int zf_chunksrv_run(const struct zf_chunksrv_opts *o, struct zf_err *err);
