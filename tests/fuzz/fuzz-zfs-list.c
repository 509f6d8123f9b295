/* tests/fuzz/fuzz-zfs-list.c — line parsers: zfs list/holds -Hp, send -nP (-j: fuzz-zfs-get) */
#include <stdlib.h>
#include "fuzz.h"
#include "util/err.h"
#include "zfs/zfs.h"

/* the snapshots `zfs holds` is asked about, as in the corpus */
static const char *const holds_of[] = { "p1/a@s", "p/a@s", "p/a@t" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_zfs_fs_list fs = { 0 };
	struct zf_zfs_version_list v = { 0 };
	struct zf_zfs_hold_list h = { 0 };
	uint64_t bytes;
	struct zf_zfs_resume_info ri = { 0 };
	const char *text = (const char *)data;

	if (zf_zfs_parse_fs_list(text, size, &fs, &err) >= 0)
		zf_zfs_fs_list_release(&fs);
	zf_err_clear(&err);
	if (zf_zfs_parse_version_list(text, size, &v, &err) >= 0)
		zf_zfs_version_list_release(&v);
	zf_err_clear(&err);
	if (zf_zfs_parse_tree_list(text, size, &fs, &v, &err) >= 0) {
		zf_zfs_fs_list_release(&fs);
		zf_zfs_version_list_release(&v);
	}
	zf_err_clear(&err);
	if (zf_zfs_parse_holds(text, size, holds_of, 3, &h, &err) >= 0)
		zf_zfs_hold_list_release(&h);
	zf_err_clear(&err);
	if (zf_zfs_parse_send_size(text, size, &bytes, &err) < 0)
		bytes = 0;
	zf_err_clear(&err);
	if (zf_zfs_parse_resume_info(text, size, &ri, &err) >= 0)
		zf_zfs_resume_info_release(&ri);
	return 0;
}
