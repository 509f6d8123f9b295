/* src/job/restore.c — backups out of a chunk store, rebuilt byte-exact, into zfs recv */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "chunk/catalogue.h"
#include "chunk/store-ops.h"
#include "chunk/store.h"
#include "chunk/workq.h"
#include "job/backup.h"
#include "util/alloc.h"
#include "util/atomic-file.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/proc.h"
#include "zfs/records.h"
#include "zfs/zfs.h"
#include "util/banned.h"

/* ---- the indexes an entry names ----------------------------------------- */

/*
 * Reads STORE/index/<hex>.caibx (or its fossil: gc may have set it aside
 * while an entry committed meanwhile still needs it), checks that its
 * SHA-512/256 is its name, and copies it to a private temporary file, so
 * that what extract reads is what was checked.  *ret_path: caller unlinks
 * and frees.
 */
static int load_index(const char *store_dir, const struct zf_chunk_id *id, char **ret_path,
		      struct zf_err *err)
{
	_cleanup_free_ char *path = NULL, *fossil = NULL, *tmp = NULL;
	_cleanup_close_ int fd = -EBADF, out = -EBADF;
	char hex[ZF_CHUNK_ID_HEX];
	struct zf_chunk_id got;
	const char *dir;
	int r;

	zf_chunk_id_hex(id, hex);
	path = zf_xasprintf("%s/index/%s.caibx", store_dir, hex);
	fossil = zf_xasprintf("%s.fossil", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		fd = open(fossil, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return zf_err_set(err, -errno, "index '%s': %s", path, strerror(errno));
	dir = getenv("TMPDIR");
	tmp = zf_xasprintf("%s/zferry-restore-XXXXXX", dir && *dir ? dir : "/tmp");
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0)
		return zf_err_set(err, -errno, "temporary file '%s': %s", tmp, strerror(errno));
	r = zf_backup_hash_fd(fd, out, &got);
	if (r >= 0 && close(TAKE_FD(out)) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return zf_err_set(err, r, "index '%s': %s", path, strerror(-r));
	}
	if (!zf_chunk_id_eq(&got, id)) {
		(void)unlink(tmp);
		return zf_err_set(err, -ZF_E_CORRUPT, "index '%s' is damaged: its SHA-512/256 is "
				  "not its name", path);
	}
	*ret_path = TAKE_PTR(tmp);
	return 0;
}

/* ---- two extracts feeding the rebuild ------------------------------------ */

struct feeder {
	pthread_t thread;
	bool started;
	int fd[2];
	char *index;                    /* private copy */
	const struct zf_extract_opts *eo;
	int r;
	struct zf_err err;
};

static void *feeder_main(void *arg)
{
	struct feeder *f = arg;
	struct zf_extract_stats st;

	f->r = zf_chunk_extract(f->index, NULL, f->fd[1], f->eo, &st, &f->err);
	(void)close(f->fd[1]);
	f->fd[1] = -EBADF;
	return NULL;
}

static int feeder_start(struct feeder *f, const char *store_dir, const struct zf_chunk_id *id,
			const struct zf_extract_opts *eo, struct zf_err *err)
{
	int r;

	f->eo = eo;
	r = load_index(store_dir, id, &f->index, err);
	if (r < 0)
		return r;
	r = zf_stream_pipe(f->fd);
	if (r < 0)
		return zf_err_set(err, r, "pipe: %s", strerror(-r));
	r = -pthread_create(&f->thread, NULL, feeder_main, f);
	if (r < 0)
		return zf_err_set(err, r, "starting a thread: %s", strerror(-r));
	f->started = true;
	return 0;
}

/* Stops reading (a feeder still writing then fails with EPIPE) and waits. */
static void feeder_stop(struct feeder *f)
{
	if (f->fd[0] >= 0)
		(void)close(f->fd[0]);
	f->fd[0] = -EBADF;
	if (f->started)
		(void)pthread_join(f->thread, NULL);
	f->started = false;
	if (f->fd[1] >= 0)
		(void)close(f->fd[1]);
	f->fd[1] = -EBADF;
	if (f->index)
		(void)unlink(f->index);
	free(f->index);
	f->index = NULL;
}

/*
 * The rebuilt stream goes to out, but its last two records only once the
 * whole stream's length and digest match the entry: until then zfs recv
 * (or a reader of the file) has an unfinished stream, which it refuses.
 * Two, because a -p backup is a compound stream: its substream's END (the
 * one that makes zfs recv commit) comes before the final END.
 */
#define HOLD_BACK (2 * ZF_ZFS_RECORD_SIZE)
struct rebuild_state {
	struct feeder meta, data;
	int out;
	EVP_MD_CTX *md;
	uint64_t bytes, total;
	uint8_t hold[HOLD_BACK];
	size_t nhold;
	const struct zf_restore_opts *o;
	const char *name;
	uint64_t next_progress;
};

static ssize_t in_fd(int fd, void *p, size_t n, const char *what, struct zf_err *err)
{
	ssize_t r;

	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return zf_err_set(err, -errno, "reading the %s stream: %s", what, strerror(errno));
	return r;
}

static ssize_t in_meta(void *userdata, void *p, size_t n, struct zf_err *err)
{
	struct rebuild_state *s = userdata;

	return in_fd(s->meta.fd[0], p, n, "meta", err);
}

static ssize_t in_data(void *userdata, void *p, size_t n, struct zf_err *err)
{
	struct rebuild_state *s = userdata;

	return in_fd(s->data.fd[0], p, n, "data", err);
}

static int emit(struct rebuild_state *s, const void *p, size_t n, struct zf_err *err)
{
	int r = zf_write_full(s->out, p, n);

	if (r == -EPIPE)
		return zf_err_set(err, r, "'%s': the receiving side stopped reading", s->name);
	if (r < 0)
		return zf_err_set(err, r, "'%s': writing the stream: %s", s->name, strerror(-r));
	return 0;
}

static int out_stream(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	struct rebuild_state *s = userdata;
	const uint8_t *b = p;
	int r;

	if (EVP_DigestUpdate(s->md, p, n) != 1)
		return zf_err_set(err, -EIO, "SHA-512/256 failed");
	s->bytes += n;
	if (s->bytes > s->total)
		return zf_err_set(err, -ZF_E_CORRUPT, "'%s': the rebuilt stream is longer than "
				  "the %" PRIu64 " bytes the catalogue recorded", s->name, s->total);
	if (s->o->progress && s->bytes >= s->next_progress) {
		s->o->progress(s->name, s->bytes, s->total, s->o->userdata);
		s->next_progress = s->bytes + (64u << 20);
	}
	if (s->nhold + n <= sizeof(s->hold)) {
		memcpy(s->hold + s->nhold, b, n);
		s->nhold += n;
		return 0;
	}
	if (n >= sizeof(s->hold)) {
		r = emit(s, s->hold, s->nhold, err);
		if (r >= 0)
			r = emit(s, b, n - sizeof(s->hold), err);
		memcpy(s->hold, b + n - sizeof(s->hold), sizeof(s->hold));
		s->nhold = sizeof(s->hold);
		return r;
	}
	/* n is short: the oldest held bytes go, n new ones join */
	{
		size_t go = s->nhold + n - sizeof(s->hold);

		r = emit(s, s->hold, go, err);
		memmove(s->hold, s->hold + go, s->nhold - go);
		memcpy(s->hold + s->nhold - go, b, n);
		s->nhold = sizeof(s->hold);
		return r;
	}
}

/* Rebuilds e's stream into out; its last record is written only if it is exactly e's. */
static int rebuild_entry(const struct zf_restore_opts *o, struct zf_store *store,
			 const struct zf_catalogue_entry *e, int out, uint64_t *ret_bytes,
			 struct zf_err *err)
{
	struct zf_store *stores[] = { store };
	/*
	 * Meta is small; data gets one thread per CPU (not extract's default
	 * of four): the rebuild and zfs recv want CPU too.
	 */
	struct zf_extract_opts eo_meta = {
		.stores = stores, .nstores = 1, .cache = o->cache, .jobs = 1,
	};
	struct zf_extract_opts eo = {
		.stores = stores, .nstores = 1, .cache = o->cache,
		.jobs = o->jobs ? o->jobs : zf_cpu_count(),
	};
	_cleanup_free_ char *name = zf_xasprintf("%s@%s", e->dataset, e->snapshot);
	struct rebuild_state s = {
		.meta = { .fd = { -EBADF, -EBADF } }, .data = { .fd = { -EBADF, -EBADF } },
		.out = out, .total = e->stream_bytes, .o = o, .name = name,
	};
	struct zf_zfs_rebuild_io io = { in_meta, in_data, out_stream, &s };
	struct zf_chunk_id digest;
	unsigned dlen = 0;
	int r;

	s.md = EVP_MD_CTX_new();
	if (!s.md || EVP_DigestInit_ex(s.md, EVP_sha512_256(), NULL) != 1) {
		r = zf_err_set(err, -ENOMEM, "SHA-512/256 is not available");
		goto out;
	}
	r = feeder_start(&s.meta, o->store, &e->meta_index, &eo_meta, err);
	if (r >= 0)
		r = feeder_start(&s.data, o->store, &e->data_index, &eo, err);
	if (r < 0)
		goto out;
	r = zf_zfs_rebuild(&io, err);
	feeder_stop(&s.meta);
	feeder_stop(&s.data);
	/*
	 * A chunk that is missing or damaged is why the rebuild saw its input
	 * end; a feeder that got EPIPE only saw the rebuild stop first.
	 */
	if ((s.meta.r < 0 && s.meta.r != -EPIPE) || (s.data.r < 0 && s.data.r != -EPIPE)) {
		struct feeder *f = s.meta.r < 0 && s.meta.r != -EPIPE ? &s.meta : &s.data;

		zf_err_clear(err);
		r = zf_err_copy(err, f->r, &f->err);
		zf_err_prefix(err, "backup '%s'", name);
		goto out;
	}
	if (r < 0) {
		zf_err_prefix(err, "backup '%s'", name);
		goto out;
	}
	if (EVP_DigestFinal_ex(s.md, digest.b, &dlen) != 1 || dlen != ZF_CHUNK_ID_SIZE) {
		r = zf_err_set(err, -EIO, "SHA-512/256 failed");
		goto out;
	}
	if (s.bytes != e->stream_bytes || !zf_chunk_id_eq(&digest, &e->stream_digest)) {
		r = zf_err_set(err, -ZF_E_CORRUPT, "backup '%s': the rebuilt stream (%" PRIu64
			       " bytes) is not the one backed up (%" PRIu64 " bytes, its "
			       "SHA-512/256 differs); nothing of it was received", name, s.bytes,
			       e->stream_bytes);
		goto out;
	}
	r = emit(&s, s.hold, s.nhold, err);
	if (r >= 0 && o->progress)
		o->progress(name, s.bytes, s.total, o->userdata);
	*ret_bytes = s.bytes;
out:
	feeder_stop(&s.meta);
	feeder_stop(&s.data);
	EVP_MD_CTX_free(s.md);
	return r;
}

/* ---- chains -------------------------------------------------------------- */

static int split_spec(const char *spec, char **ret_dataset, struct zf_err *err)
{
	const char *at = strchr(spec, '@');
	size_t n = at ? (size_t)(at - spec) : strlen(spec);

	if (n == 0)
		return zf_err_set(err, -EINVAL, "'%s' is not DATASET or DATASET@SNAPSHOT", spec);
	*ret_dataset = zf_xstrndup(spec, n);
	if (zf_zfs_name_check(*ret_dataset, ZF_ZFS_NAME_DATASET, err) < 0) {
		free(*ret_dataset);
		*ret_dataset = NULL;
		return -ZF_E_BADNAME;
	}
	return 0;
}

static int load_chain(const char *store_dir, const char *spec, struct zf_catalogue_list *l,
		      size_t **ret_chain, size_t *ret_n, struct zf_err *err)
{
	_cleanup_free_ char *dataset = NULL;
	int r = split_spec(spec, &dataset, err);

	if (r >= 0)
		r = zf_catalogue_list(store_dir, dataset, l, err);
	if (r >= 0 && l->n == 0)
		r = zf_err_set(err, -ENOENT, "store '%s' has no backup of '%s'", store_dir, dataset);
	if (r >= 0)
		r = zf_catalogue_resolve(l, spec, ret_chain, ret_n, err);
	return r;
}

static int open_store(const char *dir, struct zf_store **ret, struct zf_err *err)
{
	int r = zf_store_open(dir, 0, ret, err);

	if (r >= 0 && !zf_store_is_local(*ret)) {
		*ret = zf_store_free(*ret);
		return zf_err_set(err, -EOPNOTSUPP, "'%s': backups live in a directory store", dir);
	}
	return r;
}

int zf_restore_stream(const struct zf_restore_opts *o, const char *spec, const char *out_path,
		      int out_fd, struct zf_restore_result *ret, struct zf_err *err)
{
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	_cleanup_(zf_atomic_file_releasep) struct zf_atomic_file f = ZF_ATOMIC_FILE_INIT;
	_cleanup_(zf_store_freep) struct zf_store *store = NULL;
	_cleanup_free_ size_t *chain = NULL;
	struct zf_restore_result res = { 0 };
	double t0 = zf_now_sec();
	size_t n = 0;
	int r;

	r = load_chain(o->store, spec, &l, &chain, &n, err);
	if (r >= 0)
		r = open_store(o->store, &store, err);
	if (r >= 0 && out_path) {
		r = zf_atomic_file_open(&f, out_path, err);
		out_fd = f.fd;
	}
	if (r >= 0)
		r = rebuild_entry(o, store, &l.v[chain[n - 1]], out_fd, &res.bytes, err);
	if (r >= 0 && out_path)
		r = zf_atomic_file_commit(&f, true, false, err);
	if (r < 0)
		return r;
	res.chain = n;
	res.received = 1;
	res.seconds = zf_now_sec() - t0;
	*ret = res;
	return 0;
}

/* Which chain links the target has already, by guid: *ret_first is the first it lacks. */
static int skip_received(const char *target, const struct zf_catalogue_list *l,
			 const size_t *chain, size_t n, bool *ret_exists, size_t *ret_first,
			 struct zf_err *err)
{
	struct zf_zfs_version_list vl = { 0 };
	const char *ds[] = { target };
	struct zf_err e2 = ZF_ERR_INIT;
	size_t first = 0;
	int r;

	r = zf_zfs_list_versions(ds, 1, &vl, &e2);
	if (r == -ENOENT) {
		*ret_exists = false;
		*ret_first = 0;
		return 0;
	}
	if (r < 0)
		return zf_err_copy(err, r, &e2);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < vl.n; j++)
			if (!vl.v[j].bookmark && vl.v[j].guid == l->v[chain[i]].guid)
				first = i + 1;
	zf_zfs_version_list_release(&vl);
	*ret_exists = true;
	*ret_first = first;
	return 0;
}

static int receive_one(const struct zf_restore_opts *o, struct zf_store *store,
		       const struct zf_catalogue_entry *e, const char *target, uint64_t *ret_bytes,
		       struct zf_err *err)
{
	struct zf_zfs_recv_opts ro = { .no_mount = o->no_mount };
	struct zf_proc recv = { .pid = 0, .in_fd = -EBADF, .out_fd = -EBADF, .err_fd = -EBADF };
	struct zf_err recv_err = ZF_ERR_INIT;
	_cleanup_free_ char *what = zf_xasprintf("receive of '%s@%s' into '%s'", e->dataset,
						 e->snapshot, target);
	int r, rr;

	r = zf_zfs_recv_start(target, &ro, &recv, err);
	if (r < 0)
		return r;
	r = rebuild_entry(o, store, e, recv.in_fd, ret_bytes, err);
	/* on error zfs recv sees its stream end before the last record: it receives nothing */
	rr = zf_zfs_stream_finish(&recv, what, &recv_err);
	zf_proc_release(&recv);
	/* zfs recv that stopped reading has the reason, not our broken pipe */
	if (rr < 0 && (r >= 0 || r == -EPIPE)) {
		zf_err_clear(err);
		r = zf_err_copy(err, rr, &recv_err);
	}
	return r;
}

int zf_restore_run(const struct zf_restore_opts *o, const char *spec, const char *target,
		   struct zf_restore_result *ret, struct zf_err *err)
{
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	_cleanup_(zf_store_freep) struct zf_store *store = NULL;
	_cleanup_free_ size_t *chain = NULL;
	struct zf_restore_result res = { 0 };
	double t0 = zf_now_sec();
	size_t n = 0, first = 0;
	bool exists = false;
	int r;

	r = zf_zfs_name_check(target, ZF_ZFS_NAME_DATASET, err);
	if (r >= 0)
		r = load_chain(o->store, spec, &l, &chain, &n, err);
	if (r >= 0)
		r = open_store(o->store, &store, err);
	if (r >= 0)
		r = skip_received(target, &l, chain, n, &exists, &first, err);
	if (r < 0)
		return r;
	if (exists && first == 0)
		return zf_err_set(err, -EEXIST, "'%s' exists and has none of the snapshots of "
				  "'%s''s chain: restore into a new dataset (zferry never "
				  "overwrites one)", target, spec);
	res.chain = n;
	res.skipped = first;
	for (size_t i = first; i < n; i++) {
		uint64_t bytes = 0;

		r = receive_one(o, store, &l.v[chain[i]], target, &bytes, err);
		if (r < 0)
			return r;
		res.bytes += bytes;
		res.received++;
	}
	res.seconds = zf_now_sec() - t0;
	*ret = res;
	return 0;
}
