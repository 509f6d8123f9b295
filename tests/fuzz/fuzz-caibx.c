/* tests/fuzz/fuzz-caibx.c — the .caibx index reader */
#include "fuzz.h"
#include "chunk/index.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_index *idx = NULL;

	if (zf_index_open_mem(data, size, &idx, &err) < 0)
		return 0;
	for (;;) {
		struct zf_chunk_id id;
		uint64_t off, len;

		if (zf_index_next(idx, &id, &off, &len, &err) <= 0)
			break;
	}
	zf_index_free(idx);
	return 0;
}
