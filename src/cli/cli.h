/* src/cli/cli.h — the command table and helpers shared by cmd-*.c */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

struct zf_chunk_params;
struct zf_endpoint;
struct zf_err;

/* Exit statuses: every command uses these. */
enum {
	ZF_EXIT_OK = 0,
	ZF_EXIT_FAIL = 1,       /* the operation failed (or some part of it did) */
	ZF_EXIT_USAGE = 2,      /* bad command line or config */
};

/* A command phase's "carry on": never an exit status. */
#define GO_ON (-1)

enum {
	CMD_HIDDEN = 1 << 0,    /* not listed by `zferry help` */
};

struct zf_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	unsigned flags;
	const char *summary;    /* one line for `zferry help` */
	const char *usage;      /* full text for `zferry help CMD` and CMD --help */
};

extern const struct zf_cmd zf_commands[];
extern const size_t zf_ncommands;

/*
 * What a program built on the cli adds to zferry's commands: empty in
 * zferry; src/bench/main.c makes zferry-bench, which is zferry plus the
 * benchmark tools (`debug`, `serve --debug-null-endpoint`).
 */
struct zf_cli_extra {
	const struct zf_cmd *cmds;      /* found by zf_cmd_find, never listed */
	size_t n;
	/* set: serve takes --debug-null-endpoint and serves from this endpoint */
	struct zf_endpoint *(*null_endpoint)(void);
};
extern struct zf_cli_extra zf_cli_extra;

/* main(): global options, then the command argv names; its exit status. */
int zf_cli_main(int argc, char **argv);

const struct zf_cmd *zf_cmd_find(const char *name);
/* Prints a one-line usage error for cmd and returns ZF_EXIT_USAGE. */
int zf_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * For commands with subcommands (store, debug): "zferry CMD SUB: ..." with a
 * pointer to 'zferry CMD SUB --help', returning ZF_EXIT_USAGE; an unknown
 * option or one missing its argument (getopt's optind/optopt); a failure
 * with err's message, returning ZF_EXIT_FAIL.
 */
int zf_sub_usage_error(const char *cmd, const char *sub, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int zf_sub_usage_verror(const char *cmd, const char *sub, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int zf_sub_bad_option(const char *cmd, const char *sub, int argc, char **argv);
int zf_sub_fail(const char *cmd, const char *sub, const struct zf_err *err);

/*
 * Chunk sizes as --chunk-size takes them: "MIN:AVG:MAX" or "AVG" (then
 * AVG/4:AVG:AVG*4), in KiB, or in bytes with a B suffix; -EINVAL with a
 * message naming the bad part.
 */
int zf_cli_parse_chunk_sizes(const char *s, struct zf_chunk_params *ret, struct zf_err *err);

/* Prints cmd's usage to out and returns status. */
int zf_cmd_help(const char *cmd, FILE *out, int status);

int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_replicate(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
extern const char zf_usage_backup[], zf_usage_restore[];
/*
 * `zferry backup prune` (argv[0] is "prune"): the `backup` command's
 * dispatcher calls it and shows cmd_backup_prune_usage for its --help.
 */
int cmd_backup_prune(int argc, char **argv);
extern const char cmd_backup_prune_usage[];
int cmd_prune(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_signal(int argc, char **argv);
