/* tests/unit/test-chunk-catalogue-verify.c — store verify's catalogue pass names broken backups */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "backup-fixture.h"
#include "chunk/catalogue-verify.h"
#include "chunk/idmap.h"
#include "chunk/store-ops.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"

/* What the report said: one line per broken backup, as "DS@SNAP: fault; fault (+N)". */
struct seen {
	struct zf_buf lines;
	size_t calls;
};

static void on_broken(const struct zf_catalogue_entry *e, const struct zf_catalogue_fault *f,
		      size_t n, uint64_t more, void *userdata)
{
	struct seen *s = userdata;

	s->calls++;
	zf_buf_addf(&s->lines, "%s@%s:", e->dataset, e->snapshot);
	for (size_t i = 0; i < n; i++) {
		zf_buf_adds(&s->lines, i ? "; " : " ");
		zf_catalogue_fault_str(&f[i], &s->lines);
	}
	if (more)
		zf_buf_addf(&s->lines, " (+%" PRIu64 ")", more);
	zf_buf_addc(&s->lines, '\n');
}

/* Runs the pass; damaged may be NULL.  Returns the stats, fails the test on error. */
static struct zf_catalogue_verify_stats verify(struct backup_fixture *f,
					       const struct zf_idmap *damaged, struct seen *s)
{
	struct zf_catalogue_verify_stats st = { 99, 99 };
	struct zf_err err = ZF_ERR_INIT;

	if (zf_catalogue_verify(f->store, damaged, on_broken, s, &st, &err) != 0)
		fail_msg("verify: %s", err.msg);
	return st;
}

static char *hex_of(const char *text)
{
	struct zf_chunk_id id;
	char hex[ZF_CHUNK_ID_HEX];

	zf_chunk_id_hash(NULL, text, strlen(text), &id);
	return zf_xstrdup(zf_chunk_id_hex(&id, hex));
}

static char *chunk_file(struct backup_fixture *f, const char *text)
{
	struct zf_chunk_id id;

	zf_chunk_id_hash(NULL, text, strlen(text), &id);
	return bf_chunk_path(f, &id);
}

static char *index_file(struct backup_fixture *f, const struct zf_chunk_id *id)
{
	char hex[ZF_CHUNK_ID_HEX];

	return zf_xasprintf("%s/index/%s.caibx", f->dir, zf_chunk_id_hex(id, hex));
}

/* Overwrites a few bytes in the middle of a file, keeping its size. */
static void scribble(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	off_t size;

	assert_true(fd >= 0);
	size = lseek(fd, 0, SEEK_END);
	assert_true(size > 4);
	assert_int_equal(zf_pwrite_full(fd, "\xff\x00\xff\x00", 4, (uint64_t)size / 2 - 2), 0);
	close(fd);
}

/* a: alpha, beta (full); b: beta, gamma (from a); c of tank/c: delta */
static void three_backups(struct backup_fixture *f, struct zf_catalogue_entry *e)
{
	bf_backup(f, "tank/a", "a", 1, 10, 0, NULL, (const char *const[]){ "alpha", "beta" }, 2,
		  &e[0]);
	bf_backup(f, "tank/a", "b", 2, 20, 1, "a", (const char *const[]){ "beta", "gamma" }, 2,
		  &e[1]);
	bf_backup(f, "tank/c", "c", 3, 30, 0, NULL, (const char *const[]){ "delta" }, 1, &e[2]);
}

static void release3(struct zf_catalogue_entry *e)
{
	for (size_t i = 0; i < 3; i++)
		zf_catalogue_entry_release(&e[i]);
}

static void test_clean(void **state)
{
	struct backup_fixture *f = *state;
	struct seen s = { ZF_BUF_INIT, 0 };
	struct zf_catalogue_verify_stats st;
	struct zf_catalogue_entry e[3];

	/* no catalogue at all: nothing to check, no error */
	st = verify(f, NULL, &s);
	assert_int_equal(st.backups, 0);
	assert_int_equal(st.broken, 0);
	three_backups(f, e);
	st = verify(f, NULL, &s);
	assert_int_equal(st.backups, 3);
	assert_int_equal(st.broken, 0);
	assert_int_equal(s.calls, 0);
	zf_buf_release(&s.lines);
	release3(e);
}

static void test_missing_chunk(void **state)
{
	struct backup_fixture *f = *state;
	_cleanup_free_ char *path = chunk_file(f, "gamma"), *hex = hex_of("gamma");
	_cleanup_free_ char *want = NULL;
	struct seen s = { ZF_BUF_INIT, 0 };
	struct zf_catalogue_verify_stats st;
	struct zf_catalogue_entry e[3];

	three_backups(f, e);
	assert_int_equal(unlink(path), 0);
	st = verify(f, NULL, &s);
	assert_int_equal(st.backups, 3);
	assert_int_equal(st.broken, 1);
	want = zf_xasprintf("tank/a@b: chunk %s missing (in data index)\n", hex);
	assert_string_equal(zf_buf_str(&s.lines), want);
	zf_buf_release(&s.lines);
	release3(e);
}

static void collect_damaged(const struct zf_chunk_id *id, const char *why, bool removed,
			    void *userdata)
{
	(void)why;
	(void)removed;
	zf_idmap_add(userdata, id, &(struct zf_idmap_value){ 0 });
}

/* A chunk the chunk pass finds damaged names every backup that needs it, and which index. */
static void test_damaged_chunk(void **state)
{
	struct backup_fixture *f = *state;
	_cleanup_(zf_idmap_releasep) struct zf_idmap damaged = ZF_IDMAP_INIT;
	_cleanup_free_ char *path = chunk_file(f, "beta"), *hex = hex_of("beta");
	_cleanup_free_ char *meta = chunk_file(f, "meta tank/c@c"), *mhex = hex_of("meta tank/c@c");
	_cleanup_free_ char *want = NULL;
	struct seen s = { ZF_BUF_INIT, 0 };
	struct zf_verify_stats vst;
	struct zf_catalogue_verify_stats st;
	struct zf_err err = ZF_ERR_INIT;
	struct zf_catalogue_entry e[3];

	three_backups(f, e);
	scribble(path);
	scribble(meta);
	assert_int_equal(zf_chunk_verify(f->store, 1, false, collect_damaged, &damaged, &vst,
					 &err), 0);
	assert_int_equal(vst.damaged, 2);
	st = verify(f, &damaged, &s);
	assert_int_equal(st.broken, 3);
	want = zf_xasprintf("tank/a@a: chunk %s damaged (in data index)\n"
			    "tank/a@b: chunk %s damaged (in data index)\n"
			    "tank/c@c: chunk %s damaged (in meta index)\n", hex, hex, mhex);
	assert_string_equal(zf_buf_str(&s.lines), want);
	zf_buf_release(&s.lines);
	release3(e);
}

static void test_damaged_index(void **state)
{
	struct backup_fixture *f = *state;
	struct seen s = { ZF_BUF_INIT, 0 };
	struct zf_catalogue_verify_stats st;
	struct zf_catalogue_entry e[3];
	_cleanup_free_ char *data = NULL, *meta = NULL, *want = NULL;
	char hex[ZF_CHUNK_ID_HEX], mhex[ZF_CHUNK_ID_HEX];

	three_backups(f, e);
	data = index_file(f, &e[0].data_index);
	meta = index_file(f, &e[2].meta_index);
	scribble(data);
	assert_int_equal(unlink(meta), 0);
	st = verify(f, NULL, &s);
	assert_int_equal(st.broken, 2);
	zf_chunk_id_hex(&e[0].data_index, hex);
	zf_chunk_id_hex(&e[2].meta_index, mhex);
	want = zf_xasprintf("tank/a@a: data index %s damaged: its SHA-512/256 is ", hex);
	assert_true(strncmp(zf_buf_str(&s.lines), want, strlen(want)) == 0);
	free(want);
	want = zf_xasprintf("\ntank/c@c: meta index %s missing\n", mhex);
	assert_non_null(strstr(zf_buf_str(&s.lines), want));
	/* b shares no index with a: not named */
	assert_null(strstr(zf_buf_str(&s.lines), "tank/a@b"));
	zf_buf_release(&s.lines);
	release3(e);
}

/* Many faults: the first few shown, the rest counted, each chunk once. */
static void test_many_faults(void **state)
{
	struct backup_fixture *f = *state;
	const char *texts[] = { "c1", "c2", "c3", "c4", "c5", "c1" };
	struct seen s = { ZF_BUF_INIT, 0 };
	struct zf_catalogue_verify_stats st;
	struct zf_catalogue_entry e;

	bf_backup(f, "tank/m", "s", 7, 70, 0, NULL, texts, ELEMENTSOF(texts), &e);
	for (size_t i = 0; i < 5; i++) {
		_cleanup_free_ char *p = chunk_file(f, texts[i]);
		assert_int_equal(unlink(p), 0);
	}
	st = verify(f, NULL, &s);
	assert_int_equal(st.broken, 1);
	assert_non_null(strstr(zf_buf_str(&s.lines), " (+2)\n"));
	assert_int_equal(s.calls, 1);
	zf_buf_release(&s.lines);
	zf_catalogue_entry_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, backup_fixture_setup,
						backup_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_missing_chunk, backup_fixture_setup,
						backup_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_chunk, backup_fixture_setup,
						backup_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_index, backup_fixture_setup,
						backup_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_many_faults, backup_fixture_setup,
						backup_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
