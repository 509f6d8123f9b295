/* src/job/snapshot.h — one atomic policy snapshot of many filesystems, verified */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "util/macro.h"

struct zf_err;
struct zf_strv;

#define ZF_SNAPSHOT_PREFIX "zferry_"
#define ZF_SNAPSHOT_FORMAT_UTC "%Y%m%dT%H%M%SZ"
#define ZF_SNAPSHOT_FORMAT_LOCAL "%Y%m%dT%H%M%S%z"

/*
 * The snapshot name for time now: prefix + strftime(format) in UTC, or in
 * the local time zone (TZ) with local.  format NULL picks the default for
 * the zone.  zfs allows no '+' in names, so a '+' that strftime writes (a
 * UTC offset east of Greenwich, "%z") becomes 'p': 20261123T055900p0100.
 * -EINVAL with a message when the result is empty, too long or holds a
 * character zfs rejects.
 */
_must_check_ int zf_snapshot_name(const char *prefix, const char *format, bool local, time_t now,
				  char **ret, struct zf_err *err);

struct zf_snapshot_opts {
	const char *const *filesystems;
	size_t n;
	bool recursive;         /* descendants too, in the same atomic call */
	const char *name;       /* short name, e.g. from zf_snapshot_name() */
};

/*
 * Takes fs@name of every filesystem (and, with recursive, every descendant)
 * in one `zfs snapshot` call, then lists them to check each exists.  On
 * success *ret (may be NULL) gets the full names, sorted.  A snapshot missing
 * afterwards is -ENOENT naming it.
 */
_must_check_ int zf_snapshot_run(const struct zf_snapshot_opts *o, struct zf_strv *ret,
				 struct zf_err *err);
