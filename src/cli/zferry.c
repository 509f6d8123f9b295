/* src/cli/zferry.c — zferry's entry point */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return zf_cli_main(argc, argv);
}
