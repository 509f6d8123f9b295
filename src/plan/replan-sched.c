/* src/plan/replan-sched.c — hands out a plan's items parents first, siblings in parallel */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include "util/alloc.h"
#include "plan/replan.h"
#include "util/banned.h"

/*
 * Children are kept in one array, grouped per parent (first[i]..first[i+1]),
 * and runnable items in a FIFO, so each call is O(1) amortised and a
 * failure touches only the subtree it skips: a pool with thousands of
 * filesystems does not make the engine's lock hot.
 */
struct zf_replan_sched {
	const struct zf_replan *p;
	enum zf_replan_state *state;
	char **reason;
	size_t *first;          /* n_items + 1 offsets into children */
	size_t *children;
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
	s->first = zf_xcalloc(n + 1, sizeof(*s->first));
	s->children = zf_xcalloc(n + 1, sizeof(*s->children));
	s->queue = zf_xcalloc(n + 1, sizeof(*s->queue));

	for (size_t i = 0; i < n; i++)
		if (p->items[i].parent >= 0)
			s->first[p->items[i].parent + 1]++;
	for (size_t i = 0; i < n; i++)
		s->first[i + 1] += s->first[i];
	for (size_t i = 0; i < n; i++) {
		ssize_t par = p->items[i].parent;

		if (par < 0)
			s->queue[s->tail++] = i;
		else
			s->children[s->first[par] + fill[par]++] = i;
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

static void skip(struct zf_replan_sched *s, size_t i, const char *failed)
{
	s->state[i] = ZF_REPLAN_SKIPPED;
	s->reason[i] = zf_xasprintf("parent '%s' failed", failed);
	for (size_t k = s->first[i]; k < s->first[i + 1]; k++)
		skip(s, s->children[k], failed);
}

void zf_replan_sched_done(struct zf_replan_sched *s, size_t i, bool ok)
{
	const struct zf_replan_item *it = &s->p->items[i];
	bool skip_children = !ok && it->children_need;

	assert(i < s->p->n_items && s->state[i] == ZF_REPLAN_RUNNING);
	s->state[i] = ok ? ZF_REPLAN_DONE : ZF_REPLAN_FAILED;
	s->running--;
	for (size_t k = s->first[i]; k < s->first[i + 1]; k++) {
		if (skip_children)
			skip(s, s->children[k], it->display);
		else
			s->queue[s->tail++] = s->children[k];
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
	free(s->first);
	free(s->children);
	free(s->queue);
	free(s);
	return NULL;
}
