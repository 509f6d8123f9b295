#!/usr/bin/env bash
# tests/cli/test-backup.sh ZFERRY — zferry backup, backup list/prune and
# restore as a user runs them, where no zfs is needed: exit statuses and
# one-line errors for bad command lines, empty and hostile catalogues.
set -u
Z=$1
T=$(mktemp -d /tmp/zferry-test-backup.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect STATUS PATTERN -- command...: the exit status and one line of stderr matching PATTERN
expect() {
	local want=$1 pat=$2 got
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	[ "$got" = "$want" ] || fail "$*: exit $got, want $want ($(cat "$T/err"))"
	if [ -n "$pat" ]; then
		grep -q -- "$pat" "$T/err" || fail "$*: stderr '$(cat "$T/err")' lacks '$pat'"
		[ "$(wc -l <"$T/err")" -le 1 ] || fail "$*: more than one line: $(cat "$T/err")"
	fi
}

# usage errors: exit 2, one line
expect 2 'want a store' -- "$Z" backup tank/a
expect 2 'want at least one DATASET' -- "$Z" backup -s "$T/s"
expect 2 'only makes sense with --incremental' -- "$Z" backup -s "$T/s" --full-every 3 tank/a
expect 2 'wants a number' -- "$Z" backup -s "$T/s" --incremental --full-every 0 tank/a
expect 2 'exclude each other' -- "$Z" backup -s "$T/s" --use-newest --snapshot x tank/a
expect 2 'short snapshot name' -- "$Z" backup -s "$T/s" --snapshot 'a/b' tank/a
expect 2 "" -- "$Z" backup -s "$T/s" 'tank/a;rm -rf /'
expect 2 'unknown option' -- "$Z" backup -s "$T/s" --frobnicate tank/a
expect 2 'want DATASET\[@SNAP\] and TARGET' -- "$Z" restore -s "$T/s" tank/a
expect 2 'with -o, want DATASET' -- "$Z" restore -s "$T/s" -o "$T/x" tank/a tank/b
expect 2 '-u is for receiving' -- "$Z" restore -s "$T/s" -u -o "$T/x" tank/a
expect 2 'want a store' -- "$Z" backup list
expect 2 'at most one DATASET' -- "$Z" backup list -s "$T/s" a b
expect 2 'backups live in a directory store' -- "$Z" backup -s s3+http://127.0.0.1:1/b tank/a
expect 2 'backups live in a directory store' -- "$Z" restore -s http://127.0.0.1:1/ tank/a tank/b
expect 2 'backups live in a directory store' -- "$Z" backup list -s s3+https://h/b
expect 1 'not supported yet' -- "$Z" backup prune -s s3+http://127.0.0.1:1/b -k last_n:1
expect 1 'not supported yet' -- "$Z" store gc -s s3+http://127.0.0.1:1/b
expect 0 "" -- "$Z" backup --help
grep -q 'full-every' "$T/out" || fail "backup --help lacks --full-every"
expect 0 "" -- "$Z" restore --help
grep -q -- '--output' "$T/out" || fail "restore --help lacks --output"

# an empty store lists nothing; a restore from it names what is missing
mkdir -p "$T/s"
expect 0 "" -- "$Z" backup list -s "$T/s"
[ ! -s "$T/out" ] || fail "empty store listed: $(cat "$T/out")"
expect 0 "" -- "$Z" backup list -s "$T/s" --json
grep -q '"backups":\[\]' "$T/out" || fail "empty --json listing: $(cat "$T/out")"
expect 1 "has no backup of 'tank/a'" -- "$Z" restore -s "$T/s" tank/a tank/r
expect 1 "has no backup of 'tank/a'" -- "$Z" restore -s "$T/s" -o "$T/x" tank/a@s1
[ ! -e "$T/x" ] || fail "a failed restore -o left $T/x"

# a hostile catalogue: an entry under a name its fields do not give
mkdir -p "$T/s/catalogue/tank%2Fa"
printf '{"format":1}' >"$T/s/catalogue/tank%2Fa/evil.json"
expect 1 "evil.json" -- "$Z" backup list -s "$T/s"
expect 1 "evil.json" -- "$Z" restore -s "$T/s" tank/a tank/r
printf '{"format":2}' >"$T/s/catalogue/tank%2Fa/00000000000000000005-0000000000000001-0000000000000000.json"
rm "$T/s/catalogue/tank%2Fa/evil.json"
expect 1 "format 2 is not supported" -- "$Z" backup list -s "$T/s"

echo "test-backup: $fails failed"
[ "$fails" = 0 ]
