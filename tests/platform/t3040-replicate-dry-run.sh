#!/usr/bin/env bash
# DESCRIPTION: issue 11 — --dry-run is the real plan: for each scenario the
#   dry run's filesystems, actions, bases, sync snapshot, conflicts and exit
#   status are what the real run that follows does
# STRATEGY: scenarios in sequence on one tree (a fresh target; writes; a new
#   child and a clone; a snapshot made on the target; --no-sync-snap; an
#   excluded parent).  Each: `replicate --dry-run --json`,
#   then the same without --dry-run; both reduced to (target, action, from,
#   to, result, error) with the sync snapshot's name replaced by SYNC, and
#   compared with the exit status.  The real run is then checked against
#   the pools: each target that succeeded has the guid the plan sent to, a
#   conflicted target did not change, and a dry run changed nothing at all.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zs1 384M
pool_create zs2 384M
for fs in t t/a t/b t/b/c; do log_must zfs create "zs1/$fs"; done
echo a >/mnt/zs1/t/a/f

state() { zfs list -H -p -t all -o name,guid,userrefs -r zs1 zs2 | sort; }

reduce()	# JSON: one line per filesystem, the sync snapshot named SYNC
{
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
sync = d["sync_snapshot"]
def s(v):
    return v.replace(sync, "SYNC") if (v and sync) else v
print("sync", "SYNC" if sync else None, "ok", d["ok"], "failed", d["failed"], "skipped", d["skipped"])
for f in d["filesystems"]:
    r = "ok" if f["result"] == "planned" else f["result"]
    print(f["target"], f["action"], s(f["from"]), s(f["to"]), r, s(f["error"]))
' "$1"
}

scenario()	# NAME ARGS...: dry run, then the run; both must agree
{
	local name=$1 before dry drc
	shift
	before=$(state)
	capture_out "$ZFERRY" replicate --json --dry-run "$@"
	drc=$RC
	dry=$(reduce "$OUT") || log_fail "$name: dry run output: $OUT"
	assert_eq "$(state)" "$before" "$name: pools after the dry run"
	capture_out "$ZFERRY" replicate --json "$@"
	assert_eq "$RC" "$drc" "$name: exit status of the run against the dry run's"
	REAL=$OUT
	assert_eq "$(reduce "$OUT")" "$dry" "$name: the run against its dry run"
	log_note "$name: $(printf '%s\n' "$dry" | head -n1), status $drc"
}

# each target that reports ok holds the snapshot it was sent to, by guid
check_sent()
{
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
for f in d["filesystems"]:
    if f["result"] == "ok" and f["to"]:
        print(f["source"] + "@" + f["to"], f["target"] + "@" + f["to"])
' "$REAL" | while read -r s t; do
		assert_eq "$(guid "$t")" "$(guid "$s")" "guid of $t"
	done
}

scenario "fresh target" -r zs1/t zs2/t
check_sent
assert_contains "$REAL" '"full"'

echo more >>/mnt/zs1/t/a/f
dd if=/dev/urandom of=/mnt/zs1/t/b/c/r bs=1k count=500 status=none
sleep 1
scenario "after writes" -r zs1/t zs2/t
check_sent

log_must zfs create zs1/t/new
log_must zfs snapshot zs1/t/a@base
log_must zfs clone zs1/t/a@base zs1/t/cl
echo cl >/mnt/zs1/t/cl/g
sleep 1
scenario "a new child and a clone" -r zs1/t zs2/t
check_sent
assert_eq "$(zfs get -H -o value origin zs2/t/cl)" zs2/t/a@base "the clone's origin on the target"

log_must zfs snapshot zs2/t/b@mine
echo x >>/mnt/zs1/t/b/x
sleep 1
before_b=$(zfs list -H -p -t snapshot -o name,guid -r zs2/t/b | sort)
scenario "a snapshot made on the target" -r zs1/t zs2/t
[ "$RC" = 1 ] || log_fail "a conflict on zs2/t/b: status $RC"
assert_contains "$REAL" "zs2/t/b"
assert_eq "$(zfs list -H -p -t snapshot -o name,guid -r zs2/t/b | sort)" "$before_b" \
	"the conflicted target and its child"
check_sent
log_must zfs destroy zs2/t/b@mine

scenario "nothing new, no sync snapshot" -r --no-sync-snap zs1/t zs2/t

log_must zfs create -p zs1/u/skip/keep
scenario "an excluded parent" -r --exclude '/skip$' zs1/u zs2/u
assert_eq "$(zfs get -H -o value zferry:placeholder zs2/u/skip)" on "placeholder"
check_sent
log_pass
