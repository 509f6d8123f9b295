/* tests/unit/test-chunk-s3.c — S3 store URLs, desync's key layout, credentials, list answers */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "chunk/store-s3.h"
#include "util/err.h"
#include "util/macro.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct url_case {
	const char *url;
	const char *host, *bucket, *prefix;     /* NULL host: refused */
	bool https, vhost;
	const char *req_host, *req_path;        /* of the chunk ID */
};

static const struct url_case urls[] = {
	{ "s3+https://s3.example.com/b", "s3.example.com", "b", "", true, false,
	  "s3.example.com", "/b/0123/" ID ".cacnk" },
	{ "s3+http://127.0.0.1:4568/bucket/pre/fix/", "127.0.0.1:4568", "bucket", "pre/fix/", false,
	  false, "127.0.0.1:4568", "/bucket/pre/fix/0123/" ID ".cacnk" },
	{ "s3+http://127.0.0.1:4568/bucket/pre?lookup=path", "127.0.0.1:4568", "bucket", "pre/",
	  false, false, "127.0.0.1:4568", "/bucket/pre/0123/" ID ".cacnk" },
	{ "s3+https://s3.example.com:443/b/p?lookup=dns", "s3.example.com", "b", "p/", true, true,
	  "b.s3.example.com", "/p/0123/" ID ".cacnk" },
	{ "s3+http://minio:80/b/", "minio", "b", "", false, false, "minio",
	  "/b/0123/" ID ".cacnk" },
	{ "s3+https://s3.eu-west-1.amazonaws.com/my.bucket/x?lookup=auto",
	  "s3.eu-west-1.amazonaws.com", "my.bucket", "x/", true, true,
	  "my.bucket.s3.eu-west-1.amazonaws.com", "/x/0123/" ID ".cacnk" },
	{ "s3+https://minio.lan:9000/b?lookup=auto", "minio.lan:9000", "b", "", true, false,
	  "minio.lan:9000", "/b/0123/" ID ".cacnk" },
	{ "s3+http://[::1]:9000/b/p", "[::1]:9000", "b", "p/", false, false, "[::1]:9000",
	  "/b/p/0123/" ID ".cacnk" },
	/* refused */
	{ "s3://host/b", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "https://host/b", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host/", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://key:secret@host/b", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host:0/b", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host:99999/b", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host:x/b", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://:9000/b", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://[::1/b", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host/b//p", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host/b/../p", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host/b/./p", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host/b/p%2f", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host/b/p q", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host/b/p#f", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host/b/p\n", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host/b?lookup=bogus", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://host/b?region=x", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+http://127.0.0.1:9000/b?lookup=dns", NULL, NULL, NULL, false, false, NULL, NULL },
	{ "s3+https://ho_st/b", NULL, NULL, NULL, false, false, NULL, NULL },
};

static void test_urls(void **state)
{
	struct zf_chunk_id id;

	(void)state;
	assert_int_equal(zf_chunk_id_parse(ID, &id), 0);
	for (size_t i = 0; i < ELEMENTSOF(urls); i++) {
		const struct url_case *c = &urls[i];
		_cleanup_(zf_s3_url_releasep) struct zf_s3_url u = ZF_S3_URL_INIT;
		struct zf_err err = ZF_ERR_INIT;
		int r = zf_s3_url_parse(c->url, &u, &err);

		if (!c->host) {
			if (r != -EINVAL)
				fail_msg("'%s' accepted (%d)", c->url, r);
			assert_non_null(strstr(zf_err_msg(&err), "URL"));
			assert_null(strstr(zf_err_msg(&err), "secret"));
			continue;
		}
		if (r < 0)
			fail_msg("'%s' refused: %s", c->url, zf_err_msg(&err));
		assert_string_equal(u.host, c->host);
		assert_string_equal(u.bucket, c->bucket);
		assert_string_equal(u.prefix, c->prefix);
		assert_int_equal(u.https, c->https);
		assert_int_equal(u.vhost, c->vhost);
		_cleanup_free_ char *h = zf_s3_request_host(&u);
		_cleanup_free_ char *key = zf_s3_chunk_key(&u, &id);
		_cleanup_free_ char *p = zf_s3_request_path(&u, key);
		assert_string_equal(h, c->req_host);
		assert_string_equal(p, c->req_path);
	}
}

static void test_keys(void **state)
{
	_cleanup_(zf_s3_url_releasep) struct zf_s3_url u = ZF_S3_URL_INIT;
	_cleanup_(zf_s3_url_releasep) struct zf_s3_url root = ZF_S3_URL_INIT;
	struct zf_err err = ZF_ERR_INIT;
	struct zf_chunk_id id, got;
	char hex[ZF_CHUNK_ID_HEX];

	(void)state;
	assert_int_equal(zf_chunk_id_parse(ID, &id), 0);
	assert_int_equal(zf_s3_url_parse("s3+http://h:1/b/p/q", &u, &err), 0);
	assert_int_equal(zf_s3_url_parse("s3+http://h:1/b", &root, &err), 0);
	/* desync's layout: [PREFIX/]<4hex>/<64hex>.cacnk */
	_cleanup_free_ char *key = zf_s3_chunk_key(&u, &id);
	_cleanup_free_ char *rkey = zf_s3_chunk_key(&root, &id);
	_cleanup_free_ char *shown = zf_s3_url_display(&u);
	assert_string_equal(key, "p/q/0123/" ID ".cacnk");
	assert_string_equal(rkey, "0123/" ID ".cacnk");
	assert_string_equal(shown, "s3+http://h:1/b/p/q/");
	assert_int_equal(zf_s3_chunk_key_parse(&u, key, &got), 0);
	assert_string_equal(zf_chunk_id_hex(&got, hex), ID);
	assert_int_equal(zf_s3_chunk_key_parse(&root, rkey, &got), 0);
	/* not chunks: skipped by a walk */
	static const char *const bad[] = {
		"0123/" ID ".cacnk",                    /* outside the prefix */
		"p/q/0124/" ID ".cacnk",                /* wrong directory */
		"p/q/0123/" ID ".cacnk.tmp",
		"p/q/0123/" ID,
		"p/q/0123/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.cacnk",
		"p/q/0123/x123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.cacnk",
		"p/q/x/0123/" ID ".cacnk",
		"p/q/",
		"",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (zf_s3_chunk_key_parse(&u, bad[i], &got) != -EINVAL)
			fail_msg("'%s' taken for a chunk key", bad[i]);
}

static int parse_creds(const char *text, struct zf_s3_creds *c, struct zf_err *err)
{
	return zf_s3_creds_parse(text, strlen(text), "f", c, err);
}

static void test_creds_parse(void **state)
{
	struct zf_err err = ZF_ERR_INIT;

	(void)state;
	{
		_cleanup_(zf_s3_creds_releasep) struct zf_s3_creds c = ZF_S3_CREDS_INIT;
		assert_int_equal(parse_creds("access_key=AK\nsecret_key=S/K+x=\n", &c, &err), 0);
		assert_string_equal(c.access_key, "AK");
		assert_string_equal(c.secret_key, "S/K+x=");
		assert_null(c.session_token);
	}
	{
		_cleanup_(zf_s3_creds_releasep) struct zf_s3_creds c = ZF_S3_CREDS_INIT;
		assert_int_equal(parse_creds("# comment\r\n\r\nsecret_key=S\r\naccess_key=A\r\n"
					     "session_token=T", &c, &err), 0);
		assert_string_equal(c.access_key, "A");
		assert_string_equal(c.secret_key, "S");
		assert_string_equal(c.session_token, "T");
	}
	static const struct { const char *text, *msg; } bad[] = {
		{ "", "lacks access_key=" },
		{ "access_key=A\n", "lacks secret_key=" },
		{ "secret_key=SECRETVALUE\n", "lacks access_key=" },
		{ "access_key=A\nsecret_key=SECRETVALUE\nsecret_key=SECRETVALUE\n",
		  "line 3: secret_key given twice" },
		{ "access_key=A\nsecret_key=\n", "line 2: secret_key is empty" },
		{ "access_key=A\nsecret_key=SECRET VALUE\n", "line 2: secret_key is empty or has" },
		{ "access_key=A\nSECRETVALUE\n", "line 2: not name=value" },
		{ "access_key=A\nsecret=SECRETVALUE\n", "line 2: unknown name" },
		{ "access_key = A\nsecret_key=SECRETVALUE\n", "line 1: unknown name" },
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_(zf_s3_creds_releasep) struct zf_s3_creds c = ZF_S3_CREDS_INIT;
		struct zf_err e = ZF_ERR_INIT;

		assert_int_equal(parse_creds(bad[i].text, &c, &e), -EINVAL);
		if (!strstr(zf_err_msg(&e), bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, zf_err_msg(&e), bad[i].msg);
		assert_null(strstr(zf_err_msg(&e), "SECRET"));
	}
}

static void test_creds_file_mode(void **state)
{
	char path[] = "/tmp/zf-test-s3creds-XXXXXX";
	static const char text[] = "access_key=A\nsecret_key=TOPSECRET\n";
	struct zf_err err = ZF_ERR_INIT;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	{
		_cleanup_(zf_s3_creds_releasep) struct zf_s3_creds c = ZF_S3_CREDS_INIT;
		assert_int_equal(chmod(path, 0600), 0);
		assert_int_equal(zf_s3_creds_read(path, &c, &err), 0);
		assert_string_equal(c.secret_key, "TOPSECRET");
	}
	for (mode_t m = 0604; m <= 0640; m += 0036) {
		_cleanup_(zf_s3_creds_releasep) struct zf_s3_creds c = ZF_S3_CREDS_INIT;
		struct zf_err e = ZF_ERR_INIT;

		assert_int_equal(chmod(path, m), 0);
		assert_int_equal(zf_s3_creds_read(path, &c, &e), -EPERM);
		assert_non_null(strstr(zf_err_msg(&e), "chmod 600"));
		assert_null(strstr(zf_err_msg(&e), "TOPSECRET"));
	}
	unlink(path);
}

static void test_creds_env(void **state)
{
	struct zf_err err = ZF_ERR_INIT;
	static const char *const vars[] = { "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_SESSION_TOKEN",
					    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
					    "AWS_SESSION_TOKEN" };

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(vars); i++)
		unsetenv(vars[i]);
	{
		_cleanup_(zf_s3_creds_releasep) struct zf_s3_creds c = ZF_S3_CREDS_INIT;
		assert_int_equal(zf_s3_creds_from_env(&c, &err), -ENOENT);
	}
	setenv("AWS_ACCESS_KEY_ID", "AWSKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "AWSSECRET", 1);
	setenv("AWS_SESSION_TOKEN", "AWSTOKEN", 1);
	{
		_cleanup_(zf_s3_creds_releasep) struct zf_s3_creds c = ZF_S3_CREDS_INIT;
		assert_int_equal(zf_s3_creds_from_env(&c, &err), 0);
		assert_string_equal(c.access_key, "AWSKEY");
		assert_string_equal(c.session_token, "AWSTOKEN");
	}
	/* the S3_* pair wins, and never takes the AWS_* token */
	setenv("S3_ACCESS_KEY", "S3KEY", 1);
	setenv("S3_SECRET_KEY", "S3SECRET", 1);
	{
		_cleanup_(zf_s3_creds_releasep) struct zf_s3_creds c = ZF_S3_CREDS_INIT;
		assert_int_equal(zf_s3_creds_from_env(&c, &err), 0);
		assert_string_equal(c.access_key, "S3KEY");
		assert_string_equal(c.secret_key, "S3SECRET");
		assert_null(c.session_token);
	}
	unsetenv("S3_SECRET_KEY");
	{
		_cleanup_(zf_s3_creds_releasep) struct zf_s3_creds c = ZF_S3_CREDS_INIT;
		struct zf_err e = ZF_ERR_INIT;
		assert_int_equal(zf_s3_creds_from_env(&c, &e), -EINVAL);
		assert_string_equal(zf_err_msg(&e),
				    "S3_ACCESS_KEY is set but S3_SECRET_KEY is not");
	}
	for (size_t i = 0; i < ELEMENTSOF(vars); i++)
		unsetenv(vars[i]);
}

struct listed {
	char keys[4][128];
	uint64_t sizes[4];
	size_t n;
};

static int collect(const char *key, uint64_t size, void *userdata)
{
	struct listed *l = userdata;

	if (l->n == ELEMENTSOF(l->keys))
		return -E2BIG;
	snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", key);
	l->sizes[l->n++] = size;
	return 0;
}

static void test_list_parse(void **state)
{
	static const char page[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>"
		"<IsTruncated>true</IsTruncated>"
		"<Contents><Key>p/0123/" ID ".cacnk</Key><LastModified>2026-01-01T00:00:00.000Z"
		"</LastModified><ETag>&quot;abc&quot;</ETag><Size>1234</Size>"
		"<StorageClass>STANDARD</StorageClass></Contents>"
		"<Contents><Key>p/a&amp;b&#x41;&#66;</Key><Size>0</Size></Contents>"
		"<NextContinuationToken>dG9r+/=&amp;x</NextContinuationToken>"
		"</ListBucketResult>";
	static const char last[] =
		"<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>k</Key><Size>7</Size></Contents></ListBucketResult>";
	struct zf_err err = ZF_ERR_INIT;
	struct listed l = { .n = 0 };
	char *next = NULL;

	(void)state;
	assert_int_equal(zf_s3_list_parse(page, strlen(page), collect, &l, &next, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.keys[0], "p/0123/" ID ".cacnk");
	assert_int_equal(l.sizes[0], 1234);
	assert_string_equal(l.keys[1], "p/a&bAB");
	assert_string_equal(next, "dG9r+/=&x");
	free(next);
	next = NULL;
	l.n = 0;
	assert_int_equal(zf_s3_list_parse(last, strlen(last), collect, &l, &next, &err), 0);
	assert_int_equal(l.n, 1);
	assert_null(next);

	static const char *const bad[] = {
		"<Error><Code>AccessDenied</Code></Error>",
		"<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents>"
		"</ListBucketResult>",
		"<ListBucketResult><Contents><Key>k&bogus;</Key><Size>1</Size></Contents>"
		"</ListBucketResult>",
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<ListBucketResult><Contents><Key>k&#0;</Key><Size>1</Size></Contents>"
		"</ListBucketResult>",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct zf_err e = ZF_ERR_INIT;

		l.n = 0;
		next = NULL;
		if (zf_s3_list_parse(bad[i], strlen(bad[i]), collect, &l, &next, &e) != -EBADMSG)
			fail_msg("bad list answer %zu accepted", i);
		assert_null(next);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_creds_parse),
		cmocka_unit_test(test_creds_file_mode),
		cmocka_unit_test(test_creds_env),
		cmocka_unit_test(test_list_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
