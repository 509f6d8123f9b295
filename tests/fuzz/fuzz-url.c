/* tests/fuzz/fuzz-url.c — replication SRC/DST parsing */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "transport/url.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_url u = ZF_URL_INIT;
	struct zf_err err = ZF_ERR_INIT;
	char *s;

	if (size > 4096)
		return 0;
	s = zf_xstrndup((const char *)data, size);
	if (zf_url_parse(s, &u, &err) >= 0) {
		char *o = zf_url_origin(&u);
		/* nothing that ssh or zfs could read as an option gets through */
		if (!u.dataset || !*u.dataset || u.dataset[0] == '-' ||
		    (u.host && (!*u.host || u.host[0] == '-')) || (u.user && u.user[0] == '-'))
			abort();
		free(o);
	}
	zf_url_release(&u);
	free(s);
	return 0;
}
