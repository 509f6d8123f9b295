/* src/chunk/store.c — local directory chunk store */
#include <dirent.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>
#include "util/atomic-file.h"
#include "chunk/store.h"
#include "chunk/store-backend.h"
#include "chunk/store-http.h"
#include "chunk/store-s3.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

struct zf_store {
	const struct zf_store_ops *ops;
	void *impl;                     /* the backend's own state (NULL for a directory) */
	char *path;                     /* a directory, or a URL without credentials */
	int dirfd;
	/*
	 * The <first 4 hex digits> directories known to exist: read once at
	 * open, then kept up to date by our own mkdirs.  Looking up a missing
	 * one takes the store directory's lock, which every mkdir holds
	 * exclusively: on 2 CPUs a quarter of make's waiting was there.
	 */
	_Atomic uint64_t dirs[65536 / 64];
};

#define REL_MAX ZF_STORE_REL_MAX

static unsigned prefix_of(const struct zf_chunk_id *id)
{
	return (unsigned)id->b[0] << 8 | id->b[1];
}

static bool dir_known(struct zf_store *s, unsigned prefix)
{
	return atomic_load_explicit(&s->dirs[prefix / 64], memory_order_relaxed) &
	       (UINT64_C(1) << (prefix % 64));
}

static void dir_set(struct zf_store *s, unsigned prefix)
{
	atomic_fetch_or_explicit(&s->dirs[prefix / 64], UINT64_C(1) << (prefix % 64),
				 memory_order_relaxed);
}

void zf_store_chunk_relpath(const struct zf_chunk_id *id, bool fossil, char ret[ZF_STORE_REL_MAX])
{
	char hex[ZF_CHUNK_ID_HEX];

	zf_chunk_id_hex(id, hex);
	snprintf(ret, ZF_STORE_REL_MAX, "%.4s/%s.cacnk%s", hex, hex,
		 fossil ? ZF_STORE_FOSSIL_SUFFIX : "");
}

static void rel_path(const struct zf_chunk_id *id, char ret[REL_MAX])
{
	zf_store_chunk_relpath(id, false, ret);
}

size_t zf_cacnk_max_raw(size_t max)
{
	return ZSTD_compressBound(max) + 4096;
}

static bool is_hex4(const char *n);

/* Best effort: a directory missed here is only looked up the slow way. */
static void scan_dirs(struct zf_store *s)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		safe_close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (is_hex4(de->d_name))
			dir_set(s, (unsigned)strtoul(de->d_name, NULL, 16));
	closedir(d);
}

static const struct zf_store_ops dir_ops;

static int dir_open(const char *path, unsigned flags, struct zf_store **ret, struct zf_err *err)
{
	struct zf_store *s;
	int fd;

	if ((flags & ZF_STORE_CREATE) && mkdir(path, 0777) < 0 && errno != EEXIST)
		return zf_err_set(err, -errno, "cannot create store '%s': %m", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open store '%s': %m", path);
	s = zf_xcalloc(1, sizeof(*s));
	s->ops = &dir_ops;
	s->path = zf_xstrdup(path);
	s->dirfd = fd;
	scan_dirs(s);
	*ret = s;
	return 0;
}

const char *zf_store_path(const struct zf_store *s)
{
	return s->path;
}

struct zf_store *zf_store_free(struct zf_store *s)
{
	if (s) {
		if (s->ops->free)
			s->ops->free(s->impl);
		safe_close(s->dirfd);
		free(s->path);
		free(s);
	}
	return NULL;
}

static int dir_has_file(struct zf_store *s, const struct zf_chunk_id *id, bool fossil,
			uint64_t *ret_size, struct zf_err *err)
{
	char rel[REL_MAX];
	struct stat st;

	zf_store_chunk_relpath(id, fossil, rel);
	if (fstatat(s->dirfd, rel, &st, 0) == 0) {
		if (ret_size)
			*ret_size = (uint64_t)st.st_size;
		return 1;
	}
	if (errno == ENOENT)
		return 0;
	return zf_err_set(err, -errno, "cannot access chunk '%s/%s': %m", s->path, rel);
}

static int dir_has(struct zf_store *s, const struct zf_chunk_id *id, uint64_t *ret_size,
		 struct zf_err *err)
{
	return dir_has_file(s, id, false, ret_size, err);
}

/*
 * An unnamed file in the chunk's directory, linked in under its final name
 * once complete: link() never replaces, so the first writer wins, and a
 * crash leaves nothing to clean up.  One directory operation instead of
 * the two of create + rename.  1 linked, 0 already there, -EOPNOTSUPP (and
 * friends) when the filesystem has no O_TMPFILE, other <0 on error.
 */
static int put_tmpfile(struct zf_store *s, unsigned prefix, const char *rel, const void *p,
		       size_t n, struct zf_err *err)
{
	char dir[5], proc[64];
	_cleanup_close_ int fd = -EBADF;
	int r;

	memcpy(dir, rel, 4);
	dir[4] = '\0';
	if (!dir_known(s, prefix)) {
		if (mkdirat(s->dirfd, dir, 0777) < 0 && errno != EEXIST)
			return zf_err_set(err, -errno, "cannot create directory '%s/%s': %m",
					  s->path, dir);
		dir_set(s, prefix);
	}
	fd = openat(s->dirfd, dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(s->dirfd, dir, 0777) < 0 && errno != EEXIST)
			return zf_err_set(err, -errno, "cannot create directory '%s/%s': %m",
					  s->path, dir);
		fd = openat(s->dirfd, dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	}
	if (fd < 0) {
		if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
			return -EOPNOTSUPP;
		return zf_err_set(err, -errno, "cannot write chunk to store '%s': %m", s->path);
	}
	r = zf_write_full(fd, p, n);
	if (r < 0)
		return zf_err_set(err, r, "cannot write chunk '%s/%s': %s", s->path, rel,
				  strerror(-r));
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, s->dirfd, rel, AT_SYMLINK_FOLLOW) < 0) {
		if (errno == EEXIST)
			return 0;
		if (errno == ENOENT && access("/proc/self/fd", F_OK) < 0)
			return -EOPNOTSUPP;     /* no /proc */
		return zf_err_set(err, -errno, "cannot write chunk '%s/%s': %m", s->path, rel);
	}
	return 1;
}

int zf_store_has_quick(struct zf_store *s, const struct zf_chunk_id *id, struct zf_err *err)
{
	if (s->ops == &dir_ops && !dir_known(s, prefix_of(id)))
		return 0;
	return zf_store_has(s, id, NULL, err);
}

static int dir_put_raw(struct zf_store *s, const struct zf_chunk_id *id, const void *p, size_t n,
		     struct zf_err *err)
{
	char rel[REL_MAX];
	struct zf_atomic_file f = ZF_ATOMIC_FILE_INIT;
	_cleanup_free_ char *full = NULL;
	int r;

	rel_path(id, rel);
	r = put_tmpfile(s, prefix_of(id), rel, p, n, err);
	if (r != -EOPNOTSUPP)
		return r < 0 ? r : !r;
	full = zf_xasprintf("%s/%s", s->path, rel);
	r = zf_atomic_file_open(&f, full, NULL);
	if (r == -ENOENT) {
		rel[4] = '\0';
		if (mkdirat(s->dirfd, rel, 0777) < 0 && errno != EEXIST) {
			r = -errno;
			rel[4] = '/';
			return zf_err_set(err, r, "cannot create directory for chunk '%s/%s': %s",
					  s->path, rel, strerror(-r));
		}
		rel[4] = '/';
		r = zf_atomic_file_open(&f, full, NULL);
	}
	if (r < 0)
		return zf_err_set(err, r, "cannot write chunk to store '%s': %s", s->path,
				  strerror(-r));
	r = zf_write_full(f.fd, p, n);
	if (r < 0) {
		zf_atomic_file_release(&f);
		return zf_err_set(err, r, "cannot write chunk '%s': %s", full, strerror(-r));
	}
	r = zf_atomic_file_commit(&f, false, true, err);
	zf_atomic_file_release(&f);
	return r;
}

/* The chunk file, else its fossil (gc renames it back or deletes it only a pass later). */
static int open_chunk(struct zf_store *s, const struct zf_chunk_id *id, char rel[REL_MAX],
		      struct zf_err *err)
{
	int fd;

	for (int fossil = 0; fossil < 2; fossil++) {
		zf_store_chunk_relpath(id, fossil, rel);
		fd = openat(s->dirfd, rel, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != ENOENT)
			return zf_err_set(err, -errno, "cannot open chunk '%s/%s': %m", s->path,
					  rel);
	}
	return -ENOENT;
}

static int dir_get_raw(struct zf_store *s, const struct zf_chunk_id *id, size_t max_raw,
		     struct zf_buf *out, struct zf_err *err)
{
	char rel[REL_MAX];
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	ssize_t k;

	fd = open_chunk(s, id, rel, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return zf_err_set(err, -errno, "cannot stat chunk '%s/%s': %m", s->path, rel);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max_raw)
		return zf_err_set(err, -EBADMSG,
				  "chunk '%s/%s' is not a regular file of at most %zu bytes",
				  s->path, rel, max_raw);
	zf_buf_reset(out);
	zf_buf_grow(out, (size_t)st.st_size + 1);
	k = zf_read_full(fd, out->data, (size_t)st.st_size + 1);
	if (k < 0)
		return zf_err_set(err, (int)k, "cannot read chunk '%s/%s': %s", s->path, rel,
				  strerror((int)-k));
	if ((size_t)k > (size_t)st.st_size)
		return zf_err_set(err, -EBADMSG, "chunk '%s/%s' grew while being read", s->path,
				  rel);
	out->len = (size_t)k;
	out->data[out->len] = '\0';
	return 0;
}

int zf_store_get(struct zf_store *s, struct zf_chunk_ctx *ctx, const struct zf_chunk_id *id,
		 size_t max, struct zf_buf *out, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf raw = ZF_BUF_INIT;
	struct zf_err e = ZF_ERR_INIT;
	struct zf_chunk_id got;
	char hex[ZF_CHUNK_ID_HEX];
	int r;

	r = zf_store_get_raw(s, id, zf_cacnk_max_raw(max), &raw, err);
	if (r < 0)
		return r;
	r = zf_cacnk_decode(ctx, (const uint8_t *)raw.data, raw.len, max, out, &e);
	if (r < 0)
		return zf_err_set(err, r, "chunk %s in store '%s' is damaged: %s",
				  zf_chunk_id_hex(id, hex), s->path, zf_err_msg(&e));
	zf_chunk_id_hash(ctx, out->data, out->len, &got);
	if (!zf_chunk_id_eq(&got, id))
		return zf_err_set(err, -ZF_E_CORRUPT,
				  "chunk %s in store '%s' is damaged: content does not match its id",
				  zf_chunk_id_hex(id, hex), s->path);
	return 0;
}

static int dir_remove(struct zf_store *s, const struct zf_chunk_id *id, struct zf_err *err)
{
	char rel[REL_MAX];

	rel_path(id, rel);
	if (unlinkat(s->dirfd, rel, 0) < 0 && errno != ENOENT)
		return zf_err_set(err, -errno, "cannot remove chunk '%s/%s': %m", s->path, rel);
	return 0;
}

static int dir_sync(struct zf_store *s, struct zf_err *err)
{
	if (syncfs(s->dirfd) < 0)
		return zf_err_set(err, -errno, "cannot sync store '%s': %m", s->path);
	return 0;
}

static bool is_hex4(const char *n)
{
	for (int i = 0; i < 4; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return false;
	return n[4] == '\0';
}

static int walk_dir(struct zf_store *s, const char *sub, zf_store_walk_fn cb, void *userdata,
		    struct zf_err *err)
{
	int fd = openat(s->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open '%s/%s': %m", s->path, sub);
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		safe_close(fd);
		return zf_err_set(err, r, "cannot open '%s/%s': %s", s->path, sub, strerror(-r));
	}
	while (r >= 0 && (errno = 0, de = readdir(d))) {
		char name[ZF_CHUNK_ID_HEX];
		struct zf_chunk_id id;
		struct stat st;
		size_t len = strlen(de->d_name);

		if (len != 64 + 6 || !streq(de->d_name + 64, ".cacnk") ||
		    strncmp(de->d_name, sub, 4) != 0)
			continue;
		memcpy(name, de->d_name, 64);
		name[64] = '\0';
		if (zf_chunk_id_parse(name, &id) < 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;       /* removed meanwhile */
			r = zf_err_set(err, -errno, "cannot stat '%s/%s/%s': %m", s->path, sub,
				       de->d_name);
			break;
		}
		r = cb(&id, (uint64_t)st.st_size, userdata);
	}
	if (r >= 0 && errno != 0)
		r = zf_err_set(err, -errno, "cannot read '%s/%s': %m", s->path, sub);
	closedir(d);
	return r;
}

static int dir_walk(struct zf_store *s, zf_store_walk_fn cb, void *userdata, struct zf_err *err)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open store '%s': %m", s->path);
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		safe_close(fd);
		return zf_err_set(err, r, "cannot open store '%s': %s", s->path, strerror(-r));
	}
	while (r >= 0 && (errno = 0, de = readdir(d))) {
		if (!is_hex4(de->d_name))
			continue;
		r = walk_dir(s, de->d_name, cb, userdata, err);
	}
	if (r >= 0 && errno != 0)
		r = zf_err_set(err, -errno, "cannot read store '%s': %m", s->path);
	closedir(d);
	return r;
}

static const struct zf_store_ops dir_ops = {
	.has = dir_has,
	.put_raw = dir_put_raw,
	.get_raw = dir_get_raw,
	.remove = dir_remove,
	.sync = dir_sync,
	.walk = dir_walk,
};

static bool is_url(const char *path)
{
	return strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0;
}

int zf_store_open(const char *path, unsigned flags, struct zf_store **ret, struct zf_err *err)
{
	return zf_store_open_opts(path, flags, NULL, ret, err);
}

int zf_store_open_opts(const char *path, unsigned flags, const struct zf_store_remote_opts *ro,
		       struct zf_store **ret, struct zf_err *err)
{
	static const struct zf_store_remote_opts none = { 0 };

	if (!ro)
		ro = &none;
	if (zf_s3_is_url(path))
		return zf_s3_store_open(path, ro, ret, err);
	if (is_url(path)) {
		if (ro->credentials_file)
			return zf_err_set(err, -EINVAL, "--store-credentials-file is for "
					  "s3+http[s]:// stores; an http[s]:// store takes "
					  "--store-auth-file");
		return zf_http_store_open(path, ro, ret, err);
	}
	return dir_open(path, flags, ret, err);
}

struct zf_store *zf_store_new(const struct zf_store_ops *ops, void *impl, const char *display)
{
	struct zf_store *s = zf_xcalloc(1, sizeof(*s));

	s->ops = ops;
	s->impl = impl;
	s->path = zf_xstrdup(display);
	s->dirfd = -EBADF;
	return s;
}

void *zf_store_impl(const struct zf_store *s)
{
	return s->impl;
}

bool zf_store_is_local(const struct zf_store *s)
{
	return s->ops == &dir_ops;
}

int zf_store_has(struct zf_store *s, const struct zf_chunk_id *id, uint64_t *ret_size,
		 struct zf_err *err)
{
	return s->ops->has(s, id, ret_size, err);
}

int zf_store_has_readable(struct zf_store *s, const struct zf_chunk_id *id, uint64_t *ret_size,
			  struct zf_err *err)
{
	int r = zf_store_has(s, id, ret_size, err);

	if (r != 0 || s->ops != &dir_ops)
		return r;
	return dir_has_file(s, id, true, ret_size, err);
}

int zf_store_put_raw(struct zf_store *s, const struct zf_chunk_id *id, const void *p, size_t n,
		     struct zf_err *err)
{
	return s->ops->put_raw(s, id, p, n, err);
}

int zf_store_get_raw(struct zf_store *s, const struct zf_chunk_id *id, size_t max_raw,
		     struct zf_buf *out, struct zf_err *err)
{
	return s->ops->get_raw(s, id, max_raw, out, err);
}

int zf_store_remove(struct zf_store *s, const struct zf_chunk_id *id, struct zf_err *err)
{
	if (!s->ops->remove)
		return zf_err_set(err, -EOPNOTSUPP,
				  "store '%s' cannot remove chunks (append-only; run it on the server)",
				  s->path);
	return s->ops->remove(s, id, err);
}

int zf_store_sync(struct zf_store *s, struct zf_err *err)
{
	return s->ops->sync ? s->ops->sync(s, err) : 0;
}

int zf_store_walk(struct zf_store *s, zf_store_walk_fn cb, void *userdata, struct zf_err *err)
{
	if (!s->ops->walk)
		return zf_err_set(err, -EOPNOTSUPP,
				  "store '%s' cannot list its chunks (run verify or prune on the server)",
				  s->path);
	return s->ops->walk(s, cb, userdata, err);
}
