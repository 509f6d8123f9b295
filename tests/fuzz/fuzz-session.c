/* tests/fuzz/fuzz-session.c — a writer's session file from any bytes: gc reads what other hosts wrote */
#include <stdlib.h>
#include <string.h>
#include "chunk/session.h"
#include "fuzz.h"
#include "util/err.h"
#include "util/zfs-name.h"
#include "util/banned.h"

/*
 * A refusal is one line; a session that parses names a valid dataset, a
 * writer process and a host without control characters, so that what gc
 * and prune print of it and decide from it is sound.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_store_session_info s = { 0 };
	struct zf_err err = ZF_ERR_INIT;

	if (zf_store_session_parse(data, size, "fuzz", &s, &err) < 0) {
		if (!err.msg[0] || strchr(err.msg, '\n'))
			abort();
		return 0;
	}
	if (!s.host || !s.dataset || s.pid <= 0 || s.started < 0)
		abort();
	if (zf_zfs_name_check(s.dataset, ZF_ZFS_NAME_DATASET, NULL) < 0)
		abort();
	for (const char *p = s.host; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	free(s.id);
	free(s.host);
	free(s.dataset);
	return 0;
}
