#!/usr/bin/env bash
# DESCRIPTION: issue 10 points 2 and 3 — nothing outside a grant can be named
#   indirectly: a clone's origin, a resume token's snapshot or base (zfs
#   finds them by guid), and zfs's own error text
# STRATEGY:
#  1. zferry serve (tcp): read zs2/src, write zs2/backup and zs2/nope/laptop;
#     zs2/secret@s is outside every grant.
#  2. A clone stream whose origin is zs2/secret@s (the attacker holds a copy
#     with its guid): plain zfs recv would make a clone of the secret (shown
#     first); through the server it is refused and nothing is created.  A
#     clone whose origin lies inside the grant arrives as a clone.
#  3. Forged resume tokens (tests/lib/zf-token.py): naming zs2/src@s1 with
#     the secret's guid (zfs itself would send the secret: shown first), and
#     with the secret as incremental base: both refused, no byte sent.
#  4. A push whose zfs error names a dataset outside the grant (the missing
#     parent zs2/nope): the client gets DENIED with the text withheld, the
#     server's log keeps it.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

raw() { python3 "$TEST_SRCDIR/tests/lib/zf-raw-client.py" 127.0.0.1 "$SERVE_PORT" "$@"; }

pool_create zs1 256M
pool_create zs2 256M
log_must zfs create zs2/src
log_must zfs create zs2/backup
log_must zfs create zs2/secret
log_must zfs snapshot zs2/secret@s0
echo "top secret" >/mnt/zs2/secret/f
log_must zfs snapshot zs2/secret@s
# the admin published a clone of the secret's @s inside the client's read grant
log_must zfs clone zs2/secret@s zs2/src/pub
log_must zfs snapshot zs2/src/pub@c
echo "public" >/mnt/zs2/src/f
log_must zfs snapshot zs2/src@s1

cat >"$TEST_TMP/zferry.yml" <<CFG
serve:
  tcp:
    allow: [127.0.0.1]
  clients:
    - identity: "tcp:127.0.0.1"
      read: [zs2/src]
      write: [zs2/backup, zs2/nope/laptop]
CFG
serve_start "$TEST_TMP/zferry.yml" tcp://127.0.0.1:0
url=tcp://127.0.0.1:$SERVE_PORT
state() { zfs list -H -t all -o name,guid -r zs2 | sort; }

# ---- 2. a clone of something outside the grant -------------------------------------
# the attacker's side has a snapshot with the secret's guid (an old copy, a leak)
log_must sh -c "zfs send zs2/secret@s | zfs recv -u zs1/sc"
log_must zfs clone zs1/sc@s zs1/cl
log_must zfs snapshot zs1/cl@c
# what zfs alone does with such a stream: it finds the origin by guid in the pool
log_must sh -c "zfs send -i zs1/sc@s zs1/cl@c | zfs recv -u zs2/backup/plain-zfs"
assert_eq "$(zfs get -H -o value origin zs2/backup/plain-zfs)" zs2/secret@s "zfs's own origin search"
log_must zfs destroy -r zs2/backup/plain-zfs
before=$(state)
capture sh -c "zfs send -i zs1/sc@s zs1/cl@c | '$ZFERRY_BENCH' debug rpc-send --zfs-stream $url/zs2/backup/cl"
[ "$RC" != 0 ] || log_fail "a clone of zs2/secret@s was received"
assert_contains "$OUT" "origin" "refusal of the clone"
assert_not_contains "$OUT" "zs2/secret" "refusal names no outside dataset"
assert_eq "$(state)" "$before" "server after the clone stream"
# a clone whose origin is inside the grant arrives as a clone
log_must zfs create zs1/base
log_must zfs snapshot zs1/base@s
log_must "$ZFERRY" replicate --no-sync-snap zs1/base "$url/zs2/backup/base"
log_must zfs clone zs1/base@s zs1/bcl
log_must zfs snapshot zs1/bcl@c
log_must sh -c "zfs send -i zs1/base@s zs1/bcl@c | '$ZFERRY_BENCH' debug rpc-send --zfs-stream $url/zs2/backup/bcl"
assert_eq "$(zfs get -H -o value origin zs2/backup/bcl)" zs2/backup/base@s "clone inside the grant"

# ---- 3. forged resume tokens -----------------------------------------------------
sguid=$(guid zs2/secret@s)
tok=$(python3 "$TEST_SRCDIR/tests/lib/zf-token.py" zs2/src@s1 "$sguid")
# what zfs alone does with it: sends the secret, though the token names zs2/src@s1
assert_contains "$(zfs send -nvP -t "$tok" 2>&1)" "zs2/secret@s" "zfs resolves the token by guid"
capture raw SEND "RESUME_TOKEN=$tok"
assert_eq "$RC" 1 "forged token: status"
assert_contains "$OUT" "ERROR 6 " "forged token: DENIED"
assert_contains "$OUT" "not its guid"
assert_not_contains "$OUT" "RESPONSE"
# a base zfs itself refuses (not before the snapshot)
tok=$(python3 "$TEST_SRCDIR/tests/lib/zf-token.py" zs2/src@s1 "$(guid zs2/src@s1)" "$sguid")
capture raw SEND "RESUME_TOKEN=$tok"
assert_eq "$RC" 1 "unrelated base: status"
assert_not_contains "$OUT" "RESPONSE"
# a base zfs takes: the published clone's history goes back into zs2/secret
s0guid=$(guid zs2/secret@s0)
tok=$(python3 "$TEST_SRCDIR/tests/lib/zf-token.py" zs2/src/pub@c "$(guid zs2/src/pub@c)" "$s0guid")
assert_contains "$(zfs send -nvP -t "$tok" 2>&1)" "zs2/secret@s0" "zfs takes the origin's history as base"
capture raw SEND "RESUME_TOKEN=$tok"
assert_eq "$RC" 1 "base in the origin's history: status"
assert_contains "$OUT" "incremental base is not a snapshot or bookmark of 'zs2/src/pub'"
capture raw SEND_ESTIMATE "RESUME_TOKEN=$tok"
assert_eq "$RC" 1 "base in the origin's history, estimate: status"
# the origin itself is a base zfs would use, but it is outside the grant
tok=$(python3 "$TEST_SRCDIR/tests/lib/zf-token.py" zs2/src/pub@c "$(guid zs2/src/pub@c)" "$sguid")
capture raw SEND "RESUME_TOKEN=$tok"
assert_eq "$RC" 1 "origin outside the grant: status"
assert_contains "$OUT" "ERROR 6 " "origin outside the grant: DENIED"
assert_not_contains "$OUT" "zs2/secret" "origin outside the grant: not named"
# a token that is what it says is served
tok=$(python3 "$TEST_SRCDIR/tests/lib/zf-token.py" zs2/src@s1 "$(guid zs2/src@s1)")
capture raw SEND_ESTIMATE "RESUME_TOKEN=$tok"
assert_eq "$RC" 0 "honest token: status"

# ---- 4. zfs's words about what lies outside ---------------------------------------
log_must zfs create zs1/n
log_must zfs snapshot zs1/n@s
capture "$ZFERRY" replicate --no-sync-snap zs1/n "$url/zs2/nope/laptop"
assert_eq "$RC" 1 "push under a missing parent"
assert_contains "$OUT" "withheld"
assert_not_contains "$OUT" "'zs2/nope'" "client output"
assert_contains "$(cat "$TEST_TMP/serve.log")" "zs2/nope" "the server's log keeps the reason"
log_pass
