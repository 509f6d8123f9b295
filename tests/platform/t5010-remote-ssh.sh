#!/usr/bin/env bash
# DESCRIPTION: replicate over ssh: `zferry serve --stdio` run by sshd, pinned to
#   an identity by an authorized_keys forced command, and unpinned for a root
#   login without one
# STRATEGY:
#  1. A private sshd on loopback; the client key's authorized_keys line forces
#     `zferry serve --stdio --identity laptop -c CFG` (the line docs/serve.md shows).
#  2. Push and pull with host:pool/fs and ssh://host:port/pool/fs URLs; compare.
#  3. The pinned key cannot reach outside its grant; the same key without a
#     forced command reaches everything (a root login could run zfs itself).
#  4. An ssh that cannot connect fails with one line naming ssh.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

pool_create zs1 384M
pool_create zs2 384M
sshd_start
log_must zfs create -p zs1/src/data
log_must zfs create -p zs2/backup/laptop
log_must zfs create zs1/secret
log_must dd if=/dev/urandom of=/mnt/zs1/src/data/f bs=1M count=4 status=none

cat >"$TEST_TMP/zferry.yml" <<CFG
serve:
  clients:
    - identity: laptop
      read: [zs1/src]
      write: [zs2/backup/laptop]
CFG
sshd_authorize "command=\"$ZFERRY serve --stdio --identity laptop -c $TEST_TMP/zferry.yml\",restrict $SSH_PUB"
ssh=(--no-progress "${SSH_OPTS[@]}" --remote-zferry "$ZFERRY")

# push with ssh://, pull with host:fs (port through the ssh option)
log_must "$ZFERRY" replicate "${ssh[@]}" zs1/src/data "ssh://root@127.0.0.1:$SSH_PORT/zs2/backup/laptop/data"
log_must zfs mount zs2/backup/laptop/data
assert_eq "$(fs_checksum zs2/backup/laptop/data)" "$(fs_checksum zs1/src/data)" "pushed over ssh"
log_must zfs create zs2/pulled
log_must "$ZFERRY" replicate "${ssh[@]}" --ssh-option "Port=$SSH_PORT" "root@127.0.0.1:zs1/src/data" zs2/pulled/data
assert_eq "$(snaps zs2/pulled/data)" "$(snaps zs1/src/data)" "pulled over ssh"

# the forced command pins the grant
before=$(snaps zs1/secret)
capture "$ZFERRY" replicate "${ssh[@]}" "ssh://root@127.0.0.1:$SSH_PORT/zs1/secret" zs2/stolen
assert_eq "$RC" 1 "pull outside the grant"
assert_contains "$OUT" "no read or write grant"
assert_eq "$(snaps zs1/secret)" "$before" "no snapshot taken outside the grant"
capture zfs list -H zs2/stolen
assert_eq "$RC" 1 "nothing received"

# without a forced command the login is root's: everything is reachable
sshd_authorize "$SSH_PUB"
log_must "$ZFERRY" replicate "${ssh[@]}" "ssh://root@127.0.0.1:$SSH_PORT/zs1/secret" zs2/secret-copy
capture zfs list -H zs2/secret-copy
assert_eq "$RC" 0 "unpinned login reaches everything"

# an ssh that cannot connect: one line
capture "$ZFERRY" replicate "${ssh[@]}" --timeout 10 zs1/src/data "ssh://root@127.0.0.1:1/zs2/x"
assert_eq "$RC" 1 "unreachable ssh"
assert_contains "$OUT" "ssh"
log_pass
