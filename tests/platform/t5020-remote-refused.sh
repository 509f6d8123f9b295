#!/usr/bin/env bash
# DESCRIPTION: DESIGN.md guarantee 5 — a client reaches only what the server
#   grants its identity; wrong certificates and addresses are refused
# STRATEGY:
#  1. tls server granting laptop read zs1/src, write zs2/backup/laptop; desk
#     has a valid certificate but no grant.
#  2. Refused, each with a clear error and nothing changed on either side: a
#     certificate from another CA, an expired one, desk (no grant), laptop
#     pulling outside its read grant, pushing outside its write grant, pushing
#     into its read grant, a name with '..'; guessing an existing and a missing
#     name outside the grant gives the same answer.
#  3. A tcp listener refuses an address outside its allow-list before reading.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

pool_create zs1 256M
pool_create zs2 256M
certs_make
log_must zfs create -p zs1/src/data
log_must zfs create zs1/secret
log_must zfs create -p zs2/backup/laptop
log_must zfs create zs2/other
log_must zfs snapshot -r zs1@base

cat >"$TEST_TMP/zferry.yml" <<CFG
serve:
  tls:
    ca: $CERTS/ca.pem
    cert: $CERTS/server.pem
    key: $CERTS/server.key
  tcp:
    allow: [10.9.8.0/24]
  clients:
    - identity: laptop
      read: [zs1/src]
      write: [zs2/backup/laptop]
CFG
serve_start "$TEST_TMP/zferry.yml" tls://127.0.0.1:0 tcp://127.0.0.1:0
url=tls://127.0.0.1:$SERVE_PORT

state() { zfs list -H -t all -o name,guid -r zs1 zs2 | sort; }
before=$(state)

refused()	# WANT CMD...: fails with status 1 and WANT in its message, nothing changed
{
	local want=$1
	shift
	capture "$@"
	[ "$RC" = 1 ] || log_fail "expected status 1, got $RC: $* => $OUT"
	assert_contains "$OUT" "$want" "$*"
	assert_eq "$(state)" "$before" "pools after: $*"
}

mapfile -t laptop < <(tls_opts laptop)
mapfile -t desk < <(tls_opts desk)
mapfile -t old < <(tls_opts old)
eve=(--tls-ca "$CERTS/ca.pem" --tls-cert "$CERTS/eve.pem" --tls-key "$CERTS/eve.key")
wrongca=(--tls-ca "$CERTS/other-ca.pem" --tls-cert "$CERTS/laptop.pem" --tls-key "$CERTS/laptop.key")

refused "certificate" "$ZFERRY" replicate "${eve[@]}" zs1/src/data "$url/zs2/backup/laptop/data"
refused "expired" "$ZFERRY" replicate "${old[@]}" zs1/src/data "$url/zs2/backup/laptop/data"
refused "certificate" "$ZFERRY" replicate "${wrongca[@]}" zs1/src/data "$url/zs2/backup/laptop/data"
refused "desk" "$ZFERRY" replicate "${desk[@]}" zs1/src/data "$url/zs2/backup/laptop/data"
refused "no read or write grant" "$ZFERRY" replicate "${laptop[@]}" "$url/zs1/secret" zs2/stolen
refused "grant for 'zs2/other/data'" "$ZFERRY" replicate "${laptop[@]}" zs1/src/data "$url/zs2/other/data"
# (listing zs1/src/evil is allowed by the read grant, so a sync snapshot of the
# local source would come before the refused RECV: that one is the client's own)
refused "no write grant" "$ZFERRY" replicate --no-sync-snap "${laptop[@]}" zs1/src/data "$url/zs1/src/evil"
refused "grant" "$ZFERRY" replicate "${laptop[@]}" zs1/src/data "$url/zs2/backup/laptop2/data"
capture "$ZFERRY" replicate "${laptop[@]}" zs1/src/data "$url/zs2/backup/laptop/../other"
[ "$RC" != 0 ] || log_fail "'..' accepted"
assert_eq "$(state)" "$before" "pools after '..'"

# probing: an existing and a missing name outside the grant answer alike
capture "$ZFERRY" replicate --no-sync-snap "${laptop[@]}" "$url/zs1/secret" zs2/x
a=$(printf '%s' "$OUT" | sed 's/zs1\/secret/NAME/g')
capture "$ZFERRY" replicate --no-sync-snap "${laptop[@]}" "$url/zs1/nosuch" zs2/x
b=$(printf '%s' "$OUT" | sed 's/zs1\/nosuch/NAME/g')
assert_eq "$a" "$b" "existing and missing names outside the grant"

# the tcp listener's allow-list (10.9.8.0/24) does not include 127.0.0.1
tport=$(sed -n 's/.*listening on tcp:\/\/.*:\([0-9]*\)$/\1/p' "$TEST_TMP/serve.log" | head -n1)
[ -n "$tport" ] || log_fail "no tcp port in the serve log"
refused "" "$ZFERRY" replicate --timeout 10 zs1/src/data "tcp://127.0.0.1:$tport/zs2/backup/laptop/data"
assert_contains "$(cat "$TEST_TMP/serve.log")" "127.0.0.1" "server logged the refused address"
log_pass
