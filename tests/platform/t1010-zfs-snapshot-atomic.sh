#!/usr/bin/env bash
# DESCRIPTION: zf_zfs_snapshot() takes one atomic snapshot of many filesystems
# STRATEGY:
#  1. Snapshot three filesystems (one with a space in its name) in one call:
#     all three snapshots exist and share one createtxg.
#  2. With -r, every descendant gets the snapshot in the same txg.
#  3. A snapshot name that already exists is EEXIST and nothing new is made.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zt1
for fs in a "b c" d d/e d/e/f; do
	log_must zfs create "zt1/$fs"
done
log_must "$ZFS_TOOL" snapshot s1 zt1/a "zt1/b c" zt1/d
txgs=$(for fs in zt1/a "zt1/b c" zt1/d; do zfs get -Hp -o value createtxg "$fs@s1"; done | sort -u)
assert_eq "$(echo "$txgs" | wc -l)" 1 "distinct createtxgs of one multi-snapshot"
capture zfs list -H -t snapshot -o name zt1/d/e@s1
assert_eq "$RC" 1 "zt1/d/e@s1 must not exist without -r"

log_must "$ZFS_TOOL" snapshot -r s2 zt1/d
txgs=$(zfs list -Hp -t snapshot -o name,createtxg -r zt1/d | awk -F'\t' '$1 ~ /@s2$/ {print $2}' | sort -u)
assert_eq "$(zfs list -H -t snapshot -o name -r zt1/d | grep -c '@s2$')" 3 "snapshots @s2"
assert_eq "$(echo "$txgs" | wc -l)" 1 "distinct createtxgs of -r snapshot"

before=$(zfs list -H -t snapshot -o name -r zt1 | wc -l)
expect_error EEXIST "$ZFS_TOOL" snapshot s1 zt1/a
assert_eq "$(zfs list -H -t snapshot -o name -r zt1 | wc -l)" "$before" "snapshot count after failure"
expect_error EBADNAME "$ZFS_TOOL" snapshot "bad@name" zt1/a
expect_error ENOENT "$ZFS_TOOL" snapshot s3 zt1/nosuch
log_pass
