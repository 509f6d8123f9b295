#!/usr/bin/env bash
# DESCRIPTION: the S3 chunk store against a real S3 server that checks SigV4
#   signatures (npm @20minutes/s3rver 4.0.4, installed by scripts/install-deps
#   into build-deps/s3rver): make/extract round trip under a prefix, desync's
#   key layout, verify through ListObjectsV2, a wrong secret reported as
#   refused credentials, credentials files (mode 600 taken, 644 refused), a
#   server killed mid-upload and restarted, and no secret in any output.
# STRATEGY: s3rver on 127.0.0.1:0 with its fixed key S3RVER/S3RVER, its
#   objects read straight from its data directory; every byte compared with
#   cmp.  casync cannot read S3, so it is not used here.
# Exit 0 pass, 77 skip (no node or no s3rver), anything else fail.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ZFERRY=${1:?usage: interop-store-s3.sh ZFERRY}
modules=${ZF_S3RVER_MODULES:-$here/../../build-deps/s3rver/node_modules}
command -v node >/dev/null || { echo "SKIP: node not installed (scripts/install-deps)"; exit 77; }
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] 2>/dev/null ||
	{ echo "SKIP: s3rver 4.0.4 needs node >= 20, have $(node --version)"; exit 77; }
[ -d "$modules/@20minutes/s3rver" ] ||
	{ echo "SKIP: s3rver not in $modules (scripts/install-deps)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

T=$(mktemp -d /tmp/zf-stores3-XXXXXX)
SRV=
cleanup() {
	[ -z "$SRV" ] || kill "$SRV" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
. "$here/../lib/cli-lib.sh"

python3 -c '
import random
r = random.Random(15)
open("in8m", "wb").write(r.getrandbits(8 * (8 << 20)).to_bytes(8 << 20, "little"))
open("in64m", "wb").write(r.getrandbits(8 * (64 << 20)).to_bytes(64 << 20, "little"))
'

# s3 PORT: starts s3rver on PORT (0: a free one) over ./data; sets PORT and SRV
s3() {
	# s3rver's ListObjectsV2 continuation tokens are DES-encrypted, which
	# OpenSSL 3 (Node >= 17) offers only through its legacy provider: without
	# it a listing longer than one page is a 500
	node --openssl-legacy-provider "$here/s3rver-run.js" "$modules" "$T/data" "$1" bucket >srv.log 2>&1 &
	SRV=$!
	for _ in $(seq 200); do
		PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' srv.log | tail -1)
		[ -n "$PORT" ] && [ "$1" = 0 -o "$PORT" = "$1" ] && return 0
		sleep 0.05
	done
	fail "s3rver did not start: $(cat srv.log)"
	PORT=1
}

# Every zferry run's output lands in out/, to be searched for secrets at the end.
mkdir out
n=0
z() {	# z CMD...: zferry with stdout/stderr kept in out/N.{out,err} and ./err
	n=$((n + 1))
	"$ZFERRY" "$@" >"out/$n.out" 2>"out/$n.err"
	local rc=$?
	cp "out/$n.err" err
	return $rc
}

export S3_ACCESS_KEY=S3RVER S3_SECRET_KEY=S3RVER
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN S3_SESSION_TOKEN
s3 0
url=s3+http://127.0.0.1:$PORT/bucket/pre/fix

# --- round trip under a prefix, in desync's layout
z store make -s "$url" in8m.caibx in8m || fail "make into s3: $(cat err)"
z store extract -s "$url" in8m.caibx out8m || fail "extract from s3: $(cat err)"
cmp -s in8m out8m || fail "s3 round trip differs"
"$ZFERRY" store make -s local local.caibx in8m 2>/dev/null || fail "make into a directory"
cmp -s in8m.caibx local.caibx || fail "the index made through s3 differs from a local make"
(cd local && find . -name '*.cacnk' | sed 's|^\./||' | sort) >want-keys
(cd data/bucket/pre/fix && find . -name '*.cacnk._S3rver_object' |
	sed 's|^\./||; s|\._S3rver_object$||' | sort) >got-keys
[ -s want-keys ] || fail "the local make stored nothing"
cmp -s want-keys got-keys || fail "the objects are not at prefix/<4hex>/<id>.cacnk: $(head -3 got-keys)"
[ -z "$(find data/bucket -name '*._S3rver_object' ! -path 'data/bucket/pre/fix/*')" ] ||
	fail "objects outside the prefix"
grep -q '"content-type": "application/zstd"' \
	"$(find data/bucket/pre/fix -name '*._S3rver_metadata.json' | head -1)" ||
	fail "a chunk was not stored as application/zstd"
# verify walks the bucket with ListObjectsV2 (one page here, two for the 64 MiB below)
z store verify -s "$url" || fail "verify of the s3 store: $(cat err)"
grep -q "^zferry store verify: $(wc -l <want-keys) chunks, 0 damaged" err ||
	fail "verify did not see every chunk: $(cat err)"

# --- a wrong secret: refused credentials, exit 1, one line, not a missing chunk
S3_SECRET_KEY=wr0ng-s3cr3t-value expect 1 'S3 refused the credentials \(403\)' \
	"$ZFERRY" store extract -s "$url" in8m.caibx out-bad
cp stderr out/badsecret-extract.err
grep -qi 'missing\|not found' stderr && fail "a 403 reported as a missing chunk: $(cat stderr)"
[ ! -e out-bad ] || fail "a refused extract left output"
S3_SECRET_KEY=wr0ng-s3cr3t-value expect 1 'S3 refused the credentials \(403\)' \
	"$ZFERRY" store make -s "$url" bad.caibx in8m
cp stderr out/badsecret-make.err
S3_SECRET_KEY=wr0ng-s3cr3t-value expect 1 'S3 refused the credentials \(403\)' \
	"$ZFERRY" store verify -s "$url"
cp stderr out/badsecret-verify.err
grep -rq 'wr0ng-s3cr3t' out && fail "the wrong secret is in an output"
expect 1 'may not hold credentials' "$ZFERRY" store extract \
	-s "s3+http://S3RVER:S3RVER@127.0.0.1:$PORT/bucket/pre/fix" in8m.caibx out-bad

# a missing bucket is not a missing chunk either
expect 1 "no bucket 'nobucket'" "$ZFERRY" store extract \
	-s "s3+http://127.0.0.1:$PORT/nobucket/pre/fix" in8m.caibx out-bad
expect 1 "HTTP 404 \(no bucket 'nobucket'\?\)" "$ZFERRY" store make \
	-s "s3+http://127.0.0.1:$PORT/nobucket/pre/fix" nob.caibx in8m

# --- credentials from a file: mode 600 taken, 644 refused; none at all refused
printf 'access_key=S3RVER\nsecret_key=S3RVER\n' >creds
chmod 600 creds
(unset S3_ACCESS_KEY S3_SECRET_KEY
 z store extract -s "$url" --store-credentials-file creds in8m.caibx out-file) ||
	fail "extract with a credentials file: $(cat err)"
cmp -s in8m out-file || fail "extract with a credentials file differs"
chmod 644 creds
(unset S3_ACCESS_KEY S3_SECRET_KEY
 expect 1 "credentials file 'creds' may be read by group or others \(mode 0644\)" \
	"$ZFERRY" store extract -s "$url" --store-credentials-file creds in8m.caibx out-644
 [ "$failures" = 0 ] || exit 1) || fail "a mode 644 credentials file was not refused"
(unset S3_ACCESS_KEY S3_SECRET_KEY
 expect 1 'no S3 credentials' "$ZFERRY" store extract -s "$url" in8m.caibx out-none
 [ "$failures" = 0 ] || exit 1) || fail "no credentials at all was not refused"
printf 'access_key=S3RVER\nsecret_key=wr0ng-s3cr3t-value\n' >creds-bad
chmod 600 creds-bad
expect 1 'S3 refused the credentials' "$ZFERRY" store extract -s "$url" \
	--store-credentials-file creds-bad in8m.caibx out-bad
cp stderr out/badsecret-file.err
expect 1 'for s3\+http\[s\]:// stores' "$ZFERRY" store extract -s "http://127.0.0.1:$PORT/" \
	--store-credentials-file creds in8m.caibx out-bad

# --- a server killed mid-upload, restarted on its port: the rerun completes
t0=$SECONDS
z store make -s "$url/k" -m 48 in64m.caibx in64m &
mk=$!
for _ in $(seq 400); do
	[ "$(find data/bucket/pre/fix/k -name '*._S3rver_object' 2>/dev/null | wc -l)" -ge 20 ] &&
		break
	sleep 0.025
done
kport=$PORT
kill -9 "$SRV"
wait "$SRV" 2>/dev/null
SRV=
if wait "$mk"; then
	echo "note: make finished before the server was killed"
else
	[ "$(wc -l <err)" = 1 ] || fail "the failed make wrote more than one line: $(cat err)"
	grep -qE "of chunk [0-9a-f]{64} at s3\+http://127\.0\.0\.1:$kport/bucket/pre/fix/k/[0-9a-f]{4}/[0-9a-f]{64}\.cacnk failed after [0-9] tr" err ||
		fail "the failed make does not name the chunk and URL: $(cat err)"
fi
# S3 shows an object only once its PUT completed; s3rver writes the body, then
# its .md5, then its metadata, as three files, so a kill -9 leaves halves that
# it would serve (a short body with a 200, or a 500).  Drop them, as S3 would
# never have stored them.
python3 - data <<'PY' || fail "cannot tidy s3rver's half-written objects"
import json, os, sys
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        if not f.endswith("._S3rver_object"):
            continue
        base = os.path.join(d, f[:-len("._S3rver_object")])
        try:
            json.load(open(base + "._S3rver_metadata.json"))
        except (OSError, ValueError):
            for x in ("._S3rver_object", "._S3rver_object.md5", "._S3rver_metadata.json"):
                try:
                    os.unlink(base + x)
                except FileNotFoundError:
                    pass
PY
s3 "$kport"
z store make -s "$url/k" -m 48 in64m.caibx in64m || fail "rerun after the server came back: $(cat err)"
z store extract -s "$url/k" in64m.caibx out64m || fail "extract after the rerun: $(cat err)"
cmp -s in64m out64m || fail "the rerun after a server restart differs"
z store verify -s "$url/k" || fail "verify after the rerun: $(cat err)"
nk=$(find data/bucket/pre/fix/k -name '*._S3rver_object' | wc -l)
[ "$nk" -gt 1000 ] || fail "only $nk chunks: the listing needs no second page"
grep -q "^zferry store verify: $nk chunks, 0 damaged" err ||
	fail "verify did not list all $nk chunks over several pages: $(cat err)"
echo "64 MiB make killed, rerun, extract, verify: $((SECONDS - t0)) s"

# --- no secret in any output (S3RVER is both key and secret: neither may show)
if grep -rl 'S3RVER\|wr0ng-s3cr3t' out stdout stderr; then
	fail "a credential appears in the output above"
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures failures"
	exit 1
fi
echo "all store s3 checks passed"
