/*
 * tests/unit/test-recv-policy.c — the receive policy cannot be walked past
 *
 * Each test tries a way a sender could get a property onto the receiving
 * host against the policy: by case, by zfs's column aliases, by asking
 * twice, by -x against -o, inside the stream, on snapshots, by origin.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "util/err.h"
#include "util/strv.h"
#include "zfs/props.h"
#include "zfs/recv-policy.h"
#include "zfs/stream.h"

static struct zf_zfs_stream_head fs_head(void)
{
	struct zf_zfs_stream_head h = { 0 };

	h.kind = ZF_ZFS_STREAM_FILESYSTEM;
	h.features = ZF_ZFS_FEATURE_SA_SPILL;
	h.toguid = 42;
	strcpy(h.toname, "p/a@s");
	return h;
}


/* Decides with the default policy for a peer asking set/exclude; returns r. */
static int peer(const struct zf_recv_policy *p, const struct zf_zfs_stream_head *h,
		const char *const *set, const char *const *exclude, struct zf_recv_plan *plan,
		struct zf_err *err)
{
	struct zf_recv_request rq = { set, exclude, false };

	zf_err_clear(err);
	*plan = (struct zf_recv_plan){ 0 };
	return zf_recv_policy_decide(p, h, &rq, plan, err);
}

static bool has(const struct zf_strv *s, const char *v)
{
	return zf_strv_contains(s, v);
}

static void refused(const struct zf_recv_policy *p, const char *const *set,
		    const char *const *exclude, int code, const char *want)
{
	struct zf_zfs_stream_head h = fs_head();
	struct zf_recv_plan plan;
	struct zf_err err = ZF_ERR_INIT;

	assert_int_equal(peer(p, &h, set, exclude, &plan, &err), code);
	if (!strstr(err.msg, want))
		print_error("message '%s' lacks '%s'\n", err.msg, want);
	assert_non_null(strstr(err.msg, want));
	assert_null(strchr(err.msg, '\n'));
}

static void test_defaults(void **state)
{
	struct zf_zfs_stream_head h = fs_head();
	struct zf_recv_plan plan;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), 0);
	assert_true(has(&plan.set, "canmount=noauto"));
	assert_int_equal(plan.set.n, 1);
	assert_int_equal(plan.exclude.n, 0);
	assert_false(plan.mount);
	assert_false(plan.clone);
	zf_recv_plan_release(&plan);

	/* volumes have no canmount: zfs would refuse the receive (the zvol bug) */
	h.kind = ZF_ZFS_STREAM_VOLUME;
	assert_int_equal(peer(NULL, &h, (const char *const[]){ "readonly=on", "canmount=noauto",
							       NULL },
			      NULL, &plan, &err), 0);
	assert_false(has(&plan.set, "canmount=noauto"));
	assert_true(has(&plan.set, "readonly=on"));
	zf_recv_plan_release(&plan);

	/* the stock client's request passes */
	h = fs_head();
	assert_int_equal(peer(NULL, &h, (const char *const[]){ "readonly=on", "canmount=noauto",
							       "zferry:sendflags=Lc", NULL },
			      NULL, &plan, &err), 0);
	assert_true(has(&plan.set, "zferry:sendflags=Lc"));
	assert_true(has(&plan.set, "canmount=noauto"));
	assert_int_equal(plan.set.n, 3);
	zf_recv_plan_release(&plan);
}

static void test_peer_requests(void **state)
{
	struct zf_zfs_stream_head h = fs_head();
	struct zf_recv_plan plan;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	refused(NULL, (const char *const[]){ "mountpoint=/etc/cron.d", NULL }, NULL, -EPERM,
		"'mountpoint=/etc/cron.d' is not allowed");
	refused(NULL, (const char *const[]){ "sharenfs=rw=@0.0.0.0/0", NULL }, NULL, -EPERM,
		"sharenfs");
	refused(NULL, (const char *const[]){ "setuid=on", NULL }, NULL, -EPERM, "setuid=on");
	refused(NULL, (const char *const[]){ "devices=on", NULL }, NULL, -EPERM, "devices");
	refused(NULL, (const char *const[]){ "exec=on", NULL }, NULL, -EPERM, "exec");
	refused(NULL, (const char *const[]){ "zoned=on", NULL }, NULL, -EPERM, "zoned");
	refused(NULL, (const char *const[]){ "keylocation=file:///etc/shadow", NULL }, NULL,
		-EPERM, "keylocation");
	refused(NULL, (const char *const[]){ "reservation=100G", NULL }, NULL, -EPERM,
		"reservation");
	refused(NULL, (const char *const[]){ "refreservation=100G", NULL }, NULL, -EPERM,
		"refreservation");
	refused(NULL, (const char *const[]){ "canmount=on", NULL }, NULL, -EPERM, "canmount=on");
	refused(NULL, (const char *const[]){ "readonly=off", NULL }, NULL, -EPERM, "readonly");
	refused(NULL, (const char *const[]){ "org.openzfs.systemd:wanted-by=multi-user.target",
					     NULL }, NULL, -EPERM, "org.openzfs.systemd");
	refused(NULL, (const char *const[]){ "origin=p/secret@s", NULL }, NULL, -EPERM,
		"origin");
	/* zfs's column aliases are the same property */
	refused(NULL, (const char *const[]){ "reserv=100G", NULL }, NULL, -EPERM,
		"'reservation=100G'");
	refused(NULL, (const char *const[]){ "refreserv=100G", NULL }, NULL, -EPERM,
		"refreservation");
	refused(NULL, (const char *const[]){ "rdonly=off", NULL }, NULL, -EPERM, "readonly");
	/* zfs takes no upper case: neither do we (and say so) */
	refused(NULL, (const char *const[]){ "MOUNTPOINT=/x", NULL }, NULL, -EINVAL,
		"'MOUNTPOINT' is not a property");
	refused(NULL, (const char *const[]){ "Com.Example:x=1", NULL }, NULL, -EINVAL,
		"invalid user property");
	/* twice, or set and excluded */
	refused(NULL, (const char *const[]){ "compression=lz4", "compress=off", NULL }, NULL,
		-EINVAL, "'compression' given twice");
	refused(NULL, (const char *const[]){ "atime=off", NULL },
		(const char *const[]){ "atime", NULL }, -EINVAL, "'atime' given twice");
	refused(NULL, NULL, (const char *const[]){ "rdonly", "readonly", NULL }, -EINVAL,
		"given twice");
	refused(NULL, (const char *const[]){ "nonsense", NULL }, NULL, -EINVAL, "name=value");

	/* what is allowed, canonical */
	assert_int_equal(peer(NULL, &h, (const char *const[]){ "compress=lz4", "recsize=1M",
							       "mountpoint=none", "canmount=off",
							       NULL },
			      (const char *const[]){ "mountpoint2:x", NULL }, &plan, &err), 0);
	assert_true(has(&plan.set, "compression=lz4"));
	assert_true(has(&plan.set, "recordsize=1M"));
	assert_true(has(&plan.set, "mountpoint=none"));
	assert_true(has(&plan.set, "canmount=off"));
	assert_false(has(&plan.set, "canmount=noauto"));
	assert_true(has(&plan.exclude, "mountpoint2:x"));
	zf_recv_plan_release(&plan);

	/* excluding only moves a value to the receiving side's own: allowed */
	assert_int_equal(peer(NULL, &h, NULL, (const char *const[]){ "mountpoint", "reserv",
								     NULL }, &plan, &err), 0);
	assert_true(has(&plan.exclude, "mountpoint"));
	assert_true(has(&plan.exclude, "reservation"));
	zf_recv_plan_release(&plan);
	/* excluding canmount does not undo canmount=noauto */
	assert_int_equal(peer(NULL, &h, NULL, (const char *const[]){ "canmount", NULL }, &plan,
			      &err), 0);
	assert_true(has(&plan.set, "canmount=noauto"));
	assert_false(has(&plan.exclude, "canmount"));
	zf_recv_plan_release(&plan);
}

static void test_forced(void **state)
{
	struct zf_recv_policy p = {
		.force = (const char *const[]){ "readonly=on", "mountpoint=none", NULL },
	};
	struct zf_zfs_stream_head h = fs_head();
	struct zf_recv_plan plan;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_recv_policy_validate(&p, &err), 0);
	assert_int_equal(peer(&p, &h, NULL, NULL, &plan, &err), 0);
	assert_true(has(&plan.set, "readonly=on"));
	assert_true(has(&plan.set, "mountpoint=none"));
	assert_true(has(&plan.set, "canmount=noauto"));
	zf_recv_plan_release(&plan);

	/* the same value once; another one refused; an -x of it dropped */
	assert_int_equal(peer(&p, &h, (const char *const[]){ "readonly=on", NULL },
			      (const char *const[]){ "mountpoint", NULL }, &plan, &err), 0);
	assert_int_equal(plan.set.n, 3);
	assert_false(has(&plan.exclude, "mountpoint"));
	zf_recv_plan_release(&plan);
	refused(&p, (const char *const[]){ "readonly=off", NULL }, NULL, -EPERM,
		"conflicts with this host's receive policy, which sets readonly=on");
	refused(&p, (const char *const[]){ "rdonly=off", NULL }, NULL, -EPERM,
		"conflicts with this host's receive policy, which sets readonly=on");
	p.allow = (const char *const[]){ "readonly", NULL };
	refused(&p, (const char *const[]){ "readonly=off", NULL }, NULL, -EPERM,
		"conflicts with this host's receive policy, which sets readonly=on");
	/* the forced value itself may be asked for, even when not allowed */
	p.allow = (const char *const[]){ NULL };
	assert_int_equal(peer(&p, &h, (const char *const[]){ "mountpoint=none", NULL }, NULL,
			      &plan, &err), 0);
	assert_true(has(&plan.set, "mountpoint=none"));
	zf_recv_plan_release(&plan);
	p.allow = NULL;

	/* forced values that do not apply to volumes are left out there */
	h.kind = ZF_ZFS_STREAM_VOLUME;
	assert_int_equal(peer(&p, &h, NULL, NULL, &plan, &err), 0);
	assert_true(has(&plan.set, "readonly=on"));
	assert_false(has(&plan.set, "mountpoint=none"));
	zf_recv_plan_release(&plan);

	/* mount: no canmount forced; the receiving side mounts */
	p.mount = true;
	h.kind = ZF_ZFS_STREAM_FILESYSTEM;
	assert_int_equal(peer(&p, &h, NULL, NULL, &plan, &err), 0);
	assert_false(has(&plan.set, "canmount=noauto"));
	assert_true(plan.mount);
	zf_recv_plan_release(&plan);
}

static void test_stream_props(void **state)
{
	struct zf_zfs_stream_head h = fs_head();
	struct zf_recv_plan plan;
	struct zf_recv_policy p = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	h.compound = true;
	h.n_fss = 1;
	zf_strv_addv(&h.props, (const char *const[]){ "mountpoint", "sharenfs", "compression",
						      "com.example:x", "zferry:sendflags",
						      "org.openzfs.systemd:wanted-by", "canmount",
						      "reservation", NULL });
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), 0);
	assert_true(has(&plan.exclude, "mountpoint"));
	assert_true(has(&plan.exclude, "sharenfs"));
	assert_true(has(&plan.exclude, "com.example:x"));
	assert_true(has(&plan.exclude, "org.openzfs.systemd:wanted-by"));
	assert_true(has(&plan.exclude, "reservation"));
	assert_false(has(&plan.exclude, "compression"));
	assert_false(has(&plan.exclude, "zferry:sendflags"));
	/* canmount is set, not excluded: zfs takes one or the other */
	assert_false(has(&plan.exclude, "canmount"));
	assert_true(has(&plan.set, "canmount=noauto"));
	zf_recv_plan_release(&plan);

	/* an allow list widens it; "default" keeps the built-in list */
	p.allow = (const char *const[]){ "default", "com.example:*", NULL };
	assert_int_equal(zf_recv_policy_validate(&p, &err), 0);
	assert_int_equal(peer(&p, &h, NULL, NULL, &plan, &err), 0);
	assert_false(has(&plan.exclude, "com.example:x"));
	assert_false(has(&plan.exclude, "compression"));
	assert_true(has(&plan.exclude, "mountpoint"));
	zf_recv_plan_release(&plan);
	/* without "default" the list is exactly what it says */
	p.allow = (const char *const[]){ "com.example:*", NULL };
	assert_int_equal(peer(&p, &h, NULL, NULL, &plan, &err), 0);
	assert_true(has(&plan.exclude, "compression"));
	zf_recv_plan_release(&plan);

	/* a property this version does not know: the stream is refused */
	zf_strv_add(&h.props, "futureprop");
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), -EPERM);
	assert_non_null(strstr(err.msg, "'futureprop'"));
	zf_strv_release(&h.props);

	/* properties on snapshots cannot be excluded: refused unless allowed */
	zf_strv_add(&h.snapprops, "com.sun:auto-snapshot");
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), -EPERM);
	assert_non_null(strstr(err.msg, "on its snapshots"));
	p.allow = (const char *const[]){ "com.sun:*", NULL };
	assert_int_equal(peer(&p, &h, NULL, NULL, &plan, &err), 0);
	zf_recv_plan_release(&plan);
	zf_strv_release(&h.snapprops);

	/* a raw stream's keylocation cannot be excluded: it is reset after */
	h.features |= ZF_ZFS_FEATURE_RAW;
	zf_strv_addv(&h.props, (const char *const[]){ "keylocation", "encryption", "keyformat",
						      NULL });
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), 0);
	assert_true(plan.reset_keylocation);
	assert_false(has(&plan.exclude, "keylocation"));
	assert_false(has(&plan.exclude, "encryption"));
	zf_recv_plan_release(&plan);
	zf_strv_release(&h.props);
}

static void test_streams_refused(void **state)
{
	struct zf_zfs_stream_head h;
	struct zf_recv_plan plan;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	h = fs_head();
	h.compound = true;
	h.recursive = true;
	strcpy(h.header_toname, "p/a@s");
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), -EPERM);
	assert_non_null(strstr(err.msg, "zfs send -R"));

	h = fs_head();
	h.features |= ZF_ZFS_FEATURE_DEDUP;
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), -EPERM);
	h = fs_head();
	h.features |= ZF_ZFS_FEATURE_REDACTED;
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), -EPERM);
	h = fs_head();
	h.features |= 1u << 30;
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), -EPERM);
	assert_non_null(strstr(err.msg, "unknown features"));
	h = fs_head();
	h.compound = true;
	h.n_fss = 2;
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), -EPERM);
	h = fs_head();
	h.compound = true;
	h.has_parentfromsnap = true;
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), -EPERM);

	/* a clone: the caller must find the origin, by the stream's guid */
	h = fs_head();
	h.flags = ZF_ZFS_DRR_CLONE;
	h.fromguid = 1234;
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), 0);
	assert_true(plan.clone);
	assert_int_equal(plan.origin_guid, 1234);
	zf_recv_plan_release(&plan);
	h.has_origin = true;
	h.origin = 999;
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), -EPERM);
	h.origin = 1234;
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), 0);
	assert_true(plan.clone);
	zf_recv_plan_release(&plan);

	/* zfs send -p of a clone's later incremental: its header still names the origin */
	h = fs_head();
	h.compound = true;
	h.fromguid = 5678;
	h.has_origin = true;
	h.origin = 1234;
	assert_int_equal(peer(NULL, &h, NULL, NULL, &plan, &err), 0);
	assert_false(plan.clone);
	zf_recv_plan_release(&plan);
}

static void test_trusted(void **state)
{
	struct zf_zfs_stream_head h = fs_head();
	struct zf_recv_request rq = {
		(const char *const[]){ "mountpoint=/srv/copy", "origin=p/b@s", "canmount=on", NULL },
		NULL, true,
	};
	struct zf_recv_plan plan;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	h.flags = ZF_ZFS_DRR_CLONE;
	h.fromguid = 7;
	assert_int_equal(zf_recv_policy_decide(NULL, &h, &rq, &plan, &err), 0);
	assert_true(has(&plan.set, "mountpoint=/srv/copy"));
	assert_true(has(&plan.set, "origin=p/b@s"));
	assert_true(has(&plan.set, "canmount=on"));
	assert_false(has(&plan.set, "canmount=noauto"));
	assert_false(plan.clone);
	zf_recv_plan_release(&plan);
	/* still no property twice */
	rq.set = (const char *const[]){ "compression=lz4", "compress=off", NULL };
	assert_int_equal(zf_recv_policy_decide(NULL, &h, &rq, &plan, &err), -EINVAL);
}

static void test_create_inherit(void **state)
{
	struct zf_recv_policy p = { .force = (const char *const[]){ "mountpoint=none", NULL } };
	struct zf_strv props = ZF_STRV_INIT;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	/* a placeholder as the stock client makes it */
	assert_int_equal(zf_recv_policy_create(NULL, (const char *const[]){
						       "canmount=off", "zferry:placeholder=on",
						       NULL }, false, &props, &err), 0);
	assert_true(has(&props, "canmount=off"));
	assert_true(has(&props, "zferry:placeholder=on"));
	assert_int_equal(props.n, 2);
	zf_strv_release(&props);
	/* forced values and canmount=noauto come with it */
	assert_int_equal(zf_recv_policy_create(&p, NULL, false, &props, &err), 0);
	assert_true(has(&props, "mountpoint=none"));
	assert_true(has(&props, "canmount=noauto"));
	zf_strv_release(&props);
	assert_int_equal(zf_recv_policy_create(NULL, (const char *const[]){
						       "mountpoint=/root/.ssh", NULL },
					       false, &props, &err), -EPERM);
	zf_err_clear(&err);
	assert_int_equal(zf_recv_policy_create(NULL, (const char *const[]){ "origin=p/x@s", NULL },
					       false, &props, &err), -EPERM);
	zf_err_clear(&err);
	assert_int_equal(zf_recv_policy_create(NULL, (const char *const[]){ "mountpoint=/x",
									   NULL },
					       true, &props, &err), 0);
	zf_strv_release(&props);
	assert_int_equal(zf_recv_policy_check_inherit(NULL, "zferry:placeholder", false, &err), 0);
	assert_int_equal(zf_recv_policy_check_inherit(NULL, "canmount", false, &err), -EPERM);
	zf_err_clear(&err);
	assert_int_equal(zf_recv_policy_check_inherit(NULL, "rdonly", false, &err), -EPERM);
	assert_non_null(strstr(err.msg, "'readonly'"));
}

static void test_validate(void **state)
{
	struct zf_recv_policy p = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	p.allow = (const char *const[]){ "comp*", NULL };
	assert_int_equal(zf_recv_policy_validate(&p, &err), -EINVAL);
	zf_err_clear(&err);
	p.allow = (const char *const[]){ "reserv", NULL };
	assert_int_equal(zf_recv_policy_validate(&p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'reservation'"));
	zf_err_clear(&err);
	p.allow = (const char *const[]){ "nosuchprop", NULL };
	assert_int_equal(zf_recv_policy_validate(&p, &err), -EINVAL);
	zf_err_clear(&err);
	p.allow = (const char *const[]){ "*", "default", "com.example:*", "mountpoint", NULL };
	assert_int_equal(zf_recv_policy_validate(&p, &err), 0);
	p.force = (const char *const[]){ "origin=p/a@s", NULL };
	assert_int_equal(zf_recv_policy_validate(&p, &err), -EINVAL);
	zf_err_clear(&err);
	p.force = (const char *const[]){ "readonly", NULL };
	assert_int_equal(zf_recv_policy_validate(&p, &err), -EINVAL);
	zf_err_clear(&err);
	p.force = (const char *const[]){ "rdonly=on", NULL };
	assert_int_equal(zf_recv_policy_validate(&p, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_peer_requests),
		cmocka_unit_test(test_forced),
		cmocka_unit_test(test_stream_props),
		cmocka_unit_test(test_streams_refused),
		cmocka_unit_test(test_trusted),
		cmocka_unit_test(test_create_inherit),
		cmocka_unit_test(test_validate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
