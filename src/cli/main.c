/* src/cli/main.c — the command table, global options, then one command */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "chunk/chunker.h"
#include "cli/cli.h"
#include "util/alloc.h"
#include "log/log.h"
#include "util/err.h"
#include "util/macro.h"
#include "util/num.h"
#include "util/banned.h"

#ifndef ZFERRY_VERSION
#define ZFERRY_VERSION "unknown"
#endif

static const char main_usage[] =
	"usage: zferry [--log-format=text|logfmt|json] [--log-level=LEVEL] [-v] COMMAND [ARGS]\n"
	"       zferry help [COMMAND]\n"
	"       zferry --version\n"
	"\n"
	"Global options:\n"
	"  --log-format=FMT   how diagnostics on stderr look: text (default), logfmt, json\n"
	"  --log-level=LEVEL  error, warning, notice (default), info or debug\n"
	"  -v, --verbose      one level more verbose (repeatable)\n"
	"  -h, --help         this text\n"
	"  -V, --version      print the version and exit\n";

const struct zf_cmd zf_commands[] = {
	{ "list", cmd_list, 0, "list filesystems, snapshots and bookmarks",
	  "usage: zferry list [-r] [-t TYPES] [--json] DATASET...\n"
	  "\n"
	  "Lists datasets and their snapshots and bookmarks through zferry's zfs layer,\n"
	  "with guid, createtxg, creation time and number of holds.\n"
	  "\n"
	  "  -r, --recursive    include descendants of each DATASET\n"
	  "  -t, --type TYPES   comma-separated: filesystem, snapshot, bookmark, all\n"
	  "                     (default: filesystem,snapshot,bookmark)\n"
	  "      --json         one JSON document instead of a table\n"
	  "  -h, --help         this text\n" },
	{ "replicate", cmd_replicate, 0, "replicate filesystems to another pool, incrementally",
	  "usage: zferry replicate [-r] [--jobs N] [--exclude REGEX]... [--no-sync-snap]\n"
	  "                        [--sync-snap-prefix P] [--raw|--decrypt] [--compressed]\n"
	  "                        [--large-block] [--embed] [--props] [-o PROP=VAL]... [-x PROP]...\n"
	  "                        [--accept-prop PATTERN]...\n"
	  "                        [--force-rollback] [--rename-diverged] [--no-readonly] [--mount]\n"
	  "                        [--no-resume] [--no-intermediates] [--target-id ID] [--dry-run]\n"
	  "                        [--json] [--progress|--no-progress]\n"
	  "                        [--tls-ca FILE --tls-cert FILE --tls-key FILE]\n"
	  "                        [--tls-server-name NAME] [--tls-crl FILE] [--ssh-option OPT]...\n"
	  "                        [--remote-zferry PATH] [--timeout SECONDS] [--retries N]\n"
	  "                        [--bwlimit RATE]\n"
	  "                        [--data-channel tcp://ADDR:PORT [--data-channel-encrypt]]\n"
	  "                        SRC DST\n"
	  "\n"
	  "Replicates filesystem SRC (with -r its descendants, to the same paths under\n"
	  "DST) by zfs send | zfs recv: incrementally from the newest version both sides\n"
	  "share (matched by guid), resuming interrupted receives, holding the snapshots a\n"
	  "transfer needs and leaving a cursor bookmark on SRC so that pruning cannot take\n"
	  "away the next incremental's base.  Never destroys anything on DST unless asked.\n"
	  "\n"
	  "  -r, --recursive        replicate SRC's descendants too (parents first, in parallel)\n"
	  "  -j, --jobs N           parallel transfers, 1-8 (default: cores, at most 8)\n"
	  "      --exclude REGEX    leave out source filesystems matching REGEX (POSIX ERE on\n"
	  "                         the full name; repeatable); their parents become placeholders\n"
	  "      --no-sync-snap     send existing snapshots only; by default one atomic snapshot\n"
	  "                         SRC@<prefix><ID>_<UTC time> of the sources that have\n"
	  "                         something to send is taken first; the target's older ones\n"
	  "                         are destroyed on SRC once it is up to date\n"
	  "      --sync-snap-prefix P  prefix of that snapshot (default zferry_)\n"
	  "      --raw              send raw (-w) even unencrypted sources\n"
	  "      --decrypt          send encrypted sources decrypted (default: raw, so the\n"
	  "                         target never holds plaintext by surprise)\n"
	  "      --compressed       zfs send -c: blocks travel compressed as on disk\n"
	  "      --large-block      zfs send -L: keep records larger than 128 KiB\n"
	  "      --embed            zfs send -e: embedded blocks as such\n"
	  "      --props            zfs send -p: send properties too; the receiving side keeps\n"
	  "                         what its receive policy allows (a local source: all but\n"
	  "                         mountpoint, sharenfs, sharesmb; a remote one: the safe\n"
	  "                         list in docs/serve.md and --accept-prop)\n"
	  "  -o PROP=VALUE          zfs recv -o: set PROP on received filesystems (repeatable;\n"
	  "                         a remote DST's own receive policy decides what it takes)\n"
	  "  -x PROP                zfs recv -x: do not receive PROP (repeatable)\n"
	  "      --accept-prop PATTERN  a property a stream from a remote SRC may set here\n"
	  "                         beyond the safe list: a name, 'ns:*' for user properties,\n"
	  "                         '*' for all (repeatable)\n"
	  "      --force-rollback   roll the target back (zfs recv -F) when it has snapshots\n"
	  "                         newer than the common one or was modified: destroys them\n"
	  "      --rename-diverged  move a target without a usable common version aside to\n"
	  "                         NAME.zferry-diverged-<UTC time> and send in full\n"
	  "      --no-readonly      do not set readonly=on on received filesystems\n"
	  "      --mount            mount received filesystems after the receive, only over an\n"
	  "                         empty, unused directory (default: canmount=noauto, and\n"
	  "                         no receive ever mounts)\n"
	  "      --no-resume        discard interrupted receives (zfs recv -A) instead of\n"
	  "                         resuming them\n"
	  "      --no-intermediates send straight to the newest snapshot (-i), not every one\n"
	  "                         in between (-I)\n"
	  "      --target-id ID     the target's id in its cursor bookmarks, hold tag and sync\n"
	  "                         snapshots (default: t + a hash of DST, so every target\n"
	  "                         keeps its own)\n"
	  "      --dry-run          print the plan the run would carry out (sync snapshot,\n"
	  "                         actions, conflicts) and its exit status; change nothing\n"
	  "      --json             one JSON summary on stdout\n"
	  "      --progress, --no-progress  progress lines on stderr (default: on a terminal)\n"
	  "\n"
	  "SRC and DST: pool/fs (local); [user@]host:pool/fs or\n"
	  "ssh://[user@]host[:port]/pool/fs (ssh runs 'zferry serve --stdio' there);\n"
	  "tls://host:port/pool/fs or tcp://host:port/pool/fs (a 'zferry serve --listen').\n"
	  "One end must be local.  A local pool whose name contains ':' is written\n"
	  "./pool:name/fs; IPv6 hosts go in brackets: [::1]:pool/fs.\n"
	  "      --tls-ca FILE      the CA that signed the server's certificate (PEM)\n"
	  "      --tls-cert FILE    our client certificate (PEM); its CN is our identity\n"
	  "      --tls-key FILE     its private key (PEM); tls:// needs all three\n"
	  "      --tls-server-name NAME  the host name or address the server's certificate\n"
	  "                         must be for (subjectAltName), also sent as SNI\n"
	  "                         (default: the host in the tls:// URL)\n"
	  "      --tls-crl FILE     refuse a server certificate revoked by these CRLs (PEM)\n"
	  "      --ssh-option OPT   pass -o OPT to ssh, e.g. IdentityFile=/root/.ssh/zf\n"
	  "                         (repeatable); ssh always runs with BatchMode=yes\n"
	  "      --remote-zferry PATH  the zferry program on the ssh host (default zferry)\n"
	  "      --timeout SECONDS  a remote peer silent this long fails the transfer\n"
	  "                         (default 60)\n"
	  "      --retries N        retry a filesystem whose connection broke N times\n"
	  "                         (default 3), waiting 1 s, 2 s, 4 s... up to 60 s;\n"
	  "                         each retry resumes from the receive token\n"
	  "      --bwlimit RATE     move at most RATE bytes a second, all transfers together\n"
	  "                         (K, M, G: 1024s; at least 64K; 0: no limit, the default)\n"
	  "      --data-channel tcp://ADDR:PORT  move each stream over a direct TCP\n"
	  "                         connection instead of the control connection: the remote\n"
	  "                         zferry serve listens on ADDR (0.0.0.0 or [::]: every\n"
	  "                         address; we then connect to the control connection's\n"
	  "                         host) at PORT, FIRST-LAST (the first free one) or 0 (any);\n"
	  "                         we connect.  Per transfer the server makes a one-time\n"
	  "                         secret, sends it over the control connection, and lets in\n"
	  "                         only a peer that proves it; one stream per secret, and the\n"
	  "                         listener closes after it or the timeout.  With --jobs N\n"
	  "                         give a range at least N ports wide; open it in firewalls\n"
	  "      --data-channel-encrypt  AES-256-GCM on the data channel, keyed from the\n"
	  "                         secret (without it data is authenticated at connect time\n"
	  "                         but travels in clear)\n"
	  "  -h, --help             this text\n"
	  "\n"
	  "Exit status: 0 all replicated, 1 some failed or conflict, 2 usage error.\n" },
	{ "backup", cmd_backup, 0, "back up snapshots into a chunk store; list, prune",
	  zf_usage_backup },
	{ "restore", cmd_restore, 0, "restore a backup from a chunk store into zfs recv",
	  zf_usage_restore },
	{ "store", cmd_store, 0, "casync-compatible chunk stores and .caibx indexes",
	  "usage: zferry store SUBCOMMAND [OPTIONS] [ARGS]\n"
	  "\n"
	  "  make [-s STORE] [-m MIN:AVG:MAX] [-j N] [--json] INDEX FILE|-\n"
	  "  extract -s STORE [-s STORE]... [-c CACHE] [--seed FILE]... INDEX OUT|-\n"
	  "  verify -s STORE [--repair]\n"
	  "  prune -s STORE [--dry-run] INDEX...\n"
	  "  gc -s STORE [--dry-run] [--min-age D] [--grace D]\n"
	  "  list-chunks INDEX\n"
	  "  chop -s STORE INDEX FILE\n"
	  "  info [-s STORE] INDEX...\n"
	  "  serve -s STORE --listen [ADDR]:PORT [--writable] [--prefix /PATH/]\n"
	  "        [--auth-file FILE] [--index-dir DIR] [--tls-cert FILE ...]\n"
	  "\n"
	  "STORE is a directory or http[s]://HOST[:PORT]/PREFIX/ (a chunk server:\n"
	  "'zferry store serve', desync's chunk-server); --store-auth-file FILE sends\n"
	  "FILE's line as the Authorization header; --store-tls-ca, --store-tls-cert\n"
	  "and --store-tls-key check an https:// server and show it our certificate.\n"
	  "STORE may also be s3+https://HOST[:PORT]/BUCKET[/PREFIX] (an S3 bucket in\n"
	  "desync's layout; credentials from --store-credentials-file FILE or\n"
	  "S3_ACCESS_KEY/S3_SECRET_KEY, region from S3_REGION).\n"
	  "\n"
	  "Chunks, chunk stores and .caibx index files are casync's: 'casync extract'\n"
	  "reads what 'zferry store make' writes and the other way round.\n"
	  "See 'zferry store SUBCOMMAND --help' for each one's options.\n" },
	{ "snapshot", cmd_snapshot, 0, "take one atomic snapshot of filesystems",
	  "usage: zferry snapshot [-r] [--prefix P] [--time-format FMT] [--local-time] [--json]\n"
	  "                       FS...\n"
	  "\n"
	  "Takes FS@<prefix><time> of every FS (with -r, of every descendant too) in one\n"
	  "atomic zfs snapshot call, then lists them: exits 0 only if all exist.\n"
	  "\n"
	  "  -r, --recursive       descendants too (zfs snapshot -r)\n"
	  "      --prefix P        name prefix (default zferry_)\n"
	  "      --time-format FMT strftime(3) format (default %Y%m%dT%H%M%SZ, in UTC;\n"
	  "                        with --local-time %Y%m%dT%H%M%S%z); zfs allows no '+'\n"
	  "                        in names, so a '+' is written 'p': 20261123T055900p0100\n"
	  "      --local-time      local time (TZ) instead of UTC\n"
	  "      --json            {\"name\":...,\"snapshots\":[...]} instead of one per line\n"
	  "  -h, --help            this text\n" },
	{ "prune", cmd_prune, 0, "destroy snapshots that no retention rule keeps",
	  "usage: zferry prune [-r] --keep RULES [--prefix P | --regex RE] [--dry-run]\n"
	  "                    [--allow-empty] [--local-time] [--json] FS...\n"
	  "\n"
	  "Destroys the candidate snapshots of each FS that no rule keeps, in one\n"
	  "zfs destroy fs@a,b,c per filesystem (split only when the list is very long).\n"
	  "Candidates: snapshots named with the prefix (default zferry_) or matching\n"
	  "--regex; other snapshots are never touched.  A snapshot survives if ANY rule\n"
	  "keeps it (union).  Never destroyed: held snapshots (reported), the snapshot a\n"
	  "zferry_cursor* bookmark points at, and the newest candidate (unless\n"
	  "--allow-empty).\n"
	  "\n"
	  "Rules, separated by '|' or given as several --keep:\n"
	  "  grid:1x1h(keep=all)|24x1h|30x1d|12x30d\n"
	  "                 intervals back from the newest candidate; each keeps its oldest\n"
	  "                 snapshot (or keep=N oldest, keep=all); units s m h d w\n"
	  "  last_n:N       the N newest candidates\n"
	  "  regex:RE       candidates matching the extended regex (regex:!RE: not matching)\n"
	  "  hourly=N,daily=N,weekly=N,monthly=N,yearly=N\n"
	  "                 the newest snapshot of each of the last N calendar periods (UTC,\n"
	  "                 or local with --local-time), counted from the newest candidate's\n"
	  "  not_replicated every candidate newer than the replication cursor bookmark\n"
	  "\n"
	  "  -r, --recursive    descendants too\n"
	  "      --keep RULES   retention rules (required; repeatable)\n"
	  "      --prefix P     candidates are snapshots whose name starts with P\n"
	  "      --regex RE     candidates are snapshots whose name matches RE\n"
	  "  -n, --dry-run      print what would go and why each survivor stays\n"
	  "      --allow-empty  the newest candidate may be destroyed too\n"
	  "      --local-time   calendar periods in local time (TZ) instead of UTC\n"
	  "      --json         one JSON document with a verdict per snapshot\n"
	  "  -h, --help         this text\n" },
	{ "serve", cmd_serve, 0, "serve replication requests from other hosts (ssh, tls, tcp)",
	  "usage: zferry serve --stdio [--identity NAME -c FILE]\n"
	  "       zferry serve --listen tls://[ADDR]:PORT [--listen tcp://[ADDR]:PORT]... -c FILE\n"
	  "\n"
	  "The far end of a remote 'zferry replicate': answers the rpc protocol's\n"
	  "requests with the local pools, after checking each against the grants of the\n"
	  "client's identity in the config's serve: section (docs/serve.md).\n"
	  "\n"
	  "  --stdio            serve one connection on stdin/stdout, as ssh starts it;\n"
	  "                     logs go to stderr only (stdout carries the protocol)\n"
	  "  --identity NAME    with --stdio and -c: the client is ssh:NAME and gets the\n"
	  "                     grants of ssh:NAME or NAME in the config (never those of\n"
	  "                     a tls: or tcp: identity).  Put it in an authorized_keys\n"
	  "                     forced command,\n"
	  "                     command=\"zferry serve --stdio --identity laptop -c FILE\",\n"
	  "                     so the key can do nothing else.  Without -c, --stdio allows\n"
	  "                     everything (identity 'ssh'): only for a login that could\n"
	  "                     run zfs itself anyway, such as root with a normal key\n"
	  "  --listen URL       accept connections on tls://[ADDR]:PORT (certificates from\n"
	  "                     serve.tls, revocation from serve.tls.crl; the identity is\n"
	  "                     tls:CN, the client certificate's CN) or\n"
	  "                     tcp://[ADDR]:PORT (serve.tcp.allow required; the identity\n"
	  "                     is tcp:ADDRESS, unencrypted: trusted networks only).\n"
	  "                     Repeatable.  ADDR empty: every address; [v6] in brackets;\n"
	  "                     PORT 0: any free port.  Prints 'zferry serve: listening on\n"
	  "                     URL' on stderr for each, with the real port\n"
	  "  -c, --config FILE  the config (serve: section: tls, tcp, timeout,\n"
	  "                     handshake_timeout, limits, clients)\n"
	  "  -h, --help         this text\n"
	  "\n"
	  "Each connection runs in its own process, at most serve.limits.connections\n"
	  "(64) at a time.  Until authenticated, a connection has handshake_timeout (10 s)\n"
	  "in all, and a newcomer evicts the oldest unauthenticated connection once\n"
	  "serve.limits.unauthenticated (16), or 4 from one address, are reached.  An\n"
	  "identity without grants is refused at the greeting.  SIGTERM or SIGINT stops\n"
	  "accepting; zferry exits when the open connections have ended.\n"
	  "Exit status: 0 stopped cleanly, 1 failure (port in use, unreadable\n"
	  "certificate, a failed --stdio session), 2 usage or config error.\n" },
	{ "daemon", cmd_daemon, 0, "run the config's jobs on their schedules",
	  "usage: zferry daemon [-c FILE]\n"
	  "\n"
	  "Runs the jobs of the config (snap, push, pull; sink and source clients are\n"
	  "served on daemon.listen) until SIGTERM.  Each run is a child process; a job\n"
	  "never runs twice at once, and a run missed while the daemon was down runs\n"
	  "once at start.  `zferry status` and `zferry signal` talk to it over the\n"
	  "control socket (daemon.control, default /run/zferry/control, root only);\n"
	  "/metrics, /status.json and a status page are served on daemon.http_listen.\n"
	  "SIGHUP re-reads the config (an invalid one is refused, the old one keeps\n"
	  "running).  SIGTERM stops the runs, leaving transfers resumable, within\n"
	  "daemon.stop_timeout (30 s).  Under systemd: Type=notify with watchdog.\n"
	  "\n"
	  "  -c, --config FILE  the config (default /etc/zferry/zferry.yml)\n"
	  "  -h, --help         this text\n"
	  "\n"
	  "Exit status: 0 stopped, 1 cannot start (control socket, listener), 2 bad config.\n"
	  "See docs/daemon.md.\n" },
	{ "status", cmd_status, 0, "show what the daemon's jobs are doing",
	  "usage: zferry status [-c FILE | --control PATH] [--job NAME] [-v]\n"
	  "                     [--json | --once | --interval S]\n"
	  "\n"
	  "Per job: state, schedule, next run, last run (start, duration, result), last\n"
	  "success and error; per filesystem of a running replication the bytes done and\n"
	  "expected, rate and ETA; and filesystems with an error.  On a terminal the view\n"
	  "refreshes until Ctrl-C; otherwise it is printed once.  Answers come from the\n"
	  "daemon's memory, never from zfs.\n"
	  "\n"
	  "  -c, --config FILE  find the control socket in this config's daemon.control\n"
	  "      --control PATH the control socket (default: from the config, else\n"
	  "                     /run/zferry/control)\n"
	  "      --job NAME     this job only\n"
	  "  -v, --verbose      every filesystem, with its lag and snapshot count\n"
	  "      --json         the daemon's state as JSON (docs/daemon.md)\n"
	  "      --once         print once, even on a terminal\n"
	  "      --interval S   refresh every S seconds (default 1)\n"
	  "  -h, --help         this text\n"
	  "\n"
	  "Exit status: 0 shown, 1 no daemon answered, 2 usage error.\n" },
	{ "signal", cmd_signal, 0, "run a job now, or cancel its run",
	  "usage: zferry signal wakeup|reset JOB [-c FILE | --control PATH]\n"
	  "\n"
	  "wakeup runs JOB now (after its current run, if one is going); reset stops\n"
	  "its current run: its processes get SIGTERM, transfers stay resumable and the\n"
	  "next run resumes them.\n"
	  "\n"
	  "  -c, --config FILE  find the control socket in this config's daemon.control\n"
	  "      --control PATH the control socket\n"
	  "  -h, --help         this text\n"
	  "\n"
	  "Exit status: 0 done, 1 no such job, not running (reset), or no daemon.\n" },
	{ "config", cmd_config, 0, "check the configuration file",
	  "usage: zferry config check [-c FILE] [-q]\n"
	  "\n"
	  "Parses and validates the YAML config and prints a short summary: listeners,\n"
	  "clients and their grants, the daemon's settings, and each job with its\n"
	  "schedule and next run (UTC).  Any error is one line, FILE:LINE:COLUMN: what.\n"
	  "\n"
	  "  -c, --config FILE  the config (default /etc/zferry/zferry.yml)\n"
	  "  -q, --quiet        print nothing when valid\n"
	  "  -h, --help         this text\n"
	  "\n"
	  "Exit status: 0 valid, 2 invalid or unreadable.\n" },
	{ "help", cmd_help, 0, "show help for zferry or one command",
	  "usage: zferry help [COMMAND]\n" },
	{ "version", cmd_version, 0, "print the version",
	  "usage: zferry version\n" },
};
const size_t zf_ncommands = ELEMENTSOF(zf_commands);

struct zf_cli_extra zf_cli_extra;

const struct zf_cmd *zf_cmd_find(const char *name)
{
	for (size_t i = 0; i < zf_ncommands; i++)
		if (streq(zf_commands[i].name, name))
			return &zf_commands[i];
	for (size_t i = 0; i < zf_cli_extra.n; i++)
		if (streq(zf_cli_extra.cmds[i].name, name))
			return &zf_cli_extra.cmds[i];
	return NULL;
}

int zf_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zferry%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'zferry help%s%s')\n", cmd ? " " : "", cmd ? cmd : "");
	return ZF_EXIT_USAGE;
}

int zf_sub_usage_verror(const char *cmd, const char *sub, const char *fmt, va_list ap)
{
	fprintf(stderr, "zferry %s%s%s: ", cmd, sub ? " " : "", sub ? sub : "");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see 'zferry %s%s%s --help')\n", cmd, sub ? " " : "", sub ? sub : "");
	return ZF_EXIT_USAGE;
}

int zf_sub_bad_option(const char *cmd, const char *sub, int argc, char **argv)
{
	const char *o = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

	if (optopt && !strchr(o, '='))
		return zf_sub_usage_error(cmd, sub, "option '%s' is unknown or needs an argument", o);
	return zf_sub_usage_error(cmd, sub, "unknown option '%s'", o);
}

int zf_sub_usage_error(const char *cmd, const char *sub, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = zf_sub_usage_verror(cmd, sub, fmt, ap);
	va_end(ap);
	return r;
}

int zf_sub_fail(const char *cmd, const char *sub, const struct zf_err *err)
{
	fprintf(stderr, "zferry %s%s%s: %s\n", cmd, sub ? " " : "", sub ? sub : "",
		zf_err_msg(err));
	return ZF_EXIT_FAIL;
}

int zf_cmd_help(const char *cmd, FILE *out, int status)
{
	const struct zf_cmd *c = cmd ? zf_cmd_find(cmd) : NULL;

	if (!c) {
		fputs(main_usage, out);
		fputs("\nCommands:\n", out);
		for (size_t i = 0; i < zf_ncommands; i++)
			if (!(zf_commands[i].flags & CMD_HIDDEN))
				fprintf(out, "  %-12s %s\n", zf_commands[i].name,
					zf_commands[i].summary);
		fputs("\nSee 'zferry help COMMAND' or man zferry for details.\n", out);
	} else {
		fputs(c->usage, out);
	}
	return status;
}

int cmd_help(int argc, char **argv)
{
	if (argc > 2)
		return zf_usage_error("help", "too many arguments");
	if (argc == 2 && !zf_cmd_find(argv[1]))
		return zf_usage_error("help", "unknown command '%s'", argv[1]);
	return zf_cmd_help(argc == 2 ? argv[1] : NULL, stdout, ZF_EXIT_OK);
}

int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return zf_usage_error("version", "takes no arguments");
	printf("zferry %s\n", ZFERRY_VERSION);
	return ZF_EXIT_OK;
}

int zf_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log-format", required_argument, NULL, 'F' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	enum zf_log_level level = ZF_LOG_NOTICE;
	const struct zf_cmd *cmd;
	int c;

	/* a peer or consumer that goes away is an EPIPE to handle, not a death */
	signal(SIGPIPE, SIG_IGN);

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vhV", opts, NULL)) >= 0) {
		switch (c) {
		case 'F': {
			enum zf_log_format f;
			if (zf_log_parse_format(optarg, &f) < 0)
				return zf_usage_error(NULL, "unknown log format '%s'", optarg);
			zf_log_set_format(f);
			break;
		}
		case 'L':
			if (zf_log_parse_level(optarg, &level) < 0)
				return zf_usage_error(NULL, "unknown log level '%s'", optarg);
			break;
		case 'v':
			if (level < ZF_LOG_DEBUG)
				level++;
			break;
		case 'h':
			return zf_cmd_help(NULL, stdout, ZF_EXIT_OK);
		case 'V':
			return cmd_version(1, argv);
		default:
			if (optopt)
				return zf_usage_error(NULL, "unknown option '-%c'", optopt);
			return zf_usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
		}
	}
	zf_log_set_level(level);

	if (optind >= argc)
		return zf_cmd_help(NULL, stderr, ZF_EXIT_USAGE);
	cmd = zf_cmd_find(argv[optind]);
	if (!cmd)
		return zf_usage_error(NULL, "unknown command '%s'", argv[optind]);

	argc -= optind;
	argv += optind;
	optind = 0;             /* full re-initialisation of getopt for the command */
	opterr = 0;
	return cmd->fn(argc, argv);
}

static int parse_size_u64(const char *s, uint64_t *ret)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	return zf_parse_u64_lenient(s, UINT64_MAX, ret);
}

int zf_cli_parse_chunk_sizes(const char *s, struct zf_chunk_params *ret, struct zf_err *err)
{
	_cleanup_free_ char *copy = zf_xstrdup(s);
	char *parts[3] = { NULL, NULL, NULL };
	uint64_t v[3];
	size_t n = 0;
	char *p = copy;

	for (;;) {
		char *colon = strchr(p, ':');
		if (n == 3)
			return zf_err_set(err, -EINVAL, "chunk sizes '%s': want MIN:AVG:MAX or AVG",
					  s);
		parts[n++] = p;
		if (!colon)
			break;
		*colon = '\0';
		p = colon + 1;
	}
	if (n != 1 && n != 3)
		return zf_err_set(err, -EINVAL, "chunk sizes '%s': want MIN:AVG:MAX or AVG", s);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(parts[i]);
		uint64_t unit = 1024;

		/* a trailing B means bytes: casync's odd sizes, for tests */
		if (len > 0 && parts[i][len - 1] == 'B') {
			parts[i][len - 1] = '\0';
			unit = 1;
		}
		if (parse_size_u64(parts[i], &v[i]) < 0 || v[i] == 0 || v[i] > (UINT64_C(1) << 30))
			return zf_err_set(err, -EINVAL,
					  "chunk sizes '%s': '%s' is not a size in KiB", s, parts[i]);
		v[i] *= unit;
	}
	if (n == 1) {
		v[1] = v[0];
		v[0] = v[1] / 4 ? v[1] / 4 : 1;
		v[2] = v[1] * 4;
	}
	return zf_chunk_params_init(ret, v[0], v[1], v[2], err);
}
