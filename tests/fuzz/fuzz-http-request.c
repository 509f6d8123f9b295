/* tests/fuzz/fuzz-http-request.c — the daemon's HTTP request head parser */
#include <stdlib.h>
#include <string.h>
#include "daemon/http.h"
#include "fuzz.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_http_request req = { 0 };
	char *p;
	int st;

	if (size > ZF_HTTP_MAX_HEAD)
		return 0;
	p = malloc(size + 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	p[size] = '\0';
	st = zf_http_parse_head(p, size, &req);
	if (st != 0 && st != 400 && st != 405 && st != 413 && st != 505)
		abort();
	if (st == 0) {
		/* what reaches a handler: a method we serve and a path of visible ASCII from '/' */
		if (!streq(req.method, "GET") && !streq(req.method, "HEAD"))
			abort();
		if (req.path[0] != '/' || !req.query)
			abort();
		for (const char *t = req.path; *t; t++)
			if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
				abort();
	}
	free(p);
	return 0;
}
