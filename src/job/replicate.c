/* src/job/replicate.c — carrying out a replication plan: workers, holds, streams, cursor */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include "endpoint/endpoint.h"
#include "job/replicate.h"
#include "log/log.h"
#include "plan/replication.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/regex.h"
#include "util/strv.h"
#include "zfs/props.h"
#include "util/banned.h"

#define HOLD_TAG "zferry_replicate"

/* One transfer in progress, for the progress reporter. */
struct slot {
	_Atomic bool active;
	char target[512];
	uint64_t bytes;                 /* updated by zf_copy_stream() atomically */
	uint64_t estimate;
	double start;                   /* zf_now_sec() when the transfer began */
};

struct ctx {
	struct zf_endpoint *src, *dst;
	const char *src_root, *dst_root;
	const struct zf_replicate_opts *o;
	struct zf_replan *plan;
	struct zf_replan *plan_sim;     /* the plan as if the sync snapshot existed */
	struct zf_replan_sched *sched;
	struct zf_replicate_result *res;
	/* the receiving side's rules for streams from src, and where clones' origins may be */
	struct zf_recv_policy policy;
	struct zf_strv policy_allow;
	const char *origin_roots[2];
	/*
	 * This run's names on the source: cursor id, hold tag, sync snapshot
	 * prefix.  A remote source's server keeps what we make there in our
	 * namespace (docs/serve.md), so they carry the identity it serves us as.
	 */
	char *cursor_id;
	char *sync_prefix;
	char hold_tag[512];
	char stamp[32];
	/*
	 * Every item's holds, taken in one atomic `zfs hold` before the
	 * workers start and released in one call at the end (two zfs runs
	 * instead of two per filesystem).  When that fails, items hold their
	 * own snapshots.
	 */
	struct zf_strv batch_holds;
	bool batch_held;
	/*
	 * With every item held by the batch hold (or none needing a hold) and
	 * a sender that takes batches (a local one: zfs channel programs),
	 * items leave their cursor moves to one batch after the workers
	 * (move_cursors()); deferred[i] says item i succeeded and left its
	 * moves there.
	 */
	bool defer_cursors;
	bool *deferred;
	bool read_only;                 /* the source cannot be written: no holds, cursor, cleanup */
	bool read_only_asked;           /* source_read_only() asked the pool */
	/*
	 * Per item, the createtxg of the newest snapshot the target has once
	 * the item succeeded (0: none, or only a bookmark).  The plan's item
	 * says so up front, but an item that resumes first is planned again
	 * after the resume (its token does not say what it resumes): then the
	 * plan that ran, not the first one, knows.
	 */
	uint64_t *settled_txg;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop_progress;
	struct slot slots[ZF_REPLICATE_JOBS_MAX];
	struct zf_rate rate;            /* opts' bwlimit, shared by all transfers */
};

/* root + "/" + rel, or root for "". */
static char *join(const char *root, const char *rel)
{
	return *rel ? zf_xasprintf("%s/%s", root, rel) : zf_xstrdup(root);
}

/* The part of full below root: "" for root itself, NULL when not below it. */
static const char *relative(const char *root, const char *full)
{
	const char *rest = startswith(full, root);
	if (!rest)
		return NULL;
	if (!*rest)
		return "";
	return *rest == '/' ? rest + 1 : NULL;
}

/* Says once that the source is read-only, and what is left out because of it. */
static void note_read_only(struct ctx *c, const char *what)
{
	pthread_mutex_lock(&c->lock);
	if (!c->read_only)
		log_notice("'%s' is on a read-only pool: replicating without %s", c->src_root,
			   what);
	c->read_only = true;
	pthread_mutex_unlock(&c->lock);
}

/* ---- excludes ------------------------------------------------------------ */

struct excludes {
	regex_t *re;
	size_t n;
	const char *root;
};

static bool keep_name(const char *name, void *userdata)
{
	const struct excludes *x = userdata;
	if (streq(name, x->root))
		return true;    /* the root is what the user named: never excluded */
	for (size_t i = 0; i < x->n; i++)
		if (regexec(&x->re[i], name, 0, NULL, 0) == 0)
			return false;
	return true;
}

/* ---- listing into the planner's structs ---------------------------------- */

struct side {
	struct zf_ep_fs_list list;
	struct zf_replan_fs *fs;
	struct zf_replan_version *versions;
	size_t n;
};

static void side_release(struct side *s)
{
	zf_ep_fs_list_release(&s->list);
	free(s->fs);
	free(s->versions);
}

/* A clone's origin, when it lies in this side's tree: relative name and snapshot guid. */
static void origin_fill(const struct side *s, const char *root, const struct zf_ep_fs *e,
			struct zf_replan_fs *f)
{
	_cleanup_free_ char *fs = NULL;
	const char *snap;

	if (!e->origin)
		return;
	fs = zf_xstrndup(e->origin, strcspn(e->origin, "@"));
	snap = e->origin + strlen(fs) + 1;
	for (size_t i = 0; i < s->list.n; i++) {
		const struct zf_ep_fs *o = &s->list.v[i];
		const char *rel = relative(root, o->name);     /* points into the list: it stays */

		if (!rel || !streq(o->name, fs))
			continue;
		for (size_t j = 0; j < o->n_versions; j++)
			if (!o->versions[j].bookmark && streq(o->versions[j].name, snap)) {
				f->origin_fs = rel;
				f->origin_guid = o->versions[j].guid;
			}
	}
}

static void side_fill(struct side *s, const char *root)
{
	size_t nv = 0, k = 0;

	for (size_t i = 0; i < s->list.n; i++)
		nv += s->list.v[i].n_versions;
	s->versions = zf_xcalloc(nv ? nv : 1, sizeof(*s->versions));
	s->fs = zf_xcalloc(s->list.n ? s->list.n : 1, sizeof(*s->fs));
	for (size_t i = 0; i < s->list.n; i++) {
		const struct zf_ep_fs *e = &s->list.v[i];
		const char *rel = relative(root, e->name);
		if (!rel)
			continue;
		struct zf_replan_fs *f = &s->fs[s->n++];
		f->name = rel;
		f->versions = s->versions + k;
		f->n_versions = e->n_versions;
		for (size_t j = 0; j < e->n_versions; j++) {
			const struct zf_zfs_version *v = &e->versions[j];
			s->versions[k++] = (struct zf_replan_version){
				.name = v->name,
				.guid = v->guid,
				.createtxg = v->createtxg,
				.creation = v->creation,
				.bookmark = v->bookmark,
			};
		}
		f->encrypted = e->encrypted;
		f->resume_token = e->resume_token;
		f->modified = e->modified;
		f->placeholder = e->placeholder;
		f->sendflags = e->sendflags;
		origin_fill(s, root, e, f);
	}
}

bool zf_replicate_transient(int r)
{
	switch (-r) {
	case EPIPE:
	case ECONNRESET:
	case ECONNABORTED:
	case ECONNREFUSED:
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
	case ZF_E_PROTO:
		return true;
	default:
		return false;
	}
}

/* Sleeps before retry attempt (1-based): the delay doubles each time, up to a minute. */
static void retry_wait(const struct zf_replicate_opts *o, unsigned attempt, const char *what,
		       const struct zf_err *why)
{
	uint64_t ms = o->retry_delay_ms ? o->retry_delay_ms : ZF_REPLICATE_RETRY_DELAY_MS;

	for (unsigned i = 1; i < attempt && ms < ZF_REPLICATE_RETRY_DELAY_MAX_MS; i++)
		ms *= 2;
	if (ms > ZF_REPLICATE_RETRY_DELAY_MAX_MS)
		ms = ZF_REPLICATE_RETRY_DELAY_MAX_MS;
	log_warning("%s: %s; retrying in %.1f s (attempt %u of %u)", what, zf_err_msg(why),
		    (double)ms / 1000, attempt, o->retries);
	zf_sleep_ms(ms);
}

/* Lists one side; a DST root that does not exist yet is an empty side. */
static int list_side_once(struct zf_endpoint *ep, const char *root, bool recursive,
		     struct excludes *x, bool missing_ok, struct side *ret, struct zf_err *err)
{
	struct zf_err e2 = ZF_ERR_INIT;
	int r;

	r = ep->ops->list(ep, root, recursive, x ? keep_name : NULL, x, &ret->list, &e2);
	if (r == -ENOENT && missing_ok)
		r = 0;
	else if (r < 0)
		return zf_err_set(err, r, "cannot list '%s': %s", root, zf_err_msg(&e2));
	side_fill(ret, root);
	return 0;
}

/* list_side_once(), retried while the failure is the connection's. */
static int list_side(const struct zf_replicate_opts *o, struct zf_endpoint *ep, const char *root,
		     bool recursive, struct excludes *x, bool missing_ok, struct side *ret,
		     struct zf_err *err)
{
	int r;

	for (unsigned attempt = 1;; attempt++) {
		r = list_side_once(ep, root, recursive, x, missing_ok, ret, err);
		if (r >= 0 || !zf_replicate_transient(r) || attempt > o->retries)
			return r;
		retry_wait(o, attempt, "listing", err);
		zf_err_clear(err);
		side_release(ret);
		*ret = (struct side){ 0 };
	}
}

/* ---- stale holds ---------------------------------------------------------- */

/* A held snapshot: how many holds zfs list counted, and how many zfs holds listed. */
struct held {
	char *name;
	uint64_t userrefs;
	uint64_t listed;
};

static int cmp_held(const void *a, const void *b)
{
	return strcmp(((const struct held *)a)->name, ((const struct held *)b)->name);
}

/*
 * The snapshots of hl's holds with our tag, where hl lists as many holds as
 * the snapshot's userrefs.  zfs holds -H cannot quote a tag with a newline,
 * so such a tag on one snapshot can print as a hold on another (zfs.h); it
 * then lists one hold too many there, and that snapshot is left alone.
 */
static void ours_where_counts_agree(struct ctx *c, struct held *h, size_t n,
				    const struct zf_zfs_hold_list *hl, struct zf_strv *ours)
{
	qsort(h, n, sizeof(*h), cmp_held);
	for (size_t i = 0; i < hl->n; i++) {
		struct held key = { .name = hl->v[i].snapshot };
		struct held *found = bsearch(&key, h, n, sizeof(*h), cmp_held);
		if (found)
			found->listed++;
	}
	for (size_t i = 0; i < hl->n; i++) {
		struct held key = { .name = hl->v[i].snapshot };
		struct held *found = bsearch(&key, h, n, sizeof(*h), cmp_held);
		if (!found || !streq(hl->v[i].tag, c->hold_tag))
			continue;
		if (found->listed != found->userrefs) {
			log_warning("not releasing hold '%s' on '%s': zfs holds lists %" PRIu64
				    " holds, userrefs says %" PRIu64 " (changed meanwhile, or a "
				    "tag holds a newline)", c->hold_tag, found->name, found->listed,
				    found->userrefs);
			continue;
		}
		zf_strv_add(ours, found->name);
	}
}

/* Releases holds with our tag that a killed run left on the sender. */
static void release_stale_holds(struct ctx *c, const struct side *src)
{
	_cleanup_strv_ struct zf_strv held = ZF_STRV_INIT;
	_cleanup_strv_ struct zf_strv ours = ZF_STRV_INIT;
	_cleanup_free_ struct held *h = NULL;
	struct zf_zfs_hold_list hl = { 0 };
	struct zf_err err = ZF_ERR_INIT;

	for (size_t i = 0; i < src->list.n; i++)
		for (size_t j = 0; j < src->list.v[i].n_versions; j++) {
			const struct zf_zfs_version *v = &src->list.v[i].versions[j];
			if (!v->bookmark && v->userrefs > 0)
				zf_strv_addf(&held, "%s@%s", v->fs, v->name);
		}
	if (!held.n)
		return;
	if (c->src->ops->holds(c->src, zf_strv_argv(&held), held.n, &hl, &err) < 0) {
		log_warning("cannot list holds on the sender: %s", zf_err_msg(&err));
		return;
	}
	h = zf_xcalloc(held.n, sizeof(*h));
	for (size_t i = 0, k = 0; i < src->list.n; i++)
		for (size_t j = 0; j < src->list.v[i].n_versions; j++) {
			const struct zf_zfs_version *v = &src->list.v[i].versions[j];
			if (!v->bookmark && v->userrefs > 0) {
				h[k] = (struct held){ held.v[k], v->userrefs, 0 };
				k++;
			}
		}
	ours_where_counts_agree(c, h, held.n, &hl, &ours);
	zf_zfs_hold_list_release(&hl);
	if (!ours.n)
		return;
	log_notice("releasing %zu hold(s) '%s' left by an interrupted run", ours.n, c->hold_tag);
	if (c->src->ops->release(c->src, c->hold_tag, zf_strv_argv(&ours), ours.n, &err) < 0)
		log_warning("cannot release stale holds: %s", zf_err_msg(&err));
}

/* ---- one stream: send | recv ----------------------------------------------- */

static struct slot *slot_get(struct ctx *c, const char *target, uint64_t estimate)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < ZF_REPLICATE_JOBS_MAX; i++) {
		struct slot *s = &c->slots[i];
		if (!s->active) {
			snprintf(s->target, sizeof(s->target), "%s", target);
			__atomic_store_n(&s->bytes, 0, __ATOMIC_RELAXED);
			s->estimate = estimate;
			s->start = zf_now_sec();
			s->active = true;
			pthread_mutex_unlock(&c->lock);
			return s;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void slot_put(struct ctx *c, struct slot *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&c->lock);
	s->active = false;
	pthread_mutex_unlock(&c->lock);
}

/*
 * Stops and reaps a send whose receive never started.  HE is the failure
 * to read the stream's head, if that was it: a sender that failed at once
 * explains an empty stream better.
 */
static int abort_send(struct ctx *c, struct zf_ep_stream *s, const struct zf_err *he, int r,
		      struct zf_err *err)
{
	struct zf_err se = ZF_ERR_INIT;
	int rs;

	c->src->ops->stream_kill(c->src, s);
	rs = c->src->ops->stream_finish(c->src, s, "zfs send", &se);
	if (he->code && rs < 0)
		return zf_err_copy(err, rs, &se);
	if (he->code)
		return zf_err_copy(err, r, he);
	return r;
}

/*
 * Writes the head already read from the send, then copies the rest into
 * the receive; *bytes is how much went, counted in a progress slot when
 * one is free.
 */
static int copy_to_recv(struct ctx *c, const char *target, uint64_t estimate, int in, int out,
			const struct zf_buf *head, uint64_t *bytes)
{
	struct slot *sl = slot_get(c, target, estimate);
	uint64_t counter;
	int r;

	r = zf_write_full(out, head->data, head->len);
	counter = head->len;
	if (sl)
		__atomic_store_n(&sl->bytes, head->len, __ATOMIC_RELAXED);
	if (r >= 0)
		r = zf_copy_stream(in, out, sl ? &sl->bytes : &counter, &c->rate);
	*bytes = sl ? __atomic_load_n(&sl->bytes, __ATOMIC_RELAXED) : counter;
	slot_put(c, sl);
	return r;
}

/*
 * The step's result from the copy's (r), the sender's (rs, se) and the
 * receiver's (rr, re) after BYTES: which failure is the cause.
 */
static int transfer_result(int r, int rs, const struct zf_err *se, int rr,
			   const struct zf_err *re, uint64_t bytes, struct zf_err *err)
{
	/*
	 * Both failed.  A copy that met the sender's end (no EPIPE from the
	 * receiver) says the sender stopped first: its failure is the cause,
	 * and the receiver only saw a stream that ended early.
	 */
	if (rr < 0 && rs < 0 && r >= 0)
		return zf_err_set(err, rs, "%s; the receiver: %s", zf_err_msg(se),
				  zf_err_msg(re));
	if (rr < 0)
		return zf_err_copy(err, rr, re);
	if (rs < 0)
		return zf_err_set(err, rs, "%s (stream broke after %" PRIu64 " bytes)",
				  zf_err_msg(se), bytes);
	/*
	 * zfs recv exits as soon as it has read the end record, which it
	 * checks against the stream's checksum; a copy that then meets EPIPE
	 * before it saw the sender's EOF lost nothing, as both sides succeeded.
	 */
	if (r < 0 && r != -EPIPE)
		return zf_err_set(err, r, "stream copy failed after %" PRIu64 " bytes: %s", bytes,
				  strerror(-r));
	return 0;
}

/*
 * Streams one send into one receive.  The receive's failure is the one
 * reported when both fail (a full pool makes the sender see EPIPE); a
 * sender that fails mid-stream fails the step even when the receive
 * exited 0, and so does a copy that broke.
 */
static int transfer(struct ctx *c, const char *snapshot, const struct zf_zfs_send_opts *so,
		    const char *target, struct zf_ep_recv *rq, uint64_t *bytes, struct zf_err *err)
{
	struct zf_ep_stream s = { -EBADF, NULL }, rv = { -EBADF, NULL };
	struct zf_err se = ZF_ERR_INIT, re = ZF_ERR_INIT, ee = ZF_ERR_INIT, he = ZF_ERR_INIT;
	_cleanup_buf_ struct zf_buf head = ZF_BUF_INIT;
	uint64_t estimate = 0;
	int r, rs, rr;

	if (c->o->progress)
		(void)c->src->ops->send_estimate(c->src, snapshot, so, &estimate, &ee);
	r = c->src->ops->send_start(c->src, snapshot, so, &s, err);
	if (r < 0)
		return r;
	/* the receiving side decides from the stream's head what the receive may do */
	r = zf_ep_read_head(s.fd, &head, &he);
	if (r < 0)
		return abort_send(c, &s, &he, r, err);
	rq->head = head.data;
	rq->head_len = head.len;
	r = c->dst->ops->recv_start(c->dst, target, rq, &rv, err);
	if (r < 0)
		return abort_send(c, &s, &he, r, err);

	r = copy_to_recv(c, target, estimate, s.fd, rv.fd, &head, bytes);
	if (r < 0)
		c->src->ops->stream_kill(c->src, &s);
	rs = c->src->ops->stream_finish(c->src, &s, "zfs send", &se);
	rr = c->dst->ops->stream_finish(c->dst, &rv, "zfs recv", &re);
	return transfer_result(r, rs, &se, rr, &re, *bytes, err);
}

/* ---- one item -------------------------------------------------------------- */

/*
 * What this run asks of a receive.  The user's own -o/-x are trusted; the
 * receiving side (this host, or the server's own policy) decides the rest
 * from the stream.  canmount=noauto is asked for too, for a server from
 * before the receive policy.
 */
/* Whether the user's own -o sets prop (canonical name; aliases such as rdonly count). */
static bool user_sets(const struct zf_replicate_opts *o, const char *prop)
{
	for (const char *const *a = o->set_props; a && *a; a++) {
		_cleanup_free_ char *name = zf_xstrndup(*a, strcspn(*a, "="));
		const struct zf_zfs_prop_info *info;

		if (zf_zfs_prop_lookup(name, &info, NULL) > 0 && streq(info->name, prop))
			return true;
	}
	return false;
}

static void recv_opts(struct ctx *c, const struct zf_replan_item *it, bool force,
		      struct zf_strv *set, struct zf_ep_recv *rq)
{
	const struct zf_replicate_opts *o = c->o;

	if (!o->no_readonly && !user_sets(o, "readonly"))
		zf_strv_add(set, "readonly=on");
	if (!o->mount && !user_sets(o, "canmount"))
		zf_strv_add(set, "canmount=noauto");
	if (it->sendflags)
		zf_strv_addf(set, "zferry:sendflags=%s", it->sendflags);
	zf_strv_addv(set, o->set_props);
	*rq = (struct zf_ep_recv){
		.request = { set->n ? zf_strv_argv(set) : NULL, o->exclude_props, true },
		.resumable = true,
		.force = force,
		.policy = &c->policy,
		.origin_roots = c->origin_roots,
	};
}

static int run_steps(struct ctx *c, const struct zf_replan_item *it, const char *src_fs,
		     const char *dst_fs, struct zf_replicate_fs_result *fr, struct zf_err *err);

static int run_item(struct ctx *c, const struct zf_replan_item *it, const char *src_fs,
		    const char *dst_fs, struct zf_replicate_fs_result *fr, struct zf_err *err);

/*
 * Lists one filesystem again and plans it alone: after a resume (the rest
 * of its steps), or to retry it after its connection broke (everything,
 * from the resume token the broken transfer left).
 */
static int replan_one(struct ctx *c, const char *src_fs, const char *dst_fs, bool retry,
		      struct zf_replicate_fs_result *fr, struct zf_err *err)
{
	_cleanup_(side_release) struct side s = { 0 }, d = { 0 };
	_cleanup_(zf_replan_freep) struct zf_replan *p = NULL;
	struct zf_replan_opts po = { 0 };
	const struct zf_replan_item *it;
	int r;

	r = list_side(c->o, c->src, src_fs, false, NULL, false, &s, err);
	if (r < 0)
		return r;
	r = list_side(c->o, c->dst, dst_fs, false, NULL, true, &d, err);
	if (r < 0)
		return r;
	po = (struct zf_replan_opts){
		.intermediates = c->o->intermediates,
		.flags = (c->o->large_block ? ZF_REPLAN_LARGE_BLOCK : 0) |
			 (c->o->embed ? ZF_REPLAN_EMBED : 0) |
			 (c->o->compressed ? ZF_REPLAN_COMPRESSED : 0),
		.raw = c->o->raw,
		.force_rollback = c->o->force_rollback,
		.sync_snap = c->res->sync_snap,
		.cursor_id = c->cursor_id,
		.src_display = src_fs,
		.dst_display = dst_fs,
	};
	r = zf_replan_new(s.fs, s.n, d.fs, d.n, &po, &p, err);
	if (r < 0)
		return r;

	if (p->n_items == 0)
		return zf_err_set(err, -ENOENT, "'%s' is gone", src_fs);
	it = &p->items[0];
	if (retry && (it->action == ZF_REPLAN_CONFLICT || it->action == ZF_REPLAN_NOTHING_TO_SEND))
		return zf_err_set(err, -EINVAL, "%s", it->message ? it->message : "conflict");
	if (retry)              /* it->fs is "": this plan's roots are src_fs, dst_fs */
		return run_item(c, it, src_fs, dst_fs, fr, err);
	if (it->plan_again || it->action == ZF_REPLAN_RESUME)
		return zf_err_set(err, -EAGAIN, "'%s' still has a partial receive after resuming",
				  dst_fs);
	if (it->action == ZF_REPLAN_CONFLICT || it->action == ZF_REPLAN_NOTHING_TO_SEND)
		return zf_err_set(err, -EINVAL, "%s", it->message ? it->message : "conflict");
	return run_steps(c, it, src_fs, dst_fs, fr, err);
}

static void set_cursor(struct ctx *c, const struct zf_replan_item *it, const char *src_fs)
{
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_free_ char *snap = NULL, *mark = NULL;

	if (c->read_only)
		return;

	if (it->cursor) {
		snap = zf_xasprintf("%s@%s", src_fs, it->cursor_snapshot);
		mark = zf_xasprintf("%s#%s", src_fs, it->cursor);
		int r = c->src->ops->bookmark(c->src, snap, mark, &err);
		if (r < 0 && r != -EEXIST) {
			log_warning("cannot set replication cursor '%s': %s", mark, zf_err_msg(&err));
			return;        /* keep the old cursors: they still mark a common version */
		}
	}
	for (size_t i = 0; i < it->cursor_remove.n; i++) {
		_cleanup_free_ char *old = zf_xasprintf("%s#%s", src_fs, it->cursor_remove.v[i]);
		zf_err_clear(&err);
		int r = c->src->ops->destroy_bookmark(c->src, old, &err);
		if (r < 0 && r != -ENOENT)
			log_warning("cannot remove old cursor '%s': %s", old, zf_err_msg(&err));
	}
}

/* A SEND step: SRC_FS's snapshot st->to, incremental from st->from if any, into DST_FS. */
static int send_step(struct ctx *c, const struct zf_replan_item *it,
		     const struct zf_replan_step *st, const char *src_fs, const char *dst_fs,
		     struct zf_replicate_fs_result *fr, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv set = ZF_STRV_INIT;
	_cleanup_free_ char *snap = NULL, *from = NULL, *origin_fs = NULL;
	struct zf_zfs_send_opts so;
	struct zf_ep_recv ro;
	uint64_t bytes = 0;
	int r;

	snap = zf_xasprintf("%s@%s", src_fs, st->to);
	if (st->from && st->from_fs) {          /* a clone's origin */
		origin_fs = join(c->src_root, st->from_fs);
		from = zf_xasprintf("%s@%s", origin_fs, st->from);
	} else if (st->from) {
		from = zf_xasprintf("%s%c%s", src_fs, st->from_bookmark ? '#' : '@', st->from);
	}
	so = (struct zf_zfs_send_opts){
		.from = from,
		.intermediates = st->intermediates,
		.raw = it->flags & ZF_REPLAN_RAW,
		.compressed = it->flags & ZF_REPLAN_COMPRESSED,
		.large_block = it->flags & ZF_REPLAN_LARGE_BLOCK,
		.embed = it->flags & ZF_REPLAN_EMBED,
		.props = c->o->props,
	};
	recv_opts(c, it, st->force, &set, &ro);
	r = transfer(c, snap, &so, dst_fs, &ro, &bytes, err);
	fr->bytes += bytes;
	if (!fr->from && st->from)
		fr->from = zf_xstrdup(st->from);
	free(fr->to);
	fr->to = zf_xstrdup(st->to);
	return r;
}

/* A RESUME step: finishes DST_FS's interrupted receive from its token. */
static int resume_step(struct ctx *c, const struct zf_replan_item *it,
		       const struct zf_replan_step *st, const char *dst_fs,
		       struct zf_replicate_fs_result *fr, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv set = ZF_STRV_INIT;
	struct zf_zfs_send_opts so = { .resume_token = st->token };
	struct zf_ep_recv ro;
	uint64_t bytes = 0;
	int r;

	log_info("resuming the interrupted receive of '%s'", dst_fs);
	recv_opts(c, it, false, &set, &ro);
	r = transfer(c, NULL, &so, dst_fs, &ro, &bytes, err);
	fr->bytes += bytes;
	return r;
}

/* One step of IT on DST_FS. */
static int run_step(struct ctx *c, const struct zf_replan_item *it,
		    const struct zf_replan_step *st, const char *src_fs, const char *dst_fs,
		    struct zf_replicate_fs_result *fr, struct zf_err *err)
{
	_cleanup_free_ char *renamed = NULL;

	switch (st->kind) {
	case ZF_REPLAN_STEP_ABORT_RESUME:
		log_info("discarding the partial receive of '%s'", dst_fs);
		return c->dst->ops->recv_abort(c->dst, dst_fs, err);
	case ZF_REPLAN_STEP_RESUME:
		return resume_step(c, it, st, dst_fs, fr, err);
	case ZF_REPLAN_STEP_RENAME:
		renamed = zf_xasprintf("%s%s", dst_fs, st->rename_suffix);
		log_notice("moving diverged '%s' aside to '%s'", dst_fs, renamed);
		return c->dst->ops->rename(c->dst, dst_fs, renamed, err);
	case ZF_REPLAN_STEP_CREATE_PLACEHOLDER:
		return c->dst->ops->create(c->dst, dst_fs,
					   (const char *const[]){ "canmount=off",
								  "zferry:placeholder=on", NULL },
					   err);
	case ZF_REPLAN_STEP_SEND:
		return send_step(c, it, st, src_fs, dst_fs, fr, err);
	}
	return 0;
}

/* After IT's last step: what the target now has, its placeholder mark, and the cursor. */
static void settle_item(struct ctx *c, const struct zf_replan_item *it, const char *src_fs,
			const char *dst_fs, struct zf_replicate_fs_result *fr)
{
	size_t i = (size_t)(fr - c->res->v);

	c->settled_txg[i] = it->settled ? it->settled_txg : 0;
	if (it->clear_placeholder) {
		struct zf_err e2 = ZF_ERR_INIT;
		if (c->dst->ops->inherit(c->dst, dst_fs, "zferry:placeholder", &e2) < 0)
			log_warning("cannot clear zferry:placeholder on '%s': %s", dst_fs,
				    zf_err_msg(&e2));
	}
	/* an item planned again after a resume moves its cursor itself: its plan is its own */
	if (c->defer_cursors && it == &c->plan->items[i])
		c->deferred[i] = true;
	else
		set_cursor(c, it, src_fs);
}

/*
 * IT's steps in order, stopping at the first that fails.  A resume that
 * leaves the item to be planned again hands the rest to replan_one().
 */
static int run_steps(struct ctx *c, const struct zf_replan_item *it, const char *src_fs,
		     const char *dst_fs, struct zf_replicate_fs_result *fr, struct zf_err *err)
{
	for (size_t i = 0; i < it->n_steps; i++) {
		const struct zf_replan_step *st = &it->steps[i];
		int r;

		r = run_step(c, it, st, src_fs, dst_fs, fr, err);
		if (r < 0) {
			zf_err_prefix(err, "%s", dst_fs);
			return r;
		}
		if (st->kind == ZF_REPLAN_STEP_RESUME && it->plan_again)
			return replan_one(c, src_fs, dst_fs, false, fr, err);
	}
	settle_item(c, it, src_fs, dst_fs, fr);
	return 0;
}

/* Runs IT, a plan item for SRC_FS -> DST_FS (full names). */
static int run_item(struct ctx *c, const struct zf_replan_item *it, const char *src_fs,
		    const char *dst_fs, struct zf_replicate_fs_result *fr, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv holds = ZF_STRV_INIT;
	_cleanup_(zf_log_scope_end) _unused_ struct zf_log_scope scope = zf_log_scope("fs", dst_fs);
	int r;

	switch (it->action) {
	case ZF_REPLAN_CONFLICT:
	case ZF_REPLAN_NOTHING_TO_SEND:
		return zf_err_set(err, it->action == ZF_REPLAN_CONFLICT ? -ZF_E_WOULD_DESTROY
									 : -ENOENT,
				  "%s", it->message ? it->message : zf_replan_action_str(it->action));
	default:
		break;
	}

	for (size_t i = 0; !c->batch_held && !c->read_only && i < it->holds.n; i++)
		zf_strv_addf(&holds, "%s@%s", src_fs, it->holds.v[i]);
	if (holds.n) {
		struct zf_err e2 = ZF_ERR_INIT;

		r = c->src->ops->hold(c->src, c->hold_tag, zf_strv_argv(&holds), holds.n, &e2);
		if (r == -EROFS) {
			note_read_only(c, "holds or a cursor");
			zf_strv_release(&holds);
		} else if (r < 0) {
			return zf_err_set(err, r, "cannot hold the snapshots of '%s': %s", src_fs,
					  zf_err_msg(&e2));
		}
	}
	r = run_steps(c, it, src_fs, dst_fs, fr, err);
	if (holds.n) {
		struct zf_err e2 = ZF_ERR_INIT;
		if (c->src->ops->release(c->src, c->hold_tag, zf_strv_argv(&holds), holds.n, &e2) < 0)
			log_warning("cannot release holds on '%s' (the next run will): %s", src_fs,
				    zf_err_msg(&e2));
	}
	return r;
}

/* ---- workers --------------------------------------------------------------- */

static void *worker(void *arg)
{
	struct ctx *c = arg;

	for (;;) {
		size_t i;
		int r;

		pthread_mutex_lock(&c->lock);
		while ((r = zf_replan_sched_next(c->sched, &i)) == -EAGAIN)
			pthread_cond_wait(&c->cond, &c->lock);
		pthread_mutex_unlock(&c->lock);
		if (r == 0)
			return NULL;

		const struct zf_replan_item *it = &c->plan->items[i];
		struct zf_replicate_fs_result *fr = &c->res->v[i];
		struct zf_err err = ZF_ERR_INIT;
		double t0 = zf_now_sec();
		_cleanup_free_ char *src_fs = join(c->src_root, it->fs);

		r = run_item(c, it, src_fs, fr->target, fr, &err);
		for (unsigned attempt = 1; r < 0 && zf_replicate_transient(r) &&
					   attempt <= c->o->retries; attempt++) {
			retry_wait(c->o, attempt, fr->target, &err);
			zf_err_clear(&err);
			r = replan_one(c, src_fs, fr->target, true, fr, &err);
		}
		fr->seconds = zf_now_sec() - t0;
		if (r < 0) {
			fr->status = ZF_REPLICATE_FAILED;
			fr->error = zf_xstrdup(zf_err_msg(&err));
			log_error("%s", fr->error);
		} else {
			fr->status = ZF_REPLICATE_OK;
		}
		pthread_mutex_lock(&c->lock);
		zf_replan_sched_done(c->sched, i, r >= 0);
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
}

static void *progress_thread(void *arg)
{
	struct ctx *c = arg;
	struct zf_replicate_progress p[ZF_REPLICATE_JOBS_MAX];

	pthread_mutex_lock(&c->lock);
	while (!c->stop_progress) {
		struct timespec until;
		size_t n = 0;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&c->cond, &c->lock, &until);
		if (c->stop_progress)
			break;
		double t = zf_now_sec();
		for (size_t i = 0; i < ZF_REPLICATE_JOBS_MAX; i++) {
			struct slot *s = &c->slots[i];
			if (!s->active)
				continue;
			p[n++] = (struct zf_replicate_progress){
				.target = s->target,
				.bytes = __atomic_load_n(&s->bytes, __ATOMIC_RELAXED),
				.estimate = s->estimate,
				.seconds = t - s->start,
			};
		}
		c->o->progress(p, n, c->o->userdata);  /* under the lock: targets stay valid */
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---- the run ---------------------------------------------------------------- */

/*
 * The identity a remote source's server serves us as, in the form its
 * config names it: a server from before namespaces said "tcp:ADDR:PORT".
 */
static void namespace_of(const char *who, char ns[ZF_ZFS_NAMESPACE_MAX])
{
	_cleanup_free_ char *id = zf_xstrdup(who);
	char *a = (char *)startswith(id, "tcp:"), *colon;

	if (a && a[0] == '[' && (colon = strstr(a, "]:"))) {
		memmove(a, a + 1, (size_t)(colon - a - 1));
		a[colon - a - 1] = '\0';
	} else if (a && (colon = strchr(a, ':')) && !strchr(colon + 1, ':')) {
		*colon = '\0';
	}
	zf_zfs_namespace(id, ns);
}

/*
 * The target's id when the user gave none: "t" and 8 hex digits of a
 * 64-bit FNV-1a of where the data goes (DST as given, or the local root),
 * so that a source replicated to two targets keeps a cursor, holds and
 * sync snapshots for each (issue 11), and the same target keeps its own
 * from run to run.
 */
static void target_id(struct ctx *c, char out[16])
{
	const char *dst = c->o->dst_name ? c->o->dst_name : c->dst_root;
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = streq(c->dst->kind, "local") ? c->dst_root : dst; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(out, 16, "t%08" PRIx32, (uint32_t)(h ^ (h >> 32)));
}

/* This run's names on the source (struct ctx); a remote source's carry our namespace there. */
static int naming_init(struct ctx *c, struct zf_err *err)
{
	const struct zf_replicate_opts *o = c->o;
	char ns[ZF_ZFS_NAMESPACE_MAX], tid[16];
	const char *who = NULL;
	int r;

	if (c->src->ops->served_as) {
		if ((r = c->src->ops->served_as(c->src, &who, err)) < 0)
			return r;
	}
	target_id(c, tid);
	if (who && *who) {
		namespace_of(who, ns);
		c->cursor_id = zf_xasprintf("%s_%s", ns, o->cursor_id ? o->cursor_id : tid);
	} else {
		c->cursor_id = zf_xstrdup(o->cursor_id ? o->cursor_id : tid);
	}
	/* the target's id in every sync snapshot: the cleanup takes only its own */
	c->sync_prefix = zf_xasprintf("%s%s_", o->sync_snap_prefix ? o->sync_snap_prefix
								 : "zferry_", c->cursor_id);
	c->res->target_id = zf_xstrdup(c->cursor_id);
	snprintf(c->hold_tag, sizeof(c->hold_tag), "%s%s%s", HOLD_TAG, c->cursor_id ? "_" : "",
		 c->cursor_id ? c->cursor_id : "");
	return 0;
}

/*
 * The receiving side's rules for this run's streams.  A stream from
 * another host is a hostile sender's (issue 10): the built-in allow list
 * and what the user accepted with --accept-prop.  A local source's
 * properties are the user's own: all kept but where the data appears.
 * Clones find their origin inside the target tree only.
 */
static void policy_init(struct ctx *c)
{
	static const char *const local_deny[] = { "mountpoint", "sharenfs", "sharesmb", NULL };
	bool remote_src = !streq(c->src->kind, "local");

	if (remote_src) {
		zf_strv_add(&c->policy_allow, "default");
		zf_strv_addv(&c->policy_allow, c->o->accept_props);
	} else {
		zf_strv_add(&c->policy_allow, "*");
		c->policy.deny = local_deny;
	}
	c->policy.allow = zf_strv_argv(&c->policy_allow);
	c->policy.mount = c->o->mount;
	c->origin_roots[0] = c->dst_root;
	c->origin_roots[1] = NULL;
}

/* One replication of SRC to DST at a time: holds and partial state are per pair. */
static int take_lock(const char *src_root, const char *dst_root, int *ret_fd, struct zf_err *err)
{
	uint64_t h = 1469598103934665603ULL;       /* FNV-1a of "src\0dst" */
	char path[128];
	const char *dir = access("/run/lock", W_OK) == 0 ? "/run/lock" : "/tmp";
	int fd;

	for (const char *p = src_root; ; p++) {
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		if (!*p)
			break;
	}
	for (const char *p = dst_root; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(path, sizeof(path), "%s/zferry-replicate-%016" PRIx64 ".lock", dir, h);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open lock file '%s': %m", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		safe_close(fd);
		return zf_err_set(err, r, "another zferry replicate of '%s' to '%s' is running",
				  src_root, dst_root);
	}
	*ret_fd = fd;
	return 0;
}

static void make_stamp(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y%m%dT%H%M%SZ", &tm);
}

static void result_init(struct ctx *c)
{
	struct zf_replicate_result *res = c->res;

	res->n = c->plan->n_items;
	res->v = zf_xcalloc(res->n ? res->n : 1, sizeof(*res->v));
	c->settled_txg = zf_xcalloc(res->n ? res->n : 1, sizeof(*c->settled_txg));
	c->deferred = zf_xcalloc(res->n ? res->n : 1, sizeof(*c->deferred));
	for (size_t i = 0; i < res->n; i++) {
		const struct zf_replan_item *it = &c->plan->items[i];
		struct zf_replicate_fs_result *fr = &res->v[i];
		c->settled_txg[i] = it->settled ? it->settled_txg : 0;
		fr->source = join(c->src_root, it->fs);
		fr->target = join(c->dst_root, it->fs);
		fr->action = it->action;
		fr->status = ZF_REPLICATE_PLANNED;
		if (it->message)
			fr->message = zf_xstrdup(it->message);
		for (size_t k = 0; k < it->n_steps; k++) {
			const struct zf_replan_step *st = &it->steps[k];
			if (st->kind != ZF_REPLAN_STEP_SEND)
				continue;
			if (!fr->from && st->from)
				fr->from = zf_xstrdup(st->from);
			free(fr->to);
			fr->to = zf_xstrdup(st->to);
		}
	}
}

/* ---- the run, phase by phase -------------------------------------------------- */

/*
 * On one host, a target inside its source (tank/data -> tank/data/backup)
 * would copy the copy one level deeper every run, and a source inside its
 * target would receive over itself.
 */
static int check_overlap(struct zf_endpoint *src, const char *src_root, struct zf_endpoint *dst,
			 const char *dst_root, struct zf_err *err)
{
	if (!streq(src->kind, "local") || !streq(dst->kind, "local"))
		return 0;
	if (streq(src_root, dst_root))
		return zf_err_set(err, -EINVAL, "SRC and DST are both '%s'", src_root);
	if (relative(src_root, dst_root))
		return zf_err_set(err, -EINVAL, "DST '%s' lies inside SRC '%s': each run would "
				  "copy the copy again", dst_root, src_root);
	if (relative(dst_root, src_root))
		return zf_err_set(err, -EINVAL, "SRC '%s' lies inside DST '%s': it would be "
				  "received over itself", src_root, dst_root);
	return 0;
}

/*
 * What would make every receive fail, checked before anything is taken: a
 * DST root whose parent is missing.  It takes a zfs run only when the
 * listing found no DST root.
 */
static int check_target_parent(struct ctx *c, const struct side *d, struct zf_err *err)
{
	_cleanup_free_ char *parent = NULL;
	struct zf_ep_fs_list l = { 0 };
	struct zf_err e2 = ZF_ERR_INIT;
	int r;

	if (d->n > 0 || !strchr(c->dst_root, '/'))
		return 0;
	parent = zf_xstrndup(c->dst_root, (size_t)(strrchr(c->dst_root, '/') - c->dst_root));
	r = c->dst->ops->list(c->dst, parent, false, NULL, NULL, &l, &e2);
	zf_ep_fs_list_release(&l);
	if (r == -ENOENT)
		return zf_err_set(err, -ENOENT, "the parent '%s' of DST '%s' does not exist: create "
				  "it first (zfs create -p %s)", parent, c->dst_root, parent);
	return 0;       /* listed, or not ours to list (a grant below it): the receive will tell */
}

/* Whether any item of p has a step: something to receive, abort, rename or create. */
static bool plan_has_steps(const struct zf_replan *p)
{
	for (size_t i = 0; i < p->n_items; i++)
		if (p->items[i].n_steps)
			return true;
	return false;
}

/*
 * A target pool (on this host) imported read-only makes every step fail:
 * refused before the sync snapshot.  Asked only when the plan has steps,
 * so that a run with nothing to receive runs no zpool for it.
 */
static int check_target_writable(struct ctx *c, const struct zf_replan *p, struct zf_err *err)
{
	struct zf_err e2 = ZF_ERR_INIT;
	bool ro = false;

	if (!streq(c->dst->kind, "local") || !plan_has_steps(p))
		return 0;
	if (zf_zfs_pool_readonly(c->dst_root, &ro, &e2) >= 0 && ro)
		return zf_err_set(err, -EROFS, "the pool of DST '%s' is imported read-only",
				  c->dst_root);
	return 0;
}

/* This target's sync snapshots of item i's filesystem FS older than what it settled on. */
static void obsolete_syncs(struct ctx *c, const struct side *s, size_t i, const char *fs,
			   struct zf_strv *ret)
{
	const struct zf_ep_fs *e = NULL;

	if (c->res->v[i].status != ZF_REPLICATE_OK || !c->settled_txg[i])
		return;
	for (size_t k = 0; k < s->list.n && !e; k++)
		if (streq(s->list.v[k].name, fs))
			e = &s->list.v[k];
	for (size_t k = 0; e && k < e->n_versions; k++) {
		const struct zf_zfs_version *v = &e->versions[k];
		if (!v->bookmark && startswith(v->name, c->sync_prefix) &&
		    v->createtxg < c->settled_txg[i])
			zf_strv_add(ret, v->name);
	}
}

static void report_removed(struct zf_replicate_fs_result *fr, const char *fs,
			   struct zf_strv *gone)
{
	log_info("'%s': removed %zu obsolete sync snapshot%s", fs, gone->n,
		 gone->n == 1 ? "" : "s");
	fr->removed = TAKE_PTR(gone->v);
	gone->n = gone->alloc = 0;
}

/*
 * All of them in one batch on the sender, a group per filesystem: 0 when
 * every one is gone, > 0 when some stay, < 0 when the batch did not run.
 */
static int remove_syncs_batch(struct ctx *c, struct zf_strv *old)
{
	_cleanup_free_ struct zf_zfs_batch_op *ops = NULL;
	_cleanup_strv_ struct zf_strv names = ZF_STRV_INIT;
	struct zf_err e2 = ZF_ERR_INIT;
	size_t n = 0, k = 0;
	int r;

	for (size_t i = 0; i < c->plan->n_items; i++) {
		_cleanup_free_ char *fs = join(c->src_root, c->plan->items[i].fs);
		for (size_t j = 0; j < old[i].n; j++)
			zf_strv_addf(&names, "%s@%s", fs, old[i].v[j]);
		n += old[i].n ? old[i].n + 1 : 0;
	}
	ops = zf_xcalloc(n ? n : 1, sizeof(*ops));
	for (size_t i = 0, j = 0; i < c->plan->n_items; i++) {
		if (old[i].n)   /* a group each: a large batch splits between them */
			ops[k++] = (struct zf_zfs_batch_op){ ZF_ZFS_BATCH_GROUP, NULL, NULL };
		for (size_t m = 0; m < old[i].n; m++)
			ops[k++] = (struct zf_zfs_batch_op){ ZF_ZFS_BATCH_DESTROY, NULL,
							     names.v[j++] };
	}
	r = c->src->ops->batch(c->src, ops, k, &e2);
	if (r > 0)
		log_info("obsolete sync snapshots: %d stay after the batch: %s", r,
			 zf_err_msg(&e2));
	else if (r < 0)
		log_info("removing obsolete sync snapshots one filesystem at a time: %s",
			 zf_err_msg(&e2));
	return r;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * After a batch that left some: moves the ones that are gone from old[i]
 * to gone[i], by one listing of those filesystems.  < 0 if that listing
 * failed (then nothing moved).
 */
static int sort_out_gone(struct ctx *c, struct zf_strv *old, struct zf_strv *gone)
{
	_cleanup_strv_ struct zf_strv fs = ZF_STRV_INIT, snaps = ZF_STRV_INIT;
	struct zf_zfs_version_list vl = { 0 };
	struct zf_err e2 = ZF_ERR_INIT;
	int r;

	if (!c->src->ops->list_versions)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < c->plan->n_items; i++) {
		_cleanup_free_ char *name = join(c->src_root, c->plan->items[i].fs);
		if (old[i].n)
			zf_strv_add(&fs, name);
	}
	r = c->src->ops->list_versions(c->src, zf_strv_argv(&fs), fs.n, &vl, &e2);
	if (r < 0) {
		log_info("cannot list what the batch left: %s", zf_err_msg(&e2));
		zf_zfs_version_list_release(&vl);
		return r;
	}
	for (size_t k = 0; k < vl.n; k++)
		if (!vl.v[k].bookmark)
			zf_strv_addf(&snaps, "%s@%s", vl.v[k].fs, vl.v[k].name);
	zf_zfs_version_list_release(&vl);
	zf_strv_sort(&snaps);
	for (size_t i = 0; i < c->plan->n_items; i++) {
		_cleanup_strv_ struct zf_strv stay = ZF_STRV_INIT;
		_cleanup_free_ char *name = join(c->src_root, c->plan->items[i].fs);

		for (size_t j = 0; j < old[i].n; j++) {
			_cleanup_free_ char *full = zf_xasprintf("%s@%s", name, old[i].v[j]);
			bool there = snaps.n && bsearch(&full, snaps.v, snaps.n, sizeof(char *),
							cmp_strp);
			zf_strv_add(there ? &stay : &gone[i], old[i].v[j]);
		}
		zf_strv_release(&old[i]);
		old[i] = stay;
		stay = (struct zf_strv)ZF_STRV_INIT;
	}
	return 0;
}

/*
 * Sync snapshots this target no longer needs: once an item succeeded, its
 * target has `settled` and the cursor marks it, so this target's older
 * sync snapshots are no one's base (another target's are named after that
 * target, and held while it runs: zfs refuses to destroy them then).
 * Called after our holds are released.  All of them go in one batch where
 * the sender takes one (a crash keeps all or none; each is destroyed or
 * not, and none is anyone's base).  What a batch leaves (a hold, or a
 * snapshot busy for the channel program, such as one mounted under .zfs,
 * which `zfs destroy` unmounts first), and all of them where there is no
 * batch, go one `zfs destroy` per filesystem, as before batches; the
 * result names only the ones that went.
 */
static void remove_obsolete_syncs(struct ctx *c, const struct side *s)
{
	_cleanup_free_ struct zf_strv *old = NULL, *gone = NULL;
	size_t n = 0;
	int r = -EOPNOTSUPP;

	if (c->read_only || !c->o->sync_snap)
		return;
	old = zf_xcalloc(c->plan->n_items ? c->plan->n_items : 1, sizeof(*old));
	gone = zf_xcalloc(c->plan->n_items ? c->plan->n_items : 1, sizeof(*gone));
	for (size_t i = 0; i < c->plan->n_items; i++) {
		_cleanup_free_ char *fs = join(c->src_root, c->plan->items[i].fs);
		obsolete_syncs(c, s, i, fs, &old[i]);
		n += old[i].n;
	}
	if (n == 0)
		return;
	if (c->src->ops->batch)
		r = remove_syncs_batch(c, old);
	if (r == 0) {
		for (size_t i = 0; i < c->plan->n_items; i++) {
			gone[i] = old[i];
			old[i] = (struct zf_strv)ZF_STRV_INIT;
		}
	} else if (r > 0) {
		(void)sort_out_gone(c, old, gone);
	}
	for (size_t i = 0; i < c->plan->n_items; i++) {
		_cleanup_free_ char *fs = join(c->src_root, c->plan->items[i].fs);
		struct zf_err e2 = ZF_ERR_INIT;

		if (old[i].n) {
			if (c->src->ops->destroy_snapshots(c->src, fs, zf_strv_argv(&old[i]),
							   old[i].n, &e2) < 0)
				log_info("'%s': obsolete sync snapshots stay: %s", fs,
					 zf_err_msg(&e2));
			else
				zf_strv_addn(&gone[i], zf_strv_argv(&old[i]), old[i].n);
		}
		if (gone[i].n)
			report_removed(&c->res->v[i], fs, &gone[i]);
		zf_strv_release(&old[i]);
		zf_strv_release(&gone[i]);
	}
}

static int make_plan(struct ctx *c, const struct zf_replan_fs *src, size_t n_src,
		     const struct side *d, const char *sync, struct zf_replan **ret,
		     struct zf_err *err)
{
	const struct zf_replicate_opts *o = c->o;
	const struct zf_replan_opts po = {
		.recursive = o->recursive,
		.intermediates = o->intermediates,
		.flags = (o->large_block ? ZF_REPLAN_LARGE_BLOCK : 0) |
			 (o->embed ? ZF_REPLAN_EMBED : 0) |
			 (o->compressed ? ZF_REPLAN_COMPRESSED : 0),
		.raw = o->raw,
		.force_rollback = o->force_rollback,
		.rename_diverged = o->rename_diverged,
		.diverged_stamp = c->stamp,
		.no_resume = o->no_resume,
		.sync_snap = sync,
		.cursor_id = c->cursor_id,
		.src_display = c->src_root,
		.dst_display = c->dst_root,
	};

	return zf_replan_new(src, n_src, d->fs, d->n, &po, ret, err);
}

/*
 * The sender as it will be once the sync snapshot is taken: every
 * filesystem that changed since its newest snapshot (or has none) gets it
 * as its newest version.  Planning on this is what makes a dry run the
 * real plan, and lets the real run snapshot only what it will send.
 */
struct sim {
	struct zf_replan_fs *fs;
	struct zf_replan_version *versions;
};

static void sim_release(struct sim *m)
{
	free(m->fs);
	free(m->versions);
}

/*
 * A sync snapshot of some target: zferry_<id>_<UTC stamp>, as we name ours
 * (a periodic `zferry snapshot` is zferry_<stamp>, without an id).
 */
static bool sync_name(const char *name)
{
	static const char pat[] = "_########T######Z";       /* # a digit */
	size_t n = strlen(name), m = sizeof(pat) - 1;

	if (!startswith(name, "zferry_") || n < strlen("zferry_") + 1 + m)
		return false;
	name += n - m;
	for (size_t i = 0; i < m; i++)
		if (pat[i] == '#' ? !isdigit((unsigned char)name[i]) : name[i] != pat[i])
			return false;
	return true;
}

/*
 * The sender's versions as they would be after the sync snapshot NAME:
 * taken where something was written since the newest snapshot, where there
 * is none, and where the newest is another target's sync snapshot (PREFIX
 * is ours), which that target's next run destroys: each target's base is
 * its own.
 */
static void sim_sync(const struct side *s, const char *name, const char *prefix,
		     struct sim *ret)
{
	size_t nv = 0, k = 0;

	for (size_t i = 0; i < s->n; i++)
		nv += s->fs[i].n_versions + 1;
	ret->fs = zf_xcalloc(s->n ? s->n : 1, sizeof(*ret->fs));
	ret->versions = zf_xcalloc(nv ? nv : 1, sizeof(*ret->versions));
	for (size_t i = 0; i < s->n; i++) {
		const struct zf_replan_fs *f = &s->fs[i];
		const struct zf_replan_version *newest = NULL;
		uint64_t txg = 0;

		ret->fs[i] = *f;
		ret->fs[i].versions = ret->versions + k;
		for (size_t j = 0; j < f->n_versions; j++) {
			const struct zf_replan_version *v = &f->versions[j];
			ret->versions[k++] = *v;
			txg = MAX(txg, v->createtxg);
			if (!v->bookmark && (!newest || v->createtxg > newest->createtxg))
				newest = v;
		}
		if (f->modified || !newest ||
		    (sync_name(newest->name) && !startswith(newest->name, prefix))) {
			/* a guid no snapshot has: zfs's are random and nonzero */
			ret->versions[k++] = (struct zf_replan_version){
				.name = name, .guid = UINT64_MAX - i, .createtxg = txg + 1,
			};
			ret->fs[i].n_versions++;
		}
	}
}

/* The filesystems whose plan sends up to the sync snapshot: the ones to snapshot. */
static void sync_targets(struct ctx *c, const struct zf_replan *p, const char *name,
			 struct zf_strv *ret)
{
	for (size_t i = 0; i < p->n_items; i++) {
		const struct zf_replan_item *it = &p->items[i];
		bool sends = false;

		for (size_t k = 0; k < it->n_steps; k++)
			if (it->steps[k].kind == ZF_REPLAN_STEP_SEND && streq(it->steps[k].to, name))
				sends = true;
		if (sends) {
			_cleanup_free_ char *fs = join(c->src_root, it->fs);
			zf_strv_add(ret, fs);
		}
	}
}

/*
 * Takes the sync snapshot of what will send up to it, then lists the
 * sender again.  A read-only source replicates what it already has.
 */
static int take_sync_snapshot(struct ctx *c, struct excludes *x, const struct zf_strv *fs,
			      const char *name, struct side *s, struct zf_err *err)
{
	struct zf_err e2 = ZF_ERR_INIT;
	int r;

	r = c->src->ops->snapshot(c->src, (const char *const *)fs->v, fs->n, name, &e2);
	if (r == -EROFS) {
		note_read_only(c, "a sync snapshot, holds or a cursor");
		return 0;
	}
	if (r < 0)
		return zf_err_set(err, r, "cannot take the sync snapshot: %s", zf_err_msg(&e2));
	c->res->sync_snap = zf_xstrdup(name);
	if (c->src->ops->list_versions) {
		/* only the snapshotted filesystems changed: one zfs list instead of four runs */
		struct zf_zfs_version_list vl = { 0 };

		r = c->src->ops->list_versions(c->src, (const char *const *)fs->v, fs->n, &vl, &e2);
		if (r >= 0) {
			zf_ep_fs_list_update(&s->list, (const char *const *)fs->v, fs->n, &vl);
			free(s->fs);
			free(s->versions);
			s->fs = NULL;
			s->versions = NULL;
			s->n = 0;
			side_fill(s, c->src_root);
			return 0;
		}
		zf_zfs_version_list_release(&vl);
	}
	side_release(s);
	*s = (struct side){ 0 };
	return list_side(c->o, c->src, c->src_root, c->o->recursive, x, false, s, err);
}

/* Every item's holds in one atomic `zfs hold`; when that fails, items hold their own. */
static void hold_all(struct ctx *c)
{
	struct zf_err e2 = ZF_ERR_INIT;
	int r;

	for (size_t i = 0; i < c->plan->n_items; i++) {
		const struct zf_replan_item *it = &c->plan->items[i];
		_cleanup_free_ char *fs = join(c->src_root, it->fs);
		for (size_t k = 0; k < it->holds.n; k++) {
			_cleanup_free_ char *snap = zf_xasprintf("%s@%s", fs, it->holds.v[k]);
			if (!zf_strv_contains(&c->batch_holds, snap))    /* zfs refuses twice */
				zf_strv_add(&c->batch_holds, snap);
		}
	}
	if (!c->batch_holds.n || c->read_only)
		return;
	r = c->src->ops->hold(c->src, c->hold_tag, zf_strv_argv(&c->batch_holds),
			      c->batch_holds.n, &e2);
	c->batch_held = r >= 0;
	if (r == -EROFS)
		note_read_only(c, "holds or a cursor");
	else if (r < 0)
		log_info("holding all at once failed, holding per filesystem: %s",
			 zf_err_msg(&e2));
}

/*
 * Every deferred cursor move of the run, batched on the sender: the new
 * cursors in one zfs channel program, then the old ones in one
 * lzc_destroy_bookmarks() (channel programs cannot destroy bookmarks), so
 * one zfs process and two txg waits stand for two zfs commands per
 * filesystem.  Why each instant is safe (guarantee 3):
 *  - until then, the items' snapshots are still held by the run's batch
 *    hold, and every old cursor is still there; killed here, the next run
 *    releases the stale holds and, finding the target up to date, sets
 *    the cursor then (its plan says so);
 *  - the new cursors come in one sync task: a crash keeps all or none;
 *  - old cursors go only once every new one exists (the batch reported no
 *    failure); otherwise they all stay, and the next run, which lists
 *    them again, removes them.  Their destruction is one sync task too;
 *  - the holds are released only after all this (release_all()).
 * When the sender cannot run the channel program, each item moves its
 * cursor as it would have after its last step (set_cursor()).
 */
static void move_cursors(struct ctx *c)
{
	_cleanup_free_ struct zf_replan_cursor_op *cops = NULL;
	_cleanup_free_ struct zf_zfs_batch_op *ops = NULL;
	_cleanup_strv_ struct zf_strv names = ZF_STRV_INIT, old = ZF_STRV_INIT;
	struct zf_err err = ZF_ERR_INIT;
	size_t n, k = 0;
	int r = 0;

	if (!c->defer_cursors)
		return;
	n = zf_replan_cursor_ops(c->plan, c->deferred, &cops);
	if (n == 0)
		return;
	ops = zf_xcalloc(n, sizeof(*ops));
	for (size_t i = 0; i < n; i++) {
		const struct zf_replan_cursor_op *o = &cops[i];
		_cleanup_free_ char *fs = join(c->src_root, c->plan->items[o->item].fs);

		if (!o->snapshot) {
			zf_strv_addf(&old, "%s#%s", fs, o->mark);
			continue;
		}
		/* the strings stay where they are when names.v grows */
		zf_strv_addf(&names, "%s#%s", fs, o->mark);
		zf_strv_addf(&names, "%s@%s", fs, o->snapshot);
		ops[k++] = (struct zf_zfs_batch_op){ ZF_ZFS_BATCH_BOOKMARK, names.v[names.n - 1],
						     names.v[names.n - 2] };
	}
	if (k)
		r = c->src->ops->batch(c->src, ops, k, &err);
	if (r < 0) {
		log_info("moving cursors one command each: %s", zf_err_msg(&err));
		for (size_t i = 0; i < c->plan->n_items; i++)
			if (c->deferred[i]) {
				_cleanup_free_ char *fs = join(c->src_root, c->plan->items[i].fs);
				set_cursor(c, &c->plan->items[i], fs);
			}
		return;
	}
	if (r > 0) {
		log_warning("cannot set %d replication cursor(s), old ones stay: %s", r,
			    zf_err_msg(&err));
		return;
	}
	if (!old.n)
		return;
	zf_err_clear(&err);
	r = c->src->ops->destroy_bookmarks(c->src, zf_strv_argv(&old), old.n, &err);
	if (r != 0)
		log_warning("cannot remove %d old cursor(s) (the next run tries again): %s",
			    r > 0 ? r : (int)old.n, zf_err_msg(&err));
}

static void release_all(struct ctx *c)
{
	struct zf_err e2 = ZF_ERR_INIT;

	if (c->batch_held && c->src->ops->release(c->src, c->hold_tag,
						  zf_strv_argv(&c->batch_holds),
						  c->batch_holds.n, &e2) < 0)
		log_warning("cannot release holds (the next run will): %s", zf_err_msg(&e2));
}

/* Workers (and the progress reporter) until every item is handed out and done. */
static void run_workers(struct ctx *c, unsigned jobs)
{
	pthread_t threads[ZF_REPLICATE_JOBS_MAX], prog;
	bool have_prog = false;
	unsigned started = 0;

	c->sched = zf_replan_sched_new(c->plan);
	if (c->o->progress && pthread_create(&prog, NULL, progress_thread, c) == 0)
		have_prog = true;
	for (; started < jobs; started++)
		if (pthread_create(&threads[started], NULL, worker, c) != 0)
			break;
	if (started == 0)
		worker(c);      /* no thread could start: do the work here */
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (have_prog) {
		pthread_mutex_lock(&c->lock);
		c->stop_progress = true;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(prog, NULL);
	}
}

static void tally(struct ctx *c)
{
	for (size_t i = 0; i < c->res->n; i++) {
		struct zf_replicate_fs_result *fr = &c->res->v[i];
		if (zf_replan_sched_state(c->sched, i) == ZF_REPLAN_SKIPPED) {
			fr->status = ZF_REPLICATE_SKIPPED;
			free(fr->error);
			fr->error = zf_xstrdup(zf_replan_sched_reason(c->sched, i));
		}
		if (fr->status == ZF_REPLICATE_OK)
			c->res->ok++;
		else if (fr->status == ZF_REPLICATE_SKIPPED)
			c->res->skipped++;
		else
			c->res->failed++;
	}
}

/*
 * What the run would report, without running it: a conflict fails as the
 * real run fails it, with the same message, and what waits on it (its
 * children, clones of it) is skipped, so the dry run exits as the run would.
 */
static void dry_tally(struct ctx *c)
{
	_cleanup_(zf_replan_sched_freep) struct zf_replan_sched *s = zf_replan_sched_new(c->plan);
	size_t i;
	int r;

	while ((r = zf_replan_sched_next(s, &i)) > 0) {
		const struct zf_replan_item *it = &c->plan->items[i];
		struct zf_replicate_fs_result *fr = &c->res->v[i];
		bool ok = it->action != ZF_REPLAN_CONFLICT &&
			  it->action != ZF_REPLAN_NOTHING_TO_SEND;

		if (!ok) {
			fr->status = ZF_REPLICATE_FAILED;
			fr->error = zf_xstrdup(it->message ? it->message
							   : zf_replan_action_str(it->action));
		}
		zf_replan_sched_done(s, i, ok);
	}
	for (i = 0; i < c->res->n; i++) {
		struct zf_replicate_fs_result *fr = &c->res->v[i];
		if (zf_replan_sched_state(s, i) == ZF_REPLAN_SKIPPED) {
			fr->status = ZF_REPLICATE_SKIPPED;
			fr->error = zf_xstrdup(zf_replan_sched_reason(s, i));
		}
		if (fr->status == ZF_REPLICATE_PLANNED)
			c->res->ok++;
		else if (fr->status == ZF_REPLICATE_SKIPPED)
			c->res->skipped++;
		else
			c->res->failed++;
	}
}

/*
 * A filesystem the sync snapshot would conflict for was not snapshotted,
 * so its plan without it may read differently ("no snapshots to send"):
 * the run reports the conflict the dry run showed, which is the reason.
 */
static void adopt_conflicts(struct ctx *c)
{
	const struct zf_replan *sim = c->plan_sim;

	for (size_t i = 0; i < c->plan->n_items; i++) {
		struct zf_replan_item *it = &c->plan->items[i];

		for (size_t k = 0; k < sim->n_items; k++) {
			const struct zf_replan_item *si = &sim->items[k];
			if (!streq(si->fs, it->fs))
				continue;
			if (si->action == ZF_REPLAN_CONFLICT && it->action != ZF_REPLAN_CONFLICT) {
				it->action = ZF_REPLAN_CONFLICT;
				it->conflict = si->conflict;
				it->message = si->message;
				it->children_need = si->children_need;
				it->n_steps = 0;
				it->cursor = NULL;
				it->settled = NULL;
			}
			break;
		}
	}
}

/*
 * Lists the sender, names this run, then lists the receiver and checks it.
 * The receiver, and the whole plan, come before the sync snapshot: a
 * receiver that cannot be reached, refuses us or conflicts must leave the
 * sender as it was.
 */
static int survey(struct ctx *c, struct excludes *x, struct side *s, struct side *d,
		  struct zf_err *err)
{
	const struct zf_replicate_opts *o = c->o;
	int r;

	r = list_side(o, c->src, c->src_root, o->recursive, x, false, s, err);
	if (r < 0)
		return r;
	if (s->n == 0)
		return zf_err_set(err, -ENOENT, "nothing to replicate under '%s'", c->src_root);
	r = naming_init(c, err);
	if (r < 0)
		return r;
	r = list_side(o, c->dst, c->dst_root, true, NULL, true, d, err);
	if (r < 0)
		return r;
	return check_target_parent(c, d, err);
}

/*
 * Whether the source cannot be written: asks once whether its pool (on
 * this host) is imported read-only, and says so when it is.  Asked only
 * before the run would write there (a sync snapshot, holds, a cursor), so
 * a run with nothing new runs no zpool for it.
 */
static bool source_read_only(struct ctx *c)
{
	struct zf_err e2 = ZF_ERR_INIT;
	bool ro = false;

	if (c->read_only_asked || !streq(c->src->kind, "local"))
		return c->read_only;
	c->read_only_asked = true;
	if (zf_zfs_pool_readonly(c->src_root, &ro, &e2) >= 0 && ro)
		note_read_only(c, "a sync snapshot, holds or a cursor");
	return c->read_only;
}

/* Whether carrying out p writes on the sender: holds for its steps, or a cursor move. */
static bool plan_writes_source(const struct zf_replan *p)
{
	for (size_t i = 0; i < p->n_items; i++) {
		const struct zf_replan_item *it = &p->items[i];
		if (it->n_steps || it->cursor || it->cursor_remove.n)
			return true;
	}
	return false;
}

/*
 * The plan as if the sync snapshot *sync existed (c->plan_sim).  A sender
 * on a read-only pool takes none, in the dry run too: then *sync is
 * dropped and the plan is the sender's as it is.
 */
static int plan_ahead(struct ctx *c, const struct side *s, const struct side *d, char **sync,
		      struct sim *sim, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv snap_fs = ZF_STRV_INIT;
	int r;

	if (*sync)
		sim_sync(s, *sync, c->sync_prefix, sim);
	r = make_plan(c, *sync ? sim->fs : s->fs, s->n, d, *sync, &c->plan_sim, err);
	if (r < 0 || !*sync)
		return r;
	sync_targets(c, c->plan_sim, *sync, &snap_fs);
	if (!snap_fs.n || !source_read_only(c))
		return 0;
	c->plan_sim = zf_replan_free(c->plan_sim);
	free(*sync);
	*sync = NULL;
	return make_plan(c, s->fs, s->n, d, NULL, &c->plan_sim, err);
}

/* The dry run's report: the plan the run would carry out, sync snapshot and all. */
static void dry_run(struct ctx *c, const char *sync)
{
	_cleanup_strv_ struct zf_strv snap_fs = ZF_STRV_INIT;

	c->plan = TAKE_PTR(c->plan_sim);
	if (sync)
		sync_targets(c, c->plan, sync, &snap_fs);
	if (snap_fs.n)
		c->res->sync_snap = zf_xstrdup(sync);
	result_init(c);
	dry_tally(c);
}

/*
 * Takes the sync snapshot SYNC of what the simulated plan sends up to it,
 * then the plan that runs, from the sender as it now is.
 */
static int snapshot_and_plan(struct ctx *c, struct excludes *x, const char *sync,
			     struct side *s, const struct side *d, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv snap_fs = ZF_STRV_INIT;
	int r;

	if (sync)
		sync_targets(c, c->plan_sim, sync, &snap_fs);
	if (snap_fs.n && (r = take_sync_snapshot(c, x, &snap_fs, sync, s, err)) < 0)
		return r;
	r = make_plan(c, s->fs, s->n, d, c->res->sync_snap, &c->plan, err);
	if (r < 0)
		return r;
	adopt_conflicts(c);
	return 0;
}

static int run(struct ctx *c, struct excludes *x, unsigned jobs, struct zf_err *err)
{
	const struct zf_replicate_opts *o = c->o;
	_cleanup_(side_release) struct side s = { 0 }, d = { 0 };
	_cleanup_(sim_release) struct sim sim = { 0 };
	_cleanup_free_ char *sync = NULL;
	int r;

	r = survey(c, x, &s, &d, err);
	if (r < 0)
		return r;
	if (o->sync_snap)
		sync = zf_xasprintf("%s%s", c->sync_prefix, c->stamp);
	r = plan_ahead(c, &s, &d, &sync, &sim, err);
	if (r < 0)
		return r;
	r = check_target_writable(c, c->plan_sim, err);
	if (r < 0)
		return r;
	if (o->dry_run) {
		dry_run(c, sync);
		return 0;
	}
	r = snapshot_and_plan(c, x, sync, &s, &d, err);
	if (r < 0)
		return r;
	if (plan_writes_source(c->plan))
		(void)source_read_only(c);
	release_stale_holds(c, &s);
	result_init(c);
	hold_all(c);
	/* items that hold their own snapshots release them before a batch would run */
	c->defer_cursors = (c->batch_held || !c->batch_holds.n) && c->src->ops->batch &&
			   c->src->ops->destroy_bookmarks && !c->read_only;
	run_workers(c, jobs);
	move_cursors(c);
	release_all(c);
	remove_obsolete_syncs(c, &s);
	tally(c);
	return 0;
}

/* Workers to start: the user's number, else one per processor; at most ZF_REPLICATE_JOBS_MAX. */
static unsigned jobs_count(const struct zf_replicate_opts *o)
{
	unsigned jobs = o->jobs;

	if (jobs == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = n > 0 ? (unsigned)n : 1;
	}
	if (jobs > ZF_REPLICATE_JOBS_MAX)
		jobs = ZF_REPLICATE_JOBS_MAX;
	return jobs;
}

/* Compiles the --exclude regular expressions PATTERNS (NULL-terminated, or NULL) into x. */
static int excludes_compile(struct excludes *x, const char *const *patterns, struct zf_err *err)
{
	for (const char *const *p = patterns; p && *p; p++) {
		char why[128];

		x->re = zf_xreallocarray(x->re, x->n + 1, sizeof(regex_t));
		if (zf_regex_compile(&x->re[x->n], *p, why, sizeof(why)) < 0)
			return zf_err_set(err, -EINVAL, "invalid --exclude regular expression '%s': %s",
					  *p, why);
		x->n++;
	}
	return 0;
}

static void excludes_release(struct excludes *x)
{
	for (size_t i = 0; i < x->n; i++)
		regfree(&x->re[i]);
	free(x->re);
}

/* What the run kept in c; the result it filled stays the caller's. */
static void ctx_release(struct ctx *c)
{
	zf_replan_sched_free(c->sched);
	zf_replan_free(c->plan);
	zf_replan_free(c->plan_sim);
	zf_strv_release(&c->batch_holds);
	zf_strv_release(&c->policy_allow);
	free(c->cursor_id);
	free(c->sync_prefix);
	free(c->settled_txg);
	free(c->deferred);
}

int zf_replicate(struct zf_endpoint *src, const char *src_root, struct zf_endpoint *dst,
		 const char *dst_root, const struct zf_replicate_opts *o,
		 struct zf_replicate_result *ret, struct zf_err *err)
{
	/* declared first, so released last: the lock outlives everything the run held */
	_cleanup_close_ int lock_fd = -EBADF;
	_cleanup_(excludes_release) struct excludes x = { .root = src_root };
	_cleanup_(ctx_release) struct ctx c = {
		.src = src, .dst = dst, .src_root = src_root, .dst_root = dst_root, .o = o,
		.res = ret,
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
		.rate = ZF_RATE_INIT(o->bwlimit),
	};
	int r;

	*ret = (struct zf_replicate_result){ 0 };
	if ((r = zf_zfs_name_check(src_root, ZF_ZFS_NAME_DATASET, err)) < 0 ||
	    (r = zf_zfs_name_check(dst_root, ZF_ZFS_NAME_DATASET, err)) < 0 ||
	    (r = check_overlap(src, src_root, dst, dst_root, err)) < 0)
		return r;
	policy_init(&c);
	make_stamp(c.stamp, sizeof(c.stamp));
	r = excludes_compile(&x, o->excludes, err);
	if (r < 0)
		return r;
	if (!o->dry_run) {
		r = take_lock(o->src_name ? o->src_name : src_root,
			      o->dst_name ? o->dst_name : dst_root, &lock_fd, err);
		if (r < 0)
			return r;
	}
	return run(&c, &x, jobs_count(o), err);
}

void zf_replicate_result_release(struct zf_replicate_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct zf_replicate_fs_result *f = &r->v[i];
		free(f->source);
		free(f->target);
		free(f->from);
		free(f->to);
		free(f->error);
		free(f->message);
		for (char **n = f->removed; n && *n; n++)
			free(*n);
		free(f->removed);
	}
	free(r->v);
	free(r->sync_snap);
	free(r->target_id);
	*r = (struct zf_replicate_result){ 0 };
}

const char *zf_replicate_status_str(enum zf_replicate_status s)
{
	switch (s) {
	case ZF_REPLICATE_OK: return "ok";
	case ZF_REPLICATE_FAILED: return "failed";
	case ZF_REPLICATE_SKIPPED: return "skipped";
	case ZF_REPLICATE_PLANNED: return "planned";
	}
	return "unknown";
}
