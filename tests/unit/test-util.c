/* tests/unit/test-util.c — buffers, string vectors, errors, full I/O, child processes */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/proc.h"
#include "util/strv.h"

static void test_buf_basic(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	(void)state;

	assert_string_equal(zf_buf_str(&b), "");
	zf_buf_adds(&b, "abc");
	zf_buf_addc(&b, '-');
	zf_buf_addf(&b, "%d/%s", 42, "x");
	assert_string_equal(b.data, "abc-42/x");
	assert_int_equal(b.len, 8);
	zf_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
}

static void test_buf_large_format(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	char big[5000];
	(void)state;

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	zf_buf_addf(&b, "<%s>", big);
	assert_int_equal(b.len, sizeof(big) + 1);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[b.len - 1], '>');
}

static void test_buf_json(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	(void)state;

	zf_buf_add_json_str(&b, "a\"b\\c\nd\x01 é");
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\u0001 é\"");
}

static void test_buf_detach(void **state)
{
	struct zf_buf b = ZF_BUF_INIT;
	size_t n;
	char *p;
	(void)state;

	zf_buf_add(&b, "x\0y", 3);
	p = zf_buf_detach(&b, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "x\0y", 3);
	assert_null(b.data);
	free(p);
}

static void test_strv(void **state)
{
	_cleanup_strv_ struct zf_strv s = ZF_STRV_INIT;
	(void)state;

	assert_non_null(zf_strv_argv(&s));
	assert_null(zf_strv_argv(&s)[0]);
	zf_strv_add(&s, "b");
	zf_strv_addf(&s, "a%d", 1);
	zf_strv_addv(&s, (const char *const[]){ "c", "with space", NULL });
	assert_int_equal(s.n, 4);
	assert_null(s.v[4]);
	zf_strv_addn(&s, (const char *const[]){ "n1", "n2", "not added" }, 2);
	assert_int_equal(s.n, 6);
	assert_string_equal(s.v[5], "n2");
	assert_null(s.v[6]);
	assert_true(zf_strv_contains(&s, "with space"));
	assert_false(zf_strv_contains(&s, "with"));
	zf_strv_sort(&s);
	assert_string_equal(s.v[0], "a1");
	assert_string_equal(s.v[5], "with space");
}

static void test_err_first_wins(void **state)
{
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_err_set(&err, -ENOENT, "root cause '%s'", "x"), -ENOENT);
	assert_int_equal(zf_err_set(&err, -EIO, "later"), -EIO);
	assert_int_equal(err.code, -ENOENT);
	assert_string_equal(err.msg, "root cause 'x'");
	zf_err_prefix(&err, "while doing %s", "y");
	assert_string_equal(zf_err_msg(&err), "while doing y: root cause 'x'");
	assert_string_equal(zf_err_name(-ENOENT), "ENOENT");
	assert_string_equal(zf_err_name(-ZF_E_WOULD_DESTROY), "EWOULDDESTROY");
	zf_err_clear(&err);
	assert_int_equal(err.code, 0);
	assert_int_equal(zf_err_set(NULL, -EPERM, "ignored"), -EPERM);
}

static void test_err_default_msg(void **state)
{
	struct zf_err err = { .code = -EBUSY };
	(void)state;

	assert_string_equal(zf_err_msg(&err), strerror(EBUSY));
	err.code = -ZF_E_CORRUPT;
	assert_string_equal(zf_err_msg(&err), "data does not match its checksum");
}

static void test_io_roundtrip(void **state)
{
	int p[2];
	char big[200000], back[200001];
	(void)state;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		_exit(zf_write_full(p[1], big, sizeof(big)) == 0 ? 0 : 1);
	}
	close(p[1]);
	assert_int_equal(zf_read_full(p[0], back, sizeof(back)), sizeof(big));
	assert_memory_equal(big, back, sizeof(big));
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	assert_int_equal(st, 0);
}

static void test_io_write_to_closed_pipe(void **state)
{
	int p[2];
	(void)state;

	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	assert_int_equal(zf_write_full(p[1], "x", 1), -EPIPE);
	close(p[1]);
}

static void test_read_all_limit(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	int fd = open("/dev/zero", O_RDONLY);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(zf_read_all(fd, &b, 100000), -E2BIG);
	close(fd);
}

static void test_proc_run_captures(void **state)
{
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf errout = ZF_BUF_INIT;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	/* the argument with a ';' and '$' is one argv word: no shell sees it */
	int st = zf_proc_run((const char *const[]){ "printf", "%s|", "a b; echo $HOME", NULL },
			     &out, &errout, &err);
	assert_int_equal(st, 0);
	assert_string_equal(out.data, "a b; echo $HOME|");
}

static void test_proc_run_status_and_stderr(void **state)
{
	_cleanup_buf_ struct zf_buf out = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf errout = ZF_BUF_INIT;
	struct zf_err err = ZF_ERR_INIT;
	char buf[64];
	(void)state;

	int st = zf_proc_run((const char *const[]){ "ls", "/nonexistent-zferry-test", NULL },
			     &out, &errout, &err);
	assert_true(st > 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	assert_non_null(strstr(errout.data, "nonexistent-zferry-test"));
	assert_non_null(strstr(zf_proc_status_str(st, buf, sizeof(buf)), "exited with status"));
}

static void test_proc_missing_program(void **state)
{
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	int st = zf_proc_run((const char *const[]){ "zferry-no-such-program", NULL }, NULL, NULL,
			     &err);
	assert_int_equal(st, -ENOENT);
	assert_non_null(strstr(err.msg, "zferry-no-such-program"));
}

static void test_proc_pipes(void **state)
{
	struct zf_proc_opts po = { ZF_PROC_PIPE, ZF_PROC_PIPE, ZF_PROC_DEVNULL, NULL };
	struct zf_err err = ZF_ERR_INIT;
	struct zf_proc p;
	char back[16];
	(void)state;

	assert_int_equal(zf_proc_spawn((const char *const[]){ "cat", NULL }, &po, &p, &err), 0);
	assert_int_equal(zf_write_full(p.in_fd, "hello", 5), 0);
	p.in_fd = safe_close(p.in_fd);
	assert_int_equal(zf_read_full(p.out_fd, back, sizeof(back)), 5);
	assert_memory_equal(back, "hello", 5);
	assert_int_equal(zf_proc_wait(&p), 0);
	assert_int_equal(zf_proc_wait(&p), 0);  /* idempotent */
	zf_proc_release(&p);
}

static void test_proc_release_kills(void **state)
{
	struct zf_proc_opts po = { ZF_PROC_DEVNULL, ZF_PROC_PIPE, ZF_PROC_DEVNULL, NULL };
	struct zf_err err = ZF_ERR_INIT;
	struct zf_proc p;
	(void)state;

	assert_int_equal(zf_proc_spawn((const char *const[]){ "sleep", "100", NULL }, &po, &p,
				       &err), 0);
	zf_proc_release(&p);
	assert_true(WIFSIGNALED(p.status));
	assert_int_equal(WTERMSIG(p.status), SIGKILL);
}

/* zf_copy_stream() between two pipes (splice) and from a file (read/write) */
static void test_copy_stream(void **state)
{
	int a[2], b[2];
	uint64_t counter = 0;
	char *big = malloc(3 << 20), *back = malloc((3 << 20) + 1);
	(void)state;

	for (size_t i = 0; i < (3u << 20); i++)
		big[i] = (char)(i * 31 + 7);
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	pid_t writer = fork();
	if (writer == 0) {
		close(a[0]);
		_exit(zf_write_full(a[1], big, 3 << 20) == 0 ? 0 : 1);
	}
	close(a[1]);
	pid_t reader = fork();
	if (reader == 0) {
		close(b[1]);
		ssize_t n = zf_read_full(b[0], back, (3 << 20) + 1);
		_exit(n == (3 << 20) && memcmp(big, back, 3 << 20) == 0 ? 0 : 1);
	}
	close(b[0]);
	assert_int_equal(zf_copy_stream(a[0], b[1], &counter, NULL), 0);
	close(a[0]);
	close(b[1]);
	assert_int_equal(counter, 3 << 20);
	int st;
	waitpid(writer, &st, 0);
	assert_int_equal(st, 0);
	waitpid(reader, &st, 0);
	assert_int_equal(st, 0);

	/* the reader goes away: -EPIPE, and the counter says how far it got */
	int fd = open("/dev/zero", O_RDONLY);
	assert_int_equal(pipe(b), 0);
	close(b[0]);
	signal(SIGPIPE, SIG_IGN);
	counter = 0;
	assert_int_equal(zf_copy_stream(fd, b[1], &counter, NULL), -EPIPE);
	close(fd);
	close(b[1]);
	free(big);
	free(back);
}

/* copies n bytes of a child's writing through rate; the seconds it took */
static double copy_limited(size_t n, struct zf_rate *rate)
{
	int a[2], out, st;
	uint64_t counter = 0;
	double t0;

	assert_int_equal(pipe(a), 0);
	out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(out >= 0);
	pid_t writer = fork();
	if (writer == 0) {
		char *buf = calloc(1, n);
		close(a[0]);
		_exit(buf && zf_write_full(a[1], buf, n) == 0 ? 0 : 1);
	}
	close(a[1]);
	t0 = zf_now_sec();
	assert_int_equal(zf_copy_stream(a[0], out, &counter, rate), 0);
	double took = zf_now_sec() - t0;
	assert_int_equal(counter, n);
	close(a[0]);
	close(out);
	waitpid(writer, &st, 0);
	assert_int_equal(st, 0);
	return took;
}

/*
 * A limited copy moves no faster than its rate, less a quarter second of
 * credit; two copies after each other share it, the second starting
 * where the first left off.
 */
static void test_copy_stream_rate(void **state)
{
	struct zf_rate rate = ZF_RATE_INIT(1 << 20);
	(void)state;

	double one = copy_limited(1 << 20, &rate);
	assert_true(one >= 0.7);
	double two = copy_limited(512 << 10, &rate) + copy_limited(512 << 10, &rate);
	assert_true(two >= 0.95);
	/* no limit: the same bytes go at once */
	struct zf_rate none = ZF_RATE_INIT(0);
	assert_true(copy_limited(1 << 20, &none) < one);
}

/*
 * The socket variants: data that is there comes at once, blocking socket
 * or not; nothing there for the timeout is -ETIMEDOUT, as is a peer that
 * takes nothing more; a closed peer is end of file for reading and -EPIPE
 * (not SIGPIPE) for writing.
 */
static void test_sock_timeouts(void **state)
{
	_cleanup_free_ char *big = zf_xcalloc(1, 8u << 20);
	char buf[16];
	int sv[2];
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(zf_sock_write_timeout(sv[0], "hello", 5, 1000), 0);
	assert_int_equal(zf_sock_read_timeout(sv[1], buf, sizeof(buf), 1000), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(zf_sock_read_timeout(sv[1], buf, sizeof(buf), 50), -ETIMEDOUT);
	/* sv[1] reads nothing: the buffers fill, then the write times out */
	assert_int_equal(zf_sock_write_timeout(sv[0], big, 8u << 20, 50), -ETIMEDOUT);
	close(sv[1]);
	assert_int_equal(zf_sock_write_timeout(sv[0], "x", 1, 1000), -EPIPE);
	close(sv[0]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[0]);
	assert_int_equal(zf_sock_read_timeout(sv[1], buf, sizeof(buf), 1000), 0);
	close(sv[1]);
}

static void test_alloc_grow(void **state)
{
	int *v = NULL;
	size_t alloc = 0;
	(void)state;

	for (size_t n = 1; n <= 1000; n++) {
		ZF_ALLOC_GROW(v, n, alloc);
		v[n - 1] = (int)n;
	}
	assert_true(alloc >= 1000);
	assert_int_equal(v[999], 1000);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_basic),
		cmocka_unit_test(test_buf_large_format),
		cmocka_unit_test(test_buf_json),
		cmocka_unit_test(test_buf_detach),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_err_first_wins),
		cmocka_unit_test(test_err_default_msg),
		cmocka_unit_test(test_io_roundtrip),
		cmocka_unit_test(test_io_write_to_closed_pipe),
		cmocka_unit_test(test_read_all_limit),
		cmocka_unit_test(test_proc_run_captures),
		cmocka_unit_test(test_proc_run_status_and_stderr),
		cmocka_unit_test(test_proc_missing_program),
		cmocka_unit_test(test_proc_pipes),
		cmocka_unit_test(test_proc_release_kills),
		cmocka_unit_test(test_copy_stream),
		cmocka_unit_test(test_copy_stream_rate),
		cmocka_unit_test(test_sock_timeouts),
		cmocka_unit_test(test_alloc_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
