/* src/bench/bench.h — zferry-bench: zferry plus the tools of bench/ (not shipped) */
#pragma once

struct zf_endpoint;

/* zferry-bench debug SUBCOMMAND: bulk bytes moved the way replication moves them. */
int cmd_debug(int argc, char **argv);

/*
 * Receives discard their stream, everything else is unsupported (ops left
 * NULL).  `zferry-bench serve --debug-null-endpoint`.
 */
struct zf_endpoint *zf_endpoint_null_new(void);
