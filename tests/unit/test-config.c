/* tests/unit/test-config.c — the YAML config parser and the serve grants (guarantee 5) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "config/config.h"
#include "server/grants.h"
#include "rpc/conn.h"
#include "rpc/msg.h"
#include "transport/transport.h"
#include "util/buf.h"
#include "util/err.h"

static const char good[] =
	"# zferry\n"
	"serve:\n"
	"  tls:\n"
	"    ca: /etc/zferry/ca.pem\n"
	"    cert: /etc/zferry/server.pem\n"
	"    key: /etc/zferry/server.key\n"
	"    crl: /etc/zferry/crl.pem\n"
	"  tcp:\n"
	"    allow: [127.0.0.1, \"10.0.0.0/8\", \"::1\"]\n"
	"  timeout: 30\n"
	"  handshake_timeout: 5\n"
	"  limits:\n"
	"    connections: 32\n"
	"    unauthenticated: 8\n"
	"    unauthenticated_per_address: 2\n"
	"  clients:\n"
	"    - identity: laptop\n"
	"      read: [tank/home, tank/projects]\n"
	"      write: [backup/clients/laptop]\n"
	"    - identity: \"tcp:10.0.0.7\"\n"
	"      write: [backup/tcp]\n"
	"    - identity: \"tcp:[::1]\"\n"
	"      read: [tank/v6]\n"
	"    - identity: reader\n"
	"      read: [tank/home]\n"
	"    - identity: \"with space\"\n"
	"      read: [\"tank/a b\"]\n"
	"    - identity: \"tls:desk\"\n"
	"      read: [tank/desk]\n"
	"    - identity: \"ssh:desk\"\n"
	"      read: [tank/desk-ssh]\n"
	"    - identity: sinky\n"
	"      write: [backup/sink]\n"
	"      append: [backup/sink/laptop, backup/sink/nas]\n";

static void test_good(void **state)
{
	_cleanup_(zf_config_freep) struct zf_config *c = NULL;
	struct zf_err err = ZF_ERR_INIT;
	const struct zf_config_client *cl;
	(void)state;

	assert_int_equal(zf_config_parse("t.yml", good, strlen(good), &c, &err), 0);
	assert_true(c->serve.present);
	assert_string_equal(c->serve.tls_ca, "/etc/zferry/ca.pem");
	assert_string_equal(c->serve.tls_key, "/etc/zferry/server.key");
	assert_string_equal(c->serve.tls_crl, "/etc/zferry/crl.pem");
	assert_true(c->serve.tcp_present);
	assert_int_equal(c->serve.tcp_allow.n, 3);
	assert_string_equal(c->serve.tcp_allow.v[1], "10.0.0.0/8");
	assert_int_equal(c->serve.timeout_s, 30);
	assert_int_equal(c->serve.handshake_timeout_s, 5);
	assert_int_equal(c->serve.limits.connections, 32);
	assert_int_equal(c->serve.limits.unauthenticated, 8);
	assert_int_equal(c->serve.limits.unauth_per_address, 2);
	assert_int_equal(c->serve.n_clients, 8);
	cl = zf_config_find_client(c, "laptop");
	assert_non_null(cl);
	/* a plain name is a tls CN or an ssh --identity; prefixed ones are one of them */
	assert_ptr_equal(zf_config_find_client(c, "tls:laptop"), cl);
	assert_ptr_equal(zf_config_find_client(c, "ssh:laptop"), cl);
	assert_ptr_equal(zf_config_find_client(c, "tls:desk"), &c->serve.clients[5]);
	assert_ptr_equal(zf_config_find_client(c, "ssh:desk"), &c->serve.clients[6]);
	assert_null(zf_config_find_client(c, "desk"));
	assert_null(zf_config_find_client(c, "tcp:laptop"));
	assert_null(zf_config_find_client(c, "tls:tcp:10.0.0.7"));     /* a CN "tcp:10.0.0.7" */
	assert_null(zf_config_find_client(c, "tls:tls:desk"));
	assert_null(zf_config_find_client(c, "ssh:tls:desk"));
	assert_int_equal(cl->read.n, 2);
	assert_string_equal(cl->write.v[0], "backup/clients/laptop");
	/* tcp identities match without the port, v6 in brackets, in inet_ntop form */
	assert_ptr_equal(zf_config_find_client(c, "tcp:10.0.0.7:4242"), &c->serve.clients[1]);
	assert_ptr_equal(zf_config_find_client(c, "tcp:[::1]:22"), &c->serve.clients[2]);
	assert_string_equal(c->serve.clients[2].identity, "tcp:::1");
	assert_null(zf_config_find_client(c, "tcp:10.0.0.70:1"));
	assert_null(zf_config_find_client(c, "tcp:10.0.0.7"));
	assert_null(zf_config_find_client(c, "Laptop"));
	assert_null(zf_config_find_client(c, "laptop "));
	/* append grants are write grants too, listed in both */
	cl = zf_config_find_client(c, "sinky");
	assert_non_null(cl);
	assert_int_equal(cl->append.n, 2);
	assert_string_equal(cl->append.v[1], "backup/sink/nas");
	assert_int_equal(cl->write.n, 3);
	assert_string_equal(cl->write.v[0], "backup/sink");
	assert_string_equal(cl->write.v[1], "backup/sink/laptop");
	assert_int_equal(c->serve.clients[0].append.n, 0);
}

/* append: takes what write takes, the same way: overlaps and repeats are no error. */
static void test_append(void **state)
{
	static const char yml[] =
		"serve:\n"
		"  clients:\n"
		"    - identity: only\n"
		"      append: [b/x, b/x, b/x/y]\n"
		"    - identity: both\n"
		"      append: [b/z]\n"
		"      write: [b/z, b]\n";
	_cleanup_(zf_config_freep) struct zf_config *c = NULL;
	struct zf_err err = ZF_ERR_INIT;
	const struct zf_config_client *cl;
	(void)state;

	if (zf_config_parse("a.yml", yml, strlen(yml), &c, &err) != 0)
		fail_msg("%s", err.msg);
	cl = zf_config_find_client(c, "only");
	assert_int_equal(cl->append.n, 3);
	assert_int_equal(cl->write.n, 3);
	assert_int_equal(cl->read.n, 0);
	assert_int_equal(cl->origins.n, 3);     /* clones may come from there, as from write */
	cl = zf_config_find_client(c, "both");
	assert_int_equal(cl->append.n, 1);
	assert_int_equal(cl->write.n, 3);
}

static void test_empty_and_defaults(void **state)
{
	const char *docs[] = { "", "# only a comment\n", "---\n", "serve: {}\n" };
	(void)state;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		_cleanup_(zf_config_freep) struct zf_config *c = NULL;
		struct zf_err err = ZF_ERR_INIT;

		if (zf_config_parse("e.yml", docs[i], strlen(docs[i]), &c, &err) != 0)
			fail_msg("'%s': %s", docs[i], err.msg);
		assert_int_equal(c->serve.timeout_s, ZF_CONFIG_DEFAULT_TIMEOUT);
		assert_int_equal(c->serve.handshake_timeout_s, 10);
		assert_int_equal(c->serve.limits.connections, 64);
		assert_int_equal(c->serve.limits.unauthenticated, 16);
		assert_int_equal(c->serve.limits.unauth_per_address, 4);
		assert_false(c->serve.tcp_present);
		assert_null(c->serve.tls_ca);
		assert_int_equal(c->serve.n_clients, 0);
	}
}

struct bad {
	const char *yaml;
	const char *where;      /* "file:line:col:" */
	const char *what;
};

static const struct bad bads[] = {
	{ "job: []\n", "b.yml:1:1:", "unknown key 'job' in the top level (known: serve, daemon, jobs)" },
	{ "serve:\n  tls: {ca: /a, cert: /b, key: /c}\n  tlss: {}\n", "b.yml:3:3:",
	  "unknown key 'tlss' in serve" },
	{ "- a\n- b\n", "b.yml:1:1:", "the top level must be a mapping, not a list" },
	{ "serve: 3\n", "b.yml:1:8:", "serve must be a mapping, not a scalar" },
	{ "serve: {}\nserve: {}\n", "b.yml:2:1:", "duplicate key 'serve'" },
	{ "serve:\n  tls:\n    ca: etc/ca.pem\n    cert: /b\n    key: /c\n", "b.yml:3:9:",
	  "serve.tls.ca 'etc/ca.pem' must be an absolute path" },
	{ "serve:\n  tls:\n    ca: /a\n    cert: /b\n", "b.yml:3:5:",
	  "serve.tls needs ca, cert and key" },
	{ "serve:\n  tls:\n    ca: [/a]\n", "b.yml:3:9:",
	  "serve.tls.ca must be a scalar, not a list" },
	{ "serve:\n  tcp:\n    allow: [10.0.0.300]\n", "b.yml:3:13:", "10.0.0.300" },
	{ "serve:\n  tcp:\n    allow: []\n", "b.yml:3:12:", "serve.tcp.allow is empty" },
	{ "serve:\n  tcp:\n    allow: 127.0.0.1\n", "b.yml:3:12:", "must be a list" },
	{ "serve:\n  tcp: {}\n", "b.yml:2:8:", "serve.tcp needs allow" },
	{ "serve:\n  timeout: 0\n", "b.yml:2:12:", "serve.timeout must be seconds" },
	{ "serve:\n  timeout: 10s\n", "b.yml:2:12:", "not '10s'" },
	{ "serve:\n  timeout: 99999999999999999999\n", "b.yml:2:12:", "serve.timeout" },
	{ "serve:\n  handshake_timeout: 0\n", "b.yml:2:22:",
	  "serve.handshake_timeout must be seconds from 1 to 300, not '0'" },
	{ "serve:\n  handshake_timeout: 301\n", "b.yml:2:22:", "not '301'" },
	{ "serve:\n  limits: 4\n", "b.yml:2:11:", "serve.limits must be a mapping" },
	{ "serve:\n  limits:\n    connection: 4\n", "b.yml:3:5:",
	  "unknown key 'connection' in serve.limits (known: connections, unauthenticated, "
	  "unauthenticated_per_address)" },
	{ "serve:\n  limits:\n    connections: 0\n", "b.yml:3:18:",
	  "serve.limits.connections must be a number from 1 to 1024, not '0'" },
	{ "serve:\n  limits:\n    connections: 1025\n", "b.yml:3:18:", "not '1025'" },
	{ "serve:\n  limits:\n    unauthenticated: -1\n", "b.yml:3:22:",
	  "serve.limits.unauthenticated must be a number" },
	{ "serve:\n  limits:\n    unauthenticated_per_address: x\n", "b.yml:3:34:",
	  "serve.limits.unauthenticated_per_address must be a number" },
	{ "serve:\n  limits:\n    connections: 8\n    unauthenticated: 9\n", "b.yml:3:5:",
	  "serve.limits.unauthenticated (9) exceeds serve.limits.connections (8)" },
	{ "serve:\n  limits: {unauthenticated: 2, unauthenticated_per_address: 3}\n",
	  "b.yml:2:11:", "unauthenticated_per_address (3) exceeds serve.limits.unauthenticated (2)" },
	{ "serve:\n  clients: {identity: a}\n", "b.yml:2:12:", "serve.clients must be a list" },
	{ "serve:\n  clients:\n  - identity: a\n    read: [t]\n  - identity: \"tls:a\"\n"
	  "    read: [t]\n", "b.yml:5:5:", "identity 'tls:a' overlaps 'a' on line 3" },
	{ "serve:\n  clients:\n  - identity: \"ssh:a\"\n    read: [t]\n  - identity: a\n"
	  "    read: [t]\n", "b.yml:5:5:", "identity 'a' overlaps 'ssh:a' on line 3" },
	{ "serve:\n  clients:\n  - identity: \"tls:\"\n    read: [t]\n", "b.yml:3:15:",
	  "identity 'tls:' names nobody" },
	{ "serve:\n  tls: {ca: /a, cert: /b, key: /c, crl: d}\n", "b.yml:2:41:",
	  "serve.tls.crl 'd' must be an absolute path" },
	{ "serve:\n  clients:\n  - read: [tank]\n", "b.yml:3:5:", "client without identity" },
	{ "serve:\n  clients:\n  - identity: a\n", "b.yml:3:5:",
	  "client 'a' has neither read nor write grants" },
	{ "serve:\n  clients:\n  - identity: a\n    reed: [tank]\n", "b.yml:4:5:",
	  "unknown key 'reed' in a client (known: identity, read, write, append, receive)" },
	{ "serve:\n  clients:\n  - identity: a\n    append: tank\n", "b.yml:4:13:",
	  "append must be a list" },
	{ "serve:\n  clients:\n  - identity: a\n    append: [-R]\n", "b.yml:4:14:",
	  "must not start with '-'" },
	{ "serve:\n  clients:\n  - identity: a\n    append: [/tank/b]\n", "b.yml:4:14:",
	  "drop the leading '/'" },
	{ "serve:\n  clients:\n  - identity: a\n    append: [\"tank@s\"]\n", "b.yml:4:14:",
	  "names a snapshot or bookmark" },
	{ "serve:\n  clients:\n  - identity: a\n    append: [tank/../b]\n", "b.yml:4:14:",
	  "'..' not allowed" },
	{ "serve:\n  clients:\n  - identity: a\n    append: [\"\"]\n", "b.yml:4:14:",
	  "empty grant path" },
	{ "serve:\n  clients:\n  - identity: a\n    read: [t]\n    append: [b]\n"
	  "    append: [c]\n", "b.yml:6:5:", "duplicate key 'append'" },
	{ "serve:\n  clients:\n  - identity: a\n    read: [tank]\n  - identity: a\n"
	  "    write: [x]\n", "b.yml:5:5:", "duplicate identity 'a' (first on line 3)" },
	{ "serve:\n  clients:\n  - identity: \"tcp:10.0.0.1\"\n    read: [t]\n"
	  "  - identity: \"tcp:10.0.0.01\"\n    read: [t]\n", "b.yml:5:15:", "10.0.0.01" },
	{ "serve:\n  clients:\n  - identity: \"tcp:[::1]\"\n    read: [t]\n"
	  "  - identity: \"tcp:0::1\"\n    read: [t]\n", "b.yml:5:5:",
	  "duplicate identity 'tcp:::1'" },
	{ "serve:\n  clients:\n  - identity: \"tcp:host.example\"\n    read: [t]\n",
	  "b.yml:3:15:", "is not an IP address" },
	{ "serve:\n  clients:\n  - identity: \"tcp:10.0.0.1:22\"\n    read: [t]\n",
	  "b.yml:3:15:", "is not an IP address" },
	{ "serve:\n  clients:\n  - identity: \"\"\n    read: [t]\n", "b.yml:3:15:",
	  "empty identity" },
	{ "serve:\n  clients:\n  - identity: \"a\\tb\"\n    read: [t]\n", "b.yml:3:15:",
	  "control character" },
	{ "serve:\n  clients:\n  - identity: \"a\\0b\"\n    read: [t]\n", "b.yml:3:15:",
	  "NUL byte" },
	{ "serve:\n  clients:\n  - identity: [a]\n    read: [t]\n", "b.yml:3:15:",
	  "identity must be a scalar" },
	{ "serve:\n  clients:\n  - identity: a\n    read: tank\n", "b.yml:4:11:",
	  "read must be a list" },
	{ "serve:\n  clients:\n  - identity: a\n    read: [/tank/home]\n", "b.yml:4:12:",
	  "drop the leading '/'" },
	{ "serve:\n  clients:\n  - identity: a\n    read: [tank/../etc]\n", "b.yml:4:12:",
	  "'..' not allowed" },
	{ "serve:\n  clients:\n  - identity: a\n    write: [-R]\n", "b.yml:4:13:",
	  "must not start with '-'" },
	{ "serve:\n  clients:\n  - identity: a\n    write: [\"tank@snap\"]\n", "b.yml:4:13:",
	  "names a snapshot or bookmark" },
	{ "serve:\n  clients:\n  - identity: a\n    write: [\"tank#b\"]\n", "b.yml:4:13:",
	  "names a snapshot or bookmark" },
	{ "serve:\n  clients:\n  - identity: a\n    write: [\"tank/\"]\n", "b.yml:4:13:",
	  "empty" },
	{ "serve:\n  clients:\n  - identity: a\n    write: [\"tank/x$y\"]\n", "b.yml:4:13:",
	  "character '$'" },
	{ "serve:\n  clients:\n  - identity: a\n    write: [[tank]]\n", "b.yml:4:13:",
	  "a grant must be a scalar, not a list" },
	{ "serve:\n  clients:\n  - identity: a\n    write: [\"\"]\n", "b.yml:4:13:",
	  "empty grant path" },
	{ "serve: {\n", "b.yml:2:1:", "did not find expected node content" },
	{ "serve:\n\ttls: {}\n", "b.yml:2:1:", "cannot start any token" },
	{ "serve: {}\n---\nserve: {}\n", "b.yml:2:1:", "more than one YAML document" },
	{ "? [a]\n: b\n", "b.yml:1:3:", "a key must be a scalar" },
};

static void test_bad(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		_cleanup_(zf_config_freep) struct zf_config *c = NULL;
		struct zf_err err = ZF_ERR_INIT;
		int r = zf_config_parse("b.yml", bads[i].yaml, strlen(bads[i].yaml), &c, &err);

		if (r >= 0)
			fail_msg("bad config %zu accepted:\n%s", i, bads[i].yaml);
		assert_null(c);
		if (strncmp(err.msg, bads[i].where, strlen(bads[i].where)) != 0 ||
		    !strstr(err.msg, bads[i].what))
			fail_msg("bad config %zu: got '%s', want '%s ... %s'", i, err.msg,
				 bads[i].where, bads[i].what);
		if (strchr(err.msg, '\n'))
			fail_msg("bad config %zu: message is not one line: '%s'", i, err.msg);
	}
}

/* A limit left out takes its default, moved to fit the ones given. */
static void test_limits_defaults(void **state)
{
	static const struct {
		const char *yaml;
		unsigned connections, unauthenticated, per_address;
	} cases[] = {
		{ "serve:\n  limits: {}\n", 64, 16, 4 },
		{ "serve:\n  limits: {connections: 8}\n", 8, 8, 4 },
		{ "serve:\n  limits: {connections: 2}\n", 2, 2, 2 },
		{ "serve:\n  limits: {unauthenticated: 100}\n", 100, 100, 4 },
		{ "serve:\n  limits: {unauthenticated: 3}\n", 64, 3, 3 },
		{ "serve:\n  limits: {unauthenticated_per_address: 20}\n", 64, 20, 20 },
		{ "serve:\n  limits: {unauthenticated_per_address: 1}\n", 64, 16, 1 },
		{ "serve:\n  limits: {connections: 1, unauthenticated: 1}\n", 1, 1, 1 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(zf_config_freep) struct zf_config *c = NULL;
		struct zf_err err = ZF_ERR_INIT;

		if (zf_config_parse("l.yml", cases[i].yaml, strlen(cases[i].yaml), &c, &err) != 0)
			fail_msg("'%s': %s", cases[i].yaml, err.msg);
		if (c->serve.limits.connections != cases[i].connections ||
		    c->serve.limits.unauthenticated != cases[i].unauthenticated ||
		    c->serve.limits.unauth_per_address != cases[i].per_address)
			fail_msg("'%s': got %u/%u/%u, want %u/%u/%u", cases[i].yaml,
				 c->serve.limits.connections, c->serve.limits.unauthenticated,
				 c->serve.limits.unauth_per_address, cases[i].connections,
				 cases[i].unauthenticated, cases[i].per_address);
	}
}

static void test_load(void **state)
{
	_cleanup_(zf_config_freep) struct zf_config *c = NULL;
	struct zf_err err = ZF_ERR_INIT;
	char path[] = "/tmp/zferry-test-config-XXXXXX";
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, good, strlen(good)), (ssize_t)strlen(good));
	close(fd);
	assert_int_equal(zf_config_load(path, &c, &err), 0);
	assert_string_equal(c->path, path);
	unlink(path);
	c = zf_config_free(c);
	assert_int_equal(zf_config_load(path, &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot open config"));
}

/* Daemon and jobs ----------------------------------------------------------- */

static const char jobs_good[] =
	"daemon:\n"
	"  control: /run/zf/control\n"
	"  state_dir: /var/lib/zf\n"
	"  http_listen: \"[::1]:9811\"\n"
	"  listen: [\"tls://:4434\", \"tcp://127.0.0.1:4435\"]\n"
	"  log_format: json\n"
	"  log_level: warn\n"
	"  stop_timeout: 90\n"
	"jobs:\n"
	"  - name: snap-home\n"                                         /* line 10 */
	"    type: snap\n"
	"    filesystems: [tank/home, tank/projects]\n"
	"    recursive: false\n"
	"    exclude: [\"/tmp$\"]\n"
	"    schedule: \"*/15 * * * *\"\n"
	"    snapshot: {prefix: auto_, format: \"%Y-%m-%d_%H%M\", local: true}\n"
	"    keep: \"grid:1x1h(keep=all) | 24x1h | 14x1d\"\n"
	"  - name: push.offsite\n"                                      /* line 18 */
	"    type: push\n"
	"    source: tank/home\n"
	"    target: tls://backup.example:4434/backup/clients/laptop\n"
	"    interval: 10m\n"
	"    snapshot: false\n"
	"    keep_sender: \"last_n:10\"\n"
	"    keep_receiver: \"grid:24x1h | 30x1d\"\n"
	"    exclude: [\"^tank/home/scratch\"]\n"
	"    concurrency: 4\n"
	"    retries: 0\n"
	"    bwlimit: 20M\n"
	"    intermediates: false\n"
	"    raw: always\n"
	"    compressed: false\n"
	"    large_block: false\n"
	"    embed: false\n"
	"    props: true\n"
	"    set_props: [\"compression=zstd\"]\n"
	"    exclude_props: [mountpoint]\n"
	"    accept_props: [compression]\n"
	"    force_rollback: true\n"
	"    rename_diverged: true\n"
	"    readonly: false\n"
	"    mount: true\n"
	"    resume: false\n"
	"    target_id: laptop-1\n"
	"    tls: {ca: /etc/zf/ca.pem, cert: /etc/zf/c.pem, key: /etc/zf/c.key,\n"
	"          server_name: backup.example, crl: /etc/zf/crl.pem}\n"
	"    timeout: 120\n"
	"    data_channel: \"tcp://0.0.0.0:40000-40100\"\n"
	"    data_channel_encrypt: true\n"
	"  - name: pull_1\n"                                            /* line 49 */
	"    type: pull\n"
	"    source: \"root@db1:tank/db\"\n"
	"    target: backup/db1\n"
	"    schedule: \"TZ=UTC 0 3 * * *\"\n"
	"    ssh_options: [Port=2222]\n"
	"    remote_zferry: /usr/local/bin/zferry\n"
	"    raw: false\n"
	"  - name: sink\n"                                              /* line 57 */
	"    type: sink\n"
	"    root_fs: backup/clients\n"
	"    clients: [\"tls:laptop\", \"tcp:[::1]\"]\n"
	"    keep: \"grid:7x1d\"\n"
	"    interval: 1h\n"
	"  - name: share\n"                                             /* line 63 */
	"    type: source\n"
	"    filesystems: [tank/share]\n"
	"    clients: [reader, \"tls:laptop\"]\n"
	"serve:\n"
	"  tls: {ca: /a, cert: /b, key: /c}\n"
	"  tcp: {allow: [\"::1\"]}\n"
	"  clients:\n"
	"    - identity: reader\n"                                      /* line 71 */
	"      read: [tank/public]\n";

static void test_jobs_good(void **state)
{
	_cleanup_(zf_config_freep) struct zf_config *c = NULL;
	struct zf_err err = ZF_ERR_INIT;
	const struct zf_config_job *j;
	const struct zf_config_client *cl;
	(void)state;

	if (zf_config_parse("j.yml", jobs_good, strlen(jobs_good), &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(c->daemon_present);
	assert_string_equal(c->daemon.control, "/run/zf/control");
	assert_string_equal(c->daemon.state_dir, "/var/lib/zf");
	assert_string_equal(c->daemon.http_listen, "[::1]:9811");
	assert_int_equal(c->daemon.listen.n, 2);
	assert_string_equal(c->daemon.listen.v[1], "tcp://127.0.0.1:4435");
	assert_string_equal(c->daemon.log_format, "json");
	assert_string_equal(c->daemon.log_level, "warning");
	assert_int_equal(c->daemon.stop_timeout_s, 90);
	assert_int_equal(c->n_jobs, 5);

	j = zf_config_find_job(c, "snap-home");
	assert_ptr_equal(j, &c->jobs[0]);
	assert_int_equal(j->type, ZF_JOB_SNAP);
	assert_string_equal(zf_job_type_str(j->type), "snap");
	assert_int_equal(j->line, 10);
	assert_int_equal(j->filesystems.n, 2);
	assert_string_equal(j->filesystems.v[1], "tank/projects");
	assert_false(j->recursive);
	assert_string_equal(j->exclude.v[0], "/tmp$");
	assert_true(j->has_schedule);
	assert_int_equal(j->schedule.kind, ZF_SCHEDULE_CRON);
	assert_string_equal(zf_schedule_text(&j->schedule), "*/15 * * * *");
	assert_true(j->snapshot);
	assert_string_equal(j->snap_prefix, "auto_");
	assert_string_equal(j->snap_format, "%Y-%m-%d_%H%M");
	assert_true(j->snap_local);
	assert_string_equal(j->keep, "grid:1x1h(keep=all) | 24x1h | 14x1d");

	j = zf_config_find_job(c, "push.offsite");
	assert_non_null(j);
	assert_int_equal(j->type, ZF_JOB_PUSH);
	assert_int_equal(j->line, 18);
	assert_string_equal(j->source, "tank/home");
	assert_string_equal(j->target, "tls://backup.example:4434/backup/clients/laptop");
	assert_int_equal(j->schedule.kind, ZF_SCHEDULE_INTERVAL);
	assert_int_equal(j->schedule.interval, 600);
	assert_false(j->snapshot);
	assert_string_equal(j->keep_sender, "last_n:10");
	assert_string_equal(j->keep_receiver, "grid:24x1h | 30x1d");
	assert_int_equal(j->concurrency, 4);
	assert_int_equal(j->retries, 0);
	assert_true(j->bwlimit == 20u << 20);
	assert_false(j->intermediates);
	assert_int_equal(j->raw, ZF_CONFIG_RAW_ALWAYS);
	assert_false(j->compressed || j->large_block || j->embed);
	assert_true(j->props);
	assert_string_equal(j->set_props.v[0], "compression=zstd");
	assert_string_equal(j->exclude_props.v[0], "mountpoint");
	assert_string_equal(j->accept_props.v[0], "compression");
	assert_true(j->force_rollback && j->rename_diverged && j->mount);
	assert_false(j->readonly || j->resume);
	assert_string_equal(j->target_id, "laptop-1");
	assert_string_equal(j->tls_ca, "/etc/zf/ca.pem");
	assert_string_equal(j->tls_cert, "/etc/zf/c.pem");
	assert_string_equal(j->tls_key, "/etc/zf/c.key");
	assert_string_equal(j->tls_server_name, "backup.example");
	assert_string_equal(j->tls_crl, "/etc/zf/crl.pem");
	assert_int_equal(j->timeout_s, 120);
	assert_string_equal(j->data_channel, "tcp://0.0.0.0:40000-40100");
	assert_true(j->data_channel_encrypt);

	j = zf_config_find_job(c, "pull_1");
	assert_int_equal(j->type, ZF_JOB_PULL);
	assert_string_equal(j->source, "root@db1:tank/db");
	assert_string_equal(j->target, "backup/db1");
	assert_true(j->schedule.utc);
	assert_false(j->snapshot);
	assert_string_equal(j->ssh_options.v[0], "Port=2222");
	assert_string_equal(j->remote_zferry, "/usr/local/bin/zferry");
	assert_int_equal(j->raw, ZF_CONFIG_RAW_NEVER);
	assert_null(j->keep_sender);

	j = zf_config_find_job(c, "sink");
	assert_int_equal(j->type, ZF_JOB_SINK);
	assert_string_equal(j->root_fs, "backup/clients");
	assert_int_equal(j->clients.n, 2);
	assert_string_equal(j->clients.v[1], "tcp:::1");        /* normalised as serve's */
	assert_true(j->append_only);
	assert_string_equal(j->keep, "grid:7x1d");
	assert_int_equal(j->schedule.interval, 3600);

	j = zf_config_find_job(c, "share");
	assert_int_equal(j->type, ZF_JOB_SOURCE);
	assert_false(j->has_schedule);
	assert_null(zf_config_find_job(c, "nope"));

	/* the serve client first, merged with the source job's grants; then new ones */
	assert_int_equal(c->serve.n_clients, 3);
	cl = zf_config_find_client(c, "tls:reader");
	assert_ptr_equal(cl, &c->serve.clients[0]);
	assert_int_equal(cl->line, 72);
	assert_int_equal(cl->read.n, 2);
	assert_string_equal(cl->read.v[0], "tank/public");
	assert_string_equal(cl->read.v[1], "tank/share");
	assert_int_equal(cl->origins.n, 2);
	cl = zf_config_find_client(c, "tls:laptop");
	assert_ptr_equal(cl, &c->serve.clients[1]);
	assert_int_equal(cl->line, 58);
	assert_int_equal(cl->write.n, 1);
	assert_string_equal(cl->write.v[0], "backup/clients/laptop");
	assert_int_equal(cl->append.n, 1);
	assert_string_equal(cl->append.v[0], "backup/clients/laptop");
	assert_int_equal(cl->read.n, 1);
	assert_string_equal(cl->read.v[0], "tank/share");
	assert_string_equal(cl->origins.v[0], "backup/clients/laptop");
	assert_string_equal(cl->origins.v[1], "tank/share");
	cl = zf_config_find_client(c, "tcp:[::1]:5000");
	assert_ptr_equal(cl, &c->serve.clients[2]);
	assert_string_equal(cl->write.v[0], "backup/clients/::1");
}

static void test_jobs_defaults(void **state)
{
	static const char yaml[] =
		"jobs:\n"
		"  - {name: s, type: snap, filesystems: [tank], interval: 1h}\n"
		"  - {name: p, type: push, source: tank, target: \"host:backup/t\", interval: 1h}\n"
		"  - {name: l, type: pull, source: \"host:tank\", target: backup/t, interval: 1h}\n"
		"  - {name: k, type: sink, root_fs: backup, clients: [a], append_only: false}\n"
		"  - {name: o, type: source, filesystems: [tank], clients: [b]}\n";
	_cleanup_(zf_config_freep) struct zf_config *c = NULL;
	_cleanup_(zf_config_freep) struct zf_config *e = NULL;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	if (zf_config_parse("d.yml", yaml, strlen(yaml), &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_false(c->daemon_present);
	assert_int_equal(c->n_jobs, 5);
	for (size_t i = 0; i < c->n_jobs; i++) {
		const struct zf_config_job *j = &c->jobs[i];

		assert_true(j->recursive);
		assert_int_equal(j->snapshot, j->type == ZF_JOB_SNAP || j->type == ZF_JOB_PUSH);
		assert_null(j->snap_prefix);
		assert_null(j->snap_format);
		assert_true(j->intermediates && j->compressed && j->large_block && j->embed);
		assert_false(j->props || j->mount || j->force_rollback || j->rename_diverged);
		assert_true(j->readonly && j->resume);
		assert_int_equal(j->retries, 3);
		assert_true(j->bwlimit == 0);
		assert_int_equal(j->concurrency, 0);
		assert_int_equal(j->timeout_s, 0);
		assert_int_equal(j->raw, ZF_CONFIG_RAW_AUTO);
		assert_null(j->keep);
		assert_int_equal(j->append_only, j->type != ZF_JOB_SINK);
	}
	assert_false(c->jobs[3].has_schedule);
	/* a sink without append_only: a plain write grant */
	assert_string_equal(zf_config_find_client(c, "a")->write.v[0], "backup/a");
	assert_int_equal(zf_config_find_client(c, "a")->append.n, 0);
	assert_string_equal(zf_config_find_client(c, "b")->read.v[0], "tank");

	/* no daemon: section: its defaults all the same */
	assert_int_equal(zf_config_parse("e.yml", "", 0, &e, &err), 0);
	assert_string_equal(e->daemon.control, ZF_CONFIG_DEFAULT_CONTROL);
	assert_string_equal(e->daemon.state_dir, ZF_CONFIG_DEFAULT_STATE_DIR);
	assert_int_equal(e->daemon.stop_timeout_s, ZF_CONFIG_DEFAULT_STOP_TIMEOUT);
	assert_string_equal(e->daemon.log_format, "text");
	assert_string_equal(e->daemon.log_level, "info");
	assert_null(e->daemon.http_listen);
	assert_int_equal(e->daemon.listen.n, 0);
	assert_int_equal(e->n_jobs, 0);
	assert_null(e->jobs);
	assert_string_equal(zf_job_type_str(0), "unknown");
}

/* Each message whole: file, line, column and text. */
static const struct {
	const char *yaml;
	const char *msg;
} job_bads[] = {
	{ "daemon: {contrl: /x}\n",
	  "j.yml:1:10: unknown key 'contrl' in daemon (known: control, state_dir, http_listen, "
	  "listen, log_format, log_level, stop_timeout)" },
	{ "daemon: {control: run/x}\n",
	  "j.yml:1:19: daemon.control 'run/x' must be an absolute path" },
	{ "daemon: {http_listen: \"::1:80\"}\n",
	  "j.yml:1:23: daemon.http_listen '::1:80': an IPv6 address needs brackets" },
	{ "daemon: {http_listen: \":65536\"}\n",
	  "j.yml:1:23: daemon.http_listen ':65536': bad port (0 to 65535)" },
	{ "daemon: {listen: [\"http://:80\"]}\n",
	  "j.yml:1:19: daemon.listen takes tls://[ADDR]:PORT or tcp://[ADDR]:PORT, not "
	  "'http://:80'" },
	{ "daemon: {listen: [\"tls://:4434\"]}\n",
	  "j.yml:1:19: a tls:// listener needs serve.tls (ca, cert, key)" },
	{ "daemon: {listen: [\"tcp://[::1]:4435\"]}\nserve: {}\n",
	  "j.yml:1:19: a tcp:// listener needs serve.tcp.allow" },
	{ "daemon: {log_format: xml}\n",
	  "j.yml:1:22: daemon.log_format must be text, logfmt or json, not 'xml'" },
	{ "daemon: {log_level: loud}\n",
	  "j.yml:1:21: daemon.log_level must be debug, info, notice, warning (warn) or error, "
	  "not 'loud'" },
	{ "daemon: {stop_timeout: 3601}\n",
	  "j.yml:1:24: daemon.stop_timeout must be seconds from 1 to 3600, not '3601'" },
	{ "jobs: {a: b}\n", "j.yml:1:7: jobs must be a list, not a mapping" },
	{ "jobs:\n- {name: a, type: snap, filesystems: [t], interval: 1h, colour: red}\n",
	  "j.yml:2:57: unknown key 'colour' in a job (known: name, type, filesystems, schedule, "
	  "interval, snapshot, keep, recursive, exclude)" },
	{ "jobs:\n- {name: a, type: snap, filesystems: [t], interval: 1h, target: x}\n",
	  "j.yml:2:57: key 'target' does not apply to a snap job" },
	{ "jobs:\n- {name: a, type: source, filesystems: [t], clients: [x], schedule: 1h}\n",
	  "j.yml:2:59: key 'schedule' does not apply to a source job" },
	{ "jobs:\n- {name: a, filesystems: [t]}\n",
	  "j.yml:2:3: job without type (snap, push, pull, sink or source)" },
	{ "jobs:\n- {name: a, type: copy}\n",
	  "j.yml:2:19: job type must be snap, push, pull, sink or source, not 'copy'" },
	{ "jobs:\n- {type: snap, filesystems: [t], interval: 1h}\n",
	  "j.yml:2:3: a snap job without name" },
	{ "jobs:\n- {name: \"a b\", type: snap, filesystems: [t], interval: 1h}\n",
	  "j.yml:2:10: job name 'a b' must be 1 to 64 of A-Z a-z 0-9 _ . -" },
	{ "jobs:\n- {name: a, type: snap, filesystems: [t], interval: 1h}\n"
	  "- {name: a, type: snap, filesystems: [u], interval: 1h}\n",
	  "j.yml:3:10: duplicate job name 'a' (first on line 2)" },
	{ "jobs:\n- {name: a, type: snap, filesystems: [t]}\n",
	  "j.yml:2:3: snap job 'a' needs a schedule (schedule: or interval:)" },
	{ "jobs:\n- {name: a, type: snap, filesystems: [t], schedule: \"0 0 * * 8\"}\n",
	  "j.yml:2:53: schedule '0 0 * * 8': day-of-week: 8 out of range 0-7" },
	{ "jobs:\n- {name: a, type: snap, filesystems: [t], interval: \"0 * * * *\"}\n",
	  "j.yml:2:53: interval '0 * * * *' is not an interval (10m, 1h30m): a cron expression "
	  "goes in schedule" },
	{ "jobs:\n- {name: a, type: snap, filesystems: [t], interval: 1h, schedule: 2h}\n",
	  "j.yml:2:67: give schedule or interval, not both (the other is on line 2)" },
	{ "jobs:\n- {name: a, type: snap, filesystems: [t], interval: 1h, keep: \"grid:7\"}\n",
	  "j.yml:2:63: keep 'grid:7': grid: expected 'x' at column 7" },
	{ "jobs:\n- {name: a, type: snap, filesystems: [/tank], interval: 1h}\n",
	  "j.yml:2:39: filesystem '/tank': invalid name '/tank': pool name must begin "
	  "with a letter" },
	{ "jobs:\n- {name: a, type: snap, filesystems: [t], interval: 1h, exclude: [\"(\"]}\n",
	  "j.yml:2:67: exclude '(': " },
	{ "jobs:\n- {name: a, type: snap, filesystems: [t], interval: 1h, "
	  "snapshot: {prefix: \"a@\"}}\n",
	  "j.yml:2:67: snapshot names would be like 'a@20260101T000000Z': " },
	{ "jobs:\n- {name: a, type: push, source: t, target: \"tls://h/x\", interval: 1h}\n",
	  "j.yml:2:44: target: tls URL 'tls://h/x' needs a port: tls://HOST:PORT/DATASET" },
	{ "jobs:\n- {name: a, type: push, source: t, target: \"tls://h:1/x\", interval: 1h}\n",
	  "j.yml:2:3: push job 'a': a tls:// target needs tls (ca, cert, key)" },
	{ "jobs:\n- {name: a, type: pull, source: \"tls://h:1/x\", target: t, interval: 1h,\n"
	  "   tls: {ca: /a, cert: /b}}\n",
	  "j.yml:3:9: tls needs ca, cert and key (all three, or no tls)" },
	{ "jobs:\n- {name: a, type: push, source: t, target: \"h:x\", interval: 1h, raw: maybe}\n",
	  "j.yml:2:70: raw must be auto, always or never, not 'maybe'" },
	{ "jobs:\n- {name: a, type: push, source: t, target: \"h:x\", interval: 1h, "
	  "concurrency: 9}\n",
	  "j.yml:2:78: concurrency must be a number from 1 to 8, not '9'" },
	{ "jobs:\n- {name: a, type: push, source: t, target: \"h:x\", interval: 1h, "
	  "bwlimit: 1K}\n",
	  "j.yml:2:74: bwlimit takes bytes per second with K, M, G or T (1024s), at least 64K, "
	  "or 0 for none, not '1K'" },
	{ "jobs:\n- {name: a, type: push, source: t, target: \"h:x\", interval: 1h, "
	  "data_channel: \"tcp://h\"}\n",
	  "j.yml:2:79: data_channel 'tcp://h': no :PORT" },
	{ "jobs:\n- {name: a, type: sink, root_fs: backup, clients: [\"tls:a/b\"]}\n",
	  "j.yml:2:52: sink client 'tls:a/b': 'a/b' cannot be a dataset under backup (it holds "
	  "a '/')" },
	{ "jobs:\n- {name: a, type: sink, root_fs: backup, clients: [\"ssh:..\"]}\n",
	  "j.yml:2:52: sink client 'ssh:..': '..' cannot be a dataset under backup: " },
	{ "jobs:\n- {name: a, type: sink, root_fs: backup, clients: [x], keep: \"last_n:3\"}\n",
	  "j.yml:2:3: sink job 'a' has keep but no schedule to apply it on" },
	{ "jobs:\n- {name: a, type: sink, clients: [x]}\n", "j.yml:2:3: sink job 'a' needs root_fs" },
	{ "jobs:\n- {name: a, type: source, filesystems: [t], clients: [\"tls:\"]}\n",
	  "j.yml:2:55: identity 'tls:' names nobody" },
	{ "jobs:\n- {name: a, type: source, filesystems: [t], clients: [\"tls:x\"]}\n"
	  "serve:\n  clients:\n  - {identity: x, read: [u]}\n",
	  "j.yml:2:55: identity 'tls:x' overlaps 'x' on line 5: a plain name stands for both "
	  "tls: and ssh:" },
};

static void test_jobs_bad(void **state)
{
	size_t failed = 0;
	(void)state;

	for (size_t i = 0; i < sizeof(job_bads) / sizeof(job_bads[0]); i++) {
		_cleanup_(zf_config_freep) struct zf_config *c = NULL;
		struct zf_err err = ZF_ERR_INIT;
		const char *y = job_bads[i].yaml;

		if (zf_config_parse("j.yml", y, strlen(y), &c, &err) >= 0)
			fail_msg("bad config %zu accepted:\n%s", i, y);
		assert_null(c);
		/* a message ending in ": " is checked up to there: the rest is another module's */
		const char *want = job_bads[i].msg;
		size_t n = strlen(want);
		bool prefix = n >= 2 && streq(want + n - 2, ": ");

		if (prefix ? strncmp(err.msg, want, n) != 0 : !streq(err.msg, want)) {
			print_error("bad config %zu: got  '%s'\n%*swant '%s'\n", i, err.msg, 21, "",
				    want);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* Grants ------------------------------------------------------------------ */

struct req {
	const char *identity;
	uint16_t kind;
	/* tag=name pairs */
	uint16_t tags[4];
	const char *names[4];
	int want;               /* 0 or the refusal */
	const char *msg;        /* in the refusal */
};

#define F(t) ZF_TAG_##t
static const struct req reqs[] = {
	/* write grants allow everything inside */
	{ "laptop", ZF_RPC_RECV, { F(FS) }, { "backup/clients/laptop" }, 0, NULL },
	{ "laptop", ZF_RPC_RECV, { F(FS) }, { "backup/clients/laptop/a/b" }, 0, NULL },
	{ "laptop", ZF_RPC_DESTROY_VERSIONS, { F(FS) }, { "backup/clients/laptop/x" }, 0, NULL },
	{ "laptop", ZF_RPC_CREATE, { F(FS) }, { "backup/clients/laptop/new" }, 0, NULL },
	{ "laptop", ZF_RPC_LIST_FS, { F(FS) }, { "backup/clients/laptop" }, 0, NULL },
	{ "laptop", ZF_RPC_RENAME, { F(FROM), F(TO) },
	  { "backup/clients/laptop/a", "backup/clients/laptop/a.old" }, 0, NULL },
	/* read grants: sources */
	{ "laptop", ZF_RPC_LIST_FS, { F(FS) }, { "tank/home" }, 0, NULL },
	{ "laptop", ZF_RPC_LIST_VERSIONS, { F(FS) }, { "tank/home/user" }, 0, NULL },
	{ "laptop", ZF_RPC_SEND, { F(SNAPSHOT), F(FROM) }, { "tank/home@b", "tank/home#a" }, 0,
	  NULL },
	{ "laptop", ZF_RPC_SEND_ESTIMATE, { F(SNAPSHOT) }, { "tank/projects/x@s" }, 0, NULL },
	/* ... and what a source does to itself, in its own namespace */
	{ "laptop", ZF_RPC_SNAPSHOT, { F(FS), F(FS), F(NAME) },
	  { "tank/home", "tank/projects", "zferry_laptop_1" }, 0, NULL },
	{ "laptop", ZF_RPC_HOLD, { F(HOLD_TAG), F(SNAPSHOT), F(SNAPSHOT) },
	  { "zferry_replicate_laptop", "tank/home@a", "tank/home/u@a" }, 0, NULL },
	{ "laptop", ZF_RPC_RELEASE, { F(HOLD_TAG), F(SNAPSHOT) },
	  { "zferry_replicate_laptop_t2", "tank/home@a" }, 0, NULL },
	{ "laptop", ZF_RPC_HOLDS, { F(SNAPSHOT) }, { "tank/home@a" }, 0, NULL },
	{ "laptop", ZF_RPC_BOOKMARK, { F(SNAPSHOT), F(BOOKMARK) },
	  { "tank/home@a", "tank/home#zferry_cursor_laptop_g1" }, 0, NULL },
	{ "laptop", ZF_RPC_DESTROY_BOOKMARK, { F(BOOKMARK) }, { "tank/home#zferry_cursor_laptop_g1" },
	  0, NULL },
	{ "laptop", ZF_RPC_DESTROY_VERSIONS, { F(FS), F(NAME), F(NAME) },
	  { "tank/home", "zferry_laptop_1", "zferry_laptop_2" }, 0, NULL },
	/* ... but never another's, or the admin's: one client cannot undo another's protection */
	{ "laptop", ZF_RPC_RELEASE, { F(HOLD_TAG), F(SNAPSHOT) }, { "zferry_replicate_desk",
	  "tank/home@a" }, -EACCES, "may RELEASE under its read grant only names of its own "
	  "('zferry_replicate_laptop_...'), not 'zferry_replicate_desk'" },
	{ "laptop", ZF_RPC_RELEASE, { F(HOLD_TAG), F(SNAPSHOT) }, { "keep", "tank/home@a" },
	  -EACCES, "not 'keep'" },
	{ "laptop", ZF_RPC_HOLD, { F(HOLD_TAG), F(SNAPSHOT) }, { "zferry_replicate_laptopx",
	  "tank/home@a" }, -EACCES, "not 'zferry_replicate_laptopx'" },
	{ "laptop", ZF_RPC_HOLD, { F(HOLD_TAG), F(SNAPSHOT) }, { "zferry_replicate",
	  "tank/home@a" }, -EACCES, "may HOLD" },
	{ "laptop", ZF_RPC_DESTROY_BOOKMARK, { F(BOOKMARK) }, { "tank/home#c" }, -EACCES,
	  "not 'c'" },
	{ "laptop", ZF_RPC_DESTROY_BOOKMARK, { F(BOOKMARK) },
	  { "tank/home#zferry_cursor_desk_g1" }, -EACCES, "not 'zferry_cursor_desk_g1'" },
	{ "laptop", ZF_RPC_BOOKMARK, { F(SNAPSHOT), F(BOOKMARK) },
	  { "tank/home@a", "tank/home#zferry_cursor" }, -EACCES, "may BOOKMARK" },
	{ "laptop", ZF_RPC_SNAPSHOT, { F(FS), F(NAME) }, { "tank/home", "daily-2026-12-07" },
	  -EACCES, "may SNAPSHOT under its read grant only names of its own ('zferry_laptop_...')" },
	{ "laptop", ZF_RPC_SNAPSHOT, { F(FS), F(NAME) }, { "tank/home", "zferry_1" }, -EACCES,
	  "not 'zferry_1'" },
	{ "laptop", ZF_RPC_DESTROY_VERSIONS, { F(FS), F(NAME), F(NAME) },
	  { "tank/home", "zferry_laptop_1", "daily" }, -EACCES, "not 'daily'" },
	/* under a write grant everything there is the client's */
	{ "laptop", ZF_RPC_RELEASE, { F(HOLD_TAG), F(SNAPSHOT) },
	  { "keep", "backup/clients/laptop/x@a" }, 0, NULL },
	{ "laptop", ZF_RPC_SNAPSHOT, { F(FS), F(NAME) }, { "backup/clients/laptop/x", "any" }, 0,
	  NULL },
	{ "laptop", ZF_RPC_GET_RESUME_TOKEN, { F(FS) }, { "tank/home" }, 0, NULL },
	{ "laptop", ZF_RPC_PING, {}, {}, 0, NULL },
	/* read grants refuse what only a target does */
	{ "laptop", ZF_RPC_RECV, { F(FS) }, { "tank/home/x" }, -EACCES,
	  "identity 'laptop' has no write grant for 'tank/home/x'" },
	{ "laptop", ZF_RPC_CREATE, { F(FS) }, { "tank/home/x" }, -EACCES, "no write grant" },
	{ "laptop", ZF_RPC_DESTROY_VERSIONS, { F(FS), F(NAME) }, { "tank/home", "a" }, -EACCES,
	  "identity 'laptop' may DESTROY_VERSIONS under its read grant only names of its own" },
	{ "laptop", ZF_RPC_INHERIT, { F(FS), F(PROP) }, { "tank/home", "mountpoint" }, -EACCES,
	  "no write grant" },
	{ "laptop", ZF_RPC_RECV_ABORT, { F(FS) }, { "tank/home" }, -EACCES, "no write grant" },
	{ "reader", ZF_RPC_RENAME, { F(FROM), F(TO) }, { "tank/home/a", "tank/home/b" }, -EACCES,
	  "no write grant for 'tank/home/a'" },
	/* outside every grant, whether it exists or not */
	{ "laptop", ZF_RPC_LIST_FS, { F(FS) }, { "tank" }, -EACCES,
	  "identity 'laptop' has no read or write grant for 'tank'" },
	{ "laptop", ZF_RPC_LIST_FS, { F(FS) }, { "tank/home2" }, -EACCES,
	  "no read or write grant for 'tank/home2'" },
	{ "laptop", ZF_RPC_SEND, { F(SNAPSHOT) }, { "tank/home2@a" }, -EACCES,
	  "no read or write grant for 'tank/home2@a'" },
	{ "laptop", ZF_RPC_SEND, { F(SNAPSHOT), F(FROM) }, { "tank/home@b", "tank/secret@a" },
	  -EACCES, "no read or write grant for 'tank/secret@a'" },
	{ "laptop", ZF_RPC_RECV, { F(FS) }, { "backup/clients/laptop2" }, -EACCES,
	  "no write grant for 'backup/clients/laptop2'" },
	{ "laptop", ZF_RPC_RECV, { F(FS) }, { "backup/clients" }, -EACCES, "no write grant" },
	{ "laptop", ZF_RPC_RENAME, { F(FROM), F(TO) },
	  { "backup/clients/laptop/a", "backup/clients/other" }, -EACCES,
	  "no write grant for 'backup/clients/other'" },
	{ "laptop", ZF_RPC_RENAME, { F(FROM), F(TO) },
	  { "backup/clients/other", "backup/clients/laptop/a" }, -EACCES,
	  "no write grant for 'backup/clients/other'" },
	{ "laptop", ZF_RPC_HOLD, { F(HOLD_TAG), F(SNAPSHOT), F(SNAPSHOT) },
	  { "t", "tank/home@a", "tank/other@a" }, -EACCES, "no read or write grant for 'tank/other@a'" },
	{ "laptop", ZF_RPC_SNAPSHOT, { F(FS), F(FS), F(NAME) }, { "tank/home", "tank", "s" },
	  -EACCES, "no read or write grant for 'tank'" },
	{ "laptop", ZF_RPC_BOOKMARK, { F(SNAPSHOT), F(BOOKMARK) }, { "tank/home@a", "tank/x#b" },
	  -EACCES, "no read or write grant for 'tank/x#b'" },
	/* names that zfs would reject never count as inside */
	{ "laptop", ZF_RPC_LIST_FS, { F(FS) }, { "tank/home/../secret" }, -ZF_E_BADNAME, "'..'" },
	{ "laptop", ZF_RPC_RECV, { F(FS) }, { "backup/clients/laptop/.." }, -ZF_E_BADNAME, "'..'" },
	{ "laptop", ZF_RPC_LIST_FS, { F(FS) }, { "-R" }, -ZF_E_BADNAME, "start with '-'" },
	{ "laptop", ZF_RPC_LIST_FS, { F(FS) }, { "tank/home/" }, -ZF_E_BADNAME, "empty" },
	{ "laptop", ZF_RPC_LIST_FS, { F(FS) }, { "" }, -ZF_E_BADNAME, "empty" },
	/* no subject: nothing to check, so nothing allowed */
	{ "laptop", ZF_RPC_LIST_FS, {}, {}, -EACCES, "names no dataset" },
	/* a send by token: passes here, the handler checks the token's target again */
	{ "laptop", ZF_RPC_SEND, { F(RESUME_TOKEN) }, { "1-abc-def" }, 0, NULL },
	{ "eve", ZF_RPC_SEND, { F(RESUME_TOKEN) }, { "1-abc-def" }, -EACCES, "no grants" },
	{ "laptop", ZF_RPC_SEND, {}, {}, -EACCES, "SEND names no snapshot" },
	/* identities */
	{ "eve", ZF_RPC_PING, {}, {}, -EACCES, "identity 'eve' has no grants" },
	{ "eve", ZF_RPC_LIST_FS, { F(FS) }, { "tank/home" }, -EACCES, "'eve' has no grants" },
	{ "Laptop", ZF_RPC_LIST_FS, { F(FS) }, { "tank/home" }, -EACCES, "no grants" },
	{ "tcp:10.0.0.7:55555", ZF_RPC_RECV, { F(FS) }, { "backup/tcp/x" }, 0, NULL },
	{ "tcp:10.0.0.8:55555", ZF_RPC_RECV, { F(FS) }, { "backup/tcp/x" }, -EACCES,
	  "'tcp:10.0.0.8:55555' has no grants" },
	{ "tcp:[::1]:1234", ZF_RPC_SEND, { F(SNAPSHOT) }, { "tank/v6@s" }, 0, NULL },
	{ "tcp:[::1]:1234", ZF_RPC_RECV, { F(FS) }, { "tank/v6" }, -EACCES, "no write grant" },
	{ "with space", ZF_RPC_LIST_FS, { F(FS) }, { "tank/a b/c" }, 0, NULL },
	{ "with space", ZF_RPC_LIST_FS, { F(FS) }, { "tank/a bc" }, -EACCES, "no read or write grant" },
	/* append-only grants: adding and reading back */
	{ "sinky", ZF_RPC_RECV, { F(FS) }, { "backup/sink/laptop/home" }, 0, NULL },
	{ "sinky", ZF_RPC_RECV, { F(FS) }, { "backup/sink/laptop" }, 0, NULL },
	{ "sinky", ZF_RPC_CREATE, { F(FS) }, { "backup/sink/laptop/new" }, 0, NULL },
	{ "sinky", ZF_RPC_RECV_ABORT, { F(FS) }, { "backup/sink/laptop/home" }, 0, NULL },
	{ "sinky", ZF_RPC_GET_RESUME_TOKEN, { F(FS) }, { "backup/sink/laptop/home" }, 0, NULL },
	{ "sinky", ZF_RPC_LIST_FS, { F(FS) }, { "backup/sink" }, 0, NULL },
	{ "sinky", ZF_RPC_LIST_VERSIONS, { F(FS) }, { "backup/sink/laptop" }, 0, NULL },
	{ "sinky", ZF_RPC_HOLDS, { F(SNAPSHOT) }, { "backup/sink/laptop@a" }, 0, NULL },
	{ "sinky", ZF_RPC_SEND, { F(SNAPSHOT), F(FROM) },
	  { "backup/sink/laptop@b", "backup/sink/laptop#a" }, 0, NULL },
	{ "sinky", ZF_RPC_SEND_ESTIMATE, { F(SNAPSHOT) }, { "backup/sink/nas/x@s" }, 0, NULL },
	/* ... what a source does to itself, in its own namespace only */
	{ "sinky", ZF_RPC_SNAPSHOT, { F(FS), F(NAME) }, { "backup/sink/laptop", "zferry_sinky_1" },
	  0, NULL },
	{ "sinky", ZF_RPC_HOLD, { F(HOLD_TAG), F(SNAPSHOT) },
	  { "zferry_replicate_sinky", "backup/sink/laptop@a" }, 0, NULL },
	{ "sinky", ZF_RPC_RELEASE, { F(HOLD_TAG), F(SNAPSHOT) },
	  { "zferry_replicate_sinky_t", "backup/sink/laptop@a" }, 0, NULL },
	{ "sinky", ZF_RPC_BOOKMARK, { F(SNAPSHOT), F(BOOKMARK) },
	  { "backup/sink/laptop@a", "backup/sink/laptop#zferry_cursor_sinky_g1" }, 0, NULL },
	{ "sinky", ZF_RPC_DESTROY_BOOKMARK, { F(BOOKMARK) },
	  { "backup/sink/laptop#zferry_cursor_sinky_g1" }, 0, NULL },
	{ "sinky", ZF_RPC_SNAPSHOT, { F(FS), F(NAME) }, { "backup/sink/laptop", "daily" }, -EACCES,
	  "identity 'sinky' may only append to 'backup/sink/laptop': SNAPSHOT of 'daily' "
	  "refused (only names of its own, 'zferry_sinky_...')" },
	{ "sinky", ZF_RPC_SNAPSHOT, { F(FS), F(FS), F(NAME) },
	  { "backup/sink/other", "backup/sink/nas", "any" }, -EACCES,
	  "may only append to 'backup/sink/nas'" },
	{ "sinky", ZF_RPC_RELEASE, { F(HOLD_TAG), F(SNAPSHOT) }, { "keep", "backup/sink/laptop@a" },
	  -EACCES, "may only append to 'backup/sink/laptop': RELEASE of 'keep' refused" },
	{ "sinky", ZF_RPC_RELEASE, { F(HOLD_TAG), F(SNAPSHOT), F(SNAPSHOT) },
	  { "zferry_replicate_desk", "backup/sink/other@a", "backup/sink/laptop@a" }, -EACCES,
	  "RELEASE of 'zferry_replicate_desk' refused" },
	{ "sinky", ZF_RPC_HOLD, { F(HOLD_TAG), F(SNAPSHOT) }, { "x", "backup/sink/laptop@a" },
	  -EACCES, "HOLD of 'x' refused" },
	{ "sinky", ZF_RPC_BOOKMARK, { F(SNAPSHOT), F(BOOKMARK) },
	  { "backup/sink/laptop@a", "backup/sink/laptop#m" }, -EACCES, "BOOKMARK of 'm' refused" },
	{ "sinky", ZF_RPC_DESTROY_BOOKMARK, { F(BOOKMARK) }, { "backup/sink/laptop#m" }, -EACCES,
	  "DESTROY_BOOKMARK of 'm' refused" },
	/* ... never what removes, renames or changes, not even its own sync snapshots */
	{ "sinky", ZF_RPC_DESTROY_VERSIONS, { F(FS), F(NAME) }, { "backup/sink/laptop", "a" },
	  -EACCES, "identity 'sinky' may only append to 'backup/sink/laptop': DESTROY_VERSIONS "
	  "refused" },
	{ "sinky", ZF_RPC_DESTROY_VERSIONS, { F(FS), F(NAME) },
	  { "backup/sink/laptop/home", "zferry_sinky_1" }, -EACCES, "DESTROY_VERSIONS refused" },
	{ "sinky", ZF_RPC_RENAME, { F(FROM), F(TO) },
	  { "backup/sink/laptop/a", "backup/sink/laptop/b" }, -EACCES, "RENAME refused" },
	{ "sinky", ZF_RPC_RENAME, { F(FROM), F(TO) },
	  { "backup/sink/laptop/a@s", "backup/sink/laptop/a@t" }, -EACCES, "RENAME refused" },
	{ "sinky", ZF_RPC_RENAME, { F(FROM), F(TO) }, { "backup/sink/other", "backup/sink/nas/x" },
	  -EACCES, "may only append to 'backup/sink/nas': RENAME refused" },
	{ "sinky", ZF_RPC_INHERIT, { F(FS), F(PROP) }, { "backup/sink/laptop", "compression" },
	  -EACCES, "may only append to 'backup/sink/laptop': INHERIT refused" },
	/* a parent of an append-only grant: renaming it would move the backups */
	{ "sinky", ZF_RPC_RENAME, { F(FROM), F(TO) }, { "backup/sink", "backup/sink/old" },
	  -EACCES, "may only append to 'backup/sink/laptop': RENAME refused" },
	{ "sinky", ZF_RPC_DESTROY_VERSIONS, { F(FS), F(NAME) }, { "backup/sink", "a" }, -EACCES,
	  "DESTROY_VERSIONS refused" },
	/* beside it, the plain write grant is unchanged */
	{ "sinky", ZF_RPC_RENAME, { F(FROM), F(TO) }, { "backup/sink/other", "backup/sink/o2" }, 0,
	  NULL },
	{ "sinky", ZF_RPC_DESTROY_VERSIONS, { F(FS), F(NAME) }, { "backup/sink/other", "a" }, 0,
	  NULL },
	{ "sinky", ZF_RPC_INHERIT, { F(FS), F(PROP) }, { "backup/sink/lap", "compression" }, 0,
	  NULL },
	{ "sinky", ZF_RPC_RELEASE, { F(HOLD_TAG), F(SNAPSHOT) }, { "keep", "backup/sink/nasx@a" },
	  0, NULL },
	/* and outside every grant it is the usual refusal */
	{ "sinky", ZF_RPC_RECV, { F(FS) }, { "backup/sinkx" }, -EACCES,
	  "no write grant for 'backup/sinkx'" },
};
#undef F

static void build(const struct req *q, struct zf_buf *b)
{
	zf_msg_start(b, q->kind);
	for (size_t i = 0; i < 4 && q->tags[i]; i++)
		assert_int_equal(zf_msg_add_str(b, q->tags[i], q->names[i]), 0);
}

static void test_grants(void **state)
{
	_cleanup_(zf_config_freep) struct zf_config *c = NULL;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_config_parse("t.yml", good, strlen(good), &c, &err), 0);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		const struct req *q = &reqs[i];
		_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
		_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
		const struct zf_rpc_req_info *info = zf_rpc_req_lookup(q->kind);
		int r;

		zf_err_clear(&err);
		build(q, &b);
		assert_int_equal(zf_msg_parse((const uint8_t *)b.data, b.len, &m, &err), 0);
		r = zf_serve_allow(c, q->identity, info, &m, &err);
		if (r != q->want)
			fail_msg("request %zu (%s by %s): got %d '%s', want %d", i, info->name,
				 q->identity, r, err.msg, q->want);
		if (q->msg && !strstr(err.msg, q->msg))
			fail_msg("request %zu (%s): '%s' does not mention '%s'", i, info->name,
				 err.msg, q->msg);
	}
}

static void test_grants_edges(void **state)
{
	_cleanup_(zf_config_freep) struct zf_config *c = NULL;
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_config_parse("t.yml", good, strlen(good), &c, &err), 0);
	/* a subject field of the wrong type is malformed, not a way around the check */
	zf_msg_start(&b, ZF_RPC_RECV);
	zf_msg_add_u64(&b, ZF_TAG_FS, 7);
	assert_int_equal(zf_msg_parse((const uint8_t *)b.data, b.len, &m, &err), 0);
	assert_int_equal(zf_serve_allow(c, "laptop", zf_rpc_req_lookup(ZF_RPC_RECV), &m, &err),
			 -EBADMSG);
	/* an unknown request kind */
	zf_err_clear(&err);
	assert_int_equal(zf_serve_allow(c, "laptop", NULL, &m, &err), -EOPNOTSUPP);
	/* no config: nobody */
	zf_err_clear(&err);
	assert_int_equal(zf_serve_allow(NULL, "laptop", zf_rpc_req_lookup(ZF_RPC_PING), &m, &err),
			 -EACCES);
	/* DATA_CHANNEL_OPEN names nothing: any identity the config knows, nobody else */
	zf_msg_release(&m);
	zf_msg_start(&b, ZF_RPC_DATA_CHANNEL_OPEN);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_DATA_ADDR, "0.0.0.0"), 0);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_DATA_PORTS, "20000-20007"), 0);
	assert_int_equal(zf_msg_parse((const uint8_t *)b.data, b.len, &m, &err), 0);
	zf_err_clear(&err);
	assert_int_equal(zf_serve_allow(c, "laptop", zf_rpc_req_lookup(ZF_RPC_DATA_CHANNEL_OPEN),
					&m, &err), 0);
	assert_int_equal(zf_serve_allow(c, "mallory",
					zf_rpc_req_lookup(ZF_RPC_DATA_CHANNEL_OPEN), &m, &err),
			 -EACCES);
	assert_non_null(strstr(err.msg, "identity 'mallory' has no grants"));
}

/* zfs's words about what lies outside a client's grants never reach it. */
static void test_redact(void **state)
{
	_cleanup_(zf_config_freep) struct zf_config *c = NULL;
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
	struct zf_err err = ZF_ERR_INIT;
	static const struct {
		const char *msg;
		bool withheld;
	} cases[] = {
		{ "cannot receive: local origin for clone backup/clients/laptop/c@s does not exist",
		  false },
		{ "cannot receive new filesystem stream: destination has snapshots (eg. "
		  "tank/secret@s)", true },
		{ "cannot open 'tank/secret/x': dataset does not exist", true },
		{ "cannot open 'tank': dataset does not exist", true },
		{ "cannot open 'backup': dataset does not exist", true },
		{ "property 'keylocation' is not allowed", false },
		{ "'tank/home/a@s' is no longer the same snapshot", false },
		{ "bookmark tank/projects#c exists.", false },
		{ "bookmark tank/other#c exists.", true },
		{ "identity 'laptop' has no write grant for 'backup/other'", false },
		{ "zfs recv: parent 'backup/clients' does not exist", true },
	};
	(void)state;

	assert_int_equal(zf_config_parse("t.yml", good, strlen(good), &c, &err), 0);
	zf_msg_start(&b, ZF_RPC_RECV);
	assert_int_equal(zf_msg_add_str(&b, ZF_TAG_FS, "backup/other"), 0);
	assert_int_equal(zf_msg_parse((const uint8_t *)b.data, b.len, &m, &err), 0);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char msg[512];
		int code = -ENOENT;
		bool w;

		snprintf(msg, sizeof(msg), "%s", cases[i].msg);
		w = zf_serve_redact(c, "laptop", &m, &code, msg, sizeof(msg));
		if (w != cases[i].withheld)
			fail_msg("'%s': withheld %d", cases[i].msg, w);
		if (w) {
			assert_int_equal(code, -EACCES);
			assert_non_null(strstr(msg, "withheld"));
			assert_null(strstr(msg, "tank"));
			assert_null(strstr(msg, "secret"));
		} else {
			assert_int_equal(code, -ENOENT);
			assert_string_equal(msg, cases[i].msg);
		}
	}
	/* an identity the config does not list: nothing to redact for (it is refused anyway) */
	{
		char msg[64] = "cannot open 'tank/secret'";
		int code = -ENOENT;
		assert_false(zf_serve_redact(c, "mallory", &m, &code, msg, sizeof(msg)));
	}
}

/* The table's SOURCE_OK rows are exactly the read-only ones plus the source's own changes. */
static void test_source_ok_rows(void **state)
{
	(void)state;

	for (uint16_t k = 1; k < _ZF_RPC_KIND_MAX; k++) {
		const struct zf_rpc_req_info *i = zf_rpc_req_lookup(k);
		bool own = k == ZF_RPC_SNAPSHOT || k == ZF_RPC_HOLD || k == ZF_RPC_RELEASE ||
			   k == ZF_RPC_BOOKMARK || k == ZF_RPC_DESTROY_BOOKMARK ||
			   k == ZF_RPC_DESTROY_VERSIONS;

		assert_non_null(i);
		if (!!(i->flags & ZF_RPC_SOURCE_OK) != (own || !(i->flags & ZF_RPC_CHANGES_STATE)))
			fail_msg("%s: SOURCE_OK flag is wrong", i->name);
		/* every change a read grant allows is namespaced */
		if (own != (i->owned_tag != 0))
			fail_msg("%s: owned_tag is wrong", i->name);
	}
}

/* RECV under an append-only grant: -F (rollback, overwrite) is refused, and only that. */
static void test_append_recv_force(void **state)
{
	static const struct {
		const char *fs;
		bool force, malformed;
		int want;
	} cases[] = {
		{ "backup/sink/laptop/home", false, false, 0 },
		{ "backup/sink/laptop/home", true, false, -EACCES },
		{ "backup/sink/laptop/home", false, true, -EACCES },
		{ "backup/sink", true, false, -EACCES },        /* above it: -F could replace it */
		{ "backup/sink/other", true, false, 0 },        /* a plain write grant */
	};
	_cleanup_(zf_config_freep) struct zf_config *c = NULL;
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_config_parse("t.yml", good, strlen(good), &c, &err), 0);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
		_cleanup_(zf_msg_releasep) struct zf_msg m = ZF_MSG_INIT;
		int r;

		zf_msg_start(&b, ZF_RPC_RECV);
		assert_int_equal(zf_msg_add_str(&b, ZF_TAG_FS, cases[i].fs), 0);
		zf_msg_add_bool(&b, ZF_TAG_RESUMABLE, true);
		if (cases[i].force)
			zf_msg_add_bool(&b, ZF_TAG_FORCE, true);
		if (cases[i].malformed)         /* FORCE as a string: not a way around it */
			assert_int_equal(zf_msg_add_str(&b, ZF_TAG_FORCE, "yes"), 0);
		assert_int_equal(zf_msg_parse((const uint8_t *)b.data, b.len, &m, &err), 0);
		zf_err_clear(&err);
		r = zf_serve_allow(c, "sinky", zf_rpc_req_lookup(ZF_RPC_RECV), &m, &err);
		if (r != cases[i].want)
			fail_msg("case %zu: got %d '%s'", i, r, err.msg);
		if (r < 0 && !strstr(err.msg, "may only append to 'backup/sink/laptop': RECV with "
				     "FORCE (a rollback or overwrite) refused"))
			fail_msg("case %zu: '%s'", i, err.msg);
	}
}

/* The rows an append-only grant refuses outright: exactly those that remove or change. */
static void test_append_rows(void **state)
{
	(void)state;

	for (uint16_t k = 1; k < _ZF_RPC_KIND_MAX; k++) {
		const struct zf_rpc_req_info *i = zf_rpc_req_lookup(k);
		bool refused = k == ZF_RPC_DESTROY_VERSIONS || k == ZF_RPC_RENAME ||
			       k == ZF_RPC_INHERIT;

		if (!!(i->flags & ZF_RPC_APPEND_REFUSED) != refused)
			fail_msg("%s: APPEND_REFUSED flag is wrong", i->name);
		/* whatever it refuses changes state; what it lets through is namespaced or adds */
		if (refused && !(i->flags & ZF_RPC_CHANGES_STATE))
			fail_msg("%s: refused but changes nothing", i->name);
	}
}

/* The server end of a greeting, in a thread: zf_serve_greet() over a socketpair. */
struct greeter {
	struct zf_rpc_conn *c;
	const struct zf_config *cfg;
	struct zf_err err;
	int r;
};

static void *greeter_main(void *p)
{
	struct greeter *g = p;

	g->r = zf_serve_greet(g->c, g->cfg, &g->err);
	return NULL;
}

/* Runs one greeting; returns the client's handshake result, *g the server's. */
static int greet(const struct zf_config *cfg, struct greeter *g, struct zf_rpc_conn **ret_client,
		 struct zf_err *err)
{
	struct zf_transport *a = NULL, *b = NULL;
	struct zf_rpc_conn *client;
	pthread_t th;
	int r;

	assert_int_equal(zf_transport_local_pair(&a, &b, err), 0);
	zf_transport_set_timeout(a, 5000);
	zf_transport_set_timeout(b, 5000);
	*g = (struct greeter){ .c = zf_rpc_conn_new(b), .cfg = cfg, .err = ZF_ERR_INIT };
	client = zf_rpc_conn_new(a);
	assert_int_equal(pthread_create(&th, NULL, greeter_main, g), 0);
	r = zf_rpc_handshake(client, false, err);
	pthread_join(th, NULL);
	*ret_client = client;
	return r;
}

/*
 * An identity the config does not list is refused at the greeting: DENIED
 * in place of HELLO, then the end of the connection; a listed one, or any
 * without a config, gets the usual handshake.  (A socketpair's identity is
 * "local".)
 */
static void test_greeting(void **state)
{
	static const char listed[] = "serve:\n  clients:\n  - identity: local\n    read: [t]\n";
	static const char other[] = "serve:\n  clients:\n  - identity: laptop\n    read: [t]\n";
	_cleanup_(zf_config_freep) struct zf_config *yes = NULL, *no = NULL;
	struct zf_rpc_conn *client = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct greeter g;
	struct zf_frame f;
	(void)state;

	assert_int_equal(zf_config_parse("yes.yml", listed, strlen(listed), &yes, &err), 0);
	assert_int_equal(zf_config_parse("/etc/no.yml", other, strlen(other), &no, &err), 0);

	assert_int_equal(greet(yes, &g, &client, &err), 0);
	assert_int_equal(g.r, 0);
	assert_int_equal(zf_rpc_conn_version(client), 1);
	client = zf_rpc_conn_free(client);
	zf_rpc_conn_free(g.c);

	assert_int_equal(greet(NULL, &g, &client, &err), 0);
	assert_int_equal(g.r, 0);
	client = zf_rpc_conn_free(client);
	zf_rpc_conn_free(g.c);

	assert_int_equal(greet(no, &g, &client, &err), -EACCES);
	assert_string_equal(err.msg, "local: identity 'local' is not in the config '/etc/no.yml'");
	assert_int_equal(g.r, -EACCES);
	assert_string_equal(g.err.msg, "identity 'local' is not in the config '/etc/no.yml'");
	assert_int_equal(zf_rpc_conn_version(client), 0);
	/* nothing follows the refusal: the server closed its side cleanly */
	zf_err_clear(&err);
	assert_int_equal(zf_rpc_recv_frame(client, &f, &err), 0);
	client = zf_rpc_conn_free(client);
	zf_rpc_conn_free(g.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_empty_and_defaults),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_limits_defaults),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_jobs_good),
		cmocka_unit_test(test_jobs_defaults),
		cmocka_unit_test(test_jobs_bad),
		cmocka_unit_test(test_grants),
		cmocka_unit_test(test_grants_edges),
		cmocka_unit_test(test_source_ok_rows),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_append_recv_force),
		cmocka_unit_test(test_append_rows),
		cmocka_unit_test(test_redact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
