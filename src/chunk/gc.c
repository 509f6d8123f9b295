/* src/chunk/gc.c — one garbage collection pass over a directory store (docs/backup-format.md) */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "chunk/catalogue.h"
#include "chunk/gc.h"
#include "chunk/idmap.h"
#include "chunk/index.h"
#include "chunk/session.h"
#include "chunk/store.h"
#include "util/alloc.h"
#include "util/atomic-file.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/json.h"
#include "util/num.h"
#include "util/banned.h"

int64_t zf_gc_test_time_shift;

#define STATE_FORMAT 1
#define STATE_MAX (16u << 20)
#define LOCK_MAX 1024

/* One session as a pass saw it: its id and beat. */
struct seen {
	char *id;
	uint64_t beat;
};

/* gc/state.json */
struct state {
	uint64_t pass;
	int64_t started;
	int64_t finished;               /* -1: the pass did not finish */
	struct seen *sessions;
	size_t n;
};

struct gc {
	const char *store;
	const struct zf_gc_opts *o;
	int dirfd;                      /* the store */
	int64_t now;                    /* wall clock at the start of the pass */
	struct state prev;              /* the last pass's state; pass 0 when none */
	bool have_prev;
	struct zf_idmap chunks, indexes;        /* needed */
	struct zf_gc_stats st;
};

static int64_t wall_now(void)
{
	return (int64_t)time(NULL) + zf_gc_test_time_shift;
}

static void state_release(struct state *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->sessions[i].id);
	free(s->sessions);
	memset(s, 0, sizeof(*s));
}

static void gc_release(struct gc *g)
{
	safe_close(g->dirfd);
	state_release(&g->prev);
	zf_idmap_release(&g->chunks);
	zf_idmap_release(&g->indexes);
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

struct map {
	void *p;
	size_t n;
};

static void unmap(struct map *m)
{
	if (m->p)
		munmap(m->p, m->n);
}

/* ---- step 1: the lock ----------------------------------------------------- */

static int make_dir(const char *dir, struct zf_err *err)
{
	if (mkdir(dir, 0755) == 0)
		return zf_sync_parent_dir(dir, err);
	if (errno != EEXIST)
		return zf_err_set(err, -errno, "cannot create directory '%s': %m", dir);
	return 0;
}

/* The holder as the lock file says it, printable. */
static void lock_holder(const char *path, int64_t now, char *ret, size_t n)
{
	char b[LOCK_MAX] = "";
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	ssize_t k = fd >= 0 ? zf_read_full(fd, b, sizeof(b) - 1) : -1;
	bool old = fd >= 0 && fstat(fd, &st) == 0 && now - st.st_mtime > ZF_GC_LOCK_OLD_SECONDS;

	b[k > 0 ? k : 0] = '\0';
	b[strcspn(b, "\n")] = '\0';
	for (char *c = b; *c; c++)
		if (*c < ' ' || *c > '~')
			*c = '?';
	snprintf(ret, n, "%s%s", b[0] ? b : "an unknown collector",
		 old ? ", for more than a day" : "");
}

static int lock_take(const char *path, int64_t now, struct zf_err *err)
{
	_cleanup_close_ int fd = -EBADF;
	char host[256] = "", line[LOCK_MAX];
	int r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) {
		lock_holder(path, now, line, sizeof(line));
		return zf_err_set(err, -EBUSY, "another gc holds '%s' (%s); if none runs, remove it",
				  path, line);
	}
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot create lock '%s': %m", path);
	(void)gethostname(host, sizeof(host) - 1);
	snprintf(line, sizeof(line), "host %s pid %ld since %" PRId64 "\n", host[0] ? host : "?",
		 (long)getpid(), now);
	r = zf_write_full(fd, line, strlen(line));
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(path);
		return zf_err_set(err, r, "cannot write lock '%s': %s", path, strerror(-r));
	}
	return 0;
}

/* ---- gc/state.json -------------------------------------------------------- */

static void state_to_json(const struct state *s, struct zf_buf *out)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(out);

	zf_json_object_begin(&j);
	zf_json_key_u64(&j, "format", STATE_FORMAT);
	zf_json_key_u64(&j, "pass", s->pass);
	zf_json_key_i64(&j, "started", s->started);
	zf_json_key(&j, "finished");
	if (s->finished >= 0)
		zf_json_i64(&j, s->finished);
	else
		zf_json_null(&j);
	zf_json_key_array_begin(&j, "sessions");
	for (size_t i = 0; i < s->n; i++) {
		zf_json_object_begin(&j);
		zf_json_key_str(&j, "id", s->sessions[i].id);
		zf_json_key_u64(&j, "beat", s->sessions[i].beat);
		zf_json_object_end(&j);
	}
	zf_json_array_end(&j);
	zf_json_object_end(&j);
	zf_json_newline(&j);
}

static int state_write(const char *path, const struct state *s, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	state_to_json(s, &b);
	return zf_atomic_file_write(path, b.data, b.len, err);
}

static int json_i64(struct json_object *o, const char *key, bool nullable, int64_t *ret)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return -EBADMSG;
	if (nullable && json_object_is_type(v, json_type_null)) {
		*ret = -1;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
	    json_object_get_int64(v) == INT64_MAX)
		return -EBADMSG;
	*ret = json_object_get_int64(v);
	return 0;
}

/* 32 lowercase hex digits, as session file names have */
static bool is_session_id(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 32;
}

static int state_session(struct json_object *v, struct seen *ret)
{
	struct json_object *id = NULL;
	int64_t beat;
	const char *s;

	if (!json_object_is_type(v, json_type_object) || json_object_object_length(v) != 2 ||
	    !json_object_object_get_ex(v, "id", &id) || !json_object_is_type(id, json_type_string) ||
	    json_i64(v, "beat", false, &beat) < 0)
		return -EBADMSG;
	s = json_object_get_string(id);
	if (!is_session_id(s))
		return -EBADMSG;
	ret->id = zf_xstrdup(s);
	ret->beat = (uint64_t)beat;
	return 0;
}

static int state_fields(struct json_object *o, struct state *s)
{
	struct json_object *arr = NULL;
	int64_t format, pass;

	if (!json_object_is_type(o, json_type_object) || json_i64(o, "format", false, &format) < 0 ||
	    format != STATE_FORMAT || json_i64(o, "pass", false, &pass) < 0 ||
	    json_i64(o, "started", false, &s->started) < 0 ||
	    json_i64(o, "finished", true, &s->finished) < 0 ||
	    !json_object_object_get_ex(o, "sessions", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return -EBADMSG;
	s->pass = (uint64_t)pass;
	s->n = json_object_array_length(arr);
	s->sessions = zf_xcalloc(s->n ? s->n : 1, sizeof(*s->sessions));
	for (size_t i = 0; i < s->n; i++)
		if (state_session(json_object_array_get_idx(arr, i), &s->sessions[i]) < 0)
			return -EBADMSG;
	return 0;
}

/* 1 and *ret, 0 when there is no state (no pass ran), <0. */
static int state_read(const char *path, struct state *ret, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct state s = { 0 };
	struct json_object *o;
	int r;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open gc state '%s': %m", path);
	r = zf_read_all(fd, &b, STATE_MAX);
	if (r < 0)
		return zf_err_set(err, r, "cannot read gc state '%s': %s", path, strerror(-r));
	o = json_tokener_parse(zf_buf_str(&b));
	r = o ? state_fields(o, &s) : -EBADMSG;
	json_object_put(o);
	if (r < 0) {
		state_release(&s);
		return zf_err_set(err, -EBADMSG, "gc state '%s' is damaged (remove it: the next "
				  "pass then deletes nothing)", path);
	}
	*ret = s;
	return 1;
}

/* ---- the objects: chunks, indexes and their fossils ----------------------- */

enum kind { KIND_CHUNK, KIND_INDEX };

struct obj {
	enum kind kind;
	struct zf_chunk_id id;
	bool fossil;
	int dirfd;              /* the directory name is in */
	const char *dir;        /* its path, for messages */
	const char *name;
	const struct stat *st;
};

typedef int (*obj_fn)(struct gc *g, const struct obj *o, struct zf_err *err);

/* "<64 lowercase hex><ext>[.fossil]": 1 and the id, or 0 for another name. */
static int parse_name(const char *name, const char *ext, struct zf_chunk_id *ret_id,
		      bool *ret_fossil)
{
	size_t e = strlen(ext), n = strlen(name);
	char hex[ZF_CHUNK_ID_HEX], again[ZF_CHUNK_ID_HEX];

	if (n < 64 + e || strncmp(name + 64, ext, e) != 0)
		return 0;
	if (name[64 + e] == '\0')
		*ret_fossil = false;
	else if (streq(name + 64 + e, ZF_STORE_FOSSIL_SUFFIX))
		*ret_fossil = true;
	else
		return 0;
	memcpy(hex, name, 64);
	hex[64] = '\0';
	/* lowercase only: the name the store would look up */
	if (zf_chunk_id_parse(hex, ret_id) < 0 || !streq(zf_chunk_id_hex(ret_id, again), hex))
		return 0;
	return 1;
}

static int fossilise_one(struct gc *g, const struct obj *o, struct zf_err *err);

/* A temporary dot-file (not "." or "..") untouched for ZF_GC_TEMP_AGE: its writer is gone. */
static int sweep_temp(struct gc *g, int dirfd, const char *dir, const char *name,
		      struct zf_err *err)
{
	struct stat st;

	if (streq(name, ".") || streq(name, ".."))
		return 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_mtime > g->now - ZF_GC_TEMP_AGE)
		return 0;
	if (!g->o->dry_run && unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return zf_err_set(err, -errno, "cannot remove '%s/%s': %m", dir, name);
	g->st.temp_removed++;
	return 0;
}

/*
 * Calls fn for every chunk or index file (and fossil) in dir (relative to
 * the store); with prefix, only names that start with it.  Other names are
 * not the collector's and are left alone.
 */
static int walk_dir(struct gc *g, const char *sub, enum kind kind, obj_fn fn, struct zf_err *err)
{
	_cleanup_free_ char *path = zf_xasprintf("%s/%s", g->store, sub);
	int fd = openat(g->dirfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_(closedirp) DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int r;

	if (fd < 0 && errno == ENOENT && kind == KIND_INDEX)
		return 0;       /* no index/ yet */
	if (!d) {
		r = -errno;
		safe_close(fd);
		return zf_err_set(err, r, "cannot open '%s': %s", path, strerror(-r));
	}
	while ((errno = 0, de = readdir(d))) {
		struct obj o = { kind, { { 0 } }, false, dirfd(d), path, de->d_name, NULL };
		struct stat st;

		if (de->d_name[0] == '.' && fn == fossilise_one) {
			r = sweep_temp(g, dirfd(d), path, de->d_name, err);
			if (r < 0)
				return r;
			continue;
		}
		if (!parse_name(de->d_name, kind == KIND_CHUNK ? ".cacnk" : ".caibx", &o.id,
				&o.fossil) ||
		    (kind == KIND_CHUNK && strncmp(de->d_name, sub, 4) != 0))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;       /* renamed or removed meanwhile */
			return zf_err_set(err, -errno, "cannot stat '%s/%s': %m", path,
					  de->d_name);
		}
		if (!S_ISREG(st.st_mode))
			continue;
		o.st = &st;
		r = fn(g, &o, err);
		if (r < 0)
			return r;
	}
	if (errno != 0)
		return zf_err_set(err, -errno, "cannot read '%s': %m", path);
	return 0;
}

static bool is_hex4(const char *n)
{
	for (int i = 0; i < 4; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return false;
	return n[4] == '\0';
}

/* Every chunk directory, then index/. */
static int walk_objects(struct gc *g, obj_fn fn, struct zf_err *err)
{
	int fd = openat(g->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(closedirp) DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int r;

	if (!d) {
		r = -errno;
		safe_close(fd);
		return zf_err_set(err, r, "cannot open store '%s': %s", g->store, strerror(-r));
	}
	while ((errno = 0, de = readdir(d))) {
		if (!is_hex4(de->d_name))
			continue;
		r = walk_dir(g, de->d_name, KIND_CHUNK, fn, err);
		if (r < 0)
			return r;
	}
	if (errno != 0)
		return zf_err_set(err, -errno, "cannot read store '%s': %m", g->store);
	return walk_dir(g, "index", KIND_INDEX, fn, err);
}

static const struct zf_idmap *needed_set(const struct gc *g, enum kind k)
{
	return k == KIND_CHUNK ? &g->chunks : &g->indexes;
}

/* ---- step 2: the previous pass's fossils ---------------------------------- */

static const struct zf_store_session_info *find_session(const struct zf_store_session_info *v,
							size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (streq(v[i].id, id))
			return &v[i];
	return NULL;
}

/* Has grace passed since the previous pass listed its sessions? */
static bool grace_passed(const struct gc *g)
{
	return g->have_prev && g->prev.finished >= 0 && g->now - g->prev.finished >= g->o->grace;
}

/* May this pass delete fossils?  Otherwise says why in the stats. */
static int may_delete(struct gc *g, struct zf_err *err)
{
	struct zf_store_session_info *now = NULL;
	size_t n = 0;
	int r;

	if (!g->have_prev || g->prev.finished < 0) {
		snprintf(g->st.skip_reason, sizeof(g->st.skip_reason), "%s",
			 g->have_prev ? "the previous pass did not finish" : "no previous pass");
		return 0;
	}
	if (!grace_passed(g)) {
		snprintf(g->st.skip_reason, sizeof(g->st.skip_reason),
			 "%" PRId64 "s since pass %" PRIu64 ", less than the grace of %" PRId64 "s",
			 g->now - g->prev.finished, g->prev.pass, g->o->grace);
		return 0;
	}
	r = zf_store_session_list(g->store, &now, &n, err);
	if (r < 0)
		return r;
	r = 1;
	for (size_t i = 0; i < g->prev.n && r == 1; i++) {
		const struct zf_store_session_info *s = find_session(now, n, g->prev.sessions[i].id);

		if (s && s->beat != g->prev.sessions[i].beat) {
			snprintf(g->st.skip_reason, sizeof(g->st.skip_reason),
				 "session %s (dataset %s) is still beating", s->id, s->dataset);
			r = 0;
		}
	}
	zf_store_session_info_free(now, n);
	return r;
}

/* Renames a needed fossil back; if the chunk exists again, the fossil is a spare copy. */
static int revive(struct gc *g, const struct obj *o, struct zf_err *err)
{
	size_t len = strlen(o->name) - strlen(ZF_STORE_FOSSIL_SUFFIX);
	_cleanup_free_ char *live = zf_xstrndup(o->name, len);

	if (renameat2(o->dirfd, o->name, o->dirfd, live, RENAME_NOREPLACE) == 0) {
		(*(o->kind == KIND_CHUNK ? &g->st.chunks_revived : &g->st.indexes_revived))++;
		return 0;
	}
	if (errno == ENOENT)
		return 0;
	if (errno != EEXIST)
		return zf_err_set(err, -errno, "cannot rename '%s/%s' back: %m", o->dir, o->name);
	if (unlinkat(o->dirfd, o->name, 0) < 0 && errno != ENOENT)
		return zf_err_set(err, -errno, "cannot remove '%s/%s': %m", o->dir, o->name);
	g->st.bytes_freed += (uint64_t)o->st->st_size;
	return 0;
}

static int finish_one(struct gc *g, const struct obj *o, struct zf_err *err)
{
	if (!o->fossil)
		return 0;
	if (zf_idmap_get(needed_set(g, o->kind), &o->id)) {
		if (g->o->dry_run) {
			(*(o->kind == KIND_CHUNK ? &g->st.chunks_revived : &g->st.indexes_revived))++;
			return 0;
		}
		return revive(g, o, err);
	}
	if (!g->o->dry_run && unlinkat(o->dirfd, o->name, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		return zf_err_set(err, -errno, "cannot remove '%s/%s': %m", o->dir, o->name);
	}
	(*(o->kind == KIND_CHUNK ? &g->st.chunks_deleted : &g->st.indexes_deleted))++;
	g->st.bytes_freed += (uint64_t)o->st->st_size;
	return 0;
}

/* ---- step 3: mark --------------------------------------------------------- */

/* Opens index/<hex>.caibx, else its fossil. */
static int open_index(struct gc *g, const char *hex, char **ret_path, struct zf_err *err)
{
	for (int fossil = 0; fossil < 2; fossil++) {
		_cleanup_free_ char *rel = zf_xasprintf("index/%s.caibx%s", hex,
							fossil ? ZF_STORE_FOSSIL_SUFFIX : "");
		int fd = openat(g->dirfd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

		if (fd >= 0) {
			*ret_path = zf_xasprintf("%s/%s", g->store, rel);
			return fd;
		}
		if (errno != ENOENT)
			return zf_err_set(err, -errno, "cannot open index '%s/%s': %m", g->store,
					  rel);
	}
	return zf_err_set(err, -ENOENT, "index '%s/index/%s.caibx' is missing", g->store, hex);
}

/* Maps the index file, checks its hash is its name, and adds its chunks to the set. */
static int mark_index(struct gc *g, struct zf_chunk_ctx *ctx, const struct zf_chunk_id *want,
		      struct zf_err *err)
{
	_cleanup_(unmap) struct map map = { NULL, 0 };
	_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	char hex[ZF_CHUNK_ID_HEX];
	struct zf_chunk_id got, id;
	uint64_t off, size;
	struct stat st;
	int r;

	if (zf_idmap_get(&g->indexes, want))
		return 0;
	fd = open_index(g, zf_chunk_id_hex(want, hex), &path, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return zf_err_set(err, -errno, "cannot stat index '%s': %m", path);
	if (!S_ISREG(st.st_mode) || st.st_size < ZF_INDEX_HEADER_SIZE)
		return zf_err_set(err, -EBADMSG, "index '%s': not a regular file of at least %d "
				  "bytes", path, ZF_INDEX_HEADER_SIZE);
	/* mapped, not read: an index of a big stream is hundreds of MiB */
	map.p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map.p == MAP_FAILED) {
		map.p = NULL;
		return zf_err_set(err, -errno, "cannot read index '%s': %m", path);
	}
	map.n = (size_t)st.st_size;
	zf_chunk_id_hash(ctx, map.p, map.n, &got);
	if (!zf_chunk_id_eq(&got, want))
		return zf_err_set(err, -ZF_E_CORRUPT, "index '%s': content does not match its "
				  "name", path);
	r = zf_index_open_mem(map.p, map.n, &idx, err);
	if (r < 0)
		return zf_err_prefix(err, "index '%s'", path);
	while ((r = zf_index_next(idx, &id, &off, &size, err)) > 0)
		zf_idmap_add(&g->chunks, &id, NULL);
	if (r < 0)
		return zf_err_prefix(err, "index '%s'", path);
	zf_idmap_add(&g->indexes, want, NULL);
	return 0;
}

static int mark(struct gc *g, struct zf_err *err)
{
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { NULL, 0 };
	_cleanup_(zf_chunk_ctx_freep) struct zf_chunk_ctx *ctx = zf_chunk_ctx_new();
	int r;

	r = zf_catalogue_list(g->store, NULL, &l, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l.n; i++) {
		if ((r = mark_index(g, ctx, &l.v[i].meta_index, err)) < 0 ||
		    (r = mark_index(g, ctx, &l.v[i].data_index, err)) < 0)
			return r;
	}
	g->st.entries = l.n;
	g->st.chunks_marked = g->chunks.n;
	g->st.indexes_marked = g->indexes.n;
	return 0;
}

/* ---- step 4: fossilise ---------------------------------------------------- */

static int fossilise_one(struct gc *g, const struct obj *o, struct zf_err *err)
{
	_cleanup_free_ char *fossil = NULL;

	if (o->fossil || zf_idmap_get(needed_set(g, o->kind), &o->id) ||
	    o->st->st_mtime > g->now - g->o->min_age)
		return 0;
	fossil = zf_xasprintf("%s%s", o->name, ZF_STORE_FOSSIL_SUFFIX);
	/* over an older fossil of the same chunk: the same bytes, soft-deleted again */
	if (!g->o->dry_run && renameat(o->dirfd, o->name, o->dirfd, fossil) < 0) {
		if (errno == ENOENT)
			return 0;
		return zf_err_set(err, -errno, "cannot rename '%s/%s' to a fossil: %m", o->dir,
				  o->name);
	}
	(*(o->kind == KIND_CHUNK ? &g->st.chunks_fossilised : &g->st.indexes_fossilised))++;
	g->st.bytes_fossilised += (uint64_t)o->st->st_size;
	return 0;
}

/* ---- step 5: sessions and the state --------------------------------------- */

/* A session seen with the same beat by the previous pass, grace ago: dead or given up. */
static bool stale(const struct gc *g, const struct zf_store_session_info *s)
{
	if (!grace_passed(g))
		return false;
	for (size_t i = 0; i < g->prev.n; i++)
		if (streq(g->prev.sessions[i].id, s->id) && g->prev.sessions[i].beat == s->beat)
			return true;
	return false;
}

static int list_sessions(struct gc *g, struct state *next, struct zf_err *err)
{
	struct zf_store_session_info *v = NULL;
	size_t n = 0;
	int r;

	r = zf_store_session_list(g->store, &v, &n, err);
	if (r < 0)
		return r;
	next->sessions = zf_xcalloc(n ? n : 1, sizeof(*next->sessions));
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *path = zf_xasprintf("%s/sessions/%s.json", g->store, v[i].id);

		if (!stale(g, &v[i])) {
			next->sessions[next->n].id = zf_xstrdup(v[i].id);
			next->sessions[next->n++].beat = v[i].beat;
			continue;
		}
		if (!g->o->dry_run && unlink(path) < 0 && errno != ENOENT)
			r = zf_err_set(err, -errno, "cannot remove stale session '%s': %m", path);
		g->st.sessions_removed++;
	}
	zf_store_session_info_free(v, n);
	g->st.sessions_live = next->n;
	return r;
}

/* ---- the pass ------------------------------------------------------------- */

static int sync_store(struct gc *g, struct zf_err *err)
{
	if (!g->o->dry_run && syncfs(g->dirfd) < 0)
		return zf_err_set(err, -errno, "cannot sync store '%s': %m", g->store);
	return 0;
}

/* Steps 2 to 5, under the lock. */
static int pass(struct gc *g, const char *state_path, struct zf_err *err)
{
	_cleanup_(state_release) struct state next = { 0 };
	int r;

	r = state_read(state_path, &g->prev, err);
	if (r < 0)
		return r;
	g->have_prev = r > 0;
	next.pass = g->st.pass = g->prev.pass + 1;
	next.started = g->now;
	next.finished = -1;
	/* a pass that crashes from here on is seen by the next, which deletes nothing */
	if (!g->o->dry_run && (r = state_write(state_path, &next, err)) < 0)
		return r;
	r = may_delete(g, err);
	if (r < 0)
		return r;
	g->st.deletion_skipped = r == 0;
	/* after the session check: a writer that ended before it has its entry read here */
	if ((r = mark(g, err)) < 0)
		return r;
	if (!g->st.deletion_skipped && (r = walk_objects(g, finish_one, err)) < 0)
		return r;
	if ((r = walk_objects(g, fossilise_one, err)) < 0 || (r = sync_store(g, err)) < 0)
		return r;
	/* only after every fossil of this pass is made: see "A pass", step 5 */
	if ((r = list_sessions(g, &next, err)) < 0)
		return r;
	next.finished = wall_now();
	if (!g->o->dry_run && (r = state_write(state_path, &next, err)) < 0)
		return r;
	return 0;
}

int zf_store_gc(const char *store_dir, const struct zf_gc_opts *o, struct zf_gc_stats *ret,
		struct zf_err *err)
{
	_cleanup_(gc_release) struct gc g = { .store = store_dir, .o = o, .dirfd = -EBADF };
	_cleanup_free_ char *dir = zf_xasprintf("%s/gc", store_dir);
	_cleanup_free_ char *lock = zf_xasprintf("%s/lock", dir);
	_cleanup_free_ char *state = zf_xasprintf("%s/state.json", dir);
	int r;

	g.dirfd = open(store_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g.dirfd < 0)
		return zf_err_set(err, -errno, "cannot open store '%s': %m", store_dir);
	g.now = wall_now();
	if ((r = make_dir(dir, err)) < 0 || (r = lock_take(lock, g.now, err)) < 0)
		return r;
	r = pass(&g, state, err);
	if (unlink(lock) < 0 && r >= 0)
		r = zf_err_set(err, -errno, "cannot remove lock '%s': %m", lock);
	if (r < 0)
		return r;
	*ret = g.st;
	return 0;
}
