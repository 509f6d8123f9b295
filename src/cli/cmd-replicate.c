/* src/cli/cmd-replicate.c — zferry replicate SRC DST */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "endpoint/open.h"
#include "endpoint/endpoint.h"
#include "endpoint/remote.h"
#include "job/replicate.h"
#include "log/log.h"
#include "transport/datachan.h"
#include "transport/transport.h"
#include "transport/url.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/num.h"
#include "util/strv.h"
#include "zfs/recv-policy.h"
#include "util/banned.h"

static void human_bytes(uint64_t b, char *buf, size_t n)
{
	const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t u = 0;
	while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static unsigned progress_lines;

/* Redraws one line per running transfer on stderr (a terminal). */
static void show_progress(const struct zf_replicate_progress *p, size_t n, void *userdata)
{
	(void)userdata;
	for (unsigned i = 0; i < progress_lines; i++)
		fputs("\033[1A\033[2K", stderr);
	for (size_t i = 0; i < n; i++) {
		char done[32], total[32], rate[32], eta[32] = "";
		double r = p[i].seconds > 0 ? (double)p[i].bytes / p[i].seconds : 0;
		human_bytes(p[i].bytes, done, sizeof(done));
		human_bytes(p[i].estimate, total, sizeof(total));
		human_bytes((uint64_t)r, rate, sizeof(rate));
		if (p[i].estimate > p[i].bytes && r > 0)
			snprintf(eta, sizeof(eta), ", ETA %.0f s",
				 (double)(p[i].estimate - p[i].bytes) / r);
		fprintf(stderr, "  %-40.40s %10s / %-10s %10s/s%s\n", p[i].target, done,
			p[i].estimate ? total : "?", rate, eta);
	}
	progress_lines = (unsigned)n;
	fflush(stderr);
}

static void print_text(const struct zf_replicate_result *res, bool dry_run)
{
	if (res->sync_snap)
		printf("sync snapshot: @%s%s\n", res->sync_snap, dry_run ? " (would be taken)" : "");
	for (size_t i = 0; i < res->n; i++) {
		const struct zf_replicate_fs_result *f = &res->v[i];
		char bytes[32];

		human_bytes(f->bytes, bytes, sizeof(bytes));
		printf("%-8s %-18s %s", f->status == ZF_REPLICATE_PLANNED ? "plan"
			: zf_replicate_status_str(f->status),
		       zf_replan_action_str(f->action), f->target);
		if (f->to)
			printf(" (%s%s%s@%s)", f->from ? "from " : "full ", f->from ? f->from : "",
			       f->from ? " to " : "", f->to);
		if (!dry_run && f->status == ZF_REPLICATE_OK && f->bytes)
			printf(", %s in %.1f s", bytes, f->seconds);
		putchar('\n');
		if (f->error)
			printf("         error: %s\n", f->error);
		else if (f->message)
			printf("         note: %s\n", f->message);
		for (char **n = f->removed; n && *n; n++)
			printf("%s@%s", n == f->removed ? "         removed obsolete sync snapshots: "
							: ", ", *n);
		if (f->removed)
			putchar('\n');
	}
	if (!dry_run)
		printf("%u ok, %u failed, %u skipped\n", res->ok, res->failed, res->skipped);
	else
		printf("would be: %u ok, %u failed, %u skipped\n", res->ok, res->failed,
		       res->skipped);
}

static void print_json(const struct zf_replicate_result *res, bool dry_run)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT_FILE(stdout);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "result",
			dry_run ? "planned" : res->failed || res->skipped ? "partial" : "ok");
	zf_json_key_u64(&j, "ok", res->ok);
	zf_json_key_u64(&j, "failed", res->failed);
	zf_json_key_u64(&j, "skipped", res->skipped);
	zf_json_key_str(&j, "sync_snapshot", res->sync_snap);
	zf_json_key_str(&j, "target_id", res->target_id);
	zf_json_key_array_begin(&j, "filesystems");
	for (size_t i = 0; i < res->n; i++) {
		const struct zf_replicate_fs_result *f = &res->v[i];
		zf_json_object_begin(&j);
		zf_json_key_str(&j, "source", f->source);
		zf_json_key_str(&j, "target", f->target);
		zf_json_key_str(&j, "action", zf_replan_action_str(f->action));
		zf_json_key_str(&j, "from", f->from);
		zf_json_key_str(&j, "to", f->to);
		zf_json_key_u64(&j, "bytes", f->bytes);
		zf_json_key_fixed(&j, "seconds", f->seconds, 3);
		zf_json_key_str(&j, "result", zf_replicate_status_str(f->status));
		zf_json_key_str(&j, "error", f->error);
		zf_json_key_str(&j, "note", f->message);
		zf_json_key_array_begin(&j, "removed");
		for (char **n = f->removed; n && *n; n++)
			zf_json_str(&j, *n);
		zf_json_array_end(&j);
		zf_json_object_end(&j);
	}
	zf_json_finish(&j);
}

enum {
	OPT_EXCLUDE = 1000, OPT_NO_SYNC, OPT_SYNC_PREFIX, OPT_RAW, OPT_COMPRESSED, OPT_LARGE,
	OPT_EMBED, OPT_PROPS, OPT_FORCE_ROLLBACK, OPT_RENAME_DIVERGED, OPT_NO_READONLY,
	OPT_DECRYPT, OPT_MOUNT, OPT_NO_RESUME, OPT_DRY_RUN, OPT_JSON, OPT_PROGRESS,
	OPT_NO_PROGRESS, OPT_NO_INTERMEDIATES, OPT_TARGET_ID, OPT_TLS_CA, OPT_TLS_CERT,
	OPT_TLS_KEY, OPT_TLS_SERVER_NAME, OPT_TLS_CRL, OPT_SSH_OPTION, OPT_REMOTE_ZFERRY, OPT_TIMEOUT,
	OPT_RETRIES, OPT_DATA_CHANNEL, OPT_DATA_CHANNEL_ENCRYPT, OPT_ACCEPT_PROP, OPT_BWLIMIT,
};

static const struct option opts[] = {
	{ "recursive", no_argument, NULL, 'r' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "no-sync-snap", no_argument, NULL, OPT_NO_SYNC },
	{ "sync-snap-prefix", required_argument, NULL, OPT_SYNC_PREFIX },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "decrypt", no_argument, NULL, OPT_DECRYPT },
	{ "compressed", no_argument, NULL, OPT_COMPRESSED },
	{ "large-block", no_argument, NULL, OPT_LARGE },
	{ "embed", no_argument, NULL, OPT_EMBED },
	{ "props", no_argument, NULL, OPT_PROPS },
	{ "force-rollback", no_argument, NULL, OPT_FORCE_ROLLBACK },
	{ "rename-diverged", no_argument, NULL, OPT_RENAME_DIVERGED },
	{ "no-readonly", no_argument, NULL, OPT_NO_READONLY },
	{ "mount", no_argument, NULL, OPT_MOUNT },
	{ "no-resume", no_argument, NULL, OPT_NO_RESUME },
	{ "no-intermediates", no_argument, NULL, OPT_NO_INTERMEDIATES },
	{ "target-id", required_argument, NULL, OPT_TARGET_ID },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "tls-server-name", required_argument, NULL, OPT_TLS_SERVER_NAME },
	/* the old name: a server name the certificate's CN matches is what it checked */
	{ "tls-server-cn", required_argument, NULL, OPT_TLS_SERVER_NAME },
	{ "tls-crl", required_argument, NULL, OPT_TLS_CRL },
	{ "ssh-option", required_argument, NULL, OPT_SSH_OPTION },
	{ "remote-zferry", required_argument, NULL, OPT_REMOTE_ZFERRY },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "bwlimit", required_argument, NULL, OPT_BWLIMIT },
	{ "data-channel", required_argument, NULL, OPT_DATA_CHANNEL },
	{ "data-channel-encrypt", no_argument, NULL, OPT_DATA_CHANNEL_ENCRYPT },
	{ "accept-prop", required_argument, NULL, OPT_ACCEPT_PROP },
	{ "help", no_argument, NULL, 'h' },
	{},
};

/* What the command line asked for: parse_options() fills it, the later phases read it. */
struct args {
	struct zf_replicate_opts o;
	struct zf_remote_args ra;
	struct zf_strv ssh_options, excludes, set, unset, accept;
	char *data_addr;
	int progress;           /* -1: on when stderr is a terminal and no --json */
	bool json, raw, decrypt;
};

static void args_release(struct args *a)
{
	zf_strv_release(&a->ssh_options);
	zf_strv_release(&a->excludes);
	zf_strv_release(&a->set);
	zf_strv_release(&a->unset);
	zf_strv_release(&a->accept);
	free(a->data_addr);
}

/* The options, one by one as getopt hands them over; GO_ON or the exit status. */
static int parse_options(int argc, char **argv, struct args *a)
{
	struct zf_err err = ZF_ERR_INIT;
	int c;

	while ((c = getopt_long(argc, argv, "+rj:o:x:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'r': a->o.recursive = true; break;
		case 'j': {
			uint64_t v;
			if (zf_parse_u64_lenient(optarg, ZF_REPLICATE_JOBS_MAX, &v) < 0 || v < 1)
				return zf_usage_error("replicate", "--jobs takes 1 to %d, not '%s'",
						      ZF_REPLICATE_JOBS_MAX, optarg);
			a->o.jobs = (unsigned)v;
			break;
		}
		case 'o':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return zf_usage_error("replicate", "-o takes PROP=VALUE, not '%s'", optarg);
			zf_strv_add(&a->set, optarg);
			break;
		case 'x': zf_strv_add(&a->unset, optarg); break;
		case OPT_EXCLUDE: zf_strv_add(&a->excludes, optarg); break;
		case OPT_NO_SYNC: a->o.sync_snap = false; break;
		case OPT_SYNC_PREFIX: a->o.sync_snap_prefix = optarg; break;
		case OPT_RAW: a->raw = true; break;
		case OPT_DECRYPT: a->decrypt = true; break;
		case OPT_COMPRESSED: a->o.compressed = true; break;
		case OPT_LARGE: a->o.large_block = true; break;
		case OPT_EMBED: a->o.embed = true; break;
		case OPT_PROPS: a->o.props = true; break;
		case OPT_FORCE_ROLLBACK: a->o.force_rollback = true; break;
		case OPT_RENAME_DIVERGED: a->o.rename_diverged = true; break;
		case OPT_NO_READONLY: a->o.no_readonly = true; break;
		case OPT_MOUNT: a->o.mount = true; break;
		case OPT_NO_RESUME: a->o.no_resume = true; break;
		case OPT_NO_INTERMEDIATES: a->o.intermediates = false; break;
		case OPT_TARGET_ID: a->o.cursor_id = optarg; break;
		case OPT_DRY_RUN: a->o.dry_run = true; break;
		case OPT_JSON: a->json = true; break;
		case OPT_PROGRESS: a->progress = 1; break;
		case OPT_NO_PROGRESS: a->progress = 0; break;
		case OPT_TLS_CA: a->ra.tls_ca = optarg; break;
		case OPT_TLS_CERT: a->ra.tls_cert = optarg; break;
		case OPT_TLS_KEY: a->ra.tls_key = optarg; break;
		case OPT_TLS_SERVER_NAME:
			if (zf_check_tls_server_name(optarg, &err) < 0)
				return zf_usage_error("replicate", "bad --tls-server-name: %s",
						      zf_err_msg(&err));
			a->ra.tls_server_name = optarg;
			break;
		case OPT_TLS_CRL: a->ra.tls_crl = optarg; break;
		case OPT_SSH_OPTION:
			if (!*optarg || optarg[0] == '-')
				return zf_usage_error("replicate",
						      "--ssh-option takes an ssh_config option "
						      "such as Port=2222, not '%s'", optarg);
			zf_strv_add(&a->ssh_options, optarg);
			break;
		case OPT_REMOTE_ZFERRY:
			if (!*optarg)
				return zf_usage_error("replicate", "--remote-zferry is empty");
			a->ra.remote_zferry = optarg;
			break;
		case OPT_TIMEOUT: {
			uint64_t v;
			if (optarg[0] == '-' || zf_parse_u64_lenient(optarg, 86400, &v) < 0 ||
			    v < 1)
				return zf_usage_error("replicate", "--timeout takes 1 to 86400 "
						      "seconds, not '%s'", optarg);
			a->ra.timeout_ms = (int)v * 1000;
			break;
		}
		case OPT_RETRIES: {
			uint64_t v;
			if (optarg[0] == '-' || zf_parse_u64_lenient(optarg, 100, &v) < 0)
				return zf_usage_error("replicate", "--retries takes 0 to 100, not '%s'",
						      optarg);
			a->o.retries = (unsigned)v;
			break;
		}
		case OPT_BWLIMIT:
			if (zf_parse_bwlimit(optarg, &a->o.bwlimit) < 0)
				return zf_usage_error("replicate", "--bwlimit takes "
						      ZF_BWLIMIT_FORM ", not '%s'", optarg);
			break;
		case OPT_DATA_CHANNEL:
			free(a->data_addr);
			a->data_addr = NULL;
			if (zf_parse_data_channel(optarg, &a->data_addr, &a->ra.data_ports,
						  &err) < 0)
				return zf_usage_error("replicate", "bad --data-channel: %s",
						      zf_err_msg(&err));
			a->ra.data_addr = a->data_addr;
			break;
		case OPT_DATA_CHANNEL_ENCRYPT: a->ra.data_encrypt = true; break;
		case OPT_ACCEPT_PROP: zf_strv_add(&a->accept, optarg); break;
		case 'h': return zf_cmd_help("replicate", stdout, ZF_EXIT_OK);
		default:
			return zf_usage_error("replicate", "unknown option '%s'", argv[optind - 1]);
		}
	}
	return GO_ON;
}

/* What the options mean together, checked before anything is opened. */
static int check_options(int argc, struct args *a)
{
	struct zf_err err = ZF_ERR_INIT;

	if (argc - optind != 2)
		return zf_usage_error("replicate", "expected SRC and DST, got %d argument%s",
				      argc - optind, argc - optind == 1 ? "" : "s");
	if (a->raw && a->decrypt)
		return zf_usage_error("replicate", "--raw and --decrypt exclude each other");
	if (a->o.sync_snap_prefix && zf_zfs_shortname_check(a->o.sync_snap_prefix, &err) < 0)
		return zf_usage_error("replicate", "bad --sync-snap-prefix: %s", zf_err_msg(&err));
	if (a->o.cursor_id && (!*a->o.cursor_id || strlen(a->o.cursor_id) > 64 ||
			       a->o.cursor_id[strspn(a->o.cursor_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
						     "abcdefghijklmnopqrstuvwxyz0123456789_.:-")]))
		return zf_usage_error("replicate", "--target-id takes 1 to 64 of A-Z a-z 0-9 "
				      "_ . : -, not '%s'", a->o.cursor_id);
	a->o.raw = a->raw ? ZF_REPLAN_RAW_ON : a->decrypt ? ZF_REPLAN_RAW_OFF : ZF_REPLAN_RAW_AUTO;
	a->o.excludes = a->excludes.n ? zf_strv_argv(&a->excludes) : NULL;
	a->o.set_props = a->set.n ? zf_strv_argv(&a->set) : NULL;
	a->o.exclude_props = a->unset.n ? zf_strv_argv(&a->unset) : NULL;
	if (a->accept.n) {
		const struct zf_recv_policy check = { .allow = zf_strv_argv(&a->accept) };
		if (zf_recv_policy_validate(&check, &err) < 0)
			return zf_usage_error("replicate", "bad --accept-prop: %s", zf_err_msg(&err));
		a->o.accept_props = zf_strv_argv(&a->accept);
	}
	for (size_t i = 0; i < a->set.n; i++) {
		_cleanup_strv_ struct zf_strv one = ZF_STRV_INIT;
		if (zf_recv_policy_create(&(struct zf_recv_policy){ .allow = (const char *const[]){
							"*", NULL } },
					  (const char *const[]){ a->set.v[i], NULL }, true, &one,
					  &err) < 0)
			return zf_usage_error("replicate", "bad -o '%s': %s", a->set.v[i],
					      zf_err_msg(&err));
	}
	if (a->progress < 0)
		a->progress = isatty(2) && !a->json;
	if (a->progress && !a->o.dry_run)
		a->o.progress = show_progress;
	return GO_ON;
}

/* SRC and DST, and whether the transport options fit them. */
static int check_ends(const char *src_arg, const char *dst_arg, const struct args *a,
		      struct zf_url *src_url, struct zf_url *dst_url)
{
	const struct zf_remote_args *ra = &a->ra;
	struct zf_err err = ZF_ERR_INIT;
	bool tls;

	if (zf_url_parse(src_arg, src_url, &err) < 0)
		return zf_usage_error("replicate", "bad SRC: %s", zf_err_msg(&err));
	if (zf_url_parse(dst_arg, dst_url, &err) < 0)
		return zf_usage_error("replicate", "bad DST: %s", zf_err_msg(&err));
	if (src_url->kind != ZF_URL_LOCAL && dst_url->kind != ZF_URL_LOCAL)
		return zf_usage_error("replicate", "SRC and DST are both remote: one end must "
				      "be local");
	if (ra->data_encrypt && !ra->data_addr)
		return zf_usage_error("replicate", "--data-channel-encrypt needs --data-channel");
	if (ra->data_addr && src_url->kind == ZF_URL_LOCAL && dst_url->kind == ZF_URL_LOCAL)
		return zf_usage_error("replicate", "--data-channel needs a remote SRC or DST");
	if (ra->data_addr && (src_url->kind == ZF_URL_TCP || dst_url->kind == ZF_URL_TCP))
		return zf_usage_error("replicate", "--data-channel over tcp:// would send its secret "
				      "in clear: use tls:// or ssh");
	tls = src_url->kind == ZF_URL_TLS || dst_url->kind == ZF_URL_TLS;
	if (tls && (!ra->tls_ca || !ra->tls_cert || !ra->tls_key))
		return zf_usage_error("replicate",
				      "tls:// needs --tls-ca, --tls-cert and --tls-key");
	if ((ra->tls_server_name || ra->tls_crl) && !tls)
		return zf_usage_error("replicate", "--tls-server-name and --tls-crl are for a "
				      "tls:// SRC or DST");
	if (tls) {
		/* a bad key or CRL file fails now, not after a sync snapshot was taken */
		const struct zf_tls_opts check = { .ca_file = ra->tls_ca,
						   .cert_file = ra->tls_cert,
						   .key_file = ra->tls_key,
						   .crl_file = ra->tls_crl };
		if (zf_tls_check(&check, false, &err) < 0) {
			log_error("replicate: %s", zf_err_msg(&err));
			return ZF_EXIT_FAIL;
		}
	}
	return GO_ON;
}

/* Opens both ends, replicates and reports; the exit status. */
static int run(const char *src_arg, const char *dst_arg, struct args *a, struct zf_url *src_url,
	       struct zf_url *dst_url)
{
	/* a remote endpoint takes its url's contents, the dataset with them */
	_cleanup_free_ char *src_root = zf_xstrdup(src_url->dataset);
	_cleanup_free_ char *dst_root = zf_xstrdup(dst_url->dataset);
	_cleanup_(zf_endpoint_freep) struct zf_endpoint *src = NULL;
	_cleanup_(zf_endpoint_freep) struct zf_endpoint *dst = NULL;
	_cleanup_(zf_replicate_result_release) struct zf_replicate_result res = {};
	struct zf_err err = ZF_ERR_INIT;
	int r;

	if (zf_endpoint_open(src_url, &a->ra, &src, &err) < 0 ||
	    zf_endpoint_open(dst_url, &a->ra, &dst, &err) < 0) {
		log_error("replicate: %s", zf_err_msg(&err));
		return ZF_EXIT_FAIL;
	}
	a->o.src_name = src_arg;
	a->o.dst_name = dst_arg;
	r = zf_replicate(src, src_root, dst, dst_root, &a->o, &res, &err);
	if (r < 0) {
		log_error("replicate: %s", zf_err_msg(&err));
		return r == -EINVAL || r == -ZF_E_BADNAME ? ZF_EXIT_USAGE : ZF_EXIT_FAIL;
	}
	if (a->json)
		print_json(&res, a->o.dry_run);
	else
		print_text(&res, a->o.dry_run);
	return res.failed || res.skipped ? ZF_EXIT_FAIL : ZF_EXIT_OK;
}

int cmd_replicate(int argc, char **argv)
{
	_cleanup_(args_release) struct args a = {
		.o = { .sync_snap = true, .intermediates = true, .retries = 3 },
		.ra = { .timeout_ms = ZF_TRANSPORT_DEFAULT_TIMEOUT_MS },
		.ssh_options = ZF_STRV_INIT, .excludes = ZF_STRV_INIT, .set = ZF_STRV_INIT,
		.unset = ZF_STRV_INIT, .accept = ZF_STRV_INIT,
		.progress = -1,
	};
	_cleanup_(zf_url_releasep) struct zf_url src_url = ZF_URL_INIT;
	_cleanup_(zf_url_releasep) struct zf_url dst_url = ZF_URL_INIT;
	int r;

	a.ra.ssh_options = &a.ssh_options;
	if ((r = parse_options(argc, argv, &a)) != GO_ON)
		return r;
	if ((r = check_options(argc, &a)) != GO_ON)
		return r;
	if ((r = check_ends(argv[optind], argv[optind + 1], &a, &src_url, &dst_url)) != GO_ON)
		return r;
	return run(argv[optind], argv[optind + 1], &a, &src_url, &dst_url);
}
