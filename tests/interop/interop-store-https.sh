#!/usr/bin/env bash
# DESCRIPTION: zferry store serve over HTTPS: a client with a certificate the
#   CA signed makes and extracts through it; one without is refused.
# STRATEGY: a CA, a server certificate for 127.0.0.1 and a client one made
#   with the openssl command line (as tests/lib/remote-lib.sh does); a real
#   server on 127.0.0.1:0; round trip compared with cmp; curl without a
#   client certificate and plain HTTP to the TLS port must fail; so must a
#   server or client certificate of a second CA and a name the certificate
#   is not for, each with one line saying which.
# Exit 0 pass, 77 skip (no openssl/curl), anything else fail.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ZFERRY=${1:?usage: interop-store-https.sh ZFERRY}
for t in openssl curl; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

T=$(mktemp -d /tmp/zf-storehttps-XXXXXX)
SRV=
trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
cd "$T" || exit 1
. "$here/../lib/cli-lib.sh"

mkdir -p db/new
: >db/index.txt
echo 1000 >db/serial
printf '%s\n' '[ca]' 'default_ca = d' '[d]' "database = $T/db/index.txt" \
	"new_certs_dir = $T/db/new" "serial = $T/db/serial" 'default_md = sha256' \
	'policy = p' 'unique_subject = no' '[p]' 'commonName = supplied' >ca.cnf
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout ca.key -out ca.pem -subj /CN=zferry-test-ca 2>/dev/null || fail "openssl: ca"
cert() {	# NAME [openssl ca args]
	local n=$1
	shift
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$n.key" \
		-out "$n.csr" -subj "/CN=$n" 2>/dev/null || fail "openssl req $n"
	openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key -in "$n.csr" \
		-out "$n.pem" -days 2 "$@" >/dev/null 2>&1 || fail "openssl ca $n"
}
echo 'subjectAltName = IP:127.0.0.1' >server.ext
cert server -extfile server.ext
cert client

head -c $((6 << 20)) /dev/urandom >in
"$ZFERRY" store serve -s st --listen 127.0.0.1:0 --writable --tls-cert server.pem \
	--tls-key server.key --tls-ca ca.pem --timeout 5 >srv.log 2>&1 &
SRV=$!
PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/^zferry store serve: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' srv.log)
	[ -n "$PORT" ] && break
	sleep 0.05
done
[ -n "$PORT" ] || { fail "server did not start: $(cat srv.log)"; PORT=1; }
url=https://127.0.0.1:$PORT/
tls=(--store-tls-ca ca.pem --store-tls-cert client.pem --store-tls-key client.key)
"$ZFERRY" store make -s "$url" "${tls[@]}" in.caibx in 2>err || fail "make over https: $(cat err)"
"$ZFERRY" store extract -s "$url" "${tls[@]}" in.caibx out 2>err ||
	fail "extract over https: $(cat err)"
cmp -s in out || fail "round trip over https differs"

# refused() NAME PATTERN ARGS...: extract must fail with one line matching PATTERN
refused() {
	local name=$1 pat=$2
	shift 2
	"$ZFERRY" store extract -s "$url" -j 1 "$@" in.caibx out.x 2>err &&
		{ fail "extract $name succeeded"; return; }
	[ "$(wc -l <err)" = 1 ] || fail "extract $name: not one line: $(cat err)"
	grep -q -- "$pat" err || fail "extract $name: no '$pat' in: $(cat err)"
}
refused "without a client certificate" "does the server want a client certificate" \
	--store-tls-ca ca.pem
refused "trusting the system CAs" "server certificate refused (checked by the system's CAs" \
	--store-tls-cert client.pem --store-tls-key client.key
# a second CA: its server certificate is unknown to us, its client one to the server
mkdir other
(
	cd other || exit 1
	mkdir -p db/new
	: >db/index.txt
	echo 1000 >db/serial
	sed "s|$T/db|$T/other/db|" ../ca.cnf >ca.cnf
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout ca.key -out ca.pem -subj /CN=zferry-other-ca 2>/dev/null
	cert mallory
) || fail "openssl: other ca"
refused "with another CA" "server certificate refused: SSL certificate problem" \
	--store-tls-ca other/ca.pem --store-tls-cert client.pem --store-tls-key client.key
refused "with a client certificate of another CA" "is our certificate signed by" \
	--store-tls-ca ca.pem --store-tls-cert other/mallory.pem --store-tls-key other/mallory.key
url=https://localhost:$PORT/
refused "by a name the certificate is not for" "server certificate refused: .*'localhost'" \
	--store-tls-ca ca.pem --store-tls-cert client.pem --store-tls-key client.key
url=http://127.0.0.1:$PORT/
refused "with TLS options on an http:// URL" "TLS options need an https:// URL" \
	--store-tls-ca ca.pem
url=https://127.0.0.1:$PORT/
refused "with a certificate but no key" "needs its key" \
	--store-tls-ca ca.pem --store-tls-cert client.pem
"$ZFERRY" store serve -s st --listen 127.0.0.1:0 --tls-cert server.pem 2>err &&
	fail "store serve with --tls-cert alone started"
grep -q -- "--tls-cert, --tls-key and --tls-ca go together" err ||
	fail "store serve --tls-cert alone: $(cat err)"
"$ZFERRY" store serve -s st --listen 127.0.0.1:0 --tls-cert server.pem --tls-key client.key \
	--tls-ca ca.pem 2>err && fail "store serve with a key not its certificate's started"
[ "$(wc -l <err)" = 1 ] || fail "store serve, wrong key: not one line: $(cat err)"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$PORT/")" = 000 ] ||
	fail "plain HTTP to the TLS port was answered"

if [ "$failures" -ne 0 ]; then
	echo "$failures failures"
	exit 1
fi
echo "all store https checks passed"
