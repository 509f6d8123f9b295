/*
 * tests/fuzz/fuzz-s3.c — what an S3 store parses: a store URL, a credentials
 * file, a ListObjectsV2 answer (hostile: it comes from the server)
 *
 * The first byte picks the parser; the rest is its input.
 */
#include <stdlib.h>
#include <string.h>
#include "chunk/store-s3.h"
#include "fuzz.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/banned.h"

static int count(const char *key, uint64_t size, void *userdata)
{
	(void)size;
	if (!key)
		abort();
	(*(size_t *)userdata)++;
	return 0;
}

static void url(const char *s)
{
	struct zf_s3_url u = ZF_S3_URL_INIT;
	struct zf_err err = ZF_ERR_INIT;

	if (zf_s3_url_parse(s, &u, &err) >= 0) {
		struct zf_chunk_id id = { { 0 } }, got;
		char *key = zf_s3_chunk_key(&u, &id);
		char *host = zf_s3_request_host(&u);
		char *path = zf_s3_request_path(&u, key);
		char *shown = zf_s3_url_display(&u);

		/* what we write we must recognise, and a URL never carries credentials */
		if (zf_s3_chunk_key_parse(&u, key, &got) < 0 || memcmp(&got, &id, sizeof(id)) ||
		    strchr(u.host, '@') || !*u.bucket || strstr(path, "/../") ||
		    strstr(path, "//"))
			abort();
		free(key);
		free(host);
		free(path);
		free(shown);
	}
	zf_s3_url_release(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_s3_creds c = ZF_S3_CREDS_INIT;
	struct zf_err err = ZF_ERR_INIT;
	char *s, *next = NULL;
	size_t n = 0;

	if (size < 1 || size > 65536)
		return 0;
	s = zf_xstrndup((const char *)data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		url(s);
		break;
	case 1:
		if (zf_s3_creds_parse((const char *)data + 1, size - 1, "f", &c, &err) >= 0 &&
		    (!c.access_key || !c.secret_key))
			abort();
		zf_s3_creds_release(&c);
		break;
	default:
		if (zf_s3_list_parse((const char *)data + 1, size - 1, count, &n, &next,
				     &err) < 0 && next)
			abort();
		free(next);
		break;
	}
	free(s);
	return 0;
}
