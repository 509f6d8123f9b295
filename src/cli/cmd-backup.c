/* src/cli/cmd-backup.c — zferry backup [list|prune] and zferry restore */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "chunk/catalogue.h"
#include "chunk/store.h"
#include "cli/cli.h"
#include "job/backup.h"
#include "job/snapshot.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/json.h"
#include "util/num.h"
#include "util/strv.h"
#include "zfs/zfs.h"
#include "util/banned.h"

#define BACKUP_SNAPSHOT_PREFIX "zferry_backup_"
/*
 * Smaller than casync's 16:64:256 KiB: a write into a 128 KiB record
 * changes the record's chunks around it, about one average chunk besides
 * the bytes written, so a smaller average dedupes partly changed records
 * better (bench/backup: 1% of the data rewritten in 4-64 KiB writes).
 */
#define BACKUP_CHUNK_MIN (4u * 1024)
#define BACKUP_CHUNK_AVG (16u * 1024)
#define BACKUP_CHUNK_MAX (64u * 1024)

const char zf_usage_backup[] =
	"usage: zferry backup [-r] -s STORE [--use-newest | --snapshot NAME]\n"
	"                     [--incremental [--full-every N]] [-L] [-e] [-c] [-w] [-p]\n"
	"                     [-m MIN:AVG:MAX] [-j N] [--json] DATASET...\n"
	"       zferry backup list -s STORE [--json] [DATASET]\n"
	"       zferry backup prune -s STORE -k RULES [-d DATASET] [--dry-run] [--json]\n"
	"\n"
	"Backs up snapshots of filesystems and volumes into a chunk store: each\n"
	"'zfs send' stream is split into its block data and the rest, both cut into\n"
	"casync chunks (so unchanged blocks dedupe between full backups), and a\n"
	"catalogue entry naming the snapshot, its guid and base is written last: a\n"
	"backup that is interrupted leaves no entry, and its rerun reuses the chunks\n"
	"already stored.  A backup that is in the catalogue already is not redone.\n"
	"\n"
	"By default one new snapshot 'zferry_backup_<UTC time>' is taken of every\n"
	"DATASET (with -r: of every descendant too, in one atomic call) and sent in\n"
	"full.\n"
	"\n"
	"  -s, --store STORE        the chunk store directory (created if missing)\n"
	"  -r, --recursive          descendants of each DATASET too\n"
	"      --use-newest         back up each dataset's newest snapshot instead of\n"
	"                           taking one\n"
	"      --snapshot NAME      back up DATASET@NAME instead of taking one\n"
	"      --incremental        send from the newest snapshot that has a backup and\n"
	"                           that the dataset still has (snapshot or bookmark);\n"
	"                           a full when there is none\n"
	"      --full-every N       with --incremental: a full once a chain holds N\n"
	"                           backups (full included)\n"
	"  -L, --large-block        zfs send -L\n"
	"  -e, --embed              zfs send -e\n"
	"  -c, --compressed         zfs send -c\n"
	"  -w, --raw                zfs send -w (encrypted datasets stay encrypted: the\n"
	"                           store never sees plaintext or keys)\n"
	"  -p, --props              zfs send -p\n"
	"  -m, --chunk-size MIN:AVG:MAX\n"
	"                           chunk sizes in KiB (default 4:16:64: a block\n"
	"                           rewritten in part costs about one chunk more than\n"
	"                           what changed, so small chunks dedupe partly changed\n"
	"                           records); a single AVG means AVG/4:AVG:AVG*4\n"
	"  -j, --jobs N             hashing/compression threads for the data\n"
	"                           (default: four per CPU; the metadata gets one)\n"
	"      --json               print the result as one JSON object\n"
	"  -h, --help               this text\n"
	"\n"
	"'zferry backup list' prints the catalogue; 'zferry backup prune' removes\n"
	"catalogue entries by retention rules ('zferry backup prune --help').\n"
	"Chunks no entry needs any more are removed by 'zferry store gc'.\n";

static const char usage_list[] =
	"usage: zferry backup list -s STORE [--json] [DATASET]\n"
	"\n"
	"Lists the backups in STORE's catalogue (of DATASET only, if given), oldest\n"
	"first per dataset: snapshot, full or incremental and from which base, the\n"
	"stream's size, and when the backup was made.  An entry that cannot be read\n"
	"is named and fails the listing.\n"
	"\n"
	"  -s, --store STORE        the chunk store directory\n"
	"      --json               print one JSON object\n"
	"  -h, --help               this text\n";

const char zf_usage_restore[] =
	"usage: zferry restore -s STORE [-c CACHE] [-u] [-j N] [--json] DATASET[@SNAP] TARGET\n"
	"       zferry restore -s STORE -o FILE|- [-c CACHE] [-j N] [--json] DATASET[@SNAP]\n"
	"\n"
	"Restores a backup (DATASET's newest, or DATASET@SNAP) into the filesystem or\n"
	"volume TARGET: the chain from its full backup through each incremental,\n"
	"each stream rebuilt byte for byte and received with 'zfs recv'.  Backups\n"
	"whose snapshot TARGET already has (same guid) are skipped, so an interrupted\n"
	"restore goes on where it stopped when run again; an existing TARGET that has\n"
	"none of the chain is refused, never overwritten.  Every chunk is verified,\n"
	"and each stream's length and SHA-512/256 are checked against the catalogue\n"
	"before its last two records reach zfs recv: a damaged or missing chunk stops\n"
	"the restore with an error naming it, and nothing of that stream is received.\n"
	"\n"
	"  -s, --store STORE        the chunk store directory\n"
	"  -c, --cache CACHE        a local store looked in first and filled\n"
	"  -o, --output FILE|-      write the stream of that one backup (not its chain)\n"
	"                           to FILE (complete or not at all) or standard output,\n"
	"                           as 'zfs send' wrote it, instead of receiving\n"
	"  -u, --no-mount           zfs recv -u\n"
	"  -j, --jobs N             decompression threads for the data (default: one\n"
	"                           per CPU; the metadata gets one)\n"
	"      --json               print the result as one JSON object\n"
	"  -h, --help               this text\n";

static int fail(const char *sub, const struct zf_err *err)
{
	return zf_sub_fail("backup", sub, err);
}

/* Backups keep a catalogue and sessions as files: a directory store only, for now. */
static int check_local_store(const char *cmd, const char *sub, const char *store)
{
	if (!strstr(store, "://"))
		return GO_ON;
	return zf_sub_usage_error(cmd, sub, "store '%s': backups live in a directory store "
				  "(HTTP and S3 stores hold backups in a later version)", store);
}

static int parse_count(const char *s, uint64_t max, unsigned *ret)
{
	uint64_t v;

	if (!s || !*s || *s == '-' || *s == '+' || zf_parse_u64(s, max, &v) < 0 || v == 0)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* ---- zferry backup ------------------------------------------------------- */

struct backup_args {
	struct zf_backup_opts bo;
	bool recursive, use_newest, json;
	const char *snapshot;
	char **datasets;
	size_t ndatasets;
};

static int backup_parse(int argc, char **argv, struct backup_args *a)
{
	enum { OPT_NEWEST = 256, OPT_SNAPSHOT, OPT_INCREMENTAL, OPT_FULL_EVERY, OPT_JSON };
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "recursive", no_argument, NULL, 'r' },
		{ "use-newest", no_argument, NULL, OPT_NEWEST },
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ "incremental", no_argument, NULL, OPT_INCREMENTAL },
		{ "full-every", required_argument, NULL, OPT_FULL_EVERY },
		{ "large-block", no_argument, NULL, 'L' },
		{ "embed", no_argument, NULL, 'e' },
		{ "compressed", no_argument, NULL, 'c' },
		{ "raw", no_argument, NULL, 'w' },
		{ "props", no_argument, NULL, 'p' },
		{ "chunk-size", required_argument, NULL, 'm' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct zf_err err = ZF_ERR_INIT;
	int c;

	while ((c = getopt_long(argc, argv, "+s:rLecwpm:j:h", opts, NULL)) >= 0) {
		switch (c) {
		case 's': a->bo.store = optarg; break;
		case 'r': a->recursive = true; break;
		case OPT_NEWEST: a->use_newest = true; break;
		case OPT_SNAPSHOT:
			if (zf_zfs_name_check(optarg, ZF_ZFS_NAME_DATASET, &err) < 0 ||
			    strchr(optarg, '/'))
				return zf_usage_error("backup", "--snapshot wants a short snapshot "
						      "name, not '%s'", optarg);
			a->snapshot = optarg;
			break;
		case OPT_INCREMENTAL: a->bo.incremental = true; break;
		case OPT_FULL_EVERY:
			if (parse_count(optarg, 1000000, &a->bo.full_every) < 0)
				return zf_usage_error("backup", "--full-every wants a number "
						      "from 1, not '%s'", optarg);
			break;
		case 'L': a->bo.send.large_blocks = true; break;
		case 'e': a->bo.send.embed = true; break;
		case 'c': a->bo.send.compressed = true; break;
		case 'w': a->bo.send.raw = true; break;
		case 'p': a->bo.send.props = true; break;
		case 'm':
			if (zf_cli_parse_chunk_sizes(optarg, &a->bo.params, &err) < 0)
				return zf_usage_error("backup", "%s", zf_err_msg(&err));
			break;
		case 'j':
			if (parse_count(optarg, 1024, &a->bo.jobs) < 0)
				return zf_usage_error("backup", "bad number of jobs '%s'", optarg);
			break;
		case OPT_JSON: a->json = true; break;
		case 'h': return zf_cmd_help("backup", stdout, ZF_EXIT_OK);
		default: return zf_sub_bad_option("backup", NULL, argc, argv);
		}
	}
	if (!a->bo.store)
		return zf_usage_error("backup", "want a store (-s STORE)");
	if (check_local_store("backup", NULL, a->bo.store) != GO_ON)
		return ZF_EXIT_USAGE;
	if (a->use_newest && a->snapshot)
		return zf_usage_error("backup", "--use-newest and --snapshot exclude each other");
	if (a->bo.full_every && !a->bo.incremental)
		return zf_usage_error("backup", "--full-every only makes sense with --incremental");
	if (optind >= argc)
		return zf_usage_error("backup", "want at least one DATASET");
	for (int i = optind; i < argc; i++)
		if (zf_zfs_name_check(argv[i], ZF_ZFS_NAME_DATASET, &err) < 0)
			return zf_usage_error("backup", "%s", zf_err_msg(&err));
	a->datasets = argv + optind;
	a->ndatasets = (size_t)(argc - optind);
	return GO_ON;
}

/* The snapshots to back up, as dataset@snap, in listing order (parents first). */
static int backup_targets(const struct backup_args *a, struct zf_strv *ret, struct zf_err *err)
{
	struct zf_zfs_list_opts lo = { .recursive = a->recursive };
	struct zf_zfs_fs_list fs = { 0 };
	_cleanup_free_ char *name = NULL;
	int r;

	r = zf_zfs_list_fs((const char *const *)a->datasets, a->ndatasets, &lo, &fs, err);
	if (r < 0)
		return r;
	if (!a->use_newest && !a->snapshot) {
		struct zf_snapshot_opts so = {
			.filesystems = (const char *const *)a->datasets, .n = a->ndatasets,
			.recursive = a->recursive,
		};

		r = zf_snapshot_name(BACKUP_SNAPSHOT_PREFIX, NULL, false, time(NULL), &name, err);
		so.name = name;
		if (r >= 0)
			r = zf_snapshot_run(&so, NULL, err);
	}
	for (size_t i = 0; r >= 0 && i < fs.n; i++) {
		if (!a->use_newest) {
			zf_strv_addf(ret, "%s@%s", fs.v[i].name, a->snapshot ? a->snapshot : name);
			continue;
		}
		struct zf_zfs_version_list vl = { 0 };
		const char *ds[] = { fs.v[i].name };
		const struct zf_zfs_version *newest = NULL;

		r = zf_zfs_list_versions(ds, 1, &vl, err);
		for (size_t j = 0; r >= 0 && j < vl.n; j++)
			if (!vl.v[j].bookmark && (!newest || vl.v[j].createtxg > newest->createtxg))
				newest = &vl.v[j];
		if (r >= 0 && !newest)
			r = zf_err_set(err, -ENOENT, "'%s' has no snapshot to back up", fs.v[i].name);
		if (r >= 0)
			zf_strv_addf(ret, "%s@%s", fs.v[i].name, newest->name);
		zf_zfs_version_list_release(&vl);
	}
	zf_zfs_fs_list_release(&fs);
	return r;
}

static void json_make(struct zf_json *j, const char *key, const struct zf_make_stats *s)
{
	zf_json_key_object_begin(j, key);
	zf_json_key_u64(j, "bytes", s->size);
	zf_json_key_u64(j, "chunks", s->chunks);
	zf_json_key_u64(j, "new_chunks", s->new_chunks);
	zf_json_key_u64(j, "new_bytes", s->new_bytes);
	zf_json_object_end(j);
}

static void backup_print(const struct zf_backup_result *r, struct zf_json *j)
{
	if (j) {
		zf_json_object_begin(j);
		zf_json_key_str(j, "snapshot", r->snapshot);
		zf_json_key_u64_str(j, "guid", r->guid);
		zf_json_key_bool(j, "full", !r->base);
		if (r->base)
			zf_json_key_str(j, "base", r->base);
		else {
			zf_json_key(j, "base");
			zf_json_null(j);
		}
		zf_json_key_bool(j, "existed", r->existed);
		zf_json_key_u64(j, "stream_bytes", r->stream_bytes);
		json_make(j, "meta", &r->meta);
		json_make(j, "data", &r->data);
		zf_json_key_u64(j, "new_bytes", r->meta.new_bytes + r->data.new_bytes);
		zf_json_key_fixed(j, "seconds", r->seconds, 3);
		zf_json_object_end(j);
		return;
	}
	if (r->existed) {
		printf("%s: already backed up\n", r->snapshot);
		return;
	}
	printf("%s: %s%s, stream %" PRIu64 " bytes, %" PRIu64 " new chunks, %" PRIu64
	       " bytes added, %.1f s\n", r->snapshot, r->base ? "incremental from " : "full",
	       r->base ? strchr(r->base, '@') : "", r->stream_bytes,
	       r->meta.new_chunks + r->data.new_chunks, r->meta.new_bytes + r->data.new_bytes,
	       r->seconds);
}

static int backup_run(struct backup_args *a)
{
	_cleanup_(zf_strv_releasep) struct zf_strv snaps = { 0 };
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);
	struct zf_err err = ZF_ERR_INIT;
	size_t failed = 0;

	if (backup_targets(a, &snaps, &err) < 0)
		return fail(NULL, &err);
	if (a->json) {
		zf_json_object_begin(&j);
		zf_json_key_array_begin(&j, "backups");
	}
	for (size_t i = 0; i < snaps.n; i++) {
		_cleanup_free_ char *ds = zf_xstrndup(snaps.v[i], strcspn(snaps.v[i], "@"));
		struct zf_backup_result res = { 0 };

		zf_err_clear(&err);
		if (zf_backup_run(&a->bo, ds, strchr(snaps.v[i], '@') + 1, &res, &err) < 0) {
			fprintf(stderr, "zferry backup: %s: %s\n", snaps.v[i], zf_err_msg(&err));
			failed++;
			continue;
		}
		backup_print(&res, a->json ? &j : NULL);
		zf_backup_result_release(&res);
	}
	if (a->json) {
		zf_json_array_end(&j);
		zf_json_key_u64(&j, "failed", failed);
		zf_json_finish(&j);
	}
	return failed ? ZF_EXIT_FAIL : ZF_EXIT_OK;
}

/* ---- zferry backup list -------------------------------------------------- */

static void list_entry_json(struct zf_json *j, const struct zf_catalogue_entry *e)
{
	char hex[ZF_CHUNK_ID_HEX];

	zf_json_object_begin(j);
	zf_json_key_str(j, "dataset", e->dataset);
	zf_json_key_str(j, "snapshot", e->snapshot);
	zf_json_key_u64_str(j, "guid", e->guid);
	zf_json_key_u64_str(j, "createtxg", e->createtxg);
	zf_json_key_i64(j, "snapshot_time", e->snapshot_time);
	zf_json_key(j, "base_snapshot");
	if (e->base_snapshot)
		zf_json_str(j, e->base_snapshot);
	else
		zf_json_null(j);
	zf_json_key_guid_or_null(j, "base_guid", e->base_guid);
	zf_json_key_u64(j, "stream_bytes", e->stream_bytes);
	zf_json_key_str(j, "stream_sha512_256", zf_chunk_id_hex(&e->stream_digest, hex));
	zf_json_key_i64(j, "created", e->created);
	zf_json_object_end(j);
}

static void list_entry_text(const struct zf_catalogue_entry *e)
{
	char when[32] = "?";
	struct tm tm;
	time_t t = (time_t)e->created;

	if (gmtime_r(&t, &tm))
		(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s@%s\t%s%s\t%" PRIu64 "\t%s\n", e->dataset, e->snapshot,
	       e->base_snapshot ? "incremental from @" : "full",
	       e->base_snapshot ? e->base_snapshot : "", e->stream_bytes, when);
}

static int backup_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	const char *store = NULL, *dataset = NULL;
	struct zf_err err = ZF_ERR_INIT;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) >= 0) {
		switch (c) {
		case 's': store = optarg; break;
		case 'J': json = true; break;
		case 'h': fputs(usage_list, stdout); return ZF_EXIT_OK;
		default: return zf_sub_bad_option("backup", "list", argc, argv);
		}
	}
	if (!store)
		return zf_sub_usage_error("backup", "list", "want a store (-s STORE)");
	if (check_local_store("backup", "list", store) != GO_ON)
		return ZF_EXIT_USAGE;
	if (argc - optind > 1)
		return zf_sub_usage_error("backup", "list", "want at most one DATASET");
	if (optind < argc) {
		dataset = argv[optind];
		if (zf_zfs_name_check(dataset, ZF_ZFS_NAME_DATASET, &err) < 0)
			return zf_sub_usage_error("backup", "list", "%s", zf_err_msg(&err));
	}
	if (zf_catalogue_list(store, dataset, &l, &err) < 0)
		return fail("list", &err);
	if (json) {
		_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);

		zf_json_object_begin(&j);
		zf_json_key_array_begin(&j, "backups");
		for (size_t i = 0; i < l.n; i++)
			list_entry_json(&j, &l.v[i]);
		zf_json_array_end(&j);
		zf_json_finish(&j);
		return ZF_EXIT_OK;
	}
	for (size_t i = 0; i < l.n; i++)
		list_entry_text(&l.v[i]);
	return ZF_EXIT_OK;
}

int cmd_backup(int argc, char **argv)
{
	struct backup_args a = { 0 };
	int r;

	if (argc > 1 && streq(argv[1], "list"))
		return backup_list(argc - 1, argv + 1);
	if (argc > 1 && streq(argv[1], "prune"))
		return cmd_backup_prune(argc - 1, argv + 1);
	if (zf_chunk_params_init(&a.bo.params, BACKUP_CHUNK_MIN, BACKUP_CHUNK_AVG, BACKUP_CHUNK_MAX,
				 NULL) < 0)
		return ZF_EXIT_FAIL;
	r = backup_parse(argc, argv, &a);
	if (r != GO_ON)
		return r;
	return backup_run(&a);
}

/* ---- zferry restore ------------------------------------------------------ */

/* userdata: a bool, set while a progress line is open on the terminal */
static void restore_progress(const char *snapshot, uint64_t done, uint64_t total, void *userdata)
{
	bool *open_line = userdata;

	if (!isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\r%s: %" PRIu64 " of %" PRIu64 " bytes%s", snapshot, done, total,
		done == total ? "\n" : "");
	*open_line = done != total;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "cache", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-mount", no_argument, NULL, 'u' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(zf_store_freep) struct zf_store *cache = NULL;
	bool open_line = false;
	struct zf_restore_opts ro = { .progress = restore_progress, .userdata = &open_line };
	struct zf_restore_result res = { 0 };
	const char *cache_path = NULL, *out = NULL, *spec, *target = NULL;
	struct zf_err err = ZF_ERR_INIT;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+s:c:o:uj:h", opts, NULL)) >= 0) {
		switch (c) {
		case 's': ro.store = optarg; break;
		case 'c': cache_path = optarg; break;
		case 'o': out = optarg; break;
		case 'u': ro.no_mount = true; break;
		case 'j':
			if (parse_count(optarg, 1024, &ro.jobs) < 0)
				return zf_usage_error("restore", "bad number of jobs '%s'", optarg);
			break;
		case 'J': json = true; break;
		case 'h': return zf_cmd_help("restore", stdout, ZF_EXIT_OK);
		default: return zf_sub_bad_option("restore", NULL, argc, argv);
		}
	}
	if (!ro.store)
		return zf_usage_error("restore", "want a store (-s STORE)");
	if (check_local_store("restore", NULL, ro.store) != GO_ON)
		return ZF_EXIT_USAGE;
	if (argc - optind != (out ? 1 : 2))
		return zf_usage_error("restore", out ? "with -o, want DATASET[@SNAP] only" :
				      "want DATASET[@SNAP] and TARGET");
	if (out && ro.no_mount)
		return zf_usage_error("restore", "-u is for receiving, not for -o");
	if (out && streq(out, "-") && isatty(STDOUT_FILENO))
		return zf_usage_error("restore", "will not write a zfs stream to a terminal");
	spec = argv[optind];
	if (!out)
		target = argv[optind + 1];
	if (cache_path && zf_store_open(cache_path, ZF_STORE_CREATE, &cache, &err) < 0)
		return zf_sub_fail("restore", NULL, &err);
	ro.cache = cache;
	if (out && streq(out, "-"))
		r = zf_restore_stream(&ro, spec, NULL, STDOUT_FILENO, &res, &err);
	else if (out)
		r = zf_restore_stream(&ro, spec, out, -EBADF, &res, &err);
	else
		r = zf_restore_run(&ro, spec, target, &res, &err);
	if (r < 0) {
		if (open_line)
			fputc('\n', stderr);
		return zf_sub_fail("restore", NULL, &err);
	}
	if (json) {
		_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(out && streq(out, "-") ?
								    stderr : stdout);

		zf_json_object_begin(&j);
		zf_json_key_str(&j, "backup", spec);
		if (target)
			zf_json_key_str(&j, "target", target);
		zf_json_key_u64(&j, "chain", res.chain);
		zf_json_key_u64(&j, "received", res.received);
		zf_json_key_u64(&j, "skipped", res.skipped);
		zf_json_key_u64(&j, "bytes", res.bytes);
		zf_json_key_fixed(&j, "seconds", res.seconds, 3);
		zf_json_finish(&j);
	} else if (target) {
		printf("%s -> %s: %zu of a chain of %zu received, %zu already there, %" PRIu64
		       " bytes, %.1f s\n", spec, target, res.received, res.chain, res.skipped,
		       res.bytes, res.seconds);
	}
	return ZF_EXIT_OK;
}
