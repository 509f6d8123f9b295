/* src/endpoint/open.h — an endpoint from a URL: the local pools, or a remote over ssh, tls or tcp */
#pragma once
#include <stdbool.h>

struct zf_endpoint;
struct zf_err;
struct zf_strv;
struct zf_url;

/* What the remote-end options of replicate (and debug rpc-send) say. */
struct zf_remote_args {
	const char *tls_ca, *tls_cert, *tls_key;
	const char *tls_server_name;    /* NULL: the URL's host */
	const char *tls_crl;            /* NULL: no revocation check */
	struct zf_strv *ssh_options;
	const char *remote_zferry;
	int timeout_ms;
	const char *data_addr, *data_ports;     /* --data-channel, split */
	bool data_encrypt;
};

/*
 * --data-channel tcp://ADDR:PORT: ADDR an address or name ([v6] in
 * brackets), PORT a port, FIRST-LAST or 0.  *ret_addr is allocated.
 */
int zf_parse_data_channel(const char *s, char **ret_addr, const char **ret_ports,
			      struct zf_err *err);

/*
 * --tls-server-name NAME: a DNS name or an address ([v6] allowed), not
 * empty, no blanks or control characters, no leading '-'.
 */
int zf_check_tls_server_name(const char *s, struct zf_err *err);

/*
 * The endpoint for one end: the local pools for a local URL, else a remote
 * endpoint that connects with ssh, tls or tcp as url and a say.  Takes url's
 * contents (it is reset) when remote.
 */
int zf_endpoint_open(struct zf_url *url, const struct zf_remote_args *a,
			 struct zf_endpoint **ret, struct zf_err *err);
