#!/usr/bin/env bash
# DESCRIPTION: full then incremental replication of a tree of 22 filesystems
#   whose names hold spaces, dots and colons; content and guids match
# STRATEGY:
#  1. Build a tree of 22 filesystems with data, replicate -r to another pool.
#  2. Every target exists, is readonly, unmounted by the receive, and its
#     snapshots have the source's guids; contents match by checksum.
#  3. Change some files, replicate again: incremental (the JSON says so),
#     only the sync snapshot's delta is sent, contents match again.
#  4. A third run right away sends nothing big and succeeds.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zs1 512M
pool_create zs2 512M
fss=()
for top in "home" "data v1.0" "srv:web"; do
	fss+=("$top")
	for kid in "a" "b c" "d.e" "f:g" "h i/j"; do
		fss+=("$top/$kid")
	done
	fss+=("$top/h i")
done
# level by level, each level's at once: their zfs creates share txgs
log_must zfs create zs1/src
for depth in 0 1 2; do
	for fs in "${fss[@]}"; do
		slashes=${fs//[^\/]/}
		[ ${#slashes} != "$depth" ] || printf '%s\0' "zs1/src/$fs"
	done | xargs -0 -r -P 8 -n 1 zfs create || log_fail "cannot create the filesystems of depth $depth"
done
n=$(zfs list -H -o name -r zs1/src | wc -l)
[ "$n" -ge 20 ] || log_fail "only $n filesystems"
for fs in "${fss[@]}"; do
	head -c 20000 /dev/urandom >"/mnt/zs1/src/$fs/file"
done
log_must zfs snapshot -r zs1/src@base

t0=$(date +%s.%N)
capture_out "$ZFERRY" replicate -r --json zs1/src zs2/dst
log_note "first replicate took $(awk -v a="$(date +%s.%N)" -v b="$t0" "BEGIN{print a - b}") s"
assert_eq "$RC" 0 "first replicate"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["result"] == "ok", d
assert d["failed"] == 0
acts = {f["action"] for f in d["filesystems"]}
assert acts == {"full"}, acts
' "$OUT" || log_fail "unexpected JSON: $OUT"

check_tree()
{
	local fs
	# every snapshot of every source exists on the target with the same guid
	diff <(zfs list -Hp -t snapshot -o name,guid -r zs1/src | sed 's|^zs1/src|T|' | sort) \
		<(zfs list -Hp -t snapshot -o name,guid -r zs2/dst | sed 's|^zs2/dst|T|' | sort) ||
		log_fail "snapshots or guids differ"
	assert_eq "$(zfs get -H -t filesystem -o value -r readonly zs2/dst | sort -u)" on "readonly of targets"
	assert_eq "$(zfs get -H -t filesystem -o value -r canmount zs2/dst | sort -u)" noauto "canmount of targets"
	assert_eq "$(zfs get -H -t filesystem -o value -r mounted zs2/dst | sort -u)" no "mounted targets"
	for fs in "home/b c" "data v1.0/h i/j" "srv:web/f:g"; do
		log_must zfs mount "zs2/dst/$fs"
		assert_eq "$(fs_checksum "zs2/dst/$fs")" "$(fs_checksum "zs1/src/$fs")" "content of $fs"
		log_must zfs umount "zs2/dst/$fs"
	done
}
check_tree
assert_eq "$(zfs list -H -o name -r zs2/dst | wc -l)" "$n" "target filesystem count"

# cursor bookmarks on the sender
cursors=$(zfs list -H -t bookmark -o name -r zs1/src | grep -c '#zferry_cursor_t[0-9a-f]\{8\}_g') || true
assert_eq "$cursors" "$n" "one cursor bookmark per source"

echo changed >>"/mnt/zs1/src/home/b c/file"
echo new >"/mnt/zs1/src/data v1.0/h i/j/new"
t0=$(date +%s.%N)
capture_out "$ZFERRY" replicate -r --json zs1/src zs2/dst
log_note "incremental replicate took $(awk -v a="$(date +%s.%N)" -v b="$t0" "BEGIN{print a - b}") s"
assert_eq "$RC" 0 "incremental replicate"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
changed = {"zs2/dst/home/b c", "zs2/dst/data v1.0/h i/j"}
for f in d["filesystems"]:
    # a filesystem not written since its last snapshot takes no sync snapshot
    want = ("incremental",) if f["target"] in changed else ("incremental", "up-to-date")
    assert f["action"] in want, f
    assert f["result"] == "ok", f
    assert f["bytes"] < 200000, f
' "$OUT" || log_fail "unexpected JSON: $OUT"
check_tree

capture "$ZFERRY" replicate -r zs1/src zs2/dst
assert_eq "$RC" 0 "third replicate"
assert_contains "$OUT" "$n ok, 0 failed, 0 skipped"
# no hold is left behind
held=$(zfs list -Hp -t snapshot -o userrefs -r zs1/src | sort -u | tr '\n' ' ')
assert_eq "$held" "0 " "holds left on the sender"
log_pass
