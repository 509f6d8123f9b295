/* src/daemon/statefile.c — the daemon's state as JSON: for status, and what survives a restart */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "daemon/state.h"
#include "plan/schedule.h"
#include "util/alloc.h"
#include "util/atomic-file.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/json.h"
#include "util/banned.h"

#define STATE_FILE "state.json"
#define STATE_MAX (64u << 20)

static void run_json(struct zf_json *j, const char *key, const struct zf_dstate_run *r)
{
	zf_json_key_object_begin(j, key);
	zf_json_key_i64(j, "start", r->start);
	zf_json_key_fixed(j, "seconds", r->seconds, 3);
	zf_json_key_str(j, "result", zf_dstate_result_str(r->result));
	zf_json_key_u64(j, "bytes", r->bytes);
	zf_json_key_u64(j, "filesystems_ok", r->nfs_ok);
	zf_json_key_u64(j, "filesystems_failed", r->nfs_failed);
	zf_json_object_end(j);
}

static void fs_json(struct zf_json *j, const struct zf_dstate_fs *f)
{
	zf_json_object_begin(j);
	zf_json_key_str(j, "name", f->name);
	zf_json_key_str(j, "target", f->target);
	zf_json_key_i64(j, "last_snapshot", f->last_snapshot);
	zf_json_key_i64(j, "target_newest", f->target_newest);
	zf_json_key_i64(j, "lag", f->lag);
	zf_json_key_u64(j, "snapshots", f->snapshots);
	zf_json_key_u64(j, "bytes_total", f->bytes_total);
	zf_json_key_i64(j, "last_success", f->last_success);
	zf_json_key_str(j, "last_error", f->last_error);
	zf_json_key_i64(j, "last_error_time", f->last_error_time);
	zf_json_key_bool(j, "running", f->running);
	if (f->running) {
		zf_json_key_str(j, "step", f->step);
		zf_json_key_u64(j, "bytes_done", f->bytes_done);
		zf_json_key_u64(j, "bytes_estimate", f->bytes_estimate);
		zf_json_key_fixed(j, "rate", f->rate, 0);
		if (f->rate > 0 && f->bytes_estimate > f->bytes_done)
			zf_json_key_i64(j, "eta",
					(int64_t)((double)(f->bytes_estimate - f->bytes_done) /
						  f->rate));
	}
	zf_json_object_end(j);
}

static void job_json(struct zf_json *j, const struct zf_dstate_job *jb)
{
	zf_json_object_begin(j);
	zf_json_key_str(j, "name", jb->name);
	zf_json_key_str(j, "type", zf_job_type_str(jb->type));
	zf_json_key_str(j, "schedule", jb->schedule);
	zf_json_key_str(j, "state", zf_dstate_job_state_str(jb->state));
	if (jb->state == ZF_DSTATE_RUNNING || jb->state == ZF_DSTATE_STOPPING) {
		zf_json_key_str(j, "step", jb->step);
		zf_json_key_i64(j, "started", jb->current.start);
		zf_json_key_u64(j, "bytes", jb->current.bytes);
	}
	zf_json_key_i64(j, "next_run", jb->next_run);
	run_json(j, "last_run", &jb->last);
	zf_json_key_i64(j, "last_success", jb->last_success);
	zf_json_key_str(j, "last_error", jb->last_error);
	zf_json_key_i64(j, "last_error_time", jb->last_error_time);
	zf_json_key_u64(j, "errors_total", jb->errors_total);
	zf_json_key_object_begin(j, "runs");
	for (int r = ZF_DSTATE_OK; r < ZF_DSTATE_NRESULTS; r++)
		zf_json_key_u64(j, zf_dstate_result_str(r), jb->runs[r]);
	zf_json_object_end(j);
	zf_json_key_array_begin(j, "history");
	for (size_t i = 0; i < jb->hist_n; i++) {
		const struct zf_dstate_run *r = &jb->history[(jb->hist_first + i) % ZF_DSTATE_HISTORY];
		zf_json_object_begin(j);
		zf_json_key_i64(j, "start", r->start);
		zf_json_key_fixed(j, "seconds", r->seconds, 3);
		zf_json_key_str(j, "result", zf_dstate_result_str(r->result));
		zf_json_key_u64(j, "bytes", r->bytes);
		zf_json_object_end(j);
	}
	zf_json_array_end(j);
	zf_json_key_array_begin(j, "filesystems");
	for (size_t i = 0; i < jb->nfs; i++)
		fs_json(j, &jb->fs[i]);
	zf_json_array_end(j);
	zf_json_object_end(j);
}

void zf_dstate_json(const struct zf_dstate *s, int64_t now, struct zf_buf *out)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(out);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "version", s->version);
	zf_json_key_i64(&j, "now", now);
	zf_json_key_i64(&j, "started", s->start_time);
	zf_json_key_str(&j, "config", s->config_path);
	zf_json_key_i64(&j, "config_loaded", s->config_loaded);
	zf_json_key_array_begin(&j, "jobs");
	for (size_t i = 0; i < s->njobs; i++)
		job_json(&j, &s->jobs[i]);
	zf_json_array_end(&j);
	zf_json_finish(&j);
}

/* ---- the state file ------------------------------------------------------ */

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

static void load_job(struct zf_dstate_job *jb, struct json_object *o, int64_t *last_run)
{
	struct json_object *fs;

	*last_run = json_object_object_get_ex(o, "last_run", NULL) ? num(o, "last_run")
								     : ZF_SCHEDULE_NEVER;
	jb->last_success = num(o, "last_success");
	if (!json_object_object_get_ex(o, "filesystems", &fs) ||
	    !json_object_is_type(fs, json_type_object))
		return;
	json_object_object_foreach(fs, name, v) {
		if (json_object_is_type(v, json_type_object))
			zf_dstate_fs_get(jb, name)->last_success = num(v, "last_success");
	}
}

int zf_dstate_load(struct zf_dstate *s, const char *dir, int64_t *last_run, struct zf_err *err)
{
	_cleanup_free_ char *path = zf_xasprintf("%s/%s", dir, STATE_FILE);
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct json_object *root, *jobs;
	int fd, r;

	for (size_t i = 0; i < s->njobs; i++)
		last_run[i] = ZF_SCHEDULE_NEVER;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : zf_err_set(err, -errno, "cannot open '%s': %m", path);
	r = zf_read_all(fd, &b, STATE_MAX);
	close(fd);
	if (r < 0)
		return zf_err_set(err, r, "cannot read '%s': %s", path, strerror(-r));
	root = json_tokener_parse(zf_buf_str(&b));
	if (!root || !json_object_object_get_ex(root, "jobs", &jobs) ||
	    !json_object_is_type(jobs, json_type_object)) {
		json_object_put(root);
		return zf_err_set(err, -EBADMSG, "'%s' is damaged: no jobs object", path);
	}
	for (size_t i = 0; i < s->njobs; i++) {
		struct json_object *o;
		if (json_object_object_get_ex(jobs, s->jobs[i].name, &o) &&
		    json_object_is_type(o, json_type_object))
			load_job(&s->jobs[i], o, &last_run[i]);
	}
	json_object_put(root);
	return 0;
}

int zf_dstate_save(const struct zf_dstate *s, const char *dir, const int64_t *last_run,
		   struct zf_err *err)
{
	_cleanup_free_ char *path = zf_xasprintf("%s/%s", dir, STATE_FILE);
	_cleanup_(zf_atomic_file_releasep) struct zf_atomic_file f = ZF_ATOMIC_FILE_INIT;
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(&b);
	int r;

	zf_json_object_begin(&j);
	zf_json_key_u64(&j, "version", 1);
	zf_json_key_object_begin(&j, "jobs");
	for (size_t i = 0; i < s->njobs; i++) {
		const struct zf_dstate_job *jb = &s->jobs[i];
		zf_json_key_object_begin(&j, jb->name);
		if (last_run[i] != ZF_SCHEDULE_NEVER)
			zf_json_key_i64(&j, "last_run", last_run[i]);
		zf_json_key_i64(&j, "last_success", jb->last_success);
		zf_json_key_object_begin(&j, "filesystems");
		for (size_t k = 0; k < jb->nfs; k++) {
			zf_json_key_object_begin(&j, jb->fs[k].name);
			zf_json_key_i64(&j, "last_success", jb->fs[k].last_success);
			zf_json_object_end(&j);
		}
		zf_json_object_end(&j);
		zf_json_object_end(&j);
	}
	zf_json_object_end(&j);
	zf_json_finish(&j);
	zf_buf_addc(&b, '\n');

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return zf_err_set(err, -errno, "cannot create '%s': %m", dir);
	r = zf_atomic_file_open(&f, path, err);
	if (r < 0)
		return r;
	if (fchmod(f.fd, 0600) < 0)
		return zf_err_set(err, -errno, "cannot write '%s': %m", f.tmp);
	r = zf_write_full(f.fd, b.data, b.len);
	if (r < 0)
		return zf_err_set(err, r, "cannot write '%s': %s", f.tmp, strerror(-r));
	return zf_atomic_file_commit(&f, true, false, err);
}
