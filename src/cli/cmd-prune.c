/* src/cli/cmd-prune.c — zferry prune: retention rules applied, batched destroys */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"
#include "job/prune.h"
#include "plan/retention.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "zfs/zfs.h"
#include "util/banned.h"

static const unsigned protect_bits[] = {
	ZF_RETENTION_HELD, ZF_RETENTION_CURSOR, ZF_RETENTION_NEWEST,
};

/* The local zone's offset at t, for calendar periods under --local-time (TZ applies). */
static int64_t local_offset(int64_t t, void *userdata)
{
	time_t tt = (time_t)t;
	struct tm tm;

	(void)userdata;
	if (!localtime_r(&tt, &tm))
		return 0;
	return tm.tm_gmtoff;
}

static void format_time(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "%" PRId64, t);
}

/* "grid:24x1h, last_n:3, held" */
static void add_reasons(struct zf_buf *b, const struct zf_retention_policy *p,
			const struct zf_prune_item *it)
{
	bool first = true;

	for (size_t i = 0; i < zf_retention_policy_nrules(p); i++) {
		if (!(it->verdict.rules & (UINT64_C(1) << i)))
			continue;
		if (!first)
			zf_buf_adds(b, ", ");
		first = false;
		zf_buf_adds(b, zf_retention_rule_text(p, i));
	}
	first = true;
	for (size_t i = 0; i < ELEMENTSOF(protect_bits); i++) {
		if (!(it->verdict.protect & protect_bits[i]))
			continue;
		if (!first || it->verdict.rules)
			zf_buf_adds(b, ", ");
		first = false;
		zf_buf_adds(b, zf_retention_protect_str(protect_bits[i]));
	}
}

/* "rules":["grid:24x1h","last_n:3"],"protected":["held"] */
static void json_reasons(struct zf_json *j, const struct zf_retention_policy *p,
			 const struct zf_prune_item *it)
{
	zf_json_key_array_begin(j, "rules");
	for (size_t i = 0; i < zf_retention_policy_nrules(p); i++)
		if (it->verdict.rules & (UINT64_C(1) << i))
			zf_json_str(j, zf_retention_rule_text(p, i));
	zf_json_array_end(j);
	zf_json_key_array_begin(j, "protected");
	for (size_t i = 0; i < ELEMENTSOF(protect_bits); i++)
		if (it->verdict.protect & protect_bits[i])
			zf_json_str(j, zf_retention_protect_str(protect_bits[i]));
	zf_json_array_end(j);
}

static void print_json(const struct zf_prune_report *rep, const struct zf_retention_policy *p,
		       bool dry_run)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);
	size_t k = 0;

	zf_json_object_begin(&j);
	zf_json_key_bool(&j, "dry_run", dry_run);
	zf_json_key_u64(&j, "destroy", rep->ndestroy);
	zf_json_key_u64(&j, "held", rep->nheld);
	zf_json_key_u64(&j, "failed", rep->nfailed);
	zf_json_key_array_begin(&j, "filesystems");
	for (size_t f = 0; f < rep->nfs; f++) {
		zf_json_object_begin(&j);
		zf_json_key_str(&j, "name", rep->fs[f]);
		zf_json_key_array_begin(&j, "snapshots");
		for (; k < rep->n && rep->v[k].fs == rep->fs[f]; k++) {
			const struct zf_prune_item *it = &rep->v[k];
			char when[32];
			format_time(it->creation, when, sizeof(when));
			zf_json_object_begin(&j);
			zf_json_key_str(&j, "name", it->name);
			zf_json_key_u64(&j, "createtxg", it->createtxg);
			zf_json_key_i64(&j, "creation", it->creation);
			zf_json_key_str(&j, "time", when);
			zf_json_key_str(&j, "action", it->verdict.destroy ? "destroy" : "keep");
			zf_json_key_bool(&j, "destroyed", it->destroyed);
			zf_json_key_bool(&j, "failed", it->failed);
			json_reasons(&j, p, it);
			zf_json_object_end(&j);
		}
		zf_json_array_end(&j);
		zf_json_object_end(&j);
	}
	zf_json_finish(&j);
}

static void print_text(const struct zf_prune_report *rep, const struct zf_retention_policy *p,
		       bool dry_run)
{
	for (size_t k = 0; k < rep->n; k++) {
		const struct zf_prune_item *it = &rep->v[k];
		_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

		if (it->verdict.destroy) {
			if (dry_run)
				printf("would destroy %s@%s\n", it->fs, it->name);
			else if (it->destroyed)
				printf("destroyed %s@%s\n", it->fs, it->name);
			else
				printf("failed to destroy %s@%s\n", it->fs, it->name);
			continue;
		}
		add_reasons(&b, p, it);
		/* a real run shows only what is worth telling: holds that saved a snapshot */
		if (dry_run || (!it->verdict.rules && (it->verdict.protect & ZF_RETENTION_HELD)))
			printf("keep %s@%s (%s)\n", it->fs, it->name, zf_buf_str(&b));
	}
}

static const struct option opts[] = {
	{ "recursive", no_argument, NULL, 'r' },
	{ "keep", required_argument, NULL, 'k' },
	{ "prefix", required_argument, NULL, 'p' },
	{ "regex", required_argument, NULL, 'e' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "allow-empty", no_argument, NULL, 'E' },
	{ "local-time", no_argument, NULL, 'l' },
	{ "json", no_argument, NULL, 'J' },
	{ "help", no_argument, NULL, 'h' },
	{},
};

/* What the command line asked for: parse_options() fills it, the later phases read it. */
struct args {
	struct zf_retention_policy *policy;
	struct zf_prune_opts po;
	const char *prefix, *regex;
	bool json;
};

static void args_release(struct args *a)
{
	zf_retention_policy_free(a->policy);
}

/* The options, one by one as getopt hands them over; GO_ON or the exit status. */
static int parse_options(int argc, char **argv, struct args *a)
{
	struct zf_err err = ZF_ERR_INIT;
	int c;

	while ((c = getopt_long(argc, argv, "+:rnh", opts, NULL)) >= 0) {
		switch (c) {
		case 'r':
			a->po.recursive = true;
			break;
		case 'k':
			if (zf_retention_policy_parse(a->policy, optarg, &err) < 0)
				return zf_usage_error("prune", "--keep '%s': %s", optarg, err.msg);
			break;
		case 'p':
			a->prefix = optarg;
			break;
		case 'e':
			a->regex = optarg;
			break;
		case 'n':
			a->po.dry_run = true;
			break;
		case 'E':
			a->po.ropts.allow_empty = true;
			break;
		case 'l':
			a->po.ropts.utc_offset = local_offset;
			break;
		case 'J':
			a->json = true;
			break;
		case 'h':
			return zf_cmd_help("prune", stdout, ZF_EXIT_OK);
		case ':':
			return zf_usage_error("prune", "option '%s' needs an argument",
					      argv[optind - 1]);
		default:
			return zf_usage_error("prune", "unknown option '%s'", argv[optind - 1]);
		}
	}
	return GO_ON;
}

/* The rules, the selection and the filesystems, checked before anything is listed. */
static int check_options(int argc, char **argv, struct args *a)
{
	struct zf_err err = ZF_ERR_INIT;

	if (zf_retention_policy_nrules(a->policy) == 0)
		return zf_usage_error("prune", "no --keep rules given");
	if (a->prefix && a->regex)
		return zf_usage_error("prune", "--prefix and --regex exclude each other");
	if (a->prefix && !*a->prefix)
		return zf_usage_error("prune", "empty --prefix would make every snapshot a "
				      "candidate; use --regex '.*' to mean that");
	if (zf_retention_policy_set_select(a->policy, a->prefix, a->regex, &err) < 0)
		return zf_usage_error("prune", "--regex: %s", err.msg);
	if (optind >= argc)
		return zf_usage_error("prune", "no filesystem given");
	for (int i = optind; i < argc; i++)
		if (zf_zfs_name_check(argv[i], ZF_ZFS_NAME_DATASET, &err) < 0)
			return zf_usage_error("prune", "%s", err.msg);
	return GO_ON;
}

/* Prunes and reports, even what a failed run managed; the exit status. */
static int run(int argc, char **argv, struct args *a)
{
	_cleanup_(zf_prune_report_release) struct zf_prune_report rep = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	int r;

	if (a->po.ropts.utc_offset)
		tzset();
	a->po.filesystems = (const char *const *)argv + optind;
	a->po.n = (size_t)(argc - optind);
	a->po.policy = a->policy;
	r = zf_prune_run(&a->po, &rep, &err);
	if (a->json)
		print_json(&rep, a->policy, a->po.dry_run);
	else
		print_text(&rep, a->policy, a->po.dry_run);
	if (rep.nheld)
		fprintf(stderr, "zferry prune: %zu snapshot%s kept only because of holds\n",
			rep.nheld, rep.nheld == 1 ? "" : "s");
	if (r < 0) {
		fprintf(stderr, "zferry prune: %s\n", zf_err_msg(&err));
		return ZF_EXIT_FAIL;
	}
	return ZF_EXIT_OK;
}

int cmd_prune(int argc, char **argv)
{
	_cleanup_(args_release) struct args a = { .policy = zf_retention_policy_new() };
	int r;

	if ((r = parse_options(argc, argv, &a)) != GO_ON)
		return r;
	if ((r = check_options(argc, argv, &a)) != GO_ON)
		return r;
	return run(argc, argv, &a);
}
