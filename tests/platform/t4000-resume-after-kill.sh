#!/usr/bin/env bash
# DESCRIPTION: DESIGN.md guarantee 2 — an interrupted transfer resumes from its
#   receive token; what the receiver has is not sent again
# STRATEGY:
#  1. Start replicating a 192 MiB filesystem; kill -9 zferry once part of it
#     has arrived.  The target holds a resume token.
#  2. The next run resumes: it sends fewer bytes than the full stream, and
#     the result matches the source (guid, content).
#  3. No hold is left on the sender; --no-resume on another cut transfer
#     discards the partial state instead.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zs1 768M
pool_create zs2 768M
log_must zfs create -o compression=off zs1/a
log_must dd if=/dev/urandom of=/mnt/zs1/a/big bs=1M count=192 status=none
log_must zfs snapshot zs1/a@s1
full=$(zfs send zs1/a@s1 | wc -c)

cut_transfer()	# TARGET
{
	"$ZFERRY" replicate --no-sync-snap --no-progress zs1/a "$1" >/dev/null 2>&1 &
	kill9_during_recv $! "$1"
}
cut_transfer zs2/a
token=$(zfs get -H -o value receive_resume_token zs2/a 2>/dev/null || echo -)
[ "$token" != - ] || log_fail "no resume token after kill -9"

capture_out "$ZFERRY" replicate --no-sync-snap --json zs1/a zs2/a
assert_eq "$RC" 0 "resumed run"
sent=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["filesystems"][0]["bytes"])' "$OUT")
log_note "full stream $full bytes, resumed run sent $sent"
# the kill came after zfs recv had read 8 MiB: at least half of that stays
[ "$sent" -lt $((full - (4 << 20))) ] || log_fail "resumed run sent $sent of $full bytes"
assert_eq "$(guid zs2/a@s1)" "$(guid zs1/a@s1)" "guid after resume"
log_must zfs mount zs2/a
assert_eq "$(fs_checksum zs2/a)" "$(fs_checksum zs1/a)" "content after resume"
assert_eq "$(zfs get -Hp -o value userrefs zs1/a@s1)" 0 "holds left on the sender"

cut_transfer zs2/b
[ "$(zfs get -H -o value receive_resume_token zs2/b 2>/dev/null)" != - ] || log_fail "no token on zs2/b"
capture_out "$ZFERRY" replicate --no-sync-snap --no-resume --json zs1/a zs2/b
assert_eq "$RC" 0 "--no-resume run"
sent=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["filesystems"][0]["bytes"])' "$OUT")
[ "$sent" -ge "$full" ] || log_fail "--no-resume sent only $sent of $full bytes"
log_pass
