/* src/transport/datachan.h — the direct data channel: TCP authenticated by a one-time secret */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/macro.h"

struct zf_err;
struct zf_transport;

/*
 * A direct TCP connection for one bulk stream, set up over an existing,
 * authenticated control connection: the receiving side makes a random
 * secret, listens, and sends the secret and its port over the control
 * connection; the sending side connects.  Both prove knowledge of the
 * secret (HMAC-SHA256 over both sides' fresh nonces) before a byte of
 * data moves; with encrypt, every byte travels in AES-256-GCM records
 * under keys derived from the secret and the nonces.  The wire format is
 * docs/protocol.md, "Direct data channel".
 *
 * The transports returned are ordinary struct zf_transport: rpc frames run
 * over them unchanged.  Without encryption they are plain tcp transports
 * whose peer was authenticated once; a stream that ends early is then
 * caught by rpc's END frame.  With encryption, a stream that ends without
 * the sender's zf_transport_shutdown() is an error (-EBADMSG).
 */

#define ZF_DATACHAN_SECRET_LEN 32
/* Plaintext bytes per encrypted record, at most. */
#define ZF_DATACHAN_RECORD_MAX (256u * 1024u)
/* Each handshake must finish within this, or the peer is dropped. */
#define ZF_DATACHAN_HANDSHAKE_TIMEOUT_MS 10000

/* Fills secret from the CSPRNG (RAND_bytes). */
_must_check_ int zf_datachan_secret_new(uint8_t secret[ZF_DATACHAN_SECRET_LEN],
					struct zf_err *err);

/*
 * Parses a port range as the user gives it: "PORT" or "FIRST-LAST"
 * (decimal, FIRST <= LAST, at most 65535); "0" alone means an ephemeral
 * port and comes back as 0-0.  -EINVAL with "data channel: ..." otherwise.
 */
_must_check_ int zf_datachan_ports_parse(const char *s, uint16_t *ret_first, uint16_t *ret_last,
					 struct zf_err *err);

struct zf_datachan_listener;

/*
 * Listens on host (NULL: every address) and port ("0": an ephemeral one).
 * The secret (ZF_DATACHAN_SECRET_LEN bytes) is copied and wiped on free.
 */
_must_check_ int zf_datachan_listen(const char *host, const char *port, const uint8_t *secret,
				    bool encrypt, struct zf_datachan_listener **ret,
				    struct zf_err *err);
uint16_t zf_datachan_port(const struct zf_datachan_listener *l);
/*
 * Waits up to timeout_ms (-1: forever) for the first peer that
 * authenticates.  Handshakes run side by side (up to 16; a 17th pushes
 * out the oldest), each bounded by the handshake timeout, so a peer that
 * connects and stalls holds up nobody.  Peers that fail are closed and
 * reported (below) and waiting goes on.  On
 * success or timeout (-ETIMEDOUT) the listening socket is closed: one
 * stream per secret; a later call fails with -EBADF.
 */
_must_check_ int zf_datachan_accept(struct zf_datachan_listener *l, int timeout_ms,
				    struct zf_transport **ret, struct zf_err *err);
struct zf_datachan_listener *zf_datachan_listener_free(struct zf_datachan_listener *l);
/*
 * Called for every peer the listener refuses (wrong proof, no handshake in
 * time, pushed out, beaten by the real peer), with its address and why:
 * for the caller to log at the level it sees fit (an admin wants to know
 * who knocked).  Without one they go to log_debug.
 */
typedef void (*zf_datachan_refused_fn)(void *userdata, uint16_t port, const char *peer,
				       const char *why);
void zf_datachan_listener_on_refused(struct zf_datachan_listener *l, zf_datachan_refused_fn fn,
				     void *userdata);
DEFINE_CLEANUP_FUNC(struct zf_datachan_listener *, zf_datachan_listener_free);
/* For tests: the per-peer handshake timeout (default ZF_DATACHAN_HANDSHAKE_TIMEOUT_MS). */
void zf_datachan_listener_set_handshake_timeout(struct zf_datachan_listener *l, int timeout_ms);

/*
 * Connects within timeout_ms and runs the handshake (bounded by the
 * smaller of timeout_ms and the handshake timeout).  A listener that
 * refuses our proof is -EACCES "wrong secret"; one that cannot prove its
 * own is -EACCES too; an encrypt flag that differs is -EPROTO.  Later
 * reads and writes time out after timeout_ms without progress.
 */
_must_check_ int zf_datachan_connect(const char *host, const char *port, const uint8_t *secret,
				     bool encrypt, int timeout_ms, struct zf_transport **ret,
				     struct zf_err *err);

/*
 * The record layer on its own, exported for tests and the fuzz target.
 * A record is u32 length (big-endian, 0..ZF_DATACHAN_RECORD_MAX), the
 * ciphertext, and a 16-byte GCM tag; length 0 ends the stream.
 */
#define ZF_DATACHAN_RECORD_OVERHEAD (4u + 16u)
struct zf_datachan_aead;
/* One direction's state: key (32 bytes) and a record counter from 0; NULL on OOM. */
struct zf_datachan_aead *zf_datachan_aead_new(const uint8_t *key, bool seal);
struct zf_datachan_aead *zf_datachan_aead_free(struct zf_datachan_aead *a);
DEFINE_CLEANUP_FUNC(struct zf_datachan_aead *, zf_datachan_aead_free);
/*
 * Seals n (<= ZF_DATACHAN_RECORD_MAX; 0 for the end record) bytes of p into
 * out, which has room for n + ZF_DATACHAN_RECORD_OVERHEAD; returns the
 * record's size or -errno.
 */
_must_check_ ssize_t zf_datachan_record_seal(struct zf_datachan_aead *a, const void *p, size_t n,
					     uint8_t *out, struct zf_err *err);
/*
 * Opens the record at the start of p[0..n): 1 with *ret_len plaintext bytes
 * in out (room for ZF_DATACHAN_RECORD_MAX) and *ret_used wire bytes taken
 * (*ret_len 0: the end record); 0 when more bytes are needed (*ret_used:
 * how many in total); -EBADMSG for a record too long or one that fails
 * authentication (out is then wiped).
 */
_must_check_ int zf_datachan_record_open(struct zf_datachan_aead *a, const uint8_t *p, size_t n,
					 uint8_t *out, size_t *ret_len, size_t *ret_used,
					 struct zf_err *err);
