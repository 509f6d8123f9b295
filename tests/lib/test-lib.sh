# tests/lib/test-lib.sh — helpers for tests/platform/tNNNN-*.sh (sourced, bash)
#
# A platform test runs as root inside the test VM (tests/platform/run boots
# it once per suite run) against real OpenZFS.  Conventions, after OpenZFS's
# test suite and git's t/README:
#
#   #!/usr/bin/env bash
#   # DESCRIPTION: what is checked
#   # STRATEGY:
#   #  1. ...
#   . "$(dirname "$0")/../lib/test-lib.sh"
#   pool_create p1
#   log_must "$ZFERRY" list -r p1
#   log_pass
#
# Exit status: 0 pass, 77 skipped (say why), anything else a failure.
# Every pool made with pool_create is destroyed at exit, whatever happened.

set -u
set -o pipefail

TEST_NAME=$(basename "$0" .sh)
TEST_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${ZFERRY_BUILD:=$TEST_SRCDIR/build}"
: "${ZFERRY:=$ZFERRY_BUILD/src/cli/zferry}"
# zferry plus the benchmark tools (`debug rpc-send` for raw frames): src/bench/
: "${ZFERRY_BENCH:=$ZFERRY_BUILD/src/bench/zferry-bench}"
# test-only driver of each src/zfs/ operation (tests/platform/zfs-tool.c)
ZFS_TOOL=$ZFERRY_BUILD/tests/platform/zfs-tool
export ZFERRY ZFERRY_BENCH ZFS_TOOL

_onexit_cmds=()
_pools=()
TEST_TMP=$(mktemp -d "/tmp/$TEST_NAME.XXXXXX")

log_note() { printf '%s\n' "NOTE: $*"; }
# log_time WHAT: a note with the seconds since the test began, to find slow steps
log_time() { printf '%s\n' "NOTE: $* (at ${SECONDS}s)"; }

log_fail()
{
	printf '%s\n' "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

log_pass()
{
	printf '%s\n' "PASS: $TEST_NAME"
	exit 0
}

# Skips the test (exit 77) with a reason.
log_unsupported()
{
	printf '%s\n' "SKIP: $TEST_NAME: $*"
	exit 77
}

# Runs a command that must succeed; its output is shown.
log_must()
{
	printf '+ %s\n' "$*"
	"$@" || log_fail "command failed (status $?): $*"
}

# Runs a command that must fail (any non-zero status but a crash).
log_mustnot()
{
	local rc=0
	printf '+ ! %s\n' "$*"
	"$@" || rc=$?
	[ "$rc" != 0 ] || log_fail "command succeeded but must fail: $*"
	[ "$rc" -lt 128 ] || log_fail "command crashed (status $rc): $*"
	return 0
}

# log_must_status N CMD...: CMD must exit with status N.
log_must_status()
{
	local want=$1 rc=0
	shift
	printf '+ [%s] %s\n' "$want" "$*"
	"$@" || rc=$?
	[ "$rc" = "$want" ] || log_fail "status $rc, expected $want: $*"
}

# Captures stdout+stderr of CMD into $OUT and its status into $RC (never fails).
capture()
{
	RC=0
	OUT=$("$@" 2>&1) || RC=$?
	printf '+ %s  -> %s\n%s\n' "$*" "$RC" "$OUT"
}

# Like capture, but $OUT is stdout alone (for --json) and $ERR is stderr.
capture_out()
{
	RC=0
	OUT=$("$@" 2>"$TEST_TMP/.stderr") || RC=$?
	ERR=$(cat "$TEST_TMP/.stderr")
	printf '+ %s  -> %s\n%s\n%s\n' "$*" "$RC" "$ERR" "$OUT"
}

# assert_contains HAYSTACK NEEDLE [what]
assert_contains()
{
	case "$1" in
	*"$2"*) ;;
	*) log_fail "${3:-output} does not contain '$2': $1" ;;
	esac
}

assert_not_contains()
{
	case "$1" in
	*"$2"*) log_fail "${3:-output} contains '$2': $1" ;;
	esac
}

assert_eq()
{
	[ "$1" = "$2" ] || log_fail "${3:-value} is '$1', expected '$2'"
}

# Registers a command to run at exit, last registered first.
log_onexit() { _onexit_cmds=("$*" "${_onexit_cmds[@]}"); }

_cleanup()
{
	local rc=$? c p
	set +e
	for c in "${_onexit_cmds[@]}"; do
		eval "$c" >/dev/null 2>&1
	done
	for p in "${_pools[@]}"; do
		zpool destroy -f "$p" >/dev/null 2>&1 && rm -rf "/mnt/$p"
	done
	rm -rf "$TEST_TMP"
	exit "$rc"
}
trap _cleanup EXIT

# pool_create NAME [SIZE]: a fresh pool on a sparse file in the VM's /tmp.
pool_create()
{
	local name=$1 size=${2:-256M}
	zpool destroy -f "$name" >/dev/null 2>&1
	# mountpoint directories a previous test left would make zpool create refuse
	mountpoint -q "/mnt/$name" || rm -rf "/mnt/$name"
	truncate -s "$size" "$TEST_TMP/$name.img" || log_fail "cannot make pool file for $name"
	zpool create -f -O mountpoint="/mnt/$name" "$name" "$TEST_TMP/$name.img" ||
		log_fail "cannot create pool $name"
	_pools+=("$name")
}

# fs_checksum FS: one checksum of the paths and contents of the files in FS itself
# (not in filesystems mounted below it).
fs_checksum()
{
	local mp
	mp=$(zfs get -H -o value mountpoint "$1") || log_fail "no mountpoint for $1"
	(cd "$mp" && find . -xdev -type f -print0 | sort -z | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1)
}

# expect_error ENAME CMD...: CMD must fail and print "ENAME: ..." (zfs-tool's format).
expect_error()
{
	local want=$1
	shift
	capture "$@"
	[ "$RC" != 0 ] || log_fail "succeeded, expected $want: $*"
	[ "$RC" -lt 128 ] || log_fail "crashed (status $RC): $*"
	assert_contains "$OUT" "$want: " "error of '$*'"
	[ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] || log_fail "error is not one line: $OUT"
}

# guid FS@SNAP
guid() { zfs get -Hp -o value guid "$1"; }

# assert_has_snaps DST SRC [what]: every snapshot of SRC is on DST, with its
# guid.  DST may have more: a target keeps the sync snapshots its source has
# let go.
assert_has_snaps()
{
	local missing
	missing=$(comm -23 <(zfs list -Hp -t snapshot -o name,guid -d 1 "$2" | sed 's/^[^@]*@//' | sort) \
		<(zfs list -Hp -t snapshot -o name,guid -d 1 "$1" | sed 's/^[^@]*@//' | sort))
	[ -z "$missing" ] || log_fail "${3:-snapshots}: $1 lacks $(echo $missing) of $2"
}

# /dev/zdN of zvol NAME (no udev in the VM: ask zvol_id), waiting for zfs to make it
zvol_dev()
{
	local i d
	for i in $(seq 1 300); do
		for d in /dev/zd*; do
			case "$d" in *p[0-9]*) continue ;; esac
			[ -b "$d" ] && [ "$(/usr/lib/udev/zvol_id "$d" 2>/dev/null)" = "$1" ] &&
				{ echo "$d"; return 0; }
		done
		sleep 0.1
	done
	log_fail "no device for zvol $1"
}

# wait_recv_read TARGET BYTES [PID]: wait until the zfs recv into TARGET has
# read more than BYTES of its stream (its count in RECV_READ); the test fails
# if that takes 300 s, or if PID (when given) ends first.
wait_recv_read()
{
	local target=$1 bytes=$2 pid=${3:-} i rpid
	RECV_READ=0
	for i in $(seq 1 3000); do
		rpid=$(pgrep -f "^zfs recv .*$target\$" | head -n1)
		if [ -n "$rpid" ]; then
			RECV_READ=$(awk '/^rchar:/ {print $2}' "/proc/$rpid/io" 2>/dev/null || echo 0)
			[ "${RECV_READ:-0}" -gt "$bytes" ] && return 0
		fi
		[ -z "$pid" ] || kill -0 "$pid" 2>/dev/null ||
			log_fail "process $pid ended before zfs recv into $target read $bytes bytes"
		sleep 0.1
	done
	log_fail "zfs recv into $target never read $bytes bytes"
}

# kill9_during_recv PID TARGET: kill -9 the replicate PID once the zfs recv
# into TARGET has read 8 MiB of its stream (the test fails if PID ends first),
# then wait until no zfs send or recv runs, so that the target's partial state
# (its resume token) is what remains.
kill9_during_recv()
{
	local pid=$1 target=$2 i
	wait_recv_read "$target" $((8 << 20)) "$pid"
	log_note "killing zferry after its zfs recv read $RECV_READ bytes"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	for i in $(seq 1 600); do
		pgrep -f "^zfs (send|recv)" >/dev/null || break
		sleep 0.1
	done
}

command -v zfs >/dev/null && [ -e /dev/zfs ] ||
	log_unsupported "no OpenZFS here (run through tests/platform/run)"
[ -x "$ZFERRY" ] || log_fail "zferry binary not found at $ZFERRY"
