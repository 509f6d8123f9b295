/* src/util/zfs-name.h — OpenZFS's naming rules, for every layer that meets a zfs name */
#pragma once
#include "util/macro.h"

struct zf_err;

/*
 * Here rather than in zfs/ because names arrive from more places than zfs
 * itself: zfs/ checks them before they reach argv, chunk/ checks those a
 * backup store's catalogue holds.  Messages never show a name's bytes raw
 * (a store or a stream may hold anything): bytes outside printable ASCII
 * are shown as '?' in the name and as '\xNN' where they are pointed at.
 */
enum zf_zfs_name_type {
	ZF_ZFS_NAME_DATASET = 1 << 0,   /* pool/fs */
	ZF_ZFS_NAME_SNAPSHOT = 1 << 1,  /* pool/fs@snap */
	ZF_ZFS_NAME_BOOKMARK = 1 << 2,  /* pool/fs#mark */
	ZF_ZFS_NAME_ANY = 7,
};
/*
 * Checks name against OpenZFS's rules (zfs_namecheck.c: components of
 * [A-Za-z0-9_.:- ], no empty component, "." or "..", pool name starting with
 * a letter, shorter than 256 bytes) and against the types allowed.  Returns 0
 * or -ZF_E_BADNAME with a message naming the first offending character.
 */
_must_check_ int zf_zfs_name_check(const char *name, unsigned allowed, struct zf_err *err);
/* Checks a short snapshot/bookmark name (the part after '@' or '#'). */
_must_check_ int zf_zfs_shortname_check(const char *name, struct zf_err *err);
