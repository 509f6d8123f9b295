#!/usr/bin/env bash
# tests/check-layers.sh SRCDIR LAYER... — every #include "DIR/..." under
# SRCDIR/src names DIR's own folder or a folder of a lower layer.  Each LAYER
# argument is one layer, lowest first, its folders joined by ':' (meson passes
# src/meson.build's zf_layers).  A folder under src/ that no layer lists is an
# error too, so a new folder must be placed.  One line per wrong include.
set -u
src=$1/src
shift
declare -A level
n=0
for layer in "$@"; do
	n=$((n + 1))
	IFS=: read -ra folders <<<"$layer"
	for f in "${folders[@]}"; do level[$f]=$n; done
done
fail=0
for d in "$src"/*/; do
	d=$(basename "$d")
	if [ -z "${level[$d]:-}" ]; then
		echo "src/$d/: in no layer of src/meson.build"
		fail=1
	fi
done
checked=0
while IFS= read -r hit; do
	file=${hit%%:*}
	rest=${hit#*:}
	line=${rest%%:*}
	inc=${rest#*:}
	inc=${inc#*\"}
	to=${inc%%/*}
	from=${file#"$src"/}
	from=${from%%/*}
	checked=$((checked + 1))
	[ "$to" = "$from" ] && continue
	if [ -z "${level[$to]:-}" ]; then
		continue        # not a folder of ours (a system header in quotes)
	fi
	if [ "${level[$to]}" -ge "${level[$from]}" ]; then
		if [ "${level[$to]}" -eq "${level[$from]}" ]; then how=sideways; else how=upward; fi
		echo "src/${file#"$src"/}:$line: includes \"${inc%\"*}\": $how, $from/ may use only lower layers"
		fail=1
	fi
done < <(grep -rn --include='*.[ch]' '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z0-9_-]*/' "$src")
echo "$checked includes checked against ${n} layers"
exit $fail
