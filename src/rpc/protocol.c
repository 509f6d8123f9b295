/*
 * src/rpc/protocol.c — what rpc/protocol.def declares: the request table and tag names
 *
 * The request table.  ZF_RPC_SOURCE_OK decides the access check (guarantee
 * 5): a read-only grant may run exactly those rows, the ones without
 * ZF_RPC_CHANGES_STATE plus the changes a replication source makes to
 * itself (SNAPSHOT, HOLD, RELEASE, BOOKMARK, DESTROY_BOOKMARK, and
 * DESTROY_VERSIONS of its own sync snapshots).  Under a read grant what
 * those create or remove must carry the identity's namespace (owned_tag),
 * so one client never releases, removes or pre-empts another's or the
 * admin's holds, bookmarks and snapshots.
 * SEND only reads, but it can reveal data, so it is still subject to the
 * per-filesystem check through fs_tag.
 */
#include <stddef.h>
#include "rpc/msg.h"
#include "util/macro.h"
#include "util/banned.h"

static const struct zf_rpc_req_info requests[] = {
#define ZF_REQUEST(name, kind, flags, fs_tag, owned_tag, owned_prefix, handler) \
	{ ZF_RPC_##name, #name, flags, fs_tag, owned_tag, owned_prefix },
#include "rpc/protocol.def"
};

const struct zf_rpc_req_info *zf_rpc_req_lookup(uint16_t kind)
{
	for (size_t i = 0; i < ELEMENTSOF(requests); i++)
		if (requests[i].kind == kind)
			return &requests[i];
	return NULL;
}

const char *zf_msg_tag_name(uint16_t tag)
{
	switch (tag) {
#define ZF_TAG(name, number, type) case ZF_TAG_##name: return #name;
#include "rpc/protocol.def"
	default: return "?";
	}
}
