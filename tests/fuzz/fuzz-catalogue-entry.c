/* tests/fuzz/fuzz-catalogue-entry.c — a catalogue entry from any bytes, and what it promises */
#include <stdlib.h>
#include <string.h>
#include "chunk/catalogue.h"
#include "fuzz.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/banned.h"

/*
 * An entry that parses is one zferry wrote: writing it again gives the
 * same bytes, it passes the check, its path stays inside the catalogue, and
 * a chain of it alone either is the full itself or names the missing base.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry e = { 0 };
	_cleanup_buf_ struct zf_buf again = ZF_BUF_INIT;
	_cleanup_free_ char *rel = NULL;
	_cleanup_free_ size_t *chain = NULL;
	_cleanup_free_ char *spec = NULL;
	struct zf_catalogue_list l = { &e, 1 };
	struct zf_err err = ZF_ERR_INIT;
	size_t n = 0;
	bool keep = true, needed = false;
	int r;

	if (zf_catalogue_entry_parse(data, size, "fuzz", &e, &err) < 0) {
		if (!err.msg[0] || strchr(err.msg, '\n'))
			abort();        /* every refusal is one line */
		return 0;
	}
	zf_catalogue_entry_to_json(&e, &again);
	if (!(again.len == size || again.len == size + 1) || memcmp(again.data, data, size) != 0)
		abort();
	if (zf_catalogue_entry_check(&e, &err) < 0)
		abort();
	rel = zf_catalogue_entry_relpath(&e);
	if (strncmp(rel, "catalogue/", 10) != 0 || strstr(rel, "/.") ||
	    strchr(strchr(rel + 10, '/') + 1, '/'))
		abort();
	spec = zf_xasprintf("%s@%s", e.dataset, e.snapshot);
	r = zf_catalogue_resolve(&l, spec, &chain, &n, &err);
	if ((e.base_guid == 0) != (r == 0) || (r == 0 && (n != 1 || chain[0] != 0)) ||
	    (r < 0 && r != -ENOENT))
		abort();
	if (zf_catalogue_needed(&l, &keep, &needed) != (e.base_guid != 0) || !needed)
		abort();
	return 0;
}
