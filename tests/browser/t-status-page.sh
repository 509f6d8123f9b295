#!/usr/bin/env bash
# tests/browser/t-status-page.sh FIXTURE CHECK.py — the status page as a real browser shows it.
#
# DESCRIPTION: status-fixture serves a made-up daemon state (names with
# markup, quotes, spaces and unicode; charts of 12 and 5 runs) through the
# daemon's own HTTP server on 127.0.0.1; headless Chromium loads it, dumps
# the DOM it built and paints a screenshot.
# STRATEGY: check the rendered DOM, not the HTML sent: each hostile name is
# text in its cell and no element was made of it, no script ran (the title
# is unchanged), each chart has one bar per run with a tooltip; the
# screenshot has the page's colours.  Skips (77) without chromium or a
# python3 with PIL (Debian: chromium, python3-pil, in scripts/install-deps).
set -uo pipefail
fixture=$1
check=$2

chromium=$(command -v chromium || command -v chromium-browser) ||
	{ echo "t-status-page: no chromium: skipped"; exit 77; }
py=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import PIL.Image' 2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || { echo "t-status-page: no python3 with PIL: skipped"; exit 77; }

tmp=$(mktemp -d)
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null
	[ -z "$pid" ] || wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "t-status-page: $*"; [ ! -s "$tmp/chromium.log" ] || tail -n 20 "$tmp/chromium.log"; exit 1; }

"$fixture" serve 170 >"$tmp/port" &
pid=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$tmp/port")
	[ -z "$port" ] || break
	sleep 0.1
done
[ -n "$port" ] || fail "status-fixture did not print its port"
url=http://127.0.0.1:$port/

# root needs --no-sandbox; a profile of its own, so nothing of the machine's is read or changed
browse() {
	DBUS_SESSION_BUS_ADDRESS=disabled: timeout -k 5 60 "$chromium" --headless=new --no-sandbox \
		--disable-gpu --disable-dev-shm-usage --no-first-run --no-default-browser-check \
		--disable-extensions --hide-scrollbars --user-data-dir="$tmp/profile" "$@" \
		2>>"$tmp/chromium.log"
}
browse --dump-dom "$url" >"$tmp/dom.html" || fail "chromium --dump-dom failed"
[ -s "$tmp/dom.html" ] || fail "chromium dumped nothing"
browse --window-size=1400,1600 --screenshot="$tmp/shot.png" "$url" >/dev/null ||
	fail "chromium --screenshot failed"
[ -s "$tmp/shot.png" ] || fail "no screenshot"
"$py" "$check" "$tmp/dom.html" "$tmp/shot.png" || {
	mkdir -p "${MESON_BUILD_ROOT:-/tmp}/t-status-page"
	cp "$tmp/dom.html" "$tmp/shot.png" "${MESON_BUILD_ROOT:-/tmp}/t-status-page/"
	fail "the page is not as expected; dom.html and shot.png kept in ${MESON_BUILD_ROOT:-/tmp}/t-status-page"
}
