#!/usr/bin/env bash
# DESCRIPTION: zferry store extract --direct (O_DIRECT file output) writes the
#   same bytes as a buffered extract, fails the same way, and refuses a pipe.
# STRATEGY: make a store from files whose sizes are not multiples of 4096, one
#   with blocks that come again (copied back from the output), extract each
#   buffered and with --direct, to the work directory and to tmpfs (/dev/shm,
#   where old kernels refuse O_DIRECT: buffered fallback), with a seed, and
#   with a damaged chunk (error, no output); cmp every output with its input.
# Exit 0 pass, anything else fail.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ZFERRY=${1:?usage: cli-store-direct.sh ZFERRY}
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

T=$(mktemp -d /tmp/zf-cli-direct-XXXXXX)
S=
[ -d /dev/shm ] && [ -w /dev/shm ] && S=$(mktemp -d /dev/shm/zf-cli-direct-XXXXXX)
trap 'rm -rf "$T" ${S:+"$S"}' EXIT
cd "$T" || exit 1
. "$here/lib/cli-lib.sh"

python3 - <<'PY'
import random
r = random.Random(11)
def rnd(n): return r.getrandbits(8 * n).to_bytes(n, 'little') if n else b''
open('tiny', 'wb').write(rnd(777))
blk = rnd(1 << 20)
# repeats near (in the staging buffer) and far (in the file) from their first copy
open("rep", "wb").write(blk + rnd(4500000) + blk + rnd(1100000) + blk + rnd(9000001) + blk)
PY

for f in tiny rep; do
	"$ZFERRY" store make -s st -m 16:64:256 $f.caibx $f || fail "make $f"
	"$ZFERRY" store extract -s st $f.caibx $f.buf || fail "buffered extract $f"
	"$ZFERRY" store extract -s st --direct --json $f.caibx $f.dir >json ||
		fail "direct extract $f"
	grep -q '"direct":true' json || fail "$f not written with O_DIRECT: $(cat json)"
	cmp -s $f $f.buf || fail "buffered extract of $f differs"
	cmp -s $f $f.dir || fail "direct extract of $f differs"
	if [ -n "$S" ]; then
		"$ZFERRY" store extract -s st --direct --json $f.caibx "$S/$f" >json ||
			fail "direct extract of $f to tmpfs"
		cmp -s $f "$S/$f" || fail "direct extract of $f to tmpfs differs"
		grep -qE '"direct":(true|false)' json || fail "no direct in $(cat json)"
	fi
done
grep -q '"from_seed":0' <("$ZFERRY" store extract -s st --direct --json rep.caibx rep.d2) &&
	fail "no chunk of rep was copied back from the output"
cmp -s rep rep.d2 || fail "second direct extract of rep differs"
"$ZFERRY" store extract -s st --direct --no-seed-output --seed rep --json rep.caibx seeded \
	>json || fail "direct extract with a seed"
grep -q '"from_store":0' json || fail "seeded direct extract used the store: $(cat json)"
cmp -s rep seeded || fail "seeded direct extract differs"

# usage errors, help
expect 2 "--direct needs OUT to be a file" "$ZFERRY" store extract -s st --direct rep.caibx -
"$ZFERRY" store extract --help | grep -q -- '--direct' || fail "--help does not mention --direct"

# a damaged chunk: the same error as buffered, no output, no temporary file
read -r off _ id < <("$ZFERRY" store list-chunks rep.caibx | sed -n 3p)
chunk=st/${id:0:4}/$id.cacnk
chmod u+w "$chunk"
"$ZFERRY" store make -s other tiny.caibx tiny >/dev/null || fail "make other"
cp "$(find other -name '*.cacnk' | head -n1)" "$chunk"
expect 1 "chunk $id at offset $off .*does not match its id" \
	"$ZFERRY" store extract -s st --direct rep.caibx broken
[ -e broken ] && fail "output left after a damaged chunk"
ls -A | grep -q '^\.broken' && fail "temporary output left behind"

echo "cli-store-direct: $failures failure(s)"
[ "$failures" = 0 ]
