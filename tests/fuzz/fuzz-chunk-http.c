/* tests/fuzz/fuzz-chunk-http.c — store serve's request targets and decisions */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "chunk/chunk-http.h"
#include "chunk/chunk.h"
#include "fuzz.h"
#include "util/banned.h"

/*
 * The first byte picks the policy and the head's other fields, the rest is
 * the target.  What must hold: a chunk target is exactly PREFIX and the
 * id's canonical path, an index name is one harmless file name, and no
 * decision lets through what the policy forbids.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum zf_chunk_http_method methods[] = {
		ZF_CHUNK_HTTP_GET, ZF_CHUNK_HTTP_HEAD, ZF_CHUNK_HTTP_PUT, ZF_CHUNK_HTTP_OTHER,
	};
	struct zf_chunk_http_policy p = { 0 };
	struct zf_chunk_http_req req = { 0 };
	struct zf_chunk_http_decision d;
	char rel[ZF_CHUNK_HTTP_REL_MAX];
	uint8_t f;
	size_t plen;

	if (size < 1 || size > 1024)
		return 0;
	f = data[0];
	p.prefix = f & 0x80 ? "/store/" : "/";
	p.index_ok = f & 0x01;
	p.writable = f & 0x02;
	p.auth = f & 0x04 ? "Bearer s3cret" : NULL;
	p.max_body = 1 << 20;
	req.method = methods[(f >> 3) & 3];
	req.has_length = f & 0x20;
	req.length = !req.has_length ? 0 : f & 0x40 ? 2 << 20 : 1000;   /* over, under max_body */
	req.chunked = (f & 0x60) == 0x40;
	req.target = (const char *)data + 1;
	req.target_len = size - 1;
	/* the target doubles as the Authorization value, sent when its length is odd */
	req.has_auth = size % 2 == 0;
	req.auth = req.target;
	req.auth_len = req.target_len;

	zf_chunk_http_decide(&req, &p, &d);
	switch (d.status) {
	case 0: case 400: case 401: case 405: case 411: case 413:
		break;
	default:
		abort();
	}
	if (d.status != 0)
		return 0;
	if (p.auth && (!req.has_auth || req.auth_len != strlen(p.auth) ||
		       memcmp(req.auth, p.auth, req.auth_len) != 0))
		abort();
	if (req.method == ZF_CHUNK_HTTP_OTHER || req.chunked)
		abort();
	if (req.method == ZF_CHUNK_HTTP_PUT &&
	    (!p.writable || d.kind != ZF_CHUNK_HTTP_CHUNK || !req.has_length ||
	     req.length > p.max_body))
		abort();
	plen = strlen(p.prefix);
	if (req.target_len < plen || memcmp(req.target, p.prefix, plen) != 0)
		abort();
	if (d.kind == ZF_CHUNK_HTTP_CHUNK) {
		zf_chunk_http_rel(&d.id, rel);
		if (req.target_len != plen + strlen(rel) ||
		    memcmp(req.target + plen, rel, strlen(rel)) != 0)
			abort();
	} else if (d.kind == ZF_CHUNK_HTTP_INDEX) {
		if (!p.index_ok || d.name != req.target + plen || d.name_len == 0 ||
		    d.name_len > 255 || d.name[0] == '.' || memchr(d.name, '/', d.name_len) ||
		    memchr(d.name, '\0', d.name_len) || memchr(d.name, '%', d.name_len))
			abort();
	} else {
		abort();
	}
	return 0;
}
