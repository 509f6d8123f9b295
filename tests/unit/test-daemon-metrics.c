/* tests/unit/test-daemon-metrics.c — /metrics text for a fixture state, hostile names, docs in step */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "daemon/escape.h"
#include "daemon/metrics.h"
#include "daemon/state.h"
#include "util/buf.h"
#include "util/io.h"

/* One push job with two datasets (one being sent), one snap job never run. */
static void fixture(struct zf_dstate *s)
{
	struct zf_dstate_job *j;
	struct zf_dstate_fs *f;

	*s = (struct zf_dstate){ .start_time = 1700000000, .version = "0.1.0", .config_loaded = 1700000005 };
	s->njobs = 2;
	s->jobs = calloc(2, sizeof(*s->jobs));
	j = &s->jobs[0];
	j->name = strdup("offsite");
	j->type = ZF_JOB_PUSH;
	j->state = ZF_DSTATE_RUNNING;
	j->next_run = 1700000600;
	j->last_success = 1700000100;
	j->errors_total = 3;
	zf_dstate_job_add_run(j, &(struct zf_dstate_run){ 1700000050, 12.5, ZF_DSTATE_OK, 4096, 2, 0 });
	zf_dstate_job_add_run(j, &(struct zf_dstate_run){ 1700000300, 1.25, ZF_DSTATE_FAILED, 0, 0, 2 });
	f = zf_dstate_fs_get(j, "tank/home");
	f->target = strdup("backup/tank/home");
	f->last_snapshot = 1700000200;
	f->lag = 60;
	f->snapshots = 24;
	f->bytes_total = 4096;
	f->last_success = 1700000100;
	f->running = true;
	f->bytes_done = 100;
	f->bytes_estimate = 1000;
	f = zf_dstate_fs_get(j, "tank/new");
	f->last_error = strdup("cannot send");
	j = &s->jobs[1];
	j->name = strdup("hourly");
	j->type = ZF_JOB_SNAP;
}

static const char expected[] =
	"# HELP zferry_build_info Always 1; the version label says which zferry runs.\n"
	"# TYPE zferry_build_info gauge\n"
	"zferry_build_info{version=\"0.1.0\"} 1\n"
	"# HELP zferry_daemon_start_time_seconds When the daemon started, seconds since the epoch.\n"
	"# TYPE zferry_daemon_start_time_seconds gauge\n"
	"zferry_daemon_start_time_seconds 1700000000\n"
	"# HELP zferry_config_last_reload_timestamp_seconds When the running configuration was read, seconds since the epoch.\n"
	"# TYPE zferry_config_last_reload_timestamp_seconds gauge\n"
	"zferry_config_last_reload_timestamp_seconds 1700000005\n"
	"# HELP zferry_job_info Always 1, one per configured job; the type label says what it does.\n"
	"# TYPE zferry_job_info gauge\n"
	"zferry_job_info{job=\"offsite\",type=\"push\"} 1\n"
	"zferry_job_info{job=\"hourly\",type=\"snap\"} 1\n"
	"# HELP zferry_job_running 1 while a run of the job is in progress (or stopping), else 0.\n"
	"# TYPE zferry_job_running gauge\n"
	"zferry_job_running{job=\"offsite\"} 1\n"
	"zferry_job_running{job=\"hourly\"} 0\n"
	"# HELP zferry_job_next_run_timestamp_seconds When the job runs next, seconds since the epoch; 0 when nothing is scheduled.\n"
	"# TYPE zferry_job_next_run_timestamp_seconds gauge\n"
	"zferry_job_next_run_timestamp_seconds{job=\"offsite\"} 1700000600\n"
	"zferry_job_next_run_timestamp_seconds{job=\"hourly\"} 0\n"
	"# HELP zferry_job_last_success_timestamp_seconds End of the job's last fully successful run, seconds since the epoch; 0 if none.\n"
	"# TYPE zferry_job_last_success_timestamp_seconds gauge\n"
	"zferry_job_last_success_timestamp_seconds{job=\"offsite\"} 1700000100\n"
	"zferry_job_last_success_timestamp_seconds{job=\"hourly\"} 0\n"
	"# HELP zferry_job_last_run_duration_seconds How long the job's last finished run took; absent before the first run ends.\n"
	"# TYPE zferry_job_last_run_duration_seconds gauge\n"
	"zferry_job_last_run_duration_seconds{job=\"offsite\"} 1.250\n"
	"# HELP zferry_job_runs_total Finished runs of the job, by result.\n"
	"# TYPE zferry_job_runs_total counter\n"
	"zferry_job_runs_total{job=\"offsite\",result=\"ok\"} 1\n"
	"zferry_job_runs_total{job=\"offsite\",result=\"partial\"} 0\n"
	"zferry_job_runs_total{job=\"offsite\",result=\"failed\"} 1\n"
	"zferry_job_runs_total{job=\"offsite\",result=\"cancelled\"} 0\n"
	"zferry_job_runs_total{job=\"hourly\",result=\"ok\"} 0\n"
	"zferry_job_runs_total{job=\"hourly\",result=\"partial\"} 0\n"
	"zferry_job_runs_total{job=\"hourly\",result=\"failed\"} 0\n"
	"zferry_job_runs_total{job=\"hourly\",result=\"cancelled\"} 0\n"
	"# HELP zferry_job_errors_total Failed runs and failed datasets of the job, counted.\n"
	"# TYPE zferry_job_errors_total counter\n"
	"zferry_job_errors_total{job=\"offsite\"} 3\n"
	"zferry_job_errors_total{job=\"hourly\"} 0\n"
	"# HELP zferry_dataset_last_snapshot_timestamp_seconds Creation time of the dataset's newest snapshot on the source; 0 if none is known.\n"
	"# TYPE zferry_dataset_last_snapshot_timestamp_seconds gauge\n"
	"zferry_dataset_last_snapshot_timestamp_seconds{job=\"offsite\",dataset=\"tank/home\"} 1700000200\n"
	"zferry_dataset_last_snapshot_timestamp_seconds{job=\"offsite\",dataset=\"tank/new\"} 0\n"
	"# HELP zferry_replication_lag_seconds Newest source snapshot's creation minus the target's newest; absent while unknown.\n"
	"# TYPE zferry_replication_lag_seconds gauge\n"
	"zferry_replication_lag_seconds{job=\"offsite\",dataset=\"tank/home\",target=\"backup/tank/home\"} 60\n"
	"# HELP zferry_bytes_transferred_total Bytes sent for the dataset since the daemon started.\n"
	"# TYPE zferry_bytes_transferred_total counter\n"
	"zferry_bytes_transferred_total{job=\"offsite\",dataset=\"tank/home\"} 4096\n"
	"zferry_bytes_transferred_total{job=\"offsite\",dataset=\"tank/new\"} 0\n"
	"# HELP zferry_bytes_remaining Estimated bytes left in the dataset's transfer in progress.\n"
	"# TYPE zferry_bytes_remaining gauge\n"
	"zferry_bytes_remaining{job=\"offsite\",dataset=\"tank/home\"} 900\n"
	"# HELP zferry_snapshots Snapshots of the dataset on the source.\n"
	"# TYPE zferry_snapshots gauge\n"
	"zferry_snapshots{job=\"offsite\",dataset=\"tank/home\"} 24\n"
	"zferry_snapshots{job=\"offsite\",dataset=\"tank/new\"} 0\n"
	"# HELP zferry_dataset_last_success_timestamp_seconds When the dataset was last brought up to date, seconds since the epoch; 0 if never.\n"
	"# TYPE zferry_dataset_last_success_timestamp_seconds gauge\n"
	"zferry_dataset_last_success_timestamp_seconds{job=\"offsite\",dataset=\"tank/home\"} 1700000100\n"
	"zferry_dataset_last_success_timestamp_seconds{job=\"offsite\",dataset=\"tank/new\"} 0\n"
	"# HELP zferry_dataset_errors 1 when the dataset's last attempt failed, else 0.\n"
	"# TYPE zferry_dataset_errors gauge\n"
	"zferry_dataset_errors{job=\"offsite\",dataset=\"tank/home\"} 0\n"
	"zferry_dataset_errors{job=\"offsite\",dataset=\"tank/new\"} 1\n";

static void test_fixture_exact(void **state)
{
	struct zf_dstate s;
	struct zf_buf out = ZF_BUF_INIT;

	(void)state;
	fixture(&s);
	zf_metrics_render(&s, 1700000700, &out);
	assert_string_equal(zf_buf_str(&out), expected);
	zf_buf_release(&out);
	zf_dstate_release(&s);
}

static void test_empty_state(void **state)
{
	struct zf_dstate s = { .version = "0.1.0" };
	struct zf_buf out = ZF_BUF_INIT;

	(void)state;
	zf_metrics_render(&s, 0, &out);
	assert_non_null(strstr(zf_buf_str(&out), "zferry_build_info{version=\"0.1.0\"} 1\n"));
	assert_null(strstr(zf_buf_str(&out), "{job="));
	zf_buf_release(&out);
}

static void test_hostile_names(void **state)
{
	struct zf_dstate s = { .version = "0.1.0" };
	struct zf_dstate_job *j;
	struct zf_buf out = ZF_BUF_INIT;

	(void)state;
	s.njobs = 1;
	s.jobs = calloc(1, sizeof(*s.jobs));
	j = &s.jobs[0];
	j->name = strdup("a\"b\\c\nd");
	zf_dstate_fs_get(j, "tank/with space/\xc3\xa9t\xc3\xa9 \"q\"");
	zf_dstate_fs_get(j, "tank/bad\xff\xc3(\x7f}");
	zf_metrics_render(&s, 0, &out);
	assert_non_null(strstr(zf_buf_str(&out), "zferry_job_running{job=\"a\\\"b\\\\c\\nd\"} 0\n"));
	assert_non_null(strstr(zf_buf_str(&out),
		"zferry_snapshots{job=\"a\\\"b\\\\c\\nd\",dataset=\"tank/with space/\xc3\xa9t\xc3\xa9 \\\"q\\\"\"} 0\n"));
	/* invalid UTF-8 becomes the text \xNN, its backslash escaped; DEL and } are legal as they are */
	assert_non_null(strstr(zf_buf_str(&out), "dataset=\"tank/bad\\\\xff\\\\xc3(\x7f}\"} 0\n"));
	zf_buf_release(&out);
	zf_dstate_release(&s);
}

static void test_escape_html(void **state)
{
	struct zf_buf out = ZF_BUF_INIT;

	(void)state;
	zf_esc_html(&out, "<img src=x onerror=\"a('&')\">\x01\xe2\x82\xac\xed\xa0\x80");
	assert_string_equal(zf_buf_str(&out),
		"&lt;img src=x onerror=&quot;a(&#39;&amp;&#39;)&quot;&gt;\\x01\xe2\x82\xac\\xed\\xa0\\x80");
	zf_buf_release(&out);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_int_equal(zf_utf8_seq_len((const unsigned char *)"a"), 1);
	assert_int_equal(zf_utf8_seq_len((const unsigned char *)"\xc3\xa9"), 2);
	assert_int_equal(zf_utf8_seq_len((const unsigned char *)"\xc0\xaf"), 0);     /* overlong */
	assert_int_equal(zf_utf8_seq_len((const unsigned char *)"\xe0\x80\xaf"), 0); /* overlong */
	assert_int_equal(zf_utf8_seq_len((const unsigned char *)"\xf0\x9f\x98\x80"), 4);
	assert_int_equal(zf_utf8_seq_len((const unsigned char *)"\xf4\x90\x80\x80"), 0); /* > U+10FFFF */
	assert_int_equal(zf_utf8_seq_len((const unsigned char *)"\xe2\x82"), 0);     /* cut at NUL */
}

/* docs/metrics.md is the promise: each family rendered has a heading there. */
static void test_docs_name_every_family(void **state)
{
	struct zf_buf doc = ZF_BUF_INIT, path = ZF_BUF_INIT;
	const char *src = getenv("ZF_SRCDIR");
	FILE *fp;
	char line[512];

	(void)state;
	if (!src)
		skip();
	zf_buf_addf(&path, "%s/docs/metrics.md", src);
	fp = fopen(zf_buf_str(&path), "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		zf_buf_adds(&doc, line);
	fclose(fp);
	for (size_t i = 0; i < zf_metrics_family_count(); i++) {
		struct zf_buf want = ZF_BUF_INIT;
		zf_buf_addf(&want, "### `%s`", zf_metrics_family_name(i));
		if (!strstr(zf_buf_str(&doc), zf_buf_str(&want)))
			fail_msg("docs/metrics.md has no heading for %s", zf_metrics_family_name(i));
		zf_buf_release(&want);
	}
	zf_buf_release(&doc);
	zf_buf_release(&path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_exact),
		cmocka_unit_test(test_empty_state),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_escape_html),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_docs_name_every_family),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
