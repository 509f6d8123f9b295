/* src/cli/cmd-list.c — zferry list: datasets, snapshots and bookmarks via the zfs layer */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/err.h"
#include "zfs/zfs.h"
#include "util/banned.h"

enum {
	SHOW_FS = 1 << 0,
	SHOW_SNAP = 1 << 1,
	SHOW_BOOKMARK = 1 << 2,
};

static int parse_types(const char *s, unsigned *ret)
{
	_cleanup_free_ char *copy = strdup(s);
	unsigned t = 0;
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (streq(w, "filesystem") || streq(w, "fs"))
			t |= SHOW_FS;
		else if (streq(w, "snapshot") || streq(w, "snap"))
			t |= SHOW_SNAP;
		else if (streq(w, "bookmark"))
			t |= SHOW_BOOKMARK;
		else if (streq(w, "all"))
			t |= SHOW_FS | SHOW_SNAP | SHOW_BOOKMARK;
		else
			return -EINVAL;
	}
	if (!t)
		return -EINVAL;
	*ret = t;
	return 0;
}

static void format_time(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_json(const struct zf_zfs_fs_list *fs, const struct zf_zfs_version_list *vers,
		       unsigned types)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);

	zf_json_object_begin(&j);
	zf_json_key_array_begin(&j, "datasets");
	for (size_t i = 0; i < fs->n; i++) {
		zf_json_object_begin(&j);
		zf_json_key_str(&j, "name", fs->v[i].name);
		zf_json_key_str(&j, "type", fs->v[i].type);
		zf_json_key_u64_str(&j, "guid", fs->v[i].guid);
		zf_json_key_u64(&j, "createtxg", fs->v[i].createtxg);
		zf_json_key_array_begin(&j, "versions");
		for (size_t k = 0; k < vers->n; k++) {
			const struct zf_zfs_version *v = &vers->v[k];
			if (!streq(v->fs, fs->v[i].name))
				continue;
			if (!(types & (v->bookmark ? SHOW_BOOKMARK : SHOW_SNAP)))
				continue;
			zf_json_object_begin(&j);
			zf_json_key_str(&j, "name", v->name);
			zf_json_key_str(&j, "type", v->bookmark ? "bookmark" : "snapshot");
			zf_json_key_u64_str(&j, "guid", v->guid);
			zf_json_key_u64(&j, "createtxg", v->createtxg);
			zf_json_key_i64(&j, "creation", v->creation);
			zf_json_key_u64(&j, "holds", v->userrefs);
			zf_json_object_end(&j);
		}
		zf_json_array_end(&j);
		zf_json_object_end(&j);
	}
	zf_json_finish(&j);
}

static void print_table(const struct zf_zfs_fs_list *fs, const struct zf_zfs_version_list *vers,
			unsigned types)
{
	printf("%-10s %-20s %-9s %-20s %5s  %s\n", "TYPE", "GUID", "TXG", "CREATED", "HOLDS",
	       "NAME");
	for (size_t i = 0; i < fs->n; i++) {
		if (types & SHOW_FS)
			printf("%-10s %-20" PRIu64 " %-9" PRIu64 " %-20s %5s  %s\n",
			       fs->v[i].type, fs->v[i].guid, fs->v[i].createtxg, "-", "-",
			       fs->v[i].name);
		for (size_t j = 0; j < vers->n; j++) {
			const struct zf_zfs_version *v = &vers->v[j];
			char when[32];

			if (!streq(v->fs, fs->v[i].name) ||
			    !(types & (v->bookmark ? SHOW_BOOKMARK : SHOW_SNAP)))
				continue;
			format_time(v->creation, when, sizeof(when));
			char holds[24] = "-";
			if (!v->bookmark)
				snprintf(holds, sizeof(holds), "%" PRIu64, v->userrefs);
			printf("%-10s %-20" PRIu64 " %-9" PRIu64 " %-20s %5s  %s%c%s\n",
			       v->bookmark ? "bookmark" : "snapshot", v->guid, v->createtxg,
			       when, holds, v->fs, v->bookmark ? '#' : '@', v->name);
		}
	}
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "recursive", no_argument, NULL, 'r' },
		{ "type", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct zf_zfs_fs_list fs = { 0 };
	struct zf_zfs_version_list vers = { 0 };
	struct zf_zfs_list_opts lo = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	unsigned types = SHOW_FS | SHOW_SNAP | SHOW_BOOKMARK;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+rt:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'r':
			lo.recursive = true;
			break;
		case 't':
			if (parse_types(optarg, &types) < 0)
				return zf_usage_error("list", "unknown type list '%s'", optarg);
			break;
		case 'J':
			json = true;
			break;
		case 'h':
			return zf_cmd_help("list", stdout, ZF_EXIT_OK);
		default:
			return zf_usage_error("list", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return zf_usage_error("list", "no dataset given");

	r = zf_zfs_list_fs((const char *const *)argv + optind, (size_t)(argc - optind), &lo, &fs,
			   &err);
	if (r >= 0 && (types & (SHOW_SNAP | SHOW_BOOKMARK)) && fs.n) {
		const char **names = calloc(fs.n, sizeof(char *));
		if (!names)
			r = zf_err_set(&err, -ENOMEM, "out of memory");
		for (size_t i = 0; names && i < fs.n; i++)
			names[i] = fs.v[i].name;
		if (names)
			r = zf_zfs_list_versions(names, fs.n, &vers, &err);
		free(names);
	}
	if (r < 0) {
		fprintf(stderr, "zferry list: %s\n", zf_err_msg(&err));
		zf_zfs_fs_list_release(&fs);
		return ZF_EXIT_FAIL;
	}
	if (json)
		print_json(&fs, &vers, types);
	else
		print_table(&fs, &vers, types);
	zf_zfs_fs_list_release(&fs);
	zf_zfs_version_list_release(&vers);
	return ZF_EXIT_OK;
}
