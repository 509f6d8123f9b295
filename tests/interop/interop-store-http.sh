#!/usr/bin/env bash
# DESCRIPTION: zferry store serve speaks desync's chunk-server protocol:
#   casync and zferry read through it, zferry writes through it, and it
#   refuses what it must (read-only PUT, replacing a chunk, hostile paths,
#   huge bodies, slow clients, wrong Authorization).
# STRATEGY: real servers on 127.0.0.1:0 (the port read from the "listening
#   on" line), driven by casync, zferry store and curl; every byte compared
#   with cmp; a server killed mid-upload and restarted on its port.
# Exit 0 pass, 77 skip (no casync/curl/python3), anything else fail.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ZFERRY=${1:?usage: interop-store-http.sh ZFERRY}
for t in casync curl python3; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

T=$(mktemp -d /tmp/zf-storehttp-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
. "$here/../lib/cli-lib.sh"

python3 -c '
import random
r = random.Random(15)
open("in8m", "wb").write(r.getrandbits(8 * (8 << 20)).to_bytes(8 << 20, "little"))
open("in32m", "wb").write(r.getrandbits(8 * (32 << 20)).to_bytes(32 << 20, "little"))
'

# serve NAME ARGS...: starts a server, sets PORT and SRV (its pid)
serve() {
	local name=$1
	shift
	"$ZFERRY" store serve "$@" >"$name.log" 2>&1 &
	SRV=$!
	pids+=("$SRV")
	for _ in $(seq 100); do
		PORT=$(sed -n 's/^zferry store serve: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
			"$name.log")
		[ -n "$PORT" ] && return 0
		sleep 0.05
	done
	fail "server $name did not start: $(cat "$name.log")"
	PORT=1
}

status() {     # status CURL_ARGS...: prints the HTTP status
	curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@"
}

# --- read-only server: casync and zferry extract through it
"$ZFERRY" store make -s ro in8m.caibx in8m || fail "make into ro"
serve ro -s ro --listen 127.0.0.1:0
casync extract --store="http://127.0.0.1:$PORT/" in8m.caibx out-casync >/dev/null 2>err ||
	fail "casync extract over http: $(cat err)"
cmp -s in8m out-casync || fail "casync extract over http differs"
"$ZFERRY" store extract -s "http://127.0.0.1:$PORT/" in8m.caibx out-z 2>err ||
	fail "zferry extract over http: $(cat err)"
cmp -s in8m out-z || fail "zferry extract over http differs"

one=$(cd ro && ls | head -1)
id=$(cd ro/$one && ls | head -1)
id=${id%.cacnk}
other=$(cd ro && find . -name '*.cacnk' | sed -n 2p)
url=http://127.0.0.1:$PORT
[ "$(status "$url/$one/$id.cacnk")" = 200 ] || fail "GET of a chunk"
[ "$(status -I "$url/$one/$id.cacnk")" = 200 ] || fail "HEAD of a chunk"
[ "$(status "$url/0000/${id:0:60}0000.cacnk")" != 200 ] || fail "GET of a missing chunk"
[ "$(status "$url/${one}/$(printf %064d 0).cacnk")" = 400 ] ||
	fail "a chunk under the wrong directory is not 400"
[ "$(status -T ro/$one/$id.cacnk "$url/$one/$id.cacnk")" = 400 ] ||
	fail "a read-only server took a PUT"
# hostile paths
for p in "/../$one/$id.cacnk" "/$one/../$one/$id.cacnk" "/%2e%2e/$one/$id.cacnk" \
	"/$one/%2e%2e/$id.cacnk" "/${one^^}/${id^^}.cacnk" "/$one/${id:0:63}.cacnk" \
	"/$one/${id}0.cacnk" "/$one/$id.cacnk/x" "//$one/$id.cacnk" "/$one//$id.cacnk" \
	"/$one/$id.cacnk?x=1" "/$one/$id.cac%6ek" "/$one/$id" "/x/$one/$id.cacnk" \
	"/etc/passwd" "/"; do
	s=$(status --path-as-is "$url$p")
	[ "$s" = 400 ] || fail "GET $p answered $s, want 400"
done
[ "$(status -X DELETE "$url/$one/$id.cacnk")" = 405 ] || fail "DELETE is not 405"
[ "$(status -X POST -d x "$url/$one/$id.cacnk")" = 405 ] || fail "POST is not 405"
# a damaged chunk is refused by the client, naming it
cp -a ro ro-bad
victim=$(cd ro-bad && find . -name '*.cacnk' | head -1)
vid=$(basename "$victim" .cacnk)
printf 'garbage' | dd of="ro-bad/$victim" bs=1 seek=20 conv=notrunc 2>/dev/null
serve bad -s ro-bad --listen 127.0.0.1:0
if "$ZFERRY" store extract -s "http://127.0.0.1:$PORT/" in8m.caibx out-bad 2>err; then
	fail "extract of a damaged chunk over http succeeded"
fi
grep -q "$vid" err || fail "the error does not name the damaged chunk: $(cat err)"
[ ! -e out-bad ] || fail "a damaged extract left output"

# --- writable server under a prefix, with an auth file: round trip
echo 'Bearer s3cr3t-t0ken' >auth
echo 'Bearer wrong' >auth-bad
mkdir idx
serve rw -s rw --listen 127.0.0.1:0 --writable --prefix /p/q/ --auth-file auth \
	--index-dir idx --timeout 3
rw=http://127.0.0.1:$PORT/p/q/
"$ZFERRY" store make -s "$rw" --store-auth-file auth idx/rt.caibx in8m 2>err ||
	fail "make over http: $(cat err)"
"$ZFERRY" store extract -s "$rw" --store-auth-file auth idx/rt.caibx out-rt 2>err ||
	fail "extract over http: $(cat err)"
cmp -s in8m out-rt || fail "round trip over http differs"
cmp -s <(cd ro && find . -name '*.cacnk' | sort) <(cd rw && find . -name '*.cacnk' | sort) ||
	fail "make over http stored other chunks than make into a directory"
# the index, served too
curl -s -H 'Authorization: Bearer s3cr3t-t0ken' -o idx-got "${rw}rt.caibx"
cmp -s idx/rt.caibx idx-got || fail "GET of the index differs"
"$ZFERRY" store extract -s "$rw" in8m.caibx out-noauth 2>err &&
	fail "extract without the auth file succeeded"
grep -q 'HTTP 401' err || fail "no auth is not reported as 401: $(cat err)"
grep -q 's3cr3t' err && fail "the secret is in an error message"
"$ZFERRY" store extract -s "$rw" --store-auth-file auth-bad in8m.caibx out-noauth 2>/dev/null &&
	fail "extract with a wrong auth file succeeded"
A=(-H 'Authorization: Bearer s3cr3t-t0ken')
[ "$(status -H 'Authorization: Bearer s3cr3t-t0kex' "${rw}$one/$id.cacnk")" = 401 ] ||
	fail "a wrong Authorization is not 401"
[ "$(status -H 'Authorization: bearer s3cr3t-t0ken' "${rw}$one/$id.cacnk")" = 401 ] ||
	fail "Authorization is compared exactly"
[ "$(status "${A[@]}" "${rw}$one/$id.cacnk")" = 200 ] || fail "GET with Authorization"
[ "$(status "${A[@]}" "http://127.0.0.1:$PORT/$one/$id.cacnk")" = 400 ] ||
	fail "a chunk outside the prefix is not 400"
# append-only: the same bytes are fine, other content under an existing id is not
[ "$(status "${A[@]}" -T "rw/$one/$id.cacnk" "${rw}$one/$id.cacnk")" = 200 ] ||
	fail "a PUT of the same chunk is not 200"
cp "rw/$one/$id.cacnk" before
s=$(status "${A[@]}" -T "ro/$other" "${rw}$one/$id.cacnk")
[ "$s" = 400 ] || fail "a PUT of content that does not hash to its id answered $s, want 400"
cmp -s before "rw/$one/$id.cacnk" || fail "a refused PUT changed the stored chunk"
s=$(status "${A[@]}" -H 'Content-Length: 99999999999' -X PUT "${rw}$one/$id.cacnk")
[ "$s" = 413 ] || fail "a huge Content-Length answered $s, want 413"
s=$(status "${A[@]}" -H 'Transfer-Encoding: chunked' -T - "${rw}$one/$id.cacnk" </dev/null)
[ "$s" = 400 ] || fail "a chunked PUT answered $s, want 400"
# a slow client (one byte a second) is dropped by the 3 s deadline
python3 - "$PORT" <<'PY' || fail "a slow client was not dropped"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.time()
try:
    for c in b"GET /p/q/ HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 60:
        s.send(bytes([c]))
        time.sleep(1)
        if time.time() - t0 > 30:
            sys.exit(1)
except (BrokenPipeError, ConnectionResetError):
    sys.exit(0 if time.time() - t0 < 10 else 1)
sys.exit(1)
PY
# without --no-verify, other content under an existing id: 409, nothing replaced
serve nv -s rw --listen 127.0.0.1:0 --writable --no-verify
s=$(status -T "ro/$other" "http://127.0.0.1:$PORT/$one/$id.cacnk")
[ "$s" = 409 ] || fail "a PUT of other content under an existing id answered $s, want 409"
cmp -s before "rw/$one/$id.cacnk" || fail "a 409 PUT changed the stored chunk"

# --- a server killed mid-upload, restarted: the rerun completes
serve k1 -s kill --listen 127.0.0.1:0 --writable
kport=$PORT
"$ZFERRY" store make -s "http://127.0.0.1:$kport/" -j 1 kill.caibx in32m 2>/dev/null &
mk=$!
for _ in $(seq 200); do
	[ -n "$(find kill -name '*.cacnk' 2>/dev/null | head -1)" ] && break
	sleep 0.02
done
kill -9 "$SRV"
wait "$mk" 2>/dev/null && echo "note: make finished before the server was killed"
serve k2 -s kill --listen "127.0.0.1:$kport" --writable
[ "$PORT" = "$kport" ] || fail "restart on port $kport"
"$ZFERRY" store make -s "http://127.0.0.1:$kport/" kill.caibx in32m 2>err ||
	fail "rerun after the server came back: $(cat err)"
"$ZFERRY" store extract -s kill kill.caibx out-kill 2>err || fail "extract after rerun: $(cat err)"
cmp -s in32m out-kill || fail "the rerun after a server restart differs"

if [ "$failures" -ne 0 ]; then
	echo "$failures failures"
	exit 1
fi
echo "all store http checks passed"
