/* src/cli/cmd-store-serve.c — zferry store serve: parses and hands over to chunksrv/ */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "chunk/store.h"
#include "chunksrv/serve.h"
#include "cli/cli.h"
#include "cli/cmd-store-serve.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/num.h"
#include "util/banned.h"

const char zf_usage_store_serve[] =
	"usage: zferry store serve -s STORE --listen [ADDR]:PORT [--writable] [--prefix /PATH/]\n"
	"                          [--auth-file FILE] [--index-dir DIR] [--no-verify]\n"
	"                          [--max-connections N] [--timeout SECS]\n"
	"                          [--tls-cert FILE --tls-key FILE --tls-ca FILE]\n"
	"\n"
	"Serves the chunk store directory STORE over HTTP as desync's chunk-server\n"
	"does: GET and HEAD of PREFIX<4hex>/<id>.cacnk, PUT only with --writable.\n"
	"'casync extract --store=http://HOST:PORT/PREFIX/', desync and 'zferry store\n"
	"-s http://...' read it.  Writable is append-only: a chunk is never replaced\n"
	"or removed (a PUT of other content under an existing id gets 409).  Prints\n"
	"'zferry store serve: listening on ADDR:PORT' with the real port; runs until\n"
	"killed.\n"
	"\n"
	"  -s, --store STORE        chunk store directory (created with --writable)\n"
	"  -l, --listen [ADDR]:PORT address to listen on; [v6] in brackets; no ADDR:\n"
	"                           every address; PORT 0: a free one\n"
	"  -w, --writable           accept PUT of new chunks\n"
	"      --prefix /PATH/      serve under this path (default /)\n"
	"      --auth-file FILE     require an Authorization header equal to FILE's one\n"
	"                           line (e.g. 'Bearer TOKEN' or 'Basic ...'); else 401\n"
	"      --index-dir DIR      also serve DIR's .caibx/.caidx files (GET, HEAD)\n"
	"      --no-verify          store PUT chunks without checking that they\n"
	"                           decompress to their id (default: check, else 400)\n"
	"      --max-connections N  served at once (default 64); more get 503\n"
	"      --timeout SECS       per request, head and body, and idle keep-alive\n"
	"                           (default 30): slower clients are dropped\n"
	"      --tls-cert FILE      serve HTTPS (TLS 1.3) with this PEM certificate,\n"
	"      --tls-key FILE       its key, and\n"
	"      --tls-ca FILE        the CA every client's certificate must be signed by\n"
	"                           (required: clients are authenticated by certificate)\n"
	"  -h, --help               this text\n";

struct serve_args {
	struct zf_chunksrv_opts so;
	const char *store_path, *listen, *auth_file, *index_dir;
	char *host, *auth;
	int index_dirfd;
};

static void serve_args_release(struct serve_args *a)
{
	free(a->host);
	if (a->auth)
		explicit_bzero(a->auth, strlen(a->auth));
	free(a->auth);
	safe_close(a->index_dirfd);
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = zf_sub_usage_verror("store", "serve", fmt, ap);
	va_end(ap);
	return r;
}

/* "[ADDR]:PORT", "ADDR:PORT", ":PORT", "[v6]:PORT" */
static int parse_listen(struct serve_args *a)
{
	const char *colon = strrchr(a->listen, ':');
	uint16_t port;
	size_t hlen;

	if (!colon || zf_parse_port(colon + 1, strlen(colon + 1), &port) < 0)
		return -EINVAL;
	hlen = (size_t)(colon - a->listen);
	if (hlen >= 2 && a->listen[0] == '[' && a->listen[hlen - 1] == ']')
		a->host = zf_xstrndup(a->listen + 1, hlen - 2);
	else if (hlen > 0 && !memchr(a->listen, ':', hlen) && !memchr(a->listen, '[', hlen))
		a->host = zf_xstrndup(a->listen, hlen);
	else if (hlen > 0)
		return -EINVAL;
	a->so.port = colon + 1;
	a->so.host = a->host;
	return 0;
}

static int serve_parse(int argc, char **argv, struct serve_args *a)
{
	enum { OPT_PREFIX = 1000, OPT_AUTH, OPT_INDEX_DIR, OPT_NO_VERIFY, OPT_MAX_CONN,
	       OPT_TIMEOUT, OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_CA };
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "writable", no_argument, NULL, 'w' },
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "auth-file", required_argument, NULL, OPT_AUTH },
		{ "index-dir", required_argument, NULL, OPT_INDEX_DIR },
		{ "no-verify", no_argument, NULL, OPT_NO_VERIFY },
		{ "max-connections", required_argument, NULL, OPT_MAX_CONN },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
		{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
		{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct zf_err err = ZF_ERR_INIT;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "+s:l:wh", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			a->store_path = optarg;
			break;
		case 'l':
			a->listen = optarg;
			break;
		case 'w':
			a->so.policy.writable = true;
			break;
		case OPT_PREFIX:
			a->so.policy.prefix = optarg;
			break;
		case OPT_AUTH:
			a->auth_file = optarg;
			break;
		case OPT_INDEX_DIR:
			a->index_dir = optarg;
			break;
		case OPT_NO_VERIFY:
			a->so.verify = false;
			break;
		case OPT_MAX_CONN:
			if (zf_parse_u64(optarg, 65536, &v) < 0 || v == 0)
				return usage_error("bad number of connections '%s'", optarg);
			a->so.max_conns = (unsigned)v;
			break;
		case OPT_TIMEOUT:
			if (zf_parse_u64(optarg, 86400, &v) < 0 || v == 0)
				return usage_error("bad timeout '%s' (seconds, 1 to 86400)", optarg);
			a->so.timeout_ms = (unsigned)v * 1000;
			break;
		case OPT_TLS_CERT:
			a->so.tls.cert_file = optarg;
			break;
		case OPT_TLS_KEY:
			a->so.tls.key_file = optarg;
			break;
		case OPT_TLS_CA:
			a->so.tls.ca_file = optarg;
			break;
		case 'h':
			fputs(zf_usage_store_serve, stdout);
			return ZF_EXIT_OK;
		default:
			return zf_sub_bad_option("store", "serve", argc, argv);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!a->store_path)
		return usage_error("no store given (-s STORE)");
	if (!a->listen)
		return usage_error("no address given (--listen [ADDR]:PORT)");
	if ((a->so.tls.cert_file || a->so.tls.key_file || a->so.tls.ca_file) &&
	    !(a->so.tls.cert_file && a->so.tls.key_file && a->so.tls.ca_file))
		return usage_error("--tls-cert, --tls-key and --tls-ca go together");
	if (parse_listen(a) < 0)
		return usage_error("bad address '%s': want [ADDR]:PORT", a->listen);
	if (zf_chunk_http_prefix_check(a->so.policy.prefix, &err) < 0)
		return usage_error("%s", zf_err_msg(&err));
	return GO_ON;
}

/* The auth file and the index directory; the exit status on failure, else GO_ON. */
static int serve_open(struct serve_args *a, struct zf_err *err)
{
	if (a->auth_file) {
		if (zf_chunk_http_auth_file_read(a->auth_file, &a->auth, err) < 0)
			return ZF_EXIT_FAIL;
		a->so.policy.auth = a->auth;
	}
	if (a->index_dir) {
		a->index_dirfd = open(a->index_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (a->index_dirfd < 0) {
			zf_err_set(err, -errno, "cannot open index directory '%s': %m",
				   a->index_dir);
			return ZF_EXIT_FAIL;
		}
		a->so.index_dirfd = a->index_dirfd;
		a->so.policy.index_ok = true;
	}
	return GO_ON;
}

int zf_store_serve(int argc, char **argv)
{
	_cleanup_(serve_args_release) struct serve_args a = {
		.so = {
			.policy = { .prefix = "/", .max_body =
					    zf_cacnk_max_raw(ZF_CHUNK_HTTP_MAX_CHUNK) },
			.verify = true,
			.index_dirfd = -1,
			.max_conns = 64,
			.timeout_ms = 30000,
		},
		.index_dirfd = -EBADF,
	};
	_cleanup_(zf_store_freep) struct zf_store *store = NULL;
	struct zf_err err = ZF_ERR_INIT;
	int r;

	if ((r = serve_parse(argc, argv, &a)) != GO_ON)
		return r;
	if (strstr(a.store_path, "://"))
		return usage_error("STORE must be a directory");
	if ((r = serve_open(&a, &err)) != GO_ON)
		return zf_sub_fail("store", "serve", &err);
	if (zf_store_open(a.store_path, a.so.policy.writable ? ZF_STORE_CREATE : 0, &store,
			  &err) < 0)
		return zf_sub_fail("store", "serve", &err);
	a.so.store = store;
	if (zf_chunksrv_run(&a.so, &err) < 0)
		return zf_sub_fail("store", "serve", &err);
	return ZF_EXIT_OK;
}
