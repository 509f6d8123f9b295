/*
 * src/plan/retention.c — retention rules: parser and evaluation (pure: no I/O,
 * no clock, no log; time zones come in as a function of the caller's)
 */
#include <inttypes.h>
#include <regex.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plan/retention.h"
#include "util/alloc.h"
#include "util/regex.h"
#include "util/err.h"
#include "util/banned.h"

enum rule_kind {
	RULE_GRID,
	RULE_LAST_N,
	RULE_REGEX,
	RULE_PERIODS,
	RULE_NOT_REPLICATED,
};

enum period {
	P_HOURLY,
	P_DAILY,
	P_WEEKLY,
	P_MONTHLY,
	P_YEARLY,
	P_MAX,
};

static const char *const period_names[P_MAX] = {
	"hourly", "daily", "weekly", "monthly", "yearly",
};

#define KEEP_ALL UINT64_MAX
/* Bounds that keep every sum and product of a grid inside int64_t. */
#define COUNT_MAX 1000000
#define SECONDS_MAX ((int64_t)1000 * 366 * 86400)     /* a thousand years */

struct grid_entry {
	uint64_t count;         /* intervals */
	int64_t len;            /* seconds each */
	uint64_t keep;          /* oldest N per interval; KEEP_ALL */
};

struct rule {
	enum rule_kind kind;
	char *text;             /* source, for messages */
	size_t col;             /* 1-based column where the rule starts */
	/* grid */
	struct grid_entry *entries;
	size_t nentries, aentries;
	/* last_n */
	uint64_t n;
	/* regex: source built from the segments, compiled at the end of the rule */
	char *re_src;
	bool negate;
	bool compiled;
	regex_t re;
	/* periods: -1 unset */
	int64_t periods[P_MAX];
};

struct zf_retention_policy {
	struct rule *rules;
	size_t nrules, arules;
	char *prefix;
	bool have_select;
	regex_t select;
};

struct zf_retention_policy *zf_retention_policy_new(void)
{
	struct zf_retention_policy *p = zf_xcalloc(1, sizeof(*p));
	p->prefix = zf_xstrdup("zferry_");
	return p;
}

static void rule_release(struct rule *r)
{
	free(r->text);
	free(r->entries);
	free(r->re_src);
	if (r->compiled)
		regfree(&r->re);
	memset(r, 0, sizeof(*r));
}

struct zf_retention_policy *zf_retention_policy_free(struct zf_retention_policy *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->nrules; i++)
		rule_release(&p->rules[i]);
	free(p->rules);
	free(p->prefix);
	if (p->have_select)
		regfree(&p->select);
	free(p);
	return NULL;
}

size_t zf_retention_policy_nrules(const struct zf_retention_policy *p)
{
	return p->nrules;
}

const char *zf_retention_rule_text(const struct zf_retention_policy *p, size_t i)
{
	return i < p->nrules ? p->rules[i].text : "";
}

const char *zf_retention_protect_str(unsigned bit)
{
	switch (bit) {
	case ZF_RETENTION_BOOKMARK:
		return "bookmark";
	case ZF_RETENTION_FOREIGN:
		return "foreign";
	case ZF_RETENTION_HELD:
		return "held";
	case ZF_RETENTION_CURSOR:
		return "cursor";
	case ZF_RETENTION_NEWEST:
		return "newest";
	default:
		return "?";
	}
}

/* ---- parsing ------------------------------------------------------------ */

struct parser {
	const char *text;       /* the whole argument, for columns */
	struct rule *rules;     /* parsed so far (committed to the policy on success) */
	size_t nrules, arules;
	struct zf_err *err;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static size_t col(const struct parser *ps, const char *at)
{
	return (size_t)(at - ps->text) + 1;
}

/*
 * The end of the segment starting at s: the next '|' outside (), [] and not
 * escaped, or the end of the text.
 */
static const char *segment_end(const char *s)
{
	int depth = 0;
	bool bracket = false;

	for (const char *p = s; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (bracket) {
			/* "[]" and "[^]" start with a literal ']' */
			if (*p == ']' && !(p[-1] == '[' || (p[-1] == '^' && p[-2] == '[')))
				bracket = false;
			continue;
		}
		if (*p == '[')
			bracket = true;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (*p == '|' && depth == 0)
			return p;
	}
	return s + strlen(s);
}

/* Parses an unsigned decimal number in [min, max] at *pp; advances *pp past it. */
static int parse_num(struct parser *ps, const char **pp, const char *end, uint64_t min,
		     uint64_t max, const char *rule, const char *what, uint64_t *ret)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (p >= end || *p < '0' || *p > '9')
		return zf_err_set(ps->err, -EINVAL, "%s: expected %s at column %zu", rule, what,
				  col(ps, p));
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return zf_err_set(ps->err, -EINVAL, "%s: %s too large at column %zu (at most %"
					  PRIu64 ")", rule, what, col(ps, *pp), max);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min)
		return zf_err_set(ps->err, -EINVAL, "%s: %s must be at least %" PRIu64
				  " at column %zu", rule, what, min, col(ps, *pp));
	*pp = p;
	*ret = v;
	return 0;
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && is_blank(*p))
		p++;
	return p;
}

static int unexpected(struct parser *ps, const char *rule, const char *p)
{
	return zf_err_set(ps->err, -EINVAL, "%s: unexpected '%c' at column %zu", rule, *p,
			  col(ps, p));
}

static struct rule *rule_add(struct parser *ps, enum rule_kind kind, const char *start)
{
	struct rule *r;

	ZF_ALLOC_GROW(ps->rules, ps->nrules + 1, ps->arules);
	r = &ps->rules[ps->nrules++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->col = col(ps, start);
	for (size_t i = 0; i < P_MAX; i++)
		r->periods[i] = -1;
	return r;
}

/* The source text of r now reaches to end. */
static void rule_extend(struct parser *ps, struct rule *r, const char *end)
{
	const char *start = ps->text + r->col - 1;
	free(r->text);
	r->text = zf_xstrndup(start, (size_t)(end - start));
}

/* entry := COUNT 'x' DURATION [ '(' 'keep=' ( N | 'all' ) ')' ], in [p, end) */
/*
 * A grid interval's unit right after its length n (at *p; the number began
 * at numstart): *ret_len is the length in seconds, and *p moves past it.
 */
static int parse_grid_unit(struct parser *ps, const char **p, const char *end, uint64_t n,
			   const char *numstart, int64_t *ret_len)
{
	static const struct {
		char unit;
		int64_t seconds;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 } };

	for (size_t i = 0; *p < end && i < ELEMENTSOF(units); i++)
		if (**p == units[i].unit) {
			if (__builtin_mul_overflow((int64_t)n, units[i].seconds, ret_len) ||
			    *ret_len > SECONDS_MAX)
				return zf_err_set(ps->err, -EINVAL,
						  "grid: interval length too long at column %zu",
						  col(ps, numstart));
			(*p)++;
			return 0;
		}
	if (*p < end && !is_blank(**p) && **p != '(')
		return zf_err_set(ps->err, -EINVAL,
				  "grid: unknown unit '%c' at column %zu (use s, m, h, d or w)",
				  **p, col(ps, *p));
	return zf_err_set(ps->err, -EINVAL,
			  "grid: expected a unit (s, m, h, d or w) at column %zu", col(ps, *p));
}

/* A grid interval's "(keep=N)" or "(keep=all)" at *p, whose '(' was seen; *p moves past it. */
static int parse_grid_keep(struct parser *ps, const char **p, const char *end, uint64_t *keep)
{
	const char *q = skip_blanks(*p + 1, end), *kw = q;
	int r2;

	if ((size_t)(end - q) >= 4 && memcmp(q, "keep", 4) == 0)
		q = skip_blanks(q + 4, end);
	if (q == kw || q >= end || *q != '=')
		return zf_err_set(ps->err, -EINVAL, "grid: expected 'keep=' at column %zu",
				  col(ps, kw));
	q = skip_blanks(q + 1, end);
	if ((size_t)(end - q) >= 3 && memcmp(q, "all", 3) == 0) {
		*keep = KEEP_ALL;
		q += 3;
	} else if ((r2 = parse_num(ps, &q, end, 1, COUNT_MAX, "grid",
				   "keep count or 'all'", keep)) < 0) {
		return r2;
	}
	q = skip_blanks(q, end);
	if (q >= end || *q != ')')
		return zf_err_set(ps->err, -EINVAL, "grid: expected ')' at column %zu",
				  col(ps, q));
	*p = skip_blanks(q + 1, end);
	return 0;
}

static int parse_grid_entry(struct parser *ps, struct rule *r, const char *p, const char *end)
{
	struct grid_entry e = { .keep = 1 };
	const char *numstart;
	uint64_t n;
	int64_t span, total = 0;
	int r2;

	p = skip_blanks(p, end);
	if ((r2 = parse_num(ps, &p, end, 1, COUNT_MAX, "grid", "interval count", &e.count)) < 0)
		return r2;
	p = skip_blanks(p, end);
	if (p >= end || *p != 'x')
		return zf_err_set(ps->err, -EINVAL, "grid: expected 'x' at column %zu", col(ps, p));
	p = skip_blanks(p + 1, end);
	numstart = p;
	if ((r2 = parse_num(ps, &p, end, 1, (uint64_t)SECONDS_MAX, "grid", "interval length",
			    &n)) < 0)
		return r2;
	if ((r2 = parse_grid_unit(ps, &p, end, n, numstart, &e.len)) < 0)
		return r2;
	p = skip_blanks(p, end);
	if (p < end && *p == '(' && (r2 = parse_grid_keep(ps, &p, end, &e.keep)) < 0)
		return r2;
	if (p < end)
		return unexpected(ps, "grid", p);

	/* keep the whole grid's span far inside int64_t */
	for (size_t i = 0; i < r->nentries; i++)
		total += (int64_t)r->entries[i].count * r->entries[i].len;
	span = (int64_t)e.count * e.len;
	if (span > SECONDS_MAX || total + span > SECONDS_MAX)
		return zf_err_set(ps->err, -EINVAL,
				  "grid: intervals span more than 1000 years at column %zu",
				  col(ps, end));
	ZF_ALLOC_GROW(r->entries, r->nentries + 1, r->aentries);
	r->entries[r->nentries++] = e;
	return 0;
}

static int parse_periods(struct parser *ps, struct rule *r, const char *p, const char *end)
{
	for (;;) {
		const char *name = skip_blanks(p, end), *q = name;
		size_t len;
		int which = -1;
		uint64_t v;
		int r2;

		while (q < end && *q >= 'a' && *q <= 'z')
			q++;
		len = (size_t)(q - name);
		for (int i = 0; i < P_MAX; i++)
			if (len == strlen(period_names[i]) && memcmp(name, period_names[i], len) == 0)
				which = i;
		if (which < 0) {
			if (len == 0)
				return zf_err_set(ps->err, -EINVAL,
						  "periods: expected a period name at column %zu",
						  col(ps, name));
			return zf_err_set(ps->err, -EINVAL,
					  "periods: unknown period '%.*s' at column %zu (use hourly, "
					  "daily, weekly, monthly or yearly)",
					  (int)MIN(len, (size_t)64), name, col(ps, name));
		}
		if (r->periods[which] >= 0)
			return zf_err_set(ps->err, -EINVAL, "periods: '%s' given twice at column %zu",
					  period_names[which], col(ps, name));
		q = skip_blanks(q, end);
		if (q >= end || *q != '=')
			return zf_err_set(ps->err, -EINVAL, "periods: expected '=' at column %zu",
					  col(ps, q));
		q = skip_blanks(q + 1, end);
		if ((r2 = parse_num(ps, &q, end, 0, COUNT_MAX, "periods", "count", &v)) < 0)
			return r2;
		r->periods[which] = (int64_t)v;
		q = skip_blanks(q, end);
		if (q >= end)
			return 0;
		if (*q != ',')
			return unexpected(ps, "periods", q);
		p = q + 1;
	}
}

static int regex_finish(struct parser *ps, struct rule *r)
{
	const char *why = NULL;
	ssize_t bad;
	int rc;

	if (!r || r->kind != RULE_REGEX || r->compiled)
		return 0;
	bad = zf_regex_unsafe(r->re_src, &why);
	if (bad >= 0)
		return zf_err_set(ps->err, -EINVAL, "regex: %s at column %zu", why,
				  r->col + 6 + r->negate + (size_t)bad);
	rc = regcomp(&r->re, r->re_src, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char msg[128];
		regerror(rc, &r->re, msg, sizeof(msg));
		return zf_err_set(ps->err, -EINVAL, "regex: invalid expression at column %zu: %s",
				  r->col + 6 + r->negate, msg);
	}
	r->compiled = true;
	return 0;
}

static int period_prefix(const char *p, const char *end)
{
	for (int i = 0; i < P_MAX; i++) {
		size_t len = strlen(period_names[i]);
		const char *q;
		if ((size_t)(end - p) < len || memcmp(p, period_names[i], len) != 0)
			continue;
		q = skip_blanks(p + len, end);
		if (q < end && *q == '=')
			return 1;
	}
	return 0;
}

/* "last_n: N", from after its keyword (q): the newest N candidates. */
static int parse_last_n(struct parser *ps, struct rule *r, const char *q, const char *trim)
{
	uint64_t v;
	int r2;

	q = skip_blanks(q, trim);
	if ((r2 = parse_num(ps, &q, trim, 0, UINT32_MAX, "last_n", "count", &v)) < 0)
		return r2;
	q = skip_blanks(q, trim);
	if (q < trim)
		return unexpected(ps, "last_n", q);
	r->n = v;
	return 0;
}

/* "regex: [!]ERE", from after its keyword (q): the expression, blanks and all. */
static int parse_regex(struct parser *ps, struct rule *r, const char *q, const char *end)
{
	if (q < end && *q == '!') {
		r->negate = true;
		q++;
	}
	/* blanks belong to the expression: snapshot names may hold spaces */
	if (q >= end)
		return zf_err_set(ps->err, -EINVAL, "regex: empty expression at column %zu",
				  col(ps, q));
	r->re_src = zf_xstrndup(q, (size_t)(end - q));
	return 0;
}

/* A regex rule's next alternative, the whole segment [s, end): its ERE gets "|" and it. */
static void regex_append(struct rule *last, const char *s, const char *end)
{
	size_t a = strlen(last->re_src), b = (size_t)(end - s);

	last->re_src = zf_xrealloc(last->re_src, a + 1 + b + 1);
	last->re_src[a] = '|';
	memcpy(last->re_src + a + 1, s, b);
	last->re_src[a + 1 + b] = '\0';
}

/* A segment at p that names no rule we know: says which word, or that none is there. */
static int unknown_rule(struct parser *ps, const char *p, const char *trim)
{
	const char *q;

	for (q = p; q < trim && *q != ':' && *q != '=' && !is_blank(*q); q++)
		;
	if (q == p)
		return zf_err_set(ps->err, -EINVAL, "expected a rule at column %zu", col(ps, p));
	return zf_err_set(ps->err, -EINVAL,
			  "unknown rule '%.*s' at column %zu (use grid:, last_n:, regex:, "
			  "not_replicated or hourly=...)",
			  (int)MIN((size_t)(q - p), (size_t)64), p, col(ps, p));
}

static int parse_segment(struct parser *ps, const char *s, const char *end)
{
	struct rule *last = ps->nrules ? &ps->rules[ps->nrules - 1] : NULL;
	const char *p = skip_blanks(s, end), *q;
	const char *trim = end;
	struct rule *r;
	int r2;

	while (trim > p && is_blank(trim[-1]))
		trim--;
	if (p == trim)
		return zf_err_set(ps->err, -EINVAL, "empty rule at column %zu", col(ps, p));

	if ((q = startswith(p, "grid:")) && q <= end) {
		if ((r2 = regex_finish(ps, last)) < 0)
			return r2;
		r = rule_add(ps, RULE_GRID, p);
		if ((r2 = parse_grid_entry(ps, r, q, trim)) < 0)
			return r2;
		rule_extend(ps, r, trim);
		return 0;
	}
	if ((q = startswith(p, "last_n:")) && q <= end) {
		if ((r2 = regex_finish(ps, last)) < 0)
			return r2;
		r = rule_add(ps, RULE_LAST_N, p);
		if ((r2 = parse_last_n(ps, r, q, trim)) < 0)
			return r2;
		rule_extend(ps, r, trim);
		return 0;
	}
	if ((q = startswith(p, "regex:")) && q <= end) {
		if ((r2 = regex_finish(ps, last)) < 0)
			return r2;
		r = rule_add(ps, RULE_REGEX, p);
		if ((r2 = parse_regex(ps, r, q, end)) < 0)
			return r2;
		rule_extend(ps, r, end);
		return 0;
	}
	if ((q = startswith(p, "not_replicated")) && q <= end) {
		if ((r2 = regex_finish(ps, last)) < 0)
			return r2;
		r = rule_add(ps, RULE_NOT_REPLICATED, p);
		q = skip_blanks(q, trim);
		if (q < trim)
			return unexpected(ps, "not_replicated", q);
		rule_extend(ps, r, trim);
		return 0;
	}
	if (period_prefix(p, trim)) {
		if ((r2 = regex_finish(ps, last)) < 0)
			return r2;
		r = rule_add(ps, RULE_PERIODS, p);
		if ((r2 = parse_periods(ps, r, p, trim)) < 0)
			return r2;
		rule_extend(ps, r, trim);
		return 0;
	}

	/* continuation: another grid interval or another regex alternative */
	if (last && last->kind == RULE_GRID && *p >= '0' && *p <= '9') {
		if ((r2 = parse_grid_entry(ps, last, p, trim)) < 0)
			return r2;
		rule_extend(ps, last, trim);
		return 0;
	}
	if (last && last->kind == RULE_REGEX) {
		regex_append(last, s, end);
		rule_extend(ps, last, end);
		return 0;
	}
	return unknown_rule(ps, p, trim);
}

int zf_retention_policy_parse(struct zf_retention_policy *p, const char *text, struct zf_err *err)
{
	struct parser ps = { .text = text, .err = err };
	const char *s = text;
	int r = 0;

	for (;;) {
		const char *e = segment_end(s);

		r = parse_segment(&ps, s, e);
		if (r >= 0 && p->nrules + ps.nrules > ZF_RETENTION_RULES_MAX)
			r = zf_err_set(err, -EINVAL, "too many rules at column %zu (at most %d)",
				       col(&ps, s), ZF_RETENTION_RULES_MAX);
		if (r < 0 || !*e)
			break;
		s = e + 1;
	}
	if (r >= 0 && ps.nrules)
		r = regex_finish(&ps, &ps.rules[ps.nrules - 1]);
	if (r < 0) {
		for (size_t i = 0; i < ps.nrules; i++)
			rule_release(&ps.rules[i]);
		free(ps.rules);
		return r;
	}
	for (size_t i = 0; i < ps.nrules; i++) {
		ZF_ALLOC_GROW(p->rules, p->nrules + 1, p->arules);
		p->rules[p->nrules++] = ps.rules[i];
	}
	free(ps.rules);
	return 0;
}

int zf_retention_policy_set_select(struct zf_retention_policy *p, const char *prefix,
				   const char *regex, struct zf_err *err)
{
	if (regex) {
		const char *why = NULL;
		regex_t re;
		int rc;

		if (zf_regex_unsafe(regex, &why) >= 0)
			return zf_err_set(err, -EINVAL, "regular expression '%.64s': %s", regex,
					  why);
		rc = regcomp(&re, regex, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char msg[128];
			regerror(rc, &re, msg, sizeof(msg));
			return zf_err_set(err, -EINVAL, "invalid regular expression '%s': %s", regex,
					  msg);
		}
		if (p->have_select)
			regfree(&p->select);
		p->select = re;
		p->have_select = true;
	}
	if (prefix) {
		free(p->prefix);
		p->prefix = zf_xstrdup(prefix);
	}
	return 0;
}

/* ---- evaluation --------------------------------------------------------- */

/* Bounds on times from input, so that sums and offsets never overflow. */
#define TIME_LIMIT ((int64_t)1 << 50)
#define OFFSET_LIMIT ((int64_t)7 * 86400)

struct cand {
	size_t idx;             /* into the input */
	const struct zf_retention_version *v;
	int64_t local;          /* creation in the calendar's local time */
};

static int cand_cmp(const void *a, const void *b)
{
	const struct zf_retention_version *x = ((const struct cand *)a)->v;
	const struct zf_retention_version *y = ((const struct cand *)b)->v;

	if (x->creation != y->creation)
		return x->creation < y->creation ? -1 : 1;
	if (x->createtxg != y->createtxg)
		return x->createtxg < y->createtxg ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Year and month (1-12) of a day count since 1970-01-01 (proleptic Gregorian). */
static void civil_from_days(int64_t days, int64_t *ret_year, int64_t *ret_month)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;                                 /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);          /* from March 1 */
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	*ret_year = yoe + era * 400 + (m <= 2);
	*ret_month = m;
}

static int64_t period_key(enum period per, int64_t local)
{
	int64_t days = floor_div(local, 86400), y, m;

	switch (per) {
	case P_HOURLY:
		return floor_div(local, 3600);
	case P_DAILY:
		return days;
	case P_WEEKLY:
		/* 1970-01-01 was a Thursday: +3 makes weeks start on Monday */
		return floor_div(days + 3, 7);
	case P_MONTHLY:
		civil_from_days(days, &y, &m);
		return y * 12 + m - 1;
	case P_YEARLY:
	default:
		civil_from_days(days, &y, &m);
		return y;
	}
}

struct keyed {
	int64_t key;
	size_t pos;             /* into the sorted candidates */
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;        /* newest period first */
	return x->pos > y->pos ? -1 : x->pos < y->pos;  /* newest snapshot first */
}

static void apply_grid(const struct rule *r, uint64_t bit, const struct cand *c, size_t nc,
		       struct zf_retention_verdict *ret)
{
	int64_t newest = c[nc - 1].v->creation;
	int64_t cur = -1;
	uint64_t kept = 0;

	/* oldest first, so the first ones met in an interval are its oldest */
	for (size_t k = 0; k < nc; k++) {
		int64_t age = newest - c[k].v->creation, off = 0, base = 0, idx = -1;
		uint64_t keep = 0;

		for (size_t e = 0; e < r->nentries; e++) {
			int64_t span = (int64_t)r->entries[e].count * r->entries[e].len;
			if (age < off + span) {
				idx = base + (age - off) / r->entries[e].len;
				keep = r->entries[e].keep;
				break;
			}
			off += span;
			base += (int64_t)r->entries[e].count;
		}
		if (idx < 0)
			continue;
		if (idx != cur) {
			cur = idx;
			kept = 0;
		}
		if (kept < keep) {
			ret[c[k].idx].rules |= bit;
			kept++;
		}
	}
}

static void apply_periods(const struct rule *r, uint64_t bit, const struct cand *c, size_t nc,
			  struct keyed *scratch, struct zf_retention_verdict *ret)
{
	for (int per = 0; per < P_MAX; per++) {
		int64_t n = r->periods[per], newest;

		if (n <= 0)
			continue;
		for (size_t k = 0; k < nc; k++)
			scratch[k] = (struct keyed){ period_key((enum period)per, c[k].local), k };
		qsort(scratch, nc, sizeof(*scratch), keyed_cmp);
		newest = scratch[0].key;
		for (size_t k = 0; k < nc; k++) {
			if (scratch[k].key <= newest - n)
				break;
			if (k == 0 || scratch[k].key != scratch[k - 1].key)
				ret[c[scratch[k].pos].idx].rules |= bit;
		}
	}
}

static bool is_cursor(const struct zf_retention_version *v)
{
	return v->bookmark && (streq(v->name, ZF_RETENTION_CURSOR_NAME) ||
			       startswith(v->name, ZF_RETENTION_CURSOR_NAME "_"));
}

/*
 * Checks every version's name and creation time, and finds the oldest
 * cursor: *have_cursor, and its createtxg in *cursor_txg.
 */
static int check_versions(const struct zf_retention_version *v, size_t n, bool *have_cursor,
			  uint64_t *cursor_txg, struct zf_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i].name)
			return zf_err_set(err, -EINVAL, "version %zu has no name", i);
		if (v[i].creation > TIME_LIMIT || v[i].creation < -TIME_LIMIT)
			return zf_err_set(err, -EINVAL, "'%s': creation time %" PRId64
					  " out of range", v[i].name, v[i].creation);
		if (is_cursor(&v[i]) && (!*have_cursor || v[i].createtxg < *cursor_txg)) {
			*have_cursor = true;
			*cursor_txg = v[i].createtxg;
		}
	}
	if (n > INT32_MAX)
		return zf_err_set(err, -E2BIG, "too many versions (%zu)", n);
	return 0;
}

/*
 * What protects each version whatever the rules say (bookmark, foreign,
 * held, a cursor's), and the candidates the rules decide on: the policy's
 * own snapshots, into c; returns how many.
 */
static size_t mark_protected(const struct zf_retention_policy *p,
			     const struct zf_retention_version *v, size_t n,
			     const struct zf_retention_opts *opts, struct zf_retention_verdict *ret,
			     struct cand *c)
{
	_cleanup_free_ uint64_t *cursors = NULL;
	size_t ncursors = 0, acursors = 0, nc = 0;

	/* the guids cursors point at: few, so a list beats a lookup structure */
	for (size_t i = 0; i < n; i++)
		if (is_cursor(&v[i])) {
			ZF_ALLOC_GROW(cursors, ncursors + 1, acursors);
			cursors[ncursors++] = v[i].guid;
		}

	for (size_t i = 0; i < n; i++) {
		ret[i] = (struct zf_retention_verdict){ 0 };
		if (v[i].bookmark) {
			ret[i].protect |= ZF_RETENTION_BOOKMARK;
			continue;
		}
		if (p->have_select ? regexec(&p->select, v[i].name, 0, NULL, 0) != 0
				   : !startswith(v[i].name, p->prefix))
			ret[i].protect |= ZF_RETENTION_FOREIGN;
		if (v[i].userrefs > 0)
			ret[i].protect |= ZF_RETENTION_HELD;
		for (size_t j = 0; j < ncursors; j++)
			if (cursors[j] == v[i].guid) {
				ret[i].protect |= ZF_RETENTION_CURSOR;
				break;
			}
		if (!(ret[i].protect & ZF_RETENTION_FOREIGN)) {
			int64_t off = opts->utc_offset ? opts->utc_offset(v[i].creation,
									  opts->userdata) : 0;
			off = MAX(-OFFSET_LIMIT, MIN(OFFSET_LIMIT, off));
			c[nc++] = (struct cand){ i, &v[i], v[i].creation + off };
		}
	}
	return nc;
}

/*
 * Each rule's bit on the candidates it keeps (c, nc: sorted oldest first);
 * NOT_REPLICATED keeps what is newer than the oldest cursor, or everything
 * without one.
 */
static void apply_rules(const struct zf_retention_policy *p, const struct cand *c, size_t nc,
			bool have_cursor, uint64_t cursor_txg, struct zf_retention_verdict *ret)
{
	_cleanup_free_ struct keyed *scratch = NULL;

	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		uint64_t bit = UINT64_C(1) << i;

		switch (r->kind) {
		case RULE_GRID:
			apply_grid(r, bit, c, nc, ret);
			break;
		case RULE_LAST_N:
			for (size_t k = nc > r->n ? nc - r->n : 0; k < nc; k++)
				ret[c[k].idx].rules |= bit;
			break;
		case RULE_REGEX:
			for (size_t k = 0; k < nc; k++)
				if ((regexec(&r->re, c[k].v->name, 0, NULL, 0) == 0) != r->negate)
					ret[c[k].idx].rules |= bit;
			break;
		case RULE_PERIODS:
			if (!scratch)
				scratch = zf_xcalloc(nc, sizeof(*scratch));
			apply_periods(r, bit, c, nc, scratch, ret);
			break;
		case RULE_NOT_REPLICATED:
			for (size_t k = 0; k < nc; k++)
				if (!have_cursor || c[k].v->createtxg > cursor_txg)
					ret[c[k].idx].rules |= bit;
			break;
		}
	}
}

int zf_retention_evaluate(const struct zf_retention_policy *p,
			  const struct zf_retention_version *v, size_t n,
			  const struct zf_retention_opts *opts, struct zf_retention_verdict *ret,
			  struct zf_err *err)
{
	static const struct zf_retention_opts defaults = { 0 };
	_cleanup_free_ struct cand *c = NULL;
	bool have_cursor = false;
	uint64_t cursor_txg = 0;
	size_t nc;
	int ndestroy = 0, r;

	if (!opts)
		opts = &defaults;
	r = check_versions(v, n, &have_cursor, &cursor_txg, err);
	if (r < 0)
		return r;
	c = zf_xcalloc(n ? n : 1, sizeof(*c));
	nc = mark_protected(p, v, n, opts, ret, c);
	if (nc == 0)
		return 0;
	qsort(c, nc, sizeof(*c), cand_cmp);
	if (!opts->allow_empty)
		ret[c[nc - 1].idx].protect |= ZF_RETENTION_NEWEST;
	apply_rules(p, c, nc, have_cursor, cursor_txg, ret);

	/* destroyed: what neither a rule keeps nor anything protects */
	for (size_t k = 0; k < nc; k++) {
		struct zf_retention_verdict *d = &ret[c[k].idx];
		if (!d->rules && !d->protect) {
			d->destroy = true;
			ndestroy++;
		}
	}
	return ndestroy;
}
