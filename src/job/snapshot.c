/* src/job/snapshot.c — policy snapshots: naming, one atomic zfs call, verification */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "job/snapshot.h"
#include "log/log.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/strv.h"
#include "zfs/zfs.h"
#include "util/banned.h"

int zf_snapshot_name(const char *prefix, const char *format, bool local, time_t now, char **ret,
		     struct zf_err *err)
{
	char stamp[256];
	struct tm tm;
	size_t len;
	_cleanup_free_ char *name = NULL;
	int r;

	if (!format)
		format = local ? ZF_SNAPSHOT_FORMAT_LOCAL : ZF_SNAPSHOT_FORMAT_UTC;
	if (!(local ? localtime_r(&now, &tm) : gmtime_r(&now, &tm)))
		return zf_err_set(err, -EINVAL, "cannot convert the time %lld", (long long)now);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	/* the user's format: strftime only reads tm, whatever the conversions */
	len = strftime(stamp, sizeof(stamp), format, &tm);
#pragma GCC diagnostic pop
	if (len == 0 && *format)
		return zf_err_set(err, -EINVAL, "time format '%s' gives an empty or too long name",
				  format);
	for (char *p = stamp; *p; p++)
		if (*p == '+')
			*p = 'p';
	name = zf_xasprintf("%s%s", prefix ? prefix : "", stamp);
	if (!*name)
		return zf_err_set(err, -EINVAL, "empty snapshot name (no prefix, no time format)");
	if ((r = zf_zfs_shortname_check(name, err)) < 0)
		return zf_err_prefix(err, "invalid snapshot name '%s'", name);
	*ret = TAKE_PTR(name);
	return 0;
}

int zf_snapshot_run(const struct zf_snapshot_opts *o, struct zf_strv *ret, struct zf_err *err)
{
	_cleanup_strv_ struct zf_strv want = ZF_STRV_INIT;
	_cleanup_strv_ struct zf_strv fsnames = ZF_STRV_INIT;
	struct zf_zfs_fs_list fs = { 0 };
	struct zf_zfs_version_list vers = { 0 };
	struct zf_zfs_list_opts lo = { .recursive = o->recursive };
	int r;

	if ((r = zf_zfs_shortname_check(o->name, err)) < 0)
		return r;
	if ((r = zf_zfs_snapshot(o->filesystems, o->n, o->name, o->recursive, err)) < 0)
		return zf_err_prefix(err, "cannot snapshot");

	/* verify: every filesystem zfs snapshot covered must have it now */
	r = zf_zfs_list_fs(o->filesystems, o->n, &lo, &fs, err);
	for (size_t i = 0; r >= 0 && i < fs.n; i++)
		if (!zf_strv_contains(&fsnames, fs.v[i].name))
			zf_strv_add(&fsnames, fs.v[i].name);
	if (r >= 0)
		r = zf_zfs_list_versions(zf_strv_argv(&fsnames), fsnames.n, &vers, err);
	for (size_t i = 0; r >= 0 && i < fsnames.n; i++) {
		bool found = false;
		for (size_t j = 0; j < vers.n && !found; j++)
			found = !vers.v[j].bookmark && streq(vers.v[j].name, o->name) &&
				streq(vers.v[j].fs, fsnames.v[i]);
		if (!found)
			r = zf_err_set(err, -ENOENT, "snapshot '%s@%s' missing after zfs snapshot",
				       fsnames.v[i], o->name);
		else
			zf_strv_addf(&want, "%s@%s", fsnames.v[i], o->name);
	}
	zf_zfs_fs_list_release(&fs);
	zf_zfs_version_list_release(&vers);
	if (r < 0)
		return r;
	log_debug("took %zu snapshots named '%s'", want.n, o->name);
	if (ret) {
		zf_strv_sort(&want);
		*ret = want;
		want = (struct zf_strv)ZF_STRV_INIT;
	}
	return 0;
}
