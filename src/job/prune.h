/* src/job/prune.h — prune snapshots by retention rules: list, decide (plan/), destroy */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "plan/retention.h"
#include "util/macro.h"

struct zf_endpoint;
struct zf_err;

struct zf_prune_opts {
	const char *const *filesystems;
	size_t n;
	bool recursive;                         /* descendants too */
	bool dry_run;                           /* decide and report, destroy nothing */
	const struct zf_retention_policy *policy;
	struct zf_retention_opts ropts;         /* allow_empty, calendar time zone */
	/* most names per `zfs destroy fs@a,b,...` (0: by argument length only) */
	size_t batch_max;
	/*
	 * NULL: this host's zfs.  Set: list and destroy through this endpoint
	 * (a remote zferry, whose server decides what we may destroy).
	 */
	struct zf_endpoint *ep;
};

/* One snapshot and what became of it. */
struct zf_prune_item {
	const char *fs;                         /* points into the report's fs table */
	char *name;
	uint64_t createtxg;
	int64_t creation;
	struct zf_retention_verdict verdict;
	bool destroyed;                         /* really destroyed (never under dry_run) */
	bool failed;                            /* its batch failed */
};

struct zf_prune_report {
	char **fs;                              /* filesystems looked at, in order */
	size_t nfs, afs;
	struct zf_prune_item *v;                /* candidates only, per fs, oldest first */
	size_t n, alloc;
	size_t ndestroy;                        /* destroyed, or would be under dry_run */
	size_t nheld;                           /* rules would drop them, a hold keeps them */
	size_t nfailed;
};

/*
 * Lists the filesystems and all their snapshots and bookmarks (two zfs
 * calls), decides per filesystem with zf_retention_evaluate() and destroys
 * each filesystem's losers with as few `zfs destroy fs@a,b,c` calls as the
 * argument length allows.  A failing batch does not stop the others: the
 * report marks its items, err keeps the first failure and the return is its
 * code.  The report is filled as far as it got; release it in any case.
 */
_must_check_ int zf_prune_run(const struct zf_prune_opts *o, struct zf_prune_report *ret,
			      struct zf_err *err);
void zf_prune_report_release(struct zf_prune_report *r);
