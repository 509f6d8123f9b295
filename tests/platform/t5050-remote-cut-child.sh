#!/usr/bin/env bash
# DESCRIPTION: a retry after a cut link resumes the filesystem whose stream
#   was cut, also when it is a descendant in a -r run (the fault campaign
#   found the retry sending the top filesystem's snapshot instead)
# STRATEGY:
#  1. tcp server; the client goes through a socat proxy so the link can be cut.
#  2. replicate -r zs1/p (a small top, 64 MiB in its child zs1/p/c) with
#     --retries 3; cut the link once the child's zfs recv has read 8 MiB.
#  3. The run succeeds, the child's snapshot is on the target with its guid,
#     no resume token and no hold is left.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

command -v socat >/dev/null || log_unsupported "no socat"
pool_create zs1 384M
pool_create zs2 384M
log_must zfs create -o compression=off zs1/p
log_must zfs create -o compression=off zs1/p/c
echo top >/mnt/zs1/p/top
log_must dd if=/dev/urandom of=/mnt/zs1/p/c/big bs=1M count=64 status=none
log_must zfs snapshot -r zs1/p@s1
log_must zfs create zs2/in

cat >"$TEST_TMP/zferry.yml" <<CFG
serve:
  tcp:
    allow: [127.0.0.1]
  clients:
    - identity: tcp:127.0.0.1
      write: [zs2/in]
CFG
serve_start "$TEST_TMP/zferry.yml" tcp://127.0.0.1:0
proxy_start

"$ZFERRY" replicate -r -j 1 --no-sync-snap --no-progress --retries 3 zs1/p \
	"tcp://127.0.0.1:$PROXY_PORT/zs2/in/p" >"$TEST_TMP/run" 2>&1 &
run=$!
wait_recv_read zs2/in/p/c $((8 << 20)) $run
pkill -9 -P $PROXY_PID socat
wait $run
rc=$?
cat "$TEST_TMP/run"
assert_eq "$rc" 0 "run that retried"
assert_contains "$(cat "$TEST_TMP/run")" "retrying"
assert_eq "$(guid zs2/in/p/c@s1)" "$(guid zs1/p/c@s1)" "child's guid after the retried run"
assert_eq "$(guid zs2/in/p@s1)" "$(guid zs1/p@s1)" "top's guid after the retried run"
assert_eq "$(zfs get -H -o value receive_resume_token zs2/in/p/c)" - "resume token on the child"
assert_eq "$(zfs get -Hp -o value userrefs zs1/p/c@s1)" 0 "holds left on the sender"
log_pass
