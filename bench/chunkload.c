/*
 * bench/chunkload.c — many clients asking a chunk server for chunks, for
 * bench/remote-store only (not part of zferry).
 *
 *   chunkload [--head] [--clients N] [--seconds S] URLFILE
 *
 * URLFILE holds one chunk URL a line.  N threads (default 16), each with its
 * own curl handle and so one kept-alive connection, take the next URL in turn
 * (all of them cycle through the whole list) and GET it, or HEAD it with
 * --head, until S seconds (default 10) have passed.  Bodies are counted and
 * dropped.  Prints one line:
 *
 *   requests=N errors=E seconds=S per_second=R body_mib=B client_cpu_s=C
 *
 * client_cpu_s is this program's own user + system time: on a small machine
 * it shares the CPUs with the server it loads, so whoever reads the figures
 * needs it.  Exits 1 if any request failed or did not answer 200.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_CLIENTS 256

static char **urls;
static size_t nurls;
static int head;
static double seconds = 10;
static atomic_size_t next;
static atomic_ulong requests, errors, body_bytes;
static double t0;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t drop_body(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	*(size_t *)arg += size * n;
	return size * n;
}

static void *client(void *arg)
{
	CURL *c = curl_easy_init();
	size_t got = 0;

	(void)arg;
	if (!c) {
		atomic_fetch_add(&errors, 1);
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_NOBODY, (long)head);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	/* a proxy from the environment would measure the proxy */
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	while (now() - t0 < seconds) {
		size_t i = atomic_fetch_add(&next, 1) % nurls;
		long code = 0;
		CURLcode rc;

		curl_easy_setopt(c, CURLOPT_URL, urls[i]);
		rc = curl_easy_perform(c);
		if (rc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code != 200) {
			if (atomic_fetch_add(&errors, 1) == 0)
				fprintf(stderr, "chunkload: %s: %s (HTTP %ld)\n", urls[i],
					curl_easy_strerror(rc), code);
		}
		atomic_fetch_add(&requests, 1);
	}
	atomic_fetch_add(&body_bytes, got);
	curl_easy_cleanup(c);
	return NULL;
}

static int read_urls(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t n;

	if (!f) {
		fprintf(stderr, "chunkload: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &lcap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (nurls == cap) {
			cap = cap ? 2 * cap : 1024;
			urls = realloc(urls, cap * sizeof(*urls));
			if (!urls)
				abort();
		}
		urls[nurls] = strdup(line);
		if (!urls[nurls++])
			abort();
	}
	free(line);
	fclose(f);
	if (nurls == 0) {
		fprintf(stderr, "chunkload: no URLs in '%s'\n", path);
		return -1;
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: chunkload [--head] [--clients N] [--seconds S] URLFILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	pthread_t t[MAX_CLIENTS];
	long nclients = 16;
	struct rusage ru;
	double dt, cpu;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--head") == 0)
			head = 1;
		else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
			nclients = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else
			return usage();
	}
	if (i != argc - 1 || nclients < 1 || nclients > MAX_CLIENTS || !(seconds > 0))
		return usage();
	if (read_urls(argv[i]) < 0)
		return 1;
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		return 1;

	t0 = now();
	for (long k = 0; k < nclients; k++)
		if (pthread_create(&t[k], NULL, client, NULL) != 0) {
			fprintf(stderr, "chunkload: cannot start a thread\n");
			return 1;
		}
	for (long k = 0; k < nclients; k++)
		pthread_join(t[k], NULL);
	dt = now() - t0;

	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	      ru.ru_stime.tv_usec / 1e6;
	printf("requests=%lu errors=%lu seconds=%.2f per_second=%.0f body_mib=%.1f "
	       "client_cpu_s=%.2f\n",
	       atomic_load(&requests), atomic_load(&errors), dt, atomic_load(&requests) / dt,
	       atomic_load(&body_bytes) / 1048576.0, cpu);
	curl_global_cleanup();
	return atomic_load(&errors) ? 1 : 0;
}
