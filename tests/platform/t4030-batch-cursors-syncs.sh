#!/usr/bin/env bash
# DESCRIPTION: DESIGN.md guarantee 3 with batches — a run over a tree moves
#   every cursor and removes old sync snapshots in one zfs channel program,
#   with names that hold spaces, ':' and '.'; a batch that leaves a held
#   snapshot reports only what went; with no channel programs the run does
#   the same one command each
# STRATEGY:
#  1. Replicate a tree twice: each filesystem has one cursor (on its newest
#     sync snapshot's guid) and one sync snapshot, and zferry ran `zfs program`.
#  2. Hold one filesystem's sync snapshot, write and replicate: that one stays
#     and is not reported removed; every other filesystem's old one goes.
#  3. Release the hold and replicate with a zfs that refuses `zfs program`:
#     the run succeeds one command each, with one cursor and one sync each.
#  4. Replicate again with nothing new (issue 13): each side is listed once
#     (zfs list, zpool sync, zfs get: six processes in all, counted from the
#     debug log) and nothing is run per filesystem.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zs1
pool_create zs2
fss=("zs1/src" "zs1/src/we ird.x:y" "zs1/src/c-1" "zs1/src/c-1/deep one")
for fs in "${fss[@]}"; do
	log_must zfs create "$fs"
done
write() { for fs in "${fss[@]}"; do date +%s%N >"$(zfs get -H -o value mountpoint "$fs")/f"; done; }
syncs() { zfs list -H -t snapshot -o name -s createtxg -d 1 "$1" | sed -n 's/.*@\(zferry_t1_.*\)/\1/p'; }
cursors() { zfs list -H -t bookmark -o name -d 1 "$1" | sed -n 's/.*#\(zferry_cursor_t1_.*\)/\1/p'; }
# one cursor and one sync snapshot (N of them with a second argument) on each, the same guid
check_tree() {
	local fs want
	for fs in "${fss[@]}"; do
		want=1
		[ "$fs" != "${2:-}" ] || want=2
		assert_eq "$(syncs "$fs" | wc -l)" "$want" "sync snapshots on '$fs' $1"
		assert_eq "$(cursors "$fs" | wc -l)" 1 "cursors on '$fs' $1"
		assert_eq "$(guid "$fs#$(cursors "$fs")")" "$(guid "$fs@$(syncs "$fs" | tail -n1)")" \
			"cursor guid on '$fs' $1"
		assert_eq "$(zfs get -Hp -o value userrefs "$fs@$(syncs "$fs" | tail -n1)")" 0 \
			"holds on '$fs' $1"
	done
}

write
log_must "$ZFERRY" replicate -r --no-progress --target-id t1 zs1/src zs2/dst
check_tree "after the first run"
sleep 1
write
capture_out "$ZFERRY" --log-level=debug replicate -r --json --target-id t1 zs1/src zs2/dst
assert_eq "$RC" 0 "second run"
assert_contains "$ERR" "running zfs program zs1 "
assert_not_contains "$ERR" "one command each"
assert_not_contains "$ERR" "one filesystem at a time"
check_tree "after the second run"

# 2. a user's hold keeps one old sync snapshot; the batch takes the others
held="zs1/src/we ird.x:y@$(syncs "zs1/src/we ird.x:y")"
log_must zfs hold keep "$held"
sleep 1
write
capture_out "$ZFERRY" replicate -r --json --target-id t1 zs1/src zs2/dst
assert_eq "$RC" 0 "run with a held old sync snapshot"
check_tree "with a held one" "zs1/src/we ird.x:y"
python3 -c '
import json, sys
r = json.loads(sys.argv[1])
for f in r["filesystems"]:
    if f["source"] == "zs1/src/we ird.x:y":
        assert f["removed"] == [], f
    else:
        assert len(f["removed"]) == 1, f
' "$OUT" || log_fail "removed lists wrong: $OUT"

# 3. no channel programs (an older zfs, or not root): one command each
log_must zfs release keep "$held"
mkdir -p "$TEST_TMP/bin"
real=$(command -v zfs)
cat >"$TEST_TMP/bin/zfs" <<EOF
#!/bin/sh
if [ "\$1" = program ]; then
	echo "cannot run channel program: permission denied" >&2
	exit 1
fi
exec "$real" "\$@"
EOF
chmod +x "$TEST_TMP/bin/zfs"
sleep 1
write
capture_out env PATH="$TEST_TMP/bin:$PATH" "$ZFERRY" replicate -r --json --target-id t1 \
	zs1/src zs2/dst
assert_eq "$RC" 0 "run without channel programs"
check_tree "after the run without channel programs"
python3 -c '
import json, sys
r = json.loads(sys.argv[1])
for f in r["filesystems"]:
    want = 2 if f["source"] == "zs1/src/we ird.x:y" else 1
    assert len(f["removed"]) == want, f
' "$OUT" || log_fail "removed lists wrong without channel programs: $OUT"
for fs in "${fss[@]}"; do
	assert_eq "$(guid "zs2/dst${fs#zs1/src}@$(syncs "$fs")")" "$(guid "$fs@$(syncs "$fs")")" \
		"newest sync snapshot on the target of '$fs'"
done

# 4. nothing new: no process per filesystem
capture_out "$ZFERRY" --log-level=debug replicate -r --target-id t1 zs1/src zs2/dst
assert_eq "$RC" 0 "run with nothing new"
n=$(printf '%s\n' "$ERR" | grep -c 'running z\(fs\|pool\) ' || true)
[ "$n" -le 6 ] || log_fail "a run with nothing new ran $n zfs/zpool processes: $ERR"
for verb in snapshot hold release bookmark program send recv destroy; do
	assert_not_contains "$ERR" "running zfs $verb " "the log of a run with nothing new"
done
check_tree "after a run with nothing new"
log_pass
