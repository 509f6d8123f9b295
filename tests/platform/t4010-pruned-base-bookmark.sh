#!/usr/bin/env bash
# DESCRIPTION: DESIGN.md guarantee 3 — pruning the sender's base snapshot does
#   not break the next incremental: the cursor bookmark carries it
# STRATEGY:
#  1. Replicate; the sender has a cursor bookmark with the base's guid.
#  2. Destroy every snapshot the two sides share on the sender.
#  3. The next run is incremental from the bookmark and succeeds.
#  4. If a human destroyed the cursor too, zferry says there is no common
#     version, names the filesystem, suggests what to do and exits 1.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zs1
pool_create zs2
log_must zfs create zs1/a
echo one >/mnt/zs1/a/f
log_must "$ZFERRY" replicate zs1/a zs2/a
base=$(zfs list -H -t snapshot -o name -d 1 zs1/a | tail -n1)
cursor=$(zfs list -H -t bookmark -o name -d 1 zs1/a | grep '#zferry_cursor') ||
	log_fail "no cursor bookmark"
assert_eq "$(guid "$cursor")" "$(guid "$base")" "cursor guid"

echo two >/mnt/zs1/a/g
log_must zfs snapshot zs1/a@later
log_must zfs destroy "$base"
capture_out "$ZFERRY" replicate --json zs1/a zs2/a
assert_eq "$RC" 0 "incremental from the cursor"
python3 -c '
import json, sys
f = json.loads(sys.argv[1])["filesystems"][0]
assert f["action"] == "incremental", f
assert f["from"].startswith("zferry_cursor"), f
' "$OUT" || log_fail "not an incremental from the cursor: $OUT"
assert_eq "$(guid zs2/a@later)" "$(guid zs1/a@later)"

for b in $(zfs list -H -t bookmark -o name -d 1 zs1/a); do log_must zfs destroy "$b"; done
for s in $(zfs list -H -t snapshot -o name -d 1 zs1/a); do log_must zfs destroy "$s"; done
log_must zfs snapshot zs1/a@fresh
capture "$ZFERRY" replicate zs1/a zs2/a
assert_eq "$RC" 1 "no common version"
assert_contains "$OUT" "zs2/a"
assert_contains "$OUT" "common"
assert_eq "$(printf '%s\n' "$OUT" | grep -c 'zferry: error')" 1 "error lines"
log_pass
