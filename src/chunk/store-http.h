/* src/chunk/store-http.h — a chunk store behind a desync/casync chunk server (libcurl) */
#pragma once
#include "chunk/store.h"

struct zf_err;

/* url: http[s]://[user:pass@]HOST[:PORT][/PREFIX][/]; nothing is asked of the server yet. */
_must_check_ int zf_http_store_open(const char *url, const struct zf_store_remote_opts *o,
				    struct zf_store **ret, struct zf_err *err);
