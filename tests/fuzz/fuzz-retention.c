/* tests/fuzz/fuzz-retention.c — the retention rule grammar, then one evaluation */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "plan/retention.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/banned.h"

/* An hour/day/month-spread timeline with a held snapshot, a cursor and a foreign one. */
static const struct zf_retention_version timeline[] = {
	{ "zferry_a", false, 1, 10, 1700000000, 0 },
	{ "zferry_b", false, 2, 11, 1700003600, 1 },
	{ "autosnap_c", false, 3, 12, 1700007200, 0 },
	{ "zferry_d", false, 4, 13, 1700090000, 0 },
	{ "zferry_cursor", true, 4, 13, 1700090000, 0 },
	{ "zferry_e", false, 5, 14, 1702000000, 0 },
	{ "zferry_f", false, 6, 15, 1702000000, 0 },
	{ "zferry_g", false, 7, 16, 1760000000, 0 },
};

static int64_t offset(int64_t t, void *userdata)
{
	(void)userdata;
	return (t / 3600) % 2 ? 3600 : 7200;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_retention_verdict d[ELEMENTSOF(timeline)];
	struct zf_retention_opts opts = { .utc_offset = offset };
	struct zf_retention_policy *p;
	struct zf_err err = ZF_ERR_INIT;
	char *text;

	/* rules are one command-line argument: bounded, like a real one */
	if (size > 4096)
		return 0;
	text = zf_xstrndup((const char *)data, size);
	p = zf_retention_policy_new();
	if (zf_retention_policy_parse(p, text, &err) >= 0) {
		for (size_t i = 0; i < zf_retention_policy_nrules(p); i++)
			(void)zf_retention_rule_text(p, i);
		int r = zf_retention_evaluate(p, timeline, ELEMENTSOF(timeline), &opts, d, &err);
		if (r > (int)ELEMENTSOF(timeline))
			abort();
	}
	zf_retention_policy_free(p);
	free(text);
	return 0;
}
