/* tests/unit/test-plan-repl.c — the replication planner, scenario by scenario */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "plan/replication.h"

/*
 * The DSL.  A side is a table of filesystems, each with its versions as one
 * string: "@a=1 ; @b=2 ; #zferry_cursor_g0000000000000002=2" lists snapshot
 * a (guid 1), then b (guid 2), then a bookmark of b, oldest first: the
 * position gives createtxg.  Separators are " ; " so names may hold spaces.
 * A plan's item is checked as its action and its steps rendered as text:
 *
 *         "full @c"                    full stream of @c
 *         "-i @b @d"                   incremental, one step
 *         "-I @b @d -F"                with intermediates, forced receive
 *         "-i #cur @c ; -I @c @d"      two steps
 *         "resume", "abort", "rename .zferry-diverged-S", "create"
 */
#define MAXFS 32
#define END { NULL }

struct fsdef {
	const char *name;
	const char *versions;
	bool encrypted, modified, placeholder;
	const char *token;
	uint64_t toguid;
	const char *sendflags;
	const char *origin;             /* sender: a clone's origin filesystem in the tree */
	uint64_t origin_guid;
};

struct built {
	struct zf_replan_fs fs[MAXFS];
	struct zf_replan_version *v[MAXFS];
	char *copy[MAXFS];
	size_t n;
};

static void build(const struct fsdef *defs, struct built *b)
{
	memset(b, 0, sizeof(*b));
	for (; defs && defs->name; defs++, b->n++) {
		struct zf_replan_fs *f = &b->fs[b->n];
		char *p, *save = NULL;
		size_t n = 0, alloc = 0;

		assert_true(b->n < MAXFS);
		f->name = defs->name;
		f->encrypted = defs->encrypted;
		f->modified = defs->modified;
		f->placeholder = defs->placeholder;
		f->resume_token = defs->token;
		f->resume_toguid = defs->toguid;
		f->sendflags = defs->sendflags;
		f->origin_fs = defs->origin;
		f->origin_guid = defs->origin_guid;
		b->copy[b->n] = zf_xstrdup(defs->versions ? defs->versions : "");
		for (p = strtok_r(b->copy[b->n], ";", &save); p; p = strtok_r(NULL, ";", &save)) {
			struct zf_replan_version *v;
			char *eq;

			while (*p == ' ')
				p++;
			if (!*p)
				continue;
			eq = strrchr(p, '=');
			assert_non_null(eq);
			*eq = '\0';
			for (char *e = eq; e > p && e[-1] == ' '; e--)
				e[-1] = '\0';
			ZF_ALLOC_GROW(b->v[b->n], n + 1, alloc);
			v = &b->v[b->n][n++];
			*v = (struct zf_replan_version){
				.name = p + 1,
				.bookmark = *p == '#',
				.guid = strtoull(eq + 1, NULL, 0),
				.createtxg = 100 + n * 10,
				.creation = 1700000000 + (int64_t)n * 60,
			};
		}
		f->versions = b->v[b->n];
		f->n_versions = n;
	}
}

static void unbuild(struct built *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i]);
		free(b->copy[i]);
	}
}

/* Plans and frees the inputs right away: the plan must own what it keeps. */
static struct zf_replan *plan_err(const struct fsdef *src, const struct fsdef *dst,
				  const struct zf_replan_opts *o, int want_r, struct zf_err *err)
{
	struct built bs, bd;
	struct zf_replan *p = NULL;
	static const struct zf_replan_opts defaults = { .recursive = true, .dst_display = "backup/data" };

	build(src, &bs);
	build(dst, &bd);
	assert_int_equal(zf_replan_new(bs.fs, bs.n, bd.fs, bd.n, o ? o : &defaults, &p, err),
			 want_r);
	unbuild(&bs);
	unbuild(&bd);
	return p;
}

static struct zf_replan *plan(const struct fsdef *src, const struct fsdef *dst,
			      const struct zf_replan_opts *o)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_replan *p = plan_err(src, dst, o, 0, &err);

	if (!p)
		fail_msg("%s", err.msg);
	return p;
}

static const struct zf_replan_item *item(const struct zf_replan *p, const char *fs)
{
	for (size_t i = 0; i < p->n_items; i++)
		if (strcmp(p->items[i].fs, fs) == 0)
			return &p->items[i];
	fail_msg("no item for '%s'", fs);
	return NULL;
}

static bool has_item(const struct zf_replan *p, const char *fs)
{
	for (size_t i = 0; i < p->n_items; i++)
		if (strcmp(p->items[i].fs, fs) == 0)
			return true;
	return false;
}

static char *render(const struct zf_replan_item *it)
{
	struct zf_buf b = ZF_BUF_INIT;

	for (size_t i = 0; i < it->n_steps; i++) {
		const struct zf_replan_step *st = &it->steps[i];

		if (i)
			zf_buf_adds(&b, " ; ");
		switch (st->kind) {
		case ZF_REPLAN_STEP_ABORT_RESUME:
			zf_buf_adds(&b, "abort");
			break;
		case ZF_REPLAN_STEP_RESUME:
			zf_buf_adds(&b, "resume");
			break;
		case ZF_REPLAN_STEP_RENAME:
			zf_buf_addf(&b, "rename %s", st->rename_suffix);
			break;
		case ZF_REPLAN_STEP_CREATE_PLACEHOLDER:
			zf_buf_adds(&b, "create");
			break;
		case ZF_REPLAN_STEP_SEND:
			if (st->from)
				zf_buf_addf(&b, "%s %s%c%s @%s", st->intermediates ? "-I" : "-i",
					    st->from_fs ? st->from_fs : "",
					    st->from_bookmark ? '#' : '@', st->from, st->to);
			else
				zf_buf_addf(&b, "full @%s", st->to);
			if (st->force)
				zf_buf_adds(&b, " -F");
			break;
		}
	}
	return zf_buf_detach(&b, NULL);
}

/* The item for fs has this action and these steps. */
static const struct zf_replan_item *expect(const struct zf_replan *p, const char *fs,
					   const char *action, const char *steps)
{
	const struct zf_replan_item *it = item(p, fs);
	char *r = render(it);

	if (strcmp(zf_replan_action_str(it->action), action) || strcmp(r, steps))
		fail_msg("'%s': want %s [%s], got %s [%s] (%s)", fs, action, steps,
			 zf_replan_action_str(it->action), r, it->message ? it->message : "");
	free(r);
	return it;
}

static const struct zf_replan_item *expect_conflict(const struct zf_replan *p, const char *fs,
						    enum zf_replan_conflict why)
{
	const struct zf_replan_item *it = expect(p, fs, "conflict", "");

	assert_string_equal(zf_replan_conflict_str(it->conflict), zf_replan_conflict_str(why));
	assert_non_null(it->message);
	assert_null(it->cursor);
	assert_int_equal(it->holds.n, 0);
	return it;
}

static void expect_list(const struct zf_strv *l, const char *joined)
{
	struct zf_buf b = ZF_BUF_INIT;

	for (size_t i = 0; i < l->n; i++)
		zf_buf_addf(&b, "%s%s", i ? "," : "", l->v[i]);
	assert_string_equal(zf_buf_str(&b), joined);
	zf_buf_release(&b);
}

static void expect_msg(const struct zf_replan_item *it, const char *part)
{
	assert_non_null(it->message);
	if (!strstr(it->message, part))
		fail_msg("message '%s' lacks '%s'", it->message, part);
}

#define ROOT(v) { .name = "", .versions = (v) }
#define PLAN(p, src, dst, o)                                                        \
	_cleanup_(zf_replan_freep) struct zf_replan *p = NULL;                      \
	do {                                                                        \
		const struct fsdef s_[] = { src, END }, d_[] = { dst, END };          \
		p = plan(s_, d_, (o));                                              \
	} while (0)
#define NOFS END

static const struct zf_replan_opts opts_r = { .recursive = true, .dst_display = "backup/data",
					      .src_display = "tank/data" };
static const struct zf_replan_opts opts_i = { .recursive = true, .intermediates = true,
					      .dst_display = "backup/data" };

/* ---- scenarios ---------------------------------------------------------- */

/* Both sides have the sender's newest snapshot: nothing to send, but the cursor is set. */
static void test_up_to_date(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2"), ROOT("@a=1 ; @b=2"), &opts_r);
	const struct zf_replan_item *it = expect(p, "", "up-to-date", "");

	assert_int_equal(p->n_items, 1);
	assert_int_equal(it->parent, -1);
	assert_string_equal(it->cursor, "zferry_cursor_g0000000000000002");
	assert_string_equal(it->cursor_snapshot, "b");
	assert_null(it->message);
}

/* Up to date and the cursor already there: nothing at all to do. */
static void test_up_to_date_cursor_present(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2 ; #zferry_cursor_g0000000000000001=1 ; "
		     "#zferry_cursor_g0000000000000002=2 ; #mine=2"),
	     ROOT("@a=1 ; @b=2"), &opts_r);
	const struct zf_replan_item *it = expect(p, "", "up-to-date", "");

	assert_null(it->cursor);
	expect_list(&it->cursor_remove, "zferry_cursor_g0000000000000001");
}

/* The target does not exist: a full stream of the newest snapshot only. */
static void test_first_full(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3"), NOFS, &opts_r);
	const struct zf_replan_item *it = expect(p, "", "full", "full @c");

	expect_list(&it->holds, "c");
	assert_string_equal(it->cursor, "zferry_cursor_g0000000000000003");
	assert_string_equal(it->sendflags, "");
	assert_true(it->children_need);
}

/* First full with intermediates: the oldest in full, then -I to the newest, history kept. */
static void test_first_full_intermediates(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3"), NOFS, &opts_i);
	const struct zf_replan_item *it = expect(p, "", "full", "full @a ; -I @a @c");

	expect_list(&it->holds, "a,c");
}

/* Common snapshot @b: -i straight to the newest, holding base and target. */
static void test_incremental_single(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3 ; @d=4"), ROOT("@a=1 ; @b=2"), &opts_r);
	const struct zf_replan_item *it = expect(p, "", "incremental", "-i @b @d");

	expect_list(&it->holds, "b,d");
	assert_string_equal(it->cursor, "zferry_cursor_g0000000000000004");
	assert_false(it->children_need);
	assert_null(it->message);
}

/* With intermediates the same is one -I stream: @c arrives too. */
static void test_incremental_intermediates(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3 ; @d=4"), ROOT("@a=1 ; @b=2"), &opts_i);
	expect(p, "", "incremental", "-I @b @d");
}

/*
 * Prune took @b on the sender, but the cursor bookmark marks it: -i from the
 * bookmark.  -I cannot start at a bookmark, so with intermediates the first
 * snapshot after it goes alone, then -I.  The old cursor goes once the new
 * one is set.
 */
static void test_incremental_from_cursor(void **state)
{
	(void)state;
	const char *src = "@a=1 ; #zferry_cursor_g0000000000000002=2 ; @c=3 ; @d=4";
	PLAN(p1, ROOT(src), ROOT("@a=1 ; @b=2"), &opts_r);
	PLAN(p2, ROOT(src), ROOT("@a=1 ; @b=2"), &opts_i);
	const struct zf_replan_item *it;

	it = expect(p1, "", "incremental", "-i #zferry_cursor_g0000000000000002 @d");
	expect_list(&it->holds, "d");
	expect_list(&it->cursor_remove, "zferry_cursor_g0000000000000002");
	assert_string_equal(it->cursor, "zferry_cursor_g0000000000000004");
	it = expect(p2, "", "incremental", "-i #zferry_cursor_g0000000000000002 @c ; -I @c @d");
	expect_list(&it->holds, "c,d");
}

/* The target renamed @b to @kept: guids match, so @b is the base all the same. */
static void test_common_by_guid_despite_rename(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3"), ROOT("@a=1 ; @kept=2"), &opts_r);
	expect(p, "", "incremental", "-i @b @c");
}

/* Several common versions: the newest one is the base. */
static void test_newest_common(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3 ; @d=4 ; @e=5"), ROOT("@a=1 ; @b=2 ; @c=3"), &opts_i);
	expect(p, "", "incremental", "-I @c @e");
}

/* A snapshot as base beats a bookmark of the same snapshot: -I can start there. */
static void test_snapshot_preferred_over_bookmark(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; #a_mark=1 ; @b=2"), ROOT("@a=1"), &opts_i);
	expect(p, "", "incremental", "-I @a @b");
}

/* (c) The target's @c is not the sender's @c: same name, other guid. */
static void test_same_name_other_guid(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3"), ROOT("@a=1 ; @c=99"), &opts_r);
	const struct zf_replan_item *it = expect_conflict(p, "", ZF_REPLAN_CONFLICT_NAME_GUID);

	expect_list(&it->in_the_way, "c");
	expect_msg(it, "'backup/data'");
	expect_msg(it, "@c");
}

/* (c) resolved by renaming the target aside. */
static void test_same_name_other_guid_rename(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	o.rename_diverged = true;
	o.diverged_stamp = "20261125T1400Z";
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3"), ROOT("@a=1 ; @c=99"), &o);
	expect(p, "", "rename-and-full", "rename .zferry-diverged-20261125T1400Z ; full @c");
}

/* (a) The target has snapshots after the common @b: named, listed, refused. */
static void test_target_newer(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3"), ROOT("@a=1 ; @b=2 ; @x=50 ; @y=51"), &opts_r);
	const struct zf_replan_item *it = expect_conflict(p, "", ZF_REPLAN_CONFLICT_TARGET_NEWER);

	expect_list(&it->in_the_way, "x,y");
	expect_msg(it, "target 'backup/data' has 2 snapshots newer than the common '@b' (@x, @y)");
	expect_msg(it, "--force-rollback");
	assert_int_equal(it->destroys.n, 0);
}

/* (a) with force_rollback: recv -F from @b destroys @x and @y, and says so. */
static void test_target_newer_force(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	o.force_rollback = true;
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3"), ROOT("@a=1 ; @b=2 ; @x=50 ; @y=51"), &o);
	const struct zf_replan_item *it = expect(p, "", "incremental", "-i @b @c -F");

	expect_list(&it->destroys, "x,y");
	assert_string_equal(it->rollback_to, "b");
	expect_msg(it, "destroys @x, @y on 'backup/data'");
	assert_int_equal(it->in_the_way.n, 0);
}

/* (a) with rename_diverged: nothing destroyed, target renamed aside, full again. */
static void test_target_newer_rename(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_i;
	o.rename_diverged = true;
	o.diverged_stamp = "S1";
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3"), ROOT("@a=1 ; @b=2 ; @x=50"), &o);
	const struct zf_replan_item *it =
		expect(p, "", "rename-and-full", "rename .zferry-diverged-S1 ; full @a ; -I @a @c");

	assert_true(it->children_need);
	assert_int_equal(it->destroys.n, 0);
	expect_msg(it, "'backup/data.zferry-diverged-S1'");
}

/* Both allowed: the rollback wins, since the user allowed the loss and it avoids a full. */
static void test_force_and_rename_prefers_rollback(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	o.rename_diverged = true;
	o.force_rollback = true;
	o.diverged_stamp = "S1";
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3"), ROOT("@a=1 ; @b=2 ; @x=50"), &o);
	expect(p, "", "incremental", "-i @b @c -F");
}

/* (b) No common version and the target has its own snapshots; rename resolves it. */
static void test_no_common(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	PLAN(p, ROOT("@a=1 ; @b=2"), ROOT("@x=70 ; @y=71"), &opts_r);
	const struct zf_replan_item *it = expect_conflict(p, "", ZF_REPLAN_CONFLICT_NO_COMMON);

	expect_list(&it->in_the_way, "x,y");
	expect_msg(it, "no snapshot in common with 'tank/data'");

	o.force_rollback = true;        /* -F cannot help: it destroys only after a base */
	PLAN(p2, ROOT("@a=1 ; @b=2"), ROOT("@x=70 ; @y=71"), &o);
	expect_conflict(p2, "", ZF_REPLAN_CONFLICT_NO_COMMON);

	o.rename_diverged = true;
	o.diverged_stamp = "S2";
	PLAN(p3, ROOT("@a=1 ; @b=2"), ROOT("@x=70 ; @y=71"), &o);
	const struct zf_replan_item *it3 =
		expect(p3, "", "rename-and-full", "rename .zferry-diverged-S2 ; full @b");
	assert_true(it3->children_need);
	assert_int_equal(it3->in_the_way.n, 0);
}

/* (c) behind the base cannot be forced: -F destroys only what follows the base. */
static void test_same_name_force(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_i;
	o.force_rollback = true;
	/* the target's @c (99) is newer than the base @b: -F destroys it */
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3"), ROOT("@a=1 ; @b=2 ; @c=99"), &o);
	expect_list(&expect(p, "", "incremental", "-I @b @c -F")->destroys, "c");
	/* the target's @c (99) is older than the base @b, and -I would send the source's @c */
	PLAN(p2, ROOT("@a=1 ; @b=2 ; @c=3 ; @d=4"), ROOT("@c=99 ; @a=1 ; @b=2"), &o);
	expect_list(&expect_conflict(p2, "", ZF_REPLAN_CONFLICT_NAME_GUID)->in_the_way, "c");
	/* without intermediates @c is not sent, so it is not in the way */
	o.intermediates = false;
	PLAN(p3, ROOT("@a=1 ; @b=2 ; @c=3 ; @d=4"), ROOT("@c=99 ; @a=1 ; @b=2"), &o);
	expect(p3, "", "incremental", "-i @b @d");
}

/* A long list in a message is cut after five names; the item keeps them all. */
static void test_message_list_cut(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2"),
	     ROOT("@a=1 ; @n1=11 ; @n2=12 ; @n3=13 ; @n4=14 ; @n5=15 ; @n6=16 ; @n7=17"), &opts_r);
	const struct zf_replan_item *it = expect_conflict(p, "", ZF_REPLAN_CONFLICT_TARGET_NEWER);

	assert_int_equal(it->in_the_way.n, 7);
	expect_msg(it, "(@n1, @n2, @n3, @n4, @n5 and 2 more)");
}

/* (d) Written since its newest snapshot; force_rollback rolls back and receives. */
static void test_target_modified(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	const struct fsdef src[] = { ROOT("@a=1 ; @b=2"), END };
	const struct fsdef dst[] = { { .name = "", .versions = "@a=1", .modified = true }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);
	const struct zf_replan_item *it = expect_conflict(p, "", ZF_REPLAN_CONFLICT_TARGET_MODIFIED);

	expect_msg(it, "modified since its newest snapshot '@a'");

	o.rename_diverged = true;       /* renaming does not apply to (d) */
	o.diverged_stamp = "S";
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst, &o);
	expect_conflict(p2, "", ZF_REPLAN_CONFLICT_TARGET_MODIFIED);

	o.force_rollback = true;
	_cleanup_(zf_replan_freep) struct zf_replan *p3 = plan(src, dst, &o);
	it = expect(p3, "", "incremental", "-i @a @b -F");
	assert_string_equal(it->rollback_to, "a");
	assert_int_equal(it->destroys.n, 0);
	expect_msg(it, "rolls it back to '@a'");
}

/* Modified but nothing new to send: nothing is received, so no conflict. */
static void test_modified_but_up_to_date(void **state)
{
	(void)state;
	const struct fsdef src[] = { ROOT("@a=1"), END };
	const struct fsdef dst[] = { { .name = "", .versions = "@a=1", .modified = true }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);
	expect(p, "", "up-to-date", "");
}

/* (f) The only common version is a bookmark on the receiver: recv needs a snapshot. */
static void test_receiver_bookmark_only(void **state)
{
	(void)state;
	PLAN(p, ROOT("@a=1 ; @b=2 ; @c=3"), ROOT("#b=2 ; @x=60"), &opts_r);
	const struct zf_replan_item *it =
		expect_conflict(p, "", ZF_REPLAN_CONFLICT_RECEIVER_BOOKMARK);
	expect_msg(it, "'#b'");
}

/* A target with no snapshots: ours (placeholder) is replaced, anyone else's is a conflict. */
static void test_target_exists_without_snapshots(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	const struct fsdef src[] = { ROOT("@a=1 ; @b=2"), END };
	const struct fsdef dst[] = { ROOT(""), END };
	const struct fsdef dst_ph[] = { { .name = "", .placeholder = true }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst_ph, &opts_r);
	const struct zf_replan_item *it;

	expect_conflict(p, "", ZF_REPLAN_CONFLICT_TARGET_EXISTS);
	it = expect(p2, "", "full", "full @b -F");
	assert_true(it->clear_placeholder);
	assert_false(it->children_need);

	o.force_rollback = true;
	_cleanup_(zf_replan_freep) struct zf_replan *p3 = plan(src, dst, &o);
	it = expect(p3, "", "full", "full @b -F");
	expect_msg(it, "overwrites");
}

/* zfs recv -F cannot put a raw stream over a placeholder, nor replace an encrypted one. */
static void test_placeholder_encrypted(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	const struct fsdef src_enc[] = { { .name = "", .versions = "@a=1", .encrypted = true }, END };
	const struct fsdef src[] = { ROOT("@a=1"), END };
	const struct fsdef dst_ph[] = { { .name = "", .placeholder = true }, END };
	const struct fsdef dst_ph_enc[] = { { .name = "", .placeholder = true, .encrypted = true },
					    END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src_enc, dst_ph, &o);
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst_ph_enc, &o);
	const struct zf_replan_item *it;

	it = expect_conflict(p, "", ZF_REPLAN_CONFLICT_ENCRYPTED_REPLACE);
	expect_msg(it, "placeholder 'backup/data' cannot be replaced");
	assert_false(it->clear_placeholder);
	expect_conflict(p2, "", ZF_REPLAN_CONFLICT_ENCRYPTED_REPLACE);
	/* not raw: the plain stream replaces the plain placeholder */
	o.raw = ZF_REPLAN_RAW_OFF;
	_cleanup_(zf_replan_freep) struct zf_replan *p3 = plan(src_enc, dst_ph, &o);
	expect(p3, "", "full", "full @a -F");
	/* renaming it aside works either way */
	o.raw = ZF_REPLAN_RAW_AUTO;
	o.rename_diverged = true;
	o.diverged_stamp = "S";
	_cleanup_(zf_replan_freep) struct zf_replan *p4 = plan(src_enc, dst_ph, &o);
	it = expect(p4, "", "rename-and-full", "rename .zferry-diverged-S ; full @a");
	assert_false(it->clear_placeholder);
}

/* An interrupted receive of @c is resumed first, then the rest follows. */
static void test_resume(void **state)
{
	(void)state;
	const struct fsdef src[] = { ROOT("@a=1 ; @b=2 ; @c=3 ; @d=4"), END };
	const struct fsdef dst[] = { { .name = "", .versions = "@a=1 ; @b=2", .token = "1-abc-def",
				       .toguid = 3 }, END };
	const struct fsdef dst_done[] = { { .name = "", .versions = "@a=1 ; @b=2",
					    .token = "1-abc-def", .toguid = 4 }, END };
	const struct fsdef dst_unknown[] = { { .name = "", .versions = "@a=1 ; @b=2",
					       .token = "1-abc-def" }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst_done, &opts_r);
	_cleanup_(zf_replan_freep) struct zf_replan *p3 = plan(src, dst_unknown, &opts_r);
	const struct zf_replan_item *it;

	it = expect(p, "", "resume", "resume ; -i @c @d");
	assert_string_equal(it->steps[0].token, "1-abc-def");
	expect_list(&it->holds, "c,d");
	it = expect(p2, "", "resume", "resume");
	assert_string_equal(it->cursor, "zferry_cursor_g0000000000000004");
	expect_list(&it->holds, "d");
	it = expect(p3, "", "resume", "resume");
	assert_true(it->plan_again);
	assert_null(it->cursor);
}

/* "-" is how zfs prints an unset token: no resume. */
static void test_resume_token_dash(void **state)
{
	(void)state;
	const struct fsdef src[] = { ROOT("@a=1 ; @b=2"), END };
	const struct fsdef dst[] = { { .name = "", .versions = "@a=1", .token = "-" }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);
	expect(p, "", "incremental", "-i @a @b");
}

/* The user said no-resume: the partial state is aborted (recv -A), then planned afresh. */
static void test_no_resume_aborts(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	const struct fsdef src[] = { ROOT("@a=1 ; @b=2 ; @c=3"), END };
	const struct fsdef dst[] = { { .name = "", .versions = "@a=1", .token = "1-x", .toguid = 2 },
				     END };
	/* an interrupted first full: after recv -A the filesystem is gone */
	const struct fsdef dst_full[] = { { .name = "", .token = "1-y", .toguid = 3 }, END };

	o.no_resume = true;
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &o);
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst_full, &o);
	expect(p, "", "incremental", "abort ; -i @a @c");
	assert_false(item(p, "")->children_need);
	expect(p2, "", "full", "abort ; full @c");
	assert_true(item(p2, "")->children_need);
}

/* The token sends a snapshot the sender no longer has: say so, suggest --no-resume. */
static void test_resume_stale(void **state)
{
	(void)state;
	const struct fsdef src[] = { ROOT("@a=1 ; @c=3"), END };
	const struct fsdef dst[] = { { .name = "", .versions = "@a=1", .token = "1-x", .toguid = 2 },
				     END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);
	const struct zf_replan_item *it = expect_conflict(p, "", ZF_REPLAN_CONFLICT_RESUME_STALE);
	expect_msg(it, "--no-resume");
}

/* (e) -L recorded, not requested (and the reverse): the chain cannot switch. */
static void test_flags_large_block(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	const struct fsdef src[] = { ROOT("@a=1 ; @b=2"), END };
	const struct fsdef dst_l[] = { { .name = "", .versions = "@a=1", .sendflags = "L" }, END };
	const struct fsdef dst_none[] = { { .name = "", .versions = "@a=1", .sendflags = "" }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst_l, &o);
	const struct zf_replan_item *it = expect_conflict(p, "", ZF_REPLAN_CONFLICT_SENDFLAGS);

	expect_msg(it, "received with -L, so send with -L too (--large-block)");
	o.flags = ZF_REPLAN_LARGE_BLOCK;
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst_l, &o);
	it = expect(p2, "", "incremental", "-i @a @b");
	assert_int_equal(it->flags, ZF_REPLAN_LARGE_BLOCK);
	assert_string_equal(it->sendflags, "L");
	_cleanup_(zf_replan_freep) struct zf_replan *p3 = plan(src, dst_none, &o);
	it = expect_conflict(p3, "", ZF_REPLAN_CONFLICT_SENDFLAGS);
	expect_msg(it, "received without -L");
}

/* (e) -w: a raw chain stays raw, a plain one stays plain, whatever was asked. */
static void test_flags_raw(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	const struct fsdef src[] = { { .name = "", .versions = "@a=1 ; @b=2", .encrypted = true },
				     END };
	const struct fsdef dst_w[] = { { .name = "", .versions = "@a=1", .sendflags = "w" }, END };
	const struct fsdef dst_c[] = { { .name = "", .versions = "@a=1", .sendflags = "c" }, END };
	const struct zf_replan_item *it;

	/* --decrypt onto a raw chain: say so, not "add --large-block" (-L comes with -w) */
	o.raw = ZF_REPLAN_RAW_OFF;
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst_w, &o);
	it = expect_conflict(p, "", ZF_REPLAN_CONFLICT_SENDFLAGS);
	expect_msg(it, "was received raw (encrypted, -w) and can only go on raw: drop --decrypt");
	assert_null(strstr(it->message, "large-block"));
	o.raw = ZF_REPLAN_RAW_ON;
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst_c, &o);
	it = expect_conflict(p2, "", ZF_REPLAN_CONFLICT_SENDFLAGS);
	expect_msg(it, "received without -w");
	/* raw implies whole large blocks: "w" recorded and "wL" asked agree */
	o.flags = ZF_REPLAN_LARGE_BLOCK;
	_cleanup_(zf_replan_freep) struct zf_replan *p3 = plan(src, dst_w, &o);
	it = expect(p3, "", "incremental", "-i @a @b");
	assert_string_equal(it->sendflags, "Lw");
}

/* -e and -c change only how blocks travel: no chain break, the new flags are recorded. */
static void test_flags_embed_compressed(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	const struct fsdef src[] = { ROOT("@a=1 ; @b=2"), END };
	const struct fsdef dst[] = { { .name = "", .versions = "@a=1", .sendflags = "Lec" }, END };
	const struct fsdef dst_old[] = { { .name = "", .versions = "@a=1", .sendflags = "" }, END };
	const struct zf_replan_item *it;

	o.flags = ZF_REPLAN_LARGE_BLOCK;
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &o);
	it = expect(p, "", "incremental", "-i @a @b");
	assert_string_equal(it->sendflags, "L");
	o.flags = ZF_REPLAN_EMBED | ZF_REPLAN_COMPRESSED;
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst_old, &o);
	it = expect(p2, "", "incremental", "-i @a @b");
	assert_string_equal(it->sendflags, "ec");
	assert_int_equal(it->flags, ZF_REPLAN_EMBED | ZF_REPLAN_COMPRESSED);
}

/* An encrypted sender goes raw by default; an incremental follows a recorded plain chain. */
static void test_encrypted_defaults_raw(void **state)
{
	(void)state;
	const struct fsdef src[] = { { .name = "", .versions = "@a=1 ; @b=2", .encrypted = true },
				     END };
	const struct fsdef dst_plain[] = { { .name = "", .versions = "@a=1", .sendflags = "c" },
					   END };
	const struct fsdef dst_unknown[] = { ROOT("@a=1"), END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, NULL, &opts_r);
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst_plain, &opts_r);
	_cleanup_(zf_replan_freep) struct zf_replan *p3 = plan(src, dst_unknown, &opts_r);

	assert_int_equal(expect(p, "", "full", "full @b")->flags, ZF_REPLAN_RAW);
	assert_string_equal(item(p, "")->sendflags, "w");
	/* a chain started with --decrypt does not quietly go on in plaintext */
	expect_msg(expect_conflict(p2, "", ZF_REPLAN_CONFLICT_DECRYPTED_CHAIN),
		   "pass --decrypt again");
	assert_int_equal(expect(p3, "", "incremental", "-i @a @b")->flags, ZF_REPLAN_RAW);
	/* with --decrypt it goes on */
	struct zf_replan_opts o = opts_r;
	o.raw = ZF_REPLAN_RAW_OFF;
	_cleanup_(zf_replan_freep) struct zf_replan *p4 = plan(src, dst_plain, &o);
	assert_int_equal(expect(p4, "", "incremental", "-i @a @b")->flags, 0);
}

/* Bookmarks only on the sender: nothing to send, and the message says why. */
static void test_sender_only_bookmarks(void **state)
{
	(void)state;
	PLAN(p, ROOT("#a=1 ; #b=2"), NOFS, &opts_r);
	const struct zf_replan_item *it = expect(p, "", "nothing-to-send", "");

	expect_msg(it, "'tank/data' has no snapshots to send (only bookmarks)");
	assert_null(it->cursor);
}

/* No filesystems at all is an error; a root without versions is nothing to send. */
static void test_empty_sender(void **state)
{
	(void)state;
	struct zf_err err = ZF_ERR_INIT;
	const struct fsdef none[] = { END };

	assert_null(plan_err(none, none, &opts_r, -ENOENT, &err));
	assert_non_null(strstr(err.msg, "nothing to replicate"));

	/* without -r, children alone are nothing either */
	const struct fsdef kids[] = { { .name = "a", .versions = "@a=1" }, END };
	struct zf_replan_opts o = opts_r;
	o.recursive = false;
	zf_err_clear(&err);
	assert_null(plan_err(kids, none, &o, -ENOENT, &err));
	assert_non_null(strstr(err.msg, "the root is not among them"));
	PLAN(p, ROOT(""), NOFS, &opts_r);
	expect_msg(expect(p, "", "nothing-to-send", ""), "has no snapshots to send;");
}

/*
 * A sync snapshot: send up to it, not past it; a filesystem lacking it (the
 * engine snapshots only what changed) goes up to its newest snapshot.
 */
static void test_sync_snap(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	const struct fsdef src[] = { ROOT("@a=1 ; @b=2 ; @sync=3 ; @later=4"),
				     { .name = "new", .versions = "@later=40" }, END };
	const struct fsdef dst[] = { ROOT("@a=1"), END };

	o.sync_snap = "sync";
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &o);
	expect(p, "", "incremental", "-i @a @sync");
	expect(p, "new", "full", "full @later");
	o.intermediates = true;
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst, &o);
	expect(p2, "", "incremental", "-I @a @sync");
	/* the target already went past the sync snapshot: up to date */
	const struct fsdef dst2[] = { ROOT("@a=1 ; @sync=3 ; @later=4"), END };
	_cleanup_(zf_replan_freep) struct zf_replan *p3 = plan(src, dst2, &o);
	expect(p3, "", "up-to-date", "");
}

/* Names with spaces, ':' and unicode are opaque bytes, copied unharmed. */
static void test_opaque_names(void **state)
{
	(void)state;
	const struct fsdef src[] = { ROOT("@a=1"), { .name = "my fs", .versions = "@a=5" },
				     { .name = "my fs/ü ñ 雪", .versions = "@snap 1=7 ; @zé:2026-11=8" },
				     END };
	const struct fsdef dst[] = { ROOT("@a=1"), { .name = "my fs", .versions = "@a=5" },
				     { .name = "my fs/ü ñ 雪", .versions = "@snap 1=7" }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);
	const struct zf_replan_item *it = expect(p, "my fs/ü ñ 雪", "incremental",
						  "-i @snap 1 @zé:2026-11");

	assert_string_equal(p->items[it->parent].fs, "my fs");
	expect_list(&it->holds, "snap 1,zé:2026-11");
}

/* Excluded children: the caller left out "a/b"; its target exists and is left alone. */
static void test_excluded_children(void **state)
{
	(void)state;
	const struct fsdef src[] = { ROOT("@a=1"), { .name = "a", .versions = "@a=2" }, END };
	const struct fsdef dst[] = { ROOT("@a=1"), { .name = "a", .versions = "@a=2" },
				     { .name = "a/b", .versions = "@x=9" }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);

	assert_int_equal(p->n_items, 2);
	assert_false(has_item(p, "a/b"));
}

/* Without -r only the root is planned, whatever else was listed. */
static void test_not_recursive(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	const struct fsdef src[] = { { .name = "a", .versions = "@a=2" }, ROOT("@a=1"), END };

	o.recursive = false;
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, NULL, &o);
	assert_int_equal(p->n_items, 1);
	expect(p, "", "full", "full @a");
}

/* An excluded parent the target lacks becomes a placeholder; one it has needs nothing. */
static void test_placeholder_parents(void **state)
{
	(void)state;
	const struct fsdef src[] = { ROOT("@a=1"), { .name = "x/y/z", .versions = "@a=3" },
				     { .name = "k/l", .versions = "@a=4" },
				     { .name = "e", .versions = "" },
				     { .name = "e/f", .versions = "@a=5" }, END };
	const struct fsdef dst[] = { ROOT("@a=1"), { .name = "k", .versions = "@q=50" }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);
	const struct zf_replan_item *x = expect(p, "x", "create-placeholder", "create");
	const struct zf_replan_item *xy = expect(p, "x/y", "create-placeholder", "create");
	const struct zf_replan_item *z = expect(p, "x/y/z", "full", "full @a");
	const struct zf_replan_item *e;

	assert_true(x->children_need);
	assert_string_equal(p->items[xy->parent].fs, "x");
	assert_string_equal(p->items[z->parent].fs, "x/y");
	assert_false(has_item(p, "k"));
	assert_string_equal(p->items[item(p, "k/l")->parent].fs, "");
	/* a replicated parent with no snapshots: placeholder too, and it says why */
	e = expect(p, "e", "create-placeholder", "create");
	expect_msg(e, "'tank/data/e' has no snapshots");
	expect(p, "e/f", "full", "full @a");

	/* next run: the placeholder is there, and that is fine */
	const struct fsdef dst2[] = { ROOT("@a=1"), { .name = "e", .placeholder = true }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst2, &opts_r);
	expect_msg(expect(p2, "e", "up-to-date", ""), "placeholder 'backup/data/e' stays");
}

/* The root excluded and missing on the target: the root itself is a placeholder. */
static void test_placeholder_root(void **state)
{
	(void)state;
	const struct fsdef src[] = { { .name = "a", .versions = "@a=2" }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, NULL, &opts_r);

	assert_int_equal(p->n_items, 2);
	assert_int_equal(p->items[0].parent, -1);
	expect(p, "", "create-placeholder", "create");
	assert_int_equal(item(p, "a")->parent, 0);
}

/* A parent renamed aside takes its children's targets along: they go in full too. */
static void test_rename_parent_moves_children(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	const struct fsdef src[] = { ROOT("@a=1 ; @b=2"), { .name = "c", .versions = "@a=3 ; @b=4" },
				     END };
	const struct fsdef dst[] = { ROOT("@a=1 ; @x=9"), { .name = "c", .versions = "@a=3" }, END };

	o.rename_diverged = true;
	o.diverged_stamp = "S";
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &o);
	expect(p, "", "rename-and-full", "rename .zferry-diverged-S ; full @b");
	expect(p, "c", "full", "full @b");
}

/* ---- order -------------------------------------------------------------- */

/* Plays the engine with up to `workers` items at once; fail_fs fail. Returns max parallelism. */
static size_t run_sched(const struct zf_replan *p, struct zf_replan_sched *s, size_t workers,
			const char *const *fail_fs)
{
	size_t running[64], n_running = 0, max = 0, i;
	int r;

	assert_true(workers <= 64);
	for (;;) {
		while (n_running < workers && (r = zf_replan_sched_next(s, &i)) == 1) {
			const struct zf_replan_item *it = &p->items[i];

			/* parent finished before the child started */
			if (it->parent >= 0)
				assert_true(zf_replan_sched_state(s, (size_t)it->parent) ==
						    ZF_REPLAN_DONE ||
					    !p->items[it->parent].children_need);
			running[n_running++] = i;
		}
		max = MAX(max, n_running);
		if (n_running == 0) {
			assert_int_equal(zf_replan_sched_next(s, &i), 0);
			return max;
		}
		i = running[--n_running];       /* finish the latest one */
		bool ok = true;
		for (const char *const *f = fail_fs; f && *f; f++)
			if (strcmp(*f, p->items[i].fs) == 0)
				ok = false;
		zf_replan_sched_done(s, i, ok);
	}
}

/* 20 filesystems, parents before children, placeholders for the excluded ones. */
static void test_tree_of_20(void **state)
{
	(void)state;
	const struct fsdef src[] = {
		ROOT("@s=1"),
		{ .name = "a", .versions = "@s=2" },     { .name = "a/1", .versions = "@s=3" },
		{ .name = "a/2", .versions = "@s=4" },   { .name = "a/2/x", .versions = "@s=5" },
		{ .name = "a b", .versions = "@s=6" },   { .name = "a b/1", .versions = "@s=7" },
		{ .name = "b", .versions = "@s=8" },     { .name = "b/1", .versions = "@s=9" },
		{ .name = "b/2", .versions = "@s=10" },  { .name = "b/3", .versions = "@s=11" },
		{ .name = "c/1", .versions = "@s=12" },  { .name = "c/2", .versions = "@s=13" },
		{ .name = "d/e/f", .versions = "@s=14" }, { .name = "g", .versions = "@s=15" },
		{ .name = "g/h", .versions = "@s=16" },  { .name = "g/h/i", .versions = "@s=17" },
		{ .name = "g/h/i/j", .versions = "@s=18" }, { .name = "z", .versions = "@s=19" },
		{ .name = "a/0", .versions = "@s=20" },
		END,
	};
	const struct fsdef dst[] = { ROOT("@s=1"), { .name = "a", .versions = "@s=2" }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);
	_cleanup_(zf_replan_sched_freep) struct zf_replan_sched *s = zf_replan_sched_new(p);

	/* 20 replicated + placeholders c, d, d/e */
	assert_int_equal(p->n_items, 23);
	expect(p, "c", "create-placeholder", "create");
	expect(p, "d", "create-placeholder", "create");
	expect(p, "d/e", "create-placeholder", "create");
	expect(p, "a", "up-to-date", "");
	for (size_t i = 0; i < p->n_items; i++) {
		const struct zf_replan_item *it = &p->items[i];
		const char *par;
		size_t n;

		if (!*it->fs) {
			assert_int_equal(it->parent, -1);
			continue;
		}
		assert_true(it->parent >= 0 && (size_t)it->parent < i);
		par = p->items[it->parent].fs;
		n = strlen(par);
		/* the parent item is the direct parent (every ancestor has an item here) */
		assert_true(n == 0 ? strchr(it->fs, '/') == NULL
				   : strncmp(it->fs, par, n) == 0 && it->fs[n] == '/' &&
					     !strchr(it->fs + n + 1, '/'));
	}
	assert_true(run_sched(p, s, 4, NULL) > 1);      /* siblings did run side by side */
	for (size_t i = 0; i < p->n_items; i++)
		assert_int_equal(zf_replan_sched_state(s, i), ZF_REPLAN_DONE);
}

/* A failed full skips its whole subtree; a failed incremental does not hold back children. */
static void test_failed_parent_skips_children(void **state)
{
	(void)state;
	const struct fsdef src[] = { ROOT("@s=1 ; @t=2"), { .name = "a", .versions = "@s=3" },
				     { .name = "a/b", .versions = "@s=4" },
				     { .name = "a/b/c", .versions = "@s=5" },
				     { .name = "k", .versions = "@s=6" }, END };
	const struct fsdef dst[] = { ROOT("@s=1"), { .name = "k", .versions = "@s=6" }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);
	_cleanup_(zf_replan_sched_freep) struct zf_replan_sched *s = zf_replan_sched_new(p);
	_cleanup_(zf_replan_sched_freep) struct zf_replan_sched *s2 = zf_replan_sched_new(p);
	const char *const fail_a[] = { "a", NULL };
	const char *const fail_root[] = { "", NULL };
	size_t ia = (size_t)(item(p, "a") - p->items), ic = (size_t)(item(p, "a/b/c") - p->items);
	size_t ik = (size_t)(item(p, "k") - p->items);

	run_sched(p, s, 2, fail_a);
	assert_int_equal(zf_replan_sched_state(s, ia), ZF_REPLAN_FAILED);
	assert_int_equal(zf_replan_sched_state(s, ic), ZF_REPLAN_SKIPPED);
	assert_string_equal(zf_replan_sched_reason(s, ic), "parent 'backup/data/a' failed");
	assert_int_equal(zf_replan_sched_state(s, ik), ZF_REPLAN_DONE);
	assert_null(zf_replan_sched_reason(s, ik));

	/* the root's incremental failed, but every target below exists or is independent */
	expect(p, "", "incremental", "-i @s @t");
	run_sched(p, s2, 2, fail_root);
	assert_int_equal(zf_replan_sched_state(s2, 0), ZF_REPLAN_FAILED);
	assert_int_equal(zf_replan_sched_state(s2, ic), ZF_REPLAN_DONE);
}

/* next() says wait (-EAGAIN) while the only runnable work is a running parent. */
static void test_sched_wait(void **state)
{
	(void)state;
	const struct fsdef src[] = { ROOT("@s=1"), { .name = "a", .versions = "@s=2" }, END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, NULL, &opts_r);
	_cleanup_(zf_replan_sched_freep) struct zf_replan_sched *s = zf_replan_sched_new(p);
	size_t i;

	assert_int_equal(zf_replan_sched_next(s, &i), 1);
	assert_int_equal(i, 0);
	assert_int_equal(zf_replan_sched_next(s, &i), -EAGAIN);
	zf_replan_sched_done(s, 0, true);
	assert_int_equal(zf_replan_sched_next(s, &i), 1);
	assert_int_equal(i, 1);
	zf_replan_sched_done(s, 1, true);
	assert_int_equal(zf_replan_sched_next(s, &i), 0);
}

/* A planned conflict on a target that does not exist holds back its children. */
static void test_conflict_on_absent_parent(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	/* "a" was never received whole: an interrupted full receive of a snapshot now gone */
	const struct fsdef src[] = { ROOT("@s=1 ; @sync=2"), { .name = "a", .versions = "@t=3" },
				     { .name = "a/b", .versions = "@sync=4" }, END };
	const struct fsdef dst[] = { ROOT("@s=1"),
				     { .name = "a", .versions = "", .token = "1-x", .toguid = 99 },
				     END };
	size_t i;

	o.sync_snap = "sync";
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &o);
	_cleanup_(zf_replan_sched_freep) struct zf_replan_sched *s = zf_replan_sched_new(p);
	const struct zf_replan_item *a = expect_conflict(p, "a", ZF_REPLAN_CONFLICT_RESUME_STALE);

	assert_true(a->children_need);
	expect(p, "a/b", "full", "full @sync");
	/* the engine cannot run a conflict: it reports it and marks it failed */
	while (zf_replan_sched_next(s, &i) == 1)
		zf_replan_sched_done(s, i, p->items[i].action != ZF_REPLAN_CONFLICT);
	assert_int_equal(zf_replan_sched_state(s, (size_t)(item(p, "a/b") - p->items)),
			 ZF_REPLAN_SKIPPED);
}

/* A clone whose origin is in the tree goes as a clone of the target's copy of it. */
static void test_clones(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_i;
	o.src_display = "tank/data";
	const struct fsdef src[] = { ROOT("@r=1"), { .name = "o", .versions = "@a=10 ; @b=11" },
				     { .name = "x", .versions = "@c=20 ; @d=21", .origin = "o",
				       .origin_guid = 10 },
				     { .name = "y", .versions = "@e=30", .origin = "o",
				       .origin_guid = 11 },
				     /* origin below the clone: it cannot arrive first */
				     { .name = "z", .versions = "@f=40", .origin = "z/in",
				       .origin_guid = 50 },
				     { .name = "z/in", .versions = "@g=50" }, END };
	const struct fsdef dst_none[] = { END };
	const struct fsdef dst_o[] = { ROOT("@r=1"), { .name = "o", .versions = "@a=10" }, END };
	const struct zf_replan_item *x, *y;
	size_t i, order[8], n = 0;

	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst_none, &o);
	x = expect(p, "x", "full", "-i o@a @c ; -I @c @d");
	expect_msg(x, "as a clone of 'tank/data/o@a'");
	assert_int_equal(x->after, item(p, "o") - p->items);
	y = expect(p, "y", "full", "-i o@b @e");
	assert_int_equal(y->after, item(p, "o") - p->items);
	expect(p, "z", "full", "full @f");
	/* origins first */
	{
		_cleanup_(zf_replan_sched_freep) struct zf_replan_sched *s = zf_replan_sched_new(p);
		int r;
		while ((r = zf_replan_sched_next(s, &i)) != 0) {
			assert_int_equal(r, 1);
			order[n++] = i;
			zf_replan_sched_done(s, i, true);
		}
		for (size_t k = 0; k < n; k++)
			if (order[k] == (size_t)(x - p->items) || order[k] == (size_t)(y - p->items))
				for (size_t j = k; j < n; j++)
					assert_true(order[j] != (size_t)(item(p, "o") - p->items));
	}
	/* the origin failing skips its clones, saying why */
	{
		_cleanup_(zf_replan_sched_freep) struct zf_replan_sched *s = zf_replan_sched_new(p);
		while (zf_replan_sched_next(s, &i) == 1)
			zf_replan_sched_done(s, i, !streq(p->items[i].fs, "o"));
		assert_int_equal(zf_replan_sched_state(s, (size_t)(x - p->items)), ZF_REPLAN_SKIPPED);
		assert_string_equal(zf_replan_sched_reason(s, (size_t)(x - p->items)),
				    "origin 'backup/data/o' failed");
	}

	/* the target has the origin's @a already: no waiting; @b only comes now */
	o.intermediates = false;
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, dst_o, &o);
	x = expect(p2, "x", "full", "-i o@a @d");
	assert_int_equal(x->after, -1);
	y = expect(p2, "y", "full", "-i o@b @e");
	assert_int_equal(y->after, item(p2, "o") - p2->items);
	/* without intermediates the origin's @a would not arrive: a plain full send */
	_cleanup_(zf_replan_freep) struct zf_replan *p3 = plan(src, dst_none, &o);
	expect(p3, "x", "full", "full @d");
	assert_null(item(p3, "x")->message);
}

/* A received name that would pass zfs's 255 bytes is refused before anything runs. */
static void test_name_too_long(void **state)
{
	(void)state;
	char longname[300], versions[320];
	struct zf_replan_opts o = opts_i;

	memset(longname, 'n', 250);
	longname[250] = '\0';
	snprintf(versions, sizeof(versions), "@a=1 ; @%s=2", longname);
	const struct fsdef src[] = { ROOT(versions), END };
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, NULL, &o);
	expect_msg(expect_conflict(p, "", ZF_REPLAN_CONFLICT_NAME_TOO_LONG),
		   "longer than zfs takes (255)");
	/* without intermediates only the newest is received: the same */
	o.intermediates = false;
	_cleanup_(zf_replan_freep) struct zf_replan *p2 = plan(src, NULL, &o);
	expect_conflict(p2, "", ZF_REPLAN_CONFLICT_NAME_TOO_LONG);
	/* a short one in the middle of a -I range is fine */
	snprintf(versions, sizeof(versions), "@%s=1 ; @b=2", longname);
	const struct fsdef src2[] = { ROOT(versions), END };
	_cleanup_(zf_replan_freep) struct zf_replan *p3 = plan(src2, NULL, &o);
	expect(p3, "", "full", "full @b");
}

static size_t xorshift(uint64_t *x, size_t n)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (size_t)(*x % n);
}

/*
 * Random histories against the promises that matter most: nothing is forced
 * or renamed unless allowed (guarantee 1), every send goes forward from a
 * version the target has, and conflicts run nothing.
 */
static void test_random_invariants(void **state)
{
	(void)state;
	uint64_t rng = 0x9e3779b97f4a7c15u;
	size_t seen[ZF_REPLAN_CONFLICT + 1] = { 0 }, forced = 0;
#define RND(n) xorshift(&rng, (n))

	for (int round = 0; round < 3000; round++) {
		struct zf_replan_version sv[24], dv[24];
		char sn[24][16], dn[24][16];
		size_t ns = RND(12), nd = 0, keep_upto = RND(ns + 1);
		struct zf_replan_fs s = { .name = "", .versions = sv };
		struct zf_replan_fs d = { .name = "", .versions = dv };
		struct zf_replan_opts o = { .recursive = true, .intermediates = RND(2),
					    .force_rollback = RND(2), .rename_diverged = RND(2),
					    .diverged_stamp = "S", .no_resume = RND(2) };
		_cleanup_(zf_replan_freep) struct zf_replan *p = NULL;
		struct zf_err err = ZF_ERR_INIT;

		for (size_t i = 0; i < ns; i++) {
			bool mark = RND(4) == 0;
			snprintf(sn[i], sizeof(sn[i]), "s%zu", i);
			sv[i] = (struct zf_replan_version){ .name = sn[i], .guid = 100 + i,
							    .createtxg = 10 + i, .bookmark = mark };
		}
		/* the target: a prefix of the history, with gaps, renames and its own snapshots */
		for (size_t i = 0; i < keep_upto; i++) {
			if (RND(3) == 0)
				continue;
			snprintf(dn[nd], sizeof(dn[nd]), RND(4) ? "s%zu" : "r%zu", i);
			dv[nd] = (struct zf_replan_version){ .name = dn[nd], .guid = 100 + i,
							     .createtxg = 500 + i,
							     .bookmark = RND(8) == 0 };
			nd++;
		}
		for (size_t k = RND(3); k-- > 0;) {
			snprintf(dn[nd], sizeof(dn[nd]), RND(2) ? "s%zu" : "own%zu", RND(12));
			dv[nd] = (struct zf_replan_version){ .name = dn[nd], .guid = 9000 + nd,
							     .createtxg = 900 + nd };
			nd++;
		}
		s.n_versions = ns;
		d.n_versions = nd;
		d.modified = RND(4) == 0;
		d.placeholder = RND(6) == 0;
		if (RND(5) == 0) {
			d.resume_token = "1-tok";
			d.resume_toguid = RND(2) ? 100 + RND(12) : 0;
		}
		if (zf_replan_new(&s, 1, &d, RND(4) ? 1 : 0, &o, &p, &err) < 0)
			continue;       /* a random name clash among the target's own: refused */
		const struct zf_replan_item *it = &p->items[0];
		const struct zf_replan_version *prev_to = NULL;
		bool target_has_base = false;

		seen[it->action]++;
		forced += it->destroys.n > 0;
		if (it->action == ZF_REPLAN_CONFLICT || it->action == ZF_REPLAN_NOTHING_TO_SEND) {
			assert_int_equal(it->n_steps, 0);
			assert_non_null(it->message);
			continue;
		}
		if (it->destroys.n)
			assert_true(o.force_rollback);
		for (size_t k = 0; k < it->n_steps; k++) {
			const struct zf_replan_step *st = &it->steps[k];
			const struct zf_replan_version *from = NULL, *to = NULL;

			if (st->kind == ZF_REPLAN_STEP_RENAME)
				assert_true(o.rename_diverged);
			if (st->kind == ZF_REPLAN_STEP_ABORT_RESUME)
				assert_true(o.no_resume);
			if (st->kind != ZF_REPLAN_STEP_SEND)
				continue;
			if (st->force)
				assert_true(o.force_rollback || it->clear_placeholder);
			for (size_t i = 0; i < ns; i++) {
				if (!sv[i].bookmark && strcmp(sv[i].name, st->to) == 0)
					to = &sv[i];
				if (st->from && strcmp(sv[i].name, st->from) == 0 &&
				    sv[i].bookmark == st->from_bookmark)
					from = &sv[i];
			}
			assert_non_null(to);
			assert_int_equal(to->guid, st->to_guid);
			if (!st->from)
				continue;
			assert_non_null(from);
			assert_true(from->createtxg < to->createtxg);
			if (st->intermediates)
				assert_false(st->from_bookmark);
			if (prev_to) {
				assert_ptr_equal(from, prev_to);   /* steps chain */
			} else if (it->action == ZF_REPLAN_INCREMENTAL) {
				for (size_t i = 0; i < nd; i++)
					if (!dv[i].bookmark && dv[i].guid == from->guid)
						target_has_base = true;
				assert_true(target_has_base);
			}
			prev_to = to;
		}
	}
#undef RND
	/* the histories reach every kind of decision */
	for (int a = ZF_REPLAN_UP_TO_DATE; a <= ZF_REPLAN_CONFLICT; a++)
		if (a != ZF_REPLAN_CREATE_PLACEHOLDER && seen[a] == 0)
			fail_msg("no random history planned %s", zf_replan_action_str(a));
	assert_true(forced > 0);
}

/* ---- scale, input checks, helpers --------------------------------------- */

/* CPU time, not wall time: other builds on a 2-core CI machine must not fail the budget. */
static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* 10 000 versions a side (and a name clash check over all of them) in under 100 ms of CPU. */
static void test_10000_versions(void **state)
{
	(void)state;
	enum { N = 10000 };
	struct zf_replan_version *sv = zf_xcalloc(N, sizeof(*sv));
	struct zf_replan_version *dv = zf_xcalloc(N, sizeof(*dv));
	char **names = zf_xcalloc(N, sizeof(*names));
	struct zf_replan_fs s = { .name = "", .versions = sv, .n_versions = N };
	struct zf_replan_fs d = { .name = "", .versions = dv, .n_versions = N - 100 };
	struct zf_replan_opts o = opts_i;
	struct zf_replan *p = NULL;
	struct zf_err err = ZF_ERR_INIT;
	double best = 1e9;

	for (size_t i = 0; i < N; i++) {
		names[i] = zf_xasprintf("zferry_%06zu", i);
		/* listed newest first: the planner sorts */
		sv[N - 1 - i] = (struct zf_replan_version){ .name = names[i], .guid = i * 7919 + 1,
							    .createtxg = 1000 + i };
		dv[i] = (struct zf_replan_version){ .name = names[i], .guid = i * 7919 + 1,
						    .createtxg = 5 + i * 3 };
	}
	/* best of three, so one preemption does not decide */
	for (int run = 0; run < 3; run++) {
		double t0 = now_ms();

		assert_int_equal(zf_replan_new(&s, 1, &d, 1, &o, &p, &err), 0);
		best = MIN(best, now_ms() - t0);
		expect(p, "", "incremental", "-I @zferry_009899 @zferry_009999");
		p = zf_replan_free(p);
	}
	print_message("planned 2 x %d versions in %.1f ms\n", N, best);
	assert_true(best < 100.0);
	for (size_t i = 0; i < N; i++)
		free(names[i]);
	free(names);
	free(sv);
	free(dv);
}

/* Broken input is refused with a message naming it, never planned on. */
static void test_bad_input(void **state)
{
	(void)state;
	static const struct {
		struct fsdef src[3];
		const char *msg;
	} cases[] = {
		{ { ROOT("@a=1"), ROOT("@a=1") }, "'' listed twice" },
		{ { ROOT("@a=0") }, "guid 0" },
		{ { ROOT("@a=1 ; @b=1") }, "same guid" },
		{ { ROOT("@a=1 ; @a=2") }, "@a listed twice" },
		{ { { .name = "/abs", .versions = "@a=1" } }, "not a relative name" },
		{ { { .name = "a//b", .versions = "@a=1" } }, "not a relative name" },
		{ { ROOT("@a/b=1") }, "bad version name" },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct zf_err err = ZF_ERR_INIT;
		assert_null(plan_err(cases[i].src, NULL, &opts_r, -EINVAL, &err));
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
	}

	struct zf_err err = ZF_ERR_INIT;
	struct zf_replan_opts o = opts_r;
	const struct fsdef src[] = { ROOT("@a=1"), END };
	o.rename_diverged = true;       /* without a stamp */
	assert_null(plan_err(src, NULL, &o, -EINVAL, &err));
	assert_non_null(strstr(err.msg, "diverged stamp"));
	zf_err_clear(&err);
	o = opts_r;
	o.cursor_id = "has space";
	assert_null(plan_err(src, NULL, &o, -EINVAL, &err));
	assert_non_null(strstr(err.msg, "cursor id"));
}

/*
 * The run's cursor moves in one batch: per item that succeeded, the new
 * cursor first and then the old ones; a failed item moves nothing, an item
 * whose cursor exists only removes, an item with nothing to move is absent.
 */
static void test_cursor_ops(void **state)
{
	(void)state;
	const struct fsdef src[] = {
		ROOT("@a=1 ; #zferry_cursor_g0000000000000001=1 ; @b=2"),
		{ .name = "f", .versions = "@c=3 ; #zferry_cursor_g0000000000000003=3 ; @d=4" },
		{ .name = "g", .versions = "@e=5 ; #zferry_cursor_g0000000000000005=5 ; "
					   "#zferry_cursor_g0000000000000006=6 ; @f=6" },
		{ .name = "h", .versions = "@h=7 ; #zferry_cursor_g0000000000000007=7" },
		END,
	};
	const struct fsdef dst[] = {
		ROOT("@a=1"), { .name = "f", .versions = "@c=3" },
		{ .name = "g", .versions = "@e=5 ; @f=6" }, { .name = "h", .versions = "@h=7" }, END,
	};
	_cleanup_(zf_replan_freep) struct zf_replan *p = plan(src, dst, &opts_r);
	_cleanup_free_ struct zf_replan_cursor_op *ops = NULL;
	bool ok[4];
	size_t n, root = 0, g = 0;

	assert_int_equal(p->n_items, 4);
	for (size_t i = 0; i < p->n_items; i++) {
		ok[i] = strcmp(p->items[i].fs, "f") != 0;       /* f failed */
		if (!strcmp(p->items[i].fs, ""))
			root = i;
		if (!strcmp(p->items[i].fs, "g"))
			g = i;
	}
	n = zf_replan_cursor_ops(p, ok, &ops);
	assert_int_equal(n, 3);
	assert_int_equal(ops[0].item, root);
	assert_string_equal(ops[0].snapshot, "b");
	assert_string_equal(ops[0].mark, "zferry_cursor_g0000000000000002");
	assert_int_equal(ops[1].item, root);
	assert_null(ops[1].snapshot);
	assert_string_equal(ops[1].mark, "zferry_cursor_g0000000000000001");
	assert_int_equal(ops[2].item, g);
	assert_null(ops[2].snapshot);
	assert_string_equal(ops[2].mark, "zferry_cursor_g0000000000000005");

	memset(ok, 0, sizeof(ok));
	free(ops);
	ops = NULL;
	assert_int_equal(zf_replan_cursor_ops(p, ok, &ops), 0);
	assert_null(ops);
}

/* Cursors with a target id; someone else's cursors and look-alikes are left alone. */
static void test_cursor_id(void **state)
{
	(void)state;
	struct zf_replan_opts o = opts_r;
	o.cursor_id = "offsite";
	PLAN(p, ROOT("@a=1 ; @b=2 ; #zferry_cursor_offsite_g0000000000000001=1 ; "
		     "#zferry_cursor_g0000000000000001=1 ; #zferry_cursor_other_g0000000000000001=1 ; "
		     "#zferry_cursor_offsite_g00000000000000012=1"),
	     ROOT("@a=1"), &o);
	const struct zf_replan_item *it = expect(p, "", "incremental", "-i @a @b");

	assert_string_equal(it->cursor, "zferry_cursor_offsite_g0000000000000002");
	expect_list(&it->cursor_remove, "zferry_cursor_offsite_g0000000000000001");

	assert_true(zf_replan_is_cursor("zferry_cursor_gffffffffffffffff", NULL));
	assert_false(zf_replan_is_cursor("zferry_cursor_gFFFFFFFFFFFFFFFF", NULL));
	assert_false(zf_replan_is_cursor("zferry_cursor_x_g0000000000000001", NULL));
	assert_false(zf_replan_is_cursor("zferry_cursor_g0000000000000001", "x"));
}

static void test_flags_str(void **state)
{
	(void)state;
	char buf[8];

	assert_string_equal(zf_replan_flags_str(0, buf), "");
	assert_string_equal(zf_replan_flags_str(ZF_REPLAN_COMPRESSED | ZF_REPLAN_LARGE_BLOCK |
						ZF_REPLAN_RAW | ZF_REPLAN_EMBED, buf), "Lwec");
	assert_int_equal(zf_replan_flags_parse("cLxyz"), ZF_REPLAN_COMPRESSED | ZF_REPLAN_LARGE_BLOCK);
	assert_int_equal(zf_replan_flags_parse(NULL), 0);
	assert_string_equal(zf_replan_action_str(ZF_REPLAN_RENAME_AND_FULL), "rename-and-full");
	assert_string_equal(zf_replan_conflict_str(ZF_REPLAN_CONFLICT_RECEIVER_BOOKMARK),
			    "receiver-bookmark");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_up_to_date),
		cmocka_unit_test(test_up_to_date_cursor_present),
		cmocka_unit_test(test_first_full),
		cmocka_unit_test(test_first_full_intermediates),
		cmocka_unit_test(test_incremental_single),
		cmocka_unit_test(test_incremental_intermediates),
		cmocka_unit_test(test_incremental_from_cursor),
		cmocka_unit_test(test_common_by_guid_despite_rename),
		cmocka_unit_test(test_newest_common),
		cmocka_unit_test(test_snapshot_preferred_over_bookmark),
		cmocka_unit_test(test_same_name_other_guid),
		cmocka_unit_test(test_same_name_other_guid_rename),
		cmocka_unit_test(test_same_name_force),
		cmocka_unit_test(test_message_list_cut),
		cmocka_unit_test(test_target_newer),
		cmocka_unit_test(test_target_newer_force),
		cmocka_unit_test(test_target_newer_rename),
		cmocka_unit_test(test_force_and_rename_prefers_rollback),
		cmocka_unit_test(test_no_common),
		cmocka_unit_test(test_target_modified),
		cmocka_unit_test(test_modified_but_up_to_date),
		cmocka_unit_test(test_receiver_bookmark_only),
		cmocka_unit_test(test_target_exists_without_snapshots),
		cmocka_unit_test(test_placeholder_encrypted),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_resume_token_dash),
		cmocka_unit_test(test_no_resume_aborts),
		cmocka_unit_test(test_resume_stale),
		cmocka_unit_test(test_flags_large_block),
		cmocka_unit_test(test_flags_raw),
		cmocka_unit_test(test_flags_embed_compressed),
		cmocka_unit_test(test_encrypted_defaults_raw),
		cmocka_unit_test(test_sender_only_bookmarks),
		cmocka_unit_test(test_empty_sender),
		cmocka_unit_test(test_sync_snap),
		cmocka_unit_test(test_clones),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_opaque_names),
		cmocka_unit_test(test_excluded_children),
		cmocka_unit_test(test_not_recursive),
		cmocka_unit_test(test_placeholder_parents),
		cmocka_unit_test(test_placeholder_root),
		cmocka_unit_test(test_rename_parent_moves_children),
		cmocka_unit_test(test_tree_of_20),
		cmocka_unit_test(test_failed_parent_skips_children),
		cmocka_unit_test(test_sched_wait),
		cmocka_unit_test(test_conflict_on_absent_parent),
		cmocka_unit_test(test_random_invariants),
		cmocka_unit_test(test_10000_versions),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_cursor_id),
		cmocka_unit_test(test_cursor_ops),
		cmocka_unit_test(test_flags_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
