/*
 * src/daemon/daemon.c — the daemon's main loop
 *
 * One thread, one poll(): signals (a signalfd), the control socket, the
 * http listener, and a pipe per running job.  Runs are child processes
 * (daemon/run.c) in process groups of their own; the serve listener for
 * sink and source clients is one more child.  Nothing here waits on zfs,
 * so `zferry status` and /metrics answer at once however busy the runs are.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include "config/config.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/http.h"
#include "daemon/metrics.h"
#include "daemon/page.h"
#include "daemon/report.h"
#include "daemon/run.h"
#include "daemon/state.h"
#include "endpoint/endpoint.h"
#include "log/log.h"
#include "plan/schedule.h"
#include "server/listen.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/json.h"
#include "util/proc.h"
#include "util/banned.h"

/* A job as the loop runs it; slots[i] goes with state.jobs[i]. */
struct slot {
	const struct zf_config_job *job;        /* points into cfg or a retired config */
	pid_t pid;                              /* the running run, 0 when none */
	int fd;                                 /* its report pipe, -1 when none */
	struct zf_report_reader rd;
	bool cancelled;                         /* reset or stopping: SIGTERM sent */
	bool wakeup;                            /* run as soon as it can */
	bool retired;                           /* gone from the config, still running */
	bool scheduled;                         /* has a schedule to run on */
	struct zf_schedule schedule;
	int64_t last_run;                       /* start of the last run, or NEVER */
	int64_t start_ms;                       /* of the run going on, for its duration */
	int64_t kill_at_ms;                     /* SIGKILL if still running then (0: not yet) */
};

struct daemon {
	const struct zf_daemon_opts *o;
	struct zf_config *cfg;
	struct zf_config **retired_cfgs;        /* kept while a retired slot points into them */
	size_t nretired;
	struct zf_dstate st;
	struct slot *slots;
	int64_t *last_run;                      /* scratch for the state file, njobs long */
	struct zf_control *control;
	struct zf_http_server *http;            /* NULL: no daemon.http_listen */
	char *http_addr;                        /* what it listens on */
	int sigfd;
	pid_t listener;                         /* the serve child, 0 when none */
	bool stopping;
	int64_t stop_deadline_ms;
	uint64_t watchdog_usec;
	int64_t watchdog_next_ms;
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* ---- schedules --------------------------------------------------------- */

/* When the job runs next, from its last run; marks it due when a run time has passed. */
static void plan_next(struct daemon *d, size_t i, int64_t now)
{
	struct slot *s = &d->slots[i];
	struct zf_dstate_job *j = &d->st.jobs[i];
	struct zf_err e = ZF_ERR_INIT;
	int64_t next = 0;
	int r;

	if (!s->scheduled || s->retired) {
		j->next_run = 0;
		return;
	}
	r = zf_schedule_due(&s->schedule, s->last_run, now, &next, &e);
	if (r < 0) {
		log_error("job %s: %s", j->name, zf_err_msg(&e));
		j->next_run = 0;
		return;
	}
	if (r > 0)
		s->wakeup = true;
	j->next_run = s->wakeup ? now : next;
}

static void save_state(struct daemon *d)
{
	struct zf_err e = ZF_ERR_INIT;

	for (size_t i = 0; i < d->st.njobs; i++)
		d->last_run[i] = d->slots[i].last_run;
	if (zf_dstate_save(&d->st, d->cfg->daemon.state_dir, d->last_run, &e) < 0)
		log_error("cannot save the state: %s", zf_err_msg(&e));
}

/* ---- runs -------------------------------------------------------------- */

/*
 * SIGTERM to a run (from the daemon's reset or stop, or because the daemon
 * died) ends its whole process group, the zfs processes with it: zfs recv -s
 * keeps what it received for the next run to resume.
 */
static void run_on_term(int sig)
{
	signal(sig, SIG_DFL);
	kill(0, sig);
}

/*
 * The child: its own process group, default signals, only the report pipe
 * open; SIGTERM when the daemon dies, so that no orphan run goes on beside
 * the runs of a restarted daemon.
 */
_noreturn_ static void run_child(const struct zf_config_job *job, int wfd, pid_t daemon)
{
	sigset_t none;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, run_on_term);
	if (getppid() != daemon)
		_exit(ZF_RUN_FAILED);   /* it died before prctl() */
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (wfd != 3) {
		dup2(wfd, 3);
		close(wfd);
	}
	zf_fd_cloexec(3, 1);
	close_range(4, ~0U, 0);
	_exit(zf_job_run(job, 3));
}

static void start_run(struct daemon *d, size_t i, int64_t now)
{
	struct slot *s = &d->slots[i];
	struct zf_dstate_job *j = &d->st.jobs[i];
	pid_t pid, self = getpid();
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_error_errno(-errno, "job %s: cannot start a run: pipe", j->name);
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error_errno(-errno, "job %s: cannot start a run: fork", j->name);
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		run_child(s->job, p[1], self);
	}
	setpgid(pid, pid);      /* as the child does: no race with a quick reset */
	close(p[1]);
	zf_fd_nonblock(p[0], 1);
	s->pid = pid;
	s->fd = p[0];
	s->cancelled = false;
	s->wakeup = false;
	s->last_run = now;
	s->start_ms = zf_now_ms();
	s->kill_at_ms = 0;
	s->rd = (struct zf_report_reader){ .buf = ZF_BUF_INIT };
	j->state = ZF_DSTATE_RUNNING;
	j->current = (struct zf_dstate_run){ .start = now };
	snprintf(j->step, sizeof(j->step), "starting");
	log_info("job %s: run started (pid %d)", j->name, (int)pid);
	save_state(d);
}

/* Reads what the run's pipe holds now; closes it at end of file. */
static void drain_pipe(struct daemon *d, size_t i)
{
	struct slot *s = &d->slots[i];
	char buf[16384];

	while (s->fd >= 0) {
		ssize_t n = read(s->fd, buf, sizeof(buf));
		if (n > 0) {
			zf_report_feed(&s->rd, buf, (size_t)n, &d->st.jobs[i], now_s());
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		close(s->fd);
		s->fd = -1;
	}
}

static enum zf_dstate_result result_of(const struct slot *s, int status)
{
	if (s->cancelled)
		return ZF_DSTATE_CANCELLED;
	if (s->rd.done) {
		if (streq(s->rd.result, "ok"))
			return ZF_DSTATE_OK;
		if (streq(s->rd.result, "partial"))
			return ZF_DSTATE_PARTIAL;
		return ZF_DSTATE_FAILED;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == ZF_RUN_OK ? ZF_DSTATE_OK
								     : ZF_DSTATE_FAILED;
}

/* The run of slot i ended with status: fold it into the state. */
static void end_run(struct daemon *d, size_t i, int status)
{
	struct slot *s = &d->slots[i];
	struct zf_dstate_job *j = &d->st.jobs[i];
	int64_t now = now_s();
	struct zf_dstate_run run;

	drain_pipe(d, i);
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	run = j->current;
	run.seconds = (double)(zf_now_ms() - s->start_ms) / 1000;
	run.result = result_of(s, status);
	if (!s->rd.done && !s->cancelled) {
		char how[64];
		free(j->last_error);
		j->last_error = zf_xasprintf("the run ended without a report (%s)",
					     zf_proc_status_str(status, how, sizeof(how)));
		j->last_error_time = now;
		j->errors_total++;
	}
	zf_dstate_job_add_run(j, &run);
	if (run.result == ZF_DSTATE_OK) {
		j->last_success = now;
		free(j->last_error);
		j->last_error = NULL;
	}
	for (size_t k = 0; k < j->nfs; k++)
		j->fs[k].running = false;
	j->state = s->scheduled || j->type != ZF_JOB_SINK ? ZF_DSTATE_IDLE : ZF_DSTATE_PASSIVE;
	if (j->type == ZF_JOB_SINK || j->type == ZF_JOB_SOURCE)
		j->state = ZF_DSTATE_PASSIVE;
	j->step[0] = 0;
	s->pid = 0;
	zf_report_reader_release(&s->rd);
	log_info("job %s: run ended: %s in %.0f s, %u filesystems ok, %u failed", j->name,
		 zf_dstate_result_str(run.result), run.seconds, run.nfs_ok, run.nfs_failed);
	plan_next(d, i, now);
	save_state(d);
}

static void cancel_run(struct daemon *d, size_t i, int64_t now_ms, const char *why)
{
	struct slot *s = &d->slots[i];

	if (!s->pid || s->cancelled)
		return;
	log_notice("job %s: stopping its run (%s)", d->st.jobs[i].name, why);
	s->cancelled = true;
	s->kill_at_ms = now_ms + (int64_t)d->cfg->daemon.stop_timeout_s * 1000;
	d->st.jobs[i].state = ZF_DSTATE_STOPPING;
	kill(-s->pid, SIGTERM);
}

/* Drops slot i (a retired job whose run ended) from slots and state. */
static void drop_slot(struct daemon *d, size_t i)
{
	struct zf_dstate_job *j = &d->st.jobs[i];

	zf_dstate_job_release(j);
	memmove(j, j + 1, (d->st.njobs - i - 1) * sizeof(*j));
	memmove(&d->slots[i], &d->slots[i + 1], (d->st.njobs - i - 1) * sizeof(*d->slots));
	d->st.njobs--;
}

static void reap(struct daemon *d)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == d->listener) {
			char how[64];
			if (!d->stopping)
				log_error("the serve listener ended (%s)",
					  zf_proc_status_str(status, how, sizeof(how)));
			d->listener = 0;
			continue;
		}
		for (size_t i = 0; i < d->st.njobs; i++) {
			if (d->slots[i].pid != pid)
				continue;
			end_run(d, i, status);
			if (d->slots[i].retired)
				drop_slot(d, i);
			break;
		}
	}
}

/* ---- the control socket -------------------------------------------------- */

static void answer(struct zf_buf *out, const char *error)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(out);

	zf_json_object_begin(&j);
	if (error)
		zf_json_key_str(&j, "error", error);
	else
		zf_json_key_bool(&j, "ok", true);
	zf_json_finish(&j);
}

static ssize_t find_job(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->st.njobs; i++)
		if (!d->slots[i].retired && streq(d->st.jobs[i].name, name))
			return (ssize_t)i;
	return -1;
}

static void on_control(void *userdata, const char *line, struct zf_buf *out)
{
	struct daemon *d = userdata;
	_cleanup_free_ char *msg = NULL;
	const char *arg;
	ssize_t i;

	if (streq(line, "status")) {
		zf_dstate_json(&d->st, now_s(), out);
		return;
	}
	arg = startswith(line, "wakeup ") ? line + 7 : startswith(line, "reset ") ? line + 6 : NULL;
	if (!arg) {
		answer(out, "unknown request (status, wakeup JOB, reset JOB)");
		return;
	}
	i = find_job(d, arg);
	if (i < 0) {
		msg = zf_xasprintf("no job '%s'", arg);
		answer(out, msg);
		return;
	}
	if (line[0] == 'w') {
		const struct zf_config_job *job = d->slots[i].job;
		if (job->type == ZF_JOB_SOURCE || (job->type == ZF_JOB_SINK && !job->keep)) {
			msg = zf_xasprintf("job '%s' is a %s job: it has nothing to run", arg,
					   zf_job_type_str(job->type));
			answer(out, msg);
			return;
		}
		log_info("job %s: woken up", arg);
		d->slots[i].wakeup = true;
		answer(out, NULL);
		return;
	}
	if (!d->slots[i].pid) {
		msg = zf_xasprintf("job '%s' is not running", arg);
		answer(out, msg);
		return;
	}
	cancel_run(d, (size_t)i, zf_now_ms(), "reset");
	answer(out, NULL);
}

/* ---- /metrics, /status.json and the status page --------------------------- */

static void on_http(void *userdata, const struct zf_http_request *req,
		    struct zf_http_response *resp)
{
	struct daemon *d = userdata;
	int64_t now = now_s();

	if (streq(req->path, "/metrics")) {
		resp->content_type = ZF_METRICS_CONTENT_TYPE;
		zf_metrics_render(&d->st, now, &resp->body);
	} else if (streq(req->path, "/")) {
		resp->content_type = ZF_STATUS_PAGE_CONTENT_TYPE;
		zf_status_page_render(&d->st, now, &resp->body);
	} else if (streq(req->path, "/status.json")) {
		resp->content_type = "application/json";
		zf_dstate_json(&d->st, now, &resp->body);
	} else {
		resp->status = 404;
	}
}

/* Listens on daemon.http_listen when it changed; the old listener stays if the new one fails. */
static int open_http(struct daemon *d)
{
	const char *addr = d->cfg->daemon.http_listen;
	struct zf_err e = ZF_ERR_INIT;
	int fd;

	if (d->o->no_listeners || (addr && d->http_addr && streq(addr, d->http_addr)))
		return 0;
	if (!addr) {
		d->http = zf_http_free(d->http);
		free(d->http_addr);
		d->http_addr = NULL;
		return 0;
	}
	fd = zf_http_listen(addr, &e);
	if (fd < 0) {
		log_error("daemon.http_listen: %s", zf_err_msg(&e));
		return fd;
	}
	zf_http_free(d->http);
	d->http = zf_http_new(fd, on_http, d);
	free(d->http_addr);
	d->http_addr = zf_xstrdup(addr);
	log_notice("http: /metrics and the status page on port %d", zf_http_local_port(fd));
	return 0;
}

/* ---- the serve listener ------------------------------------------------- */

static struct zf_endpoint *local_endpoint(void)
{
	return zf_endpoint_local_new();
}

/* `zferry serve --listen ...` for daemon.listen, in a child of its own. */
static int start_listener(struct daemon *d)
{
	const struct zf_strv *l = &d->cfg->daemon.listen;
	struct zf_listen_addr addrs[ZF_SERVER_MAX_LISTENERS] = { 0 };
	struct zf_err e = ZF_ERR_INIT;
	size_t n = 0;
	pid_t pid;

	if (!l->n || d->o->no_listeners)
		return 0;
	for (; n < l->n && n < ZF_SERVER_MAX_LISTENERS; n++)
		if (zf_server_parse_listen(l->v[n], &addrs[n], &e) < 0) {
			log_error("daemon.listen: %s", zf_err_msg(&e));
			for (size_t k = 0; k < n; k++)
				zf_listen_addr_release(&addrs[k]);
			return -EINVAL;
		}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct zf_server_opts so = { .cfg = d->cfg, .endpoint_new = local_endpoint };
		sigset_t none;
		setpgid(0, 0);
		/* a restarted daemon must find the port free */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_IGN);
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close_range(3, ~0U, 0);
		_exit(zf_server_listen(&so, addrs, n));
	}
	for (size_t k = 0; k < n; k++)
		zf_listen_addr_release(&addrs[k]);
	if (pid < 0)
		return log_error_errno(-errno, "cannot start the serve listener");
	setpgid(pid, pid);
	d->listener = pid;
	return 0;
}

static void stop_listener(struct daemon *d)
{
	if (!d->listener)
		return;
	kill(d->listener, SIGTERM);
	/* it closes its sockets first thing; the new one may have to wait for that */
	for (int i = 0; i < 50 && d->listener; i++) {
		int status;
		if (waitpid(d->listener, &status, WNOHANG) == d->listener)
			d->listener = 0;
		else
			usleep(20000);
	}
	/* still draining connections: it no longer listens, let it finish alone */
	d->listener = 0;
}

/* ---- config: first load and reload ---------------------------------------- */

static bool has_run(const struct zf_config_job *job)
{
	return job->type != ZF_JOB_SOURCE && !(job->type == ZF_JOB_SINK && !job->keep);
}

static void slot_init(struct slot *s, struct zf_dstate_job *j, const struct zf_config_job *job)
{
	*s = (struct slot){ .job = job, .fd = -1, .last_run = ZF_SCHEDULE_NEVER };
	s->scheduled = job->has_schedule && has_run(job);
	if (s->scheduled)
		s->schedule = job->schedule;
	if (!j->name)
		j->name = zf_xstrdup(job->name);
	j->type = job->type;
	free(j->schedule);
	j->schedule = job->has_schedule ? zf_xstrdup(zf_schedule_text(&job->schedule)) : NULL;
	if (j->state != ZF_DSTATE_RUNNING && j->state != ZF_DSTATE_STOPPING)
		j->state = has_run(job) && job->type != ZF_JOB_SINK ? ZF_DSTATE_IDLE
								    : ZF_DSTATE_PASSIVE;
}

/*
 * Makes cfg the running config: jobs of the old one with the same name and
 * type keep their state and their run; old jobs still running stay until
 * their run ends (retired); the others go.
 */
static void apply_config(struct daemon *d, struct zf_config *cfg)
{
	struct zf_dstate old = d->st;
	struct slot *old_slots = d->slots;
	size_t n = cfg->n_jobs, k = 0;
	bool *taken = zf_xcalloc(old.njobs + 1, sizeof(bool));

	for (size_t i = 0; i < old.njobs; i++)
		n += old_slots[i].pid != 0;     /* at most: running ones may retire */
	d->st.jobs = zf_xcalloc(n + 1, sizeof(*d->st.jobs));
	d->slots = zf_xcalloc(n + 1, sizeof(*d->slots));
	for (size_t i = 0; i < cfg->n_jobs; i++, k++) {
		const struct zf_config_job *job = &cfg->jobs[i];
		for (size_t o = 0; o < old.njobs; o++) {
			if (taken[o] || old_slots[o].retired || !streq(old.jobs[o].name, job->name) ||
			    old.jobs[o].type != job->type)
				continue;
			taken[o] = true;
			d->st.jobs[k] = old.jobs[o];
			d->slots[k] = old_slots[o];
			break;
		}
		{
			struct slot keep = d->slots[k];
			slot_init(&d->slots[k], &d->st.jobs[k], job);
			if (keep.job) {         /* carried over: its run and history stay */
				d->slots[k].pid = keep.pid;
				d->slots[k].fd = keep.fd;
				d->slots[k].rd = keep.rd;
				d->slots[k].cancelled = keep.cancelled;
				d->slots[k].last_run = keep.last_run;
				d->slots[k].start_ms = keep.start_ms;
				d->slots[k].kill_at_ms = keep.kill_at_ms;
			}
		}
	}
	for (size_t o = 0; o < old.njobs; o++) {
		if (taken[o])
			continue;
		if (old_slots[o].pid) {
			d->st.jobs[k] = old.jobs[o];
			d->slots[k] = old_slots[o];
			d->slots[k].retired = true;
			k++;
			continue;
		}
		zf_dstate_job_release(&old.jobs[o]);
	}
	d->st.njobs = k;
	free(old.jobs);
	free(old_slots);
	free(taken);
	free(d->last_run);
	d->last_run = zf_xcalloc(k + 1, sizeof(*d->last_run));
	d->cfg = cfg;
	d->st.config_path = cfg->path;
	d->st.config_loaded = now_s();
}

static void notify_status(struct daemon *d)
{
	size_t running = 0;

	for (size_t i = 0; i < d->st.njobs; i++)
		running += d->slots[i].pid != 0;
	sd_notifyf(0, "STATUS=%zu jobs, %zu running", d->st.njobs, running);
}

/* SIGHUP: the new config, or the old one and why not. */
static void reload(struct daemon *d)
{
	struct zf_config *cfg = NULL;
	struct zf_err e = ZF_ERR_INIT;
	int64_t now = now_s();

	sd_notify(0, "RELOADING=1");
	if (zf_config_load(d->o->config_path, &cfg, &e) < 0) {
		log_error("reload refused, the running config stays: %s", zf_err_msg(&e));
		sd_notify(0, "READY=1");
		return;
	}
	/* runs carried over point into the old config: it lives until we exit */
	d->retired_cfgs = zf_xreallocarray(d->retired_cfgs, d->nretired + 1,
					   sizeof(*d->retired_cfgs));
	d->retired_cfgs[d->nretired++] = d->cfg;
	apply_config(d, cfg);
	for (size_t i = 0; i < d->st.njobs; i++)
		plan_next(d, i, now);
	(void)open_http(d);
	/* grants may have changed with it: the listener always restarts */
	stop_listener(d);
	(void)start_listener(d);
	log_notice("config '%s' reloaded: %zu jobs", cfg->path, cfg->n_jobs);
	sd_notify(0, "READY=1");
	notify_status(d);
}

/* ---- the loop ------------------------------------------------------------ */

static bool any_running(const struct daemon *d)
{
	for (size_t i = 0; i < d->st.njobs; i++)
		if (d->slots[i].pid)
			return true;
	return false;
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(d);
			break;
		case SIGHUP:
			if (!d->stopping)
				reload(d);
			break;
		default:        /* SIGTERM, SIGINT */
			if (d->stopping)
				break;
			log_notice("stopping (signal %u)", si.ssi_signo);
			sd_notify(0, "STOPPING=1");
			d->stopping = true;
			d->stop_deadline_ms = zf_now_ms() + (int64_t)d->cfg->daemon.stop_timeout_s *
							    1000;
			for (size_t i = 0; i < d->st.njobs; i++)
				cancel_run(d, i, zf_now_ms(), "the daemon stops");
			if (d->listener)
				kill(d->listener, SIGTERM);
			break;
		}
	}
}

/* Starts what is due; kills runs past their stop deadline. */
static void tick(struct daemon *d)
{
	int64_t now = now_s(), now_ms = zf_now_ms();

	for (size_t i = 0; i < d->st.njobs; i++) {
		struct slot *s = &d->slots[i];
		if (s->pid && s->kill_at_ms && now_ms >= s->kill_at_ms) {
			log_warning("job %s: its run did not stop in time: killed",
				    d->st.jobs[i].name);
			kill(-s->pid, SIGKILL);
			s->kill_at_ms = 0;
		}
		if (d->stopping || s->pid || s->retired)
			continue;
		if (!s->wakeup && s->scheduled && d->st.jobs[i].next_run &&
		    now >= d->st.jobs[i].next_run)
			plan_next(d, i, now);
		if (s->wakeup)
			start_run(d, i, now);
	}
	if (d->watchdog_usec && now_ms >= d->watchdog_next_ms) {
		sd_notify(0, "WATCHDOG=1");
		d->watchdog_next_ms = now_ms + (int64_t)(d->watchdog_usec / 2000);
	}
}

/* How long poll() may sleep: until the next run, deadline or watchdog, at most a minute. */
static int sleep_ms(const struct daemon *d, int control_ms)
{
	int64_t now = now_s(), now_ms = zf_now_ms(), t = 60000;

	for (size_t i = 0; i < d->st.njobs; i++) {
		const struct slot *s = &d->slots[i];
		if (s->wakeup && !s->pid)
			return 0;
		if (s->kill_at_ms)
			t = MIN(t, MAX(s->kill_at_ms - now_ms, 0));
		if (!s->pid && s->scheduled && d->st.jobs[i].next_run)
			t = MIN(t, MAX((d->st.jobs[i].next_run - now) * 1000, 0));
	}
	if (d->watchdog_usec)
		t = MIN(t, MAX(d->watchdog_next_ms - now_ms, 0));
	if (d->stopping)
		t = MIN(t, 200);
	if (control_ms >= 0)
		t = MIN(t, control_ms);
	return (int)t;
}

static void loop(struct daemon *d)
{
	struct pollfd *pfd = NULL;
	size_t apfd = 0;

	while (!d->stopping || any_running(d)) {
		size_t n = 0, nctl, nhttp = 0, want = 1 + 1 + ZF_CONTROL_MAX_CONNS + d->st.njobs +
						      ZF_HTTP_MAX_POLLFDS;
		struct zf_http_server *polled = d->http;   /* a reload may replace it */
		int timeout;
		int64_t now_ms;

		if (d->stopping && zf_now_ms() >= d->stop_deadline_ms + 5000)
			break;  /* SIGKILLed and still not reaped: give up waiting */
		if (want > apfd) {
			pfd = zf_xreallocarray(pfd, want, sizeof(*pfd));
			apfd = want;
		}
		pfd[n++] = (struct pollfd){ .fd = d->sigfd, .events = POLLIN };
		nctl = zf_control_pollfds(d->control, pfd + n, 1 + ZF_CONTROL_MAX_CONNS);
		n += nctl;
		for (size_t i = 0; i < d->st.njobs; i++)
			pfd[n++] = (struct pollfd){ .fd = d->slots[i].fd, .events = POLLIN };
		now_ms = zf_now_ms();
		timeout = zf_control_timeout_ms(d->control, now_ms);
		if (d->http) {
			int h = zf_http_timeout_ms(d->http, now_ms);
			nhttp = zf_http_pollfds(d->http, pfd + n, ZF_HTTP_MAX_POLLFDS);
			n += nhttp;
			if (h >= 0 && (timeout < 0 || h < timeout))
				timeout = h;
		}
		if (poll(pfd, n, sleep_ms(d, timeout)) < 0 && errno != EINTR) {
			log_error_errno(-errno, "poll");
			break;
		}
		now_ms = zf_now_ms();
		/* pipes before signals: a run's last lines come before its end */
		for (size_t i = 0; i < d->st.njobs; i++)
			if (d->slots[i].fd >= 0 && pfd[1 + nctl + i].revents)
				drain_pipe(d, i);
		if (pfd[0].revents & POLLIN)
			on_signal(d);
		zf_control_handle(d->control, pfd + 1, nctl, now_ms);
		if (d->http && d->http == polled && nhttp)
			zf_http_handle(d->http, pfd + n - nhttp, nhttp, now_ms);
		tick(d);
	}
	free(pfd);
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0)
		return log_error_errno(-errno, "signalfd");
	return 0;
}

static int setup_logging(const struct zf_config_daemon *c)
{
	enum zf_log_format fmt;
	enum zf_log_level level;

	if (zf_log_parse_format(c->log_format, &fmt) < 0 ||
	    zf_log_parse_level(c->log_level, &level) < 0)
		return -EINVAL;        /* the config parser checked both */
	/* started by systemd with stderr on the journal: its native fields */
	zf_log_set_format(zf_log_stderr_is_journal() ? ZF_LOG_FORMAT_JOURNAL : fmt);
	zf_log_set_level(level);
	return 0;
}

static int start(struct daemon *d)
{
	struct zf_err e = ZF_ERR_INIT;
	int64_t now = now_s();
	int r;

	(void)setup_logging(&d->cfg->daemon);
	d->st.start_time = now;
	d->st.version = ZFERRY_VERSION;
	apply_config(d, d->cfg);
	r = zf_dstate_load(&d->st, d->cfg->daemon.state_dir, d->last_run, &e);
	if (r < 0)      /* damaged: say so, start afresh (the next save replaces it) */
		log_error("%s: starting without it", zf_err_msg(&e));
	for (size_t i = 0; i < d->st.njobs; i++) {
		d->slots[i].last_run = d->last_run[i];
		plan_next(d, i, now);
	}
	r = setup_signals(d);
	if (r < 0)
		return r;
	r = zf_control_new(d->cfg->daemon.control, on_control, d, &d->control, &e);
	if (r < 0) {
		log_error("%s", zf_err_msg(&e));
		return r;
	}
	r = open_http(d);
	if (r < 0)
		return r;
	r = start_listener(d);
	if (r < 0)
		return r;
	if (sd_watchdog_enabled(0, &d->watchdog_usec) <= 0)
		d->watchdog_usec = 0;
	log_notice("started: config '%s', %zu jobs, control socket '%s'", d->cfg->path,
		   d->cfg->n_jobs, d->cfg->daemon.control);
	sd_notify(0, "READY=1");
	notify_status(d);
	return 0;
}

static void finish(struct daemon *d)
{
	for (size_t i = 0; i < d->st.njobs; i++)
		if (d->slots[i].pid) {
			log_error("job %s: run %d left behind", d->st.jobs[i].name,
				  (int)d->slots[i].pid);
			kill(-d->slots[i].pid, SIGKILL);
		}
	if (d->st.njobs)
		save_state(d);
	if (d->listener) {
		kill(-d->listener, SIGKILL);
		waitpid(d->listener, NULL, 0);
	}
	d->control = zf_control_free(d->control);
	d->http = zf_http_free(d->http);
	free(d->http_addr);
	if (d->sigfd >= 0)
		close(d->sigfd);
	for (size_t i = 0; i < d->st.njobs; i++) {
		if (d->slots[i].fd >= 0)
			close(d->slots[i].fd);
		zf_report_reader_release(&d->slots[i].rd);
	}
	zf_dstate_release(&d->st);
	free(d->slots);
	free(d->last_run);
	for (size_t i = 0; i < d->nretired; i++)
		zf_config_free(d->retired_cfgs[i]);
	free(d->retired_cfgs);
	zf_config_free(d->cfg);
}

int zf_daemon_run(const struct zf_daemon_opts *o)
{
	struct daemon d = { .o = o, .sigfd = -1 };
	struct zf_err e = ZF_ERR_INIT;
	int r;

	if (zf_config_load(o->config_path, &d.cfg, &e) < 0) {
		log_error("%s", zf_err_msg(&e));
		return ZF_DAEMON_BAD_CONFIG;
	}
	r = start(&d);
	if (r >= 0) {
		loop(&d);
		log_notice("stopped");
	}
	finish(&d);
	return r < 0 ? ZF_DAEMON_FAILED : ZF_DAEMON_OK;
}
