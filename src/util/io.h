/* src/util/io.h — the only place that calls read(2)/write(2) directly */
#pragma once
#include <stddef.h>
#include <sys/types.h>
#include "util/macro.h"

struct zf_buf;

/*
 * Reads until n bytes or end of file, retrying EINTR/EAGAIN (poll()s on a
 * non-blocking fd).  Returns the number of bytes read (short only at EOF) or
 * a negative errno.
 */
_must_check_ ssize_t zf_read_full(int fd, void *p, size_t n);
/*
 * Writes all n bytes, retrying short writes, EINTR and EAGAIN.  A write of
 * zero bytes is -ENOSPC (git's write_in_full()).  Returns 0 or -errno.
 */
_must_check_ int zf_write_full(int fd, const void *p, size_t n);
/* Appends everything up to EOF to b; -E2BIG if more than max bytes arrive. */
_must_check_ int zf_read_all(int fd, struct zf_buf *b, size_t max);
/* Sets or clears O_NONBLOCK / FD_CLOEXEC. */
int zf_fd_nonblock(int fd, int on);
int zf_fd_cloexec(int fd, int on);
