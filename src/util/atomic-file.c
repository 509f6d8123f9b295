/* src/util/atomic-file.c — temporary file + rename */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include "util/atomic-file.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

uint64_t zf_tmp_random(void)
{
	static _Atomic uint64_t counter;
	uint64_t v = 0;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
	}
	return v ^ atomic_fetch_add(&counter, 0x9e3779b97f4a7c15ull);
}

int zf_atomic_file_open(struct zf_atomic_file *f, const char *path, struct zf_err *err)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;

	for (int tries = 0;; tries++) {
		_cleanup_free_ char *tmp = zf_xasprintf("%.*s.%s.tmp-%016llx", (int)dirlen, path,
							 path + dirlen,
							 (unsigned long long)zf_tmp_random());
		/* readable too: extract copies repeated chunks from what it wrote */
		int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);

		if (fd < 0) {
			if (errno == EEXIST && tries < 8)
				continue;
			return zf_err_set(err, -errno, "cannot create '%s': %m", tmp);
		}
		f->fd = fd;
		f->path = zf_xstrdup(path);
		f->tmp = TAKE_PTR(tmp);
		return 0;
	}
}

int zf_sync_parent_dir(const char *path, struct zf_err *err)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = slash ? zf_xstrndup(path, (size_t)(slash - path) + 1)
					 : zf_xstrdup(".");
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return zf_err_set(err, -errno, "cannot sync directory '%s': %m", dir);
	return 0;
}

int zf_atomic_file_commit(struct zf_atomic_file *f, bool sync, bool noreplace, struct zf_err *err)
{
	int r;

	if (sync && fsync(f->fd) < 0)
		return zf_err_set(err, -errno, "cannot write '%s': %m", f->path);
	r = close(TAKE_FD(f->fd));
	if (r < 0 && errno != EINTR)
		return zf_err_set(err, -errno, "cannot write '%s': %m", f->path);
	if (noreplace) {
		r = zf_rename_noreplace(f->tmp, f->path);
		if (r == 1) {
			f->tmp = (free(f->tmp), NULL);
			return 1;
		}
	} else {
		r = rename(f->tmp, f->path) < 0 ? -errno : 0;
	}
	if (r < 0)
		return zf_err_set(err, r, "cannot rename '%s' to '%s': %s", f->tmp, f->path,
				  strerror(-r));
	/* a new name (renamed or linked) lasts only once its directory is synced */
	f->tmp = (free(f->tmp), NULL);
	if (sync)
		return zf_sync_parent_dir(f->path, err);
	return 0;
}

int zf_rename_noreplace(const char *from, const char *to)
{
	int r = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);

	if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
		/* filesystems without RENAME_NOREPLACE: link() never replaces */
		r = link(from, to);
		if (r == 0) {
			(void)unlink(from);
			return 0;
		}
	}
	if (r == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	(void)unlink(from);
	return 1;
}

int zf_atomic_file_write(const char *path, const void *p, size_t n, struct zf_err *err)
{
	_cleanup_(zf_atomic_file_releasep) struct zf_atomic_file f = ZF_ATOMIC_FILE_INIT;
	int r;

	r = zf_atomic_file_open(&f, path, err);
	if (r < 0)
		return r;
	r = zf_write_full(f.fd, p, n);
	if (r < 0)
		return zf_err_set(err, r, "cannot write '%s': %s", f.tmp, strerror(-r));
	return zf_atomic_file_commit(&f, true, false, err);
}

void zf_atomic_file_release(struct zf_atomic_file *f)
{
	f->fd = safe_close(f->fd);
	if (f->tmp) {
		(void)unlink(f->tmp);
		free(f->tmp);
		f->tmp = NULL;
	}
	free(f->path);
	f->path = NULL;
}
