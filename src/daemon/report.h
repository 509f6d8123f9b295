/* src/daemon/report.h — how a job run (a child process) tells the daemon what it does: JSON lines on a pipe */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/buf.h"
#include "util/macro.h"

struct zf_dstate_job;
struct zf_err;

/*
 * One JSON object per line, written by the run with one write(2) each
 * (lines stay below PIPE_BUF where they can; longer ones are still whole
 * lines, the reader reassembles).  "ev" says what it is:
 *
 *   {"ev":"step","step":"snapshotting"}               what the run does now
 *   {"ev":"progress","fs":[{"name":S,"target":T,"bytes":N,"estimate":N,"seconds":F}]}
 *                                                      the transfers running now
 *   {"ev":"fs","name":S,"target":T,"ok":true,"error":E,"bytes":N}
 *                                                      one filesystem's outcome
 *   {"ev":"stats","name":S,"target":T,"last_snapshot":N,"target_newest":N,"snapshots":N}
 *                                                      listed after the run
 *   {"ev":"error","error":E}                           a failure of the run itself
 *   {"ev":"done","result":"ok"|"partial"|"failed"}
 *
 * The reader trusts nothing in them beyond their shape (a run is our own
 * child, but a line cut by a crash must not confuse the daemon).
 */

/* Writer side, in the run: each a single line to fd; errors ignored (the daemon may be gone). */
struct zf_report {
	int fd;
};
void zf_report_step(struct zf_report *r, const char *step);
void zf_report_error(struct zf_report *r, const char *msg);
void zf_report_fs(struct zf_report *r, const char *name, const char *target, bool ok,
		  const char *error, uint64_t bytes);
void zf_report_stats(struct zf_report *r, const char *name, const char *target,
		     int64_t last_snapshot, int64_t target_newest, uint64_t snapshots);
struct zf_report_progress {
	const char *name, *target;
	uint64_t bytes, estimate;
	double seconds;
};
void zf_report_progress(struct zf_report *r, const struct zf_report_progress *v, size_t n);
void zf_report_done(struct zf_report *r, const char *result);

/* Reader side, in the daemon: bytes from the pipe, folded into the job's state. */
#define ZF_REPORT_LINE_MAX (1u << 20)
struct zf_report_reader {
	struct zf_buf buf;              /* a partial line */
	bool done;                      /* "done" seen */
	char result[16];                /* its result */
	bool overflow;                  /* a line over ZF_REPORT_LINE_MAX: dropped */
};
/* Feeds n bytes; every complete line is applied to j at time now.  Bad lines are logged and skipped. */
void zf_report_feed(struct zf_report_reader *rd, const char *p, size_t n, struct zf_dstate_job *j,
		    int64_t now);
void zf_report_reader_release(struct zf_report_reader *rd);
