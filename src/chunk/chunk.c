/* src/chunk/chunk.c — chunk ids and the .cacnk codec */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>
#include "chunk/chunk.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/banned.h"

struct zf_chunk_ctx {
	EVP_MD *sha;            /* fetched once: OpenSSL 3 looks it up on every init otherwise */
	EVP_MD_CTX *md;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

struct zf_chunk_ctx *zf_chunk_ctx_new(void)
{
	struct zf_chunk_ctx *c = zf_xcalloc(1, sizeof(*c));

	c->sha = EVP_MD_fetch(NULL, "SHA2-512/256", NULL);
	c->md = EVP_MD_CTX_new();
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	if (!c->sha || !c->md || !c->cctx || !c->dctx) {
		fprintf(stderr, "zferry: fatal: out of memory creating hash/zstd contexts\n");
		abort();
	}
	return c;
}

struct zf_chunk_ctx *zf_chunk_ctx_free(struct zf_chunk_ctx *c)
{
	if (c) {
		EVP_MD_CTX_free(c->md);
		EVP_MD_free(c->sha);
		ZSTD_freeCCtx(c->cctx);
		ZSTD_freeDCtx(c->dctx);
		free(c);
	}
	return NULL;
}

char *zf_chunk_id_hex(const struct zf_chunk_id *id, char ret[ZF_CHUNK_ID_HEX])
{
	return zf_hex_encode(id->b, ZF_CHUNK_ID_SIZE, ret);
}

int zf_chunk_id_parse(const char *s, struct zf_chunk_id *ret)
{
	struct zf_chunk_id id;

	if (zf_hex_decode(s, ZF_CHUNK_ID_SIZE, id.b, NULL) < 0)
		return -EINVAL;
	if (s[2 * ZF_CHUNK_ID_SIZE] != '\0')
		return -EINVAL;
	*ret = id;
	return 0;
}

void zf_chunk_id_hash(struct zf_chunk_ctx *ctx, const void *p, size_t n, struct zf_chunk_id *ret)
{
	_cleanup_(zf_chunk_ctx_freep) struct zf_chunk_ctx *own = NULL;
	unsigned len = 0;

	if (!ctx)
		ctx = own = zf_chunk_ctx_new();
	/* SHA512/256 cannot fail on a valid context short of OOM */
	if (EVP_DigestInit_ex(ctx->md, ctx->sha, NULL) != 1 ||
	    EVP_DigestUpdate(ctx->md, p, n) != 1 ||
	    EVP_DigestFinal_ex(ctx->md, ret->b, &len) != 1 || len != ZF_CHUNK_ID_SIZE) {
		fprintf(stderr, "zferry: fatal: SHA512/256 failed\n");
		abort();
	}
}

int zf_cacnk_encode(struct zf_chunk_ctx *ctx, const void *p, size_t n, struct zf_buf *out,
		    struct zf_err *err)
{
	_cleanup_(zf_chunk_ctx_freep) struct zf_chunk_ctx *own = NULL;
	size_t bound = ZSTD_compressBound(n), k;

	if (!ctx)
		ctx = own = zf_chunk_ctx_new();
	zf_buf_grow(out, bound);
	k = ZSTD_compressCCtx(ctx->cctx, out->data + out->len, bound, p, n, ZF_CACNK_LEVEL);
	if (ZSTD_isError(k))
		return zf_err_set(err, -EIO, "cannot compress chunk: %s", ZSTD_getErrorName(k));
	out->len += k;
	out->data[out->len] = '\0';
	return 0;
}

int zf_cacnk_decode(struct zf_chunk_ctx *ctx, const uint8_t *p, size_t n, size_t max,
		    struct zf_buf *out, struct zf_err *err)
{
	_cleanup_(zf_chunk_ctx_freep) struct zf_chunk_ctx *own = NULL;
	ZSTD_inBuffer in = { p, n, 0 };

	if (!ctx)
		ctx = own = zf_chunk_ctx_new();
	zf_buf_reset(out);
	if (n == 0)
		return zf_err_set(err, -EBADMSG, "chunk file is empty");
	ZSTD_DCtx_reset(ctx->dctx, ZSTD_reset_session_only);
	/* the frame header's claims never drive an allocation: output is capped at max */
	ZSTD_DCtx_setParameter(ctx->dctx, ZSTD_d_windowLogMax, 27);
	for (;;) {
		ZSTD_outBuffer o;
		size_t last;

		/* room for at least one byte more than max, so "too big" shows */
		zf_buf_grow(out, MIN((size_t)1 << 16, max + 1 - out->len));
		o.dst = out->data + out->len;
		o.size = MIN(out->alloc - out->len - 1, max + 1 - out->len);
		o.pos = 0;
		last = ZSTD_decompressStream(ctx->dctx, &o, &in);
		if (ZSTD_isError(last))
			return zf_err_set(err, -EBADMSG, "chunk is not valid zstd: %s",
					  ZSTD_getErrorName(last));
		out->len += o.pos;
		out->data[out->len] = '\0';
		if (out->len > max)
			return zf_err_set(err, -EBADMSG, "chunk decompresses to more than %zu bytes",
					  max);
		if (in.pos == in.size) {
			if (last == 0)
				return 0;
			if (o.pos == 0)
				return zf_err_set(err, -EBADMSG, "chunk is truncated zstd");
		}
	}
}

ssize_t zf_cacnk_decode_into(struct zf_chunk_ctx *ctx, const uint8_t *p, size_t n, void *dst,
			     size_t size)
{
	size_t k;

	if (n == 0)
		return -EBADMSG;
	/* one shot: the output goes straight to dst, and never past size */
	k = ZSTD_decompressDCtx(ctx->dctx, dst, size, p, n);
	if (ZSTD_isError(k))
		return -EBADMSG;
	return (ssize_t)k;
}
