#!/usr/bin/env bash
# DESCRIPTION: issue 13 — a daemon killed with kill -9 mid-transfer, and a run
#   cancelled with `zferry signal reset`, leave the transfer resumable; the
#   next run resumes it and the target ends equal to the source
# STRATEGY:
#  1. A push job (local target zs2/copy, schedule 1h, bwlimit 8M, so that
#     the transfer lasts seconds on any machine) woken up to send 32 MiB; once
#     zfs recv has read 8 MiB the daemon is killed with -9.  Its run and the
#     zfs processes end with it (no orphan goes on); the target holds a
#     resume token.
#  2. A new daemon: the run resumes, the target matches the source (content,
#     guid), no token left, status says ok.
#  3. Another 32 MiB; `zferry signal reset push` mid-transfer: the run ends
#     "cancelled", a token is left, the next run resumes it.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"
. "$(dirname "$0")/../lib/daemon-lib.sh"

pool_create zs1 1G
pool_create zs2 1G
log_must zfs create -o compression=off zs1/a
log_must dd if=/dev/urandom of=/mnt/zs1/a/big bs=1M count=32 status=none
mkdir -p "$TEST_TMP/d"
cat >"$TEST_TMP/d.yml" <<CFG
daemon:
  control: $TEST_TMP/d/control
  state_dir: $TEST_TMP/d/state
  stop_timeout: 10
jobs:
  - name: push
    type: push
    source: zs1/a
    target: zs2/copy
    schedule: 1h
    bwlimit: 8M
CFG
log_must "$ZFERRY" config check -q -c "$TEST_TMP/d.yml"

# ---- 1. kill -9 mid-transfer -------------------------------------------------------
daemon_start d "$TEST_TMP/d.yml"
log_must dsignal d wakeup push
kill9_during_recv $DAEMON_PID_d zs2/copy
pgrep -f "zferry daemon" >/dev/null && log_fail "a run outlived its daemon: $(pgrep -af zferry)"
token=$(zfs get -H -o value receive_resume_token zs2/copy 2>/dev/null || echo -)
[ "$token" != - ] || log_fail "no resume token after the daemon was killed"

# ---- 2. restarted, it resumes ------------------------------------------------------
daemon_start d "$TEST_TMP/d.yml"
drun d push 300
assert_eq "$DRESULT" ok "resumed run"
assert_contains "$(cat "$TEST_TMP/d.log")" "resum" "the log says it resumed"
assert_eq "$(zfs get -H -o value receive_resume_token zs2/copy)" - "token after resume"
assert_has_snaps zs2/copy zs1/a "after resume"
log_must zfs mount zs2/copy
assert_eq "$(fs_checksum zs2/copy)" "$(fs_checksum zs1/a)" "content after resume"
log_must zfs unmount zs2/copy

# ---- 3. reset mid-transfer ------------------------------------------------------------
log_must dd if=/dev/urandom of=/mnt/zs1/a/big2 bs=1M count=32 status=none
log_must dsignal d wakeup push
wait_recv_read zs2/copy $((8 << 20))
log_must dsignal d reset push
dwait 60 d "job('push')['state'] == 'idle'"
assert_eq "$(djson d "job('push')['last_run']['result']")" cancelled "result of a reset run"
for i in $(seq 1 300); do pgrep -f "^zfs (send|recv)" >/dev/null || break; sleep 0.1; done
token=$(zfs get -H -o value receive_resume_token zs2/copy)
[ "$token" != - ] || log_fail "no resume token after reset"
drun d push 300
assert_eq "$DRESULT" ok "run after reset"
assert_eq "$(zfs get -H -o value receive_resume_token zs2/copy)" - "token after the run"
log_must zfs mount zs2/copy
assert_eq "$(fs_checksum zs2/copy)" "$(fs_checksum zs1/a)" "content after reset and resume"
log_pass "kill -9 and reset leave transfers resumable; the next run resumes"
