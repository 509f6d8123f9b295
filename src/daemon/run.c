/*
 * src/daemon/run.c — one run of one job: snapshot, replicate, prune, list
 *
 * A run is a child process of the daemon, so a reset (or the daemon
 * stopping) is one kill of its process group: zfs send and zfs recv -s die
 * with it and the next run resumes from the receive token.  Everything it
 * does goes to the daemon as report lines (daemon/report.h); its log lines
 * go to stderr as the daemon's do, with job=NAME on each.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "config/config.h"
#include "daemon/report.h"
#include "daemon/run.h"
#include "endpoint/endpoint.h"
#include "endpoint/open.h"
#include "job/prune.h"
#include "job/replicate.h"
#include "job/snapshot.h"
#include "log/log.h"
#include "plan/retention.h"
#include "transport/transport.h"
#include "transport/url.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/regex.h"
#include "util/strv.h"
#include "util/banned.h"

struct run {
	const struct zf_config_job *job;
	struct zf_report rep;
	const char *src_root, *dst_root;        /* push/pull: the two roots */
	unsigned failed_fs, ok_fs;
	bool failed;                            /* the run itself failed somewhere */
};

static void run_fail(struct run *r, const char *what, const struct zf_err *e)
{
	char msg[640];

	snprintf(msg, sizeof(msg), "%s: %s", what, zf_err_msg(e));
	log_error("%s", msg);
	zf_report_error(&r->rep, msg);
	r->failed = true;
}

/* ---- listing and stats ------------------------------------------------- */

static void ep_list_releasep(struct zf_ep_fs_list *l)
{
	zf_ep_fs_list_release(l);
}

struct exclude_filter {
	regex_t *re;
	size_t n;
};

static bool keep_name(const char *name, void *userdata)
{
	const struct exclude_filter *f = userdata;

	for (size_t i = 0; i < f->n; i++)
		if (regexec(&f->re[i], name, 0, NULL, 0) == 0)
			return false;
	return true;
}

static int compile_excludes(const struct zf_config_job *job, struct exclude_filter *f,
			    struct zf_err *err)
{
	f->re = zf_xcalloc(job->exclude.n ? job->exclude.n : 1, sizeof(*f->re));
	for (f->n = 0; f->n < job->exclude.n; f->n++) {
		char why[128];
		if (zf_regex_compile(&f->re[f->n], job->exclude.v[f->n], why, sizeof(why)) < 0)
			return zf_err_set(err, -EINVAL, "exclude '%s': %s", job->exclude.v[f->n],
					  why);
	}
	return 0;
}

static void exclude_release(struct exclude_filter *f)
{
	for (size_t i = 0; i < f->n; i++)
		regfree(&f->re[i]);
	free(f->re);
}

/* Newest snapshot's creation and the snapshot count of one listed filesystem. */
static void newest(const struct zf_ep_fs *fs, int64_t *ret_newest, uint64_t *ret_count)
{
	*ret_newest = 0;
	*ret_count = 0;
	for (size_t i = 0; i < fs->n_versions; i++) {
		const struct zf_zfs_version *v = &fs->versions[i];
		if (v->bookmark)
			continue;
		(*ret_count)++;
		if (v->creation > *ret_newest)
			*ret_newest = v->creation;
	}
}

static const struct zf_ep_fs *find_fs(const struct zf_ep_fs_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

/*
 * Lists src_root (and dst_root on dst, when dst is set) once each and
 * reports per source filesystem: its newest snapshot, how many, and the
 * newest snapshot of its target — what lag and the snapshot metrics are
 * made of.  A target that cannot be listed reports target_newest 0.
 */
static void report_stats(struct run *r, struct zf_endpoint *src, const char *src_root,
			 struct zf_endpoint *dst, const char *dst_root,
			 struct exclude_filter *ex)
{
	_cleanup_(ep_list_releasep) struct zf_ep_fs_list s = { 0 }, d = { 0 };
	struct zf_err e = ZF_ERR_INIT;
	size_t rlen = strlen(src_root);

	if (src->ops->list(src, src_root, r->job->recursive, keep_name, ex, &s, &e) < 0) {
		log_warning("cannot list '%s' for the metrics: %s", src_root, zf_err_msg(&e));
		return;
	}
	if (dst && dst->ops->list(dst, dst_root, true, NULL, NULL, &d, &e) < 0)
		log_debug("cannot list '%s' for the metrics: %s", dst_root, zf_err_msg(&e));
	for (size_t i = 0; i < s.n; i++) {
		_cleanup_free_ char *target = NULL;
		int64_t src_newest, dst_newest = 0;
		uint64_t count, dcount;

		newest(&s.v[i], &src_newest, &count);
		if (dst) {
			const struct zf_ep_fs *t;
			target = zf_xasprintf("%s%s", dst_root, s.v[i].name + rlen);
			t = find_fs(&d, target);
			if (t)
				newest(t, &dst_newest, &dcount);
		}
		zf_report_stats(&r->rep, s.v[i].name, target, src_newest, dst_newest, count);
	}
}

/* ---- steps ------------------------------------------------------------- */

/* One atomic snapshot of every listed filesystem under the roots, excludes left out. */
static int take_snapshot(struct run *r, struct zf_endpoint *ep, const char *const *roots,
			 size_t nroots, struct exclude_filter *ex)
{
	const struct zf_config_job *job = r->job;
	_cleanup_strv_ struct zf_strv names = ZF_STRV_INIT;
	_cleanup_free_ char *snap = NULL;
	struct zf_err e = ZF_ERR_INIT;
	int k;

	zf_report_step(&r->rep, "snapshotting");
	k = zf_snapshot_name(job->snap_prefix ? job->snap_prefix : ZF_SNAPSHOT_PREFIX,
			     job->snap_format, job->snap_local, time(NULL), &snap, &e);
	for (size_t i = 0; k >= 0 && i < nroots; i++) {
		_cleanup_(ep_list_releasep) struct zf_ep_fs_list l = { 0 };
		k = ep->ops->list(ep, roots[i], job->recursive, keep_name, ex, &l, &e);
		for (size_t f = 0; k >= 0 && f < l.n; f++)
			if (!zf_strv_contains(&names, l.v[f].name))
				zf_strv_add(&names, l.v[f].name);
	}
	if (k >= 0 && names.n)
		k = ep->ops->snapshot(ep, zf_strv_argv(&names), names.n, snap, &e);
	if (k < 0) {
		run_fail(r, "snapshot", &e);
		return k;
	}
	log_info("took @%s of %zu filesystems", snap, names.n);
	return 0;
}

/* Prunes the roots on ep by keep (a retention text); candidates by prefix, or all with regex. */
static void prune(struct run *r, struct zf_endpoint *ep, const char *const *roots, size_t n,
		  const char *keep, const char *prefix, const char *regex, const char *side)
{
	_cleanup_(zf_retention_policy_freep) struct zf_retention_policy *p = NULL;
	_cleanup_(zf_prune_report_release) struct zf_prune_report rep = { 0 };
	struct zf_err e = ZF_ERR_INIT;
	struct zf_prune_opts o = {
		.filesystems = roots, .n = n, .recursive = r->job->recursive, .ep = ep,
	};
	char what[64];
	int k;

	if (!keep)
		return;
	snprintf(what, sizeof(what), "prune %s", side);
	zf_report_step(&r->rep, "pruning");
	p = zf_retention_policy_new();
	k = zf_retention_policy_parse(p, keep, &e);
	if (k >= 0)
		k = zf_retention_policy_set_select(p, prefix, regex, &e);
	o.policy = p;
	if (k >= 0)
		k = zf_prune_run(&o, &rep, &e);
	if (k < 0) {
		run_fail(r, what, &e);
		return;
	}
	log_info("%s: destroyed %zu snapshots", what, rep.ndestroy);
}

/* ---- replication --------------------------------------------------------- */

static void progress(const struct zf_replicate_progress *p, size_t n, void *userdata)
{
	struct run *r = userdata;
	_cleanup_free_ struct zf_report_progress *v = zf_xcalloc(n ? n : 1, sizeof(*v));
	_cleanup_strv_ struct zf_strv names = ZF_STRV_INIT;
	size_t dlen = strlen(r->dst_root);

	/* the source name of a target: the same path below the other root */
	for (size_t i = 0; i < n; i++)
		zf_strv_addf(&names, "%s%s", r->src_root,
			     strncmp(p[i].target, r->dst_root, dlen) == 0 ? p[i].target + dlen : "");
	for (size_t i = 0; i < n; i++)
		v[i] = (struct zf_report_progress){
			.name = names.v[i], .target = p[i].target, .bytes = p[i].bytes,
			.estimate = p[i].estimate, .seconds = p[i].seconds,
		};
	zf_report_progress(&r->rep, v, n);
}

/* What `zferry replicate`'s transport options would say, from the job. */
static void remote_args(const struct zf_config_job *job, struct zf_strv *ssh,
			struct zf_remote_args *ra, char **ret_data_addr)
{
	*ra = (struct zf_remote_args){
		.tls_ca = job->tls_ca, .tls_cert = job->tls_cert, .tls_key = job->tls_key,
		.tls_server_name = job->tls_server_name, .tls_crl = job->tls_crl,
		.ssh_options = ssh, .remote_zferry = job->remote_zferry,
		.timeout_ms = job->timeout_s > 0 ? job->timeout_s * 1000
						 : ZF_TRANSPORT_DEFAULT_TIMEOUT_MS,
		.data_encrypt = job->data_channel_encrypt,
	};
	zf_strv_addn(ssh, (const char *const *)job->ssh_options.v, job->ssh_options.n);
	if (job->data_channel) {
		struct zf_err e = ZF_ERR_INIT;
		/* checked by the config parser: cannot fail here but for memory */
		if (zf_parse_data_channel(job->data_channel, ret_data_addr, &ra->data_ports,
					  &e) == 0)
			ra->data_addr = *ret_data_addr;
	}
}

static void replicate_opts(struct run *r, struct zf_replicate_opts *o)
{
	const struct zf_config_job *job = r->job;

	*o = (struct zf_replicate_opts){
		.recursive = job->recursive,
		.jobs = job->concurrency,
		.excludes = (const char *const *)job->exclude.v,
		.sync_snap = false,     /* the job's own snapshot, if any, was taken */
		.intermediates = job->intermediates,
		.raw = job->raw == ZF_CONFIG_RAW_ALWAYS ? ZF_REPLAN_RAW_ON
		       : job->raw == ZF_CONFIG_RAW_NEVER ? ZF_REPLAN_RAW_OFF : ZF_REPLAN_RAW_AUTO,
		.compressed = job->compressed, .large_block = job->large_block,
		.embed = job->embed, .props = job->props,
		.set_props = (const char *const *)job->set_props.v,
		.exclude_props = (const char *const *)job->exclude_props.v,
		.accept_props = (const char *const *)job->accept_props.v,
		.force_rollback = job->force_rollback,
		.rename_diverged = job->rename_diverged,
		.no_readonly = !job->readonly,
		.mount = job->mount,
		.no_resume = !job->resume,
		.cursor_id = job->target_id,
		.retries = job->retries,
		.bwlimit = job->bwlimit,
		.src_name = job->source, .dst_name = job->target,
		.progress = progress, .userdata = r,
	};
}

static void report_result(struct run *r, const struct zf_replicate_result *res)
{
	for (size_t i = 0; i < res->n; i++) {
		const struct zf_replicate_fs_result *f = &res->v[i];
		bool ok = f->status == ZF_REPLICATE_OK;
		zf_report_fs(&r->rep, f->source, f->target, ok,
			     ok ? NULL : f->error ? f->error : zf_replicate_status_str(f->status),
			     f->bytes);
		if (ok)
			r->ok_fs++;
		else
			r->failed_fs++;
	}
}

static int open_end(struct run *r, const char *spec, struct zf_remote_args *ra,
		    struct zf_endpoint **ret, char **ret_root)
{
	_cleanup_(zf_url_releasep) struct zf_url url = ZF_URL_INIT;
	struct zf_err e = ZF_ERR_INIT;

	if (zf_url_parse(spec, &url, &e) < 0) {
		run_fail(r, spec, &e);
		return -1;
	}
	*ret_root = zf_xstrdup(url.dataset);
	if (zf_endpoint_open(&url, ra, ret, &e) < 0) {
		run_fail(r, spec, &e);
		return -1;
	}
	return 0;
}

static void run_replication(struct run *r)
{
	const struct zf_config_job *job = r->job;
	_cleanup_(zf_endpoint_freep) struct zf_endpoint *src = NULL, *dst = NULL;
	_cleanup_(zf_replicate_result_release) struct zf_replicate_result res = { 0 };
	_cleanup_free_ char *src_root = NULL, *dst_root = NULL, *data_addr = NULL;
	_cleanup_strv_ struct zf_strv ssh = ZF_STRV_INIT;
	_cleanup_(exclude_release) struct exclude_filter ex = { 0 };
	struct zf_remote_args ra;
	struct zf_replicate_opts o;
	struct zf_err e = ZF_ERR_INIT;
	const char *prefix = job->snap_prefix ? job->snap_prefix : ZF_SNAPSHOT_PREFIX;

	remote_args(job, &ssh, &ra, &data_addr);
	if (compile_excludes(job, &ex, &e) < 0) {
		run_fail(r, "exclude", &e);
		return;
	}
	if (open_end(r, job->source, &ra, &src, &src_root) < 0 ||
	    open_end(r, job->target, &ra, &dst, &dst_root) < 0)
		return;
	r->src_root = src_root;
	r->dst_root = dst_root;
	if (job->type == ZF_JOB_PUSH && job->snapshot &&
	    take_snapshot(r, src, (const char *const *)&src_root, 1, &ex) < 0)
		return;
	zf_report_step(&r->rep, "replicating");
	replicate_opts(r, &o);
	if (zf_replicate(src, src_root, dst, dst_root, &o, &res, &e) < 0)
		run_fail(r, "replicate", &e);
	else
		report_result(r, &res);
	prune(r, src, (const char *const *)&src_root, 1, job->keep_sender, prefix, NULL, "sender");
	prune(r, dst, (const char *const *)&dst_root, 1, job->keep_receiver, prefix, NULL,
	      "receiver");
	zf_report_step(&r->rep, "listing");
	report_stats(r, src, src_root, dst, dst_root, &ex);
}

static void run_snap(struct run *r)
{
	const struct zf_config_job *job = r->job;
	_cleanup_(zf_endpoint_freep) struct zf_endpoint *ep = zf_endpoint_local_new();
	_cleanup_(exclude_release) struct exclude_filter ex = { 0 };
	const char *const *fs = (const char *const *)job->filesystems.v;
	struct zf_err e = ZF_ERR_INIT;

	if (compile_excludes(job, &ex, &e) < 0) {
		run_fail(r, "exclude", &e);
		return;
	}
	if (job->snapshot && take_snapshot(r, ep, fs, job->filesystems.n, &ex) < 0)
		return;
	prune(r, ep, fs, job->filesystems.n, job->keep,
	      job->snap_prefix ? job->snap_prefix : ZF_SNAPSHOT_PREFIX, NULL, "");
	zf_report_step(&r->rep, "listing");
	for (size_t i = 0; i < job->filesystems.n; i++)
		report_stats(r, ep, fs[i], NULL, NULL, &ex);
}

/*
 * A sink's retention: every snapshot its clients sent is a candidate
 * (whatever their prefix), but holds, cursors and the newest survive as
 * anywhere else, so a client's next incremental always finds its base.
 */
static void run_sink(struct run *r)
{
	const struct zf_config_job *job = r->job;
	_cleanup_(zf_endpoint_freep) struct zf_endpoint *ep = zf_endpoint_local_new();
	struct exclude_filter none = { 0 };
	const char *root = job->root_fs;

	prune(r, ep, &root, 1, job->keep, NULL, ".", "");
	zf_report_step(&r->rep, "listing");
	report_stats(r, ep, root, NULL, NULL, &none);
}

int zf_job_run(const struct zf_config_job *job, int report_fd)
{
	struct run r = { .job = job, .rep = { .fd = report_fd } };
	_cleanup_(zf_log_scope_end) _unused_ struct zf_log_scope s = zf_log_scope("job", job->name);

	switch (job->type) {
	case ZF_JOB_SNAP: run_snap(&r); break;
	case ZF_JOB_PUSH:
	case ZF_JOB_PULL: run_replication(&r); break;
	case ZF_JOB_SINK: run_sink(&r); break;
	case ZF_JOB_SOURCE: break;
	}
	if (r.failed && !r.ok_fs) {
		zf_report_done(&r.rep, "failed");
		return ZF_RUN_FAILED;
	}
	if (r.failed || r.failed_fs) {
		zf_report_done(&r.rep, "partial");
		return ZF_RUN_PARTIAL;
	}
	zf_report_done(&r.rep, "ok");
	return ZF_RUN_OK;
}
