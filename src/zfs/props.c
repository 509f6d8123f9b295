/* src/zfs/props.c — the table of settable OpenZFS 2.3 properties (module/zcommon/zfs_prop.c) */
#include <errno.h>
#include <string.h>
#include "util/err.h"
#include "zfs/props.h"
#include "util/banned.h"

#define FS ZF_ZFS_PROP_FS
#define VOL ZF_ZFS_PROP_VOL
#define KEY ZF_ZFS_PROP_KEY
#define ONCE ZF_ZFS_PROP_ONETIME

static const struct zf_zfs_prop_info props[] = {
	{ "aclinherit", NULL, FS },
	{ "aclmode", NULL, FS },
	{ "acltype", NULL, FS },
	{ "atime", NULL, FS },
	{ "canmount", NULL, FS },
	{ "casesensitivity", "case", FS | ONCE },
	{ "checksum", NULL, FS | VOL },
	{ "compression", "compress", FS | VOL },
	{ "context", NULL, FS | VOL },
	{ "copies", NULL, FS | VOL },
	{ "dedup", NULL, FS | VOL },
	{ "defcontext", NULL, FS | VOL },
	{ "devices", NULL, FS },
	{ "direct", NULL, FS },
	{ "dnodesize", "dnsize", FS },
	{ "encryption", NULL, FS | VOL | KEY | ONCE },
	{ "exec", NULL, FS },
	{ "filesystem_limit", "fslimit", FS },
	{ "fscontext", NULL, FS | VOL },
	{ "keyformat", NULL, FS | VOL | KEY | ONCE },
	{ "keylocation", NULL, FS | VOL | KEY },
	{ "logbias", NULL, FS | VOL },
	{ "longname", NULL, FS },
	{ "mlslabel", NULL, FS | VOL },
	{ "mountpoint", NULL, FS },
	{ "nbmand", NULL, FS },
	{ "normalization", NULL, FS | ONCE },
	{ "overlay", NULL, FS },
	{ "pbkdf2iters", NULL, FS | VOL | KEY | ONCE },
	{ "prefetch", NULL, FS | VOL },
	{ "primarycache", NULL, FS | VOL },
	{ "quota", NULL, FS },
	{ "readonly", "rdonly", FS | VOL },
	{ "recordsize", "recsize", FS },
	{ "redundant_metadata", "redund_md", FS | VOL },
	{ "refquota", NULL, FS },
	{ "refreservation", "refreserv", FS | VOL },
	{ "relatime", NULL, FS },
	{ "reservation", "reserv", FS | VOL },
	{ "rootcontext", NULL, FS | VOL },
	{ "secondarycache", NULL, FS | VOL },
	{ "setuid", NULL, FS },
	{ "sharenfs", NULL, FS },
	{ "sharesmb", NULL, FS },
	{ "snapdev", NULL, FS | VOL },
	{ "snapdir", NULL, FS },
	{ "snapshot_limit", "sslimit", FS | VOL },
	{ "special_small_blocks", NULL, FS },
	{ "sync", NULL, FS | VOL },
	{ "utf8only", NULL, FS | ONCE },
	{ "volblocksize", "volblock", VOL | ONCE },
	{ "volmode", NULL, FS | VOL },
	{ "volsize", NULL, VOL },
	{ "volthreading", NULL, VOL },
	{ "vscan", NULL, FS },
	{ "xattr", NULL, FS },
	{ "zoned", NULL, FS },
};

bool zf_zfs_prop_is_user(const char *name)
{
	bool colon = false;

	if (!*name)
		return false;
	for (const char *p = name; *p; p++) {
		if (*p == ':')
			colon = true;
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
			   *p == '_' || *p == '-'))
			return false;
	}
	return colon;
}

int zf_zfs_prop_lookup(const char *name, const struct zf_zfs_prop_info **ret,
		       struct zf_err *err)
{
	*ret = NULL;
	if (strchr(name, ':')) {
		if (!zf_zfs_prop_is_user(name) || strlen(name) > 255)
			return zf_err_set(err, -EINVAL, "invalid user property name '%s' (lowercase "
					  "letters, digits, ':', '.', '_', '-')", name);
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(props); i++)
		if (streq(props[i].name, name) || (props[i].alias && streq(props[i].alias, name))) {
			*ret = &props[i];
			return 1;
		}
	return zf_err_set(err, -EINVAL, "'%s' is not a property that can be set", name);
}
