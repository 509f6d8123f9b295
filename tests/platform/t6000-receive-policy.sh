#!/usr/bin/env bash
# DESCRIPTION: issue 10 point 1 — a receive never lets the sender choose where
#   or how data appears on the receiving host: the receive policy on a server
#   for any client, and locally for a stream pulled from a remote source
# STRATEGY:
#  1. zferry serve (tcp, identity tcp:127.0.0.1): write zs2/backup, read zs2/src.
#  2. The stock client asking hostile -o (mountpoint over /etc/cron.d,
#     sharenfs, setuid/devices/exec, reservation, refreservation through the
#     alias refreserv, keylocation, zoned, canmount=on, readonly=off): each
#     refused, nothing created on the server, nothing mounted.
#  3. --mount asks in vain: received, canmount=noauto, not mounted.
#  4. A -p stream carrying hostile properties (--props): received; on the
#     server mountpoint inherited, sharenfs off, no reservation, no
#     org.openzfs.systemd:* or com.example:* property, compression kept.
#  5. Raw frames (debug rpc-send --zfs-stream): a -R stream is refused before
#     zfs recv runs; an encrypted raw -p stream's keylocation=file://... ends
#     as prompt; a stream that is no zfs stream is refused.
#  6. The server's config: force readonly=on and mountpoint=none, allow
#     com.example:*, and mount: true mounts under the server's own tree, but
#     never over a non-empty directory.
#  7. A pull of a hostile -p stream from the server's source: stripped on the
#     local receiving side; --accept-prop widens that.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

pool_create zs1 256M
pool_create zs2 256M
log_must zfs create zs2/backup
log_must zfs create zs2/src
log_must zfs create zs1/plain
log_must zfs snapshot zs1/plain@s1

cfg=$TEST_TMP/zferry.yml
write_cfg()	# RECEIVE-YAML (indented for serve:)
{
	cat >"$cfg" <<CFG
serve:
  tcp:
    allow: [127.0.0.1]
$1
  clients:
    - identity: "tcp:127.0.0.1"
      read: [zs2/src]
      write: [zs2/backup]
CFG
	log_must "$ZFERRY" config check -c "$cfg"
}
write_cfg ""
serve_start "$cfg" tcp://127.0.0.1:0
url=tcp://127.0.0.1:$SERVE_PORT

state() { zfs list -H -t all -o name,guid -r zs2 | sort; mount | grep -c ' type zfs ' ; }
mounted_zfs() { mount | awk '$5 == "zfs" { print $1 " " $3 }' | sort; }

# ---- 2. hostile -o from the stock client ----------------------------------
before=$(state)
before_mounts=$(mounted_zfs)
# (each property alone in tests/unit/test-recv-policy.c; here a sample end to end)
for o in mountpoint=/etc/cron.d sharenfs=on setuid=on refreserv=100M \
	keylocation=file:///etc/shadow canmount=on origin=zs2/src@x; do
	capture "$ZFERRY" replicate --no-sync-snap -o "$o" zs1/plain "$url/zs2/backup/plain"
	[ "$RC" = 1 ] || log_fail "-o $o: status $RC, expected 1"
	assert_contains "$OUT" "receive policy" "-o $o"
	assert_eq "$(state)" "$before" "server after -o $o"
done
assert_eq "$(mounted_zfs)" "$before_mounts" "mounts after the hostile -o"

# ---- 3. --mount asks, the server decides ---------------------------------------
log_must "$ZFERRY" replicate --no-sync-snap --mount zs1/plain "$url/zs2/backup/plain"
assert_eq "$(zfs get -H -o value canmount zs2/backup/plain)" noauto "canmount after --mount"
assert_eq "$(zfs get -H -o value mounted zs2/backup/plain)" no "mounted after --mount"
assert_eq "$(guid zs2/backup/plain@s1)" "$(guid zs1/plain@s1)" "guid of the push"

# ---- 4. a stream that carries hostile properties ------------------------------
hostile=(-o canmount=noauto -o mountpoint=/etc/cron.d -o sharenfs=on -o setuid=on
	 -o devices=on -o exec=on -o reservation=20M -o copies=3 -o compression=zstd
	 -o org.openzfs.systemd:wanted-by=multi-user.target -o com.example:note=hi)
log_must zfs create "${hostile[@]}" zs1/evil
log_must zfs snapshot zs1/evil@s1
log_must "$ZFERRY" replicate --no-sync-snap --props zs1/evil "$url/zs2/backup/evil"
t=zs2/backup/evil
assert_eq "$(guid $t@s1)" "$(guid zs1/evil@s1)" "guid of the -p push"
assert_eq "$(zfs get -H -o source mountpoint $t)" "inherited from zs2" "mountpoint source"
assert_eq "$(zfs get -H -o value sharenfs $t)" off "sharenfs"
assert_eq "$(zfs get -H -o value setuid,devices,exec $t | sort -u)" on "setuid/devices/exec inherited"
assert_eq "$(zfs get -H -o source setuid,devices,exec $t | sort -u)" default "setuid/devices/exec source"
assert_eq "$(zfs get -Hp -o value reservation $t)" 0 "reservation"
assert_eq "$(zfs get -H -o value copies $t)" 1 "copies"
assert_eq "$(zfs get -H -o value org.openzfs.systemd:wanted-by $t)" - "systemd property"
assert_eq "$(zfs get -H -o value com.example:note $t)" - "user property not allowed"
assert_eq "$(zfs get -H -o value compression $t)" zstd "compression kept"
assert_eq "$(zfs get -H -o source compression $t)" received "compression source"
assert_eq "$(zfs get -H -o value canmount,mounted $t | tr '\n' ' ')" "noauto no " "not mounted"
assert_eq "$(mounted_zfs)" "$before_mounts" "mounts after the -p push"

# ---- 5. raw frames: what the stock client never sends ---------------------------
log_must zfs create -p zs1/tree/child
log_must zfs snapshot -r zs1/tree@r1
before=$(state)
capture sh -c "zfs send -R zs1/tree@r1 | '$ZFERRY_BENCH' debug rpc-send --zfs-stream $url/zs2/backup/tree"
[ "$RC" != 0 ] || log_fail "a -R stream was accepted"
assert_contains "$OUT" "zfs send -R" "refusal of -R"
assert_eq "$(state)" "$before" "server after the -R stream"
capture sh -c "head -c 100000 /dev/urandom | '$ZFERRY_BENCH' debug rpc-send --zfs-stream $url/zs2/backup/junk"
[ "$RC" != 0 ] || log_fail "junk was accepted"
assert_eq "$(state)" "$before" "server after junk"

echo 'pass phrase 123' >"$TEST_TMP/key"
# pbkdf2iters at its minimum: the default 350 000 rounds take seconds in the VM
log_must zfs create -o encryption=on -o keyformat=passphrase -o pbkdf2iters=100000 \
	-o keylocation="file://$TEST_TMP/key" zs1/enc
log_must zfs snapshot zs1/enc@e1
log_must sh -c "zfs send -w -p zs1/enc@e1 | '$ZFERRY_BENCH' debug rpc-send --zfs-stream $url/zs2/backup/enc"
assert_eq "$(zfs get -H -o value encryption zs2/backup/enc)" aes-256-gcm "raw push encrypted"
assert_eq "$(zfs get -H -o value keylocation zs2/backup/enc)" prompt "keylocation after a raw -p push"
assert_contains "$(cat "$TEST_TMP/serve.log")" "reset to prompt" "server says it reset keylocation"

# ---- 6. the server's own policy ---------------------------------------------------
serve_stop
write_cfg '  receive:
    allow: [default, "com.example:*"]
    force: [readonly=on, mountpoint=none]'
serve_start "$cfg" tcp://127.0.0.1:0
url=tcp://127.0.0.1:$SERVE_PORT
log_must "$ZFERRY" replicate --no-sync-snap --props --no-readonly zs1/evil "$url/zs2/backup/evil2"
t=zs2/backup/evil2
assert_eq "$(zfs get -H -o value com.example:note $t)" hi "allowed user property"
assert_eq "$(zfs get -H -o value,source readonly $t | tr '\t' ' ')" "on local" "forced readonly"
assert_eq "$(zfs get -H -o value mountpoint $t)" none "forced mountpoint"
capture "$ZFERRY" replicate --no-sync-snap -o readonly=off zs1/plain "$url/zs2/backup/plain2"
[ "$RC" = 1 ] || log_fail "readonly=off against a forced readonly=on: status $RC"
assert_contains "$OUT" "which sets readonly=on"

serve_stop
write_cfg '  receive:
    mount: true'
serve_start "$cfg" tcp://127.0.0.1:0
url=tcp://127.0.0.1:$SERVE_PORT
log_must "$ZFERRY" replicate --no-sync-snap --props zs1/evil "$url/zs2/backup/evil3"
t=zs2/backup/evil3
assert_eq "$(zfs get -H -o value mounted $t)" yes "mounted by the server's own policy"
assert_eq "$(zfs get -H -o value mountpoint $t)" /mnt/zs2/backup/evil3 "mounted in the server's tree"
# a directory in use is never mounted over
mkdir -p /mnt/zs2/backup/evil4
echo keep >/mnt/zs2/backup/evil4/file
log_must "$ZFERRY" replicate --no-sync-snap zs1/plain "$url/zs2/backup/evil4"
assert_eq "$(zfs get -H -o value mounted zs2/backup/evil4)" no "not mounted over files"
assert_eq "$(cat /mnt/zs2/backup/evil4/file)" keep "the directory's file"
assert_contains "$(cat "$TEST_TMP/serve.log")" "not empty" "server says why it did not mount"

# ---- 7. a pull: the local side is the receiving side ----------------------------
log_must zfs create "${hostile[@]}" zs2/src/evil
log_must zfs snapshot zs2/src/evil@s1
log_must "$ZFERRY" replicate --no-sync-snap --props "$url/zs2/src/evil" zs1/pulled
t=zs1/pulled
assert_eq "$(guid $t@s1)" "$(guid zs2/src/evil@s1)" "guid of the pull"
assert_eq "$(zfs get -H -o source mountpoint $t)" "inherited from zs1" "pulled mountpoint source"
assert_eq "$(zfs get -H -o value sharenfs $t)" off "pulled sharenfs"
assert_eq "$(zfs get -Hp -o value reservation $t)" 0 "pulled reservation"
assert_eq "$(zfs get -H -o value org.openzfs.systemd:wanted-by $t)" - "pulled systemd property"
assert_eq "$(zfs get -H -o value com.example:note $t)" - "pulled user property"
assert_eq "$(zfs get -H -o value compression $t)" zstd "pulled compression"
assert_eq "$(zfs get -H -o value mounted $t)" no "pulled, not mounted"
log_must "$ZFERRY" replicate --no-sync-snap --props --accept-prop 'com.example:*' \
	"$url/zs2/src/evil" zs1/pulled2
assert_eq "$(zfs get -H -o value com.example:note zs1/pulled2)" hi "--accept-prop"
assert_eq "$(zfs get -H -o source mountpoint zs1/pulled2)" "inherited from zs1" "still no mountpoint"
log_pass
