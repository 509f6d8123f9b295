/* src/endpoint/endpoint.h — one side of a replication: local zfs now, a remote zferry later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"
#include "zfs/recv-policy.h"
#include "zfs/zfs.h"

struct zf_buf;
struct zf_err;

/*
 * The replication engine never calls zfs directly: it talks to two
 * endpoints through this table, so that the same engine replicates between
 * local pools (local.c, the zfs layer) and, through the rpc client,
 * to and from another host.  Names given to an endpoint are full dataset
 * names on that side.
 */

/* One filesystem as the engine needs it: versions and the properties the planner reads. */
struct zf_ep_fs {
	char *name;                     /* full name */
	struct zf_zfs_version *versions;        /* borrowed from the list's versions */
	size_t n_versions;
	bool encrypted;                 /* encryption != off */
	char *resume_token;             /* receive_resume_token, NULL when none */
	bool modified;                  /* written > 0 since the newest snapshot */
	bool placeholder;               /* zferry:placeholder=on */
	char *sendflags;                /* zferry:sendflags, NULL when unset */
	char *origin;                   /* a clone's origin snapshot (full name), NULL if none */
};

struct zf_ep_fs_list {
	struct zf_ep_fs *v;
	size_t n, alloc;
	struct zf_zfs_version_list versions;    /* owns what v[i].versions point into */
};
void zf_ep_fs_list_release(struct zf_ep_fs_list *l);
/* Sorts l->versions by (dataset, createtxg) and points each v[i] at its run. */
void zf_ep_fs_list_link(struct zf_ep_fs_list *l);
/*
 * Takes vl (emptied) as the versions of datasets[0..n), which l lists,
 * in place of what l had for them; other datasets keep theirs.
 */
void zf_ep_fs_list_update(struct zf_ep_fs_list *l, const char *const *datasets, size_t n,
			  struct zf_zfs_version_list *vl);

/* A running send or receive: fd is the stream (read a send's, write a receive's). */
struct zf_ep_stream {
	int fd;
	void *priv;
};

/*
 * A receive: what is asked, under which rules, and the stream's first
 * bytes.  The receiving side decides the zfs recv arguments from all of
 * it (src/zfs/recv-policy.h): always -u and -h, the request's -o/-x only
 * as the policy allows, a clone's origin found by guid inside
 * origin_roots only.  The caller reads the head first (zf_ep_read_head())
 * and, once recv_start succeeded, writes those bytes to the stream before
 * the rest: recv_start only looks at them.
 */
struct zf_ep_recv {
	struct zf_recv_request request;         /* -o/-x asked for, and whether trusted */
	bool resumable;                         /* -s */
	bool force;                             /* -F */
	const struct zf_recv_policy *policy;    /* NULL: built-in; a remote end uses its own */
	const char *const *origin_roots;        /* NULL-terminated; NULL: the target's pool */
	const void *head;                       /* the stream's first bytes, its head included */
	size_t head_len;
};

/*
 * Reads from fd into b until b holds the head of a zfs send stream
 * (src/zfs/stream.h).  0; -EPIPE with "stream ended after N bytes" when fd
 * ends first (the sender's error then says why); -EBADMSG for what is no
 * zfs send stream; other -errno for read errors.
 */
_must_check_ int zf_ep_read_head(int fd, struct zf_buf *b, struct zf_err *err);

struct zf_endpoint;

struct zf_endpoint_ops {
	/*
	 * Filesystems at and (recursive) below root, with versions and
	 * properties; filter (may be NULL) drops names.  A root that does not
	 * exist is -ENOENT.
	 */
	int (*list)(struct zf_endpoint *ep, const char *root, bool recursive,
		    zf_zfs_filter_fn filter, void *userdata, struct zf_ep_fs_list *ret,
		    struct zf_err *err);
	/*
	 * Snapshots and bookmarks of these datasets only, as list() has them
	 * (one `zfs list` for all).  May be NULL: the caller lists again.
	 */
	int (*list_versions)(struct zf_endpoint *ep, const char *const *datasets, size_t n,
			     struct zf_zfs_version_list *ret, struct zf_err *err);
	int (*snapshot)(struct zf_endpoint *ep, const char *const *fs, size_t n, const char *name,
			struct zf_err *err);
	int (*hold)(struct zf_endpoint *ep, const char *tag, const char *const *snaps, size_t n,
		    struct zf_err *err);
	int (*release)(struct zf_endpoint *ep, const char *tag, const char *const *snaps, size_t n,
		       struct zf_err *err);
	int (*holds)(struct zf_endpoint *ep, const char *const *snaps, size_t n,
		     struct zf_zfs_hold_list *ret, struct zf_err *err);
	int (*bookmark)(struct zf_endpoint *ep, const char *snapshot, const char *bookmark,
			struct zf_err *err);
	int (*destroy_bookmark)(struct zf_endpoint *ep, const char *bookmark, struct zf_err *err);
	/* Snapshots names (short) of fs, in one zfs destroy. */
	int (*destroy_snapshots)(struct zf_endpoint *ep, const char *fs, const char *const *names,
				 size_t n, struct zf_err *err);
	/*
	 * Bookmarks and destroys in one step (zf_zfs_batch(): its groups, its
	 * results).  May be NULL (a remote end): the caller runs the ops one
	 * command each, as it does when this returns < 0.
	 */
	int (*batch)(struct zf_endpoint *ep, const struct zf_zfs_batch_op *ops, size_t n,
		     struct zf_err *err);
	/* Bookmarks destroyed together (zf_zfs_destroy_bookmarks()); NULL where batch is. */
	int (*destroy_bookmarks)(struct zf_endpoint *ep, const char *const *names, size_t n,
				 struct zf_err *err);
	int (*create)(struct zf_endpoint *ep, const char *fs, const char *const *props,
		      struct zf_err *err);
	int (*rename)(struct zf_endpoint *ep, const char *from, const char *to, struct zf_err *err);
	int (*inherit)(struct zf_endpoint *ep, const char *fs, const char *prop, struct zf_err *err);
	int (*recv_abort)(struct zf_endpoint *ep, const char *fs, struct zf_err *err);
	/* snapshot NULL with opts->resume_token set resumes */
	int (*send_estimate)(struct zf_endpoint *ep, const char *snapshot,
			     const struct zf_zfs_send_opts *opts, uint64_t *ret_bytes,
			     struct zf_err *err);
	/*
	 * What a resume token would send, as this side's zfs reads it: the
	 * snapshot, and the incremental base (NULL for a full send), each
	 * checked to be what zfs will find by the token's guids (servers then
	 * check both names against grants).  May be NULL: -EOPNOTSUPP.
	 */
	int (*resume_target)(struct zf_endpoint *ep, const char *token, char **ret_snapshot,
			     char **ret_from, struct zf_err *err);
	int (*send_start)(struct zf_endpoint *ep, const char *snapshot,
			  const struct zf_zfs_send_opts *opts, struct zf_ep_stream *ret,
			  struct zf_err *err);
	int (*recv_start)(struct zf_endpoint *ep, const char *target, const struct zf_ep_recv *rq,
			  struct zf_ep_stream *ret, struct zf_err *err);
	/* Ends a stream: closes fd, waits, reports the side's failure in err. */
	int (*stream_finish)(struct zf_endpoint *ep, struct zf_ep_stream *s, const char *what,
			     struct zf_err *err);
	/* Stops a stream at once (the other side failed); finish must follow. */
	void (*stream_kill)(struct zf_endpoint *ep, struct zf_ep_stream *s);
	/*
	 * A remote end: the identity its server serves us as (from its HELLO;
	 * connects if need be), the base of our namespace there.  NULL op for
	 * a local end.
	 */
	int (*served_as)(struct zf_endpoint *ep, const char **ret, struct zf_err *err);
	void (*free)(struct zf_endpoint *ep);
};

struct zf_endpoint {
	const struct zf_endpoint_ops *ops;
	const char *kind;               /* "local", ... for messages */
};

/* The local endpoint: the zfs layer on this host. */
struct zf_endpoint *zf_endpoint_local_new(void);

/*
 * Whether the local endpoint may mount fs at its mountpoint: not "none"
 * or "legacy", a directory that is no mount point already and is empty
 * (or absent).  0 yes; -EBUSY/-ENOTEMPTY/-EINVAL with the reason.
 */
_must_check_ int zf_ep_mount_safe(const char *fs, struct zf_err *err);
static inline void zf_endpoint_free(struct zf_endpoint *ep)
{
	if (ep)
		ep->ops->free(ep);
}
DEFINE_CLEANUP_FUNC(struct zf_endpoint *, zf_endpoint_free);
