/* tests/unit/test-url.c — replication SRC/DST: local, ssh short form, ssh://, tls://, tcp:// */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "transport/url.h"
#include "util/err.h"

struct good {
	const char *in;
	enum zf_url_kind kind;
	const char *user, *host, *port, *dataset, *origin;
};

static const struct good goods[] = {
	{ "tank/home", ZF_URL_LOCAL, NULL, NULL, NULL, "tank/home", "local" },
	{ "tank", ZF_URL_LOCAL, NULL, NULL, NULL, "tank", "local" },
	{ "tank/a:b", ZF_URL_LOCAL, NULL, NULL, NULL, "tank/a:b", "local" },
	{ "tank/with space/x", ZF_URL_LOCAL, NULL, NULL, NULL, "tank/with space/x", "local" },
	{ "./pool:colon/fs", ZF_URL_LOCAL, NULL, NULL, NULL, "pool:colon/fs", "local" },
	{ "./a:b", ZF_URL_LOCAL, NULL, NULL, NULL, "a:b", "local" },
	{ "host:tank/fs", ZF_URL_SSH, NULL, "host", NULL, "tank/fs", "ssh://host" },
	{ "backup.example.org:tank", ZF_URL_SSH, NULL, "backup.example.org", NULL, "tank",
	  "ssh://backup.example.org" },
	{ "root@host:tank/fs", ZF_URL_SSH, "root", "host", NULL, "tank/fs", "ssh://root@host" },
	{ "host:tank/a:b", ZF_URL_SSH, NULL, "host", NULL, "tank/a:b", "ssh://host" },
	{ "[::1]:tank/fs", ZF_URL_SSH, NULL, "::1", NULL, "tank/fs", "ssh://[::1]" },
	{ "me@[2001:db8::7]:tank", ZF_URL_SSH, "me", "2001:db8::7", NULL, "tank",
	  "ssh://me@[2001:db8::7]" },
	{ "ssh://host/tank/fs", ZF_URL_SSH, NULL, "host", NULL, "tank/fs", "ssh://host" },
	{ "ssh://u@host:2222/tank/fs", ZF_URL_SSH, "u", "host", "2222", "tank/fs",
	  "ssh://u@host:2222" },
	{ "ssh://[::1]:22/tank", ZF_URL_SSH, NULL, "::1", "22", "tank", "ssh://[::1]:22" },
	{ "tls://backup:4434/tank/fs", ZF_URL_TLS, NULL, "backup", "4434", "tank/fs",
	  "tls://backup:4434" },
	{ "tls://[::1]:4434/pool/a b", ZF_URL_TLS, NULL, "::1", "4434", "pool/a b",
	  "tls://[::1]:4434" },
	{ "tcp://10.0.0.1:65535/p", ZF_URL_TCP, NULL, "10.0.0.1", "65535", "p",
	  "tcp://10.0.0.1:65535" },
	{ "tcp://10.0.0.1:1/p/x:y", ZF_URL_TCP, NULL, "10.0.0.1", "1", "p/x:y",
	  "tcp://10.0.0.1:1" },
};

static void test_good(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		const struct good *g = &goods[i];
		_cleanup_(zf_url_releasep) struct zf_url u = ZF_URL_INIT;
		struct zf_err err = ZF_ERR_INIT;
		char *origin;

		if (zf_url_parse(g->in, &u, &err) < 0)
			fail_msg("'%s': %s", g->in, err.msg);
		if (u.kind != g->kind)
			fail_msg("'%s': kind %s", g->in, zf_url_kind_str(u.kind));
#define EQ(f)                                                                        \
		if ((g->f == NULL) != (u.f == NULL) || (g->f && strcmp(g->f, u.f)))  \
			fail_msg("'%s': " #f " '%s', want '%s'", g->in, u.f ? u.f : "(null)", \
				 g->f ? g->f : "(null)");
		EQ(user);
		EQ(host);
		EQ(port);
		EQ(dataset);
#undef EQ
		origin = zf_url_origin(&u);
		assert_string_equal(origin, g->origin);
		free(origin);
	}
}

struct bad {
	const char *in;
	const char *msg;
};

static const struct bad bads[] = {
	{ "", "empty dataset" },
	{ ":tank/fs", "empty host in ':tank/fs'" },
	{ "host:", "no dataset in 'host:'" },
	{ "@host:tank", "empty user name" },
	{ "-oProxyCommand=x:tank", "host in '-oProxyCommand=x:tank' must not start with '-'" },
	{ "-l:tank", "must not start with '-'" },
	{ "-u@host:tank", "user name in '-u@host:tank' must not start with '-'" },
	{ "host:-R", "dataset in 'host:-R' must not start with '-'" },
	{ "-R", "dataset in '-R' must not start with '-'" },
	{ "./", "no dataset" },
	{ "host:/tank", "must not start with '/'" },
	{ "[::1:tank", "bad IPv6 host" },
	{ "[::1]tank:x", "bad IPv6 host" },
	{ "ftp://host/tank", "unknown scheme 'ftp' in 'ftp://host/tank' (known: ssh, tls, tcp)" },
	{ "https://host:1/tank", "unknown scheme 'https'" },
	{ "tls://host/tank", "tls URL 'tls://host/tank' needs a port" },
	{ "tcp://host:/tank", "bad port ''" },
	{ "tcp://host:0/tank", "bad port '0'" },
	{ "tcp://host:65536/tank", "bad port '65536'" },
	{ "tcp://host:123456/tank", "bad port '123456'" },
	{ "tcp://host:12a/tank", "bad port '12a'" },
	{ "tcp://host:-1/tank", "bad port '-1'" },
	{ "tls://host:4434", "no dataset in 'tls://host:4434'" },
	{ "tls://host:4434/", "no dataset in 'tls://host:4434/'" },
	{ "tls://:4434/tank", "empty host" },
	{ "tls://[]:4434/tank", "empty host" },
	{ "tls://u@host:4434/tank", "tls URL 'tls://u@host:4434/tank' takes no user name" },
	{ "tls://::1:4434/tank", "write IPv6 addresses in brackets" },
	{ "tls://[::1/tank", "unclosed '['" },
	{ "tls://[::1]x/tank", "unexpected 'x' after ']'" },
	{ "ssh://a@b@host/tank", "more than one '@'" },
	{ "ssh://ho st/tank", "bad character in host" },
	{ "ssh://-oProxyCommand=x/tank", "must not start with '-'" },
	{ "ssh://host//tank", "must not start with '/'" },
};

static void test_bad(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		_cleanup_(zf_url_releasep) struct zf_url u = ZF_URL_INIT;
		struct zf_err err = ZF_ERR_INIT;

		if (zf_url_parse(bads[i].in, &u, &err) != -EINVAL)
			fail_msg("'%s' accepted", bads[i].in);
		if (!strstr(err.msg, bads[i].msg))
			fail_msg("'%s': got '%s', want '%s'", bads[i].in, err.msg, bads[i].msg);
		assert_null(u.host);
		assert_null(u.dataset);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
