#!/usr/bin/env bash
# DESCRIPTION: issue 14 — backup prune keeps every base a kept backup needs;
#   store gc removes what no entry needs, and loses nothing while backups
#   run against the same store; store verify names the backups a damaged
#   chunk breaks
# STRATEGY:
#  1. Two chains of zb/a: full k1, incrementals k2 k3; full k4, incremental
#     k5.  `backup prune --keep last_n:1 --dry-run` removes nothing;
#     without --dry-run k1..k3 go and k4 stays (k5 needs it), judged by
#     the catalogue's files.
#  2. Two gc passes (--min-age 0s --grace 0s: no backup runs) remove the
#     chunks only k1..k3 needed; k4..k5 still restore, with the files of
#     zb/a@k5.
#  3. Two loops back up zb/b and zb/c (a change and an --incremental each
#     round) while gc runs pass after pass with --min-age 0s and a grace
#     above the writers' beat (sessions beat every 300 ms here): afterwards
#     every committed backup restores byte for byte (restore -o against
#     zfs send of the same snapshot).
#  4. A chunk of k5's data deleted: store verify exits 1 and names zb/a@k5.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zb 512M
store=$TEST_TMP/store
Z() { "$ZFERRY" "$@"; }
export ZFERRY_TEST_SESSION_BEAT_MS=300

fill() {	# DIR MIB
	local i
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do head -c 1048576 /dev/urandom >"$1/f$i"; done
}
change() {	# FS: a few random 32 KiB writes
	local mp i
	mp=$(zfs get -H -o value mountpoint "$1")
	for i in 1 2; do
		dd if=/dev/urandom of="$mp/f$((RANDOM % 4 + 1))" bs=32k count=1 \
			seek=$((RANDOM % 30)) conv=notrunc status=none
	done
}
entries() {	# DATASET: its backups' snapshot names, oldest first
	Z backup list -s "$store" --json "$1" |
		python3 -c 'import json,sys; print(" ".join(b["snapshot"] for b in json.load(sys.stdin)["backups"]))'
}

# ---- 1. prune -------------------------------------------------------------------
log_must zfs create zb/a
fill /mnt/zb/a 4
for s in k1 k2 k3 k4 k5; do
	change zb/a
	log_must zfs snapshot "zb/a@$s"
	case $s in
	k1|k4) log_must Z backup -s "$store" --snapshot "$s" zb/a ;;
	*) log_must Z backup -s "$store" --snapshot "$s" --incremental zb/a ;;
	esac
done
assert_eq "$(entries zb/a)" "k1 k2 k3 k4 k5" "backups before prune"
log_must Z backup prune -s "$store" --keep last_n:1 --dry-run
assert_eq "$(entries zb/a)" "k1 k2 k3 k4 k5" "backups after a dry run"
log_must Z backup prune -s "$store" --keep last_n:1
assert_eq "$(entries zb/a)" "k4 k5" "backups after prune"

# ---- 2. gc ------------------------------------------------------------------------
chunks() { find "$store" -name '*.cacnk' | wc -l; }
before=$(chunks)
log_must Z store gc -s "$store" --min-age 0s --grace 0s
log_must Z store gc -s "$store" --min-age 0s --grace 0s
after=$(chunks)
log_note "chunks: $before before gc, $after after"
[ "$after" -lt "$before" ] || log_fail "gc removed no chunk ($before, $after)"
[ -z "$(find "$store" -name '*.fossil')" ] || log_fail "fossils left after the second pass"
log_must Z restore -s "$store" zb/a@k5 zb/a-r
log_must zfs rollback zb/a@k5
assert_eq "$(fs_checksum zb/a-r)" "$(fs_checksum zb/a)" "files restored after gc"
log_must Z store verify -s "$store"
log_time "prune and gc done"

# ---- 3. gc while backups run -------------------------------------------------------------
for fs in b c; do
	log_must zfs create "zb/$fs"
	fill "/mnt/zb/$fs" 4
done
backup_loop() {	# FS
	local i
	for i in 1 2 3 4; do
		change "$1"
		zfs snapshot "$1@r$i" || return 1
		Z backup -s "$store" --snapshot "r$i" --incremental "$1" >/dev/null || return 1
	done
}
backup_loop zb/b & pb=$!
backup_loop zb/c & pc=$!
passes=0
while kill -0 "$pb" 2>/dev/null || kill -0 "$pc" 2>/dev/null; do
	Z store gc -s "$store" --min-age 0s --grace 1s >/dev/null || log_fail "gc pass failed"
	passes=$((passes + 1))
done
wait "$pb" || log_fail "backups of zb/b failed"
wait "$pc" || log_fail "backups of zb/c failed"
log_note "$passes gc passes ran beside the backups"
[ "$passes" -ge 2 ] || log_fail "gc ran only $passes times beside the backups"
sleep 1.2
log_must Z store gc -s "$store" --min-age 0s --grace 1s
log_must Z store gc -s "$store" --min-age 0s --grace 1s
for fs in b c; do
	assert_eq "$(entries "zb/$fs")" "r1 r2 r3 r4" "backups of zb/$fs"
	for i in 1 2 3 4; do
		Z restore -s "$store" -o "$TEST_TMP/out.zs" "zb/$fs@r$i" ||
			log_fail "zb/$fs@r$i does not restore after gc"
		base=""
		[ "$i" -gt 1 ] && base="-i zb/$fs@r$((i - 1))"
		zfs send $base "zb/$fs@r$i" | cmp -s - "$TEST_TMP/out.zs" ||
			log_fail "zb/$fs@r$i: restored stream differs"
	done
done
log_time "gc beside backups done"

# ---- 4. verify names the broken backup ------------------------------------------------------
data_index=$(cat "$store"/catalogue/zb%2Fa/*.json | python3 -c '
import json,sys
for line in sys.stdin:
    e = json.loads(line)
    if e["snapshot"] == "k5": print(e["data_index"])')
only_k5=$(comm -23 <(Z store list-chunks "$store/index/$data_index.caibx" | awk '{print $NF}' | sort -u) \
	<(for f in "$store"/index/*.caibx; do [ "$f" = "$store/index/$data_index.caibx" ] ||
		Z store list-chunks "$f"; done | awk '{print $NF}' | sort -u) | grep -E '^[0-9a-f]{64}$' | head -1)
[ -n "$only_k5" ] || log_fail "no chunk only k5 needs"
rm "$store/${only_k5:0:4}/$only_k5.cacnk"
capture Z store verify -s "$store"
assert_eq "$RC" 1 "verify with a missing chunk"
assert_contains "$OUT" "zb/a@k5"
assert_contains "$OUT" "$only_k5"
assert_not_contains "$OUT" "zb/b@" "verify of a store where only k5 is broken"
log_pass
