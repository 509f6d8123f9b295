/*
 * src/cli/cmd-status.c — zferry status: what the daemon's jobs do, live on a
 * terminal, a plain dump or JSON otherwise
 *
 * Everything comes from one "status" request on the control socket; the
 * daemon answers from memory, so this never waits on zfs.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"
#include "cli/control-path.h"
#include "daemon/control.h"
#include "log/log.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/num.h"
#include "util/banned.h"

#define CONTROL_TIMEOUT_MS 10000

struct view {
	const char *job;        /* --job: only this one */
	bool verbose;           /* every filesystem, not only running and failing ones */
	int64_t now;
};

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}

static void human_bytes(double v, char *buf, size_t n)
{
	const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void human_secs(int64_t s, char *buf, size_t n)
{
	if (s < 0)
		snprintf(buf, n, "?");
	else if (s < 120)
		snprintf(buf, n, "%llds", (long long)s);
	else if (s < 7200)
		snprintf(buf, n, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 172800)
		snprintf(buf, n, "%lldh%02lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
	else
		snprintf(buf, n, "%lldd%02lldh", (long long)(s / 86400), (long long)(s / 3600 % 24));
}

/* A time as "HH:MM:SS" today, "YYYY-MM-DD HH:MM" otherwise, "-" for never. */
static void when(int64_t t, int64_t now, char *buf, size_t n)
{
	struct tm a, b;
	time_t tt = (time_t)t, nn = (time_t)now;

	if (t <= 0) {
		snprintf(buf, n, "-");
		return;
	}
	localtime_r(&tt, &a);
	localtime_r(&nn, &b);
	strftime(buf, n, a.tm_yday == b.tm_yday && a.tm_year == b.tm_year ? "%H:%M:%S"
									   : "%Y-%m-%d %H:%M", &a);
}

static void print_fs(struct json_object *f, const struct view *v)
{
	const char *target = str(f, "target"), *err = str(f, "last_error");
	struct json_object *running;
	char lag[32] = "", a[32], b[32], rate[32], eta[32] = "";

	if (num(f, "lag") >= 0 && target)
		human_secs(num(f, "lag"), lag, sizeof(lag));
	printf("    %s%s%s", str(f, "name"), target ? " -> " : "", target ? target : "");
	if (json_object_object_get_ex(f, "running", &running) && json_object_get_boolean(running)) {
		human_bytes((double)num(f, "bytes_done"), a, sizeof(a));
		human_bytes((double)num(f, "bytes_estimate"), b, sizeof(b));
		human_bytes((double)num(f, "rate"), rate, sizeof(rate));
		if (json_object_object_get_ex(f, "eta", NULL))
			human_secs(num(f, "eta"), eta, sizeof(eta));
		printf("  %s %s / %s  %s/s%s%s", str(f, "step") ? str(f, "step") : "sending", a,
		       num(f, "bytes_estimate") ? b : "?", rate, *eta ? "  ETA " : "", eta);
	} else {
		when(num(f, "last_snapshot"), v->now, a, sizeof(a));
		printf("  %llu snapshots, newest %s", (unsigned long long)num(f, "snapshots"), a);
		if (*lag)
			printf(", lag %s", lag);
	}
	putchar('\n');
	if (err)
		printf("      error: %s\n", err);
}

static bool fs_interesting(struct json_object *f)
{
	struct json_object *r;

	return str(f, "last_error") ||
	       (json_object_object_get_ex(f, "running", &r) && json_object_get_boolean(r));
}

static void print_job(struct json_object *j, const struct view *v)
{
	struct json_object *last, *fss;
	const char *state = str(j, "state"), *err = str(j, "last_error");
	char a[32], b[32], c[32];
	size_t nfs, shown = 0;
	int64_t maxlag = -1;

	when(num(j, "next_run"), v->now, a, sizeof(a));
	when(num(j, "last_success"), v->now, b, sizeof(b));
	printf("%s (%s, %s)  %s", str(j, "name"), str(j, "type"),
	       str(j, "schedule") ? str(j, "schedule") : "no schedule", state);
	if (streq(state, "running") || streq(state, "stopping")) {
		human_secs(v->now - num(j, "started"), c, sizeof(c));
		printf(" for %s: %s", c, str(j, "step") ? str(j, "step") : "");
	}
	printf("\n  next run %s, last success %s", a, b);
	if (json_object_object_get_ex(j, "last_run", &last) && num(last, "start")) {
		when(num(last, "start"), v->now, a, sizeof(a));
		human_secs(num(last, "seconds"), c, sizeof(c));
		printf(", last run %s took %s: %s", a, c, str(last, "result"));
	}
	putchar('\n');
	if (err)
		printf("  error: %s\n", err);
	if (!json_object_object_get_ex(j, "filesystems", &fss))
		return;
	nfs = json_object_array_length(fss);
	for (size_t i = 0; i < nfs; i++) {
		struct json_object *f = json_object_array_get_idx(fss, i);
		if (str(f, "target") && num(f, "lag") > maxlag)
			maxlag = num(f, "lag");
		if (v->verbose || fs_interesting(f)) {
			print_fs(f, v);
			shown++;
		}
	}
	if (shown < nfs) {
		human_secs(maxlag, a, sizeof(a));
		printf("  %zu filesystem%s", nfs - shown, nfs - shown == 1 ? "" : "s");
		if (maxlag >= 0)
			printf(" up to date, largest lag %s", a);
		printf(" (-v lists them)\n");
	}
}

static int render(struct json_object *o, const struct view *v)
{
	struct json_object *jobs;
	char a[32], up[32];
	bool found = false;

	human_secs(num(o, "now") - num(o, "started"), up, sizeof(up));
	when(num(o, "config_loaded"), num(o, "now"), a, sizeof(a));
	printf("zferry %s, up %s, config %s (loaded %s)\n\n", str(o, "version"), up,
	       str(o, "config"), a);
	if (!json_object_object_get_ex(o, "jobs", &jobs) || !json_object_is_type(jobs,
										json_type_array))
		return -1;
	for (size_t i = 0; i < json_object_array_length(jobs); i++) {
		struct json_object *j = json_object_array_get_idx(jobs, i);
		if (v->job && !streq(str(j, "name") ? str(j, "name") : "", v->job))
			continue;
		found = true;
		print_job(j, v);
		putchar('\n');
	}
	if (v->job && !found) {
		log_error("status: no job '%s'", v->job);
		return -1;
	}
	return 0;
}

static int fetch(const char *path, struct zf_buf *ans)
{
	struct zf_err e = ZF_ERR_INIT;

	zf_buf_reset(ans);
	if (zf_control_request(path, "status", CONTROL_TIMEOUT_MS, ans, &e) < 0) {
		log_error("status: %s", zf_err_msg(&e));
		return -1;
	}
	return 0;
}

static int show(const char *path, struct view *v, bool json)
{
	_cleanup_buf_ struct zf_buf ans = ZF_BUF_INIT;
	struct json_object *o;
	int r;

	if (fetch(path, &ans) < 0)
		return ZF_EXIT_FAIL;
	if (json) {
		fputs(zf_buf_str(&ans), stdout);
		if (ans.len && ans.data[ans.len - 1] != '\n')
			putchar('\n');
		return ZF_EXIT_OK;
	}
	o = json_tokener_parse(zf_buf_str(&ans));
	if (!o) {
		log_error("status: the daemon's answer is no JSON");
		return ZF_EXIT_FAIL;
	}
	v->now = num(o, "now");
	r = render(o, v);
	json_object_put(o);
	return r < 0 ? ZF_EXIT_FAIL : ZF_EXIT_OK;
}

static volatile sig_atomic_t interrupted;

static void on_int(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Redraws every interval seconds until Ctrl-C; the screen is restored by the terminal. */
static int live(const char *path, struct view *v, unsigned interval)
{
	signal(SIGINT, on_int);
	signal(SIGTERM, on_int);
	while (!interrupted) {
		fputs("\033[H\033[2J", stdout);
		if (show(path, v, false) != ZF_EXIT_OK)
			return ZF_EXIT_FAIL;
		fflush(stdout);
		for (unsigned i = 0; i < interval * 10 && !interrupted; i++)
			usleep(100000);
	}
	return ZF_EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "control", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "job", required_argument, NULL, 'J' },
		{ "once", no_argument, NULL, '1' },
		{ "interval", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ char *path = NULL;
	const char *config = NULL, *control = NULL;
	struct view v = { 0 };
	bool json = false, once = false;
	unsigned interval = 1;
	int c;

	while ((c = getopt_long(argc, argv, "+c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'C': control = optarg; break;
		case 'j': json = true; break;
		case 'J': v.job = optarg; break;
		case '1': once = true; break;
		case 'v': v.verbose = true; break;
		case 'i': {
			uint64_t n;
			if (zf_parse_u64(optarg, 3600, &n) < 0 || n < 1)
				return zf_usage_error("status", "--interval takes 1 to 3600 seconds");
			interval = (unsigned)n;
			break;
		}
		case 'h': fputs(zf_cmd_find("status")->usage, stdout); return ZF_EXIT_OK;
		default: return zf_usage_error("status", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return zf_usage_error("status", "unexpected argument '%s'", argv[optind]);
	path = zf_cli_control_path("status", control, config);
	if (!path)
		return ZF_EXIT_USAGE;
	if (!json && !once && isatty(STDOUT_FILENO))
		return live(path, &v, interval);
	return show(path, &v, json);
}
