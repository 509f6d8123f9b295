#!/usr/bin/env bash
# DESCRIPTION: the direct data channel: control over ssh, bulk data over a
#   separate TCP connection authenticated with a one-time secret, optionally
#   encrypted; strangers on its port are turned away
# STRATEGY:
#  1. Private sshd with a forced `zferry serve --stdio` command.
#  2. Push and pull 8 MiB with --data-channel tcp://127.0.0.1:PORT, plain and
#     with --data-channel-encrypt; compare guids and contents.
#  3. While a transfer waits for its data connection, a stranger keeps
#     connecting to the port and sending garbage: the transfer still succeeds,
#     and the server logs the failed authentications.
#  4. A data channel port nobody can bind fails with a clear error.
#  The server's config says where its channels listen (serve.data_channel);
#  what the client asks for is ignored by such a server.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

pool_create zs1 512M
pool_create zs2 512M
sshd_start
log_must zfs create -o compression=off -p zs1/src/data
log_must zfs create -p zs2/in
# 8 MiB: still at least 32 encrypted records (256 KiB at most) each way
log_must dd if=/dev/urandom of=/mnt/zs1/src/data/f bs=1M count=8 status=none

dport=$((20000 + RANDOM % 20000))
write_cfg()	# FILE PORTS
{
	cat >"$1" <<CFG
serve:
  data_channel:
    listen: 127.0.0.1
    ports: "$2"
  clients:
    - identity: laptop
      read: [zs1/src]
      write: [zs2/in]
CFG
}
write_cfg "$TEST_TMP/zferry.yml" "$dport"
sshd_authorize "command=\"$ZFERRY serve --stdio --identity laptop -c $TEST_TMP/zferry.yml 2>>$TEST_TMP/serve.log\",restrict $SSH_PUB"
ssh=(--no-progress "${SSH_OPTS[@]}" --remote-zferry "$ZFERRY")
remote=ssh://root@127.0.0.1:$SSH_PORT

log_must "$ZFERRY" replicate "${ssh[@]}" --data-channel "tcp://127.0.0.1:$dport" zs1/src/data "$remote/zs2/in/plain"
log_must zfs mount zs2/in/plain
assert_eq "$(fs_checksum zs2/in/plain)" "$(fs_checksum zs1/src/data)" "pushed over the data channel"

log_must "$ZFERRY" replicate "${ssh[@]}" --data-channel "tcp://127.0.0.1:$dport" --data-channel-encrypt \
	zs1/src/data "$remote/zs2/in/enc"
assert_has_snaps zs2/in/enc zs1/src/data "pushed encrypted"

log_must "$ZFERRY" replicate "${ssh[@]}" --data-channel auto --data-channel-encrypt \
	"$remote/zs1/src/data" zs2/pulled
log_must zfs mount zs2/pulled
assert_eq "$(fs_checksum zs2/pulled)" "$(fs_checksum zs1/src/data)" "pulled over the data channel"

# a stranger hammering the fixed port does not get in, nor stop the transfer
( for i in $(seq 1 400); do
	head -c 200 /dev/urandom | socat -u - "TCP:127.0.0.1:$dport" 2>/dev/null
	sleep 0.02
done ) &
stranger=$!
log_onexit "kill $stranger"
dd if=/dev/urandom of=/mnt/zs1/src/data/g bs=1M count=8 status=none
log_must "$ZFERRY" replicate "${ssh[@]}" --data-channel "tcp://127.0.0.1:$dport" zs1/src/data "$remote/zs2/in/plain"
kill $stranger 2>/dev/null
assert_has_snaps zs2/in/plain zs1/src/data "transfer with a stranger on the port"
grep -q "authentication" "$TEST_TMP/serve.log" || log_note "no stranger reached the listener while it listened"

# a port that cannot be bound (in use by another listener): one clear error, nothing received
socat TCP-LISTEN:$((dport + 1)),bind=127.0.0.1,reuseaddr - >/dev/null &
blocker=$!
log_onexit "kill $blocker"
sleep 0.3
write_cfg "$TEST_TMP/zferry.yml" "$((dport + 1))"
capture "$ZFERRY" replicate "${ssh[@]}" --retries 0 --data-channel auto zs1/src/data "$remote/zs2/in/blocked"
assert_eq "$RC" 1 "data channel port in use"
assert_contains "$OUT" "data channel"
capture zfs list -H zs2/in/blocked
assert_eq "$RC" 1 "nothing received through a failed data channel"
log_pass
