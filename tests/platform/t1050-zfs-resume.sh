#!/usr/bin/env bash
# DESCRIPTION: resumable receive: -s keeps a token, send -t resumes, recv -A aborts
# STRATEGY:
#  1. A stream cut after 1 MiB into recv -s fails; receive_resume_token is set.
#  2. send -t TOKEN | recv -s completes it: guid and content match.
#  3. Another cut receive, then recv -A: the token and partial state are gone.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zr1
pool_create zr2
log_must zfs create zr1/a
log_must dd if=/dev/urandom of=/mnt/zr1/a/big bs=1M count=8 status=none
log_must zfs snapshot zr1/a@s1

capture bash -c "'$ZFS_TOOL' send zr1/a@s1 | head -c 1048576 | '$ZFS_TOOL' recv -s -u zr2/a"
[ "$RC" != 0 ] || log_fail "truncated receive succeeded"
token=$("$ZFS_TOOL" get zr2/a receive_resume_token | cut -f3)
[ -n "$token" ] && [ "$token" != - ] || log_fail "no resume token after a cut stream"
sent=$("$ZFS_TOOL" send -t "$token" | wc -c)
full=$("$ZFS_TOOL" send zr1/a@s1 | wc -c)
[ "$sent" -lt "$full" ] || log_fail "resumed stream ($sent bytes) not shorter than full ($full)"
log_must bash -c "'$ZFS_TOOL' send -t '$token' | '$ZFS_TOOL' recv -s -u zr2/a"
assert_eq "$(guid zr2/a@s1)" "$(guid zr1/a@s1)" "guid after resume"
log_must zfs mount zr2/a
assert_eq "$(fs_checksum zr2/a)" "$(fs_checksum zr1/a)" "content after resume"

capture bash -c "'$ZFS_TOOL' send zr1/a@s1 | head -c 1048576 | '$ZFS_TOOL' recv -s -u zr2/b"
token=$(zfs get -H -o value receive_resume_token zr2/b)
[ "$token" != - ] || log_fail "no token on zr2/b"
log_must "$ZFS_TOOL" recv-abort zr2/b
capture zfs list -H -o name zr2/b
assert_eq "$RC" 1 "zr2/b after abort (a new filesystem's partial state is removed)"
expect_error EINVAL "$ZFS_TOOL" send -t "not-a-token;rm"
log_pass
