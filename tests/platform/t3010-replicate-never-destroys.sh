#!/usr/bin/env bash
# DESCRIPTION: DESIGN.md guarantee 1 — replication never destroys a snapshot
#   or filesystem on the receiver unless asked (--force-rollback)
# STRATEGY:
#  1. Replicate; then give the target a snapshot of its own and the source a
#     new one.  replicate exits 1, names the filesystem and the snapshot in
#     the way, and the target keeps every snapshot.
#  2. A filesystem that exists only on the target is left alone throughout.
#  3. A target written to since its newest snapshot: exit 1, "modified".
#  4. --force-rollback then succeeds: the target's own snapshot is gone
#     (the user asked) and the source's new snapshot arrived.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zs1
pool_create zs2
log_must zfs create zs1/a
echo one >/mnt/zs1/a/f
log_must zfs snapshot zs1/a@s1
log_must "$ZFERRY" replicate --no-sync-snap zs1/a zs2/a
log_must zfs create -o mountpoint=none zs2/a/only-here
log_must zfs snapshot zs2/a/only-here@mine

log_must zfs snapshot zs2/a@target-own
echo two >/mnt/zs1/a/f
log_must zfs snapshot zs1/a@s2
before=$(zfs list -H -t snapshot -o name,guid -r zs2 | sort)
capture "$ZFERRY" replicate --no-sync-snap zs1/a zs2/a
assert_eq "$RC" 1 "status with a conflict"
assert_contains "$OUT" "zs2/a"
assert_contains "$OUT" "target-own"
assert_eq "$(zfs list -H -t snapshot -o name,guid -r zs2 | sort)" "$before" "target snapshots after the refused run"

# a modified target (no snapshot of its own) is reported, not rolled back
log_must zfs destroy zs2/a@target-own
log_must zfs set readonly=off zs2/a
log_must zfs mount zs2/a
echo local-change >/mnt/zs2/a/g
log_must zfs umount zs2/a
capture "$ZFERRY" replicate --no-sync-snap zs1/a zs2/a
assert_eq "$RC" 1 "status with a modified target"
assert_contains "$OUT" "modified"
log_must zfs snapshot zs2/a@target-own

capture "$ZFERRY" replicate --no-sync-snap --force-rollback zs1/a zs2/a
assert_eq "$RC" 0 "status with --force-rollback"
capture zfs list -H -o name zs2/a@target-own
assert_eq "$RC" 1 "the target's own snapshot after --force-rollback"
assert_eq "$(guid zs2/a@s2)" "$(guid zs1/a@s2)" "the new snapshot arrived"
assert_eq "$(zfs list -H -o name zs2/a/only-here@mine)" zs2/a/only-here@mine "target-only filesystem"
log_pass
