#!/usr/bin/env bash
# DESCRIPTION: names are data (DESIGN.md guarantee 4)
# STRATEGY:
#  1. Datasets and snapshots named with spaces, ':', '.', '-', '_' work
#     through create, snapshot, list, hold, send/recv and destroy.
#  2. Names zfs would reject (unicode, ';', '$', quotes, '..') are refused
#     with a one-line EBADNAME before zfs runs, and nothing is created.
#  3. A name starting with '-' never becomes an option.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zn1
pool_create zn2
odd="zn1/my data: v1.0-final_x"
log_must "$ZFS_TOOL" create -p "$odd/child 2"
log_must "$ZFS_TOOL" snapshot -r "snap 1:2.3-x_y" "$odd"
capture "$ZFERRY" list -r "$odd"
assert_contains "$OUT" "$odd/child 2@snap 1:2.3-x_y"
log_must "$ZFS_TOOL" hold "tag with space" "$odd@snap 1:2.3-x_y"
log_must "$ZFS_TOOL" release "tag with space" "$odd@snap 1:2.3-x_y"
log_must bash -c "'$ZFS_TOOL' send '$odd@snap 1:2.3-x_y' | '$ZFS_TOOL' recv -u 'zn2/copy of: it'"
assert_eq "$(guid 'zn2/copy of: it@snap 1:2.3-x_y')" "$(guid "$odd@snap 1:2.3-x_y")"
log_must "$ZFS_TOOL" destroy "$odd/child 2" "snap 1:2.3-x_y"

# zfs itself accepts none of these characters (OpenZFS valid_char()); we
# refuse them first, with the position, and zfs never runs.
before=$(zfs list -H -o name -r zn1 | wc -l)
for bad in "zn1/café" "zn1/a;touch /tmp/pwned" 'zn1/$HOME' "zn1/it's" 'zn1/"q"' "zn1/../x" "zn1/a	tab"; do
	expect_error EBADNAME "$ZFS_TOOL" create "$bad"
	expect_error EBADNAME "$ZFS_TOOL" snapshot "ok" "$bad"
done
capture zfs create "zn1/café"
assert_eq "$RC" 1 "zfs itself on a unicode name"
assert_contains "$OUT" "invalid character"
[ ! -e /tmp/pwned ] || log_fail "a name was run as a command"
expect_error EBADNAME "$ZFS_TOOL" create "-o"
expect_error EBADNAME "$ZFS_TOOL" create "-zn1/x"
capture "$ZFERRY" list -- "-zn1/x"
assert_eq "$RC" 1 "zferry list of an option-like name"
assert_contains "$OUT" "must not start with '-'"
assert_eq "$(zfs list -H -o name -r zn1 | wc -l)" "$before" "datasets after refused names"
log_pass
