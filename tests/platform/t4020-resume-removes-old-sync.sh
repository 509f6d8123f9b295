#!/usr/bin/env bash
# DESCRIPTION: a run that resumes an interrupted receive still removes this
#   target's older sync snapshots on the sender once it is up to date (the
#   fault campaign found the older one left behind until the run after)
# STRATEGY:
#  1. Replicate with a sync snapshot: one sync snapshot on the sender.
#  2. Write 192 MiB (64 MiB went through before a quiet VM's poll saw it),
#     replicate again and kill -9 zferry once its zfs recv has
#     read 8 MiB: the target holds a resume token for the new sync snapshot,
#     the sender has two.
#  3. The next plain run resumes and succeeds: the target has the newest sync
#     snapshot, the sender keeps only that one, no token, no hold.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zs1 768M
pool_create zs2 768M
log_must zfs create -o compression=off zs1/a
log_must dd if=/dev/urandom of=/mnt/zs1/a/f bs=1M count=1 status=none
log_must "$ZFERRY" replicate --no-progress --target-id t1 zs1/a zs2/a
syncs() { zfs list -H -t snapshot -o name -s createtxg -d 1 zs1/a | sed -n 's/.*@\(zferry_t1_.*\)/\1/p'; }
assert_eq "$(syncs | wc -l)" 1 "sync snapshots after the first run"

log_must dd if=/dev/urandom of=/mnt/zs1/a/big bs=1M count=192 status=none
"$ZFERRY" replicate --no-progress --target-id t1 zs1/a zs2/a >/dev/null 2>&1 &
kill9_during_recv $! zs2/a
[ "$(zfs get -H -o value receive_resume_token zs2/a)" != - ] || log_fail "no resume token after kill -9"
assert_eq "$(syncs | wc -l)" 2 "sync snapshots after the killed run"
newest=$(syncs | tail -n1)

capture_out "$ZFERRY" replicate --json --target-id t1 zs1/a zs2/a
assert_eq "$RC" 0 "resuming run"
assert_contains "$OUT" '"resume"'
assert_eq "$(syncs)" "$newest" "sync snapshots after the resuming run"
assert_eq "$(guid "zs2/a@$newest")" "$(guid "zs1/a@$newest")" "newest sync snapshot on the target"
assert_eq "$(zfs get -H -o value receive_resume_token zs2/a)" - "resume token"
assert_eq "$(zfs get -Hp -o value userrefs "zs1/a@$newest")" 0 "holds left on the sender"
log_pass
