/* src/util/proc.c — spawning children by argv with pipes */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/proc.h"
#include "util/banned.h"

extern char **environ;

#define RUN_OUTPUT_MAX ((size_t)256 << 20)

static void posix_spawn_file_actions_destroyp(posix_spawn_file_actions_t **p)
{
	if (*p)
		posix_spawn_file_actions_destroy(*p);
}

static void posix_spawnattr_destroyp(posix_spawnattr_t **p)
{
	if (*p)
		posix_spawnattr_destroy(*p);
}

/* Sets up child fd `target` per `how`; *ours gets our end of a pipe. */
static int plan_stream(posix_spawn_file_actions_t *fa, int how, int target, int *ours,
		       int *theirs)
{
	int p[2], r;

	*ours = *theirs = -EBADF;
	switch (how) {
	case ZF_PROC_INHERIT:
		return 0;
	case ZF_PROC_DEVNULL:
		return -posix_spawn_file_actions_addopen(fa, target, "/dev/null",
							 target == 0 ? O_RDONLY : O_WRONLY, 0);
	case ZF_PROC_PIPE:
		r = zf_stream_pipe(p);          /* zfs send/recv move megabytes */
		if (r < 0)
			return r;
		if (target == 0) {
			*theirs = p[0];
			*ours = p[1];
		} else {
			*theirs = p[1];
			*ours = p[0];
		}
		return -posix_spawn_file_actions_adddup2(fa, *theirs, target);
	default:
		if (how < 0)
			return -EINVAL;
		return -posix_spawn_file_actions_adddup2(fa, how, target);
	}
}

int zf_proc_spawn(const char *const *argv, const struct zf_proc_opts *opts, struct zf_proc *ret,
		  struct zf_err *err)
{
	posix_spawn_file_actions_t fa_storage, *fa = NULL;
	posix_spawnattr_t attr_storage, *attr = NULL;
	_cleanup_(posix_spawn_file_actions_destroyp) posix_spawn_file_actions_t *fa_guard = NULL;
	_cleanup_(posix_spawnattr_destroyp) posix_spawnattr_t *attr_guard = NULL;
	int ours[3] = { -EBADF, -EBADF, -EBADF }, theirs[3] = { -EBADF, -EBADF, -EBADF };
	const int how[3] = { opts->in, opts->out, opts->err };
	sigset_t all, none;
	pid_t pid;
	int r;

	if (!argv || !argv[0])
		return zf_err_set(err, -EINVAL, "no program to run");

	if (posix_spawn_file_actions_init(&fa_storage) != 0)
		return zf_err_set(err, -ENOMEM, "cannot run '%s': out of memory", argv[0]);
	fa = fa_guard = &fa_storage;
	if (posix_spawnattr_init(&attr_storage) != 0)
		return zf_err_set(err, -ENOMEM, "cannot run '%s': out of memory", argv[0]);
	attr = attr_guard = &attr_storage;

	for (int i = 0; i < 3; i++) {
		r = plan_stream(fa, how[i], i, &ours[i], &theirs[i]);
		if (r < 0) {
			for (int j = 0; j <= i; j++) {
				safe_close(ours[j]);
				safe_close(theirs[j]);
			}
			return zf_err_set(err, r, "cannot run '%s': %s", argv[0], strerror(-r));
		}
	}

	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(attr, &all);
	posix_spawnattr_setsigmask(attr, &none);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

	r = posix_spawnp(&pid, argv[0], fa, attr, (char *const *)argv,
			 opts->envp ? opts->envp : environ);
	for (int i = 0; i < 3; i++)
		safe_close(theirs[i]);
	if (r != 0) {
		for (int i = 0; i < 3; i++)
			safe_close(ours[i]);
		return zf_err_set(err, -r, "cannot run '%s': %s", argv[0], strerror(r));
	}

	*ret = (struct zf_proc){
		.pid = pid,
		.in_fd = ours[0],
		.out_fd = ours[1],
		.err_fd = ours[2],
		.name = zf_xstrdup(argv[0]),
	};
	return 0;
}

int zf_proc_wait(struct zf_proc *p)
{
	int status;

	if (p->pid <= 0)
		return p->status;
	for (;;) {
		pid_t r = waitpid(p->pid, &status, 0);
		if (r == p->pid)
			break;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
	p->pid = 0;
	p->status = status;
	return status;
}

void zf_proc_kill(struct zf_proc *p, int sig)
{
	if (p->pid > 0)
		(void)kill(p->pid, sig);
}

void zf_proc_release(struct zf_proc *p)
{
	p->in_fd = safe_close(p->in_fd);
	p->out_fd = safe_close(p->out_fd);
	p->err_fd = safe_close(p->err_fd);
	if (p->pid > 0) {
		zf_proc_kill(p, SIGKILL);
		(void)zf_proc_wait(p);
	}
	free(p->name);
	p->name = NULL;
}

const char *zf_proc_status_str(int status, char *buf, size_t n)
{
	if (WIFEXITED(status))
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, n, "ended with wait status 0x%x", (unsigned)status);
	return buf;
}

int zf_proc_run(const char *const *argv, struct zf_buf *out, struct zf_buf *errout,
		struct zf_err *err)
{
	return zf_proc_run_env(argv, NULL, out, errout, err);
}

int zf_proc_run_env(const char *const *argv, char *const *envp, struct zf_buf *out,
		    struct zf_buf *errout, struct zf_err *err)
{
	struct zf_proc_opts opts = { ZF_PROC_DEVNULL, ZF_PROC_PIPE, ZF_PROC_PIPE, envp };
	struct zf_buf sink = ZF_BUF_INIT;
	struct zf_proc p;
	int r;

	r = zf_proc_spawn(argv, &opts, &p, err);
	if (r < 0)
		return r;

	struct zf_buf *bufs[2] = { out ? out : &sink, errout ? errout : &sink };
	int *fds[2] = { &p.out_fd, &p.err_fd };
	char chunk[65536];

	while (p.out_fd >= 0 || p.err_fd >= 0) {
		struct pollfd pf[2];
		int n = 0, idx[2];

		for (int i = 0; i < 2; i++)
			if (*fds[i] >= 0) {
				pf[n] = (struct pollfd){ .fd = *fds[i], .events = POLLIN };
				idx[n++] = i;
			}
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		for (int k = 0; k < n; k++) {
			ssize_t got;
			int i = idx[k];

			if (!pf[k].revents)
				continue;
			got = read(*fds[i], chunk, sizeof(chunk));
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got <= 0) {
				*fds[i] = safe_close(*fds[i]);
				continue;
			}
			if (bufs[i] != &sink && bufs[i]->len + (size_t)got <= RUN_OUTPUT_MAX)
				zf_buf_add(bufs[i], chunk, (size_t)got);
			else if (bufs[i] != &sink)
				r = -E2BIG;
		}
	}
	zf_buf_release(&sink);

	int status = zf_proc_wait(&p);
	zf_proc_release(&p);
	if (r < 0)
		return zf_err_set(err, r, "'%s': output too large or unreadable: %s", argv[0],
				  strerror(-r));
	return status;
}
