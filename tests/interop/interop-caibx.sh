#!/usr/bin/env bash
# DESCRIPTION: zferry store make writes .caibx files byte-identical to casync
#   make's, and each tool extracts what the other made.
# STRATEGY: for inputs from 0 B to 16 MiB (random, patterns, zeros, a repeated
#   4 MiB block) and two chunk sizes, run both tools into their own stores,
#   cmp the indexes, then cross-extract (zferry buffered and with --direct)
#   and cmp with the input.
# Exit 0 pass, 77 skip (no casync), anything else fail.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ZFERRY=${1:?usage: interop-caibx.sh ZFERRY}
command -v casync >/dev/null || { echo "SKIP: casync not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

T=$(mktemp -d /tmp/zf-interop-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
. "$here/../lib/cli-lib.sh"

# Inputs: deterministic (seeded), so a failure reproduces.
python3 - <<'PY'
import random
r = random.Random(5)
def rnd(n): return r.getrandbits(8 * n).to_bytes(n, 'little') if n else b''
files = {
    'empty': b'',
    'one': b'x',
    'b47': rnd(47),
    'b48': rnd(48),
    'k64': rnd(65536),
    'rand8m': rnd(8 << 20),
    'pattern8m': (b'zferry-pattern-0123456789abcdef' * ((8 << 20) // 31 + 1))[:8 << 20],
    'zeros16m': bytes(16 << 20),
}
blk = rnd(4 << 20)
files['repeat4m'] = blk + rnd(1 << 20) + blk + blk
# big enough for make's parallel segments (8 MiB each), with zeros and repeats
files['mix40m'] = rnd(17 << 20) + bytes(3 << 20) + blk + rnd(3 << 20) + blk + rnd((9 << 20) + 5)
for name, data in files.items():
    open(name, 'wb').write(data)
PY

check() {       # check NAME CASYNC_SIZE ZFERRY_SIZE TAG
	local f=$1 csize=$2 zsize=$3 tag=$4
	local ci=$tag-$f.c.caibx zi=$tag-$f.z.caibx
	if [ -n "$csize" ]; then
		casync make --store=cs-$tag --chunk-size="$csize" "$ci" "$f" >/dev/null 2>err ||
			{ fail "casync make $f ($tag): $(cat err)"; return; }
		"$ZFERRY" store make -s zs-$tag -m "$zsize" "$zi" "$f" 2>err ||
			{ fail "zferry make $f ($tag): $(cat err)"; return; }
	else
		casync make --store=cs-$tag "$ci" "$f" >/dev/null 2>err ||
			{ fail "casync make $f ($tag): $(cat err)"; return; }
		"$ZFERRY" store make -s zs-$tag "$zi" "$f" 2>err ||
			{ fail "zferry make $f ($tag): $(cat err)"; return; }
	fi
	cmp -s "$ci" "$zi" || fail "$f ($tag): .caibx differs from casync's"
	rm -f out1 out2
	mkdir -p cs-$tag        # casync makes no store for an empty file
	casync extract --store=zs-$tag "$zi" out1 >/dev/null 2>err ||
		fail "casync extract of zferry's $f ($tag): $(cat err)"
	cmp -s out1 "$f" || fail "casync extract of zferry's $f ($tag) differs"
	"$ZFERRY" store extract -s cs-$tag "$ci" out2 2>err ||
		fail "zferry extract of casync's $f ($tag): $(cat err)"
	cmp -s out2 "$f" || fail "zferry extract of casync's $f ($tag) differs"
	rm -f out3
	"$ZFERRY" store extract --direct -s cs-$tag "$ci" out3 2>err ||
		fail "zferry extract --direct of casync's $f ($tag): $(cat err)"
	cmp -s out3 "$f" || fail "zferry extract --direct of casync's $f ($tag) differs"
	echo "ok $f ($tag)"
}

for f in empty one b47 b48 k64 rand8m pattern8m zeros16m repeat4m mix40m; do
	check "$f" "" "" default
	check "$f" 4096:16384:65536 4:16:64 small
done

# odd byte sizes, below the 48-byte window and with discriminator < min
for cs in 16:16:64 1000:5000:20000; do
	IFS=: read -r a b c <<<"$cs"
	check k64 "$cs" "${a}B:${b}B:${c}B" "odd$a"
done

# a pipe gives the same index as the file
"$ZFERRY" store make -s zs-default pipe.caibx - <repeat4m || fail "make from a pipe"
cmp -s pipe.caibx default-repeat4m.c.caibx || fail "index made from a pipe differs"
# so does a pipe of the big one (one reader, not segments), and -j 1
"$ZFERRY" store make -s zs-default pipe40.caibx - <mix40m || fail "make from a pipe"
cmp -s pipe40.caibx default-mix40m.c.caibx || fail "index of mix40m made from a pipe differs"
"$ZFERRY" store make -j 1 -s zs-default j1.caibx mix40m || fail "make -j 1"
cmp -s j1.caibx default-mix40m.c.caibx || fail "index of mix40m made with -j 1 differs"
# stdin a file already read from: chunking starts at its offset
tail -c +1001 mix40m >tail40m
casync make tail40m.c.caibx tail40m >/dev/null || fail "casync make tail40m"
{ head -c 1000 >/dev/null; "$ZFERRY" store make -s zs-default tail40m.z.caibx -; } <mix40m ||
	fail "make from a file at an offset"
cmp -s tail40m.c.caibx tail40m.z.caibx || fail "index made from a file at an offset differs"
# extracting to a pipe gives the data in order
"$ZFERRY" store extract -s cs-default default-repeat4m.c.caibx - | cmp -s - repeat4m ||
	fail "extract to a pipe differs"
# zferry reuses a seed; the result is still right
"$ZFERRY" store extract -s zs-default --seed repeat4m --json default-repeat4m.z.caibx seeded \
	>seed.json || fail "extract with seed"
cmp -s seeded repeat4m || fail "seeded extract differs"
grep -q '"from_store":0' seed.json || fail "seeded extract fetched from the store: $(cat seed.json)"

if [ "$failures" -ne 0 ]; then
	echo "$failures failures"
	exit 1
fi
echo "all interop checks passed"
