/* tests/fuzz/fuzz-status-render.c — any bytes as job and dataset names: /metrics and the page stay whole */
#include <stdlib.h>
#include <string.h>
#include "daemon/escape.h"
#include "daemon/metrics.h"
#include "daemon/page.h"
#include "daemon/state.h"
#include "fuzz.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/banned.h"

/* One job with one dataset, named by the input (split at the first NUL). */
static void state_named(struct zf_dstate *s, const char *job, const char *fs)
{
	struct zf_dstate_run run = { 1, 1.0, ZF_DSTATE_OK, 1, 1, 0 };
	struct zf_dstate_fs *f;

	*s = (struct zf_dstate){ .version = "0.1.0", .start_time = 1 };
	s->njobs = 1;
	s->jobs = zf_xcalloc(1, sizeof(*s->jobs));
	s->jobs[0].name = zf_xstrdup(job);
	s->jobs[0].last_error = zf_xstrdup(fs);
	zf_dstate_job_add_run(&s->jobs[0], &run);
	f = zf_dstate_fs_get(&s->jobs[0], fs);
	f->target = zf_xstrdup(job);
	f->lag = 1;
	f->last_error = zf_xstrdup(job);
}

static size_t count(const struct zf_buf *b, char c)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == c;
	return n;
}

static int utf8_ok(const struct zf_buf *b)
{
	for (size_t i = 0; i < b->len;) {
		size_t n = zf_utf8_seq_len((const unsigned char *)b->data + i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* Renders s and the same state named "x": the lines and the tags must be the same in number. */
static void check(const struct zf_dstate *s, const struct zf_dstate *plain)
{
	struct zf_buf m = ZF_BUF_INIT, m0 = ZF_BUF_INIT, p = ZF_BUF_INIT, p0 = ZF_BUF_INIT;

	zf_metrics_render(s, 2, &m);
	zf_metrics_render(plain, 2, &m0);
	zf_status_page_render(s, 2, &p);
	zf_status_page_render(plain, 2, &p0);
	if (count(&m, '\n') != count(&m0, '\n') || strlen(zf_buf_str(&m)) != m.len || !utf8_ok(&m))
		abort();        /* a name broke a metrics line */
	if (count(&p, '<') != count(&p0, '<') || count(&p, '>') != count(&p0, '>') || !utf8_ok(&p))
		abort();        /* a name made markup */
	zf_buf_release(&m);
	zf_buf_release(&m0);
	zf_buf_release(&p);
	zf_buf_release(&p0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_dstate s, plain;
	_cleanup_free_ char *jfree = NULL, *ffree = NULL;
	char *job, *fs;
	size_t jn;

	if (size > 1024)
		return 0;
	jfree = zf_xstrndup((const char *)data, size);  /* stops at the first NUL */
	jn = strlen(jfree);
	if (jn < size)
		ffree = zf_xstrndup((const char *)data + jn + 1, size - jn - 1);
	else
		ffree = zf_xstrdup("");
	/* never empty: an empty name is shown as a dash, which is markup of its own */
	job = zf_xasprintf("j%s", jfree);
	fs = zf_xasprintf("f%s", ffree);
	state_named(&s, job, fs);
	state_named(&plain, "x", "x");
	check(&s, &plain);
	zf_dstate_release(&s);
	zf_dstate_release(&plain);
	free(job);
	free(fs);
	return 0;
}
