/* tests/fuzz/fuzz-schedule.c — the schedule grammar, then next run times and the due decision */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "plan/schedule.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/banned.h"

/* the epoch, a leap day, a time near the end of the range */
static const int64_t times[] = { 0, 1709164800, 1767225600, ZF_SCHEDULE_TIME_MAX - 86400 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_err err = ZF_ERR_INIT;
	struct zf_schedule s;
	char *text;
	int64_t t, n;

	/* a schedule is one config value: bounded, like a real one */
	if (size > 1024)
		return 0;
	text = zf_xstrndup((const char *)data, size);
	if (zf_schedule_parse(text, &s, &err) >= 0) {
		(void)zf_schedule_text(&s);
		for (size_t i = 0; i < ELEMENTSOF(times); i++) {
			/* a parsed schedule runs, and strictly later; only the range may end it */
			int r = zf_schedule_next(&s, times[i], &t, &err);

			if (r < 0 ? r != -ERANGE : t <= times[i] || t > ZF_SCHEDULE_TIME_MAX)
				abort();
			r = zf_schedule_due(&s, times[i], times[i] + 86400, &n, &err);
			if (r >= 0 && n <= times[i] + 86400)
				abort();
		}
	}
	free(text);
	return 0;
}
