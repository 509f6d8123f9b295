/*
 * src/zfs/recv-policy.c — the receiving side's decision about a receive
 *
 * Pure: the stream's head, the policy and the request go in, the -o/-x
 * lists come out.  Why each rule exists is in recv-policy.h and in
 * docs/serve.md's threat model; the unit tests (tests/unit/test-recv-policy.c)
 * try to walk past each rule by case, alias, repetition and -x.
 */
#include <errno.h>
#include <string.h>
#include "util/alloc.h"
#include "util/err.h"
#include "zfs/props.h"
#include "zfs/recv-policy.h"
#include "zfs/stream.h"
#include "util/banned.h"

const char *const zf_recv_policy_default_allow[] = {
	/* how the data is stored and cached: the dataset's own business */
	"atime", "relatime", "compression", "checksum", "recordsize", "volblocksize", "volsize",
	"dnodesize", "xattr", "acltype", "aclinherit", "aclmode", "casesensitivity",
	"normalization", "utf8only", "logbias", "sync", "primarycache", "secondarycache",
	"prefetch", "redundant_metadata", "direct", "longname", "volthreading", "snapdir",
	/* limits that only restrict the dataset itself */
	"quota", "refquota", "filesystem_limit", "snapshot_limit",
	/* a raw stream's own key parameters (keylocation is not among them) */
	"encryption", "keyformat", "pbkdf2iters",
	/* zferry's bookkeeping on its replicas */
	"zferry:*",
	NULL,
};

/* Values a peer may always ask for: they only take something away. */
static const struct {
	const char *name, *value;
} restrictive[] = {
	{ "canmount", "noauto" }, { "canmount", "off" }, { "readonly", "on" },
	{ "setuid", "off" },      { "devices", "off" },  { "exec", "off" },
	{ "sharenfs", "off" },    { "sharesmb", "off" }, { "mountpoint", "none" },
};

static const uint64_t known_features =
	ZF_ZFS_FEATURE_SA_SPILL | ZF_ZFS_FEATURE_EMBED_DATA | ZF_ZFS_FEATURE_LZ4 |
	ZF_ZFS_FEATURE_LARGE_BLOCKS | ZF_ZFS_FEATURE_RESUMING | ZF_ZFS_FEATURE_COMPRESSED |
	ZF_ZFS_FEATURE_LARGE_DNODE | ZF_ZFS_FEATURE_RAW | ZF_ZFS_FEATURE_ZSTD |
	ZF_ZFS_FEATURE_HOLDS | ZF_ZFS_FEATURE_SWITCH_TO_LARGE_BLOCKS | ZF_ZFS_FEATURE_LONGNAME |
	ZF_ZFS_FEATURE_LARGE_MICROZAP;

void zf_recv_plan_release(struct zf_recv_plan *p)
{
	zf_strv_release(&p->set);
	zf_strv_release(&p->exclude);
	*p = (struct zf_recv_plan){ 0 };
}

static bool pattern_match(const char *pat, const char *name)
{
	size_t n = strlen(pat);

	if (n > 0 && pat[n - 1] == '*')
		return strncmp(pat, name, n - 1) == 0;
	return streq(pat, name);
}

static bool list_allows(const char *const *list, const char *name)
{
	for (const char *const *a = list; a && *a; a++) {
		if (streq(*a, "default") ? list_allows(zf_recv_policy_default_allow, name)
					 : pattern_match(*a, name))
			return true;
	}
	return false;
}

bool zf_recv_policy_allows(const struct zf_recv_policy *p, const char *name)
{
	if (p && list_allows(p->deny, name))
		return false;
	return list_allows(p && p->allow ? p->allow : zf_recv_policy_default_allow, name);
}

static bool is_restrictive(const char *name, const char *value)
{
	for (size_t i = 0; i < ELEMENTSOF(restrictive); i++)
		if (streq(restrictive[i].name, name) && streq(restrictive[i].value, value))
			return true;
	return false;
}

/* The canonical name of name, and whether it applies to kind; origin is its own case. */
static int canonical(const char *name, unsigned kind, const char **ret, bool *ret_applies,
		     unsigned *ret_flags, struct zf_err *err)
{
	const struct zf_zfs_prop_info *info;
	int r = zf_zfs_prop_lookup(name, &info, err);

	if (r < 0)
		return r;
	*ret = info ? info->name : name;
	*ret_applies = !info || (info->flags & kind);
	*ret_flags = info ? info->flags : 0;
	return 0;
}

/* Splits "name=value" into a canonical name and the value. */
static int split(const char *a, unsigned kind, char **ret_name, const char **ret_value,
		 bool *ret_applies, unsigned *ret_flags, struct zf_err *err)
{
	const char *eq = strchr(a, '=');
	_cleanup_free_ char *raw = NULL;
	const char *canon;
	int r;

	if (!eq || eq == a)
		return zf_err_set(err, -EINVAL, "'%s' is not name=value", a);
	if (strpbrk(eq + 1, "\n\r"))
		return zf_err_set(err, -EINVAL, "value of '%.*s' holds a line break", (int)(eq - a),
				  a);
	raw = zf_xstrndup(a, (size_t)(eq - a));
	if (streq(raw, "origin")) {
		*ret_name = TAKE_PTR(raw);
		*ret_value = eq + 1;
		*ret_applies = true;
		*ret_flags = 0;
		return 0;
	}
	if ((r = canonical(raw, kind, &canon, ret_applies, ret_flags, err)) < 0)
		return r;
	*ret_name = zf_xstrdup(canon);
	*ret_value = eq + 1;
	return 0;
}

/* The assignment for name in set, or NULL. */
static const char *find_set(const struct zf_strv *set, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < set->n; i++)
		if (strncmp(set->v[i], name, n) == 0 && set->v[i][n] == '=')
			return set->v[i] + n + 1;
	return NULL;
}

static int check_stream(const struct zf_zfs_stream_head *h, struct zf_err *err)
{
	uint64_t f = h->features;

	if (h->compound && h->recursive)
		/* no name: the sender's own would read as one outside a client's grants */
		return zf_err_set(err, -EPERM, "replication stream (zfs send -R) refused: it can "
				  "create, change and destroy a whole tree; send each filesystem "
				  "on its own");
	if (f & (ZF_ZFS_FEATURE_DEDUP | ZF_ZFS_FEATURE_DEDUPPROPS))
		return zf_err_set(err, -EPERM, "deduplicated send stream refused");
	if (f & ZF_ZFS_FEATURE_REDACTED)
		return zf_err_set(err, -EPERM, "redacted send stream refused");
	if (f & ~known_features)
		return zf_err_set(err, -EPERM, "send stream with unknown features 0x%llx refused",
				  (unsigned long long)(f & ~known_features));
	if (h->n_fss > 1)
		return zf_err_set(err, -EPERM, "send stream describes %zu filesystems, want one",
				  h->n_fss);
	if (h->has_parentfromsnap)
		return zf_err_set(err, -EPERM, "send stream names a parent snapshot to be found "
				  "by guid: refused");
	/*
	 * zfs send -p names a clone's origin in the header of every stream
	 * of it, incrementals from its own snapshots too; zfs recv reads it
	 * only for -R (promotions), refused above.  What makes a clone is the
	 * BEGIN's clone flag and fromguid: a header that names another
	 * origin than that is forged.
	 */
	if (h->has_origin && (h->flags & ZF_ZFS_DRR_CLONE) && h->origin != h->fromguid)
		return zf_err_set(err, -EPERM, "send stream names an origin that its clone "
				  "record does not");
	return 0;
}

/* The value the policy forces for name (canonical), or NULL. */
static const char *forced_value(const struct zf_recv_policy *p, const char *name)
{
	size_t n = strlen(name);

	for (const char *const *a = p ? p->force : NULL; a && *a; a++) {
		const char *eq = strchr(*a, '=');
		const struct zf_zfs_prop_info *info;
		_cleanup_free_ char *raw = NULL;

		if (!eq)
			continue;
		raw = zf_xstrndup(*a, (size_t)(eq - *a));
		if (zf_zfs_prop_lookup(raw, &info, NULL) < 0)
			continue;
		if (info ? streq(info->name, name) : (strlen(raw) == n && streq(raw, name)))
			return eq + 1;
	}
	return NULL;
}

/* A peer's -o: the value forced anyway, allowed, or one that only restricts. */
static int peer_may_set(const struct zf_recv_policy *p, const char *name, const char *value,
			struct zf_err *err)
{
	const char *forced = forced_value(p, name);

	if (forced && !streq(forced, value))
		return zf_err_set(err, -EPERM, "property '%s=%s' conflicts with this host's "
				  "receive policy, which sets %s=%s", name, value, name, forced);
	if (forced)
		return 0;
	if (streq(name, "origin"))
		return zf_err_set(err, -EPERM, "property 'origin' refused by this host's receive "
				  "policy: the receiving side finds a clone's origin itself");
	if (zf_recv_policy_allows(p, name) || is_restrictive(name, value))
		return 0;
	return zf_err_set(err, -EPERM, "property '%s=%s' is not allowed by this host's receive "
			  "policy", name, value);
}

static int add_requested(const struct zf_recv_policy *p, const struct zf_recv_request *rq,
			 unsigned kind, struct zf_strv *seen, struct zf_recv_plan *ret,
			 struct zf_err *err)
{
	int r;

	for (const char *const *a = rq->set; a && *a; a++) {
		_cleanup_free_ char *name = NULL;
		const char *value;
		unsigned flags;
		bool applies;

		if ((r = split(*a, kind, &name, &value, &applies, &flags, err)) < 0)
			return r;
		if (zf_strv_contains(seen, name))
			return zf_err_set(err, -EINVAL, "property '%s' given twice", name);
		zf_strv_add(seen, name);
		if (!rq->trusted && (r = peer_may_set(p, name, value, err)) < 0)
			return r;
		if (!applies)
			continue;       /* canmount on a volume: zfs would refuse the receive */
		if (streq(name, "origin"))
			ret->clone = false;     /* the user named the origin */
		zf_strv_addf(&ret->set, "%s=%s", name, value);
	}
	for (const char *const *x = rq->exclude; x && *x; x++) {
		const char *name;
		unsigned flags;
		bool applies;

		if ((r = canonical(*x, kind, &name, &applies, &flags, err)) < 0)
			return r;
		if (zf_strv_contains(seen, name))
			return zf_err_set(err, -EINVAL, "property '%s' given twice", name);
		zf_strv_add(seen, name);
		/* excluding moves a value to what the receiving side's parent has: allowed */
		if (applies)
			zf_strv_add(&ret->exclude, name);
	}
	return 0;
}

/* Forced values, and canmount=noauto unless the policy mounts. */
static int add_forced(const struct zf_recv_policy *p, unsigned kind, struct zf_recv_plan *ret,
		      struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv forced = ZF_STRV_INIT;
	int r;

	for (const char *const *a = p ? p->force : NULL; a && *a; a++)
		zf_strv_add(&forced, *a);
	if (kind == ZF_ZFS_PROP_FS && !(p && p->mount) && !find_set(&ret->set, "canmount"))
		zf_strv_add(&forced, "canmount=noauto");
	for (size_t i = 0; i < forced.n; i++) {
		_cleanup_free_ char *name = NULL;
		const char *value;
		unsigned flags;
		bool applies;

		if ((r = split(forced.v[i], kind, &name, &value, &applies, &flags, err)) < 0)
			return r;
		if (!applies)
			continue;
		/* asked for: a peer asked for this very value (peer_may_set), the user wins */
		if (find_set(&ret->set, name))
			continue;
		(void)zf_strv_remove(&ret->exclude, name);
		zf_strv_addf(&ret->set, "%s=%s", name, value);
	}
	return 0;
}

/* Properties inside a -p stream: kept when allowed, else excluded. */
static int add_stream_props(const struct zf_recv_policy *p, const struct zf_zfs_stream_head *h,
			    unsigned kind, struct zf_recv_plan *ret, struct zf_err *err)
{
	bool raw = h->features & ZF_ZFS_FEATURE_RAW;
	int r;

	for (size_t i = 0; i < h->props.n; i++) {
		const char *name;
		unsigned flags;
		bool applies;

		if ((r = canonical(h->props.v[i], kind, &name, &applies, &flags, err)) < 0)
			return zf_err_set(err, -EPERM, "send stream carries property '%s', which "
					  "this host does not know: refused", h->props.v[i]);
		if (find_set(&ret->set, name) || zf_strv_contains(&ret->exclude, name) ||
		    zf_recv_policy_allows(p, name))
			continue;
		if (raw && (flags & ZF_ZFS_PROP_KEY)) {
			/* zfs cannot exclude a raw stream's key parameters: undo it after */
			if (streq(name, "keylocation"))
				ret->reset_keylocation = true;
			continue;
		}
		if (applies)
			zf_strv_add(&ret->exclude, name);
	}
	for (size_t i = 0; i < h->snapprops.n; i++)
		if (!zf_recv_policy_allows(p, h->snapprops.v[i]))
			return zf_err_set(err, -EPERM, "send stream sets property '%s' on its "
					  "snapshots, which this host's receive policy does not "
					  "allow", h->snapprops.v[i]);
	return 0;
}

int zf_recv_policy_decide(const struct zf_recv_policy *p, const struct zf_zfs_stream_head *h,
			  const struct zf_recv_request *rq, struct zf_recv_plan *ret,
			  struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv seen = ZF_STRV_INIT;
	struct zf_recv_plan plan = { 0 };
	unsigned kind = h->kind == ZF_ZFS_STREAM_VOLUME ? ZF_ZFS_PROP_VOL : ZF_ZFS_PROP_FS;
	int r;

	if ((r = check_stream(h, err)) < 0)
		return r;
	plan.clone = h->flags & ZF_ZFS_DRR_CLONE;
	plan.origin_guid = h->fromguid;
	plan.mount = p && p->mount;
	r = add_requested(p, rq, kind, &seen, &plan, err);
	if (r >= 0)
		r = add_forced(p, kind, &plan, err);
	if (r >= 0)
		r = add_stream_props(p, h, kind, &plan, err);
	if (r < 0) {
		zf_recv_plan_release(&plan);
		return r;
	}
	*ret = plan;
	return 0;
}

int zf_recv_policy_create(const struct zf_recv_policy *p, const char *const *assignments,
			  bool trusted, struct zf_strv *ret, struct zf_err *err)
{
	/* a new filesystem is a receive of nothing: the same rules, no stream */
	struct zf_zfs_stream_head h = { .kind = ZF_ZFS_STREAM_FILESYSTEM };
	struct zf_recv_request rq = { assignments, NULL, trusted };
	struct zf_recv_plan plan;
	int r = zf_recv_policy_decide(p, &h, &rq, &plan, err);

	if (r < 0)
		return r;
	*ret = plan.set;
	plan.set = (struct zf_strv)ZF_STRV_INIT;
	zf_recv_plan_release(&plan);
	return 0;
}

int zf_recv_policy_check_inherit(const struct zf_recv_policy *p, const char *name, bool trusted,
				 struct zf_err *err)
{
	const char *canon;
	unsigned flags;
	bool applies;
	int r;

	if ((r = canonical(name, ZF_ZFS_PROP_FS, &canon, &applies, &flags, err)) < 0)
		return r;
	if (trusted || zf_recv_policy_allows(p, canon))
		return 0;
	return zf_err_set(err, -EPERM, "inheriting '%s' is not allowed by this host's receive "
			  "policy", canon);
}

static int validate_patterns(const char *what, const char *const *list, struct zf_err *err)
{
	const struct zf_zfs_prop_info *info;
	int r;

	for (const char *const *a = list; a && *a; a++) {
		size_t n = strlen(*a);
		_cleanup_free_ char *base = NULL;

		if (streq(*a, "default") || streq(*a, "*"))
			continue;
		if (n > 1 && (*a)[n - 1] == '*') {
			/* a prefix: a user property namespace, "com.example:*" */
			base = zf_xstrndup(*a, n - 1);
			if (!strchr(base, ':') || !zf_zfs_prop_is_user(base))
				return zf_err_set(err, -EINVAL, "%s pattern '%s': only user "
						  "property prefixes such as 'com.example:*' may end "
						  "in '*'", what, *a);
			continue;
		}
		if ((r = zf_zfs_prop_lookup(*a, &info, err)) < 0)
			return zf_err_prefix(err, "%s", what);
		if (info && !streq(info->name, *a))
			return zf_err_set(err, -EINVAL, "%s: write '%s' as '%s'", what, *a,
					  info->name);
	}
	return 0;
}

int zf_recv_policy_validate(const struct zf_recv_policy *p, struct zf_err *err)
{
	int r;

	if ((r = validate_patterns("allow", p->allow, err)) < 0 ||
	    (r = validate_patterns("deny", p->deny, err)) < 0)
		return r;
	for (const char *const *a = p->force; a && *a; a++) {
		_cleanup_free_ char *name = NULL;
		const char *value;
		unsigned flags;
		bool applies;

		if ((r = split(*a, ZF_ZFS_PROP_FS | ZF_ZFS_PROP_VOL, &name, &value, &applies, &flags,
			       err)) < 0)
			return zf_err_prefix(err, "force");
		if (streq(name, "origin"))
			return zf_err_set(err, -EINVAL, "force: 'origin' cannot be forced");
	}
	return 0;
}
