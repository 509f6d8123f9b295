/* src/job/backup.c — zfs send streams into a chunk store (meta and data) and a catalogue entry */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "chunk/catalogue.h"
#include "chunk/session.h"
#include "chunk/store.h"
#include "job/backup.h"
#include "log/log.h"
#include "util/alloc.h"
#include "util/atomic-file.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/proc.h"
#include "zfs/records.h"
#include "zfs/zfs.h"
#include "util/banned.h"

void zf_backup_result_release(struct zf_backup_result *r)
{
	free(r->snapshot);
	free(r->base);
	*r = (struct zf_backup_result){ 0 };
}

int zf_backup_hash_fd(int fd, int copy_fd, struct zf_chunk_id *ret)
{
	_cleanup_free_ uint8_t *buf = zf_xmalloc(ZF_BACKUP_IO_BUF);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned dlen = 0;
	ssize_t n;
	int r = 0;

	if (!md || EVP_DigestInit_ex(md, EVP_sha512_256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	while ((n = zf_read_full(fd, buf, ZF_BACKUP_IO_BUF)) > 0) {
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
			r = -EIO;
			break;
		}
		if (copy_fd >= 0 && (r = zf_write_full(copy_fd, buf, (size_t)n)) < 0)
			break;
	}
	if (n < 0 && r == 0)
		r = (int)n;
	if (r == 0 && (EVP_DigestFinal_ex(md, ret->b, &dlen) != 1 || dlen != ZF_CHUNK_ID_SIZE))
		r = -EIO;
	EVP_MD_CTX_free(md);
	return r;
}

/* ---- the base of an incremental ----------------------------------------- */

struct base_choice {
	const struct zf_catalogue_entry *entry; /* in the listing; NULL: full */
	char *from;                             /* what zfs send -i takes */
};

static const struct zf_zfs_version *find_version(const struct zf_zfs_version_list *vl,
						 uint64_t guid, bool bookmark)
{
	for (size_t i = 0; i < vl->n; i++)
		if (vl->v[i].guid == guid && vl->v[i].bookmark == bookmark)
			return &vl->v[i];
	return NULL;
}

/*
 * Whether an incremental sent with flags can follow a backup sent with
 * base_flags: zfs recv refuses a raw incremental onto a non-raw base and
 * the other way round, and -L must stay as it was once blocks were split.
 */
static bool flags_compatible(unsigned flags, unsigned base_flags)
{
	unsigned must_match = ZF_CATALOGUE_SEND_RAW | ZF_CATALOGUE_SEND_LARGE_BLOCKS;

	return (flags & must_match) == (base_flags & must_match);
}

/*
 * The newest backed-up version older than snap that the source still has
 * (a snapshot, else a bookmark of the same guid), sent with compatible
 * flags and whose chain restores, unless the policy wants a full: none
 * such, or the chain to it is already full_every long.
 */
static int choose_base(const struct zf_backup_opts *o, unsigned flags, const char *dataset,
		       const struct zf_zfs_version *snap, const struct zf_zfs_version_list *vl,
		       const struct zf_catalogue_list *cat, struct base_choice *ret)
{
	const struct zf_catalogue_entry *best = NULL;
	const struct zf_zfs_version *v = NULL;
	_cleanup_free_ size_t *chain = NULL;
	_cleanup_free_ char *spec = NULL;
	struct zf_err ignored = ZF_ERR_INIT;
	size_t nchain = 0;

	*ret = (struct base_choice){ 0 };
	if (!o->incremental)
		return 0;
	for (size_t i = 0; i < cat->n; i++) {
		const struct zf_catalogue_entry *e = &cat->v[i];
		const struct zf_zfs_version *found;

		if (e->createtxg >= snap->createtxg || (best && e->createtxg <= best->createtxg) ||
		    !flags_compatible(flags, e->send_flags))
			continue;
		found = find_version(vl, e->guid, false);
		if (!found)
			found = find_version(vl, e->guid, true);
		if (found) {
			best = e;
			v = found;
		}
	}
	if (!best)
		return 0;
	/* an incremental onto a chain that does not restore would not restore either */
	spec = zf_xasprintf("%s@%s", dataset, best->snapshot);
	if (zf_catalogue_resolve(cat, spec, &chain, &nchain, &ignored) < 0) {
		log_warning("backup of '%s@%s': the chain of '%s' does not restore (%s); "
			      "sending in full", dataset, snap->name, spec, zf_err_msg(&ignored));
		return 0;
	}
	if (o->full_every > 0 && nchain >= o->full_every)
		return 0;
	ret->entry = best;
	ret->from = zf_xasprintf("%s%c%s", dataset, v->bookmark ? '#' : '@', v->name);
	return 0;
}

/* ---- the pipeline: zfs send -> split -> two makes ----------------------- */

struct maker {
	pthread_t thread;
	bool started;
	int fd[2];                      /* the pipe the split writes into, make reads */
	char *index_tmp;
	struct zf_store *store;
	const struct zf_make_opts *mo;
	struct zf_make_stats stats;
	int r;
	struct zf_err err;
};

static void *maker_main(void *arg)
{
	struct maker *m = arg;

	m->r = zf_chunk_make(m->fd[0], m->index_tmp, m->store, m->mo, &m->stats, &m->err);
	/* a failed make stops reading: the split's writes then fail with EPIPE */
	(void)close(m->fd[0]);
	m->fd[0] = -EBADF;
	return NULL;
}

static int maker_start(struct maker *m, const char *store_dir, const char *what,
		       struct zf_store *store, const struct zf_make_opts *mo, struct zf_err *err)
{
	int r;

	m->fd[0] = m->fd[1] = -EBADF;
	m->store = store;
	m->mo = mo;
	m->index_tmp = zf_xasprintf("%s/index/.backup-%016" PRIx64 "-%s.caibx", store_dir,
				    zf_tmp_random(), what);
	r = zf_stream_pipe(m->fd);
	if (r < 0)
		return zf_err_set(err, r, "pipe: %s", strerror(-r));
	r = -pthread_create(&m->thread, NULL, maker_main, m);
	if (r < 0)
		return zf_err_set(err, r, "starting a thread: %s", strerror(-r));
	m->started = true;
	return 0;
}

/* Closes the write end and waits; the make's own error, if any, into err. */
static int maker_join(struct maker *m, struct zf_err *err)
{
	if (m->fd[1] >= 0)
		(void)close(m->fd[1]);
	m->fd[1] = -EBADF;
	if (!m->started)
		return 0;
	(void)pthread_join(m->thread, NULL);
	m->started = false;
	if (m->r < 0)
		return zf_err_copy(err, m->r, &m->err);
	return 0;
}

static void maker_release(struct maker *m)
{
	struct zf_err ignored = ZF_ERR_INIT;

	(void)maker_join(m, &ignored);
	if (m->fd[0] >= 0)
		(void)close(m->fd[0]);
	if (m->index_tmp)
		(void)unlink(m->index_tmp);
	free(m->index_tmp);
	m->index_tmp = NULL;
}

struct pipeline {
	struct maker meta, data;
	EVP_MD_CTX *md;
	uint64_t bytes;
	bool eof;                       /* the split read zfs send's stream to its end */
};

static int out_meta(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	struct pipeline *pl = userdata;
	int r = zf_write_full(pl->meta.fd[1], p, n);

	return r < 0 ? zf_err_set(err, r, "meta stream: %s", strerror(-r)) : 0;
}

static int out_data(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	struct pipeline *pl = userdata;
	int r = zf_write_full(pl->data.fd[1], p, n);

	return r < 0 ? zf_err_set(err, r, "data stream: %s", strerror(-r)) : 0;
}

/* Reads the whole send stream through the split; 0 once it ended whole. */
static int split_stream(struct pipeline *pl, int fd, struct zf_err *err)
{
	_cleanup_(zf_zfs_split_freep) struct zf_zfs_split *s = zf_zfs_split_new(out_meta, out_data, pl);
	_cleanup_free_ uint8_t *buf = zf_xmalloc(ZF_BACKUP_IO_BUF);
	ssize_t n;
	int r;

	for (;;) {
		n = read(fd, buf, ZF_BACKUP_IO_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return zf_err_set(err, -errno, "reading zfs send: %s", strerror(errno));
		if (n == 0) {
			pl->eof = true;
			break;
		}
		if (EVP_DigestUpdate(pl->md, buf, (size_t)n) != 1)
			return zf_err_set(err, -EIO, "SHA-512/256 failed");
		pl->bytes += (uint64_t)n;
		r = zf_zfs_split_feed(s, buf, (size_t)n, err);
		if (r < 0)
			return r;
	}
	return zf_zfs_split_finish(s, err);
}

/*
 * Runs the send through the split into the makes and waits for all three.
 * Of several failures the root cause is reported: a make's own error (the
 * split then only saw a broken pipe), else zfs send's when it failed by
 * itself (the split then only saw the stream end early), else the split's.
 */
static int stream_through(struct pipeline *pl, struct zf_proc *send, struct zf_err *err)
{
	struct zf_err split_err = ZF_ERR_INIT, send_err = ZF_ERR_INIT;
	struct zf_err meta_err = ZF_ERR_INIT, data_err = ZF_ERR_INIT;
	bool killed = false;
	int r, rs, rm, rd;

	r = split_stream(pl, send->out_fd, &split_err);
	/* at EOF zfs send is done anyway; mid-stream it must not block on a full pipe */
	if (r < 0 && !pl->eof) {
		zf_proc_kill(send, SIGKILL);
		killed = true;
	}
	rs = zf_zfs_stream_finish(send, "zfs send", &send_err);
	rm = maker_join(&pl->meta, &meta_err);
	rd = maker_join(&pl->data, &data_err);
	if (rm < 0 && rm != -EPIPE)
		return zf_err_copy(err, rm, &meta_err);
	if (rd < 0 && rd != -EPIPE)
		return zf_err_copy(err, rd, &data_err);
	if (rs < 0 && !killed)
		return zf_err_copy(err, rs, &send_err);
	if (r < 0)
		return zf_err_copy(err, r, &split_err);
	if (rm < 0)
		return zf_err_copy(err, rm, &meta_err);
	if (rd < 0)
		return zf_err_copy(err, rd, &data_err);
	return 0;
}

/*
 * Moves a finished temporary index to index/<its hash>.caibx, never
 * replacing (an index of that name has these bytes), durably.
 */
static int publish_index(const char *store_dir, const char *tmp, struct zf_chunk_id *ret,
			 struct zf_err *err)
{
	_cleanup_free_ char *path = NULL;
	char hex[ZF_CHUNK_ID_HEX];
	int fd, r;

	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return zf_err_set(err, -errno, "index '%s': %s", tmp, strerror(errno));
	r = zf_backup_hash_fd(fd, -EBADF, ret);
	(void)close(fd);
	if (r < 0)
		return zf_err_set(err, r, "index '%s': %s", tmp, strerror(-r));
	path = zf_xasprintf("%s/index/%s.caibx", store_dir, zf_chunk_id_hex(ret, hex));
	/* an index of that name has these bytes: 1, it existed, is as good */
	r = zf_rename_noreplace(tmp, path);
	if (r < 0)
		return zf_err_set(err, r, "index '%s': %s", path, strerror(-r));
	return zf_sync_parent_dir(path, err);
}

static unsigned send_flags(const struct zf_backup_send *s)
{
	return (s->large_blocks ? ZF_CATALOGUE_SEND_LARGE_BLOCKS : 0) |
	       (s->embed ? ZF_CATALOGUE_SEND_EMBED : 0) |
	       (s->compressed ? ZF_CATALOGUE_SEND_COMPRESSED : 0) |
	       (s->raw ? ZF_CATALOGUE_SEND_RAW : 0) |
	       (s->props ? ZF_CATALOGUE_SEND_PROPS : 0);
}

/*
 * zfs send of snapshot into the store; on success both indexes are
 * published and *e has the stream's size, digest and index names.
 */
static int store_stream(const struct zf_backup_opts *o, struct zf_store *store,
			const char *snapshot, const char *from, struct zf_catalogue_entry *e,
			struct zf_backup_result *res, struct zf_err *err)
{
	struct zf_zfs_send_opts so = {
		.from = from,
		.raw = o->send.raw,
		.compressed = o->send.compressed,
		.large_block = o->send.large_blocks,
		.embed = o->send.embed,
		.props = o->send.props,
	};
	/* meta is a fraction of a percent of the stream: one thread is plenty */
	struct zf_make_opts mo_meta = { .params = o->params, .jobs = 1 };
	struct zf_make_opts mo = { .params = o->params, .jobs = o->jobs };
	struct pipeline pl = { .meta = { .fd = { -EBADF, -EBADF } },
			       .data = { .fd = { -EBADF, -EBADF } } };
	struct zf_proc send = { .pid = 0, .in_fd = -EBADF, .out_fd = -EBADF, .err_fd = -EBADF };
	unsigned dlen = 0;
	int r;

	pl.md = EVP_MD_CTX_new();
	if (!pl.md || EVP_DigestInit_ex(pl.md, EVP_sha512_256(), NULL) != 1) {
		r = zf_err_set(err, -ENOMEM, "SHA-512/256 is not available");
		goto out;
	}
	r = maker_start(&pl.meta, o->store, "meta", store, &mo_meta, err);
	if (r >= 0)
		r = maker_start(&pl.data, o->store, "data", store, &mo, err);
	if (r >= 0)
		r = zf_zfs_send_start(snapshot, &so, &send, err);
	if (r < 0) {
		(void)maker_join(&pl.meta, err);
		(void)maker_join(&pl.data, err);
		goto out;
	}
	r = stream_through(&pl, &send, err);
	if (r < 0)
		goto out;
	if (EVP_DigestFinal_ex(pl.md, e->stream_digest.b, &dlen) != 1 || dlen != ZF_CHUNK_ID_SIZE) {
		r = zf_err_set(err, -EIO, "SHA-512/256 failed");
		goto out;
	}
	e->stream_bytes = pl.bytes;
	res->stream_bytes = pl.bytes;
	res->meta = pl.meta.stats;
	res->data = pl.data.stats;
	r = publish_index(o->store, pl.meta.index_tmp, &e->meta_index, err);
	if (r >= 0)
		r = publish_index(o->store, pl.data.index_tmp, &e->data_index, err);
out:
	zf_proc_release(&send);
	maker_release(&pl.meta);
	maker_release(&pl.data);
	EVP_MD_CTX_free(pl.md);
	return r;
}

/* Whether the catalogue still has an entry of dataset with that guid (the base). */
static int base_still_there(const char *store_dir, const char *dataset, uint64_t guid,
			    struct zf_err *err)
{
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	int r = zf_catalogue_list(store_dir, dataset, &l, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].guid == guid)
			return 1;
	return 0;
}

static int backup_commit(const struct zf_backup_opts *o, struct zf_store_session *sess,
			 const struct zf_catalogue_entry *e, struct zf_err *err)
{
	int r;

	if (e->base_guid) {
		r = base_still_there(o->store, e->dataset, e->base_guid, err);
		if (r < 0)
			return r;
		if (r == 0)
			return zf_err_set(err, -ENOENT, "backup of '%s@%s': its base '%s@%s' "
					  "left the catalogue while it ran (pruned?); "
					  "nothing was committed", e->dataset, e->snapshot,
					  e->dataset, e->base_snapshot);
	}
	if (!zf_store_session_alive(sess))
		return zf_err_set(err, -ETIMEDOUT, "backup of '%s@%s': its session could not "
				  "beat for too long, so gc may have removed chunks it reused; "
				  "nothing was committed (run it again)", e->dataset, e->snapshot);
	r = zf_catalogue_commit(o->store, e, err);
	if (r != 0 || !e->base_guid)
		return r < 0 ? r : 0;   /* 1: the entry was there already, not ours to take back */
	/*
	 * A prune that listed the sessions before ours existed may have taken
	 * the base between the check above and the commit: then take the entry
	 * back, for an incremental without its base does not restore.
	 */
	r = base_still_there(o->store, e->dataset, e->base_guid, err);
	if (r != 0)
		return r < 0 ? r : 0;
	{
		_cleanup_free_ char *rel = zf_catalogue_entry_relpath(e);
		_cleanup_free_ char *path = zf_xasprintf("%s/%s", o->store, rel);

		(void)unlink(path);
		return zf_err_set(err, -ENOENT, "backup of '%s@%s': its base '%s@%s' was "
				  "pruned while it committed; the entry was taken back (run "
				  "it again)", e->dataset, e->snapshot, e->dataset,
				  e->base_snapshot);
	}
}

static int find_snapshot(const char *dataset, const char *snap, struct zf_zfs_version_list *vl,
			 const struct zf_zfs_version **ret, struct zf_err *err)
{
	const char *ds[] = { dataset };
	int r = zf_zfs_list_versions(ds, 1, vl, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < vl->n; i++)
		if (!vl->v[i].bookmark && strcmp(vl->v[i].name, snap) == 0) {
			*ret = &vl->v[i];
			return 0;
		}
	return zf_err_set(err, -ENOENT, "snapshot '%s@%s' does not exist", dataset, snap);
}

int zf_backup_run(const struct zf_backup_opts *o, const char *dataset, const char *snap,
		  struct zf_backup_result *ret, struct zf_err *err)
{
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list cat = { 0 };
	_cleanup_(zf_store_freep) struct zf_store *store = NULL;
	struct zf_zfs_version_list vl = { 0 };
	const struct zf_zfs_version *v = NULL;
	struct zf_store_session *sess = NULL;
	struct base_choice base = { 0 };
	struct zf_backup_result res = { 0 };
	struct zf_catalogue_entry e = { 0 };
	char vers[] = ZFERRY_VERSION;
	char idx[4096];
	double t0 = zf_now_sec();
	int r;

	r = find_snapshot(dataset, snap, &vl, &v, err);
	if (r >= 0)
		r = zf_catalogue_list(o->store, dataset, &cat, err);
	if (r >= 0)
		r = choose_base(o, send_flags(&o->send), dataset, v, &vl, &cat, &base);
	if (r < 0)
		goto out;
	res.snapshot = zf_xasprintf("%s@%s", dataset, snap);
	res.guid = v->guid;
	if (base.entry)
		res.base = zf_xasprintf("%s@%s", dataset, base.entry->snapshot);
	for (size_t i = 0; i < cat.n; i++)
		if (cat.v[i].guid == v->guid &&
		    cat.v[i].base_guid == (base.entry ? base.entry->guid : 0))
			res.existed = true;
	if (res.existed)
		goto done;

	r = zf_store_open(o->store, ZF_STORE_CREATE, &store, err);
	(void)snprintf(idx, sizeof(idx), "%s/index", o->store);
	if (r >= 0 && mkdir(idx, 0777) < 0 && errno != EEXIST)
		r = zf_err_set(err, -errno, "store '%s': index/: %s", o->store, strerror(errno));
	/* writer rule 1: the session exists before the first look at the chunks */
	if (r >= 0)
		r = zf_store_session_begin(o->store, dataset, base.entry ? base.entry->guid : 0,
					   &sess, err);
	if (r < 0)
		goto out;
	e.dataset = (char *)dataset;
	e.snapshot = (char *)snap;
	e.guid = v->guid;
	e.createtxg = v->createtxg;
	e.snapshot_time = v->creation;
	e.base_guid = base.entry ? base.entry->guid : 0;
	e.base_snapshot = base.entry ? base.entry->snapshot : NULL;
	e.send_flags = send_flags(&o->send);
	e.chunk_min = o->params.min;
	e.chunk_avg = o->params.avg;
	e.chunk_max = o->params.max;
	e.zferry_version = vers;
	r = store_stream(o, store, res.snapshot, base.from, &e, &res, err);
	if (r >= 0) {
		e.created = (int64_t)time(NULL);
		r = backup_commit(o, sess, &e, err);
	}
	if (r < 0)
		goto out;
done:
	res.seconds = zf_now_sec() - t0;
	*ret = res;
	res = (struct zf_backup_result){ 0 };
out:
	if (sess) {
		struct zf_err ignored = ZF_ERR_INIT;

		(void)zf_store_session_end(sess, &ignored);
	}
	zf_backup_result_release(&res);
	free(base.from);
	zf_zfs_version_list_release(&vl);
	return r;
}
