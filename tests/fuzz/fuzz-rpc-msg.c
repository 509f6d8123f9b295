/* tests/fuzz/fuzz-rpc-msg.c — request/response bodies, every getter and body decoder on them */
#include <stdbool.h>
#include "fuzz.h"
#include "rpc/msg.h"
#include "rpc/protocol.h"
#include "util/err.h"
#include "util/strv.h"
#include "util/banned.h"

static int entry(void *userdata, const struct zf_msg *m, struct zf_err *err)
{
	(void)userdata;
	(void)err;
	return m->n > 1000 ? -E2BIG : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_msg_entry_reader reader;

	/* the same bytes as a list stream, in two pieces */
	zf_msg_entry_reader_init(&reader, entry, NULL);
	if (zf_msg_entry_reader_feed(&reader, data, size / 2, NULL) == 0 &&
	    zf_msg_entry_reader_feed(&reader, data + size / 2, size - size / 2, NULL) == 0 &&
	    zf_msg_entry_reader_finish(&reader, NULL) == 0) {}
	zf_msg_entry_reader_release(&reader);

	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	struct zf_err err = ZF_ERR_INIT;

	if (zf_msg_parse(data, size, &m, &err) < 0)
		return 0;
	(void)zf_rpc_changes_state(m.kind);
	for (uint16_t tag = 0; tag <= ZF_TAG_PAYLOAD + 1; tag++) {
		_cleanup_strv_ struct zf_strv sv = ZF_STRV_INIT;
		_cleanup_free_ char *s = NULL;
		uint64_t v;
		bool b;

		if (zf_msg_get_u64(&m, tag, &v, &err) < 0) {}
		if (zf_msg_get_bool(&m, tag, &b, &err) < 0) {}
		if (zf_msg_get_flag(&m, tag, &b, &err) < 0) {}
		if (zf_msg_get_str(&m, tag, &s, &err) == 0 && !s)
			__builtin_trap();
		if (zf_msg_get_strv(&m, tag, &sv, &err) < 0) {}
	}
	/* every request body's decoder (rpc/protocol.def), as the server runs them */
#define ZF_BODY_END(body)                                                      \
	{                                                                      \
		struct zf_req_##body q = { 0 };                                \
		if (zf_req_##body##_decode(&m, &q, &err) == 0)                 \
			zf_req_##body##_release(&q);                           \
	}
#include "rpc/protocol.def"
	return 0;
}
