#!/usr/bin/env bash
# DESCRIPTION: damaged chunks, truncated indexes, chunk files that are not zstd
#   and unwritable stores give one-line errors, a non-zero exit and no output.
# STRATEGY: make a store with casync (so the damage is to casync's files),
#   damage it in each way, run zferry store extract/verify and check the exit
#   code, that stderr is one line naming the problem, and that OUT is absent.
# Exit 0 pass, 77 skip (no casync), anything else fail.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ZFERRY=${1:?usage: interop-errors.sh ZFERRY}
command -v casync >/dev/null || { echo "SKIP: casync not installed"; exit 77; }

T=$(mktemp -d /tmp/zf-interop-XXXXXX)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
cd "$T" || exit 1
. "$here/../lib/cli-lib.sh"

head -c 3000000 /dev/urandom >data
casync make --store=st data.caibx data >/dev/null || { echo "casync make failed"; exit 1; }
"$ZFERRY" store extract -s st data.caibx out || fail "clean extract"
cmp -s out data || fail "clean extract differs"
rm -f out

# the third chunk: its id and offset
read -r off _ id < <("$ZFERRY" store list-chunks data.caibx | sed -n 3p)
chunk=st/${id:0:4}/$id.cacnk
cp -p "$chunk" saved.cacnk

# 1. damaged chunk: valid zstd, other content
chmod u+w "$chunk"
head -c 1000 /dev/urandom | zstd -q -c >"$chunk"
expect 1 "chunk $id at offset $off .*does not match its id" \
	"$ZFERRY" store extract -s st data.caibx out
[ -e out ] && fail "output left after a damaged chunk"
ls -A | grep -q '^\.out' && fail "temporary output left behind"
expect 1 "" "$ZFERRY" store verify -s st
grep -q "damaged $id" stdout || fail "verify did not list $id: $(cat stdout)"
[ "$(grep -c damaged stdout)" = 1 ] || fail "verify listed more than one chunk"

# 2. not zstd at all
printf 'this is not zstd' >"$chunk"
expect 1 "chunk $id at offset $off .*not valid zstd" \
	"$ZFERRY" store extract -s st data.caibx out
[ -e out ] && fail "output left after a bad zstd chunk"
# extracting over an existing file leaves it as it was
echo previous >out
expect 1 "not valid zstd" "$ZFERRY" store extract -s st data.caibx out
[ "$(cat out)" = previous ] || fail "existing output was changed by a failed extract"
rm -f out
# --repair removes it; then it is missing, and chop puts it back
"$ZFERRY" store verify -s st --repair >stdout 2>/dev/null || fail "verify --repair exit $?"
grep -q "removed $id" stdout || fail "verify --repair did not remove $id"
[ -e "$chunk" ] && fail "damaged chunk still there after --repair"
"$ZFERRY" store verify -s st >/dev/null 2>&1 || fail "store not clean after --repair"
expect 1 "chunk $id at offset $off is in no store" "$ZFERRY" store extract -s st data.caibx out
"$ZFERRY" store chop -s st data.caibx data || fail "chop"
"$ZFERRY" store extract -s st data.caibx out || fail "extract after chop"
cmp -s out data || fail "extract after chop differs"
rm -f out
casync extract --store=st data.caibx out2 >/dev/null 2>&1 || fail "casync extract after chop"
cmp -s out2 data || fail "casync extract after chop differs"

# 3. truncated and malformed index files
size=$(stat -c %s data.caibx)
for n in 0 10 48 63 100 $((size - 40)) $((size - 1)); do
	head -c "$n" data.caibx >trunc.caibx
	expect 1 "index 'trunc.caibx'.*truncated" "$ZFERRY" store extract -s st trunc.caibx out
	[ -e out ] && fail "output left after truncated index ($n bytes)"
done
expect 1 "not a casync index" "$ZFERRY" store extract -s st data out
expect 1 "cannot open index" "$ZFERRY" store extract -s st missing.caibx out
expect 1 "truncated" "$ZFERRY" store list-chunks trunc.caibx
expect 1 "truncated" "$ZFERRY" store info trunc.caibx
expect 1 "truncated" "$ZFERRY" store prune -s st trunc.caibx
[ -e "$chunk" ] || fail "prune with a bad index removed chunks"
# sizes outside min/max
cp data.caibx big.caibx
printf '\x00\x00\x00\x10\x00\x00\x00\x00' | dd of=big.caibx bs=1 seek=40 conv=notrunc status=none
expect 1 "outside" "$ZFERRY" store extract -s st big.caibx out

# 4. unwritable store / output / missing store
expect 1 "cannot open store" "$ZFERRY" store extract -s nostore data.caibx out
expect 1 "cannot" "$ZFERRY" store make -s /proc/zf-nope x.caibx data
expect 1 "cannot create" "$ZFERRY" store make -s st nodir/x.caibx data
expect 1 "cannot create" "$ZFERRY" store extract -s st data.caibx nodir/out

# 5. killed mid-make: no index, no partial chunk (chunks are linked in whole)
head -c 200000000 /dev/urandom >big
"$ZFERRY" store make -s crashst crash.caibx big &
pid=$!
sleep 0.7
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
# (crash.caibx exists only if make finished first; its temporary file may stay)
[ -e crash.caibx ] && echo "note: make finished before it was killed"
if [ -d crashst ]; then
	"$ZFERRY" store verify -s crashst >stdout 2>stderr || fail "store damaged after kill -9: $(cat stdout)"
	ls -A crashst/* | grep -q '^\.' && fail "killed make left temporary chunk files"
fi
rm -f big

# 6. usage errors exit 2
expect 2 "see 'zferry store make --help'" "$ZFERRY" store make -m 64:16:256 x.caibx data
expect 2 "want INDEX" "$ZFERRY" store make x.caibx
expect 2 "no store" "$ZFERRY" store extract data.caibx out
expect 2 "unknown option" "$ZFERRY" store verify -s st --bogus
expect 2 "unknown subcommand" "$ZFERRY" store frobnicate
for sub in make extract verify prune list-chunks chop info; do
	"$ZFERRY" store "$sub" --help | grep -q "^usage: zferry store $sub" ||
		fail "store $sub --help"
done

if [ "$failures" -ne 0 ]; then
	echo "$failures failures"
	exit 1
fi
echo "all error checks passed"
