/* src/daemon/control.h — the daemon's control socket: status, wakeup, reset; and its client */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

struct pollfd;
struct zf_buf;
struct zf_err;

/*
 * A unix stream socket (default /run/zferry/control).  A request is one
 * line, the answer one JSON document, then the daemon closes:
 *
 *   status            the state (daemon/state.h zf_dstate_json())
 *   wakeup JOB        {"ok":true} or {"error":"..."}
 *   reset JOB         the same
 *
 * Only root and the daemon's own user may connect (SO_PEERCRED; the socket
 * is also 0600 in a 0700 directory).  Each connection has 5 s to send its
 * line (at most 1 KiB) and read the answer; whatever is slower is dropped.
 * The daemon answers from memory, so an answer never waits for zfs.
 */
#define ZF_CONTROL_MAX_CONNS 16
#define ZF_CONTROL_DEADLINE_MS 5000
#define ZF_CONTROL_LINE_MAX 1024

/* Fills out with the answer to line (without its newline). */
typedef void (*zf_control_fn)(void *userdata, const char *line, struct zf_buf *out);

struct zf_control;
/*
 * Binds path: creates its directory (0700) if missing, replaces a stale
 * socket no daemon answers on, refuses one that answers (-EADDRINUSE:
 * another daemon runs).
 */
_must_check_ int zf_control_new(const char *path, zf_control_fn fn, void *userdata,
				struct zf_control **ret, struct zf_err *err);
struct zf_control *zf_control_free(struct zf_control *c);      /* unlinks the socket */
/* The descriptors to poll (at most 1 + ZF_CONTROL_MAX_CONNS), and how long until a deadline. */
size_t zf_control_pollfds(struct zf_control *c, struct pollfd *v, size_t max);
int zf_control_timeout_ms(const struct zf_control *c, int64_t now_ms);
/* Handles what poll() said about the descriptors zf_control_pollfds() gave (same order). */
void zf_control_handle(struct zf_control *c, const struct pollfd *v, size_t n, int64_t now_ms);

/* The client: sends line to the daemon at path and reads its whole answer into ret. */
_must_check_ int zf_control_request(const char *path, const char *line, int timeout_ms,
				    struct zf_buf *ret, struct zf_err *err);
