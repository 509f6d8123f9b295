/* src/zfs/zfs.c — running zfs by argv and classifying its failures */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "log/log.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/proc.h"
#include "util/strv.h"
#include "zfs/zfs.h"
#include "util/banned.h"

extern char **environ;

static const char *zfs_program = "zfs";

void zf_zfs_set_program(const char *path)
{
	zfs_program = path;
}

/*
 * zfs's messages, in the order they are tried: the first match decides.
 * "would destroy" comes first because zfs says "... exists, must specify -F"
 * or "... has been modified" for a receive that only -F would force.
 */
static const struct {
	const char *needle;
	int code;
} classes[] = {
	{ "has been modified", -ZF_E_WOULD_DESTROY },
	{ "destination has snapshots", -ZF_E_WOULD_DESTROY },
	{ "must destroy them to overwrite", -ZF_E_WOULD_DESTROY },
	{ "more recent snapshots", -ZF_E_WOULD_DESTROY },
	{ "would destroy", -ZF_E_WOULD_DESTROY },
	{ "does not match incremental source", -ZF_E_WOULD_DESTROY },
	{ "pool is read-only", -EROFS },
	{ "permission denied", -EPERM },
	{ "operation not permitted", -EPERM },
	{ "out of space", -ENOSPC },
	{ "no space left", -ENOSPC },
	{ "quota exceeded", -ENOSPC },
	{ "does not exist", -ENOENT },
	{ "no such pool", -ENOENT },
	{ "no such dataset", -ENOENT },
	{ "could not find any snapshots", -ENOENT },
	{ "already exists", -EEXIST },
	{ "dataset exists", -EEXIST },
	{ "bookmark exists", -EEXIST },
	{ "destination '", -EEXIST },           /* "destination 'x' exists" */
	{ "is busy", -EBUSY },
	{ "being held", -EBUSY },
	{ "dataset is busy", -EBUSY },
	{ "tag already exists", -EEXIST },
	{ "invalid character", -ZF_E_BADNAME },
	{ "name is too long", -ZF_E_BADNAME },
	{ "empty component", -ZF_E_BADNAME },
	{ "leading slash", -ZF_E_BADNAME },
	{ "trailing slash", -ZF_E_BADNAME },
	{ "multiple '@'", -ZF_E_BADNAME },
};

int zf_zfs_classify(const char *text_in)
{
	/* zfs wraps long messages ("does not\nmatch incremental source") */
	_cleanup_free_ char *text = zf_xstrdup(text_in);
	for (char *p = text; *p; p++)
		if (*p == '\n')
			*p = ' ';

	for (size_t i = 0; i < ELEMENTSOF(classes); i++) {
		const char *hit = strcasestr(text, classes[i].needle);
		if (!hit)
			continue;
		/* "destination 'x' exists" only; not every mention of a destination */
		if (classes[i].code == -EEXIST && streq(classes[i].needle, "destination '")) {
			const char *q = strchr(hit + strlen(classes[i].needle), '\'');
			if (!q || !startswith(q, "' exists"))
				continue;
		}
		return classes[i].code;
	}
	return -ZF_E_ZFS;
}

/* zfs's stderr, trimmed, newlines joined with "; " for a one-line message. */
static void one_line(const char *text, char *out, size_t n)
{
	size_t o = 0;
	const char *p = text;

	while (*p == '\n' || *p == ' ')
		p++;
	for (; *p && o + 3 < n; p++) {
		if (*p == '\n') {
			const char *q = p;
			while (*q == '\n' || *q == ' ')
				q++;
			if (!*q)
				break;
			out[o++] = ';';
			out[o++] = ' ';
			p = q - 1;
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
}

static int fail_from_status(const char *what, int status, const char *errtext,
			    struct zf_err *err)
{
	char msg[400], st[64];

	if (*errtext) {
		one_line(errtext, msg, sizeof(msg));
		return zf_err_set(err, zf_zfs_classify(errtext), "%s", msg);
	}
	return zf_err_set(err, -ZF_E_ZFS, "zfs %s %s", what,
			  zf_proc_status_str(status, st, sizeof(st)));
}

/* Every zfs command line at debug level, each word as it goes into argv. */
static void log_args(struct zf_strv *args)
{
	_cleanup_buf_ struct zf_buf cmd = ZF_BUF_INIT;

	if (zf_log_get_level() < ZF_LOG_DEBUG)
		return;
	for (size_t i = 0; i < args->n; i++)
		zf_buf_addf(&cmd, "%s%s", i ? " " : "", args->v[i]);
	log_debug("running %s", zf_buf_str(&cmd));
}

/*
 * zfs runs in the C.UTF-8 locale whatever ours is: its messages are then the
 * English ones zf_zfs_classify() knows, and `zfs get -j` can print values
 * that are not ASCII.  It converts them with mbrtowc(), so in the C locale
 * (a daemon's usual one) it stops its output at the first byte above 0x7f and
 * still exits 0.  Built per call: zfs runs from several threads at once.
 */
static void zfs_env(struct zf_strv *env)
{
	for (char **e = environ; e && *e; e++)
		if (!startswith(*e, "LC_ALL=") && !startswith(*e, "LANGUAGE="))
			zf_strv_add(env, *e);
	zf_strv_add(env, "LC_ALL=C.UTF-8");
}

static int zfs_spawn(struct zf_strv *args, const struct zf_proc_opts *opts, struct zf_proc *ret,
		     struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv env = ZF_STRV_INIT;
	struct zf_proc_opts o = *opts;

	log_args(args);
	zfs_env(&env);
	o.envp = (char *const *)zf_strv_argv(&env);
	return zf_proc_spawn(zf_strv_argv(args), &o, ret, err);
}

/* Runs `zfs ARGS`; stdout into out (may be NULL). */
static int zfs_run(struct zf_strv *args, struct zf_buf *out, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf errtext = ZF_BUF_INIT;
	_cleanup_strv_ struct zf_strv env = ZF_STRV_INIT;
	int status;

	log_args(args);
	zfs_env(&env);
	status = zf_proc_run_env(zf_strv_argv(args), (char *const *)zf_strv_argv(&env), out,
				 &errtext, err);
	if (status < 0)
		return status;
	if (status != 0)
		return fail_from_status(args->v[1], status, zf_buf_str(&errtext), err);
	return 0;
}

static void args_init(struct zf_strv *args, const char *verb)
{
	zf_strv_add(args, zfs_program);
	zf_strv_add(args, verb);
}

static int check_names(const char *const *names, size_t n, unsigned allowed, struct zf_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int r = zf_zfs_name_check(names[i], allowed, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- listing ------------------------------------------------------------ */

int zf_zfs_list_fs(const char *const *roots, size_t nroots, const struct zf_zfs_list_opts *opts,
		   struct zf_zfs_fs_list *ret, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	struct zf_zfs_fs_list all = { 0 };
	int r;

	if ((r = check_names(roots, nroots, ZF_ZFS_NAME_DATASET, err)) < 0)
		return r;
	args_init(&args, "list");
	zf_strv_addv(&args, (const char *const[]){ "-Hp", "-t", "filesystem,volume", "-o",
						   "name,type,guid,createtxg", NULL });
	if (opts && opts->recursive)
		zf_strv_add(&args, "-r");
	zf_strv_addn(&args, roots, nroots);
	if ((r = zfs_run(&args, &out, err)) < 0)
		return r;
	if ((r = zf_zfs_parse_fs_list(out.data, out.len, &all, err)) < 0)
		return r;
	for (size_t i = 0; i < all.n; i++) {
		if (opts && opts->filter && !opts->filter(all.v[i].name, opts->userdata)) {
			free(all.v[i].name);
			free(all.v[i].type);
			continue;
		}
		ZF_ALLOC_GROW(ret->v, ret->n + 1, ret->alloc);
		ret->v[ret->n++] = all.v[i];
	}
	free(all.v);
	return 0;
}

int zf_zfs_list_versions(const char *const *datasets, size_t n, struct zf_zfs_version_list *ret,
			 struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	int r;

	if (n == 0)
		return 0;
	if ((r = check_names(datasets, n, ZF_ZFS_NAME_DATASET, err)) < 0)
		return r;
	args_init(&args, "list");
	zf_strv_addv(&args, (const char *const[]){ "-Hp", "-t", "snapshot,bookmark", "-d", "1",
						   "-s", "createtxg", "-o",
						   "name,type,guid,createtxg,creation,userrefs",
						   NULL });
	zf_strv_addn(&args, datasets, n);
	if ((r = zfs_run(&args, &out, err)) < 0)
		return r;
	return zf_zfs_parse_version_list(out.data, out.len, ret, err);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_root(const char *name, const char *const *roots, size_t nroots)
{
	for (size_t k = 0; k < nroots; k++)
		if (streq(name, roots[k]))
			return true;
	return false;
}

/*
 * Moves the entries of all that opts keep into ret.  Without -r, -d 1 has
 * listed the roots' children too: only the roots stay.
 */
static void tree_keep_fs(struct zf_zfs_fs_list *all, const char *const *roots, size_t nroots,
			 const struct zf_zfs_list_opts *opts, struct zf_zfs_fs_list *ret)
{
	bool recursive = opts && opts->recursive;

	for (size_t i = 0; i < all->n; i++) {
		struct zf_zfs_fs *f = &all->v[i];

		if ((!recursive && !is_root(f->name, roots, nroots)) ||
		    (opts && opts->filter && !opts->filter(f->name, opts->userdata))) {
			free(f->name);
			free(f->type);
			continue;
		}
		ZF_ALLOC_GROW(ret->v, ret->n + 1, ret->alloc);
		ret->v[ret->n++] = *f;
	}
	free(all->v);
	*all = (struct zf_zfs_fs_list){ 0 };
}

/* Moves the versions in all of a filesystem in fs into ret. */
static void tree_keep_versions(struct zf_zfs_version_list *all, const struct zf_zfs_fs_list *fs,
			       struct zf_zfs_version_list *ret)
{
	_cleanup_free_ const char **names = zf_xcalloc(fs->n ? fs->n : 1, sizeof(char *));

	for (size_t i = 0; i < fs->n; i++)
		names[i] = fs->v[i].name;
	qsort(names, fs->n, sizeof(char *), cmp_strp);
	for (size_t i = 0; i < all->n; i++) {
		struct zf_zfs_version *v = &all->v[i];

		if (!fs->n || !bsearch(&v->fs, names, fs->n, sizeof(char *), cmp_strp)) {
			free(v->fs);
			free(v->name);
			continue;
		}
		ZF_ALLOC_GROW(ret->v, ret->n + 1, ret->alloc);
		ret->v[ret->n++] = *v;
	}
	free(all->v);
	*all = (struct zf_zfs_version_list){ 0 };
}

int zf_zfs_list_tree(const char *const *roots, size_t nroots, const struct zf_zfs_list_opts *opts,
		     struct zf_zfs_fs_list *ret_fs, struct zf_zfs_version_list *ret_versions,
		     struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	struct zf_zfs_fs_list fs = { 0 }, kept = { 0 };
	struct zf_zfs_version_list vl = { 0 };
	int r;

	if ((r = check_names(roots, nroots, ZF_ZFS_NAME_DATASET, err)) < 0)
		return r;
	args_init(&args, "list");
	zf_strv_addv(&args, (const char *const[]){ "-Hp", "-t",
						   "filesystem,volume,snapshot,bookmark", "-o",
						   "name,type,guid,createtxg,creation,userrefs",
						   NULL });
	zf_strv_addv(&args, opts && opts->recursive ? (const char *const[]){ "-r", NULL }
						    : (const char *const[]){ "-d", "1", NULL });
	zf_strv_addn(&args, roots, nroots);
	if ((r = zfs_run(&args, &out, err)) < 0)
		return r;
	if ((r = zf_zfs_parse_tree_list(out.data, out.len, &fs, &vl, err)) < 0)
		return r;
	tree_keep_fs(&fs, roots, nroots, opts, &kept);
	tree_keep_versions(&vl, &kept, ret_versions);
	for (size_t i = 0; i < kept.n; i++) {
		ZF_ALLOC_GROW(ret_fs->v, ret_fs->n + 1, ret_fs->alloc);
		ret_fs->v[ret_fs->n++] = kept.v[i];
	}
	free(kept.v);
	return 0;
}

/* ---- properties --------------------------------------------------------- */

int zf_zfs_get(const char *const *datasets, size_t ndatasets, const char *const *props,
	       size_t nprops, struct zf_zfs_prop_list *ret, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf list = ZF_BUF_INIT;
	int r;

	if (ndatasets == 0)
		return 0;               /* zfs get without a dataset lists every one */
	if ((r = check_names(datasets, ndatasets, ZF_ZFS_NAME_ANY, err)) < 0)
		return r;
	for (size_t i = 0; i < nprops; i++) {
		if (!*props[i] || props[i][0] == '-' || strpbrk(props[i], ", \t\n="))
			return zf_err_set(err, -EINVAL, "invalid property name '%s'", props[i]);
		zf_buf_addf(&list, "%s%s", i ? "," : "", props[i]);
	}
	args_init(&args, "get");
	/* -j, not -H: a value may hold tabs and newlines (see zfs.h) */
	zf_strv_addv(&args, (const char *const[]){ "-j", "-p", "-o", "name,property,value,source",
						   NULL });
	zf_strv_add(&args, zf_buf_str(&list));
	zf_strv_addn(&args, datasets, ndatasets);
	if ((r = zfs_run(&args, &out, err)) < 0)
		return r;
	return zf_zfs_parse_props_json(out.data, out.len, ret, err);
}

int zf_zfs_get_one(const char *dataset, const char *prop, char **ret_value, struct zf_err *err)
{
	struct zf_zfs_prop_list l = { 0 };
	const char *v;
	int r;

	r = zf_zfs_get(&dataset, 1, &prop, 1, &l, err);
	if (r < 0)
		return r;
	v = zf_zfs_prop_find(&l, dataset, prop);
	if (!v) {
		zf_zfs_prop_list_release(&l);
		return zf_err_set(err, -ENOENT, "property '%s' of '%s' not reported by zfs",
				  prop, dataset);
	}
	*ret_value = zf_xstrdup(v);
	zf_zfs_prop_list_release(&l);
	return 0;
}

static int check_assignment(const char *a, struct zf_err *err)
{
	const char *eq = strchr(a, '=');
	if (!eq || eq == a || a[0] == '-')
		return zf_err_set(err, -EINVAL, "invalid property assignment '%s'", a);
	/*
	 * zferry's own values never need a newline, and tools that read
	 * `zfs get -H` (older zferry among them) would misread one.
	 */
	if (strchr(eq, '\n'))
		return zf_err_set(err, -EINVAL, "property value of '%.*s' contains a newline",
				  (int)(eq - a), a);
	return 0;
}

int zf_zfs_set(const char *dataset, const char *const *assignments, size_t n, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	int r;

	if ((r = zf_zfs_name_check(dataset, ZF_ZFS_NAME_ANY, err)) < 0)
		return r;
	args_init(&args, "set");
	for (size_t i = 0; i < n; i++) {
		if ((r = check_assignment(assignments[i], err)) < 0)
			return r;
		zf_strv_add(&args, assignments[i]);
	}
	zf_strv_add(&args, dataset);
	return zfs_run(&args, NULL, err);
}

int zf_zfs_inherit(const char *dataset, const char *prop, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	int r;

	if ((r = zf_zfs_name_check(dataset, ZF_ZFS_NAME_ANY, err)) < 0)
		return r;
	if (!*prop || prop[0] == '-')
		return zf_err_set(err, -EINVAL, "invalid property name '%s'", prop);
	args_init(&args, "inherit");
	zf_strv_add(&args, prop);
	zf_strv_add(&args, dataset);
	return zfs_run(&args, NULL, err);
}

/* ---- changing things ---------------------------------------------------- */

int zf_zfs_snapshot(const char *const *filesystems, size_t n, const char *name, bool recursive,
		    struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	int r;

	if (n == 0)
		return zf_err_set(err, -EINVAL, "no filesystem to snapshot");
	if ((r = zf_zfs_shortname_check(name, err)) < 0 ||
	    (r = check_names(filesystems, n, ZF_ZFS_NAME_DATASET, err)) < 0)
		return r;
	args_init(&args, "snapshot");
	if (recursive)
		zf_strv_add(&args, "-r");
	for (size_t i = 0; i < n; i++)
		zf_strv_addf(&args, "%s@%s", filesystems[i], name);
	return zfs_run(&args, NULL, err);
}

int zf_zfs_bookmark(const char *source, const char *bookmark, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	int r;

	if ((r = zf_zfs_name_check(source, ZF_ZFS_NAME_SNAPSHOT | ZF_ZFS_NAME_BOOKMARK, err)) < 0 ||
	    (r = zf_zfs_name_check(bookmark, ZF_ZFS_NAME_BOOKMARK, err)) < 0)
		return r;
	args_init(&args, "bookmark");
	zf_strv_add(&args, source);
	zf_strv_add(&args, bookmark);
	return zfs_run(&args, NULL, err);
}

static int hold_release(const char *verb, const char *tag, const char *const *snapshots,
			size_t n, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	int r;

	if (!*tag || tag[0] == '-' || strchr(tag, '\n'))
		return zf_err_set(err, -EINVAL, "invalid hold tag '%s'", tag);
	if ((r = check_names(snapshots, n, ZF_ZFS_NAME_SNAPSHOT, err)) < 0)
		return r;
	if (n == 0)
		return 0;
	args_init(&args, verb);
	zf_strv_add(&args, tag);
	zf_strv_addn(&args, snapshots, n);
	return zfs_run(&args, NULL, err);
}

int zf_zfs_hold(const char *tag, const char *const *snapshots, size_t n, struct zf_err *err)
{
	return hold_release("hold", tag, snapshots, n, err);
}

int zf_zfs_release(const char *tag, const char *const *snapshots, size_t n, struct zf_err *err)
{
	return hold_release("release", tag, snapshots, n, err);
}

int zf_zfs_holds(const char *const *snapshots, size_t n, struct zf_zfs_hold_list *ret,
		 struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	int r;

	if (n == 0)
		return 0;
	if ((r = check_names(snapshots, n, ZF_ZFS_NAME_SNAPSHOT, err)) < 0)
		return r;
	args_init(&args, "holds");
	zf_strv_add(&args, "-Hp");
	zf_strv_addn(&args, snapshots, n);
	if ((r = zfs_run(&args, &out, err)) < 0)
		return r;
	return zf_zfs_parse_holds(out.data, out.len, snapshots, n, ret, err);
}

int zf_zfs_destroy_snapshots(const char *dataset, const char *const *names, size_t n,
			     struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	_cleanup_buf_ struct zf_buf spec = ZF_BUF_INIT;
	int r;

	if (n == 0)
		return 0;
	if ((r = zf_zfs_name_check(dataset, ZF_ZFS_NAME_DATASET, err)) < 0)
		return r;
	zf_buf_adds(&spec, dataset);
	for (size_t i = 0; i < n; i++) {
		/* a comma would split the list: zfs names never hold one */
		if ((r = zf_zfs_shortname_check(names[i], err)) < 0)
			return r;
		zf_buf_addf(&spec, "%c%s", i ? ',' : '@', names[i]);
	}
	args_init(&args, "destroy");
	zf_strv_add(&args, zf_buf_str(&spec));
	return zfs_run(&args, NULL, err);
}

int zf_zfs_destroy_bookmark(const char *bookmark, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	int r;

	if ((r = zf_zfs_name_check(bookmark, ZF_ZFS_NAME_BOOKMARK, err)) < 0)
		return r;
	args_init(&args, "destroy");
	zf_strv_add(&args, bookmark);
	return zfs_run(&args, NULL, err);
}

/*
 * The channel program behind zf_zfs_batch().  Its ops come as arguments,
 * never as code: "g" | "b" SNAPSHOT BOOKMARK | "d" NAME.  zfs.sync calls
 * return an errno and go on; 17 is EEXIST and 2 ENOENT on Linux and
 * FreeBSD alike.  A bookmark that zfs does not find counts as a failure:
 * the caller names only bookmarks it listed, and ENOENT for one would
 * also be how a zfs that cannot destroy bookmarks here answers.  Failures end the program with an error that starts with
 * MARK and their count, so a caller tells "ran, some failed" from "did not
 * run" by the message.
 */
#define BATCH_MARK "zferry-batch: "
static const char batch_lua[] =
	"local argv = (...)[\"argv\"]\n"
	"local ok, failed, i = true, {}, 1\n"
	"while i <= #argv do\n"
	"	local op = argv[i]\n"
	"	if op == \"g\" then\n"
	"		ok = true\n"
	"		i = i + 1\n"
	"	elseif op == \"b\" then\n"
	"		local e = zfs.sync.bookmark(argv[i + 1], argv[i + 2])\n"
	"		ok = e == 0 or e == 17\n"
	"		if not ok then failed[#failed + 1] = argv[i + 2] .. \" (errno \" .. e .. \")\" end\n"
	"		i = i + 3\n"
	"	elseif op == \"d\" then\n"
	"		if ok then\n"
	"			local e = zfs.sync.destroy(argv[i + 1])\n"
	"			local mark = string.find(argv[i + 1], \"#\", 1, true)\n"
	"			if e ~= 0 and (e ~= 2 or mark) then\n"
	"				failed[#failed + 1] = argv[i + 1] .. \" (errno \" .. e .. \")\"\n"
	"			end\n"
	"		end\n"
	"		i = i + 2\n"
	"	else\n"
	"		error(\"" BATCH_MARK "bad op \" .. op)\n"
	"	end\n"
	"end\n"
	"if #failed > 0 then\n"
	"	error(\"" BATCH_MARK "\" .. #failed .. \" failed: \" .. table.concat(failed, \", \"))\n"
	"end\n"
	"return 0\n";

/*
 * The script goes to zfs as a file: a memfd of ours, which the child opens
 * by /proc/OURPID/fd/N (close-on-exec, so no other child inherits it).
 */
static int batch_script(int *ret_fd, char *path, size_t n, struct zf_err *err)
{
	_cleanup_close_ int fd = memfd_create("zferry-batch", MFD_CLOEXEC);
	int r;

	if (fd < 0)
		return zf_err_set(err, -errno, "cannot make the channel program: %m");
	r = zf_write_full(fd, batch_lua, sizeof(batch_lua) - 1);
	if (r < 0)
		return zf_err_set(err, r, "cannot write the channel program: %s", strerror(-r));
	snprintf(path, n, "/proc/%d/fd/%d", (int)getpid(), fd);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* One `zfs program` of ops[0..n) on pool. */
static int batch_run(const char *pool, const char *script, const struct zf_zfs_batch_op *ops,
		     size_t n, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	struct zf_err e2 = ZF_ERR_INIT;
	const char *mark;
	int r;

	args_init(&args, "program");
	zf_strv_add(&args, pool);
	zf_strv_add(&args, script);
	for (size_t i = 0; i < n; i++) {
		switch (ops[i].kind) {
		case ZF_ZFS_BATCH_GROUP:
			zf_strv_add(&args, "g");
			break;
		case ZF_ZFS_BATCH_BOOKMARK:
			zf_strv_addv(&args, (const char *const[]){ "b", ops[i].source, ops[i].name,
								   NULL });
			break;
		case ZF_ZFS_BATCH_DESTROY:
			zf_strv_addv(&args, (const char *const[]){ "d", ops[i].name, NULL });
			break;
		}
	}
	r = zfs_run(&args, NULL, &e2);
	if (r >= 0)
		return 0;
	mark = strstr(e2.msg, BATCH_MARK);
	if (!mark || !isdigit((unsigned char)mark[strlen(BATCH_MARK)]))
		return zf_err_copy(err, r, &e2);
	zf_err_set(err, -ZF_E_ZFS, "%s", mark + strlen(BATCH_MARK));
	r = (int)strtol(mark + strlen(BATCH_MARK), NULL, 10);
	return r > 0 ? r : 1;
}

/* Arguments per `zfs program`, well below ARG_MAX; a group is never split. */
#define BATCH_ARG_BYTES (256 * 1024)

int zf_zfs_batch(const struct zf_zfs_batch_op *ops, size_t n, struct zf_err *err)
{
	_cleanup_free_ char *pool = NULL;
	_cleanup_close_ int fd = -EBADF;
	char script[64];
	size_t start = 0, bytes = 0;
	int failed = 0, r;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct zf_zfs_batch_op *o = &ops[i];
		const char *p;

		if (o->kind == ZF_ZFS_BATCH_GROUP)
			continue;
		if ((r = zf_zfs_name_check(o->name, o->kind == ZF_ZFS_BATCH_BOOKMARK
							     ? ZF_ZFS_NAME_BOOKMARK
							     : ZF_ZFS_NAME_SNAPSHOT |
								       ZF_ZFS_NAME_BOOKMARK,
					   err)) < 0)
			return r;
		if (o->kind == ZF_ZFS_BATCH_BOOKMARK &&
		    (r = zf_zfs_name_check(o->source, ZF_ZFS_NAME_SNAPSHOT, err)) < 0)
			return r;
		p = o->name;
		if (!pool)
			pool = zf_xstrndup(p, strcspn(p, "/@#"));
		else if (strncmp(p, pool, strlen(pool)) != 0 || !strchr("/@#", p[strlen(pool)]))
			return zf_err_set(err, -EINVAL, "batch: '%s' is not in pool '%s'", p, pool);
	}
	if (!pool)
		return 0;
	if ((r = batch_script(&fd, script, sizeof(script), err)) < 0)
		return r;
	for (size_t i = 0; i <= n; i++) {
		bool opens = i == n || ops[i].kind != ZF_ZFS_BATCH_DESTROY;

		if (i > start && opens && (i == n || bytes >= BATCH_ARG_BYTES)) {
			struct zf_err e2 = ZF_ERR_INIT;
			r = batch_run(pool, script, ops + start, i - start, &e2);
			if (r < 0)
				return zf_err_copy(err, r, &e2);
			if (r > 0 && !failed)
				zf_err_copy(err, -ZF_E_ZFS, &e2);
			failed += r;
			start = i;
			bytes = 0;
		}
		if (i < n)
			bytes += 4 + (ops[i].source ? strlen(ops[i].source) : 0) +
				 (ops[i].name ? strlen(ops[i].name) : 0);
	}
	return failed;
}

/*
 * libzfs_core and libnvpair, loaded on first use: their sonames are stable
 * (Debian's libzfs_core3, libnvpair3) but they ship no headers, so the few
 * prototypes are spelled here.  nvlist_t is opaque to us.
 */
static struct {
	bool ok;
	int (*destroy_bookmarks)(void *bmarks, void **errlist);
	int (*nvlist_alloc)(void **nvl, unsigned flag, int kmflag);
	int (*nvlist_add_boolean)(void *nvl, const char *name);
	void (*nvlist_free)(void *nvl);
} lzc;
static pthread_once_t lzc_once = PTHREAD_ONCE_INIT;

static void lzc_load(void)
{
	void *core = dlopen("libzfs_core.so.3", RTLD_NOW | RTLD_LOCAL);
	void *nv = dlopen("libnvpair.so.3", RTLD_NOW | RTLD_LOCAL);
	int (*init)(void);

	if (!core || !nv) {
		log_debug("libzfs_core not loaded: %s", dlerror());
		return;
	}
	init = (int (*)(void))dlsym(core, "libzfs_core_init");
	lzc.destroy_bookmarks = (int (*)(void *, void **))dlsym(core, "lzc_destroy_bookmarks");
	lzc.nvlist_alloc = (int (*)(void **, unsigned, int))dlsym(nv, "nvlist_alloc");
	lzc.nvlist_add_boolean = (int (*)(void *, const char *))dlsym(nv, "nvlist_add_boolean");
	lzc.nvlist_free = (void (*)(void *))dlsym(nv, "nvlist_free");
	lzc.ok = init && lzc.destroy_bookmarks && lzc.nvlist_alloc && lzc.nvlist_add_boolean &&
		 lzc.nvlist_free && init() == 0;
}

/* One lzc_destroy_bookmarks(): 0, or a positive errno, or -ENOSYS without libzfs_core. */
static int lzc_destroy_bookmarks(const char *const *names, size_t n)
{
	void *nvl = NULL, *errs = NULL;
	int r;

	if (!streq(zfs_program, "zfs"))
		return -ENOSYS;
	pthread_once(&lzc_once, lzc_load);
	if (!lzc.ok || lzc.nvlist_alloc(&nvl, 1 /* NV_UNIQUE_NAME */, 0) != 0)
		return -ENOSYS;
	for (size_t i = 0; i < n; i++)
		if (lzc.nvlist_add_boolean(nvl, names[i]) != 0) {
			lzc.nvlist_free(nvl);
			return -ENOMEM;
		}
	log_debug("running libzfs_core destroy_bookmarks (%zu bookmarks, %s ...)", n, names[0]);
	r = lzc.destroy_bookmarks(nvl, &errs);
	lzc.nvlist_free(nvl);
	if (errs)
		lzc.nvlist_free(errs);
	return r;
}

int zf_zfs_destroy_bookmarks(const char *const *names, size_t n, struct zf_err *err)
{
	int r, failed = 0;

	if (n == 0)
		return 0;
	if ((r = check_names(names, n, ZF_ZFS_NAME_BOOKMARK, err)) < 0)
		return r;
	r = lzc_destroy_bookmarks(names, n);
	if (r == 0)
		return 0;
	if (r > 0)
		log_debug("lzc_destroy_bookmarks: %s; one zfs destroy each", strerror(r));
	for (size_t i = 0; i < n; i++) {
		struct zf_err e2 = ZF_ERR_INIT;

		r = zf_zfs_destroy_bookmark(names[i], &e2);
		if (r < 0 && r != -ENOENT) {
			if (!failed)
				zf_err_copy(err, r, &e2);
			failed++;
		}
	}
	return failed;
}

int zf_zfs_create(const char *dataset, const struct zf_zfs_create_opts *opts, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	int r;

	if ((r = zf_zfs_name_check(dataset, ZF_ZFS_NAME_DATASET, err)) < 0)
		return r;
	args_init(&args, "create");
	if (opts && opts->parents)
		zf_strv_add(&args, "-p");
	for (const char *const *p = opts ? opts->props : NULL; p && *p; p++) {
		if ((r = check_assignment(*p, err)) < 0)
			return r;
		zf_strv_add(&args, "-o");
		zf_strv_add(&args, *p);
	}
	zf_strv_add(&args, dataset);
	return zfs_run(&args, NULL, err);
}

int zf_zfs_rename(const char *from, const char *to, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	int r;

	if ((r = zf_zfs_name_check(from, ZF_ZFS_NAME_DATASET | ZF_ZFS_NAME_SNAPSHOT, err)) < 0 ||
	    (r = zf_zfs_name_check(to, ZF_ZFS_NAME_DATASET | ZF_ZFS_NAME_SNAPSHOT, err)) < 0)
		return r;
	args_init(&args, "rename");
	zf_strv_add(&args, from);
	zf_strv_add(&args, to);
	return zfs_run(&args, NULL, err);
}

/*
 * Runs `zpool ARGS... POOL` for the pool of dataset.  zpool lives beside
 * zfs; its argv starts the same way zfs_run() logs it.
 */
static int zpool_run(const char *dataset, const char *const *args, struct zf_buf *out,
		     struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv argv = ZF_STRV_INIT;
	_cleanup_free_ char *pool = NULL;
	int r;

	if ((r = zf_zfs_name_check(dataset, ZF_ZFS_NAME_ANY, err)) < 0)
		return r;
	pool = zf_xstrndup(dataset, strcspn(dataset, "/@#"));
	zf_strv_add(&argv, "zpool");
	zf_strv_addv(&argv, args);
	zf_strv_add(&argv, pool);
	return zfs_run(&argv, out, err);
}

int zf_zfs_pool_readonly(const char *dataset, bool *ret, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	int r;

	r = zpool_run(dataset, (const char *const[]){ "get", "-Hp", "-o", "value", "readonly",
						      NULL }, &out, err);
	if (r < 0)
		return r;
	*ret = startswith(zf_buf_str(&out), "on") != NULL;
	return 0;
}

int zf_zfs_pool_sync(const char *dataset, struct zf_err *err)
{
	return zpool_run(dataset, (const char *const[]){ "sync", NULL }, NULL, err);
}

int zf_zfs_mount(const char *fs, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	int r;

	if ((r = zf_zfs_name_check(fs, ZF_ZFS_NAME_DATASET, err)) < 0)
		return r;
	args_init(&args, "mount");
	zf_strv_add(&args, fs);
	return zfs_run(&args, NULL, err);
}

/* ---- streams ------------------------------------------------------------ */

static int send_args(struct zf_strv *args, const char *snapshot,
		     const struct zf_zfs_send_opts *o, bool dry_run, struct zf_err *err)
{
	char flags[16] = "-";
	size_t nf = 1;
	int r;

	args_init(args, "send");
	if (o->raw)
		flags[nf++] = 'w';
	if (o->compressed)
		flags[nf++] = 'c';
	if (o->large_block)
		flags[nf++] = 'L';
	if (o->embed)
		flags[nf++] = 'e';
	if (o->props)
		flags[nf++] = 'p';
	if (dry_run) {
		flags[nf++] = 'n';
		flags[nf++] = 'P';
	}
	flags[nf] = '\0';

	if (o->resume_token) {
		if (snapshot || o->from)
			return zf_err_set(err, -EINVAL,
					  "a resumed send takes neither snapshot nor base");
		if (!*o->resume_token || o->resume_token[0] == '-' ||
		    strspn(o->resume_token, "0123456789abcdef-") != strlen(o->resume_token))
			return zf_err_set(err, -EINVAL, "invalid resume token '%.40s'",
					  o->resume_token);
		/* flags are part of the token; only -n/-P/-v may accompany -t */
		if (dry_run)
			zf_strv_add(args, "-nP");
		zf_strv_add(args, "-t");
		zf_strv_add(args, o->resume_token);
		return 0;
	}
	if ((r = zf_zfs_name_check(snapshot, ZF_ZFS_NAME_SNAPSHOT, err)) < 0)
		return r;
	if (nf > 1)
		zf_strv_add(args, flags);
	if (o->from) {
		if ((r = zf_zfs_name_check(o->from, ZF_ZFS_NAME_SNAPSHOT | ZF_ZFS_NAME_BOOKMARK,
					   err)) < 0)
			return r;
		if (o->intermediates && strchr(o->from, '#'))
			return zf_err_set(err, -EINVAL,
					  "cannot send intermediates (-I) from bookmark '%s'",
					  o->from);
		zf_strv_add(args, o->intermediates ? "-I" : "-i");
		zf_strv_add(args, o->from);
	}
	zf_strv_add(args, snapshot);
	return 0;
}

int zf_zfs_send_start(const char *snapshot, const struct zf_zfs_send_opts *opts,
		      struct zf_proc *ret, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	struct zf_proc_opts po = { ZF_PROC_DEVNULL, ZF_PROC_PIPE, ZF_PROC_PIPE, NULL };
	int r;

	if ((r = send_args(&args, snapshot, opts, false, err)) < 0)
		return r;
	return zfs_spawn(&args, &po, ret, err);
}

int zf_zfs_send_estimate(const char *snapshot, const struct zf_zfs_send_opts *opts,
			 uint64_t *ret_bytes, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	int r;

	if ((r = send_args(&args, snapshot, opts, true, err)) < 0)
		return r;
	if ((r = zfs_run(&args, &out, err)) < 0)
		return r;
	if ((r = zf_zfs_parse_send_size(out.data, out.len, ret_bytes, err)) < 0)
		return zf_err_prefix(err, "estimate for '%s'", snapshot ? snapshot : "resume token");
	return 0;
}

void zf_zfs_resume_info_release(struct zf_zfs_resume_info *i)
{
	free(i->toname);
	*i = (struct zf_zfs_resume_info){ 0 };
}

int zf_zfs_resume_token_info(const char *token, struct zf_zfs_resume_info *ret,
			     struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	struct zf_zfs_send_opts o = { .resume_token = token };
	int r;

	if ((r = send_args(&args, NULL, &o, true, err)) < 0)
		return r;
	if ((r = zfs_run(&args, &out, err)) < 0)
		return r;
	return zf_zfs_parse_resume_info(out.data, out.len, ret, err);
}

int zf_zfs_recv_start(const char *target, const struct zf_zfs_recv_opts *opts,
		      struct zf_proc *ret, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	struct zf_proc_opts po = { ZF_PROC_PIPE, ZF_PROC_DEVNULL, ZF_PROC_PIPE, NULL };
	int r;

	if ((r = zf_zfs_name_check(target, ZF_ZFS_NAME_DATASET | ZF_ZFS_NAME_SNAPSHOT, err)) < 0)
		return r;
	args_init(&args, "recv");
	if (opts->resumable)
		zf_strv_add(&args, "-s");
	if (opts->no_mount)
		zf_strv_add(&args, "-u");
	if (opts->force)
		zf_strv_add(&args, "-F");
	if (opts->skip_holds)
		zf_strv_add(&args, "-h");
	for (const char *const *p = opts->set_props; p && *p; p++) {
		if ((r = check_assignment(*p, err)) < 0)
			return r;
		zf_strv_add(&args, "-o");
		zf_strv_add(&args, *p);
	}
	for (const char *const *p = opts->exclude_props; p && *p; p++) {
		if (!**p || **p == '-' || strpbrk(*p, "=, \t\n"))
			return zf_err_set(err, -EINVAL, "invalid property name '%s'", *p);
		zf_strv_add(&args, "-x");
		zf_strv_add(&args, *p);
	}
	zf_strv_add(&args, target);
	return zfs_spawn(&args, &po, ret, err);
}

int zf_zfs_stream_finish(struct zf_proc *p, const char *what, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf errtext = ZF_BUF_INIT;
	int status, r = 0;

	p->in_fd = safe_close(p->in_fd);
	p->out_fd = safe_close(p->out_fd);
	if (p->err_fd >= 0) {
		r = zf_read_all(p->err_fd, &errtext, 1 << 20);
		p->err_fd = safe_close(p->err_fd);
	}
	status = zf_proc_wait(p);
	if (status < 0)
		return zf_err_set(err, status, "%s: cannot wait for zfs: %s", what,
				  strerror(-status));
	if (status != 0) {
		fail_from_status(what, status, zf_buf_str(&errtext), err);
		return zf_err_prefix(err, "%s", what);
	}
	(void)r;
	return 0;
}

int zf_zfs_recv_abort(const char *dataset, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv args = ZF_STRV_INIT;
	int r;

	if ((r = zf_zfs_name_check(dataset, ZF_ZFS_NAME_DATASET, err)) < 0)
		return r;
	args_init(&args, "recv");
	zf_strv_add(&args, "-A");
	zf_strv_add(&args, dataset);
	return zfs_run(&args, NULL, err);
}
