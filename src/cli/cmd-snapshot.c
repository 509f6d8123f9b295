/* src/cli/cmd-snapshot.c — zferry snapshot: one atomic, verified snapshot of many filesystems */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"
#include "job/snapshot.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/strv.h"
#include "zfs/zfs.h"
#include "util/banned.h"

int cmd_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "recursive", no_argument, NULL, 'r' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "time-format", required_argument, NULL, 'f' },
		{ "local-time", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_strv_ struct zf_strv made = ZF_STRV_INIT;
	_cleanup_free_ char *name = NULL;
	struct zf_snapshot_opts so = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	const char *prefix = ZF_SNAPSHOT_PREFIX, *format = NULL;
	bool local = false, json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+:rh", opts, NULL)) >= 0) {
		switch (c) {
		case 'r':
			so.recursive = true;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'l':
			local = true;
			break;
		case 'J':
			json = true;
			break;
		case 'h':
			return zf_cmd_help("snapshot", stdout, ZF_EXIT_OK);
		case ':':
			return zf_usage_error("snapshot", "option '%s' needs an argument",
					      argv[optind - 1]);
		default:
			return zf_usage_error("snapshot", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return zf_usage_error("snapshot", "no filesystem given");
	for (int i = optind; i < argc; i++)
		if (zf_zfs_name_check(argv[i], ZF_ZFS_NAME_DATASET, &err) < 0)
			return zf_usage_error("snapshot", "%s", err.msg);
	if (zf_snapshot_name(prefix, format, local, time(NULL), &name, &err) < 0)
		return zf_usage_error("snapshot", "%s", err.msg);

	so.filesystems = (const char *const *)argv + optind;
	so.n = (size_t)(argc - optind);
	so.name = name;
	r = zf_snapshot_run(&so, &made, &err);
	if (r < 0) {
		fprintf(stderr, "zferry snapshot: %s\n", zf_err_msg(&err));
		return ZF_EXIT_FAIL;
	}
	if (json) {
		_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);

		zf_json_object_begin(&j);
		zf_json_key_str(&j, "name", name);
		zf_json_key_array_begin(&j, "snapshots");
		for (size_t i = 0; i < made.n; i++)
			zf_json_str(&j, made.v[i]);
		zf_json_finish(&j);
	} else {
		for (size_t i = 0; i < made.n; i++)
			printf("%s\n", made.v[i]);
	}
	return ZF_EXIT_OK;
}
