/*
 * src/server/grants.c — per-identity grants, checked before any request runs
 *
 * The one access check of the server (guarantee 5).  It never asks zfs
 * whether a name exists: the answer for a name outside the grants is the
 * same DENIED either way, so a client cannot probe the server's pools.
 * Names are checked against OpenZFS's rules first, so "tank/home/../x"
 * or "-R" never pass as lying "below" a grant.
 *
 * An append-only grant (config `append:`) is a write grant narrowed to
 * adding: receive new snapshots and filesystems and resume them, never
 * destroy, roll back, rename, overwrite or change what exists there
 * (docs/serve.md, "Append-only grants").  It is decided here from the
 * request alone, like everything else.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "config/config.h"
#include "server/grants.h"
#include "log/log.h"
#include "rpc/conn.h"
#include "rpc/msg.h"
#include "util/err.h"
#include "zfs/recv-policy.h"
#include "zfs/zfs.h"
#include "util/banned.h"

/* Is the filesystem part of name (before '@' or '#') at or below path? */
static bool inside(const char *path, const char *name)
{
	size_t plen = strlen(path), flen = strcspn(name, "@#");

	if (flen < plen || strncmp(name, path, plen) != 0)
		return false;
	return flen == plen || name[plen] == '/';
}

static bool in_any(const struct zf_strv *grants, const char *name)
{
	for (size_t i = 0; i < grants->n; i++)
		if (inside(grants->v[i], name))
			return true;
	return false;
}

/* 0 if name is inside a grant for the request, setting *ret_read_only when only a read one. */
static int check_name(const struct zf_config_client *cl, const char *identity, bool source_ok,
		      const char *name, bool *ret_read_only, struct zf_err *err)
{
	int r = zf_zfs_name_check(name, ZF_ZFS_NAME_ANY, err);

	if (r < 0)
		return r;
	if (in_any(&cl->write, name))
		return 0;
	if (source_ok && in_any(&cl->read, name)) {
		*ret_read_only = true;
		return 0;
	}
	/* a read-only request needs either grant: say so, a push lists its target too */
	return zf_err_set(err, -EACCES, "identity '%s' has no %s grant for '%s'", identity,
			  source_ok ? "read or write" : "write", name);
}

/*
 * The append-only grant that protects name, or NULL: one it lies inside,
 * or one below it, since renaming or overwriting a parent would move or
 * replace what is below (on '/' boundaries, as inside()).
 */
static const char *append_grant(const struct zf_config_client *cl, const char *name)
{
	char fs[ZF_MSG_MAX_STR + 1];
	size_t flen = MIN(strcspn(name, "@#"), sizeof(fs) - 1);

	memcpy(fs, name, flen);
	fs[flen] = '\0';
	for (size_t i = 0; i < cl->append.n; i++)
		if (inside(cl->append.v[i], name) || inside(fs, cl->append.v[i]))
			return cl->append.v[i];
	return NULL;
}

/*
 * Under a read grant, and under an append-only one (append names it), a
 * client creates and removes only what is its own: each value of the
 * row's owned_tag (short name after '@' or '#', or the hold tag) is
 * PREFIX + namespace, or starts with PREFIX + namespace + '_'.
 */
static int check_owned(const struct zf_config_client *cl, const char *identity,
		       const struct zf_rpc_req_info *info, const struct zf_msg *msg,
		       const char *append, struct zf_err *err)
{
	char ns[ZF_ZFS_NAMESPACE_MAX], own[ZF_ZFS_NAMESPACE_MAX + 32];
	size_t n;

	zf_zfs_namespace(cl->identity, ns);
	n = (size_t)snprintf(own, sizeof(own), "%s%s", info->owned_prefix, ns);
	for (size_t i = 0; i < msg->n; i++) {
		const struct zf_msg_field *f = &msg->fields[i];
		const char *v, *cut;
		char value[ZF_MSG_MAX_STR + 1];

		if (f->tag != info->owned_tag || f->type != ZF_MSG_STR)
			continue;
		memcpy(value, f->p, f->len);
		value[f->len] = '\0';
		cut = info->owned_tag == ZF_TAG_HOLD_TAG ? NULL : strpbrk(value, "@#");
		v = cut ? cut + 1 : value;
		if (strncmp(v, own, n) == 0 && (v[n] == '\0' || v[n] == '_'))
			continue;
		if (append)
			return zf_err_set(err, -EACCES, "identity '%s' may only append to '%s': %s "
					  "of '%s' refused (only names of its own, '%s_...')",
					  identity, append, info->name, v, own);
		return zf_err_set(err, -EACCES, "identity '%s' may %s under its read grant only "
				  "names of its own ('%s_...'), not '%s'", identity, info->name, own,
				  v);
	}
	return 0;
}

/*
 * A request on a name an append-only grant protects: the rows flagged
 * ZF_RPC_APPEND_REFUSED never; RECV only without FORCE (zfs recv -F rolls
 * back, destroying newer snapshots, and overwrites a filesystem with a
 * full stream; without it zfs refuses both); what a source does to
 * itself only in its own namespace, as under a read grant.  A partial
 * receive may be aborted: zfs recv -A destroys only state that no
 * snapshot was ever committed from.
 */
static int check_append(const struct zf_config_client *cl, const char *identity,
			const struct zf_rpc_req_info *info, const struct zf_msg *msg,
			const char *append, struct zf_err *err)
{
	struct zf_err e2 = ZF_ERR_INIT;
	bool force = false;

	if (info->flags & ZF_RPC_APPEND_REFUSED)
		return zf_err_set(err, -EACCES, "identity '%s' may only append to '%s': %s "
				  "refused", identity, append, info->name);
	/* a malformed FORCE is refused here too, not left to the decoder */
	if (info->kind == ZF_RPC_RECV &&
	    (zf_msg_get_flag(msg, ZF_TAG_FORCE, &force, &e2) < 0 || force))
		return zf_err_set(err, -EACCES, "identity '%s' may only append to '%s': %s "
				  "with FORCE (a rollback or overwrite) refused", identity, append,
				  info->name);
	if (info->owned_tag)
		return check_owned(cl, identity, info, msg, append, err);
	return 0;
}

int zf_serve_allow(void *userdata, const char *identity, const struct zf_rpc_req_info *info,
		   const struct zf_msg *msg, struct zf_err *err)
{
	static const uint16_t name_tags[] = { ZF_TAG_FS, ZF_TAG_SNAPSHOT, ZF_TAG_BOOKMARK,
					      ZF_TAG_FROM, ZF_TAG_TO };
	const struct zf_config *cfg = userdata;
	const struct zf_config_client *cl;
	struct zf_err e2 = ZF_ERR_INIT;
	const char *append = NULL;
	char *token = NULL;
	bool source_ok, read_only = false;
	size_t subjects = 0;

	if (!info)
		return zf_err_set(err, -EOPNOTSUPP, "unknown request kind %u", msg->kind);
	cl = cfg ? zf_config_find_client(cfg, identity) : NULL;
	if (!cl)
		return zf_err_set(err, -EACCES, "identity '%s' has no grants", identity);
	source_ok = info->flags & ZF_RPC_SOURCE_OK;

	for (size_t i = 0; i < msg->n; i++) {
		const struct zf_msg_field *f = &msg->fields[i];
		char name[ZF_MSG_MAX_STR + 1];
		bool named = f->tag == info->fs_tag;
		int r;

		for (size_t t = 0; t < ELEMENTSOF(name_tags); t++)
			if (f->tag == name_tags[t])
				named = true;
		if (!named)
			continue;
		if (f->type != ZF_MSG_STR)
			return zf_err_set(err, -EBADMSG, "%s: field %u is not a string", info->name,
					  f->tag);
		memcpy(name, f->p, f->len);
		name[f->len] = '\0';
		r = check_name(cl, identity, source_ok, name, &read_only, err);
		if (r < 0)
			return r;
		if (!append)
			append = append_grant(cl, name);
		if (f->tag == info->fs_tag)
			subjects++;
	}
	/*
	 * A send by resume token names nothing: it passes here for an identity
	 * with grants, and zf_serve_conn() checks the snapshot the token names
	 * (read by the server's zfs) through this function again.
	 */
	if ((info->kind == ZF_RPC_SEND || info->kind == ZF_RPC_SEND_ESTIMATE) && !subjects &&
	    zf_msg_get_str(msg, ZF_TAG_RESUME_TOKEN, &token, &e2) >= 0) {
		free(token);
		return 0;
	}
	/* any other request that names nothing cannot be checked */
	if (info->fs_tag && !subjects)
		return zf_err_set(err, -EACCES, "identity '%s': %s names no %s to check grants on",
				  identity, info->name,
				  info->fs_tag == ZF_TAG_SNAPSHOT ? "snapshot" : "dataset");
	/* one name under an append-only grant narrows the whole request */
	if (append)
		return check_append(cl, identity, info, msg, append, err);
	if (read_only && info->owned_tag)
		return check_owned(cl, identity, info, msg, NULL, err);
	return 0;
}

void zf_serve_recv_scope(void *userdata, const char *identity, struct zf_recv_policy *ret_policy,
			 const char *const **ret_origin_roots)
{
	static const char *const nowhere[] = { NULL };
	const struct zf_config *cfg = userdata;
	const struct zf_config_client *cl = cfg ? zf_config_find_client(cfg, identity) : NULL;

	if (!cfg) {
		*ret_policy = (struct zf_recv_policy){ 0 };
		*ret_origin_roots = NULL;
		return;
	}
	zf_config_recv_policy(cfg, cl, ret_policy);
	*ret_origin_roots = cl && cl->origins.v ? (const char *const *)cl->origins.v : nowhere;
}

/* Whether a request field holds s exactly. */
static bool in_request(const struct zf_msg *request, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; request && i < request->n; i++) {
		const struct zf_msg_field *f = &request->fields[i];
		if (f->type == ZF_MSG_STR && f->len == n && memcmp(f->p, s, n) == 0)
			return true;
	}
	return false;
}

/*
 * Whether cand names a dataset the client may not learn about: a valid
 * name outside its grants that it did not send itself.  A bare word (no
 * '/', '@', '#') counts only quoted and only as a pool it has grants in.
 */
static bool names_outside(const struct zf_config_client *cl, const struct zf_msg *request,
			  const char *cand, bool quoted)
{
	if (zf_zfs_name_check(cand, ZF_ZFS_NAME_ANY, NULL) < 0 || in_request(request, cand))
		return false;
	if (!strpbrk(cand, "/@#")) {
		/* a quoted word may be a property or a tag: only a pool we grant parts of counts */
		bool pool = false;
		for (size_t i = 0; quoted && i < cl->origins.n; i++)
			if (strncmp(cl->origins.v[i], cand, strlen(cand)) == 0 &&
			    cl->origins.v[i][strlen(cand)] == '/')
				pool = true;
		if (!pool)
			return false;
	}
	return !in_any(&cl->write, cand) && !in_any(&cl->read, cand);
}

bool zf_serve_redact(void *userdata, const char *identity, const struct zf_msg *request,
		     int *code, char *msg, size_t size)
{
	const struct zf_config *cfg = userdata;
	const struct zf_config_client *cl = cfg ? zf_config_find_client(cfg, identity) : NULL;
	bool outside = false;

	if (!cl)
		return false;
	/* 'quoted' words */
	for (const char *p = strchr(msg, '\''); p && !outside; p = strchr(p + 1, '\'')) {
		const char *e = strchr(p + 1, '\'');
		char cand[ZF_MSG_MAX_STR + 1];

		if (!e)
			break;
		if ((size_t)(e - p - 1) < sizeof(cand)) {
			memcpy(cand, p + 1, (size_t)(e - p - 1));
			cand[e - p - 1] = '\0';
			outside = names_outside(cl, request, cand, true);
		}
		p = e;
	}
	/* unquoted words that look like names: "(eg. pool/fs@snap)" */
	for (const char *p = msg; *p && !outside;) {
		size_t n = strcspn(p, " \t'\"(),;");
		char cand[ZF_MSG_MAX_STR + 1];

		while (n > 0 && (p[n - 1] == ':' || p[n - 1] == '.'))
			n--;
		if (n > 0 && n < sizeof(cand)) {
			memcpy(cand, p, n);
			cand[n] = '\0';
			outside = names_outside(cl, request, cand, false);
		}
		p += strcspn(p, " \t'\"(),;");
		p += strspn(p, " \t'\"(),;");
	}
	if (!outside)
		return false;
	*code = -EACCES;
	snprintf(msg, size, "refused: the reason names a dataset outside the grants of identity "
		 "'%s' (withheld; the server's log has it)", identity);
	return true;
}

int zf_serve_greet(struct zf_rpc_conn *c, const struct zf_config *cfg, struct zf_err *err)
{
	const char *identity = zf_rpc_conn_peer(c);
	const struct zf_config_client *cl = cfg ? zf_config_find_client(cfg, identity) : NULL;
	struct zf_err e2 = ZF_ERR_INIT;
	char msg[ZF_FRAME_MAX_ERROR_MSG + 1];

	if (!cfg)
		return zf_rpc_handshake(c, true, err);
	if (cl) {
		/* tell the client the identity it is served as: its namespace here (docs/serve.md) */
		zf_rpc_conn_set_hello_identity(c, cl->identity);
		return zf_rpc_handshake(c, true, err);
	}
	/* no HELLO, so no version or feature of ours, and not one request answered */
	snprintf(msg, sizeof(msg), "identity '%s' is not in the config '%s'", identity, cfg->path);
	if (zf_rpc_refuse(c, -EACCES, msg, &e2) < 0)
		log_debug("serve: the refusal did not reach '%s': %s", identity, zf_err_msg(&e2));
	return zf_err_set(err, -EACCES, "%s", msg);
}
