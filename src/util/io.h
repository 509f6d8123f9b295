/* src/util/io.h — the only place that calls read(2)/write(2) directly */
#pragma once
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/macro.h"

struct zf_buf;
struct zf_rate;
struct iovec;

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
/*
 * The same for n buffers, with writev(2) (n at most IOV_MAX); iov is
 * consumed: its entries are changed as bytes go out.  0 or -errno.
 */
_must_check_ int zf_writev_full(int fd, struct iovec *iov, int n);
/*
 * The same at a file offset, with pread(2)/pwrite(2) (regular files: no
 * EAGAIN): bytes read, short only at end of file, or -errno; 0 or -errno.
 */
_must_check_ ssize_t zf_pread_full(int fd, void *p, size_t n, uint64_t off);
_must_check_ int zf_pwrite_full(int fd, const void *p, size_t n, uint64_t off);
/* Appends everything up to EOF to b; -E2BIG if more than max bytes arrive. */
_must_check_ int zf_read_all(int fd, struct zf_buf *b, size_t max);
/* The buffer of a stream pipe, and zf_copy_stream()'s unit. */
#define ZF_STREAM_PIPE_SIZE (1 << 20)

/*
 * pipe2(O_CLOEXEC) for a stream (zfs send/recv, an rpc pump): the buffer is
 * raised to ZF_STREAM_PIPE_SIZE so readers take whole frames and writers
 * wake them less often (best effort).  0 or -errno.
 */
_must_check_ int zf_stream_pipe(int p[2]);

/*
 * Moves everything from in to out until EOF on in: splice(2) when both are
 * pipes (no copy through user space), read/write otherwise.  *counter (may
 * be NULL) grows as bytes go through, atomically, so another thread can
 * show progress; rate (may be NULL) limits how fast.  Returns 0 at EOF,
 * or -errno: -EPIPE when out's reader went away.  Either way *counter says
 * how far it got.
 */
_must_check_ int zf_copy_stream(int in, int out, uint64_t *counter, struct zf_rate *rate);

/*
 * A limit on bytes per second that the copies of one run share: each copy
 * takes its bytes from it after moving them, and waits as long as they
 * would have taken at the rate.  Unused time is not saved up beyond a
 * moment, so a transfer that starts after a pause does not burst.
 */
struct zf_rate {
	pthread_mutex_t lock;
	uint64_t bps;                   /* 0: no limit */
	double next;                    /* zf_now_sec() when the next byte may go */
};
#define ZF_RATE_INIT(b) { .lock = PTHREAD_MUTEX_INITIALIZER, .bps = (b) }
/* Waits until n more bytes are within r's rate; nothing when r is NULL or unlimited. */
void zf_rate_take(struct zf_rate *r, size_t n);
/* Sets or clears O_NONBLOCK / FD_CLOEXEC. */
int zf_fd_nonblock(int fd, int on);
int zf_fd_cloexec(int fd, int on);

/* Milliseconds of the monotonic clock, for deadlines: never goes back, unlike the wall clock. */
int64_t zf_now_ms(void);
/* The same clock in seconds, for durations people read ("seconds":1.250). */
double zf_now_sec(void);
/* Sleeps ms milliseconds, the whole of them even when a signal interrupts. */
void zf_sleep_ms(uint64_t ms);
/*
 * Waits until fd is ready for events (POLLIN/POLLOUT) or timeout_ms passes
 * (-1: forever).  0 when ready (also on POLLHUP/POLLERR: the next read or
 * write reports it), -ETIMEDOUT, or -errno.
 */
_must_check_ int zf_fd_wait(int fd, short events, int timeout_ms);
/*
 * One read of at most n bytes that waits at most timeout_ms for data.
 * Returns the bytes read (> 0), 0 at end of file, -ETIMEDOUT, or -errno.
 */
_must_check_ ssize_t zf_read_timeout(int fd, void *p, size_t n, int timeout_ms);
/*
 * Writes all n bytes; fails with -ETIMEDOUT when the fd accepts nothing for
 * timeout_ms (so a slow peer is fine, a stopped one is not).  Sockets are
 * written with MSG_NOSIGNAL: a closed peer is -EPIPE, not SIGPIPE.
 */
_must_check_ int zf_write_timeout(int fd, const void *p, size_t n, int timeout_ms);
/*
 * The same two for a socket, blocking or not: they try recv(2)/send(2)
 * with MSG_DONTWAIT first and poll only when it would block, so a socket
 * that is ready costs one system call instead of two.
 */
_must_check_ ssize_t zf_sock_read_timeout(int fd, void *p, size_t n, int timeout_ms);
_must_check_ int zf_sock_write_timeout(int fd, const void *p, size_t n, int timeout_ms);
/*
 * One non-waiting recv(2)/send(2) on a socket, retrying EINTR: bytes moved,
 * 0 at end of file (recv), or -errno (-EAGAIN when it would block).  send
 * uses MSG_NOSIGNAL.  For code such as a TLS library's I/O callbacks that
 * does its own waiting.
 */
_must_check_ ssize_t zf_recv_some(int fd, void *p, size_t n);
_must_check_ ssize_t zf_send_some(int fd, const void *p, size_t n);
