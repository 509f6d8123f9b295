#!/usr/bin/env bash
# DESCRIPTION: get/set of native and user properties, receive_resume_token
# STRATEGY:
#  1. zf_zfs_get of several properties of several datasets in one call.
#  2. A user property whose value holds spaces, quotes, ';', '$', tabs and
#     unicode is set and read back unchanged.
#  3. receive_resume_token reads '-' when there is none.
#  4. Bad property names and a missing dataset give one-line errors.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zt1
log_must zfs create -o compression=lz4 zt1/a
log_must zfs create zt1/a/b
capture "$ZFS_TOOL" get zt1/a,zt1/a/b compression,receive_resume_token
assert_eq "$RC" 0
assert_contains "$OUT" "zt1/a	compression	lz4	local"
assert_contains "$OUT" "zt1/a/b	compression	lz4	inherited from zt1/a"
assert_contains "$OUT" "zt1/a	receive_resume_token	-	-"

value=$'it\'s "quoted"; $HOME `x` \tand tab — ünïcødé'
log_must "$ZFS_TOOL" set zt1/a "zferry:note=$value" "zferry:second=2"
capture "$ZFS_TOOL" get zt1/a zferry:note
assert_eq "$OUT" "zt1/a	zferry:note	$value	local" "user property read back"
assert_eq "$(zfs get -H -o value zferry:second zt1/a)" 2

expect_error EINVAL "$ZFS_TOOL" get zt1/a "-o"
expect_error EINVAL "$ZFS_TOOL" set zt1/a "novalue"
expect_error EINVAL "$ZFS_TOOL" set zt1/a $'zferry:nl=a\nb'
expect_error ENOENT "$ZFS_TOOL" get zt1/nosuch compression
log_pass
