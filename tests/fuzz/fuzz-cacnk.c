/* tests/fuzz/fuzz-cacnk.c — the .cacnk chunk decoder */
#include "fuzz.h"
#include "chunk/chunk.h"
#include "util/buf.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_buf out = ZF_BUF_INIT;

	/* 256 KiB: the default chunk size max */
	if (zf_cacnk_decode(NULL, data, size, 256 * 1024, &out, &err) >= 0) {
		struct zf_chunk_id id;
		zf_chunk_id_hash(NULL, out.data, out.len, &id);
	}
	zf_buf_release(&out);
	return 0;
}
