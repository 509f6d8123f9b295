/* src/server/grants.h — the server's access check: which identity may touch which filesystems */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "util/macro.h"

struct zf_config;
struct zf_err;
struct zf_msg;
struct zf_rpc_conn;
struct zf_rpc_req_info;

/*
 * The server's side of the handshake, and the first access check: an
 * identity (the one c's transport established) that cfg does not list is
 * refused at the greeting, before any request is read.  It gets ERROR
 * DENIED "identity 'X' is not in the config 'FILE'" in place of our HELLO,
 * and this returns -EACCES with that message (and only then -EACCES); any
 * other identity gets the usual HELLO exchange (zf_rpc_handshake()), our
 * HELLO naming it as its config entry does.  cfg NULL lets everyone in
 * (`serve --stdio` without -c).
 */
_must_check_ int zf_serve_greet(struct zf_rpc_conn *c, const struct zf_config *cfg,
				struct zf_err *err);

/*
 * The zf_serve_allow_fn of src/endpoint/remote.h (guarantee 5); userdata is the
 * parsed struct zf_config.  It reads only the request table row and the
 * names the request carries: every value of the row's subject tag and of
 * FS, SNAPSHOT, BOOKMARK, FROM and TO (RENAME's target, SEND's base).
 *
 * A name is inside a grant when its filesystem part (before '@' or '#')
 * equals the granted path or lies below it on a '/' boundary.  A write
 * grant allows every request; a read grant the rows flagged
 * ZF_RPC_SOURCE_OK (what a replication source runs on itself).  When a
 * name lies inside or above an append-only grant P, the request is
 * narrowed to adding: rows flagged ZF_RPC_APPEND_REFUSED and a RECV with
 * FORCE are refused, and owned_tag values must be the client's own as
 * under a read grant; that refusal is -EACCES "identity 'X' may only
 * append to 'P': ... refused".  Other refusals
 * are -EACCES "identity 'X' has no read|write grant for 'NAME'", the same
 * whether or not NAME exists; a name zfs would reject is -ZF_E_BADNAME; an
 * identity the config does not list is refused everything.
 */
_must_check_ int zf_serve_allow(void *userdata, const char *identity,
				const struct zf_rpc_req_info *info, const struct zf_msg *msg,
				struct zf_err *err);

struct zf_recv_policy;
/*
 * The zf_serve_recv_scope_fn of src/endpoint/remote.h: the identity's receive
 * policy from the config (serve.receive, then its own receive: keys), and
 * its grants as the subtrees a clone's origin may come from.  An identity
 * the config does not list gets the built-in policy and no subtree (its
 * requests are refused anyway).
 */
void zf_serve_recv_scope(void *userdata, const char *identity, struct zf_recv_policy *ret_policy,
			 const char *const **ret_origin_roots);

/*
 * The zf_rpc_error_filter_fn a server puts on each connection (userdata is
 * the config): an error message that names a dataset outside the
 * identity's grants — a quoted or unquoted name with '/', '@' or '#', or
 * a quoted pool name — becomes DENIED "... (withheld ...)", so zfs's own
 * words cannot tell a client what exists outside its grants.  Names the
 * request itself carries (request may be NULL) are the client's own and
 * stay.  Returns whether it withheld (for the caller's log, which keeps
 * the original).
 */
bool zf_serve_redact(void *userdata, const char *identity, const struct zf_msg *request,
		     int *code, char *msg, size_t size);
