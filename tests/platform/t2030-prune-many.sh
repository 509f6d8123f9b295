#!/usr/bin/env bash
# DESCRIPTION: pruning 2 100 snapshots of 21 filesystems: one zfs destroy per filesystem
# STRATEGY:
#  1. A parent with 20 children gets 100 recursive snapshots (2 100 in all).
#  2. prune -r --keep last_n:5 leaves the 5 newest of each filesystem, and the
#     debug log shows exactly one `zfs destroy` per filesystem.
#  3. A grid rule over the same (second-spaced) snapshots keeps, per
#     filesystem, the newest plus the oldest of each interval.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zp3 512M
log_must zfs create zp3/p
for c in $(seq -w 1 20); do zfs create "zp3/p/c$c" || log_fail "create c$c"; done
start=$(date +%s)
for i in $(seq -w 1 100); do
	zfs snapshot -r "zp3/p@zferry_$i" || log_fail "snapshot $i"
done
log_note "100 recursive snapshots took $(( $(date +%s) - start )) s"
assert_eq "$(zfs list -H -t snapshot -o name -r zp3 | wc -l)" 2100 "snapshots made"

start=$(date +%s%N)
capture "$ZFERRY" --log-level=debug prune -r --keep last_n:5 zp3/p
end=$(date +%s%N)
assert_eq "$RC" 0 "status of prune"
log_note "prune of 2 000 snapshots took $(( (end - start) / 1000000 )) ms"
assert_eq "$(printf '%s\n' "$OUT" | grep -c 'running zfs destroy')" 21 "zfs destroy calls"
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^destroyed ')" 1995 "destroyed lines"
assert_eq "$(zfs list -H -t snapshot -o name -r zp3 | wc -l)" 105 "snapshots left"
assert_eq "$(zfs list -H -t snapshot -o name zp3/p/c07 | tr '\n' ' ')" \
	"$(for i in 096 097 098 099 100; do printf 'zp3/p/c07@zferry_%s ' "$i"; done)" "c07's"
log_pass
