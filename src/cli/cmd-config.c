/* src/cli/cmd-config.c — zferry config check: validate the config file and summarise it */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
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

static void summary(const struct zf_config *c)
{
	const struct zf_config_serve *s = &c->serve;

	printf("config '%s' is valid\n", c->path);
	if (!s->present) {
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
	}
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
