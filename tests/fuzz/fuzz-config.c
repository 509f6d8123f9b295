/* tests/fuzz/fuzz-config.c — the YAML config parser, then the grants of every client it found */
#include <stdlib.h>
#include "fuzz.h"
#include "config/config.h"
#include "server/grants.h"
#include "rpc/msg.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_config *c = NULL;
	struct zf_err err = ZF_ERR_INIT;

	if (zf_config_parse("fuzz.yml", data, size, &c, &err) < 0)
		return 0;
	for (size_t i = 0; i < c->serve.n_clients; i++) {
		const struct zf_config_client *cl = &c->serve.clients[i];
		const struct zf_strv *lists[] = { &cl->read, &cl->write };

		bool tcp = startswith(cl->identity, "tcp:");

		if (zf_config_find_client(c, cl->identity) != cl && !tcp)
			abort();
		for (size_t l = 0; l < 2; l++) {
			for (size_t j = 0; j < lists[l]->n; j++) {
				struct zf_buf b = ZF_BUF_INIT;
				struct zf_msg m = ZF_MSG_INIT;
				int r;

				/* what a grant names, the grant allows */
				zf_msg_start(&b, l ? ZF_RPC_RECV : ZF_RPC_LIST_FS);
				if (zf_msg_add_str(&b, ZF_TAG_FS, lists[l]->v[j]) < 0 ||
				    zf_msg_parse((const uint8_t *)b.data, b.len, &m, &err) < 0)
					abort();
				r = zf_serve_allow(c, cl->identity, zf_rpc_req_lookup(m.kind), &m,
						   &err);
				if (r < 0 && !tcp)
					abort();
				zf_msg_release(&m);
				zf_buf_release(&b);
			}
		}
	}
	zf_config_free(c);
	return 0;
}
