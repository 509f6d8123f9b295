/* src/cli/cmd-signal.c — zferry signal wakeup|reset JOB: ask the daemon over its control socket */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "cli/control-path.h"
#include "config/config.h"
#include "daemon/control.h"
#include "log/log.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/banned.h"

#define CONTROL_TIMEOUT_MS 10000

char *zf_cli_control_path(const char *cmd, const char *control, const char *config)
{
	struct zf_config *cfg = NULL;
	struct zf_err e = ZF_ERR_INIT;
	char *path;

	if (control)
		return zf_xstrdup(control);
	if (!config && access(ZF_CONFIG_DEFAULT_PATH, R_OK) < 0)
		return zf_xstrdup(ZF_CONFIG_DEFAULT_CONTROL);
	if (zf_config_load(config ? config : ZF_CONFIG_DEFAULT_PATH, &cfg, &e) < 0) {
		log_error("%s: %s", cmd, zf_err_msg(&e));
		return NULL;
	}
	path = zf_xstrdup(cfg->daemon.control);
	zf_config_free(cfg);
	return path;
}

int cmd_signal(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "control", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_buf_ struct zf_buf ans = ZF_BUF_INIT;
	_cleanup_free_ char *path = NULL, *line = NULL;
	const char *config = NULL, *control = NULL;
	struct zf_err e = ZF_ERR_INIT;
	struct json_object *o, *v;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'C': control = optarg; break;
		case 'h': fputs(zf_cmd_find("signal")->usage, stdout); return ZF_EXIT_OK;
		default: return zf_usage_error("signal", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return zf_usage_error("signal", "expected wakeup|reset and a JOB");
	if (!streq(argv[optind], "wakeup") && !streq(argv[optind], "reset"))
		return zf_usage_error("signal", "unknown signal '%s': wakeup or reset",
				      argv[optind]);
	if (strpbrk(argv[optind + 1], "\n\r") || !*argv[optind + 1])
		return zf_usage_error("signal", "bad job name");
	path = zf_cli_control_path("signal", control, config);
	if (!path)
		return ZF_EXIT_USAGE;
	line = zf_xasprintf("%s %s", argv[optind], argv[optind + 1]);
	r = zf_control_request(path, line, CONTROL_TIMEOUT_MS, &ans, &e);
	if (r < 0) {
		log_error("signal: %s", zf_err_msg(&e));
		return ZF_EXIT_FAIL;
	}
	o = json_tokener_parse(zf_buf_str(&ans));
	if (o && json_object_object_get_ex(o, "error", &v)) {
		log_error("signal: %s", json_object_get_string(v));
		json_object_put(o);
		return ZF_EXIT_FAIL;
	}
	r = o && json_object_object_get_ex(o, "ok", NULL) ? ZF_EXIT_OK : ZF_EXIT_FAIL;
	if (r != ZF_EXIT_OK)
		log_error("signal: the daemon's answer makes no sense");
	json_object_put(o);
	return r;
}
