#!/usr/bin/env bash
# DESCRIPTION: encrypted sources go raw, --exclude, --dry-run, stale holds,
#   send-flag chains, --rename-diverged, bad input
# STRATEGY: one scenario each, checking outcomes on real pools.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zs1 384M
pool_create zs2 384M

# encrypted source: raw by default, lands encrypted without its key
echo passphrase123 >"$TEST_TMP/key"
# pbkdf2iters at its minimum: the default 350 000 rounds take seconds in the VM
log_must zfs create -o encryption=on -o keyformat=passphrase -o pbkdf2iters=100000 \
	-o keylocation="file://$TEST_TMP/key" zs1/enc
echo secret >/mnt/zs1/enc/f
log_must "$ZFERRY" replicate zs1/enc zs2/enc
assert_eq "$(zfs get -H -o value encryption zs2/enc)" aes-256-gcm "target encryption"
assert_eq "$(zfs get -H -o value keystatus zs2/enc)" unavailable "target key status"

# --exclude, and placeholders for an excluded parent
for fs in t t/keep t/skip t/skip/deep; do log_must zfs create "zs1/$fs"; done
log_must "$ZFERRY" replicate -r --exclude '/skip$' zs1/t zs2/t
capture zfs list -H -o name zs2/t/keep
assert_eq "$RC" 0 "included child"
assert_eq "$(zfs get -H -o value zferry:placeholder zs2/t/skip)" on "excluded parent is a placeholder"
assert_eq "$(zfs list -H -t snapshot -o name -d 1 zs2/t/skip | wc -l)" 0 "placeholder has no snapshots"
capture zfs list -H -o name zs2/t/skip/deep
assert_eq "$RC" 0 "child of an excluded parent"

# --dry-run changes nothing
log_must zfs create zs1/dry
log_must zfs snapshot zs1/dry@s1
capture "$ZFERRY" replicate --dry-run zs1/dry zs2/dry
assert_eq "$RC" 0
assert_contains "$OUT" "full"
capture zfs list -H -o name zs2/dry
assert_eq "$RC" 1 "target after --dry-run"
assert_eq "$(zfs list -H -t snapshot -o name -d 1 zs1/dry | wc -l)" 1 "no sync snapshot in a dry run"

# a hold left by a killed run is released by the next run; the tag names
# the target (its id in --json), so that runs to other targets keep theirs
capture_out "$ZFERRY" replicate --json --no-sync-snap zs1/dry zs2/dry
assert_eq "$RC" 0 "first run to zs2/dry"
tid=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_id"])')
assert_contains "$tid" "t" "target id"
log_must zfs hold "zferry_replicate_$tid" zs1/dry@s1
log_must zfs hold zferry_replicate_tother zs1/dry@s1
log_must "$ZFERRY" replicate --no-sync-snap zs1/dry zs2/dry
assert_eq "$(zfs holds -H zs1/dry@s1 | cut -f2 | tr '\n' ' ')" "zferry_replicate_tother " \
	"own stale hold released, another target's kept"
log_must zfs release zferry_replicate_tother zs1/dry@s1
log_must zfs hold other-tool zs1/dry@s1
log_must "$ZFERRY" replicate --no-sync-snap zs1/dry zs2/dry
assert_eq "$(zfs get -Hp -o value userrefs zs1/dry@s1)" 1 "another tool's hold kept"
log_must zfs release other-tool zs1/dry@s1

# flags recorded on the target; a run that would break the chain is refused
log_must zfs create zs1/lb
log_must "$ZFERRY" replicate --large-block zs1/lb zs2/lb
assert_contains "$(zfs get -H -o value zferry:sendflags zs2/lb)" L "recorded send flags"
log_must zfs snapshot zs1/lb@more
capture "$ZFERRY" replicate zs1/lb zs2/lb
assert_eq "$RC" 1 "flag chain break refused"
assert_contains "$OUT" "large-block"

# --rename-diverged keeps the old target aside and re-seeds
log_must zfs create zs1/dv
log_must "$ZFERRY" replicate zs1/dv zs2/dv
log_must zfs snapshot zs2/dv@diverged
log_must zfs snapshot zs1/dv@next
capture "$ZFERRY" replicate --rename-diverged zs1/dv zs2/dv
assert_eq "$RC" 0 "--rename-diverged"
old=$(zfs list -H -o name | grep '^zs2/dv.zferry-diverged-') || log_fail "no renamed target"
assert_eq "$(zfs list -H -o name "$old@diverged")" "$old@diverged" "diverged snapshot kept"
assert_eq "$(guid zs2/dv@next)" "$(guid zs1/dv@next)" "re-seeded target"

# bad input: one line, exit 2, nothing created
for args in "zs1/a;rm zs2/x" "-zs1 zs2/x" "zs1/dry" "--jobs 0 zs1/dry zs2/x" "--exclude ( zs1/dry zs2/x"; do
	RC=0
	err=$("$ZFERRY" replicate $args 2>&1 >/dev/null) || RC=$?
	assert_eq "$RC" 2 "status of 'replicate $args'"
	assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "error lines of 'replicate $args': $err"
done
capture zfs list -H -o name zs2/x
assert_eq "$RC" 1 "nothing created by bad input"
log_pass
