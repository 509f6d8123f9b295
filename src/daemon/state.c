/* src/daemon/state.c — the daemon's state: datasets by name, run history */
#include <string.h>
#include "daemon/state.h"
#include "util/alloc.h"
#include "util/banned.h"

const char *zf_dstate_result_str(enum zf_dstate_result r)
{
	switch (r) {
	case ZF_DSTATE_OK: return "ok";
	case ZF_DSTATE_PARTIAL: return "partial";
	case ZF_DSTATE_FAILED: return "failed";
	case ZF_DSTATE_CANCELLED: return "cancelled";
	case ZF_DSTATE_NONE: break;
	}
	return "none";
}

const char *zf_dstate_job_state_str(enum zf_dstate_job_state s)
{
	switch (s) {
	case ZF_DSTATE_RUNNING: return "running";
	case ZF_DSTATE_STOPPING: return "stopping";
	case ZF_DSTATE_PASSIVE: return "passive";
	case ZF_DSTATE_IDLE: break;
	}
	return "idle";
}

struct zf_dstate_fs *zf_dstate_fs_get(struct zf_dstate_job *j, const char *name)
{
	for (size_t i = 0; i < j->nfs; i++)
		if (streq(j->fs[i].name, name))
			return &j->fs[i];
	j->fs = zf_xreallocarray(j->fs, j->nfs + 1, sizeof(*j->fs));
	j->fs[j->nfs] = (struct zf_dstate_fs){ .name = zf_xstrdup(name), .lag = -1 };
	return &j->fs[j->nfs++];
}

void zf_dstate_job_add_run(struct zf_dstate_job *j, const struct zf_dstate_run *run)
{
	if (j->hist_n < ZF_DSTATE_HISTORY) {
		j->history[(j->hist_first + j->hist_n) % ZF_DSTATE_HISTORY] = *run;
		j->hist_n++;
	} else {
		j->history[j->hist_first] = *run;
		j->hist_first = (j->hist_first + 1) % ZF_DSTATE_HISTORY;
	}
	j->last = *run;
	if (run->result < ZF_DSTATE_NRESULTS)
		j->runs[run->result]++;
}

static void fs_release(struct zf_dstate_fs *f)
{
	free(f->name);
	free(f->target);
	free(f->last_error);
}

void zf_dstate_job_release(struct zf_dstate_job *j)
{
	for (size_t k = 0; k < j->nfs; k++)
		fs_release(&j->fs[k]);
	free(j->fs);
	free(j->name);
	free(j->schedule);
	free(j->last_error);
	*j = (struct zf_dstate_job){ 0 };
}

void zf_dstate_release(struct zf_dstate *s)
{
	for (size_t i = 0; i < s->njobs; i++)
		zf_dstate_job_release(&s->jobs[i]);
	free(s->jobs);
	*s = (struct zf_dstate){ 0 };
}
