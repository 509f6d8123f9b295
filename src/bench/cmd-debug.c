/*
 * src/bench/cmd-debug.c — zferry debug: stream tools for benchmarks (hidden command)
 *
 * stream-source writes incompressible bytes as fast as one core can (the
 * AES-128-CTR keystream of a random key: AES-NI makes it several GB/s),
 * stream-sink counts what arrives, and datachan-recv / datachan-send move
 * stdin through the direct data channel to stdout, so bench/replicate-net
 * can compare the channel with a pipe, ssh and socat.  Nothing here is for
 * production use and nothing depends on it.
 */
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "bench/bench.h"
#include "cli/cli.h"
#include "endpoint/open.h"
#include "endpoint/endpoint.h"
#include "transport/datachan.h"
#include "transport/transport.h"
#include "transport/url.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/num.h"
#include "util/strv.h"
#include "zfs/stream.h"
#include "util/banned.h"

#define BUF_SIZE (1024 * 1024)

static const char usage_source[] =
	"usage: zferry debug stream-source --bytes N [--pipe-size N]\n"
	"\n"
	"Writes N bytes of incompressible pseudo-random data (an AES-CTR keystream)\n"
	"to stdout as fast as possible.  For benchmarks only.\n"
	"\n"
	"  -b, --bytes N       how many bytes; suffixes K, M, G, T (powers of 1024)\n"
	"  -p, --pipe-size N   raise a pipe on stdout to N bytes first (zferry's own\n"
	"                      stream pipes are 1M; a shell's are 64K)\n"
	"  -h, --help          this text\n";

static const char usage_sink[] =
	"usage: zferry debug stream-sink [--pipe-size N]\n"
	"\n"
	"Reads stdin to the end and prints 'bytes=N seconds=S MiB/s=R' on stderr.\n"
	"For benchmarks only.\n"
	"\n"
	"  -p, --pipe-size N   raise a pipe on stdin to N bytes first\n"
	"  -h, --help          this text\n";

static const char usage_secret[] =
	"usage: zferry debug datachan-secret\n"
	"\n"
	"Prints a new random data channel secret (64 hex digits) for --secret-file.\n"
	"\n"
	"  -h, --help        this text\n";

static const char usage_recv[] =
	"usage: zferry debug datachan-recv --listen [HOST]:PORT --secret-file F [--encrypt]\n"
	"                                  [--timeout SECONDS]\n"
	"\n"
	"Listens for one direct data channel, prints 'port=N' on stderr, accepts the\n"
	"first peer that proves the secret, copies the channel to stdout and ends with\n"
	"'bytes=N seconds=S MiB/s=R' on stderr.  For benchmarks only.\n"
	"\n"
	"  -l, --listen [HOST]:PORT  address to listen on; no HOST or '*': every address;\n"
	"                            PORT 0: an ephemeral port; IPv6 as [ADDR]:PORT\n"
	"  -s, --secret-file F       the secret: 64 hex digits (see datachan-secret)\n"
	"  -e, --encrypt             AES-256-GCM records (the sender must agree)\n"
	"  -t, --timeout SECONDS     wait at most this long for the peer (default 60)\n"
	"  -h, --help                this text\n";

static const char usage_send[] =
	"usage: zferry debug datachan-send --connect HOST:PORT --secret-file F [--encrypt]\n"
	"                                  [--timeout SECONDS]\n"
	"\n"
	"Connects a direct data channel, copies stdin into it and ends with\n"
	"'bytes=N seconds=S MiB/s=R' on stderr.  For benchmarks only.\n"
	"\n"
	"  -c, --connect HOST:PORT   the listener (IPv6 as [ADDR]:PORT)\n"
	"  -s, --secret-file F       the secret: 64 hex digits (see datachan-secret)\n"
	"  -e, --encrypt             AES-256-GCM records (the receiver must agree)\n"
	"  -t, --timeout SECONDS     connect and I/O timeout (default 60)\n"
	"  -h, --help                this text\n";

static const char usage_rpc_send[] =
	"usage: zferry debug rpc-send [--tls-ca F --tls-cert F --tls-key F] [--tls-server-name NAME]\n"
	"                             [--tls-crl F] [--ssh-option OPT]...\n"
	"                             [--remote-zferry PATH] [--data-channel tcp://ADDR:PORT]\n"
	"                             [--data-channel-encrypt] [--zfs-stream] URL\n"
	"\n"
	"Moves stdin into a RECV request to the zferry serve at URL (tls://, tcp://,\n"
	"ssh:// or host:fs, as for replicate) through the remote endpoint replication\n"
	"uses, spliced as replicate moves zfs send's output, and ends with\n"
	"'bytes=N seconds=S MiB/s=R' on stderr.  stdin goes behind one zfs BEGIN\n"
	"record, since a server reads a stream's head before anything runs; the server\n"
	"must then run with --debug-null-endpoint, which throws the stream away where\n"
	"zfs recv would take it (bench/replicate-net).  With --zfs-stream, stdin is a\n"
	"zfs send stream and goes as it is, into the server's real zfs recv: what a\n"
	"hostile client could push (tests/platform).  The other options mean what they\n"
	"mean for 'zferry replicate'.\n";

static int sub_usage_error(const char *sub, const char *fmt, ...) _printf_(2, 3);
static int sub_usage_error(const char *sub, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = zf_sub_usage_verror("debug", sub, fmt, ap);
	va_end(ap);
	return r;
}

static int bad_option(const char *sub, int argc, char **argv)
{
	return zf_sub_bad_option("debug", sub, argc, argv);
}

static int fail(const char *sub, const struct zf_err *err)
{
	return zf_sub_fail("debug", sub, err);
}

/* A pipe size: 4K to 1G, as F_SETPIPE_SZ can take (up to /proc/sys/fs/pipe-max-size). */
static int parse_pipe_size(const char *s, uint64_t *ret)
{
	if (zf_parse_size(s, ret) < 0 || *ret < 4096 || *ret > (1u << 30))
		return -EINVAL;
	return 0;
}

static int set_pipe_size(int fd, uint64_t size, const char *sub)
{
	if (fcntl(fd, F_SETPIPE_SZ, (int)size) < 0) {
		int e = errno;
		fprintf(stderr, "zferry debug %s: cannot make the pipe on %s %" PRIu64 " bytes: %s\n",
			sub, fd == STDIN_FILENO ? "stdin" : "stdout", size,
			e == EBADF ? "not a pipe" : strerror(e));
		return -e;
	}
	return 0;
}

static int parse_seconds(const char *s, int *ret_ms)
{
	uint64_t v;

	if (zf_parse_size(s, &v) < 0 || !isdigit((unsigned char)s[strlen(s) - 1]) || v == 0 ||
	    v > 86400)
		return -EINVAL;
	*ret_ms = (int)v * 1000;
	return 0;
}

/* "HOST:PORT", "[V6]:PORT", ":PORT", "*:PORT"; host NULL for every address. */
static int parse_addr(const char *s, bool listen, char **ret_host, char **ret_port)
{
	const char *colon = strrchr(s, ':'), *port;
	uint16_t portnum;
	size_t hlen;

	if (!colon)
		return -EINVAL;
	port = colon + 1;
	hlen = (size_t)(colon - s);
	if (zf_parse_port(port, strlen(port), &portnum) < 0)
		return -EINVAL;
	if (s[0] == '[' && (hlen < 3 || s[hlen - 1] != ']'))
		return -EINVAL;
	if (s[0] != '[' && memchr(s, ':', hlen))
		return -EINVAL;         /* a bare IPv6 address needs brackets */
	if (hlen == 0 || (hlen == 1 && s[0] == '*')) {
		if (!listen)
			return -EINVAL;
		*ret_host = NULL;
	} else
		*ret_host = zf_xstrndup(s, hlen);
	*ret_port = zf_xstrdup(port);
	return 0;
}

static int read_secret(const char *path, uint8_t secret[ZF_DATACHAN_SECRET_LEN],
		       struct zf_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[2 * ZF_DATACHAN_SECRET_LEN + 8];
	ssize_t n;
	size_t len, bad;

	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open secret file '%s': %m", path);
	n = zf_read_full(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return zf_err_set(err, (int)n, "cannot read secret file '%s': %s", path,
				  strerror((int)-n));
	len = (size_t)n;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	if (len != 2 * ZF_DATACHAN_SECRET_LEN) {
		explicit_bzero(buf, sizeof(buf));
		return zf_err_set(err, -EINVAL, "secret file '%s': want %d hex digits, found %zu "
				  "characters", path, 2 * ZF_DATACHAN_SECRET_LEN, len);
	}
	if (zf_hex_decode(buf, ZF_DATACHAN_SECRET_LEN, secret, &bad) < 0) {
		explicit_bzero(buf, sizeof(buf));
		return zf_err_set(err, -EINVAL, "secret file '%s': not a hex digit at offset %zu",
				  path, bad);
	}
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static void print_rate(uint64_t bytes, double t0)
{
	double s = zf_now_sec() - t0;

	fprintf(stderr, "bytes=%" PRIu64 " seconds=%.3f MiB/s=%.1f\n", bytes, s,
		s > 0 ? (double)bytes / 1048576.0 / s : 0.0);
}

/* Parses the single-option subcommands' -h; 1 when help was printed, <0 on error. */
static int only_help(const char *sub, const char *usage, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, {} };
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 1;
		}
		return -bad_option(sub, argc, argv);
	}
	if (optind < argc)
		return -sub_usage_error(sub, "takes no arguments");
	return 0;
}

static int debug_stream_source(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bytes", required_argument, NULL, 'b' },
		{ "pipe-size", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	EVP_CIPHER_CTX *ctx = NULL;
	uint64_t pipe_size = 0;
	_cleanup_free_ uint8_t *zero = zf_xcalloc(1, BUF_SIZE);
	_cleanup_free_ uint8_t *buf = zf_xmalloc(BUF_SIZE);
	uint8_t key[16], iv[16] = { 0 };
	uint64_t n = 0, left;
	bool have_n = false;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "+b:p:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'b':
			if (zf_parse_size(optarg, &n) < 0)
				return sub_usage_error("stream-source", "bad byte count '%s'",
						       optarg);
			have_n = true;
			break;
		case 'p':
			if (parse_pipe_size(optarg, &pipe_size) < 0)
				return sub_usage_error("stream-source", "bad pipe size '%s'",
						       optarg);
			break;
		case 'h':
			fputs(usage_source, stdout);
			return ZF_EXIT_OK;
		default:
			return bad_option("stream-source", argc, argv);
		}
	}
	if (!have_n)
		return sub_usage_error("stream-source", "--bytes is required");
	if (optind < argc)
		return sub_usage_error("stream-source", "takes no arguments");
	if (RAND_bytes(key, sizeof(key)) != 1 || !(ctx = EVP_CIPHER_CTX_new()) ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, key, iv) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		fprintf(stderr, "zferry debug stream-source: cannot set up AES-CTR\n");
		return ZF_EXIT_FAIL;
	}
	if (pipe_size && set_pipe_size(STDOUT_FILENO, pipe_size, "stream-source") < 0)
		return ZF_EXIT_FAIL;
	for (left = n; left > 0 && r == 0;) {
		int c2 = (int)MIN(left, (uint64_t)BUF_SIZE), len = 0;
		if (EVP_EncryptUpdate(ctx, buf, &len, zero, c2) != 1 || len != c2) {
			r = -EIO;
			break;
		}
		r = zf_write_full(STDOUT_FILENO, buf, (size_t)c2);
		left -= (uint64_t)c2;
	}
	EVP_CIPHER_CTX_free(ctx);
	if (r < 0) {
		fprintf(stderr, "zferry debug stream-source: cannot write to stdout after %" PRIu64
			" bytes: %s\n", n - left, strerror(-r));
		return ZF_EXIT_FAIL;
	}
	return ZF_EXIT_OK;
}

static int debug_stream_sink(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pipe-size", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t total = 0, pipe_size = 0;
	double t0;
	int c;

	while ((c = getopt_long(argc, argv, "+p:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'p':
			if (parse_pipe_size(optarg, &pipe_size) < 0)
				return sub_usage_error("stream-sink", "bad pipe size '%s'", optarg);
			break;
		case 'h':
			fputs(usage_sink, stdout);
			return ZF_EXIT_OK;
		default:
			return bad_option("stream-sink", argc, argv);
		}
	}
	if (optind < argc)
		return sub_usage_error("stream-sink", "takes no arguments");
	if (pipe_size && set_pipe_size(STDIN_FILENO, pipe_size, "stream-sink") < 0)
		return ZF_EXIT_FAIL;
	buf = zf_xmalloc(BUF_SIZE);
	t0 = zf_now_sec();
	for (;;) {
		ssize_t k = zf_read_full(STDIN_FILENO, buf, BUF_SIZE);
		if (k < 0) {
			fprintf(stderr, "zferry debug stream-sink: cannot read stdin: %s\n",
				strerror((int)-k));
			return ZF_EXIT_FAIL;
		}
		total += (uint64_t)k;
		if ((size_t)k < BUF_SIZE)
			break;
	}
	print_rate(total, t0);
	return ZF_EXIT_OK;
}

static int debug_datachan_secret(int argc, char **argv)
{
	uint8_t s[ZF_DATACHAN_SECRET_LEN];
	char hex[2 * ZF_DATACHAN_SECRET_LEN + 1];
	struct zf_err err = ZF_ERR_INIT;
	int r = only_help("datachan-secret", usage_secret, argc, argv);

	if (r != 0)
		return r > 0 ? ZF_EXIT_OK : -r;
	if (zf_datachan_secret_new(s, &err) < 0)
		return fail("datachan-secret", &err);
	printf("%s\n", zf_hex_encode(s, sizeof(s), hex));
	explicit_bzero(s, sizeof(s));
	explicit_bzero(hex, sizeof(hex));
	return ZF_EXIT_OK;
}

struct chan_opts {
	char *host, *port;
	const char *secret_file;
	bool encrypt;
	int timeout_ms;
};

static void chan_opts_release(struct chan_opts *o)
{
	free(o->host);
	free(o->port);
}

static int parse_chan(const char *sub, const char *usage, bool listen, int argc, char **argv,
		      struct chan_opts *o)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "secret-file", required_argument, NULL, 's' },
		{ "encrypt", no_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	bool have_addr = false;
	int c;

	o->timeout_ms = 60000;
	while ((c = getopt_long(argc, argv, listen ? "+l:s:et:h" : "+c:s:et:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'l':
		case 'c':
			if ((c == 'l') != listen)
				return -bad_option(sub, argc, argv);
			free(o->host);
			free(o->port);
			o->host = o->port = NULL;
			if (parse_addr(optarg, listen, &o->host, &o->port) < 0)
				return -sub_usage_error(sub, "bad address '%s': want %s", optarg,
						       listen ? "[HOST]:PORT" : "HOST:PORT");
			have_addr = true;
			break;
		case 's':
			o->secret_file = optarg;
			break;
		case 'e':
			o->encrypt = true;
			break;
		case 't':
			if (parse_seconds(optarg, &o->timeout_ms) < 0)
				return -sub_usage_error(sub, "bad timeout '%s': want 1-86400 seconds",
						       optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			return -bad_option(sub, argc, argv);
		}
	}
	if (!have_addr)
		return -sub_usage_error(sub, "%s is required", listen ? "--listen" : "--connect");
	if (!o->secret_file)
		return -sub_usage_error(sub, "--secret-file is required");
	if (optind < argc)
		return -sub_usage_error(sub, "takes no arguments");
	return 0;
}

static void recv_refused(void *userdata, uint16_t port, const char *peer, const char *why)
{
	(void)userdata;
	fprintf(stderr, "zferry debug datachan-recv: port %u: refused '%s': %s\n", port, peer, why);
}

static int debug_datachan_recv(int argc, char **argv)
{
	_cleanup_(zf_datachan_listener_freep) struct zf_datachan_listener *l = NULL;
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	_cleanup_(chan_opts_release) struct chan_opts o = {};
	_cleanup_free_ uint8_t *buf = NULL;
	struct zf_err err = ZF_ERR_INIT;
	uint8_t secret[ZF_DATACHAN_SECRET_LEN];
	uint64_t total = 0;
	double t0;
	int r = parse_chan("datachan-recv", usage_recv, true, argc, argv, &o);

	if (r != 0)
		return r > 0 ? ZF_EXIT_OK : -r;
	r = read_secret(o.secret_file, secret, &err);
	if (r >= 0)
		r = zf_datachan_listen(o.host, o.port, secret, o.encrypt, &l, &err);
	explicit_bzero(secret, sizeof(secret));
	if (r < 0)
		return fail("datachan-recv", &err);
	zf_datachan_listener_on_refused(l, recv_refused, NULL);
	fprintf(stderr, "port=%u\n", zf_datachan_port(l));
	fflush(stderr);
	if (zf_datachan_accept(l, o.timeout_ms, &t, &err) < 0)
		return fail("datachan-recv", &err);
	zf_transport_set_timeout(t, o.timeout_ms);
	buf = zf_xmalloc(BUF_SIZE);
	t0 = zf_now_sec();
	for (;;) {
		ssize_t k = zf_transport_read(t, buf, BUF_SIZE, &err);
		if (k < 0)
			return fail("datachan-recv", &err);
		if (k == 0)
			break;
		r = zf_write_full(STDOUT_FILENO, buf, (size_t)k);
		if (r < 0) {
			fprintf(stderr, "zferry debug datachan-recv: cannot write to stdout: %s\n",
				strerror(-r));
			return ZF_EXIT_FAIL;
		}
		total += (uint64_t)k;
	}
	print_rate(total, t0);
	return ZF_EXIT_OK;
}

static int debug_datachan_send(int argc, char **argv)
{
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	_cleanup_(chan_opts_release) struct chan_opts o = {};
	_cleanup_free_ uint8_t *buf = NULL;
	struct zf_err err = ZF_ERR_INIT;
	uint8_t secret[ZF_DATACHAN_SECRET_LEN];
	uint64_t total = 0;
	double t0;
	int r = parse_chan("datachan-send", usage_send, false, argc, argv, &o);

	if (r != 0)
		return r > 0 ? ZF_EXIT_OK : -r;
	r = read_secret(o.secret_file, secret, &err);
	if (r >= 0)
		r = zf_datachan_connect(o.host, o.port, secret, o.encrypt, o.timeout_ms, &t, &err);
	explicit_bzero(secret, sizeof(secret));
	if (r < 0)
		return fail("datachan-send", &err);
	buf = zf_xmalloc(BUF_SIZE);
	t0 = zf_now_sec();
	for (;;) {
		ssize_t k = zf_read_full(STDIN_FILENO, buf, BUF_SIZE);
		if (k < 0) {
			fprintf(stderr, "zferry debug datachan-send: cannot read stdin: %s\n",
				strerror((int)-k));
			return ZF_EXIT_FAIL;
		}
		if (k > 0 && zf_transport_write(t, buf, (size_t)k, &err) < 0)
			return fail("datachan-send", &err);
		total += (uint64_t)k;
		if ((size_t)k < BUF_SIZE)
			break;
	}
	if (zf_transport_shutdown(t, &err) < 0)
		return fail("datachan-send", &err);
	print_rate(total, t0);
	return ZF_EXIT_OK;
}

/*
 * The head of rpc-send's stream: with --zfs-stream, stdin's own (a zfs send
 * stream, whatever it holds, as a hostile client would push it); else a
 * BEGIN record that stdin goes behind (a receiving side reads a stream's
 * head first).
 */
static int rpc_send_head(bool zfs_stream, const char *target, struct zf_buf *head,
			 struct zf_err *err)
{
	uint8_t begin[ZF_ZFS_RECORD_SIZE];
	_cleanup_free_ char *toname = NULL;

	if (zfs_stream)
		return zf_ep_read_head(STDIN_FILENO, head, err);
	toname = zf_xasprintf("%s@rpc-send", target);
	zf_zfs_stream_begin_record(begin, ZF_ZFS_STREAM_FILESYSTEM, toname, 1);
	zf_buf_add(head, begin, sizeof(begin));
	return 0;
}

/* Receives target on ep: head, then stdin; prints the rate.  An exit status. */
static int rpc_send_stream(struct zf_endpoint *ep, const char *target, const struct zf_buf *head,
			   struct zf_err *err)
{
	struct zf_ep_recv ro = { .resumable = true };
	struct zf_ep_stream st = { -EBADF, NULL };
	uint64_t total = 0;
	double t0;
	int r;

	ro.head = head->data;
	ro.head_len = head->len;
	r = ep->ops->recv_start(ep, target, &ro, &st, err);
	if (r < 0)
		return fail("rpc-send", err);
	/* as the replication engine moves a stream between endpoints: splice when it can */
	t0 = zf_now_sec();
	r = zf_write_full(st.fd, head->data, head->len);
	if (r >= 0)
		r = zf_copy_stream(STDIN_FILENO, st.fd, &total, NULL);
	if (r < 0) {
		zf_err_set(err, r, "cannot move stdin to the stream: %s", strerror(-r));
		ep->ops->stream_kill(ep, &st);
		(void)ep->ops->stream_finish(ep, &st, "rpc-send", err);
		return fail("rpc-send", err);
	}
	if (ep->ops->stream_finish(ep, &st, "rpc-send", err) < 0)
		return fail("rpc-send", err);
	print_rate(total, t0);
	return ZF_EXIT_OK;
}

static int debug_rpc_send(int argc, char **argv)
{
	enum { O_CA = 1000, O_CERT, O_KEY, O_NAME, O_CRL, O_SSH, O_REMOTE, O_DATA, O_DATA_ENC, O_ZFS };
	static const struct option opts[] = {
		{ "tls-ca", required_argument, NULL, O_CA },
		{ "tls-cert", required_argument, NULL, O_CERT },
		{ "tls-key", required_argument, NULL, O_KEY },
		{ "tls-server-name", required_argument, NULL, O_NAME },
		{ "tls-crl", required_argument, NULL, O_CRL },
		{ "ssh-option", required_argument, NULL, O_SSH },
		{ "remote-zferry", required_argument, NULL, O_REMOTE },
		{ "data-channel", required_argument, NULL, O_DATA },
		{ "data-channel-encrypt", no_argument, NULL, O_DATA_ENC },
		{ "zfs-stream", no_argument, NULL, O_ZFS },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_buf_ struct zf_buf head = ZF_BUF_INIT;
	bool zfs_stream = false;
	_cleanup_strv_ struct zf_strv ssh_options = ZF_STRV_INIT;
	_cleanup_(zf_endpoint_freep) struct zf_endpoint *ep = NULL;
	_cleanup_free_ char *data_addr = NULL, *target = NULL;
	struct zf_remote_args ra = { .ssh_options = &ssh_options,
					 .timeout_ms = ZF_TRANSPORT_DEFAULT_TIMEOUT_MS };
	struct zf_url url = ZF_URL_INIT;
	struct zf_err err = ZF_ERR_INIT;
	int c, r;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
		switch (c) {
		case O_CA: ra.tls_ca = optarg; break;
		case O_CERT: ra.tls_cert = optarg; break;
		case O_KEY: ra.tls_key = optarg; break;
		case O_NAME:
			if (zf_check_tls_server_name(optarg, &err) < 0)
				return sub_usage_error("rpc-send", "bad --tls-server-name: %s",
						       zf_err_msg(&err));
			ra.tls_server_name = optarg;
			break;
		case O_CRL: ra.tls_crl = optarg; break;
		case O_SSH: zf_strv_add(&ssh_options, optarg); break;
		case O_REMOTE: ra.remote_zferry = optarg; break;
		case O_DATA:
			free(data_addr);
			data_addr = NULL;
			if (zf_parse_data_channel(optarg, &data_addr, &ra.data_ports, &err) < 0)
				return sub_usage_error("rpc-send", "bad --data-channel: %s",
						       zf_err_msg(&err));
			ra.data_addr = data_addr;
			break;
		case O_DATA_ENC: ra.data_encrypt = true; break;
		case O_ZFS: zfs_stream = true; break;
		case 'h': fputs(usage_rpc_send, stdout); return ZF_EXIT_OK;
		default: return bad_option("rpc-send", argc, argv);
		}
	}
	if (argc - optind != 1)
		return sub_usage_error("rpc-send", "expected one URL");
	if (zf_url_parse(argv[optind], &url, &err) < 0)
		return sub_usage_error("rpc-send", "bad URL: %s", zf_err_msg(&err));
	if (url.kind == ZF_URL_LOCAL) {
		zf_url_release(&url);
		return sub_usage_error("rpc-send", "'%s' is not remote", argv[optind]);
	}
	target = zf_xstrdup(url.dataset);
	r = zf_endpoint_open(&url, &ra, &ep, &err);
	zf_url_release(&url);
	if (r < 0)
		return fail("rpc-send", &err);
	if (rpc_send_head(zfs_stream, target, &head, &err) < 0)
		return fail("rpc-send", &err);
	return rpc_send_stream(ep, target, &head, &err);
}

struct debug_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct debug_cmd debug_cmds[] = {
	{ "stream-source", debug_stream_source, usage_source },
	{ "stream-sink", debug_stream_sink, usage_sink },
	{ "datachan-secret", debug_datachan_secret, usage_secret },
	{ "datachan-recv", debug_datachan_recv, usage_recv },
	{ "datachan-send", debug_datachan_send, usage_send },
	{ "rpc-send", debug_rpc_send, usage_rpc_send },
};

static const struct debug_cmd *find_sub(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(debug_cmds); i++)
		if (streq(debug_cmds[i].name, name))
			return &debug_cmds[i];
	return NULL;
}

int cmd_debug(int argc, char **argv)
{
	const struct zf_cmd *c = zf_cmd_find("debug");
	const struct debug_cmd *s;

	if (argc < 2) {
		fputs(c->usage, stderr);
		return ZF_EXIT_USAGE;
	}
	if (streq(argv[1], "-h") || streq(argv[1], "--help") || streq(argv[1], "help")) {
		if (argc > 2 && (s = find_sub(argv[2]))) {
			fputs(s->usage, stdout);
			return ZF_EXIT_OK;
		}
		fputs(c->usage, stdout);
		return ZF_EXIT_OK;
	}
	s = find_sub(argv[1]);
	if (!s)
		return zf_usage_error("debug", "unknown subcommand '%s'", argv[1]);
	optind = 0;
	opterr = 0;
	return s->fn(argc - 1, argv + 1);
}
