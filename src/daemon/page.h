/* src/daemon/page.h — the status page the daemon serves at / */
#pragma once
#include <stdint.h>

struct zf_buf;
struct zf_dstate;

#define ZF_STATUS_PAGE_CONTENT_TYPE "text/html; charset=utf-8"

/*
 * Appends one self-contained HTML5 page for s to out: the daemon, a table
 * of jobs, a table of datasets (with progress of transfers), and per job
 * with history an SVG chart of bytes and durations of its recent runs.
 * No scripts, no external assets; it reloads itself every 10 s.  Every
 * name from s is escaped.  now (seconds since the epoch) words ages
 * ("3m ago").  Reads s only: safe in the main loop.
 */
void zf_status_page_render(const struct zf_dstate *s, int64_t now, struct zf_buf *out);
