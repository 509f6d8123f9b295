/* src/daemon/state.h — what the daemon knows of its jobs: the one state that status, metrics and the page read */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config/config.h"

/*
 * The main loop owns this; job runs are child processes that report over a
 * pipe and the loop folds their reports in.  Readers (the control socket,
 * /metrics, the status page) run in the loop too, so they never wait on
 * zfs: what they show is what the last report said.  Times are seconds
 * since the epoch (0: never/unknown); durations seconds.
 */

enum zf_dstate_job_state {
	ZF_DSTATE_IDLE = 0,             /* waiting for its next run */
	ZF_DSTATE_RUNNING,
	ZF_DSTATE_STOPPING,             /* reset or SIGTERM sent, waiting for the run to end */
	ZF_DSTATE_PASSIVE,              /* sink or source: served, never runs but for keep */
};

enum zf_dstate_result {
	ZF_DSTATE_NONE = 0,             /* no run yet */
	ZF_DSTATE_OK,
	ZF_DSTATE_PARTIAL,              /* some filesystems failed */
	ZF_DSTATE_FAILED,
	ZF_DSTATE_CANCELLED,            /* signal reset or daemon stopping */
};
#define ZF_DSTATE_NRESULTS 5

struct zf_dstate_run {
	int64_t start;
	double seconds;
	enum zf_dstate_result result;
	uint64_t bytes;                 /* sent in this run */
	unsigned nfs_ok, nfs_failed;
};

/* One dataset a job looks after (push/pull: the source's name and the target's). */
struct zf_dstate_fs {
	char *name;                     /* the source-side full name (snap: the filesystem) */
	char *target;                   /* full name on the target, NULL for snap */
	int64_t last_snapshot;          /* creation of the newest snapshot on the source */
	int64_t target_newest;          /* creation of the newest snapshot on the target (0: none) */
	/*
	 * Replication lag: last_snapshot - target_newest, in seconds (>= 0);
	 * -1 unknown (never listed).  A target with nothing yet has the age of
	 * the source's newest snapshot.
	 */
	int64_t lag;
	uint64_t snapshots;             /* count on the source (snap: the filesystem) */
	uint64_t bytes_total;           /* sent since the daemon started (a counter) */
	int64_t last_success;           /* last run that brought it up to date (survives restarts) */
	char *last_error;               /* one line, NULL when the last attempt worked */
	int64_t last_error_time;
	/* while a run transfers it */
	bool running;
	char step[32];                  /* "listing", "sending", "pruning", ... */
	uint64_t bytes_done, bytes_estimate;
	double rate;                    /* bytes per second */
};

#define ZF_DSTATE_HISTORY 32            /* recent runs kept per job, for the chart */

struct zf_dstate_job {
	char *name;
	enum zf_job_type type;
	char *schedule;                 /* its text, NULL: none */
	enum zf_dstate_job_state state;
	int64_t next_run;               /* 0: none scheduled */
	struct zf_dstate_run current;   /* valid while RUNNING/STOPPING: start */
	char step[32];                  /* while running: "snapshotting", "replicating", "pruning" */
	int pid;                        /* while running: the run's process */
	struct zf_dstate_run last;      /* the last finished run (result NONE: none) */
	struct zf_dstate_run history[ZF_DSTATE_HISTORY];        /* ring, oldest first from hist_first */
	size_t hist_first, hist_n;
	uint64_t runs[ZF_DSTATE_NRESULTS];      /* finished runs by result (index NONE unused) */
	int64_t last_success;           /* end of the last OK run (survives restarts) */
	char *last_error;               /* the last run's first error, NULL if none */
	int64_t last_error_time;
	uint64_t errors_total;          /* failed filesystems and failed runs, counted */
	struct zf_dstate_fs *fs;
	size_t nfs;
};

struct zf_dstate {
	int64_t start_time;             /* when the daemon started */
	const char *version;            /* ZF_VERSION */
	const char *config_path;
	int64_t config_loaded;          /* when the running config was read */
	struct zf_dstate_job *jobs;
	size_t njobs;
};

const char *zf_dstate_result_str(enum zf_dstate_result r);
const char *zf_dstate_job_state_str(enum zf_dstate_job_state s);
/* The job's dataset named name (source side), added when new; never NULL. */
struct zf_dstate_fs *zf_dstate_fs_get(struct zf_dstate_job *j, const char *name);
/* Appends a finished run to the job's history ring and counts it. */
void zf_dstate_job_add_run(struct zf_dstate_job *j, const struct zf_dstate_run *run);
void zf_dstate_job_release(struct zf_dstate_job *j);
void zf_dstate_release(struct zf_dstate *s);

struct zf_buf;
struct zf_err;

/*
 * The state as `zferry status --json` and /status.json give it: one JSON
 * object (docs/daemon.md "status JSON"); now for "eta" and ages.
 */
void zf_dstate_json(const struct zf_dstate *s, int64_t now, struct zf_buf *out);

/*
 * What survives a restart, in DIR/state.json (written atomically, 0600):
 * per job the start of its last run and its last success, per dataset its
 * last success.  Load fills the jobs of s by name (jobs the file does not
 * know keep their zeros; entries for unknown jobs are dropped); a missing
 * file is no error, a damaged one is (-EBADMSG) and leaves s as it was.
 * last_run gets each job's last run start (ZF_SCHEDULE_NEVER if none); its
 * order is s->jobs'.
 */
_must_check_ int zf_dstate_load(struct zf_dstate *s, const char *dir, int64_t *last_run,
				struct zf_err *err);
_must_check_ int zf_dstate_save(const struct zf_dstate *s, const char *dir,
				const int64_t *last_run, struct zf_err *err);
