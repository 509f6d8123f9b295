/* src/daemon/run.h — one run of one job, in a child process of the daemon */
#pragma once
#include "util/macro.h"

struct zf_config_job;

/* Exit statuses of a run's process: the daemon's reading of how it went. */
enum {
	ZF_RUN_OK = 0,
	ZF_RUN_PARTIAL = 1,             /* some filesystems failed */
	ZF_RUN_FAILED = 2,              /* nothing could be done (or the run itself broke) */
};

/*
 * Carries out job once: snap takes one atomic snapshot of its filesystems
 * and prunes them by keep; push and pull snapshot (push only), replicate,
 * then prune the sender by keep_sender and the receiver by keep_receiver;
 * sink prunes what its clients sent by keep.  Every step, transfer and
 * outcome is reported on report_fd (daemon/report.h); ends with "done".
 * Returns one of the statuses above.  Called in a fresh child process:
 * it may take its time, SIGTERM ends it (transfers stay resumable).
 */
int zf_job_run(const struct zf_config_job *job, int report_fd);
