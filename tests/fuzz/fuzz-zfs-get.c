/* tests/fuzz/fuzz-zfs-get.c — the `zfs get -j` output parser */
#include <string.h>
#include "fuzz.h"
#include "util/err.h"
#include "zfs/zfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_zfs_prop_list p = { 0 };

	if (zf_zfs_parse_props_json((const char *)data, size, &p, &err) < 0) {
		/* a failure is one line, and leaves nothing behind */
		if (strchr(err.msg, '\n') || p.n || p.v)
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < p.n; i++)
		if (!p.v[i].dataset || !p.v[i].name || !p.v[i].value || !p.v[i].source)
			__builtin_trap();
	(void)zf_zfs_prop_find(&p, "p/a", "zferry:placeholder");
	zf_zfs_prop_list_release(&p);
	return 0;
}
