#!/usr/bin/env bash
# DESCRIPTION: zferry snapshot takes one atomic, verified snapshot of many filesystems
# STRATEGY:
#  1. Snapshot two filesystems (one with a space) and, with -r, a tree below a
#     third, in one command: every snapshot exists, all share one createtxg,
#     and the name is zferry_ + ISO-8601 basic UTC time.
#  2. --prefix, --time-format, --local-time (with TZ east of UTC: '+' becomes
#     'p') and --json give the expected names.
#  3. A name that already exists fails (exit 1, one line) and creates nothing;
#     a missing filesystem fails with one line; bad names and options are
#     usage errors (exit 2, one line).
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zs1
for fs in a "b c" t t/x t/x/y t/z; do
	log_must zfs create "zs1/$fs"
done

log_must "$ZFERRY" snapshot -r zs1/a "zs1/b c" zs1/t
snaps=$(zfs list -Hp -t snapshot -o name,createtxg -r zs1)
printf '%s\n' "$snaps"
assert_eq "$(printf '%s\n' "$snaps" | wc -l)" 6 "snapshots after -r"
assert_eq "$(printf '%s\n' "$snaps" | cut -f2 | sort -u | wc -l)" 1 "distinct createtxgs"
name=$(printf '%s\n' "$snaps" | head -1 | cut -f1 | sed 's/.*@//')
[[ "$name" =~ ^zferry_[0-9]{8}T[0-9]{6}Z$ ]] || log_fail "unexpected name '$name'"

# without -r only the named filesystems
log_must "$ZFERRY" snapshot --prefix only_ zs1/t
assert_eq "$(zfs list -H -t snapshot -o name -r zs1 | grep -c '@only_')" 1 "snapshots without -r"

capture "$ZFERRY" snapshot --json --prefix j_ --time-format %Y zs1/a "zs1/b c"
assert_eq "$RC" 0 "status of --json"
year=$(date -u +%Y)
assert_eq "$OUT" "{\"name\":\"j_$year\",\"snapshots\":[\"zs1/a@j_$year\",\"zs1/b c@j_$year\"]}"

capture env TZ=Europe/Berlin "$ZFERRY" snapshot --local-time --prefix l_ zs1/a
assert_eq "$RC" 0 "status of --local-time"
[[ "$OUT" =~ ^zs1/a@l_[0-9]{8}T[0-9]{6}p0[12]00$ ]] || log_fail "local name '$OUT'"
capture env TZ=America/New_York "$ZFERRY" snapshot --local-time --prefix l_ zs1/a
[[ "$OUT" =~ ^zs1/a@l_[0-9]{8}T[0-9]{6}-0[45]00$ ]] || log_fail "local name '$OUT'"

# failures: one line each, nothing half-made
before=$(zfs list -H -t snapshot -o name -r zs1 | wc -l)
capture "$ZFERRY" snapshot --prefix dup --time-format _x zs1/a
assert_eq "$RC" 0
capture "$ZFERRY" snapshot --prefix dup --time-format _x zs1/a zs1/t
assert_eq "$RC" 1 "status of an existing name"
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" 1 "lines of the error"
assert_contains "$OUT" "zferry snapshot: "
assert_eq "$(zfs list -H -t snapshot -o name -r zs1 | wc -l)" "$((before + 1))" "snapshot count"
capture zfs list -H -t snapshot zs1/t@dup_x
assert_eq "$RC" 1 "zs1/t@dup_x must not exist"

capture "$ZFERRY" snapshot zs1/nosuch
assert_eq "$RC" 1 "status for a missing filesystem"
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" 1 "lines of the error"
for bad in "zs1/a@s" "-zs1" "zs1//a" "zs1/a\$(touch /tmp/pwned)"; do
	capture "$ZFERRY" snapshot "$bad"
	assert_eq "$RC" 2 "status for '$bad'"
	assert_eq "$(printf '%s\n' "$OUT" | wc -l)" 1 "lines of the error for '$bad'"
done
[ ! -e /tmp/pwned ] || log_fail "a name ran as code"
capture "$ZFERRY" snapshot --prefix 'a;b' zs1/a
assert_eq "$RC" 2 "status for a bad prefix"
capture "$ZFERRY" snapshot
assert_eq "$RC" 2 "status without a filesystem"
capture "$ZFERRY" snapshot --bogus zs1/a
assert_eq "$RC" 2 "status for an unknown option"
log_pass
