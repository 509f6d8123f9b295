/* tests/unit/test-retention.c — retention grammar and the pure prune decision */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "plan/retention.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/banned.h"

/* 2026-01-01T00:00:00Z, a Thursday */
#define T0 INT64_C(1767225600)
#define H 3600
#define D 86400

/* A synthetic timeline: names, versions and verdicts of one filesystem. */
struct tl {
	struct zf_retention_version *v;
	struct zf_retention_verdict *d;
	char **names;
	size_t n, alloc;
};

static size_t tl_add(struct tl *t, const char *name, int64_t creation)
{
	size_t i = t->n;

	if (t->n == t->alloc) {
		t->alloc = t->alloc ? t->alloc * 2 : 16;
		t->v = zf_xreallocarray(t->v, t->alloc, sizeof(*t->v));
		t->names = zf_xreallocarray(t->names, t->alloc, sizeof(*t->names));
	}
	t->names[i] = zf_xstrdup(name);
	t->v[i] = (struct zf_retention_version){
		.name = t->names[i],
		.guid = 1000 + i,
		.createtxg = 10 + i,
		.creation = creation,
	};
	t->n++;
	return i;
}

/* zferry_<index> at creation */
static size_t tl_snap(struct tl *t, int64_t creation)
{
	char name[64];
	snprintf(name, sizeof(name), "zferry_%06zu", t->n);
	return tl_add(t, name, creation);
}

static void tl_release(struct tl *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->names[i]);
	free(t->names);
	free(t->v);
	free(t->d);
	memset(t, 0, sizeof(*t));
}

/* Evaluates text on t; returns the number destroyed. */
static int tl_eval(struct tl *t, const char *text, const struct zf_retention_opts *opts)
{
	struct zf_retention_policy *p = zf_retention_policy_new();
	struct zf_err err = ZF_ERR_INIT;
	int r;

	if (text && zf_retention_policy_parse(p, text, &err) < 0)
		fail_msg("parse '%s': %s", text, err.msg);
	free(t->d);
	t->d = zf_xcalloc(t->n ? t->n : 1, sizeof(*t->d));
	r = zf_retention_evaluate(p, t->v, t->n, opts, t->d, &err);
	if (r < 0)
		fail_msg("evaluate: %s", err.msg);
	zf_retention_policy_free(p);
	return r;
}

static size_t tl_kept(const struct tl *t)
{
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++)
		k += !t->d[i].destroy;
	return k;
}

/* ---- grammar ------------------------------------------------------------ */

static void test_parse_good(void **state)
{
	struct zf_retention_policy *p = zf_retention_policy_new();
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_retention_policy_parse(p, "grid:1x1h(keep=all)|24x1h|30x1d|12x30d",
						   &err), 0);
	assert_int_equal(zf_retention_policy_nrules(p), 1);
	assert_string_equal(zf_retention_rule_text(p, 0), "grid:1x1h(keep=all)|24x1h|30x1d|12x30d");

	if (zf_retention_policy_parse(p, " grid: 1 x 1h ( keep = all ) | 24x1h "
						   "| last_n:5|regex:^a|b(c|d)|[|]|not_replicated|"
						   "hourly=24, daily = 30,weekly=4,monthly=12,yearly=2"
						   "|regex:!^x|keep_me$|grid:2x1w(keep=3)",
						   &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(zf_retention_policy_nrules(p), 8);
	assert_string_equal(zf_retention_rule_text(p, 1), "grid: 1 x 1h ( keep = all ) | 24x1h");
	assert_string_equal(zf_retention_rule_text(p, 2), "last_n:5");
	assert_string_equal(zf_retention_rule_text(p, 3), "regex:^a|b(c|d)|[|]");
	assert_string_equal(zf_retention_rule_text(p, 4), "not_replicated");
	assert_string_equal(zf_retention_rule_text(p, 5),
			    "hourly=24, daily = 30,weekly=4,monthly=12,yearly=2");
	assert_string_equal(zf_retention_rule_text(p, 6), "regex:!^x|keep_me$");
	assert_string_equal(zf_retention_rule_text(p, 7), "grid:2x1w(keep=3)");
	assert_int_equal(zf_retention_policy_parse(p, "grid:1x1s|1x1m|1x1d|1000000x1s", &err), 0);
	zf_retention_policy_free(p);
}

static void test_parse_bad(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "", "empty rule at column 1" },
		{ "   ", "empty rule at column 4" },
		{ "last_n:3|", "empty rule at column 10" },
		{ "last_n:3||last_n:4", "empty rule at column 10" },
		{ "foo:3", "unknown rule 'foo' at column 1" },
		{ "last_n:3|keep", "unknown rule 'keep' at column 10" },
		{ ":3", "expected a rule at column 1" },
		{ "grid:", "grid: expected interval count at column 6" },
		{ "grid:1h", "grid: expected 'x' at column 7" },
		{ "grid:24", "grid: expected 'x' at column 8" },
		{ "grid:0x1h", "grid: interval count must be at least 1 at column 6" },
		{ "grid:99999999999999999999999x1h", "grid: interval count too large at column 6" },
		{ "grid:2x", "grid: expected interval length at column 8" },
		{ "grid:2xh", "grid: expected interval length at column 8" },
		{ "grid:2x1", "grid: expected a unit (s, m, h, d or w) at column 9" },
		{ "grid:2x1y", "grid: unknown unit 'y' at column 9" },
		{ "grid:2x0h", "grid: interval length must be at least 1 at column 8" },
		{ "grid:2x100000w", "grid: interval length too long at column 8" },
		{ "grid:1000000x1000w", "grid: intervals span more than 1000 years at column 19" },
		{ "grid:1x1h(", "grid: expected 'keep=' at column 11" },
		{ "grid:1x1h(kep=1)", "grid: expected 'keep=' at column 11" },
		{ "grid:1x1h(keep=)", "grid: expected keep count or 'all' at column 16" },
		{ "grid:1x1h(keep=0)", "grid: keep count or 'all' must be at least 1 at column 16" },
		{ "grid:1x1h(keep=2", "grid: expected ')' at column 17" },
		{ "grid:1x1h(keep=2)x", "grid: unexpected 'x' at column 18" },
		{ "grid:1x1h|2y1d", "grid: expected 'x' at column 12" },
		{ "grid:1x1h 2x1h", "grid: unexpected '2' at column 11" },
		{ "last_n:", "last_n: expected count at column 8" },
		{ "last_n:x", "last_n: expected count at column 8" },
		{ "last_n:5x", "last_n: unexpected 'x' at column 9" },
		{ "last_n:99999999999", "last_n: count too large at column 8" },
		{ "regex:", "regex: empty expression at column 7" },
		{ "regex:!", "regex: empty expression at column 8" },
		{ "regex:a(", "regex: invalid expression at column 7" },
		{ "regex:!a[", "regex: invalid expression at column 8" },
		{ "regex:a++", "regex: repetition of a repetition at column 9" },
		{ "regex:x|l{2}*", "regex: repetition of a repetition at column 13" },
		{ "regex:((a{99}){99}){99}", "regex: repetitions expand too far at column 15" },
		{ "regex:[]|x[]++", "regex: repetition of a repetition at column 14" },
		{ "regex:[[:alpha:]]]+++", "regex: repetition of a repetition at column 20" },
		{ "regex:a{5000}", "regex: repetitions expand too far at column 8" },
		{ "regex:(a{60})(b{60}){70}", "regex: repetitions expand too far at column 21" },
		{ "regex:((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))",
		  "regex: groups nested too deeply at column 39" },
		{ "not_replicated:1", "not_replicated: unexpected ':' at column 15" },
		{ "hourly=", "periods: expected count at column 8" },
		{ "hourly=24,", "periods: expected a period name at column 11" },
		{ "hourly=24,daly=3", "periods: unknown period 'daly' at column 11" },
		{ "hourly=24,daily 3", "periods: expected '=' at column 17" },
		{ "hourly=24,hourly=3", "periods: 'hourly' given twice at column 11" },
		{ "daily=3;", "periods: unexpected ';' at column 8" },
		{ "daly=3", "unknown rule 'daly' at column 1" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct zf_retention_policy *p = zf_retention_policy_new();
		struct zf_err err = ZF_ERR_INIT;

		if (zf_retention_policy_parse(p, bad[i].text, &err) != -EINVAL)
			fail_msg("'%s' parsed", bad[i].text);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s': got \"%s\", want \"%s\"", bad[i].text, err.msg, bad[i].msg);
		assert_null(strchr(err.msg, '\n'));
		assert_int_equal(zf_retention_policy_nrules(p), 0);
		zf_retention_policy_free(p);
	}
}

static void test_parse_append_and_limit(void **state)
{
	struct zf_retention_policy *p = zf_retention_policy_new();
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_retention_policy_parse(p, "last_n:1", &err), 0);
	/* a failed parse leaves what was there */
	assert_int_equal(zf_retention_policy_parse(p, "last_n:2|grid:1", &err), -EINVAL);
	assert_int_equal(zf_retention_policy_nrules(p), 1);
	for (int i = 1; i < ZF_RETENTION_RULES_MAX; i++)
		assert_int_equal(zf_retention_policy_parse(p, "last_n:3", &err), 0);
	zf_err_clear(&err);
	assert_int_equal(zf_retention_policy_parse(p, "last_n:3", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "too many rules at column 1"));
	zf_err_clear(&err);
	assert_int_equal(zf_retention_policy_set_select(p, NULL, "a(", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid regular expression 'a('"));
	zf_retention_policy_free(p);
}

/* ---- rules -------------------------------------------------------------- */

static void test_grid_regular(void **state)
{
	struct tl t = { 0 };
	(void)state;

	/* every 10 minutes for 72 hours, oldest first: ages 72h .. 0 */
	for (int64_t age = 72 * H; age >= 0; age -= 600)
		tl_snap(&t, T0 - age);
	assert_int_equal(t.n, 433);
	tl_eval(&t, "grid:1x1h(keep=all)|24x1h|2x1d", NULL);
	/* 6 in the first hour, one of each of 24 hours, one of each of 2 days */
	assert_int_equal(tl_kept(&t), 6 + 24 + 2);
	for (size_t i = 0; i < t.n; i++) {
		int64_t age = T0 - t.v[i].creation;
		bool kept = !t.d[i].destroy;
		if (age < H)
			assert_true(kept);
		else if (age < 25 * H)  /* the oldest of each hour: age 1h50, 2h50, ... */
			assert_int_equal(kept, age % H == 50 * 60);
		else if (age < 73 * H)  /* the oldest of [25h, 49h) and [49h, 73h) */
			assert_int_equal(kept, age == 48 * H + 50 * 60 || age == 72 * H);
	}
	tl_release(&t);
}

static void test_grid_irregular_and_keep(void **state)
{
	static const int64_t ages[] = { 100000, 7300, 3601, 3600, 3599, 5, 0 };
	struct tl t = { 0 };
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(ages); i++)
		tl_snap(&t, T0 - ages[i]);
	assert_int_equal(tl_eval(&t, "grid:2x1h", NULL), 4);
	/* [0,1h): 3599 oldest (0 newest protected); [1h,2h): 3601; the rest outside */
	assert_true(t.d[0].destroy);
	assert_true(t.d[1].destroy);
	assert_false(t.d[2].destroy);
	assert_true(t.d[3].destroy);
	assert_false(t.d[4].destroy);
	assert_true(t.d[5].destroy);
	assert_false(t.d[6].destroy);
	assert_int_equal(t.d[6].protect, ZF_RETENTION_NEWEST);
	assert_int_equal(t.d[6].rules, 0);

	assert_int_equal(tl_eval(&t, "grid:2x1h(keep=2)", NULL), 2);
	assert_false(t.d[3].destroy);           /* the 2 oldest of [1h,2h) */
	assert_false(t.d[5].destroy);           /* the 2 oldest of [0,1h) */
	assert_true(t.d[1].destroy);

	/* the units: a 1w interval holds everything but the oldest */
	assert_int_equal(tl_eval(&t, "grid:1x1w(keep=all)", NULL), 0);
	/* [0,2m) keeps 0 and 5; [2m,1d+2m) only its oldest, 7300 */
	assert_int_equal(tl_eval(&t, "grid:1x2m(keep=all)|1x1d", NULL), 4);
	assert_true(t.d[0].destroy);
	assert_false(t.d[1].destroy);
	assert_int_equal(tl_eval(&t, "grid:10x60s", NULL), 5);
	tl_release(&t);
}

static void test_last_n_regex_union(void **state)
{
	struct tl t = { 0 };
	(void)state;

	tl_add(&t, "zferry_a_daily", T0 - 5 * H);
	tl_add(&t, "zferry_b_hourly", T0 - 4 * H);
	tl_add(&t, "zferry_c_daily", T0 - 3 * H);
	tl_add(&t, "zferry_d_hourly", T0 - 2 * H);
	tl_add(&t, "zferry_e_hourly", T0 - 1 * H);

	assert_int_equal(tl_eval(&t, "last_n:2", NULL), 3);
	assert_false(t.d[3].destroy);
	assert_false(t.d[4].destroy);
	assert_int_equal(tl_eval(&t, "last_n:0", NULL), 4);
	assert_int_equal(tl_eval(&t, "last_n:100", NULL), 0);

	assert_int_equal(tl_eval(&t, "regex:_daily$", NULL), 2);
	assert_false(t.d[0].destroy);
	assert_int_equal(t.d[0].rules, 1);
	assert_true(t.d[1].destroy);
	assert_int_equal(tl_eval(&t, "regex:!_daily$", NULL), 2);
	assert_true(t.d[0].destroy);
	assert_false(t.d[1].destroy);
	/* alternation continued over the top-level '|' */
	assert_int_equal(tl_eval(&t, "regex:_a_|_b_|last_n:1", NULL), 2);
	assert_int_equal(t.d[1].rules, 1);
	assert_int_equal(t.d[4].rules, 2);

	/* union: each survivor names every rule that kept it */
	assert_int_equal(tl_eval(&t, "last_n:2|regex:hourly", NULL), 2);
	assert_int_equal(t.d[1].rules, 2);
	assert_int_equal(t.d[3].rules, 3);
	assert_true(t.d[2].destroy);
	tl_release(&t);
}

static void test_equal_timestamps(void **state)
{
	struct tl t = { 0 };
	(void)state;

	for (int i = 0; i < 5; i++)
		tl_snap(&t, T0);                /* same second, createtxg 10..14 */
	assert_int_equal(tl_eval(&t, "last_n:2", NULL), 3);
	assert_false(t.d[3].destroy);
	assert_false(t.d[4].destroy);
	/* one interval: its oldest is the lowest txg; the newest the highest */
	assert_int_equal(tl_eval(&t, "grid:1x1h", NULL), 3);
	assert_false(t.d[0].destroy);
	assert_int_equal(t.d[4].protect, ZF_RETENTION_NEWEST);
	assert_int_equal(tl_eval(&t, "daily=1", NULL), 4);
	assert_false(t.d[4].destroy);
	tl_release(&t);
}

static void test_periods_utc(void **state)
{
	struct tl t = { 0 };
	(void)state;

	/* hourly for three days, the newest at 2026-01-03T23:00Z */
	for (int64_t s = T0; s < T0 + 3 * D; s += H)
		tl_snap(&t, s);
	tl_eval(&t, "daily=2", NULL);
	assert_int_equal(tl_kept(&t), 2);
	assert_false(t.d[t.n - 1].destroy);     /* 01-03 23:00 */
	assert_false(t.d[t.n - 25].destroy);    /* 01-02 23:00 */
	tl_eval(&t, "hourly=5", NULL);
	assert_int_equal(tl_kept(&t), 5);
	tl_eval(&t, "hourly=5,daily=3", NULL);
	assert_int_equal(tl_kept(&t), 5 + 2);   /* the newest day's 23:00 counted once */
	tl_release(&t);

	/* daily for two years from 2025-01-01 (a Wednesday) to 2026-12-31 */
	for (int64_t s = T0 - 365 * D; s <= T0 + 364 * D; s += D)
		tl_snap(&t, s + 12 * H);
	tl_eval(&t, "monthly=12", NULL);
	assert_int_equal(tl_kept(&t), 12);
	for (size_t i = 0; i < t.n; i++)
		if (!t.d[i].destroy) {
			/* the last day of a month of 2026: the next day is the 1st */
			time_t next = (time_t)(t.v[i].creation + D);
			struct tm tm;
			gmtime_r(&next, &tm);
			assert_int_equal(tm.tm_mday, 1);
			assert_true(t.v[i].creation >= T0);
		}
	tl_eval(&t, "yearly=5", NULL);
	assert_int_equal(tl_kept(&t), 2);       /* 2025-12-31 and 2026-12-31 */
	assert_false(t.d[364].destroy);
	tl_eval(&t, "weekly=3", NULL);
	assert_int_equal(tl_kept(&t), 3);
	for (size_t i = 0; i + 1 < t.n; i++)
		if (!t.d[i].destroy) {
			time_t tt = (time_t)t.v[i].creation;
			struct tm tm;
			gmtime_r(&tt, &tm);
			assert_int_equal(tm.tm_wday, 0);        /* weeks end on Sunday */
		}
	tl_eval(&t, "monthly=0", NULL);
	assert_int_equal(tl_kept(&t), 1);
	tl_release(&t);
}

/* A made-up zone: UTC+1, UTC+2 from 2026-03-29T01:00Z, UTC+1 from 2026-10-25T01:00Z */
#define SPRING INT64_C(1774746000)
#define AUTUMN INT64_C(1792890000)
static int64_t cet(int64_t t, void *userdata)
{
	(void)userdata;
	return t >= SPRING && t < AUTUMN ? 2 * H : H;
}

static void test_periods_dst(void **state)
{
	struct zf_retention_opts opts = { .utc_offset = cet };
	struct tl t = { 0 };
	(void)state;

	/* every 30 minutes from 03-27 00:00Z to local midnight of 03-31, over the spring jump */
	for (int64_t s = SPRING - 2 * D - H; s < SPRING + 2 * D - 3 * H; s += 1800)
		tl_snap(&t, s);
	tl_eval(&t, "daily=4", &opts);
	assert_int_equal(tl_kept(&t), 4);
	for (size_t i = 0; i < t.n; i++)
		if (!t.d[i].destroy) {
			/* the newest of a local day is at local 23:30 */
			int64_t local = t.v[i].creation + cet(t.v[i].creation, NULL);
			assert_int_equal(local % D, 23 * H + 1800);
		}
	/* the same in UTC keeps 23:30Z of each UTC day instead */
	tl_eval(&t, "daily=4", NULL);
	assert_int_equal(tl_kept(&t), 4);
	for (size_t i = 0; i + 1 < t.n; i++)
		if (!t.d[i].destroy)
			assert_int_equal(t.v[i].creation % D, 23 * H + 1800);
	tl_release(&t);

	/* autumn: local 02:00-03:00 happens twice; hourly keys repeat */
	for (int64_t s = AUTUMN - 3 * H; s < AUTUMN + 3 * H; s += 1200)
		tl_snap(&t, s);
	/* 6 UTC hours are 5 local hours: 00,01,02(twice),03,04 */
	tl_eval(&t, "hourly=100", &opts);
	assert_int_equal(tl_kept(&t), 5);
	tl_eval(&t, "hourly=100", NULL);
	assert_int_equal(tl_kept(&t), 6);
	tl_release(&t);
}

/* ---- protection --------------------------------------------------------- */

static void test_protection(void **state)
{
	struct zf_retention_opts empty = { .allow_empty = true };
	struct tl t = { 0 };
	size_t held, pointed, foreign, cursor, other_mark, newest;
	(void)state;

	for (int i = 0; i < 10; i++)
		tl_snap(&t, T0 + i * H);
	held = 2;
	t.v[held].userrefs = 1;
	pointed = 4;
	foreign = tl_add(&t, "autosnap_2026-01-01_hourly", T0 + 3 * H);
	cursor = tl_add(&t, "zferry_cursor_backup", T0 + 4 * H);
	t.v[cursor].bookmark = true;
	t.v[cursor].guid = t.v[pointed].guid;
	t.v[cursor].createtxg = t.v[pointed].createtxg;
	other_mark = tl_add(&t, "zferry_000007", T0 + 7 * H);  /* a bookmark of the prefix */
	t.v[other_mark].bookmark = true;
	newest = 9;

	/* no rule keeps anything: only the protected survive */
	assert_int_equal(tl_eval(&t, "last_n:0", NULL), 7);
	assert_int_equal(t.d[held].protect, ZF_RETENTION_HELD);
	assert_int_equal(t.d[pointed].protect, ZF_RETENTION_CURSOR);
	assert_int_equal(t.d[foreign].protect, ZF_RETENTION_FOREIGN);
	assert_int_equal(t.d[cursor].protect, ZF_RETENTION_BOOKMARK);
	assert_int_equal(t.d[other_mark].protect, ZF_RETENTION_BOOKMARK);
	assert_int_equal(t.d[newest].protect, ZF_RETENTION_NEWEST);
	for (size_t i = 0; i < t.n; i++)
		assert_int_equal(t.d[i].destroy, t.d[i].protect == 0);

	/* --allow-empty: the newest goes too, the rest stays protected */
	assert_int_equal(tl_eval(&t, "last_n:0", &empty), 8);
	assert_true(t.d[newest].destroy);
	assert_false(t.d[held].destroy);
	assert_false(t.d[pointed].destroy);
	assert_false(t.d[foreign].destroy);

	/* the plain cursor name counts too */
	t.names[cursor][strlen("zferry_cursor")] = '\0';
	assert_int_equal(tl_eval(&t, "last_n:0", NULL), 7);
	assert_false(t.d[pointed].destroy);
	/* a bookmark with another name protects nothing */
	t.names[cursor][0] = 'x';
	assert_int_equal(tl_eval(&t, "last_n:0", NULL), 8);
	tl_release(&t);
}

static void test_select(void **state)
{
	struct zf_retention_policy *p = zf_retention_policy_new();
	struct zf_retention_verdict d[3];
	struct zf_err err = ZF_ERR_INIT;
	struct tl t = { 0 };
	(void)state;

	tl_add(&t, "zferry_1", T0);
	tl_add(&t, "hourly-1", T0 + 1);
	tl_add(&t, "hourly-2", T0 + 2);
	assert_int_equal(zf_retention_policy_parse(p, "last_n:0", &err), 0);
	assert_int_equal(zf_retention_policy_set_select(p, "hourly-", NULL, &err), 0);
	assert_int_equal(zf_retention_evaluate(p, t.v, t.n, NULL, d, &err), 1);
	assert_true(d[1].destroy);
	assert_int_equal(d[0].protect, ZF_RETENTION_FOREIGN);
	assert_int_equal(zf_retention_policy_set_select(p, NULL, "^(zferry|hourly)[-_]1$", &err),
			 0);
	assert_int_equal(zf_retention_evaluate(p, t.v, t.n, NULL, d, &err), 1);
	assert_true(d[0].destroy);
	assert_int_equal(d[1].protect, ZF_RETENTION_NEWEST);
	assert_int_equal(d[2].protect, ZF_RETENTION_FOREIGN);
	zf_retention_policy_free(p);
	tl_release(&t);
}

static void test_not_replicated(void **state)
{
	struct tl t = { 0 };
	size_t c1, c2;
	(void)state;

	for (int i = 0; i < 10; i++)
		tl_snap(&t, T0 + i * H);                /* createtxg 10..19 */
	/* no cursor: nothing was replicated, everything stays */
	assert_int_equal(tl_eval(&t, "not_replicated", NULL), 0);

	c1 = tl_add(&t, "zferry_cursor_a", T0);
	t.v[c1].bookmark = true;
	t.v[c1].createtxg = 16;
	t.v[c1].guid = t.v[6].guid;
	assert_int_equal(tl_eval(&t, "not_replicated", NULL), 6);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(t.d[i].destroy, i < 6);
	assert_int_equal(t.d[6].protect, ZF_RETENTION_CURSOR);
	assert_int_equal(t.d[7].rules, 1);

	/* two targets: the older cursor rules */
	c2 = tl_add(&t, "zferry_cursor_b", T0);
	t.v[c2].bookmark = true;
	t.v[c2].createtxg = 13;
	t.v[c2].guid = t.v[3].guid;
	assert_int_equal(tl_eval(&t, "not_replicated", NULL), 3);
	assert_false(t.d[3].destroy);
	assert_false(t.d[4].destroy);
	tl_release(&t);
}

static void test_empty_and_all_foreign(void **state)
{
	struct tl t = { 0 };
	(void)state;

	assert_int_equal(tl_eval(&t, "grid:1x1h|hourly=1|last_n:1|not_replicated", NULL), 0);
	tl_add(&t, "other", T0);
	tl_add(&t, "other2", T0 + 1);
	assert_int_equal(tl_eval(&t, "last_n:0", NULL), 0);
	assert_int_equal(t.d[0].protect, ZF_RETENTION_FOREIGN);
	tl_release(&t);
}

static void test_large(void **state)
{
	struct tl t = { 0 };
	struct timespec a, b;
	double secs;
	int r;
	(void)state;

	/* 10 000 snapshots at irregular 1-20 minute gaps (~70 days) */
	srand(42);
	for (int64_t i = 0, s = T0; i < 10000; i++, s += 60 + rand() % 1140)
		tl_snap(&t, s);
	/* a cursor at snapshot 9000: not_replicated keeps the last 999 */
	t.v[tl_add(&t, "zferry_cursor", T0)].bookmark = true;
	t.v[t.n - 1].guid = t.v[9000].guid;
	t.v[t.n - 1].createtxg = t.v[9000].createtxg;
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = tl_eval(&t, "grid:1x1h(keep=all)|24x1h|30x1d|12x30d|hourly=48,daily=60,weekly=8,"
			"monthly=12,yearly=2|last_n:10|regex:5$|not_replicated", NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	print_message("10000 snapshots: %d to destroy, %.3f s\n", r, secs);
	assert_true(r > 7000 && r < 8900);
	assert_false(t.d[9000].destroy);
	assert_int_equal(t.d[9000].protect, ZF_RETENTION_CURSOR);
	for (size_t i = 9001; i < 10000; i++)
		assert_false(t.d[i].destroy);
	assert_true(secs < 2.0);
	tl_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_append_and_limit),
		cmocka_unit_test(test_grid_regular),
		cmocka_unit_test(test_grid_irregular_and_keep),
		cmocka_unit_test(test_last_n_regex_union),
		cmocka_unit_test(test_equal_timestamps),
		cmocka_unit_test(test_periods_utc),
		cmocka_unit_test(test_periods_dst),
		cmocka_unit_test(test_protection),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_not_replicated),
		cmocka_unit_test(test_empty_and_all_foreign),
		cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
