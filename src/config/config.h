/* src/config/config.h — the zferry YAML config: the `serve:` section (grants, listeners) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "util/macro.h"
#include "util/strv.h"

struct zf_err;

/*
 * The file is one YAML mapping.  Known top-level keys: `serve`.  Any other
 * key is an error (a later version adds `jobs:` and `global:`), so a typo
 * never silently turns a setting off.  Every error is one line,
 * "FILE:LINE:COLUMN: what is wrong".  docs/serve.md is the reference.
 *
 *   serve:
 *     tls: { ca: /abs/ca.pem, cert: /abs/server.pem, key: /abs/server.key,
 *            crl: /abs/crl.pem }
 *     tcp: { allow: [127.0.0.1, "10.0.0.0/8", "::1"] }
 *     timeout: 60
 *     handshake_timeout: 10
 *     limits: { connections: 64, unauthenticated: 16, unauthenticated_per_address: 4 }
 *     clients:
 *       - identity: tls:laptop
 *         read: [tank/home]
 *         write: [backup/clients/laptop]
 */

#define ZF_CONFIG_MAX_SIZE (1u << 20)
#define ZF_CONFIG_DEFAULT_PATH "/etc/zferry/zferry.yml"
#define ZF_CONFIG_DEFAULT_TIMEOUT 60
#define ZF_CONFIG_DEFAULT_HANDSHAKE_TIMEOUT 10
#define ZF_CONFIG_DEFAULT_CONNECTIONS 64
#define ZF_CONFIG_DEFAULT_UNAUTHENTICATED 16
#define ZF_CONFIG_DEFAULT_UNAUTH_PER_ADDRESS 4
#define ZF_CONFIG_MAX_CONNECTIONS 1024   /* a process each */
#define ZF_CONFIG_MAX_CLIENTS 4096      /* bounds the duplicate-identity check */

/*
 * A receive policy as the config writes it (src/zfs/recv-policy.h): at
 * serve level for every client, and per client, where each key given
 * replaces the serve level's.
 */
struct zf_config_receive {
	bool has_allow, has_deny, has_force, has_mount;
	struct zf_strv allow;           /* patterns; "default" = the built-in list */
	struct zf_strv deny;
	struct zf_strv force;           /* "name=value" */
	bool mount;
};

/* One client and what it may reach (guarantee 5). */
struct zf_config_client {
	/*
	 * Who: "tls:CN" (a TLS client certificate's CN), "ssh:NAME" (the
	 * --identity of an ssh forced command), "tcp:ADDRESS" (stored in
	 * inet_ntop() form, no port), or a plain NAME, which is either of the
	 * first two.  No two clients can match one peer.
	 */
	char *identity;
	struct zf_strv read;            /* subtrees it may replicate from (be a source) */
	struct zf_strv write;           /* subtrees it may replicate into (be a target) */
	struct zf_config_receive receive;       /* its own receive policy keys */
	struct zf_strv origins;         /* write then read grants: where clones may come from */
	unsigned line;                  /* where it was defined, for messages */
};

struct zf_config_serve {
	bool present;                   /* a serve: section was given */
	char *tls_ca;                   /* all three set, or all NULL */
	char *tls_cert;
	char *tls_key;
	char *tls_crl;                  /* NULL: no revocation check */
	bool tcp_present;               /* a tcp: section (tcp:// listeners need it) */
	struct zf_strv tcp_allow;       /* checked with zf_tcp_allow_parse() */
	int timeout_s;                  /* seconds of silence before a peer is dropped */
	struct zf_config_receive receive;       /* the receive policy of every client */
	/*
	 * The direct data channel (docs/serve.md): where this server listens
	 * for it, whatever a client asks.  No data_channel: section, no
	 * channel.
	 */
	bool dc_present;
	char *dc_listen;                /* address to bind ("0.0.0.0", "::", one address) */
	unsigned dc_first, dc_last;     /* port range, 1024..65535; 0-0: any free port */
	bool dc_has_ports;
	int handshake_timeout_s;        /* from accept until authenticated, in all */
	/*
	 * What `serve --listen` holds at once: connections in all, those not
	 * yet authenticated, and those from one source address.  Checked
	 * unauth_per_address <= unauthenticated <= connections.
	 */
	struct {
		unsigned connections;
		unsigned unauthenticated;
		unsigned unauth_per_address;
	} limits;
	struct zf_config_client *clients;
	size_t n_clients;
};

struct zf_config {
	char *path;                     /* the name used in messages */
	struct zf_config_serve serve;
};

/* Parses a config held in memory; name is used in messages.  *ret owns the result. */
_must_check_ int zf_config_parse(const char *name, const void *p, size_t n,
				 struct zf_config **ret, struct zf_err *err);
/* Reads and parses path (at most ZF_CONFIG_MAX_SIZE bytes). */
_must_check_ int zf_config_load(const char *path, struct zf_config **ret, struct zf_err *err);
struct zf_config *zf_config_free(struct zf_config *c);         /* NULL-safe; returns NULL */
DEFINE_CLEANUP_FUNC(struct zf_config *, zf_config_free);

/*
 * The client an identity names, or NULL.  A transport identity
 * "tcp:ADDR:PORT" (or "tcp:[v6]:PORT") matches the config's "tcp:ADDR"
 * without the port; "tls:NAME" matches "tls:NAME" or a plain "NAME", and
 * so does "ssh:NAME" with "ssh:NAME"; any other identity (an in-process
 * peer's) matches exactly.
 */
const struct zf_config_client *zf_config_find_client(const struct zf_config *c,
						     const char *identity);

struct zf_recv_policy;
/*
 * The receive policy for a client (cl may be NULL: the serve level alone).
 * *ret points into c and cl, valid while they are.
 */
void zf_config_recv_policy(const struct zf_config *c, const struct zf_config_client *cl,
			   struct zf_recv_policy *ret);

/*
 * Checks one grant path: a filesystem name by OpenZFS's rules, not
 * absolute, no '..' or '.', no leading '-', no '@' or '#'.  0, or
 * -EINVAL and why.
 */
_must_check_ int zf_config_check_grant(const char *path, struct zf_err *err);
