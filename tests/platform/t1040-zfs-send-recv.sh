#!/usr/bin/env bash
# DESCRIPTION: zfs send/recv started by the zfs layer as child processes
# STRATEGY:
#  1. Full send | recv (-u, -o, -x): content and guids match, props applied.
#  2. Incremental -i from a snapshot, -I with intermediates, -i from a
#     bookmark after the base snapshot was destroyed.
#  3. Flags -c -L -e -p, and -w of an encrypted dataset (lands encrypted).
#  4. -nP estimate is close to the real stream size.
#  5. A send of a missing snapshot fails with ENOENT and the stream is empty.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zs1
pool_create zs2
log_must zfs create -o compression=lz4 -o zferry:src=yes zs1/a
mp=/mnt/zs1/a
log_must dd if=/dev/urandom of=$mp/f1 bs=64k count=16 status=none
log_must zfs snapshot zs1/a@s1
echo two >$mp/f2
log_must zfs snapshot zs1/a@s2
echo three >$mp/f3
log_must zfs snapshot zs1/a@s3
echo four >$mp/f4
log_must zfs snapshot zs1/a@s4

# 1. full, received unmounted with a property set and one excluded
sendrecv() { "$ZFS_TOOL" send "${@:1:$#-1}" | "$ZFS_TOOL" recv ${RECV_FLAGS:--u} "${@: -1}"; }
RECV_FLAGS="-u -o readonly=on -x zferry:src" log_must sendrecv zs1/a@s1 zs2/a
assert_eq "$(guid zs2/a@s1)" "$(guid zs1/a@s1)" "guid after full receive"
assert_eq "$(zfs get -H -o value mounted zs2/a)" no "mounted after -u"
assert_eq "$(zfs get -H -o value readonly zs2/a)" on "readonly via -o"
assert_eq "$(zfs get -H -o value zferry:src zs2/a)" - "user prop excluded via -x"

# 2a. -i s1 -> s2
log_must sendrecv -i zs1/a@s1 zs1/a@s2 zs2/a
assert_eq "$(guid zs2/a@s2)" "$(guid zs1/a@s2)"
# 2b. -I s2 -> s4 brings s3 along
log_must sendrecv -I -i zs1/a@s2 zs1/a@s4 zs2/a
assert_eq "$(guid zs2/a@s3)" "$(guid zs1/a@s3)" "intermediate snapshot"
assert_eq "$(guid zs2/a@s4)" "$(guid zs1/a@s4)"
log_must zfs mount zs2/a
assert_eq "$(fs_checksum zs2/a)" "$(fs_checksum zs1/a)" "content after incrementals"
log_must zfs umount zs2/a
# 2c. base as a bookmark, base snapshot gone
log_must zfs bookmark zs1/a@s4 "zs1/a#c4"
echo five >$mp/f5
log_must zfs snapshot zs1/a@s5
log_must zfs destroy zs1/a@s4
log_must sendrecv -i "zs1/a#c4" zs1/a@s5 zs2/a
assert_eq "$(guid zs2/a@s5)" "$(guid zs1/a@s5)" "incremental from bookmark"
expect_error EINVAL "$ZFS_TOOL" send -I -i "zs1/a#c4" zs1/a@s5

# 3. stream flags
log_must sendrecv -c -L -e -p zs1/a@s5 zs2/flags
assert_eq "$(zfs get -H -o value compression zs2/flags)" lz4 "compression sent with -p"
echo secretpassphrase >"$TEST_TMP/key"
# pbkdf2iters at its minimum: the default 350 000 rounds take seconds in the VM
log_must zfs create -o encryption=on -o keyformat=passphrase -o pbkdf2iters=100000 \
	-o keylocation="file://$TEST_TMP/key" zs1/enc
echo secret >/mnt/zs1/enc/file
log_must zfs snapshot zs1/enc@e1
log_must sendrecv -w zs1/enc@e1 zs2/enc
assert_eq "$(zfs get -H -o value encryption zs2/enc)" aes-256-gcm "raw receive stays encrypted"
assert_eq "$(zfs get -H -o value keystatus zs2/enc)" unavailable "key not loaded on the receiver"

# 4. estimate
est=$("$ZFS_TOOL" estimate zs1/a@s1) || log_fail "estimate failed"
real=$("$ZFS_TOOL" send zs1/a@s1 | wc -c)
python3 -c "import sys; e, r = $est, $real; sys.exit(0 if abs(e - r) < 0.2 * r + 65536 else 1)" ||
	log_fail "estimate $est far from real size $real"

# 5. errors
capture bash -c "'$ZFS_TOOL' send zs1/a@nosuch | wc -c"
expect_error ENOENT "$ZFS_TOOL" send zs1/a@nosuch
assert_eq "$("$ZFS_TOOL" send zs1/a@nosuch 2>/dev/null | wc -c)" 0 "stream bytes of a failed send"
expect_error EBADNAME "$ZFS_TOOL" send -- "-zs1/a@s1"
log_pass
