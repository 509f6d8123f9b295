#!/usr/bin/env bash
# DESCRIPTION: pruning 1 050 snapshots of 21 filesystems: one zfs destroy per filesystem
# STRATEGY:
#  1. A parent with 20 children gets 50 recursive snapshots (1 050 in all;
#     each is a txg, half a second under the VM's emulation).
#  2. prune -r --keep last_n:5 leaves the 5 newest of each filesystem, and the
#     debug log shows exactly one `zfs destroy` per filesystem.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zp3 512M
log_must zfs create zp3/p
# the children at once: their zfs creates share txgs
seq -w 1 20 | sed 's|^|zp3/p/c|' | xargs -P 8 -n 1 zfs create || log_fail "cannot create the children"
assert_eq "$(zfs list -H -o name -r zp3/p | wc -l)" 21 "filesystems made"
log_time "21 filesystems made"
start=$(date +%s)
for i in $(seq -w 1 50); do
	zfs snapshot -r "zp3/p@zferry_$i" || log_fail "snapshot $i"
done
log_note "50 recursive snapshots took $(( $(date +%s) - start )) s"
assert_eq "$(zfs list -H -t snapshot -o name -r zp3 | wc -l)" 1050 "snapshots made"

start=$(date +%s%N)
capture "$ZFERRY" --log-level=debug prune -r --keep last_n:5 zp3/p
end=$(date +%s%N)
assert_eq "$RC" 0 "status of prune"
log_note "prune of 945 snapshots took $(( (end - start) / 1000000 )) ms"
assert_eq "$(printf '%s\n' "$OUT" | grep -c 'running zfs destroy')" 21 "zfs destroy calls"
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^destroyed ')" 945 "destroyed lines"
assert_eq "$(zfs list -H -t snapshot -o name -r zp3 | wc -l)" 105 "snapshots left"
assert_eq "$(zfs list -H -t snapshot -o name zp3/p/c07 | tr '\n' ' ')" \
	"$(for i in 46 47 48 49 50; do printf 'zp3/p/c07@zferry_%s ' "$i"; done)" "c07's"
log_pass
