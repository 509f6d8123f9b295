/*
 * src/transport/ssh.c — rpc over the stdin/stdout of `ssh HOST zferry serve --stdio`
 *
 * We never run a shell, but the far side does: ssh sends the command as
 * one string that the remote user's login shell parses.  So every word is
 * single-quoted (git's sq_quote_buf), and HOST and USER, which ssh itself
 * parses, must not look like options.  Names of datasets never appear on
 * the command line at all: they travel inside rpc frames.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/proc.h"
#include "util/strv.h"
#include "util/banned.h"

/* How long ssh gets to exit on its own after we closed its pipes, then after SIGTERM. */
#define SSH_EXIT_GRACE_MS 5000
#define SSH_TERM_GRACE_MS 2000
/* How long a read that saw ssh's stdout end waits for its exit status. */
#define SSH_STATUS_WAIT_MS 2000

struct ssh_transport {
	struct zf_transport t;          /* first: what callers see */
	struct zf_transport *inner;     /* the local transport over the two pipes */
	struct zf_proc proc;
	bool heard;                     /* the peer sent at least one byte */
	int exit_grace_ms;
};

void zf_sh_quote(struct zf_buf *b, const char *s)
{
	zf_buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			zf_buf_adds(b, "'\\''");
		else
			zf_buf_addc(b, *s);
	}
	zf_buf_addc(b, '\'');
}

int zf_ssh_argv(const struct zf_ssh_opts *o, struct zf_strv *ret, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf cmd = ZF_BUF_INIT;
	const char *words[] = { o->remote_zferry ? o->remote_zferry : "zferry", "serve",
				"--stdio" };

	if (!o->host || !*o->host)
		return zf_err_set(err, -EINVAL, "ssh: empty host");
	if (o->host[0] == '-')
		return zf_err_set(err, -EINVAL, "ssh: host '%s' must not start with '-'", o->host);
	if (o->user && (!*o->user || o->user[0] == '-'))
		return zf_err_set(err, -EINVAL, "ssh: bad user name '%s'", o->user);
	if (o->port && (!*o->port || strspn(o->port, "0123456789") != strlen(o->port)))
		return zf_err_set(err, -EINVAL, "ssh: bad port '%s'", o->port);
	if (!*words[0])
		return zf_err_set(err, -EINVAL, "ssh: empty remote zferry path");

	zf_strv_add(ret, o->ssh ? o->ssh : "ssh");
	if (o->port) {
		zf_strv_add(ret, "-p");
		zf_strv_add(ret, o->port);
	}
	if (o->user) {
		zf_strv_add(ret, "-l");
		zf_strv_add(ret, o->user);
	}
	for (size_t i = 0; i < o->n_options; i++) {
		zf_strv_add(ret, "-o");
		zf_strv_add(ret, o->options[i]);
	}
	/* never stop to ask for a password or a host key on a terminal we do not own */
	zf_strv_add(ret, "-o");
	zf_strv_add(ret, "BatchMode=yes");
	zf_strv_add(ret, o->host);
	zf_strv_add(ret, "--");
	for (size_t i = 0; i < ELEMENTSOF(words); i++) {
		if (i)
			zf_buf_addc(&cmd, ' ');
		zf_sh_quote(&cmd, words[i]);
	}
	zf_strv_add(ret, zf_buf_str(&cmd));
	return 0;
}

/* Waits up to ms for the child to exit: true once reaped (status in p->status). */
static bool wait_exit(struct zf_proc *p, int ms)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (int waited = 0;; waited += 10) {
		int status;
		pid_t r;

		if (p->pid <= 0)
			return true;
		r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid) {
			p->pid = 0;
			p->status = status;
			return true;
		}
		if (r < 0 && errno != EINTR)
			return false;
		if (waited >= ms)
			return false;
		nanosleep(&tick, NULL);
	}
}

/* The peer is gone before it said anything: tell what ssh's exit status was, if it exited. */
static int before_hello(struct ssh_transport *s, int code, const struct zf_err *e,
			struct zf_err *err)
{
	char st[64];

	if (wait_exit(&s->proc, SSH_STATUS_WAIT_MS))
		return zf_err_set(err, code < 0 ? code : -EPIPE,
				  "ssh to '%s' %s before zferry answered (see ssh's messages "
				  "above)", s->t.peer + 4,
				  zf_proc_status_str(s->proc.status, st, sizeof(st)));
	if (code < 0)
		return zf_err_copy(err, code, e);
	return zf_err_set(err, -EPIPE, "ssh to '%s' closed its output before zferry answered",
			  s->t.peer + 4);
}

static ssize_t ssh_read(struct zf_transport *t, void *p, size_t n, struct zf_err *err)
{
	struct ssh_transport *s = (struct ssh_transport *)t;
	struct zf_err e = ZF_ERR_INIT;
	ssize_t k;

	s->inner->timeout_ms = t->timeout_ms;
	k = zf_transport_read(s->inner, p, n, &e);
	if (k > 0) {
		s->heard = true;
		return k;
	}
	if (!s->heard && k != -ETIMEDOUT)
		return before_hello(s, (int)k, &e, err);
	if (k < 0)
		return zf_err_copy(err, (int)k, &e);
	return 0;
}

static int ssh_write(struct zf_transport *t, const void *p, size_t n, struct zf_err *err)
{
	struct ssh_transport *s = (struct ssh_transport *)t;
	struct zf_err e = ZF_ERR_INIT;
	int r;

	s->inner->timeout_ms = t->timeout_ms;
	r = zf_transport_write(s->inner, p, n, &e);
	if (r >= 0)
		return 0;
	if (!s->heard && r == -EPIPE)
		return before_hello(s, r, &e, err);
	return zf_err_copy(err, r, &e);
}

static int ssh_shutdown(struct zf_transport *t, struct zf_err *err)
{
	struct ssh_transport *s = (struct ssh_transport *)t;
	int r = zf_transport_shutdown(s->inner, err);

	t->wfd = s->inner->wfd;
	return r;
}

static void ssh_free(struct zf_transport *t)
{
	struct ssh_transport *s = (struct ssh_transport *)t;

	/* closing its stdin ends the session; give ssh time to say goodbye */
	s->inner = zf_transport_free(s->inner);
	if (!wait_exit(&s->proc, s->exit_grace_ms)) {
		zf_proc_kill(&s->proc, SIGTERM);
		(void)wait_exit(&s->proc, SSH_TERM_GRACE_MS);
	}
	zf_proc_release(&s->proc);      /* SIGKILL if it still runs */
	free(s);
}

static const struct zf_transport_ops ssh_ops = {
	.read = ssh_read,
	.write = ssh_write,
	.shutdown = ssh_shutdown,
	.free = ssh_free,
};

int zf_ssh_connect(const struct zf_ssh_opts *opts, struct zf_transport **ret, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv argv = ZF_STRV_INIT;
	const struct zf_proc_opts po = { .in = ZF_PROC_PIPE, .out = ZF_PROC_PIPE,
					 .err = ZF_PROC_INHERIT };
	struct ssh_transport *s;
	int r;

	r = zf_ssh_argv(opts, &argv, err);
	if (r < 0)
		return r;
	s = zf_xcalloc(1, sizeof(*s));
	r = zf_proc_spawn(zf_strv_argv(&argv), &po, &s->proc, err);
	if (r < 0) {
		free(s);
		return r;
	}
	s->inner = zf_transport_local_new(s->proc.out_fd, s->proc.in_fd, "");
	s->proc.out_fd = -EBADF;
	s->proc.in_fd = -EBADF;
	s->exit_grace_ms = opts->exit_grace_ms > 0 ? opts->exit_grace_ms : SSH_EXIT_GRACE_MS;
	s->t.ops = &ssh_ops;
	s->t.kind = "ssh";
	s->t.rfd = s->inner->rfd;
	s->t.wfd = s->inner->wfd;
	s->t.timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : ZF_TRANSPORT_DEFAULT_TIMEOUT_MS;
	snprintf(s->t.peer, sizeof(s->t.peer), "ssh:%s", opts->host);
	snprintf(s->inner->peer, sizeof(s->inner->peer), "ssh:%s", opts->host);
	s->inner->kind = "ssh";
	*ret = &s->t;
	return 0;
}
