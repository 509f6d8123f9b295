#!/usr/bin/env bash
# DESCRIPTION: issue 10 point 7 — the data channel cannot be turned against
#   the server: where it listens comes from the server's config, and its
#   secret never travels over plain tcp
# STRATEGY:
#  1. tls and tcp listeners; serve.data_channel listens on 127.0.0.1 at a
#     range of two ports.
#  2. A push asking for privileged ports 1-2 on every address: the server
#     uses its own range and the data arrives (guid and checksum).
#  3. The stock client refuses --data-channel with tcp:// (exit 2, one
#     line); a raw DATA_CHANNEL_OPEN over the tcp listener is refused by the
#     server with the reason.
#  4. A server whose config has no data_channel offers none.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

pool_create zs1 256M
pool_create zs2 256M
certs_make
log_must zfs create -o compression=off zs1/data
log_must dd if=/dev/urandom of=/mnt/zs1/data/f bs=1M count=4 status=none
log_must zfs snapshot zs1/data@s1
log_must zfs create zs2/in
dport=$((20000 + RANDOM % 20000))

write_cfg()	# DATA_CHANNEL-YAML
{
	cat >"$TEST_TMP/zferry.yml" <<CFG
serve:
  tls:
    ca: $CERTS/ca.pem
    cert: $CERTS/server.pem
    key: $CERTS/server.key
  tcp:
    allow: [127.0.0.1]
$1
  clients:
    - identity: laptop
      write: [zs2/in]
    - identity: "tcp:127.0.0.1"
      write: [zs2/in]
CFG
}
write_cfg "  data_channel:
    listen: 127.0.0.1
    ports: \"$dport-$((dport + 1))\""
log_must "$ZFERRY" config check -c "$TEST_TMP/zferry.yml"
serve_start "$TEST_TMP/zferry.yml" tls://127.0.0.1:0 tcp://127.0.0.1:0
tls=tls://127.0.0.1:$SERVE_PORT
tport=$(sed -n 's/.*listening on tcp:\/\/.*:\([0-9]*\)$/\1/p' "$TEST_TMP/serve.log" | head -n1)
mapfile -t laptop < <(tls_opts laptop)

# ---- 2. the client's wish for ports 1-2 on every address is not the server's -----------
log_must "$ZFERRY" replicate --no-sync-snap "${laptop[@]}" --data-channel "tcp://0.0.0.0:1-2" \
	zs1/data "$tls/zs2/in/data" 2>&1
assert_eq "$(zfs list -H -t snapshot -o guid -d 1 zs2/in/data)" \
	"$(zfs list -H -t snapshot -o guid -d 1 zs1/data)" "pushed over the server's own channel"
log_must zfs mount zs2/in/data
assert_eq "$(fs_checksum zs2/in/data)" "$(fs_checksum zs1/data)" "content"

# ---- 3. never over plain tcp -------------------------------------------------------
RC=0
err=$("$ZFERRY" replicate --data-channel auto zs1/data "tcp://127.0.0.1:$tport/zs2/in/x" 2>&1 >/dev/null) || RC=$?
assert_eq "$RC" 2 "client: --data-channel with tcp://"
assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "one line: $err"
assert_contains "$err" "in clear"
capture python3 "$TEST_SRCDIR/tests/lib/zf-raw-client.py" 127.0.0.1 "$tport" DATA_CHANNEL_OPEN \
	34=0.0.0.0 35=0
assert_eq "$RC" 1 "server: DATA_CHANNEL_OPEN over tcp"
assert_contains "$OUT" "refused over a plain tcp:// connection"

# ---- 4. no data_channel: section, no channel --------------------------------------------
serve_stop
write_cfg ""
serve_start "$TEST_TMP/zferry.yml" tls://127.0.0.1:0
tls=tls://127.0.0.1:$SERVE_PORT
log_must zfs snapshot zs1/data@more
capture "$ZFERRY" replicate --no-sync-snap --retries 0 "${laptop[@]}" --data-channel auto \
	zs1/data "$tls/zs2/in/data"
assert_eq "$RC" 1 "data channel from a server that offers none"
assert_contains "$OUT" "this server offers none"
capture zfs list -H -o name zs2/in/data@more
assert_eq "$RC" 1 "nothing received"
log_pass
