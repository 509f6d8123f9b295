/* tests/unit/backup-fixture.c — a directory store with backups made by hand, for unit tests */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backup-fixture.h"
#include "chunk/chunker.h"
#include "chunk/index.h"
#include "chunk/store.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"

/* small chunks are fine: the indexes say so in their header */
#define CHUNK_MIN 1
#define CHUNK_AVG 64
#define CHUNK_MAX 65536

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int backup_fixture_setup(void **state)
{
	struct backup_fixture *f = zf_xcalloc(1, sizeof(*f));
	struct zf_err err = ZF_ERR_INIT;
	char *p;

	snprintf(f->dir, sizeof(f->dir), "/tmp/zf-test-backup-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	p = zf_xasprintf("%s/index", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	if (zf_store_open(f->dir, 0, &f->store, &err) < 0)
		fail_msg("%s", err.msg);
	*state = f;
	return 0;
}

int backup_fixture_teardown(void **state)
{
	struct backup_fixture *f = *state;

	zf_store_free(f->store);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

char *bf_path(const struct backup_fixture *f, const char *rel)
{
	return zf_xasprintf("%s/%s", f->dir, rel);
}

char *bf_chunk_path(const struct backup_fixture *f, const struct zf_chunk_id *id)
{
	char hex[ZF_CHUNK_ID_HEX];

	zf_chunk_id_hex(id, hex);
	return zf_xasprintf("%s/%.4s/%s.cacnk", f->dir, hex, hex);
}

void bf_put_chunk(struct backup_fixture *f, const char *text, struct zf_chunk_id *ret)
{
	_cleanup_buf_ struct zf_buf z = ZF_BUF_INIT;
	struct zf_err err = ZF_ERR_INIT;

	zf_chunk_id_hash(NULL, text, strlen(text), ret);
	assert_int_equal(zf_cacnk_encode(NULL, text, strlen(text), &z, &err), 0);
	if (zf_store_put_raw(f->store, ret, z.data, z.len, &err) < 0)
		fail_msg("%s", err.msg);
}

void bf_put_index(struct backup_fixture *f, const char *const *texts, size_t n,
		  struct zf_chunk_id *ret_hash)
{
	_cleanup_(zf_index_writer_freep) struct zf_index_writer *w = NULL;
	struct zf_chunk_params params;
	struct zf_err err = ZF_ERR_INIT;
	char hex[ZF_CHUNK_ID_HEX];
	const uint8_t *data;
	size_t len;
	char *path;
	int fd;

	assert_int_equal(zf_chunk_params_init(&params, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX, &err), 0);
	assert_int_equal(zf_index_writer_new(NULL, &params, &w, &err), 0);
	for (size_t i = 0; i < n; i++) {
		struct zf_chunk_id id;

		bf_put_chunk(f, texts[i], &id);
		assert_int_equal(zf_index_writer_add(w, &id, strlen(texts[i]), &err), 0);
	}
	assert_int_equal(zf_index_writer_finish(w, &err), 0);
	data = zf_index_writer_data(w, &len);
	/* named by its content, as a backup names it */
	zf_chunk_id_hash(NULL, data, len, ret_hash);
	path = zf_xasprintf("%s/index/%s.caibx", f->dir, zf_chunk_id_hex(ret_hash, hex));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(zf_write_full(fd, data, len), 0);
	close(fd);
	free(path);
}

void bf_backup(struct backup_fixture *f, const char *ds, const char *snap, uint64_t guid,
	       uint64_t txg, uint64_t base_guid, const char *base_snap,
	       const char *const *texts, size_t n, struct zf_catalogue_entry *ret)
{
	struct zf_catalogue_entry e = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_free_ char *meta = zf_xasprintf("meta %s@%s", ds, snap);
	const char *metav[] = { meta };

	e.dataset = zf_xstrdup(ds);
	e.snapshot = zf_xstrdup(snap);
	e.guid = guid;
	e.createtxg = txg;
	e.snapshot_time = 1700000000 + (int64_t)txg * 3600;
	e.base_guid = base_guid;
	e.base_snapshot = base_snap ? zf_xstrdup(base_snap) : NULL;
	e.stream_bytes = 1000;
	zf_chunk_id_hash(NULL, meta, strlen(meta), &e.stream_digest);
	bf_put_index(f, metav, 1, &e.meta_index);
	bf_put_index(f, texts, n, &e.data_index);
	e.chunk_min = CHUNK_MIN;
	e.chunk_avg = CHUNK_AVG;
	e.chunk_max = CHUNK_MAX;
	e.created = 1765000000;
	e.zferry_version = zf_xstrdup("0.1.0");
	if (zf_catalogue_commit(f->dir, &e, &err) != 0)
		fail_msg("commit %s@%s: %s", ds, snap, err.msg);
	if (ret)
		*ret = e;
	else
		zf_catalogue_entry_release(&e);
}

bool bf_entry_exists(const struct backup_fixture *f, const struct zf_catalogue_entry *e)
{
	_cleanup_free_ char *rel = zf_catalogue_entry_relpath(e);
	_cleanup_free_ char *path = bf_path(f, rel);
	struct stat st;

	return stat(path, &st) == 0;
}
