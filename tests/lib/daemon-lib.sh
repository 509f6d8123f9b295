# tests/lib/daemon-lib.sh — zferry daemons for the platform tests (sourced
# after test-lib.sh and remote-lib.sh)
#
#   daemon_start NAME CFG     `zferry daemon -c CFG` in the background, log in
#                             $TEST_TMP/NAME.log; waits for its control socket
#                             $TEST_TMP/NAME/control (the config must name it);
#                             sets DAEMON_PID_<NAME>
#   daemon_listen_port NAME   the port of its rpc listener, from its log
#   dstatus NAME [ARGS]       zferry status --json of it
#   djson NAME EXPR           a python expression over j = its status JSON
#   dsignal NAME wakeup|reset JOB
#   dwait SECONDS NAME EXPR   until EXPR (over j) is True; log_fail after SECONDS
#   drun NAME JOB [SECONDS]   wakeup JOB and wait until one more run of it has
#                             ended (after any run going on); sets DRESULT

daemon_start()	# NAME CFG
{
	local name=$1 cfg=$2 i
	"$ZFERRY" daemon -c "$cfg" 2>>"$TEST_TMP/$name.log" &
	eval "DAEMON_PID_$name=$!"
	log_onexit "kill $! 2>/dev/null; wait $! 2>/dev/null"
	for i in $(seq 1 200); do
		[ -S "$TEST_TMP/$name/control" ] && "$ZFERRY" status --once --control \
			"$TEST_TMP/$name/control" >/dev/null 2>&1 && return 0
		kill -0 $! 2>/dev/null || { cat "$TEST_TMP/$name.log"; log_fail "daemon $name exited"; }
		sleep 0.1
	done
	cat "$TEST_TMP/$name.log"
	log_fail "daemon $name did not open its control socket"
}

daemon_listen_port()	# NAME
{
	local i port
	for i in $(seq 1 100); do
		port=$(sed -n 's/.*listening on [a-z]*:\/\/.*:\([0-9]*\)$/\1/p' "$TEST_TMP/$1.log" | tail -n1)
		[ -n "$port" ] && { echo "$port"; return 0; }
		sleep 0.1
	done
	cat "$TEST_TMP/$1.log" >&2
	log_fail "daemon $1 did not say where it listens"
}

dstatus() { local n=$1; shift; "$ZFERRY" status --json --control "$TEST_TMP/$n/control" "$@"; }

djson()	# NAME EXPR
{
	dstatus "$1" | python3 -c "import json,sys
j = json.load(sys.stdin)
def job(n): return [x for x in j['jobs'] if x['name'] == n][0]
def fs(n, f): return [x for x in job(n)['filesystems'] if x['name'] == f][0]
print($2)"
}

dsignal() { "$ZFERRY" signal "$2" "$3" --control "$TEST_TMP/$1/control"; }

dwait()	# SECONDS NAME EXPR
{
	local i
	for i in $(seq 1 $(($1 * 5))); do
		[ "$(djson "$2" "$3" 2>/dev/null)" = True ] && return 0
		sleep 0.2
	done
	dstatus "$2" >&2
	tail -20 "$TEST_TMP/$2.log" >&2
	log_fail "daemon $2: not within $1 s: $3"
}

drun()	# NAME JOB [SECONDS]
{
	local name=$1 job=$2 t=${3:-120} runs
	# a run going on now may have started before: wait for it first
	dwait "$t" "$name" "job('$job')['state'] != 'running'"
	runs=$(djson "$name" "sum(job('$job')['runs'].values())")
	log_must dsignal "$name" wakeup "$job"
	dwait "$t" "$name" "sum(job('$job')['runs'].values()) > $runs"
	DRESULT=$(djson "$name" "job('$job')['last_run']['result']")
	if [ "$DRESULT" != ok ]; then
		echo "daemon $name, job $job: $DRESULT: $(djson "$name" "job('$job')['last_error']")" >&2
		tail -n 15 "$TEST_TMP/$name.log" >&2
	fi
}
