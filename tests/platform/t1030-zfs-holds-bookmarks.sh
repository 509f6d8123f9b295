#!/usr/bin/env bash
# DESCRIPTION: bookmark, hold, holds, release and batch destroy
# STRATEGY:
#  1. Bookmark a snapshot (and a bookmark from a bookmark): same guid.
#  2. Hold two snapshots in one call; holds lists both; a held snapshot
#     cannot be destroyed (EBUSY) and survives; release frees it.
#  3. Destroy a batch of snapshots of one filesystem in one call.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zt1
log_must zfs create zt1/a
for s in s1 s2 s3 s4 s5; do log_must zfs snapshot "zt1/a@$s"; done

log_must "$ZFS_TOOL" bookmark zt1/a@s1 "zt1/a#b1"
log_must "$ZFS_TOOL" bookmark "zt1/a#b1" "zt1/a#b1copy"
assert_eq "$(guid 'zt1/a#b1')" "$(guid zt1/a@s1)" "bookmark guid"
assert_eq "$(guid 'zt1/a#b1copy')" "$(guid zt1/a@s1)" "bookmark-of-bookmark guid"
expect_error EEXIST "$ZFS_TOOL" bookmark zt1/a@s2 "zt1/a#b1"

log_must "$ZFS_TOOL" hold "zferry step" zt1/a@s2 zt1/a@s3
capture "$ZFS_TOOL" holds zt1/a@s2 zt1/a@s3 zt1/a@s4
assert_eq "$OUT" $'zt1/a@s2\tzferry step\nzt1/a@s3\tzferry step' "holds"
assert_eq "$(zfs get -Hp -o value userrefs zt1/a@s2)" 1
expect_error EEXIST "$ZFS_TOOL" hold "zferry step" zt1/a@s2

expect_error EBUSY "$ZFS_TOOL" destroy zt1/a s2
assert_eq "$(zfs list -H -o name zt1/a@s2)" zt1/a@s2 "held snapshot survives"

log_must "$ZFS_TOOL" destroy zt1/a s1 s4 s5
assert_eq "$(zfs list -H -t snapshot -o name -r zt1/a | tr '\n' ' ')" "zt1/a@s2 zt1/a@s3 " "after batch destroy"
assert_eq "$(guid 'zt1/a#b1')" "$(zfs get -Hp -o value guid 'zt1/a#b1')" "bookmark outlives its snapshot"

log_must "$ZFS_TOOL" release "zferry step" zt1/a@s2 zt1/a@s3
assert_eq "$(zfs get -Hp -o value userrefs zt1/a@s2)" 0
log_must "$ZFS_TOOL" destroy zt1/a s2
log_must "$ZFS_TOOL" destroy-bookmark "zt1/a#b1copy"
capture zfs list -H -t bookmark -o name zt1/a
assert_eq "$OUT" "zt1/a#b1"
expect_error ENOENT "$ZFS_TOOL" destroy-bookmark "zt1/a#nosuch"
expect_error EINVAL "$ZFS_TOOL" hold "-f" zt1/a@s3
log_pass
