/* src/job/prune.c — zferry prune: two listings, a pure decision, batched destroys */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "endpoint/endpoint.h"
#include "job/prune.h"
#include "log/log.h"
#include "util/alloc.h"
#include "util/err.h"
#include "zfs/zfs.h"
#include "util/banned.h"

/* Linux caps one argument at 128 KiB (MAX_ARG_STRLEN): stay well below. */
#define DESTROY_ARG_MAX 65536

void zf_prune_report_release(struct zf_prune_report *r)
{
	for (size_t i = 0; i < r->nfs; i++)
		free(r->fs[i]);
	free(r->fs);
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static int cmp_version(const void *a, const void *b)
{
	const struct zf_zfs_version *x = *(const struct zf_zfs_version *const *)a;
	const struct zf_zfs_version *y = *(const struct zf_zfs_version *const *)b;
	int c = strcmp(x->fs, y->fs);

	if (c)
		return c;
	if (x->createtxg != y->createtxg)
		return x->createtxg < y->createtxg ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Destroys items [from, to) of the report that are marked destroy, in batches. */
static int destroy_fs(const struct zf_prune_opts *o, const char *fs, struct zf_prune_item *items,
		      size_t nitems, struct zf_prune_report *rep, struct zf_err *err)
{
	_cleanup_free_ const char **names = zf_xcalloc(nitems ? nitems : 1, sizeof(char *));
	_cleanup_free_ size_t *which = zf_xcalloc(nitems ? nitems : 1, sizeof(size_t));
	int first = 0;
	size_t i = 0;

	while (i < nitems) {
		size_t nb = 0, bytes = strlen(fs);
		struct zf_err e = ZF_ERR_INIT;
		int r;

		for (; i < nitems; i++) {
			size_t len;
			if (!items[i].verdict.destroy)
				continue;
			len = strlen(items[i].name) + 1;
			if (nb > 0 && (bytes + len > DESTROY_ARG_MAX ||
				       (o->batch_max && nb >= o->batch_max)))
				break;
			names[nb] = items[i].name;
			which[nb++] = i;
			bytes += len;
		}
		if (nb == 0)
			break;
		log_debug("destroying %zu snapshots of '%s'", nb, fs);
		r = o->ep ? o->ep->ops->destroy_snapshots(o->ep, fs, names, nb, &e)
			  : zf_zfs_destroy_snapshots(fs, names, nb, &e);
		for (size_t k = 0; k < nb; k++) {
			items[which[k]].destroyed = r >= 0;
			items[which[k]].failed = r < 0;
		}
		if (r < 0) {
			rep->nfailed += nb;
			log_debug("cannot destroy %zu snapshots of '%s': %s", nb, fs, e.msg);
			if (!first) {
				first = r;
				zf_err_set(err, r, "cannot destroy snapshots of '%s': %s", fs, e.msg);
			}
		}
	}
	return first;
}

static void fs_list_releasep(struct zf_zfs_fs_list *l)
{
	zf_zfs_fs_list_release(l);
}

static void version_list_releasep(struct zf_zfs_version_list *l)
{
	zf_zfs_version_list_release(l);
}

/* The filesystems to prune, each once, in zfs's order: into rep->fs. */
static int list_filesystems(const struct zf_prune_opts *o, struct zf_prune_report *rep,
			    struct zf_err *err)
{
	_cleanup_(fs_list_releasep) struct zf_zfs_fs_list fs = { 0 };
	struct zf_zfs_list_opts lo = { .recursive = o->recursive };
	int r;

	r = zf_zfs_list_fs(o->filesystems, o->n, &lo, &fs, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < fs.n; i++) {
		bool dup = false;
		for (size_t j = 0; j < rep->nfs && !dup; j++)
			dup = streq(rep->fs[j], fs.v[i].name);
		if (dup)
			continue;
		ZF_ALLOC_GROW(rep->fs, rep->nfs + 1, rep->afs);
		rep->fs[rep->nfs++] = zf_xstrdup(fs.v[i].name);
	}
	return 0;
}

/*
 * The versions of filesystem name, from sorted (n of them, grouped by
 * filesystem, each group in createtxg order), as the retention policy
 * takes them: into in; returns how many.
 */
static size_t group_of(const struct zf_zfs_version *const *sorted, size_t n, const char *name,
		       struct zf_retention_version *in)
{
	size_t start, k;

	/* groups come in strcmp order, the fs table in zfs's: find this one's */
	for (start = 0; start < n && strcmp(sorted[start]->fs, name) < 0; start++)
		;
	for (k = start; k < n && streq(sorted[k]->fs, name); k++)
		in[k - start] = (struct zf_retention_version){
			.name = sorted[k]->name,
			.bookmark = sorted[k]->bookmark,
			.guid = sorted[k]->guid,
			.createtxg = sorted[k]->createtxg,
			.creation = sorted[k]->creation,
			.userrefs = sorted[k]->userrefs,
		};
	return k - start;
}

/* A report item for each of the n versions of name that is ours: not a bookmark, not foreign. */
static void report_items(struct zf_prune_report *rep, const char *name,
			 const struct zf_retention_version *in,
			 const struct zf_retention_verdict *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct zf_prune_item *it;
		unsigned p = out[i].protect;

		if (p & (ZF_RETENTION_BOOKMARK | ZF_RETENTION_FOREIGN))
			continue;
		ZF_ALLOC_GROW(rep->v, rep->n + 1, rep->alloc);
		it = &rep->v[rep->n++];
		*it = (struct zf_prune_item){
			.fs = name,
			.name = zf_xstrdup(in[i].name),
			.createtxg = in[i].createtxg,
			.creation = in[i].creation,
			.verdict = out[i],
		};
		rep->ndestroy += out[i].destroy;
		/* held and nothing else keeps it: worth telling */
		rep->nheld += !out[i].rules && (p & ZF_RETENTION_HELD) &&
			      !(p & ~(unsigned)ZF_RETENTION_HELD);
	}
}

static void ep_list_releasep(struct zf_ep_fs_list *l)
{
	zf_ep_fs_list_release(l);
}

/*
 * Through an endpoint: one list per root (filesystems with their versions);
 * the versions move into *vers, the names into rep->fs.
 */
static int list_endpoint(const struct zf_prune_opts *o, struct zf_prune_report *rep,
			 struct zf_zfs_version_list *vers, struct zf_err *err)
{
	for (size_t i = 0; i < o->n; i++) {
		_cleanup_(ep_list_releasep) struct zf_ep_fs_list l = { 0 };
		int r = o->ep->ops->list(o->ep, o->filesystems[i], o->recursive, NULL, NULL, &l,
					 err);
		if (r < 0)
			return r;
		for (size_t k = 0; k < l.n; k++) {
			bool dup = false;
			for (size_t j = 0; j < rep->nfs && !dup; j++)
				dup = streq(rep->fs[j], l.v[k].name);
			if (dup)
				continue;
			ZF_ALLOC_GROW(rep->fs, rep->nfs + 1, rep->afs);
			rep->fs[rep->nfs++] = zf_xstrdup(l.v[k].name);
			for (size_t v = 0; v < l.v[k].n_versions; v++) {
				struct zf_zfs_version *src = &l.v[k].versions[v];
				ZF_ALLOC_GROW(vers->v, vers->n + 1, vers->alloc);
				vers->v[vers->n++] = *src;
				*src = (struct zf_zfs_version){ 0 };
			}
		}
	}
	return 0;
}

int zf_prune_run(const struct zf_prune_opts *o, struct zf_prune_report *rep, struct zf_err *err)
{
	_cleanup_(version_list_releasep) struct zf_zfs_version_list vers = { 0 };
	_cleanup_free_ const struct zf_zfs_version **sorted = NULL;
	_cleanup_free_ struct zf_retention_version *in = NULL;
	_cleanup_free_ struct zf_retention_verdict *out = NULL;
	int r, first = 0;

	if (o->ep) {
		r = list_endpoint(o, rep, &vers, err);
	} else {
		r = list_filesystems(o, rep, err);
		if (r >= 0)
			r = zf_zfs_list_versions((const char *const *)rep->fs, rep->nfs, &vers,
						 err);
	}
	if (r < 0)
		return r;

	/* group by filesystem; each group in createtxg order */
	sorted = zf_xcalloc(vers.n ? vers.n : 1, sizeof(*sorted));
	in = zf_xcalloc(vers.n ? vers.n : 1, sizeof(*in));
	out = zf_xcalloc(vers.n ? vers.n : 1, sizeof(*out));
	for (size_t i = 0; i < vers.n; i++)
		sorted[i] = &vers.v[i];
	qsort(sorted, vers.n, sizeof(*sorted), cmp_version);

	for (size_t f = 0; f < rep->nfs; f++) {
		const char *name = rep->fs[f];
		size_t n, base = rep->n;

		n = group_of(sorted, vers.n, name, in);
		r = zf_retention_evaluate(o->policy, in, n, &o->ropts, out, err);
		if (r < 0) {
			zf_err_prefix(err, "'%s'", name);
			return r;
		}
		report_items(rep, name, in, out, n);
		if (!o->dry_run) {
			r = destroy_fs(o, name, rep->v + base, rep->n - base, rep, err);
			if (r < 0 && !first)
				first = r;
		}
	}
	return first;
}
