/* src/chunk/verify-prune.c — verify, prune and statistics of stores and indexes */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "chunk/idmap.h"
#include "chunk/index.h"
#include "chunk/store-ops.h"
#include "chunk/workq.h"
#include "chunk/store.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/banned.h"

struct id_list {
	struct zf_chunk_id *v;
	size_t n, alloc;
};

static int collect(const struct zf_chunk_id *id, uint64_t size, void *userdata)
{
	struct id_list *l = userdata;

	(void)size;
	ZF_ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = *id;
	return 0;
}

static void verify_job(struct zf_workq_job *j, struct zf_workq_worker *w, void *userdata)
{
	struct zf_store *s = userdata;

	j->r = zf_store_get(s, w->ctx, &j->id, ZF_CHUNK_SIZE_LIMIT_MAX, &w->scratch, &j->err);
	if (j->r == -ENOENT)
		j->r = 0;       /* removed meanwhile (a prune): not damage */
}

static int verify_oldest(struct zf_workq *pool, struct zf_store *store, bool repair,
			 zf_verify_report_fn report, void *userdata, struct zf_verify_stats *st,
			 int r, struct zf_err *err)
{
	struct zf_workq_job *j = zf_workq_wait_oldest(pool);

	st->chunks++;
	if (j->r == -ZF_E_CORRUPT || j->r == -EBADMSG) {
		bool removed = false;
		st->damaged++;
		if (repair && r >= 0) {
			r = zf_store_remove(store, &j->id, err);
			removed = r >= 0;
			st->removed += removed;
		}
		if (report)
			report(&j->id, zf_err_msg(&j->err), removed, userdata);
	} else if (j->r < 0 && r >= 0) {
		r = zf_err_copy(err, j->r, &j->err);
	}
	zf_workq_release(pool);
	return r;
}

int zf_chunk_verify(struct zf_store *store, unsigned jobs, bool repair,
		    zf_verify_report_fn report, void *userdata, struct zf_verify_stats *ret,
		    struct zf_err *err)
{
	_cleanup_(zf_workq_freep) struct zf_workq *pool = NULL;
	_cleanup_free_ struct zf_chunk_id *ids = NULL;
	struct id_list l = { 0 };
	struct zf_verify_stats st = { 0 };
	unsigned workers = jobs ? jobs : ZF_JOBS_DEFAULT();
	int r;

	r = zf_store_walk(store, collect, &l, err);
	ids = l.v;
	if (r < 0)
		return r;
	pool = zf_workq_new(workers, workers * 4, verify_job, store);
	for (size_t i = 0; i < l.n; i++) {
		struct zf_workq_job *j;
		while (!(j = zf_workq_slot(pool)))
			r = verify_oldest(pool, store, repair, report, userdata, &st, r, err);
		j->id = ids[i];
		zf_workq_submit(pool);
	}
	while (zf_workq_wait_oldest(pool))
		r = verify_oldest(pool, store, repair, report, userdata, &st, r, err);
	if (r < 0)
		return r;
	if (ret)
		*ret = st;
	return 0;
}

static int read_ids(const char *path, struct zf_idmap *set, struct zf_index_stats *st,
		    struct zf_err *err)
{
	_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
	int r;

	r = zf_index_open_read(path, &idx, err);
	if (r < 0)
		return r;
	if (st) {
		const struct zf_index_info *info = zf_index_info(idx);
		st->min = info->min;
		st->avg = info->avg;
		st->max = info->max;
	}
	for (;;) {
		struct zf_chunk_id id;
		uint64_t off, size;

		r = zf_index_next(idx, &id, &off, &size, err);
		if (r <= 0)
			return r;
		struct zf_idmap_value v = { off, (uint32_t)size, 0 };
		int added = zf_idmap_add(set, &id, &v);
		if (st) {
			st->size += size;
			st->chunks++;
			if (added) {
				st->unique++;
				st->unique_bytes += size;
			}
		}
	}
}

struct prune_walk {
	struct zf_store *store;
	const struct zf_idmap *keep;
	bool dry_run;
	zf_prune_report_fn report;
	void *userdata;
	struct zf_prune_stats st;
	struct zf_err *err;
};

static int prune_one(const struct zf_chunk_id *id, uint64_t size, void *userdata)
{
	struct prune_walk *p = userdata;
	int r;

	if (zf_idmap_get(p->keep, id)) {
		p->st.kept++;
		return 0;
	}
	if (!p->dry_run) {
		r = zf_store_remove(p->store, id, p->err);
		if (r < 0)
			return r;
	}
	p->st.removed++;
	p->st.removed_bytes += size;
	if (p->report)
		p->report(id, size, p->userdata);
	return 0;
}

int zf_chunk_prune(struct zf_store *store, const char *const *indexes, size_t n, bool dry_run,
		   zf_prune_report_fn report, void *userdata, struct zf_prune_stats *ret,
		   struct zf_err *err)
{
	_cleanup_(zf_idmap_releasep) struct zf_idmap keep = ZF_IDMAP_INIT;
	struct prune_walk p = { store, &keep, dry_run, report, userdata, { 0 }, err };
	int r;

	/* every index must read completely before anything is removed */
	for (size_t i = 0; i < n; i++) {
		r = read_ids(indexes[i], &keep, NULL, err);
		if (r < 0)
			return r;
	}
	r = zf_store_walk(store, prune_one, &p, err);
	if (r < 0)
		return r;
	if (ret)
		*ret = p.st;
	return 0;
}

int zf_chunk_index_stats(const char *index_path, struct zf_store *store,
			 struct zf_index_stats *ret, struct zf_err *err)
{
	_cleanup_(zf_idmap_releasep) struct zf_idmap ids = ZF_IDMAP_INIT;
	struct zf_index_stats st = { 0 };
	int r;

	r = read_ids(index_path, &ids, &st, err);
	if (r < 0)
		return r;
	for (size_t i = 0; store && i < ids.cap; i++) {
		uint64_t size = 0;

		if (!ids.used[i])
			continue;
		r = zf_store_has_readable(store, &ids.keys[i], &size, err);
		if (r < 0)
			return r;
		if (r == 0)
			st.missing++;
		else
			st.stored_bytes += size;
	}
	*ret = st;
	return 0;
}
