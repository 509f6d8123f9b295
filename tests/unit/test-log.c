/* tests/unit/test-log.c — levels, scoped fields, logfmt and JSON lines */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log/log.h"
#include "util/buf.h"
#include "util/io.h"

static int pipefd[2];

static int setup(void **state)
{
	(void)state;
	if (pipe(pipefd) < 0)
		return -1;
	zf_log_set_fd(pipefd[1]);
	zf_log_set_level(ZF_LOG_DEBUG);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(pipefd[0]);
	close(pipefd[1]);
	zf_log_set_fd(2);
	zf_log_set_format(ZF_LOG_FORMAT_TEXT);
	return 0;
}

/* What has been logged since the last call (the pipe never fills in these tests). */
static char *drain(void)
{
	static char buf[8192];
	ssize_t n;

	zf_fd_nonblock(pipefd[0], 1);
	n = read(pipefd[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_text(void **state)
{
	(void)state;
	zf_log_set_format(ZF_LOG_FORMAT_TEXT);
	log_error("cannot open '%s'", "x");
	assert_string_equal(drain(), "zferry: error: cannot open 'x'\n");
	log_notice("plain");
	assert_string_equal(drain(), "zferry: plain\n");
}

static void test_level_filter(void **state)
{
	(void)state;
	zf_log_set_format(ZF_LOG_FORMAT_TEXT);
	zf_log_set_level(ZF_LOG_WARNING);
	log_info("hidden");
	log_debug("hidden");
	log_warning("shown");
	assert_string_equal(drain(), "zferry: warning: shown\n");
	zf_log_set_level(ZF_LOG_DEBUG);
}

static void test_logfmt_scope(void **state)
{
	(void)state;
	zf_log_set_format(ZF_LOG_FORMAT_LOGFMT);
	{
		_cleanup_(zf_log_scope_end) _unused_ struct zf_log_scope s = zf_log_scope("job", "offsite");
		zf_log_scope_add("fs", "tank/my home");
		int r = log_error_errno(-ENOSPC, "cannot receive: %s", "full");
		assert_int_equal(r, -ENOSPC);
		char *line = drain();
		assert_non_null(strstr(line, "level=error job=offsite fs=\"tank/my home\" "
					     "errno=ENOSPC msg=\"cannot receive: full\"\n"));
		assert_true(strncmp(line, "time=", 5) == 0);
	}
	log_info("after");
	char *line = drain();
	assert_null(strstr(line, "job="));
	assert_non_null(strstr(line, "msg=after"));
}

static void test_json(void **state)
{
	(void)state;
	zf_log_set_format(ZF_LOG_FORMAT_JSON);
	_cleanup_(zf_log_scope_end) _unused_ struct zf_log_scope s = zf_log_scope("fs", "a\"b");
	log_warning("x\ty");
	char *line = drain();
	assert_true(strncmp(line, "{\"time\":\"", 9) == 0);
	assert_non_null(strstr(line, ",\"level\":\"warning\",\"fs\":\"a\\\"b\",\"msg\":\"x\\ty\"}\n"));
}

static void test_parse(void **state)
{
	enum zf_log_format f;
	enum zf_log_level l;
	(void)state;
	assert_int_equal(zf_log_parse_format("json", &f), 0);
	assert_int_equal(f, ZF_LOG_FORMAT_JSON);
	assert_int_equal(zf_log_parse_format("xml", &f), -EINVAL);
	assert_int_equal(zf_log_parse_level("debug", &l), 0);
	assert_int_equal(l, ZF_LOG_DEBUG);
	assert_int_equal(zf_log_parse_level("loud", &l), -EINVAL);
}

static void test_scope_overflow_balanced(void **state)
{
	struct zf_log_scope outer;
	(void)state;
	zf_log_set_format(ZF_LOG_FORMAT_LOGFMT);
	outer = zf_log_scope("a", "1");
	for (int i = 0; i < 40; i++)
		zf_log_scope_add("k", "v");
	log_info("many");
	(void)drain();
	zf_log_scope_end(&outer);
	log_info("none");
	assert_null(strstr(drain(), "a=1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_level_filter),
		cmocka_unit_test(test_logfmt_scope),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_scope_overflow_balanced),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
