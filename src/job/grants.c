/*
 * src/job/grants.c — per-identity grants, checked before any request runs
 *
 * The one access check of the server (guarantee 5).  It never asks zfs
 * whether a name exists: the answer for a name outside the grants is the
 * same DENIED either way, so a client cannot probe the server's pools.
 * Names are checked against OpenZFS's rules first, so "tank/home/../x"
 * or "-R" never pass as lying "below" a grant.
 */
#include <errno.h>
#include <string.h>
#include "job/config.h"
#include "job/grants.h"
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

static int check_name(const struct zf_config_client *cl, const char *identity, bool source_ok,
		      const char *name, struct zf_err *err)
{
	int r = zf_zfs_name_check(name, ZF_ZFS_NAME_ANY, err);

	if (r < 0)
		return r;
	if (in_any(&cl->write, name) || (source_ok && in_any(&cl->read, name)))
		return 0;
	/* a read-only request needs either grant: say so, a push lists its target too */
	return zf_err_set(err, -EACCES, "identity '%s' has no %s grant for '%s'", identity,
			  source_ok ? "read or write" : "write", name);
}

int zf_serve_allow(void *userdata, const char *identity, const struct zf_rpc_req_info *info,
		   const struct zf_msg *msg, struct zf_err *err)
{
	static const uint16_t name_tags[] = { ZF_TAG_FS, ZF_TAG_SNAPSHOT, ZF_TAG_BOOKMARK,
					      ZF_TAG_FROM, ZF_TAG_TO };
	const struct zf_config *cfg = userdata;
	const struct zf_config_client *cl;
	struct zf_err e2 = ZF_ERR_INIT;
	char *token = NULL;
	bool source_ok;
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
		r = check_name(cl, identity, source_ok, name, err);
		if (r < 0)
			return r;
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
