/* src/job/endpoint-local.c — the endpoint on this host, through the zfs layer */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "job/endpoint.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/proc.h"
#include "util/strv.h"
#include "zfs/zfs.h"
#include "util/banned.h"

void zf_ep_fs_list_release(struct zf_ep_fs_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].resume_token);
		free(l->v[i].sendflags);
	}
	free(l->v);
	zf_zfs_version_list_release(&l->versions);
	*l = (struct zf_ep_fs_list){ 0 };
}

static int cmp_version(const void *a, const void *b)
{
	const struct zf_zfs_version *x = a, *y = b;
	int c = strcmp(x->fs, y->fs);

	if (c)
		return c;
	if (x->createtxg != y->createtxg)
		return x->createtxg < y->createtxg ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * zfs sorts `list -s createtxg` across all datasets named: order by
 * (dataset, createtxg) and find each dataset's run by binary search.
 */
void zf_ep_fs_list_link(struct zf_ep_fs_list *l)
{
	struct zf_zfs_version_list *vl = &l->versions;

	for (size_t i = 0; vl->n == 0 && i < l->n; i++) {
		l->v[i].versions = NULL;        /* vl->v may be NULL: no pointer arithmetic */
		l->v[i].n_versions = 0;
	}
	if (vl->n == 0)
		return;
	qsort(vl->v, vl->n, sizeof(struct zf_zfs_version), cmp_version);
	for (size_t i = 0; i < l->n; i++) {
		struct zf_ep_fs *f = &l->v[i];
		size_t lo = 0, hi = vl->n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(vl->v[mid].fs, f->name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		f->versions = vl->v + lo;
		f->n_versions = 0;
		while (lo + f->n_versions < vl->n && streq(vl->v[lo + f->n_versions].fs, f->name))
			f->n_versions++;
		if (!f->n_versions)
			f->versions = NULL;
	}
}

static const char *const list_props[] = {
	"encryption", "receive_resume_token", "written", "zferry:placeholder", "zferry:sendflags",
};


static int local_list(struct zf_endpoint *ep, const char *root, bool recursive,
		      zf_zfs_filter_fn filter, void *userdata, struct zf_ep_fs_list *ret,
		      struct zf_err *err)
{
	struct zf_zfs_list_opts lo = { recursive, filter, userdata };
	struct zf_zfs_fs_list fs = { 0 };
	struct zf_zfs_prop_list props = { 0 };
	const char **names = NULL;
	int r;
	(void)ep;

	r = zf_zfs_list_fs(&root, 1, &lo, &fs, err);
	if (r < 0)
		return r;
	if (fs.n == 0) {
		zf_zfs_fs_list_release(&fs);
		return 0;
	}
	names = zf_xcalloc(fs.n, sizeof(char *));
	for (size_t i = 0; i < fs.n; i++)
		names[i] = fs.v[i].name;
	r = zf_zfs_list_versions(names, fs.n, &ret->versions, err);
	if (r >= 0)
		r = zf_zfs_get(names, fs.n, list_props, ELEMENTSOF(list_props), &props, err);
	free(names);
	if (r < 0) {
		zf_zfs_fs_list_release(&fs);
		zf_zfs_prop_list_release(&props);
		return r;
	}

	for (size_t i = 0; i < fs.n; i++) {
		struct zf_ep_fs f = { .name = TAKE_PTR(fs.v[i].name) };
		const char *v;

		v = zf_zfs_prop_find(&props, f.name, "encryption");
		f.encrypted = v && !streq(v, "off") && !streq(v, "-");
		v = zf_zfs_prop_find(&props, f.name, "receive_resume_token");
		if (v && *v && !streq(v, "-"))
			f.resume_token = zf_xstrdup(v);
		v = zf_zfs_prop_find(&props, f.name, "written");
		f.modified = v && !streq(v, "0") && !streq(v, "-");
		v = zf_zfs_prop_find(&props, f.name, "zferry:placeholder");
		f.placeholder = v && streq(v, "on");
		v = zf_zfs_prop_find(&props, f.name, "zferry:sendflags");
		if (v && !streq(v, "-"))
			f.sendflags = zf_xstrdup(v);
		ZF_ALLOC_GROW(ret->v, ret->n + 1, ret->alloc);
		ret->v[ret->n++] = f;
	}
	zf_ep_fs_list_link(ret);
	zf_zfs_fs_list_release(&fs);
	zf_zfs_prop_list_release(&props);
	return 0;
}

static int local_snapshot(struct zf_endpoint *ep, const char *const *fs, size_t n,
			  const char *name, struct zf_err *err)
{
	(void)ep;
	return zf_zfs_snapshot(fs, n, name, false, err);
}

static int local_hold(struct zf_endpoint *ep, const char *tag, const char *const *snaps,
		      size_t n, struct zf_err *err)
{
	(void)ep;
	return zf_zfs_hold(tag, snaps, n, err);
}

static int local_release(struct zf_endpoint *ep, const char *tag, const char *const *snaps,
			 size_t n, struct zf_err *err)
{
	(void)ep;
	return zf_zfs_release(tag, snaps, n, err);
}

static int local_holds(struct zf_endpoint *ep, const char *const *snaps, size_t n,
		       struct zf_zfs_hold_list *ret, struct zf_err *err)
{
	(void)ep;
	return zf_zfs_holds(snaps, n, ret, err);
}

static int local_bookmark(struct zf_endpoint *ep, const char *snapshot, const char *bookmark,
			  struct zf_err *err)
{
	(void)ep;
	return zf_zfs_bookmark(snapshot, bookmark, err);
}

static int local_destroy_bookmark(struct zf_endpoint *ep, const char *bookmark,
				  struct zf_err *err)
{
	(void)ep;
	return zf_zfs_destroy_bookmark(bookmark, err);
}

static int local_create(struct zf_endpoint *ep, const char *fs, const char *const *props,
			struct zf_err *err)
{
	struct zf_zfs_create_opts co = { false, props };
	(void)ep;
	return zf_zfs_create(fs, &co, err);
}

static int local_rename(struct zf_endpoint *ep, const char *from, const char *to,
			struct zf_err *err)
{
	(void)ep;
	return zf_zfs_rename(from, to, err);
}

static int local_inherit(struct zf_endpoint *ep, const char *fs, const char *prop,
			 struct zf_err *err)
{
	(void)ep;
	return zf_zfs_inherit(fs, prop, err);
}

static int local_recv_abort(struct zf_endpoint *ep, const char *fs, struct zf_err *err)
{
	(void)ep;
	return zf_zfs_recv_abort(fs, err);
}

static int local_resume_target(struct zf_endpoint *ep, const char *token, char **ret_snapshot,
			       struct zf_err *err)
{
	(void)ep;
	return zf_zfs_resume_token_target(token, ret_snapshot, err);
}

static int local_send_estimate(struct zf_endpoint *ep, const char *snapshot,
			       const struct zf_zfs_send_opts *opts, uint64_t *ret_bytes,
			       struct zf_err *err)
{
	(void)ep;
	return zf_zfs_send_estimate(snapshot, opts, ret_bytes, err);
}

static int stream_from_proc(struct zf_proc *p, bool sending, struct zf_ep_stream *ret)
{
	struct zf_proc *heap = zf_xmalloc(sizeof(*heap));

	*heap = *p;
	ret->fd = sending ? heap->out_fd : heap->in_fd;
	ret->priv = heap;
	return 0;
}

static int local_send_start(struct zf_endpoint *ep, const char *snapshot,
			    const struct zf_zfs_send_opts *opts, struct zf_ep_stream *ret,
			    struct zf_err *err)
{
	struct zf_proc p;
	int r;
	(void)ep;

	r = zf_zfs_send_start(snapshot, opts, &p, err);
	if (r < 0)
		return r;
	return stream_from_proc(&p, true, ret);
}

static int local_recv_start(struct zf_endpoint *ep, const char *target,
			    const struct zf_zfs_recv_opts *opts, struct zf_ep_stream *ret,
			    struct zf_err *err)
{
	struct zf_proc p;
	int r;
	(void)ep;

	r = zf_zfs_recv_start(target, opts, &p, err);
	if (r < 0)
		return r;
	return stream_from_proc(&p, false, ret);
}

static int local_stream_finish(struct zf_endpoint *ep, struct zf_ep_stream *s, const char *what,
			       struct zf_err *err)
{
	struct zf_proc *p = s->priv;
	int r;
	(void)ep;

	if (!p)
		return 0;
	r = zf_zfs_stream_finish(p, what, err);
	zf_proc_release(p);
	free(p);
	s->priv = NULL;
	s->fd = -EBADF;
	return r;
}

static void local_stream_kill(struct zf_endpoint *ep, struct zf_ep_stream *s)
{
	(void)ep;
	if (s->priv)
		zf_proc_kill(s->priv, SIGTERM);
}

static void local_free(struct zf_endpoint *ep)
{
	free(ep);
}

static const struct zf_endpoint_ops local_ops = {
	.list = local_list,
	.snapshot = local_snapshot,
	.hold = local_hold,
	.release = local_release,
	.holds = local_holds,
	.bookmark = local_bookmark,
	.destroy_bookmark = local_destroy_bookmark,
	.create = local_create,
	.rename = local_rename,
	.inherit = local_inherit,
	.recv_abort = local_recv_abort,
	.send_estimate = local_send_estimate,
	.resume_target = local_resume_target,
	.send_start = local_send_start,
	.recv_start = local_recv_start,
	.stream_finish = local_stream_finish,
	.stream_kill = local_stream_kill,
	.free = local_free,
};

struct zf_endpoint *zf_endpoint_local_new(void)
{
	struct zf_endpoint *ep = zf_xcalloc(1, sizeof(*ep));
	ep->ops = &local_ops;
	ep->kind = "local";
	return ep;
}
