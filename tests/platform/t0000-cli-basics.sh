#!/usr/bin/env bash
# DESCRIPTION: zferry's command line: --version, help, usage errors
# STRATEGY:
#  1. --version and help succeed and name the commands.
#  2. An unknown option or command exits 2 with one line on stderr.
. "$(dirname "$0")/../lib/test-lib.sh"

capture "$ZFERRY" --version
assert_eq "$RC" 0 "--version status"
assert_contains "$OUT" "zferry "
capture "$ZFERRY" --help
assert_eq "$RC" 0
assert_contains "$OUT" "list"
capture "$ZFERRY" help list
assert_contains "$OUT" "--recursive"

for args in "--bogus" "nosuchcommand" "list --bogus" "list"; do
	RC=0
	err=$("$ZFERRY" $args 2>&1 >/dev/null) || RC=$?
	assert_eq "$RC" 2 "status of 'zferry $args'"
	assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "stderr lines of 'zferry $args'"
done
log_pass
