/*
 * src/job/remote-stub.c — placeholders for the rpc ends of src/job/remote.h
 *
 * temporary: replaced by endpoint-remote.c/serve.c at merge
 */
#include <errno.h>
#include "job/remote.h"
#include "util/err.h"
#include "util/banned.h"

int zf_endpoint_remote_new(const struct zf_remote_opts *opts, struct zf_endpoint **ret,
			   struct zf_err *err)
{
	(void)opts;
	(void)ret;
	return zf_err_set(err, -ENOSYS, "remote endpoints not built yet");
}

int zf_serve_conn(struct zf_rpc_conn *c, struct zf_endpoint *ep, zf_serve_allow_fn allow,
		  void *userdata, struct zf_err *err)
{
	(void)c;
	(void)ep;
	(void)allow;
	(void)userdata;
	return zf_err_set(err, -ENOSYS, "remote endpoints not built yet");
}
