# bench/replicate-local.vm.sh — runs inside the VM (see bench/replicate-local)
#
# Knobs (environment, BENCH_* reach the VM): BENCH_PARTS (default "a b c"),
# BENCH_MB (a), BENCH_NFS (b, default 50), BENCH_IDLE_FS (c, default 200),
# BENCH_SYNCOID=0 leaves syncoid out of (b), BENCH_SEED=send makes (b)'s
# two copies with zfs send -R instead of each tool's first run (faster).
set -euo pipefail
mb=${BENCH_MB:-2048}
parts=${BENCH_PARTS:-a b c}
nfs=${BENCH_NFS:-50}
idle=${BENCH_IDLE_FS:-200}
syncoid=${BENCH_SYNCOID:-1}
seed=${BENCH_SEED:-tools}
mount -o remount,size=9G /tmp
echo $((1024 * 1024 * 1024)) >/sys/module/zfs/parameters/zfs_arc_max
now() { date +%s.%N; }
secs() { awk -v a="$2" -v b="$1" 'BEGIN{printf "%.2f", a - b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a / b}'; }
cold() { zpool export p1 && zpool import -d /tmp p1; }
has() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
# zferry_counted LOG ARGS...: zferry at debug level, whose log names every
# zfs and zpool process it runs ("running zfs send ..."); prints how many
zferry_counted() {
	local log=$1
	shift
	zferry --log-level=debug "$@" >/dev/null 2>"$log" || { tail -20 "$log" >&2; return 1; }
}
nproc_in() { grep -c 'running z\(fs\|pool\) ' "$1" || true; }
breakdown() { grep -o 'running z\(fs\|pool\) [a-z]*' "$1" | sort | uniq -c | sort -rn |
	awk '{printf "  %s %s %s", $1, $3, $4} END {print ""}'; }
# parallel `zfs create` of NAME PREFIX COUNT: their txg syncs are shared
create_many() {
	seq -w 1 "$3" | xargs -P 16 -I{} zfs create "$1/$2{}"
}

truncate -s $((mb * 2 + 1024))M /tmp/p1.img /tmp/p2.img
zpool create -f -O mountpoint=/mnt/p1 p1 /tmp/p1.img
zpool create -f -O mountpoint=/mnt/p2 p2 /tmp/p2.img

if has a; then
	echo "== (a) full replication of $mb MiB of incompressible data"
	zfs create p1/a
	head -c "${mb}M" /dev/urandom >/mnt/p1/a/data
	zfs snapshot p1/a@s
	bytes=$(zfs send -nP p1/a@s | awk '/^size/ {print $2}')

	cold
	t0=$(now); zfs send p1/a@s | zfs recv -u p2/raw; zpool sync p2; t1=$(now)
	raw=$(secs "$t0" "$t1")
	zfs destroy -r p2/raw
	cold
	t0=$(now); zferry replicate --no-sync-snap --no-progress p1/a p2/zf >/dev/null; zpool sync p2; t1=$(now)
	zf=$(secs "$t0" "$t1")
	echo "stream bytes:                $bytes"
	echo "raw zfs send | zfs recv:     $raw s  ($(awk -v b="$bytes" -v t="$raw" 'BEGIN{printf "%.1f", b / t / 1e6}') MB/s)"
	echo "zferry replicate:            $zf s  ($(awk -v b="$bytes" -v t="$zf" 'BEGIN{printf "%.1f", b / t / 1e6}') MB/s)"
	echo "throughput ratio zferry/raw: $(ratio "$raw" "$zf")  (target >= 0.95)"
	zfs destroy -r p2/zf
	zfs destroy -r p1/a
	echo
fi

if has b; then
	echo "== (b) $nfs filesystems, one small change each, incremental"
	zfs create p1/many
	create_many p1/many fs "$nfs"
	for f in /mnt/p1/many/fs*; do echo "$f" >"$f/f"; done
	zfs snapshot -r p1/many@base
	if [ "$seed" = send ]; then
		# both copies from one replication stream; zferry's untimed first
		# run then only sets its cursors.  syncoid's timed run finds no
		# sync snapshot of its own to destroy: if anything, it is favoured
		echo "(both copies from zfs send -R, then zferry's first run...)"
		zfs send -R p1/many@base | zfs recv -u p2/zf
		[ "$syncoid" = 1 ] && zfs send -R p1/many@base | zfs recv -u p2/sy
		zferry replicate -r --no-progress p1/many p2/zf >/dev/null
	else
		echo "(initial replication of both copies...)"
		zferry replicate -r --no-progress p1/many p2/zf >/dev/null
		[ "$syncoid" = 1 ] && timeout 1800 syncoid -r --quiet --no-privilege-elevation p1/many p2/sy >/dev/null 2>&1
	fi
	for f in /mnt/p1/many/fs*; do echo "change" >>"$f/f"; done
	t0=$(now); zferry_counted /tmp/b.log replicate -r --no-progress p1/many p2/zf; t1=$(now)
	zf=$(secs "$t0" "$t1")
	n=$(nproc_in /tmp/b.log)
	echo "zferry replicate -r:          $zf s  ($(per "$zf" $((nfs + 1))) s per filesystem)"
	echo "  zfs/zpool processes:        $n  ($(per "$n" $((nfs + 1))) per filesystem)"
	breakdown /tmp/b.log
	if [ "$syncoid" = 1 ]; then
		t0=$(now); timeout 1800 syncoid -r --quiet --no-privilege-elevation p1/many p2/sy >/dev/null 2>&1; t1=$(now)
		sy=$(secs "$t0" "$t1")
		echo "syncoid -r:                   $sy s  ($(per "$sy" $((nfs + 1))) s per filesystem)"
		echo "speed-up zferry vs syncoid:   $(ratio "$sy" "$zf")  (target >= 8)"
	fi
	# both must have delivered the change
	for t in zf sy; do
		zfs list p2/$t >/dev/null 2>&1 || continue
		n=$(zfs list -H -t snapshot -o name -r "p2/$t" | wc -l)
		echo "snapshots on the $t copy: $n"
	done
	zfs destroy -r p1/many
	zfs list p2/zf >/dev/null 2>&1 && zfs destroy -r p2/zf
	zfs list p2/sy >/dev/null 2>&1 && zfs destroy -r p2/sy
	echo
fi

if has c; then
	echo "== (c) $idle filesystems, nothing new since the last run"
	zfs create p1/idle
	create_many p1/idle fs "$idle"
	zfs snapshot -r p1/idle@base
	# the copy by one replication stream; zferry's first run then finds every
	# filesystem up to date and only sets its cursors
	zfs send -R p1/idle@base | zfs recv -u p2/idle
	t0=$(now); zferry_counted /tmp/c1.log replicate -r --no-progress p1/idle p2/idle; t1=$(now)
	first=$(secs "$t0" "$t1")
	t0=$(now); zferry_counted /tmp/c2.log replicate -r --no-progress p1/idle p2/idle; t1=$(now)
	zf=$(secs "$t0" "$t1")
	n1=$(nproc_in /tmp/c1.log) n=$(nproc_in /tmp/c2.log)
	echo "zferry first run (cursors):   $first s  ($n1 zfs/zpool processes)"
	breakdown /tmp/c1.log
	echo "zferry replicate -r, idle:    $zf s  ($(per "$zf" $((idle + 1))) s per filesystem)"
	echo "  zfs/zpool processes:        $n"
	breakdown /tmp/c2.log
fi
