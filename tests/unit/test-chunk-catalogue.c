/* tests/unit/test-chunk-catalogue.c — catalogue entries: JSON, hostile input, commit, chains */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "chunk/catalogue.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"

static void fill_id(struct zf_chunk_id *id, uint8_t v)
{
	memset(id->b, v, sizeof(id->b));
}

/* An entry as a backup would commit it; base_guid 0 makes a full. */
static void make_entry(struct zf_catalogue_entry *e, const char *ds, const char *snap,
		       uint64_t guid, uint64_t txg, uint64_t base_guid, const char *base_snap)
{
	memset(e, 0, sizeof(*e));
	e->dataset = zf_xstrdup(ds);
	e->snapshot = zf_xstrdup(snap);
	e->guid = guid;
	e->createtxg = txg;
	e->snapshot_time = 1700000000 + (int64_t)txg;
	e->base_guid = base_guid;
	e->base_snapshot = base_snap ? zf_xstrdup(base_snap) : NULL;
	e->send_flags = ZF_CATALOGUE_SEND_LARGE_BLOCKS | ZF_CATALOGUE_SEND_COMPRESSED;
	e->stream_bytes = UINT64_C(18446744073709551615);
	fill_id(&e->stream_digest, 0xab);
	fill_id(&e->meta_index, 0x11);
	fill_id(&e->data_index, 0x22);
	e->chunk_min = 16384;
	e->chunk_avg = 65536;
	e->chunk_max = 262144;
	e->created = 1765000000;
	e->zferry_version = zf_xstrdup("0.1.0");
}

static void assert_entry_eq(const struct zf_catalogue_entry *a, const struct zf_catalogue_entry *b)
{
	assert_string_equal(a->dataset, b->dataset);
	assert_string_equal(a->snapshot, b->snapshot);
	assert_int_equal(a->guid, b->guid);
	assert_int_equal(a->createtxg, b->createtxg);
	assert_int_equal(a->snapshot_time, b->snapshot_time);
	assert_int_equal(a->base_guid, b->base_guid);
	if (a->base_snapshot || b->base_snapshot) {
		assert_non_null(a->base_snapshot);
		assert_non_null(b->base_snapshot);
		assert_string_equal(a->base_snapshot, b->base_snapshot);
	}
	assert_int_equal(a->send_flags, b->send_flags);
	assert_true(a->stream_bytes == b->stream_bytes);
	assert_memory_equal(&a->stream_digest, &b->stream_digest, sizeof(a->stream_digest));
	assert_memory_equal(&a->meta_index, &b->meta_index, sizeof(a->meta_index));
	assert_memory_equal(&a->data_index, &b->data_index, sizeof(a->data_index));
	assert_int_equal(a->chunk_min, b->chunk_min);
	assert_int_equal(a->chunk_avg, b->chunk_avg);
	assert_int_equal(a->chunk_max, b->chunk_max);
	assert_int_equal(a->created, b->created);
	assert_string_equal(a->zferry_version, b->zferry_version);
}

static void test_round_trip(void **state)
{
	(void)state;
	const char *names[][3] = {
		{ "tank/home", "daily-2026-12-07", NULL },
		{ "pool/my data:set/a.b-c_d", "snap with space", "base:1" },
	};

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry e = { 0 };
		_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry back = { 0 };
		_cleanup_buf_ struct zf_buf json = ZF_BUF_INIT;
		_cleanup_buf_ struct zf_buf again = ZF_BUF_INIT;
		struct zf_err err = ZF_ERR_INIT;

		make_entry(&e, names[i][0], names[i][1], UINT64_C(0xfedcba9876543210), 12345,
			   names[i][2] ? 77 : 0, names[i][2]);
		if (i == 1)
			e.send_flags = ZF_CATALOGUE_SEND_ALL;
		assert_int_equal(zf_catalogue_entry_check(&e, &err), 0);
		zf_catalogue_entry_to_json(&e, &json);
		assert_int_equal(zf_catalogue_entry_parse((const uint8_t *)json.data, json.len,
							  "x.json", &back, &err), 0);
		assert_entry_eq(&e, &back);
		zf_catalogue_entry_to_json(&back, &again);
		assert_string_equal(zf_buf_str(&json), zf_buf_str(&again));
		/* without the trailing newline too */
		zf_catalogue_entry_release(&back);
		assert_int_equal(zf_catalogue_entry_parse((const uint8_t *)json.data,
							  json.len - 1, NULL, &back, &err), 0);
	}
}

static void test_json_shape(void **state)
{
	(void)state;
	_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry e = { 0 };
	_cleanup_buf_ struct zf_buf json = ZF_BUF_INIT;

	make_entry(&e, "tank/a", "s1", 5, 10, 0, NULL);
	zf_catalogue_entry_to_json(&e, &json);
	assert_non_null(strstr(zf_buf_str(&json), "{\"format\":1,\"dataset\":\"tank/a\","));
	assert_non_null(strstr(zf_buf_str(&json), "\"guid\":\"5\",\"createtxg\":\"10\""));
	assert_non_null(strstr(zf_buf_str(&json), "\"base_guid\":null,\"base_snapshot\":null"));
	assert_non_null(strstr(zf_buf_str(&json),
			       "\"send_flags\":[\"large_blocks\",\"compressed\"]"));
	assert_non_null(strstr(zf_buf_str(&json), "\"stream_bytes\":\"18446744073709551615\""));
	assert_true(json.data[json.len - 1] == '\n');
}

/* Hostile variations of a valid entry: each replaces one piece of its JSON. */
struct hostile {
	const char *find, *replace;
	int code;                       /* 0: any error */
	const char *msg;                /* a piece of the message, or NULL */
};

static const struct hostile hostile_cases[] = {
	/* format first: a newer one says so in one line */
	{ "\"format\":1", "\"format\":2", -EPROTONOSUPPORT,
	  "format 2 is not supported by this zferry (1)" },
	{ "\"format\":1", "\"format\":\"1\"", 0, "key 'format': not an integer" },
	{ "\"format\":1,", "", 0, "missing key 'format'" },
	{ "\"format\":1", "\"format\":99999999999999999999999", -EPROTONOSUPPORT, NULL },
	/* wrong types */
	{ "\"guid\":\"81985529216486895\"", "\"guid\":81985529216486895", 0,
	  "key 'guid': not a string" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":[\"tank/a\"]", 0, "key 'dataset': not a string" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":null", 0, "key 'dataset'" },
	{ "\"send_flags\":[\"large_blocks\",\"compressed\"]", "\"send_flags\":\"raw\"", 0,
	  "not an array" },
	{ "\"send_flags\":[\"large_blocks\",\"compressed\"]", "\"send_flags\":[1]", 0,
	  "not a string" },
	{ "\"send_flags\":[\"large_blocks\",\"compressed\"]", "\"send_flags\":[\"dedup\"]", 0,
	  "no flag this zferry knows" },
	{ "\"send_flags\":[\"large_blocks\",\"compressed\"]",
	  "\"send_flags\":[\"raw\",\"raw\"]", 0, "not as zferry writes it" },
	{ "\"created\":1765000000", "\"created\":1.5", 0, "key 'created': not an integer" },
	{ "\"created\":1765000000", "\"created\":true", 0, "not an integer" },
	/* huge and negative numbers */
	{ "\"snapshot_time\":1700000010", "\"snapshot_time\":-1", 0, "out of range" },
	{ "\"snapshot_time\":1700000010", "\"snapshot_time\":99999999999999999999999", 0,
	  "out of range" },
	{ "\"snapshot_time\":1700000010", "\"snapshot_time\":1e3", 0, "not an integer" },
	{ "\"chunk_max\":262144", "\"chunk_max\":18446744073709551615", 0, "out of range" },
	{ "\"createtxg\":\"10\"", "\"createtxg\":\"18446744073709551616\"", 0, "above 2^64-1" },
	{ "\"createtxg\":\"10\"", "\"createtxg\":\"-1\"", 0, "decimal digits" },
	{ "\"createtxg\":\"10\"", "\"createtxg\":\" 10\"", 0, "decimal digits" },
	{ "\"createtxg\":\"10\"", "\"createtxg\":\"\"", 0, "decimal digits" },
	{ "\"createtxg\":\"10\"", "\"createtxg\":\"0\"", 0, "createtxg" },
	{ "\"createtxg\":\"10\"", "\"createtxg\":\"010\"", 0, "not as zferry writes it" },
	{ "\"guid\":\"81985529216486895\"", "\"guid\":\"0\"", 0, "guid" },
	/* names */
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"tank/../a\"", -EBADMSG, "'..'" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"tank/./a\"", 0, "component '.' not allowed" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"tank//a\"", 0, "empty component" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"/tank/a\"", 0, "begin with a letter" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"tank/a/\"", 0, "empty component" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"tank/a@b\"", 0, "expected a dataset name" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"tank/a;rm -rf\"", 0, "';'" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"tank/a\\\"b\"", 0, "'\"'" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"tank/a\\u0000b\"", 0, "NUL" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"tank/a\\u001bb\"", 0, "'\\x1b'" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"tank/\\u00e9\"", 0, "'\\xc3'" },
	{ "\"dataset\":\"tank/a\"", "\"dataset\":\"\"", 0, "invalid name: empty" },
	{ "\"snapshot\":\"s1\"", "\"snapshot\":\"a/b\"", 0, "'/'" },
	{ "\"snapshot\":\"s1\"", "\"snapshot\":\"..\"", 0, "'..'" },
	{ "\"snapshot\":\"s1\"", "\"snapshot\":\"a;b\"", 0, "';'" },
	{ "\"snapshot\":\"s1\"", "\"snapshot\":\"a'b\"", 0, "character '''" },
	{ "\"snapshot\":\"s1\"", "\"snapshot\":\"\"", 0, "empty" },
	{ "\"zferry_version\":\"0.1.0\"", "\"zferry_version\":\"0.1 evil\"", 0, "'\\x20'" },
	{ "\"zferry_version\":\"0.1.0\"", "\"zferry_version\":\"0.1\\\"\"", 0, "zferry_version" },
	/* full and incremental must agree */
	{ "\"base_guid\":null", "\"base_guid\":\"7\"", 0, "one is null" },
	{ "\"base_snapshot\":null", "\"base_snapshot\":\"s0\"", 0, "one is null" },
	{ "\"base_guid\":null,\"base_snapshot\":null",
	  "\"base_guid\":\"81985529216486895\",\"base_snapshot\":\"s1\"", 0, "own guid" },
	{ "\"base_guid\":null,\"base_snapshot\":null",
	  "\"base_guid\":\"0\",\"base_snapshot\":\"s0\"", 0, "0 is no snapshot's guid" },
	/* hashes */
	{ "\"meta_index\":\"1111", "\"meta_index\":\"111", 0, "not 64 hex digits" },
	{ "\"meta_index\":\"1111", "\"meta_index\":\"../../etc/passwd1111", 0,
	  "not 64 hex digits" },
	{ "\"stream_sha512_256\":\"abab", "\"stream_sha512_256\":\"ABAB", 0,
	  "not as zferry writes it" },
	/* chunker */
	{ "\"chunk_min\":16384", "\"chunk_min\":524288", 0, "chunk_min" },
	{ "\"chunk_avg\":65536", "\"chunk_avg\":0", 0, "chunk_min" },
	/* keys */
	{ "\"format\":1,", "\"format\":1,\"extra\":1,", 0, "unknown key 'extra'" },
	{ "\"format\":1,", "\"format\":1,\"Evil\\u001b[31m\":1,", 0, "unknown key" },
	{ "\"format\":1,", "\"format\":1,\"dataset\":\"tank/b\",", 0, "not as zferry writes it" },
	{ "\"format\":1,\"dataset\":\"tank/a\",", "\"dataset\":\"tank/a\",\"format\":1,", 0,
	  "not as zferry writes it" },
	{ "\"format\":1", "\"format\": 1", 0, "not as zferry writes it" },
	{ "\"zferry_version\":\"0.1.0\"", "\"zferry_version\":\"0.1.0\",\"zferry_version\":\"x\"",
	  0, NULL },
	/* not JSON, or not one object */
	{ "}\n", "} {}", 0, NULL },
	{ "}\n", "}\n\n", 0, NULL },
	{ "}\n", "", 0, "not JSON" },
	{ "{", "[", 0, NULL },
	{ "\"format\":1", "\"format\":[[[[[[[[1]]]]]]]]", 0, NULL },
	{ "\"format\":1", "'format':1", 0, NULL },
};

static char *replace_once(const char *s, const char *find, const char *replace)
{
	const char *at = strstr(s, find);

	assert_non_null(at);
	return zf_xasprintf("%.*s%s%s", (int)(at - s), s, replace, at + strlen(find));
}

static void test_hostile(void **state)
{
	(void)state;
	_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry e = { 0 };
	_cleanup_buf_ struct zf_buf json = ZF_BUF_INIT;

	make_entry(&e, "tank/a", "s1", UINT64_C(0x123456789abcdef), 10, 0, NULL);
	zf_catalogue_entry_to_json(&e, &json);
	for (size_t i = 0; i < ELEMENTSOF(hostile_cases); i++) {
		const struct hostile *h = &hostile_cases[i];
		_cleanup_free_ char *bad = replace_once(zf_buf_str(&json), h->find, h->replace);
		struct zf_catalogue_entry out = { 0 };
		struct zf_err err = ZF_ERR_INIT;
		int r = zf_catalogue_entry_parse((const uint8_t *)bad, strlen(bad), "t.json", &out,
						 &err);

		if (r >= 0 || (h->code && r != h->code) ||
		    (h->msg && !strstr(err.msg, h->msg)) || !strchr(err.msg, '\'') ||
		    strchr(err.msg, '\n') || strchr(err.msg, '\x1b'))
			fail_msg("case %zu (%s -> %s): r=%d msg=%s", i, h->find, h->replace, r,
				 err.msg);
		assert_null(out.dataset);
	}
}

static void test_hostile_bytes(void **state)
{
	(void)state;
	_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry e = { 0 };
	_cleanup_buf_ struct zf_buf json = ZF_BUF_INIT;
	struct zf_catalogue_entry out = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_free_ char *big = zf_xmalloc(ZF_CATALOGUE_ENTRY_MAX + 2);

	make_entry(&e, "tank/a", "s1", 3, 10, 0, NULL);
	zf_catalogue_entry_to_json(&e, &json);
	/* a NUL byte in the middle, every truncation, nothing at all, too much */
	json.data[20] = '\0';
	assert_int_equal(zf_catalogue_entry_parse((const uint8_t *)json.data, json.len, NULL,
						  &out, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "NUL byte at 20"));
	json.data[20] = 'x';
	for (size_t n = 0; n < json.len - 1; n++) {
		zf_err_clear(&err);
		assert_true(zf_catalogue_entry_parse((const uint8_t *)json.data, n, NULL, &out,
						     &err) < 0);
	}
	memset(big, ' ', ZF_CATALOGUE_ENTRY_MAX + 1);
	zf_err_clear(&err);
	assert_int_equal(zf_catalogue_entry_parse((const uint8_t *)big,
						  ZF_CATALOGUE_ENTRY_MAX + 1, NULL, &out, &err),
			 -EBADMSG);
	assert_null(out.dataset);
}

static void test_dataset_dir(void **state)
{
	(void)state;
	char dir[ZF_CATALOGUE_DIR_MAX];
	char name[256];

	zf_catalogue_dataset_dir("tank/a b:c.d-e_f", dir);
	assert_string_equal(dir, "tank%2Fa%20b:c.d-e_f");
	zf_catalogue_dataset_dir("tank%2Fa", dir);      /* not valid zfs, but escaped apart */
	assert_string_equal(dir, "tank%252Fa");
	/* 100 components of one byte: 299 bytes escaped, so hashed */
	memset(name, 0, sizeof(name));
	for (size_t i = 0; i < 100; i++)
		memcpy(name + 2 * i, i ? "/a" : "ta", 2);
	zf_catalogue_dataset_dir(name, dir);
	assert_int_equal(strlen(dir), 65);
	assert_true(dir[0] == '=');
	assert_null(strchr(dir, '/'));
	/* 200 bytes escaped still fits; one more does not */
	memset(name, 'a', 200);
	name[200] = '\0';
	zf_catalogue_dataset_dir(name, dir);
	assert_int_equal(strlen(dir), 200);
	name[198] = '/';
	zf_catalogue_dataset_dir(name, dir);
	assert_true(dir[0] == '=');
}

/* ---- a store on disk ---------------------------------------------------- */

struct fixture {
	char dir[64];
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
	char *p;

	snprintf(f->dir, sizeof(f->dir), "/tmp/zf-test-catalogue-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	p = zf_xasprintf("%s/index", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	zf_catalogue_test_fail_before_rename = false;
	return 0;
}

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(zf_write_full(fd, text, strlen(text)), 0);
	close(fd);
}

/* Puts the entry's two indexes into the store (their content does not matter here). */
static void put_indexes(struct fixture *f, const struct zf_catalogue_entry *e)
{
	char hex[ZF_CHUNK_ID_HEX];
	char *p;

	p = zf_xasprintf("%s/index/%s.caibx", f->dir, zf_chunk_id_hex(&e->meta_index, hex));
	put_file(p, "meta");
	free(p);
	p = zf_xasprintf("%s/index/%s.caibx", f->dir, zf_chunk_id_hex(&e->data_index, hex));
	put_file(p, "data");
	free(p);
}

/* Names in dir (dot-files too), or -1 when it does not exist. */
static int count_files(const char *dir, bool dot_only)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
		    (!dot_only || de->d_name[0] == '.'))
			n++;
	closedir(d);
	return n;
}

static void test_commit(void **state)
{
	struct fixture *f = *state;
	_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry e = { 0 };
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	_cleanup_free_ char *rel = NULL, *path = NULL, *dir = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct stat st;

	make_entry(&e, "tank/my data", "s1", 0x1234, 10, 0, NULL);
	/* no indexes yet: refused, and nothing written */
	assert_int_equal(zf_catalogue_commit(f->dir, &e, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "meta index"));
	put_indexes(f, &e);

	rel = zf_catalogue_entry_relpath(&e);
	assert_string_equal(rel, "catalogue/tank%2Fmy%20data/"
				 "00000000000000000010-0000000000001234-0000000000000000.json");
	path = zf_xasprintf("%s/%s", f->dir, rel);
	dir = zf_xasprintf("%s/catalogue/tank%%2Fmy%%20data", f->dir);

	/* a failure after the temporary file was written leaves nothing behind */
	zf_catalogue_test_fail_before_rename = true;
	zf_err_clear(&err);
	assert_int_equal(zf_catalogue_commit(f->dir, &e, &err), -EIO);
	zf_catalogue_test_fail_before_rename = false;
	assert_int_equal(count_files(dir, false), 0);
	assert_int_equal(zf_catalogue_list(f->dir, NULL, &l, &err), 0);
	assert_int_equal(l.n, 0);

	/* success: the entry, and no temporary file */
	assert_int_equal(zf_catalogue_commit(f->dir, &e, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(count_files(dir, false), 1);
	assert_int_equal(count_files(dir, true), 0);
	/* again: kept as it was, 1 */
	assert_int_equal(zf_catalogue_commit(f->dir, &e, &err), 1);
	assert_int_equal(count_files(dir, false), 1);

	assert_int_equal(zf_catalogue_list(f->dir, NULL, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_entry_eq(&l.v[0], &e);
	zf_catalogue_list_release(&l);
	assert_int_equal(zf_catalogue_list(f->dir, "tank/my data", &l, &err), 0);
	assert_int_equal(l.n, 1);
	zf_catalogue_list_release(&l);
	assert_int_equal(zf_catalogue_list(f->dir, "tank/other", &l, &err), 0);
	assert_int_equal(l.n, 0);

	/* an invalid entry is never written */
	free(e.snapshot);
	e.snapshot = zf_xstrdup("../x");
	zf_err_clear(&err);
	assert_true(zf_catalogue_commit(f->dir, &e, &err) < 0);
	assert_int_equal(count_files(dir, false), 1);
}

/* A name whose escape is too long lives under its hash, and lists and resolves alike. */
static void test_commit_long_name(void **state)
{
	struct fixture *f = *state;
	_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry e = { 0 };
	_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry again = { 0 };
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	_cleanup_free_ char *rel = NULL;
	_cleanup_free_ size_t *chain = NULL;
	struct zf_err err = ZF_ERR_INIT;
	char name[200];
	size_t n = 0;

	for (size_t i = 0; i < 90; i++)
		memcpy(name + 2 * i, i ? "/a" : "ta", 2);
	name[180] = '\0';
	make_entry(&e, name, "s1", 9, 10, 0, NULL);
	put_indexes(f, &e);
	assert_int_equal(zf_catalogue_commit(f->dir, &e, &err), 0);
	rel = zf_catalogue_entry_relpath(&e);
	assert_true(rel[strlen("catalogue/")] == '=');
	/* a second backup, its chain from the first */
	make_entry(&again, name, "s2", 10, 20, 9, "s1");
	assert_int_equal(zf_catalogue_commit(f->dir, &again, &err), 0);
	assert_int_equal(zf_catalogue_list(f->dir, name, &l, &err), 0);
	assert_int_equal(l.n, 2);
	zf_catalogue_list_release(&l);
	assert_int_equal(zf_catalogue_list(f->dir, NULL, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(zf_catalogue_resolve(&l, name, &chain, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(l.v[chain[1]].snapshot, "s2");
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	struct zf_catalogue_entry e[4];
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_free_ char *stray = NULL, *moved = NULL, *from = NULL, *tmp = NULL, *rel = NULL;

	make_entry(&e[0], "tank/b", "s3", 0x30, 30, 0x20, "s2");
	make_entry(&e[1], "tank/b", "s1", 0x10, 10, 0, NULL);
	make_entry(&e[2], "tank/a", "s9", 0x90, 90, 0, NULL);
	make_entry(&e[3], "tank/b", "s2", 0x20, 20, 0x10, "s1");
	for (size_t i = 0; i < 4; i++) {
		put_indexes(f, &e[i]);
		assert_int_equal(zf_catalogue_commit(f->dir, &e[i], &err), 0);
	}
	/* a writer's temporary file is skipped */
	tmp = zf_xasprintf("%s/catalogue/tank%%2Fb/.x.json.tmp-0123456789abcdef", f->dir);
	put_file(tmp, "{half");
	assert_int_equal(zf_catalogue_list(f->dir, NULL, &l, &err), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].dataset, "tank/a");
	assert_int_equal(l.v[1].createtxg, 10);
	assert_int_equal(l.v[2].createtxg, 20);
	assert_int_equal(l.v[3].createtxg, 30);
	zf_catalogue_list_release(&l);

	/* an entry moved to another dataset's directory is refused */
	rel = zf_catalogue_entry_relpath(&e[2]);
	from = zf_xasprintf("%s/%s", f->dir, rel);
	moved = zf_xasprintf("%s/catalogue/tank%%2Fb/00000000000000000090-0000000000000090-"
			     "0000000000000000.json", f->dir);
	assert_int_equal(rename(from, moved), 0);
	assert_int_equal(zf_catalogue_list(f->dir, NULL, &l, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "belongs at 'catalogue/tank%2Fa/"));
	assert_int_equal(rename(moved, from), 0);

	/* a stray file stops the listing (gc must not run past it), named safely */
	stray = zf_xasprintf("%s/catalogue/tank%%2Fb/evil\x1b[31m", f->dir);
	put_file(stray, "{}");
	zf_err_clear(&err);
	assert_int_equal(zf_catalogue_list(f->dir, NULL, &l, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "'evil?[31m' is not an entry's name"));
	assert_int_equal(unlink(stray), 0);
	free(stray);
	/* of the right length, but not the form: not read, not shown raw */
	stray = zf_xasprintf("%s/catalogue/tank%%2Fb/00000000000000000090-000000000000009\x1b-"
			     "0000000000000000.json", f->dir);
	put_file(stray, "{}");
	zf_err_clear(&err);
	assert_int_equal(zf_catalogue_list(f->dir, NULL, &l, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "-000000000000009?-0000000000000000.json' is not an"));
	assert_int_equal(unlink(stray), 0);
	free(stray);
	stray = zf_xasprintf("%s/catalogue/evil%%2", f->dir);
	assert_int_equal(mkdir(stray, 0755), 0);
	zf_err_clear(&err);
	assert_int_equal(zf_catalogue_list(f->dir, NULL, &l, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "no dataset's directory"));
	for (size_t i = 0; i < 4; i++)
		zf_catalogue_entry_release(&e[i]);
}

/* ---- chains ------------------------------------------------------------- */

static void add(struct zf_catalogue_list *l, const char *ds, const char *snap, uint64_t guid,
		uint64_t txg, uint64_t base_guid, const char *base_snap)
{
	l->v = zf_xreallocarray(l->v, l->n + 1, sizeof(l->v[0]));
	make_entry(&l->v[l->n++], ds, snap, guid, txg, base_guid, base_snap);
}

/* s1 full, s2 <- s1, s3 <- s2, s4 full, s5 <- s4; s7 <- s6 (missing); x <-> y a cycle */
static void chain_list(struct zf_catalogue_list *l)
{
	add(l, "tank/a", "s1", 1, 10, 0, NULL);
	add(l, "tank/a", "s2", 2, 20, 1, "s1");
	add(l, "tank/a", "s3", 3, 30, 2, "s2");
	add(l, "tank/a", "s4", 4, 40, 0, NULL);
	add(l, "tank/a", "s5", 5, 50, 4, "s4");
	add(l, "tank/a", "s7", 7, 70, 6, "s6");
	add(l, "tank/b", "s1", 1, 10, 0, NULL);         /* same guid, other dataset */
	add(l, "tank/c", "x", 100, 100, 200, "y");
	add(l, "tank/c", "y", 200, 200, 100, "x");
	add(l, "tank/c", "z", 300, 300, 200, "y");
	zf_catalogue_list_sort(l);
}

static void assert_chain(const struct zf_catalogue_list *l, const char *spec,
			 const char *const *want, size_t nwant)
{
	_cleanup_free_ size_t *chain = NULL;
	struct zf_err err = ZF_ERR_INIT;
	size_t n = 0;

	if (zf_catalogue_resolve(l, spec, &chain, &n, &err) != 0)
		fail_msg("%s: %s", spec, err.msg);
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l->v[chain[i]].snapshot, want[i]);
}

static void test_resolve(void **state)
{
	(void)state;
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	_cleanup_free_ size_t *chain = NULL;
	struct zf_err err = ZF_ERR_INIT;
	size_t n = 0;

	chain_list(&l);
	assert_chain(&l, "tank/a@s3", (const char *const[]){ "s1", "s2", "s3" }, 3);
	assert_chain(&l, "tank/a@s1", (const char *const[]){ "s1" }, 1);
	assert_chain(&l, "tank/a@s5", (const char *const[]){ "s4", "s5" }, 2);
	assert_chain(&l, "tank/b", (const char *const[]){ "s1" }, 1);

	/* the newest of tank/a is s7, whose base is missing: named */
	assert_int_equal(zf_catalogue_resolve(&l, "tank/a", &chain, &n, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "backup 'tank/a@s7' needs base 'tank/a@s6' (guid 6)"));
	zf_err_clear(&err);
	assert_int_equal(zf_catalogue_resolve(&l, "tank/a@s6", &chain, &n, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no backup of 'tank/a@s6'"));

	/* a cycle of base guids: refused, not walked for ever */
	zf_err_clear(&err);
	assert_int_equal(zf_catalogue_resolve(&l, "tank/c@z", &chain, &n, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "cycle"));
	zf_err_clear(&err);
	assert_int_equal(zf_catalogue_resolve(&l, "tank/c@x", &chain, &n, &err), -ELOOP);

	/* bad specs */
	zf_err_clear(&err);
	assert_true(zf_catalogue_resolve(&l, "tank/a@", &chain, &n, &err) < 0);
	zf_err_clear(&err);
	assert_true(zf_catalogue_resolve(&l, "tank/a@s1@s2", &chain, &n, &err) < 0);
	zf_err_clear(&err);
	assert_true(zf_catalogue_resolve(&l, "../etc", &chain, &n, &err) < 0);
	assert_null(chain);
}

static void test_resolve_shortest(void **state)
{
	(void)state;
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };

	chain_list(&l);
	/* a second backup of s3, this time full, makes the chain one long */
	add(&l, "tank/a", "s3", 3, 30, 0, NULL);
	/* and s6 turns up, from s5: s7's chain is s4, s5, s6, s7 */
	add(&l, "tank/a", "s6", 6, 60, 5, "s5");
	zf_catalogue_list_sort(&l);
	assert_chain(&l, "tank/a@s3", (const char *const[]){ "s3" }, 1);
	assert_chain(&l, "tank/a", (const char *const[]){ "s4", "s5", "s6", "s7" }, 4);
}

static void test_resolve_self_cycle(void **state)
{
	(void)state;
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	_cleanup_free_ size_t *chain = NULL;
	struct zf_err err = ZF_ERR_INIT;
	size_t n = 0;

	/* equal createtxgs and many entries of one guid: still ends */
	for (uint64_t i = 0; i < 50; i++)
		add(&l, "tank/a", "s", 1 + i % 2, 10, 1 + (i + 1) % 2, "t");
	zf_catalogue_list_sort(&l);
	assert_int_equal(zf_catalogue_resolve(&l, "tank/a@s", &chain, &n, &err), -ELOOP);
}

static void test_needed(void **state)
{
	(void)state;
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	_cleanup_free_ bool *keep = NULL, *needed = NULL;

	chain_list(&l);
	keep = zf_xcalloc(l.n, sizeof(bool));
	needed = zf_xcalloc(l.n, sizeof(bool));
	for (size_t i = 0; i < l.n; i++)
		keep[i] = streq(l.v[i].dataset, "tank/a") && streq(l.v[i].snapshot, "s3");
	assert_int_equal(zf_catalogue_needed(&l, keep, needed), 0);
	for (size_t i = 0; i < l.n; i++) {
		bool want = streq(l.v[i].dataset, "tank/a") &&
			    (streq(l.v[i].snapshot, "s1") || streq(l.v[i].snapshot, "s2") ||
			     streq(l.v[i].snapshot, "s3"));
		assert_int_equal(needed[i], want);
	}
	/* a kept entry with a missing base: counted, not an error */
	for (size_t i = 0; i < l.n; i++)
		keep[i] = streq(l.v[i].snapshot, "s7") || streq(l.v[i].snapshot, "s5");
	assert_int_equal(zf_catalogue_needed(&l, keep, needed), 1);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(needed[i], streq(l.v[i].snapshot, "s7") ||
						    streq(l.v[i].snapshot, "s5") ||
						    streq(l.v[i].snapshot, "s4"));
	/* a cycle ends: both of it and nothing else */
	for (size_t i = 0; i < l.n; i++)
		keep[i] = streq(l.v[i].snapshot, "x");
	assert_int_equal(zf_catalogue_needed(&l, keep, needed), 0);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(needed[i], streq(l.v[i].snapshot, "x") ||
						    streq(l.v[i].snapshot, "y"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_dataset_dir),
		cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_long_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_resolve_shortest),
		cmocka_unit_test(test_resolve_self_cycle),
		cmocka_unit_test(test_needed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
