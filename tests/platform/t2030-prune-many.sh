#!/usr/bin/env bash
# DESCRIPTION: pruning 1 100 snapshots of 11 filesystems: one zfs destroy per filesystem
# STRATEGY:
#  1. A parent with 10 children gets 100 recursive snapshots (1 100 in all;
#     each recursive snapshot is a txg, and each zfs destroy costs seconds
#     in the VM: few filesystems, many snapshots each).
#  2. prune -r --keep last_n:5 leaves the 5 newest of each filesystem, and the
#     debug log shows exactly one `zfs destroy` per filesystem.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zp3 512M
log_must zfs create zp3/p
# the children at once: their zfs creates share txgs
seq -w 1 10 | sed 's|^|zp3/p/c|' | xargs -P 8 -n 1 zfs create || log_fail "cannot create the children"
assert_eq "$(zfs list -H -o name -r zp3/p | wc -l)" 11 "filesystems made"
log_time "11 filesystems made"
start=$(date +%s)
for i in $(seq -w 1 100); do
	zfs snapshot -r "zp3/p@zferry_$i" || log_fail "snapshot $i"
done
log_note "100 recursive snapshots took $(( $(date +%s) - start )) s"
assert_eq "$(zfs list -H -t snapshot -o name -r zp3 | wc -l)" 1100 "snapshots made"

start=$(date +%s%N)
capture "$ZFERRY" --log-level=debug prune -r --keep last_n:5 zp3/p
end=$(date +%s%N)
assert_eq "$RC" 0 "status of prune"
log_note "prune of 1 045 snapshots took $(( (end - start) / 1000000 )) ms"
assert_eq "$(printf '%s\n' "$OUT" | grep -c 'running zfs destroy')" 11 "zfs destroy calls"
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^destroyed ')" 1045 "destroyed lines"
assert_eq "$(zfs list -H -t snapshot -o name -r zp3 | wc -l)" 55 "snapshots left"
assert_eq "$(zfs list -H -t snapshot -o name zp3/p/c07 | tr '\n' ' ')" \
	"$(for i in 096 097 098 099 100; do printf 'zp3/p/c07@zferry_%s ' "$i"; done)" "c07's"
log_pass
