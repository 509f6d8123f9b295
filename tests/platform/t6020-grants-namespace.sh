#!/usr/bin/env bash
# DESCRIPTION: issue 10 point 4 — one client cannot undo another's protection:
#   what a client creates or removes under a read grant is its own
#   (namespaced by identity); under a write grant the subtree is its own
# STRATEGY:
#  1. zferry serve (tcp, identity tcp:127.0.0.1, namespace tcp:127.2e0.2e0.2e1):
#     read zs2/src, write zs2/backup.  On zs2/src the admin holds @a ("admin")
#     and bookmarks it, and another client ("desk") has a hold and a cursor.
#  2. Two pulls: they work; the sync snapshots, cursor and holds they make
#     are in the client's namespace; afterwards none of its holds remain and
#     the admin's and desk's are untouched.
#  3. Raw frames (tests/lib/zf-raw-client.py): releasing the admin's or desk's
#     hold, destroying their bookmarks, a snapshot with a name of the admin's
#     scheme, destroying @a: each refused and checked with zfs.  The same
#     requests in the client's own namespace succeed, and under the write
#     grant a foreign hold can be released.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

raw() { python3 "$TEST_SRCDIR/tests/lib/zf-raw-client.py" 127.0.0.1 "$SERVE_PORT" "$@"; }
ns='tcp:127.2e0.2e0.2e1'

pool_create zs1 256M
pool_create zs2 256M
log_must zfs create zs2/src
log_must zfs create zs2/backup
log_must zfs snapshot zs2/src@a
log_must zfs hold admin zs2/src@a
log_must zfs hold zferry_replicate_desk zs2/src@a
log_must zfs bookmark zs2/src@a zs2/src#adminmark
log_must zfs bookmark zs2/src@a zs2/src#zferry_cursor_desk_g1

cat >"$TEST_TMP/zferry.yml" <<CFG
serve:
  tcp:
    allow: [127.0.0.1]
  clients:
    - identity: "tcp:127.0.0.1"
      read: [zs2/src]
      write: [zs2/backup]
CFG
serve_start "$TEST_TMP/zferry.yml" tcp://127.0.0.1:0
url=tcp://127.0.0.1:$SERVE_PORT
holds() { zfs holds -H "$1" 2>/dev/null | cut -f2 | sort | tr '\n' ' '; }

# ---- 2. pulls make only what is theirs --------------------------------------------
log_must "$ZFERRY" replicate "$url/zs2/src" zs1/copy
echo more >/mnt/zs2/src/f
log_must "$ZFERRY" replicate "$url/zs2/src" zs1/copy
mine=$(zfs list -H -t snapshot -o name -d 1 zs2/src | grep -c "^zs2/src@zferry_${ns}_") || true
[ "$mine" -ge 1 ] || log_fail "no sync snapshot in the client's namespace: $(snaps zs2/src)"
assert_eq "$(zfs list -H -t snapshot -o name -d 1 zs2/src | grep -v "@zferry_${ns}_" | tr '\n' ' ')" \
	"zs2/src@a " "no other snapshots were made"
marks=$(zfs list -H -t bookmark -o name -d 1 zs2/src | sort | tr '\n' ' ')
# the client's cursor: its namespace, then the target's id (t + 8 hex digits)
printf '%s\n' $marks | grep -Eq "^zs2/src#zferry_cursor_${ns}_t[0-9a-f]{8}_g[0-9a-f]{16}\$" ||
	log_fail "no cursor of the client's in: $marks"
assert_contains "$marks" "zs2/src#adminmark" "the admin's bookmark"
assert_contains "$marks" "zs2/src#zferry_cursor_desk_g1" "desk's cursor"
assert_eq "$(holds zs2/src@a)" "admin zferry_replicate_desk " "holds on @a after the pulls"
for s in $(zfs list -H -t snapshot -o name -d 1 zs2/src); do
	assert_not_contains "$(holds "$s")" "zferry_replicate_$ns" "hold left on $s"
done
assert_eq "$(guid zs1/copy@a)" "$(guid zs2/src@a)" "the pull arrived"

# ---- 3. what is not the client's ----------------------------------------------------
refused_raw()	# WHAT REQUEST...
{
	local what=$1
	shift
	capture raw "$@"
	assert_eq "$RC" 1 "$what: status"
	assert_contains "$OUT" "ERROR 6 " "$what: DENIED"
	assert_contains "$OUT" "only names of its own ('" "$what: says why"
}
refused_raw "release the admin's hold" RELEASE HOLD_TAG=admin SNAPSHOT=zs2/src@a
refused_raw "release desk's hold" RELEASE HOLD_TAG=zferry_replicate_desk SNAPSHOT=zs2/src@a
assert_eq "$(holds zs2/src@a)" "admin zferry_replicate_desk " "holds after the attempts"
refused_raw "hold under a foreign tag" HOLD HOLD_TAG=admin2 SNAPSHOT=zs2/src@a
refused_raw "destroy the admin's bookmark" DESTROY_BOOKMARK BOOKMARK=zs2/src#adminmark
refused_raw "destroy desk's cursor" DESTROY_BOOKMARK BOOKMARK=zs2/src#zferry_cursor_desk_g1
refused_raw "a bookmark in desk's name" BOOKMARK SNAPSHOT=zs2/src@a BOOKMARK=zs2/src#zferry_cursor_desk_g2
assert_eq "$(zfs list -H -t bookmark -o name -d 1 zs2/src | grep -c -e adminmark -e cursor_desk)" 2 \
	"bookmarks after the attempts"
refused_raw "a snapshot of the admin's scheme" SNAPSHOT FS=zs2/src NAME=daily-2026-12-07
refused_raw "destroy the admin's snapshot" DESTROY_VERSIONS FS=zs2/src NAME=a
assert_eq "$(zfs list -H -t snapshot -o name zs2/src@a)" zs2/src@a "@a after the attempts"
capture zfs list -H -o name zs2/src@daily-2026-12-07
assert_eq "$RC" 1 "no daily snapshot was made"

# the client's own names are its own
log_must raw HOLD "HOLD_TAG=zferry_replicate_$ns" SNAPSHOT=zs2/src@a
assert_contains "$(holds zs2/src@a)" "zferry_replicate_$ns" "own hold"
log_must raw RELEASE "HOLD_TAG=zferry_replicate_$ns" SNAPSHOT=zs2/src@a
log_must raw SNAPSHOT FS=zs2/src "NAME=zferry_${ns}_x"
log_must raw DESTROY_VERSIONS FS=zs2/src "NAME=zferry_${ns}_x"
capture zfs list -H -o name "zs2/src@zferry_${ns}_x"
assert_eq "$RC" 1 "own snapshot destroyed"
# under a write grant the subtree is the client's
log_must zfs create zs2/backup/x
log_must zfs snapshot zs2/backup/x@s
log_must zfs hold foreign zs2/backup/x@s
log_must raw RELEASE HOLD_TAG=foreign SNAPSHOT=zs2/backup/x@s
assert_eq "$(holds zs2/backup/x@s)" "" "released under the write grant"
log_pass
