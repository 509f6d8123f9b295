/* src/endpoint/open.c — an endpoint from a URL: the local pools, or a remote over ssh, tls or tcp */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "endpoint/open.h"
#include "endpoint/endpoint.h"
#include "endpoint/remote.h"
#include "transport/datachan.h"
#include "transport/transport.h"
#include "transport/url.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/strv.h"
#include "util/banned.h"

/* How to reach the remote end: what the endpoint's connect callback needs, owned. */
struct remote {
	struct zf_url url;
	char *tls_ca, *tls_cert, *tls_key, *tls_server_name, *tls_crl;
	struct zf_strv ssh_options;
	char *remote_zferry;
	int timeout_ms;
};


int zf_parse_data_channel(const char *s, char **ret_addr, const char **ret_ports,
			      struct zf_err *err)
{
	const char *p, *colon, *end;
	uint16_t first, last;
	int r;

	/* the server's own choice: a configured server listens where its config says anyway */
	if (streq(s, "auto")) {
		*ret_addr = zf_xstrdup("0.0.0.0");
		*ret_ports = "0";
		return 0;
	}
	if (strncmp(s, "tcp://", 6) != 0)
		return zf_err_set(err, -EINVAL, "'%s' is not tcp://ADDR:PORT", s);
	p = s + 6;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end || end[1] != ':')
			return zf_err_set(err, -EINVAL, "'%s': want tcp://[IPV6]:PORT", s);
		colon = end + 1;
		p++;
	} else {
		colon = strrchr(p, ':');
		if (!colon)
			return zf_err_set(err, -EINVAL, "'%s' has no :PORT", s);
		end = colon;
		if (memchr(p, ':', (size_t)(colon - p)))
			return zf_err_set(err, -EINVAL, "'%s': put an IPv6 address in brackets", s);
	}
	if (end == p)
		return zf_err_set(err, -EINVAL, "'%s' has no address", s);
	r = zf_datachan_ports_parse(colon + 1, &first, &last, err);
	if (r < 0)
		return r;
	*ret_addr = zf_xstrndup(p, (size_t)(end - p));
	*ret_ports = colon + 1;
	return 0;
}

int zf_check_tls_server_name(const char *s, struct zf_err *err)
{
	if (!*s)
		return zf_err_set(err, -EINVAL, "empty name");
	if (s[0] == '-')
		return zf_err_set(err, -EINVAL, "'%s' starts with '-'", s);
	if (strlen(s) > 253)
		return zf_err_set(err, -EINVAL, "longer than 253 bytes");
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '/')
			return zf_err_set(err, -EINVAL, "'%s' is not a host name or address", s);
	return 0;
}

static void remote_free(void *userdata)
{
	struct remote *r = userdata;

	zf_url_release(&r->url);
	free(r->tls_ca);
	free(r->tls_cert);
	free(r->tls_key);
	free(r->tls_server_name);
	free(r->tls_crl);
	zf_strv_release(&r->ssh_options);
	free(r->remote_zferry);
	free(r);
}

static char *xstrdup_null(const char *s)
{
	return s ? zf_xstrdup(s) : NULL;
}

static int remote_connect(void *userdata, struct zf_transport **ret, struct zf_err *err)
{
	struct remote *rm = userdata;
	struct zf_transport *t = NULL;
	int r;

	if (rm->url.kind == ZF_URL_SSH) {
		const struct zf_ssh_opts o = {
			.host = rm->url.host,
			.user = rm->url.user,
			.port = rm->url.port,
			.options = (const char *const *)rm->ssh_options.v,
			.n_options = rm->ssh_options.n,
			.remote_zferry = rm->remote_zferry,
			.timeout_ms = rm->timeout_ms,
		};
		return zf_ssh_connect(&o, ret, err);
	}
	r = zf_tcp_connect(rm->url.host, rm->url.port, rm->timeout_ms, &t, err);
	if (r < 0)
		return r;
	(void)zf_transport_set_keepalive(t, 60, 10, 6, NULL);
	if (rm->url.kind == ZF_URL_TLS) {
		const struct zf_tls_opts o = {
			.ca_file = rm->tls_ca,
			.cert_file = rm->tls_cert,
			.key_file = rm->tls_key,
			.crl_file = rm->tls_crl,
			/* the host dialled, unless the user names the one the certificate is for */
			.server_name = rm->tls_server_name ? rm->tls_server_name : rm->url.host,
			.timeout_ms = rm->timeout_ms,
		};
		return zf_tls_client(t, &o, ret, err);
	}
	*ret = t;
	return 0;
}

/* The endpoint for one end: the local pools, or a zferry serve reached through url. */
int zf_endpoint_open(struct zf_url *url, const struct zf_remote_args *a,
			 struct zf_endpoint **ret, struct zf_err *err)
{
	_cleanup_free_ char *name = NULL;
	struct zf_remote_opts o = { .connect = remote_connect, .userdata_free = remote_free,
				    .timeout_ms = a->timeout_ms, .data_addr = a->data_addr,
				    .data_ports = a->data_ports, .data_encrypt = a->data_encrypt };
	struct remote *rm;
	int r;

	if (url->kind == ZF_URL_LOCAL) {
		*ret = zf_endpoint_local_new();
		return 0;
	}
	rm = zf_xcalloc(1, sizeof(*rm));
	rm->url = *url;
	*url = (struct zf_url)ZF_URL_INIT;
	rm->tls_ca = xstrdup_null(a->tls_ca);
	rm->tls_cert = xstrdup_null(a->tls_cert);
	rm->tls_key = xstrdup_null(a->tls_key);
	rm->tls_server_name = xstrdup_null(a->tls_server_name);
	rm->tls_crl = xstrdup_null(a->tls_crl);
	if (a->ssh_options->n)
		zf_strv_addn(&rm->ssh_options, (const char *const *)a->ssh_options->v,
			     a->ssh_options->n);
	rm->remote_zferry = xstrdup_null(a->remote_zferry);
	rm->timeout_ms = a->timeout_ms;
	name = zf_url_origin(&rm->url);
	o.userdata = rm;
	o.name = name;
	r = zf_endpoint_remote_new(&o, ret, err);
	if (r < 0)
		remote_free(rm);
	return r;
}

