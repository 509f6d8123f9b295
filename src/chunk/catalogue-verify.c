/* src/chunk/catalogue-verify.c — every backup's indexes and chunks, checked after the chunk pass */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "chunk/catalogue-verify.h"
#include "chunk/idmap.h"
#include "chunk/index.h"
#include "chunk/store.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

/* what a chunk was found to be, kept in zf_idmap_value.file */
enum { CHUNK_PRESENT = 1, CHUNK_MISSING, CHUNK_DAMAGED };

#define HASH_BLOCK (1024 * 1024)

static const char *which(bool data)
{
	return data ? "data index" : "meta index";
}

void zf_catalogue_fault_str(const struct zf_catalogue_fault *f, struct zf_buf *out)
{
	char hex[ZF_CHUNK_ID_HEX];

	zf_chunk_id_hex(&f->id, hex);
	switch (f->kind) {
	case ZF_CATALOGUE_CHUNK_MISSING:
	case ZF_CATALOGUE_CHUNK_DAMAGED:
		zf_buf_addf(out, "chunk %s %s (in %s)", hex,
			    f->kind == ZF_CATALOGUE_CHUNK_MISSING ? "missing" : "damaged",
			    which(f->data));
		break;
	case ZF_CATALOGUE_INDEX_MISSING:
		zf_buf_addf(out, "%s %s missing", which(f->data), hex);
		break;
	case ZF_CATALOGUE_INDEX_DAMAGED:
		zf_buf_addf(out, "%s %s damaged: %s", which(f->data), hex, f->detail);
		break;
	}
}

/* One backup's faults: the first few in full, every one counted once. */
struct faults {
	/* the last one is scratch for those counted but not shown */
	struct zf_catalogue_fault v[ZF_CATALOGUE_FAULTS_SHOWN + 1];
	size_t n;
	uint64_t total;
	struct zf_idmap seen;           /* chunks already counted for this backup */
};

static void faults_release(struct faults *f)
{
	zf_idmap_release(&f->seen);
}

static struct zf_catalogue_fault *fault_add(struct faults *f, enum zf_catalogue_fault_kind kind,
					    bool data, const struct zf_chunk_id *id)
{
	struct zf_catalogue_fault *x = &f->v[f->n];

	*x = (struct zf_catalogue_fault){ .kind = kind, .data = data, .id = *id };
	f->total++;
	if (f->n < ZF_CATALOGUE_FAULTS_SHOWN)
		f->n++;
	return x;
}

struct verify {
	struct zf_store *store;
	const char *dir;
	const struct zf_idmap *damaged;
	struct zf_idmap checked;        /* every chunk looked up so far, and what it was */
	EVP_MD_CTX *md;
	uint8_t *block;
};

static void verify_release(struct verify *v)
{
	zf_idmap_release(&v->checked);
	EVP_MD_CTX_free(v->md);
	free(v->block);
}

/*
 * The SHA-512/256 of the file at path, read a block at a time (an index of
 * a large stream has millions of entries): 1 and *ret, 0 when the file is
 * missing, <0 on other errors.
 */
static int hash_file(struct verify *v, const char *path, struct zf_chunk_id *ret,
		     struct zf_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	unsigned len = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return zf_err_set(err, -errno, "cannot open index '%s': %m", path);
	}
	if (EVP_DigestInit_ex(v->md, EVP_sha512_256(), NULL) != 1)
		return zf_err_set(err, -ENOMEM, "cannot start SHA-512/256");
	for (;;) {
		ssize_t n = zf_read_full(fd, v->block, HASH_BLOCK);

		if (n < 0)
			return zf_err_set(err, (int)n, "cannot read index '%s': %s", path,
					  strerror((int)-n));
		if (n == 0)
			break;
		(void)EVP_DigestUpdate(v->md, v->block, (size_t)n);
		if (n < HASH_BLOCK)
			break;
	}
	if (EVP_DigestFinal_ex(v->md, ret->b, &len) != 1 || len != ZF_CHUNK_ID_SIZE)
		return zf_err_set(err, -EIO, "cannot finish SHA-512/256 of '%s'", path);
	return 1;
}

/* What the chunk is: looked up in the store once, then remembered. */
static int chunk_state(struct verify *v, const struct zf_chunk_id *id, struct zf_err *err)
{
	const struct zf_idmap_value *known = zf_idmap_get(&v->checked, id);
	struct zf_idmap_value val = { 0 };
	int r;

	if (known)
		return (int)known->file;
	if (v->damaged && zf_idmap_get(v->damaged, id)) {
		val.file = CHUNK_DAMAGED;
	} else {
		r = zf_store_has(v->store, id, NULL, err);
		if (r < 0)
			return r;
		val.file = r ? CHUNK_PRESENT : CHUNK_MISSING;
	}
	zf_idmap_add(&v->checked, id, &val);
	return (int)val.file;
}

/* The chunks an index (whose hash was right) names; a read error is a damaged index. */
static int check_chunks(struct verify *v, const char *path, bool data,
			const struct zf_chunk_id *name, struct faults *f, struct zf_err *err)
{
	_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
	struct zf_err ierr = ZF_ERR_INIT;
	int r;

	r = zf_index_open_read(path, &idx, &ierr);
	while (r >= 0) {
		struct zf_chunk_id id;
		uint64_t off, size;
		int state;

		r = zf_index_next(idx, &id, &off, &size, &ierr);
		if (r <= 0)
			break;
		state = chunk_state(v, &id, err);
		if (state < 0)
			return state;
		if (state == CHUNK_PRESENT || zf_idmap_get(&f->seen, &id))
			continue;
		zf_idmap_add(&f->seen, &id, &(struct zf_idmap_value){ 0 });
		fault_add(f, state == CHUNK_MISSING ? ZF_CATALOGUE_CHUNK_MISSING :
			  ZF_CATALOGUE_CHUNK_DAMAGED, data, &id);
	}
	if (r < 0) {
		struct zf_catalogue_fault *x = fault_add(f, ZF_CATALOGUE_INDEX_DAMAGED, data, name);
		snprintf(x->detail, sizeof(x->detail), "%s", zf_err_msg(&ierr));
	}
	return 0;
}

static int check_index(struct verify *v, const struct zf_chunk_id *name, bool data,
		       struct faults *f, struct zf_err *err)
{
	char hex[ZF_CHUNK_ID_HEX], got_hex[ZF_CHUNK_ID_HEX];
	_cleanup_free_ char *path = zf_xasprintf("%s/index/%s.caibx", v->dir,
						 zf_chunk_id_hex(name, hex));
	struct zf_chunk_id got;
	int r;

	r = hash_file(v, path, &got, err);
	if (r < 0)
		return r;
	if (r == 0) {
		fault_add(f, ZF_CATALOGUE_INDEX_MISSING, data, name);
		return 0;
	}
	if (!zf_chunk_id_eq(&got, name)) {
		/* its chunk list cannot be trusted: not read */
		struct zf_catalogue_fault *x = fault_add(f, ZF_CATALOGUE_INDEX_DAMAGED, data, name);
		snprintf(x->detail, sizeof(x->detail), "its SHA-512/256 is %s",
			 zf_chunk_id_hex(&got, got_hex));
		return 0;
	}
	return check_chunks(v, path, data, name, f, err);
}

static int check_entry(struct verify *v, const struct zf_catalogue_entry *e,
		       zf_catalogue_broken_fn report, void *userdata,
		       struct zf_catalogue_verify_stats *st, struct zf_err *err)
{
	_cleanup_(faults_release) struct faults f = { .seen = ZF_IDMAP_INIT };
	int r;

	r = check_index(v, &e->meta_index, false, &f, err);
	if (r < 0)
		return r;
	r = check_index(v, &e->data_index, true, &f, err);
	if (r < 0)
		return r;
	st->backups++;
	if (f.total == 0)
		return 0;
	st->broken++;
	if (report)
		report(e, f.v, f.n, f.total - f.n, userdata);
	return 0;
}

int zf_catalogue_verify(struct zf_store *store, const struct zf_idmap *damaged,
			zf_catalogue_broken_fn report, void *userdata,
			struct zf_catalogue_verify_stats *ret, struct zf_err *err)
{
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	_cleanup_(verify_release) struct verify v = {
		.store = store,
		.dir = zf_store_path(store),
		.damaged = damaged,
		.checked = ZF_IDMAP_INIT,
	};
	struct zf_catalogue_verify_stats st = { 0 };
	int r;

	if (!zf_store_is_local(store))
		return zf_err_set(err, -EOPNOTSUPP, "store '%s': the catalogue is checked on the "
				  "server's side", zf_store_path(store));
	r = zf_catalogue_list(v.dir, NULL, &l, err);
	if (r < 0)
		return r;
	v.md = EVP_MD_CTX_new();
	v.block = zf_xmalloc(HASH_BLOCK);
	if (!v.md)
		return zf_err_set(err, -ENOMEM, "cannot allocate a hash context");
	for (size_t i = 0; i < l.n; i++) {
		r = check_entry(&v, &l.v[i], report, userdata, &st, err);
		if (r < 0)
			return r;
	}
	if (ret)
		*ret = st;
	return 0;
}
