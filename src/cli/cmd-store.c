/* src/cli/cmd-store.c — zferry store: casync-compatible chunk stores and .caibx indexes */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "chunk/catalogue-verify.h"
#include "chunk/chunker.h"
#include "chunk/gc.h"
#include "chunk/idmap.h"
#include "chunk/index.h"
#include "chunk/store-ops.h"
#include "chunk/store.h"
#include "cli/cli.h"
#include "cli/cmd-store-serve.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/json.h"
#include "util/num.h"
#include "util/banned.h"

struct store_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage;
};

#define REMOTE_STORE_HELP \
	"      --store-auth-file FILE\n" \
	"                           for http[s]:// stores: send FILE's one line as the\n" \
	"                           Authorization header (e.g. 'Bearer TOKEN')\n" \
	"      --store-credentials-file FILE\n" \
	"                           for s3+http[s]:// stores: lines access_key=KEY and\n" \
	"                           secret_key=SECRET (and session_token=TOKEN); mode 600\n" \
	"                           (default: S3_ACCESS_KEY/S3_SECRET_KEY from the\n" \
	"                           environment, else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)\n" \
	"      --store-parallel N   for remote stores: requests in flight at most\n" \
	"                           (default 16; each worker thread sends one at a time)\n" \
	"      --store-tls-ca FILE  for https:// and s3+https:// stores: the PEM CA to\n" \
	"                           check the server by (default: the system's)\n" \
	"      --store-tls-cert FILE, --store-tls-key FILE\n" \
	"                           for https:// stores: our client certificate and key\n"

static const char usage_make[] =
	"usage: zferry store make [-s STORE] [-m MIN:AVG:MAX] [-j N] [--json] INDEX FILE|-\n"
	"\n"
	"Cuts FILE (or standard input, '-') into content-defined chunks exactly as\n"
	"'casync make' does, stores the new ones zstd-compressed in STORE and writes\n"
	"the .caibx INDEX, byte-identical to casync's for the same input and sizes.\n"
	"Reads pipes with bounded memory.\n"
	"\n"
	"  -s, --store STORE        chunk store directory, created if missing, or\n"
	"                           http[s]://HOST[:PORT]/PREFIX/ ('zferry store serve\n"
	"                           --writable', desync chunk-server -w), or\n"
	"                           s3+http[s]://HOST[:PORT]/BUCKET[/PREFIX] (an S3 bucket,\n"
	"                           desync's layout; see --store-credentials-file)\n"
	"                           (default: default.castr next to INDEX, as casync)\n"
	"  -m, --chunk-size MIN:AVG:MAX\n"
	"                           chunk sizes in KiB (default 16:64:256), or in\n"
	"                           bytes with a B suffix (48B); a single AVG means\n"
	"                           AVG/4:AVG:AVG*4\n"
	"  -j, --jobs N             hashing/compression threads (default: 4 per CPU)\n"
	"      --json               print statistics as one JSON object\n"
	REMOTE_STORE_HELP
	"  -h, --help               this text\n";

static const char usage_extract[] =
	"usage: zferry store extract -s STORE [-s STORE]... [-c CACHE] [--seed FILE]...\n"
	"                            [-j N] [--no-seed-output] [--fsync] [--direct] [--json]\n"
	"                            INDEX OUT|-\n"
	"\n"
	"Restores the blob INDEX describes into OUT (or standard output, '-', in\n"
	"order).  OUT is written under a temporary name and renamed when complete, so\n"
	"a failure leaves no partial file.  Chunks are taken, in this order, from an\n"
	"existing OUT and the seed files (found by their chunk ids), the cache, then\n"
	"the stores.  Every chunk is verified against its id; a damaged or missing one\n"
	"stops the extraction with an error naming it and its offset.\n"
	"\n"
	"  -s, --store STORE        chunk store to read: a directory, an http[s]:// or an\n"
	"                           s3+http[s]:// URL\n"
	"                           (repeatable; tried in order)\n"
	"  -c, --cache CACHE        local store looked in first and filled from STOREs\n"
	"      --seed FILE          reuse chunks found in FILE (repeatable)\n"
	"      --no-seed-output     do not reuse chunks of an existing OUT\n"
	"      --fsync              make OUT durable before renaming it into place\n"
	"                           (like casync, cp and rsync, the default does not)\n"
	"      --direct             write OUT with O_DIRECT, past the page cache: for\n"
	"                           big restores, it leaves the cache to other work\n"
	"                           and is faster where new page cache is slow, but\n"
	"                           slower on some disks; buffered where the file\n"
	"                           system refuses it (not with OUT '-')\n"
	"  -j, --jobs N             worker threads (default: 4 per CPU)\n"
	"      --json               print statistics as one JSON object (not with OUT '-')\n"
	REMOTE_STORE_HELP
	"  -h, --help               this text\n";

static const char usage_verify[] =
	"usage: zferry store verify -s STORE [--repair] [-j N] [--json]\n"
	"\n"
	"Decompresses every chunk in STORE and checks it against its id; lists every\n"
	"damaged chunk, one per line.  Then checks every backup in the store's\n"
	"catalogue: its two indexes (present, hashing to their names) and every chunk\n"
	"they name (present, not damaged); lists each broken backup with the first\n"
	"few chunks it lacks.  Exits 1 while damaged chunks remain or a backup is\n"
	"broken.\n"
	"\n"
	"  -s, --store STORE        chunk store to check: a directory or an s3+http[s]://\n"
	"                           URL (over HTTP, run verify on the server)\n"
	"      --repair             remove damaged chunks (a later make or chop puts\n"
	"                           good copies back)\n"
	"  -j, --jobs N             worker threads (default: 4 per CPU)\n"
	"      --json               print the result as one JSON object\n"
	REMOTE_STORE_HELP
	"  -h, --help               this text\n";

static const char usage_prune[] =
	"usage: zferry store prune -s STORE [--dry-run] [--json] INDEX...\n"
	"\n"
	"Removes every chunk from STORE that none of the INDEX files needs.  All\n"
	"indexes are read completely before anything is removed.  Do not run it while\n"
	"a make into the same store is in progress: that make's new chunks are in no\n"
	"index yet.\n"
	"\n"
	"  -s, --store STORE        chunk store to prune: a directory or an s3+http[s]://\n"
	"                           URL (HTTP stores are append-only)\n"
	"  -n, --dry-run            only list what would be removed\n"
	"      --json               print the result as one JSON object\n"
	REMOTE_STORE_HELP
	"  -h, --help               this text\n";

static const char usage_gc[] =
	"usage: zferry store gc -s STORE [--dry-run] [--min-age D] [--grace D] [--json]\n"
	"\n"
	"Runs one garbage collection pass on a backup store: chunks and indexes that no\n"
	"catalogue entry needs and that are older than the minimum age become fossils\n"
	"(renamed, still readable); the fossils of the previous pass are deleted once\n"
	"the grace time has passed and every backup that pass saw at work has ended or\n"
	"stopped.  Backups may keep writing meanwhile.  Run it every few hours: a chunk\n"
	"is freed by the second pass that finds it unneeded.\n"
	"\n"
	"  -s, --store STORE        the store, a directory (gc runs where the store is)\n"
	"  -n, --dry-run            count what a pass would do; change nothing\n"
	"      --min-age D          keep unneeded chunks younger than D (default 1d)\n"
	"      --grace D            wait D between fossilising and deleting (default 4h)\n"
	"                           D is N followed by s, m, h or d (0s, 10m, 4h, 1d).\n"
	"                           Both for tests and emergencies: shorter than the\n"
	"                           defaults breaks the safety argument unless no backup\n"
	"                           runs\n"
	"      --json               print the result as one JSON object\n"
	"  -h, --help               this text\n";

static const char usage_list_chunks[] =
	"usage: zferry store list-chunks [--json] INDEX\n"
	"\n"
	"Prints the chunks INDEX lists, in order: offset, size and id, one per line.\n"
	"\n"
	"      --json               one JSON object instead\n"
	"  -h, --help               this text\n";

static const char usage_chop[] =
	"usage: zferry store chop -s STORE [-j N] INDEX FILE\n"
	"\n"
	"Stores the chunks of FILE into STORE, cut where INDEX says; each must match\n"
	"the id INDEX names.  Repopulates a store from a file an index was made of.\n"
	"\n"
	"  -s, --store STORE        chunk store (directory created if missing, or URL)\n"
	"  -j, --jobs N             worker threads (default: 4 per CPU)\n"
	REMOTE_STORE_HELP
	"  -h, --help               this text\n";

static const char usage_info[] =
	"usage: zferry store info [-s STORE] [--json] INDEX...\n"
	"\n"
	"Prints for each INDEX the blob size, the number of chunks, of distinct chunks,\n"
	"and the deduplication ratio (size / bytes in distinct chunks); with STORE\n"
	"also the compressed bytes stored and the chunks missing from it.\n"
	"\n"
	"  -s, --store STORE        chunk store to look the chunks up in (or URL)\n"
	"      --json               one JSON object instead\n"
	REMOTE_STORE_HELP
	"  -h, --help               this text\n";

static int fail(const char *sub, const struct zf_err *err)
{
	return zf_sub_fail("store", sub, err);
}

static int sub_usage_error(const char *sub, const char *fmt, ...) _printf_(2, 3);
static int sub_usage_error(const char *sub, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = zf_sub_usage_verror("store", sub, fmt, ap);
	va_end(ap);
	return r;
}

static int bad_option(const char *sub, int argc, char **argv)
{
	return zf_sub_bad_option("store", sub, argc, argv);
}

/* Options of every subcommand that opens a store: how a remote one is reached. */
enum { OPT_STORE_AUTH_FILE = 2000, OPT_STORE_PARALLEL, OPT_STORE_CA, OPT_STORE_CERT,
       OPT_STORE_KEY, OPT_STORE_CREDENTIALS };
#define REMOTE_STORE_OPTIONS \
	{ "store-auth-file", required_argument, NULL, OPT_STORE_AUTH_FILE }, \
	{ "store-parallel", required_argument, NULL, OPT_STORE_PARALLEL }, \
	{ "store-tls-ca", required_argument, NULL, OPT_STORE_CA }, \
	{ "store-tls-cert", required_argument, NULL, OPT_STORE_CERT }, \
	{ "store-tls-key", required_argument, NULL, OPT_STORE_KEY }, \
	{ "store-credentials-file", required_argument, NULL, OPT_STORE_CREDENTIALS }

static struct zf_store_remote_opts remote;

static int parse_jobs(const char *s, unsigned *ret);

/* 0 when c was a remote store option (taken), -EINVAL for a bad value, -ENOENT if not one. */
static int remote_option(int c, const char *arg)
{
	switch (c) {
	case OPT_STORE_AUTH_FILE:
		remote.auth_file = arg;
		return 0;
	case OPT_STORE_PARALLEL:
		return parse_jobs(arg, &remote.parallel);
	case OPT_STORE_CA:
		remote.ca_file = arg;
		return 0;
	case OPT_STORE_CERT:
		remote.cert_file = arg;
		return 0;
	case OPT_STORE_KEY:
		remote.key_file = arg;
		return 0;
	case OPT_STORE_CREDENTIALS:
		remote.credentials_file = arg;
		return 0;
	default:
		return -ENOENT;
	}
}

static int store_open(const char *path, unsigned flags, struct zf_store **ret, struct zf_err *err)
{
	return zf_store_open_opts(path, flags, &remote, ret, err);
}

static int parse_u64(const char *s, uint64_t *ret)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	return zf_parse_u64_lenient(s, UINT64_MAX, ret);
}

static int parse_jobs(const char *s, unsigned *ret)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v == 0 || v > 1024)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}


static char *default_store(const char *index)
{
	const char *slash = strrchr(index, '/');

	if (!slash)
		return zf_xstrdup("default.castr");
	return zf_xasprintf("%.*s/default.castr", (int)(slash - index), index);
}

/* What 'store make' was asked for: make_parse() fills it, make_run() reads it. */
struct make_args {
	struct zf_make_opts mo;
	char *store_path;
	const char *index, *file;
	bool json;
};

static void make_args_release(struct make_args *a)
{
	free(a->store_path);
}

/* The options and the two arguments; GO_ON or the exit status. */
static int make_parse(int argc, char **argv, struct make_args *a)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "chunk-size", required_argument, NULL, 'm' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, 'J' },
		REMOTE_STORE_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct zf_err err = ZF_ERR_INIT;
	int c;

	while ((c = getopt_long(argc, argv, "+s:m:j:h", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			free(a->store_path);
			a->store_path = zf_xstrdup(optarg);
			break;
		case 'm':
			if (zf_cli_parse_chunk_sizes(optarg, &a->mo.params, &err) < 0)
				return sub_usage_error("make", "%s", zf_err_msg(&err));
			break;
		case 'j':
			if (parse_jobs(optarg, &a->mo.jobs) < 0)
				return sub_usage_error("make", "bad number of jobs '%s'", optarg);
			break;
		case 'J':
			a->json = true;
			break;
		case 'h':
			fputs(usage_make, stdout);
			return ZF_EXIT_OK;
		default:
			if (remote_option(c, optarg) == 0)
				break;
			return remote_option(c, optarg) == -EINVAL ?
				sub_usage_error("make", "bad number '%s'", optarg) :
				bad_option("make", argc, argv);
		}
	}
	if (argc - optind != 2)
		return sub_usage_error("make", "want INDEX and FILE (or '-')");
	a->index = argv[optind];
	a->file = argv[optind + 1];
	if (streq(a->index, "-"))
		return sub_usage_error("make", "INDEX must be a file name");
	if (!a->store_path)
		a->store_path = default_store(a->index);
	return GO_ON;
}

static void make_print_json(const struct make_args *a, const struct zf_make_stats *st,
			    double seconds)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "index", a->index);
	zf_json_key_str(&j, "store", a->store_path);
	zf_json_key_u64(&j, "size", st->size);
	zf_json_key_u64(&j, "chunks", st->chunks);
	zf_json_key_u64(&j, "new_chunks", st->new_chunks);
	zf_json_key_u64(&j, "new_bytes", st->new_bytes);
	zf_json_key_array_begin(&j, "chunk_size");
	zf_json_u64(&j, a->mo.params.min);
	zf_json_u64(&j, a->mo.params.avg);
	zf_json_u64(&j, a->mo.params.max);
	zf_json_array_end(&j);
	zf_json_key_fixed(&j, "seconds", seconds, 3);
	zf_json_finish(&j);
}

/* Opens FILE and the store, chunks and reports; the exit status. */
static int make_run(const struct make_args *a)
{
	_cleanup_(zf_store_freep) struct zf_store *store = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct zf_make_stats st;
	struct zf_err err = ZF_ERR_INIT;
	double t0;

	if (streq(a->file, "-"))
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(a->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		zf_err_set(&err, -errno, "cannot open '%s': %m", a->file);
		return fail("make", &err);
	}
	if (store_open(a->store_path, ZF_STORE_CREATE, &store, &err) < 0)
		return fail("make", &err);
	t0 = zf_now_sec();
	if (zf_chunk_make(fd, a->index, store, &a->mo, &st, &err) < 0)
		return fail("make", &err);
	if (a->json)
		make_print_json(a, &st, zf_now_sec() - t0);
	return ZF_EXIT_OK;
}

static int store_make(int argc, char **argv)
{
	_cleanup_(make_args_release) struct make_args a = { .mo = { .jobs = 0 } };
	int r;

	zf_chunk_params_default(&a.mo.params);
	if ((r = make_parse(argc, argv, &a)) != GO_ON)
		return r;
	return make_run(&a);
}

/* What 'store extract' was asked for: extract_parse() fills it, extract_run() reads it. */
struct extract_args {
	struct zf_extract_opts xo;
	const char **store_paths, **seeds;
	size_t nstores, nseeds;
	const char *cache_path, *index, *out;
	struct zf_store *cache;         /* opened by extract_open_and_run(), kept to the end */
	bool json;
};

static void extract_args_release(struct extract_args *a)
{
	free(a->store_paths);
	free(a->seeds);
	zf_store_free(a->cache);
}

/* The options and the two arguments; GO_ON or the exit status. */
static int extract_parse(int argc, char **argv, struct extract_args *a)
{
	enum { OPT_SEED = 1000, OPT_NO_SEED_OUTPUT, OPT_JSON, OPT_FSYNC, OPT_DIRECT };
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "cache", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "no-seed-output", no_argument, NULL, OPT_NO_SEED_OUTPUT },
		{ "fsync", no_argument, NULL, OPT_FSYNC },
		{ "direct", no_argument, NULL, OPT_DIRECT },
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, OPT_JSON },
		REMOTE_STORE_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+s:c:j:h", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			a->store_paths[a->nstores++] = optarg;
			break;
		case 'c':
			a->cache_path = optarg;
			break;
		case OPT_SEED:
			a->seeds[a->nseeds++] = optarg;
			break;
		case OPT_NO_SEED_OUTPUT:
			a->xo.seed_output = false;
			break;
		case OPT_FSYNC:
			a->xo.fsync = true;
			break;
		case OPT_DIRECT:
			a->xo.direct = true;
			break;
		case 'j':
			if (parse_jobs(optarg, &a->xo.jobs) < 0)
				return sub_usage_error("extract", "bad number of jobs '%s'",
						       optarg);
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
			fputs(usage_extract, stdout);
			return ZF_EXIT_OK;
		default:
			if (remote_option(c, optarg) == 0)
				break;
			return remote_option(c, optarg) == -EINVAL ?
				sub_usage_error("extract", "bad number '%s'", optarg) :
				bad_option("extract", argc, argv);
		}
	}
	if (argc - optind != 2)
		return sub_usage_error("extract", "want INDEX and OUT (or '-')");
	if (a->nstores == 0)
		return sub_usage_error("extract", "no store given (-s STORE)");
	a->index = argv[optind];
	a->out = argv[optind + 1];
	if (a->json && streq(a->out, "-"))
		return sub_usage_error("extract", "--json needs OUT to be a file");
	if (a->xo.direct && streq(a->out, "-"))
		return sub_usage_error("extract", "--direct needs OUT to be a file");
	return GO_ON;
}

/* The stores an extraction reads, closed together. */
struct store_list {
	struct zf_store **v;
	size_t n;
};

static void store_list_release(struct store_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		zf_store_free(l->v[i]);
	free(l->v);
}

/*
 * Opens the stores, in order, then the cache, and extracts; the stores are closed
 * again before the caller reports, the cache stays with a. *ret_t0 is when the
 * extraction itself began.
 */
static int extract_open_and_run(struct extract_args *a, struct zf_extract_stats *ret_st,
				double *ret_t0, struct zf_err *err)
{
	_cleanup_(store_list_release) struct store_list stores = {
		.v = zf_xcalloc(a->nstores, sizeof(struct zf_store *)),
		.n = a->nstores,
	};
	int r;

	for (size_t i = 0; i < stores.n; i++) {
		r = store_open(a->store_paths[i], 0, &stores.v[i], err);
		if (r < 0)
			return r;
	}
	if (a->cache_path) {
		r = store_open(a->cache_path, ZF_STORE_CREATE, &a->cache, err);
		if (r < 0)
			return r;
	}
	a->xo.stores = stores.v;
	a->xo.nstores = stores.n;
	a->xo.cache = a->cache;
	a->xo.seeds = a->seeds;
	a->xo.nseeds = a->nseeds;
	*ret_t0 = zf_now_sec();
	if (streq(a->out, "-"))
		return zf_chunk_extract(a->index, NULL, STDOUT_FILENO, &a->xo, ret_st, err);
	return zf_chunk_extract(a->index, a->out, -EBADF, &a->xo, ret_st, err);
}

static void extract_print_json(const struct extract_args *a, const struct zf_extract_stats *st,
			       double seconds)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "index", a->index);
	zf_json_key_str(&j, "output", a->out);
	zf_json_key_u64(&j, "size", st->size);
	zf_json_key_u64(&j, "chunks", st->chunks);
	zf_json_key_u64(&j, "from_seed", st->from_seed);
	zf_json_key_u64(&j, "from_cache", st->from_cache);
	zf_json_key_u64(&j, "from_store", st->from_store);
	/* only asked for: whether O_DIRECT was used or refused */
	if (a->xo.direct)
		zf_json_key_bool(&j, "direct", st->direct);
	zf_json_key_fixed(&j, "seconds", seconds, 3);
	zf_json_finish(&j);
}

static int store_extract(int argc, char **argv)
{
	_cleanup_(extract_args_release) struct extract_args a = {
		.xo = { .seed_output = true },
		.store_paths = zf_xcalloc((size_t)argc + 1, sizeof(char *)),
		.seeds = zf_xcalloc((size_t)argc + 1, sizeof(char *)),
	};
	struct zf_extract_stats st;
	struct zf_err err = ZF_ERR_INIT;
	double t0;
	int r;

	if ((r = extract_parse(argc, argv, &a)) != GO_ON)
		return r;
	if (extract_open_and_run(&a, &st, &t0, &err) < 0)
		return fail("extract", &err);
	if (a.json)
		extract_print_json(&a, &st, zf_now_sec() - t0);
	return ZF_EXIT_OK;
}

struct verify_out {
	bool json;
	struct zf_json *j;      /* with json: the "damaged_chunks" array */
	struct zf_idmap damaged;        /* what the chunk pass found, for the catalogue pass */
};

static void verify_out_release(struct verify_out *v)
{
	zf_idmap_release(&v->damaged);
}

static void verify_report(const struct zf_chunk_id *id, const char *why, bool removed,
			  void *userdata)
{
	struct verify_out *v = userdata;
	char hex[ZF_CHUNK_ID_HEX];

	zf_idmap_add(&v->damaged, id, &(struct zf_idmap_value){ 0 });
	zf_chunk_id_hex(id, hex);
	if (v->json) {
		zf_json_object_begin(v->j);
		zf_json_key_str(v->j, "id", hex);
		zf_json_key_bool(v->j, "removed", removed);
		zf_json_key_str(v->j, "error", why);
		zf_json_object_end(v->j);
	} else {
		printf("%s %s: %s\n", removed ? "removed" : "damaged", hex, why);
	}
}

/* The catalogue pass's findings: lines, or the "backups_broken" array. */
struct broken_out {
	bool json;
	struct zf_json *j;
};

static void broken_report(const struct zf_catalogue_entry *e, const struct zf_catalogue_fault *f,
			  size_t n, uint64_t more, void *userdata)
{
	struct broken_out *o = userdata;
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	if (o->json) {
		zf_json_object_begin(o->j);
		zf_json_key_str(o->j, "dataset", e->dataset);
		zf_json_key_str(o->j, "snapshot", e->snapshot);
		zf_json_key_u64_str(o->j, "guid", e->guid);
		zf_json_key_u64_str(o->j, "createtxg", e->createtxg);
		zf_json_key_array_begin(o->j, "reasons");
		for (size_t i = 0; i < n; i++) {
			zf_buf_reset(&b);
			zf_catalogue_fault_str(&f[i], &b);
			zf_json_str(o->j, zf_buf_str(&b));
		}
		zf_json_array_end(o->j);
		zf_json_key_u64(o->j, "more_reasons", more);
		zf_json_object_end(o->j);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		zf_buf_adds(&b, i ? ", " : "");
		zf_catalogue_fault_str(&f[i], &b);
	}
	if (more)
		zf_buf_addf(&b, ", and %" PRIu64 " more", more);
	printf("broken backup %s@%s (createtxg %" PRIu64 "): %s\n", e->dataset, e->snapshot,
	       e->createtxg, zf_buf_str(&b));
}

struct verify_args {
	const char *store;
	unsigned jobs;
	bool repair, json;
};

static int verify_parse(int argc, char **argv, struct verify_args *a)
{
	enum { OPT_REPAIR = 1000, OPT_JSON };
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "repair", no_argument, NULL, OPT_REPAIR },
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, OPT_JSON },
		REMOTE_STORE_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+s:j:h", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			a->store = optarg;
			break;
		case OPT_REPAIR:
			a->repair = true;
			break;
		case 'j':
			if (parse_jobs(optarg, &a->jobs) < 0)
				return sub_usage_error("verify", "bad number of jobs '%s'", optarg);
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
			fputs(usage_verify, stdout);
			return ZF_EXIT_OK;
		default:
			if (remote_option(c, optarg) == 0)
				break;
			return remote_option(c, optarg) == -EINVAL ?
				sub_usage_error("verify", "bad number '%s'", optarg) :
				bad_option("verify", argc, argv);
		}
	}
	if (optind != argc)
		return sub_usage_error("verify", "unexpected argument '%s'", argv[optind]);
	if (!a->store)
		return sub_usage_error("verify", "no store given (-s STORE)");
	return GO_ON;
}

static void verify_print_json(const struct verify_args *a, const struct zf_verify_stats *st,
			      const char *damaged_json, const struct zf_catalogue_verify_stats *cst,
			      const char *broken_json, const struct zf_err *cerr)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "store", a->store);
	zf_json_key_u64(&j, "chunks", st->chunks);
	zf_json_key_u64(&j, "damaged", st->damaged);
	zf_json_key_u64(&j, "removed", st->removed);
	zf_json_key(&j, "damaged_chunks");
	zf_json_raw(&j, damaged_json);
	zf_json_key_u64(&j, "backups_checked", cst->backups);
	zf_json_key(&j, "backups_broken");
	zf_json_raw(&j, broken_json);
	if (cerr->code < 0)
		zf_json_key_str(&j, "catalogue_error", zf_err_msg(cerr));
	zf_json_finish(&j);
}

static int store_verify(int argc, char **argv)
{
	_cleanup_(zf_store_freep) struct zf_store *store = NULL;
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT, bb = ZF_BUF_INIT;
	struct zf_json items = ZF_JSON_INIT(&b), broken = ZF_JSON_INIT(&bb);
	struct verify_args a = { 0 };
	_cleanup_(verify_out_release) struct verify_out vo = { false, &items, ZF_IDMAP_INIT };
	struct broken_out bo = { false, &broken };
	struct zf_verify_stats st;
	struct zf_catalogue_verify_stats cst = { 0 };
	struct zf_err err = ZF_ERR_INIT, cerr = ZF_ERR_INIT;
	int r;

	if ((r = verify_parse(argc, argv, &a)) != GO_ON)
		return r;
	vo.json = bo.json = a.json;
	r = store_open(a.store, 0, &store, &err);
	if (r < 0)
		return fail("verify", &err);
	zf_json_array_begin(&items);
	r = zf_chunk_verify(store, a.jobs, a.repair, verify_report, &vo, &st, &err);
	if (r < 0)
		return fail("verify", &err);
	/* then every backup: its indexes, and whether each chunk it needs survived the first pass */
	zf_json_array_begin(&broken);
	r = zf_store_is_local(store) ?
		zf_catalogue_verify(store, &vo.damaged, broken_report, &bo, &cst, &cerr) : 0;
	zf_json_array_end(&items);
	zf_json_array_end(&broken);
	if (a.json)
		verify_print_json(&a, &st, zf_buf_str(&b), &cst, zf_buf_str(&bb), &cerr);
	else if (cst.backups == 0)
		fprintf(stderr,
			"zferry store verify: %" PRIu64 " chunks, %" PRIu64 " damaged, %" PRIu64
			" removed\n",
			st.chunks, st.damaged, st.removed);
	else
		fprintf(stderr,
			"zferry store verify: %" PRIu64 " chunks, %" PRIu64 " damaged, %" PRIu64
			" removed; %" PRIu64 " backups, %" PRIu64 " broken\n",
			st.chunks, st.damaged, st.removed, cst.backups, cst.broken);
	if (r < 0)
		return fail("verify", &cerr);
	return st.damaged > st.removed || cst.broken ? ZF_EXIT_FAIL : ZF_EXIT_OK;
}

struct prune_out {
	bool json, dry_run;
	struct zf_json *j;      /* with json: the "removed_chunks" array */
};

static void prune_report(const struct zf_chunk_id *id, uint64_t size, void *userdata)
{
	struct prune_out *p = userdata;
	char hex[ZF_CHUNK_ID_HEX];

	zf_chunk_id_hex(id, hex);
	if (p->json)
		zf_json_str(p->j, hex);
	else
		printf("%s %s %" PRIu64 "\n", p->dry_run ? "would remove" : "removed", hex, size);
}

static int store_prune(int argc, char **argv)
{
	enum { OPT_JSON = 1000 };
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, OPT_JSON },
		REMOTE_STORE_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(zf_store_freep) struct zf_store *store = NULL;
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_json items = ZF_JSON_INIT(&b);
	struct prune_out po = { false, false, &items };
	struct zf_prune_stats st;
	struct zf_err err = ZF_ERR_INIT;
	const char *store_path = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "+s:nh", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			store_path = optarg;
			break;
		case 'n':
			po.dry_run = true;
			break;
		case OPT_JSON:
			po.json = true;
			break;
		case 'h':
			fputs(usage_prune, stdout);
			return ZF_EXIT_OK;
		default:
			if (remote_option(c, optarg) == 0)
				break;
			return remote_option(c, optarg) == -EINVAL ?
				sub_usage_error("prune", "bad number '%s'", optarg) :
				bad_option("prune", argc, argv);
		}
	}
	if (!store_path)
		return sub_usage_error("prune", "no store given (-s STORE)");
	if (optind >= argc)
		return sub_usage_error("prune", "no INDEX given (pruning to nothing is refused)");
	r = store_open(store_path, 0, &store, &err);
	if (r < 0)
		return fail("prune", &err);
	if (po.json)
		zf_json_array_begin(&items);
	r = zf_chunk_prune(store, (const char *const *)argv + optind, (size_t)(argc - optind),
			   po.dry_run, prune_report, &po, &st, &err);
	if (r < 0)
		return fail("prune", &err);
	if (po.json) {
		_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);

		zf_json_array_end(&items);
		zf_json_object_begin(&j);
		zf_json_key_bool(&j, "dry_run", po.dry_run);
		zf_json_key_u64(&j, "kept", st.kept);
		zf_json_key_u64(&j, "removed", st.removed);
		zf_json_key_u64(&j, "removed_bytes", st.removed_bytes);
		zf_json_key(&j, "removed_chunks");
		zf_json_raw(&j, zf_buf_str(&b));
		zf_json_finish(&j);
	}
	return ZF_EXIT_OK;
}

/* "N" and one of s m h d: seconds, at most ten years. */
static int parse_duration(const char *s, int64_t *ret)
{
	static const struct { char unit; int64_t sec; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	size_t n = strlen(s);
	uint64_t v;

	if (n < 2 || zf_parse_u64n(s, n - 1, UINT64_C(3650) * 86400, &v) < 0)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (s[n - 1] == units[i].unit && v <= UINT64_C(3650) * 86400 / (uint64_t)units[i].sec) {
			*ret = (int64_t)v * units[i].sec;
			return 0;
		}
	return -EINVAL;
}

static void gc_print_json(const char *store_path, const struct zf_gc_opts *o,
			  const struct zf_gc_stats *st)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "store", store_path);
	zf_json_key_bool(&j, "dry_run", o->dry_run);
	zf_json_key_u64(&j, "pass", st->pass);
	zf_json_key_u64(&j, "entries", st->entries);
	zf_json_key_u64(&j, "chunks_marked", st->chunks_marked);
	zf_json_key_u64(&j, "indexes_marked", st->indexes_marked);
	zf_json_key_u64(&j, "chunks_fossilised", st->chunks_fossilised);
	zf_json_key_u64(&j, "indexes_fossilised", st->indexes_fossilised);
	zf_json_key_u64(&j, "bytes_fossilised", st->bytes_fossilised);
	zf_json_key_u64(&j, "chunks_deleted", st->chunks_deleted);
	zf_json_key_u64(&j, "indexes_deleted", st->indexes_deleted);
	zf_json_key_u64(&j, "bytes_freed", st->bytes_freed);
	zf_json_key_u64(&j, "chunks_revived", st->chunks_revived);
	zf_json_key_u64(&j, "indexes_revived", st->indexes_revived);
	zf_json_key_u64(&j, "sessions_live", st->sessions_live);
	zf_json_key_u64(&j, "sessions_removed", st->sessions_removed);
	zf_json_key_u64(&j, "temp_removed", st->temp_removed);
	zf_json_key_bool(&j, "deletion_skipped", st->deletion_skipped);
	zf_json_key_str(&j, "skip_reason", st->deletion_skipped ? st->skip_reason : NULL);
	zf_json_finish(&j);
}

static void gc_print_text(const struct zf_gc_opts *o, const struct zf_gc_stats *st)
{
	printf("pass %" PRIu64 "%s: %" PRIu64 " entries need %" PRIu64 " chunks and %" PRIu64
	       " indexes\n", st->pass, o->dry_run ? " (dry run)" : "", st->entries,
	       st->chunks_marked, st->indexes_marked);
	printf("%s %" PRIu64 " chunks and %" PRIu64 " indexes (%" PRIu64 " bytes)\n",
	       o->dry_run ? "would fossilise" : "fossilised", st->chunks_fossilised,
	       st->indexes_fossilised, st->bytes_fossilised);
	if (st->deletion_skipped)
		printf("deleted nothing: %s\n", st->skip_reason);
	else
		printf("%s %" PRIu64 " chunks and %" PRIu64 " indexes (%" PRIu64 " bytes freed), "
		       "revived %" PRIu64 " chunks and %" PRIu64 " indexes\n",
		       o->dry_run ? "would delete" : "deleted", st->chunks_deleted,
		       st->indexes_deleted, st->bytes_freed, st->chunks_revived,
		       st->indexes_revived);
	printf("sessions: %" PRIu64 " live, %" PRIu64 " stale removed; %" PRIu64
	       " abandoned temporary files removed\n", st->sessions_live, st->sessions_removed,
	       st->temp_removed);
}

static bool is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static int store_gc(int argc, char **argv)
{
	enum { OPT_JSON = 1000, OPT_MIN_AGE, OPT_GRACE };
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "min-age", required_argument, NULL, OPT_MIN_AGE },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct zf_gc_opts o = ZF_GC_OPTS_INIT;
	struct zf_gc_stats st;
	struct zf_err err = ZF_ERR_INIT;
	const char *store_path = NULL;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+s:nh", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			store_path = optarg;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case OPT_MIN_AGE:
		case OPT_GRACE:
			if (parse_duration(optarg, c == OPT_GRACE ? &o.grace : &o.min_age) < 0)
				return sub_usage_error("gc", "bad duration '%s' (N and s, m, h or d)",
						       optarg);
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			fputs(usage_gc, stdout);
			return ZF_EXIT_OK;
		default:
			return bad_option("gc", argc, argv);
		}
	}
	if (optind < argc)
		return sub_usage_error("gc", "unexpected argument '%s'", argv[optind]);
	if (!store_path)
		return sub_usage_error("gc", "no store given (-s STORE)");
	if (is_url(store_path)) {
		zf_err_set(&err, -EOPNOTSUPP, "store '%s': gc runs on the server's side: run it "
			   "where the store is a directory", store_path);
		return fail("gc", &err);
	}
	if (strncmp(store_path, "s3+", 3) == 0) {
		zf_err_set(&err, -EOPNOTSUPP, "store '%s': gc of an S3 bucket is not supported "
			   "yet (its sessions and fossils need the bucket's own listing)",
			   store_path);
		return fail("gc", &err);
	}
	r = zf_store_gc(store_path, &o, &st, &err);
	if (r < 0)
		return fail("gc", &err);
	if (json)
		gc_print_json(store_path, &o, &st);
	else
		gc_print_text(&o, &st);
	return ZF_EXIT_OK;
}

static int store_list_chunks(int argc, char **argv)
{
	enum { OPT_JSON = 1000 };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_json j = ZF_JSON_INIT(&b);
	struct zf_err err = ZF_ERR_INIT;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
		switch (c) {
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			fputs(usage_list_chunks, stdout);
			return ZF_EXIT_OK;
		default:
			return bad_option("list-chunks", argc, argv);
		}
	}
	if (argc - optind != 1)
		return sub_usage_error("list-chunks", "want one INDEX");
	r = zf_index_open_read(argv[optind], &idx, &err);
	if (r < 0)
		return fail("list-chunks", &err);
	if (json) {
		zf_json_object_begin(&j);
		zf_json_key_array_begin(&j, "chunks");
	}
	for (;;) {
		struct zf_chunk_id id;
		uint64_t off, size;
		char hex[ZF_CHUNK_ID_HEX];

		r = zf_index_next(idx, &id, &off, &size, &err);
		if (r <= 0)
			break;
		zf_chunk_id_hex(&id, hex);
		if (json) {
			zf_json_object_begin(&j);
			zf_json_key_u64(&j, "offset", off);
			zf_json_key_u64(&j, "size", size);
			zf_json_key_str(&j, "id", hex);
			zf_json_object_end(&j);
		} else {
			zf_buf_addf(&b, "%" PRIu64 " %" PRIu64 " %s\n", off, size, hex);
		}
		if (!json && b.len > 65536) {
			fputs(zf_buf_str(&b), stdout);
			zf_buf_reset(&b);
		}
	}
	if (r < 0) {
		fflush(stdout);
		return fail("list-chunks", &err);
	}
	if (json)
		zf_json_finish(&j);
	fputs(zf_buf_str(&b), stdout);
	return ZF_EXIT_OK;
}

static int store_chop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "jobs", required_argument, NULL, 'j' },
		REMOTE_STORE_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(zf_store_freep) struct zf_store *store = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct zf_make_stats st;
	const char *store_path = NULL;
	unsigned jobs = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "+s:j:h", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			store_path = optarg;
			break;
		case 'j':
			if (parse_jobs(optarg, &jobs) < 0)
				return sub_usage_error("chop", "bad number of jobs '%s'", optarg);
			break;
		case 'h':
			fputs(usage_chop, stdout);
			return ZF_EXIT_OK;
		default:
			if (remote_option(c, optarg) == 0)
				break;
			return remote_option(c, optarg) == -EINVAL ?
				sub_usage_error("chop", "bad number '%s'", optarg) :
				bad_option("chop", argc, argv);
		}
	}
	if (!store_path)
		return sub_usage_error("chop", "no store given (-s STORE)");
	if (argc - optind != 2)
		return sub_usage_error("chop", "want INDEX and FILE");
	r = store_open(store_path, ZF_STORE_CREATE, &store, &err);
	if (r < 0)
		return fail("chop", &err);
	r = zf_chunk_chop(argv[optind], argv[optind + 1], store, jobs, &st, &err);
	if (r < 0)
		return fail("chop", &err);
	return ZF_EXIT_OK;
}

/* One index's object in "indexes"; the store's figures only with a store. */
static void info_add_json(struct zf_json *j, const char *index, const struct zf_index_stats *st,
			  double ratio, bool with_store)
{
	zf_json_object_begin(j);
	zf_json_key_str(j, "index", index);
	zf_json_key_array_begin(j, "chunk_size");
	zf_json_u64(j, st->min);
	zf_json_u64(j, st->avg);
	zf_json_u64(j, st->max);
	zf_json_array_end(j);
	zf_json_key_u64(j, "size", st->size);
	zf_json_key_u64(j, "chunks", st->chunks);
	zf_json_key_u64(j, "unique", st->unique);
	zf_json_key_u64(j, "unique_bytes", st->unique_bytes);
	zf_json_key_fixed(j, "dedup_ratio", ratio, 3);
	if (with_store) {
		zf_json_key_u64(j, "stored_bytes", st->stored_bytes);
		zf_json_key_u64(j, "missing", st->missing);
	}
	zf_json_object_end(j);
}

static void info_add_text(struct zf_buf *b, const char *index, const struct zf_index_stats *st,
			  double ratio, bool with_store)
{
	zf_buf_addf(b, "%s\n  chunk size %" PRIu64 ":%" PRIu64 ":%" PRIu64
		    "\n  size       %" PRIu64 "\n  chunks     %" PRIu64
		    "\n  unique     %" PRIu64 " (%" PRIu64 " bytes)"
		    "\n  dedup      %.2fx\n",
		    index, st->min, st->avg, st->max, st->size, st->chunks, st->unique,
		    st->unique_bytes, ratio);
	if (with_store)
		zf_buf_addf(b, "  stored     %" PRIu64 " bytes compressed\n"
			    "  missing    %" PRIu64 " chunks\n",
			    st->stored_bytes, st->missing);
}

static int store_info(int argc, char **argv)
{
	enum { OPT_JSON = 1000 };
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, OPT_JSON },
		REMOTE_STORE_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(zf_store_freep) struct zf_store *store = NULL;
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_json j = ZF_JSON_INIT(&b);
	struct zf_err err = ZF_ERR_INIT;
	const char *store_path = NULL;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			store_path = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			fputs(usage_info, stdout);
			return ZF_EXIT_OK;
		default:
			if (remote_option(c, optarg) == 0)
				break;
			return remote_option(c, optarg) == -EINVAL ?
				sub_usage_error("info", "bad number '%s'", optarg) :
				bad_option("info", argc, argv);
		}
	}
	if (optind >= argc)
		return sub_usage_error("info", "no INDEX given");
	if (store_path) {
		r = store_open(store_path, 0, &store, &err);
		if (r < 0)
			return fail("info", &err);
	}
	if (json) {
		zf_json_object_begin(&j);
		zf_json_key_array_begin(&j, "indexes");
	}
	for (int i = optind; i < argc; i++) {
		struct zf_index_stats st;
		double ratio;

		r = zf_chunk_index_stats(argv[i], store, &st, &err);
		if (r < 0)
			return fail("info", &err);
		ratio = st.unique_bytes ? (double)st.size / (double)st.unique_bytes : 1.0;
		if (json)
			info_add_json(&j, argv[i], &st, ratio, store);
		else
			info_add_text(&b, argv[i], &st, ratio, store);
	}
	if (json)
		zf_json_finish(&j);
	fputs(zf_buf_str(&b), stdout);
	return ZF_EXIT_OK;
}

static const struct store_cmd store_cmds[] = {
	{ "make", store_make, "chunk a file or pipe into a store and write its index", usage_make },
	{ "extract", store_extract, "restore a file from an index", usage_extract },
	{ "verify", store_verify, "check every chunk in a store", usage_verify },
	{ "prune", store_prune, "remove chunks no index needs", usage_prune },
	{ "gc", store_gc, "collect a backup store's garbage while backups run", usage_gc },
	{ "list-chunks", store_list_chunks, "print the chunks of an index", usage_list_chunks },
	{ "chop", store_chop, "store a file's chunks as an index cuts them", usage_chop },
	{ "info", store_info, "size, chunks, unique chunks and dedup ratio", usage_info },
	{ "serve", zf_store_serve, "serve a store over HTTP (desync's chunk-server protocol)",
	  zf_usage_store_serve },
};

static const struct store_cmd *find_sub(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(store_cmds); i++)
		if (streq(store_cmds[i].name, name))
			return &store_cmds[i];
	return NULL;
}

static void store_help(FILE *out)
{
	const struct zf_cmd *c = zf_cmd_find("store");

	fputs(c ? c->usage : "usage: zferry store SUBCOMMAND [ARGS]\n", out);
}

int cmd_store(int argc, char **argv)
{
	const struct store_cmd *s;

	if (argc < 2) {
		store_help(stderr);
		return ZF_EXIT_USAGE;
	}
	if (streq(argv[1], "-h") || streq(argv[1], "--help") || streq(argv[1], "help")) {
		if (argc > 2 && (s = find_sub(argv[2]))) {
			fputs(s->usage, stdout);
			return ZF_EXIT_OK;
		}
		store_help(stdout);
		return ZF_EXIT_OK;
	}
	s = find_sub(argv[1]);
	if (!s)
		return zf_usage_error("store", "unknown subcommand '%s'", argv[1]);
	optind = 0;     /* full re-initialisation of getopt for the subcommand */
	opterr = 0;
	return s->fn(argc - 1, argv + 1);
}
