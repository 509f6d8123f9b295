#!/usr/bin/env bash
# DESCRIPTION: each zfs failure class is recognised and keeps zfs's words
# STRATEGY: provoke each class against real zfs and check the class name and
#   that the message is zfs's own:
#   ENOENT, EEXIST, EBUSY, ENOSPC, EPERM, EWOULDDESTROY, EZFS (other).
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create ze1 512M
pool_create ze2 64M
log_must zfs create ze1/a
log_must zfs snapshot ze1/a@s1

expect_error ENOENT "$ZFS_TOOL" list-fs ze1/nosuch
assert_contains "$OUT" "dataset does not exist"
expect_error ENOENT "$ZFS_TOOL" list-versions nosuchpool/x
expect_error EEXIST "$ZFS_TOOL" create ze1/a
assert_contains "$OUT" "already exists"
log_must zfs hold h ze1/a@s1
expect_error EBUSY "$ZFS_TOOL" destroy ze1/a s1
log_must zfs release h ze1/a@s1

# EWOULDDESTROY: the target changed since its newest snapshot
log_must bash -c "zfs send ze1/a@s1 | zfs recv ze2/a"
echo x >/mnt/ze2/a/changed
echo y >/mnt/ze1/a/new
log_must zfs snapshot ze1/a@s2
expect_error EWOULDDESTROY bash -c "'$ZFS_TOOL' send -i ze1/a@s1 ze1/a@s2 | '$ZFS_TOOL' recv -u ze2/a"
assert_contains "$OUT" "has been modified"
# ... and with snapshots in the way of a full receive
expect_error EWOULDDESTROY bash -c "'$ZFS_TOOL' send ze1/a@s2 | '$ZFS_TOOL' recv -u -F ze2/a"

# ENOSPC: a stream bigger than the receiving pool
log_must zfs create -o compression=off ze1/big
log_must dd if=/dev/urandom of=/mnt/ze1/big/f bs=1M count=80 status=none || { zpool list; df -h /mnt/ze1/big; log_fail "cannot write 80M"; }
log_must zfs snapshot ze1/big@s
expect_error ENOSPC bash -c "'$ZFS_TOOL' send ze1/big@s 2>/dev/null | '$ZFS_TOOL' recv -u ze2/big"

# EPERM: an unprivileged user without delegated permissions
capture setpriv --reuid=65534 --regid=65534 --clear-groups "$ZFS_TOOL" create ze1/asnobody
[ "$RC" != 0 ] || log_fail "unprivileged create succeeded"
assert_contains "$OUT" "EPERM: " "unprivileged create"

# other: zfs's words kept, class EZFS
expect_error EZFS "$ZFS_TOOL" rename ze1/a ze2/a_other_pool
assert_contains "$OUT" "cannot rename"
log_pass
