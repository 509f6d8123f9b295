#!/usr/bin/env bash
# DESCRIPTION: DESIGN.md guarantee 2 over the network — a connection cut
#   mid-stream is an error, never a short success; the same run retries and
#   resumes, and a later run resumes what a run without retries left
# STRATEGY:
#  1. tcp server; the client goes through a socat proxy so the link can be cut.
#  2. --retries 0: cut the link once the server's zfs recv has read 8 MiB; the
#     run fails, the target keeps a resume token; the next run resumes (sends
#     less than the full stream) and the result matches the source.
#  3. --retries 3: cut the link the same way; the same run reconnects, resumes
#     and succeeds.
#  4. kill -9 the serving process mid-stream: the client fails with an error.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

command -v socat >/dev/null || log_unsupported "no socat"
pool_create zs1 768M
pool_create zs2 768M
log_must zfs create -o compression=off zs1/a
log_must dd if=/dev/urandom of=/mnt/zs1/a/big bs=1M count=128 status=none
log_must zfs snapshot zs1/a@s1
full=$(zfs send zs1/a@s1 | wc -c)
log_must zfs create zs2/in

cat >"$TEST_TMP/zferry.yml" <<CFG
serve:
  tcp:
    allow: [127.0.0.1]
  clients:
    - identity: tcp:127.0.0.1
      read: [zs1]
      write: [zs2/in]
CFG
serve_start "$TEST_TMP/zferry.yml" tcp://127.0.0.1:0
proxy_start
url=tcp://127.0.0.1:$PROXY_PORT

sent_bytes() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["filesystems"][0]["bytes"])' "$1"; }

# 1. no retries: the run fails, the next one resumes
"$ZFERRY" replicate --no-sync-snap --no-progress --retries 0 zs1/a "$url/zs2/in/a" >"$TEST_TMP/run1" 2>&1 &
run=$!
wait_recv_read zs2/in/a $((8 << 20))
pkill -9 -P $PROXY_PID socat
wait $run
rc=$?
cat "$TEST_TMP/run1"
assert_eq "$rc" 1 "run whose link was cut"
for i in $(seq 1 100); do pgrep -f "^zfs recv" >/dev/null || break; sleep 0.1; done
token=$(zfs get -H -o value receive_resume_token zs2/in/a 2>/dev/null || echo -)
[ "$token" != - ] || log_fail "no resume token after the cut"
capture_out "$ZFERRY" replicate --no-sync-snap --json zs1/a "$url/zs2/in/a"
assert_eq "$RC" 0 "resuming run"
sent=$(sent_bytes "$OUT")
log_note "full stream $full bytes, resumed run sent $sent"
# the cut came after zfs recv had read 8 MiB: at least half of that stays
[ "$sent" -lt $((full - (4 << 20))) ] || log_fail "resumed run sent $sent of $full bytes"
assert_eq "$(guid zs2/in/a@s1)" "$(guid zs1/a@s1)" "guid after resume"

# 2. retries within the run
"$ZFERRY" replicate --no-sync-snap --no-progress --retries 3 zs1/a "$url/zs2/in/b" >"$TEST_TMP/run2" 2>&1 &
run=$!
wait_recv_read zs2/in/b $((8 << 20))
pkill -9 -P $PROXY_PID socat
wait $run
rc=$?
cat "$TEST_TMP/run2"
assert_eq "$rc" 0 "run that retried"
assert_contains "$(cat "$TEST_TMP/run2")" "retrying"
assert_eq "$(guid zs2/in/b@s1)" "$(guid zs1/a@s1)" "guid after the retried run"
log_must zfs mount zs2/in/b
assert_eq "$(fs_checksum zs2/in/b)" "$(fs_checksum zs1/a)" "content after the retried run"

# 3. the serving process dies mid-stream: an error, not a short success
"$ZFERRY" replicate --no-sync-snap --no-progress --retries 0 zs1/a "tcp://127.0.0.1:$SERVE_PORT/zs2/in/c" >"$TEST_TMP/run3" 2>&1 &
run=$!
wait_recv_read zs2/in/c $((8 << 20))
pkill -9 -P $SERVE_PID -f "zferry serve"
wait $run
rc=$?
cat "$TEST_TMP/run3"
assert_eq "$rc" 1 "run whose server was killed"
capture zfs list -H -t snapshot zs2/in/c@s1
assert_eq "$RC" 1 "no snapshot from a cut stream"
assert_eq "$(zfs get -Hp -o value userrefs zs1/a@s1)" 0 "holds left on the sender"
log_pass
