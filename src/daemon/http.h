/* src/daemon/http.h — a small non-blocking HTTP/1.x server driven by the daemon's poll() loop */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "util/buf.h"
#include "util/macro.h"

struct pollfd;
struct zf_err;

/*
 * For /metrics, the status page and /status.json: GET and HEAD only, one
 * request per connection (every response says Connection: close), no
 * request bodies.  Nothing here blocks: each call does what the poll
 * events allow and returns, and a peer that stalls is dropped at its
 * deadline, so a slow or hostile client costs the loop nothing but a slot.
 *
 * The loop, each turn:
 *
 *         n = zf_http_pollfds(srv, v, ZF_HTTP_MAX_POLLFDS);
 *         t = zf_http_timeout_ms(srv, zf_now_ms());      (fold into poll's timeout)
 *         poll(v, n + others, t);
 *         zf_http_handle(srv, v, n, zf_now_ms());
 */
#define ZF_HTTP_MAX_CONNS 32
#define ZF_HTTP_MAX_POLLFDS (ZF_HTTP_MAX_CONNS + 1)     /* the connections and the listener */
#define ZF_HTTP_MAX_HEAD 8192                           /* request line and headers, bytes */
#define ZF_HTTP_DEADLINE_MS 5000                        /* from accept to the last byte sent */

struct zf_http_request {
	const char *method;             /* "GET" or "HEAD" */
	const char *path;               /* up to any '?', not %-decoded; starts with '/' */
	const char *query;              /* after the '?', "" when none */
	int64_t now_ms;                 /* the now_ms given to zf_http_handle() */
};

struct zf_http_response {
	int status;                     /* 200 when the handler is called */
	const char *content_type;       /* a static string; NULL: plain UTF-8 text */
	struct zf_buf body;             /* for HEAD only its length is sent */
};

/*
 * Answers one request, in the loop: it must not block.  A status >= 400
 * with an empty body gets the status line's text as body.
 */
typedef void (*zf_http_handler_fn)(void *userdata, const struct zf_http_request *req,
				   struct zf_http_response *resp);

/*
 * A listening socket (non-blocking, close-on-exec) on "ADDR:PORT",
 * "[V6ADDR]:PORT" or ":PORT" (every address, IPv6 and IPv4 where the host
 * has both).  ADDR is numeric or "localhost": no name is looked up, since
 * a reload calls this from the loop.  PORT 0 picks a free one.  Returns
 * the fd or -errno with a one-line reason.
 */
_must_check_ int zf_http_listen(const char *addr, struct zf_err *err);
/* The port a socket is bound to, or -errno. */
_must_check_ int zf_http_local_port(int fd);

struct zf_http_server;

/* Serves listen_fd (owned from now on; -EBADF for none: connections come by zf_http_add_conn()). */
struct zf_http_server *zf_http_new(int listen_fd, zf_http_handler_fn fn, void *userdata);
/* Closes the listener and every connection; NULL-safe, returns NULL. */
struct zf_http_server *zf_http_free(struct zf_http_server *srv);
DEFINE_CLEANUP_FUNC(struct zf_http_server *, zf_http_free);
/*
 * Takes a connected socket as if accepted at now_ms (made non-blocking).
 * When every slot is taken, the connection that has waited longest for
 * its request is dropped to make room; if none is waiting, -EBUSY and fd
 * is closed.  0 otherwise.  zf_http_handle() accepts this way; tests and
 * other listeners may call it too.
 */
int zf_http_add_conn(struct zf_http_server *srv, int fd, int64_t now_ms);
/* Fills v (room for max; ZF_HTTP_MAX_POLLFDS is always enough): what to poll; the count. */
size_t zf_http_pollfds(const struct zf_http_server *srv, struct pollfd *v, size_t max);
/*
 * Acts on the revents of the n entries zf_http_pollfds() filled (others'
 * entries may follow in the array; only the first n are read), then drops
 * every connection past its deadline at now_ms (monotonic milliseconds).
 */
void zf_http_handle(struct zf_http_server *srv, const struct pollfd *v, size_t n, int64_t now_ms);
/* Milliseconds until the next deadline at now_ms (0 when one passed), -1 when there is none. */
int zf_http_timeout_ms(const struct zf_http_server *srv, int64_t now_ms);
/* Open connections, for tests and a metric. */
size_t zf_http_nconns(const struct zf_http_server *srv);

/*
 * Parses the n bytes of a request head at p, ending with its empty line
 * (modified: NULs are written into it); req's strings point into p.
 * Returns 0, or the status to answer: 400 malformed, 405 a method other
 * than GET/HEAD, 413 a request body, 505 an HTTP version not 1.x.
 * Exported for tests and the fuzzer.
 */
_must_check_ int zf_http_parse_head(char *p, size_t n, struct zf_http_request *req);
/* "OK", "Not Found"...: the reason phrase of a status zferry sends. */
const char *zf_http_status_text(int status);
