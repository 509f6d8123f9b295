/* src/job/replicate.h — zferry replicate: carry out a replication plan between two endpoints */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "plan/replication.h"
#include "util/macro.h"

struct zf_err;
struct zf_endpoint;

/* What one running transfer has done so far; handed to opts.progress. */
struct zf_replicate_progress {
	const char *target;             /* full name on the receiver */
	uint64_t bytes;
	uint64_t estimate;              /* zfs send -nP's guess, 0 if unknown */
	double seconds;
};

struct zf_replicate_opts {
	bool recursive;                 /* -r: descendants too */
	unsigned jobs;                  /* parallel workers; 0: number of cores, at most 8 */
	const char *const *excludes;    /* POSIX extended regexes on source names; NULL-terminated */
	bool sync_snap;                 /* take one atomic snapshot of every source first */
	const char *sync_snap_prefix;   /* default "zferry_" */
	bool intermediates;             /* -I: keep every snapshot between base and target */
	enum zf_replan_raw raw;         /* auto: raw for encrypted sources */
	bool compressed, large_block, embed, props;     /* zfs send -c -L -e -p */
	const char *const *set_props;   /* zfs recv -o, NULL-terminated */
	const char *const *exclude_props;       /* zfs recv -x, NULL-terminated */
	bool force_rollback;
	bool rename_diverged;
	bool no_readonly;               /* do not receive with readonly=on */
	/*
	 * Mount what is received, after the receive and only over an empty,
	 * unused directory (no canmount=noauto); a receive never mounts.
	 */
	bool mount;
	/*
	 * Property patterns a stream from a *remote* source may set on this
	 * host besides the built-in list (src/zfs/recv-policy.h); a local
	 * source's properties are kept but for where the data appears
	 * (mountpoint, sharenfs, sharesmb).  NULL-terminated or NULL.
	 */
	const char *const *accept_props;
	bool no_resume;                 /* abort partial receives instead of resuming */
	bool dry_run;                   /* plan only */
	/*
	 * Names this target's cursor bookmarks, holds and sync snapshots
	 * (zferry_cursor_ID_g..., zferry_replicate_ID, zferry_ID_<time>);
	 * NULL: an id derived from DST, so two targets of one source never
	 * share a cursor.  From a remote source the server's namespace for us
	 * comes first (docs/serve.md).
	 */
	const char *cursor_id;
	/*
	 * A filesystem whose transfer failed because the connection to a
	 * remote end broke (zf_replicate_transient()) is listed and planned
	 * again and retried up to this many times, after retry_delay_ms,
	 * doubling each time up to a minute (0: ZF_REPLICATE_RETRY_DELAY_MS).
	 * Listing either side at the start is retried the same way.
	 */
	unsigned retries;
	unsigned retry_delay_ms;
	/*
	 * Bytes per second all of the run's transfers share, counted as the
	 * stream passes through this process (0: no limit).  Only the stream
	 * is limited, not listing, holds or bookmarks.
	 */
	uint64_t bwlimit;
	/*
	 * The ends as the user named them ("host:pool/fs"), for the lock that
	 * keeps two runs of one replication apart; NULL: the roots.
	 */
	const char *src_name, *dst_name;
	/* Called about once a second from a helper thread while transfers run. */
	void (*progress)(const struct zf_replicate_progress *running, size_t n, void *userdata);
	void *userdata;
};

enum zf_replicate_status {
	ZF_REPLICATE_OK = 0,
	ZF_REPLICATE_FAILED,
	ZF_REPLICATE_SKIPPED,           /* a parent failed */
	ZF_REPLICATE_PLANNED,           /* --dry-run */
};

struct zf_replicate_fs_result {
	char *source;                   /* full names */
	char *target;
	enum zf_replan_action action;
	char *from, *to;                /* short names, NULL when none */
	uint64_t bytes;
	double seconds;
	enum zf_replicate_status status;
	char *error;                    /* one line, NULL on success */
	char *message;                  /* the plan's note (conflict, rename, rollback), or NULL */
	char **removed;                 /* obsolete sync snapshots removed (short names), NULL-terminated or NULL */
};

struct zf_replicate_result {
	struct zf_replicate_fs_result *v;
	size_t n;
	unsigned ok, failed, skipped;
	char *sync_snap;                /* name of the sync snapshot taken (dry run: to take), or NULL */
	char *target_id;                /* names this target's cursor, holds and sync snapshots */
};

#define ZF_REPLICATE_RETRY_DELAY_MS 1000
#define ZF_REPLICATE_RETRY_DELAY_MAX_MS 60000

/*
 * Whether a failure is the connection's (reset, timed out, refused, cut
 * mid-stream, a peer that broke the protocol) rather than a zfs or
 * access failure that would fail the same way again.
 */
bool zf_replicate_transient(int r);

/*
 * Replicates src_root on src to dst_root on dst.  Returns 0 when the run
 * could be carried out (the per-filesystem outcome is in *ret; some may have
 * failed), or a negative errno with err set when nothing could be done (bad
 * names or options, source missing, listing failed, another run of the same
 * replication holds its lock).
 */
_must_check_ int zf_replicate(struct zf_endpoint *src, const char *src_root,
			      struct zf_endpoint *dst, const char *dst_root,
			      const struct zf_replicate_opts *opts, struct zf_replicate_result *ret,
			      struct zf_err *err);
void zf_replicate_result_release(struct zf_replicate_result *r);
const char *zf_replicate_status_str(enum zf_replicate_status s);
