/* src/plan/replication-sched.c — hands out a plan's items parents first, siblings in parallel */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include "util/alloc.h"
#include "plan/replication.h"
#include "util/banned.h"

/*
 * An item waits for its parent and, when set, for `after` (a clone's
 * origin).  Those are the only edges, kept in one array grouped per item
 * they leave (first[i]..first[i+1]), and runnable items wait in a FIFO, so
 * each call is O(1) amortised and a failure touches only what it skips: a
 * pool with thousands of filesystems does not make the engine's lock hot.
 */
struct edge {
	size_t to;
	bool origin;            /* an `after` edge, not a parent's */
};

struct zf_replan_sched {
	const struct zf_replan *p;
	enum zf_replan_state *state;
	char **reason;
	unsigned *waiting;      /* unfinished items each one waits for */
	size_t *first;          /* n_items + 1 offsets into edges */
	struct edge *edges;
	size_t *queue;          /* each item enters at most once */
	size_t head, tail;
	size_t running;
};

struct zf_replan_sched *zf_replan_sched_new(const struct zf_replan *p)
{
	struct zf_replan_sched *s = zf_xcalloc(1, sizeof(*s));
	size_t n = p->n_items;
	_cleanup_free_ size_t *fill = zf_xcalloc(n + 1, sizeof(*fill));

	s->p = p;
	s->state = zf_xcalloc(n + 1, sizeof(*s->state));
	s->reason = zf_xcalloc(n + 1, sizeof(*s->reason));
	s->waiting = zf_xcalloc(n + 1, sizeof(*s->waiting));
	s->first = zf_xcalloc(n + 1, sizeof(*s->first));
	s->edges = zf_xcalloc(2 * n + 1, sizeof(*s->edges));
	s->queue = zf_xcalloc(n + 1, sizeof(*s->queue));

	for (size_t i = 0; i < n; i++) {
		const struct zf_replan_item *it = &p->items[i];
		if (it->parent >= 0)
			s->first[it->parent + 1]++;
		if (it->after >= 0 && it->after != it->parent)
			s->first[it->after + 1]++;
	}
	for (size_t i = 0; i < n; i++)
		s->first[i + 1] += s->first[i];
	for (size_t i = 0; i < n; i++) {
		const struct zf_replan_item *it = &p->items[i];

		if (it->parent >= 0) {
			s->edges[s->first[it->parent] + fill[it->parent]++] = (struct edge){ i, false };
			s->waiting[i]++;
		}
		if (it->after >= 0 && it->after != it->parent) {
			s->edges[s->first[it->after] + fill[it->after]++] = (struct edge){ i, true };
			s->waiting[i]++;
		}
		if (!s->waiting[i])
			s->queue[s->tail++] = i;
	}
	return s;
}

int zf_replan_sched_next(struct zf_replan_sched *s, size_t *ret_index)
{
	if (s->head < s->tail) {
		size_t i = s->queue[s->head++];

		s->state[i] = ZF_REPLAN_RUNNING;
		s->running++;
		*ret_index = i;
		return 1;
	}
	return s->running ? -EAGAIN : 0;
}

/* Skips i and, since it never ran, everything that waits for it. */
static void skip(struct zf_replan_sched *s, size_t i, const char *why, const char *failed)
{
	if (s->state[i] == ZF_REPLAN_SKIPPED)
		return;
	s->state[i] = ZF_REPLAN_SKIPPED;
	s->reason[i] = zf_xasprintf("%s '%s' failed", why, failed);
	for (size_t k = s->first[i]; k < s->first[i + 1]; k++)
		skip(s, s->edges[k].to, s->edges[k].origin ? "origin" : "parent", failed);
}

void zf_replan_sched_done(struct zf_replan_sched *s, size_t i, bool ok)
{
	const struct zf_replan_item *it = &s->p->items[i];

	assert(i < s->p->n_items && s->state[i] == ZF_REPLAN_RUNNING);
	s->state[i] = ok ? ZF_REPLAN_DONE : ZF_REPLAN_FAILED;
	s->running--;
	for (size_t k = s->first[i]; k < s->first[i + 1]; k++) {
		const struct edge *e = &s->edges[k];

		if (s->state[e->to] == ZF_REPLAN_SKIPPED)
			continue;
		/*
		 * A failed parent holds its children back only when their
		 * targets need it (children_need); a clone always needs its
		 * origin's snapshot on the target.
		 */
		if (!ok && (e->origin || it->children_need)) {
			skip(s, e->to, e->origin ? "origin" : "parent", it->display);
			continue;
		}
		if (--s->waiting[e->to] == 0)
			s->queue[s->tail++] = e->to;
	}
}

enum zf_replan_state zf_replan_sched_state(const struct zf_replan_sched *s, size_t i)
{
	return s->state[i];
}

const char *zf_replan_sched_reason(const struct zf_replan_sched *s, size_t i)
{
	return s->reason[i];
}

struct zf_replan_sched *zf_replan_sched_free(struct zf_replan_sched *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->p->n_items; i++)
		free(s->reason[i]);
	free(s->reason);
	free(s->state);
	free(s->waiting);
	free(s->first);
	free(s->edges);
	free(s->queue);
	free(s);
	return NULL;
}
