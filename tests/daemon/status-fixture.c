/* tests/daemon/status-fixture.c — a made-up daemon state with hostile names, as metrics, page or served */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "daemon/http.h"
#include "daemon/metrics.h"
#include "daemon/page.h"
#include "daemon/state.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/num.h"

/*
 * usage: status-fixture metrics|page     the text on stdout
 *        status-fixture serve [SECONDS]  serves / and /metrics on 127.0.0.1,
 *                                        prints "port N", stops on SIGTERM or
 *                                        after SECONDS (default 120)
 *
 * The state (tests/browser/t-status-page.sh checks what a browser shows of it):
 *   job "offsite" (push, running): 12 runs of history; datasets named with
 *     spaces, quotes, unicode, markup that would run script if unescaped;
 *   job `evil "job" <b>bold</b>` (snap): 5 runs, a last error holding markup;
 *   job "never-ran" (pull): no history, so no chart.
 */
#define NOW 1765000000

static const char *const offsite_fs[] = {
	"tank/home",
	"tank/data with space",
	"tank/<img src=x onerror=\"document.title='pwned'\">",
	"tank/<script>document.title='pwned'</script>",
	"tank/\xc3\xbcn\xc3\xaf\x63\xc3\xb8\x64\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac",
	"tank/\"quoted\" & 'apos'",
};

static void add_history(struct zf_dstate_job *j, int n, int64_t first, int64_t step)
{
	static const enum zf_dstate_result results[] = { ZF_DSTATE_OK, ZF_DSTATE_OK, ZF_DSTATE_OK,
		ZF_DSTATE_PARTIAL, ZF_DSTATE_OK, ZF_DSTATE_FAILED, ZF_DSTATE_OK, ZF_DSTATE_CANCELLED };

	for (int i = 0; i < n; i++) {
		struct zf_dstate_run r = {
			.start = first + i * step,
			.seconds = 5.0 + (i * 37 % 11) * 3.5,
			.result = results[i % 8],
			.bytes = (uint64_t)((i * 53 % 17) + 1) << 22,
			.nfs_ok = 6, .nfs_failed = results[i % 8] == ZF_DSTATE_OK ? 0 : 2,
		};
		zf_dstate_job_add_run(j, &r);
	}
}

static void fixture_offsite(struct zf_dstate_job *j)
{
	j->name = zf_xstrdup("offsite");
	j->type = ZF_JOB_PUSH;
	j->schedule = zf_xstrdup("*/15 * * * *");
	j->state = ZF_DSTATE_RUNNING;
	j->current.start = NOW - 40;
	j->next_run = NOW + 860;
	j->last_success = NOW - 900;
	add_history(j, 12, NOW - 12 * 900, 900);
	for (size_t i = 0; i < sizeof(offsite_fs) / sizeof(offsite_fs[0]); i++) {
		struct zf_dstate_fs *f = zf_dstate_fs_get(j, offsite_fs[i]);
		f->target = zf_xasprintf("backup/%s", offsite_fs[i]);
		f->last_snapshot = NOW - 60;
		f->lag = (int64_t)i * 450;
		f->snapshots = 96 + i;
		f->bytes_total = (uint64_t)(i + 1) << 30;
		f->last_success = NOW - 900;
	}
	j->fs[0].running = true;
	snprintf(j->fs[0].step, sizeof(j->fs[0].step), "sending");
	j->fs[0].bytes_done = 300 << 20;
	j->fs[0].bytes_estimate = 1000 << 20;
	j->fs[0].rate = 50 << 20;
	j->fs[2].last_error = zf_xstrdup("cannot receive: <b>dataset is busy</b>");
	j->fs[2].last_error_time = NOW - 900;
	j->fs[3].lag = -1;
}

static void fixture(struct zf_dstate *s)
{
	struct zf_dstate_job *j;

	*s = (struct zf_dstate){ .start_time = NOW - 86400, .version = ZFERRY_VERSION,
				 .config_path = "/etc/zferry/zferry.yml", .config_loaded = NOW - 3600 };
	s->njobs = 3;
	s->jobs = zf_xcalloc(3, sizeof(*s->jobs));
	fixture_offsite(&s->jobs[0]);
	j = &s->jobs[1];
	j->name = zf_xstrdup("evil \"job\" <b>bold</b>");
	j->type = ZF_JOB_SNAP;
	j->schedule = zf_xstrdup("interval 10m");
	j->next_run = NOW + 300;
	add_history(j, 5, NOW - 3000, 600);
	j->last_error = zf_xstrdup("<script>document.title='pwned'</script> failed");
	j->last_error_time = NOW - 600;
	j->errors_total = 2;
	zf_dstate_fs_get(j, "tank/home")->snapshots = 200;
	j = &s->jobs[2];
	j->name = zf_xstrdup("never-ran");
	j->type = ZF_JOB_PULL;
}

struct served {
	const struct zf_dstate *s;
};

static void handler(void *userdata, const struct zf_http_request *req, struct zf_http_response *resp)
{
	const struct served *sv = userdata;

	if (streq(req->path, "/")) {
		resp->content_type = ZF_STATUS_PAGE_CONTENT_TYPE;
		zf_status_page_render(sv->s, NOW, &resp->body);
	} else if (streq(req->path, "/metrics")) {
		resp->content_type = ZF_METRICS_CONTENT_TYPE;
		zf_metrics_render(sv->s, NOW, &resp->body);
	} else {
		resp->status = 404;
	}
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* The daemon's loop in small: poll, handle, until told to stop or out of time. */
static int serve(const struct zf_dstate *s, int seconds)
{
	struct zf_err err = ZF_ERR_INIT;
	struct served sv = { s };
	struct zf_http_server *srv;
	int64_t end = zf_now_ms() + (int64_t)seconds * 1000;
	int fd = zf_http_listen("127.0.0.1:0", &err);

	if (fd < 0) {
		fprintf(stderr, "status-fixture: %s\n", err.msg);
		return 1;
	}
	printf("port %d\n", zf_http_local_port(fd));
	fflush(stdout);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	srv = zf_http_new(fd, handler, &sv);
	while (!stop && zf_now_ms() < end) {
		struct pollfd v[ZF_HTTP_MAX_POLLFDS];
		size_t n = zf_http_pollfds(srv, v, ZF_HTTP_MAX_POLLFDS);
		int t = zf_http_timeout_ms(srv, zf_now_ms());

		if (poll(v, n, t < 0 || t > 500 ? 500 : t) < 0 && errno != EINTR)
			break;
		zf_http_handle(srv, v, n, zf_now_ms());
	}
	zf_http_free(srv);
	return 0;
}

int main(int argc, char **argv)
{
	struct zf_dstate s;
	struct zf_buf out = ZF_BUF_INIT;
	uint64_t secs = 120;
	int r = 0;

	fixture(&s);
	if (argc >= 2 && streq(argv[1], "metrics"))
		zf_metrics_render(&s, NOW, &out);
	else if (argc >= 2 && streq(argv[1], "page"))
		zf_status_page_render(&s, NOW, &out);
	else if (argc >= 2 && streq(argv[1], "serve") &&
		 (argc < 3 || zf_parse_u64(argv[2], 3600, &secs) == 0))
		r = serve(&s, (int)secs);
	else {
		fprintf(stderr, "usage: status-fixture metrics|page|serve [SECONDS]\n");
		r = 2;
	}
	if (out.len && zf_write_full(1, out.data, out.len) < 0)
		r = 1;
	zf_buf_release(&out);
	zf_dstate_release(&s);
	return r;
}
