# bench/daemon.vm.sh — runs inside the VM (see bench/daemon)
set -euo pipefail
mount -o remount,size=4G /tmp
T=$(mktemp -d /tmp/bench-daemon.XXXXXX)
now() { date +%s.%N; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status() { zferry status --json --control "$T/control"; }
js() { status | python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
until_true() { local i; for i in $(seq 1 $(($1 * 10))); do [ "$(js "$2")" = True ] && return 0; sleep 0.1; done; echo "timed out: $2" >&2; return 1; }

truncate -s 2G /tmp/p1.img /tmp/p2.img
zpool create -f -O mountpoint=/mnt/p1 -O compression=off p1 /tmp/p1.img
zpool create -f -O mountpoint=/mnt/p2 p2 /tmp/p2.img
zfs create p1/idle
for i in $(seq -w 1 100); do zfs create "p1/idle/fs$i"; done
zfs create p1/busy
for i in 1 2 3 4 5 6 7 8; do zfs create "p1/busy/fs$i"; done
zfs create p1/tick
zfs create p2/t
config() {	# TICK-SCHEDULE
cat >"$T/zferry.yml" <<CFG
daemon:
  control: $T/control
  state_dir: $T/state
jobs:
  - name: idle
    type: push
    source: p1/idle
    target: p2/t/idle
    schedule: 1h
  - name: busy
    type: push
    source: p1/busy
    target: p2/t/busy
    concurrency: 8
    schedule: 1h
  - name: tick
    type: push
    source: p1/tick
    target: p2/t/tick
    schedule: $1
CFG
}
config 1h
zferry daemon -c "$T/zferry.yml" 2>"$T/daemon.log" &
dpid=$!
trap 'kill $dpid 2>/dev/null; wait $dpid 2>/dev/null; zpool destroy p1; zpool destroy p2' EXIT
until_true 20 "True"
runs() { js "sum(x['runs']['ok'] for x in j['jobs'] if x['name'] == '$1')"; }
wake_wait() {	# JOB: one more run of it, ok
	local n; n=$(runs "$1")
	zferry signal wakeup "$1" --control "$T/control"
	until_true 1800 "sum(x['runs']['ok'] + x['runs']['failed'] + x['runs']['partial'] for x in j['jobs'] if x['name'] == '$1') > $n"
}

echo "== (a) 100 filesystems, nothing written (the push job still snapshots each and sends the empty incrementals)"
wake_wait idle
t0=$(now); wake_wait idle; t1=$(now)
echo "a run over 101 unchanged filesystems (snapshot + 101 empty incrementals): $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}') s (incl. up to 0.1 s polling)"
hz=$(getconf CLK_TCK)
sleep 2
c0=$(ticks $dpid); t0=$(now)
sleep 60
c1=$(ticks $dpid); t1=$(now)
echo "daemon CPU over $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", b - a}') s idle: $(awk -v c=$((c1 - c0)) -v hz="$hz" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f%%", 100 * c / hz / (b - a)}') of one core (target < 0.5%)"

echo
echo "== (b) status latency while 8 transfers run"
for i in 1 2 3 4 5 6 7 8; do head -c 160M /dev/urandom >"/mnt/p1/busy/fs$i/data"; done
zferry signal wakeup busy --control "$T/control"
until_true 120 "sum(1 for x in j['jobs'] if x['name'] == 'busy' for f in x['filesystems'] if f['running']) >= 8" ||
	echo "(fewer than 8 transfers seen at once)"
transfers() { js "sum(1 for x in j['jobs'] for f in x['filesystems'] if f['running'])"; }
at_start=$(transfers)
lat=()
for i in $(seq 1 30); do
	a=$(now); status >/dev/null; b=$(now)
	lat+=("$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.1f", (b - a) * 1000}')")
	sleep 0.2
done
running=$(transfers)
printf '%s\n' "${lat[@]}" | sort -n | awk -v s="$at_start" -v r="$running" '{v[NR] = $1} END {
	printf "status --json with %d transfers running at the first call, %d at the last: median %.1f ms, max %.1f ms over %d calls (target < 100 ms)\n", s, r, v[int((NR + 1) / 2)], v[NR], NR }'
until_true 1800 "[x for x in j['jobs'] if x['name'] == 'busy'][0]['state'] == 'idle'"

echo
echo "== (c) from a schedule tick to the first byte received"
until_true 60 "[x for x in j['jobs'] if x['name'] == 'tick'][0]['state'] == 'idle'"
zferry signal wakeup tick --control "$T/control"
sleep 1
until_true 60 "[x for x in j['jobs'] if x['name'] == 'tick'][0]['state'] == 'idle'"
config 20s
kill -HUP $dpid
until_true 10 "[x for x in j['jobs'] if x['name'] == 'tick'][0]['schedule'] == '20s'"
echo small >/mnt/p1/tick/f
next=$(js "[x for x in j['jobs'] if x['name'] == 'tick'][0]['next_run']")
first=
while [ -z "$first" ]; do
	for p in $(pgrep -f "^zfs recv .*p2/t/tick" || true); do
		r=$(awk '/^rchar:/ {print $2}' "/proc/$p/io" 2>/dev/null || echo 0)
		[ "${r:-0}" -gt 0 ] && first=$(now) && break
	done
	sleep 0.005
done
echo "tick at $next, first byte received $(awk -v a="$next" -v b="$first" 'BEGIN{printf "%.3f", b - a}') s later"
grep -c "run started" "$T/daemon.log" | sed 's/^/runs started in all: /'
