/* src/plan/replication.h — the replication planner: what to send per filesystem, and in which order */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/macro.h"
#include "util/strv.h"

/* The most transfers one replication runs in parallel (--jobs, a job's concurrency). */
#define ZF_REPLICATE_JOBS_MAX 8

struct zf_err;

/*
 * The planner is pure: it reads the two sides' filesystems and versions as
 * structs (the engine lists them, locally or over rpc) and decides, per
 * filesystem, one action and the steps that carry it out.  It runs no zfs,
 * reads no clock and logs nothing, so every decision is unit-tested
 * (tests/unit/test-plan-repl.c).
 *
 * Names.  Filesystems are named relative to their side's root: "" is SRC (or
 * DST) itself, "a", "a/b c" are descendants, so SRC=tank/data and
 * DST=backup/data both call tank/data/a and backup/data/a "a".  Versions
 * carry short names (after '@' or '#').  Every name is opaque data: the
 * planner compares bytes, never parses or trims them (DESIGN.md guarantee 4).
 *
 * Matching.  A version on the sender and one on the receiver are the same
 * when their guids are equal, never because their names are: a snapshot
 * renamed on the target still counts, and an independent snapshot that
 * happens to share a name does not (it is a conflict).
 *
 * Using it:
 *
 *         _cleanup_(zf_replan_freep) struct zf_replan *p = NULL;
 *         r = zf_replan_new(src, n_src, dst, n_dst, &opts, &p, &err);
 *         _cleanup_(zf_replan_sched_freep) struct zf_replan_sched *s = zf_replan_sched_new(p);
 *         while ((r = zf_replan_sched_next(s, &i)) != 0) {
 *                 if (r == -EAGAIN) { wait for a worker; zf_replan_sched_done(s, j, ok); continue; }
 *                 hand p->items[i] to a worker
 *         }
 */

/* ---- inputs ------------------------------------------------------------- */

/* A snapshot or bookmark, as `zfs list -t snapshot,bookmark -Hp` reports it. */
struct zf_replan_version {
	const char *name;       /* short name; non-empty, no '@', '#' or '/' */
	uint64_t guid;          /* non-zero; a bookmark has its snapshot's guid */
	uint64_t createtxg;     /* orders versions of one filesystem (per pool) */
	int64_t creation;       /* seconds since the epoch; informational only */
	bool bookmark;
};

/*
 * One filesystem on one side.  Versions may come in any order.  Fields marked
 * sender or receiver are read only on that side.  The planner copies what it
 * keeps: the inputs may be freed once zf_replan_new() returns.
 */
struct zf_replan_fs {
	const char *name;       /* relative name: "" or "a/b"; no leading, trailing or double '/' */
	const struct zf_replan_version *versions;
	size_t n_versions;

	/*
	 * sender: the dataset is encrypted (raw send by default).  receiver:
	 * the target is encrypted, so zfs recv -F cannot replace it whole.
	 */
	bool encrypted;

	/* receiver: `receive_resume_token`; NULL, "" and "-" mean none */
	const char *resume_token;
	/* receiver: guid of the snapshot the token was sending (`zfs send -nvt`), 0 if unknown */
	uint64_t resume_toguid;
	bool modified;          /* receiver: `written` > 0 since its newest snapshot */
	bool placeholder;       /* receiver: user property zferry:placeholder=on */
	/* receiver: user property zferry:sendflags ("Lwec" letters), NULL if unset */
	const char *sendflags;
	/*
	 * sender: a clone's origin when it lies in the replicated tree: its
	 * filesystem's relative name and the snapshot's guid (NULL, 0: none).
	 * A clone whose origin arrives on the target goes as a clone.
	 */
	const char *origin_fs;
	uint64_t origin_guid;
};

/* Send flags, as the letters zfs send takes them. */
enum zf_replan_flag {
	ZF_REPLAN_LARGE_BLOCK = 1 << 0, /* -L */
	ZF_REPLAN_RAW = 1 << 1,         /* -w */
	ZF_REPLAN_EMBED = 1 << 2,       /* -e */
	ZF_REPLAN_COMPRESSED = 1 << 3,  /* -c */
};

enum zf_replan_raw {
	/*
	 * Raw (-w) for an encrypted sender, so the receiver never sees keys or
	 * plaintext; an incremental follows the target's recorded flags instead
	 * when there are any, since a chain cannot switch (see SENDFLAGS).
	 */
	ZF_REPLAN_RAW_AUTO = 0,
	ZF_REPLAN_RAW_ON,
	ZF_REPLAN_RAW_OFF,
};

struct zf_replan_opts {
	/* Descendants too (-r); without it only the root ("") is planned. */
	bool recursive;
	/*
	 * Send every snapshot between base and target (-I), so the receiver
	 * keeps the sender's history; false sends straight to the target (-i).
	 */
	bool intermediates;
	/* LARGE_BLOCK | EMBED | COMPRESSED; raw is chosen by raw below. */
	unsigned flags;
	enum zf_replan_raw raw;
	/*
	 * Conflicts (a) and (d), and (c) where every clash is after the base,
	 * become a forced incremental (recv -F), which destroys the target's
	 * snapshots after the base; a foreign target without snapshots is
	 * overwritten by a forced full receive.  The item lists what goes.
	 */
	bool force_rollback;
	/*
	 * Conflicts (a), (b), (c), (f) and a foreign target without snapshots
	 * rename the target aside and send in full; nothing is destroyed.
	 * With force_rollback too, (a) and (d) are rolled back instead: the
	 * user allowed the loss, and it spares a full send.
	 */
	bool rename_diverged;
	/* "<stamp>" of ".zferry-diverged-<stamp>"; required with rename_diverged */
	const char *diverged_stamp;
	/*
	 * Discard an interrupted receive (recv -A) instead of resuming it.
	 * That destroys the partial state, and with it a filesystem that only
	 * an interrupted first receive had created; the user asked for it.
	 */
	bool no_resume;
	/*
	 * Send up to this snapshot (a sync snapshot the engine just took)
	 * where a filesystem has it; one without it (the engine snapshots only
	 * what changed) sends up to its newest.  NULL: newest everywhere.
	 */
	const char *sync_snap;
	/* Cursor bookmarks are zferry_cursor_<id>_g<guid>; NULL: zferry_cursor_g<guid>. */
	const char *cursor_id;
	/* Full names of SRC and DST roots, for messages only; NULL: relative names. */
	const char *src_display;
	const char *dst_display;
};

/*
 * Excludes are not here: the caller applies them while listing
 * (zf_zfs_list_opts.filter) and passes only the filesystems to replicate.
 * A replicated filesystem whose parent was left out gets a placeholder.
 */

/* ---- outputs ------------------------------------------------------------ */

/*
 * Carrying out one item (the replicate engine's part):
 *
 *   1. hold `holds` on the sender (zfs hold, one tag per job);
 *   2. run `steps` in order.  SEND is zfs send with `flags` (-L -w -e -c),
 *      -i or -I `from` when set, of SRC@to, into zfs recv -s [-F when
 *      force] [-o zferry:sendflags=`sendflags`] DST; RESUME is zfs send -t
 *      token into zfs recv -s; the others are named in the step kinds.
 *      When `plan_again` is set, stop after the RESUME and plan this
 *      filesystem again;
 *   3. on success: drop zferry:placeholder if `clear_placeholder`, bookmark
 *      the cursor if `cursor` is set, then destroy `cursor_remove`;
 *   4. either way, release the holds.  A failed receive keeps its resume
 *      token, and the next plan resumes it (guarantee 2).
 *
 * CONFLICT and NOTHING_TO_SEND have no steps: report `message`.
 * UP_TO_DATE has none either but may still set the cursor (step 3).
 */

enum zf_replan_action {
	ZF_REPLAN_UP_TO_DATE = 1,       /* nothing to receive; maybe set the cursor */
	ZF_REPLAN_FULL,                 /* target absent (or a placeholder): full send */
	ZF_REPLAN_INCREMENTAL,          /* from the newest common version */
	ZF_REPLAN_RESUME,               /* finish an interrupted receive first */
	ZF_REPLAN_RENAME_AND_FULL,      /* rename the diverged target aside, then full */
	ZF_REPLAN_CREATE_PLACEHOLDER,   /* a parent that is not replicated but must exist */
	ZF_REPLAN_NOTHING_TO_SEND,      /* the sender has no snapshot; message says so */
	ZF_REPLAN_CONFLICT,             /* cannot proceed without the user; see conflict */
};

enum zf_replan_conflict {
	ZF_REPLAN_CONFLICT_NONE = 0,
	ZF_REPLAN_CONFLICT_TARGET_NEWER,        /* (a) target has snapshots after the base */
	ZF_REPLAN_CONFLICT_NO_COMMON,           /* (b) no common version, target has snapshots */
	ZF_REPLAN_CONFLICT_NAME_GUID,           /* (c) same snapshot name, different guid */
	ZF_REPLAN_CONFLICT_TARGET_MODIFIED,     /* (d) target written since its newest snapshot */
	ZF_REPLAN_CONFLICT_SENDFLAGS,           /* (e) requested flags break the target's chain */
	ZF_REPLAN_CONFLICT_RECEIVER_BOOKMARK,   /* (f) common only as a bookmark on the target */
	ZF_REPLAN_CONFLICT_TARGET_EXISTS,       /* target exists without snapshots, not ours */
	ZF_REPLAN_CONFLICT_SYNC_SNAP_MISSING,   /* unused since sync_snap may be missing */
	ZF_REPLAN_CONFLICT_RESUME_STALE,        /* token's snapshot is gone from the sender */
	ZF_REPLAN_CONFLICT_ENCRYPTED_REPLACE,   /* recv -F cannot replace it: encryption */
	ZF_REPLAN_CONFLICT_NAME_TOO_LONG,       /* a received name would pass zfs's 255 bytes */
	ZF_REPLAN_CONFLICT_DECRYPTED_CHAIN,     /* an encrypted source's plain chain needs --decrypt */
};

enum zf_replan_step_kind {
	ZF_REPLAN_STEP_ABORT_RESUME = 1,        /* zfs recv -A TARGET */
	ZF_REPLAN_STEP_RESUME,                  /* zfs send -t TOKEN | zfs recv -s TARGET */
	ZF_REPLAN_STEP_RENAME,                  /* zfs rename TARGET TARGET<rename_suffix> */
	ZF_REPLAN_STEP_CREATE_PLACEHOLDER,      /* zfs create -o zferry:placeholder=on TARGET */
	ZF_REPLAN_STEP_SEND,                    /* zfs send [-i|-I FROM] SRC@TO | zfs recv -s */
};

/* One command pair, run in order; strings are owned by the plan. */
struct zf_replan_step {
	enum zf_replan_step_kind kind;
	const char *from;       /* SEND: base short name, NULL for a full stream */
	const char *from_fs;    /* SEND: the base's filesystem when not this one (a clone's origin) */
	bool from_bookmark;     /* SEND: from is a bookmark (#from), so only -i */
	uint64_t from_guid;
	const char *to;         /* SEND: snapshot short name on the sender */
	uint64_t to_guid;
	bool intermediates;     /* SEND: -I from to (never with a bookmark base) */
	bool force;             /* SEND: zfs recv -F (destroys what `destroys` lists) */
	const char *token;      /* RESUME */
	const char *rename_suffix;      /* RENAME: appended to the target's full name */
};

#define ZF_REPLAN_MAX_STEPS 4

/*
 * One filesystem's decision.  Items are in parent-before-child order and
 * parent is the index of the nearest ancestor item, -1 for none.
 */
struct zf_replan_item {
	const char *fs;                 /* relative name */
	const char *display;            /* the target's name for messages: "DST/fs" */
	ssize_t parent;
	/*
	 * An item that must have finished first besides the parent, or -1: a
	 * clone waits for its origin's filesystem to arrive.  If that fails,
	 * the clone is skipped.
	 */
	ssize_t after;
	enum zf_replan_action action;
	enum zf_replan_conflict conflict;       /* CONFLICT only */
	/* One line for people: CONFLICT and NOTHING_TO_SEND say what and what to do;
	 * forced, renamed and placeholder items say what they will change. NULL otherwise. */
	const char *message;

	struct zf_replan_step steps[ZF_REPLAN_MAX_STEPS];
	size_t n_steps;

	unsigned flags;                 /* for SEND steps: ZF_REPLAN_* */
	/*
	 * The chain's flags to record as zferry:sendflags, or NULL.  Pass it
	 * to the receive (zfs recv -o zferry:sendflags=...) so even a partial
	 * receive records what its chain must continue with.
	 */
	const char *sendflags;
	bool clear_placeholder;         /* target was a placeholder: drop zferry:placeholder */
	/* after a failure of this item, its descendants cannot run (see the scheduler) */
	bool children_need;
	/* after the RESUME step, list this filesystem again and plan it anew */
	bool plan_again;

	const char *rollback_to;        /* forced receive: target snapshot it rolls back to */
	struct zf_strv destroys;        /* target snapshots a forced receive destroys */
	struct zf_strv in_the_way;      /* CONFLICT: target snapshots in the way */

	struct zf_strv holds;           /* sender snapshots to hold while the steps run */
	/* after success: bookmark SRC@cursor_snapshot as SRC#cursor (NULL: keep as is) */
	const char *cursor;
	const char *cursor_snapshot;
	/* after the new cursor exists (or already existed): destroy these sender bookmarks */
	struct zf_strv cursor_remove;
	/*
	 * The newest snapshot both sides have once the item succeeded (what
	 * the cursor marks), or NULL when that is only a bookmark: older sync
	 * snapshots of this target are then obsolete.
	 */
	const char *settled;
	uint64_t settled_txg;
};

struct zf_replan {
	struct zf_replan_item *items;
	size_t n_items;
	char **strings;                 /* private: what the items point into */
	size_t n_strings, alloc_strings;
};

/*
 * Plans replication of src (the sender's filesystems to replicate, excludes
 * already applied) onto dst (every filesystem under DST, receiver side).
 * Receiver filesystems absent from src are never touched.  Returns 0 and
 * *ret, or -EINVAL for inconsistent input (duplicate names or guids, zero
 * guid, bad names or options) and -ENOENT when src is empty, with err set.
 * Conflicts are not errors: they are items, so the rest still replicates.
 */
_must_check_ int zf_replan_new(const struct zf_replan_fs *src, size_t n_src,
			       const struct zf_replan_fs *dst, size_t n_dst,
			       const struct zf_replan_opts *opts, struct zf_replan **ret,
			       struct zf_err *err);
struct zf_replan *zf_replan_free(struct zf_replan *p);     /* NULL-safe; returns NULL */
DEFINE_CLEANUP_FUNC(struct zf_replan *, zf_replan_free);

/* "up-to-date", "full", ..., "conflict"; "target-newer", ...; never NULL. */
const char *zf_replan_action_str(enum zf_replan_action a);
const char *zf_replan_conflict_str(enum zf_replan_conflict c);

/* Flags as letters in "Lwec" order into buf (at least 5 bytes); returns buf. */
char *zf_replan_flags_str(unsigned flags, char *buf);
/* Parses "Lwec" letters; letters it does not know are ignored (a newer zferry). */
unsigned zf_replan_flags_parse(const char *s);
/* 1 if bookmark name is a cursor of cursor_id (NULL: no id), else 0. */
int zf_replan_is_cursor(const char *name, const char *cursor_id);

/* ---- cursor moves, batched ---------------------------------------------- */

/*
 * The cursor moves of a run's items, for an engine that carries them out
 * together once every item is done (one zfs channel program for the
 * whole run instead of two zfs commands per filesystem).  ok[i] says
 * whether item i succeeded; only those move.  Per item, in order: the
 * new cursor (snapshot set) when the item sets one, then its old cursors
 * (snapshot NULL).  An old cursor may go only once the new one exists:
 * the executor skips an item's removals when its new cursor could not be
 * made, so at no instant is an item left without a cursor (guarantee 3).
 * An item whose cursor existed already only removes old ones.
 */
struct zf_replan_cursor_op {
	size_t item;            /* index in p->items */
	const char *snapshot;   /* short name of the snapshot to bookmark; NULL: remove mark */
	const char *mark;       /* the cursor bookmark's short name */
};

/* Fills *ret (malloc'd, free() it; NULL when none) and returns how many ops. */
size_t zf_replan_cursor_ops(const struct zf_replan *p, const bool *ok,
			    struct zf_replan_cursor_op **ret);

/* ---- order -------------------------------------------------------------- */

/*
 * Hands out items so that siblings run in parallel and a parent finishes
 * before its children start.  Not thread-safe: the engine calls it under the
 * lock that guards its worker queue.  Every item is handed out, CONFLICT and
 * UP_TO_DATE included (the engine reports them and marks them done).
 *
 * When an item fails and its children_need is set (it had to create, or
 * renamed away, the target its descendants are received under), every
 * descendant is SKIPPED with the reason "parent 'X' failed".  An item
 * with `after` set also waits for that one, and is skipped ("origin 'X'
 * failed") when it fails.  A failed
 * incremental or a conflict on a target that exists does not hold back its
 * children: their targets are there and independent of it.
 */
enum zf_replan_state {
	ZF_REPLAN_PENDING = 0,
	ZF_REPLAN_RUNNING,
	ZF_REPLAN_DONE,
	ZF_REPLAN_FAILED,
	ZF_REPLAN_SKIPPED,
};

struct zf_replan_sched;

struct zf_replan_sched *zf_replan_sched_new(const struct zf_replan *p);
/* 1 and *ret_index: run it; -EAGAIN: wait for a running item; 0: all finished. */
int zf_replan_sched_next(struct zf_replan_sched *s, size_t *ret_index);
/* Marks a RUNNING item done (ok) or failed. */
void zf_replan_sched_done(struct zf_replan_sched *s, size_t index, bool ok);
enum zf_replan_state zf_replan_sched_state(const struct zf_replan_sched *s, size_t index);
/* Why a SKIPPED item was skipped ("parent 'a' failed"), else NULL. */
const char *zf_replan_sched_reason(const struct zf_replan_sched *s, size_t index);
struct zf_replan_sched *zf_replan_sched_free(struct zf_replan_sched *s);
DEFINE_CLEANUP_FUNC(struct zf_replan_sched *, zf_replan_sched_free);
