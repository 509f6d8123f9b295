/* src/cli/cmd-store-serve.h — zferry store serve: the HTTP chunk server's command line */
#pragma once

extern const char zf_usage_store_serve[];
int zf_store_serve(int argc, char **argv);
