/* tests/unit/test-chunk-gc.c — writer sessions, fossils, and gc passes on a store on disk */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "chunk/catalogue.h"
#include "chunk/chunker.h"
#include "chunk/gc.h"
#include "chunk/index.h"
#include "chunk/session.h"
#include "chunk/store.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"

#define HOUR 3600
/* small enough for tests, with the defaults' order: min age, grace */
static const struct zf_gc_opts opts = { HOUR, 4 * HOUR, false };

struct fixture {
	char dir[64];
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
	struct zf_err err = ZF_ERR_INIT;

	snprintf(f->dir, sizeof(f->dir), "/tmp/zf-test-gc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(zf_store_open(f->dir, 0, &f->store, &err), 0);
	zf_gc_test_time_shift = 0;
	setenv(ZF_SESSION_BEAT_ENV, "10", 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	zf_store_free(f->store);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	zf_gc_test_time_shift = 0;
	return 0;
}

static void put_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(zf_write_full(fd, p, n), 0);
	close(fd);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void age_file(const char *path, int64_t seconds)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - seconds;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* The path of a chunk or its fossil; caller frees. */
static char *chunk_path(struct fixture *f, const struct zf_chunk_id *id, bool fossil)
{
	char rel[ZF_STORE_REL_MAX];

	zf_store_chunk_relpath(id, fossil, rel);
	return zf_xasprintf("%s/%s", f->dir, rel);
}

static bool chunk_at(struct fixture *f, const struct zf_chunk_id *id, bool fossil)
{
	_cleanup_free_ char *p = chunk_path(f, id, fossil);

	return exists(p);
}

static void chunk_data(unsigned seed, char buf[64])
{
	snprintf(buf, 64, "chunk number %u of the gc test", seed);
}

/* Stores chunk `seed` as a writer would and makes it `age` seconds old. */
static void put_chunk(struct fixture *f, unsigned seed, int64_t age, struct zf_chunk_id *ret)
{
	_cleanup_buf_ struct zf_buf z = ZF_BUF_INIT;
	_cleanup_free_ char *p = NULL;
	struct zf_err err = ZF_ERR_INIT;
	char data[64];

	chunk_data(seed, data);
	zf_chunk_id_hash(NULL, data, strlen(data), ret);
	assert_int_equal(zf_cacnk_encode(NULL, data, strlen(data), &z, &err), 0);
	assert_true(zf_store_put_raw(f->store, ret, z.data, z.len, &err) >= 0);
	p = chunk_path(f, ret, false);
	age_file(p, age);
}

static char *index_path(struct fixture *f, const struct zf_chunk_id *id, bool fossil)
{
	char hex[ZF_CHUNK_ID_HEX];

	return zf_xasprintf("%s/index/%s.caibx%s", f->dir, zf_chunk_id_hex(id, hex),
			    fossil ? ".fossil" : "");
}

/* Writes an index of the chunks into STORE/index under its hash, `age` seconds old. */
static void put_index(struct fixture *f, const struct zf_chunk_id *ids, size_t n, int64_t age,
		      struct zf_chunk_id *ret)
{
	_cleanup_(zf_index_writer_freep) struct zf_index_writer *w = NULL;
	_cleanup_free_ char *dir = zf_xasprintf("%s/index", f->dir), *p = NULL;
	struct zf_chunk_params cp;
	struct zf_err err = ZF_ERR_INIT;
	const uint8_t *bytes;
	size_t len;

	(void)mkdir(dir, 0755);
	assert_int_equal(zf_chunk_params_init(&cp, 16384, 65536, 262144, &err), 0);
	assert_int_equal(zf_index_writer_new(NULL, &cp, &w, &err), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(zf_index_writer_add(w, &ids[i], 100 + i, &err), 0);
	assert_int_equal(zf_index_writer_finish(w, &err), 0);
	bytes = zf_index_writer_data(w, &len);
	zf_chunk_id_hash(NULL, bytes, len, ret);
	p = index_path(f, ret, false);
	put_file(p, bytes, len);
	age_file(p, age);
}

/* Commits an entry of tank/a whose meta index lists meta[] and data index data[]. */
static void commit_entry(struct fixture *f, uint64_t txg, const struct zf_chunk_id *meta,
			 size_t nmeta, const struct zf_chunk_id *data, size_t ndata, int64_t age,
			 struct zf_chunk_id ret_idx[2])
{
	struct zf_catalogue_entry e = { 0 };
	struct zf_err err = ZF_ERR_INIT;

	put_index(f, meta, nmeta, age, &ret_idx[0]);
	put_index(f, data, ndata, age, &ret_idx[1]);
	e.dataset = (char *)"tank/a";
	e.snapshot = (char *)"s";
	e.guid = 1000 + txg;
	e.createtxg = txg;
	e.snapshot_time = 1700000000;
	e.send_flags = ZF_CATALOGUE_SEND_LARGE_BLOCKS;
	e.stream_bytes = 12345;
	memset(&e.stream_digest, 0xab, sizeof(e.stream_digest));
	e.meta_index = ret_idx[0];
	e.data_index = ret_idx[1];
	e.chunk_min = 16384;
	e.chunk_avg = 65536;
	e.chunk_max = 262144;
	e.created = 1765000000;
	e.zferry_version = (char *)"0.1.0";
	assert_int_equal(zf_catalogue_commit(f->dir, &e, &err), 0);
}

static void run_gc(struct fixture *f, struct zf_gc_stats *st)
{
	struct zf_err err = ZF_ERR_INIT;
	int r = zf_store_gc(f->dir, &opts, st, &err);

	if (r < 0)
		fail_msg("gc: %s", zf_err_msg(&err));
}

static char *sub(struct fixture *f, const char *rel)
{
	return zf_xasprintf("%s/%s", f->dir, rel);
}

/* ---- sessions ----------------------------------------------------------- */

static void test_sessions(void **state)
{
	struct fixture *f = *state;
	struct zf_store_session *a = NULL, *b = NULL;
	struct zf_store_session_info *v = NULL;
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_free_ char *pa = NULL;
	size_t n = 0;

	assert_int_equal(zf_store_session_list(f->dir, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(zf_store_session_begin(f->dir, "tank/a", 0, &a, &err), 0);
	assert_int_equal(zf_store_session_begin(f->dir, "tank/b c", 77, &b, &err), 0);
	pa = zf_xasprintf("%s/sessions/%s.json", f->dir, zf_store_session_id(a));
	assert_true(exists(pa));
	zf_sleep_ms(100);
	assert_true(zf_store_session_alive(a));
	assert_int_equal(zf_store_session_list(f->dir, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		bool is_a = streq(v[i].id, zf_store_session_id(a));

		assert_string_equal(v[i].dataset, is_a ? "tank/a" : "tank/b c");
		assert_int_equal(v[i].base_guid, is_a ? 0 : 77);
		assert_int_equal(v[i].pid, getpid());
		assert_true(v[i].beat >= 1);    /* 100 ms at a 10 ms beat */
		assert_true(v[i].started > 0);
	}
	zf_store_session_info_free(v, n);
	assert_int_equal(zf_store_session_end(a, &err), 0);
	assert_false(exists(pa));
	assert_int_equal(zf_store_session_list(f->dir, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].id, zf_store_session_id(b));
	zf_store_session_info_free(v, n);
	assert_int_equal(zf_store_session_end(b, &err), 0);
	assert_int_equal(zf_store_session_end(NULL, &err), 0);
	assert_true(zf_store_session_begin(f->dir, "tank/../x", 0, &a, &err) < 0);
}

/*
 * Writer rule 3: a session whose beats keep failing gives up once E - M
 * (here 1 s, so that a slow fsync on a loaded machine does not count)
 * passed since the last good one, and stays given up; one whose beats
 * succeed lives on past that.  A file named sessions in place of the
 * directory makes every beat fail, for root too.
 */
static void test_session_expiry(void **state)
{
	struct fixture *f = *state;
	struct zf_store_session *s = NULL;
	struct zf_store_session_info *v = NULL;
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_free_ char *dir = sub(f, "sessions");
	_cleanup_free_ char *aside = sub(f, "sessions.aside");
	_cleanup_free_ char *path = NULL;
	uint64_t beat;
	size_t n = 0;
	int fd;

	zf_session_test_expire_ms = 1000;
	assert_int_equal(zf_store_session_begin(f->dir, "tank/a", 0, &s, &err), 0);
	path = zf_xasprintf("%s/%s.json", dir, zf_store_session_id(s));
	zf_sleep_ms(1500);                      /* past the expiry, beating all along */
	assert_true(zf_store_session_alive(s));

	assert_int_equal(rename(dir, aside), 0);
	fd = open(dir, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	zf_sleep_ms(100);
	assert_true(zf_store_session_alive(s)); /* failed beats, but not for long */
	zf_sleep_ms(1200);
	assert_false(zf_store_session_alive(s));

	/* the directory back: still given up, and no more beats are written */
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(rename(aside, dir), 0);
	assert_int_equal(zf_store_session_list(f->dir, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	beat = v[0].beat;
	zf_store_session_info_free(v, n);
	zf_sleep_ms(100);
	assert_false(zf_store_session_alive(s));
	assert_int_equal(zf_store_session_list(f->dir, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].beat, beat);
	zf_store_session_info_free(v, n);
	assert_int_equal(zf_store_session_end(s, &err), 0);
	assert_false(exists(path));
	zf_session_test_expire_ms = 0;
}

static void test_session_hostile(void **state)
{
	struct fixture *f = *state;
	static const char good[] =
		"{\"host\":\"h1\",\"pid\":12,\"started\":1700000000,\"beat\":3,"
		"\"dataset\":\"tank/a\",\"base_guid\":\"99\"}\n";
	static const char *const bad[] = {
		"",
		"[]",
		"{\"host\":\"h1\",\"pid\":12,\"started\":1700000000,\"beat\":3,"
		"\"dataset\":\"tank/a\"}",                                     /* missing key */
		"{\"host\":\"h1\",\"pid\":12,\"started\":1700000000,\"beat\":3,"
		"\"dataset\":\"tank/a\",\"base_guid\":null,\"x\":1}",         /* unknown key */
		"{\"host\":\"h1\",\"pid\":0,\"started\":1700000000,\"beat\":3,"
		"\"dataset\":\"tank/a\",\"base_guid\":null}",                  /* pid 0 */
		"{\"host\":\"h1\",\"pid\":12,\"started\":1700000000,\"beat\":-1,"
		"\"dataset\":\"tank/a\",\"base_guid\":null}",                  /* negative */
		"{\"host\":\"h1\",\"pid\":12,\"started\":1700000000,\"beat\":\"3\","
		"\"dataset\":\"tank/a\",\"base_guid\":null}",                  /* wrong type */
		"{\"host\":\"h1\",\"pid\":12,\"started\":1700000000,\"beat\":3,"
		"\"dataset\":\"tank/a\",\"base_guid\":\"0\"}",                 /* guid 0 */
		"{\"host\":\"h1\",\"pid\":12,\"started\":1700000000,\"beat\":3,"
		"\"dataset\":\"tank/../a\",\"base_guid\":null}",               /* bad name */
		"{\"host\":\"h\\\"1\",\"pid\":12,\"started\":1700000000,\"beat\":3,"
		"\"dataset\":\"tank/a\",\"base_guid\":null}",                  /* escape */
		"{\"host\":\"h1\",\"pid\":12,\"started\":1700000000,\"beat\":3,\"beat\":4,"
		"\"dataset\":\"tank/a\",\"base_guid\":null}",                  /* repeated */
		"{\"pid\":12,\"host\":\"h1\",\"started\":1700000000,\"beat\":3,"
		"\"dataset\":\"tank/a\",\"base_guid\":null}",                  /* order */
		"{\"host\":\"h1\",\"pid\":12,\"started\":1700000000,\"beat\":3,"
		"\"dataset\":\"tank/a\",\"base_guid\":null} ",                 /* bytes after */
		"{\"host\":\"h1\",\"pid\":12,\"started\":1700000000,\"beat\":1e3,"
		"\"dataset\":\"tank/a\",\"base_guid\":null}",                  /* exponent */
	};
	struct zf_store_session_info i = { 0 };
	struct zf_store_session_info *v = NULL;
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_free_ char *dir = sub(f, "sessions");
	_cleanup_free_ char *p = NULL, *p2 = NULL;
	size_t n = 0;

	assert_int_equal(zf_store_session_parse((const uint8_t *)good, strlen(good), "g", &i,
						&err), 0);
	assert_string_equal(i.host, "h1");
	assert_int_equal(i.beat, 3);
	assert_int_equal(i.base_guid, 99);
	free(i.host);
	free(i.dataset);
	for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
		struct zf_err e = ZF_ERR_INIT;

		if (zf_store_session_parse((const uint8_t *)bad[k], strlen(bad[k]), "b", &i, &e) >= 0)
			fail_msg("accepted bad session file %zu: %s", k, bad[k]);
		assert_non_null(strstr(zf_err_msg(&e), "session file 'b'"));
	}
	/* the lister: a good file passes, a bad one names itself, a strange name too */
	assert_int_equal(mkdir(dir, 0755), 0);
	p = zf_xasprintf("%s/0123456789abcdef0123456789abcdef.json", dir);
	put_file(p, good, strlen(good));
	assert_int_equal(zf_store_session_list(f->dir, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].id, "0123456789abcdef0123456789abcdef");
	zf_store_session_info_free(v, n);
	put_file(p, bad[4], strlen(bad[4]));
	assert_true(zf_store_session_list(f->dir, &v, &n, &err) < 0);
	assert_non_null(strstr(zf_err_msg(&err), "0123456789abcdef0123456789abcdef.json"));
	put_file(p, good, strlen(good));
	p2 = zf_xasprintf("%s/README", dir);
	put_file(p2, "x", 1);
	zf_err_clear(&err);
	assert_true(zf_store_session_list(f->dir, &v, &n, &err) < 0);
	assert_non_null(strstr(zf_err_msg(&err), "README"));
}

/* ---- gc passes ---------------------------------------------------------- */

static void test_fossilise_then_delete(void **state)
{
	struct fixture *f = *state;
	struct zf_chunk_id old, young;
	struct zf_gc_stats st;
	_cleanup_free_ char *lock = sub(f, "gc/lock");

	put_chunk(f, 1, 2 * HOUR, &old);
	put_chunk(f, 2, 0, &young);
	run_gc(f, &st);
	assert_int_equal(st.pass, 1);
	assert_true(st.deletion_skipped);
	assert_int_equal(st.chunks_fossilised, 1);
	assert_false(chunk_at(f, &old, false));
	assert_true(chunk_at(f, &old, true));
	assert_true(chunk_at(f, &young, false));
	assert_false(exists(lock));

	/* within the grace: nothing deleted; the young one is still young */
	zf_gc_test_time_shift = HOUR / 2;
	run_gc(f, &st);
	assert_true(st.deletion_skipped);
	assert_non_null(strstr(st.skip_reason, "less than the grace"));
	assert_true(chunk_at(f, &old, true));
	assert_true(chunk_at(f, &young, false));

	zf_gc_test_time_shift = 6 * HOUR;
	run_gc(f, &st);
	assert_int_equal(st.pass, 3);
	assert_false(st.deletion_skipped);
	assert_int_equal(st.chunks_deleted, 1);
	assert_false(chunk_at(f, &old, true));
	assert_false(chunk_at(f, &old, false));
	/* the young one is now old by the collector's clock: a fossil, not yet deleted */
	assert_true(chunk_at(f, &young, true));
}

static void test_revive(void **state)
{
	struct fixture *f = *state;
	struct zf_chunk_id a, b, c, idx[2];
	struct zf_gc_stats st;
	struct zf_err err = ZF_ERR_INIT;

	put_chunk(f, 1, 2 * HOUR, &a);
	put_chunk(f, 2, 2 * HOUR, &b);
	put_chunk(f, 3, 2 * HOUR, &c);
	run_gc(f, &st);
	assert_int_equal(st.chunks_fossilised, 3);
	/* a fossil is missing to a writer: it uploads b anew */
	assert_int_equal(zf_store_has(f->store, &b, NULL, &err), 0);
	assert_int_equal(zf_store_has_readable(f->store, &b, NULL, &err), 1);
	put_chunk(f, 2, 0, &b);
	assert_true(chunk_at(f, &b, true) && chunk_at(f, &b, false));
	/* a backup commits between the passes, needing a (a fossil) and b */
	commit_entry(f, 10, &a, 1, &b, 1, 0, idx);

	zf_gc_test_time_shift = 5 * HOUR;
	run_gc(f, &st);
	assert_false(st.deletion_skipped);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.chunks_marked, 2);
	assert_int_equal(st.indexes_marked, 2);
	assert_int_equal(st.chunks_revived, 1);
	assert_int_equal(st.chunks_deleted, 1);
	assert_true(chunk_at(f, &a, false));
	assert_false(chunk_at(f, &a, true));
	assert_true(chunk_at(f, &b, false));
	assert_false(chunk_at(f, &b, true));
	assert_false(chunk_at(f, &c, false) || chunk_at(f, &c, true));
	/* needed indexes are never fossilised, however old */
	assert_int_equal(st.indexes_fossilised, 0);
}

static void test_unneeded_index(void **state)
{
	struct fixture *f = *state;
	struct zf_chunk_id a, idx, idx2[2];
	struct zf_gc_stats st;
	_cleanup_free_ char *p = NULL, *pf = NULL;

	put_chunk(f, 1, 2 * HOUR, &a);
	put_index(f, &a, 1, 2 * HOUR, &idx);    /* a backup that never committed */
	p = index_path(f, &idx, false);
	pf = index_path(f, &idx, true);
	run_gc(f, &st);
	assert_int_equal(st.indexes_fossilised, 1);
	assert_false(exists(p));
	assert_true(exists(pf));
	/*
	 * A backup of the same data commits an entry naming the same index
	 * (same chunks, same bytes, same name); then, as if a pass had
	 * fossilised it under the entry, only the fossil is left.  The next
	 * pass reads the index through its fossil and renames both back.
	 */
	commit_entry(f, 10, &a, 1, &a, 1, 0, idx2);
	assert_memory_equal(&idx2[0], &idx, sizeof(idx));
	assert_int_equal(unlink(p), 0);
	zf_gc_test_time_shift = 5 * HOUR;
	run_gc(f, &st);
	assert_int_equal(st.indexes_marked, 1);
	assert_int_equal(st.indexes_revived, 1);
	assert_int_equal(st.chunks_revived, 1);
	assert_true(exists(p));
	assert_false(exists(pf));
	assert_true(chunk_at(f, &a, false));
	assert_false(chunk_at(f, &a, true));
}

static void test_live_session_blocks(void **state)
{
	struct fixture *f = *state;
	struct zf_store_session *s = NULL;
	struct zf_chunk_id old;
	struct zf_gc_stats st;
	struct zf_err err = ZF_ERR_INIT;

	assert_int_equal(zf_store_session_begin(f->dir, "tank/a", 0, &s, &err), 0);
	put_chunk(f, 1, 2 * HOUR, &old);
	run_gc(f, &st);
	assert_int_equal(st.sessions_live, 1);
	assert_true(chunk_at(f, &old, true));
	zf_sleep_ms(100);       /* it beats meanwhile */
	zf_gc_test_time_shift = 5 * HOUR;
	run_gc(f, &st);
	assert_true(st.deletion_skipped);
	assert_non_null(strstr(st.skip_reason, "still beating"));
	assert_true(chunk_at(f, &old, true));
	assert_int_equal(st.sessions_live, 1);
	assert_int_equal(st.sessions_removed, 0);
	/* the writer ends: the next pass after grace deletes */
	assert_int_equal(zf_store_session_end(s, &err), 0);
	zf_gc_test_time_shift = 10 * HOUR;
	run_gc(f, &st);
	assert_false(st.deletion_skipped);
	assert_int_equal(st.chunks_deleted, 1);
	assert_false(chunk_at(f, &old, true));
}

static void test_stale_session(void **state)
{
	struct fixture *f = *state;
	static const char dead[] =
		"{\"host\":\"gone\",\"pid\":12,\"started\":1700000000,\"beat\":3,"
		"\"dataset\":\"tank/a\",\"base_guid\":null}\n";
	_cleanup_free_ char *dir = sub(f, "sessions");
	_cleanup_free_ char *p = sub(f, "sessions/00000000000000000000000000000001.json");
	struct zf_chunk_id old;
	struct zf_gc_stats st;

	assert_int_equal(mkdir(dir, 0755), 0);
	put_file(p, dead, strlen(dead));
	put_chunk(f, 1, 2 * HOUR, &old);
	run_gc(f, &st);
	assert_int_equal(st.sessions_live, 1);
	assert_true(exists(p));
	/* within grace it stays */
	zf_gc_test_time_shift = HOUR;
	run_gc(f, &st);
	assert_true(exists(p));
	assert_int_equal(st.sessions_removed, 0);
	zf_gc_test_time_shift = 6 * HOUR;
	run_gc(f, &st);
	assert_false(st.deletion_skipped);      /* the same beat: it does not block */
	assert_false(chunk_at(f, &old, true));
	assert_int_equal(st.sessions_removed, 1);
	assert_int_equal(st.sessions_live, 0);
	assert_false(exists(p));
}

static void test_lock(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *dir = sub(f, "gc"), *lock = sub(f, "gc/lock");
	struct zf_chunk_id old;
	struct zf_gc_stats st;
	struct zf_err err = ZF_ERR_INIT;

	put_chunk(f, 1, 2 * HOUR, &old);
	assert_int_equal(mkdir(dir, 0755), 0);
	put_file(lock, "host other pid 1 since 0\n", 25);
	assert_int_equal(zf_store_gc(f->dir, &opts, &st, &err), -EBUSY);
	assert_non_null(strstr(zf_err_msg(&err), "gc/lock"));
	assert_non_null(strstr(zf_err_msg(&err), "host other pid 1"));
	assert_null(strchr(zf_err_msg(&err), '\n'));
	assert_true(exists(lock));              /* not ours to remove */
	assert_true(chunk_at(f, &old, false));  /* and nothing done */
	assert_int_equal(unlink(lock), 0);
	run_gc(f, &st);
	assert_true(chunk_at(f, &old, true));
}

static void test_unreadable_stops(void **state)
{
	struct fixture *f = *state;
	struct zf_chunk_id old, other, idx[2];
	struct zf_gc_stats st;
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_free_ char *bad = sub(f, "catalogue/tank%2Fa/garbage.json");
	_cleanup_free_ char *ip = NULL;

	put_chunk(f, 1, 2 * HOUR, &old);
	put_chunk(f, 9, 0, &other);
	commit_entry(f, 10, &other, 1, &other, 1, 0, idx);
	run_gc(f, &st);
	assert_true(chunk_at(f, &old, true));

	/* an entry no zferry can read: gc cannot know what it needs */
	put_file(bad, "{}", 2);
	put_chunk(f, 2, 2 * HOUR, &other);
	zf_gc_test_time_shift = 5 * HOUR;
	assert_true(zf_store_gc(f->dir, &opts, &st, &err) < 0);
	assert_non_null(strstr(zf_err_msg(&err), "garbage.json"));
	assert_true(chunk_at(f, &old, true));           /* nothing deleted */
	assert_true(chunk_at(f, &other, false));        /* nothing fossilised */
	assert_int_equal(unlink(bad), 0);

	/* an index whose content is not its name */
	ip = index_path(f, &idx[1], false);
	put_file(ip, "not an index at all, but long enough for a header", 50);
	zf_err_clear(&err);
	assert_true(zf_store_gc(f->dir, &opts, &st, &err) < 0);
	assert_non_null(strstr(zf_err_msg(&err), "does not match its name"));
	assert_true(chunk_at(f, &old, true));
	/* a missing index */
	assert_int_equal(unlink(ip), 0);
	zf_err_clear(&err);
	assert_true(zf_store_gc(f->dir, &opts, &st, &err) < 0);
	assert_non_null(strstr(zf_err_msg(&err), "is missing"));
	assert_true(chunk_at(f, &old, true));
	assert_true(chunk_at(f, &other, false));
}

static void test_failed_pass_blocks_next(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *bad = sub(f, "catalogue/tank%2Fa/garbage.json");
	_cleanup_free_ char *cat = sub(f, "catalogue"), *ds = sub(f, "catalogue/tank%2Fa");
	struct zf_chunk_id old;
	struct zf_gc_stats st;
	struct zf_err err = ZF_ERR_INIT;

	put_chunk(f, 1, 2 * HOUR, &old);
	run_gc(f, &st);
	assert_int_equal(mkdir(cat, 0755), 0);
	assert_int_equal(mkdir(ds, 0755), 0);
	put_file(bad, "{}", 2);
	zf_gc_test_time_shift = 5 * HOUR;
	assert_true(zf_store_gc(f->dir, &opts, &st, &err) < 0);
	assert_int_equal(unlink(bad), 0);
	/* the failed pass left "started": this one may not delete */
	zf_gc_test_time_shift = 10 * HOUR;
	run_gc(f, &st);
	assert_true(st.deletion_skipped);
	assert_non_null(strstr(st.skip_reason, "did not finish"));
	assert_true(chunk_at(f, &old, true));
}

static void test_dry_run(void **state)
{
	struct fixture *f = *state;
	struct zf_gc_opts dry = opts;
	struct zf_chunk_id old;
	struct zf_gc_stats st;
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_free_ char *sp = sub(f, "gc/state.json");

	dry.dry_run = true;
	put_chunk(f, 1, 2 * HOUR, &old);
	assert_int_equal(zf_store_gc(f->dir, &dry, &st, &err), 0);
	assert_int_equal(st.chunks_fossilised, 1);
	assert_true(chunk_at(f, &old, false));
	assert_false(chunk_at(f, &old, true));
	assert_false(exists(sp));
}

/* Temporary files a killed writer left: old ones go, a fresh one stays even with --min-age 0. */
static void test_abandoned_temp(void **state)
{
	struct fixture *f = *state;
	struct zf_gc_opts now = opts;
	struct zf_chunk_id id;
	struct zf_gc_stats st;
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_free_ char *cp = NULL, *dir = NULL, *old_chunk = NULL, *young_chunk = NULL;
	_cleanup_free_ char *old_index = NULL, *young_index = NULL, *idx = sub(f, "index");

	put_chunk(f, 1, 0, &id);
	cp = chunk_path(f, &id, false);
	dir = zf_xstrndup(cp, (size_t)(strrchr(cp, '/') - cp));
	old_chunk = zf_xasprintf("%s/.%s.tmp-0123456789abcdef", dir, strrchr(cp, '/') + 1);
	young_chunk = zf_xasprintf("%s/.young.tmp", dir);
	assert_int_equal(mkdir(idx, 0777), 0);
	old_index = zf_xasprintf("%s/.backup-00000000000000aa-meta.caibx", idx);
	young_index = zf_xasprintf("%s/.backup-00000000000000bb-data.caibx", idx);
	put_file(old_chunk, "x", 1);
	put_file(young_chunk, "x", 1);
	put_file(old_index, "x", 1);
	put_file(young_index, "x", 1);
	age_file(old_chunk, ZF_GC_TEMP_AGE + HOUR);
	age_file(old_index, ZF_GC_TEMP_AGE + HOUR);
	age_file(young_chunk, ZF_GC_TEMP_AGE - HOUR);
	now.min_age = 0;
	assert_int_equal(zf_store_gc(f->dir, &now, &st, &err), 0);
	assert_int_equal(st.temp_removed, 2);
	assert_false(exists(old_chunk));
	assert_false(exists(old_index));
	assert_true(exists(young_chunk));
	assert_true(exists(young_index));
}

static void test_reader_fallback(void **state)
{
	struct fixture *f = *state;
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	struct zf_chunk_id old;
	struct zf_gc_stats st;
	struct zf_err err = ZF_ERR_INIT;
	char data[64];
	uint64_t size = 0;

	put_chunk(f, 1, 2 * HOUR, &old);
	run_gc(f, &st);
	assert_true(chunk_at(f, &old, true));
	assert_int_equal(zf_store_get(f->store, NULL, &old, 1 << 20, &out, &err), 0);
	chunk_data(1, data);
	assert_int_equal(out.len, strlen(data));
	assert_memory_equal(out.data, data, out.len);
	assert_int_equal(zf_store_has(f->store, &old, NULL, &err), 0);
	assert_int_equal(zf_store_has_quick(f->store, &old, &err), 0);
	assert_int_equal(zf_store_has_readable(f->store, &old, &size, &err), 1);
	assert_true(size > 0);
	/* gone for good: a reader gets -ENOENT */
	zf_gc_test_time_shift = 5 * HOUR;
	run_gc(f, &st);
	assert_int_equal(zf_store_get(f->store, NULL, &old, 1 << 20, &out, &err), -ENOENT);
}

static int count_chunk(const struct zf_chunk_id *id, uint64_t size, void *userdata)
{
	(void)id;
	(void)size;
	(*(int *)userdata)++;
	return 0;
}

static void test_walk_skips_fossils(void **state)
{
	struct fixture *f = *state;
	struct zf_chunk_id a, b;
	struct zf_gc_stats st;
	struct zf_err err = ZF_ERR_INIT;
	int n = 0;

	put_chunk(f, 1, 2 * HOUR, &a);
	put_chunk(f, 2, 0, &b);
	run_gc(f, &st);
	assert_int_equal(zf_store_walk(f->store, count_chunk, &n, &err), 0);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fossilise_then_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unneeded_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_session_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_pass_blocks_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abandoned_temp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_skips_fossils, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
