/* src/daemon/daemon.h — zferry daemon: jobs on schedules, a control socket, metrics, a listener */
#pragma once
#include <stdbool.h>
#include "util/macro.h"

struct zf_config;

/* Exit statuses of zf_daemon_run(). */
enum {
	ZF_DAEMON_OK = 0,               /* stopped by SIGTERM/SIGINT */
	ZF_DAEMON_FAILED = 1,           /* could not start (control socket, listener, state dir) */
	ZF_DAEMON_BAD_CONFIG = 2,       /* the config cannot be loaded */
};

struct zf_daemon_opts {
	const char *config_path;
	/* true: the daemon's own http_listen and listen are ignored (tests of one part) */
	bool no_listeners;
};

/*
 * Loads the config and runs until SIGTERM or SIGINT:
 *   - each snap/push/pull job (and a sink with keep) on its schedule, in a
 *     child process of its own, never two runs of one job at once; a run
 *     missed while the daemon was down runs once at start;
 *   - the control socket (daemon/control.h): status, wakeup JOB, reset JOB;
 *   - /metrics, /status.json and the status page on daemon.http_listen;
 *   - daemon.listen: `zferry serve` for sink and source jobs' clients, in a
 *     child process;
 *   - SIGHUP re-reads the config: a config that does not load is refused
 *     with its error and the old one keeps running;
 *   - SIGTERM stops the runs (SIGTERM to each run's process group, so
 *     transfers stay resumable), waits up to daemon.stop_timeout, then kills.
 * Under systemd (NOTIFY_SOCKET): READY=1, RELOADING=1, STOPPING=1, STATUS=
 * and WATCHDOG=1 at half the watchdog interval.
 */
int zf_daemon_run(const struct zf_daemon_opts *o);
