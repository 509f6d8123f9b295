#!/usr/bin/env bash
# DESCRIPTION: issue 11's guard rails — what replicate refuses before it
#   touches the sender, one cursor and one sync snapshot series per target,
#   sync snapshots removed once no target needs them, read-only sources
#   rescued, replicas never mounted over a path in use
# STRATEGY: each case on real pools, judged by `zfs list/get`, holds and the
#   files themselves, never by zferry's report alone.
#  1. SRC = DST, DST inside SRC, SRC inside DST: refused in one line, and
#     neither a sync snapshot nor a target appears.
#  2. Failures that only the target can tell (its parent missing, its pool
#     read-only, a name zfs would refuse once the snapshot is added): refused
#     before the sync snapshot, which is not taken.
#  3. Two targets without --target-id: each gets its own cursor, hold tag and
#     sync snapshots; a run to one never moves the other's cursor, and the
#     sync snapshot the other still needs survives the cleanup, which is
#     reported in --json and happens on the sender.
#  4. The sender's pool imported read-only: -r --no-sync-snap replicates the
#     tree, says "read-only" once, and leaves no hold or bookmark behind.
#  5. A source mounted at a path in use: --props --mount neither takes the
#     source's mountpoint nor mounts over a non-empty directory; the source's
#     files stay writable.
#  6. At debug level the log shows the zfs send and zfs recv command lines.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zs1 384M
pool_create zs2 384M
syncs() { zfs list -H -t snapshot -o name -d 1 "$1" | grep -c '@zferry_' || true; }
one_line() { [ "$(printf '%s\n' "$OUT" | grep -c .)" = 1 ] || log_fail "$1: not one line: $OUT"; }

# 1. overlaps
log_must zfs create -p zs1/data/sub
for pair in "zs1/data zs1/data" "zs1/data zs1/data/backup" "zs1/data/sub zs1/data"; do
	set -- $pair
	capture "$ZFERRY" replicate -r "$1" "$2"
	[ "$RC" != 0 ] || log_fail "replicate $pair succeeded"
	one_line "replicate $pair"
	assert_eq "$(syncs zs1/data)$(syncs zs1/data/sub)" 00 "sync snapshots after 'replicate $pair'"
done
assert_contains "$OUT" "lies inside DST" "SRC inside DST"
capture zfs list -H -o name zs1/data/backup
assert_eq "$RC" 1 "a target inside its source"

# 2. the target refuses before anything is taken
capture "$ZFERRY" replicate zs1/data zs2/nope/data
assert_eq "$RC" 1 "missing parent"
one_line "missing parent"
assert_contains "$OUT" "zs2/nope"
assert_eq "$(syncs zs1/data)" 0 "sync snapshot after a missing parent"

long=zs2/$(printf 'n%.0s' $(seq 1 200))
log_must zfs create "$long"
capture "$ZFERRY" replicate zs1/data "$long/data-with-a-long-name"
assert_eq "$RC" 1 "a name too long with its snapshot"
assert_contains "$OUT" "longer than zfs takes"
assert_eq "$(syncs zs1/data)" 0 "sync snapshot after a name too long"
log_must zfs destroy "$long"

img=$(zpool list -H -v -P zs2 | awk '$1 ~ /^\// {print $1}')
log_must zpool export zs2
log_must zpool import -d "$(dirname "$img")" -o readonly=on zs2
capture "$ZFERRY" replicate zs1/data zs2/data
assert_eq "$RC" 1 "a read-only target pool"
assert_contains "$OUT" "read-only"
assert_eq "$(syncs zs1/data)" 0 "sync snapshot after a read-only target"
log_must zpool export zs2
log_must zpool import -d "$(dirname "$img")" zs2

# 3. two targets, two cursors, cleanup of what neither needs
log_must zfs create zs2/b
echo one >/mnt/zs1/data/f
ids=()
for t in zs2/a zs2/b/a; do
	capture_out "$ZFERRY" replicate --json zs1/data "$t"
	assert_eq "$RC" 0 "first run to $t"
	ids+=("$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_id"])')")
done
[ "${ids[0]}" != "${ids[1]}" ] || log_fail "both targets have id ${ids[0]}"
marks=$(zfs list -H -t bookmark -o name -d 1 zs1/data)
for id in "${ids[@]}"; do
	assert_contains "$marks" "#zferry_cursor_${id}_g" "cursor of target $id"
	assert_eq "$(zfs list -H -t snapshot -o name -d 1 zs1/data | grep -c "@zferry_${id}_")" 1 \
		"sync snapshots of target $id"
done
a_cursor=$(zfs list -H -t bookmark -o name,guid -d 1 zs1/data | grep "_${ids[0]}_g")
b_sync=$(zfs list -H -t snapshot -o name -d 1 zs1/data | grep "@zferry_${ids[1]}_")

echo two >>/mnt/zs1/data/f
sleep 1         # sync snapshot names carry the second
capture_out "$ZFERRY" replicate --json zs1/data zs2/b/a
assert_eq "$RC" 0 "second run to zs2/b/a"
python3 -c '
import json, sys
f = json.loads(sys.argv[1])["filesystems"][0]
assert f["removed"] == [sys.argv[2].split("@")[1]], f
' "$OUT" "$b_sync" || log_fail "the removed sync snapshot is not reported: $OUT"
assert_eq "$(zfs list -H -t bookmark -o name,guid -d 1 zs1/data | grep "_${ids[0]}_g")" \
	"$a_cursor" "the other target's cursor after a run to zs2/b/a"
capture zfs list -H -o name "$b_sync"
assert_eq "$RC" 1 "zs2/b/a's old sync snapshot removed"
assert_contains "$OUT" "dataset does not exist"
assert_eq "$(zfs list -H -t snapshot -o name -d 1 zs1/data | grep -c "@zferry_${ids[0]}_")" 1 \
	"zs2/a's sync snapshot, still its base, kept"
log_must zfs mount zs2/b/a
assert_eq "$(cat /mnt/zs2/b/a/f)" "$(printf 'one\ntwo')" "content at zs2/b/a"
log_must zfs umount zs2/b/a
capture "$ZFERRY" replicate zs1/data zs2/a
assert_eq "$RC" 0 "incremental to zs2/a after zs2/b/a moved on"
assert_contains "$OUT" "incremental"
# a periodic snapshot, newest and unwritten since, is a base as it is
log_must "$ZFERRY" snapshot zs1/data
capture_out "$ZFERRY" replicate --json zs1/data zs2/a
assert_eq "$RC" 0 "run after a periodic snapshot"
assert_contains "$OUT" '"sync_snapshot":null' "sync snapshot over an unwritten periodic one"

# 4. a read-only sender: what can be done, without holds or bookmarks
log_must zfs create -p zs1/tree/x
echo x >/mnt/zs1/tree/x/f
log_must zfs snapshot -r zs1/tree@ro
img=$(zpool list -H -v -P zs1 | awk '$1 ~ /^\// {print $1}')
log_must zpool export zs1
log_must zpool import -d "$(dirname "$img")" -o readonly=on zs1
capture "$ZFERRY" replicate -r zs1/tree zs2/rescue
assert_eq "$RC" 0 "rescue from a read-only pool"
assert_eq "$(printf '%s\n' "$OUT" | grep -c 'read-only')" 1 "read-only said once"
assert_eq "$(guid zs2/rescue/x@ro)" "$(guid zs1/tree/x@ro)" "rescued snapshot"
assert_eq "$(zfs get -Hp -o value userrefs zs1/tree/x@ro)" 0 "holds on a read-only sender"
assert_eq "$(zfs list -H -t bookmark -o name -r zs1/tree | wc -l)" 0 "bookmarks on a read-only sender"
log_must zpool export zs1
log_must zpool import -d "$(dirname "$img")" zs1

# 5. a path in use is never mounted over
mkdir -p /srv/app
log_must zfs create -o mountpoint=/srv/app zs1/app
echo live >/srv/app/data
log_must "$ZFERRY" replicate --props --mount zs1/app zs2/app
assert_eq "$(zfs get -H -o source mountpoint zs2/app)" "inherited from zs2" "target mountpoint"
assert_eq "$(findmnt -n -o SOURCE /srv/app)" zs1/app "what is mounted at /srv/app"
echo still >>/srv/app/data || log_fail "the source's files are no longer writable"
log_must zfs umount zs2/app
# (canmount=on would make zfs set mount it there at once)
log_must zfs set canmount=noauto zs2/app
log_must zfs set mountpoint=/srv/busy zs2/app
mkdir -p /srv/busy && echo other >/srv/busy/keep || log_fail "cannot write /srv/busy/keep"
echo more >>/srv/app/data
capture "$ZFERRY" replicate --mount zs1/app zs2/app
assert_eq "$RC" 0 "incremental with --mount onto a busy path"
assert_contains "$OUT" "not empty"
assert_eq "$(zfs get -H -o value mounted zs2/app)" no "mounted over a non-empty directory"
assert_eq "$(cat /srv/busy/keep)" other "the directory's own files"

# 6. zfs command lines at debug level
echo dbg >>/srv/app/data
capture "$ZFERRY" --log-level=debug replicate zs1/app zs2/app
assert_eq "$RC" 0 "debug run"
assert_contains "$OUT" "running zfs send"
assert_contains "$OUT" "running zfs recv"
log_must zfs destroy -r zs1/app
log_pass
