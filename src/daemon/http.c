/* src/daemon/http.c — HTTP/1.x for the daemon's listener: parse, answer once, close; never block */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include "daemon/http.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/num.h"
#include "util/banned.h"

/* ---- the request head: pure, no I/O (fuzzed) ---- */

/* RFC 9110 tchar: what a method or a header name may hold. */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

/* The next line of the head, without its CR LF (a bare LF is taken too); NULL at the end. */
static char *next_line(char **cur, char *end)
{
	char *line = *cur, *nl;

	if (line >= end)
		return NULL;
	nl = memchr(line, '\n', (size_t)(end - line));
	if (!nl)
		return NULL;
	*cur = nl + 1;
	if (nl > line && nl[-1] == '\r')
		nl--;
	*nl = '\0';
	return line;
}

/* "METHOD SP target SP HTTP/1.x": 0 or a status. */
static int parse_request_line(char *line, struct zf_http_request *req, int *ret_minor)
{
	char *sp1 = strchr(line, ' '), *sp2, *q;
	const char *v;

	if (!sp1 || !(sp2 = strchr(sp1 + 1, ' ')) || strchr(sp2 + 1, ' '))
		return 400;
	*sp1 = *sp2 = '\0';
	if (!is_token(line) || sp1[1] != '/')
		return 400;
	for (const char *t = sp1 + 1; *t; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return 400;
	v = sp2 + 1;
	if (!startswith(v, "HTTP/") || strlen(v) != 8 || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	q = strchr(sp1 + 1, '?');
	if (q)
		*q++ = '\0';
	*ret_minor = v[7] - '0';
	req->method = line;
	req->path = sp1 + 1;
	req->query = q ? q : "";
	return 0;
}

struct head_facts {
	int minor;                      /* HTTP/1.minor */
	unsigned hosts;
	bool body;
};

/* "name: value", no space before the colon, no folded lines (RFC 9112 says reject). */
static int parse_header(char *line, struct head_facts *h)
{
	char *colon = strchr(line, ':'), *val;

	if (!colon)
		return 400;
	*colon = '\0';
	if (!is_token(line))
		return 400;
	for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
		;
	for (const char *t = val; *t; t++)
		if (((unsigned char)*t < 0x20 && *t != '\t') || *t == 0x7f)
			return 400;
	if (strcasecmp(line, "host") == 0)
		h->hosts++;
	else if (strcasecmp(line, "transfer-encoding") == 0)
		h->body = true;
	else if (strcasecmp(line, "content-length") == 0) {
		uint64_t len;
		size_t vlen = strcspn(val, " \t");
		if (zf_parse_u64n(val, vlen, UINT64_MAX, &len) < 0)
			return 400;
		h->body |= len > 0;
	}
	return 0;
}

int zf_http_parse_head(char *p, size_t n, struct zf_http_request *req)
{
	struct zf_http_request r = { 0 };
	struct head_facts h = { 0 };
	char *cur = p, *end = p + n, *line;
	int st;

	if (memchr(p, '\0', n))
		return 400;
	/* RFC 9112 2.2: ignore empty lines before the request line */
	while ((line = next_line(&cur, end)) && !*line)
		;
	if (!line)
		return 400;
	st = parse_request_line(line, &r, &h.minor);
	if (st)
		return st;
	while ((line = next_line(&cur, end)) && *line) {
		st = parse_header(line, &h);
		if (st)
			return st;
	}
	if (!line)
		return 400;                     /* no empty line: not a whole head */
	/* RFC 9112 3.2: a 1.1 request without exactly one Host is answered 400 */
	if (h.hosts > 1 || (h.minor >= 1 && h.hosts == 0))
		return 400;
	if (!streq(r.method, "GET") && !streq(r.method, "HEAD"))
		return 405;
	if (h.body)
		return 413;
	*req = r;
	return 0;
}

const char *zf_http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return status < 400 ? "OK" : "Error";
}

/* ---- connections ---- */

/*
 * READ: collecting the head.  WRITE: sending the response.  DRAIN: the
 * response is out and our side shut down; reading what the client still
 * sends (pipelined requests, a body) until it closes, since closing with
 * unread data makes the kernel send RST, which can destroy the response
 * before the client has read it.
 */
enum cstate { C_READ, C_WRITE, C_DRAIN };

#define WRITE_PER_EVENT (256 * 1024)    /* one client cannot hold the loop for a whole big page */
#define DRAIN_MAX (64 * 1024)
#define DRAIN_MS 1000

struct conn {
	int fd;
	enum cstate st;
	int64_t deadline;
	size_t nhead, off, drained;
	struct zf_buf out;
	char head[ZF_HTTP_MAX_HEAD + 1];
};

struct zf_http_server {
	int listen_fd;
	zf_http_handler_fn fn;
	void *userdata;
	struct conn *conns[ZF_HTTP_MAX_CONNS];
	size_t nconns;
};

struct zf_http_server *zf_http_new(int listen_fd, zf_http_handler_fn fn, void *userdata)
{
	struct zf_http_server *srv = zf_xcalloc(1, sizeof(*srv));

	srv->listen_fd = listen_fd;
	srv->fn = fn;
	srv->userdata = userdata;
	return srv;
}

static void conn_drop(struct zf_http_server *srv, size_t i)
{
	struct conn *c = srv->conns[i];

	safe_close(c->fd);
	zf_buf_release(&c->out);
	free(c);
	srv->conns[i] = srv->conns[--srv->nconns];
}

struct zf_http_server *zf_http_free(struct zf_http_server *srv)
{
	if (!srv)
		return NULL;
	while (srv->nconns)
		conn_drop(srv, srv->nconns - 1);
	safe_close(srv->listen_fd);
	free(srv);
	return NULL;
}

size_t zf_http_nconns(const struct zf_http_server *srv)
{
	return srv->nconns;
}

/* The slot to give up when full: a drain first (its answer is out), else the oldest reader. */
static ssize_t victim(const struct zf_http_server *srv)
{
	ssize_t best = -1;

	for (size_t i = 0; i < srv->nconns; i++) {
		const struct conn *c = srv->conns[i];
		if (c->st == C_DRAIN)
			return (ssize_t)i;
		if (c->st == C_READ && (best < 0 || c->deadline < srv->conns[best]->deadline))
			best = (ssize_t)i;
	}
	return best;
}

int zf_http_add_conn(struct zf_http_server *srv, int fd, int64_t now_ms)
{
	struct conn *c;

	if (srv->nconns == ZF_HTTP_MAX_CONNS) {
		ssize_t v = victim(srv);
		if (v < 0) {
			safe_close(fd);
			return -EBUSY;
		}
		conn_drop(srv, (size_t)v);
	}
	zf_fd_nonblock(fd, 1);
	c = zf_xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->st = C_READ;
	c->deadline = now_ms + ZF_HTTP_DEADLINE_MS;
	zf_buf_init(&c->out);
	srv->conns[srv->nconns++] = c;
	return 0;
}

/* The listener is polled only while a new connection could get a slot. */
size_t zf_http_pollfds(const struct zf_http_server *srv, struct pollfd *v, size_t max)
{
	size_t n = 0;

	if (srv->listen_fd >= 0 && n < max && (srv->nconns < ZF_HTTP_MAX_CONNS || victim(srv) >= 0))
		v[n++] = (struct pollfd){ .fd = srv->listen_fd, .events = POLLIN };
	for (size_t i = 0; i < srv->nconns && n < max; i++) {
		const struct conn *c = srv->conns[i];
		short ev = c->st == C_WRITE ? POLLOUT : POLLIN;
		v[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
	}
	return n;
}

int zf_http_timeout_ms(const struct zf_http_server *srv, int64_t now_ms)
{
	int64_t first = INT64_MAX;

	for (size_t i = 0; i < srv->nconns; i++)
		first = MIN(first, srv->conns[i]->deadline);
	if (first == INT64_MAX)
		return -1;
	if (first <= now_ms)
		return 0;
	return (int)MIN(first - now_ms, (int64_t)ZF_HTTP_DEADLINE_MS);
}

#define CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

/* Status line, headers and (but for HEAD) body into c->out. */
static void build_response(struct conn *c, const struct zf_http_response *r, bool head)
{
	const char *type = r->content_type ? r->content_type : "text/plain; charset=utf-8";

	zf_buf_addf(&c->out, "HTTP/1.1 %d %s\r\n", r->status, zf_http_status_text(r->status));
	zf_buf_addf(&c->out, "Content-Type: %s\r\nContent-Length: %zu\r\n", type, r->body.len);
	/* what we serve runs no script and loads nothing: say so, in case an escape was missed */
	zf_buf_adds(&c->out, "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
		    "Content-Security-Policy: " CSP "\r\n");
	if (r->status == 405)
		zf_buf_adds(&c->out, "Allow: GET, HEAD\r\n");
	zf_buf_adds(&c->out, "Connection: close\r\n\r\n");
	if (!head)
		zf_buf_add(&c->out, r->body.data, r->body.len);
}

/* The head is whole (or too big: status 431): answer; the handler sees good requests only. */
static void answer(struct zf_http_server *srv, struct conn *c, int status, int64_t now_ms)
{
	struct zf_http_request req = { .now_ms = now_ms };
	struct zf_http_response r = { .status = 200 };

	zf_buf_init(&r.body);
	if (status == 0)
		status = zf_http_parse_head(c->head, c->nhead, &req);
	if (status == 0)
		srv->fn(srv->userdata, &req, &r);
	else
		r.status = status;
	if (r.status >= 400 && r.body.len == 0) {
		r.content_type = NULL;
		zf_buf_addf(&r.body, "%d %s\n", r.status, zf_http_status_text(r.status));
	}
	build_response(c, &r, status == 0 && streq(req.method, "HEAD"));
	zf_buf_release(&r.body);
	c->st = C_WRITE;
	c->off = 0;
}

/* Where the head ends in c->head, searching the bytes from `from`; 0 when not yet. */
static size_t head_end(const struct conn *c, size_t from)
{
	for (size_t i = from; i < c->nhead; i++) {
		if (c->head[i] != '\n')
			continue;
		if (i >= 1 && c->head[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && c->head[i - 1] == '\r' && c->head[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}

/* 0 to keep the connection, <0 to drop it. */
static int step_read(struct zf_http_server *srv, struct conn *c, int64_t now_ms)
{
	size_t before = c->nhead, end;
	ssize_t k = zf_recv_some(c->fd, c->head + c->nhead, ZF_HTTP_MAX_HEAD - c->nhead);

	if (k == -EAGAIN)
		return 0;
	if (k <= 0)
		return -EPIPE;  /* gone, or closed before a whole head: nobody to answer */
	c->nhead += (size_t)k;
	end = head_end(c, before ? before - 1 : 0);
	if (end) {
		c->nhead = end; /* pipelined bytes after it are ignored: one request a connection */
		answer(srv, c, 0, now_ms);
	} else if (c->nhead == ZF_HTTP_MAX_HEAD) {
		answer(srv, c, 431, now_ms);
	} else {
		return 0;
	}
	return 1;       /* answered: try writing at once, the socket is most likely writable */
}

static int step_write(struct conn *c, int64_t now_ms)
{
	size_t n = MIN(c->out.len - c->off, (size_t)WRITE_PER_EVENT);
	ssize_t k = zf_send_some(c->fd, c->out.data + c->off, n);

	if (k == -EAGAIN)
		return 0;
	if (k < 0)
		return (int)k;
	c->off += (size_t)k;
	if (c->off < c->out.len)
		return 0;
	zf_buf_release(&c->out);
	(void)shutdown(c->fd, SHUT_WR);
	c->st = C_DRAIN;
	c->deadline = MIN(c->deadline, now_ms + DRAIN_MS);
	return 0;
}

static int step_drain(struct conn *c)
{
	char junk[4096];
	ssize_t k = zf_recv_some(c->fd, junk, sizeof(junk));

	if (k == -EAGAIN)
		return 0;
	if (k <= 0)
		return -EPIPE;
	c->drained += (size_t)k;
	return c->drained > DRAIN_MAX ? -E2BIG : 0;
}

static int conn_step(struct zf_http_server *srv, struct conn *c, int64_t now_ms)
{
	int r;

	switch (c->st) {
	case C_READ:
		r = step_read(srv, c, now_ms);
		if (r <= 0)
			return r;
		return step_write(c, now_ms);
	case C_WRITE:
		return step_write(c, now_ms);
	case C_DRAIN:
		return step_drain(c);
	}
	return -EINVAL;
}

static ssize_t find_conn(const struct zf_http_server *srv, int fd)
{
	for (size_t i = 0; i < srv->nconns; i++)
		if (srv->conns[i]->fd == fd)
			return (ssize_t)i;
	return -1;
}

#define ACCEPT_PER_EVENT 16

static void accept_some(struct zf_http_server *srv, int64_t now_ms)
{
	for (int i = 0; i < ACCEPT_PER_EVENT; i++) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a connection reset before we took it: next time */
		if (zf_http_add_conn(srv, fd, now_ms) < 0)
			return;
	}
}

/*
 * Connections first, then the listener: a connection closed here frees its
 * fd, and an accept after that may get the same number, which must not
 * then be matched against an entry of v that meant the old one.
 */
void zf_http_handle(struct zf_http_server *srv, const struct pollfd *v, size_t n, int64_t now_ms)
{
	bool listener_ready = false;

	for (size_t k = 0; k < n; k++) {
		ssize_t i;
		if (!v[k].revents)
			continue;
		if (v[k].fd == srv->listen_fd) {
			listener_ready = true;
			continue;
		}
		i = find_conn(srv, v[k].fd);
		if (i < 0)
			continue;
		if ((v[k].revents & POLLNVAL) || conn_step(srv, srv->conns[i], now_ms) < 0)
			conn_drop(srv, (size_t)i);
	}
	for (size_t i = srv->nconns; i-- > 0;)
		if (srv->conns[i]->deadline <= now_ms)
			conn_drop(srv, i);
	if (listener_ready)
		accept_some(srv, now_ms);
}

/* ---- the listening socket ---- */

/* Splits "ADDR:PORT", "[V6]:PORT", ":PORT" into host (NULL: any) and port. */
static int split_addr(const char *addr, char **ret_host, uint16_t *ret_port, struct zf_err *err)
{
	const char *colon, *hs = addr, *he;
	uint16_t port;

	if (addr[0] == '[') {
		he = strchr(addr, ']');
		if (!he || he[1] != ':')
			return zf_err_set(err, -EINVAL,
					  "listen address '%s': expected [V6ADDR]:PORT", addr);
		hs = addr + 1;
		colon = he + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
			return zf_err_set(err, -EINVAL, "listen address '%s': expected ADDR:PORT, "
					  "[V6ADDR]:PORT or :PORT", addr);
		he = colon;
	}
	if (zf_parse_port(colon + 1, strlen(colon + 1), &port) < 0)
		return zf_err_set(err, -EINVAL, "listen address '%s': bad port", addr);
	*ret_host = he > hs ? zf_xstrndup(hs, (size_t)(he - hs)) : NULL;
	*ret_port = port;
	return 0;
}

/* A bound, listening, non-blocking socket for family at sa; -errno. */
static int listen_on(const struct sockaddr *sa, socklen_t len, bool dual_stack)
{
	_cleanup_close_ int fd = -EBADF;
	int on = 1, off = 0;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (dual_stack)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, sa, len) < 0 || listen(fd, 64) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int zf_http_listen(const char *addr, struct zf_err *err)
{
	_cleanup_free_ char *host = NULL;
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	uint16_t port;
	int r;

	r = split_addr(addr, &host, &port, err);
	if (r < 0)
		return r;
	a6.sin6_port = a4.sin_port = htons(port);
	if (host && streq(host, "localhost"))
		r = inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr) == 1 ?
			listen_on((struct sockaddr *)&a4, sizeof(a4), false) : -EINVAL;
	else if (host && inet_pton(AF_INET, host, &a4.sin_addr) == 1)
		r = listen_on((struct sockaddr *)&a4, sizeof(a4), false);
	else if (host && inet_pton(AF_INET6, host, &a6.sin6_addr) == 1)
		r = listen_on((struct sockaddr *)&a6, sizeof(a6), false);
	else if (host)
		return zf_err_set(err, -EINVAL,
				  "listen address '%s': '%s' is not a numeric address", addr, host);
	else {
		a6.sin6_addr = in6addr_any;
		r = listen_on((struct sockaddr *)&a6, sizeof(a6), true);
		if (r == -EAFNOSUPPORT) /* a host without IPv6 */
			r = listen_on((struct sockaddr *)&a4, sizeof(a4), false);
	}
	if (r < 0)
		return zf_err_set(err, r, "cannot listen on '%s': %s", addr, strerror(-r));
	return r;
}

int zf_http_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -EAFNOSUPPORT;
}
