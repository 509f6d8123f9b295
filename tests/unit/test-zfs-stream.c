/*
 * tests/unit/test-zfs-stream.c — the head of zfs send streams, and the nvlists in them
 *
 * The streams in tests/fuzz/corpus/zfs-stream/ are the first 4 KiB of real
 * `zfs send` output from OpenZFS 2.3.2 (made in the test VM): full,
 * incremental, -I, -p, -p -I, -R, a volume, a volume with -p, a clone,
 * raw, raw with -p, --holds, a resumed send, -c -L -e.  The test's first
 * argument is that directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "zfs/nvlist.h"
#include "zfs/stream.h"
#include "zfs/zfs.h"

static const char *corpus;

static void load(const char *name, struct zf_buf *b)
{
	char path[512];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", corpus, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	zf_buf_reset(b);
	r = zf_read_all(fd, b, 1 << 20);
	close(fd);
	assert_int_equal(r, 0);
}

/* Parses name whole; checks that every shorter prefix asks for more, never fails. */
static void parse(const char *name, struct zf_zfs_stream_head *h)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	struct zf_err err = ZF_ERR_INIT;
	int r;

	load(name, &b);
	r = zf_zfs_stream_head_parse(b.data, b.len, h, &err);
	if (r != 0)
		print_error("%s: %d %s\n", name, r, err.msg);
	assert_int_equal(r, 0);
	for (size_t n = 0; n < h->len; n += 13) {
		struct zf_zfs_stream_head t;
		r = zf_zfs_stream_head_parse(b.data, n, &t, &err);
		assert_true(r > (int)n);
	}
}

static void test_full(void **state)
{
	struct zf_zfs_stream_head h;
	(void)state;

	parse("full.bin", &h);
	assert_false(h.compound);
	assert_false(h.big_endian);
	assert_int_equal(h.kind, ZF_ZFS_STREAM_FILESYSTEM);
	assert_string_equal(h.toname, "p/a@s1");
	assert_true(h.toguid != 0);
	assert_int_equal(h.fromguid, 0);
	assert_int_equal(h.len, 312);
	assert_false(h.features & ZF_ZFS_FEATURE_RAW);
	zf_zfs_stream_head_release(&h);

	parse("incr.bin", &h);
	assert_false(h.compound);
	assert_true(h.fromguid != 0);
	assert_false(h.flags & ZF_ZFS_DRR_CLONE);
	assert_string_equal(h.toname, "p/a@s2");
	zf_zfs_stream_head_release(&h);
}

static void test_compound(void **state)
{
	struct zf_zfs_stream_head h;
	(void)state;

	/* -I alone is a compound stream without a header list: not recursive */
	parse("incr-I.bin", &h);
	assert_true(h.compound);
	assert_false(h.recursive);
	assert_int_equal(h.props.n, 0);
	assert_int_equal(h.len, 3 * 312);
	assert_string_equal(h.toname, "p/a@s2");
	assert_string_equal(h.header_toname, "p/a@s3");
	zf_zfs_stream_head_release(&h);

	parse("props.bin", &h);
	assert_true(h.compound);
	assert_false(h.recursive);
	assert_int_equal(h.n_fss, 1);
	assert_true(zf_strv_contains(&h.props, "com.example:note"));
	assert_true(zf_strv_contains(&h.props, "compression"));
	assert_true(zf_strv_contains(&h.snapprops, "snap:desc"));
	assert_false(h.has_origin);
	assert_false(h.has_parentfromsnap);
	zf_zfs_stream_head_release(&h);

	parse("repl.bin", &h);
	assert_true(h.compound);
	assert_true(h.recursive);
	assert_int_equal(h.n_fss, 2);
	zf_zfs_stream_head_release(&h);

	parse("raw-props.bin", &h);
	assert_true(h.compound);
	assert_true(h.header_raw);
	assert_true(h.features & ZF_ZFS_FEATURE_RAW);
	assert_true(zf_strv_contains(&h.props, "keylocation"));
	zf_zfs_stream_head_release(&h);
}

static void test_kinds(void **state)
{
	struct zf_zfs_stream_head h;
	(void)state;

	parse("zvol.bin", &h);
	assert_int_equal(h.kind, ZF_ZFS_STREAM_VOLUME);
	zf_zfs_stream_head_release(&h);
	parse("zvol-props.bin", &h);
	assert_int_equal(h.kind, ZF_ZFS_STREAM_VOLUME);
	/* a thick volume carries its refreservation */
	assert_true(zf_strv_contains(&h.props, "refreservation"));
	zf_zfs_stream_head_release(&h);
	parse("clone.bin", &h);
	assert_true(h.flags & ZF_ZFS_DRR_CLONE);
	assert_true(h.fromguid != 0);
	assert_string_equal(h.toname, "p/cl@c1");
	zf_zfs_stream_head_release(&h);
	parse("raw.bin", &h);
	assert_true(h.features & ZF_ZFS_FEATURE_RAW);
	zf_zfs_stream_head_release(&h);
	parse("resume.bin", &h);
	assert_true(h.features & ZF_ZFS_FEATURE_RESUMING);
	zf_zfs_stream_head_release(&h);
	parse("holds2.bin", &h);
	assert_true(h.compound);
	assert_true(h.features & ZF_ZFS_FEATURE_HOLDS || h.compound);
	zf_zfs_stream_head_release(&h);
	parse("flags.bin", &h);
	assert_true(h.features & ZF_ZFS_FEATURE_EMBED_DATA);
	zf_zfs_stream_head_release(&h);
}

static int expect_bad(const void *p, size_t n, const char *want)
{
	struct zf_zfs_stream_head h;
	struct zf_err err = ZF_ERR_INIT;
	int r = zf_zfs_stream_head_parse(p, n, &h, &err);

	if (r >= 0) {
		if (r == 0)
			zf_zfs_stream_head_release(&h);
		print_error("parsed, expected '%s'\n", want);
		return -1;
	}
	if (!strstr(err.msg, want)) {
		print_error("message '%s', expected '%s'\n", err.msg, want);
		return -1;
	}
	assert_null(strchr(err.msg, '\n'));
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);       /* the test machine's order, as zfs send writes */
}

static void test_hostile(void **state)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	uint8_t *p;
	(void)state;

	assert_int_equal(expect_bad("hello world, this is no stream at all.................."
				    "........................................................."
				    "........................................................."
				    "........................................................."
				    "........................................................."
				    "...........", 312, "not a zfs send stream"), 0);

	/* a name that does not end inside its 256 bytes */
	load("full.bin", &b);
	p = (uint8_t *)b.data;
	memset(p + 56, 'a', 256);
	assert_int_equal(expect_bad(p, b.len, "not terminated"), 0);

	/* a name that zfs would not take */
	load("full.bin", &b);
	p = (uint8_t *)b.data;
	memcpy(p + 56, "p/../etc@s\0", 11);
	assert_int_equal(expect_bad(p, b.len, "BEGIN at byte 0"), 0);

	/* a dataset type that is neither filesystem nor volume */
	load("full.bin", &b);
	p = (uint8_t *)b.data;
	put32(p + 32, 1);
	assert_int_equal(expect_bad(p, b.len, "neither a filesystem nor a volume"), 0);

	/* a compound header whose payload length runs past the limit */
	load("props.bin", &b);
	p = (uint8_t *)b.data;
	put32(p + 4, (64u << 20) + 1);
	{
		struct zf_zfs_stream_head h;
		struct zf_err err = ZF_ERR_INIT;
		assert_int_equal(zf_zfs_stream_head_parse(p, b.len, &h, &err), -E2BIG);
	}

	/* a substream that names another filesystem than its header */
	load("props.bin", &b);
	{
		struct zf_zfs_stream_head h;
		struct zf_err err = ZF_ERR_INIT;
		assert_int_equal(zf_zfs_stream_head_parse(b.data, b.len, &h, &err), 0);
		p = (uint8_t *)b.data + h.len - 312;
		zf_zfs_stream_head_release(&h);
		memcpy(p + 56, "p/other@s4\0", 11);
		assert_int_equal(expect_bad(b.data, b.len, "substream of 'p/other@s4'"), 0);
	}

	/* every single flipped byte of a compound head: a clean answer, never a crash */
	load("props.bin", &b);
	for (size_t i = 0; i < 1544; i++) {
		struct zf_zfs_stream_head h;
		struct zf_err err = ZF_ERR_INIT;
		int r;

		b.data[i] ^= 0x5a;
		r = zf_zfs_stream_head_parse(b.data, b.len, &h, &err);
		if (r == 0)
			zf_zfs_stream_head_release(&h);
		else if (r < 0)
			assert_non_null(err.msg[0] ? err.msg : NULL);
		b.data[i] ^= 0x5a;
	}
}

/* A hand-made XDR nvlist: the reader's rules one by one. */
struct xdr {
	uint8_t b[512];
	size_t n;
};

static void x32(struct xdr *x, uint32_t v)
{
	x->b[x->n++] = (uint8_t)(v >> 24);
	x->b[x->n++] = (uint8_t)(v >> 16);
	x->b[x->n++] = (uint8_t)(v >> 8);
	x->b[x->n++] = (uint8_t)v;
}

static void xstr(struct xdr *x, const char *s, size_t len)
{
	x32(x, (uint32_t)len);
	memcpy(x->b + x->n, s, len);
	x->n += len;
	while (x->n % 4)
		x->b[x->n++] = 0;
}

/* header + list start */
static void xbegin(struct xdr *x)
{
	x->n = 0;
	x->b[0] = 1;
	x->b[1] = 1;
	x->b[2] = x->b[3] = 0;
	x->n = 4;
	x32(x, 0);
	x32(x, 1);
}

/* a boolean pair; its encoded size is what it holds unless size says otherwise */
static void xflag(struct xdr *x, const char *name, size_t namelen, int size)
{
	size_t start = x->n;
	uint32_t want = (uint32_t)(4 + 4 + 4 + ((namelen + 3) & ~3u) + 4 + 4);

	x32(x, size >= 0 ? (uint32_t)size : want);
	x32(x, 100);
	xstr(x, name, namelen);
	x32(x, ZF_NV_BOOLEAN);
	x32(x, 0);
	assert_int_equal(x->n - start, want);
}

static int unpack(const struct xdr *x, struct zf_nvlist **ret, struct zf_err *err)
{
	return zf_nvlist_unpack(x->b, x->n, ret, err);
}

static void test_nvlist(void **state)
{
	struct zf_nvlist *l = NULL;
	struct zf_err err = ZF_ERR_INIT;
	struct xdr x;
	(void)state;

	xbegin(&x);
	xflag(&x, "not_recursive", 13, -1);
	x32(&x, 0);
	x32(&x, 0);
	assert_int_equal(unpack(&x, &l, &err), 0);
	assert_non_null(zf_nvlist_get(l, "not_recursive"));
	assert_null(zf_nvlist_get(l, "raw"));
	l = zf_nvlist_free(l);

	/* a name twice */
	xbegin(&x);
	xflag(&x, "raw", 3, -1);
	xflag(&x, "raw", 3, -1);
	x32(&x, 0);
	x32(&x, 0);
	assert_int_equal(unpack(&x, &l, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "appears twice"));
	zf_err_clear(&err);

	/* a NUL inside a name ("not_recursive\0x" reads as not_recursive to zfs) */
	xbegin(&x);
	xflag(&x, "not_recursive\0x", 15, -1);
	x32(&x, 0);
	x32(&x, 0);
	assert_int_equal(unpack(&x, &l, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "NUL"));
	zf_err_clear(&err);

	/* an encoded size that disagrees with the pair */
	xbegin(&x);
	xflag(&x, "raw", 3, 20);
	x32(&x, 0);
	x32(&x, 0);
	assert_int_equal(unpack(&x, &l, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "says 20 bytes"));
	zf_err_clear(&err);

	/* no end of list */
	xbegin(&x);
	xflag(&x, "raw", 3, -1);
	assert_int_equal(unpack(&x, &l, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "truncated"));
	zf_err_clear(&err);

	/* bytes after the end */
	xbegin(&x);
	x32(&x, 0);
	x32(&x, 0);
	x32(&x, 7);
	assert_int_equal(unpack(&x, &l, &err), -EBADMSG);
	zf_err_clear(&err);

	/* native encoding */
	xbegin(&x);
	x32(&x, 0);
	x32(&x, 0);
	x.b[0] = 0;
	assert_int_equal(unpack(&x, &l, &err), -EOPNOTSUPP);
	zf_err_clear(&err);

	/* nesting deeper than the limit: NVLIST pairs inside each other */
	{
		uint8_t deep[4096];
		size_t n = 4;
		int depth = ZF_NV_MAX_DEPTH + 2;

		memset(deep, 0, sizeof(deep));
		deep[0] = 1;
		/* version, flags, then a pair whose value is a list, ... (sizes unchecked: depth first) */
		for (int d = 0; d < depth; d++) {
			uint8_t *q = deep + n;
			memset(q, 0, 8);        /* version 0, flags 0 */
			n += 8;
			q = deep + n;
			q[3] = 60;              /* encoded */
			q[7] = 60;              /* decoded */
			q[11] = 1;              /* name length 1 */
			q[12] = 'l';
			q[19] = ZF_NV_NVLIST;   /* type */
			q[23] = 1;              /* nelem */
			n += 24;
		}
		assert_int_equal(zf_nvlist_unpack(deep, n + 8, &l, &err), -E2BIG);
		assert_non_null(strstr(err.msg, "nested deeper"));
	}
}

static int pri(const char *text, struct zf_zfs_resume_info *ri, struct zf_err *err)
{
	return zf_zfs_parse_resume_info(text, strlen(text), ri, err);
}

/* What `zfs send -nP -t TOKEN` prints (OpenZFS 2.3.2), and forgeries of it. */
static void test_resume_info(void **state)
{
	struct zf_zfs_resume_info ri = { 0 };
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(pri(
				 "resume token contents:\nnvlist version: 0\n\tobject = 0x24\n"
				 "\toffset = 0x0\n\tbytes = 0x2ea0\n\ttoguid = 0x88a0f74728bd5eb2\n"
				 "\ttoname = p/a@s4\nfull\tp/a@s4\t1488\nsize\t1488\n", &ri, &err), 0);
	assert_string_equal(ri.toname, "p/a@s4");
	assert_true(ri.toguid == 0x88a0f74728bd5eb2ull);
	assert_true(ri.fromguid == 0);
	zf_zfs_resume_info_release(&ri);
	assert_int_equal(pri(
				 "\tfromguid = 0x10\n\ttoguid = 0x20\n\ttoname = p/a b@s 2\n", &ri,
				 &err), 0);
	assert_true(ri.fromguid == 16 && ri.toguid == 32);
	assert_string_equal(ri.toname, "p/a b@s 2");
	zf_zfs_resume_info_release(&ri);
	/* no guid: nothing to check the name by */
	assert_int_equal(pri("\ttoname = p/a@s\n", &ri, &err), -EBADMSG);
	zf_err_clear(&err);
	assert_int_equal(pri("\ttoguid = 0x1\n\ttoname = -R@s\n", &ri, &err),
			 -ZF_E_BADNAME);
	zf_err_clear(&err);
	assert_int_equal(pri("\ttoguid = -1\n\ttoname = p/a@s\n", &ri, &err),
			 -EBADMSG);
	zf_err_clear(&err);
	/* a field inside another line does not count */
	assert_int_equal(pri("x\ttoguid = 0x1\n\ttoname = p/a@s\n", &ri,
						  &err), -EBADMSG);
}

static void test_namespace(void **state)
{
	char ns[ZF_ZFS_NAMESPACE_MAX], ns2[ZF_ZFS_NAMESPACE_MAX];
	char longid[300];
	(void)state;

	zf_zfs_namespace("laptop", ns);
	assert_string_equal(ns, "laptop");
	zf_zfs_namespace("tcp:10.0.0.7", ns);
	assert_string_equal(ns, "tcp:10.2e0.2e0.2e7");
	/* escaping keeps identities apart: "a b" and "a.20b" */
	zf_zfs_namespace("a b", ns);
	zf_zfs_namespace("a.20b", ns2);
	assert_string_equal(ns, "a.20b");
	assert_string_not_equal(ns, ns2);
	zf_zfs_namespace("x/y@z#w", ns);
	assert_string_equal(ns, "x.2fy.40z.23w");
	memset(longid, 'q', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	zf_zfs_namespace(longid, ns);
	assert_true(strlen(ns) < ZF_ZFS_NAMESPACE_MAX);
	longid[200] = 'r';
	zf_zfs_namespace(longid, ns2);
	assert_string_not_equal(ns, ns2);
	{
		struct zf_err err = ZF_ERR_INIT;
		char name[600];
		snprintf(name, sizeof(name), "p/fs@zferry_%s_20261206T000000Z", ns);
		assert_int_equal(zf_zfs_name_check(name, ZF_ZFS_NAME_SNAPSHOT, &err), 0);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_compound),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_nvlist),
		cmocka_unit_test(test_resume_info),
		cmocka_unit_test(test_namespace),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	corpus = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
