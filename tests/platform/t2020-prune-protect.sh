#!/usr/bin/env bash
# DESCRIPTION: pruning never destroys held snapshots, the cursor's snapshot or the newest
# STRATEGY:
#  1. Ten zferry_ snapshots; one held (zfs hold), one that the replication
#     cursor bookmark zferry_cursor_remote points at (same guid).
#  2. prune --keep last_n:0 destroys all others; the held one is reported
#     (not an error, exit 0), the cursor's and the newest survive.
#  3. not_replicated keeps everything newer than the cursor.
#  4. --allow-empty lets the newest go; the held and cursor ones still stay.
#  5. After release, the held one goes.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zp2
log_must zfs create zp2/a
for i in 0 1 2 3 4 5 6 7 8 9; do
	log_must zfs snapshot "zp2/a@zferry_$i"
done
log_must zfs hold keepme zp2/a@zferry_2
log_onexit zfs release keepme zp2/a@zferry_2
log_must zfs bookmark zp2/a@zferry_4 "zp2/a#zferry_cursor_remote"
# a bookmark with the prefix but not a cursor protects nothing
log_must zfs bookmark zp2/a@zferry_5 "zp2/a#zferry_5"

capture "$ZFERRY" prune --dry-run --keep not_replicated zp2/a
assert_eq "$RC" 0
for i in 0 1 3; do assert_contains "$OUT" "would destroy zp2/a@zferry_$i"; done
assert_contains "$OUT" "keep zp2/a@zferry_4 (cursor)"
assert_contains "$OUT" "keep zp2/a@zferry_2 (held)"
assert_contains "$OUT" "keep zp2/a@zferry_5 (not_replicated)"

capture "$ZFERRY" prune --keep last_n:0 zp2/a
assert_eq "$RC" 0 "status with a held snapshot"
assert_contains "$OUT" "keep zp2/a@zferry_2 (held)"
assert_contains "$OUT" "1 snapshot kept only because of holds"
assert_eq "$(zfs list -H -t snapshot -o name zp2/a | tr '\n' ' ')" \
	"zp2/a@zferry_2 zp2/a@zferry_4 zp2/a@zferry_9 " "snapshots after prune"
assert_eq "$(zfs list -H -t bookmark -o name zp2/a | sort | tr '\n' ' ')" \
	"zp2/a#zferry_5 zp2/a#zferry_cursor_remote " "bookmarks are never touched"

log_must "$ZFERRY" prune --keep last_n:0 --allow-empty zp2/a
assert_eq "$(zfs list -H -t snapshot -o name zp2/a | tr '\n' ' ')" \
	"zp2/a@zferry_2 zp2/a@zferry_4 " "snapshots after --allow-empty"

log_must zfs release keepme zp2/a@zferry_2
log_must zfs destroy "zp2/a#zferry_cursor_remote"
log_must "$ZFERRY" prune --keep last_n:1 zp2/a
assert_eq "$(zfs list -H -t snapshot -o name zp2/a | tr '\n' ' ')" "zp2/a@zferry_4 " \
	"snapshots after release"
log_pass
