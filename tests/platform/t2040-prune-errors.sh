#!/usr/bin/env bash
# DESCRIPTION: bad rules, names and options give one-line errors with the right status
# STRATEGY:
#  1. Malformed --keep rules: exit 2, one line naming the rule and the column.
#  2. Bad filesystem names: exit 2, one line; a missing filesystem: exit 1.
#  3. Nothing was destroyed by any of them.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zp4
log_must zfs create zp4/a
for i in 1 2 3; do log_must zfs snapshot "zp4/a@zferry_$i"; done
before=$(zfs list -H -t snapshot -o name -r zp4)

check() # STATUS NEEDLE ARGS...
{
	local want=$1 needle=$2
	shift 2
	capture "$ZFERRY" prune "$@"
	assert_eq "$RC" "$want" "status of prune $*"
	assert_eq "$(printf '%s\n' "$OUT" | wc -l)" 1 "lines of the error of prune $*"
	assert_contains "$OUT" "$needle"
}

check 2 "grid: expected 'x' at column 7" --keep grid:1h zp4/a
check 2 "grid: unknown unit 'y' at column 9" --keep 'grid:1x1y' zp4/a
check 2 "unknown rule 'keep_all' at column 10" --keep 'last_n:3|keep_all' zp4/a
check 2 "periods: unknown period 'daly' at column 11" --keep 'hourly=24,daly=3' zp4/a
check 2 "regex: invalid expression at column 7" --keep 'regex:(' zp4/a
check 2 "empty rule at column 1" --keep '' zp4/a
check 2 "no --keep rules given" zp4/a
check 2 "exclude each other" --keep last_n:1 --prefix a --regex b zp4/a
check 2 "--regex" --keep last_n:1 --regex '(' zp4/a
check 2 "no filesystem given" --keep last_n:1
check 2 "not allowed" --keep last_n:1 'zp4/a;rm -rf /'
check 2 "zferry prune" --keep last_n:1 zp4/a@zferry_1
check 2 "zferry prune" --keep last_n:1 -- -zp4
check 2 "unknown option" --keep last_n:1 --bogus zp4/a
check 1 "zp4/nosuch" --keep last_n:1 zp4/nosuch
assert_eq "$(zfs list -H -t snapshot -o name -r zp4)" "$before" "snapshots after errors"
log_pass
