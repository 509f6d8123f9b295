/*
 * src/plan/schedule.c — job schedules: the interval and cron parser, the next
 * run time in UTC or local time, and the due decision (pure: no I/O, no clock;
 * local time only through localtime_r() of the times the caller passes)
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "plan/schedule.h"
#include "util/err.h"
#include "util/banned.h"

/*
 * How far ahead a cron search looks.  The parser refuses day-of-month sets no
 * selected month has, so the longest real wait is Feb 29 across 2100 (eight
 * years); the bound only turns a bug into an error instead of a hang.
 */
#define SEARCH_YEARS 10

/* ---- the calendar, in plain arithmetic (no time zone) ---------------------- */

/* A calendar time; "local seconds" are its seconds since 1970-01-01 00:00 of the same calendar. */
struct civil {
	int64_t year;
	int month;              /* 1-12 */
	int day;                /* 1-31 */
	int hour, minute, second;
};

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Leap years in [1, y), for y >= 1. */
static int64_t leaps_before(int64_t y)
{
	y--;
	return y / 4 - y / 100 + y / 400;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };

	return (y - 1970) * 365 + leaps_before(y) - leaps_before(1970) + before[m - 1] +
	       (m > 2 && is_leap(y)) + d - 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static int64_t civil_to_seconds(const struct civil *c)
{
	return days_from_civil(c->year, c->month, c->day) * 86400 + c->hour * 3600 +
	       c->minute * 60 + c->second;
}

static void seconds_to_civil(int64_t t, struct civil *c)
{
	int64_t days = floor_div(t, 86400), rest = t - days * 86400, yday;
	/* 146097 days are 400 years: the estimate is off by at most one year */
	int64_t y = 1970 + floor_div(days * 400, 146097);

	while (days_from_civil(y + 1, 1, 1) <= days)
		y++;
	while (days_from_civil(y, 1, 1) > days)
		y--;
	yday = days - days_from_civil(y, 1, 1);
	c->year = y;
	c->month = 1;
	while (yday >= days_in_month(y, c->month))
		yday -= days_in_month(y, c->month++);
	c->day = (int)yday + 1;
	c->hour = (int)(rest / 3600);
	c->minute = (int)(rest / 60 % 60);
	c->second = (int)(rest % 60);
}

/* 0 for Sunday; 1970-01-01 was a Thursday. */
static int weekday(const struct civil *c)
{
	return (int)(((days_from_civil(c->year, c->month, c->day) + 4) % 7 + 7) % 7);
}

/* Each advance_*() moves to the start of the next unit and zeroes the smaller ones. */
static void advance_month(struct civil *c)
{
	c->day = 1;
	c->hour = c->minute = 0;
	if (++c->month > 12) {
		c->month = 1;
		c->year++;
	}
}

static void advance_day(struct civil *c)
{
	c->hour = c->minute = 0;
	if (++c->day > days_in_month(c->year, c->month))
		advance_month(c);
}

static void advance_hour(struct civil *c)
{
	c->minute = 0;
	if (++c->hour > 23)
		advance_day(c);
}

static void advance_minute(struct civil *c)
{
	if (++c->minute > 59)
		advance_hour(c);
}

/* ---- local time: the only calls outside plain arithmetic ------------------ */

/* Seconds east of UTC in effect at t in the process's time zone. */
static int local_offset(int64_t t, int64_t *ret)
{
	time_t tt = (time_t)t;
	struct tm tm;
	struct civil c;

	if (!localtime_r(&tt, &tm))
		return -ERANGE;
	c = (struct civil){ (int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			    tm.tm_hour, tm.tm_min, tm.tm_sec };
	*ret = civil_to_seconds(&c) - t;
	return 0;
}

/*
 * The instant when the local clock first shows local seconds L: the earlier of
 * two in an autumn fold (a repeated time runs once), the moment of the change
 * when a spring gap skips L.  The offsets a day before and after L are the two
 * candidates, which holds while zone changes are more than a day apart.
 */
static int resolve_local(int64_t L, int64_t *ret)
{
	int64_t off_a, off_b, ta, tb, o, lo, hi;
	bool valid_a, valid_b;
	int r;

	r = local_offset(L - 86400, &off_a);
	if (r < 0)
		return r;
	r = local_offset(L + 86400, &off_b);
	if (r < 0)
		return r;
	ta = L - off_a;
	tb = L - off_b;
	r = local_offset(ta, &o);
	if (r < 0)
		return r;
	valid_a = o == off_a;
	r = local_offset(tb, &o);
	if (r < 0)
		return r;
	valid_b = o == off_b;
	if (valid_a || valid_b) {
		*ret = valid_a && valid_b ? MIN(ta, tb) : valid_a ? ta : tb;
		return 0;
	}

	/* a gap: the clock jumps over L between the two; find the jump */
	lo = MIN(ta, tb);
	hi = MAX(ta, tb);
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;

		r = local_offset(mid, &o);
		if (r < 0)
			return r;
		if (mid + o > L)
			hi = mid;
		else
			lo = mid + 1;
	}
	*ret = lo;
	return 0;
}

/* ---- parsing --------------------------------------------------------------- */

struct field_def {
	const char *name;
	int min, max;           /* values accepted */
	int star_max;           /* what '*' and 'a/n' reach (day-of-week: 6, as 7 is 0 again) */
	const char *const *names;       /* three-letter names of min, min+1, ... */
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL,
};
static const char *const wday_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL,
};

enum { F_MINUTE, F_HOUR, F_MDAY, F_MONTH, F_WDAY, F_MAX };

static const struct field_def field_defs[F_MAX] = {
	[F_MINUTE] = { "minute", 0, 59, 59, NULL },
	[F_HOUR] = { "hour", 0, 23, 23, NULL },
	[F_MDAY] = { "day-of-month", 1, 31, 31, NULL },
	[F_MONTH] = { "month", 1, 12, 12, month_names },
	[F_WDAY] = { "day-of-week", 0, 7, 6, wday_names },
};

static const struct {
	const char *name, *cron;
} aliases[] = {
	{ "@hourly", "0 * * * *" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@monthly", "0 0 1 * *" },
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
};

static const struct {
	char unit;
	int64_t seconds;
} units[] = {   /* largest first: the order they must appear in */
	{ 'w', 604800 },
	{ 'd', 86400 },
	{ 'h', 3600 },
	{ 'm', 60 },
	{ 's', 1 },
};

#define TOKENS_MAX 7    /* enough to count "more than 5 fields" after a TZ= */

struct token {
	const char *p;
	size_t n;
};

struct parser {
	const char *text;       /* the whole input, for messages */
	struct zf_err *err;
};

/* Records "schedule 'TEXT': MESSAGE" and returns -EINVAL. */
_printf_(2, 3) static int parse_error(const struct parser *ps, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return zf_err_set(ps->err, -EINVAL, "schedule '%s': %s", ps->text, msg);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Splits s at blanks; returns how many tokens there are (at most TOKENS_MAX stored). */
static size_t tokenize(const char *s, struct token *tok)
{
	size_t n = 0;

	for (const char *p = s; *p;) {
		size_t len;

		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		for (len = 0; p[len] && !is_blank(p[len]); len++)
			;
		if (n < TOKENS_MAX)
			tok[n] = (struct token){ p, len };
		n++;
		p += len;
	}
	return n;
}

/* One value of a field: a number or, for month and day-of-week, a name. */
static int parse_value(const struct parser *ps, const struct field_def *f, const char *p,
		       size_t n, const char *item, size_t item_n, int *ret)
{
	int v = 0;

	if (n == 0)
		return parse_error(ps, "%s: bad item '%.*s'", f->name, (int)item_n, item);
	if (is_digit(p[0])) {
		for (size_t i = 0; i < n; i++) {
			if (!is_digit(p[i]))
				return parse_error(ps, "%s: bad value '%.*s'", f->name, (int)n, p);
			if (v <= f->max)        /* stays small; above max is out of range */
				v = v * 10 + (p[i] - '0');
		}
		if (v < f->min || v > f->max)
			return parse_error(ps, "%s: %.*s out of range %d-%d", f->name, (int)n, p,
					   f->min, f->max);
		*ret = v;
		return 0;
	}
	if (f->names)
		for (int i = 0; f->names[i]; i++)
			if (n == 3 && strncasecmp(p, f->names[i], 3) == 0) {
				*ret = f->min + i;
				return 0;
			}
	if (f->names)
		return parse_error(ps, "%s: unknown name '%.*s'", f->name, (int)n, p);
	return parse_error(ps, "%s: bad value '%.*s'", f->name, (int)n, p);
}

/* The step after '/': 1 up to the field's span. */
static int parse_step(const struct parser *ps, const struct field_def *f, const char *p, size_t n,
		      int *ret)
{
	int span = f->star_max - f->min, v = 0;

	if (n == 0)
		return parse_error(ps, "%s: missing step after '/'", f->name);
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return parse_error(ps, "%s: bad step '%.*s'", f->name, (int)n, p);
		if (v <= span)
			v = v * 10 + (p[i] - '0');
	}
	if (v == 0)
		return parse_error(ps, "%s: step 0", f->name);
	if (v > span)
		return parse_error(ps, "%s: step %.*s too large (at most %d)", f->name, (int)n, p,
				   span);
	*ret = v;
	return 0;
}

/* One item of a list: '*', a, a-b, each with an optional /step; sets its bits. */
static int parse_item(const struct parser *ps, const struct field_def *f, const char *item,
		      size_t n, uint64_t *bits)
{
	const char *slash = memchr(item, '/', n), *dash;
	size_t range_n = slash ? (size_t)(slash - item) : n;
	int lo, hi, step = 1, r;

	if (slash) {
		r = parse_step(ps, f, slash + 1, n - range_n - 1, &step);
		if (r < 0)
			return r;
	}
	if (range_n == 1 && item[0] == '*') {
		lo = f->min;
		hi = f->star_max;
	} else {
		dash = memchr(item, '-', range_n);
		r = parse_value(ps, f, item, dash ? (size_t)(dash - item) : range_n, item, n, &lo);
		if (r < 0)
			return r;
		if (dash) {
			size_t hi_n = range_n - (size_t)(dash + 1 - item);

			r = parse_value(ps, f, dash + 1, hi_n, item, n, &hi);
			if (r < 0)
				return r;
			if (lo > hi)
				return parse_error(ps, "%s: range '%.*s' is reversed", f->name,
						   (int)range_n, item);
		} else
			hi = slash ? MAX(lo, f->star_max) : lo;
	}
	for (int v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << (f == &field_defs[F_WDAY] && v == 7 ? 0 : v);
	return 0;
}

static int parse_field(const struct parser *ps, const struct field_def *f, const struct token *t,
		       uint64_t *ret)
{
	const char *p = t->p, *end = t->p + t->n;
	uint64_t bits = 0;
	int r;

	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *item_end = comma ? comma : end;

		if (item_end == p)
			return parse_error(ps, "%s: empty item in '%.*s'", f->name, (int)t->n,
					   t->p);
		r = parse_item(ps, f, p, (size_t)(item_end - p), &bits);
		if (r < 0)
			return r;
		if (!comma)
			break;
		p = comma + 1;
	}
	*ret = bits;
	return 0;
}

/* The bits of min..max. */
static uint64_t full_set(int min, int max)
{
	return ((UINT64_C(1) << (max + 1)) - 1) & ~((UINT64_C(1) << min) - 1);
}

/* Whether some selected month has some selected day (Feb counts 29: leap years exist). */
static bool mdays_possible(const struct zf_schedule *s)
{
	for (int m = 1; m <= 12; m++)
		if (s->months >> m & 1)
			for (int d = 1; d <= days_in_month(2000, m); d++)
				if (s->mdays >> d & 1)
					return true;
	return false;
}

static int parse_cron(const struct parser *ps, const struct token *tok, struct zf_schedule *s)
{
	uint64_t bits[F_MAX];
	int r;

	for (int i = 0; i < F_MAX; i++) {
		r = parse_field(ps, &field_defs[i], &tok[i], &bits[i]);
		if (r < 0)
			return r;
	}
	s->kind = ZF_SCHEDULE_CRON;
	s->minutes = bits[F_MINUTE];
	s->hours = (uint32_t)bits[F_HOUR];
	s->mdays = (uint32_t)bits[F_MDAY];
	s->months = (uint16_t)bits[F_MONTH];
	s->wdays = (uint8_t)bits[F_WDAY];
	s->mdays_restricted = s->mdays != full_set(1, 31);
	s->wdays_restricted = s->wdays != full_set(0, 6);
	/* a restricted day-of-week always finds days; a day-of-month alone may not */
	if (s->mdays_restricted && !s->wdays_restricted && !mdays_possible(s))
		return parse_error(ps, "day-of-month '%.*s' never occurs in month '%.*s'",
				   (int)tok[F_MDAY].n, tok[F_MDAY].p, (int)tok[F_MONTH].n,
				   tok[F_MONTH].p);
	return 0;
}

static int parse_alias(const struct parser *ps, const struct token *t, struct zf_schedule *s)
{
	struct token tok[TOKENS_MAX];

	for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
		if (t->n == strlen(aliases[i].name) &&
		    strncasecmp(t->p, aliases[i].name, t->n) == 0) {
			(void)tokenize(aliases[i].cron, tok);
			return parse_cron(ps, tok, s);
		}
	return parse_error(ps, "unknown alias '%.*s' (@hourly, @daily, @weekly, @monthly or "
			   "@yearly)", (int)t->n, t->p);
}

static int parse_interval(const struct parser *ps, const struct token *t, struct zf_schedule *s)
{
	const char *p = t->p, *end = t->p + t->n;
	size_t next_unit = 0;   /* index into units[] of the smallest still allowed */
	int64_t total = 0;

	while (p < end) {
		const char *num = p, *unit;
		int64_t v = 0;
		size_t i;

		if (!is_digit(*p))
			return parse_error(ps, "interval: expected a number at '%.*s'",
					   (int)(end - p), p);
		for (; p < end && is_digit(*p); p++)
			if ((v = v * 10 + (*p - '0')) > ZF_SCHEDULE_INTERVAL_MAX)
				return parse_error(ps, "interval: too large (at most %" PRId64 "d)",
						   ZF_SCHEDULE_INTERVAL_MAX / 86400);
		if (p == end)
			return parse_error(ps, "interval: '%.*s' lacks a unit (s, m, h, d or w)",
					   (int)(p - num), num);
		/* the unit: a run of letters ("min" is one bad unit), else one character */
		for (unit = p; p < end && is_letter(*p); p++)
			;
		if (p == unit)
			p++;
		for (i = 0; i < ELEMENTSOF(units); i++)
			if (p - unit == 1 && *unit == units[i].unit)
				break;
		if (i == ELEMENTSOF(units))
			return parse_error(ps, "interval: unknown unit '%.*s' (s, m, h, d or w)",
					   (int)(p - unit), unit);
		if (i < next_unit)
			return parse_error(ps, "interval: unit '%c' after '%c' (largest first, "
					   "each once)", units[i].unit, units[next_unit - 1].unit);
		next_unit = i + 1;
		if (v > (ZF_SCHEDULE_INTERVAL_MAX - total) / units[i].seconds)
			return parse_error(ps, "interval: too large (at most %" PRId64 "d)",
					   ZF_SCHEDULE_INTERVAL_MAX / 86400);
		total += v * units[i].seconds;
	}
	if (total == 0)
		return parse_error(ps, "interval: '%.*s' is zero (at least 1s)", (int)t->n, t->p);
	s->kind = ZF_SCHEDULE_INTERVAL;
	s->interval = total;
	return 0;
}

/* s->text: the tokens joined by one blank; fits, as it is never longer than the input. */
static void set_text(struct zf_schedule *s, const struct token *tok, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			s->text[len++] = ' ';
		memcpy(s->text + len, tok[i].p, tok[i].n);
		len += tok[i].n;
	}
	s->text[len] = '\0';
}

int zf_schedule_parse(const char *text, struct zf_schedule *ret, struct zf_err *err)
{
	struct parser ps = { text, err };
	struct zf_schedule s = { 0 };
	struct token tok[TOKENS_MAX];
	size_t len = strlen(text), ntok, first = 0;
	int r;

	/* checked before anything echoes the text: messages are one short line */
	if (len >= ZF_SCHEDULE_TEXT_MAX)
		return zf_err_set(err, -EINVAL, "schedule: too long (%zu bytes, at most %d)", len,
				  ZF_SCHEDULE_TEXT_MAX - 1);
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)text[i] < 0x20 && text[i] != '\t') || text[i] == 0x7f)
			return zf_err_set(err, -EINVAL, "schedule: control character at byte %zu",
					  i + 1);

	ntok = tokenize(text, tok);
	if (ntok > 0 && strncmp(tok[0].p, "TZ=", 3) == 0) {
		if (tok[0].n != 6 || strncasecmp(tok[0].p + 3, "UTC", 3) != 0)
			return parse_error(&ps, "'%.*s': only TZ=UTC is known (local time is the "
					   "default)", (int)tok[0].n, tok[0].p);
		s.utc = true;
		first = 1;
	}
	switch (ntok - first) {
	case 0:
		return parse_error(&ps, "empty");
	case 1:
		if (tok[first].p[0] == '@')
			r = parse_alias(&ps, &tok[first], &s);
		else if (is_digit(tok[first].p[0]))
			r = parse_interval(&ps, &tok[first], &s);
		else
			r = parse_error(&ps, "expected an interval (10m) or 5 cron fields, got "
					"'%.*s'", (int)tok[first].n, tok[first].p);
		break;
	case 5:
		r = parse_cron(&ps, &tok[first], &s);
		break;
	default:
		return parse_error(&ps, "expected 5 cron fields (minute hour day-of-month month "
				   "day-of-week), got %zu", ntok - first);
	}
	if (r < 0)
		return r;
	set_text(&s, tok, ntok);
	*ret = s;
	return 0;
}

const char *zf_schedule_text(const struct zf_schedule *s)
{
	return s->text;
}

/* ---- when ------------------------------------------------------------------ */

static bool day_matches(const struct zf_schedule *s, const struct civil *c)
{
	bool md = s->mdays >> c->day & 1, wd = s->wdays >> weekday(c) & 1;

	if (s->mdays_restricted && s->wdays_restricted)
		return md || wd;
	return md && wd;
}

/* Moves c to the first matching minute at or after it; -ERANGE past year_limit. */
static int cron_match(const struct zf_schedule *s, struct civil *c, int64_t year_limit)
{
	for (;;) {
		if (c->year > year_limit)
			return -ERANGE;
		if (!(s->months >> c->month & 1))
			advance_month(c);
		else if (!day_matches(s, c))
			advance_day(c);
		else if (!(s->hours >> c->hour & 1))
			advance_hour(c);
		else if (!(s->minutes >> c->minute & 1))
			advance_minute(c);
		else
			return 0;
	}
}

/*
 * Walks the calendar (local or UTC) from the minute after `after` to the first
 * matching minute whose instant is after `after`: in an autumn fold a civil
 * time may resolve to its first occurrence, already past.
 */
static int cron_next(const struct zf_schedule *s, int64_t after, int64_t *ret, struct zf_err *err)
{
	int64_t off = 0, t, limit;
	struct civil c;
	int r;

	if (!s->utc) {
		r = local_offset(after, &off);
		if (r < 0)
			return zf_err_set(err, r, "schedule '%s': no local time for %" PRId64,
					  s->text, after);
	}
	seconds_to_civil(floor_div(after + off, 60) * 60 + 60, &c);
	limit = c.year + SEARCH_YEARS;
	for (;;) {
		r = cron_match(s, &c, limit);
		if (r < 0)
			return zf_err_set(err, r, "schedule '%s': no run time within %d years "
					  "after %" PRId64, s->text, SEARCH_YEARS, after);
		t = civil_to_seconds(&c);
		if (!s->utc) {
			r = resolve_local(t, &t);
			if (r < 0)
				return zf_err_set(err, r, "schedule '%s': local time out of range",
						  s->text);
		}
		if (t > after)
			break;
		advance_minute(&c);
	}
	*ret = t;
	return 0;
}

int zf_schedule_next(const struct zf_schedule *s, int64_t after, int64_t *ret, struct zf_err *err)
{
	int64_t t = 0;
	int r;

	if (after < 0 || after > ZF_SCHEDULE_TIME_MAX)
		return zf_err_set(err, -ERANGE, "schedule '%s': time %" PRId64 " out of range",
				  s->text, after);
	switch (s->kind) {
	case ZF_SCHEDULE_INTERVAL:
		/* aligned to the epoch: 10m fires at :00, :10, ... whenever the daemon started */
		t = (after / s->interval + 1) * s->interval;
		break;
	case ZF_SCHEDULE_CRON:
		r = cron_next(s, after, &t, err);
		if (r < 0)
			return r;
		break;
	default:
		return zf_err_set(err, -EINVAL, "schedule: not parsed");
	}
	if (t > ZF_SCHEDULE_TIME_MAX)
		return zf_err_set(err, -ERANGE, "schedule '%s': next run after year 9999", s->text);
	*ret = t;
	return 0;
}

int zf_schedule_due(const struct zf_schedule *s, int64_t last_run, int64_t now,
		    int64_t *ret_next, struct zf_err *err)
{
	int64_t first = 0, next = 0;
	int r;

	if (now < 0 || now > ZF_SCHEDULE_TIME_MAX)
		return zf_err_set(err, -ERANGE, "schedule '%s': time %" PRId64 " out of range",
				  s->text, now);
	/* never ran, or the clock went back: nothing missed; wait for the tick after both */
	if (last_run == ZF_SCHEDULE_NEVER || last_run >= now) {
		r = zf_schedule_next(s, last_run == ZF_SCHEDULE_NEVER ? now : last_run, &next, err);
		if (r < 0)
			return r;
		*ret_next = next;
		return 0;
	}
	r = zf_schedule_next(s, last_run, &first, err);
	if (r < 0)
		return r;
	if (first > now) {
		*ret_next = first;
		return 0;
	}
	/* one tick or many passed since last_run: one run now, then the tick after now */
	r = zf_schedule_next(s, now, &next, err);
	if (r < 0)
		return r;
	*ret_next = next;
	return 1;
}
