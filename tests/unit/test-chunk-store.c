/* tests/unit/test-chunk-store.c — directory store and the make/extract/verify/prune/chop ops */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "chunk/chunk.h"
#include "chunk/index.h"
#include "chunk/store-ops.h"
#include "chunk/store.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"

struct fixture {
	char dir[64];
	char *store_path;
	struct zf_store *store;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = zf_xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/zf-test-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->store_path = zf_xasprintf("%s/store", f->dir);
	assert_int_equal(zf_store_open(f->store_path, ZF_STORE_CREATE, &f->store, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	zf_store_free(f->store);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->store_path);
	free(f);
	return 0;
}

static char *path_in(struct fixture *f, const char *name)
{
	return zf_xasprintf("%s/%s", f->dir, name);
}

/* Pseudo-random bytes with some repetition, written to a file. */
static char *write_data(struct fixture *f, const char *name, size_t n, uint64_t seed)
{
	char *path = path_in(f, name);
	_cleanup_free_ uint8_t *p = zf_xmalloc(n);
	_cleanup_close_ int fd = -EBADF;
	uint64_t x = seed;

	for (size_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(x >> 56);
	}
	if (n > 600000)
		memcpy(p + 300000, p, 300000);  /* a repeated block */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(zf_write_full(fd, p, n), 0);
	return path;
}

static bool same_file(const char *a, const char *b)
{
	_cleanup_buf_ struct zf_buf x = ZF_BUF_INIT, y = ZF_BUF_INIT;
	_cleanup_close_ int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);

	if (fa < 0 || fb < 0)
		return false;
	assert_int_equal(zf_read_all(fa, &x, 1u << 30), 0);
	assert_int_equal(zf_read_all(fb, &y, 1u << 30), 0);
	return x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
}

static void make_index(struct fixture *f, const char *file, const char *index,
		       struct zf_make_stats *st)
{
	struct zf_make_opts o = { .jobs = 3 };
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(zf_chunk_params_init(&o.params, 4096, 16384, 65536, NULL), 0);
	assert_int_equal(zf_chunk_make(fd, index, f->store, &o, st, NULL), 0);
}

static void test_put_get(void **state)
{
	struct fixture *f = *state;
	_cleanup_buf_ struct zf_buf enc = ZF_BUF_INIT, out = ZF_BUF_INIT;
	struct zf_chunk_id id;
	struct zf_err err = ZF_ERR_INIT;
	struct stat st1, st2;
	char hex[ZF_CHUNK_ID_HEX];
	_cleanup_free_ char *file = NULL;

	zf_chunk_id_hash(NULL, "hello", 5, &id);
	assert_int_equal(zf_store_has(f->store, &id, NULL, NULL), 0);
	assert_int_equal(zf_store_get(f->store, NULL, &id, 100, &out, NULL), -ENOENT);
	assert_int_equal(zf_cacnk_encode(NULL, "hello", 5, &enc, NULL), 0);
	assert_int_equal(zf_store_put_raw(f->store, &id, enc.data, enc.len, NULL), 0);
	assert_int_equal(zf_store_has(f->store, &id, NULL, NULL), 1);
	assert_int_equal(zf_store_get(f->store, NULL, &id, 100, &out, NULL), 0);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "hello", 5);

	/* casync's layout, and an existing chunk is never rewritten */
	zf_chunk_id_hex(&id, hex);
	file = zf_xasprintf("%s/%.4s/%s.cacnk", f->store_path, hex, hex);
	assert_int_equal(stat(file, &st1), 0);
	assert_int_equal(zf_store_put_raw(f->store, &id, "junk", 4, NULL), 1);
	assert_int_equal(stat(file, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st2.st_size, enc.len);

	/* a chunk whose content does not match its id */
	{
		_cleanup_buf_ struct zf_buf bad = ZF_BUF_INIT;
		struct zf_chunk_id other;
		zf_chunk_id_hash(NULL, "other", 5, &other);
		assert_int_equal(zf_cacnk_encode(NULL, "HELLO", 5, &bad, NULL), 0);
		assert_int_equal(zf_store_put_raw(f->store, &other, bad.data, bad.len, NULL), 0);
		assert_int_equal(zf_store_get(f->store, NULL, &other, 100, &out, &err),
				 -ZF_E_CORRUPT);
		assert_non_null(strstr(err.msg, "does not match its id"));
		assert_non_null(strstr(err.msg, zf_chunk_id_hex(&other, hex)));
	}
	assert_int_equal(zf_store_remove(f->store, &id, NULL), 0);
	assert_int_equal(zf_store_has(f->store, &id, NULL, NULL), 0);
	assert_int_equal(zf_store_remove(f->store, &id, NULL), 0);
}

static void test_make_extract(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *data = write_data(f, "data", 2000000, 7);
	_cleanup_free_ char *index = path_in(f, "data.caibx");
	_cleanup_free_ char *out = path_in(f, "out");
	_cleanup_free_ char *cache = path_in(f, "cache");
	struct zf_make_stats ms, ms2;
	struct zf_extract_stats xs;
	struct zf_extract_opts xo = { .seed_output = true, .jobs = 2 };
	struct zf_index_stats is;
	_cleanup_(zf_store_freep) struct zf_store *cs = NULL;

	make_index(f, data, index, &ms);
	assert_int_equal(ms.size, 2000000);
	assert_true(ms.chunks > 20);
	assert_true(ms.new_chunks < ms.chunks);         /* the repeated block dedups */
	make_index(f, data, index, &ms2);
	assert_int_equal(ms2.new_chunks, 0);
	assert_int_equal(ms2.chunks, ms.chunks);

	xo.stores = &f->store;
	xo.nstores = 1;
	assert_int_equal(zf_store_open(cache, ZF_STORE_CREATE, &cs, NULL), 0);
	xo.cache = cs;
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, &xs, NULL), 0);
	assert_true(same_file(data, out));
	/* repeated chunks may come from the cache their first copy filled */
	assert_int_equal(xs.from_store + xs.from_cache, ms.chunks);
	assert_true(xs.from_store >= ms.new_chunks);
	/* again: everything comes from the existing output */
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, &xs, NULL), 0);
	assert_true(same_file(data, out));
	assert_int_equal(xs.from_seed, ms.chunks);
	/* without the output as seed: from the cache */
	xo.seed_output = false;
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, &xs, NULL), 0);
	assert_int_equal(xs.from_cache, ms.chunks);
	/* with an explicit seed */
	{
		const char *seeds[] = { data };
		xo.cache = NULL;
		xo.seeds = seeds;
		xo.nseeds = 1;
		assert_int_equal(unlink(out), 0);
		assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, &xs, NULL), 0);
		assert_int_equal(xs.from_seed, ms.chunks);
		assert_true(same_file(data, out));
	}

	assert_int_equal(zf_chunk_index_stats(index, f->store, &is, NULL), 0);
	assert_int_equal(is.size, 2000000);
	assert_int_equal(is.chunks, ms.chunks);
	assert_int_equal(is.unique, ms.new_chunks);
	assert_int_equal(is.missing, 0);
	assert_true(is.unique_bytes < is.size);
}

/*
 * A chunk that comes again, further on than the chunks in flight, is copied
 * from the output already written (counted as from a seed); to a pipe it
 * cannot be, and comes from the store.
 */
static void test_extract_self_seed(void **state)
{
	struct fixture *f = *state;
	const size_t a = 1u << 20, b = 9u << 19, n = 2 * a + b;
	_cleanup_free_ char *data = path_in(f, "self");
	_cleanup_free_ char *index = path_in(f, "self.caibx");
	_cleanup_free_ char *out = path_in(f, "self.out");
	_cleanup_free_ char *piped = path_in(f, "self.pipe");
	_cleanup_free_ uint8_t *p = zf_xmalloc(n);
	_cleanup_close_ int fd = -EBADF, pfd = -EBADF;
	struct zf_make_stats ms;
	struct zf_extract_stats xs;
	struct zf_extract_opts xo = { .jobs = 3 };
	uint64_t x = 99;

	/* A, then B (more chunks than extract keeps in flight), then A again */
	for (size_t i = 0; i < a + b; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(x >> 56);
	}
	memcpy(p + a + b, p, a);
	fd = open(data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(zf_write_full(fd, p, n), 0);
	make_index(f, data, index, &ms);
	assert_true(ms.new_chunks + 20 < ms.chunks);

	xo.stores = &f->store;
	xo.nstores = 1;
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, &xs, NULL), 0);
	assert_true(same_file(data, out));
	assert_int_equal(xs.from_seed + xs.from_store, ms.chunks);
	assert_true(xs.from_seed + 20 > ms.chunks - ms.new_chunks);
	assert_true(xs.from_seed > 20);

	pfd = open(piped, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(pfd >= 0);
	assert_int_equal(zf_chunk_extract(index, NULL, pfd, &xo, &xs, NULL), 0);
	assert_true(same_file(data, piped));
	assert_int_equal(xs.from_seed, 0);
	assert_int_equal(xs.from_store, ms.chunks);
}

/* Whether files in dir can be opened with O_DIRECT (ext4 yes; old tmpfs no). */
static bool direct_works(const char *dir)
{
	_cleanup_free_ char *probe = zf_xasprintf("%s/.direct-probe", dir);
	int fd = open(probe, O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);

	(void)unlink(probe);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Extracts index to out, buffered and then with direct; both must equal data. */
static void extract_both(struct fixture *f, const char *index, const char *data,
			 struct zf_extract_opts *xo, struct zf_extract_stats *ret)
{
	_cleanup_free_ char *buffered = path_in(f, "both.buffered");
	_cleanup_free_ char *direct = path_in(f, "both.direct");
	struct zf_extract_stats bs, ds;

	xo->direct = false;
	assert_int_equal(zf_chunk_extract(index, buffered, -EBADF, xo, &bs, NULL), 0);
	assert_false(bs.direct);
	xo->direct = true;
	assert_int_equal(zf_chunk_extract(index, direct, -EBADF, xo, &ds, NULL), 0);
	assert_int_equal(ds.direct, direct_works(f->dir) && !zf_extract_refuse_direct_for_test);
	assert_true(same_file(data, buffered));
	assert_true(same_file(data, direct));
	assert_int_equal(ds.size, bs.size);
	assert_int_equal(ds.chunks, bs.chunks);
	assert_int_equal(unlink(buffered), 0);
	assert_int_equal(unlink(direct), 0);
	*ret = ds;
}

/*
 * --direct: sizes around and below the 4096-byte block, and a file whose
 * blocks come again at distances that put their first copy in the file, in
 * the block being filled, in a block queued or being written by the writer
 * thread, and across the start of the ring when the repeat is submitted;
 * once with a slow writer, so the blocks before the one being filled are
 * still being written.
 */
static void test_extract_direct(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = { 1, 1000, 4095, 4096, 3 * 4096 + 1, 300001 };
	const size_t n = 32u << 20, blk = 128u << 10;
	_cleanup_free_ char *index = path_in(f, "d.caibx");
	_cleanup_free_ uint8_t *p = zf_xmalloc(n);
	struct zf_extract_opts xo = { .jobs = 3 };
	struct zf_extract_stats xs;
	struct zf_make_stats ms;
	uint64_t x = 5;

	xo.stores = &f->store;
	xo.nstores = 1;
	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		_cleanup_free_ char *data = write_data(f, "small", sizes[i], 40 + i);

		make_index(f, data, index, &ms);
		extract_both(f, index, data, &xo, &xs);
		assert_int_equal(xs.size, sizes[i]);
	}

	for (size_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(x >> 56);
	}
	/* block k at k * 1.5 MiB + k * 97 KiB comes again 4 MiB + k * 300 KiB later */
	for (size_t k = 0; k < 12; k++) {
		size_t src = k * (3u << 19) + k * 97u * 1024;
		size_t dst = src + (4u << 20) + k * 300u * 1024;
		memcpy(p + dst, p + src, blk);
	}
	/* and block k at 1.5 MiB * k + 50 KiB again 9 MiB + k * 350 KiB later: 2-3 blocks back */
	for (size_t k = 0; k < 12; k++) {
		size_t src = k * (3u << 19) + 50u * 1024;
		size_t dst = src + (9u << 20) + k * 350u * 1024;
		memcpy(p + dst, p + src, blk);
	}
	{
		_cleanup_free_ char *data = path_in(f, "rep");
		_cleanup_close_ int fd = open(data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		assert_true(fd >= 0);
		assert_int_equal(zf_write_full(fd, p, n - 777), 0);
		make_index(f, data, index, &ms);
		extract_both(f, index, data, &xo, &xs);
		assert_int_equal(xs.size, n - 777);
		assert_true(xs.from_seed > 40);         /* copied back from the output */
		assert_int_equal(xs.from_seed + xs.from_store, ms.chunks);

		/* the writer thread slow: repeats of blocks still queued or being written */
		zf_extract_write_delay_us_for_test = 20000;
		extract_both(f, index, data, &xo, &xs);
		zf_extract_write_delay_us_for_test = 0;
		assert_true(xs.from_seed > 40);
		assert_int_equal(xs.from_seed + xs.from_store, ms.chunks);

		/* with a seed: everything from it */
		const char *seeds[] = { data };
		xo.seeds = seeds;
		xo.nseeds = 1;
		extract_both(f, index, data, &xo, &xs);
		assert_int_equal(xs.from_seed, ms.chunks);
		xo.seeds = NULL;
		xo.nseeds = 0;

		/* a filesystem that refuses O_DIRECT: buffered, same bytes */
		zf_extract_refuse_direct_for_test = true;
		extract_both(f, index, data, &xo, &xs);
		zf_extract_refuse_direct_for_test = false;
		assert_false(xs.direct);
	}
}

static void test_damaged(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *data = write_data(f, "data", 300000, 9);
	_cleanup_free_ char *index = path_in(f, "data.caibx");
	_cleanup_free_ char *out = path_in(f, "out");
	_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
	struct zf_extract_opts xo = { .jobs = 2 };
	struct zf_verify_stats vs;
	struct zf_make_stats ms;
	struct zf_chunk_id id;
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_buf_ struct zf_buf enc = ZF_BUF_INIT;
	uint64_t off, size;
	char hex[ZF_CHUNK_ID_HEX], offs[32];

	make_index(f, data, index, &ms);
	/* damage the third chunk: valid zstd, wrong content */
	assert_int_equal(zf_index_open_read(index, &idx, NULL), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(zf_index_next(idx, &id, &off, &size, NULL), 1);
	assert_int_equal(zf_store_remove(f->store, &id, NULL), 0);
	assert_int_equal(zf_cacnk_encode(NULL, "not it", 6, &enc, NULL), 0);
	assert_int_equal(zf_store_put_raw(f->store, &id, enc.data, enc.len, NULL), 0);

	xo.stores = &f->store;
	xo.nstores = 1;
	/* with O_DIRECT too: the same error, no output */
	xo.direct = true;
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, NULL, &err), -ZF_E_CORRUPT);
	assert_non_null(strstr(err.msg, zf_chunk_id_hex(&id, hex)));
	assert_int_equal(access(out, F_OK), -1);
	xo.direct = false;
	zf_err_clear(&err);
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, NULL, &err), -ZF_E_CORRUPT);
	assert_non_null(strstr(err.msg, zf_chunk_id_hex(&id, hex)));
	snprintf(offs, sizeof(offs), "offset %llu", (unsigned long long)off);
	assert_non_null(strstr(err.msg, offs));
	assert_int_equal(access(out, F_OK), -1);        /* no output, no temp file left */
	{
		int n = 0;
		DIR *d = opendir(f->dir);
		struct dirent *de;
		while ((de = readdir(d)))
			n += de->d_name[0] != '.';
		closedir(d);
		assert_int_equal(n, 3);                 /* store, data, data.caibx */
	}

	assert_int_equal(zf_chunk_verify(f->store, 2, false, NULL, NULL, &vs, NULL), 0);
	assert_int_equal(vs.damaged, 1);
	assert_int_equal(vs.removed, 0);
	assert_int_equal(zf_chunk_verify(f->store, 2, true, NULL, NULL, &vs, NULL), 0);
	assert_int_equal(vs.removed, 1);
	assert_int_equal(zf_chunk_verify(f->store, 2, false, NULL, NULL, &vs, NULL), 0);
	assert_int_equal(vs.damaged, 0);

	/* missing now: extract names it; chop puts it back */
	zf_err_clear(&err);
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "is in no store"));
	assert_int_equal(zf_chunk_chop(index, data, f->store, 2, &ms, NULL), 0);
	assert_int_equal(ms.new_chunks, 1);
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, NULL, NULL), 0);
	assert_true(same_file(data, out));
	/* chop of a different file is refused */
	{
		_cleanup_free_ char *other = write_data(f, "other", 300000, 10);
		zf_err_clear(&err);
		assert_int_equal(zf_chunk_chop(index, other, f->store, 2, NULL, &err),
				 -ZF_E_CORRUPT);
		assert_non_null(strstr(err.msg, "does not match chunk"));
	}
}

/*
 * check_later: a chunk that decodes to the right length is taken unhashed
 * (the caller's digest of the whole output is what sees other content);
 * one of another length is still named; a cache is filled only with
 * checked chunks.
 */
static void test_check_later(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *data = write_data(f, "data", 300000, 11);
	_cleanup_free_ char *index = path_in(f, "data.caibx");
	_cleanup_free_ char *out = path_in(f, "out");
	_cleanup_free_ char *cache_dir = path_in(f, "cache");
	_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
	_cleanup_(zf_store_freep) struct zf_store *cache = NULL;
	_cleanup_buf_ struct zf_buf enc = ZF_BUF_INIT;
	_cleanup_free_ uint8_t *other = NULL;
	struct zf_extract_opts xo = { .jobs = 2, .check_later = true };
	struct zf_make_stats ms;
	struct zf_chunk_id id;
	struct zf_err err = ZF_ERR_INIT;
	uint64_t off, size;
	char hex[ZF_CHUNK_ID_HEX];

	make_index(f, data, index, &ms);
	xo.stores = &f->store;
	xo.nstores = 1;
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, NULL, NULL), 0);
	assert_true(same_file(data, out));

	/* the second chunk replaced by other bytes of its length */
	assert_int_equal(zf_index_open_read(index, &idx, NULL), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(zf_index_next(idx, &id, &off, &size, NULL), 1);
	other = zf_xmalloc((size_t)size);
	memset(other, 'x', (size_t)size);
	assert_int_equal(zf_store_remove(f->store, &id, NULL), 0);
	assert_int_equal(zf_cacnk_encode(NULL, other, (size_t)size, &enc, NULL), 0);
	assert_int_equal(zf_store_put_raw(f->store, &id, enc.data, enc.len, NULL), 0);
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, NULL, NULL), 0);
	assert_false(same_file(data, out));
	/* checked: named */
	xo.check_later = false;
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, NULL, &err), -ZF_E_CORRUPT);
	assert_non_null(strstr(err.msg, zf_chunk_id_hex(&id, hex)));
	/* with a cache, checked all the same, and the cache holds no wrong chunk */
	assert_int_equal(zf_store_open(cache_dir, ZF_STORE_CREATE, &cache, NULL), 0);
	xo.check_later = true;
	xo.cache = cache;
	zf_err_clear(&err);
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, NULL, &err), -ZF_E_CORRUPT);
	assert_non_null(strstr(err.msg, zf_chunk_id_hex(&id, hex)));
	assert_int_equal(zf_store_has(cache, &id, NULL, NULL), 0);
	xo.cache = NULL;

	/* of another length: named even unchecked */
	assert_int_equal(zf_store_remove(f->store, &id, NULL), 0);
	zf_buf_reset(&enc);
	assert_int_equal(zf_cacnk_encode(NULL, other, (size_t)size - 1, &enc, NULL), 0);
	assert_int_equal(zf_store_put_raw(f->store, &id, enc.data, enc.len, NULL), 0);
	zf_err_clear(&err);
	assert_int_not_equal(zf_chunk_extract(index, out, -EBADF, &xo, NULL, &err), 0);
	assert_non_null(strstr(err.msg, zf_chunk_id_hex(&id, hex)));
}

struct sink_state {
	struct zf_buf got;
	size_t calls, fail_at;          /* fail_at: the call that fails (0: none) */
};

static int sink_collect(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	struct sink_state *ss = userdata;

	if (++ss->calls == ss->fail_at)
		return zf_err_set(err, -EPIPE, "sink stops");
	zf_buf_add(&ss->got, p, n);
	return 0;
}

/* A sink gets the output in order, all of it; one that fails stops the extract. */
static void test_extract_sink(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *data = write_data(f, "data", 700000, 12);
	_cleanup_free_ char *index = path_in(f, "data.caibx");
	_cleanup_buf_ struct zf_buf want = ZF_BUF_INIT;
	_cleanup_close_ int fd = -EBADF;
	struct sink_state ss = { .got = ZF_BUF_INIT };
	struct zf_extract_opts xo = { .jobs = 3, .sink = sink_collect, .sink_userdata = &ss };
	struct zf_extract_stats st;
	struct zf_make_stats ms;
	struct zf_err err = ZF_ERR_INIT;

	make_index(f, data, index, &ms);
	assert_true(ms.chunks > 4);
	xo.stores = &f->store;
	xo.nstores = 1;
	assert_int_equal(zf_chunk_extract(index, NULL, -EBADF, &xo, &st, &err), 0);
	fd = open(data, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(zf_read_all(fd, &want, SIZE_MAX), 0);
	assert_int_equal(ss.got.len, want.len);
	assert_memory_equal(ss.got.data, want.data, want.len);
	assert_int_equal(st.size, want.len);
	assert_true(ss.calls >= 1);

	zf_buf_reset(&ss.got);
	ss.calls = 0;
	ss.fail_at = 2;
	assert_int_equal(zf_chunk_extract(index, NULL, -EBADF, &xo, &st, &err), -EPIPE);
	assert_non_null(strstr(err.msg, "sink stops"));
	assert_true(ss.got.len < want.len);
	zf_buf_release(&ss.got);
}

static void test_bad_zstd(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *data = write_data(f, "data", 100000, 11);
	_cleanup_free_ char *index = path_in(f, "data.caibx");
	_cleanup_free_ char *out = path_in(f, "out");
	_cleanup_(zf_index_freep) struct zf_index *idx = NULL;
	struct zf_extract_opts xo = { .jobs = 1 };
	struct zf_make_stats ms;
	struct zf_verify_stats vs;
	struct zf_chunk_id id;
	struct zf_err err = ZF_ERR_INIT;
	uint64_t off, size;

	make_index(f, data, index, &ms);
	assert_int_equal(zf_index_open_read(index, &idx, NULL), 0);
	assert_int_equal(zf_index_next(idx, &id, &off, &size, NULL), 1);
	assert_int_equal(zf_store_remove(f->store, &id, NULL), 0);
	assert_int_equal(zf_store_put_raw(f->store, &id, "garbage!", 8, NULL), 0);
	xo.stores = &f->store;
	xo.nstores = 1;
	assert_int_equal(zf_chunk_extract(index, out, -EBADF, &xo, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "not valid zstd"));
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(zf_chunk_verify(f->store, 1, false, NULL, NULL, &vs, NULL), 0);
	assert_int_equal(vs.damaged, 1);
}

static void test_prune(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *a = write_data(f, "a", 200000, 1);
	_cleanup_free_ char *b = write_data(f, "b", 200000, 2);
	_cleanup_free_ char *ia = path_in(f, "a.caibx");
	_cleanup_free_ char *ib = path_in(f, "b.caibx");
	_cleanup_free_ char *bad = path_in(f, "bad.caibx");
	struct zf_make_stats msa, msb;
	struct zf_prune_stats ps;
	struct zf_verify_stats vs;
	const char *keep[] = { ia };
	const char *keep_bad[] = { ia, bad };

	make_index(f, a, ia, &msa);
	make_index(f, b, ib, &msb);
	/* an unreadable index stops prune before anything is removed */
	assert_int_equal(zf_chunk_prune(f->store, keep_bad, 2, false, NULL, NULL, &ps, NULL),
			 -ENOENT);
	assert_int_equal(zf_chunk_verify(f->store, 1, false, NULL, NULL, &vs, NULL), 0);
	assert_int_equal(vs.chunks, msa.new_chunks + msb.new_chunks);

	assert_int_equal(zf_chunk_prune(f->store, keep, 1, true, NULL, NULL, &ps, NULL), 0);
	assert_int_equal(ps.removed, msb.new_chunks);
	assert_int_equal(zf_chunk_verify(f->store, 1, false, NULL, NULL, &vs, NULL), 0);
	assert_int_equal(vs.chunks, msa.new_chunks + msb.new_chunks);
	assert_int_equal(zf_chunk_prune(f->store, keep, 1, false, NULL, NULL, &ps, NULL), 0);
	assert_int_equal(ps.removed, msb.new_chunks);
	assert_int_equal(ps.kept, msa.new_chunks);
	assert_int_equal(zf_chunk_verify(f->store, 1, false, NULL, NULL, &vs, NULL), 0);
	assert_int_equal(vs.chunks, msa.new_chunks);
}

static void test_unwritable(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *data = write_data(f, "data", 100000, 3);
	_cleanup_free_ char *index = path_in(f, "data.caibx");
	_cleanup_free_ char *noidx = path_in(f, "nodir/data.caibx");
	struct zf_make_opts o = { .jobs = 1 };
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_close_ int fd = open(data, O_RDONLY | O_CLOEXEC);

	zf_chunk_params_default(&o.params);
	assert_int_equal(zf_chunk_make(fd, noidx, f->store, &o, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot create"));
	if (geteuid() == 0)
		return;         /* root writes anywhere: the rest needs a plain user */
	assert_int_equal(chmod(f->store_path, 0555), 0);
	zf_err_clear(&err);
	assert_int_equal(zf_chunk_make(fd, index, f->store, &o, NULL, &err), -EACCES);
	assert_int_equal(chmod(f->store_path, 0755), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_make_extract, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extract_self_seed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extract_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extract_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_zstd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
