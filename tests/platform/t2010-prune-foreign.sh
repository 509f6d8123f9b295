#!/usr/bin/env bash
# DESCRIPTION: zferry prune destroys only its candidates, and --dry-run nothing
# STRATEGY:
#  1. A filesystem holds zferry_ snapshots and foreign ones (sanoid-style,
#     manual, and one whose name only contains "zferry_").
#  2. --dry-run --keep last_n:3 destroys nothing and tells what would go and
#     why the rest stays; --json says the same per snapshot.
#  3. The real run destroys exactly the zferry_ snapshots not among the 3
#     newest; every foreign snapshot is untouched.
#  4. --prefix / --regex choose other candidates; -r reaches descendants.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zp1
log_must zfs create zp1/a
log_must zfs create zp1/a/child
for i in 1 2 3 4 5 6 7 8; do
	log_must zfs snapshot -r "zp1/a@zferry_0$i"
	if [ "$i" = 4 ]; then
		log_must zfs snapshot zp1/a@autosnap_2026-11-23_00:00:00_hourly zp1/a/child@manual
		log_must zfs snapshot "zp1/a@my zferry_copy"
	fi
done
foreign="zp1/a@autosnap_2026-11-23_00:00:00_hourly
zp1/a@my zferry_copy
zp1/a/child@manual"
all_before=$(zfs list -H -t snapshot -o name -r zp1 | sort)

capture "$ZFERRY" prune --dry-run --keep last_n:3 zp1/a
assert_eq "$RC" 0 "status of --dry-run"
assert_eq "$(zfs list -H -t snapshot -o name -r zp1 | sort)" "$all_before" "snapshots after --dry-run"
assert_contains "$OUT" "would destroy zp1/a@zferry_05"
assert_contains "$OUT" "keep zp1/a@zferry_06 (last_n:3)"
assert_contains "$OUT" "keep zp1/a@zferry_08 (last_n:3, newest)"
assert_not_contains "$OUT" "autosnap"
assert_not_contains "$OUT" "zp1/a/child"

capture "$ZFERRY" prune --dry-run --json --keep last_n:3 --keep 'regex:_0[12]$' zp1/a
assert_eq "$RC" 0 "status of --json"
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["dry_run"] is True and d["destroy"] == 3, d
snaps = {s["name"]: s for f in d["filesystems"] for s in f["snapshots"]}
assert set(snaps) == {"zferry_0%d" % i for i in range(1, 9)}, sorted(snaps)
assert snaps["zferry_01"]["rules"] == ["regex:_0[12]$"], snaps["zferry_01"]
assert snaps["zferry_03"]["action"] == "destroy" and not snaps["zferry_03"]["destroyed"]
assert snaps["zferry_08"]["protected"] == ["newest"]
' || log_fail "--json output"

log_must "$ZFERRY" prune --keep last_n:3 zp1/a
left=$(zfs list -H -t snapshot -o name -r zp1 | sort)
want=$( (printf '%s\n' "$foreign"; for i in 6 7 8; do echo "zp1/a@zferry_0$i"; done
	for i in 1 2 3 4 5 6 7 8; do echo "zp1/a/child@zferry_0$i"; done) | sort)
assert_eq "$left" "$want" "snapshots after prune"

# -r reaches the child; --regex picks other candidates
log_must "$ZFERRY" prune -r --keep last_n:1 --regex '^manual$' zp1
assert_eq "$(zfs list -H -t snapshot -o name -r zp1 | sort)" "$want" "only candidate is the newest"
log_must "$ZFERRY" prune -r --keep last_n:2 zp1
assert_eq "$(zfs list -H -t snapshot -o name zp1/a/child | sort | tr '\n' ' ')" \
	"zp1/a/child@manual zp1/a/child@zferry_07 zp1/a/child@zferry_08 " "child after -r"
log_must "$ZFERRY" prune --keep last_n:0 --allow-empty --prefix autosnap_ zp1/a
capture zfs list -H -t snapshot zp1/a@autosnap_2026-11-23_00:00:00_hourly
assert_eq "$RC" 1 "autosnap_ snapshot destroyed with --prefix autosnap_ --allow-empty"
assert_eq "$(zfs list -H -t snapshot -o name zp1/a | wc -l)" 3 "zp1/a snapshots at the end"
log_pass
