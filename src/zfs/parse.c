/* src/zfs/parse.c — parsers of `zfs list/get/holds -Hp` output (pure; fuzzed) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/alloc.h"
#include "util/err.h"
#include "zfs/zfs.h"
#include "util/banned.h"

#define FIELDS_MAX 8

/* One line split at tabs; pointers into a private NUL-terminated copy. */
struct line {
	char *copy;
	char *f[FIELDS_MAX];
	size_t nf;
	size_t lineno;
};

/*
 * Calls fn for every non-empty line of text.  Lines are split at tabs into at
 * most FIELDS_MAX fields (the last one keeps any further tabs).
 */
static int for_each_line(const char *text, size_t len,
			 int (*fn)(struct line *l, void *ud, struct zf_err *err), void *ud,
			 struct zf_err *err)
{
	size_t lineno = 0;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct line l = { .lineno = ++lineno };
		int r;

		if (le == p) {
			p = le + 1;
			continue;
		}
		if (memchr(p, '\0', (size_t)(le - p)))
			return zf_err_set(err, -EBADMSG, "zfs output line %zu: NUL byte", lineno);
		l.copy = zf_xstrndup(p, (size_t)(le - p));
		for (char *s = l.copy;;) {
			char *tab = l.nf < FIELDS_MAX - 1 ? strchr(s, '\t') : NULL;
			l.f[l.nf++] = s;
			if (!tab)
				break;
			*tab = '\0';
			s = tab + 1;
		}
		r = fn(&l, ud, err);
		free(l.copy);
		if (r < 0)
			return r;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *e;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || *e)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int field_u64(const struct line *l, size_t i, const char *what, uint64_t *ret,
		     struct zf_err *err)
{
	if (parse_u64(l->f[i], ret) < 0)
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: %s '%.40s' is not a number",
				  l->lineno, what, l->f[i]);
	return 0;
}

static int want_fields(const struct line *l, size_t n, struct zf_err *err)
{
	if (l->nf != n)
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: %zu fields, expected %zu",
				  l->lineno, l->nf, n);
	return 0;
}

/* ---- zfs list -o name,type,guid,createtxg ------------------------------ */

static int fs_line(struct line *l, void *ud, struct zf_err *err)
{
	struct zf_zfs_fs_list *list = ud;
	struct zf_zfs_fs fs = { 0 };
	int r;

	if ((r = want_fields(l, 4, err)) < 0 ||
	    (r = field_u64(l, 2, "guid", &fs.guid, err)) < 0 ||
	    (r = field_u64(l, 3, "createtxg", &fs.createtxg, err)) < 0)
		return r;
	if (!*l->f[0] || strpbrk(l->f[0], "@#"))
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: bad dataset name '%.80s'",
				  l->lineno, l->f[0]);
	fs.name = zf_xstrdup(l->f[0]);
	fs.type = zf_xstrdup(l->f[1]);
	ZF_ALLOC_GROW(list->v, list->n + 1, list->alloc);
	list->v[list->n++] = fs;
	return 0;
}

int zf_zfs_parse_fs_list(const char *text, size_t len, struct zf_zfs_fs_list *ret,
			 struct zf_err *err)
{
	int r = for_each_line(text, len, fs_line, ret, err);
	if (r < 0)
		zf_zfs_fs_list_release(ret);
	return r;
}

void zf_zfs_fs_list_release(struct zf_zfs_fs_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].type);
	}
	free(l->v);
	*l = (struct zf_zfs_fs_list){ 0 };
}

/* ---- zfs list -t snapshot,bookmark -o name,type,guid,createtxg,creation,userrefs ---- */

static int version_line(struct line *l, void *ud, struct zf_err *err)
{
	struct zf_zfs_version_list *list = ud;
	struct zf_zfs_version v = { 0 };
	uint64_t creation;
	char *sep;
	int r;

	if ((r = want_fields(l, 6, err)) < 0 ||
	    (r = field_u64(l, 2, "guid", &v.guid, err)) < 0 ||
	    (r = field_u64(l, 3, "createtxg", &v.createtxg, err)) < 0 ||
	    (r = field_u64(l, 4, "creation", &creation, err)) < 0)
		return r;
	if (creation > INT64_MAX)
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: creation out of range",
				  l->lineno);
	v.creation = (int64_t)creation;
	if (streq(l->f[1], "snapshot"))
		v.bookmark = false;
	else if (streq(l->f[1], "bookmark"))
		v.bookmark = true;
	else
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: unexpected type '%.40s'",
				  l->lineno, l->f[1]);
	if (streq(l->f[5], "-"))
		v.userrefs = 0;
	else if ((r = field_u64(l, 5, "userrefs", &v.userrefs, err)) < 0)
		return r;

	sep = strchr(l->f[0], v.bookmark ? '#' : '@');
	if (!sep || sep == l->f[0] || !sep[1])
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: bad %s name '%.80s'",
				  l->lineno, l->f[1], l->f[0]);
	v.fs = zf_xstrndup(l->f[0], (size_t)(sep - l->f[0]));
	v.name = zf_xstrdup(sep + 1);
	ZF_ALLOC_GROW(list->v, list->n + 1, list->alloc);
	list->v[list->n++] = v;
	return 0;
}

int zf_zfs_parse_version_list(const char *text, size_t len, struct zf_zfs_version_list *ret,
			      struct zf_err *err)
{
	int r = for_each_line(text, len, version_line, ret, err);
	if (r < 0)
		zf_zfs_version_list_release(ret);
	return r;
}

void zf_zfs_version_list_release(struct zf_zfs_version_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].fs);
		free(l->v[i].name);
	}
	free(l->v);
	*l = (struct zf_zfs_version_list){ 0 };
}

/* ---- zfs get -Hp -o name,property,value,source -------------------------- */

static int prop_line(struct line *l, void *ud, struct zf_err *err)
{
	struct zf_zfs_prop_list *list = ud;
	struct zf_zfs_prop p;
	char *value, *source;

	/*
	 * A user property's value may itself hold tabs: the name and property
	 * come first, the source last, and the value is everything between.
	 */
	if (l->nf < 4)
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: %zu fields, expected 4",
				  l->lineno, l->nf);
	value = l->f[2];
	for (size_t i = 3; i < l->nf; i++)
		value[strlen(value)] = '\t';    /* undo the split inside the value */
	source = strrchr(value, '\t');
	*source++ = '\0';
	p = (struct zf_zfs_prop){
		.dataset = zf_xstrdup(l->f[0]),
		.name = zf_xstrdup(l->f[1]),
		.value = zf_xstrdup(value),
		.source = zf_xstrdup(source),
	};
	ZF_ALLOC_GROW(list->v, list->n + 1, list->alloc);
	list->v[list->n++] = p;
	return 0;
}

int zf_zfs_parse_props(const char *text, size_t len, struct zf_zfs_prop_list *ret,
		       struct zf_err *err)
{
	int r = for_each_line(text, len, prop_line, ret, err);
	if (r < 0)
		zf_zfs_prop_list_release(ret);
	return r;
}

void zf_zfs_prop_list_release(struct zf_zfs_prop_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].dataset);
		free(l->v[i].name);
		free(l->v[i].value);
		free(l->v[i].source);
	}
	free(l->v);
	*l = (struct zf_zfs_prop_list){ 0 };
}

const char *zf_zfs_prop_find(const struct zf_zfs_prop_list *l, const char *dataset,
			     const char *prop)
{
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->v[i].dataset, dataset) && streq(l->v[i].name, prop))
			return l->v[i].value;
	return NULL;
}

/* ---- zfs holds -Hp: name, tag, timestamp --------------------------------- */

static int hold_line(struct line *l, void *ud, struct zf_err *err)
{
	struct zf_zfs_hold_list *list = ud;
	uint64_t created;
	int r;

	/* the tag may hold tabs: name first, time last, tag between */
	if (l->nf < 3)
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: %zu fields, expected 3",
				  l->lineno, l->nf);
	for (size_t i = 2; i < l->nf; i++)
		l->f[1][strlen(l->f[1])] = '\t';
	char *last = strrchr(l->f[1], '\t');
	*last++ = '\0';
	l->f[2] = last;
	l->nf = 3;
	if ((r = field_u64(l, 2, "timestamp", &created, err)) < 0)
		return r;
	if (!strchr(l->f[0], '@'))
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: bad snapshot name '%.80s'",
				  l->lineno, l->f[0]);
	ZF_ALLOC_GROW(list->v, list->n + 1, list->alloc);
	list->v[list->n++] = (struct zf_zfs_hold){
		.snapshot = zf_xstrdup(l->f[0]),
		.tag = zf_xstrdup(l->f[1]),
		.created = created > INT64_MAX ? INT64_MAX : (int64_t)created,
	};
	return 0;
}

int zf_zfs_parse_holds(const char *text, size_t len, struct zf_zfs_hold_list *ret,
		       struct zf_err *err)
{
	int r = for_each_line(text, len, hold_line, ret, err);
	if (r < 0)
		zf_zfs_hold_list_release(ret);
	return r;
}

void zf_zfs_hold_list_release(struct zf_zfs_hold_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].snapshot);
		free(l->v[i].tag);
	}
	free(l->v);
	*l = (struct zf_zfs_hold_list){ 0 };
}
