/*
 * src/rpc/frame.c — frame header, fixed payloads, error codes and stream sums
 *
 * Big-endian on the wire: the layout is read byte by byte here, so no
 * struct is ever cast onto input.  Every length is checked against its
 * limit before anything is allocated or copied (STYLE.md §3).
 *
 * Streams end with XXH3-128 when both peers offer it, SHA-256 otherwise
 * (the first version's only sum).  The END sum catches what damages a
 * stream between the two processes' buffers: our own buffer handling,
 * pipes and splices, a plain TCP link.  It is no defence against someone
 * who can rewrite the stream, since they could rewrite END as well; that
 * is the job of TLS, ssh or the data channel's AEAD records.  For
 * accidents a 128-bit sum is plenty, and XXH3 runs at memory speed where
 * SHA-256 took a core per 1.4 GB/s on each side (measured in
 * bench/replicate-net, where it was most of the protocol's cost).
 */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <xxhash.h>
#include "rpc/frame.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/banned.h"

static const char *const type_names[_ZF_FRAME_TYPE_MAX] = {
	[ZF_FRAME_HELLO] = "HELLO",   [ZF_FRAME_REQUEST] = "REQUEST",
	[ZF_FRAME_RESPONSE] = "RESPONSE", [ZF_FRAME_ERROR] = "ERROR",
	[ZF_FRAME_DATA] = "DATA",     [ZF_FRAME_END] = "END",
	[ZF_FRAME_PING] = "PING",     [ZF_FRAME_PONG] = "PONG",
};

const char *zf_frame_type_name(int type)
{
	if (type <= 0 || type >= _ZF_FRAME_TYPE_MAX)
		return "?";
	return type_names[type];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static const uint32_t max_payload[_ZF_FRAME_TYPE_MAX] = {
	[ZF_FRAME_HELLO] = ZF_FRAME_HELLO_FIXED + 1 + ZF_FRAME_MAX_IDENTITY,
	[ZF_FRAME_REQUEST] = ZF_FRAME_MAX_PAYLOAD,
	[ZF_FRAME_RESPONSE] = ZF_FRAME_MAX_PAYLOAD,
	[ZF_FRAME_ERROR] = 4 + ZF_FRAME_MAX_ERROR_MSG,
	[ZF_FRAME_DATA] = ZF_FRAME_MAX_PAYLOAD,
	[ZF_FRAME_END] = ZF_FRAME_END_SIZE,
	[ZF_FRAME_PING] = ZF_FRAME_MAX_PING,
	[ZF_FRAME_PONG] = ZF_FRAME_MAX_PING,
};

int zf_frame_header_check(const uint8_t *h, struct zf_frame *ret, struct zf_err *err)
{
	uint8_t type = h[3];
	uint32_t len = get32(h + 8), id = get32(h + 12);

	if (h[0] != ZF_FRAME_MAGIC0 || h[1] != ZF_FRAME_MAGIC1)
		return zf_err_set(err, -EBADMSG, "bad frame magic 0x%02x%02x", h[0], h[1]);
	if (h[2] != ZF_FRAME_VERSION)
		return zf_err_set(err, -EBADMSG, "unsupported frame version %u", h[2]);
	if (type == 0 || type >= _ZF_FRAME_TYPE_MAX)
		return zf_err_set(err, -EBADMSG, "unknown frame type %u", type);
	if (get16(h + 4) != 0)
		return zf_err_set(err, -EBADMSG, "%s frame has unknown flags 0x%04x",
				  zf_frame_type_name(type), get16(h + 4));
	if (get16(h + 6) != 0)
		return zf_err_set(err, -EBADMSG, "%s frame has nonzero reserved field",
				  zf_frame_type_name(type));
	if (len > ZF_FRAME_MAX_PAYLOAD)
		return zf_err_set(err, -EBADMSG, "%s frame of %u bytes exceeds the %u byte limit",
				  zf_frame_type_name(type), len, ZF_FRAME_MAX_PAYLOAD);
	/* fixed-layout frames are bounded from the header, before waiting for the payload */
	if (len > max_payload[type])
		return zf_err_set(err, -EBADMSG, "%s frame of %u bytes exceeds %u",
				  zf_frame_type_name(type), len, max_payload[type]);
	switch (type) {
	case ZF_FRAME_HELLO:
	case ZF_FRAME_PING:
	case ZF_FRAME_PONG:
		if (id != 0)
			return zf_err_set(err, -EBADMSG, "%s frame with request id %u",
					  zf_frame_type_name(type), id);
		break;
	default:
		if (id == 0)
			return zf_err_set(err, -EBADMSG, "%s frame without request id",
					  zf_frame_type_name(type));
		break;
	}
	if (ret) {
		ret->type = type;
		ret->flags = 0;
		ret->id = id;
		ret->len = len;
		ret->payload = NULL;
	}
	return 0;
}

static int check_payload(const struct zf_frame *f, struct zf_err *err)
{
	const char *name = zf_frame_type_name(f->type);

	switch (f->type) {
	case ZF_FRAME_HELLO:
		if (f->len < ZF_FRAME_HELLO_FIXED + 1 ||
		    f->len > ZF_FRAME_HELLO_FIXED + 1 + ZF_FRAME_MAX_IDENTITY)
			return zf_err_set(err, -EBADMSG, "HELLO frame of %u bytes", f->len);
		if (f->payload[ZF_FRAME_HELLO_FIXED] != f->len - ZF_FRAME_HELLO_FIXED - 1)
			return zf_err_set(err, -EBADMSG, "HELLO identity length %u in %u bytes",
					  f->payload[ZF_FRAME_HELLO_FIXED], f->len);
		if (memchr(f->payload + ZF_FRAME_HELLO_FIXED + 1, 0,
			   f->len - ZF_FRAME_HELLO_FIXED - 1))
			return zf_err_set(err, -EBADMSG, "HELLO identity contains NUL");
		if (get16(f->payload) > get16(f->payload + 2))
			return zf_err_set(err, -EBADMSG, "HELLO version range %u..%u is empty",
					  get16(f->payload), get16(f->payload + 2));
		break;
	case ZF_FRAME_ERROR: {
		uint16_t mlen;
		if (f->len < 4)
			return zf_err_set(err, -EBADMSG, "ERROR frame of %u bytes", f->len);
		mlen = get16(f->payload + 2);
		if (mlen > ZF_FRAME_MAX_ERROR_MSG || (uint32_t)mlen + 4 != f->len)
			return zf_err_set(err, -EBADMSG, "ERROR message length %u in %u bytes",
					  mlen, f->len);
		if (get16(f->payload) == 0)
			return zf_err_set(err, -EBADMSG, "ERROR frame with code 0");
		if (memchr(f->payload + 4, 0, mlen))
			return zf_err_set(err, -EBADMSG, "ERROR message contains NUL");
		break;
	}
	case ZF_FRAME_DATA:
		if (f->len == 0)
			return zf_err_set(err, -EBADMSG, "empty DATA frame");
		break;
	case ZF_FRAME_END:
		if (f->len != ZF_FRAME_END_SIZE)
			return zf_err_set(err, -EBADMSG, "END frame of %u bytes, want %u", f->len,
					  ZF_FRAME_END_SIZE);
		break;
	case ZF_FRAME_PING:
	case ZF_FRAME_PONG:
		if (f->len > ZF_FRAME_MAX_PING)
			return zf_err_set(err, -EBADMSG, "%s frame of %u bytes exceeds %u", name,
					  f->len, ZF_FRAME_MAX_PING);
		break;
	case ZF_FRAME_REQUEST:
	case ZF_FRAME_RESPONSE:
		break;
	default:
		return zf_err_set(err, -EBADMSG, "unknown frame type %d", (int)f->type);
	}
	return 0;
}

int zf_frame_decode(const uint8_t *p, size_t n, struct zf_frame *ret, size_t *ret_used,
		    struct zf_err *err)
{
	struct zf_frame f;
	int r;

	if (n < ZF_FRAME_HEADER_SIZE) {
		/* reject garbage as early as the bytes allow */
		if ((n >= 1 && p[0] != ZF_FRAME_MAGIC0) || (n >= 2 && p[1] != ZF_FRAME_MAGIC1))
			return zf_err_set(err, -EBADMSG, "bad frame magic");
		if (ret_used)
			*ret_used = ZF_FRAME_HEADER_SIZE;
		return 0;
	}
	r = zf_frame_header_check(p, &f, err);
	if (r < 0)
		return r;
	if (n - ZF_FRAME_HEADER_SIZE < f.len) {
		if (ret_used)
			*ret_used = ZF_FRAME_HEADER_SIZE + (size_t)f.len;
		return 0;
	}
	f.payload = p + ZF_FRAME_HEADER_SIZE;
	r = check_payload(&f, err);
	if (r < 0)
		return r;
	if (ret)
		*ret = f;
	if (ret_used)
		*ret_used = ZF_FRAME_HEADER_SIZE + (size_t)f.len;
	return 1;
}

int zf_frame_put_header(uint8_t *h, enum zf_frame_type type, uint32_t id, size_t len)
{
	if (len > ZF_FRAME_MAX_PAYLOAD)
		return -EMSGSIZE;
	memset(h, 0, ZF_FRAME_HEADER_SIZE);
	h[0] = ZF_FRAME_MAGIC0;
	h[1] = ZF_FRAME_MAGIC1;
	h[2] = ZF_FRAME_VERSION;
	h[3] = (uint8_t)type;
	put32(h + 8, (uint32_t)len);
	put32(h + 12, id);
	return 0;
}

int zf_frame_append(struct zf_buf *b, enum zf_frame_type type, uint32_t id, const void *payload,
		    size_t len)
{
	uint8_t h[ZF_FRAME_HEADER_SIZE];
	int r = zf_frame_put_header(h, type, id, len);

	if (r < 0)
		return r;
	zf_buf_add(b, h, sizeof(h));
	if (len > 0)
		zf_buf_add(b, payload, len);
	return 0;
}

int zf_frame_append_hello(struct zf_buf *b, const struct zf_frame_hello *h)
{
	uint8_t p[ZF_FRAME_HELLO_FIXED + 1 + ZF_FRAME_MAX_IDENTITY];
	size_t ilen = strnlen(h->identity, sizeof(h->identity));

	if (ilen > ZF_FRAME_MAX_IDENTITY || h->version_min > h->version_max)
		return -EINVAL;
	put16(p, h->version_min);
	put16(p + 2, h->version_max);
	put64(p + 4, h->features);
	put32(p + 12, h->reserved);
	p[ZF_FRAME_HELLO_FIXED] = (uint8_t)ilen;
	memcpy(p + ZF_FRAME_HELLO_FIXED + 1, h->identity, ilen);
	return zf_frame_append(b, ZF_FRAME_HELLO, 0, p, ZF_FRAME_HELLO_FIXED + 1 + ilen);
}

int zf_frame_parse_hello(const struct zf_frame *f, struct zf_frame_hello *ret, struct zf_err *err)
{
	struct zf_frame_hello h = {};
	int r;

	if (f->type != ZF_FRAME_HELLO)
		return zf_err_set(err, -EBADMSG, "expected HELLO, got %s",
				  zf_frame_type_name(f->type));
	r = check_payload(f, err);
	if (r < 0)
		return r;
	h.version_min = get16(f->payload);
	h.version_max = get16(f->payload + 2);
	h.features = get64(f->payload + 4);
	h.reserved = get32(f->payload + 12);
	memcpy(h.identity, f->payload + ZF_FRAME_HELLO_FIXED + 1,
	       f->len - ZF_FRAME_HELLO_FIXED - 1);
	*ret = h;
	return 0;
}

/* The errno <-> wire table: the only place the two meet. */
static const struct {
	uint16_t code;
	int err;                /* negative */
	const char *name;
} errcodes[] = {
	{ ZF_RPC_E_UNKNOWN, -EIO, "UNKNOWN" },
	{ ZF_RPC_E_NOENT, -ENOENT, "NOENT" },
	{ ZF_RPC_E_EXIST, -EEXIST, "EXIST" },
	{ ZF_RPC_E_BUSY, -EBUSY, "BUSY" },
	{ ZF_RPC_E_NOSPC, -ENOSPC, "NOSPC" },
	{ ZF_RPC_E_DENIED, -EACCES, "DENIED" },
	{ ZF_RPC_E_INVAL, -EINVAL, "INVAL" },
	{ ZF_RPC_E_PROTO, -ZF_E_PROTO, "PROTO" },
	{ ZF_RPC_E_IO, -EIO, "IO" },
	{ ZF_RPC_E_TIMEDOUT, -ETIMEDOUT, "TIMEDOUT" },
	{ ZF_RPC_E_NOTSUP, -EOPNOTSUPP, "NOTSUP" },
	{ ZF_RPC_E_CORRUPT, -ZF_E_CORRUPT, "CORRUPT" },
	{ ZF_RPC_E_WOULD_DESTROY, -ZF_E_WOULD_DESTROY, "WOULD_DESTROY" },
	{ ZF_RPC_E_BADNAME, -ZF_E_BADNAME, "BADNAME" },
	{ ZF_RPC_E_CANCELED, -ECANCELED, "CANCELED" },
	{ ZF_RPC_E_ZFS, -ZF_E_ZFS, "ZFS" },
	{ ZF_RPC_E_TOOBIG, -E2BIG, "TOOBIG" },
	{ ZF_RPC_E_ROFS, -EROFS, "ROFS" },
};

enum zf_rpc_errcode zf_rpc_errcode_from_errno(int e)
{
	/* a few errnos fold into one wire code */
	if (e == -EPERM)
		return ZF_RPC_E_DENIED;
	if (e == -EBADMSG)
		return ZF_RPC_E_PROTO;
	if (e == -EMSGSIZE)
		return ZF_RPC_E_TOOBIG;
	if (e == -EPROTONOSUPPORT || e == -ENOTSUP || e == -ENOSYS)
		return ZF_RPC_E_NOTSUP;
	/* skip UNKNOWN's row: -EIO means IO */
	for (size_t i = 1; i < ELEMENTSOF(errcodes); i++)
		if (errcodes[i].err == e)
			return errcodes[i].code;
	return ZF_RPC_E_UNKNOWN;
}

int zf_rpc_errcode_to_errno(uint16_t code)
{
	for (size_t i = 0; i < ELEMENTSOF(errcodes); i++)
		if (errcodes[i].code == code)
			return errcodes[i].err;
	return -EIO;
}

const char *zf_rpc_errcode_name(uint16_t code)
{
	for (size_t i = 0; i < ELEMENTSOF(errcodes); i++)
		if (errcodes[i].code == code)
			return errcodes[i].name;
	return "UNKNOWN";
}

int zf_frame_append_error(struct zf_buf *b, uint32_t id, uint16_t code, const char *msg)
{
	uint8_t p[4 + ZF_FRAME_MAX_ERROR_MSG];
	size_t mlen = msg ? strnlen(msg, ZF_FRAME_MAX_ERROR_MSG) : 0;

	if (code == 0 || id == 0)
		return -EINVAL;
	put16(p, code);
	put16(p + 2, (uint16_t)mlen);
	if (mlen)
		memcpy(p + 4, msg, mlen);  /* longer messages are cut, never refused */
	return zf_frame_append(b, ZF_FRAME_ERROR, id, p, 4 + mlen);
}

int zf_frame_parse_error(const struct zf_frame *f, uint16_t *ret_code, char *msg, size_t msg_size,
			 struct zf_err *err)
{
	uint16_t mlen;
	int r;

	if (f->type != ZF_FRAME_ERROR)
		return zf_err_set(err, -EBADMSG, "expected ERROR, got %s",
				  zf_frame_type_name(f->type));
	r = check_payload(f, err);
	if (r < 0)
		return r;
	mlen = get16(f->payload + 2);
	if (msg_size < (size_t)mlen + 1)
		return -ENOBUFS;
	memcpy(msg, f->payload + 4, mlen);
	msg[mlen] = '\0';
	*ret_code = get16(f->payload);
	return 0;
}

struct zf_stream_sum {
	enum zf_stream_sum_kind kind;
	EVP_MD_CTX *ctx;                /* SHA256 */
	XXH3_state_t *xxh;              /* XXH3 */
	uint64_t bytes;
	bool finished;
	uint8_t digest[ZF_FRAME_SUM_SIZE];
};

const char *zf_stream_sum_kind_name(enum zf_stream_sum_kind kind)
{
	return kind == ZF_STREAM_SUM_XXH3 ? "xxh3-128" : "sha256";
}

struct zf_stream_sum *zf_stream_sum_new(enum zf_stream_sum_kind kind)
{
	struct zf_stream_sum *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->kind = kind;
	if (kind == ZF_STREAM_SUM_XXH3) {
		s->xxh = XXH3_createState();
		if (!s->xxh || XXH3_128bits_reset(s->xxh) != XXH_OK)
			return zf_stream_sum_free(s);
		return s;
	}
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1)
		return zf_stream_sum_free(s);
	return s;
}

struct zf_stream_sum *zf_stream_sum_free(struct zf_stream_sum *s)
{
	if (s) {
		EVP_MD_CTX_free(s->ctx);
		XXH3_freeState(s->xxh);
		free(s);
	}
	return NULL;
}

void zf_stream_sum_add(struct zf_stream_sum *s, const void *p, size_t n)
{
	if (n == 0)
		return;
	/* neither can fail once initialised */
	if (s->xxh)
		(void)XXH3_128bits_update(s->xxh, p, n);
	else
		(void)EVP_DigestUpdate(s->ctx, p, n);
	s->bytes += n;
}

uint64_t zf_stream_sum_bytes(const struct zf_stream_sum *s)
{
	return s->bytes;
}

static int finish(struct zf_stream_sum *s)
{
	unsigned len = 0;

	if (s->finished)
		return 0;
	if (s->xxh) {
		XXH128_canonical_t c;

		/* big-endian high then low half, then 16 zero bytes */
		XXH128_canonicalFromHash(&c, XXH3_128bits_digest(s->xxh));
		memset(s->digest, 0, sizeof(s->digest));
		memcpy(s->digest, c.digest, sizeof(c.digest));
	} else if (EVP_DigestFinal_ex(s->ctx, s->digest, &len) != 1 || len != sizeof(s->digest))
		return -EIO;
	s->finished = true;
	return 0;
}

int zf_stream_sum_append_end(struct zf_stream_sum *s, struct zf_buf *b, uint32_t id)
{
	uint8_t p[ZF_FRAME_END_SIZE];
	int r = finish(s);

	if (r < 0)
		return r;
	put64(p, s->bytes);
	memcpy(p + 8, s->digest, sizeof(s->digest));
	return zf_frame_append(b, ZF_FRAME_END, id, p, sizeof(p));
}

int zf_stream_sum_check(struct zf_stream_sum *s, const struct zf_frame *end, struct zf_err *err)
{
	uint64_t n;
	int r;

	if (end->type != ZF_FRAME_END)
		return zf_err_set(err, -ZF_E_PROTO, "stream ended by %s frame, not END",
				  zf_frame_type_name(end->type));
	r = check_payload(end, err);
	if (r < 0)
		return r;
	r = finish(s);
	if (r < 0)
		return zf_err_set(err, r, "cannot finish stream checksum");
	n = get64(end->payload);
	if (n != s->bytes)
		return zf_err_set(err, -ZF_E_CORRUPT,
				  "stream END says %llu bytes but %llu arrived",
				  (unsigned long long)n, (unsigned long long)s->bytes);
	if (memcmp(end->payload + 8, s->digest, sizeof(s->digest)) != 0)
		return zf_err_set(err, -ZF_E_CORRUPT,
				  "stream checksum (%s) mismatch after %llu bytes",
				  zf_stream_sum_kind_name(s->kind), (unsigned long long)n);
	return 0;
}
