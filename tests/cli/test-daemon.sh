#!/usr/bin/env bash
# tests/cli/test-daemon.sh ZFERRY UNIT — zferry daemon, status and signal as a
# user runs them, on this host without zfs (the host kernel has no ZFS: a snap
# job's run fails, and that failure is what status must show): sd_notify
# READY/RELOADING/STOPPING/WATCHDOG on a NOTIFY_SOCKET, the control socket
# (0600, refusing a second daemon), wakeup/reset errors, SIGHUP with a bad
# config keeping the old jobs, the state file across a restart, a clean stop on
# SIGTERM, and the systemd unit passing systemd-analyze verify.
set -u
Z=$1
UNIT=$2
T=$(mktemp -d /tmp/zferry-test-daemon.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() {	# STATUS PATTERN -- command...
	local want=$1 pat=$2 got
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	[ "$got" = "$want" ] || fail "$*: exit $got, want $want ($(cat "$T/err"))"
	if [ -n "$pat" ]; then
		grep -q -- "$pat" "$T/err" || fail "$*: stderr '$(cat "$T/err")' lacks '$pat'"
		[ "$(wc -l <"$T/err")" -le 1 ] || fail "$*: more than one line: $(cat "$T/err")"
	fi
}
wait_for() {	# SECONDS COMMAND...: until COMMAND succeeds
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
jq_py() {	# EXPR < JSON: a python expression over j
	python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"
}

# a NOTIFY_SOCKET that writes every datagram it gets as a line
python3 - "$T/notify" "$T/notified" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " ") + "\n")
PY
pids+=($!)
wait_for 5 test -S "$T/notify" || fail "notify listener did not start"

write_cfg() {	# EXTRA-JOB-YAML
	cat >"$T/zferry.yml" <<YML
daemon:
  control: $T/run/control
  state_dir: $T/state
  stop_timeout: 5
jobs:
  - name: snaps
    type: snap
    filesystems: [nopool/data]
    schedule: 1h
    keep: "last_n:3"
$1
YML
}
write_cfg ""
"$Z" config check -q -c "$T/zferry.yml" || fail "config check refuses the test config"

start_daemon() {
	local ready
	ready=$(grep -c READY=1 "$T/notified")
	NOTIFY_SOCKET=$T/notify WATCHDOG_USEC=2000000 \
		"$Z" daemon -c "$T/zferry.yml" 2>>"$T/daemon.log" &
	DPID=$!
	pids+=($DPID)
	more_ready() { [ "$(grep -c READY=1 "$T/notified")" -gt "$ready" ]; }
	wait_for 10 more_ready ||
		fail "no READY=1 ($(cat "$T/daemon.log"))"
}
start_daemon
S="$Z status --control $T/run/control"

# ---- the control socket --------------------------------------------------
[ "$(stat -c %a "$T/run/control")" = 600 ] || fail "control socket mode $(stat -c %a "$T/run/control")"
[ "$(stat -c %a "$T/run")" = 700 ] || fail "control directory mode $(stat -c %a "$T/run")"
expect 1 "already answers" -- "$Z" daemon -c "$T/zferry.yml"
$S --json >"$T/st.json" || fail "status --json"
[ "$(jq_py 'j["jobs"][0]["name"], j["jobs"][0]["state"], j["jobs"][0]["schedule"]' <"$T/st.json")" = "snaps idle 1h" ] ||
	fail "status: $(cat "$T/st.json")"
next=$(jq_py 'j["jobs"][0]["next_run"] - j["now"]' <"$T/st.json")
[ "$next" -gt 0 ] && [ "$next" -le 3600 ] || fail "next run in $next s"

# ---- signals --------------------------------------------------------------
expect 1 "no job 'nope'" -- "$Z" signal wakeup nope --control "$T/run/control"
expect 1 "is not running" -- "$Z" signal reset snaps --control "$T/run/control"
expect 2 "wakeup or reset" -- "$Z" signal poke snaps --control "$T/run/control"
expect 1 "cannot reach the daemon" -- "$Z" signal wakeup snaps --control "$T/nothing"
expect 0 "" -- "$Z" signal wakeup snaps --control "$T/run/control"
# the run fails (no zfs here), and status says so with zfs's reason
done_run() { [ "$($S --json | jq_py 'j["jobs"][0]["last_run"]["result"]')" != none ]; }
wait_for 60 done_run || fail "the woken run did not end"
$S --json >"$T/st.json"
[ "$(jq_py 'j["jobs"][0]["last_run"]["result"]' <"$T/st.json")" = failed ] ||
	fail "a run without zfs: $(cat "$T/st.json")"
[ "$(jq_py 'j["jobs"][0]["last_error"] is not None' <"$T/st.json")" = True ] ||
	fail "no last_error: $(cat "$T/st.json")"
[ "$(jq_py 'j["jobs"][0]["runs"]["failed"]' <"$T/st.json")" = 1 ] || fail "runs: $(cat "$T/st.json")"
# not on a terminal: printed once
$S >"$T/text" || fail "status text"
grep -q "^snaps (snap, 1h)  idle" "$T/text" || fail "status text: $(cat "$T/text")"
grep -q "error: " "$T/text" || fail "status text lacks the error: $(cat "$T/text")"
expect 1 "no job 'x'" -- $S --job x

# ---- reload ----------------------------------------------------------------
cp "$T/zferry.yml" "$T/good.yml"
printf 'jobs:\n  - name: [\n' >"$T/zferry.yml"
: >"$T/notified.before"; cp "$T/notified" "$T/notified.before"
kill -HUP $DPID
wait_for 10 grep -q "reload refused" "$T/daemon.log" || fail "bad config not refused: $(tail -3 "$T/daemon.log")"
[ "$($S --json | jq_py 'len(j["jobs"])')" = 1 ] || fail "jobs after a refused reload"
cp "$T/good.yml" "$T/zferry.yml"
write_cfg "  - name: more
    type: snap
    filesystems: [nopool/other]
    schedule: '*/5 * * * *'"
kill -HUP $DPID
wait_for 10 sh -c "$S --json | grep -q '\"more\"'" || fail "reload did not add the job"
grep -q RELOADING=1 "$T/notified" || fail "no RELOADING=1"
[ "$($S --json | jq_py 'j["jobs"][0]["runs"]["failed"]')" = 1 ] || fail "reload lost a job's history"

# ---- watchdog, stop, state across a restart -------------------------------------
wait_for 5 grep -q WATCHDOG=1 "$T/notified" || fail "no WATCHDOG=1"
kill -TERM $DPID
wait_for 10 sh -c "! kill -0 $DPID" || fail "daemon did not stop on SIGTERM"
wait $DPID; st=$?
[ $st = 0 ] || fail "daemon exit status $st after SIGTERM"
grep -q STOPPING=1 "$T/notified" || fail "no STOPPING=1"
[ ! -e "$T/run/control" ] || fail "control socket left behind"
[ "$(stat -c %a "$T/state/state.json")" = 600 ] || fail "state file mode"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['jobs']['snaps']['last_run'] > 0" \
	"$T/state/state.json" || fail "state file: $(cat "$T/state/state.json")"
start_daemon
[ "$($S --json | jq_py 'j["jobs"][0]["name"]')" = snaps ] || fail "status after restart"
kill -TERM $DPID; wait $DPID
# a damaged state file is said, and the daemon starts anyway
echo '{garbage' >"$T/state/state.json"
start_daemon
grep -q "damaged" "$T/daemon.log" || fail "a damaged state file is not reported"
kill -TERM $DPID; wait $DPID

# ---- a bad config at start ---------------------------------------------------
printf 'jobs:\n  - name: x\n    type: snap\n' >"$T/bad.yml"
expect 2 "bad.yml:" -- "$Z" daemon -c "$T/bad.yml"

# ---- the systemd unit ---------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/unit"
	sed "s|/[^ ]*/zferry |$Z |" "$UNIT" >"$T/unit/zferry.service"
	systemd-analyze verify "$T/unit/zferry.service" >"$T/verify" 2>&1
	grep -v "man zferry\|Documentation" "$T/verify" | grep -q . &&
		fail "systemd-analyze verify: $(cat "$T/verify")"
fi

[ $fails = 0 ] && echo "test-daemon: ok" || echo "test-daemon: $fails failed"
[ $fails = 0 ]
