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

/*
 * Each extract hands its output to the rebuild in the same process: the
 * extract's ordered-output step offers a piece (one or more decoded
 * chunks) and waits while the rebuild copies from it straight into its
 * own buffers; the extract's workers go on decoding the chunks after it
 * meanwhile.  A pipe between them cost two copies through the kernel and
 * fresh pipe pages for every byte.
 */
struct feeder {
	pthread_t thread;
	bool started;
	char *index;                    /* private copy */
	struct zf_extract_opts eo;      /* the caller's, with the handoff as its sink */
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* a piece was offered or taken, or an end */
	const uint8_t *p;               /* under lock: the piece offered, n bytes left */
	size_t n;
	bool eof;                       /* under lock: the extract has returned */
	bool closed;                    /* under lock: the rebuild reads no more */
	int r;
	struct zf_err err;
};

/* The extract's sink: waits until the rebuild took all of p, or stopped reading. */
static int feeder_offer(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	struct feeder *f = userdata;
	bool closed;

	pthread_mutex_lock(&f->lock);
	f->p = p;
	f->n = n;
	pthread_cond_broadcast(&f->cond);
	while (f->n > 0 && !f->closed)
		pthread_cond_wait(&f->cond, &f->lock);
	closed = f->closed;
	f->p = NULL;
	f->n = 0;
	pthread_mutex_unlock(&f->lock);
	return closed ? zf_err_set(err, -EPIPE, "the rebuild stopped reading") : 0;
}

/* The rebuild's read: up to n bytes, 0 once the extract has returned. */
static ssize_t feeder_take(struct feeder *f, void *p, size_t n)
{
	size_t k;

	pthread_mutex_lock(&f->lock);
	while (f->n == 0 && !f->eof)
		pthread_cond_wait(&f->cond, &f->lock);
	k = MIN(n, f->n);
	memcpy(p, f->p, k);
	f->p += k;
	f->n -= k;
	if (f->n == 0)
		pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return (ssize_t)k;
}

static void *feeder_main(void *arg)
{
	struct feeder *f = arg;
	struct zf_extract_stats st;

	f->r = zf_chunk_extract(f->index, NULL, -EBADF, &f->eo, &st, &f->err);
	pthread_mutex_lock(&f->lock);
	f->eof = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static void feeder_init(struct feeder *f)
{
	*f = (struct feeder){ .err = ZF_ERR_INIT };
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
}

static int feeder_start(struct feeder *f, const char *store_dir, const struct zf_chunk_id *id,
			const struct zf_extract_opts *eo, struct zf_err *err)
{
	int r;

	f->eo = *eo;
	f->eo.sink = feeder_offer;
	f->eo.sink_userdata = f;
	r = load_index(store_dir, id, &f->index, err);
	if (r < 0)
		return r;
	r = -pthread_create(&f->thread, NULL, feeder_main, f);
	if (r < 0)
		return zf_err_set(err, r, "starting a thread: %s", strerror(-r));
	f->started = true;
	return 0;
}

/* Stops reading (a feeder still offering then fails with EPIPE) and waits. */
static void feeder_stop(struct feeder *f)
{
	pthread_mutex_lock(&f->lock);
	f->closed = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (f->started)
		(void)pthread_join(f->thread, NULL);
	f->started = false;
}

static void feeder_release(struct feeder *f)
{
	feeder_stop(f);
	if (f->index)
		(void)unlink(f->index);
	free(f->index);
	f->index = NULL;
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
}

/*
 * The feeders take chunks unchecked (check_later): the rebuilt stream's
 * digest covers them all at once.  When the rebuild fails or its digest
 * differs, this reads both indexes' chunks again, each checked against its
 * id, to name the damaged one: 0 if every chunk is right.
 */
static int find_damaged_chunk(struct feeder *const *fs, size_t n, struct zf_err *err)
{
	int r;

	for (size_t i = 0; i < n; i++) {
		struct zf_extract_opts eo = fs[i]->eo;
		struct zf_extract_stats st;

		eo.check_later = false;
		eo.sink = NULL;         /* no output: only the chunks' checks matter */
		r = zf_chunk_extract(fs[i]->index, NULL, -EBADF, &eo, &st, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The rebuilt stream goes to out, but its last two records only once the
 * whole stream's length and digest match the entry: until then zfs recv
 * (or a reader of the file) has an unfinished stream, which it refuses.
 * Two, because a -p backup is a compound stream: its substream's END (the
 * one that makes zfs recv commit) comes before the final END.
 */
#define HOLD_BACK (2 * ZF_ZFS_RECORD_SIZE)

/*
 * The stream's digest is the rebuild's costliest step (one core hashes
 * SHA-512/256 at about 600 MB/s): it runs in a thread of its own, which
 * also writes to out, while the rebuild goes on.  The rebuild fills blocks
 * of OUT_BLOCK bytes; OUT_BLOCKS of them go round between the two.
 */
#define OUT_BLOCK (256u << 10)
#define OUT_BLOCKS 8u
struct out_stage {
	pthread_t thread;
	bool started;
	uint8_t *buf;                   /* OUT_BLOCKS * OUT_BLOCK */
	size_t fill;                    /* the rebuild's: bytes in block `queued` */
	/* the thread's own */
	int out;
	EVP_MD_CTX *md;
	uint8_t hold[HOLD_BACK];
	size_t nhold;
	/* under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* a block was queued or done, or stop */
	uint64_t queued;                /* blocks < queued were handed over */
	uint64_t done;                  /* blocks < done were hashed and written */
	size_t len[OUT_BLOCKS];         /* bytes of each queued block */
	bool closed;                    /* nothing more comes */
	bool stop;                      /* write nothing more */
	int r;                          /* the thread's first error, in err */
	struct zf_err err;
};

struct rebuild_state {
	struct feeder meta, data;
	struct out_stage st;
	uint64_t bytes, total;
	const struct zf_restore_opts *o;
	const char *name;
	uint64_t next_progress;
};

static ssize_t in_meta(void *userdata, void *p, size_t n, struct zf_err *err)
{
	struct rebuild_state *s = userdata;
	(void)err;

	return feeder_take(&s->meta, p, n);
}

static ssize_t in_data(void *userdata, void *p, size_t n, struct zf_err *err)
{
	struct rebuild_state *s = userdata;
	(void)err;

	return feeder_take(&s->data, p, n);
}

static int emit(struct out_stage *st, const void *p, size_t n, struct zf_err *err)
{
	int r = zf_write_full(st->out, p, n);

	if (r == -EPIPE)
		return zf_err_set(err, r, "the receiving side stopped reading");
	if (r < 0)
		return zf_err_set(err, r, "writing the stream: %s", strerror(-r));
	return 0;
}

/* Writes all of p but the last HOLD_BACK bytes seen so far, which wait in hold. */
static int emit_holding_back(struct out_stage *st, const uint8_t *b, size_t n,
			     struct zf_err *err)
{
	size_t go;
	int r;

	if (st->nhold + n <= sizeof(st->hold)) {
		memcpy(st->hold + st->nhold, b, n);
		st->nhold += n;
		return 0;
	}
	if (n >= sizeof(st->hold)) {
		r = emit(st, st->hold, st->nhold, err);
		if (r >= 0)
			r = emit(st, b, n - sizeof(st->hold), err);
		memcpy(st->hold, b + n - sizeof(st->hold), sizeof(st->hold));
		st->nhold = sizeof(st->hold);
		return r;
	}
	/* n is short: the oldest held bytes go, n new ones join */
	go = st->nhold + n - sizeof(st->hold);
	r = emit(st, st->hold, go, err);
	memmove(st->hold, st->hold + go, st->nhold - go);
	memcpy(st->hold + st->nhold - go, b, n);
	st->nhold = sizeof(st->hold);
	return r;
}

static void *out_stage_main(void *arg)
{
	struct out_stage *st = arg;
	struct zf_err err = ZF_ERR_INIT;
	int r = 0;

	pthread_mutex_lock(&st->lock);
	for (;;) {
		uint64_t b;
		size_t n;

		while (st->done == st->queued && !st->closed && !st->stop)
			pthread_cond_wait(&st->cond, &st->lock);
		if (st->stop || st->done == st->queued)
			break;
		b = st->done;
		n = st->len[b % OUT_BLOCKS];
		pthread_mutex_unlock(&st->lock);
		if (EVP_DigestUpdate(st->md, st->buf + (b % OUT_BLOCKS) * OUT_BLOCK, n) != 1)
			r = zf_err_set(&err, -EIO, "SHA-512/256 failed");
		else
			r = emit_holding_back(st, st->buf + (b % OUT_BLOCKS) * OUT_BLOCK, n, &err);
		pthread_mutex_lock(&st->lock);
		st->done++;
		if (r < 0) {
			st->r = r;
			st->err = err;
			st->stop = true;
		}
		pthread_cond_broadcast(&st->cond);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

static int out_stage_start(struct out_stage *st, int out, struct zf_err *err)
{
	int r;

	st->out = out;
	st->md = EVP_MD_CTX_new();
	if (!st->md || EVP_DigestInit_ex(st->md, EVP_sha512_256(), NULL) != 1)
		return zf_err_set(err, -ENOMEM, "SHA-512/256 is not available");
	st->buf = zf_xmalloc((size_t)OUT_BLOCKS * OUT_BLOCK);
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	r = -pthread_create(&st->thread, NULL, out_stage_main, st);
	if (r < 0)
		return zf_err_set(err, r, "starting a thread: %s", strerror(-r));
	st->started = true;
	return 0;
}

/* Hands the block being filled to the thread, and waits for a free one: <0 if it failed. */
static int out_stage_queue(struct out_stage *st, struct zf_err *err)
{
	int r;

	pthread_mutex_lock(&st->lock);
	if (st->fill > 0) {
		st->len[st->queued % OUT_BLOCKS] = st->fill;
		st->queued++;
		st->fill = 0;
		pthread_cond_broadcast(&st->cond);
	}
	while (st->queued - st->done == OUT_BLOCKS && !st->stop)
		pthread_cond_wait(&st->cond, &st->lock);
	r = st->r;
	if (r < 0)
		zf_err_copy(err, r, &st->err);
	pthread_mutex_unlock(&st->lock);
	return r;
}

/*
 * Queues what is left and waits until all of it was hashed and written
 * (finish), or drops what is queued (!finish); then joins the thread.
 */
static int out_stage_end(struct out_stage *st, bool finish, struct zf_err *err)
{
	int r = 0;

	if (!st->started)
		return 0;
	if (finish)
		r = out_stage_queue(st, err);
	pthread_mutex_lock(&st->lock);
	st->closed = true;
	st->stop = st->stop || !finish;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	(void)pthread_join(st->thread, NULL);
	st->started = false;
	if (r >= 0 && finish && st->r < 0)
		r = zf_err_copy(err, st->r, &st->err);
	return r;
}

static void out_stage_release(struct out_stage *st)
{
	(void)out_stage_end(st, false, NULL);
	if (st->buf) {
		pthread_mutex_destroy(&st->lock);
		pthread_cond_destroy(&st->cond);
	}
	free(st->buf);
	st->buf = NULL;
	EVP_MD_CTX_free(st->md);
	st->md = NULL;
}

static int out_stream(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	struct rebuild_state *s = userdata;
	struct out_stage *st = &s->st;
	const uint8_t *b = p;
	int r;

	s->bytes += n;
	if (s->bytes > s->total)
		return zf_err_set(err, -ZF_E_CORRUPT, "'%s': the rebuilt stream is longer than "
				  "the %" PRIu64 " bytes the catalogue recorded", s->name, s->total);
	if (s->o->progress && s->bytes >= s->next_progress) {
		s->o->progress(s->name, s->bytes, s->total, s->o->userdata);
		s->next_progress = s->bytes + (64u << 20);
	}
	while (n > 0) {
		size_t k = MIN(n, OUT_BLOCK - st->fill);

		/* block `queued` is the rebuild's until it is queued */
		memcpy(st->buf + (st->queued % OUT_BLOCKS) * OUT_BLOCK + st->fill, b, k);
		st->fill += k;
		b += k;
		n -= k;
		if (st->fill == OUT_BLOCK && (r = out_stage_queue(st, err)) < 0)
			return r;
	}
	return 0;
}

/* Rebuilds e's stream into out; its last record is written only if it is exactly e's. */
static int rebuild_entry(const struct zf_restore_opts *o, struct zf_store *store,
			 const struct zf_catalogue_entry *e, int out, uint64_t *ret_bytes,
			 struct zf_err *err)
{
	struct zf_store *stores[] = { store };
	/*
	 * Meta is small; data gets one thread per CPU (not extract's default
	 * of four): the rebuild and zfs recv want CPU too.  Chunks are checked
	 * by the stream's digest, all at once (a cache is filled only with
	 * chunks checked one by one).
	 */
	struct zf_extract_opts eo_meta = {
		.stores = stores, .nstores = 1, .cache = o->cache, .jobs = 1, .check_later = true,
	};
	struct zf_extract_opts eo = {
		.stores = stores, .nstores = 1, .cache = o->cache, .check_later = true,
		.jobs = o->jobs ? o->jobs : zf_cpu_count(),
	};
	_cleanup_free_ char *name = zf_xasprintf("%s@%s", e->dataset, e->snapshot);
	struct rebuild_state s = { .total = e->stream_bytes, .o = o, .name = name };
	struct feeder *feeders[] = { &s.meta, &s.data };
	struct zf_zfs_rebuild_io io = { in_meta, in_data, out_stream, &s };
	struct zf_chunk_id digest;
	unsigned dlen = 0;
	int r;

	feeder_init(&s.meta);
	feeder_init(&s.data);
	r = out_stage_start(&s.st, out, err);
	if (r >= 0)
		r = feeder_start(&s.meta, o->store, &e->meta_index, &eo_meta, err);
	if (r >= 0)
		r = feeder_start(&s.data, o->store, &e->data_index, &eo, err);
	if (r < 0)
		goto out;
	r = zf_zfs_rebuild(&io, err);
	if (r >= 0)
		r = out_stage_end(&s.st, true, err);
	else
		(void)out_stage_end(&s.st, false, NULL);
	if (r < 0)
		zf_err_prefix(err, "backup '%s'", name);
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
	if (r >= 0 && (EVP_DigestFinal_ex(s.st.md, digest.b, &dlen) != 1 ||
		       dlen != ZF_CHUNK_ID_SIZE)) {
		r = zf_err_set(err, -EIO, "SHA-512/256 failed");
		goto out;
	}
	if (r >= 0 && (s.bytes != e->stream_bytes ||
		       !zf_chunk_id_eq(&digest, &e->stream_digest)))
		r = zf_err_set(err, -ZF_E_CORRUPT, "backup '%s': the rebuilt stream (%" PRIu64
			       " bytes) is not the one backed up (%" PRIu64 " bytes, its "
			       "SHA-512/256 differs); nothing of it was received", name, s.bytes,
			       e->stream_bytes);
	/*
	 * Unchecked chunks went into it: when what came out is wrong (not
	 * when writing it failed), a damaged one is the likely cause.
	 */
	if (r == -ZF_E_CORRUPT || r == -EBADMSG || r == -E2BIG || r == -ENOTSUP) {
		struct zf_err e2 = ZF_ERR_INIT;
		int q = find_damaged_chunk(feeders, 2, &e2);

		if (q < 0) {
			zf_err_clear(err);
			r = zf_err_copy(err, q, &e2);
			zf_err_prefix(err, "backup '%s'", name);
		}
	}
	if (r < 0)
		goto out;
	r = emit(&s.st, s.st.hold, s.st.nhold, err);
	if (r < 0)
		zf_err_prefix(err, "backup '%s'", name);
	if (r >= 0 && o->progress)
		o->progress(name, s.bytes, s.total, o->userdata);
	*ret_bytes = s.bytes;
out:
	out_stage_release(&s.st);
	feeder_release(&s.meta);
	feeder_release(&s.data);
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
