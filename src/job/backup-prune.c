/* src/job/backup-prune.c — backup prune: list the catalogue, decide (plan/), unlink entries */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "job/backup-prune.h"
#include "log/log.h"
#include "plan/retention.h"
#include "util/alloc.h"
#include "util/atomic-file.h"
#include "util/err.h"
#include "util/banned.h"

const char *zf_backup_keep_str(unsigned bit)
{
	switch (bit) {
	case ZF_BACKUP_KEEP_NEWEST:
		return "newest";
	case ZF_BACKUP_KEEP_BASE:
		return "base";
	case ZF_BACKUP_KEEP_SESSION:
		return "session";
	case ZF_BACKUP_KEEP_UNSELECTED:
		return "unselected";
	}
	return "?";
}

void zf_backup_prune_result_release(struct zf_backup_prune_result *r)
{
	zf_catalogue_list_release(&r->list);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- decide ---------------------------------------------------------------- */

struct by_guid {
	uint64_t guid;
	size_t i;
};

static int by_guid_cmp(const void *a, const void *b)
{
	const struct by_guid *x = a, *y = b;

	if (x->guid != y->guid)
		return x->guid < y->guid ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static bool protected_guid(const struct zf_backup_prune_opts *o, uint64_t guid)
{
	for (size_t k = 0; k < o->n_protect; k++)
		if (o->protect_guids[k] == guid)
			return true;
	return false;
}

/*
 * The versions the rules see: one per distinct snapshot guid of the
 * entries [start, end) (one dataset), so a snapshot backed up from two
 * bases counts once for last_n and grids.  ret_ver[i - start] is entry
 * i's version; returns how many versions.
 */
static size_t versions(const struct zf_catalogue_list *l, size_t start, size_t end,
		       struct zf_retention_version *ret_v, size_t *ret_ver)
{
	size_t n = end - start, nv = 0;
	_cleanup_free_ struct by_guid *g = zf_xcalloc(n ? n : 1, sizeof(*g));

	for (size_t i = start; i < end; i++)
		g[i - start] = (struct by_guid){ l->v[i].guid, i };
	qsort(g, n, sizeof(*g), by_guid_cmp);
	for (size_t k = 0; k < n; k++) {
		const struct zf_catalogue_entry *e = &l->v[g[k].i];

		/* the first entry of a guid speaks for its snapshot (they agree unless forged) */
		if (k == 0 || g[k].guid != g[k - 1].guid)
			ret_v[nv++] = (struct zf_retention_version){
				.name = e->snapshot,
				.guid = e->guid,
				.createtxg = e->createtxg,
				.creation = e->snapshot_time,
			};
		ret_ver[g[k].i - start] = nv - 1;
	}
	return nv;
}

/* The rules' verdict on one dataset's entries [start, end), and what else keeps them. */
static int decide_dataset(const struct zf_backup_prune_opts *o, struct zf_backup_prune_result *res,
			  size_t start, size_t end, bool *keep, struct zf_err *err)
{
	const struct zf_catalogue_list *l = &res->list;
	size_t n = end - start, nv;
	_cleanup_free_ struct zf_retention_version *v = zf_xcalloc(n, sizeof(*v));
	_cleanup_free_ struct zf_retention_verdict *verdict = zf_xcalloc(n, sizeof(*verdict));
	_cleanup_free_ size_t *ver = zf_xcalloc(n, sizeof(*ver));
	uint64_t newest = 0;
	int r;

	nv = versions(l, start, end, v, ver);
	r = zf_retention_evaluate(o->policy, v, nv, NULL, verdict, err);
	if (r < 0)
		return zf_err_prefix(err, "cannot decide on the backups of '%s'",
				     l->v[start].dataset);
	for (size_t i = start; i < end; i++)
		newest = MAX(newest, l->v[i].createtxg);
	for (size_t i = start; i < end; i++) {
		const struct zf_retention_verdict *d = &verdict[ver[i - start]];
		struct zf_backup_prune_item *it = &res->v[i];

		it->rules = d->rules;
		/* by createtxg, and the rules' own newest too: either is reason enough */
		if (l->v[i].createtxg == newest || (d->protect & ZF_RETENTION_NEWEST))
			it->keep |= ZF_BACKUP_KEEP_NEWEST;
		if (d->protect & ZF_RETENTION_FOREIGN)
			it->keep |= ZF_BACKUP_KEEP_UNSELECTED;
		if (protected_guid(o, l->v[i].guid))
			it->keep |= ZF_BACKUP_KEEP_SESSION;
		keep[i] = it->rules || it->keep;
	}
	return 0;
}

/* Every entry's verdict, then the bases the kept ones need; fills res->v. */
static int decide(const struct zf_backup_prune_opts *o, struct zf_backup_prune_result *res,
		  struct zf_err *err)
{
	const struct zf_catalogue_list *l = &res->list;
	_cleanup_free_ bool *keep = zf_xcalloc(l->n ? l->n : 1, sizeof(bool));
	_cleanup_free_ bool *needed = zf_xcalloc(l->n ? l->n : 1, sizeof(bool));
	int r;

	/* the list is sorted by dataset: each run of one dataset is decided alone */
	for (size_t start = 0, end; start < l->n; start = end) {
		for (end = start + 1; end < l->n && streq(l->v[end].dataset, l->v[start].dataset);
		     end++)
			;
		r = decide_dataset(o, res, start, end, keep, err);
		if (r < 0)
			return r;
	}
	res->nbroken = zf_catalogue_needed(l, keep, needed);
	for (size_t i = 0; i < l->n; i++) {
		if (needed[i] && !keep[i])
			res->v[i].keep |= ZF_BACKUP_KEEP_BASE;
		res->v[i].remove = !needed[i];
		res->nremove += !needed[i];
	}
	return 0;
}

/* ---- act ------------------------------------------------------------------- */

/*
 * Unlinks the entries to remove of one dataset [start, end), newest first:
 * an incremental goes before its base, so a prune cut short never leaves an
 * entry whose base it removed.  One fsync of the directory makes them all
 * durable.  Returns the first failure's code, having tried every entry.
 */
static int remove_dataset(const char *store_dir, struct zf_backup_prune_result *res,
			  size_t start, size_t end, struct zf_err *err)
{
	_cleanup_free_ char *last = NULL;
	int ret = 0, r;

	for (size_t i = end; i-- > start;) {
		struct zf_backup_prune_item *it = &res->v[i];
		_cleanup_free_ char *rel = NULL, *path = NULL;

		if (!it->remove)
			continue;
		rel = zf_catalogue_entry_relpath(&res->list.v[i]);
		path = zf_xasprintf("%s/%s", store_dir, rel);
		if (unlink(path) < 0) {
			if (errno == ENOENT) {
				/* another prune got there first: the outcome we wanted */
				it->vanished = true;
				continue;
			}
			r = zf_err_set(err, -errno, "cannot remove catalogue entry '%s': %m", path);
			it->failed = true;
			res->nfailed++;
			ret = ret < 0 ? ret : r;
			continue;
		}
		log_debug("backup prune: removed '%s'", rel);
		it->removed = true;
		res->nremoved++;
		free(last);
		last = TAKE_PTR(path);
	}
	if (last) {
		r = zf_sync_parent_dir(last, err);
		ret = ret < 0 ? ret : r;
	}
	return ret;
}

static int act(const char *store_dir, struct zf_backup_prune_result *res, struct zf_err *err)
{
	const struct zf_catalogue_list *l = &res->list;
	int ret = 0, r;

	for (size_t start = 0, end; start < l->n; start = end) {
		for (end = start + 1; end < l->n && streq(l->v[end].dataset, l->v[start].dataset);
		     end++)
			;
		r = remove_dataset(store_dir, res, start, end, err);
		ret = ret < 0 ? ret : r;
	}
	return ret;
}

int zf_backup_prune(const char *store_dir, const struct zf_backup_prune_opts *o,
		    struct zf_backup_prune_result *ret, struct zf_err *err)
{
	_cleanup_(zf_backup_prune_result_releasep) struct zf_backup_prune_result res = { 0 };
	int r;

	r = zf_catalogue_list(store_dir, o->dataset, &res.list, err);
	if (r < 0)
		return r;
	res.v = zf_xcalloc(res.list.n ? res.list.n : 1, sizeof(*res.v));
	r = decide(o, &res, err);
	if (r < 0)
		return r;
	r = o->dry_run ? 0 : act(store_dir, &res, err);
	*ret = res;
	memset(&res, 0, sizeof(res));
	return r;
}
