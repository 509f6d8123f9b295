#!/usr/bin/env bash
# tests/check-headers.sh CC SRCDIR — every header under src/ compiles on its own
# (STYLE.md §2: one header per module, self-contained).
set -u
cc=$1
src=$2
fail=0
n=0
for h in $(cd "$src/src" && find . -name '*.h' | sort); do
	n=$((n + 1))
	if ! printf '#include "%s"\n' "${h#./}" |
		"$cc" -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -I"$src/src" -x c - 2>&1; then
		echo "not self-contained: src/${h#./}"
		fail=1
	fi
done
echo "$n headers checked"
exit $fail
