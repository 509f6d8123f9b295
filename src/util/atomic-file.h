/* src/util/atomic-file.h — write a file under a temporary name, then rename it into place */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "util/macro.h"

struct zf_err;

/*
 * The temporary file lives in the target's directory (so rename(2) is
 * atomic) and is named ".<base>.tmp-XXXXXXXX"; readers of a store skip
 * dot-files.  Until zf_atomic_file_commit() succeeds nobody sees the file
 * under its final name; zf_atomic_file_release() removes an uncommitted one.
 */
struct zf_atomic_file {
	int fd;
	char *path;             /* final name */
	char *tmp;              /* NULL once committed */
};

#define ZF_ATOMIC_FILE_INIT { -EBADF, NULL, NULL }

/* Creates the temporary file (mode 0666 & ~umask), open for reading and writing. */
_must_check_ int zf_atomic_file_open(struct zf_atomic_file *f, const char *path,
				     struct zf_err *err);
/*
 * fsync()s when sync is set, closes and renames over path (and then
 * fsync()s its directory, with sync).  With noreplace
 * an existing path is kept and 1 is returned (the temporary file is removed).
 */
_must_check_ int zf_atomic_file_commit(struct zf_atomic_file *f, bool sync, bool noreplace,
				       struct zf_err *err);
void zf_atomic_file_release(struct zf_atomic_file *f);
/*
 * The whole of open, write, commit for n bytes at p: written to a
 * temporary file, fsync()ed, renamed over path, its directory fsync()ed.
 */
_must_check_ int zf_atomic_file_write(const char *path, const void *p, size_t n,
				      struct zf_err *err);
/*
 * Renames from to to unless to exists (renameat2 RENAME_NOREPLACE, or
 * link() and unlink() where the filesystem lacks it): 0 when moved (sync
 * to's directory to make it last), 1 when to existed and from was removed,
 * or -errno with from left in place.
 */
_must_check_ int zf_rename_noreplace(const char *from, const char *to);
/*
 * Syncs the directory that holds path, which makes a rename, link or mkdir
 * of path durable: its name lives there.
 */
_must_check_ int zf_sync_parent_dir(const char *path, struct zf_err *err);
static inline void zf_atomic_file_releasep(struct zf_atomic_file *f)
{
	zf_atomic_file_release(f);
}

/* A random 64-bit value for temporary names (not for secrets). */
uint64_t zf_tmp_random(void);
