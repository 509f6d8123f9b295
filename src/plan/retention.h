/* src/plan/retention.h — retention rules: grammar and the pure decision what to prune */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

struct zf_err;
struct zf_retention_policy;     /* opaque: parsed rules plus the candidate filter */

/*
 * Grammar (one --keep argument; several arguments append to one policy):
 *
 *   policy   := rule ( '|' rule )*
 *   rule     := 'grid:' entry ( '|' entry )*
 *             | 'last_n:' N
 *             | 'regex:' ['!'] ERE
 *             | period '=' N ( ',' period '=' N )*
 *             | 'not_replicated'
 *   entry    := COUNT 'x' DURATION [ '(' 'keep=' ( N | 'all' ) ')' ]
 *   DURATION := N UNIT      UNIT := 's' | 'm' | 'h' | 'd' | 'w'
 *   period   := 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly'
 *
 * '|' separates rules only at the top level: not inside (), [] or after a
 * backslash.  A segment after '|' that does not start with a rule keyword
 * continues the rule before it: more intervals of a grid, or another
 * alternative of a regex, so `grid:1x1h(keep=all)|24x1h|30x1d` is one rule
 * and `regex:^a|^b|last_n:3` is the regex `^a|^b` plus last_n:3.  Blanks
 * (space, tab) are allowed around tokens of grid entries and around '|',
 * except that inside a regex they are part of the expression (names may
 * hold spaces).
 *
 * The rules are combined as a UNION: a snapshot survives if any rule keeps it.
 *
 *   grid       intervals laid end to end back in time from the newest
 *              candidate (age 0 falls into the first); each interval keeps
 *              its oldest snapshot, or its N oldest (keep=N), or all;
 *              candidates older than the last interval are not kept by grid.
 *              Units are fixed lengths: s=1, m=60, h=3600, d=86400, w=604800 s
 *              (no months or years: they have no fixed length).
 *   last_n     the N newest candidates.
 *   regex      candidates whose short name matches the POSIX extended regular
 *              expression (with '!': those that do not match).
 *   periods    sanoid-style: keeps the newest snapshot of each of the last N
 *              calendar periods (hour, day, ISO week from Monday, month,
 *              year), counted back from the period holding the newest
 *              candidate, empty periods included.  Periods are aligned to the
 *              calendar of the time zone that zf_retention_opts.utc_offset
 *              describes (UTC when NULL).
 *   not_replicated
 *              every candidate with createtxg greater than the replication
 *              cursor's: the cursor is the bookmark named "zferry_cursor" or
 *              "zferry_cursor_*" of the filesystem (with several, the oldest,
 *              so nothing any target lacks goes); without a cursor nothing has
 *              been replicated and every candidate is kept.
 *
 * Whatever the rules say, these survive: snapshots that are not candidates
 * (name lacks the prefix / does not match the selection regex), held
 * snapshots (userrefs > 0), a snapshot whose guid equals a cursor bookmark's
 * (the newest common version), and the newest candidate unless allow_empty.
 */

#define ZF_RETENTION_RULES_MAX 64
#define ZF_RETENTION_CURSOR_NAME "zferry_cursor"

struct zf_retention_policy *zf_retention_policy_new(void);
struct zf_retention_policy *zf_retention_policy_free(struct zf_retention_policy *p);
DEFINE_CLEANUP_FUNC(struct zf_retention_policy *, zf_retention_policy_free);

/*
 * Parses text and appends its rules to p.  On a malformed rule returns
 * -EINVAL and err says what and at which 1-based column of text, e.g.
 * "grid: expected 'x' at column 7"; p is then unchanged.
 */
_must_check_ int zf_retention_policy_parse(struct zf_retention_policy *p, const char *text,
					   struct zf_err *err);
/*
 * Which snapshots are candidates: those whose name starts with prefix (default
 * "zferry_"), or, when regex is not NULL, those matching that extended
 * regular expression instead.  -EINVAL with a message for a bad regex.
 */
_must_check_ int zf_retention_policy_set_select(struct zf_retention_policy *p,
						const char *prefix, const char *regex,
						struct zf_err *err);
size_t zf_retention_policy_nrules(const struct zf_retention_policy *p);
/* The source text of rule i, e.g. "grid:24x1h|30x1d"; for messages and --json. */
const char *zf_retention_rule_text(const struct zf_retention_policy *p, size_t i);

/* One snapshot or bookmark of one filesystem, as zfs lists it. */
struct zf_retention_version {
	const char *name;       /* short name, after '@' or '#' */
	bool bookmark;
	uint64_t guid;
	uint64_t createtxg;
	int64_t creation;       /* seconds since the epoch (UTC) */
	uint64_t userrefs;      /* holds; 0 for bookmarks */
};

/* Seconds east of UTC in effect at time t (e.g. 3600 for CET); pure data for plan/. */
typedef int64_t (*zf_retention_utc_offset_fn)(int64_t t, void *userdata);

struct zf_retention_opts {
	bool allow_empty;                       /* the newest candidate may go too */
	zf_retention_utc_offset_fn utc_offset;  /* calendar of periods; NULL: UTC */
	void *userdata;
};

/* Why a version survives besides the rules (bits of zf_retention_verdict.protect). */
enum {
	ZF_RETENTION_BOOKMARK = 1 << 0,         /* not a snapshot: never touched */
	ZF_RETENTION_FOREIGN = 1 << 1,          /* not a candidate: never touched */
	ZF_RETENTION_HELD = 1 << 2,             /* userrefs > 0 */
	ZF_RETENTION_CURSOR = 1 << 3,           /* a cursor bookmark points at it */
	ZF_RETENTION_NEWEST = 1 << 4,           /* the newest candidate */
};

struct zf_retention_verdict {
	bool destroy;
	unsigned protect;       /* ZF_RETENTION_* */
	uint64_t rules;         /* bit i: rule i keeps it */
};

/*
 * Decides for each of the n versions of one filesystem (any order) whether it
 * goes: ret[i] is the verdict on v[i] (caller allocates n).  Returns the
 * number of snapshots to destroy, or -EINVAL (err set) for bad input.
 */
_must_check_ int zf_retention_evaluate(const struct zf_retention_policy *p,
				       const struct zf_retention_version *v, size_t n,
				       const struct zf_retention_opts *opts,
				       struct zf_retention_verdict *ret, struct zf_err *err);
/* A short word for one protect bit: "bookmark", "foreign", "held", "cursor", "newest". */
const char *zf_retention_protect_str(unsigned bit);
