#!/usr/bin/env bash
# DESCRIPTION: replicate between two zferry processes over tls: push and pull,
#   full then incremental, a tree, hostile names; the server's grants decide
#   what the client reaches
# STRATEGY:
#  1. Certificates from the openssl command line; `zferry serve --listen
#     tls://127.0.0.1:0` with a config granting "laptop" read on zs1/src and
#     write on zs2/backup/laptop.
#  2. Push zs1/src/data there (full, then incremental); pull zs1/src back into
#     zs2/pulled; compare guids and contents with the source.
#  3. A filesystem named with spaces, ':' and '.' (all zfs allows besides
#     letters, digits, '_' and '-') goes through unharmed.
#  4. The server logged the client's identity.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

pool_create zs1 384M
pool_create zs2 384M
certs_make
log_must zfs create -p zs1/src/data/child
log_must zfs create -p zs2/backup/laptop
log_must dd if=/dev/urandom of=/mnt/zs1/src/data/f bs=1M count=8 status=none
echo child >/mnt/zs1/src/data/child/c

cat >"$TEST_TMP/zferry.yml" <<CFG
serve:
  tls:
    ca: $CERTS/ca.pem
    cert: $CERTS/server.pem
    key: $CERTS/server.key
  clients:
    - identity: laptop
      read: [zs1/src]
      write: [zs2/backup/laptop]
CFG
log_must "$ZFERRY" config check -c "$TEST_TMP/zferry.yml"
serve_start "$TEST_TMP/zferry.yml" tls://127.0.0.1:0
url=tls://127.0.0.1:$SERVE_PORT
mapfile -t tls < <(tls_opts laptop)

# push: full, then incremental
log_must "$ZFERRY" replicate -r --no-progress "${tls[@]}" zs1/src/data "$url/zs2/backup/laptop/data"
for fs in data data/child; do
	s=$(zfs list -H -t snapshot -o name -s createtxg -d 1 "zs1/src/$fs" | tail -n1)
	assert_eq "$(guid "zs2/backup/laptop/$fs@${s#*@}")" "$(guid "$s")" "pushed $fs"
done
dd if=/dev/urandom of=/mnt/zs1/src/data/g bs=1M count=2 status=none
capture_out "$ZFERRY" replicate -r --json "${tls[@]}" zs1/src/data "$url/zs2/backup/laptop/data"
assert_eq "$RC" 0 "incremental push"
assert_contains "$OUT" '"incremental"'
log_must zfs mount zs2/backup/laptop/data
assert_eq "$(fs_checksum zs2/backup/laptop/data)" "$(fs_checksum zs1/src/data)" "pushed content"
assert_has_snaps zs2/backup/laptop/data zs1/src/data "pushed snapshots"

# pull into a local pool
log_must zfs create zs2/pulled
log_must "$ZFERRY" replicate -r --no-progress "${tls[@]}" "$url/zs1/src/data" zs2/pulled/data
assert_has_snaps zs2/pulled/data/child zs1/src/data/child "pulled snapshots"
log_must zfs mount zs2/pulled/data
assert_eq "$(fs_checksum zs2/pulled/data)" "$(fs_checksum zs1/src/data)" "pulled content"

# names are data
weird="zs1/src/we ird:x. y"
log_must zfs create "$weird"
echo weird >"$(zfs get -H -o value mountpoint "$weird")/w"
log_must "$ZFERRY" replicate --no-progress "${tls[@]}" "$weird" "$url/zs2/backup/laptop/we ird:x. y"
capture zfs list -H -o name "zs2/backup/laptop/we ird:x. y"
assert_eq "$RC" 0 "hostile name pushed"

# holds are gone on the sender, the server logged who connected
assert_eq "$(zfs get -Hp -o value userrefs "$(zfs list -H -t snapshot -o name -d1 zs1/src/data | tail -n1)")" 0 "holds left"
assert_contains "$(cat "$TEST_TMP/serve.log")" "laptop" "server log names the identity"
log_pass
