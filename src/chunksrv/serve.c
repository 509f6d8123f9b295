/*
 * src/chunksrv/serve.c — `zferry store serve`: sockets and threads around chunk/chunk-http.c
 *
 * A thread per connection, at most max_conns at once (more get 503 and are
 * closed).  Each request has one deadline for its head and body, so a
 * client that trickles bytes is dropped however it paces them.  What a
 * request may do is decided by zf_chunk_http_decide(); this file only
 * reads, parses the head strictly, and carries the decision out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include "chunksrv/serve.h"
#include "chunk/store.h"
#include "log/log.h"
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/num.h"
#include "util/banned.h"

#define INDEX_MAX (256u * 1024 * 1024)  /* an index file served whole */

struct conn {
	const struct zf_chunksrv_opts *o;
	struct zf_transport *t;         /* tcp, or tls over it */
	struct zf_chunk_ctx *ctx;
	char head[ZF_CHUNK_HTTP_MAX_HEAD];
	size_t have;                    /* bytes in head[] */
	size_t head_len;                /* through the blank line */
	int64_t deadline;
	bool close;                     /* close after this answer */
	bool http10;
	bool expect_continue;
};

static atomic_uint active;

/* The request's time left, set as the transport's timeout; at least 1 ms. */
static int remaining_ms(const struct conn *c)
{
	int64_t left = c->deadline - zf_now_ms();
	int ms = left > 1 ? (int)left : 1;

	zf_transport_set_timeout(c->t, ms);
	return ms;
}

static int conn_write(struct conn *c, const void *p, size_t n)
{
	struct zf_err e = ZF_ERR_INIT;

	remaining_ms(c);
	return zf_transport_write(c->t, p, n, &e);
}

static ssize_t conn_read(struct conn *c, void *p, size_t n)
{
	struct zf_err e = ZF_ERR_INIT;

	if (c->deadline <= zf_now_ms())
		return -ETIMEDOUT;
	remaining_ms(c);
	return zf_transport_read(c->t, p, n, &e);
}

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

/* Head and body in one write; for HEAD, len is announced and body is NULL. */
static int answer(struct conn *c, int status, const char *type, const void *body, size_t len)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	int r;

	zf_buf_addf(&b, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: %s\r\n%s",
		    status, reason(status), len, type,
		    status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
	zf_buf_adds(&b, c->close ? "Connection: close\r\n\r\n" : "\r\n");
	if (body)
		zf_buf_add(&b, body, len);
	r = conn_write(c, b.data, b.len);
	if (r < 0)
		c->close = true;
	return r;
}

static int answer_text(struct conn *c, int status, const char *why)
{
	_cleanup_free_ char *text = zf_xasprintf("%s\n", why);

	return answer(c, status, "text/plain", text, strlen(text));
}

/* Reads until the head's blank line: 1 with a head, 0 at a clean end, <0. */
static int read_head(struct conn *c)
{
	for (;;) {
		char *end;
		ssize_t k;

		end = c->have >= 4 ? memmem(c->head, c->have, "\r\n\r\n", 4) : NULL;
		if (end) {
			c->head_len = (size_t)(end - c->head) + 4;
			return 1;
		}
		if (c->have == sizeof(c->head))
			return -E2BIG;
		k = conn_read(c, c->head + c->have, sizeof(c->head) - c->have);
		if (k == 0)
			return c->have == 0 ? 0 : -EPIPE;
		if (k < 0)
			return (int)k;
		c->have += (size_t)k;
	}
}

static bool token_eq(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && strncasecmp(p, s, n) == 0;
}

static void trim(const char **p, size_t *n)
{
	while (*n > 0 && (**p == ' ' || **p == '\t'))
		(*p)++, (*n)--;
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/* One header line "Name: value" into req; anything odd marks the request bad. */
static void parse_header(struct conn *c, const char *line, size_t n, struct zf_chunk_http_req *req)
{
	const char *colon = memchr(line, ':', n), *v;
	size_t name_len, vlen;

	if (!colon || colon == line || line[0] == ' ' || line[0] == '\t') {
		req->bad_header = true;         /* no name, or obsolete line folding */
		return;
	}
	name_len = (size_t)(colon - line);
	for (size_t i = 0; i < name_len; i++)
		if (line[i] <= ' ' || line[i] > '~')
			req->bad_header = true;
	v = colon + 1;
	vlen = n - name_len - 1;
	trim(&v, &vlen);
	for (size_t i = 0; i < vlen; i++)
		if ((unsigned char)v[i] < ' ' && v[i] != '\t')
			req->bad_header = true;
	if (token_eq(line, name_len, "Content-Length")) {
		if (req->has_length || zf_parse_u64n(v, vlen, UINT64_MAX, &req->length) < 0 ||
		    vlen == 0 || vlen > 20)
			req->bad_header = true;
		for (size_t i = 0; i < vlen; i++)
			if (v[i] < '0' || v[i] > '9')
				req->bad_header = true;
		req->has_length = true;
	} else if (token_eq(line, name_len, "Transfer-Encoding")) {
		req->chunked = true;
	} else if (token_eq(line, name_len, "Authorization")) {
		if (req->has_auth)
			req->bad_header = true;
		req->has_auth = true;
		req->auth = v;
		req->auth_len = vlen;
	} else if (token_eq(line, name_len, "Connection")) {
		if (token_eq(v, vlen, "close"))
			c->close = true;
	} else if (token_eq(line, name_len, "Expect")) {
		if (token_eq(v, vlen, "100-continue"))
			c->expect_continue = true;
		else
			req->bad_header = true;
	}
}

/* The request line and headers of c->head; -EINVAL when the request line is bad. */
static int parse_head(struct conn *c, struct zf_chunk_http_req *req)
{
	const char *p = c->head, *end = c->head + c->head_len - 2, *sp1, *sp2, *eol;

	memset(req, 0, sizeof(*req));
	c->expect_continue = false;
	if (memchr(c->head, '\0', c->head_len))
		return -EINVAL;
	eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	if (!sp1)
		return -EINVAL;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', (size_t)(eol - sp2 - 1)))
		return -EINVAL;
	if (token_eq(sp2 + 1, (size_t)(eol - sp2 - 1), "HTTP/1.0"))
		c->http10 = true;
	else if (!token_eq(sp2 + 1, (size_t)(eol - sp2 - 1), "HTTP/1.1"))
		return -EINVAL;
	if (c->http10)
		c->close = true;
	req->method = zf_chunk_http_method(p, (size_t)(sp1 - p));
	req->target = sp1 + 1;
	req->target_len = (size_t)(sp2 - sp1 - 1);
	for (p = eol + 2; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		parse_header(c, p, (size_t)(eol - p), req);
	}
	return 0;
}

/* Reads a PUT body of n bytes (the head's leftovers first) into b. */
static int read_body(struct conn *c, size_t n, struct zf_buf *b)
{
	size_t extra = c->have - c->head_len;
	size_t take = extra < n ? extra : n;

	zf_buf_reset(b);
	zf_buf_grow(b, n + 1);
	zf_buf_add(b, c->head + c->head_len, take);
	c->head_len += take;
	while (b->len < n) {
		ssize_t k = conn_read(c, b->data + b->len, n - b->len);

		if (k == 0)
			return -EPIPE;
		if (k < 0)
			return (int)k;
		b->len += (size_t)k;
	}
	return 0;
}

/*
 * Append-only: a chunk already stored is answered 200 when the new one is
 * the same bytes or the same data; 409 otherwise, and nothing is replaced.
 */
static int put_existing(struct conn *c, const struct zf_chunk_id *id, const struct zf_buf *body,
			struct zf_buf *decoded, bool have_decoded)
{
	_cleanup_buf_ struct zf_buf old = ZF_BUF_INIT, old_dec = ZF_BUF_INIT;
	struct zf_err e = ZF_ERR_INIT;
	int r;

	r = zf_store_get_raw(c->o->store, id, zf_cacnk_max_raw(ZF_CHUNK_HTTP_MAX_CHUNK), &old,
			     &e);
	if (r < 0) {
		log_error("store serve: %s", zf_err_msg(&e));
		return answer_text(c, 500, "cannot read the stored chunk");
	}
	if (old.len == body->len && memcmp(old.data, body->data, body->len) == 0)
		return answer_text(c, 200, "already stored");
	if (!have_decoded &&
	    zf_cacnk_decode(c->ctx, (const uint8_t *)body->data, body->len,
			    ZF_CHUNK_HTTP_MAX_CHUNK, decoded, &e) < 0)
		return answer_text(c, 409, "a different chunk is stored under this id");
	if (zf_cacnk_decode(c->ctx, (const uint8_t *)old.data, old.len, ZF_CHUNK_HTTP_MAX_CHUNK,
			    &old_dec, &e) < 0 ||
	    old_dec.len != decoded->len || memcmp(old_dec.data, decoded->data, decoded->len) != 0)
		return answer_text(c, 409, "a different chunk is stored under this id");
	return answer_text(c, 200, "already stored");
}

static int do_put(struct conn *c, const struct zf_chunk_http_decision *d, uint64_t len)
{
	_cleanup_buf_ struct zf_buf body = ZF_BUF_INIT, decoded = ZF_BUF_INIT;
	struct zf_err e = ZF_ERR_INIT;
	struct zf_chunk_id got;
	int r;

	if (c->expect_continue && !c->http10) {
		r = conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		if (r < 0)
			return r;
	}
	r = read_body(c, (size_t)len, &body);
	if (r < 0)
		return r;
	if (c->o->verify) {
		if (zf_cacnk_decode(c->ctx, (const uint8_t *)body.data, body.len,
				    ZF_CHUNK_HTTP_MAX_CHUNK, &decoded, &e) < 0)
			return answer_text(c, 400, "not a compressed chunk");
		zf_chunk_id_hash(c->ctx, decoded.data, decoded.len, &got);
		if (!zf_chunk_id_eq(&got, &d->id))
			return answer_text(c, 400, "content does not match the chunk id");
	}
	r = zf_store_put_raw(c->o->store, &d->id, body.data, body.len, &e);
	if (r < 0) {
		log_error("store serve: %s", zf_err_msg(&e));
		return answer_text(c, 500, "cannot store the chunk");
	}
	if (r == 0)
		return answer_text(c, 201, "stored");
	return put_existing(c, &d->id, &body, &decoded, c->o->verify);
}

static int do_chunk(struct conn *c, const struct zf_chunk_http_decision *d, bool head)
{
	_cleanup_buf_ struct zf_buf raw = ZF_BUF_INIT;
	struct zf_err e = ZF_ERR_INIT;
	uint64_t size = 0;
	int r;

	if (head) {
		r = zf_store_has(c->o->store, &d->id, &size, &e);
		if (r == 0)
			return answer(c, 404, "text/plain", NULL, 0);
	} else {
		r = zf_store_get_raw(c->o->store, &d->id,
				     zf_cacnk_max_raw(ZF_CHUNK_HTTP_MAX_CHUNK), &raw, &e);
		if (r == -ENOENT)
			return answer_text(c, 404, "chunk not found");
	}
	if (r < 0) {
		log_error("store serve: %s", zf_err_msg(&e));
		return answer_text(c, 500, "cannot read the chunk");
	}
	if (head)
		return answer(c, 200, "application/octet-stream", NULL, (size_t)size);
	return answer(c, 200, "application/octet-stream", raw.data, raw.len);
}

static int do_index(struct conn *c, const struct zf_chunk_http_decision *d, bool head)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_free_ char *name = zf_xstrndup(d->name, d->name_len);
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	fd = openat(c->o->index_dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return answer_text(c, 404, "index not found");
	if (head)
		return answer(c, 200, "application/octet-stream", NULL, (size_t)st.st_size);
	r = zf_read_all(fd, &b, INDEX_MAX);
	if (r < 0)
		return answer_text(c, 500, "cannot read the index");
	return answer(c, 200, "application/octet-stream", b.data, b.len);
}

/* One request: <0 ends the connection. */
static int serve_one(struct conn *c)
{
	struct zf_chunk_http_req req;
	struct zf_chunk_http_decision d;
	int r;

	c->deadline = zf_now_ms() + c->o->timeout_ms;
	r = read_head(c);
	if (r == 0)
		return -EPIPE;
	if (r == -E2BIG) {
		c->close = true;
		answer_text(c, 431, "request head too large");
		return r;
	}
	if (r < 0)
		return r;       /* slow, reset or timed out: dropped without an answer */
	if (parse_head(c, &req) < 0) {
		c->close = true;
		answer_text(c, 400, "bad request line");
		return -EINVAL;
	}
	zf_chunk_http_decide(&req, &c->o->policy, &d);
	if (d.status) {
		/* a body we did not read would be taken for the next request */
		if ((req.has_length && req.length > 0) || req.chunked || req.bad_header)
			c->close = true;
		r = answer_text(c, d.status, d.why);
	} else if (req.method == ZF_CHUNK_HTTP_PUT) {
		r = do_put(c, &d, req.length);
	} else if (d.kind == ZF_CHUNK_HTTP_INDEX) {
		r = do_index(c, &d, req.method == ZF_CHUNK_HTTP_HEAD);
	} else {
		r = do_chunk(c, &d, req.method == ZF_CHUNK_HTTP_HEAD);
	}
	if (r < 0 || c->close)
		return r < 0 ? r : -EPIPE;
	/* keep what follows the request: a pipelined next one */
	memmove(c->head, c->head + c->head_len, c->have - c->head_len);
	c->have -= c->head_len;
	c->head_len = 0;
	return 0;
}

/* With TLS, the handshake, within one request's deadline; 0 or <0 (logged at debug). */
static int conn_start_tls(struct conn *c)
{
	struct zf_tls_opts tls = c->o->tls;
	struct zf_err e = ZF_ERR_INIT;
	struct zf_transport *tt;
	int r;

	tls.timeout_ms = (int)c->o->timeout_ms;
	r = zf_tls_server(c->t, &tls, &tt, &e);
	c->t = NULL;            /* passed on, also on failure */
	if (r < 0)
		return log_debug_errno(r, "store serve: %s", zf_err_msg(&e));
	c->t = tt;
	return 0;
}

static void *conn_main(void *userdata)
{
	struct conn *c = userdata;

	c->ctx = zf_chunk_ctx_new();
	if (!c->o->tls.cert_file || conn_start_tls(c) >= 0)
		while (serve_one(c) >= 0)
			;
	zf_chunk_ctx_free(c->ctx);
	zf_transport_free(c->t);
	free(c);
	atomic_fetch_sub(&active, 1);
	return NULL;
}

static void refuse_busy(int fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
				   "Connection: close\r\nRetry-After: 1\r\n\r\n";

	(void)!zf_send_some(fd, busy, sizeof(busy) - 1);
	safe_close(fd);
}

static void start_conn(const struct zf_chunksrv_opts *o, int fd)
{
	pthread_attr_t attr;
	pthread_t t;
	struct conn *c;
	int one = 1;

	if (atomic_fetch_add(&active, 1) >= o->max_conns) {
		atomic_fetch_sub(&active, 1);
		if (o->tls.cert_file)
			safe_close(fd);         /* a plain-text 503 would mean nothing */
		else
			refuse_busy(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = zf_xcalloc(1, sizeof(*c));
	c->o = o;
	c->t = zf_transport_local_new(fd, fd, "tcp");
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&t, &attr, conn_main, c) != 0) {
		zf_transport_free(c->t);
		free(c);
		atomic_fetch_sub(&active, 1);
	}
	pthread_attr_destroy(&attr);
}

static int listen_on(const struct zf_chunksrv_opts *o, struct zf_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int fd = -1, r, one = 1;

	r = getaddrinfo(o->host, o->port, &hints, &res);
	if (r != 0)
		return zf_err_set(err, -EINVAL, "cannot resolve '%s': %s", o->host ? o->host : "*",
				  gai_strerror(r));
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 128) == 0)
			break;
		r = -errno;
		fd = safe_close(fd);
	}
	freeaddrinfo(res);
	if (fd < 0)
		return zf_err_set(err, r < 0 ? r : -EADDRNOTAVAIL, "cannot listen on %s:%s: %s",
				  o->host ? o->host : "*", o->port, strerror(r < 0 ? -r : EINVAL));
	return fd;
}

static void print_listening(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	printf(ss.ss_family == AF_INET6 ? "zferry store serve: listening on [%s]:%s\n" :
	       "zferry store serve: listening on %s:%s\n", host, port);
	fflush(stdout);
}

int zf_chunksrv_run(const struct zf_chunksrv_opts *o, struct zf_err *err)
{
	_cleanup_close_ int lfd = -EBADF;

	if (o->tls.cert_file) {
		int r = zf_tls_check(&o->tls, true, err);

		if (r < 0)
			return r;
	}
	lfd = listen_on(o, err);
	if (lfd < 0)
		return lfd;
	print_listening(lfd);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
				usleep(100 * 1000);     /* let connections finish */
				continue;
			}
			return zf_err_set(err, -errno, "accept failed: %m");
		}
		start_conn(o, fd);
	}
}
