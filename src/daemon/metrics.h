/* src/daemon/metrics.h — the daemon's state as Prometheus text (exposition format 0.0.4) */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct zf_buf;
struct zf_dstate;

/* The Content-Type of what zf_metrics_render() writes. */
#define ZF_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Appends every metric of docs/metrics.md for s to out: HELP and TYPE
 * lines, then the samples of each family together.  Reads s only; no
 * I/O, so the main loop can answer a scrape without waiting on anything.
 * now (seconds since the epoch) is the scrape time.
 */
void zf_metrics_render(const struct zf_dstate *s, int64_t now, struct zf_buf *out);

/* The names of the families rendered, in order, for tests that check the docs name each. */
size_t zf_metrics_family_count(void);
const char *zf_metrics_family_name(size_t i);
