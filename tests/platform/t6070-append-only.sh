#!/usr/bin/env bash
# DESCRIPTION: issue 13 — append-only grants: a client can add backups to
#   its subtree and resume them, but a stolen sender cannot destroy, roll
#   back, rename, overwrite or release what is there (judged by zfs)
# STRATEGY:
#  1. zferry serve (tcp, identity tcp:127.0.0.1) with `append:
#     [zs2/backup/laptop]`.  The client replicates zs1/home there: a full
#     receive into a new filesystem, two incrementals, and an incremental
#     cut by kill -9 that the next run resumes.  Each time the newest
#     source snapshot arrives (guid).
#  2. The admin holds the first backup snapshot and bookmarks it.  The
#     client, now the attacker, tries with raw frames (tests/lib/
#     zf-raw-client.py): destroying snapshots, renaming the filesystem and
#     a snapshot, inherit, releasing the admin's hold, destroying the
#     admin's bookmark, a snapshot under the admin's naming, a RECV asking
#     for FORCE, and a full stream over the existing filesystem without it
#     (zfs refuses that one: "must specify -F"); and with the stock client:
#     --force-rollback after diverging the source, --rename-diverged, and
#     --force-rollback of another filesystem over one it created without
#     snapshots (a full receive with -F).  Each is refused, the ones zferry
#     decides with "may only append to 'zs2/backup/laptop'".
#  3. `zfs list -t all -o name,guid` of zs2 and the holds are what they
#     were before the attack.
#  4. Reading back works: a pull with --no-sync-snap restores the backups;
#     pulls with sync snapshots succeed too, leaving their older sync
#     snapshot there (the server refuses to destroy it).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

raw() { python3 "$TEST_SRCDIR/tests/lib/zf-raw-client.py" 127.0.0.1 "$SERVE_PORT" "$@"; }

pool_create zs1 512M
pool_create zs2 512M
log_must zfs create -o compression=off zs1/home
echo one >/mnt/zs1/home/f
log_must zfs create -p zs2/backup/laptop

cat >"$TEST_TMP/zferry.yml" <<CFG
serve:
  tcp:
    allow: [127.0.0.1]
  clients:
    - identity: "tcp:127.0.0.1"
      append: [zs2/backup/laptop]
CFG
serve_start "$TEST_TMP/zferry.yml" tcp://127.0.0.1:0
url=tcp://127.0.0.1:$SERVE_PORT
dst=zs2/backup/laptop/home
newest() { zfs list -H -t snapshot -o name -s createtxg -d 1 "$1" | tail -n1; }
arrived()	# WHAT: the source's newest snapshot is on the target, same guid
{
	local s
	s=$(newest zs1/home)
	assert_eq "$(guid "$dst@${s#*@}")" "$(guid "$s")" "$1: ${s#*@} on the target"
}

# ---- 1. adding works: full into a new filesystem, incrementals, a resume -----------
log_must "$ZFERRY" replicate --no-progress zs1/home "$url/$dst"
arrived "full receive"
first=$(newest $dst)
echo two >>/mnt/zs1/home/f
log_must "$ZFERRY" replicate --no-progress zs1/home "$url/$dst"
arrived "first incremental"
second=$(newest zs1/home)
# a snapshot of the user's, which (unlike sync snapshots) stays on the source
log_must zfs snapshot zs1/home@manual
echo three >>/mnt/zs1/home/f
log_must "$ZFERRY" replicate --no-progress zs1/home "$url/$dst"
arrived "second incremental"
assert_eq "$(guid $dst@manual)" "$(guid zs1/home@manual)" "the intermediate @manual"

log_must dd if=/dev/urandom of=/mnt/zs1/home/big bs=1M count=64 status=none
"$ZFERRY" replicate --no-progress zs1/home "$url/$dst" >/dev/null 2>&1 &
kill9_during_recv $! "$dst"
token=$(zfs get -H -o value receive_resume_token $dst)
[ "$token" != - ] || log_fail "no resume token after kill -9"
capture_out "$ZFERRY" replicate --no-progress --json zs1/home "$url/$dst"
assert_eq "$RC" 0 "the run after the cut"
sent=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["filesystems"][0]["bytes"])' "$OUT")
log_note "the run after the cut sent $sent bytes"
# the cut came after zfs recv had read 8 MiB of a 64 MiB increment: it resumed
[ "$sent" -lt $((60 << 20)) ] || log_fail "the run after the cut sent $sent bytes: no resume"
assert_eq "$(zfs get -H -o value receive_resume_token $dst)" - "token after the resume"
arrived "resumed incremental"

# ---- 2. the attacker -----------------------------------------------------------------
# creating a filesystem adds: allowed (one without snapshots, for the overwrite below)
log_must raw CREATE FS=zs2/backup/laptop/empty
# the receive policy created it canmount=noauto: the admin mounts it and puts data there
log_must zfs mount zs2/backup/laptop/empty
echo precious >/mnt/zs2/backup/laptop/empty/f || log_fail "cannot write into the new filesystem"
log_must zfs hold keep "$first"
log_must zfs bookmark "$first" "$dst#adminmark"
before=$(zfs list -H -t all -o name,guid -r zs2)
allholds() { zfs list -H -t snapshot -o name -r zs2 | xargs zfs holds -H | sort; }
holds_before=$(allholds)

refused_raw()	# WHAT REQUEST...
{
	local what=$1
	shift
	capture raw "$@"
	assert_eq "$RC" 1 "$what: status"
	assert_contains "$OUT" "ERROR 6 " "$what: DENIED"
	assert_contains "$OUT" "may only append to 'zs2/backup/laptop'" "$what: says why"
}
refused_raw "destroy a snapshot" DESTROY_VERSIONS FS=$dst NAME="${first#*@}"
refused_raw "destroy snapshots" DESTROY_VERSIONS FS=$dst NAME="${first#*@}" NAME="${second#*@}"
refused_raw "rename the filesystem" RENAME FROM=$dst TO=zs2/backup/laptop/gone
refused_raw "rename a snapshot" RENAME FROM="$first" TO=$dst@renamed
refused_raw "inherit" INHERIT FS=$dst PROP=readonly
refused_raw "release the admin's hold" RELEASE HOLD_TAG=keep SNAPSHOT="$first"
refused_raw "destroy the admin's bookmark" DESTROY_BOOKMARK BOOKMARK=$dst#adminmark
refused_raw "a snapshot of the admin's naming" SNAPSHOT FS=$dst NAME=daily-2026-12-07
refused_raw "receive with -F" RECV FS=$dst RESUMABLE=bool:1 FORCE=bool:1

# a full stream over the existing filesystem, without -F: zfs itself refuses it
log_must zfs create zs1/other
log_must zfs snapshot zs1/other@x
zfs send zs1/other@x >"$TEST_TMP/full.zstream" || log_fail "zfs send zs1/other@x"
capture env ZF_RAW_STREAM="$TEST_TMP/full.zstream" python3 \
	"$TEST_SRCDIR/tests/lib/zf-raw-client.py" 127.0.0.1 "$SERVE_PORT" RECV FS=$dst RESUMABLE=bool:1
assert_eq "$RC" 1 "full stream over the existing filesystem: status"
assert_contains "$OUT" "must specify -F" "full stream over the existing filesystem: zfs says why"

# the stock client: diverge the source, then ask for a rollback, a rename, an overwrite
log_must zfs rollback -r zs1/home@manual
echo diverged >/mnt/zs1/home/f
log_must zfs snapshot zs1/home@diverged
refused_run()	# WHAT ARGS...
{
	local what=$1
	shift
	capture "$ZFERRY" replicate --no-progress "$@"
	[ "$RC" != 0 ] || log_fail "$what: succeeded"
	[ "$RC" -lt 128 ] || log_fail "$what: crashed ($RC)"
	assert_contains "$OUT" "may only append to 'zs2/backup/laptop'" "$what: says why"
}
refused_run "--force-rollback" --force-rollback zs1/home "$url/$dst"
refused_run "--rename-diverged" --rename-diverged zs1/home "$url/$dst"
# over a filesystem without snapshots --force-rollback plans a full receive with -F
refused_run "a full stream over a filesystem" --force-rollback zs1/other \
	"$url/zs2/backup/laptop/empty"
# over one with snapshots the planner itself refuses (no common snapshot)
log_mustnot "$ZFERRY" replicate --no-progress --force-rollback zs1/other "$url/$dst"

# ---- 3. judged by zfs: nothing changed -------------------------------------------------
assert_eq "$(zfs list -H -t all -o name,guid -r zs2)" "$before" "zs2 after the attacks"
assert_eq "$(allholds)" "$holds_before" "holds after the attacks"
assert_contains "$(zfs holds -H "$first")" "keep" "the admin's hold"
assert_eq "$(cat /mnt/zs2/backup/laptop/empty/f)" precious "the data of the filesystem without snapshots"

# adding stays possible: a new filesystem next to it
log_must "$ZFERRY" replicate --no-progress zs1/other "$url/zs2/backup/laptop/other"
assert_eq "$(guid zs2/backup/laptop/other@x)" "$(guid zs1/other@x)" "a new filesystem"

# ---- 4. reading back (a restore) ---------------------------------------------------------
# --no-sync-snap adds nothing to the backups but the client's cursor bookmark
log_must "$ZFERRY" replicate --no-progress --no-sync-snap "$url/$dst" zs1/restore
assert_eq "$(guid zs1/restore@manual)" "$(guid $dst@manual)" "restored @manual"
assert_eq "$(guid "zs1/restore@${first#*@}")" "$(guid "$first")" "restored the first backup"
# with sync snapshots, the run cannot remove its older one there: a note, not a failure
log_must "$ZFERRY" replicate --no-progress "$url/$dst" zs1/restore2
old=$(zfs list -H -t snapshot -o name -d 1 $dst | grep "@zferry_tcp:" | tr '\n' ' ')
[ -n "$old" ] || log_fail "no sync snapshot of the client's on the target"
log_must zfs snapshot $dst@admin2     # something new there, so the next pull sends
capture "$ZFERRY" -v replicate --no-progress "$url/$dst" zs1/restore2
assert_eq "$RC" 0 "the second pull"
assert_eq "$(guid zs1/restore2@admin2)" "$(guid $dst@admin2)" "the second pull"
assert_contains "$OUT" "obsolete sync snapshots stay" "the second pull: a note"
assert_contains "$OUT" "may only append to 'zs2/backup/laptop': DESTROY_VERSIONS refused" \
	"the second pull: why"
for s in $old; do
	log_must zfs list -H -o name "$s"
done
log_pass
