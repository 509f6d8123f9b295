/* src/daemon/metrics.c — Prometheus text from the daemon's state, written by hand (no C library exists) */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include "config/config.h"
#include "daemon/escape.h"
#include "daemon/metrics.h"
#include "daemon/state.h"
#include "util/buf.h"
#include "util/macro.h"
#include "util/banned.h"

/*
 * One table of families: the renderer walks it, and the unit test checks
 * docs/metrics.md names each row, so names cannot drift from their docs.
 * A family's samples come from its value function, called per job, per
 * dataset or once; it returns false when that item has no sample (a lag
 * not known yet, bytes remaining of a dataset not being sent).
 */
enum scope { GLOBAL, JOB, DATASET };

struct ctx {
	struct zf_buf *out;
	const struct zf_dstate *s;
	const struct zf_dstate_job *j;
	const struct zf_dstate_fs *f;
};

typedef bool (*value_fn)(const struct ctx *c, char *v, size_t n);

struct family {
	const char *name, *type, *help;
	enum scope scope;
	value_fn value;                 /* NULL: emit() writes the samples itself */
	void (*emit)(const struct ctx *c, const struct family *fam);
};

static bool fmt_i64(char *v, size_t n, int64_t x)
{
	snprintf(v, n, "%" PRId64, x);
	return true;
}

static bool fmt_u64(char *v, size_t n, uint64_t x)
{
	snprintf(v, n, "%" PRIu64, x);
	return true;
}

/* Seconds to the millisecond; NaN if the state ever holds one (the format allows it). */
static bool fmt_seconds(char *v, size_t n, double x)
{
	if (!isfinite(x))
		snprintf(v, n, "NaN");
	else
		snprintf(v, n, "%.3f", x);
	return true;
}

/* name{k="v",...} value: labels a NULL-terminated list of key, value pairs (LABELS()). */
#define LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })
static void sample(struct zf_buf *b, const char *name, const char *const *labels, const char *v)
{
	zf_buf_adds(b, name);
	for (size_t i = 0; labels[i]; i += 2) {
		zf_buf_addc(b, i ? ',' : '{');
		zf_buf_adds(b, labels[i]);
		zf_buf_adds(b, "=\"");
		zf_esc_prom_label(b, labels[i + 1]);
		zf_buf_addc(b, '"');
	}
	if (labels[0])
		zf_buf_addc(b, '}');
	zf_buf_addf(b, " %s\n", v);
}

static void emit_values(const struct ctx *c0, const struct family *fam)
{
	struct ctx c = *c0;
	char v[64];

	if (fam->scope == GLOBAL) {
		if (fam->value(&c, v, sizeof(v)))
			sample(c.out, fam->name, LABELS(NULL), v);
		return;
	}
	for (size_t i = 0; i < c.s->njobs; i++) {
		c.j = &c.s->jobs[i];
		if (fam->scope == JOB) {
			if (fam->value(&c, v, sizeof(v)))
				sample(c.out, fam->name, LABELS("job", c.j->name), v);
			continue;
		}
		for (size_t k = 0; k < c.j->nfs; k++) {
			c.f = &c.j->fs[k];
			if (fam->value(&c, v, sizeof(v)))
				sample(c.out, fam->name,
				       LABELS("job", c.j->name, "dataset", c.f->name), v);
		}
	}
}

static bool v_start(const struct ctx *c, char *v, size_t n)
{
	return fmt_i64(v, n, c->s->start_time);
}

static bool v_config(const struct ctx *c, char *v, size_t n)
{
	return fmt_i64(v, n, c->s->config_loaded);
}

static bool v_job_running(const struct ctx *c, char *v, size_t n)
{
	bool on = c->j->state == ZF_DSTATE_RUNNING || c->j->state == ZF_DSTATE_STOPPING;
	return fmt_i64(v, n, on);
}

static bool v_job_next(const struct ctx *c, char *v, size_t n)
{
	return fmt_i64(v, n, c->j->next_run);
}

static bool v_job_success(const struct ctx *c, char *v, size_t n)
{
	return fmt_i64(v, n, c->j->last_success);
}

static bool v_job_duration(const struct ctx *c, char *v, size_t n)
{
	return c->j->last.result != ZF_DSTATE_NONE && fmt_seconds(v, n, c->j->last.seconds);
}

static bool v_job_errors(const struct ctx *c, char *v, size_t n)
{
	return fmt_u64(v, n, c->j->errors_total);
}

static bool v_fs_snapshot(const struct ctx *c, char *v, size_t n)
{
	return fmt_i64(v, n, c->f->last_snapshot);
}

static bool v_fs_bytes(const struct ctx *c, char *v, size_t n)
{
	return fmt_u64(v, n, c->f->bytes_total);
}

static bool v_fs_remaining(const struct ctx *c, char *v, size_t n)
{
	const struct zf_dstate_fs *f = c->f;
	return f->running && fmt_u64(v, n, f->bytes_estimate > f->bytes_done ?
					   f->bytes_estimate - f->bytes_done : 0);
}

static bool v_fs_snapshots(const struct ctx *c, char *v, size_t n)
{
	return fmt_u64(v, n, c->f->snapshots);
}

static bool v_fs_success(const struct ctx *c, char *v, size_t n)
{
	return fmt_i64(v, n, c->f->last_success);
}

static bool v_fs_errors(const struct ctx *c, char *v, size_t n)
{
	return fmt_i64(v, n, c->f->last_error != NULL);
}

static void emit_build_info(const struct ctx *c, const struct family *fam)
{
	sample(c->out, fam->name, LABELS("version", c->s->version), "1");
}

static void emit_job_info(const struct ctx *c, const struct family *fam)
{
	for (size_t i = 0; i < c->s->njobs; i++) {
		const struct zf_dstate_job *j = &c->s->jobs[i];
		const char *type = zf_job_type_str(j->type);
		sample(c->out, fam->name, LABELS("job", j->name, "type", type), "1");
	}
}

/* Every result, zeros too: rate() needs the series to exist before its first increment. */
static void emit_runs(const struct ctx *c, const struct family *fam)
{
	for (size_t i = 0; i < c->s->njobs; i++) {
		const struct zf_dstate_job *j = &c->s->jobs[i];
		for (int r = ZF_DSTATE_NONE + 1; r < ZF_DSTATE_NRESULTS; r++) {
			char v[32];
			fmt_u64(v, sizeof(v), j->runs[r]);
			sample(c->out, fam->name,
			       LABELS("job", j->name, "result", zf_dstate_result_str(r)), v);
		}
	}
}

/* Lag has a third label, the target; an unknown lag (< 0) is no sample rather than a guess. */
static void emit_lag(const struct ctx *c, const struct family *fam)
{
	for (size_t i = 0; i < c->s->njobs; i++) {
		const struct zf_dstate_job *j = &c->s->jobs[i];
		for (size_t k = 0; k < j->nfs; k++) {
			const struct zf_dstate_fs *f = &j->fs[k];
			char v[32];
			if (f->lag < 0)
				continue;
			fmt_i64(v, sizeof(v), f->lag);
			sample(c->out, fam->name, LABELS("job", j->name, "dataset", f->name,
			       "target", f->target ? f->target : ""), v);
		}
	}
}

#define G "gauge"
#define C "counter"
static const struct family families[] = {
	{ "zferry_build_info", G,
	  "Always 1; the version label says which zferry runs.",
	  GLOBAL, NULL, emit_build_info },
	{ "zferry_daemon_start_time_seconds", G,
	  "When the daemon started, seconds since the epoch.",
	  GLOBAL, v_start, NULL },
	{ "zferry_config_last_reload_timestamp_seconds", G,
	  "When the running configuration was read, seconds since the epoch.",
	  GLOBAL, v_config, NULL },
	{ "zferry_job_info", G,
	  "Always 1, one per configured job; the type label says what it does.",
	  JOB, NULL, emit_job_info },
	{ "zferry_job_running", G,
	  "1 while a run of the job is in progress (or stopping), else 0.",
	  JOB, v_job_running, NULL },
	{ "zferry_job_next_run_timestamp_seconds", G,
	  "When the job runs next, seconds since the epoch; 0 when nothing is scheduled.",
	  JOB, v_job_next, NULL },
	{ "zferry_job_last_success_timestamp_seconds", G,
	  "End of the job's last fully successful run, seconds since the epoch; 0 if none.",
	  JOB, v_job_success, NULL },
	{ "zferry_job_last_run_duration_seconds", G,
	  "How long the job's last finished run took; absent before the first run ends.",
	  JOB, v_job_duration, NULL },
	{ "zferry_job_runs_total", C,
	  "Finished runs of the job, by result.",
	  JOB, NULL, emit_runs },
	{ "zferry_job_errors_total", C,
	  "Failed runs and failed datasets of the job, counted.",
	  JOB, v_job_errors, NULL },
	{ "zferry_dataset_last_snapshot_timestamp_seconds", G,
	  "Creation time of the dataset's newest snapshot on the source; 0 if none is known.",
	  DATASET, v_fs_snapshot, NULL },
	{ "zferry_replication_lag_seconds", G,
	  "Newest source snapshot's creation minus the target's newest; absent while unknown.",
	  DATASET, NULL, emit_lag },
	{ "zferry_bytes_transferred_total", C,
	  "Bytes sent for the dataset since the daemon started.",
	  DATASET, v_fs_bytes, NULL },
	{ "zferry_bytes_remaining", G,
	  "Estimated bytes left in the dataset's transfer in progress.",
	  DATASET, v_fs_remaining, NULL },
	{ "zferry_snapshots", G,
	  "Snapshots of the dataset on the source.",
	  DATASET, v_fs_snapshots, NULL },
	{ "zferry_dataset_last_success_timestamp_seconds", G,
	  "When the dataset was last brought up to date, seconds since the epoch; 0 if never.",
	  DATASET, v_fs_success, NULL },
	{ "zferry_dataset_errors", G,
	  "1 when the dataset's last attempt failed, else 0.",
	  DATASET, v_fs_errors, NULL },
};
#undef G
#undef C

size_t zf_metrics_family_count(void)
{
	return ELEMENTSOF(families);
}

const char *zf_metrics_family_name(size_t i)
{
	return i < ELEMENTSOF(families) ? families[i].name : NULL;
}

void zf_metrics_render(const struct zf_dstate *s, _unused_ int64_t now, struct zf_buf *out)
{
	struct ctx c = { .out = out, .s = s };

	for (size_t i = 0; i < ELEMENTSOF(families); i++) {
		const struct family *fam = &families[i];
		zf_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name,
			    fam->type);
		if (fam->emit)
			fam->emit(&c, fam);
		else
			emit_values(&c, fam);
	}
}
