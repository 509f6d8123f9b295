/* tests/unit/test-schedule.c — schedule grammar, next run times (UTC, local, DST), due decision */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "plan/schedule.h"
#include "util/err.h"
#include "util/banned.h"

#define M 60
#define H 3600
#define D 86400

/* Seconds since the epoch of a UTC calendar time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi,
	};
	return (int64_t)timegm(&tm);
}

/* 2026-01-01T00:00:00Z, a Thursday */
#define T0 INT64_C(1767225600)

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Skips the calling test when tzdata lacks the zone. */
#define need_zone(name)                                                                 \
	do {                                                                            \
		if (access("/usr/share/zoneinfo/" name, R_OK) != 0) {                   \
			print_message("no /usr/share/zoneinfo/" name ": skipped\n");    \
			skip();                                                         \
		}                                                                       \
	} while (0)

static struct zf_schedule parse(const char *text)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_schedule s;

	if (zf_schedule_parse(text, &s, &err) < 0)
		fail_msg("parse '%s': %s", text, err.msg);
	return s;
}

static void parse_bad(const char *text, const char *msg)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_schedule s = { .kind = ZF_SCHEDULE_INTERVAL, .interval = 42 };

	if (zf_schedule_parse(text, &s, &err) >= 0)
		fail_msg("parse '%s' succeeded", text);
	assert_int_equal(err.code, -EINVAL);
	if (!streq(err.msg, msg))
		fail_msg("parse '%s':\n  got  %s\n  want %s", text, err.msg, msg);
	assert_null(strchr(err.msg, '\n'));
	/* unchanged on error */
	assert_int_equal(s.kind, ZF_SCHEDULE_INTERVAL);
	assert_int_equal(s.interval, 42);
}

static int64_t next(const char *text, int64_t after)
{
	struct zf_schedule s = parse(text);
	struct zf_err err = ZF_ERR_INIT;
	int64_t t = -1;

	if (zf_schedule_next(&s, after, &t, &err) < 0)
		fail_msg("next '%s' after %" PRId64 ": %s", text, after, err.msg);
	assert_true(t > after);
	return t;
}

/* Asserts the n run times after `after`. */
static void assert_runs(const char *text, int64_t after, const int64_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t t = next(text, after);

		if (t != want[i])
			fail_msg("'%s' run %zu after %" PRId64 ": got %" PRId64 ", want %" PRId64
				 " (%+" PRId64 " s)", text, i, after, t, want[i], t - want[i]);
		after = t;
	}
}

static uint64_t bits(const int *v, size_t n)
{
	uint64_t b = 0;

	for (size_t i = 0; i < n; i++)
		b |= UINT64_C(1) << v[i];
	return b;
}
#define BITS(...) bits((const int[]){ __VA_ARGS__ }, sizeof((int[]){ __VA_ARGS__ }) / sizeof(int))

/* ---- parsing ------------------------------------------------------------- */

static void test_parse_intervals(void **state)
{
	static const struct {
		const char *text;
		int64_t seconds;
		const char *norm;
	} good[] = {
		{ "30s", 30, "30s" },
		{ "10m", 600, "10m" },
		{ "2h", 7200, "2h" },
		{ "1d", 86400, "1d" },
		{ "1w", 604800, "1w" },
		{ "1s", 1, "1s" },
		{ "1h30m", 5400, "1h30m" },
		{ "1w1d2h3m4s", 604800 + 86400 + 7200 + 180 + 4, "1w1d2h3m4s" },
		{ "0h90m", 5400, "0h90m" },
		{ "  10m\t", 600, "10m" },
		{ "007m", 420, "007m" },
		{ "3650d", ZF_SCHEDULE_INTERVAL_MAX, "3650d" },
		{ "3649d24h", ZF_SCHEDULE_INTERVAL_MAX, "3649d24h" },
	};
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		struct zf_schedule s = parse(good[i].text);

		assert_int_equal(s.kind, ZF_SCHEDULE_INTERVAL);
		assert_int_equal(s.interval, good[i].seconds);
		assert_false(s.utc);
		assert_string_equal(zf_schedule_text(&s), good[i].norm);
	}

	struct zf_schedule s = parse("TZ=UTC  10m");
	assert_true(s.utc);
	assert_int_equal(s.interval, 600);
	assert_string_equal(zf_schedule_text(&s), "TZ=UTC 10m");
}

static void test_parse_intervals_bad(void **state)
{
	char long_text[301];
	(void)state;

	parse_bad("", "schedule '': empty");
	parse_bad(" \t ", "schedule ' \t ': empty");
	parse_bad("TZ=UTC", "schedule 'TZ=UTC': empty");
	parse_bad("0m", "schedule '0m': interval: '0m' is zero (at least 1s)");
	parse_bad("0h0m0s", "schedule '0h0m0s': interval: '0h0m0s' is zero (at least 1s)");
	parse_bad("10x", "schedule '10x': interval: unknown unit 'x' (s, m, h, d or w)");
	parse_bad("10min", "schedule '10min': interval: unknown unit 'min' (s, m, h, d or w)");
	parse_bad("10M", "schedule '10M': interval: unknown unit 'M' (s, m, h, d or w)");
	parse_bad("1hm", "schedule '1hm': interval: unknown unit 'hm' (s, m, h, d or w)");
	parse_bad("10", "schedule '10': interval: '10' lacks a unit (s, m, h, d or w)");
	parse_bad("1h30", "schedule '1h30': interval: '30' lacks a unit (s, m, h, d or w)");
	parse_bad("1h-5m", "schedule '1h-5m': interval: expected a number at '-5m'");
	parse_bad("30m1h",
		  "schedule '30m1h': interval: unit 'h' after 'm' (largest first, each once)");
	parse_bad("1m1m",
		  "schedule '1m1m': interval: unit 'm' after 'm' (largest first, each once)");
	parse_bad("3651d", "schedule '3651d': interval: too large (at most 3650d)");
	parse_bad("3650d1s", "schedule '3650d1s': interval: too large (at most 3650d)");
	parse_bad("99999999999999999999s",
		  "schedule '99999999999999999999s': interval: too large (at most 3650d)");
	parse_bad("9223372036854775807w",
		  "schedule '9223372036854775807w': interval: too large (at most 3650d)");
	parse_bad("522w", "schedule '522w': interval: too large (at most 3650d)");
	parse_bad("521w4d", "schedule '521w4d': interval: too large (at most 3650d)");
	parse_bad("10%", "schedule '10%': interval: unknown unit '%' (s, m, h, d or w)");
	parse_bad("TZ=Europe/Berlin 10m", "schedule 'TZ=Europe/Berlin 10m': 'TZ=Europe/Berlin': "
		  "only TZ=UTC is known (local time is the default)");
	parse_bad("TZ= 10m", "schedule 'TZ= 10m': 'TZ=': only TZ=UTC is known (local time is "
		  "the default)");
	parse_bad("10m\n", "schedule: control character at byte 4");
	parse_bad("1\x7fm", "schedule: control character at byte 2");
	memset(long_text, 'a', 300);
	long_text[300] = '\0';
	parse_bad(long_text, "schedule: too long (300 bytes, at most 255)");
}

static void test_parse_cron(void **state)
{
	struct zf_schedule s;
	(void)state;

	s = parse("*/15 * * * *");
	assert_int_equal(s.kind, ZF_SCHEDULE_CRON);
	assert_false(s.utc);
	assert_true(s.minutes == BITS(0, 15, 30, 45));
	assert_true(s.hours == (UINT32_C(1) << 24) - 1);
	assert_true(s.mdays == ((UINT32_C(1) << 31) - 1) << 1);
	assert_true(s.months == ((1u << 12) - 1) << 1);
	assert_true(s.wdays == 0x7f);
	assert_false(s.mdays_restricted);
	assert_false(s.wdays_restricted);

	s = parse("0 9-17 * * mon-fri");
	assert_true(s.minutes == 1);
	assert_true(s.hours == BITS(9, 10, 11, 12, 13, 14, 15, 16, 17));
	assert_true(s.wdays == BITS(1, 2, 3, 4, 5));
	assert_true(s.wdays_restricted);

	s = parse("5/20 0-23/6 1,15 * *");
	assert_true(s.minutes == BITS(5, 25, 45));
	assert_true(s.hours == BITS(0, 6, 12, 18));
	assert_true(s.mdays == BITS(1, 15));
	assert_true(s.mdays_restricted);

	s = parse("0-30/10,59 9-17/4 * JAN,jul,Dec *");
	assert_true(s.minutes == BITS(0, 10, 20, 30, 59));
	assert_true(s.hours == BITS(9, 13, 17));
	assert_true(s.months == BITS(1, 7, 12));

	s = parse("0 0 * mar-may,11 *");
	assert_true(s.months == BITS(3, 4, 5, 11));

	/* 0 and 7 are Sunday; a range may end at 7 */
	assert_true(parse("0 0 * * 7").wdays == 1);
	assert_true(parse("0 0 * * 0").wdays == 1);
	assert_true(parse("0 0 * * SUN").wdays == 1);
	assert_true(parse("0 0 * * fri-7").wdays == BITS(0, 5, 6));
	assert_true(parse("0 0 * * 1-7/2").wdays == BITS(0, 1, 3, 5));
	assert_true(parse("0 0 * * */2").wdays == BITS(0, 2, 4, 6));
	assert_true(parse("0 0 * * 2/2").wdays == BITS(2, 4, 6));
	assert_true(parse("0 0 * * 7/3").wdays == 1);
	assert_false(parse("0 0 * * 0-7").wdays_restricted);
	assert_false(parse("0 0 * * sun-sat").wdays_restricted);

	/* restricted means "not the whole range", however written */
	assert_false(parse("0 0 */1 * *").mdays_restricted);
	assert_false(parse("0 0 1-31 * *").mdays_restricted);
	assert_true(parse("0 0 */2 * *").mdays_restricted);
	assert_true(parse("0 0 */2 * *").mdays ==
		    BITS(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31));

	/* leading zeros, one-value steps, a day only leap years have */
	assert_true(parse("007 00 * * *").minutes == BITS(7));
	assert_true(parse("0 0 29 2 *").mdays == BITS(29));
	assert_true(parse("0 0 31 2 mon").wdays == BITS(1));   /* either matches: Mondays */

	/* aliases, blanks collapsed, TZ=UTC in either case */
	s = parse("@hourly");
	assert_true(s.minutes == 1 && s.hours == (UINT32_C(1) << 24) - 1);
	s = parse("@daily");
	assert_true(s.minutes == 1 && s.hours == 1 && !s.mdays_restricted);
	assert_true(parse("@midnight").hours == 1);
	assert_true(parse("@weekly").wdays == 1);
	assert_true(parse("@monthly").mdays == BITS(1));
	assert_true(parse("@yearly").months == BITS(1));
	assert_true(parse("@ANNUALLY").months == BITS(1));
	s = parse("TZ=utc\t0  3 *\t* *  ");
	assert_true(s.utc);
	assert_string_equal(zf_schedule_text(&s), "TZ=utc 0 3 * * *");
	s = parse(" @daily ");
	assert_string_equal(zf_schedule_text(&s), "@daily");
}

static void test_parse_cron_bad(void **state)
{
	(void)state;

	parse_bad("*/0 * * * *", "schedule '*/0 * * * *': minute: step 0");
	parse_bad("*/ * * * *", "schedule '*/ * * * *': minute: missing step after '/'");
	parse_bad("*/x * * * *", "schedule '*/x * * * *': minute: bad step 'x'");
	parse_bad("*/60 * * * *",
		  "schedule '*/60 * * * *': minute: step 60 too large (at most 59)");
	parse_bad("*/99999999999 * * * *",
		  "schedule '*/99999999999 * * * *': minute: step 99999999999 too large "
		  "(at most 59)");
	parse_bad("0 */24 * * *", "schedule '0 */24 * * *': hour: step 24 too large (at most 23)");
	parse_bad("0 0 */31 * *",
		  "schedule '0 0 */31 * *': day-of-month: step 31 too large (at most 30)");
	parse_bad("0 0 * */12 *", "schedule '0 0 * */12 *': month: step 12 too large (at most 11)");
	parse_bad("0 0 * * */7",
		  "schedule '0 0 * * */7': day-of-week: step 7 too large (at most 6)");
	parse_bad("60 * * * *", "schedule '60 * * * *': minute: 60 out of range 0-59");
	parse_bad("0 24 * * *", "schedule '0 24 * * *': hour: 24 out of range 0-23");
	parse_bad("0 99999999999 * * *",
		  "schedule '0 99999999999 * * *': hour: 99999999999 out of range 0-23");
	parse_bad("0 0 0 * *", "schedule '0 0 0 * *': day-of-month: 0 out of range 1-31");
	parse_bad("0 0 32 * *", "schedule '0 0 32 * *': day-of-month: 32 out of range 1-31");
	parse_bad("0 0 * 0 *", "schedule '0 0 * 0 *': month: 0 out of range 1-12");
	parse_bad("0 0 * 13 *", "schedule '0 0 * 13 *': month: 13 out of range 1-12");
	parse_bad("0 0 * * 8", "schedule '0 0 * * 8': day-of-week: 8 out of range 0-7");
	parse_bad("0 0 * foo *", "schedule '0 0 * foo *': month: unknown name 'foo'");
	parse_bad("0 0 * january *", "schedule '0 0 * january *': month: unknown name 'january'");
	parse_bad("0 0 * * mon-foo", "schedule '0 0 * * mon-foo': day-of-week: unknown name 'foo'");
	parse_bad("0 0 * * jan", "schedule '0 0 * * jan': day-of-week: unknown name 'jan'");
	parse_bad("0 0 * mon *", "schedule '0 0 * mon *': month: unknown name 'mon'");
	parse_bad("0 jan * * *", "schedule '0 jan * * *': hour: bad value 'jan'");
	parse_bad("x * * * *", "schedule 'x * * * *': minute: bad value 'x'");
	parse_bad("5x * * * *", "schedule '5x * * * *': minute: bad value '5x'");
	parse_bad("*-5 * * * *", "schedule '*-5 * * * *': minute: bad value '*'");
	parse_bad("** * * * *", "schedule '** * * * *': minute: bad value '**'");
	parse_bad("1-2-3 * * * *", "schedule '1-2-3 * * * *': minute: bad value '2-3'");
	parse_bad("1,,2 * * * *", "schedule '1,,2 * * * *': minute: empty item in '1,,2'");
	parse_bad(",1 * * * *", "schedule ',1 * * * *': minute: empty item in ',1'");
	parse_bad("0 1, * * *", "schedule '0 1, * * *': hour: empty item in '1,'");
	parse_bad("5-3 * * * *", "schedule '5-3 * * * *': minute: range '5-3' is reversed");
	parse_bad("0 0 * dec-jan *",
		  "schedule '0 0 * dec-jan *': month: range 'dec-jan' is reversed");
	parse_bad("-3 * * * *", "schedule '-3 * * * *': minute: bad item '-3'");
	parse_bad("3- * * * *", "schedule '3- * * * *': minute: bad item '3-'");
	parse_bad("/5 * * * *", "schedule '/5 * * * *': minute: bad item '/5'");
	parse_bad("* * * *", "schedule '* * * *': expected 5 cron fields (minute hour day-of-month "
		  "month day-of-week), got 4");
	parse_bad("* * * * * *", "schedule '* * * * * *': expected 5 cron fields (minute hour "
		  "day-of-month month day-of-week), got 6");
	parse_bad("1h 30m", "schedule '1h 30m': expected 5 cron fields (minute hour day-of-month "
		  "month day-of-week), got 2");
	parse_bad("* * * * * * * * *", "schedule '* * * * * * * * *': expected 5 cron fields "
		  "(minute hour day-of-month month day-of-week), got 9");
	parse_bad("*", "schedule '*': expected an interval (10m) or 5 cron fields, got '*'");
	parse_bad("TZ=UTC m", "schedule 'TZ=UTC m': expected an interval (10m) or 5 cron fields, "
		  "got 'm'");
	parse_bad("@often", "schedule '@often': unknown alias '@often' (@hourly, @daily, @weekly, "
		  "@monthly or @yearly)");
	/* impossible: refused up front rather than searched for */
	parse_bad("0 0 31 2 *",
		  "schedule '0 0 31 2 *': day-of-month '31' never occurs in month '2'");
	parse_bad("0 0 30,31 feb *",
		  "schedule '0 0 30,31 feb *': day-of-month '30,31' never occurs in month 'feb'");
	parse_bad("0 0 31 4,6,9,11 *",
		  "schedule '0 0 31 4,6,9,11 *': day-of-month '31' never occurs in month "
		  "'4,6,9,11'");
	parse_bad("TZ=UTC 0 0 31 2 *",
		  "schedule 'TZ=UTC 0 0 31 2 *': day-of-month '31' never occurs in month '2'");
}

/* ---- next: intervals ------------------------------------------------------- */

static void test_next_interval(void **state)
{
	(void)state;

	/* aligned to the epoch, strictly after */
	assert_int_equal(next("10m", T0), T0 + 10 * M);
	assert_int_equal(next("10m", T0 + 1), T0 + 10 * M);
	assert_int_equal(next("10m", T0 + 10 * M - 1), T0 + 10 * M);
	assert_int_equal(next("10m", T0 + 10 * M), T0 + 20 * M);
	assert_int_equal(next("1s", T0), T0 + 1);
	assert_int_equal(next("10m", 0), 600);
	assert_int_equal(next("7m", T0), (T0 / 420 + 1) * 420);
	assert_int_equal(next("1h30m", T0 + 1), (T0 / 5400 + 1) * 5400);
	assert_int_equal(next("1d", T0 + 5 * H), T0 + D);
	assert_int_equal(next("1w", 0), 604800);

	/* no time zone: the same in UTC mode and under any TZ */
	set_tz("America/St_Johns");     /* UTC-3:30 */
	assert_int_equal(next("1h", T0 + 1), T0 + H);
	assert_int_equal(next("1d", T0 + 1), T0 + D);
	assert_int_equal(next("TZ=UTC 1d", T0 + 1), T0 + D);
	set_tz("UTC");
}

static void test_interval_across_dst(void **state)
{
	int64_t want[48];
	(void)state;

	need_zone("Europe/Berlin");
	set_tz("Europe/Berlin");
	/* the spring and autumn changes of 2026: one run every 3600 s through both */
	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		want[i] = utc(2026, 3, 28, 12, 0) + (int64_t)(i + 1) * H;
	assert_runs("1h", utc(2026, 3, 28, 12, 0), want, ELEMENTSOF(want));
	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		want[i] = utc(2026, 10, 24, 12, 0) + (int64_t)(i + 1) * H;
	assert_runs("1h", utc(2026, 10, 24, 12, 0), want, ELEMENTSOF(want));
	set_tz("UTC");
}

/* ---- next: cron in UTC ----------------------------------------------------- */

static void test_next_cron_minutes_hours(void **state)
{
	(void)state;

	assert_int_equal(next("TZ=UTC * * * * *", T0), T0 + M);
	assert_int_equal(next("TZ=UTC * * * * *", T0 + 30), T0 + M);
	assert_int_equal(next("TZ=UTC * * * * *", T0 + M - 1), T0 + M);

	int64_t t = utc(2026, 5, 4, 10, 7);
	assert_int_equal(next("TZ=UTC */15 * * * *", t), utc(2026, 5, 4, 10, 15));
	assert_int_equal(next("TZ=UTC */15 * * * *", utc(2026, 5, 4, 10, 15)),
			 utc(2026, 5, 4, 10, 30));
	assert_int_equal(next("TZ=UTC */15 * * * *", utc(2026, 5, 4, 10, 59) + 59),
			 utc(2026, 5, 4, 11, 0));
	assert_int_equal(next("TZ=UTC 5/20 * * * *", utc(2026, 5, 4, 10, 45)),
			 utc(2026, 5, 4, 11, 5));

	const int64_t range[] = {
		utc(2026, 5, 4, 9, 0), utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 17, 0),
		utc(2026, 5, 5, 9, 0),
	};
	assert_runs("TZ=UTC 0 9-17/4 * * *", utc(2026, 5, 4, 8, 59), range, ELEMENTSOF(range));
	assert_int_equal(next("TZ=UTC 0 9-17 * * *", utc(2026, 5, 4, 17, 0)),
			 utc(2026, 5, 5, 9, 0));
	assert_int_equal(next("TZ=UTC 30 23 * * *", utc(2026, 5, 4, 23, 30)),
			 utc(2026, 5, 5, 23, 30));
}

static void test_next_cron_names(void **state)
{
	(void)state;

	/* 2026-01-01 is a Thursday: Sunday the 4th, Monday the 5th */
	assert_int_equal(next("TZ=UTC 0 12 * * mon", T0), utc(2026, 1, 5, 12, 0));
	assert_int_equal(next("TZ=UTC 0 12 * * sun", T0), utc(2026, 1, 4, 12, 0));
	assert_int_equal(next("TZ=UTC 0 12 * * 7", T0), utc(2026, 1, 4, 12, 0));
	assert_int_equal(next("TZ=UTC 0 12 * * 0", T0), utc(2026, 1, 4, 12, 0));
	assert_int_equal(next("TZ=UTC 0 12 * * Thu", T0), utc(2026, 1, 1, 12, 0));
	const int64_t weekdays[] = {
		utc(2026, 1, 1, 8, 0), utc(2026, 1, 2, 8, 0), utc(2026, 1, 5, 8, 0),
		utc(2026, 1, 6, 8, 0),
	};
	assert_runs("TZ=UTC 0 8 * * mon-fri", T0, weekdays, ELEMENTSOF(weekdays));

	const int64_t months[] = {
		utc(2026, 7, 1, 0, 0), utc(2027, 1, 1, 0, 0), utc(2027, 7, 1, 0, 0),
	};
	assert_runs("TZ=UTC 0 0 1 jan,JUL *", utc(2026, 2, 1, 0, 0), months, ELEMENTSOF(months));
	assert_int_equal(next("TZ=UTC 0 0 * mar-may *", T0), utc(2026, 3, 1, 0, 0));
	assert_int_equal(next("TZ=UTC 0 0 * mar-may *", utc(2026, 5, 31, 0, 0)),
			 utc(2027, 3, 1, 0, 0));
	/* a month and a weekday: Mondays of February */
	assert_int_equal(next("TZ=UTC 0 0 * feb mon", T0), utc(2026, 2, 2, 0, 0));
}

static void test_next_cron_dom_or_dow(void **state)
{
	(void)state;

	/* both restricted: either matches */
	const int64_t either[] = {
		utc(2026, 1, 2, 0, 0),  /* Friday */
		utc(2026, 1, 9, 0, 0),  /* Friday */
		utc(2026, 1, 13, 0, 0), /* the 13th, a Tuesday */
		utc(2026, 1, 16, 0, 0), /* Friday */
	};
	assert_runs("TZ=UTC 0 0 13 * fri", T0, either, ELEMENTSOF(either));
	/* a star with a step restricts day-of-month here (Vixie cron would AND) */
	const int64_t odd_or_monday[] = {
		utc(2026, 1, 3, 0, 0), utc(2026, 1, 5, 0, 0), utc(2026, 1, 7, 0, 0),
	};
	assert_runs("TZ=UTC 0 0 */2 * mon", T0, odd_or_monday, ELEMENTSOF(odd_or_monday));
	assert_int_equal(next("TZ=UTC 0 0 */2 * mon", utc(2026, 1, 31, 0, 0)),
			 utc(2026, 2, 1, 0, 0));
	assert_int_equal(next("TZ=UTC 0 0 */2 * mon", utc(2026, 2, 1, 0, 0)),
			 utc(2026, 2, 2, 0, 0));  /* Monday, even day */
	/* day-of-month unrestricted, however written: only the weekday counts */
	const int64_t mondays[] = { utc(2026, 1, 5, 0, 0), utc(2026, 1, 12, 0, 0) };
	assert_runs("TZ=UTC 0 0 * * mon", T0, mondays, ELEMENTSOF(mondays));
	assert_runs("TZ=UTC 0 0 1-31 * mon", T0, mondays, ELEMENTSOF(mondays));
	assert_runs("TZ=UTC 0 0 */1 * mon", T0, mondays, ELEMENTSOF(mondays));
	/* weekday unrestricted: only the day of month counts */
	assert_int_equal(next("TZ=UTC 0 0 13 * 0-7", T0), utc(2026, 1, 13, 0, 0));
	/* Feb 31 with a weekday: the weekday alone */
	assert_int_equal(next("TZ=UTC 0 0 31 2 mon", T0), utc(2026, 2, 2, 0, 0));
}

static void test_next_cron_month_ends_leap(void **state)
{
	(void)state;

	const int64_t the31st[] = {
		utc(2026, 1, 31, 0, 0), utc(2026, 3, 31, 0, 0), utc(2026, 5, 31, 0, 0),
		utc(2026, 7, 31, 0, 0), utc(2026, 8, 31, 0, 0), utc(2026, 10, 31, 0, 0),
		utc(2026, 12, 31, 0, 0), utc(2027, 1, 31, 0, 0),
	};
	assert_runs("TZ=UTC 0 0 31 * *", T0, the31st, ELEMENTSOF(the31st));
	assert_int_equal(next("TZ=UTC 0 0 30 * *", utc(2026, 1, 30, 0, 0)),
			 utc(2026, 3, 30, 0, 0));
	assert_int_equal(next("TZ=UTC 0 0 29 * *", utc(2026, 1, 29, 0, 0)),
			 utc(2026, 3, 29, 0, 0));
	assert_int_equal(next("TZ=UTC 0 0 29 * *", utc(2028, 1, 29, 0, 0)),
			 utc(2028, 2, 29, 0, 0));

	/* Feb 29: leap years only, and 2100 is not one (eight years) */
	const int64_t feb29[] = {
		utc(2028, 2, 29, 12, 0), utc(2032, 2, 29, 12, 0), utc(2036, 2, 29, 12, 0),
	};
	assert_runs("TZ=UTC 0 12 29 2 *", T0, feb29, ELEMENTSOF(feb29));
	assert_int_equal(next("TZ=UTC 0 12 29 feb *", utc(2096, 2, 29, 12, 0)),
			 utc(2104, 2, 29, 12, 0));
	assert_int_equal(next("TZ=UTC 0 12 29 feb *", utc(2399, 1, 1, 0, 0)),
			 utc(2400, 2, 29, 12, 0));
	assert_int_equal(next("TZ=UTC 0 0 1 3 *", utc(2028, 2, 28, 0, 0)), utc(2028, 3, 1, 0, 0));

	/* year rollover */
	assert_int_equal(next("TZ=UTC 59 23 31 12 *", utc(2026, 12, 31, 23, 59)),
			 utc(2027, 12, 31, 23, 59));
	assert_int_equal(next("TZ=UTC 0 0 1 1 *", utc(2026, 12, 31, 23, 59) + 59),
			 utc(2027, 1, 1, 0, 0));
	assert_int_equal(next("TZ=UTC * * * * *", utc(2026, 12, 31, 23, 59)),
			 utc(2027, 1, 1, 0, 0));
	assert_int_equal(next("TZ=UTC @yearly", T0), utc(2027, 1, 1, 0, 0));
	assert_int_equal(next("TZ=UTC @monthly", T0), utc(2026, 2, 1, 0, 0));
	assert_int_equal(next("TZ=UTC @weekly", T0), utc(2026, 1, 4, 0, 0));
	assert_int_equal(next("TZ=UTC @hourly", T0 + 1), T0 + H);
}

/* Does UTC minute t match s?  Written apart from the library, for the cross-check. */
static bool naive_match(const struct zf_schedule *s, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	bool md, wd;

	gmtime_r(&tt, &tm);
	md = s->mdays >> tm.tm_mday & 1;
	wd = s->wdays >> tm.tm_wday & 1;
	return (s->minutes >> tm.tm_min & 1) && (s->hours >> tm.tm_hour & 1) &&
	       (s->months >> (tm.tm_mon + 1) & 1) &&
	       (s->mdays_restricted && s->wdays_restricted ? md || wd : md && wd);
}

/* next() against a minute-by-minute scan, over two months of starts. */
static void test_next_cron_cross_check(void **state)
{
	static const char *const exprs[] = {
		"TZ=UTC 7 */5 * * *",
		"TZ=UTC 0,30 8-18/2 * * mon-fri",
		"TZ=UTC 15 3 1,15,31 * *",
		"TZ=UTC 0 0 */3 * sat",
		"TZ=UTC 45 23 * jan,feb,mar sun",
		"TZ=UTC 0 12 28-31 * *",
	};
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(exprs); i++) {
		struct zf_schedule s = parse(exprs[i]);

		for (int64_t after = utc(2027, 12, 30, 0, 0) + 17; after < utc(2028, 3, 2, 0, 0);
		     after += 17 * H + 13 * M + 11) {
			int64_t want = (after / M + 1) * M;

			while (!naive_match(&s, want))
				want += M;
			if (next(exprs[i], after) != want)
				fail_msg("'%s' after %" PRId64 ": got %" PRId64 ", want %" PRId64,
					 exprs[i], after, next(exprs[i], after), want);
		}
	}
}

/* ---- next: cron in local time --------------------------------------------- */

static void test_utc_ignores_tz(void **state)
{
	static const char *const zones[] = { "UTC", "Europe/Berlin", "America/New_York",
					     "Asia/Kolkata" };
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(zones); i++) {
		char path[128];

		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zones[i]);
		if (access(path, R_OK) != 0)
			continue;
		set_tz(zones[i]);
		assert_int_equal(next("TZ=UTC 0 3 * * *", utc(2026, 3, 28, 12, 0)),
				 utc(2026, 3, 29, 3, 0));
		assert_int_equal(next("TZ=UTC 30 2 * * *", utc(2026, 3, 28, 12, 0)),
				 utc(2026, 3, 29, 2, 30));
		assert_int_equal(next("TZ=UTC 30 2 * * *", utc(2026, 10, 25, 2, 30)),
				 utc(2026, 10, 26, 2, 30));
		assert_int_equal(next("TZ=UTC 0 0 1 * *", T0), utc(2026, 2, 1, 0, 0));
	}
	set_tz("UTC");
}

static void test_local_basic(void **state)
{
	(void)state;

	need_zone("Europe/Berlin");
	set_tz("Europe/Berlin");
	/* CET is UTC+1 in winter, CEST UTC+2 in summer */
	assert_int_equal(next("0 3 * * *", T0), utc(2026, 1, 1, 2, 0));
	assert_int_equal(next("0 3 * * *", utc(2026, 7, 1, 0, 0)), utc(2026, 7, 1, 1, 0));
	/* local midnight on New Year is 23:00 UTC the day before */
	assert_int_equal(next("0 0 1 1 *", T0), utc(2026, 12, 31, 23, 0));
	assert_int_equal(next("@daily", utc(2026, 1, 1, 22, 59)), utc(2026, 1, 1, 23, 0));
	/* the local weekday and day, not UTC's: Monday 00:30 local is Sunday in UTC */
	assert_int_equal(next("30 0 * * mon", T0), utc(2026, 1, 4, 23, 30));
	assert_int_equal(next("30 0 5 * *", T0), utc(2026, 1, 4, 23, 30));

	need_zone("Asia/Kolkata");
	set_tz("Asia/Kolkata");        /* UTC+5:30, no DST */
	assert_int_equal(next("0 * * * *", T0), T0 + 30 * M);
	assert_int_equal(next("0 6 * * *", T0), utc(2026, 1, 1, 0, 30));
	set_tz("UTC");
}

/* Berlin, 2026-03-29: at 01:00 UTC the clock goes from 02:00 CET to 03:00 CEST. */
static void test_dst_spring(void **state)
{
	(void)state;

	need_zone("Europe/Berlin");
	set_tz("Europe/Berlin");
	int64_t jump = utc(2026, 3, 29, 1, 0);

	/* a skipped time runs once at the change, the days around it as usual */
	const int64_t daily[] = {
		utc(2026, 3, 28, 1, 30),        /* 02:30 CET */
		jump,                           /* 02:30 does not exist: 03:00 CEST */
		utc(2026, 3, 30, 0, 30),        /* 02:30 CEST */
	};
	assert_runs("30 2 * * *", utc(2026, 3, 27, 12, 0), daily, ELEMENTSOF(daily));
	assert_int_equal(next("0 2 * * *", utc(2026, 3, 28, 12, 0)), jump);
	assert_int_equal(next("59 2 * * *", utc(2026, 3, 28, 12, 0)), jump);

	/* every quarter hour: the skipped hour is one run at 03:00 */
	const int64_t quarters[] = {
		utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 0, 45),       /* 01:30, 01:45 CET */
		jump,                                                   /* 03:00 CEST */
		utc(2026, 3, 29, 1, 15), utc(2026, 3, 29, 1, 30),       /* 03:15, 03:30 CEST */
	};
	assert_runs("*/15 * * * *", utc(2026, 3, 29, 0, 15), quarters, ELEMENTSOF(quarters));
	/* asked from inside the change's minute and from just before it */
	assert_int_equal(next("*/15 * * * *", jump - 1), jump);
	assert_int_equal(next("*/15 * * * *", jump), jump + 15 * M);

	/* two times of one day, one in the gap: two runs */
	const int64_t two[] = { jump, utc(2026, 3, 29, 1, 30) };
	assert_runs("30 2,3 * * *", utc(2026, 3, 29, 0, 0), two, ELEMENTSOF(two));
	/* times outside the gap are untouched */
	assert_int_equal(next("0 3 * * *", utc(2026, 3, 28, 12, 0)), jump);
	assert_int_equal(next("0 1 * * *", utc(2026, 3, 28, 12, 0)), utc(2026, 3, 29, 0, 0));
	assert_int_equal(next("0 4 * * *", utc(2026, 3, 28, 12, 0)), utc(2026, 3, 29, 2, 0));
	set_tz("UTC");
}

/* Berlin, 2026-10-25: at 01:00 UTC the clock goes from 03:00 CEST back to 02:00 CET. */
static void test_dst_autumn(void **state)
{
	(void)state;

	need_zone("Europe/Berlin");
	set_tz("Europe/Berlin");
	int64_t back = utc(2026, 10, 25, 1, 0);

	/* a repeated time runs once, at its first occurrence */
	const int64_t daily[] = {
		utc(2026, 10, 24, 0, 30),       /* 02:30 CEST */
		utc(2026, 10, 25, 0, 30),       /* 02:30 CEST, not again at 02:30 CET */
		utc(2026, 10, 26, 1, 30),       /* 02:30 CET */
	};
	assert_runs("30 2 * * *", utc(2026, 10, 23, 12, 0), daily, ELEMENTSOF(daily));

	/* every quarter hour: 02:00-02:45 once (CEST), then 03:00 CET */
	const int64_t quarters[] = {
		utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 15),      /* 02:00, 02:15 CEST */
		utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 45),     /* 02:30, 02:45 CEST */
		utc(2026, 10, 25, 2, 0), utc(2026, 10, 25, 2, 15),      /* 03:00, 03:15 CET */
	};
	assert_runs("*/15 * * * *", utc(2026, 10, 24, 23, 50), quarters, ELEMENTSOF(quarters));
	/* asked during the repeated hour: nothing until 03:00 CET */
	assert_int_equal(next("*/15 * * * *", back), utc(2026, 10, 25, 2, 0));
	assert_int_equal(next("*/15 * * * *", back + 10 * M), utc(2026, 10, 25, 2, 0));
	assert_int_equal(next("*/15 * * * *", back - 1), utc(2026, 10, 25, 2, 0));
	/* hourly: 02:00 CEST, then 03:00 CET */
	const int64_t hourly[] = {
		utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 0),
		utc(2026, 10, 25, 3, 0),
	};
	assert_runs("0 * * * *", utc(2026, 10, 24, 22, 30), hourly, ELEMENTSOF(hourly));
	/* times outside the fold are untouched */
	assert_int_equal(next("0 3 * * *", utc(2026, 10, 24, 12, 0)), utc(2026, 10, 25, 2, 0));
	assert_int_equal(next("0 1 * * *", utc(2026, 10, 24, 12, 0)), utc(2026, 10, 24, 23, 0));
	set_tz("UTC");
}

/* New York changes at 02:00 local, the other side of UTC: the same rules. */
static void test_dst_new_york(void **state)
{
	(void)state;

	need_zone("America/New_York");
	set_tz("America/New_York");
	/* 2026-03-08 02:00 EST -> 03:00 EDT at 07:00 UTC */
	assert_int_equal(next("30 2 * * *", utc(2026, 3, 7, 12, 0)), utc(2026, 3, 8, 7, 0));
	/* 2026-11-01 02:00 EDT -> 01:00 EST at 06:00 UTC; 01:30 EDT first */
	assert_int_equal(next("30 1 * * *", utc(2026, 10, 31, 12, 0)), utc(2026, 11, 1, 5, 30));
	assert_int_equal(next("30 1 * * *", utc(2026, 11, 1, 5, 30)), utc(2026, 11, 2, 6, 30));
	set_tz("UTC");
}

/* Does civil time tm match s?  The weekday is tm's own. */
static bool civil_match(const struct zf_schedule *s, const struct tm *tm)
{
	bool md = s->mdays >> tm->tm_mday & 1, wd = s->wdays >> tm->tm_wday & 1;

	return (s->minutes >> tm->tm_min & 1) && (s->hours >> tm->tm_hour & 1) &&
	       (s->months >> (tm->tm_mon + 1) & 1) &&
	       (s->mdays_restricted && s->wdays_restricted ? md || wd : md && wd);
}

static void local_tm(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	localtime_r(&tt, tm);
}

/* The civil time of tm as seconds, as if it were UTC. */
static int64_t civil_seconds(const struct tm *tm)
{
	struct tm c = *tm;

	return (int64_t)timegm(&c);
}

/*
 * Is the UTC minute t a local run time of s, by brute force and the header's
 * rules: it matches and is the first occurrence of its civil time, or the
 * clock jumped just before t over a civil minute that matches.
 */
static bool naive_local_run(const struct zf_schedule *s, int64_t t)
{
	struct tm now, prev, earlier;
	int64_t lp, ln;

	local_tm(t, &now);
	local_tm(t - M, &prev);
	lp = civil_seconds(&prev);
	ln = civil_seconds(&now);
	for (int64_t x = lp + M; x < ln; x += M) {
		struct tm skipped;
		time_t xt = (time_t)x;

		gmtime_r(&xt, &skipped);
		if (civil_match(s, &skipped))
			return true;
	}
	if (!civil_match(s, &now))
		return false;
	for (int k = 1; k <= 2; k++) {
		local_tm(t - k * H, &earlier);
		if (civil_seconds(&earlier) == ln)
			return false;
	}
	return true;
}

static void check_local(const struct zf_schedule *s, const char *zone, const char *text,
			int64_t after)
{
	int64_t want = (after / M + 1) * M, got = next(text, after);

	while (!naive_local_run(s, want))
		want += M;
	if (got != want)
		fail_msg("%s '%s' after %" PRId64 ": got %" PRId64 ", want %" PRId64, zone, text,
			 after, got, want);
}

/* next() in local time against the brute force, around a zone's two changes of 2026. */
static void cross_check_local(const char *zone, int64_t spring, int64_t autumn)
{
	static const char *const exprs[] = {
		"*/15 * * * *", "30 2 * * *", "0 * * * *", "5,35 1-3 * * *", "59 1 * * *",
		"0 3 * * *", "0 2 * * sun",
	};
	const int64_t around[] = { spring, autumn };

	set_tz(zone);
	for (size_t i = 0; i < ELEMENTSOF(exprs); i++) {
		struct zf_schedule s = parse(exprs[i]);

		for (size_t j = 0; j < ELEMENTSOF(around); j++) {
			int64_t end = around[j] + 10 * H, step = 47 * M + 13;

			for (int64_t after = around[j] - 14 * H + 7; after < end; after += step)
				check_local(&s, zone, exprs[i], after);
		}
	}
	set_tz("UTC");
}

static void test_dst_cross_check(void **state)
{
	(void)state;

	need_zone("Europe/Berlin");
	cross_check_local("Europe/Berlin", utc(2026, 3, 29, 1, 0), utc(2026, 10, 25, 1, 0));
	need_zone("America/New_York");
	cross_check_local("America/New_York", utc(2026, 3, 8, 7, 0), utc(2026, 11, 1, 6, 0));
}

/* ---- the due decision ------------------------------------------------------ */

static int due(const char *text, int64_t last_run, int64_t now, int64_t *ret_next)
{
	struct zf_schedule s = parse(text);
	struct zf_err err = ZF_ERR_INIT;
	int r = zf_schedule_due(&s, last_run, now, ret_next, &err);

	if (r < 0)
		fail_msg("due '%s' %" PRId64 " %" PRId64 ": %s", text, last_run, now, err.msg);
	return r;
}

static void test_due(void **state)
{
	int64_t n = -1;
	(void)state;

	/* within an interval: not due, ask again at the tick */
	assert_int_equal(due("10m", T0, T0 + 5 * M, &n), 0);
	assert_int_equal(n, T0 + 10 * M);
	/* at the tick, and a little late */
	assert_int_equal(due("10m", T0, T0 + 10 * M, &n), 1);
	assert_int_equal(n, T0 + 20 * M);
	assert_int_equal(due("10m", T0, T0 + 10 * M + 3, &n), 1);
	assert_int_equal(n, T0 + 20 * M);
	/* just ran */
	assert_int_equal(due("10m", T0 + 10 * M, T0 + 10 * M, &n), 0);
	assert_int_equal(n, T0 + 20 * M);

	/* down for a day: 144 ticks missed, one run at start, then the regular ticks */
	int64_t start = T0 + D + 7 * M + 12;
	assert_int_equal(due("10m", T0, start, &n), 1);
	assert_int_equal(n, T0 + D + 10 * M);
	assert_int_equal(due("10m", start, start + 1, &n), 0);
	assert_int_equal(n, T0 + D + 10 * M);
	assert_int_equal(due("10m", start, T0 + D + 10 * M, &n), 1);

	/* never ran: nothing missed, wait for the first tick; 0 asks for a run at start */
	assert_int_equal(due("10m", ZF_SCHEDULE_NEVER, T0 + 3, &n), 0);
	assert_int_equal(n, T0 + 10 * M);
	assert_int_equal(due("10m", 0, T0 + 3, &n), 1);
	assert_int_equal(n, T0 + 10 * M);

	/* the clock went back an hour: nothing runs twice */
	assert_int_equal(due("10m", T0 + 2 * H, T0 + H, &n), 0);
	assert_int_equal(n, T0 + 2 * H + 10 * M);

	/* the caller's no-overlap contract: a run from T0 to T0+25m */
	assert_int_equal(due("10m", T0, T0 + 25 * M, &n), 1);      /* last_run = its start */
	assert_int_equal(n, T0 + 30 * M);
	assert_int_equal(due("10m", T0 + 25 * M, T0 + 25 * M, &n), 0); /* = its end */
	assert_int_equal(n, T0 + 30 * M);

	/* cron: three nights down, one run */
	assert_int_equal(due("TZ=UTC 0 3 * * *", utc(2026, 1, 1, 3, 0), utc(2026, 1, 4, 9, 0), &n),
			 1);
	assert_int_equal(n, utc(2026, 1, 5, 3, 0));
	assert_int_equal(due("TZ=UTC 0 3 * * *", utc(2026, 1, 1, 3, 0), utc(2026, 1, 2, 2, 59),
			     &n), 0);
	assert_int_equal(n, utc(2026, 1, 2, 3, 0));
	assert_int_equal(due("TZ=UTC 0 3 * * *", ZF_SCHEDULE_NEVER, utc(2026, 1, 2, 3, 0), &n), 0);
	assert_int_equal(n, utc(2026, 1, 3, 3, 0));
}

static void test_due_local_dst(void **state)
{
	int64_t n = -1, jump, back;
	(void)state;

	need_zone("Europe/Berlin");
	set_tz("Europe/Berlin");
	/* the skipped 02:30 is due once at the change */
	jump = utc(2026, 3, 29, 1, 0);
	assert_int_equal(due("30 2 * * *", utc(2026, 3, 28, 1, 30), jump - 1, &n), 0);
	assert_int_equal(n, jump);
	assert_int_equal(due("30 2 * * *", utc(2026, 3, 28, 1, 30), jump, &n), 1);
	assert_int_equal(n, utc(2026, 3, 30, 0, 30));
	/* the repeated 02:30 is not due a second time */
	back = utc(2026, 10, 25, 1, 0);
	assert_int_equal(due("30 2 * * *", utc(2026, 10, 25, 0, 30), back + 30 * M, &n), 0);
	assert_int_equal(n, utc(2026, 10, 26, 1, 30));
	set_tz("UTC");
}

/* ---- bounds ---------------------------------------------------------------- */

static void test_bounds(void **state)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_schedule s;
	int64_t t = 42;
	(void)state;

	s = parse("10m");
	assert_int_equal(zf_schedule_next(&s, -1, &t, &err), -ERANGE);
	assert_string_equal(err.msg, "schedule '10m': time -1 out of range");
	zf_err_clear(&err);
	assert_int_equal(zf_schedule_next(&s, ZF_SCHEDULE_TIME_MAX + 1, &t, &err), -ERANGE);
	zf_err_clear(&err);
	assert_int_equal(zf_schedule_next(&s, ZF_SCHEDULE_TIME_MAX, &t, &err), -ERANGE);
	assert_string_equal(err.msg, "schedule '10m': next run after year 9999");
	zf_err_clear(&err);
	assert_int_equal(zf_schedule_due(&s, -5, T0, &t, &err), -ERANGE);
	zf_err_clear(&err);
	assert_int_equal(zf_schedule_due(&s, T0, -5, &t, &err), -ERANGE);
	zf_err_clear(&err);
	assert_int_equal(t, 42);        /* outputs untouched on error */
	assert_int_equal(zf_schedule_next(&s, ZF_SCHEDULE_TIME_MAX - 600, &t, &err), 0);
	assert_int_equal(t, ZF_SCHEDULE_TIME_MAX + 1 - 600);

	/* cron: the last minute of year 9999, then nothing */
	s = parse("TZ=UTC 59 23 31 12 *");
	assert_int_equal(zf_schedule_next(&s, ZF_SCHEDULE_TIME_MAX - 120, &t, &err), 0);
	assert_int_equal(t, ZF_SCHEDULE_TIME_MAX - 59);
	assert_int_equal(zf_schedule_next(&s, t, &t, &err), -ERANGE);
	assert_string_equal(err.msg, "schedule 'TZ=UTC 59 23 31 12 *': next run after year 9999");
	zf_err_clear(&err);

	/*
	 * The search is bounded: a schedule the parser would refuse, made by hand,
	 * ends in an error (and quickly), not a hang.
	 */
	s = parse("TZ=UTC 0 0 31 * *");
	s.months = 1u << 2;     /* February */
	assert_int_equal(zf_schedule_next(&s, T0, &t, &err), -ERANGE);
	assert_string_equal(err.msg, "schedule 'TZ=UTC 0 0 31 * *': no run time within 10 years "
			    "after 1767225600");
	zf_err_clear(&err);
	s = parse("0 0 31 * *");
	s.months = 1u << 2;
	assert_int_equal(zf_schedule_next(&s, T0, &t, &err), -ERANGE);
	zf_err_clear(&err);
	s.minutes = 0;          /* no minute at all */
	s.months = 0xfff << 1;
	assert_int_equal(zf_schedule_next(&s, T0, &t, &err), -ERANGE);
	zf_err_clear(&err);

	/* a struct that was never parsed */
	s = (struct zf_schedule){ 0 };
	assert_int_equal(zf_schedule_next(&s, T0, &t, &err), -EINVAL);
	assert_string_equal(err.msg, "schedule: not parsed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_intervals),
		cmocka_unit_test(test_parse_intervals_bad),
		cmocka_unit_test(test_parse_cron),
		cmocka_unit_test(test_parse_cron_bad),
		cmocka_unit_test(test_next_interval),
		cmocka_unit_test(test_interval_across_dst),
		cmocka_unit_test(test_next_cron_minutes_hours),
		cmocka_unit_test(test_next_cron_names),
		cmocka_unit_test(test_next_cron_dom_or_dow),
		cmocka_unit_test(test_next_cron_month_ends_leap),
		cmocka_unit_test(test_next_cron_cross_check),
		cmocka_unit_test(test_utc_ignores_tz),
		cmocka_unit_test(test_local_basic),
		cmocka_unit_test(test_dst_spring),
		cmocka_unit_test(test_dst_autumn),
		cmocka_unit_test(test_dst_new_york),
		cmocka_unit_test(test_dst_cross_check),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_due_local_dst),
		cmocka_unit_test(test_bounds),
	};

	set_tz("UTC");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
