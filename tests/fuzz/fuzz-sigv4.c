/*
 * tests/fuzz/fuzz-sigv4.c — AWS SigV4 signing of hostile request parts
 *
 * The input is up to seven lines: method, host, path, query, a header
 * name, its value, a session token.  Whatever the signer accepts must come
 * back as header lines curl can send without a second header sneaking in,
 * a path and query of URL-safe bytes only, and no trace of the secret.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "chunk/sigv4.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/banned.h"

#define SECRET "fuzz-secret-key-0123456789"

/*
 * set when the input itself holds the secret in any case: then outputs may
 * echo it (a header name that holds it comes back lower-cased)
 */
static bool secret_in_input;

static bool leaks(const char *s)
{
	return !secret_in_input && strstr(s, SECRET);
}

static void check_line(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	if (leaks(s))
		abort();
}

static void check_url_part(const char *s, const char *extra)
{
	static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789-._~%";

	for (const char *p = s; *p; p++)
		if (!strchr(safe, *p) && !strchr(extra, *p))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *field[7] = { NULL };
	char *s, *p;
	size_t n = 0;

	if (size > 4096)
		return 0;
	s = zf_xstrndup((const char *)data, size);
	secret_in_input = strcasestr(s, SECRET) != NULL;
	for (p = s; n < 7; n++) {
		field[n] = p;
		p = strchr(p, '\n');
		if (!p) {
			n++;
			break;
		}
		*p++ = '\0';
	}

	struct zf_sigv4_header h = { n > 4 ? field[4] : "x-a", n > 5 ? field[5] : "v" };
	struct zf_sigv4_req req = {
		.method = field[0], .host = n > 1 ? field[1] : "h", .path = n > 2 ? field[2] : "/",
		.query = n > 3 ? field[3] : NULL, .headers = &h, .n_headers = 1,
		.payload_hash = ZF_SIGV4_UNSIGNED_PAYLOAD, .time = 1369353600,
	};
	struct zf_sigv4_creds creds = {
		.access_key_id = "AKID", .secret_key = SECRET, .region = "r", .service = "s3",
		.session_token = n > 6 ? field[6] : NULL,
	};
	struct zf_sigv4 out = ZF_SIGV4_INIT;
	struct zf_err err = ZF_ERR_INIT;

	if (zf_sigv4_sign(&req, &creds, &out, &err) >= 0) {
		for (size_t i = 0; i < out.headers.n; i++)
			check_line(out.headers.v[i]);
		check_url_part(out.path, "/");
		check_url_part(out.query, "=&");
		if (leaks(out.canonical_request) || leaks(out.string_to_sign))
			abort();
	} else if (strchr(err.msg, '\n') || leaks(err.msg)) {
		abort();
	}
	zf_sigv4_release(&out);
	free(s);
	return 0;
}
