/* src/plan/schedule.h — job schedules: intervals and cron expressions, and when a job is due */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "util/macro.h"

struct zf_err;

/*
 * Grammar (one string, as a config file gives it):
 *
 *   schedule := [ 'TZ=UTC' BLANK+ ] ( interval | cron | alias )
 *   interval := ( N UNIT )+          UNIT := 's' | 'm' | 'h' | 'd' | 'w'
 *   cron     := field BLANK+ field BLANK+ field BLANK+ field BLANK+ field
 *               (minute hour day-of-month month day-of-week)
 *   field    := item ( ',' item )*
 *   item     := ( '*' | value [ '-' value ] ) [ '/' STEP ]
 *   alias    := '@hourly' | '@daily' | '@midnight' | '@weekly' | '@monthly'
 *             | '@yearly' | '@annually'          (the usual 5-field meanings)
 *
 * Intervals: units largest first, each at most once (`1h30m`, not `30m1h`);
 * s=1, m=60, h=3600, d=86400, w=604800 seconds; at least 1s, at most 3650d.
 *
 * Cron fields: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or
 * jan..dec, day-of-week 0-7 or sun..sat (0 and 7 are both Sunday); names are
 * case-insensitive.  `a-b/n` is every n-th value from a to b, a star with a
 * step every n-th value of the field, and `a/n` (an extension) every n-th
 * from a to the field's maximum.  A step of 0 or larger than the field's span
 * is an error, as is a reversed range.
 * As in classic cron, when both day-of-month and day-of-week are restricted a
 * day matches if EITHER matches; a field is restricted when it does not cover
 * its whole range (so `*`, `1-31` and a star with step 1 are unrestricted,
 * while a star with step 2 is restricted: Vixie cron looks at the leading
 * star instead).
 * A day-of-month that no selected month has (`0 0 31 2 *`) is refused.
 *
 * Time zone: cron fields are read in the process's local time zone (TZ,
 * /etc/localtime) unless the schedule starts with `TZ=UTC`.  Intervals are
 * always aligned to the epoch in UTC: `10m` fires at :00, :10, ... and `1d` at
 * 00:00 UTC (in Berlin 01:00 or 02:00); `TZ=UTC` is accepted and changes
 * nothing for them.  Write `0 0 * * *` for local midnight.
 *
 * Daylight saving time (local cron only):
 *   - a time that a spring-forward gap skips runs once at the first valid
 *     time, the moment of the change: `30 2 * * *` runs at 03:00 CEST on the
 *     last Sunday of March in Europe/Berlin, and every quarter hour
 *     (`0-59/15 * * * *`) runs at 03:00 once for the whole skipped hour;
 *   - a time that the autumn change repeats runs once, at its first
 *     occurrence: every quarter hour runs at 02:00, 02:15, 02:30, 02:45 CEST,
 *     then not again until 03:00 CET, and hourly (`0 * * * *`) runs at
 *     02:00 CEST and then 03:00 CET, two hours apart.
 * Local time comes from localtime_r() of the times passed in (no clock is
 * read), which may not reread TZ: a program that changes TZ calls tzset()
 * before asking.  The two offsets around a local time are taken a day before
 * and after it, so a zone that changes twice within a day may resolve a time
 * between those changes to a neighbouring instant.
 *
 * Errors are one line naming the schedule, the field and the bad token:
 *   schedule '0 0 * * 8': day-of-week: 8 out of range 0-7
 */

#define ZF_SCHEDULE_TEXT_MAX 256        /* longest schedule text, with the NUL */
#define ZF_SCHEDULE_INTERVAL_MAX (INT64_C(3650) * 86400)
/* Times are seconds since the epoch in [0, ZF_SCHEDULE_TIME_MAX] (9999-12-31T23:59:59Z). */
#define ZF_SCHEDULE_TIME_MAX INT64_C(253402300799)
/* zf_schedule_due()'s last_run for a job that has never run. */
#define ZF_SCHEDULE_NEVER INT64_C(-1)

enum zf_schedule_kind {
	ZF_SCHEDULE_INTERVAL = 1,
	ZF_SCHEDULE_CRON,
};

/*
 * A parsed schedule.  Plain data, so that config structs can hold it; filled
 * by zf_schedule_parse() and read-only afterwards.
 */
struct zf_schedule {
	enum zf_schedule_kind kind;
	bool utc;               /* TZ=UTC: cron fields in UTC, not local time */
	int64_t interval;       /* seconds, ZF_SCHEDULE_INTERVAL */
	/* ZF_SCHEDULE_CRON: bit i set when value i matches */
	uint64_t minutes;       /* bits 0-59 */
	uint32_t hours;         /* bits 0-23 */
	uint32_t mdays;         /* bits 1-31 */
	uint16_t months;        /* bits 1-12 */
	uint8_t wdays;          /* bits 0-6, Sunday is 0 */
	bool mdays_restricted;  /* both restricted: a day matches if either does */
	bool wdays_restricted;
	char text[ZF_SCHEDULE_TEXT_MAX];        /* the source, blanks collapsed */
};

/*
 * Parses s into *ret.  On an error returns -EINVAL, err says what and where
 * ("schedule '10x': interval: unknown unit 'x' (s, m, h, d or w)") and *ret is
 * unchanged.
 */
_must_check_ int zf_schedule_parse(const char *s, struct zf_schedule *ret, struct zf_err *err);

/*
 * The first run time strictly after `after`, in *ret.  -ERANGE (err set) when
 * `after` is outside [0, ZF_SCHEDULE_TIME_MAX], when no run falls within ten
 * years (the search is bounded; the parser already refuses schedules that can
 * never run) or when the local time zone cannot be read.
 */
_must_check_ int zf_schedule_next(const struct zf_schedule *s, int64_t after, int64_t *ret,
				  struct zf_err *err);

/*
 * The decision at start-up and at every tick: is the job due at `now`, given
 * that its last run was at last_run?  Returns 1 when at least one run time
 * fell in (last_run, now] — ONE run however many were missed, so a daemon
 * that was down for a day runs a `10m` job once at start, not 144 times —
 * and 0 when none did.  *ret_next is the first run time after now: when to
 * ask again.  <0 (err set) as zf_schedule_next().
 *
 * last_run == ZF_SCHEDULE_NEVER: nothing was missed, so not due until the
 * first run time after now; a caller that wants a first run at start passes 0.
 * last_run > now (the clock went back): not due before the run time after
 * last_run, so no run time is served twice.
 *
 * "A job never overlaps itself" is the caller's part: while a run is going
 * the caller does not start another, and calls this again when it ends.
 * Passing the time the last run STARTED as last_run coalesces the ticks that
 * came during a long run into one run right after it; passing the time it
 * ended drops them.
 */
_must_check_ int zf_schedule_due(const struct zf_schedule *s, int64_t last_run, int64_t now,
				 int64_t *ret_next, struct zf_err *err);

/* The schedule as parsed, blanks collapsed ("TZ=UTC 0 3 * * *"); for config check and status. */
const char *zf_schedule_text(const struct zf_schedule *s);
