/*
 * src/bench/main.c — zferry-bench's entry point: every zferry command, plus
 * `debug` and `serve --debug-null-endpoint` for bench/ (never installed)
 */
#include "bench/bench.h"
#include "cli/cli.h"
#include "util/macro.h"

static const struct zf_cmd bench_commands[] = {
	{ "debug", cmd_debug, CMD_HIDDEN, "stream tools for benchmarks (not for production use)",
	  "usage: zferry-bench debug SUBCOMMAND [OPTIONS]\n"
	  "\n"
	  "For benchmarks only: tools that move bulk bytes the way replication does, so\n"
	  "bench/replicate-net can compare transports.  Not a stable interface.\n"
	  "\n"
	  "  stream-source --bytes N     N incompressible bytes to stdout, fast\n"
	  "  stream-sink                 read stdin to the end; 'bytes= seconds= MiB/s='\n"
	  "  datachan-secret             print a new data channel secret (hex)\n"
	  "  datachan-recv --listen [HOST]:PORT --secret-file F [--encrypt] [--timeout S]\n"
	  "                              accept one data channel, copy it to stdout\n"
	  "  datachan-send --connect HOST:PORT --secret-file F [--encrypt] [--timeout S]\n"
	  "                              copy stdin into a data channel\n"
	  "\n"
	  "See 'zferry-bench debug SUBCOMMAND --help' for each one's options.\n" },
};

int main(int argc, char **argv)
{
	zf_cli_extra = (struct zf_cli_extra){
		.cmds = bench_commands,
		.n = ELEMENTSOF(bench_commands),
		.null_endpoint = zf_endpoint_null_new,
	};
	return zf_cli_main(argc, argv);
}
