/*
 * src/cli/cmd-serve.c — zferry serve: the far end of a remote replication
 *
 * The command line and the config; serving itself is server/listen.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "config/config.h"
#include "endpoint/endpoint.h"
#include "server/listen.h"
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/strv.h"
#include "util/banned.h"

/*
 * --identity NAME: the ssh key's identity, "ssh:NAME" to the grants (an
 * "ssh:" given is not doubled).  Refused: empty, control characters, and
 * "tls:" or "tcp:", which would claim another transport's identity.
 */
static int ssh_identity(const char *s, char *buf, size_t size, struct zf_err *err)
{
	const char *name = startswith(s, "ssh:") ? s + 4 : s;

	if (!*name)
		return zf_err_set(err, -EINVAL, "--identity is empty");
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return zf_err_set(err, -EINVAL, "--identity contains a control character");
	if (startswith(name, "tls:") || startswith(name, "tcp:"))
		return zf_err_set(err, -EINVAL, "--identity '%s' would pass for a %.3s identity",
				  name, name);
	if ((size_t)snprintf(buf, size, "ssh:%s", name) >= size)
		return zf_err_set(err, -EINVAL, "--identity is longer than %zu bytes", size - 5);
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stdio", no_argument, NULL, 's' },
		{ "identity", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "debug-null-endpoint", no_argument, NULL, 'N' },     /* zferry-bench only */
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(zf_config_freep) struct zf_config *cfg = NULL;
	_cleanup_strv_ struct zf_strv listen = ZF_STRV_INIT;
	struct zf_listen_addr addrs[ZF_SERVER_MAX_LISTENERS] = {};
	struct zf_server_opts o = { .endpoint_new = zf_endpoint_local_new };
	struct zf_err err = ZF_ERR_INIT;
	const char *identity = NULL, *config = NULL;
	char ssh_id[ZF_TRANSPORT_MAX_PEER];
	bool stdio = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) >= 0) {
		switch (c) {
		case 's': stdio = true; break;
		case 'i': identity = optarg; break;
		case 'c': config = optarg; break;
		case 'l': zf_strv_add(&listen, optarg); break;
		case 'N':
			if (!zf_cli_extra.null_endpoint)
				return zf_usage_error("serve", "unknown option '%s'", argv[optind - 1]);
			o.endpoint_new = zf_cli_extra.null_endpoint;
			break;
		case 'h': return zf_cmd_help("serve", stdout, ZF_EXIT_OK);
		default:
			return zf_usage_error("serve", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return zf_usage_error("serve", "unexpected argument '%s'", argv[optind]);
	if (stdio == !!listen.n)
		return zf_usage_error("serve", "give either --stdio or --listen");
	if (identity && !config)
		return zf_usage_error("serve", "--identity needs -c: grants come from the config");
	if (identity && ssh_identity(identity, ssh_id, sizeof(ssh_id), &err) < 0)
		return zf_usage_error("serve", "%s", zf_err_msg(&err));
	if (listen.n && identity)
		return zf_usage_error("serve", "--identity is for --stdio; listeners take the "
				      "identity from the transport");
	if (listen.n && !config)
		return zf_usage_error("serve", "--listen needs -c FILE (certificates, grants)");
	if (config && !identity && stdio)
		return zf_usage_error("serve", "--stdio with -c needs --identity NAME");
	if (config && zf_config_load(config, &cfg, &err) < 0) {
		fprintf(stderr, "zferry serve: %s\n", err.msg);
		return err.code == -ENOENT || err.code == -EACCES ? ZF_EXIT_FAIL : ZF_EXIT_USAGE;
	}
	o.cfg = cfg;
	if (stdio)
		return zf_server_stdio(&o, identity ? ssh_id : "ssh");
	if (listen.n > ZF_SERVER_MAX_LISTENERS)
		return zf_usage_error("serve", "at most %d --listen", ZF_SERVER_MAX_LISTENERS);
	for (size_t i = 0; i < listen.n; i++)
		if (zf_server_parse_listen(listen.v[i], &addrs[i], &err) < 0) {
			r = zf_usage_error("serve", "%s", err.msg);
			goto out;
		}
	r = zf_server_listen(&o, addrs, listen.n);
out:
	for (size_t i = 0; i < listen.n; i++)
		zf_listen_addr_release(&addrs[i]);
	return r;
}
