/* tests/fuzz/fuzz-zfs-stream.c — the head of a zfs send stream (and its nvlists), then the receive policy */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "util/err.h"
#include "zfs/zfs.h"
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
	/* and as what `zfs send -nP -t` prints about a resume token */
	{
		char *text = malloc(size + 1);
		struct zf_zfs_resume_info ri = { 0 };

		if (text) {
			memcpy(text, data, size);
			text[size] = '\0';
			zf_err_clear(&err);
			if (zf_zfs_parse_resume_info(text, &ri, &err) == 0)
				zf_zfs_resume_info_release(&ri);
			free(text);
		}
	}
	return 0;
}
