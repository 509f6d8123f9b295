# tests/lib/cli-lib.sh — helpers for the host-side shell tests that run the
# zferry binary as a user would (tests/cli-*.sh, tests/interop/*.sh; sourced,
# bash).  Each test counts failures and exits non-zero at its end if any.

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect CODE PATTERN CMD...: CMD (stdin from /dev/null, output to ./stdout
# and ./stderr) exits CODE and writes exactly one line to stderr, matching
# the extended regex PATTERN.
expect() {
	local code=$1 pat=$2
	shift 2
	"$@" </dev/null >stdout 2>stderr
	local rc=$?
	[ "$rc" = "$code" ] || fail "'$*' exited $rc, want $code: $(cat stderr)"
	[ "$(wc -l <stderr)" = 1 ] || fail "'$*' wrote $(wc -l <stderr) lines to stderr: $(cat stderr)"
	grep -qE -- "$pat" stderr || fail "'$*': stderr '$(cat stderr)' lacks '$pat'"
}
