/* src/job/backup-prune.h — backup prune: retention rules over a store's catalogue */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chunk/catalogue.h"
#include "util/macro.h"

struct zf_err;
struct zf_retention_policy;

struct zf_backup_prune_opts {
	/*
	 * The rules.  Every backup should be a candidate, so the caller sets the
	 * selection to all names (zf_retention_policy_set_select(p, "", NULL));
	 * a backup the selection leaves out is kept (ZF_BACKUP_KEEP_UNSELECTED).
	 */
	const struct zf_retention_policy *policy;
	bool dry_run;                   /* decide and report, remove nothing */
	/*
	 * Base guids named by running writers' sessions: every entry with one
	 * of these guids, of any dataset, is kept, so a backup being written
	 * finds its base when it commits.
	 */
	const uint64_t *protect_guids;
	size_t n_protect;
	const char *dataset;            /* NULL: all datasets */
};

/* Why an entry is kept besides the rules (bits of zf_backup_prune_item.keep). */
enum {
	ZF_BACKUP_KEEP_NEWEST = 1 << 0,         /* of its dataset's snapshots, the newest */
	ZF_BACKUP_KEEP_BASE = 1 << 1,           /* a kept incremental needs it, transitively */
	ZF_BACKUP_KEEP_SESSION = 1 << 2,        /* a running writer's session names its guid */
	ZF_BACKUP_KEEP_UNSELECTED = 1 << 3,     /* the policy's selection leaves it out */
};
/* A short word for one keep bit: "newest", "base", "session", "unselected". */
const char *zf_backup_keep_str(unsigned bit);

/* What became of list.v[i]. */
struct zf_backup_prune_item {
	bool remove;                    /* decided: its entry goes */
	bool removed;                   /* its entry file was unlinked by this run */
	bool vanished;                  /* to go, but its file was gone already */
	bool failed;                    /* to go, but unlinking it failed (err has the first) */
	uint64_t rules;                 /* bit i: rule i of the policy keeps its snapshot */
	unsigned keep;                  /* ZF_BACKUP_KEEP_* */
};

struct zf_backup_prune_result {
	struct zf_catalogue_list list;  /* every entry looked at, in the catalogue's order */
	struct zf_backup_prune_item *v; /* v[i] is about list.v[i] */
	size_t nremove;                 /* entries decided to go (removed or not: dry run) */
	size_t nremoved;                /* entry files unlinked */
	size_t nbroken;                 /* kept incrementals whose base has no entry at all */
	size_t nfailed;
};
void zf_backup_prune_result_release(struct zf_backup_prune_result *r);
static inline void zf_backup_prune_result_releasep(struct zf_backup_prune_result *r)
{
	zf_backup_prune_result_release(r);
}

/*
 * Lists the catalogue of the directory store at store_dir (one dataset or
 * all), decides per dataset with zf_retention_evaluate() over its distinct
 * snapshots (one verdict for all entries of a snapshot, whatever their
 * bases), keeps the newest snapshot of each dataset and what sessions
 * protect, adds every base a kept entry needs (zf_catalogue_needed()), and
 * unlinks the entry files of the rest, newest first, then fsyncs each
 * dataset's directory once.  Chunks and indexes are left to gc.
 *
 * A catalogue that cannot be read stops everything before a decision
 * (-EBADMSG and the like, with ret untouched).  After that the result is
 * filled even when unlinking fails: the others are still tried, err keeps
 * the first failure and its code is returned.  0 on success; release ret
 * in any case.
 */
_must_check_ int zf_backup_prune(const char *store_dir, const struct zf_backup_prune_opts *o,
				 struct zf_backup_prune_result *ret, struct zf_err *err);
