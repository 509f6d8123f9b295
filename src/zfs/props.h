/* src/zfs/props.h — OpenZFS's dataset properties: names, aliases, where they apply */
#pragma once
#include <stdbool.h>
#include "util/macro.h"

struct zf_err;

/*
 * zfs accepts a native property by its name or by its lowercase column
 * name ("compress", "recsize", "reserv", "refreserv", "rdonly"), and takes
 * a name with a ':' made of [a-z0-9:._-] as a user property.  Anything
 * that decides per property (the receive policy) must compare canonical
 * names, or "reserv=1T" walks past a rule about "reservation".  The table
 * holds the properties of OpenZFS 2.3 that can be set on a filesystem or
 * volume, or given at receive time; read-only ones are not in it.
 */

enum {
	ZF_ZFS_PROP_FS = 1 << 0,        /* applies to filesystems */
	ZF_ZFS_PROP_VOL = 1 << 1,       /* applies to volumes */
	ZF_ZFS_PROP_KEY = 1 << 2,       /* an encryption parameter: raw receives cannot set or exclude it */
	ZF_ZFS_PROP_ONETIME = 1 << 3,   /* only at creation (or the first receive) */
};

struct zf_zfs_prop_info {
	const char *name;               /* canonical */
	const char *alias;              /* zfs's lowercase column name when it differs, or NULL */
	unsigned flags;
};

/*
 * Looks a property name up: 1 and *ret for a native property (by name or
 * alias), 0 for a valid user property (*ret NULL), or -EINVAL with a
 * one-line reason for anything else (unknown, read-only, bad characters).
 */
_must_check_ int zf_zfs_prop_lookup(const char *name, const struct zf_zfs_prop_info **ret,
				    struct zf_err *err);
/* Whether name is a valid user property name (has a ':', only [a-z0-9:._-]). */
bool zf_zfs_prop_is_user(const char *name);
