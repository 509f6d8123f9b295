/* tests/fuzz/fuzz-zfs-stream.c — the head of a zfs send stream (and its nvlists), then the receive policy */
#include "fuzz.h"
#include "util/err.h"
#include "zfs/nvlist.h"
#include "zfs/recv-policy.h"
#include "zfs/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_zfs_stream_head h;
	struct zf_recv_plan plan;
	struct zf_recv_request rq = { 0 };
	struct zf_nvlist *l = NULL;

	if (zf_zfs_stream_head_parse(data, size, &h, &err) == 0) {
		if (zf_recv_policy_decide(NULL, &h, &rq, &plan, &err) == 0)
			zf_recv_plan_release(&plan);
		zf_zfs_stream_head_release(&h);
	}
	/* the same bytes as a bare nvlist, past a record's worth of header */
	zf_err_clear(&err);
	if (size > 312 && zf_nvlist_unpack(data + 312, size - 312, &l, &err) == 0)
		(void)zf_nvlist_get(l, "fss");
	zf_nvlist_free(l);
	return 0;
}
