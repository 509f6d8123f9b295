/*
 * src/server/conntab.h — the table `serve --listen` keeps of its connections:
 * which are authenticated, which must go, when the next handshake runs out
 *
 * Pure bookkeeping, so that a table test can check every decision: no
 * clock (times come in as milliseconds of a monotonic clock), no signals,
 * no I/O.  The accept loop adds a connection for each child it forks, marks
 * it authenticated when the child says so, asks for victims after every
 * change and whenever a deadline passes, and removes it once reaped.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/macro.h"

#define ZF_CONNTAB_MAX_SOURCE 64        /* an IPv4 address, or an IPv6 /64 */
#define ZF_CONNTAB_MAX_PEER 256

struct zf_conntab_limits {
	unsigned connections;           /* at once, authenticated or not */
	unsigned unauthenticated;       /* of them, not authenticated yet */
	unsigned per_source;            /* of those, from one source */
	int64_t handshake_ms;           /* from accept until authenticated */
};

enum zf_conn_state {
	ZF_CONN_UNAUTHENTICATED,        /* accepted, handshake running */
	ZF_CONN_AUTHENTICATED,          /* never chosen as a victim */
	ZF_CONN_DYING,                  /* chosen; counts for no limit until removed */
};

/* Why a connection was chosen to go. */
enum zf_conn_why {
	ZF_CONN_OUT_OF_TIME,            /* handshake longer than handshake_ms */
	ZF_CONN_SOURCE_FULL,            /* its source over per_source */
	ZF_CONN_UNAUTH_FULL,            /* over `unauthenticated` */
	ZF_CONN_ALL_FULL,               /* over `connections` */
};

struct zf_conn {
	pid_t pid;
	enum zf_conn_state state;
	enum zf_conn_why why;           /* when DYING */
	int fd;                         /* the caller's, carried along (-1: none) */
	uint64_t seq;                   /* order of arrival: the oldest is the lowest */
	int64_t since_ms;               /* when it was added */
	char source[ZF_CONNTAB_MAX_SOURCE];
	char peer[ZF_CONNTAB_MAX_PEER];
};

struct zf_conntab {
	struct zf_conntab_limits lim;
	struct zf_conn *v;
	size_t n, alloc;
	uint64_t next_seq;
};

void zf_conntab_init(struct zf_conntab *t, const struct zf_conntab_limits *lim);
void zf_conntab_release(struct zf_conntab *t);

size_t zf_conntab_count(const struct zf_conntab *t, enum zf_conn_state state);
/*
 * Whether to accept one more connection: while fewer than `connections`
 * are authenticated (unauthenticated ones make room by going), and fewer
 * than `unauthenticated` chosen ones have not been removed yet (they
 * still hold a process each; it is gone in a moment).
 */
bool zf_conntab_can_accept(const struct zf_conntab *t);

/*
 * Adds an unauthenticated connection, named peer ("tcp:192.0.2.7:4711",
 * "tcp:[2001:db8::1]:22") and counted for its zf_conntab_source().  The
 * pointer it returns, like every one into the table, is valid until the
 * next add or remove.
 */
struct zf_conn *zf_conntab_add(struct zf_conntab *t, pid_t pid, int fd, const char *peer,
			       int64_t now_ms);
struct zf_conn *zf_conntab_find(struct zf_conntab *t, pid_t pid);
void zf_conntab_remove(struct zf_conntab *t, struct zf_conn *c);

/*
 * The next connection that must go, already marked DYING with its reason
 * in why, or NULL when the table keeps its limits.  In this order: the
 * oldest handshake past handshake_ms; the oldest unauthenticated
 * connection of a source holding more than per_source; the oldest
 * unauthenticated connection while there are more than `unauthenticated`
 * of them, or more than `connections` in all.  A newcomer thus pushes out
 * the oldest stranger, never itself, and never an authenticated client.
 */
struct zf_conn *zf_conntab_next_victim(struct zf_conntab *t, int64_t now_ms);

/* Milliseconds until the next handshake runs out (0: one has), -1 when none runs. */
int64_t zf_conntab_next_deadline(const struct zf_conntab *t, int64_t now_ms);

/*
 * The source a peer counts for: "tcp:192.0.2.7:4711" -> "192.0.2.7",
 * "tcp:[2001:db8:1:2:3::4]:22" -> "2001:db8:1:2::/64" (one host usually
 * holds a whole /64).  Anything else counts as itself.
 */
void zf_conntab_source(const char *peer, char *buf, size_t size);
