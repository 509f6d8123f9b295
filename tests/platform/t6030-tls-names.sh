#!/usr/bin/env bash
# DESCRIPTION: issue 10 point 5 — TLS authenticates both ends by default: the
#   client takes only a server certificate for the host it dialled, the server
#   only client certificates for TLS clients that its CRL does not revoke
# STRATEGY:
#  1. Certificates from the openssl command line: server (subjectAltName
#     localhost, 127.0.0.1, ::1), laptop, "lost" (CN laptop too, revoked in
#     the CA's CRL), "srvonly" (CN laptop, extendedKeyUsage serverAuth only).
#     `zferry serve --listen tls://:0` (every address) with serve.tls.crl.
#  2. Pulls over tls://127.0.0.1 and tls://localhost work.
#  3. tls://127.0.0.2 reaches the same server, but its certificate is not for
#     that address: refused with a one-line reason, nothing received (zfs
#     list); --tls-server-name 127.0.0.1 (what the certificate is for) works.
#  4. The revoked client and the server-only certificate are refused by the
#     server, which logs why; nothing received.
#  5. A missing CRL file stops serve at startup.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

pool_create zs1 128M
pool_create zs2 128M
certs_make
cert_make lost laptop
cert_make srvonly laptop "extendedKeyUsage = serverAuth"
ca=(-config "$CERTS/ca.cnf" -cert "$CERTS/ca.pem" -keyfile "$CERTS/ca.key")
log_must openssl ca "${ca[@]}" -revoke "$CERTS/lost.pem"
log_must openssl ca "${ca[@]}" -gencrl -crldays 30 -out "$CERTS/crl.pem"

log_must zfs create -p zs1/src/data
log_must dd if=/dev/urandom of=/mnt/zs1/src/data/f bs=256K count=1 status=none
log_must zfs snapshot zs1/src/data@one
log_must zfs create zs2/in

cat >"$TEST_TMP/zferry.yml" <<CFG
serve:
  tls:
    ca: $CERTS/ca.pem
    cert: $CERTS/server.pem
    key: $CERTS/server.key
    crl: $CERTS/crl.pem
  handshake_timeout: 60               # a busy TCG VM can take more than the default 10 s
  clients:
    - identity: "tls:laptop"
      read: [zs1/src]
CFG
log_must "$ZFERRY" config check -c "$TEST_TMP/zferry.yml"
serve_start "$TEST_TMP/zferry.yml" tls://:0
mapfile -t laptop < <(tls_opts laptop)
pull() { capture "$ZFERRY" replicate --no-progress --timeout 20 --retries 0 "$@"; }
absent() { capture zfs list -H -o name "$1"; [ "$RC" != 0 ] || log_fail "$1 was received"; }

# 2. the certificate is for the host in the URL, by address and by name
pull "${laptop[@]}" "tls://127.0.0.1:$SERVE_PORT/zs1/src/data" zs2/in/by-ip
assert_eq "$RC" 0 "pull from tls://127.0.0.1"
assert_eq "$(guid zs2/in/by-ip@one)" "$(guid zs1/src/data@one)" "pulled by address"
pull "${laptop[@]}" "tls://localhost:$SERVE_PORT/zs1/src/data" zs2/in/by-name
assert_eq "$RC" 0 "pull from tls://localhost"

# 3. the same server by an address its certificate does not name
pull "${laptop[@]}" "tls://127.0.0.2:$SERVE_PORT/zs1/src/data" zs2/in/wrong
assert_eq "$RC" 1 "pull from tls://127.0.0.2"
assert_contains "$OUT" "certificate of server 'server'"
assert_contains "$OUT" "is not for address '127.0.0.2'"
absent zs2/in/wrong
pull "${laptop[@]}" --tls-server-name backup.zferry.test \
	"tls://127.0.0.1:$SERVE_PORT/zs1/src/data" zs2/in/wrong
assert_eq "$RC" 1 "pull expecting backup.zferry.test"
assert_contains "$OUT" "is not for 'backup.zferry.test'"
absent zs2/in/wrong
pull "${laptop[@]}" --tls-server-name 127.0.0.1 \
	"tls://127.0.0.2:$SERVE_PORT/zs1/src/data" zs2/in/rescued
assert_eq "$RC" 0 "pull from tls://127.0.0.2 with --tls-server-name 127.0.0.1"
assert_eq "$(guid zs2/in/rescued@one)" "$(guid zs1/src/data@one)" "rescued pull"

# 4. the server refuses a revoked client, and a certificate not for TLS clients
mapfile -t lost < <(tls_opts lost)
pull "${lost[@]}" "tls://127.0.0.1:$SERVE_PORT/zs1/src/data" zs2/in/lost
assert_eq "$RC" 1 "pull with a revoked certificate"
assert_contains "$OUT" "our certificate"
absent zs2/in/lost
mapfile -t srvonly < <(tls_opts srvonly)
pull "${srvonly[@]}" "tls://127.0.0.1:$SERVE_PORT/zs1/src/data" zs2/in/srvonly
assert_eq "$RC" 1 "pull with a server-only certificate"
absent zs2/in/srvonly
for _ in $(seq 1 50); do
	grep -q "is not for TLS clients" "$TEST_TMP/serve.log" && break
	sleep 0.1
done
log=$(cat "$TEST_TMP/serve.log")
assert_contains "$log" "certificate of client 'laptop'"
assert_contains "$log" "is revoked (CRL '$CERTS/crl.pem')"
assert_contains "$log" "is not for TLS clients (extendedKeyUsage)"
assert_contains "$log" "identity 'tls:laptop'"
serve_stop

# 5. a CRL that is not there is a startup error, not a refusal per connection
sed "s|crl: .*|crl: $CERTS/missing.pem|" "$TEST_TMP/zferry.yml" >"$TEST_TMP/nocrl.yml"
capture timeout 20 "$ZFERRY" serve -c "$TEST_TMP/nocrl.yml" --listen tls://127.0.0.1:0
assert_eq "$RC" 1 "serve with a missing CRL"
assert_contains "$OUT" "cannot read CRL '$CERTS/missing.pem'"
log_pass
