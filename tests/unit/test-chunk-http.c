/* tests/unit/test-chunk-http.c — store serve's protocol: hostile paths, methods, sizes, auth */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "chunk/chunk-http.h"
#include "util/err.h"
#include "util/macro.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CHUNK "/0123/" ID ".cacnk"

struct path_case {
	const char *target, *prefix;
	bool index_ok;
	int want;                       /* 0, ZF_CHUNK_HTTP_CHUNK/INDEX kind, or -1 refused */
};

static const struct path_case paths[] = {
	{ CHUNK, "/", false, ZF_CHUNK_HTTP_CHUNK },
	{ "/p/q" CHUNK, "/p/q/", false, ZF_CHUNK_HTTP_CHUNK },
	{ CHUNK, "/p/", false, -1 },                            /* outside the prefix */
	{ "/p" CHUNK, "/p/q/", false, -1 },
	{ "/0124/" ID ".cacnk", "/", false, -1 },               /* wrong directory */
	{ "/0123/" ID ".CACNK", "/", false, -1 },
	{ "/0123/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.cacnk", "/",
	  false, -1 },                                          /* upper case */
	{ "/0123/" ID "0.cacnk", "/", false, -1 },              /* 65 digits */
	{ "/0123/" ID ".cacnk/", "/", false, -1 },
	{ "/0123/" ID ".cacnk?a=b", "/", false, -1 },
	{ "/0123/" ID ".cacnk#x", "/", false, -1 },
	{ "//0123/" ID ".cacnk", "/", false, -1 },
	{ "/0123//" ID ".cacnk", "/", false, -1 },
	{ "/../0123/" ID ".cacnk", "/", false, -1 },
	{ "/%2e%2e/0123/" ID ".cacnk", "/", false, -1 },
	{ "/0123/%30123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.cacnk", "/",
	  false, -1 },                                          /* percent-encoded digit */
	{ "/0123/" ID ".cacn%6b", "/", false, -1 },
	{ "/0123/" ID, "/", false, -1 },                        /* desync -u: not served */
	{ "/0g23/0g23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.cacnk", "/",
	  false, -1 },
	{ "", "/", false, -1 },
	{ "/", "/", true, -1 },
	{ "*", "/", false, -1 },
	{ "http://x/0123/" ID ".cacnk", "/", false, -1 },
	{ "/backup.caibx", "/", true, ZF_CHUNK_HTTP_INDEX },
	{ "/p/b-1_x.caidx", "/p/", true, ZF_CHUNK_HTTP_INDEX },
	{ "/backup.caibx", "/", false, -1 },                    /* no --index-dir */
	{ "/.caibx", "/", true, -1 },
	{ "/..caibx", "/", true, -1 },
	{ "/a/b.caibx", "/", true, -1 },
	{ "/../b.caibx", "/", true, -1 },
	{ "/%2e.caibx", "/", true, -1 },
	{ "/b.caibx.tmp", "/", true, -1 },
	{ "/passwd", "/", true, -1 },
};

static void test_paths(void **state)
{
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		const struct path_case *c = &paths[i];
		enum zf_chunk_http_target kind = 0;
		struct zf_chunk_id id;
		const char *name = NULL;
		size_t name_len = 0;
		int r;

		r = zf_chunk_http_parse_target(c->target, strlen(c->target), c->prefix, c->index_ok,
					       &kind, &id, &name, &name_len);
		if (c->want < 0 ? r >= 0 : (r < 0 || (int)kind != c->want))
			fail_msg("'%s' under '%s': got %d kind %d, want %d", c->target, c->prefix,
				 r, (int)kind, c->want);
	}
}

static void test_chunk_id_and_rel(void **state)
{
	enum zf_chunk_http_target kind;
	struct zf_chunk_id id;
	char rel[ZF_CHUNK_HTTP_REL_MAX];
	const char *name;
	size_t name_len;

	(void)state;
	assert_int_equal(zf_chunk_http_parse_target(CHUNK, strlen(CHUNK), "/", false, &kind, &id,
						    &name, &name_len), 0);
	zf_chunk_http_rel(&id, rel);
	assert_string_equal(rel, &CHUNK[1]);
	/* a target with a NUL inside is its bytes, not a C string */
	assert_true(zf_chunk_http_parse_target(CHUNK "\0x", sizeof(CHUNK "\0x") - 1, "/", false,
					       &kind, &id, &name, &name_len) < 0);
}

static void test_prefixes(void **state)
{
	static const char *const good[] = { "/", "/a/", "/a/b.c/", "/~u/x-y_z/" };
	static const char *const bad[] = { "", "a/", "/a", "//", "/a//", "/./", "/../", "/a/../",
					   "/a b/", "/%2e/", "/a?/" };

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		if (zf_chunk_http_prefix_check(good[i], NULL) < 0)
			fail_msg("prefix '%s' refused", good[i]);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (zf_chunk_http_prefix_check(bad[i], NULL) >= 0)
			fail_msg("prefix '%s' accepted", bad[i]);
}

struct decide_case {
	const char *name;
	const char *method, *target, *auth;     /* auth NULL: no header */
	int64_t length;                         /* -1: no Content-Length */
	bool chunked, bad_header;
	bool writable;
	const char *want_auth;                  /* policy */
	int want;
};

static const struct decide_case decides[] = {
	{ "get", "GET", CHUNK, NULL, -1, false, false, false, NULL, 0 },
	{ "head", "HEAD", CHUNK, NULL, -1, false, false, false, NULL, 0 },
	{ "get with length 0", "GET", CHUNK, NULL, 0, false, false, false, NULL, 0 },
	{ "get with a body", "GET", CHUNK, NULL, 5, false, false, false, NULL, 400 },
	{ "put read-only", "PUT", CHUNK, NULL, 10, false, false, false, NULL, 400 },
	{ "put writable", "PUT", CHUNK, NULL, 10, false, false, true, NULL, 0 },
	{ "put no length", "PUT", CHUNK, NULL, -1, false, false, true, NULL, 411 },
	{ "put chunked", "PUT", CHUNK, NULL, -1, true, false, true, NULL, 400 },
	{ "put too big", "PUT", CHUNK, NULL, 1000001, false, false, true, NULL, 413 },
	{ "put at the limit", "PUT", CHUNK, NULL, 1000000, false, false, true, NULL, 0 },
	{ "put huge", "PUT", CHUNK, NULL, INT64_MAX, false, false, true, NULL, 413 },
	{ "put index", "PUT", "/x.caibx", NULL, 10, false, false, true, NULL, 400 },
	{ "delete", "DELETE", CHUNK, NULL, -1, false, false, true, NULL, 405 },
	{ "post", "POST", CHUNK, NULL, 3, false, false, true, NULL, 405 },
	{ "lower-case get", "get", CHUNK, NULL, -1, false, false, false, NULL, 405 },
	{ "options", "OPTIONS", "/", NULL, -1, false, false, false, NULL, 400 },
	{ "bad header", "GET", CHUNK, NULL, -1, false, true, false, NULL, 400 },
	{ "auth ok", "GET", CHUNK, "Bearer xyz", -1, false, false, false, "Bearer xyz", 0 },
	{ "auth missing", "GET", CHUNK, NULL, -1, false, false, false, "Bearer xyz", 401 },
	{ "auth wrong", "GET", CHUNK, "Bearer xyy", -1, false, false, false, "Bearer xyz", 401 },
	{ "auth prefix", "GET", CHUNK, "Bearer xy", -1, false, false, false, "Bearer xyz", 401 },
	{ "auth longer", "GET", CHUNK, "Bearer xyzz", -1, false, false, false, "Bearer xyz",
	  401 },
	{ "auth case", "GET", CHUNK, "bearer xyz", -1, false, false, false, "Bearer xyz", 401 },
	{ "auth empty", "GET", CHUNK, "", -1, false, false, false, "Bearer xyz", 401 },
	{ "auth before path", "GET", "/../x", NULL, -1, false, false, false, "Bearer xyz", 401 },
	{ "auth before method", "DELETE", CHUNK, "B", -1, false, false, false, "Bearer xyz", 401 },
	{ "path before method", "DELETE", "/../x", NULL, -1, false, false, false, NULL, 400 },
};

static void test_decide(void **state)
{
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(decides); i++) {
		const struct decide_case *c = &decides[i];
		struct zf_chunk_http_policy p = {
			.prefix = "/", .auth = c->want_auth, .writable = c->writable,
			.index_ok = true, .max_body = 1000000,
		};
		struct zf_chunk_http_req req = {
			.method = zf_chunk_http_method(c->method, strlen(c->method)),
			.target = c->target, .target_len = strlen(c->target),
			.has_auth = c->auth != NULL, .auth = c->auth,
			.auth_len = c->auth ? strlen(c->auth) : 0,
			.has_length = c->length >= 0, .length = (uint64_t)c->length,
			.chunked = c->chunked, .bad_header = c->bad_header,
		};
		struct zf_chunk_http_decision d;

		zf_chunk_http_decide(&req, &p, &d);
		if (d.status != c->want)
			fail_msg("%s: status %d, want %d", c->name, d.status, c->want);
	}
}

static void write_file(const char *path, const char *content, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, n, f), n);
	fclose(f);
}

static void test_auth_file(void **state)
{
	char path[] = "/tmp/zf-test-auth-XXXXXX";
	struct zf_err err = ZF_ERR_INIT;
	char *v = NULL;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "Bearer abc\n", 11);
	assert_int_equal(zf_chunk_http_auth_file_read(path, &v, &err), 0);
	assert_string_equal(v, "Bearer abc");
	free(v);
	write_file(path, "Basic eHl6\r\n", 12);
	assert_int_equal(zf_chunk_http_auth_file_read(path, &v, &err), 0);
	assert_string_equal(v, "Basic eHl6");
	free(v);
	/* header injection through the file: two lines, or a control character */
	write_file(path, "Bearer a\r\nX-Evil: 1\n", 20);
	assert_true(zf_chunk_http_auth_file_read(path, &v, NULL) < 0);
	write_file(path, "Bearer a\0b", 10);
	assert_true(zf_chunk_http_auth_file_read(path, &v, NULL) < 0);
	write_file(path, "\n", 1);
	assert_true(zf_chunk_http_auth_file_read(path, &v, NULL) < 0);
	/* the secret never lands in a message */
	write_file(path, "Bearer s3cret\nmore\n", 19);
	err = (struct zf_err)ZF_ERR_INIT;
	assert_true(zf_chunk_http_auth_file_read(path, &v, &err) < 0);
	assert_null(strstr(zf_err_msg(&err), "s3cret"));
	unlink(path);
	assert_true(zf_chunk_http_auth_file_read(path, &v, NULL) < 0);
}

static void test_auth_eq(void **state)
{
	(void)state;
	assert_true(zf_chunk_http_auth_eq("Bearer x", "Bearer x", 8));
	assert_false(zf_chunk_http_auth_eq("Bearer x", "Bearer y", 8));
	assert_false(zf_chunk_http_auth_eq("Bearer x", "Bearer", 6));
	assert_false(zf_chunk_http_auth_eq("Bearer x", "Bearer xx", 9));
	assert_false(zf_chunk_http_auth_eq("", "", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_chunk_id_and_rel),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_auth_file),
		cmocka_unit_test(test_auth_eq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
