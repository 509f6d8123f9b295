/*
 * src/server/conntab.c — connection bookkeeping for `serve --listen`
 *
 * The table is small (a few dozen rows), so every question is a plain scan
 * in arrival order, and counting per source is a scan per row.  What it
 * protects: strangers that connect and trickle bytes can hold at most
 * `unauthenticated` processes, at most per_source of them from one
 * address, each for at most handshake_ms; a newcomer evicts the oldest
 * of them instead of waiting behind them, so a valid client gets its turn
 * during a flood, and authenticated clients are never pushed out.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "server/conntab.h"
#include "util/alloc.h"
#include "util/banned.h"

void zf_conntab_init(struct zf_conntab *t, const struct zf_conntab_limits *lim)
{
	*t = (struct zf_conntab){ .lim = *lim, .next_seq = 1 };
}

void zf_conntab_release(struct zf_conntab *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->alloc = 0;
}

size_t zf_conntab_count(const struct zf_conntab *t, enum zf_conn_state state)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++)
		k += t->v[i].state == state;
	return k;
}

bool zf_conntab_can_accept(const struct zf_conntab *t)
{
	return zf_conntab_count(t, ZF_CONN_AUTHENTICATED) < t->lim.connections &&
	       zf_conntab_count(t, ZF_CONN_DYING) < t->lim.unauthenticated;
}

struct zf_conn *zf_conntab_add(struct zf_conntab *t, pid_t pid, int fd, const char *peer,
			       int64_t now_ms)
{
	struct zf_conn *c;

	ZF_ALLOC_GROW(t->v, t->n + 1, t->alloc);
	c = &t->v[t->n++];
	*c = (struct zf_conn){ .pid = pid, .state = ZF_CONN_UNAUTHENTICATED, .fd = fd,
			       .seq = t->next_seq++, .since_ms = now_ms };
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	zf_conntab_source(peer, c->source, sizeof(c->source));
	return c;
}

struct zf_conn *zf_conntab_find(struct zf_conntab *t, pid_t pid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].pid == pid)
			return &t->v[i];
	return NULL;
}

void zf_conntab_remove(struct zf_conntab *t, struct zf_conn *c)
{
	*c = t->v[--t->n];
}

/* The oldest unauthenticated connection, of source when it is set. */
static struct zf_conn *oldest(struct zf_conntab *t, const char *source)
{
	struct zf_conn *best = NULL;

	for (size_t i = 0; i < t->n; i++) {
		struct zf_conn *c = &t->v[i];
		if (c->state != ZF_CONN_UNAUTHENTICATED || (source && !streq(c->source, source)))
			continue;
		if (!best || c->seq < best->seq)
			best = c;
	}
	return best;
}

static size_t count_source(const struct zf_conntab *t, const char *source)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++)
		k += t->v[i].state == ZF_CONN_UNAUTHENTICATED && streq(t->v[i].source, source);
	return k;
}

static struct zf_conn *choose(struct zf_conntab *t, int64_t now_ms, enum zf_conn_why *ret_why)
{
	size_t unauth = zf_conntab_count(t, ZF_CONN_UNAUTHENTICATED);
	struct zf_conn *c = oldest(t, NULL);

	if (!c)
		return NULL;
	if (now_ms - c->since_ms >= t->lim.handshake_ms) {
		*ret_why = ZF_CONN_OUT_OF_TIME;
		return c;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].state == ZF_CONN_UNAUTHENTICATED &&
		    count_source(t, t->v[i].source) > t->lim.per_source) {
			*ret_why = ZF_CONN_SOURCE_FULL;
			return oldest(t, t->v[i].source);
		}
	if (unauth > t->lim.unauthenticated) {
		*ret_why = ZF_CONN_UNAUTH_FULL;
		return c;
	}
	if (unauth + zf_conntab_count(t, ZF_CONN_AUTHENTICATED) > t->lim.connections) {
		*ret_why = ZF_CONN_ALL_FULL;
		return c;
	}
	return NULL;
}

struct zf_conn *zf_conntab_next_victim(struct zf_conntab *t, int64_t now_ms)
{
	enum zf_conn_why why;
	struct zf_conn *c = choose(t, now_ms, &why);

	if (c) {
		c->state = ZF_CONN_DYING;
		c->why = why;
	}
	return c;
}

int64_t zf_conntab_next_deadline(const struct zf_conntab *t, int64_t now_ms)
{
	int64_t next = -1;

	for (size_t i = 0; i < t->n; i++) {
		int64_t left;

		if (t->v[i].state != ZF_CONN_UNAUTHENTICATED)
			continue;
		left = MAX(t->v[i].since_ms + t->lim.handshake_ms - now_ms, 0);
		if (next < 0 || left < next)
			next = left;
	}
	return next;
}

void zf_conntab_source(const char *peer, char *buf, size_t size)
{
	const char *a = startswith(peer, "tcp:"), *colon = a ? strrchr(a, ':') : NULL;
	char addr[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	size_t len;

	snprintf(buf, size, "%s", peer);
	if (!colon || colon == a)
		return;
	len = (size_t)(colon - a);
	if (a[0] == '[' && len >= 2 && a[len - 1] == ']') {
		a++;
		len -= 2;
	}
	if (len >= sizeof(addr))
		return;
	memcpy(addr, a, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1) {
		snprintf(buf, size, "%s", addr);
		return;
	}
	if (inet_pton(AF_INET6, addr, bin) != 1)
		return;
	memset(bin + 8, 0, 8);
	if (inet_ntop(AF_INET6, bin, addr, sizeof(addr)))
		snprintf(buf, size, "%s/64", addr);
}
