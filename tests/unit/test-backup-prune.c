/* tests/unit/test-backup-prune.c — backup prune: retention over the catalogue, entries unlinked */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "backup-fixture.h"
#include "job/backup-prune.h"
#include "plan/retention.h"
#include "util/alloc.h"
#include "util/err.h"

static const char *const some_data[] = { "alpha", "beta" };

/* A committed backup of tank/a; e[k] keeps it for the checks. */
#define BACKUP(k, ds, snap, guid, txg, base, base_snap) \
	bf_backup(f, ds, snap, guid, txg, base, base_snap, some_data, 2, &e[k])

static struct zf_retention_policy *policy(const char *rules)
{
	struct zf_retention_policy *p = zf_retention_policy_new();
	struct zf_err err = ZF_ERR_INIT;

	if (zf_retention_policy_parse(p, rules, &err) < 0 ||
	    zf_retention_policy_set_select(p, "", NULL, &err) < 0)
		fail_msg("%s: %s", rules, err.msg);
	return p;
}

/* The item of the result about ds@snap with that base guid; fails the test when absent. */
static const struct zf_backup_prune_item *item(const struct zf_backup_prune_result *r,
					       const char *ds, const char *snap, uint64_t base)
{
	for (size_t i = 0; i < r->list.n; i++)
		if (streq(r->list.v[i].dataset, ds) && streq(r->list.v[i].snapshot, snap) &&
		    r->list.v[i].base_guid == base)
			return &r->v[i];
	fail_msg("no item for %s@%s from %" PRIu64, ds, snap, base);
	return NULL;
}

static int run(struct backup_fixture *f, const char *rules, const struct zf_backup_prune_opts *o0,
	       struct zf_backup_prune_result *ret)
{
	_cleanup_(zf_retention_policy_freep) struct zf_retention_policy *p = policy(rules);
	struct zf_backup_prune_opts o = o0 ? *o0 : (struct zf_backup_prune_opts){ 0 };
	struct zf_err err = ZF_ERR_INIT;
	int r;

	o.policy = p;
	r = zf_backup_prune(f->dir, &o, ret, &err);
	if (r < 0)
		fail_msg("prune: %s", err.msg);
	return r;
}

static void release_all(struct zf_catalogue_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		zf_catalogue_entry_release(&e[i]);
}

/* last_n:1 over a full and three incrementals: the newest needs them all. */
static void test_chain_kept(void **state)
{
	struct backup_fixture *f = *state;
	_cleanup_(zf_backup_prune_result_release) struct zf_backup_prune_result res = { 0 };
	struct zf_catalogue_entry e[4];

	BACKUP(0, "tank/a", "s1", 1, 10, 0, NULL);
	BACKUP(1, "tank/a", "s2", 2, 20, 1, "s1");
	BACKUP(2, "tank/a", "s3", 3, 30, 2, "s2");
	BACKUP(3, "tank/a", "s4", 4, 40, 3, "s3");
	assert_int_equal(run(f, "last_n:1", NULL, &res), 0);
	assert_int_equal(res.list.n, 4);
	assert_int_equal(res.nremove, 0);
	assert_int_equal(res.nremoved, 0);
	assert_int_equal(res.nbroken, 0);
	for (size_t i = 0; i < 4; i++)
		assert_true(bf_entry_exists(f, &e[i]));
	assert_int_equal(item(&res, "tank/a", "s4", 3)->rules, 1);
	assert_int_equal(item(&res, "tank/a", "s4", 3)->keep, ZF_BACKUP_KEEP_NEWEST);
	for (size_t i = 0; i < 3; i++) {
		const struct zf_backup_prune_item *it = &res.v[i];
		assert_false(it->remove);
		assert_int_equal(it->rules, 0);
		assert_int_equal(it->keep, ZF_BACKUP_KEEP_BASE);
	}
	release_all(e, 4);
}

/* s1 <- s2, then a new chain s3 <- s4: the old chain goes, files and all. */
static void two_chains(struct backup_fixture *f, struct zf_catalogue_entry *e)
{
	BACKUP(0, "tank/a", "s1", 1, 10, 0, NULL);
	BACKUP(1, "tank/a", "s2", 2, 20, 1, "s1");
	BACKUP(2, "tank/a", "s3", 3, 30, 0, NULL);
	BACKUP(3, "tank/a", "s4", 4, 40, 3, "s3");
}

static void test_old_chain_goes(void **state)
{
	struct backup_fixture *f = *state;
	_cleanup_(zf_backup_prune_result_release) struct zf_backup_prune_result res = { 0 };
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	_cleanup_free_ char *chunk = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct zf_catalogue_entry e[4];
	struct zf_chunk_id id;

	two_chains(f, e);
	assert_int_equal(run(f, "last_n:1", NULL, &res), 0);
	assert_int_equal(res.nremove, 2);
	assert_int_equal(res.nremoved, 2);
	assert_false(bf_entry_exists(f, &e[0]));
	assert_false(bf_entry_exists(f, &e[1]));
	assert_true(bf_entry_exists(f, &e[2]));
	assert_true(bf_entry_exists(f, &e[3]));
	assert_true(item(&res, "tank/a", "s1", 0)->removed);
	assert_true(item(&res, "tank/a", "s2", 1)->removed);
	assert_int_equal(item(&res, "tank/a", "s3", 0)->keep, ZF_BACKUP_KEEP_BASE);
	/* the catalogue agrees, and the chunks are gc's business: still there */
	assert_int_equal(zf_catalogue_list(f->dir, NULL, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].snapshot, "s3");
	assert_string_equal(l.v[1].snapshot, "s4");
	zf_chunk_id_hash(NULL, "meta tank/a@s1", strlen("meta tank/a@s1"), &id);
	chunk = bf_chunk_path(f, &id);
	assert_int_equal(access(chunk, F_OK), 0);
	release_all(e, 4);
}

static void test_session_protects_base(void **state)
{
	struct backup_fixture *f = *state;
	_cleanup_(zf_backup_prune_result_release) struct zf_backup_prune_result res = { 0 };
	const uint64_t protect[] = { 99, 2 };
	struct zf_backup_prune_opts o = { .protect_guids = protect, .n_protect = 2 };
	struct zf_catalogue_entry e[4];

	two_chains(f, e);
	assert_int_equal(run(f, "last_n:1", &o, &res), 0);
	assert_int_equal(res.nremove, 0);
	for (size_t i = 0; i < 4; i++)
		assert_true(bf_entry_exists(f, &e[i]));
	assert_int_equal(item(&res, "tank/a", "s2", 1)->keep, ZF_BACKUP_KEEP_SESSION);
	assert_int_equal(item(&res, "tank/a", "s1", 0)->keep, ZF_BACKUP_KEEP_BASE);
	release_all(e, 4);
}

static void test_dry_run(void **state)
{
	struct backup_fixture *f = *state;
	_cleanup_(zf_backup_prune_result_release) struct zf_backup_prune_result res = { 0 };
	struct zf_backup_prune_opts o = { .dry_run = true };
	struct zf_catalogue_entry e[4];

	two_chains(f, e);
	assert_int_equal(run(f, "last_n:1", &o, &res), 0);
	assert_int_equal(res.nremove, 2);
	assert_int_equal(res.nremoved, 0);
	assert_true(item(&res, "tank/a", "s1", 0)->remove);
	assert_false(item(&res, "tank/a", "s1", 0)->removed);
	assert_true(item(&res, "tank/a", "s2", 1)->remove);
	assert_false(item(&res, "tank/a", "s3", 0)->remove);
	for (size_t i = 0; i < 4; i++)
		assert_true(bf_entry_exists(f, &e[i]));
	release_all(e, 4);
}

/* --dataset: another dataset's entries are neither listed nor touched. */
static void test_other_datasets(void **state)
{
	struct backup_fixture *f = *state;
	_cleanup_(zf_backup_prune_result_release) struct zf_backup_prune_result res = { 0 };
	struct zf_backup_prune_opts o = { .dataset = "tank/a" };
	struct zf_catalogue_entry e[6];

	two_chains(f, e);
	BACKUP(4, "tank/b", "s1", 1, 10, 0, NULL);      /* same guid as tank/a@s1 */
	BACKUP(5, "tank/b", "s9", 9, 90, 0, NULL);
	assert_int_equal(run(f, "last_n:1", &o, &res), 0);
	assert_int_equal(res.list.n, 4);
	for (size_t i = 0; i < res.list.n; i++)
		assert_string_equal(res.list.v[i].dataset, "tank/a");
	assert_false(bf_entry_exists(f, &e[0]));
	assert_true(bf_entry_exists(f, &e[4]));
	assert_true(bf_entry_exists(f, &e[5]));

	/* all datasets: each decided alone, tank/b's newest keeps, its old full goes */
	zf_backup_prune_result_release(&res);
	assert_int_equal(run(f, "last_n:1", NULL, &res), 0);
	assert_int_equal(res.list.n, 4);
	assert_int_equal(res.nremoved, 1);
	assert_false(bf_entry_exists(f, &e[4]));
	assert_true(bf_entry_exists(f, &e[5]));
	assert_true(bf_entry_exists(f, &e[2]));
	assert_true(bf_entry_exists(f, &e[3]));
	release_all(e, 6);
}

/* An incremental whose base has no entry: kept, counted, no error. */
static void test_missing_base(void **state)
{
	struct backup_fixture *f = *state;
	_cleanup_(zf_backup_prune_result_release) struct zf_backup_prune_result res = { 0 };
	struct zf_catalogue_entry e[2];

	BACKUP(0, "tank/a", "s1", 1, 10, 0, NULL);
	BACKUP(1, "tank/a", "s5", 5, 50, 4, "s4");
	assert_int_equal(run(f, "last_n:1", NULL, &res), 0);
	assert_int_equal(res.nbroken, 1);
	assert_int_equal(res.nremoved, 1);
	assert_false(bf_entry_exists(f, &e[0]));
	assert_true(bf_entry_exists(f, &e[1]));
	release_all(e, 2);
}

/*
 * One snapshot backed up twice (an incremental and a full) is one version
 * for the rules: last_n:2 keeps s3 and s2, not s3 twice.
 */
static void test_snapshot_counts_once(void **state)
{
	struct backup_fixture *f = *state;
	_cleanup_(zf_backup_prune_result_release) struct zf_backup_prune_result res = { 0 };
	struct zf_catalogue_entry e[5];

	BACKUP(0, "tank/a", "s0", 7, 5, 0, NULL);
	BACKUP(1, "tank/a", "s1", 1, 10, 0, NULL);
	BACKUP(2, "tank/a", "s2", 2, 20, 0, NULL);
	BACKUP(3, "tank/a", "s3", 3, 30, 1, "s1");
	BACKUP(4, "tank/a", "s3", 3, 30, 0, NULL);
	assert_int_equal(run(f, "last_n:2", NULL, &res), 0);
	assert_int_equal(item(&res, "tank/a", "s2", 0)->rules, 1);
	assert_int_equal(item(&res, "tank/a", "s3", 0)->rules, 1);
	assert_int_equal(item(&res, "tank/a", "s3", 1)->rules, 1);
	assert_int_equal(item(&res, "tank/a", "s1", 0)->keep, ZF_BACKUP_KEEP_BASE);
	assert_int_equal(res.nremoved, 1);
	assert_false(bf_entry_exists(f, &e[0]));
	for (size_t i = 1; i < 5; i++)
		assert_true(bf_entry_exists(f, &e[i]));
	release_all(e, 5);
}

/* A catalogue it cannot read stops prune before anything is removed. */
static void test_unreadable_catalogue(void **state)
{
	struct backup_fixture *f = *state;
	struct zf_backup_prune_result res = { 0 };
	_cleanup_(zf_retention_policy_freep) struct zf_retention_policy *p = policy("last_n:1");
	struct zf_backup_prune_opts o = { .policy = p };
	struct zf_err err = ZF_ERR_INIT;
	struct zf_catalogue_entry e[4];
	_cleanup_free_ char *stray = NULL;
	FILE *fp;

	two_chains(f, e);
	stray = bf_path(f, "catalogue/tank%2Fa/junk.json");
	fp = fopen(stray, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(zf_backup_prune(f->dir, &o, &res, &err), -EBADMSG);
	assert_null(res.v);
	for (size_t i = 0; i < 4; i++)
		assert_true(bf_entry_exists(f, &e[i]));
	release_all(e, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_kept, backup_fixture_setup,
						backup_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_old_chain_goes, backup_fixture_setup,
						backup_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_session_protects_base, backup_fixture_setup,
						backup_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, backup_fixture_setup,
						backup_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_other_datasets, backup_fixture_setup,
						backup_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_missing_base, backup_fixture_setup,
						backup_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_counts_once, backup_fixture_setup,
						backup_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_catalogue, backup_fixture_setup,
						backup_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
