/* src/daemon/page.c — the status page: HTML tables and inline SVG, built from the state by hand */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <time.h>
#include "config/config.h"
#include "daemon/escape.h"
#include "daemon/page.h"
#include "daemon/state.h"
#include "util/buf.h"
#include "util/macro.h"
#include "util/banned.h"

static const char style[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2430;"
	"background:#f5f6f8}\n"
	"header{background:#1f3a5f;color:#fff;padding:14px 24px}\n"
	"header h1{margin:0;font-size:20px}header p{margin:4px 0 0;opacity:.85}\n"
	"main{padding:8px 24px 32px}h2{font-size:16px;margin:24px 0 8px}\n"
	"table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px #0002;width:100%}\n"
	"th,td{padding:6px 10px;border-bottom:1px solid #e3e6ea;text-align:left;"
	"vertical-align:top}\n"
	"th{background:#eef1f5;font-weight:600;white-space:nowrap}\n"
	"td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	".name{font-family:ui-monospace,monospace;overflow-wrap:anywhere}\n"
	".sched{white-space:nowrap}\n"
	".ago{color:#667085;font-size:12px;display:block}.none{color:#98a2b3}\n"
	".err{color:#b42318}tr.failing td{background:#fff5f4}\n"
	".badge{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px;color:#fff}\n"
	"span.r-ok{background:#2e9e44}span.r-partial{background:#c77c02}\n"
	"span.r-failed{background:#d92d20}\n"
	"span.r-cancelled,span.r-none{background:#8a94a6}span.s-running{background:#1570ef}\n"
	"span.s-stopping{background:#c77c02}span.s-idle,span.s-passive{background:#8a94a6}\n"
	"rect.r-ok{fill:#2e9e44}rect.r-partial{fill:#e49b0f}rect.r-failed{fill:#d92d20}\n"
	"rect.r-cancelled,rect.r-none{fill:#98a2b3}\n"
	".charts{display:flex;flex-wrap:wrap;gap:16px}\n"
	".chart{background:#fff;box-shadow:0 1px 2px #0002;padding:8px 12px}\n"
	".chart h3{margin:0 0 4px;font-size:14px}svg text{font-size:10px;fill:#475467}\n"
	"svg line{stroke:#98a2b3;stroke-width:1}progress{width:120px}\n";

/* "2026-12-07 06:00:00 UTC", or a dash for 0 (never). */
static void add_time(struct zf_buf *b, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char s[64];

	if (t <= 0 || !gmtime_r(&tt, &tm) ||
	    !strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S UTC", &tm)) {
		zf_buf_adds(b, "<span class=none>&mdash;</span>");
		return;
	}
	zf_buf_adds(b, s);
}

/* "850 ms", "12.3 s", "4m05s", "2h03m", "3d04h" */
static void add_duration(struct zf_buf *b, double secs)
{
	uint64_t s;

	if (!isfinite(secs) || secs < 0)
		secs = 0;
	s = (uint64_t)secs;
	if (secs == 0)
		zf_buf_adds(b, "0 s");
	else if (secs < 1)
		zf_buf_addf(b, "%.0f ms", secs * 1000);
	else if (secs < 60)
		zf_buf_addf(b, "%.1f s", secs);
	else if (s < 3600)
		zf_buf_addf(b, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		zf_buf_addf(b, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	else
		zf_buf_addf(b, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
}

static void add_bytes(struct zf_buf *b, uint64_t n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		zf_buf_addf(b, "%" PRIu64 " B", n);
		return;
	}
	for (v /= 1024; v >= 1024 && u + 1 < ELEMENTSOF(units); u++)
		v /= 1024;
	zf_buf_addf(b, "%.1f %s", v, units[u]);
}

/* A time with its age under it: "3m ago", "in 5m". */
static void add_when(struct zf_buf *b, int64_t t, int64_t now)
{
	add_time(b, t);
	if (t <= 0)
		return;
	zf_buf_adds(b, "<span class=ago>");
	if (t <= now) {
		add_duration(b, (double)(now - t));
		zf_buf_adds(b, " ago</span>");
	} else {
		zf_buf_adds(b, "in ");
		add_duration(b, (double)(t - now));
		zf_buf_adds(b, "</span>");
	}
}

static void add_text_or_dash(struct zf_buf *b, const char *s)
{
	if (!s || !*s) {
		zf_buf_adds(b, "<span class=none>&mdash;</span>");
		return;
	}
	zf_esc_html(b, s);
}

static void add_badge(struct zf_buf *b, const char *prefix, const char *word)
{
	zf_buf_addf(b, "<span class=\"badge %s-%s\">%s</span>", prefix, word, word);
}

static void page_head(struct zf_buf *b, const struct zf_dstate *s, int64_t now)
{
	zf_buf_adds(b, "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
		    "<meta name=viewport content=\"width=device-width, initial-scale=1\">\n"
		    "<meta http-equiv=refresh content=10>\n<title>zferry status</title>\n"
		    "<style>\n");
	zf_buf_adds(b, style);
	zf_buf_adds(b, "</style>\n</head>\n<body>\n<header>\n<h1>zferry ");
	zf_esc_html(b, s->version);
	zf_buf_adds(b, "</h1>\n<p>daemon started ");
	add_time(b, s->start_time);
	zf_buf_adds(b, " &middot; configuration ");
	add_text_or_dash(b, s->config_path);
	zf_buf_adds(b, " read ");
	add_time(b, s->config_loaded);
	zf_buf_adds(b, " &middot; page made ");
	add_time(b, now);
	zf_buf_adds(b, "</p>\n</header>\n<main>\n");
}

/* Last run: start, duration, result; a running job shows its current run's start instead. */
static void job_last_run(struct zf_buf *b, const struct zf_dstate_job *j, int64_t now)
{
	bool running = j->state == ZF_DSTATE_RUNNING || j->state == ZF_DSTATE_STOPPING;
	const struct zf_dstate_run *r = running ? &j->current : &j->last;

	zf_buf_adds(b, "<td>");
	if (running || j->last.result != ZF_DSTATE_NONE)
		add_when(b, r->start, now);
	else
		add_time(b, 0);
	zf_buf_adds(b, "</td><td class=num>");
	if (running)
		add_duration(b, (double)(now - j->current.start));
	else if (j->last.result != ZF_DSTATE_NONE)
		add_duration(b, j->last.seconds);
	zf_buf_adds(b, "</td><td>");
	if (running)
		add_badge(b, "s", "running");
	else
		add_badge(b, "r", zf_dstate_result_str(j->last.result));
	zf_buf_adds(b, "</td>");
}

static void job_row(struct zf_buf *b, const struct zf_dstate_job *j, int64_t now)
{
	zf_buf_addf(b, "<tr%s><td class=name>", j->last_error ? " class=failing" : "");
	zf_esc_html(b, j->name);
	zf_buf_addf(b, "</td><td>%s</td><td>", zf_job_type_str(j->type));
	add_badge(b, "s", zf_dstate_job_state_str(j->state));
	if ((j->state == ZF_DSTATE_RUNNING || j->state == ZF_DSTATE_STOPPING) && j->step[0]) {
		zf_buf_adds(b, " <span class=ago>");
		zf_esc_html(b, j->step);
		zf_buf_adds(b, "</span>");
	}
	zf_buf_adds(b, "</td><td class=\"name sched\">");
	add_text_or_dash(b, j->schedule);
	zf_buf_adds(b, "</td>");
	job_last_run(b, j, now);
	zf_buf_adds(b, "<td>");
	add_when(b, j->next_run, now);
	zf_buf_adds(b, "</td><td>");
	add_when(b, j->last_success, now);
	zf_buf_adds(b, "</td><td class=err>");
	if (j->last_error) {
		zf_esc_html(b, j->last_error);
		zf_buf_adds(b, "<span class=ago>");
		add_time(b, j->last_error_time);
		zf_buf_adds(b, "</span>");
	}
	zf_buf_adds(b, "</td></tr>\n");
}

static void page_jobs(struct zf_buf *b, const struct zf_dstate *s, int64_t now)
{
	zf_buf_adds(b, "<h2>Jobs</h2>\n");
	if (s->njobs == 0) {
		zf_buf_adds(b, "<p class=none>No jobs configured.</p>\n");
		return;
	}
	zf_buf_adds(b, "<table id=jobs>\n<thead><tr><th>Job</th><th>Type</th><th>State</th>"
		    "<th>Schedule</th><th>Last run</th><th>Duration</th><th>Result</th>"
		    "<th>Next run</th><th>Last success</th><th>Last error</th></tr></thead>\n"
		    "<tbody>\n");
	for (size_t i = 0; i < s->njobs; i++)
		job_row(b, &s->jobs[i], now);
	zf_buf_adds(b, "</tbody>\n</table>\n");
}

/* A transfer in progress: a bar, the step, done of estimate, rate and time left. */
static void fs_progress(struct zf_buf *b, const struct zf_dstate_fs *f)
{
	if (!f->running)
		return;
	if (f->bytes_estimate)
		zf_buf_addf(b, "<progress value=%" PRIu64 " max=%" PRIu64 "></progress> ",
			    MIN(f->bytes_done, f->bytes_estimate), f->bytes_estimate);
	zf_esc_html(b, f->step[0] ? f->step : "running");
	zf_buf_adds(b, "<span class=ago>");
	add_bytes(b, f->bytes_done);
	if (f->bytes_estimate) {
		zf_buf_adds(b, " of ");
		add_bytes(b, f->bytes_estimate);
	}
	if (f->rate > 0) {
		zf_buf_adds(b, " at ");
		add_bytes(b, (uint64_t)f->rate);
		zf_buf_adds(b, "/s");
		if (f->bytes_estimate > f->bytes_done) {
			zf_buf_adds(b, ", ");
			add_duration(b, (double)(f->bytes_estimate - f->bytes_done) / f->rate);
			zf_buf_adds(b, " left");
		}
	}
	zf_buf_adds(b, "</span>");
}

static void fs_row(struct zf_buf *b, const struct zf_dstate_job *j, const struct zf_dstate_fs *f,
		   int64_t now)
{
	zf_buf_addf(b, "<tr%s><td class=name>", f->last_error ? " class=failing" : "");
	zf_esc_html(b, j->name);
	zf_buf_adds(b, "</td><td class=name>");
	zf_esc_html(b, f->name);
	zf_buf_adds(b, "</td><td class=name>");
	add_text_or_dash(b, f->target);
	zf_buf_adds(b, "</td><td class=num>");
	if (f->lag >= 0)
		add_duration(b, (double)f->lag);
	else
		zf_buf_adds(b, "<span class=none>unknown</span>");
	zf_buf_adds(b, "</td><td>");
	add_when(b, f->last_snapshot, now);
	zf_buf_addf(b, "</td><td class=num>%" PRIu64 "</td><td class=num>", f->snapshots);
	add_bytes(b, f->bytes_total);
	zf_buf_adds(b, "</td><td>");
	add_when(b, f->last_success, now);
	zf_buf_adds(b, "</td><td class=err>");
	if (f->last_error) {
		zf_esc_html(b, f->last_error);
		zf_buf_adds(b, "<span class=ago>");
		add_time(b, f->last_error_time);
		zf_buf_adds(b, "</span>");
	}
	zf_buf_adds(b, "</td><td>");
	fs_progress(b, f);
	zf_buf_adds(b, "</td></tr>\n");
}

static void page_datasets(struct zf_buf *b, const struct zf_dstate *s, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < s->njobs; i++)
		n += s->jobs[i].nfs;
	zf_buf_adds(b, "<h2>Datasets</h2>\n");
	if (n == 0) {
		zf_buf_adds(b, "<p class=none>No datasets listed yet.</p>\n");
		return;
	}
	zf_buf_adds(b, "<table id=datasets>\n<thead><tr><th>Job</th><th>Dataset</th><th>Target</th>"
		    "<th>Lag</th><th>Last snapshot</th><th>Snapshots</th><th>Sent</th>"
		    "<th>Last success</th><th>Last error</th><th>Progress</th></tr></thead>\n"
		    "<tbody>\n");
	for (size_t i = 0; i < s->njobs; i++)
		for (size_t k = 0; k < s->jobs[i].nfs; k++)
			fs_row(b, &s->jobs[i], &s->jobs[i].fs[k], now);
	zf_buf_adds(b, "</tbody>\n</table>\n");
}

/* ---- charts: one bar per run of the history ring, oldest on the left ---- */

#define CH_W 360
#define CH_H 150
#define PLOT_X 56               /* left of the plot: room for the axis labels */
#define PLOT_W (CH_W - PLOT_X - 8)
#define PLOT_Y 8
#define PLOT_H (CH_H - PLOT_Y - 30)

enum chart_kind { CHART_BYTES, CHART_SECONDS };

static const struct zf_dstate_run *hist_at(const struct zf_dstate_job *j, size_t i)
{
	return &j->history[(j->hist_first + i) % ZF_DSTATE_HISTORY];
}

static double run_value(const struct zf_dstate_run *r, enum chart_kind k)
{
	double v = k == CHART_BYTES ? (double)r->bytes : r->seconds;
	return isfinite(v) && v > 0 ? v : 0;
}

static void add_value(struct zf_buf *b, double v, enum chart_kind k)
{
	if (k == CHART_BYTES)
		add_bytes(b, (uint64_t)v);
	else
		add_duration(b, v);
}

/* The tooltip of one bar: when, result, bytes, duration, datasets. */
static void bar_title(struct zf_buf *b, const struct zf_dstate_run *r)
{
	zf_buf_adds(b, "<title>");
	add_time(b, r->start);
	zf_buf_addf(b, " \xc2\xb7 %s \xc2\xb7 ", zf_dstate_result_str(r->result));
	add_bytes(b, r->bytes);
	zf_buf_adds(b, " \xc2\xb7 ");
	add_duration(b, r->seconds);
	zf_buf_addf(b, " \xc2\xb7 %u datasets ok, %u failed</title>", r->nfs_ok, r->nfs_failed);
}

/* "12-07 06:00" under the first and the last bar */
static void add_short_time(struct zf_buf *b, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char s[32];

	if (t > 0 && gmtime_r(&tt, &tm) && strftime(s, sizeof(s), "%m-%d %H:%M", &tm))
		zf_buf_adds(b, s);
}

static void chart_axes(struct zf_buf *b, const struct zf_dstate_job *j, enum chart_kind k,
		       double max)
{
	zf_buf_addf(b, "<line x1=%d y1=%d x2=%d y2=%d />", PLOT_X, PLOT_Y, PLOT_X, PLOT_Y + PLOT_H);
	zf_buf_addf(b, "<line x1=%d y1=%d x2=%d y2=%d />", PLOT_X, PLOT_Y + PLOT_H, PLOT_X + PLOT_W,
		    PLOT_Y + PLOT_H);
	zf_buf_addf(b, "<text x=%d y=%d text-anchor=end>", PLOT_X - 4, PLOT_Y + 8);
	add_value(b, max, k);
	zf_buf_addf(b, "</text><text x=%d y=%d text-anchor=end>0</text>", PLOT_X - 4,
		    PLOT_Y + PLOT_H);
	zf_buf_addf(b, "<text x=%d y=%d>", PLOT_X, PLOT_Y + PLOT_H + 14);
	add_short_time(b, hist_at(j, 0)->start);
	zf_buf_addf(b, "</text><text x=%d y=%d text-anchor=end>", PLOT_X + PLOT_W,
		    PLOT_Y + PLOT_H + 14);
	add_short_time(b, hist_at(j, j->hist_n - 1)->start);
	zf_buf_addf(b, "</text><text x=%d y=%d text-anchor=middle>%s per run, oldest to newest"
		    "</text>",
		    PLOT_X + PLOT_W / 2, CH_H - 2, k == CHART_BYTES ? "bytes sent" : "duration");
}

static void chart(struct zf_buf *b, const struct zf_dstate_job *j, enum chart_kind k)
{
	const char *kind = k == CHART_BYTES ? "bytes" : "seconds";
	double max = 0, slot;

	for (size_t i = 0; i < j->hist_n; i++)
		max = MAX(max, run_value(hist_at(j, i), k));
	slot = MIN((double)PLOT_W / (double)j->hist_n, 24.0);
	zf_buf_addf(b, "<svg class=runs data-kind=%s width=%d height=%d viewBox=\"0 0 %d %d\" "
		    "role=img aria-label=\"%s of the last %zu runs\">", kind, CH_W, CH_H, CH_W,
		    CH_H,
		    k == CHART_BYTES ? "bytes sent" : "duration", j->hist_n);
	chart_axes(b, j, k, max);
	for (size_t i = 0; i < j->hist_n; i++) {
		const struct zf_dstate_run *r = hist_at(j, i);
		double h = max > 0 ? run_value(r, k) / max * PLOT_H : 0;
		h = MAX(h, 1.0);        /* a run that sent nothing still gets a bar to point at */
		zf_buf_addf(b, "<rect class=\"bar r-%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			    "height=\"%.1f\">",
			    zf_dstate_result_str(r->result), PLOT_X + 1 + (double)i * slot,
			    PLOT_Y + PLOT_H - h, MAX(slot - 2, 1.0), h);
		bar_title(b, r);
		zf_buf_adds(b, "</rect>");
	}
	zf_buf_adds(b, "</svg>\n");
}

static void page_charts(struct zf_buf *b, const struct zf_dstate *s)
{
	bool any = false;

	for (size_t i = 0; i < s->njobs; i++)
		any |= s->jobs[i].hist_n > 0;
	if (!any)
		return;
	zf_buf_adds(b, "<h2>Recent runs</h2>\n<div class=charts>\n");
	for (size_t i = 0; i < s->njobs; i++) {
		const struct zf_dstate_job *j = &s->jobs[i];
		if (j->hist_n == 0)
			continue;
		zf_buf_adds(b, "<div class=chart><h3 class=name>");
		zf_esc_html(b, j->name);
		zf_buf_adds(b, "</h3>\n");
		chart(b, j, CHART_BYTES);
		chart(b, j, CHART_SECONDS);
		zf_buf_adds(b, "</div>\n");
	}
	zf_buf_adds(b, "</div>\n");
}

void zf_status_page_render(const struct zf_dstate *s, int64_t now, struct zf_buf *out)
{
	page_head(out, s, now);
	page_jobs(out, s, now);
	page_datasets(out, s, now);
	page_charts(out, s);
	zf_buf_adds(out, "</main>\n</body>\n</html>\n");
}
