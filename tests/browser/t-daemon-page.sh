#!/usr/bin/env bash
# tests/browser/t-daemon-page.sh ZFERRY — the real daemon's status page in headless Chromium.
#
# DESCRIPTION: `zferry daemon` on this host (no ZFS here: its snap job's run
# fails, and that failure is real state) serves its page on 127.0.0.1;
# Chromium loads it as a user's browser would.
# STRATEGY: wake the job twice, wait for both runs to end, then check the
# DOM Chromium built: the job's row with its type, result and zfs's error as
# text, a chart with one red bar per run, and /metrics counting the same two
# failed runs.  Skips (77) without chromium.
set -uo pipefail
Z=$1
chromium=$(command -v chromium || command -v chromium-browser) ||
	{ echo "t-daemon-page: no chromium: skipped"; exit 77; }
T=$(mktemp -d)
dpid=
cleanup() {
	[ -z "$dpid" ] || { kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "t-daemon-page: $*"; exit 1; }

cat >"$T/z.yml" <<YML
daemon:
  control: $T/control
  state_dir: $T/state
  http_listen: "127.0.0.1:0"
jobs:
  - name: "home-nightly"
    type: snap
    filesystems: [nopool/home]
    schedule: 1h
YML
"$Z" daemon -c "$T/z.yml" 2>"$T/log" &
dpid=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*status page on port \([0-9]*\)$/\1/p' "$T/log")
	[ -n "$port" ] && [ -S "$T/control" ] && break
	sleep 0.1
done
[ -n "$port" ] || fail "no port in the daemon's log: $(cat "$T/log")"
runs() { "$Z" status --json --control "$T/control" | grep -o '"failed":[0-9]*' | head -n1; }
for want in 1 2; do
	"$Z" signal wakeup "home-nightly" --control "$T/control" || fail "wakeup"
	for _ in $(seq 300); do [ "$(runs)" = "\"failed\":$want" ] && break; sleep 0.1; done
	[ "$(runs)" = "\"failed\":$want" ] || fail "run $want did not end: $(runs)"
done

DBUS_SESSION_BUS_ADDRESS=disabled: timeout -k 5 60 "$chromium" --headless=new --no-sandbox \
	--disable-gpu --disable-dev-shm-usage --no-first-run --no-default-browser-check \
	--disable-extensions --user-data-dir="$T/profile" --dump-dom "http://127.0.0.1:$port/" \
	>"$T/dom.html" 2>"$T/chromium.log" || fail "chromium failed: $(tail -5 "$T/chromium.log")"
python3 - "$T/dom.html" <<'PY' || fail "the page is not as expected"
import sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.bars, self.stack, self.text = [], [], [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "rect" and "bar" in (a.get("class") or ""):
            self.bars.append(a.get("class"))
        if tag == "td":
            self.text = []
        self.stack.append(tag)
    def handle_endtag(self, tag):
        if tag == "td":
            self.cells.append("".join(self.text).strip())
    def handle_data(self, d):
        self.text.append(d)

p = P()
p.feed(open(sys.argv[1]).read())
bad = []
if "home-nightly" not in p.cells:
    bad.append("no cell with the job's name")
if not any("ZFS" in c or "zfs" in c for c in p.cells):
    bad.append("no cell with zfs's error")
if not any(c == "snap" for c in p.cells):
    bad.append("no cell with the job type")
failed = [b for b in p.bars if "r-failed" in b]
if len(failed) < 2:
    bad.append("%d failed bars, expected 2 per chart (%s)" % (len(failed), p.bars))
for b in bad:
    print("t-daemon-page:", b)
sys.exit(1 if bad else 0)
PY
curl -sf "http://127.0.0.1:$port/metrics" | grep -q 'zferry_job_runs_total{job="home-nightly",result="failed"} 2' ||
	fail "/metrics does not count the two failed runs"
echo "t-daemon-page: ok"
