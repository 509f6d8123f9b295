/* src/daemon/report.c — job runs report as JSON lines; the daemon folds them into its state */
#include <errno.h>
#include <stdio.h>
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>
#include "daemon/report.h"
#include "daemon/state.h"
#include "log/log.h"
#include "util/alloc.h"
#include "util/io.h"
#include "util/json.h"
#include "util/banned.h"

static void send_line(struct zf_report *r, struct zf_buf *b)
{
	zf_buf_addc(b, '\n');
	if (r->fd >= 0)
		if (zf_write_full(r->fd, b->data, b->len) < 0)
			r->fd = -1;  /* the daemon is gone: the run goes on */
}

void zf_report_step(struct zf_report *r, const char *step)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(&b);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "ev", "step");
	zf_json_key_str(&j, "step", step);
	zf_json_finish(&j);
	send_line(r, &b);
}

void zf_report_error(struct zf_report *r, const char *msg)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(&b);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "ev", "error");
	zf_json_key_str(&j, "error", msg);
	zf_json_finish(&j);
	send_line(r, &b);
}

void zf_report_fs(struct zf_report *r, const char *name, const char *target, bool ok,
		  const char *error, uint64_t bytes)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(&b);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "ev", "fs");
	zf_json_key_str(&j, "name", name);
	zf_json_key_str(&j, "target", target);
	zf_json_key_bool(&j, "ok", ok);
	zf_json_key_str(&j, "error", error);
	zf_json_key_u64(&j, "bytes", bytes);
	zf_json_finish(&j);
	send_line(r, &b);
}

void zf_report_stats(struct zf_report *r, const char *name, const char *target,
		     int64_t last_snapshot, int64_t target_newest, uint64_t snapshots)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(&b);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "ev", "stats");
	zf_json_key_str(&j, "name", name);
	zf_json_key_str(&j, "target", target);
	zf_json_key_i64(&j, "last_snapshot", last_snapshot);
	zf_json_key_i64(&j, "target_newest", target_newest);
	zf_json_key_u64(&j, "snapshots", snapshots);
	zf_json_finish(&j);
	send_line(r, &b);
}

void zf_report_progress(struct zf_report *r, const struct zf_report_progress *v, size_t n)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(&b);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "ev", "progress");
	zf_json_key_array_begin(&j, "fs");
	for (size_t i = 0; i < n; i++) {
		zf_json_object_begin(&j);
		zf_json_key_str(&j, "name", v[i].name);
		zf_json_key_str(&j, "target", v[i].target);
		zf_json_key_u64(&j, "bytes", v[i].bytes);
		zf_json_key_u64(&j, "estimate", v[i].estimate);
		zf_json_key_fixed(&j, "seconds", v[i].seconds, 3);
		zf_json_object_end(&j);
	}
	zf_json_array_end(&j);
	zf_json_finish(&j);
	send_line(r, &b);
}

void zf_report_done(struct zf_report *r, const char *result)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(&b);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "ev", "done");
	zf_json_key_str(&j, "result", result);
	zf_json_finish(&j);
	send_line(r, &b);
}

/* ---- reader ----------------------------------------------------------- */

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t get_i64(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return 0;
	return json_object_get_int64(v);
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? zf_xstrdup(s) : NULL;
}

static struct zf_dstate_fs *fs_of(struct zf_dstate_job *j, struct json_object *o)
{
	const char *name = get_str(o, "name"), *target = get_str(o, "target");
	struct zf_dstate_fs *f;

	if (!name)
		return NULL;
	f = zf_dstate_fs_get(j, name);
	if (target && (!f->target || !streq(f->target, target)))
		set_str(&f->target, target);
	return f;
}

static void apply_progress(struct json_object *o, struct zf_dstate_job *j)
{
	struct json_object *arr;

	for (size_t i = 0; i < j->nfs; i++)
		j->fs[i].running = false;
	if (!json_object_object_get_ex(o, "fs", &arr) || !json_object_is_type(arr, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		struct zf_dstate_fs *f = fs_of(j, e);
		double secs;

		if (!f)
			continue;
		f->running = true;
		snprintf(f->step, sizeof(f->step), "sending");
		f->bytes_done = (uint64_t)get_i64(e, "bytes");
		f->bytes_estimate = (uint64_t)get_i64(e, "estimate");
		{
			struct json_object *s;
			secs = json_object_object_get_ex(e, "seconds", &s) ?
				json_object_get_double(s) : 0;
		}
		f->rate = secs > 0 ? (double)f->bytes_done / secs : 0;
	}
}

static void apply_fs(struct json_object *o, struct zf_dstate_job *j, int64_t now)
{
	struct zf_dstate_fs *f = fs_of(j, o);
	struct json_object *ok;
	uint64_t bytes = (uint64_t)get_i64(o, "bytes");

	if (!f)
		return;
	f->running = false;
	f->bytes_total += bytes;
	j->current.bytes += bytes;
	if (json_object_object_get_ex(o, "ok", &ok) && json_object_get_boolean(ok)) {
		f->last_success = now;
		set_str(&f->last_error, NULL);
		j->current.nfs_ok++;
		return;
	}
	set_str(&f->last_error, get_str(o, "error") ? get_str(o, "error") : "failed");
	f->last_error_time = now;
	j->current.nfs_failed++;
	j->errors_total++;
}

static void apply_stats(struct json_object *o, struct zf_dstate_job *j)
{
	struct zf_dstate_fs *f = fs_of(j, o);

	if (!f)
		return;
	f->last_snapshot = get_i64(o, "last_snapshot");
	f->target_newest = get_i64(o, "target_newest");
	f->snapshots = (uint64_t)get_i64(o, "snapshots");
	if (!f->target)
		f->lag = -1;
	else if (f->last_snapshot <= 0)
		f->lag = 0;
	else
		f->lag = f->last_snapshot > f->target_newest ?
			f->last_snapshot - f->target_newest : 0;
}

static void apply_line(struct zf_report_reader *rd, const char *line, struct zf_dstate_job *j,
		       int64_t now)
{
	struct json_object *o = json_tokener_parse(line);
	const char *ev = o ? get_str(o, "ev") : NULL;

	if (!ev) {
		log_warning("job %s: a report line that is no event dropped", j->name);
	} else if (streq(ev, "step")) {
		snprintf(j->step, sizeof(j->step), "%s", get_str(o, "step") ? get_str(o, "step") : "");
	} else if (streq(ev, "progress")) {
		apply_progress(o, j);
	} else if (streq(ev, "fs")) {
		apply_fs(o, j, now);
	} else if (streq(ev, "stats")) {
		apply_stats(o, j);
	} else if (streq(ev, "error")) {
		if (!j->current.nfs_failed && get_str(o, "error"))
			set_str(&j->last_error, get_str(o, "error"));
		j->last_error_time = now;
		j->errors_total++;
	} else if (streq(ev, "done")) {
		rd->done = true;
		snprintf(rd->result, sizeof(rd->result), "%s",
			 get_str(o, "result") ? get_str(o, "result") : "failed");
	}
	json_object_put(o);
}

void zf_report_feed(struct zf_report_reader *rd, const char *p, size_t n, struct zf_dstate_job *j,
		    int64_t now)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		if (!rd->overflow && rd->buf.len + take <= ZF_REPORT_LINE_MAX)
			zf_buf_add(&rd->buf, p, take);
		else
			rd->overflow = true;
		if (!nl)
			return;
		if (rd->overflow)
			log_warning("job %s: a report line over %u bytes dropped", j->name,
				    ZF_REPORT_LINE_MAX);
		else if (rd->buf.len)
			apply_line(rd, zf_buf_str(&rd->buf), j, now);
		zf_buf_reset(&rd->buf);
		rd->overflow = false;
		p = nl + 1;
		n -= take + 1;
	}
}

void zf_report_reader_release(struct zf_report_reader *rd)
{
	zf_buf_release(&rd->buf);
}
