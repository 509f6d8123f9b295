/* src/config/config.h — the zferry YAML config: `serve:` (grants, listeners), `daemon:`, `jobs:` */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "plan/schedule.h"
#include "util/macro.h"
#include "util/strv.h"

struct zf_err;

/*
 * The file is one YAML mapping.  Known top-level keys: `serve`, `daemon`,
 * `jobs`.  Any other key is an error, so a typo never silently turns a
 * setting off.  Sink and source jobs add their clients' grants to
 * serve.clients (merged with a client the serve section names).  Every error is one line,
 * "FILE:LINE:COLUMN: what is wrong".  docs/serve.md and docs/daemon.md are the reference.
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
#define ZF_CONFIG_MAX_JOBS 1024         /* bounds the duplicate-name check */

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
	/*
	 * Append-only write grants (sink jobs make these): the client may
	 * create and receive new snapshots there and resume them, never
	 * destroy, roll back, rename, overwrite or change properties.  Each is
	 * a write grant too (also listed in write); a name inside any of them
	 * is append-only even if a plain write grant covers it as well.
	 */
	struct zf_strv append;
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

/*
 * The daemon's own settings (`daemon:`; docs/daemon.md).  Every path is
 * absolute; defaults below.
 */
#define ZF_CONFIG_DEFAULT_CONTROL "/run/zferry/control"
#define ZF_CONFIG_DEFAULT_STATE_DIR "/var/lib/zferry"
#define ZF_CONFIG_DEFAULT_STOP_TIMEOUT 30
struct zf_config_daemon {
	char *control;                  /* the control socket (root only, 0600) */
	char *state_dir;                /* state that survives a restart */
	/*
	 * Where /metrics and the status page are served: "ADDR:PORT",
	 * "[V6]:PORT" or ":PORT" (every address); NULL: not served.
	 */
	char *http_listen;
	/*
	 * `serve.listen`-like: the daemon's own rpc listeners for sink and
	 * source jobs ("tls://[ADDR]:PORT", "tcp://[ADDR]:PORT"); checked
	 * with the server's parser by the daemon, here only for syntax.
	 */
	struct zf_strv listen;
	char *log_format;               /* "text" (default), "logfmt" or "json" */
	/* "info" (default): zf_log_parse_level()'s names; "warn" is stored as "warning" */
	char *log_level;
	int stop_timeout_s;             /* SIGTERM: how long runs get to stop */
	unsigned line;
};

enum zf_job_type {
	ZF_JOB_SNAP = 1,                /* snapshot and prune on this host */
	ZF_JOB_PUSH,                    /* snapshot, replicate to a remote, prune both */
	ZF_JOB_PULL,                    /* replicate from a remote into this host, prune both */
	ZF_JOB_SINK,                    /* passive: clients push into root_fs/CLIENT */
	ZF_JOB_SOURCE,                  /* passive: clients pull filesystems from here */
};

/* zfs send -w: "auto" (raw for encrypted sources), always, never (= enum zf_replan_raw). */
enum zf_config_raw { ZF_CONFIG_RAW_AUTO = 0, ZF_CONFIG_RAW_ALWAYS, ZF_CONFIG_RAW_NEVER };

/*
 * One job (`jobs:` list; docs/daemon.md).  Which keys a type takes:
 *
 *   all      name, type
 *   snap     filesystems, recursive, exclude, schedule, snapshot, keep
 *   push     source (a local root), target (a URL as for replicate DST),
 *            schedule, snapshot, keep_sender, keep_receiver, + replication keys
 *   pull     source (a URL), target (a local root), schedule, keep_sender,
 *            keep_receiver, + replication keys (no snapshot: the source takes them)
 *   sink     root_fs, clients, append_only, keep, schedule (when keep runs)
 *   source   filesystems, clients
 *
 * Replication keys (those of `zferry replicate`): recursive, exclude,
 * concurrency, retries, bwlimit, intermediates, raw, compressed, large_block,
 * embed, props, set_props, exclude_props, accept_props, force_rollback,
 * rename_diverged, readonly, mount, resume, target_id, tls{ca,cert,key,
 * server_name,crl}, ssh_options, remote_zferry, timeout, data_channel,
 * data_channel_encrypt.
 */
struct zf_config_job {
	char *name;                     /* [A-Za-z0-9_.-], 1..64 characters, unique */
	enum zf_job_type type;
	unsigned line;

	bool has_schedule;              /* `schedule:` or `interval:` given */
	struct zf_schedule schedule;

	/* snap, source: the filesystems; push: source is a local root, pull: a URL */
	struct zf_strv filesystems;
	char *source, *target;
	char *root_fs;                  /* sink */
	struct zf_strv clients;         /* sink, source: identities as serve.clients writes them */
	bool append_only;               /* sink; default true */
	bool recursive;                 /* default true */
	struct zf_strv exclude;         /* POSIX EREs on source names */

	/* snapshotting (snap, push): `snapshot: false` or { prefix, format, local } */
	bool snapshot;                  /* default true for snap and push */
	char *snap_prefix;              /* default ZF_SNAPSHOT_PREFIX ("zferry_") */
	char *snap_format;              /* strftime; NULL: the default for the zone */
	bool snap_local;                /* name by local time, not UTC */

	/* retention: texts in zf_retention_policy_parse()'s grammar, checked; NULL: none */
	char *keep;                     /* snap, sink */
	char *keep_sender, *keep_receiver;      /* push, pull */

	/* replication (push, pull) */
	unsigned concurrency;           /* 0: replicate's default */
	unsigned retries;               /* default 3 */
	uint64_t bwlimit;               /* bytes per second; 0: none */
	bool intermediates;             /* default true */
	enum zf_config_raw raw;
	bool compressed, large_block, embed, props;     /* default true, true, true, false */
	struct zf_strv set_props, exclude_props, accept_props;
	bool force_rollback, rename_diverged;
	bool readonly;                  /* default true: receive with readonly=on */
	bool mount;                     /* default false */
	bool resume;                    /* default true */
	char *target_id;
	char *tls_ca, *tls_cert, *tls_key, *tls_server_name, *tls_crl;
	struct zf_strv ssh_options;
	char *remote_zferry;
	int timeout_s;                  /* 0: the default */
	char *data_channel;             /* tcp://ADDR:PORT */
	bool data_channel_encrypt;
};

struct zf_config {
	char *path;                     /* the name used in messages */
	struct zf_config_serve serve;
	bool daemon_present;
	struct zf_config_daemon daemon; /* defaults filled even when absent */
	struct zf_config_job *jobs;
	size_t n_jobs;
};

const char *zf_job_type_str(enum zf_job_type t);
/* The job named name, or NULL. */
const struct zf_config_job *zf_config_find_job(const struct zf_config *c, const char *name);

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
