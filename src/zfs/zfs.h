/* src/zfs/zfs.h — the only code that runs `zfs`; API shaped like libzfs_core */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"
#include "util/zfs-name.h"

struct zf_err;
struct zf_proc;

/*
 * Every call runs the `zfs` program by argv (never a shell), in the C.UTF-8
 * locale, with -H/-p (or -j) where it prints, and parses what it prints:
 * names and numbers from -H lines, since names hold no tab or newline, and
 * property values, which may hold anything, only from zfs get -j.  What
 * each parser trusts is said where it is declared.  A failing zfs is
 * classified from its exit status and stderr into a negative errno (or
 * -ZF_E_*), and the message in err keeps zfs's own words:
 *
 *   -ENOENT              dataset/snapshot/pool does not exist
 *   -EEXIST              already exists
 *   -EBUSY               busy (held snapshot, mounted and in use)
 *   -ENOSPC              out of space or quota
 *   -EPERM               permission denied
 *   -EROFS               the pool is read-only (imported readonly=on)
 *   -ZF_E_WOULD_DESTROY  would destroy data (target modified, has newer snapshots)
 *   -ZF_E_BADNAME        a name zfs would reject, or misread as an option
 *   -ZF_E_ZFS            anything else
 *
 * Names are data: before any name reaches argv it is checked with
 * zf_zfs_name_check(), so a name that starts with '-' never becomes an option.
 */

/* The zfs program to run (default "zfs" in PATH). Not thread-safe; set at start-up. */
void zf_zfs_set_program(const char *path);

/*
 * An identity as a piece of a snapshot, bookmark or hold-tag name: the
 * namespace of what a client may create and remove on a server under a
 * read grant (docs/serve.md).  [A-Za-z0-9_:-] stay, every other byte
 * becomes ".XX" (hex), so two identities never share a namespace.  At
 * most 64 bytes of identity are used and the rest replaced by
 * "..XXXXXXXXXXXXXXXX", a 64-bit FNV-1a of the whole identity.
 * out must hold ZF_ZFS_NAMESPACE_MAX bytes.
 */
#define ZF_ZFS_NAMESPACE_MAX (64 * 3 + 20)
void zf_zfs_namespace(const char *identity, char out[ZF_ZFS_NAMESPACE_MAX]);

/* Classifies zfs's stderr into a negative errno / -ZF_E_* (see above). */
int zf_zfs_classify(const char *stderr_text);

/* ---- listing ------------------------------------------------------------ */

struct zf_zfs_fs {
	char *name;
	char *type;             /* "filesystem" or "volume" */
	uint64_t guid;
	uint64_t createtxg;
};

struct zf_zfs_fs_list {
	struct zf_zfs_fs *v;
	size_t n, alloc;
};

struct zf_zfs_version {
	char *fs;               /* dataset the version belongs to */
	char *name;             /* short name, after '@' or '#' */
	bool bookmark;
	uint64_t guid;
	uint64_t createtxg;
	int64_t creation;       /* seconds since the epoch */
	uint64_t userrefs;      /* number of holds; 0 for bookmarks */
};

struct zf_zfs_version_list {
	struct zf_zfs_version *v;
	size_t n, alloc;
};

typedef bool (*zf_zfs_filter_fn)(const char *name, void *userdata);

struct zf_zfs_list_opts {
	bool recursive;                 /* descendants too (zfs list -r) */
	zf_zfs_filter_fn filter;        /* NULL, or keep only names it returns true for */
	void *userdata;
};

/* Filesystems and volumes at and (with recursive) below each root. */
_must_check_ int zf_zfs_list_fs(const char *const *roots, size_t nroots,
				const struct zf_zfs_list_opts *opts, struct zf_zfs_fs_list *ret,
				struct zf_err *err);
/*
 * Snapshots and bookmarks of many datasets in one `zfs list -d 1` call, in
 * createtxg order per dataset.  A dataset that does not exist is -ENOENT.
 */
_must_check_ int zf_zfs_list_versions(const char *const *datasets, size_t n,
				      struct zf_zfs_version_list *ret, struct zf_err *err);

/*
 * Both at once, in one `zfs list -t filesystem,volume,snapshot,bookmark`:
 * what zf_zfs_list_fs() lists into ret_fs (opts as there), and the
 * snapshots and bookmarks of exactly those filesystems into ret_versions,
 * in no particular order.  A root that does not exist is -ENOENT.
 */
_must_check_ int zf_zfs_list_tree(const char *const *roots, size_t nroots,
				  const struct zf_zfs_list_opts *opts, struct zf_zfs_fs_list *ret_fs,
				  struct zf_zfs_version_list *ret_versions, struct zf_err *err);

void zf_zfs_fs_list_release(struct zf_zfs_fs_list *l);
void zf_zfs_version_list_release(struct zf_zfs_version_list *l);

/*
 * Parsers of `zfs list -Hp` output, exposed for tests and fuzzing; text need
 * not be NUL-terminated.  They split lines at newlines and fields at tabs,
 * and trust that: every field is a name (OpenZFS's name rules allow only
 * [A-Za-z0-9_.:- ] and the separators, see zf_zfs_name_check()), a fixed
 * word of zfs's (type) or a number, never user text.  A line with another
 * number of fields, a field that is not a number, or a NUL fails the parse.
 */
_must_check_ int zf_zfs_parse_fs_list(const char *text, size_t len, struct zf_zfs_fs_list *ret,
				      struct zf_err *err);
_must_check_ int zf_zfs_parse_version_list(const char *text, size_t len,
					   struct zf_zfs_version_list *ret, struct zf_err *err);
/*
 * zf_zfs_list_tree()'s output, columns name,type,guid,createtxg,creation,
 * userrefs: a filesystem's or volume's line into ret_fs (its creation and
 * userrefs present but not read), every other one as a version's.
 */
_must_check_ int zf_zfs_parse_tree_list(const char *text, size_t len,
					struct zf_zfs_fs_list *ret_fs,
					struct zf_zfs_version_list *ret_versions, struct zf_err *err);

/* ---- properties --------------------------------------------------------- */

struct zf_zfs_prop {
	char *dataset;
	char *name;
	char *value;            /* zfs's raw (-p) text; "-" when unset, as zfs prints it */
	char *source;           /* "local", "default", "temporary", "received",
				   "inherited from X", or "-" (none) */
};

struct zf_zfs_prop_list {
	struct zf_zfs_prop *v;
	size_t n, alloc;
};

/*
 * One `zfs get -j -p -o name,property,value,source PROPS DATASETS...` for
 * props (comma-free names) on every dataset, so that nothing a value holds
 * can pass for another dataset's property: values are JSON strings, and
 * newlines, tabs, quotes and every other byte come back as set.  Limits of
 * OpenZFS 2.3's JSON printer, which zfs imposes and we report:
 *  - a value that is not valid UTF-8 stops zfs's output mid-string (zfs
 *    exits 0): the call fails with -EILSEQ naming the property and dataset,
 *    it never returns a partial list;
 *  - characters above U+FFFF (emoji) are left out of the value by zfs.
 * A value cannot hold a NUL (zfs keeps C strings); output claiming one is
 * refused (-EBADMSG), never cut short.
 */
_must_check_ int zf_zfs_get(const char *const *datasets, size_t ndatasets,
			    const char *const *props, size_t nprops, struct zf_zfs_prop_list *ret,
			    struct zf_err *err);
/* One property of one dataset; *ret_value is malloc'd ("-" when unset). */
_must_check_ int zf_zfs_get_one(const char *dataset, const char *prop, char **ret_value,
				struct zf_err *err);
/* The value of (dataset, prop) in a list, or NULL. */
const char *zf_zfs_prop_find(const struct zf_zfs_prop_list *l, const char *dataset,
			     const char *prop);
void zf_zfs_prop_list_release(struct zf_zfs_prop_list *l);
/*
 * The parser behind zf_zfs_get(), exposed for tests and fuzzing: text (len
 * bytes, need not be NUL-terminated) must be exactly one `zfs get -j`
 * document of output version 0.x, whitespace aside.  Appends to *ret; on
 * error *ret is released and err says what is wrong and where (-EBADMSG,
 * -EILSEQ for the invalid UTF-8 case above, -E2BIG past 2 GiB).  It trusts
 * zfs for the document's shape (member names are dataset and property
 * names, which OpenZFS keeps printable); only string contents are data.
 */
_must_check_ int zf_zfs_parse_props_json(const char *text, size_t len,
					 struct zf_zfs_prop_list *ret, struct zf_err *err);

/* zfs set prop=value... dataset: assignments are "name=value" strings. */
_must_check_ int zf_zfs_set(const char *dataset, const char *const *assignments, size_t n,
			    struct zf_err *err);
_must_check_ int zf_zfs_inherit(const char *dataset, const char *prop, struct zf_err *err);

/* ---- changing things ---------------------------------------------------- */

/* One atomic `zfs snapshot` of fs@name for every fs (with recursive: -r). */
_must_check_ int zf_zfs_snapshot(const char *const *filesystems, size_t n, const char *name,
				 bool recursive, struct zf_err *err);
/* zfs bookmark SNAPSHOT|BOOKMARK FS#MARK */
_must_check_ int zf_zfs_bookmark(const char *source, const char *bookmark, struct zf_err *err);
/* One `zfs hold TAG snap...` (atomic), or `zfs release TAG snap...`. */
_must_check_ int zf_zfs_hold(const char *tag, const char *const *snapshots, size_t n,
			     struct zf_err *err);
_must_check_ int zf_zfs_release(const char *tag, const char *const *snapshots, size_t n,
				struct zf_err *err);

struct zf_zfs_hold {
	char *snapshot;
	char *tag;
	int64_t created;
};
struct zf_zfs_hold_list {
	struct zf_zfs_hold *v;
	size_t n, alloc;
};
/*
 * zfs holds -Hp snapshot...  OpenZFS 2.3 has no -j for holds, and a tag is
 * any bytes but NUL.  What the parser trusts and checks:
 *  - a line starts with one of the snapshots asked for and a tab (names
 *    hold no tab or newline), ends with a tab and the time in digits, and
 *    the tag is everything between, tabs included;
 *  - a tag with a newline splits over lines; a piece that does not fit the
 *    shape above fails the parse (-EBADMSG, naming the line), and so does a
 *    (snapshot, tag) pair listed twice, which zfs never does;
 *  - a piece that does fit (a tag "x\t1\nPOOL/FS@SNAP\tTAG") is taken for
 *    a hold on a snapshot asked for: nothing in -H output tells it apart.
 *    A caller that knows each snapshot's userrefs (zfs list) compares the
 *    count of holds with it, as replicate's stale-hold release does.
 */
_must_check_ int zf_zfs_holds(const char *const *snapshots, size_t n, struct zf_zfs_hold_list *ret,
			      struct zf_err *err);
void zf_zfs_hold_list_release(struct zf_zfs_hold_list *l);
/* The parser behind zf_zfs_holds(); snapshots: those asked for. On error *ret is released. */
_must_check_ int zf_zfs_parse_holds(const char *text, size_t len, const char *const *snapshots,
				    size_t n, struct zf_zfs_hold_list *ret, struct zf_err *err);

/*
 * Destroys snapshots of one dataset in a single `zfs destroy fs@a,b,c`
 * (names: short names).  Bookmarks are destroyed one call each by
 * zf_zfs_destroy_bookmark().
 */
_must_check_ int zf_zfs_destroy_snapshots(const char *dataset, const char *const *names, size_t n,
					  struct zf_err *err);
_must_check_ int zf_zfs_destroy_bookmark(const char *bookmark, struct zf_err *err);

/*
 * Several changes in one `zfs program` (a channel program, run as root):
 * zfs carries out all of them in one sync task, so they reach disk in the
 * same transaction group, and a crash keeps all or none of them.  The run
 * costs one zfs process and one txg wait for any number of changes, where
 * one command each costs a process and a txg wait per change.  Ops run in
 * order; they form groups, each opened by a GROUP or a BOOKMARK:
 *
 *   BOOKMARK  source (snapshot) -> name (bookmark).  The DESTROYs of its
 *             group run only if it was made now or existed already.
 *   GROUP     opens a group whose DESTROYs always run.
 *   DESTROY   name: a snapshot (never one with holds or clones; zfs then
 *             keeps it and says why).  Not a bookmark: OpenZFS 2.3's
 *             channel programs cannot destroy one (zfs.sync.destroy
 *             answers ENOENT, counted as a failure here); see
 *             zf_zfs_destroy_bookmarks().
 *
 * All names must lie in one pool.  0 when every op succeeded; > 0, the
 * number that failed, with err naming them (the rest are done; an op that
 * found its work done, a bookmark there or a name gone, counts as done);
 * < 0 when zfs could not run the program (not root, no channel programs, an
 * old pool): nothing or only part of it may have been done, and the caller
 * does the same ops one command each (each is safe to repeat).
 */
enum zf_zfs_batch_kind {
	ZF_ZFS_BATCH_GROUP = 1,
	ZF_ZFS_BATCH_BOOKMARK,
	ZF_ZFS_BATCH_DESTROY,
};
struct zf_zfs_batch_op {
	enum zf_zfs_batch_kind kind;
	const char *source;             /* BOOKMARK: the snapshot's full name */
	const char *name;               /* BOOKMARK, DESTROY: full name */
};
_must_check_ int zf_zfs_batch(const struct zf_zfs_batch_op *ops, size_t n, struct zf_err *err);

/*
 * Destroys bookmarks (full names, in one pool) together.  zfs has no
 * command for it (`zfs destroy` takes one bookmark, channel programs none),
 * so this is the one place that calls libzfs_core instead of running zfs:
 * one lzc_destroy_bookmarks(), one sync task, so all or none reach disk,
 * and a bookmark already gone counts as destroyed.  Where libzfs_core
 * cannot be loaded, or zf_zfs_set_program() named another zfs, or that
 * call fails, one `zfs destroy` each.  0, or the number that stayed (> 0,
 * err says why for the first).
 */
_must_check_ int zf_zfs_destroy_bookmarks(const char *const *names, size_t n, struct zf_err *err);

struct zf_zfs_create_opts {
	bool parents;                   /* -p */
	const char *const *props;       /* "name=value" each, NULL-terminated or NULL */
};
_must_check_ int zf_zfs_create(const char *dataset, const struct zf_zfs_create_opts *opts,
			       struct zf_err *err);
_must_check_ int zf_zfs_rename(const char *from, const char *to, struct zf_err *err);
/* Whether the pool of dataset is imported read-only (`zpool get readonly`). */
_must_check_ int zf_zfs_pool_readonly(const char *dataset, bool *ret, struct zf_err *err);
/*
 * `zpool sync` of dataset's pool: writes of the open transaction groups reach
 * disk, so that properties counted in syncing context (written, used) see
 * them.
 */
_must_check_ int zf_zfs_pool_sync(const char *dataset, struct zf_err *err);
/* zfs mount FS */
_must_check_ int zf_zfs_mount(const char *fs, struct zf_err *err);

/* ---- streams ------------------------------------------------------------ */

struct zf_zfs_send_opts {
	const char *from;               /* incremental base: snapshot or bookmark (full name) */
	bool intermediates;             /* -I (every snapshot between) instead of -i */
	const char *resume_token;       /* -t TOKEN: resume; snapshot must be NULL */
	bool raw;                       /* -w */
	bool compressed;                /* -c */
	bool large_block;               /* -L */
	bool embed;                     /* -e */
	bool props;                     /* -p */
};

/*
 * Starts `zfs send` of snapshot; *ret's out_fd is the stream, err_fd its
 * stderr.  Finish with zf_zfs_stream_finish().
 */
_must_check_ int zf_zfs_send_start(const char *snapshot, const struct zf_zfs_send_opts *opts,
				   struct zf_proc *ret, struct zf_err *err);
/* Estimated stream size from `zfs send -nP` with the same options. */
/*
 * What a resume token says, as `zfs send -nP -t TOKEN` reads it: the
 * snapshot (toname) and its guid, and the incremental base's guid (0 for
 * a full send).  zfs finds both by guid, not by name, so a server that
 * checks the name against grants must check the guids too.
 */
struct zf_zfs_resume_info {
	char *toname;
	uint64_t toguid;
	uint64_t fromguid;
};
_must_check_ int zf_zfs_resume_token_info(const char *token, struct zf_zfs_resume_info *ret,
					  struct zf_err *err);
void zf_zfs_resume_info_release(struct zf_zfs_resume_info *i);
_must_check_ int zf_zfs_send_estimate(const char *snapshot, const struct zf_zfs_send_opts *opts,
				      uint64_t *ret_bytes, struct zf_err *err);
/*
 * Parsers of `zfs send -nP [-t TOKEN]` output, exposed for tests and
 * fuzzing.  Snapshot names hold no newline, but the nvlist that -t prints
 * holds whatever strings the token's maker chose: the size is taken from
 * the last line only, and a toname, toguid or fromguid line printed twice
 * fails (-EBADMSG).  toguid is required.
 */
_must_check_ int zf_zfs_parse_send_size(const char *text, size_t len, uint64_t *ret_bytes,
					struct zf_err *err);
_must_check_ int zf_zfs_parse_resume_info(const char *text, size_t len,
					  struct zf_zfs_resume_info *ret, struct zf_err *err);

struct zf_zfs_recv_opts {
	bool resumable;                 /* -s: keep a resume token on interruption */
	bool no_mount;                  /* -u */
	bool force;                     /* -F: roll back / destroy what is in the way */
	bool skip_holds;                /* -h: holds inside the stream are not applied */
	const char *const *set_props;   /* -o name=value, NULL-terminated or NULL */
	const char *const *exclude_props;       /* -x name, NULL-terminated or NULL */
};

/* Starts `zfs recv` into target; *ret's in_fd takes the stream. */
_must_check_ int zf_zfs_recv_start(const char *target, const struct zf_zfs_recv_opts *opts,
				   struct zf_proc *ret, struct zf_err *err);
/*
 * Closes our end of the stream, reads the child's stderr, waits for it and
 * classifies a failure; what names the operation ("send 'p/a@s'").
 */
_must_check_ int zf_zfs_stream_finish(struct zf_proc *p, const char *what, struct zf_err *err);
/* zfs recv -A: discards a partially received state of dataset. */
_must_check_ int zf_zfs_recv_abort(const char *dataset, struct zf_err *err);
