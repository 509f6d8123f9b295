/* src/util/io.c — full reads and writes */
#include <fcntl.h>
#include <stdlib.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "util/buf.h"
#include "util/io.h"
#include "util/banned.h"

static int wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	for (;;) {
		int r = poll(&p, 1, -1);
		if (r >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* One read(2), retried on EINTR and waited out on EAGAIN: bytes (0 at EOF) or -errno. */
static ssize_t read_once(int fd, void *p, size_t n)
{
	for (;;) {
		ssize_t k = read(fd, p, n);
		if (k >= 0)
			return k;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int r = wait_fd(fd, POLLIN);
		if (r < 0)
			return r;
	}
}

ssize_t zf_read_full(int fd, void *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = read_once(fd, (char *)p + done, n - done);
		if (k < 0)
			return k;
		if (k == 0)
			break;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

int zf_writev_full(int fd, struct iovec *iov, int n)
{
	for (;;) {
		ssize_t k;

		while (n > 0 && iov->iov_len == 0) {
			iov++;
			n--;
		}
		if (n == 0)
			return 0;
		k = writev(fd, iov, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				int r = wait_fd(fd, POLLOUT);
				if (r < 0)
					return r;
				continue;
			}
			return -errno;
		}
		if (k == 0)
			return -ENOSPC;
		/* skip what went out; a short write leaves the rest of one entry */
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
}

int zf_write_full(int fd, const void *p, size_t n)
{
	struct iovec v = { .iov_base = (void *)p, .iov_len = n };

	return zf_writev_full(fd, &v, 1);
}

ssize_t zf_pread_full(int fd, void *p, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = pread(fd, (char *)p + done, n - done, (off_t)(off + done));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

int zf_pwrite_full(int fd, const void *p, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = pwrite(fd, (const char *)p + done, n - done, (off_t)(off + done));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -ENOSPC;
		done += (size_t)k;
	}
	return 0;
}

int zf_read_all(int fd, struct zf_buf *b, size_t max)
{
	for (;;) {
		ssize_t k;

		zf_buf_grow(b, 65536);
		k = read_once(fd, b->data + b->len, b->alloc - b->len - 1);
		if (k <= 0)
			return (int)k;
		b->len += (size_t)k;
		b->data[b->len] = '\0';
		if (b->len > max)
			return -E2BIG;
	}
}

#define COPY_CHUNK ((size_t)ZF_STREAM_PIPE_SIZE)
/* a limited copy moves an eighth of a second's worth at once, but not less than this */
#define RATE_CHUNK_MIN ((size_t)64 << 10)

void zf_rate_take(struct zf_rate *r, size_t n)
{
	double now, due;

	if (!r || !r->bps)
		return;
	now = zf_now_sec();
	pthread_mutex_lock(&r->lock);
	/* a quarter of a second of credit at most, so a pause does not turn into a burst */
	if (r->next < now - 0.25)
		r->next = now - 0.25;
	r->next += (double)n / (double)r->bps;
	due = r->next;
	pthread_mutex_unlock(&r->lock);
	/* these n bytes went early: wait until they are due, rounded up, never sooner */
	if (due > now)
		zf_sleep_ms((uint64_t)((due - now) * 1000) + 1);
}

static size_t copy_chunk(const struct zf_rate *rate)
{
	if (!rate || !rate->bps || rate->bps / 8 >= COPY_CHUNK)
		return COPY_CHUNK;
	return rate->bps / 8 > RATE_CHUNK_MIN ? (size_t)(rate->bps / 8) : RATE_CHUNK_MIN;
}

static int copy_rw(int in, int out, uint64_t *counter, struct zf_rate *rate)
{
	size_t chunk = copy_chunk(rate);
	_cleanup_free_ char *buf = malloc(chunk);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read_once(in, buf, chunk);
		if (n <= 0)
			return (int)n;
		int r = zf_write_full(out, buf, (size_t)n);
		if (r < 0)
			return r;
		if (counter)
			__atomic_add_fetch(counter, (uint64_t)n, __ATOMIC_RELAXED);
		zf_rate_take(rate, (size_t)n);
	}
}

int zf_stream_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	(void)fcntl(p[0], F_SETPIPE_SZ, ZF_STREAM_PIPE_SIZE);
	return 0;
}

int zf_copy_stream(int in, int out, uint64_t *counter, struct zf_rate *rate)
{
	size_t chunk = copy_chunk(rate);

	/* bigger pipes mean fewer wake-ups; a failure here only costs speed */
	(void)fcntl(in, F_SETPIPE_SZ, (int)COPY_CHUNK);
	(void)fcntl(out, F_SETPIPE_SZ, (int)COPY_CHUNK);

	for (;;) {
		ssize_t n = splice(in, NULL, out, NULL, chunk, SPLICE_F_MOVE | SPLICE_F_MORE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				int r = wait_fd(in, POLLIN);
				if (r < 0)
					return r;
				r = wait_fd(out, POLLOUT);
				if (r < 0)
					return r;
				continue;
			}
			if (errno == EINVAL || errno == ENOSYS)
				return copy_rw(in, out, counter, rate); /* not two pipes */
			return -errno;
		}
		if (n == 0)
			return 0;
		if (counter)
			__atomic_add_fetch(counter, (uint64_t)n, __ATOMIC_RELAXED);
		zf_rate_take(rate, (size_t)n);
	}
}

int zf_fd_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

int zf_fd_cloexec(int fd, int on)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl < 0)
		return -errno;
	fl = on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, fl) < 0 ? -errno : 0;
}

int64_t zf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double zf_now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void zf_sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int zf_fd_wait(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

ssize_t zf_read_timeout(int fd, void *p, size_t n, int timeout_ms)
{
	for (;;) {
		int r = zf_fd_wait(fd, POLLIN, timeout_ms);
		ssize_t k;

		if (r < 0)
			return r;
		k = read(fd, p, n);
		if (k >= 0)
			return k;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

int zf_write_timeout(int fd, const void *p, size_t n, int timeout_ms)
{
	size_t done = 0;
	bool sock = true;

	while (done < n) {
		ssize_t k;
		int r = zf_fd_wait(fd, POLLOUT, timeout_ms);

		if (r < 0)
			return r;
		if (sock) {
			k = send(fd, (const char *)p + done, n - done, MSG_NOSIGNAL);
			if (k < 0 && errno == ENOTSOCK) {
				sock = false;
				continue;
			}
		} else
			k = write(fd, (const char *)p + done, n - done);
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (k == 0)
			return -ENOSPC;
		done += (size_t)k;
	}
	return 0;
}

/* After a non-waiting recv/send failed with errno: 0 to try again (once ready), or <0. */
static int sock_wait(int fd, short events, int timeout_ms)
{
	if (errno == EINTR)
		return 0;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return -errno;
	return zf_fd_wait(fd, events, timeout_ms);
}

ssize_t zf_sock_read_timeout(int fd, void *p, size_t n, int timeout_ms)
{
	for (;;) {
		ssize_t k = recv(fd, p, n, MSG_DONTWAIT);
		int r;

		if (k >= 0)
			return k;
		if ((r = sock_wait(fd, POLLIN, timeout_ms)) < 0)
			return r;
	}
}

int zf_sock_write_timeout(int fd, const void *p, size_t n, int timeout_ms)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = send(fd, (const char *)p + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		if (k == 0)
			return -ENOSPC;
		if ((r = sock_wait(fd, POLLOUT, timeout_ms)) < 0)
			return r;
	}
	return 0;
}

ssize_t zf_recv_some(int fd, void *p, size_t n)
{
	for (;;) {
		ssize_t k = recv(fd, p, n, 0);
		if (k >= 0)
			return k;
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

ssize_t zf_send_some(int fd, const void *p, size_t n)
{
	for (;;) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k >= 0)
			return k;
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}
