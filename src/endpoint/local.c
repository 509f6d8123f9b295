/* src/endpoint/local.c — the endpoint on this host, through the zfs layer */
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "endpoint/endpoint.h"
#include "log/log.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/proc.h"
#include "util/strv.h"
#include "zfs/recv-policy.h"
#include "zfs/stream.h"
#include "zfs/zfs.h"
#include "util/banned.h"

void zf_ep_fs_list_release(struct zf_ep_fs_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].resume_token);
		free(l->v[i].sendflags);
		free(l->v[i].origin);
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void zf_ep_fs_list_update(struct zf_ep_fs_list *l, const char *const *datasets, size_t n,
			  struct zf_zfs_version_list *vl)
{
	_cleanup_free_ const char **sorted = zf_xcalloc(n ? n : 1, sizeof(char *));
	struct zf_zfs_version_list *old = &l->versions;

	memcpy(sorted, datasets, n * sizeof(char *));
	qsort(sorted, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < old->n; i++) {
		struct zf_zfs_version *v = &old->v[i];

		if (bsearch(&v->fs, sorted, n, sizeof(char *), cmp_str))
			continue;       /* replaced: released with the old list below */
		ZF_ALLOC_GROW(vl->v, vl->n + 1, vl->alloc);
		vl->v[vl->n++] = *v;
		*v = (struct zf_zfs_version){ 0 };
	}
	zf_zfs_version_list_release(old);
	*old = *vl;
	*vl = (struct zf_zfs_version_list){ 0 };
	zf_ep_fs_list_link(l);
}

static const char *const list_props[] = {
	"encryption", "receive_resume_token", "written", "zferry:placeholder", "zferry:sendflags",
	"origin",
};


static int local_list(struct zf_endpoint *ep, const char *root, bool recursive,
		      zf_zfs_filter_fn filter, void *userdata, struct zf_ep_fs_list *ret,
		      struct zf_err *err)
{
	struct zf_zfs_list_opts lo = { recursive, filter, userdata };
	struct zf_zfs_fs_list fs = { 0 };
	struct zf_zfs_prop_list props = { 0 };
	struct zf_err e2 = ZF_ERR_INIT;
	const char **names = NULL;
	int r;
	(void)ep;

	/* every filesystem and version in one zfs run, however many there are */
	r = zf_zfs_list_tree(&root, 1, &lo, &fs, &ret->versions, err);
	if (r < 0)
		return r;
	if (fs.n == 0) {
		zf_zfs_fs_list_release(&fs);
		zf_zfs_version_list_release(&ret->versions);
		return 0;
	}
	/*
	 * written counts what reached disk: without a sync, files written in
	 * the last seconds would leave a filesystem "unmodified", and the
	 * run would take no sync snapshot of them.  A read-only pool refuses;
	 * it has nothing unwritten either.
	 */
	if (zf_zfs_pool_sync(root, &e2) < 0)
		log_debug("zpool sync for '%s': %s", root, zf_err_msg(&e2));
	names = zf_xcalloc(fs.n, sizeof(char *));
	for (size_t i = 0; i < fs.n; i++)
		names[i] = fs.v[i].name;
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
		v = zf_zfs_prop_find(&props, f.name, "origin");
		if (v && strchr(v, '@') && zf_zfs_name_check(v, ZF_ZFS_NAME_SNAPSHOT, NULL) >= 0)
			f.origin = zf_xstrdup(v);
		ZF_ALLOC_GROW(ret->v, ret->n + 1, ret->alloc);
		ret->v[ret->n++] = f;
	}
	zf_ep_fs_list_link(ret);
	zf_zfs_fs_list_release(&fs);
	zf_zfs_prop_list_release(&props);
	return 0;
}

static int local_list_versions(struct zf_endpoint *ep, const char *const *datasets, size_t n,
			       struct zf_zfs_version_list *ret, struct zf_err *err)
{
	(void)ep;
	return zf_zfs_list_versions(datasets, n, ret, err);
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

static int local_destroy_snapshots(struct zf_endpoint *ep, const char *fs,
				   const char *const *names, size_t n, struct zf_err *err)
{
	(void)ep;
	return zf_zfs_destroy_snapshots(fs, names, n, err);
}

static int local_batch(struct zf_endpoint *ep, const struct zf_zfs_batch_op *ops, size_t n,
		       struct zf_err *err)
{
	(void)ep;
	return zf_zfs_batch(ops, n, err);
}

static int local_destroy_bookmarks(struct zf_endpoint *ep, const char *const *names, size_t n,
				   struct zf_err *err)
{
	(void)ep;
	return zf_zfs_destroy_bookmarks(names, n, err);
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

/*
 * zfs resumes a send by the token's guids: the snapshot it sends is found
 * by toguid near the token's toname, the base by fromguid anywhere in the
 * pool (libzfs searches the pool outward from toname's filesystem).  So
 * the names are only worth checking against grants once the guids are
 * seen to belong to them: toname must carry toguid, and the base must be
 * a snapshot or bookmark of toname's filesystem, or its origin.
 */
static int local_resume_target(struct zf_endpoint *ep, const char *token, char **ret_snapshot,
			       char **ret_from, struct zf_err *err)
{
	struct zf_zfs_resume_info ri = { 0 };
	struct zf_zfs_version_list vl = { 0 };
	_cleanup_free_ char *fs = NULL, *origin = NULL, *from = NULL;
	const char *snap;
	bool to_ok = false;
	int r;
	(void)ep;

	r = zf_zfs_resume_token_info(token, &ri, err);
	if (r < 0)
		return r;
	fs = zf_xstrndup(ri.toname, strcspn(ri.toname, "@"));
	snap = ri.toname + strlen(fs) + 1;
	r = zf_zfs_list_versions((const char *const *)&fs, 1, &vl, err);
	for (size_t i = 0; r >= 0 && i < vl.n; i++) {
		const struct zf_zfs_version *v = &vl.v[i];
		if (!v->bookmark && streq(v->name, snap) && v->guid == ri.toguid)
			to_ok = true;
		if (ri.fromguid && !from && v->guid == ri.fromguid)
			from = zf_xasprintf("%s%c%s", fs, v->bookmark ? '#' : '@', v->name);
	}
	zf_zfs_version_list_release(&vl);
	if (r >= 0 && !to_ok)
		r = zf_err_set(err, -EACCES, "resume token names '%s' but not its guid: refused",
			       ri.toname);
	if (r >= 0 && ri.fromguid && !from) {
		/* a clone's first incremental starts at its origin, in another filesystem */
		char *g = NULL;
		struct zf_err e2 = ZF_ERR_INIT;

		if (zf_zfs_get_one(fs, "origin", &origin, &e2) >= 0 && origin[0] != '-' &&
		    zf_zfs_get_one(origin, "guid", &g, &e2) >= 0 &&
		    strtoull(g, NULL, 10) == ri.fromguid)
			from = TAKE_PTR(origin);
		free(g);
		if (!from)
			r = zf_err_set(err, -EACCES, "resume token of '%s': its incremental base is "
				       "not a snapshot or bookmark of '%s': refused", ri.toname, fs);
	}
	if (r >= 0) {
		*ret_snapshot = TAKE_PTR(ri.toname);
		*ret_from = TAKE_PTR(from);
	}
	zf_zfs_resume_info_release(&ri);
	return r;
}

static int local_send_estimate(struct zf_endpoint *ep, const char *snapshot,
			       const struct zf_zfs_send_opts *opts, uint64_t *ret_bytes,
			       struct zf_err *err)
{
	(void)ep;
	return zf_zfs_send_estimate(snapshot, opts, ret_bytes, err);
}

int zf_ep_read_head(int fd, struct zf_buf *b, struct zf_err *err)
{
	size_t want = ZF_ZFS_RECORD_SIZE;

	for (;;) {
		struct zf_zfs_stream_head h;
		ssize_t k;
		int r;

		while (b->len < want) {
			zf_buf_grow(b, want - b->len);
			k = zf_read_full(fd, b->data + b->len, want - b->len);
			if (k < 0)
				return zf_err_set(err, (int)k, "cannot read the stream: %s",
						  strerror((int)-k));
			b->len += (size_t)k;
			b->data[b->len] = '\0';
			if (k == 0)
				return zf_err_set(err, -EPIPE, "stream ended after %zu bytes, before "
						  "its first record was complete", b->len);
		}
		r = zf_zfs_stream_head_parse(b->data, b->len, &h, err);
		if (r == 0) {
			zf_zfs_stream_head_release(&h);
			return 0;
		}
		if (r < 0)
			return r;
		want = (size_t)r;
	}
}

/* A running send or receive of the local endpoint, and what a receive does after. */
struct lstream {
	struct zf_proc p;
	char *target;                   /* receives: the dataset received into */
	bool reset_keylocation;
	bool mount;
};

static int stream_from_proc(struct zf_proc *p, bool sending, struct zf_ep_stream *ret)
{
	struct lstream *ls = zf_xcalloc(1, sizeof(*ls));

	ls->p = *p;
	ret->fd = sending ? ls->p.out_fd : ls->p.in_fd;
	ret->priv = ls;
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

/*
 * The snapshot with guid among the snapshots at and below roots (NULL:
 * the pool of target): where a clone stream's origin may be taken from.
 * zfs's own search would look through the whole pool.
 */
static int find_origin(const char *target, const char *const *roots, uint64_t guid,
		       char **ret, struct zf_err *err)
{
	_cleanup_free_ char *pool = zf_xstrndup(target, strcspn(target, "/@"));
	const char *const pool_roots[] = { pool, NULL };
	int r;

	for (const char *const *root = roots ? roots : pool_roots; *root; root++) {
		struct zf_zfs_list_opts lo = { .recursive = true };
		struct zf_zfs_fs_list fs = { 0 };
		struct zf_zfs_version_list vl = { 0 };
		_cleanup_free_ const char **names = NULL;
		struct zf_err e2 = ZF_ERR_INIT;

		r = zf_zfs_list_fs(root, 1, &lo, &fs, &e2);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return zf_err_set(err, r, "cannot look for the clone's origin: %s", e2.msg);
		names = zf_xcalloc(fs.n + 1, sizeof(char *));
		for (size_t i = 0; i < fs.n; i++)
			names[i] = fs.v[i].name;
		r = zf_zfs_list_versions(names, fs.n, &vl, &e2);
		for (size_t i = 0; r >= 0 && i < vl.n && !*ret; i++)
			if (!vl.v[i].bookmark && vl.v[i].guid == guid)
				*ret = zf_xasprintf("%s@%s", vl.v[i].fs, vl.v[i].name);
		zf_zfs_version_list_release(&vl);
		zf_zfs_fs_list_release(&fs);
		if (r < 0 && r != -ENOENT)
			return zf_err_set(err, r, "cannot look for the clone's origin: %s", e2.msg);
		if (*ret)
			return 0;
	}
	return zf_err_set(err, -ENOENT, "clone stream: its origin (guid %" PRIu64 ") is not "
			  "among the snapshots this receive may use", guid);
}

static int local_recv_start(struct zf_endpoint *ep, const char *target,
			    const struct zf_ep_recv *rq, struct zf_ep_stream *ret,
			    struct zf_err *err)
{
	_cleanup_(zf_recv_plan_release) struct zf_recv_plan plan = { 0 };
	struct zf_zfs_stream_head h;
	_cleanup_free_ char *origin = NULL;
	struct zf_zfs_recv_opts o;
	struct zf_proc p;
	int r;
	(void)ep;

	r = zf_zfs_stream_head_parse(rq->head, rq->head_len, &h, err);
	if (r > 0)
		return zf_err_set(err, -EBADMSG, "receive into '%s': the stream's head is "
				  "incomplete (%zu of %d bytes)", target, rq->head_len, r);
	if (r < 0)
		return zf_err_prefix(err, "receive into '%s'", target);
	r = zf_recv_policy_decide(rq->policy, &h, &rq->request, &plan, err);
	zf_zfs_stream_head_release(&h);
	if (r < 0)
		return zf_err_prefix(err, "receive into '%s'", target);
	if (plan.clone) {
		r = find_origin(target, rq->origin_roots, plan.origin_guid, &origin, err);
		if (r < 0)
			return zf_err_prefix(err, "receive into '%s'", target);
		zf_strv_addf(&plan.set, "origin=%s", origin);
	}
	o = (struct zf_zfs_recv_opts){
		.resumable = rq->resumable,
		.no_mount = true,
		.force = rq->force,
		.skip_holds = true,
		.set_props = plan.set.n ? zf_strv_argv(&plan.set) : NULL,
		.exclude_props = plan.exclude.n ? zf_strv_argv(&plan.exclude) : NULL,
	};
	r = zf_zfs_recv_start(target, &o, &p, err);
	if (r < 0)
		return r;
	stream_from_proc(&p, false, ret);
	struct lstream *ls = ret->priv;
	ls->target = zf_xstrndup(target, strcspn(target, "@"));
	ls->reset_keylocation = plan.reset_keylocation;
	ls->mount = plan.mount;
	return 0;
}

int zf_ep_mount_safe(const char *fs, struct zf_err *err)
{
	_cleanup_free_ char *mp = NULL, *parent = NULL;
	struct stat st, pst;
	DIR *d;
	int r;

	if ((r = zf_zfs_get_one(fs, "mountpoint", &mp, err)) < 0)
		return r;
	if (mp[0] != '/')
		return zf_err_set(err, -EINVAL, "'%s' has mountpoint '%s': nothing to mount", fs, mp);
	if (lstat(mp, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return zf_err_set(err, -errno, "cannot look at mountpoint '%s' of '%s': %m", mp, fs);
	}
	if (!S_ISDIR(st.st_mode))
		return zf_err_set(err, -ENOTDIR, "mountpoint '%s' of '%s' is not a directory", mp,
				  fs);
	parent = zf_xasprintf("%s/..", mp);
	if (stat(parent, &pst) == 0 && (pst.st_dev != st.st_dev || pst.st_ino == st.st_ino))
		return zf_err_set(err, -EBUSY, "mountpoint '%s' of '%s' is in use: something is "
				  "mounted there", mp, fs);
	d = opendir(mp);
	if (!d)
		return zf_err_set(err, -errno, "cannot read mountpoint '%s' of '%s': %m", mp, fs);
	for (struct dirent *e; (e = readdir(d));)
		if (!streq(e->d_name, ".") && !streq(e->d_name, "..")) {
			closedir(d);
			return zf_err_set(err, -ENOTEMPTY, "mountpoint '%s' of '%s' is not empty: "
					  "not mounting over it", mp, fs);
		}
	closedir(d);
	return 0;
}

/* What a finished receive still owes: keylocation back to prompt, the mount. */
static void after_receive(struct lstream *ls)
{
	struct zf_err e = ZF_ERR_INIT;
	_cleanup_free_ char *root = NULL, *loc = NULL;

	if (ls->reset_keylocation &&
	    zf_zfs_get_one(ls->target, "encryptionroot", &root, &e) >= 0 &&
	    streq(root, ls->target) && zf_zfs_get_one(ls->target, "keylocation", &loc, &e) >= 0 &&
	    !streq(loc, "prompt") && !streq(loc, "none")) {
		if (zf_zfs_set(ls->target, (const char *const[]){ "keylocation=prompt" }, 1, &e) < 0)
			log_warning("cannot reset keylocation of '%s' to prompt: %s", ls->target,
				    e.msg);
		else
			log_notice("'%s': keylocation from the stream ('%s') reset to prompt",
				   ls->target, loc);
	}
	zf_err_clear(&e);
	if (ls->mount) {
		if (zf_ep_mount_safe(ls->target, &e) < 0 || zf_zfs_mount(ls->target, &e) < 0)
			log_warning("not mounting '%s': %s", ls->target, e.msg);
	}
}

static int local_stream_finish(struct zf_endpoint *ep, struct zf_ep_stream *s, const char *what,
			       struct zf_err *err)
{
	struct lstream *ls = s->priv;
	int r;
	(void)ep;

	if (!ls)
		return 0;
	r = zf_zfs_stream_finish(&ls->p, what, err);
	if (r >= 0 && ls->target)
		after_receive(ls);
	zf_proc_release(&ls->p);
	free(ls->target);
	free(ls);
	s->priv = NULL;
	s->fd = -EBADF;
	return r;
}

static void local_stream_kill(struct zf_endpoint *ep, struct zf_ep_stream *s)
{
	struct lstream *ls = s->priv;
	(void)ep;

	if (ls)
		zf_proc_kill(&ls->p, SIGTERM);
}

static void local_free(struct zf_endpoint *ep)
{
	free(ep);
}

static const struct zf_endpoint_ops local_ops = {
	.list = local_list,
	.list_versions = local_list_versions,
	.snapshot = local_snapshot,
	.hold = local_hold,
	.release = local_release,
	.holds = local_holds,
	.bookmark = local_bookmark,
	.destroy_bookmark = local_destroy_bookmark,
	.destroy_snapshots = local_destroy_snapshots,
	.batch = local_batch,
	.destroy_bookmarks = local_destroy_bookmarks,
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
