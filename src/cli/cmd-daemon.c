/* src/cli/cmd-daemon.c — zferry daemon: run the config's jobs (daemon/daemon.c) */
#include <getopt.h>
#include <stdio.h>
#include "cli/cli.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "util/banned.h"

int cmd_daemon(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct zf_daemon_opts o = { .config_path = ZF_CONFIG_DEFAULT_PATH };
	int c;

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config_path = optarg; break;
		case 'h': fputs(zf_cmd_find("daemon")->usage, stdout); return ZF_EXIT_OK;
		default: return zf_usage_error("daemon", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return zf_usage_error("daemon", "unexpected argument '%s'", argv[optind]);
	return zf_daemon_run(&o);
}
