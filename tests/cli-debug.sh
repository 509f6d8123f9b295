#!/usr/bin/env bash
# DESCRIPTION: zferry debug moves bytes through the data channel end to end,
#   plain and encrypted, and refuses bad input with one-line errors.
# STRATEGY: stream-source | datachan-send -> datachan-recv > file, compare
#   with stream-source's bytes (same size; the sink counts what arrived);
#   then a wrong secret, a bad secret file, bad addresses and byte counts.
# Exit 0 pass, anything else fail.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ZFERRY=${1:?usage: cli-debug.sh ZFERRY_BENCH}

T=$(mktemp -d /tmp/zf-cli-debug-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
. "$here/lib/cli-lib.sh"

umask 077
"$ZFERRY" debug datachan-secret >secret || fail "datachan-secret"
grep -qE '^[0-9a-f]{64}$' secret || fail "secret is not 64 hex digits: $(cat secret)"
"$ZFERRY" debug datachan-secret >other

# recv_port: waits for datachan-recv's port=N line in recv.err
recv_port() {
	local p
	for _ in $(seq 100); do
		p=$(sed -n 's/^port=//p' recv.err 2>/dev/null)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.05
	done
	return 1
}

"$ZFERRY" debug stream-source --bytes 3M >data || fail "stream-source"
[ "$(stat -c %s data)" = 3145728 ] || fail "stream-source wrote $(stat -c %s data) bytes"
[ "$(gzip -c data | wc -c)" -gt 3145728 ] || fail "stream-source output compresses"
"$ZFERRY" debug stream-sink <data 2>sink.err
grep -q '^bytes=3145728 seconds=[0-9.]* MiB/s=[0-9.]*$' sink.err || fail "sink: $(cat sink.err)"
# --pipe-size on both ends of a real pipe: the bytes still all arrive
"$ZFERRY" debug stream-source --bytes 3M --pipe-size 1M | "$ZFERRY" debug stream-sink -p 1M 2>sink.err ||
	fail "pipe-size: $(cat sink.err)"
grep -q '^bytes=3145728 ' sink.err || fail "sink with --pipe-size: $(cat sink.err)"

for enc in "" --encrypt; do
	rm -f recv.err out
	"$ZFERRY" debug datachan-recv --listen 127.0.0.1:0 --secret-file secret $enc \
		--timeout 10 >out 2>recv.err &
	rx=$!
	port=$(recv_port) || fail "datachan-recv printed no port"
	# a wrong secret is refused, and the listener waits on
	expect 1 "refused our proof" "$ZFERRY" debug datachan-send \
		--connect "127.0.0.1:$port" --secret-file other $enc
	"$ZFERRY" debug datachan-send --connect "127.0.0.1:$port" --secret-file secret $enc \
		<data 2>send.err || fail "datachan-send $enc: $(cat send.err)"
	wait "$rx" || fail "datachan-recv $enc exited $?: $(cat recv.err)"
	cmp -s data out || fail "datachan $enc: output differs"
	grep -q '^bytes=3145728 ' recv.err || fail "recv $enc: $(cat recv.err)"
	grep -q '^bytes=3145728 ' send.err || fail "send $enc: $(cat send.err)"
	grep -q "failed authentication" recv.err || fail "recv $enc did not log the bad peer"
	# one stream per secret: the port is closed now
	expect 1 "cannot connect" "$ZFERRY" debug datachan-send \
		--connect "127.0.0.1:$port" --secret-file secret $enc
done

# an encrypt flag mismatch
rm -f recv.err
"$ZFERRY" debug datachan-recv --listen 127.0.0.1:0 --secret-file secret --encrypt \
	--timeout 1 >out 2>recv.err &
rx=$!
port=$(recv_port) || fail "datachan-recv printed no port"
expect 1 "encrypt flag mismatch" "$ZFERRY" debug datachan-send \
	--connect "127.0.0.1:$port" --secret-file secret
wait "$rx"
[ $? = 1 ] || fail "datachan-recv without a peer should fail"
grep -q "no authenticated peer within 1000 ms" recv.err || fail "recv: $(cat recv.err)"

# bad input
echo 0123 >short
printf '%064d\n' 0 | sed 's/0$/g/' >nothex
expect 2 "bad byte count '12Q'" "$ZFERRY" debug stream-source --bytes 12Q
expect 2 "--bytes is required" "$ZFERRY" debug stream-source
expect 2 "bad pipe size '12'" "$ZFERRY" debug stream-sink --pipe-size 12
expect 2 "bad pipe size '2G'" "$ZFERRY" debug stream-source --bytes 1 -p 2G
expect 1 "cannot make the pipe on stdin 1048576 bytes: not a pipe" "$ZFERRY" debug stream-sink -p 1M
expect 2 "bad address 'nohost'" "$ZFERRY" debug datachan-send --connect nohost --secret-file secret
expect 2 "bad address ':5'" "$ZFERRY" debug datachan-send --connect :5 --secret-file secret
expect 2 "bad address '::1:5'" "$ZFERRY" debug datachan-recv --listen ::1:5 --secret-file secret
expect 2 "bad address 'h:99999'" "$ZFERRY" debug datachan-recv --listen h:99999 --secret-file secret
expect 2 "--secret-file is required" "$ZFERRY" debug datachan-recv --listen :0
expect 2 "bad timeout '0'" "$ZFERRY" debug datachan-recv --listen :0 --secret-file secret --timeout 0
expect 1 "want 64 hex digits, found 4" "$ZFERRY" debug datachan-recv --listen :0 --secret-file short
expect 1 "not a hex digit at offset 63" "$ZFERRY" debug datachan-recv --listen :0 --secret-file nothex
expect 1 "cannot open secret file 'missing'" "$ZFERRY" debug datachan-send --connect h:1 --secret-file missing
expect 2 "unknown subcommand 'nope'" "$ZFERRY" debug nope
"$ZFERRY" help | grep -q '^  debug' && fail "debug is listed by zferry help"
"$ZFERRY" debug --help | grep -q "benchmarks only" || fail "debug --help does not say benchmarks only"

[ "$failures" = 0 ] || { echo "$failures failures"; exit 1; }
echo "ok"
