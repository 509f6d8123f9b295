#!/usr/bin/env bash
# DESCRIPTION: the zfs layer lists filesystems, snapshots and bookmarks with
#   guid, createtxg, creation and holds, exactly as zfs reports them
# STRATEGY:
#  1. Make a small tree with snapshots, a bookmark and a hold.
#  2. zferry list --json and the table agree with zfs get.
#  3. -r lists descendants; without it only the named dataset; a filter
#     leaves names out.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zt1
log_must zfs create zt1/a
log_must zfs create "zt1/a/child one"
log_must zfs snapshot -r zt1/a@s1
log_must zfs snapshot zt1/a@s2
log_must zfs bookmark zt1/a@s1 zt1/a#b1
log_must zfs hold keep zt1/a@s2
log_onexit zfs release keep zt1/a@s2

capture "$ZFERRY" list --json -r zt1/a
assert_eq "$RC" 0
json=$OUT
check()
{
	python3 - "$json" "$@" <<'PY'
import json, subprocess, sys
doc = json.loads(sys.argv[1])
names = [d["name"] for d in doc["datasets"]]
assert names == ["zt1/a", "zt1/a/child one"], names
def zget(prop, name):
    return subprocess.check_output(["zfs", "get", "-Hp", "-o", "value", prop, name], text=True).strip()
for d in doc["datasets"]:
    assert d["guid"] == zget("guid", d["name"]), d
    for v in d["versions"]:
        sep = "#" if v["type"] == "bookmark" else "@"
        full = d["name"] + sep + v["name"]
        assert v["guid"] == zget("guid", full), (full, v)
        assert str(v["createtxg"]) == zget("createtxg", full), (full, v)
        assert str(v["creation"]) == zget("creation", full), (full, v)
        if v["type"] == "snapshot":
            assert str(v["holds"]) == zget("userrefs", full), (full, v)
a = doc["datasets"][0]["versions"]
assert [(v["name"], v["type"]) for v in a] == [("s1", "snapshot"), ("b1", "bookmark"), ("s2", "snapshot")], a
assert a[2]["holds"] == 1
assert [v["name"] for v in doc["datasets"][1]["versions"]] == ["s1"]
PY
}
log_must check

capture "$ZFERRY" list zt1/a
assert_eq "$RC" 0
assert_contains "$OUT" "zt1/a@s2"
assert_contains "$OUT" "zt1/a#b1"
assert_not_contains "$OUT" "child one"

# the zfs layer's filter (zfs-tool -x leaves out names matching a regex)
capture "$ZFS_TOOL" list-fs -r -x ' one$' zt1
assert_eq "$(echo "$OUT" | cut -f1 | tr '\n' ,)" "zt1,zt1/a," "filtered listing"

capture "$ZFERRY" list -t filesystem -r zt1
assert_contains "$OUT" "zt1/a/child one"
assert_not_contains "$OUT" "@s1"
log_pass
