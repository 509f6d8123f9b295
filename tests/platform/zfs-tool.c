/*
 * tests/platform/zfs-tool.c — drives each src/zfs/ operation from a shell test.
 *
 * Test-only: the platform tests call the zfs layer through this tool to
 * check every operation and error class against real OpenZFS.  Failures
 * print "ENAME: message" (ENAME as zf_err_name()) on stderr and exit 1.
 *
 *   zfs-tool list-fs [-r] [-x REGEX] ROOT...     (-x: leave out names matching REGEX)
 *   zfs-tool list-versions FS...
 *   zfs-tool get DS[,DS...] PROP[,PROP...]
 *   zfs-tool get-value DS PROP                  the value's bytes alone, no newline
 *   zfs-tool set DS NAME=VALUE...
 *   zfs-tool snapshot [-r] NAME FS...
 *   zfs-tool bookmark SNAP|BOOKMARK FS#MARK
 *   zfs-tool hold|release TAG SNAP...
 *   zfs-tool holds SNAP...
 *   zfs-tool destroy FS NAME...
 *   zfs-tool destroy-bookmark FS#MARK
 *   zfs-tool create [-p] DS [NAME=VALUE...]
 *   zfs-tool rename FROM TO
 *   zfs-tool send [-wcLepI] [-i FROM] [-t TOKEN] [SNAP]     stream to stdout
 *   zfs-tool estimate [-wcLepI] [-i FROM] [-t TOKEN] [SNAP]
 *   zfs-tool recv [-s] [-u] [-F] [-o NAME=VALUE]... [-x NAME]... TARGET   stream from stdin
 *   zfs-tool recv-abort FS
 */
#include <getopt.h>
#include <regex.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/proc.h"
#include "util/strv.h"
#include "zfs/zfs.h"
#include "util/banned.h"

static int fail(const struct zf_err *err)
{
	fprintf(stderr, "%s: %s\n", zf_err_name(err->code), zf_err_msg(err));
	return 1;
}

static void split(const char *s, struct zf_strv *out)
{
	_cleanup_free_ char *copy = zf_xstrdup(s);
	char *save = NULL;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
		zf_strv_add(out, w);
}

static int copy_fd(int from, int to)
{
	char buf[1 << 16];
	for (;;) {
		ssize_t n = zf_read_full(from, buf, sizeof(buf));
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
		int r = zf_write_full(to, buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

static bool not_matching(const char *name, void *userdata)
{
	return regexec(userdata, name, 0, NULL, 0) != 0;
}

static int do_send(int argc, char **argv, bool estimate)
{
	struct zf_zfs_send_opts o = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	struct zf_proc p;
	int c, r;

	while ((c = getopt(argc, argv, "wcLepIi:t:")) >= 0) {
		switch (c) {
		case 'w': o.raw = true; break;
		case 'c': o.compressed = true; break;
		case 'L': o.large_block = true; break;
		case 'e': o.embed = true; break;
		case 'p': o.props = true; break;
		case 'I': o.intermediates = true; break;
		case 'i': o.from = optarg; break;
		case 't': o.resume_token = optarg; break;
		default: return 2;
		}
	}
	const char *snap = optind < argc ? argv[optind] : NULL;
	if (estimate) {
		uint64_t bytes;
		if (zf_zfs_send_estimate(snap, &o, &bytes, &err) < 0)
			return fail(&err);
		printf("%" PRIu64 "\n", bytes);
		return 0;
	}
	if (zf_zfs_send_start(snap, &o, &p, &err) < 0)
		return fail(&err);
	r = copy_fd(p.out_fd, 1);
	if (zf_zfs_stream_finish(&p, "send", &err) < 0) {
		zf_proc_release(&p);
		return fail(&err);
	}
	zf_proc_release(&p);
	if (r < 0) {
		fprintf(stderr, "%s: cannot copy stream: %s\n", zf_err_name(r), strerror(-r));
		return 1;
	}
	return 0;
}

static int do_recv(int argc, char **argv)
{
	_cleanup_strv_ struct zf_strv set = ZF_STRV_INIT;
	_cleanup_strv_ struct zf_strv excl = ZF_STRV_INIT;
	struct zf_zfs_recv_opts o = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	struct zf_proc p;
	int c, r;

	while ((c = getopt(argc, argv, "suFo:x:")) >= 0) {
		switch (c) {
		case 's': o.resumable = true; break;
		case 'u': o.no_mount = true; break;
		case 'F': o.force = true; break;
		case 'o': zf_strv_add(&set, optarg); break;
		case 'x': zf_strv_add(&excl, optarg); break;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		return 2;
	o.set_props = set.n ? zf_strv_argv(&set) : NULL;
	o.exclude_props = excl.n ? zf_strv_argv(&excl) : NULL;
	if (zf_zfs_recv_start(argv[optind], &o, &p, &err) < 0)
		return fail(&err);
	r = copy_fd(0, p.in_fd);
	if (zf_zfs_stream_finish(&p, "recv", &err) < 0) {
		zf_proc_release(&p);
		return fail(&err);
	}
	zf_proc_release(&p);
	if (r < 0) {
		fprintf(stderr, "%s: cannot copy stream: %s\n", zf_err_name(r), strerror(-r));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct zf_err err = ZF_ERR_INIT;
	const char *op;
	int r = 0;

	signal(SIGPIPE, SIG_IGN);      /* as zferry: a dead zfs recv is an EPIPE to report */
	if (argc < 2) {
		fprintf(stderr, "usage: zfs-tool OP ARGS\n");
		return 2;
	}
	op = argv[1];
	argc--;
	argv++;
	const char *const *rest = (const char *const *)argv + 1;
	size_t nrest = (size_t)(argc - 1);

	if (streq(op, "list-fs")) {
		struct zf_zfs_list_opts lo = { 0 };
		struct zf_zfs_fs_list l = { 0 };
		regex_t re;
		bool have_re = false;
		if (nrest && streq(rest[0], "-r")) {
			lo.recursive = true;
			rest++;
			nrest--;
		}
		if (nrest >= 2 && streq(rest[0], "-x")) {
			if (regcomp(&re, rest[1], REG_EXTENDED | REG_NOSUB) != 0)
				return 2;
			have_re = true;
			lo.filter = not_matching;
			lo.userdata = &re;
			rest += 2;
			nrest -= 2;
		}
		r = zf_zfs_list_fs(rest, nrest, &lo, &l, &err);
		if (have_re)
			regfree(&re);
		for (size_t i = 0; r >= 0 && i < l.n; i++)
			printf("%s\t%s\t%" PRIu64 "\t%" PRIu64 "\n", l.v[i].name, l.v[i].type,
			       l.v[i].guid, l.v[i].createtxg);
		zf_zfs_fs_list_release(&l);
	} else if (streq(op, "list-versions")) {
		struct zf_zfs_version_list l = { 0 };
		r = zf_zfs_list_versions(rest, nrest, &l, &err);
		for (size_t i = 0; r >= 0 && i < l.n; i++)
			printf("%s%c%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRId64 "\t%" PRIu64 "\n",
			       l.v[i].fs, l.v[i].bookmark ? '#' : '@', l.v[i].name, l.v[i].guid,
			       l.v[i].createtxg, l.v[i].creation, l.v[i].userrefs);
		zf_zfs_version_list_release(&l);
	} else if (streq(op, "get") && nrest == 2) {
		_cleanup_strv_ struct zf_strv ds = ZF_STRV_INIT;
		_cleanup_strv_ struct zf_strv props = ZF_STRV_INIT;
		struct zf_zfs_prop_list l = { 0 };
		split(rest[0], &ds);
		split(rest[1], &props);
		r = zf_zfs_get(zf_strv_argv(&ds), ds.n, zf_strv_argv(&props), props.n, &l, &err);
		for (size_t i = 0; r >= 0 && i < l.n; i++)
			printf("%s\t%s\t%s\t%s\n", l.v[i].dataset, l.v[i].name, l.v[i].value,
			       l.v[i].source);
		zf_zfs_prop_list_release(&l);
	} else if (streq(op, "get-value") && nrest == 2) {
		_cleanup_free_ char *value = NULL;
		r = zf_zfs_get_one(rest[0], rest[1], &value, &err);
		if (r >= 0 && zf_write_full(1, value, strlen(value)) < 0)
			return 1;
	} else if (streq(op, "set") && nrest >= 2) {
		r = zf_zfs_set(rest[0], rest + 1, nrest - 1, &err);
	} else if (streq(op, "snapshot") && nrest >= 2) {
		bool rec = streq(rest[0], "-r");
		r = zf_zfs_snapshot(rest + 1 + rec, nrest - 1 - rec, rest[rec], rec, &err);
	} else if (streq(op, "bookmark") && nrest == 2) {
		r = zf_zfs_bookmark(rest[0], rest[1], &err);
	} else if (streq(op, "hold") && nrest >= 1) {
		r = zf_zfs_hold(rest[0], rest + 1, nrest - 1, &err);
	} else if (streq(op, "release") && nrest >= 1) {
		r = zf_zfs_release(rest[0], rest + 1, nrest - 1, &err);
	} else if (streq(op, "holds")) {
		struct zf_zfs_hold_list l = { 0 };
		r = zf_zfs_holds(rest, nrest, &l, &err);
		for (size_t i = 0; r >= 0 && i < l.n; i++)
			printf("%s\t%s\n", l.v[i].snapshot, l.v[i].tag);
		zf_zfs_hold_list_release(&l);
	} else if (streq(op, "destroy") && nrest >= 1) {
		r = zf_zfs_destroy_snapshots(rest[0], rest + 1, nrest - 1, &err);
	} else if (streq(op, "destroy-bookmark") && nrest == 1) {
		r = zf_zfs_destroy_bookmark(rest[0], &err);
	} else if (streq(op, "create") && nrest >= 1) {
		bool parents = streq(rest[0], "-p");
		_cleanup_strv_ struct zf_strv props = ZF_STRV_INIT;
		for (size_t i = 1 + parents; i < nrest; i++)
			zf_strv_add(&props, rest[i]);
		struct zf_zfs_create_opts co = { parents, props.n ? zf_strv_argv(&props) : NULL };
		r = zf_zfs_create(rest[parents], &co, &err);
	} else if (streq(op, "rename") && nrest == 2) {
		r = zf_zfs_rename(rest[0], rest[1], &err);
	} else if (streq(op, "send")) {
		return do_send(argc, argv, false);
	} else if (streq(op, "estimate")) {
		return do_send(argc, argv, true);
	} else if (streq(op, "recv")) {
		return do_recv(argc, argv);
	} else if (streq(op, "recv-abort") && nrest == 1) {
		r = zf_zfs_recv_abort(rest[0], &err);
	} else {
		fprintf(stderr, "zfs-tool: unknown operation or wrong arguments: %s\n", op);
		return 2;
	}
	return r < 0 ? fail(&err) : 0;
}
