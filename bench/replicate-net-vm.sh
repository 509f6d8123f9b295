# bench/replicate-net-vm.sh — runs inside the VM (see bench/replicate-net-vm)
set -euo pipefail
mb=${BENCH_MB:-2048}
mount -o remount,size=9G /tmp
echo $((1024 * 1024 * 1024)) >/sys/module/zfs/parameters/zfs_arc_max
now() { date +%s.%N; }
secs() { awk -v a="$2" -v b="$1" 'BEGIN{printf "%.2f", a - b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
cold() { zpool export p1 && zpool import -d /tmp p1; }
w=$(mktemp -d)

# a CA, a server and a client certificate, as docs/serve.md shows
"$(dirname "$0")/../scripts/make-certs" "$w" server bench
cat >"$w/zferry.yml" <<CFG
serve:
  tls: { ca: $w/ca.pem, cert: $w/server.pem, key: $w/server.key }
  tcp: { allow: [127.0.0.1] }
  clients:
    - identity: bench
      write: [p2]
    - identity: "tcp:127.0.0.1"
      write: [p2]
CFG

truncate -s $((mb * 2 + 1024))M /tmp/p1.img /tmp/p2.img
zpool create -f -O mountpoint=/mnt/p1 p1 /tmp/p1.img
zpool create -f -O mountpoint=/mnt/p2 p2 /tmp/p2.img
zfs create -o compression=off p1/a
head -c "${mb}M" /dev/urandom >/mnt/p1/a/data
zfs snapshot p1/a@s
bytes=$(zfs send -nP p1/a@s | awk '/^size/ {print $2}')

zferry serve -c "$w/zferry.yml" --listen tls://127.0.0.1:0 --listen tcp://127.0.0.1:0 \
	2>"$w/serve.log" &
serve=$!
for i in $(seq 1 100); do
	port=$(sed -n 's/.*listening on tls:\/\/.*:\([0-9]*\)$/\1/p' "$w/serve.log")
	tport=$(sed -n 's/.*listening on tcp:\/\/.*:\([0-9]*\)$/\1/p' "$w/serve.log")
	[ -n "$port" ] && [ -n "$tport" ] && break
	sleep 0.1
done

cold
t0=$(now); zfs send p1/a@s | zfs recv -u p2/raw; zpool sync p2; t1=$(now)
raw=$(secs "$t0" "$t1")
zfs destroy -r p2/raw
cold
t0=$(now)
zferry replicate --no-sync-snap --no-progress --tls-ca "$w/ca.pem" --tls-cert "$w/bench.pem" \
	--tls-key "$w/bench.key" p1/a "tls://127.0.0.1:$port/p2/zf" >/dev/null
zpool sync p2
t1=$(now)
zf=$(secs "$t0" "$t1")
# the same over plain tcp: the protocol without the emulated AES
cold
t0=$(now)
zferry replicate --no-sync-snap --no-progress p1/a "tcp://127.0.0.1:$tport/p2/zt" >/dev/null
zpool sync p2
t1=$(now)
zt=$(secs "$t0" "$t1")
kill $serve
echo "== full replication of $mb MiB of incompressible data, in the VM (TCG)"
echo "stream bytes:                    $bytes"
echo "raw zfs send | zfs recv:         $raw s  ($(awk -v b="$bytes" -v t="$raw" 'BEGIN{printf "%.1f", b / t / 1e6}') MB/s)"
echo "zferry replicate over tls:       $zf s  ($(awk -v b="$bytes" -v t="$zf" 'BEGIN{printf "%.1f", b / t / 1e6}') MB/s)"
echo "zferry replicate over tcp:       $zt s  ($(awk -v b="$bytes" -v t="$zt" 'BEGIN{printf "%.1f", b / t / 1e6}') MB/s)"
echo "throughput ratio tls/raw:        $(ratio "$raw" "$zf")"
echo "throughput ratio tcp/raw:        $(ratio "$raw" "$zt")"
