#!/usr/bin/env bash
# DESCRIPTION: zferry store gc as a user runs it: its one-line errors, --json,
#   and two passes that free the chunks of a store without catalogue entries.
# STRATEGY: make a store with 'store make'; check usage errors, the refusal of
#   an http store and of a held lock; run gc with --min-age 0s --grace 0s
#   three times (no previous pass, fossilise, delete) and look at the files.
# Exit 0 pass, anything else fail.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ZFERRY=${1:?usage: cli-store-gc.sh ZFERRY}

T=$(mktemp -d /tmp/zf-cli-gc-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
. "$here/lib/cli-lib.sh"

head -c 300000 /dev/urandom >f
"$ZFERRY" store make -s st -m 16 i.caibx f || fail "make"
n=$(find st -name '*.cacnk' | wc -l)
[ "$n" -gt 0 ] || fail "make stored no chunks"

expect 2 'no store given' "$ZFERRY" store gc
expect 2 "bad duration '5x'" "$ZFERRY" store gc -s st --grace 5x
expect 2 "unexpected argument" "$ZFERRY" store gc -s st extra
expect 1 "gc runs on the server's side" "$ZFERRY" store gc -s http://127.0.0.1:1/
mkdir -p st/gc && echo "host h pid 1 since 0" >st/gc/lock
expect 1 "another gc holds 'st/gc/lock' \(host h pid 1" "$ZFERRY" store gc -s st
rm st/gc/lock

# the default minimum age keeps chunks just made
"$ZFERRY" store gc -s st --json >out || fail "gc 1: $(cat out)"
grep -q '"pass":1,.*"chunks_fossilised":0,.*"deletion_skipped":true' out || fail "gc 1: $(cat out)"
"$ZFERRY" store gc -s st --min-age 0s --grace 0s --dry-run --json >out || fail "dry run"
grep -q '"dry_run":true,"pass":2,.*"chunks_fossilised":'"$n" out || fail "dry run: $(cat out)"
[ "$(find st -name '*.fossil' | wc -l)" = 0 ] || fail "dry run made fossils"
"$ZFERRY" store gc -s st --min-age 0s --grace 0s --json >out || fail "gc 2"
grep -q '"chunks_fossilised":'"$n" out || fail "gc 2: $(cat out)"
[ "$(find st -name '*.cacnk.fossil' | wc -l)" = "$n" ] || fail "gc 2 left chunks"
# a reader still finds fossils
"$ZFERRY" store extract -s st i.caibx g || fail "extract from fossils"
cmp -s f g || fail "extract from fossils differs"
"$ZFERRY" store gc -s st --min-age 0s --grace 0s >out || fail "gc 3"
grep -q "^deleted $n chunks" out || fail "gc 3: $(cat out)"
[ "$(find st -name '*.cacnk*' | wc -l)" = 0 ] || fail "gc 3 left files"
[ ! -e st/gc/lock ] || fail "lock left behind"

exit $((failures > 0))
