/* src/cli/cmd-config.c — zferry config check: validate the config file and summarise it */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"
#include "config/config.h"
#include "util/err.h"
#include "util/strv.h"
#include "zfs/recv-policy.h"
#include "util/banned.h"

static void print_list(const char *sep, const char *what, const struct zf_strv *v)
{
	if (!v->n)
		return;
	printf("%s%s", sep, what);
	for (size_t i = 0; i < v->n; i++)
		printf("%s%s", i ? ", " : " ", v->v[i]);
}

/* The receive policy a client gets (cl NULL: the serve level's), as one line. */
static void print_receive(const char *what, const struct zf_config *c,
			  const struct zf_config_client *cl)
{
	struct zf_recv_policy p;

	zf_config_recv_policy(c, cl, &p);
	printf("%s: allow", what);
	if (!p.allow)
		printf(" default");
	for (const char *const *a = p.allow; a && *a; a++)
		printf(" %s", *a);
	if (p.allow && !*p.allow)
		printf(" nothing");
	for (const char *const *a = p.deny; a && *a; a++)
		printf("%s%s", a == p.deny ? "; deny " : " ", *a);
	for (const char *const *a = p.force; a && *a; a++)
		printf("%s%s", a == p.force ? "; force " : " ", *a);
	printf("; %s\n", p.mount ? "mount" : "no mount");
}

static void format_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "%lld", (long long)t);
}

/*
 * The daemon: section (when given, or when there are jobs to run) and
 * one line per job: its type, its schedule as parsed and the next run
 * after now, in UTC.  docs/daemon.md shows this output.
 */
static void summary_daemon(const struct zf_config *c)
{
	const struct zf_config_daemon *d = &c->daemon;
	int64_t now = (int64_t)time(NULL);

	if (c->daemon_present || c->n_jobs) {
		printf("daemon: control %s, state dir %s, log %s %s, stop timeout %d s\n",
		       d->control, d->state_dir, d->log_format, d->log_level, d->stop_timeout_s);
		printf("  http: %s\n", d->http_listen ? d->http_listen : "off");
		print_list("  ", "listen:", &d->listen);
		if (d->listen.n)
			putchar('\n');
	}
	printf("jobs: %zu\n", c->n_jobs);
	for (size_t i = 0; i < c->n_jobs; i++) {
		const struct zf_config_job *j = &c->jobs[i];
		struct zf_err err = ZF_ERR_INIT;
		char when[64];
		int64_t next;

		printf("  job '%s': %s", j->name, zf_job_type_str(j->type));
		if (!j->has_schedule) {
			printf(", no schedule\n");
			continue;
		}
		printf(", schedule '%s'", zf_schedule_text(&j->schedule));
		if (zf_schedule_next(&j->schedule, now, &next, &err) < 0) {
			printf(", next: none (%s)\n", err.msg);
			continue;
		}
		format_time(next, when, sizeof(when));
		printf(", next %s\n", when);
	}
}

static void summary_serve(const struct zf_config *c)
{
	const struct zf_config_serve *s = &c->serve;

	/* clients that jobs add need a serve section to be served from */
	if (!s->present && !s->n_clients) {
		printf("serve: not configured\n");
		return;
	}
	printf("serve: tls %s, tcp %s, timeout %d s, handshake timeout %d s, %zu client%s\n",
	       s->tls_ca ? "configured" : "off", s->tcp_present ? "configured" : "off",
	       s->timeout_s, s->handshake_timeout_s, s->n_clients, s->n_clients == 1 ? "" : "s");
	printf("  limits: %u connections, %u unauthenticated, %u unauthenticated per address\n",
	       s->limits.connections, s->limits.unauthenticated, s->limits.unauth_per_address);
	if (s->tcp_present) {
		printf("  tcp allow:");
		for (size_t i = 0; i < s->tcp_allow.n; i++)
			printf("%s%s", i ? ", " : " ", s->tcp_allow.v[i]);
		putchar('\n');
	}
	if (s->dc_present)
		printf("  data channel: %s ports %u-%u\n", s->dc_listen, s->dc_first, s->dc_last);
	else
		printf("  data channel: none\n");
	print_receive("  receive", c, NULL);
	for (size_t i = 0; i < s->n_clients; i++) {
		const struct zf_config_receive *rc = &s->clients[i].receive;

		printf("  client '%s':", s->clients[i].identity);
		print_list(" ", "read", &s->clients[i].read);
		print_list(s->clients[i].read.n ? "; " : " ", "write", &s->clients[i].write);
		/* each is in write too: this says which of those only take additions */
		print_list("; ", "of those append-only", &s->clients[i].append);
		putchar('\n');
		if (rc->has_allow || rc->has_deny || rc->has_force || rc->has_mount)
			print_receive("    receive", c, &s->clients[i]);
		print_list("    ", "append only:", &s->clients[i].append);
		if (s->clients[i].append.n)
			putchar('\n');
	}
}

static void summary(const struct zf_config *c)
{
	printf("config '%s' is valid\n", c->path);
	summary_serve(c);
	summary_daemon(c);
}

static int config_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(zf_config_freep) struct zf_config *cfg = NULL;
	struct zf_err err = ZF_ERR_INIT;
	const char *path = ZF_CONFIG_DEFAULT_PATH;
	bool quiet = false;
	int c;

	while ((c = getopt_long(argc, argv, "+c:qh", opts, NULL)) >= 0) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'q': quiet = true; break;
		case 'h': return zf_cmd_help("config", stdout, ZF_EXIT_OK);
		default:
			return zf_usage_error("config", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return zf_usage_error("config", "unexpected argument '%s'", argv[optind]);
	if (zf_config_load(path, &cfg, &err) < 0) {
		fprintf(stderr, "zferry config: %s\n", err.msg);
		return ZF_EXIT_USAGE;
	}
	if (!quiet)
		summary(cfg);
	return ZF_EXIT_OK;
}

int cmd_config(int argc, char **argv)
{
	if (argc < 2)
		return zf_usage_error("config", "expected a subcommand: check");
	if (streq(argv[1], "-h") || streq(argv[1], "--help"))
		return zf_cmd_help("config", stdout, ZF_EXIT_OK);
	if (streq(argv[1], "check"))
		return config_check(argc - 1, argv + 1);
	return zf_usage_error("config", "unknown subcommand '%s'", argv[1]);
}
