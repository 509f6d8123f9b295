/* tests/unit/test-zfs-parse.c — `zfs -Hp` output parsers, name rules, error classes */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/err.h"
#include "zfs/zfs.h"

#define S(x) x, sizeof(x) - 1

static void test_fs_list(void **state)
{
	struct zf_zfs_fs_list l = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_zfs_parse_fs_list(S("p1\tfilesystem\t123\t1\n"
						"p1/my fs.v2\tfilesystem\t18446744073709551615\t42\n"
						"p1/vol\tvolume\t7\t50\n"), &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[1].name, "p1/my fs.v2");
	assert_int_equal(l.v[1].guid, UINT64_MAX);
	assert_int_equal(l.v[1].createtxg, 42);
	assert_string_equal(l.v[2].type, "volume");
	zf_zfs_fs_list_release(&l);
}

static void test_fs_list_empty(void **state)
{
	struct zf_zfs_fs_list l = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	(void)state;
	assert_int_equal(zf_zfs_parse_fs_list("", 0, &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(zf_zfs_parse_fs_list(S("\n\n"), &l, &err), 0);
	assert_int_equal(l.n, 0);
}

static void test_fs_list_bad(void **state)
{
	static const char *const bad[] = {
		"p1\tfilesystem\t123\n",                /* too few fields */
		"p1\tfilesystem\tabc\t1\n",             /* guid not a number */
		"p1\tfilesystem\t-1\t1\n",              /* negative */
		"p1\tfilesystem\t1\t99999999999999999999999\n", /* overflow */
		"p1@s\tfilesystem\t1\t1\n",             /* snapshot where a dataset belongs */
		"\tfilesystem\t1\t1\n",                 /* empty name */
		"p1\tfilesystem\t1\t1\textra\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct zf_zfs_fs_list l = { 0 };
		struct zf_err err = ZF_ERR_INIT;
		assert_int_equal(zf_zfs_parse_fs_list(bad[i], strlen(bad[i]), &l, &err),
				 -EBADMSG);
		assert_non_null(strstr(err.msg, "line 1"));
		assert_int_equal(l.n, 0);
		assert_null(l.v);
	}
}

static void test_fs_list_nul(void **state)
{
	struct zf_zfs_fs_list l = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	(void)state;
	assert_int_equal(zf_zfs_parse_fs_list("p\0\tfilesystem\t1\t1\n", 19, &l, &err),
			 -EBADMSG);
}

static void test_version_list(void **state)
{
	struct zf_zfs_version_list l = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_zfs_parse_version_list(
				 S("p1/a b@zferry_20261123T045900Z\tsnapshot\t111\t10\t1763873940\t2\n"
				   "p1/a b#zferry_cursor\tbookmark\t111\t10\t1763873940\t-\n"
				   "p1/x@s:1.2\tsnapshot\t5\t12\t1\t0"),  /* no final newline */
			 &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].fs, "p1/a b");
	assert_string_equal(l.v[0].name, "zferry_20261123T045900Z");
	assert_false(l.v[0].bookmark);
	assert_int_equal(l.v[0].userrefs, 2);
	assert_int_equal(l.v[0].creation, 1763873940);
	assert_true(l.v[1].bookmark);
	assert_string_equal(l.v[1].name, "zferry_cursor");
	assert_int_equal(l.v[1].userrefs, 0);
	assert_string_equal(l.v[2].name, "s:1.2");
	zf_zfs_version_list_release(&l);
}

static void test_version_list_bad(void **state)
{
	static const char *const bad[] = {
		"p1/a\tsnapshot\t1\t1\t1\t0\n",         /* no '@' */
		"p1/a@s\tbookmark\t1\t1\t1\t-\n",       /* bookmark without '#' */
		"p1/a@\tsnapshot\t1\t1\t1\t0\n",        /* empty short name */
		"@s\tsnapshot\t1\t1\t1\t0\n",           /* empty fs */
		"p1/a@s\tvolume\t1\t1\t1\t0\n",         /* unknown type */
		"p1/a@s\tsnapshot\t1\t1\t1\tx\n",       /* bad userrefs */
		"p1/a@s\tsnapshot\t1\t1\t18446744073709551615\t0\n",   /* creation > int64 */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct zf_zfs_version_list l = { 0 };
		struct zf_err err = ZF_ERR_INIT;
		assert_int_equal(zf_zfs_parse_version_list(bad[i], strlen(bad[i]), &l, &err),
				 -EBADMSG);
		assert_int_equal(l.n, 0);
	}
}

static void test_props(void **state)
{
	struct zf_zfs_prop_list l = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_zfs_parse_props(
				 S("p1/a\treceive_resume_token\t1-abc-def\t-\n"
				   "p1/a\tzferry:note\tone\ttwo\tthree\tlocal\n"
				   "p1/a/b\tcompression\tlz4\tinherited from p1/a\n"
				   "p1/a\tzferry:empty\t\tlocal\n"),
			 &l, &err), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(zf_zfs_prop_find(&l, "p1/a", "receive_resume_token"), "1-abc-def");
	assert_string_equal(zf_zfs_prop_find(&l, "p1/a", "zferry:note"), "one\ttwo\tthree");
	assert_string_equal(l.v[1].source, "local");
	assert_string_equal(l.v[2].source, "inherited from p1/a");
	assert_string_equal(zf_zfs_prop_find(&l, "p1/a", "zferry:empty"), "");
	assert_null(zf_zfs_prop_find(&l, "p1/b", "compression"));
	zf_zfs_prop_list_release(&l);

	assert_int_equal(zf_zfs_parse_props(S("p1/a\tname\tvalue\n"), &l, &err), -EBADMSG);
}

static void test_holds(void **state)
{
	struct zf_zfs_hold_list l = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_zfs_parse_holds(S("p1/a@s\tzferry_step\t1763873940\n"
					      "p1/a@s\tweird\ttag\t5\n"), &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].tag, "zferry_step");
	assert_int_equal(l.v[0].created, 1763873940);
	assert_string_equal(l.v[1].tag, "weird\ttag");
	zf_zfs_hold_list_release(&l);
	assert_int_equal(zf_zfs_parse_holds(S("p1/a\tt\t5\n"), &l, &err), -EBADMSG);
	assert_int_equal(zf_zfs_parse_holds(S("p1/a@s\tt\tnow\n"), &l, &err), -EBADMSG);
}

static void test_name_check_good(void **state)
{
	static const char *const good[] = {
		"p1", "p1/a", "p1/my fs", "p1/a.b-c_d:e", "p1/a@s", "p1/a b@snap shot",
		"p1/a#mark", "p1/-dash-inside", "Tank/x",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct zf_err err = ZF_ERR_INIT;
		assert_int_equal(zf_zfs_name_check(good[i], ZF_ZFS_NAME_ANY, &err), 0);
	}
}

static void test_name_check_bad(void **state)
{
	static const struct { const char *name; const char *why; } bad[] = {
		{ "", "empty" },
		{ "-p1/a", "must not start with '-'" },
		{ "-o", "must not start with '-'" },
		{ "p1//a", "empty component" },
		{ "p1/a/", "empty component" },
		{ "p1/../a", "'..' not allowed" },
		{ "p1/./a", "'.' not allowed" },
		{ "p1/a;rm", "';'" },
		{ "p1/a$HOME", "'$'" },
		{ "p1/it's", "'''" },
		{ "p1/t\tab", "'\\x09'" },
		{ "p1/caf\xc3\xa9", "'\\xc3'" },
		{ "p1/a@b@c", "after the snapshot separator" },
		{ "p1/a@b#c", "after the snapshot separator" },
		{ "p1/a@", "empty snapshot name" },
		{ "1pool", "must begin with a letter" },
		{ "p1/a@s/x", "after the snapshot separator" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct zf_err err = ZF_ERR_INIT;
		assert_int_equal(zf_zfs_name_check(bad[i].name, ZF_ZFS_NAME_ANY, &err),
				 -ZF_E_BADNAME);
		if (!strstr(err.msg, bad[i].why))
			fail_msg("name '%s': message '%s' lacks '%s'", bad[i].name, err.msg,
				 bad[i].why);
	}
}

static void test_name_check_types_and_length(void **state)
{
	struct zf_err err = ZF_ERR_INIT;
	char longname[300];
	(void)state;

	assert_int_equal(zf_zfs_name_check("p1/a@s", ZF_ZFS_NAME_DATASET, &err), -ZF_E_BADNAME);
	zf_err_clear(&err);
	assert_int_equal(zf_zfs_name_check("p1/a", ZF_ZFS_NAME_SNAPSHOT, &err), -ZF_E_BADNAME);
	assert_non_null(strstr(err.msg, "expected a snapshot name"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	zf_err_clear(&err);
	assert_int_equal(zf_zfs_name_check(longname, ZF_ZFS_NAME_ANY, &err), -ZF_E_BADNAME);
	assert_non_null(strstr(err.msg, "longer than"));
	zf_err_clear(&err);
	assert_int_equal(zf_zfs_shortname_check("a,b", &err), -ZF_E_BADNAME);
	zf_err_clear(&err);
	assert_int_equal(zf_zfs_shortname_check("zferry_20261123T045900Z", &err), 0);
}

/* ---- the zfs layer against a stand-in zfs program ------------------------- */

struct fake {
	char dir[64];
	char prog[96];
};

/* Installs a /bin/sh script with body as the zfs program. */
static void fake_zfs(struct fake *f, const char *body)
{
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "/tmp/zferry-test-zfs.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->prog, sizeof(f->prog), "%s/zfs", f->dir);
	fp = fopen(f->prog, "w");
	assert_non_null(fp);
	fprintf(fp, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(f->prog, 0700), 0);
	zf_zfs_set_program(f->prog);
}

static void fake_zfs_remove(struct fake *f)
{
	zf_zfs_set_program("zfs");
	assert_int_equal(unlink(f->prog), 0);
	assert_int_equal(rmdir(f->dir), 0);
}

/* zfs runs in C.UTF-8 whatever our locale (zfs get -j needs a UTF-8 one) */
static void test_zfs_locale(void **state)
{
	struct zf_zfs_fs_list l = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	struct fake f;
	const char *root = "p";
	(void)state;

	fake_zfs(&f, "printf 'p/%s-%s\\tfilesystem\\t1\\t1\\n' \"$LC_ALL\" \"${LANGUAGE:-none}\"");
	assert_int_equal(setenv("LC_ALL", "C", 1), 0);
	assert_int_equal(setenv("LANGUAGE", "de", 1), 0);
	assert_int_equal(zf_zfs_list_fs(&root, 1, NULL, &l, &err), 0);
	unsetenv("LC_ALL");
	unsetenv("LANGUAGE");
	fake_zfs_remove(&f);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "p/C.UTF-8-none");
	zf_zfs_fs_list_release(&l);
}

static void test_classify(void **state)
{
	static const struct { const char *text; int code; } cases[] = {
		{ "cannot open 'p1/x': dataset does not exist\n", -ENOENT },
		{ "cannot open 'nopool': no such pool\n", -ENOENT },
		{ "cannot create 'p1/a': dataset already exists\n", -EEXIST },
		{ "cannot receive new filesystem stream: destination 'p2/a' exists\n"
		  "must specify -F to overwrite it\n", -EEXIST },
		{ "cannot destroy snapshot p1/a@s: dataset is busy\n", -EBUSY },
		{ "cannot receive new filesystem stream: out of space\n", -ENOSPC },
		{ "cannot create 'p1/x': permission denied\n", -EPERM },
		{ "cannot receive incremental stream: destination p2/a has been modified\n"
		  "since most recent snapshot\n", -ZF_E_WOULD_DESTROY },
		{ "cannot receive new filesystem stream: destination has snapshots "
		  "(eg. p2/a@s)\nmust destroy them to overwrite it\n", -ZF_E_WOULD_DESTROY },
		{ "cannot receive incremental stream: most recent snapshot of p2/a does not\n"
		  "match incremental source\n", -ZF_E_WOULD_DESTROY },
		{ "cannot create 'p1/caf\xc3\xa9': invalid character '\xc3' in name\n",
		  -ZF_E_BADNAME },
		{ "cannot create bookmark 'p1/a#b1': bookmark exists\n", -EEXIST },
		{ "cannot destroy snapshot p1/a@s2: it's being held. Run 'zfs holds -r p1/a@s2' "
		  "to see holders.\n", -EBUSY },
		{ "internal error: something new\n", -ZF_E_ZFS },
		{ "", -ZF_E_ZFS },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (zf_zfs_classify(cases[i].text) != cases[i].code)
			fail_msg("'%s' classified %d, expected %d", cases[i].text,
				 zf_zfs_classify(cases[i].text), cases[i].code);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fs_list),
		cmocka_unit_test(test_fs_list_empty),
		cmocka_unit_test(test_fs_list_bad),
		cmocka_unit_test(test_fs_list_nul),
		cmocka_unit_test(test_version_list),
		cmocka_unit_test(test_version_list_bad),
		cmocka_unit_test(test_props),
		cmocka_unit_test(test_holds),
		cmocka_unit_test(test_name_check_good),
		cmocka_unit_test(test_name_check_bad),
		cmocka_unit_test(test_name_check_types_and_length),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_zfs_locale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
