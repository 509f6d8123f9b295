/* tests/unit/test-ssh.c — the ssh transport: argv, remote-shell quoting, pipes, ssh's exit */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "transport/transport.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/strv.h"

static void assert_argv(struct zf_strv *v, const char *const *want)
{
	size_t n = 0;

	while (want[n])
		n++;
	if (v->n != n)
		fail_msg("argv has %zu words, want %zu", v->n, n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(v->v[i], want[i]))
			fail_msg("argv[%zu] is '%s', want '%s'", i, v->v[i], want[i]);
	assert_null(v->v[n]);
}

static void test_argv(void **state)
{
	_cleanup_strv_ struct zf_strv v = ZF_STRV_INIT;
	_cleanup_strv_ struct zf_strv w = ZF_STRV_INIT;
	struct zf_err err = ZF_ERR_INIT;
	const char *opts[] = { "StrictHostKeyChecking=yes", "IdentityFile=/root/.ssh/zf key" };
	struct zf_ssh_opts o = { .host = "backup" };
	(void)state;

	assert_int_equal(zf_ssh_argv(&o, &v, &err), 0);
	assert_argv(&v, (const char *[]){ "ssh", "-o", "BatchMode=yes", "backup", "--",
					  "'zferry' 'serve' '--stdio'", NULL });

	o = (struct zf_ssh_opts){ .host = "::1", .user = "zf", .port = "2222", .options = opts,
				  .n_options = 2, .remote_zferry = "/opt/it's here/zferry" };
	assert_int_equal(zf_ssh_argv(&o, &w, &err), 0);
	assert_argv(&w, (const char *[]){ "ssh", "-p", "2222", "-l", "zf", "-o",
					  "StrictHostKeyChecking=yes", "-o",
					  "IdentityFile=/root/.ssh/zf key", "-o", "BatchMode=yes",
					  "::1", "--",
					  "'/opt/it'\\''s here/zferry' 'serve' '--stdio'", NULL });
}

static void test_argv_bad(void **state)
{
	struct {
		struct zf_ssh_opts o;
		const char *msg;
	} bad[] = {
		{ { .host = "-oProxyCommand=sh" }, "must not start with '-'" },
		{ { .host = "" }, "empty host" },
		{ { .host = NULL }, "empty host" },
		{ { .host = "h", .user = "-x" }, "bad user name" },
		{ { .host = "h", .user = "" }, "bad user name" },
		{ { .host = "h", .port = "22x" }, "bad port" },
		{ { .host = "h", .remote_zferry = "" }, "empty remote zferry" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_cleanup_strv_ struct zf_strv v = ZF_STRV_INIT;
		struct zf_err err = ZF_ERR_INIT;

		assert_int_equal(zf_ssh_argv(&bad[i].o, &v, &err), -EINVAL);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].msg);
		assert_int_equal(v.n, 0);
	}
}

static void test_quote(void **state)
{
	struct {
		const char *in, *out;
	} q[] = {
		{ "", "''" },
		{ "a b", "'a b'" },
		{ "it's", "'it'\\''s'" },
		{ "$(rm -rf /);`x`\"\\", "'$(rm -rf /);`x`\"\\'" },
		{ "''", "''\\'''\\'''" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
		zf_sh_quote(&b, q[i].in);
		assert_string_equal(zf_buf_str(&b), q[i].out);
	}
}

/* A stand-in for ssh: a shell script (ours, written here) playing the remote side. */
static char dir[64];

static const char *fake_ssh(const char *name, const char *body)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

static void test_pipes(void **state)
{
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	struct zf_err err = ZF_ERR_INIT;
	/*
	 * Echoes what it gets.  It also parses its last argument, the remote
	 * command, the way the remote login shell would, and records the
	 * words: quoting must bring them through intact.
	 */
	char body[256], args[128], got[256] = "";
	struct zf_ssh_opts o = { .host = "example", .remote_zferry = "/opt/it's $HOME/zf" };
	char buf[8];
	FILE *f;
	(void)state;

	snprintf(body, sizeof(body),
		 "for a; do last=$a; done; eval \"set -- $last\"; "
		 "for a; do echo \"$a\"; done > %s/args; exec cat", dir);
	o.ssh = fake_ssh("echo-ssh", body);
	assert_int_equal(zf_ssh_connect(&o, &t, &err), 0);
	assert_string_equal(zf_transport_peer(t), "ssh:example");
	assert_string_equal(t->kind, "ssh");
	assert_int_equal(zf_transport_write(t, "hello", 5, &err), 0);
	assert_int_equal(zf_transport_read_full(t, buf, 5, &err), 0);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(zf_transport_shutdown(t, &err), 0);
	assert_int_equal(zf_transport_read(t, buf, sizeof(buf), &err), 0);
	t = zf_transport_free(t);

	snprintf(args, sizeof(args), "%s/args", dir);
	f = fopen(args, "r");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, sizeof(got) - 1, f) > 0, 1);
	fclose(f);
	assert_string_equal(got, "/opt/it's $HOME/zf\nserve\n--stdio\n");
}

static void test_exit_before_hello(void **state)
{
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct zf_ssh_opts o = { .host = "nowhere" };
	char buf[8];
	(void)state;

	o.ssh = fake_ssh("fail-ssh", "exit 255");
	assert_int_equal(zf_ssh_connect(&o, &t, &err), 0);
	assert_true(zf_transport_read(t, buf, sizeof(buf), &err) < 0);
	if (!strstr(err.msg, "ssh to 'nowhere' exited with status 255"))
		fail_msg("'%s' lacks ssh's status", err.msg);
}

static void test_lingering_ssh_is_killed(void **state)
{
	_cleanup_(zf_transport_freep) struct zf_transport *t = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct zf_ssh_opts o = { .host = "h", .exit_grace_ms = 100 };
	struct timespec a, b;
	(void)state;

	/* ignores its stdin closing; SIGTERM must end it within the grace periods */
	o.ssh = fake_ssh("stuck-ssh", "exec sleep 30");
	assert_int_equal(zf_ssh_connect(&o, &t, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	t = zf_transport_free(t);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 3);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zferry-test-ssh-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	const char *names[] = { "echo-ssh", "fail-ssh", "stuck-ssh", "args" };
	char path[128];
	(void)state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_argv_bad),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_pipes),
		cmocka_unit_test(test_exit_before_hello),
		cmocka_unit_test(test_lingering_ssh_is_killed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
