#!/usr/bin/env bash
# tests/cli/test-serve.sh ZFERRY ZFERRY_BENCH — zferry serve, config check and replicate's remote
# argument handling, as a user runs them: exit statuses, one-line errors, the
# "listening on" line with the real port, a refused port in use, a clean stop on
# SIGTERM.  Loopback only; no root, no zfs.
set -u
Z=$1
ZB=$2  # zferry-bench: zferry plus `debug rpc-send`
T=$(mktemp -d /tmp/zferry-test-serve.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect STATUS PATTERN -- command...: the exit status and one line of stderr matching PATTERN
expect() {
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

cat >"$T/good.yml" <<'YML'
serve:
  tcp:
    allow: [127.0.0.1]
  timeout: 5
  clients:
    - identity: "tcp:127.0.0.1"
      read: [tank/home]
YML
printf 'serve:\n  clients:\n  - identity: a\n    read: [/tank]\n' >"$T/bad.yml"
printf 'serve:\n  tls: {ca: %s/no-ca.pem, cert: %s/c.pem, key: %s/k.pem}\n' "$T" "$T" "$T" >"$T/tls.yml"
printf 'serve:\n  clients:\n  - identity: a\n    read: [tank]\n' >"$T/notcp.yml"

# config check
expect 0 "" -- "$Z" config check -c "$T/good.yml"
grep -q "client 'tcp:127.0.0.1': read tank/home" "$T/out" || fail "config check summary: $(cat "$T/out")"
expect 2 "bad.yml:4:12: grant '/tank' is a dataset name" -- "$Z" config check -c "$T/bad.yml"
expect 2 "cannot open config" -- "$Z" config check -c "$T/missing.yml"
expect 2 "unknown subcommand 'chek'" -- "$Z" config chek
expect 0 "" -- "$Z" config check -q -c "$T/good.yml"
[ -s "$T/out" ] && fail "config check -q printed something"
# config check: the daemon and its jobs, with the next run of each
cat >"$T/jobs.yml" <<'YML'
daemon:
  http_listen: ":9811"
jobs:
  - {name: nightly, type: snap, filesystems: [tank], schedule: "TZ=UTC 0 3 * * *"}
  - {name: backups, type: sink, root_fs: backup, clients: ["tls:laptop"]}
YML
expect 0 "" -- "$Z" config check -c "$T/jobs.yml"
grep -q "^  job 'nightly': snap, schedule 'TZ=UTC 0 3 \* \* \*', next [0-9-]*T03:00:00Z$" "$T/out" ||
	fail "config check jobs: $(cat "$T/out")"
grep -q "^  job 'backups': sink, no schedule$" "$T/out" || fail "config check sink: $(cat "$T/out")"
grep -q "^  client 'tls:laptop': write backup/laptop; of those append-only backup/laptop$" "$T/out" ||
	fail "config check sink grant: $(cat "$T/out")"
grep -q "^  http: :9811$" "$T/out" || fail "config check daemon: $(cat "$T/out")"
printf 'jobs:\n- {name: a, type: snap, filesystems: [t], target: x}\n' >"$T/badjob.yml"
expect 2 "badjob.yml:2:43: key 'target' does not apply to a snap job" -- \
	"$Z" config check -c "$T/badjob.yml"

# serve: usage and config errors
expect 2 "either --stdio or --listen" -- "$Z" serve
expect 2 "--identity needs -c" -- "$Z" serve --stdio --identity laptop
expect 2 "needs --identity" -- "$Z" serve --stdio -c "$T/good.yml"
expect 2 "--listen needs -c" -- "$Z" serve --listen tcp://127.0.0.1:0
expect 2 "bad port" -- "$Z" serve --listen tcp://127.0.0.1:99999 -c "$T/good.yml"
expect 2 "tls://\[ADDR\]:PORT" -- "$Z" serve --listen http://127.0.0.1:1 -c "$T/good.yml"
expect 2 "bad.yml:4:12:" -- "$Z" serve --listen tcp://127.0.0.1:0 -c "$T/bad.yml"
expect 2 "needs serve.tcp.allow" -- "$Z" serve --listen tcp://127.0.0.1:0 -c "$T/notcp.yml"
expect 2 "needs serve.tls" -- "$Z" serve --listen tls://127.0.0.1:0 -c "$T/good.yml"
expect 1 "cannot read serve.tls.ca" -- "$Z" serve --listen tls://127.0.0.1:0 -c "$T/tls.yml"

# --stdio: the protocol (our HELLO, magic "ZF") on stdout, logs on stderr only
"$Z" serve --stdio </dev/null >"$T/stdio.out" 2>"$T/stdio.err"
st=$?
[ "$st" = 1 ] || fail "serve --stdio with a silent peer: exit $st, want 1"
[ "$(head -c 2 "$T/stdio.out")" = "ZF" ] || fail "serve --stdio: stdout does not start with a frame"
grep -q "zferry" "$T/stdio.out" && fail "serve --stdio: a log line went to stdout"

# --stdio --identity that the config does not list: refused at the greeting, before
# any request, with ERROR in place of HELLO (stdio.out holds a HELLO to send it)
printf 'serve:\n  clients:\n  - identity: laptop\n    read: [tank]\n' >"$T/stdio.yml"
expect 1 "refused at the greeting: identity 'ssh:desk' is not in the config '$T/stdio.yml'" -- \
	"$Z" serve --stdio -c "$T/stdio.yml" --identity desk <"$T/stdio.out"
grep -q "identity 'ssh:desk' is not in the config" "$T/out" || fail "no ERROR frame on stdout"
[ "$(head -c 4 "$T/out" | od -An -tx1 | tr -d ' ')" = 5a460104 ] ||
	fail "serve --stdio refused: stdout does not start with an ERROR frame"
"$Z" serve --stdio -c "$T/stdio.yml" --identity laptop <"$T/stdio.out" >"$T/out" 2>/dev/null
[ "$(head -c 4 "$T/out" | od -An -tx1 | tr -d ' ')" = 5a460101 ] ||
	fail "serve --stdio --identity laptop: no HELLO"
# an ssh identity is never a tls one: "tls:laptop" in the config does not take ssh's laptop
printf 'serve:\n  clients:\n  - identity: "tls:laptop"\n    read: [tank]\n' >"$T/tlsonly.yml"
expect 1 "identity 'ssh:laptop' is not in the config" -- \
	"$Z" serve --stdio -c "$T/tlsonly.yml" --identity laptop <"$T/stdio.out"
"$Z" serve --stdio -c "$T/tlsonly.yml" --identity ssh:laptop <"$T/stdio.out" >"$T/out" 2>/dev/null
[ "$(head -c 4 "$T/out" | od -An -tx1 | tr -d ' ')" = 5a460104 ] ||
	fail "serve --stdio --identity ssh:laptop passed for tls:laptop"
expect 2 "--identity 'tls:laptop' would pass for a tls identity" -- \
	"$Z" serve --stdio -c "$T/stdio.yml" --identity tls:laptop
expect 2 "--identity 'tcp:127.0.0.1' would pass for a tcp identity" -- \
	"$Z" serve --stdio -c "$T/stdio.yml" --identity tcp:127.0.0.1
expect 2 "--identity contains a control character" -- \
	"$Z" serve --stdio -c "$T/stdio.yml" --identity "$(printf 'lap\033top')"
expect 2 "--identity is empty" -- "$Z" serve --stdio -c "$T/stdio.yml" --identity ""
expect 2 "--identity is empty" -- "$Z" serve --stdio -c "$T/stdio.yml" --identity ssh:

# listen on port 0: the real port is printed; a second server on it fails; SIGTERM stops
"$Z" serve --listen tcp://127.0.0.1:0 -c "$T/good.yml" 2>"$T/serve.err" &
spid=$!
pids+=("$spid")
port=
for _ in $(seq 50); do
	port=$(sed -n 's|^zferry serve: listening on tcp://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/serve.err")
	[ -n "$port" ] && break
	sleep 0.1
done
if [ -z "$port" ] || [ "$port" = 0 ]; then
	fail "no 'listening on' line with a port: $(cat "$T/serve.err")"
else
	expect 1 "Address already in use" -- "$Z" serve --listen "tcp://127.0.0.1:$port" -c "$T/good.yml"
	# a client that connects and leaves: served by a child, logged, reaped
	(exec 3<>"/dev/tcp/127.0.0.1/$port"; sleep 0.2) 2>/dev/null || fail "cannot connect to $port"
fi
kill -TERM "$spid"
for _ in $(seq 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$spid" 2>/dev/null; then
	fail "serve still runs 5 s after SIGTERM"
else
	wait "$spid"
	st=$?
	[ "$st" = 0 ] || fail "serve after SIGTERM: exit $st, want 0 ($(cat "$T/serve.err"))"
	grep -q "connection from 'tcp:127.0.0.1:[0-9]*': identity 'tcp:127.0.0.1:" "$T/serve.err" ||
		fail "the connection's identity was not logged: $(cat "$T/serve.err")"
	grep -q "connection from 'tcp:127.0.0.1:[0-9]*' ended" "$T/serve.err" ||
		fail "the connection's end was not logged: $(cat "$T/serve.err")"
fi

# a tcp peer inside the allow-list but not among the clients: refused at the greeting
printf 'serve:\n  tcp:\n    allow: [127.0.0.1]\n  clients:\n  - identity: "tcp:10.0.0.1"\n    read: [t]\n' \
	>"$T/refuse.yml"
"$Z" serve --listen tcp://127.0.0.1:0 -c "$T/refuse.yml" 2>"$T/refuse.err" &
pids+=($!)
port=
for _ in $(seq 50); do
	port=$(sed -n 's|^zferry serve: listening on tcp://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/refuse.err")
	[ -n "$port" ] && break
	sleep 0.1
done
expect 1 "is not in the config '$T/refuse.yml'" -- \
	"$ZB" debug rpc-send "tcp://127.0.0.1:$port/t/x" </dev/null
# (the child logs once its answer is out: give it a moment)
for _ in $(seq 50); do grep -q "at the greeting" "$T/refuse.err" && break; sleep 0.1; done
grep -q "warning: refused 'tcp:127.0.0.1:[0-9]*' at the greeting: identity 'tcp:127.0.0.1:[0-9]*' is not in the config" \
	"$T/refuse.err" || fail "the refusal was not logged: $(cat "$T/refuse.err")"

# strangers (issue 10): a handshake deadline that bytes do not extend
printf 'serve:\n  tcp:\n    allow: [127.0.0.1]\n  handshake_timeout: 1\n  clients:\n  - identity: "tcp:127.0.0.1"\n    write: [t]\n' \
	>"$T/flood.yml"
"$Z" serve --listen tcp://127.0.0.1:0 -c "$T/flood.yml" 2>"$T/flood.err" &
pids+=($!)
port=
for _ in $(seq 50); do
	port=$(sed -n 's|^zferry serve: listening on tcp://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/flood.err")
	[ -n "$port" ] && break
	sleep 0.1
done
# a valid HELLO of a listed identity (from stdio.out), one byte every 0.2 s: it would
# authenticate after 7 s if nothing cut it
hello=$(od -An -v -tx1 "$T/stdio.out")
slow_hello() {
	local b
	trap '' PIPE
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	for b in $hello; do
		printf "\\x$b" >&3 2>/dev/null || return 0
		sleep 0.2
	done
	return 1
}
t0=$(date +%s%N)
slow_hello || fail "a slow HELLO was not cut by handshake_timeout 1"
exec 3>&-
ms=$((($(date +%s%N) - t0) / 1000000))
# (the upper bound leaves room for a loaded machine; uncut, the HELLO would finish at 7 s)
[ "$ms" -ge 900 ] && [ "$ms" -le 5000 ] || fail "the slow HELLO was cut after $ms ms, want 1000..5000"
grep -q "warning: handshake of 'tcp:127.0.0.1:[0-9]*' ran out after 1 s: closed" "$T/flood.err" ||
	fail "no handshake timeout in the log: $(cat "$T/flood.err")"
# four silent strangers from one address fill its slots (refuse.yml: default limits,
# handshake_timeout 10); a fifth evicts the first, not itself
port=$(sed -n 's|^zferry serve: listening on tcp://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/refuse.err")
exec 4<>"/dev/tcp/127.0.0.1/$port"
sleep 0.1
exec 5<>"/dev/tcp/127.0.0.1/$port" 6<>"/dev/tcp/127.0.0.1/$port" 7<>"/dev/tcp/127.0.0.1/$port"
sleep 0.1
exec 8<>"/dev/tcp/127.0.0.1/$port"
timeout 2 cat <&4 >/dev/null || fail "the oldest stranger was not evicted"
timeout 0.5 cat <&8 >/dev/null && fail "the newcomer was evicted"
grep -q "warning: evicted unauthenticated connection from 'tcp:127.0.0.1:[0-9]*' (pid [0-9]*): more than 4 from 127.0.0.1" \
	"$T/refuse.err" || fail "no eviction in the log: $(cat "$T/refuse.err")"
[ "$(grep -c "evicted" "$T/refuse.err")" = 1 ] || fail "not one eviction: $(cat "$T/refuse.err")"
exec 4>&- 5>&- 6>&- 7>&- 8>&-

# replicate: remote ends are checked before anything runs
expect 2 "one end must be local" -- "$Z" replicate a:tank/x b:tank/y
expect 2 "tls:// needs --tls-ca, --tls-cert and --tls-key" -- "$Z" replicate tank/x tls://h:1/t
expect 2 "unknown scheme 'ftp'" -- "$Z" replicate ftp://h/tank/x tank/y
expect 2 "--data-channel needs a remote SRC or DST" -- \
	"$Z" replicate --data-channel tcp://127.0.0.1:20000 tank/x tank/y
expect 2 "--data-channel-encrypt needs --data-channel" -- \
	"$Z" replicate --data-channel-encrypt tank/x h:tank/y
expect 2 "is not tcp://ADDR:PORT" -- "$Z" replicate --data-channel udp://h:1 tank/x h:tank/y
expect 2 "bad port range '9-8'" -- "$Z" replicate --data-channel tcp://h:9-8 tank/x h:tank/y
expect 2 "put an IPv6 address in brackets" -- \
	"$Z" replicate --data-channel tcp://::1:20000 tank/x h:tank/y
expect 2 "bad DST: host in '-oProxyCommand=x:t' must not start with '-'" -- \
	"$Z" replicate tank/x -oProxyCommand=x:t
expect 2 "--timeout takes 1 to 86400" -- "$Z" replicate --timeout 0 tank/x tank/y
expect 2 "--bwlimit takes bytes per second with K, M, G or T (1024s), at least 64K, or 0 for none, not '1K'" -- \
	"$Z" replicate --bwlimit 1K tank/x tank/y
expect 2 "--bwlimit takes bytes per second" -- "$Z" replicate --bwlimit 10MB/s tank/x tank/y
expect 2 "--jobs takes 1 to 8, not '9'" -- "$Z" replicate --jobs 9 tank/x tank/y
expect 2 "--tls-server-name and --tls-crl are for a tls:// SRC or DST" -- \
	"$Z" replicate --tls-server-name backup.example tank/x h:tank/y
expect 2 "--tls-server-name and --tls-crl are for a tls:// SRC or DST" -- \
	"$Z" replicate --tls-crl /etc/crl.pem tank/x tank/y
expect 2 "bad --tls-server-name: empty name" -- \
	"$Z" replicate --tls-server-name "" tank/x tls://h:1/t
expect 2 "bad --tls-server-name: 'a b' is not a host name" -- \
	"$Z" replicate --tls-server-name "a b" tank/x tls://h:1/t
# a CRL file that is not there stops replicate before it connects or snapshots
if command -v openssl >/dev/null; then
	"$(dirname "$0")/../../scripts/make-certs" "$T/certs" server laptop
	expect 1 "tls: cannot read CRL '$T/missing.pem'" -- "$Z" replicate --tls-ca "$T/certs/ca.pem" \
		--tls-cert "$T/certs/laptop.pem" --tls-key "$T/certs/laptop.key" \
		--tls-crl "$T/missing.pem" tank/x tls://127.0.0.1:1/t
	expect 1 "tls: cannot load CRL '$T/certs/ca.pem': no PEM CRL in it" -- "$Z" replicate --tls-ca "$T/certs/ca.pem" \
		--tls-cert "$T/certs/laptop.pem" --tls-key "$T/certs/laptop.key" \
		--tls-crl "$T/certs/ca.pem" tank/x tls://127.0.0.1:1/t

	# the name checked is the URL's host unless --tls-server-name says otherwise
	# (make-certs' server.pem is for server, localhost, 127.0.0.1 and ::1); past
	# TLS, the pull fails at the server's zfs, which this test does not have
	printf 'serve:\n  tls: {ca: %s, cert: %s, key: %s}\n  clients:\n  - identity: "tls:laptop"\n    read: [tank]\n' \
		"$T/certs/ca.pem" "$T/certs/server.pem" "$T/certs/server.key" >"$T/tlsname.yml"
	"$Z" serve --listen tls://127.0.0.1:0 -c "$T/tlsname.yml" 2>"$T/tlsname.err" &
	pids+=("$!")
	port=
	for _ in $(seq 50); do
		port=$(sed -n 's|^zferry serve: listening on tls://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/tlsname.err")
		[ -n "$port" ] && break
		sleep 0.1
	done
	tls=(--retries 0 --tls-ca "$T/certs/ca.pem" --tls-cert "$T/certs/laptop.pem"
	     --tls-key "$T/certs/laptop.key")
	expect 1 "cannot list 'tank/x': tls://127.0.0.1:$port: " -- \
		"$Z" replicate "${tls[@]}" "tls://127.0.0.1:$port/tank/x" tank/y
	expect 1 "is not for 'wrong.example': no DNS name in its subjectAltName" -- \
		"$Z" replicate "${tls[@]}" --tls-server-name wrong.example "tls://127.0.0.1:$port/tank/x" tank/y
	expect 1 "cannot list 'tank/x': tls://127.0.0.1:$port: " -- \
		"$Z" replicate "${tls[@]}" --tls-server-name server "tls://127.0.0.1:$port/tank/x" tank/y
	# a client certificate of the same CA cannot pass for the server
	printf 'serve:\n  tls: {ca: %s, cert: %s, key: %s}\n  clients:\n  - identity: "tls:laptop"\n    read: [tank]\n' \
		"$T/certs/ca.pem" "$T/certs/laptop.pem" "$T/certs/laptop.key" >"$T/tlsfake.yml"
	"$Z" serve --listen tls://127.0.0.1:0 -c "$T/tlsfake.yml" 2>"$T/tlsfake.err" &
	pids+=("$!")
	port=
	for _ in $(seq 50); do
		port=$(sed -n 's|^zferry serve: listening on tls://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$T/tlsfake.err")
		[ -n "$port" ] && break
		sleep 0.1
	done
	# (OpenSSL checks the purpose before the name: the first failure is reported)
	expect 1 "certificate of server 'laptop' (tcp:127.0.0.1:$port) is not for TLS servers (extendedKeyUsage)" -- \
		"$Z" replicate "${tls[@]}" "tls://127.0.0.1:$port/tank/x" tank/y
fi

# the benchmark tools are zferry-bench's alone: the shipped binary has neither
expect 2 "unknown command 'debug'" -- "$Z" debug rpc-send tcp://127.0.0.1:1/t/x
expect 2 "unknown option '--debug-null-endpoint'" -- \
	"$Z" serve -c "$T/good.yml" --listen tcp://127.0.0.1:0 --debug-null-endpoint
expect 0 "" -- "$ZB" debug rpc-send --help

echo "$fails failed"
[ "$fails" = 0 ]
