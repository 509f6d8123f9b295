/* src/daemon/control.c — the control socket: one line in, one JSON answer out, never blocking the loop */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "daemon/control.h"
#include "log/log.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

struct conn {
	int fd;
	int64_t deadline_ms;
	struct zf_buf in, out;
	size_t sent;
	bool answering;
};

struct zf_control {
	int fd;
	char *path;
	zf_control_fn fn;
	void *userdata;
	struct conn conns[ZF_CONTROL_MAX_CONNS];
	size_t nconns;
};

static int sockaddr_of(const char *path, struct sockaddr_un *sa, struct zf_err *err)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa->sun_path))
		return zf_err_set(err, -ENAMETOOLONG, "control socket path '%s' is too long", path);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* The socket's directory, made 0700 when we create it (an existing one is the admin's). */
static int make_dir(const char *path, struct zf_err *err)
{
	_cleanup_free_ char *dir = zf_xstrdup(path);
	char *slash = strrchr(dir, '/');

	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return zf_err_set(err, -errno, "cannot create '%s': %m", dir);
	return 0;
}

/* Is a daemon answering on path?  Then we must not take it over. */
static bool answering(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool yes;

	if (fd < 0)
		return false;
	yes = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return yes;
}

int zf_control_new(const char *path, zf_control_fn fn, void *userdata, struct zf_control **ret,
		   struct zf_err *err)
{
	struct sockaddr_un sa;
	struct stat st;
	struct zf_control *c;
	int fd, r;

	r = sockaddr_of(path, &sa, err);
	if (r < 0 || (r = make_dir(path, err)) < 0)
		return r;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return zf_err_set(err, -EEXIST, "control socket '%s' exists and is no socket",
					  path);
		if (answering(&sa))
			return zf_err_set(err, -EADDRINUSE, "a daemon already answers on '%s'",
					  path);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return zf_err_set(err, -errno, "socket: %m");
	/* 0600 from the start: no moment where another user could connect */
	{
		mode_t old = umask(0177);
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		umask(old);
	}
	if (r < 0 || listen(fd, 16) < 0) {
		r = zf_err_set(err, -errno, "cannot listen on '%s': %m", path);
		close(fd);
		return r;
	}
	c = zf_xcalloc(1, sizeof(*c));
	*c = (struct zf_control){ .fd = fd, .path = zf_xstrdup(path), .fn = fn,
				  .userdata = userdata };
	*ret = c;
	return 0;
}

static void conn_close(struct zf_control *c, size_t i)
{
	struct conn *k = &c->conns[i];

	close(k->fd);
	zf_buf_release(&k->in);
	zf_buf_release(&k->out);
	c->conns[i] = c->conns[--c->nconns];
}

struct zf_control *zf_control_free(struct zf_control *c)
{
	if (!c)
		return NULL;
	while (c->nconns)
		conn_close(c, 0);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
	return NULL;
}

size_t zf_control_pollfds(struct zf_control *c, struct pollfd *v, size_t max)
{
	size_t n = 0;

	if (max == 0)
		return 0;
	v[n++] = (struct pollfd){ .fd = c->nconns < ZF_CONTROL_MAX_CONNS ? c->fd : -1,
				  .events = POLLIN };
	for (size_t i = 0; i < c->nconns && n < max; i++)
		v[n++] = (struct pollfd){ .fd = c->conns[i].fd,
					  .events = c->conns[i].answering ? POLLOUT : POLLIN };
	return n;
}

int zf_control_timeout_ms(const struct zf_control *c, int64_t now_ms)
{
	int64_t t = -1;

	for (size_t i = 0; i < c->nconns; i++) {
		int64_t left = c->conns[i].deadline_ms - now_ms;
		if (left < 0)
			left = 0;
		if (t < 0 || left < t)
			t = left;
	}
	return t < 0 ? -1 : (int)t;
}

/* Root or ourselves only: the socket's mode says so too, this says it to whoever changed it. */
static bool peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

static void accept_one(struct zf_control *c, int64_t now_ms)
{
	int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		log_warning("control: a connection from another user refused");
		close(fd);
		return;
	}
	c->conns[c->nconns++] = (struct conn){ .fd = fd, .deadline_ms = now_ms +
					       ZF_CONTROL_DEADLINE_MS };
}

/* Reads what is there; answers once a line is complete.  false: close it. */
static bool conn_read(struct zf_control *c, struct conn *k)
{
	char buf[512];
	ssize_t n = read(k->fd, buf, sizeof(buf));
	char *nl;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	zf_buf_add(&k->in, buf, (size_t)n);
	nl = memchr(k->in.data, '\n', k->in.len);
	if (!nl)
		return k->in.len <= ZF_CONTROL_LINE_MAX;
	*nl = 0;
	c->fn(c->userdata, k->in.data, &k->out);
	k->answering = true;
	return true;
}

/* Writes what the socket takes; false when done or broken. */
static bool conn_write(struct conn *k)
{
	ssize_t n = send(k->fd, k->out.data + k->sent, k->out.len - k->sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	k->sent += (size_t)n;
	return k->sent < k->out.len;
}

void zf_control_handle(struct zf_control *c, const struct pollfd *v, size_t n, int64_t now_ms)
{
	size_t nconns = c->nconns;
	bool keep[ZF_CONTROL_MAX_CONNS];

	/* v[1..] are conns[0..nconns) as zf_control_pollfds() gave them */
	for (size_t i = 0; i < nconns; i++) {
		struct conn *k = &c->conns[i];
		short ev = i + 1 < n ? v[i + 1].revents : 0;

		keep[i] = now_ms < k->deadline_ms;
		if (keep[i] && (ev & (POLLERR | POLLNVAL)))
			keep[i] = false;
		else if (keep[i] && !k->answering && (ev & (POLLIN | POLLHUP)))
			keep[i] = conn_read(c, k);
		else if (keep[i] && k->answering && (ev & POLLOUT))
			keep[i] = conn_write(k);
	}
	for (size_t i = nconns; i-- > 0;)
		if (!keep[i])
			conn_close(c, i);
	if (n > 0 && (v[0].revents & POLLIN))
		while (c->nconns < ZF_CONTROL_MAX_CONNS) {
			size_t before = c->nconns;
			accept_one(c, now_ms);
			if (c->nconns == before)
				break;
		}
}

int zf_control_request(const char *path, const char *line, int timeout_ms, struct zf_buf *ret,
		       struct zf_err *err)
{
	struct sockaddr_un sa;
	_cleanup_free_ char *msg = zf_xasprintf("%s\n", line);
	int fd, r;

	r = sockaddr_of(path, &sa, err);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return zf_err_set(err, -errno, "socket: %m");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = zf_err_set(err, -errno, "cannot reach the daemon at '%s': %m", path);
		close(fd);
		return r;
	}
	r = zf_write_timeout(fd, msg, strlen(msg), timeout_ms);
	for (char buf[65536]; r >= 0;) {
		ssize_t n = zf_read_timeout(fd, buf, sizeof(buf), timeout_ms);
		if (n <= 0) {
			r = (int)n;
			break;
		}
		zf_buf_add(ret, buf, (size_t)n);
	}
	close(fd);
	if (r < 0)
		return zf_err_set(err, r, "the daemon at '%s' did not answer: %s", path,
				  strerror(-r));
	if (!ret->len)
		return zf_err_set(err, -EPROTO, "the daemon at '%s' closed without an answer",
				  path);
	return 0;
}
