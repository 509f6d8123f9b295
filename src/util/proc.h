/* src/util/proc.h — child processes started from an argv vector, never through a shell */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include "util/macro.h"

struct zf_buf;
struct zf_err;

/* What a child's stdin/stdout/stderr is: a pipe to us, /dev/null, ours, or a given fd. */
enum {
	ZF_PROC_INHERIT = -1,
	ZF_PROC_PIPE = -2,
	ZF_PROC_DEVNULL = -3,
};

struct zf_proc_opts {
	int in, out, err;       /* ZF_PROC_* or an fd (>= 0) to hand to the child */
	char *const *envp;      /* NULL: inherit ours */
};

struct zf_proc {
	pid_t pid;              /* 0 once reaped */
	int in_fd;              /* our ends of ZF_PROC_PIPE streams, else -EBADF */
	int out_fd;
	int err_fd;
	int status;             /* wait status once reaped */
	char *name;             /* argv[0], for messages */
};

/*
 * Starts argv[0] (searched in PATH) with argv.  Pipes are close-on-exec on
 * our side; the child starts with default signal handling and an empty
 * signal mask.  On success *ret is filled and the caller must
 * zf_proc_release() it.
 */
_must_check_ int zf_proc_spawn(const char *const *argv, const struct zf_proc_opts *opts,
			       struct zf_proc *ret, struct zf_err *err);
/* Waits for the child; returns its wait status (>= 0) or -errno. Idempotent. */
int zf_proc_wait(struct zf_proc *p);
/* Sends sig if the child has not been reaped yet. */
void zf_proc_kill(struct zf_proc *p, int sig);
/* Closes our ends, kills (SIGKILL) and reaps a child still running, frees name. */
void zf_proc_release(struct zf_proc *p);
/* "exited with status 1", "killed by signal 9 (Killed)" */
const char *zf_proc_status_str(int status, char *buf, size_t n);
/* 0 for a clean exit(0). */
static inline bool zf_proc_status_ok(int status)
{
	return status == 0;
}

/*
 * Runs argv to completion with stdin from /dev/null, collecting stdout into
 * out and stderr into errout (either may be NULL to discard; each bounded to
 * 256 MiB).  Returns the wait status (>= 0) or -errno if it could not run.
 */
_must_check_ int zf_proc_run(const char *const *argv, struct zf_buf *out, struct zf_buf *errout,
			     struct zf_err *err);
/* zf_proc_run() with envp (NULL-terminated "NAME=value" strings) as the child's environment. */
_must_check_ int zf_proc_run_env(const char *const *argv, char *const *envp, struct zf_buf *out,
				 struct zf_buf *errout, struct zf_err *err);
