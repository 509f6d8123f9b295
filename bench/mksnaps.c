/*
 * bench/mksnaps.c — makes many snapshots of one filesystem fast, for the
 * prune benchmark and platform tests only (not part of zferry).
 *
 *   mksnaps PREFIX SUFFIX COUNT THREADS FS...
 *
 * makes FS@PREFIX00001SUFFIX .. FS@PREFIX<COUNT>SUFFIX of every FS, each
 * number in one lzc_snapshot() call for all FS (atomic, like zfs snapshot).
 *
 * `zfs snapshot` takes one snapshot per filesystem per call and each call
 * waits for a txg sync (about 0.5 s in the TCG test VM), so 5 000 would take
 * most of an hour.  Here THREADS threads call lzc_snapshot() concurrently;
 * their sync tasks share txgs.  libzfs_core has no headers on this host,
 * so the few prototypes are declared here; it is linked by its soname.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct nvlist nvlist_t;
int libzfs_core_init(void);
int lzc_snapshot(nvlist_t *snaps, nvlist_t *props, nvlist_t **errlist);
int nvlist_alloc(nvlist_t **nvlp, unsigned nvflag, int kmflag);
int nvlist_add_boolean(nvlist_t *nvl, const char *name);
void nvlist_free(nvlist_t *nvl);

static const char *prefix, *suffix;
static char **fs;
static int nfs;
static long count;
static atomic_long next = 1;
static atomic_int failed;

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		long i = atomic_fetch_add(&next, 1);
		char name[512];
		nvlist_t *snaps = NULL, *errs = NULL;
		int r;

		if (i > count)
			return NULL;
		if (nvlist_alloc(&snaps, 1, 0) != 0) {
			atomic_store(&failed, 1);
			return NULL;
		}
		for (int f = 0; f < nfs; f++) {
			snprintf(name, sizeof(name), "%s@%s%05ld%s", fs[f], prefix, i, suffix);
			if (nvlist_add_boolean(snaps, name) != 0) {
				atomic_store(&failed, 1);
				return NULL;
			}
		}
		r = lzc_snapshot(snaps, NULL, &errs);
		if (r != 0) {
			fprintf(stderr, "mksnaps: %s: %s\n", name, strerror(r));
			atomic_store(&failed, 1);
		}
		nvlist_free(snaps);
		if (errs)
			nvlist_free(errs);
	}
}

int main(int argc, char **argv)
{
	pthread_t t[256];
	long nt;

	if (argc < 6) {
		fprintf(stderr, "usage: mksnaps PREFIX SUFFIX COUNT THREADS FS...\n");
		return 2;
	}
	prefix = argv[1];
	suffix = argv[2];
	count = strtol(argv[3], NULL, 10);
	nt = strtol(argv[4], NULL, 10);
	fs = argv + 5;
	nfs = argc - 5;
	if (nt < 1 || nt > 256 || count < 1)
		return 2;
	if (libzfs_core_init() != 0) {
		fprintf(stderr, "mksnaps: cannot open /dev/zfs\n");
		return 1;
	}
	for (long i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (long i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	return atomic_load(&failed) ? 1 : 0;
}
