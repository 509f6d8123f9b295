/* tests/fuzz/fuzz-rpc-frame.c — a byte stream of frames, as a server reads it from a peer */
#include <stdio.h>
#include "fuzz.h"
#include "rpc/frame.h"
#include "util/err.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* both END sums, chosen by the input's length so the corpus keeps its meaning */
	enum zf_stream_sum_kind kind = size & 1 ? ZF_STREAM_SUM_XXH3 : ZF_STREAM_SUM_SHA256;
	_cleanup_(zf_stream_sum_freep) struct zf_stream_sum *s = zf_stream_sum_new(kind);
	size_t off = 0;

	if (!s)
		return 0;
	while (off < size) {
		struct zf_err err = ZF_ERR_INIT;
		struct zf_frame f;
		size_t used = 0;
		int r = zf_frame_decode(data + off, size - off, &f, &used, &err);

		if (r <= 0)
			break;
		if (used < ZF_FRAME_HEADER_SIZE || used > size - off)
			__builtin_trap();
		off += used;
		switch (f.type) {
		case ZF_FRAME_HELLO: {
			struct zf_frame_hello h;
			if (zf_frame_parse_hello(&f, &h, &err) < 0) {}
			break;
		}
		case ZF_FRAME_ERROR: {
			char msg[ZF_FRAME_MAX_ERROR_MSG + 1];
			uint16_t code;
			if (zf_frame_parse_error(&f, &code, msg, sizeof(msg), &err) == 0)
				(void)zf_rpc_errcode_to_errno(code);
			break;
		}
		case ZF_FRAME_DATA:
			zf_stream_sum_add(s, f.payload, f.len);
			break;
		case ZF_FRAME_END:
			if (zf_stream_sum_check(s, &f, &err) < 0) {}
			zf_stream_sum_free(s);
			s = zf_stream_sum_new(kind);
			if (!s)
				return 0;
			break;
		default:
			break;
		}
	}
	return 0;
}
