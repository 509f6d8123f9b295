/* src/cli/cmd-backup-prune.c — zferry backup prune: retention rules over a store's backups */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "chunk/session.h"
#include "cli/cli.h"
#include "job/backup-prune.h"
#include "plan/retention.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/zfs-name.h"
#include "util/banned.h"

const char cmd_backup_prune_usage[] =
	"usage: zferry backup prune -s STORE -k RULES [-d DATASET] [--dry-run] [--json]\n"
	"\n"
	"Applies retention rules to the backups in STORE's catalogue, each dataset\n"
	"alone, and removes the catalogue entries of the backups nothing keeps.  Every\n"
	"backup is a candidate; a snapshot backed up more than once (from different\n"
	"bases) counts once.  Kept whatever the rules say: the newest backup of each\n"
	"dataset, every backup a kept incremental needs as its base (transitively),\n"
	"and the bases of backups being written now.  Chunks and indexes stay until\n"
	"'zferry store gc' reclaims them.\n"
	"\n"
	"  -s, --store STORE        the store directory (over HTTP: prune on the server)\n"
	"  -k, --keep RULES         retention rules, as for 'zferry prune' (grid:,\n"
	"                           last_n:, regex:, daily=N,...); repeatable, a union\n"
	"  -d, --dataset DATASET    only this dataset's backups (default: all)\n"
	"  -n, --dry-run            decide and report, remove nothing\n"
	"      --json               print the result as one JSON object\n"
	"  -h, --help               this text\n"
	"\n"
	"Prints one line per backup: 'keep' or 'remove', the backup, full or the base\n"
	"it is incremental from, and why; then a summary.\n";

static const unsigned keep_bits[] = {
	ZF_BACKUP_KEEP_NEWEST, ZF_BACKUP_KEEP_BASE, ZF_BACKUP_KEEP_SESSION,
	ZF_BACKUP_KEEP_UNSELECTED,
};

/* The words for why a backup stays, in text ("last_n:1, newest") or JSON. */
static void add_reasons(struct zf_buf *b, const struct zf_retention_policy *p,
			const struct zf_backup_prune_item *it)
{
	const char *sep = "";

	for (size_t i = 0; i < zf_retention_policy_nrules(p); i++)
		if (it->rules & (UINT64_C(1) << i)) {
			zf_buf_addf(b, "%s%s", sep, zf_retention_rule_text(p, i));
			sep = ", ";
		}
	for (size_t i = 0; i < ELEMENTSOF(keep_bits); i++)
		if (it->keep & keep_bits[i]) {
			zf_buf_addf(b, "%s%s", sep, zf_backup_keep_str(keep_bits[i]));
			sep = ", ";
		}
}

static void json_reasons(struct zf_json *j, const struct zf_retention_policy *p,
			 const struct zf_backup_prune_item *it)
{
	zf_json_key_array_begin(j, "rules");
	for (size_t i = 0; i < zf_retention_policy_nrules(p); i++)
		if (it->rules & (UINT64_C(1) << i))
			zf_json_str(j, zf_retention_rule_text(p, i));
	zf_json_array_end(j);
	zf_json_key_array_begin(j, "protected");
	for (size_t i = 0; i < ELEMENTSOF(keep_bits); i++)
		if (it->keep & keep_bits[i])
			zf_json_str(j, zf_backup_keep_str(keep_bits[i]));
	zf_json_array_end(j);
}

static void print_text(const struct zf_backup_prune_result *res,
		       const struct zf_retention_policy *p, bool dry_run)
{
	for (size_t i = 0; i < res->list.n; i++) {
		const struct zf_catalogue_entry *e = &res->list.v[i];
		const struct zf_backup_prune_item *it = &res->v[i];
		_cleanup_buf_ struct zf_buf why = ZF_BUF_INIT;
		_cleanup_buf_ struct zf_buf kind = ZF_BUF_INIT;

		if (e->base_guid)
			zf_buf_addf(&kind, "incremental from @%s", e->base_snapshot);
		else
			zf_buf_adds(&kind, "full");
		if (!it->remove)
			add_reasons(&why, p, it);
		else
			zf_buf_addf(&why, "no rule keeps it%s", it->vanished ? "; already gone" :
				      it->failed ? "; cannot remove it" : "");
		printf("%s %s@%s (%s) %s\n", it->remove ? "remove" : "keep", e->dataset,
		       e->snapshot, zf_buf_str(&kind), zf_buf_str(&why));
	}
	printf("zferry backup prune: %zu backups, %zu kept, %zu %s\n", res->list.n,
	       res->list.n - res->nremove, res->nremove,
	       dry_run ? "would be removed (dry run)" : "removed");
}

static void print_json(const struct zf_backup_prune_result *res,
		       const struct zf_retention_policy *p, const char *store, bool dry_run)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "store", store);
	zf_json_key_bool(&j, "dry_run", dry_run);
	zf_json_key_u64(&j, "backups", res->list.n);
	zf_json_key_u64(&j, "kept", res->list.n - res->nremove);
	zf_json_key_u64(&j, "remove", res->nremove);
	zf_json_key_u64(&j, "removed", res->nremoved);
	zf_json_key_u64(&j, "failed", res->nfailed);
	zf_json_key_u64(&j, "broken_chains", res->nbroken);
	zf_json_key_array_begin(&j, "entries");
	for (size_t i = 0; i < res->list.n; i++) {
		const struct zf_catalogue_entry *e = &res->list.v[i];
		const struct zf_backup_prune_item *it = &res->v[i];

		zf_json_object_begin(&j);
		zf_json_key_str(&j, "dataset", e->dataset);
		zf_json_key_str(&j, "snapshot", e->snapshot);
		zf_json_key_u64_str(&j, "guid", e->guid);
		zf_json_key_u64_str(&j, "createtxg", e->createtxg);
		zf_json_key_guid_or_null(&j, "base_guid", e->base_guid);
		zf_json_key_str(&j, "base_snapshot", e->base_snapshot);
		zf_json_key_str(&j, "action", it->remove ? "remove" : "keep");
		zf_json_key_bool(&j, "removed", it->removed);
		zf_json_key_bool(&j, "vanished", it->vanished);
		zf_json_key_bool(&j, "failed", it->failed);
		json_reasons(&j, p, it);
		zf_json_object_end(&j);
	}
	zf_json_finish(&j);
}

static const struct option opts[] = {
	{ "store", required_argument, NULL, 's' },
	{ "keep", required_argument, NULL, 'k' },
	{ "dataset", required_argument, NULL, 'd' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "json", no_argument, NULL, 'J' },
	{ "help", no_argument, NULL, 'h' },
	{},
};

struct args {
	struct zf_retention_policy *policy;
	const char *store;
	struct zf_backup_prune_opts o;
	bool json;
};

static void args_release(struct args *a)
{
	zf_retention_policy_free(a->policy);
}

static int parse_options(int argc, char **argv, struct args *a)
{
	struct zf_err err = ZF_ERR_INIT;
	int c;

	optind = 0;     /* full re-initialisation: argv[0] is "prune", whoever calls */
	while ((c = getopt_long(argc, argv, "+:s:k:d:nh", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			a->store = optarg;
			break;
		case 'k':
			if (zf_retention_policy_parse(a->policy, optarg, &err) < 0)
				return zf_sub_usage_error("backup", "prune", "--keep '%s': %s",
							  optarg, err.msg);
			break;
		case 'd':
			if (zf_zfs_name_check(optarg, ZF_ZFS_NAME_DATASET, &err) < 0)
				return zf_sub_usage_error("backup", "prune", "--dataset: %s",
							  err.msg);
			a->o.dataset = optarg;
			break;
		case 'n':
			a->o.dry_run = true;
			break;
		case 'J':
			a->json = true;
			break;
		case 'h':
			fputs(cmd_backup_prune_usage, stdout);
			return ZF_EXIT_OK;
		default:
			return zf_sub_bad_option("backup", "prune", argc, argv);
		}
	}
	return GO_ON;
}

/* The rules and the store, checked before anything is read. */
static int check_options(int argc, char **argv, struct args *a)
{
	struct zf_err err = ZF_ERR_INIT;
	struct stat st;

	if (optind < argc)
		return zf_sub_usage_error("backup", "prune", "unexpected argument '%s'",
					  argv[optind]);
	if (zf_retention_policy_nrules(a->policy) == 0)
		return zf_sub_usage_error("backup", "prune", "no --keep rules given");
	if (!a->store)
		return zf_sub_usage_error("backup", "prune", "no store given (-s STORE)");
	/* every backup is a candidate: the empty prefix selects every name */
	if (zf_retention_policy_set_select(a->policy, "", NULL, &err) < 0)
		return zf_sub_fail("backup", "prune", &err);
	if (startswith(a->store, "http://") || startswith(a->store, "https://")) {
		fprintf(stderr, "zferry backup prune: backup prune on an HTTP store runs on the "
			"server's side\n");
		return ZF_EXIT_FAIL;
	}
	if (startswith(a->store, "s3+")) {
		fprintf(stderr, "zferry backup prune: backups in S3 buckets are not supported "
			"yet: prune a directory store\n");
		return ZF_EXIT_FAIL;
	}
	if (stat(a->store, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "zferry backup prune: store '%s' is not a directory\n", a->store);
		return ZF_EXIT_FAIL;
	}
	return GO_ON;
}

/*
 * The bases of the backups running now, from their sessions: prune keeps
 * those entries, or the running backups could not commit (docs/backup-format.md).
 */
static int session_bases(const char *store, uint64_t **ret, size_t *ret_n, struct zf_err *err)
{
	struct zf_store_session_info *v = NULL;
	size_t n = 0;
	int r = zf_store_session_list(store, &v, &n, err);

	if (r < 0)
		return r;
	*ret = zf_xcalloc(n ? n : 1, sizeof(**ret));
	*ret_n = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].base_guid)
			(*ret)[(*ret_n)++] = v[i].base_guid;
	zf_store_session_info_free(v, n);
	return 0;
}

static int run(struct args *a)
{
	_cleanup_(zf_backup_prune_result_release) struct zf_backup_prune_result res = { 0 };
	_cleanup_free_ uint64_t *bases = NULL;
	struct zf_err err = ZF_ERR_INIT;
	size_t nbases = 0;
	int r;

	a->o.policy = a->policy;
	if (session_bases(a->store, &bases, &nbases, &err) < 0)
		return zf_sub_fail("backup", "prune", &err);
	a->o.protect_guids = bases;
	a->o.n_protect = nbases;
	r = zf_backup_prune(a->store, &a->o, &res, &err);
	/* what was decided and done is shown even when an unlink failed */
	if (res.v) {
		if (a->json)
			print_json(&res, a->policy, a->store, a->o.dry_run);
		else
			print_text(&res, a->policy, a->o.dry_run);
	}
	if (res.nbroken)
		fprintf(stderr, "zferry backup prune: %zu kept backup%s need%s a base that is not "
			"in the catalogue\n", res.nbroken, res.nbroken == 1 ? "" : "s",
			res.nbroken == 1 ? "s" : "");
	if (r < 0)
		return zf_sub_fail("backup", "prune", &err);
	return ZF_EXIT_OK;
}

int cmd_backup_prune(int argc, char **argv)
{
	_cleanup_(args_release) struct args a = { .policy = zf_retention_policy_new() };
	int r;

	if ((r = parse_options(argc, argv, &a)) != GO_ON)
		return r;
	if ((r = check_options(argc, argv, &a)) != GO_ON)
		return r;
	return run(&a);
}
