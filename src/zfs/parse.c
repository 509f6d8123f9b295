/* src/zfs/parse.c — parsers of `zfs list/holds -Hp` and `zfs get -j` output (pure; fuzzed) */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "util/alloc.h"
#include "util/err.h"
#include "util/num.h"
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

/*
 * s for a message, in buf (at most n - 1 bytes): control bytes become '?', so
 * that text from zfs's output, which may hold newlines, keeps it one line.
 */
static const char *excerpt(const char *s, char *buf, size_t n)
{
	size_t i = 0;

	for (; s[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

static int field_u64(const struct line *l, size_t i, const char *what, uint64_t *ret,
		     struct zf_err *err)
{
	char buf[41];

	if (zf_parse_u64(l->f[i], UINT64_MAX, ret) < 0)
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: %s '%s' is not a number",
				  l->lineno, what, excerpt(l->f[i], buf, sizeof(buf)));
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

/*
 * zfs list prints names, zfs's own words and numbers, none of them user
 * text: OpenZFS's zfs_namecheck.c admits only [A-Za-z0-9_.:- ] in a name
 * (besides '/', '@', '#'), and the kernel checks the name of every ioctl
 * that creates or renames (received streams included), so no name holds a
 * tab or a newline and splitting lines at them is exact.
 * Property values are another matter: see zfs get -j below.
 */

static int fs_line(struct line *l, void *ud, struct zf_err *err)
{
	struct zf_zfs_fs_list *list = ud;
	struct zf_zfs_fs fs = { 0 };
	char buf[81];
	int r;

	if ((r = want_fields(l, 4, err)) < 0 ||
	    (r = field_u64(l, 2, "guid", &fs.guid, err)) < 0 ||
	    (r = field_u64(l, 3, "createtxg", &fs.createtxg, err)) < 0)
		return r;
	if (!*l->f[0] || strpbrk(l->f[0], "@#"))
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: bad dataset name '%s'",
				  l->lineno, excerpt(l->f[0], buf, sizeof(buf)));
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
	char *sep, buf[81];
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
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: unexpected type '%s'",
				  l->lineno, excerpt(l->f[1], buf, sizeof(buf)));
	if (streq(l->f[5], "-"))
		v.userrefs = 0;
	else if ((r = field_u64(l, 5, "userrefs", &v.userrefs, err)) < 0)
		return r;

	sep = strchr(l->f[0], v.bookmark ? '#' : '@');
	if (!sep || sep == l->f[0] || !sep[1])
		return zf_err_set(err, -EBADMSG, "zfs output line %zu: bad %s name '%s'",
				  l->lineno, l->f[1], excerpt(l->f[0], buf, sizeof(buf)));
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

/* ---- zfs list -t filesystem,volume,snapshot,bookmark, the same six columns ---- */

struct tree {
	struct zf_zfs_fs_list *fs;
	struct zf_zfs_version_list *versions;
};

/*
 * A filesystem's line has a creation time and "-" for userrefs: checked as
 * present, not read.  Every other line is a version's.
 */
static int tree_line(struct line *l, void *ud, struct zf_err *err)
{
	struct tree *t = ud;
	int r;

	if (l->nf < 2 || (!streq(l->f[1], "filesystem") && !streq(l->f[1], "volume")))
		return version_line(l, t->versions, err);
	if ((r = want_fields(l, 6, err)) < 0)
		return r;
	l->nf = 4;
	return fs_line(l, t->fs, err);
}

int zf_zfs_parse_tree_list(const char *text, size_t len, struct zf_zfs_fs_list *ret_fs,
			   struct zf_zfs_version_list *ret_versions, struct zf_err *err)
{
	struct tree t = { ret_fs, ret_versions };
	int r = for_each_line(text, len, tree_line, &t, err);

	if (r < 0) {
		zf_zfs_fs_list_release(ret_fs);
		zf_zfs_version_list_release(ret_versions);
	}
	return r;
}

/* ---- zfs get -j -p -o name,property,value,source ------------------------ */

/*
 * What OpenZFS 2.3 prints (one line, spaces added here):
 *
 *   {"output_version": {"command": "zfs get", "vers_major": 0, "vers_minor": 1},
 *    "datasets": {"p/a": {"name": "p/a", "type": "FILESYSTEM", "pool": "p", ...,
 *        "properties": {"zferry:x": {"value": "1", "source": {"type": "LOCAL", "data": "-"}},
 *                       "compression": {"value": "lz4",
 *                                       "source": {"type": "INHERITED", "data": "p"}}}}}}
 *
 * Every string is escaped by libnvpair's JSON printer: control characters,
 * '"' and '\' as escapes, other characters of the Basic Multilingual Plane
 * as \uXXXX, so the text is plain ASCII and no value can close its string.
 * The printer drops characters above U+FFFF, and at a byte sequence that is
 * not valid in the locale's encoding it stops the whole output mid-string
 * (zfs still exits 0): see get_json_truncated().
 */

#define GET_JSON_DEPTH 16               /* zfs's document is 6 deep */

static void json_object_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

static void json_tokener_freep(struct json_tokener **t)
{
	if (*t)
		json_tokener_free(*t);
}

/*
 * The byte offset of a \u0000 escape in text, or -1.  zfs's strings are C
 * strings and never hold one; json-c would keep it in a value (we could
 * check) but cut a member name short at it (we could not).
 */
static ssize_t escaped_nul(const char *text, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (text[i] != '\\')
			continue;
		if (text[i + 1] == 'u' && len - i >= 6 && !memcmp(text + i + 2, "0000", 4))
			return (ssize_t)i;
		i++;                            /* skip the escaped character, '\\' too */
	}
	return -1;
}

/*
 * *ret = member key of o, NULL when it is absent and not required; absent
 * and required, or of another type than t, is an error naming where.
 */
static int member(struct json_object *o, const char *key, enum json_type t, bool required,
		  struct json_object **ret, const char *where, struct zf_err *err)
{
	struct json_object *v = NULL;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v)) {
		if (!required)
			return 0;
		return zf_err_set(err, -EBADMSG, "zfs get -j output: %s has no \"%s\"", where, key);
	}
	if (!json_object_is_type(v, t))
		return zf_err_set(err, -EBADMSG, "zfs get -j output: %s: \"%s\" is %s, expected %s",
				  where, key, json_type_to_name(json_object_get_type(v)),
				  json_type_to_name(t));
	*ret = v;
	return 0;
}

/* A string member as a C string; one holding a NUL is refused, never cut short. */
static int member_str(struct json_object *o, const char *key, const char **ret,
		      const char *where, struct zf_err *err)
{
	struct json_object *v;
	int r = member(o, key, json_type_string, true, &v, where, err);

	if (r < 0)
		return r;
	*ret = json_object_get_string(v);
	if (strlen(*ret) != (size_t)json_object_get_string_len(v))
		return zf_err_set(err, -EBADMSG, "zfs get -j output: %s: \"%s\" holds a NUL byte",
				  where, key);
	return 0;
}

static int check_version(struct json_object *root, struct zf_err *err)
{
	struct json_object *ver, *major;
	const char *cmd;
	char buf[41];
	int r;

	if ((r = member(root, "output_version", json_type_object, true, &ver, "document",
			err)) < 0 ||
	    (r = member_str(ver, "command", &cmd, "output_version", err)) < 0 ||
	    (r = member(ver, "vers_major", json_type_int, true, &major, "output_version",
			err)) < 0)
		return r;
	if (!streq(cmd, "zfs get"))
		return zf_err_set(err, -EBADMSG, "zfs get -j output: made by '%s', not 'zfs get'",
				  excerpt(cmd, buf, sizeof(buf)));
	if (json_object_get_int64(major) != 0)
		return zf_err_set(err, -EBADMSG,
				  "zfs get -j output: version %" PRId64 ".x, zferry reads 0.x",
				  json_object_get_int64(major));
	return 0;
}

/*
 * The -H form of a source: "local", "default", "temporary", "received", "-"
 * (none), "inherited from DATASET".  A type OpenZFS adds later passes
 * through in lower case rather than failing a listing that never reads it.
 */
static char *source_text(const char *type, const char *data)
{
	static const struct {
		const char *json, *text;
	} types[] = {
		{ "LOCAL", "local" },     { "DEFAULT", "default" },   { "TEMPORARY", "temporary" },
		{ "RECEIVED", "received" }, { "NONE", "-" },
	};
	char *s;

	if (streq(type, "INHERITED"))
		return zf_xasprintf("inherited from %s", data);
	for (size_t i = 0; i < ELEMENTSOF(types); i++)
		if (streq(type, types[i].json))
			return zf_xstrdup(types[i].text);
	s = zf_xstrdup(type);
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

static int get_json_prop(const char *dataset, const char *name, struct json_object *po,
			 struct zf_zfs_prop_list *list, struct zf_err *err)
{
	struct json_object *src;
	const char *value, *type, *data;
	char where[400], pn[81], dn[257];
	int r;

	snprintf(where, sizeof(where), "property '%s' of '%s'", excerpt(name, pn, sizeof(pn)),
		 excerpt(dataset, dn, sizeof(dn)));
	if (!json_object_is_type(po, json_type_object))
		return zf_err_set(err, -EBADMSG, "zfs get -j output: %s is %s, expected an object",
				  where, json_type_to_name(json_object_get_type(po)));
	if ((r = member_str(po, "value", &value, where, err)) < 0 ||
	    (r = member(po, "source", json_type_object, true, &src, where, err)) < 0 ||
	    (r = member_str(src, "type", &type, where, err)) < 0 ||
	    (r = member_str(src, "data", &data, where, err)) < 0)
		return r;
	ZF_ALLOC_GROW(list->v, list->n + 1, list->alloc);
	list->v[list->n++] = (struct zf_zfs_prop){
		.dataset = zf_xstrdup(dataset),
		.name = zf_xstrdup(name),
		.value = zf_xstrdup(value),
		.source = source_text(type, data),
	};
	return 0;
}

static int get_json_dataset(const char *key, struct json_object *dso,
			    struct zf_zfs_prop_list *list, struct zf_err *err)
{
	struct json_object *props;
	struct json_object_iterator it, end;
	const char *name;
	char where[300], dn[257];
	int r;

	snprintf(where, sizeof(where), "dataset '%s'", excerpt(key, dn, sizeof(dn)));
	if (!json_object_is_type(dso, json_type_object))
		return zf_err_set(err, -EBADMSG, "zfs get -j output: %s is %s, expected an object",
				  where, json_type_to_name(json_object_get_type(dso)));
	if ((r = member_str(dso, "name", &name, where, err)) < 0)
		return r;
	if (!streq(name, key))
		return zf_err_set(err, -EBADMSG, "zfs get -j output: %s is named '%s'", where,
				  excerpt(name, dn, sizeof(dn)));
	/* absent when zfs has nothing to say about the dataset */
	if ((r = member(dso, "properties", json_type_object, false, &props, where, err)) < 0)
		return r;
	if (!props)
		return 0;
	end = json_object_iter_end(props);
	for (it = json_object_iter_begin(props); !json_object_iter_equal(&it, &end);
	     json_object_iter_next(&it)) {
		r = get_json_prop(key, json_object_iter_peek_name(&it),
				  json_object_iter_peek_value(&it), list, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int get_json_document(struct json_object *root, struct zf_zfs_prop_list *list,
			     struct zf_err *err)
{
	struct json_object *datasets;
	struct json_object_iterator it, end;
	int r;

	if (!json_object_is_type(root, json_type_object))
		return zf_err_set(err, -EBADMSG, "zfs get -j output is %s, expected an object",
				  json_type_to_name(json_object_get_type(root)));
	if ((r = check_version(root, err)) < 0 ||
	    (r = member(root, "datasets", json_type_object, true, &datasets, "document",
			err)) < 0)
		return r;
	end = json_object_iter_end(datasets);
	for (it = json_object_iter_begin(datasets); !json_object_iter_equal(&it, &end);
	     json_object_iter_next(&it)) {
		r = get_json_dataset(json_object_iter_peek_name(&it),
				     json_object_iter_peek_value(&it), list, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Parses the whole of text as one JSON document (whitespace may follow).
 * Returns 1 with *ret set, 0 when text ends before the document does, or
 * <0 with the reason.
 */
static int get_json_tokenize(const char *text, size_t len, struct json_object **ret,
			     struct zf_err *err)
{
	_cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	enum json_tokener_error e;
	size_t end;

	tok = json_tokener_new_ex(GET_JSON_DEPTH);
	if (!tok)
		return zf_err_set(err, -ENOMEM, "zfs get -j output: out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (e == json_tokener_continue)
		return 0;
	if (!root || e != json_tokener_success)
		return zf_err_set(err, -EBADMSG, "zfs get -j output: %s at byte %zu",
				  json_tokener_error_desc(e), end);
	while (end < len && strchr(" \t\r\n", text[end]) && text[end])
		end++;
	if (end < len)
		return zf_err_set(err, -EBADMSG,
				  "zfs get -j output: unexpected byte 0x%02x after the document at "
				  "byte %zu", (unsigned char)text[end], end);
	*ret = TAKE_PTR(root);
	return 1;
}

/* The name and value of the last member of object o, or false. */
static bool last_member(struct json_object *o, const char **ret_name, struct json_object **ret)
{
	struct json_object_iterator it, end;
	bool found = false;

	if (!json_object_is_type(o, json_type_object))
		return false;
	end = json_object_iter_end(o);
	for (it = json_object_iter_begin(o); !json_object_iter_equal(&it, &end);
	     json_object_iter_next(&it)) {
		*ret_name = json_object_iter_peek_name(&it);
		*ret = json_object_iter_peek_value(&it);
		found = true;
	}
	return found;
}

/*
 * Text that ends early.  zfs stops inside the value at fault, 5 levels deep
 * (document, datasets, dataset, properties, property), before that
 * property's "source": closing the string and the five objects gives a
 * document whose last dataset's last property is the one, with a "value"
 * and nothing else.  Otherwise the output was cut for a reason we cannot name.
 */
static int get_json_truncated(const char *text, size_t len, struct zf_err *err)
{
	_cleanup_free_ char *fixed = NULL;
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct json_object *datasets, *ds, *props, *prop, *value;
	const char *ds_name, *prop_name;
	char pn[81], dn[257];
	struct zf_err ignored = ZF_ERR_INIT;

	fixed = zf_xmalloc(len + 7);
	memcpy(fixed, text, len);
	memcpy(fixed + len, "\"}}}}}", 7);
	if (get_json_tokenize(fixed, len + 6, &root, &ignored) > 0 &&
	    json_object_object_get_ex(root, "datasets", &datasets) &&
	    last_member(datasets, &ds_name, &ds) &&
	    json_object_object_get_ex(ds, "properties", &props) &&
	    last_member(props, &prop_name, &prop) &&
	    json_object_is_type(prop, json_type_object) && json_object_object_length(prop) == 1 &&
	    json_object_object_get_ex(prop, "value", &value) &&
	    json_object_is_type(value, json_type_string))
		return zf_err_set(err, -EILSEQ,
				  "zfs get -j stopped inside the value of property '%s' of "
				  "'%s': not valid UTF-8, or zfs not in a UTF-8 locale",
				  excerpt(prop_name, pn, sizeof(pn)), excerpt(ds_name, dn, sizeof(dn)));
	return zf_err_set(err, -EBADMSG, "zfs get -j output ends early, after %zu bytes", len);
}

int zf_zfs_parse_props_json(const char *text, size_t len, struct zf_zfs_prop_list *ret,
			    struct zf_err *err)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	ssize_t nul;
	int r;

	if (len > INT_MAX - 8)
		r = zf_err_set(err, -E2BIG, "zfs get -j output: %zu bytes, too large", len);
	else if ((nul = escaped_nul(text, len)) >= 0)
		r = zf_err_set(err, -EBADMSG, "zfs get -j output: a string holds a NUL (\\u0000) "
			       "at byte %zd", nul);
	else if ((r = get_json_tokenize(text, len, &root, err)) == 0)
		r = get_json_truncated(text, len, err);
	else if (r > 0)
		r = get_json_document(root, ret, err);
	if (r < 0)
		zf_zfs_prop_list_release(ret);
	return r < 0 ? r : 0;
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

/*
 * zfs holds has no -j in OpenZFS 2.3, and a tag is any bytes but NUL, tabs
 * and newlines included (zfs hold refuses only an empty one).  A line is
 * "SNAPSHOT\tTAG\tSECONDS": the snapshot name holds no tab (OpenZFS's name
 * rules) and comes first, the time is digits and comes last, so a tag with
 * tabs reads back whole.  A tag with a newline splits its hold over lines,
 * and each piece must then fit that shape to be taken for a hold: one that
 * does not, fails the parse.  See zfs.h for what a fitting piece can do.
 */

struct holds_ctx {
	const char **names;             /* the snapshots asked for, sorted */
	size_t n;
	struct zf_zfs_hold_list *list;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int hold_line(struct line *l, void *ud, struct zf_err *err)
{
	struct holds_ctx *c = ud;
	const char *name = l->f[0];
	char *tag, *time_field, buf[64];
	uint64_t created;
	int r;

	/* rejoin what for_each_line() split at tabs: the tag keeps its own */
	if (l->nf < 3)
		return zf_err_set(err, -EBADMSG,
				  "zfs holds output line %zu: '%s' is not 'snapshot, tag, time'",
				  l->lineno, excerpt(name, buf, sizeof(buf)));
	tag = l->f[1];
	for (size_t i = 2; i < l->nf; i++)
		tag[strlen(tag)] = '\t';
	time_field = strrchr(tag, '\t');
	*time_field++ = '\0';
	l->f[2] = time_field;
	l->nf = 3;

	if (!c->n || !bsearch(&name, c->names, c->n, sizeof(*c->names), cmp_str))
		return zf_err_set(err, -EBADMSG,
				  "zfs holds output line %zu: '%s' is not a snapshot asked for",
				  l->lineno, excerpt(name, buf, sizeof(buf)));
	if ((r = field_u64(l, 2, "time", &created, err)) < 0)
		return r;
	if (created > INT64_MAX)
		return zf_err_set(err, -EBADMSG, "zfs holds output line %zu: time out of range",
				  l->lineno);
	if (!*tag)
		return zf_err_set(err, -EBADMSG, "zfs holds output line %zu: empty tag on '%s'",
				  l->lineno, name);
	ZF_ALLOC_GROW(c->list->v, c->list->n + 1, c->list->alloc);
	c->list->v[c->list->n++] = (struct zf_zfs_hold){
		.snapshot = zf_xstrdup(name),
		.tag = zf_xstrdup(tag),
		.created = (int64_t)created,
	};
	return 0;
}

static int cmp_hold(const void *a, const void *b)
{
	const struct zf_zfs_hold *x = *(const struct zf_zfs_hold *const *)a;
	const struct zf_zfs_hold *y = *(const struct zf_zfs_hold *const *)b;
	int d = strcmp(x->snapshot, y->snapshot);
	return d ? d : strcmp(x->tag, y->tag);
}

/* zfs keeps one hold per tag and snapshot: a second one was forged by a tag. */
static int holds_unique(const struct zf_zfs_hold_list *l, size_t from, struct zf_err *err)
{
	_cleanup_free_ const struct zf_zfs_hold **v = NULL;
	size_t n = l->n - from;
	char buf[64];

	if (n < 2)
		return 0;
	v = zf_xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = &l->v[from + i];
	qsort(v, n, sizeof(*v), cmp_hold);
	for (size_t i = 1; i < n; i++)
		if (!cmp_hold(&v[i - 1], &v[i]))
			return zf_err_set(err, -EBADMSG,
					  "zfs holds output: hold '%s' on '%s' listed twice",
					  excerpt(v[i]->tag, buf, sizeof(buf)), v[i]->snapshot);
	return 0;
}

int zf_zfs_parse_holds(const char *text, size_t len, const char *const *snapshots, size_t n,
		       struct zf_zfs_hold_list *ret, struct zf_err *err)
{
	_cleanup_free_ const char **names = NULL;
	struct holds_ctx c = { NULL, n, ret };
	size_t from = ret->n;
	int r;

	if (n) {
		names = zf_xcalloc(n, sizeof(*names));
		memcpy(names, snapshots, n * sizeof(*names));
		qsort(names, n, sizeof(*names), cmp_str);
	}
	c.names = names;
	r = for_each_line(text, len, hold_line, &c, err);
	if (r >= 0)
		r = holds_unique(ret, from, err);
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

/* ---- zfs send -nP [-t TOKEN] ---------------------------------------------- */

/*
 * -nP ends with "size\t<bytes>".  Before it come "full"/"incremental" lines
 * of snapshot names, which hold no newline, and with -t the token's nvlist,
 * whose strings a client that crafted the token chose: only the last line
 * is zfs's own for sure.
 */
int zf_zfs_parse_send_size(const char *text, size_t len, uint64_t *ret_bytes,
			   struct zf_err *err)
{
	_cleanup_free_ char *last = NULL;
	const char *end = text + len, *p;
	uint64_t v;

	while (end > text && end[-1] == '\n')
		end--;
	p = end;
	while (p > text && p[-1] != '\n')
		p--;
	last = zf_xstrndup(p, (size_t)(end - p));
	if (strlen(last) != (size_t)(end - p) || !startswith(last, "size\t") ||
	    zf_parse_u64(last + 5, UINT64_MAX, &v) < 0)
		return zf_err_set(err, -EBADMSG, "zfs send -nP output does not end with its size");
	*ret_bytes = v;
	return 0;
}

/*
 * -nP -t prints the token's nvlist, "\tKEY = VALUE" a line each.  The token
 * comes from whoever asks to resume, and its other strings may hold
 * newlines and so print a line of that shape too: a field found twice
 * fails, whichever is real.  A nested nvlist's members are indented deeper
 * and do not count.  0 and *ret (NULL when absent), or -EBADMSG.
 */
static int token_field(const char *text, size_t len, const char *key, char **ret,
		       struct zf_err *err)
{
	_cleanup_free_ char *pat = zf_xasprintf("\t%s = ", key);
	size_t plen = strlen(pat);
	const char *p = text, *end = text + len, *found = NULL, *found_end = NULL;

	*ret = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if ((size_t)(le - p) >= plen && !memcmp(p, pat, plen)) {
			if (found)
				return zf_err_set(err, -EBADMSG, "resume token names its %s twice",
						  key);
			found = p + plen;
			found_end = le;
		}
		p = nl ? nl + 1 : end;
	}
	if (found)
		*ret = zf_xstrndup(found, (size_t)(found_end - found));
	return 0;
}

static int token_u64(const char *text, size_t len, const char *key, bool need, uint64_t *ret,
		     struct zf_err *err)
{
	_cleanup_free_ char *v = NULL;
	unsigned long long x;
	char *e;
	int r;

	*ret = 0;
	if ((r = token_field(text, len, key, &v, err)) < 0)
		return r;
	if (!v)
		return need ? zf_err_set(err, -EBADMSG, "resume token has no %s", key) : 0;
	errno = 0;
	x = strtoull(v, &e, 0);
	if (errno || e == v || *e || v[0] == '-')
		return zf_err_set(err, -EBADMSG, "resume token: bad %s", key);
	*ret = x;
	return 0;
}

int zf_zfs_parse_resume_info(const char *text, size_t len, struct zf_zfs_resume_info *ret,
			     struct zf_err *err)
{
	_cleanup_free_ char *name = NULL;
	int r;

	if (memchr(text, '\0', len))
		return zf_err_set(err, -EBADMSG, "zfs send -nP -t output holds a NUL byte");
	if ((r = token_field(text, len, "toname", &name, err)) < 0)
		return r;
	if (!name)
		return zf_err_set(err, -EBADMSG,
				  "zfs send -nP -t printed no toname for the resume token");
	if ((r = zf_zfs_name_check(name, ZF_ZFS_NAME_SNAPSHOT, err)) < 0)
		return zf_err_prefix(err, "resume token names");
	if ((r = token_u64(text, len, "toguid", true, &ret->toguid, err)) < 0 ||
	    (r = token_u64(text, len, "fromguid", false, &ret->fromguid, err)) < 0)
		return r;
	ret->toname = TAKE_PTR(name);
	return 0;
}
