/* tests/unit/test-daemon-page.c — the status page: escaping, tables, one bar per run */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "daemon/page.h"
#include "daemon/state.h"
#include "util/buf.h"

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_page(void **state)
{
	struct zf_dstate s = { .start_time = 1700000000, .version = "0.1.0<", .config_loaded = 1700000001 };
	struct zf_buf out = ZF_BUF_INIT;
	struct zf_dstate_job *j;
	const char *p;

	(void)state;
	s.njobs = 2;
	s.jobs = calloc(2, sizeof(*s.jobs));
	j = &s.jobs[0];
	j->name = strdup("<script>alert(1)</script>");
	j->type = ZF_JOB_PUSH;
	for (int i = 0; i < ZF_DSTATE_HISTORY + 5; i++)        /* the ring wraps: 32 bars */
		zf_dstate_job_add_run(j, &(struct zf_dstate_run){ 1700000000 + i, 1.5, ZF_DSTATE_OK, 100, 1, 0 });
	zf_dstate_fs_get(j, "tank/<img src=x onerror=alert(1)>")->last_error = strdup("a & b");
	s.jobs[1].name = strdup("quiet");
	s.jobs[1].type = ZF_JOB_SNAP;
	zf_status_page_render(&s, 1700000100, &out);
	p = zf_buf_str(&out);
	assert_true(startswith(p, "<!DOCTYPE html>\n"));
	assert_non_null(strstr(p, "</html>\n"));
	assert_null(strstr(p, "<script"));
	assert_null(strstr(p, "<img"));
	assert_non_null(strstr(p, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(p, "tank/&lt;img src=x onerror=alert(1)&gt;"));
	assert_non_null(strstr(p, "zferry 0.1.0&lt;"));
	assert_non_null(strstr(p, "a &amp; b"));
	/* one chart pair for the job with history, none for the quiet one */
	assert_int_equal(count(p, "<svg "), 2);
	assert_int_equal(count(p, "<rect class=\"bar r-ok\""), 2 * ZF_DSTATE_HISTORY);
	assert_int_equal(count(p, "<title>"), 1 + 2 * ZF_DSTATE_HISTORY);
	assert_int_equal(count(p, "<tr>") + count(p, "<tr class=failing>"), 2 + 1 + 2);
	zf_buf_release(&out);
	zf_dstate_release(&s);
}

static void test_empty(void **state)
{
	struct zf_dstate s = { .version = "0.1.0" };
	struct zf_buf out = ZF_BUF_INIT;

	(void)state;
	zf_status_page_render(&s, 0, &out);
	assert_non_null(strstr(zf_buf_str(&out), "No jobs configured."));
	assert_null(strstr(zf_buf_str(&out), "<svg"));
	zf_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
