# bench/replicate-local.vm.sh — runs inside the VM (see bench/replicate-local)
set -euo pipefail
mb=${BENCH_MB:-2048}
mount -o remount,size=9G /tmp
echo $((1024 * 1024 * 1024)) >/sys/module/zfs/parameters/zfs_arc_max
now() { date +%s.%N; }
secs() { awk -v a="$2" -v b="$1" 'BEGIN{printf "%.2f", a - b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
cold() { zpool export p1 && zpool import -d /tmp p1; }

truncate -s $((mb * 2 + 1024))M /tmp/p1.img /tmp/p2.img
zpool create -f -O mountpoint=/mnt/p1 p1 /tmp/p1.img
zpool create -f -O mountpoint=/mnt/p2 p2 /tmp/p2.img
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
echo "== (b) 50 filesystems, one small change each, incremental"
zfs create p1/many
for i in $(seq -w 1 50); do zfs create "p1/many/fs$i"; echo "$i" >"/mnt/p1/many/fs$i/f"; done
zfs snapshot -r p1/many@base
echo "(initial replication of both copies...)"
zferry replicate -r --no-progress p1/many p2/zf >/dev/null
timeout 1800 syncoid -r --quiet --no-privilege-elevation p1/many p2/sy >/dev/null 2>&1
for i in $(seq -w 1 50); do echo "change" >>"/mnt/p1/many/fs$i/f"; done
t0=$(now); zferry replicate -r --no-progress p1/many p2/zf >/dev/null; t1=$(now)
zf=$(secs "$t0" "$t1")
t0=$(now); timeout 1800 syncoid -r --quiet --no-privilege-elevation p1/many p2/sy >/dev/null 2>&1; t1=$(now)
sy=$(secs "$t0" "$t1")
echo "zferry replicate -r:          $zf s  ($(awk -v t="$zf" 'BEGIN{printf "%.3f", t / 51}') s per filesystem)"
echo "syncoid -r:                   $sy s  ($(awk -v t="$sy" 'BEGIN{printf "%.3f", t / 51}') s per filesystem)"
echo "speed-up zferry vs syncoid:   $(ratio "$sy" "$zf")  (target >= 3)"
# both must have delivered the change
for t in zf sy; do
	n=$(zfs list -H -t snapshot -o name -r "p2/$t" | wc -l)
	echo "snapshots on the $t copy: $n"
done
