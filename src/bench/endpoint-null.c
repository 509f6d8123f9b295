/* src/bench/endpoint-null.c — an endpoint whose receives discard their stream: benchmarks only */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench/bench.h"
#include "endpoint/endpoint.h"
#include "log/log.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

/*
 * `zferry serve --debug-null-endpoint` serves with this endpoint so that
 * bench/replicate-net can measure what the protocol and a transport cost on
 * their own: the server's side of a RECV is a thread that reads the stream
 * and throws it away, where zfs recv would be.  Nothing else is supported.
 */
struct null_stream {
	pthread_t thread;
	int fd;                 /* the read end, the thread's */
	uint64_t bytes;
	int error;              /* -errno of a failed read */
};

static void *drain(void *arg)
{
	struct null_stream *ns = arg;
	size_t size = 1u << 20;
	_cleanup_free_ char *buf = zf_xmalloc(size);

	for (;;) {
		ssize_t k = read(ns->fd, buf, size);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ns->error = -errno;
			break;
		}
		if (k == 0)
			break;
		ns->bytes += (uint64_t)k;
	}
	return NULL;
}

static int null_recv_start(struct zf_endpoint *ep, const char *target,
			   const struct zf_ep_recv *rq, struct zf_ep_stream *ret,
			   struct zf_err *err)
{
	struct null_stream *ns;
	int p[2], r;
	(void)ep;
	(void)rq;

	r = zf_stream_pipe(p);
	if (r < 0)
		return zf_err_set(err, r, "null receive into '%s': pipe: %s", target, strerror(-r));
	ns = zf_xcalloc(1, sizeof(*ns));
	ns->fd = p[0];
	r = pthread_create(&ns->thread, NULL, drain, ns);
	if (r != 0) {
		safe_close(p[0]);
		safe_close(p[1]);
		free(ns);
		return zf_err_set(err, -r, "null receive into '%s': cannot start its thread",
				  target);
	}
	ret->fd = p[1];
	ret->priv = ns;
	return 0;
}

static int null_stream_finish(struct zf_endpoint *ep, struct zf_ep_stream *s, const char *what,
			      struct zf_err *err)
{
	struct null_stream *ns = s->priv;
	int r = 0;
	(void)ep;

	s->fd = safe_close(s->fd);
	if (!ns)
		return 0;
	pthread_join(ns->thread, NULL);
	safe_close(ns->fd);
	if (ns->error < 0)
		r = zf_err_set(err, ns->error, "%s: %s", what, strerror(-ns->error));
	else
		log_info("%s: discarded %" PRIu64 " bytes", what, ns->bytes);
	free(ns);
	s->priv = NULL;
	return r;
}

static void null_stream_kill(struct zf_endpoint *ep, struct zf_ep_stream *s)
{
	(void)ep;
	s->fd = safe_close(s->fd);      /* the drain thread sees the end */
}

/* Everything but receiving: not here. */
static int nosup(struct zf_err *err)
{
	return zf_err_set(err, -EOPNOTSUPP, "the null endpoint only receives (a benchmark)");
}

static int null_list(struct zf_endpoint *ep, const char *root, bool recursive,
		     zf_zfs_filter_fn filter, void *userdata, struct zf_ep_fs_list *ret,
		     struct zf_err *err)
{
	(void)ep, (void)root, (void)recursive, (void)filter, (void)userdata, (void)ret;
	return nosup(err);
}

static int null_names(struct zf_endpoint *ep, const char *const *v, size_t n, const char *s,
		      struct zf_err *err)
{
	(void)ep, (void)v, (void)n, (void)s;
	return nosup(err);
}

static int null_tagged(struct zf_endpoint *ep, const char *tag, const char *const *v, size_t n,
		       struct zf_err *err)
{
	(void)ep, (void)tag, (void)v, (void)n;
	return nosup(err);
}

static int null_holds(struct zf_endpoint *ep, const char *const *v, size_t n,
		      struct zf_zfs_hold_list *ret, struct zf_err *err)
{
	(void)ep, (void)v, (void)n, (void)ret;
	return nosup(err);
}

static int null_two(struct zf_endpoint *ep, const char *a, const char *b, struct zf_err *err)
{
	(void)ep, (void)a, (void)b;
	return nosup(err);
}

static int null_one(struct zf_endpoint *ep, const char *a, struct zf_err *err)
{
	(void)ep, (void)a;
	return nosup(err);
}

static int null_create(struct zf_endpoint *ep, const char *fs, const char *const *props,
		       struct zf_err *err)
{
	(void)ep, (void)fs, (void)props;
	return nosup(err);
}

static int null_estimate(struct zf_endpoint *ep, const char *snapshot,
			 const struct zf_zfs_send_opts *opts, uint64_t *ret, struct zf_err *err)
{
	(void)ep, (void)snapshot, (void)opts, (void)ret;
	return nosup(err);
}

static int null_send_start(struct zf_endpoint *ep, const char *snapshot,
			   const struct zf_zfs_send_opts *opts, struct zf_ep_stream *ret,
			   struct zf_err *err)
{
	(void)ep, (void)snapshot, (void)opts, (void)ret;
	return nosup(err);
}

static void null_free(struct zf_endpoint *ep)
{
	free(ep);
}

static const struct zf_endpoint_ops null_ops = {
	.list = null_list,
	.snapshot = null_names,
	.hold = null_tagged,
	.release = null_tagged,
	.holds = null_holds,
	.bookmark = null_two,
	.destroy_bookmark = null_one,
	.create = null_create,
	.rename = null_two,
	.inherit = null_two,
	.recv_abort = null_one,
	.send_estimate = null_estimate,
	.send_start = null_send_start,
	.recv_start = null_recv_start,
	.stream_finish = null_stream_finish,
	.stream_kill = null_stream_kill,
	.free = null_free,
};

struct zf_endpoint *zf_endpoint_null_new(void)
{
	struct zf_endpoint *ep = zf_xcalloc(1, sizeof(*ep));
	ep->ops = &null_ops;
	ep->kind = "null";
	return ep;
}
