# bench/backup.vm.sh — runs inside the VM (see bench/backup)
#
# Knobs (environment; BENCH_* reach the VM): BENCH_MB (default 256),
# BENCH_FILE_MB (default 4), BENCH_CHANGE_PCT (default 1), BENCH_SEED
# (default 14), BENCH_TOOLS (default "zferry storemake casync restic borg"),
# BENCH_FULL3_ALL=1 (casync, restic and borg make the third full too).
#
# Scratch space as bench/replicate-local: everything on the VM's /tmp (a
# tmpfs in RAM): the pool files, the stream files and every tool's chunk
# store or repository.  Disk speed plays no part; CPU and memory do.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
. "$here/lib.sh"
mb=${BENCH_MB:-256}
file_mb=${BENCH_FILE_MB:-4}
pct=${BENCH_CHANGE_PCT:-1}
seed=${BENCH_SEED:-14}
tools=${BENCH_TOOLS:-zferry storemake casync restic borg}
full3_all=${BENCH_FULL3_ALL:-0}
total_kb=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)
mount -o remount,size=$((total_kb * 9 / 10))k /tmp
echo $((1024 * 1024 * 1024)) >/sys/module/zfs/parameters/zfs_arc_max
export RESTIC_PASSWORD=bench   # restic 0.14 refuses an empty password
export RESTIC_CACHE_DIR=/tmp/restic-cache
export BORG_PASSPHRASE= BORG_BASE_DIR=/tmp/borg-home
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
for t in casync restic borg; do
	case " $tools " in *" $t "*) command -v $t >/dev/null ||
		{ echo "bench/backup: $t not installed" >&2; exit 1; } ;; esac
done
[ -x /usr/bin/time ] || { echo "bench/backup: /usr/bin/time (package time) missing" >&2; exit 1; }

has() { case " $tools " in *" $1 "*) return 0 ;; esac; return 1; }
# the third full (nothing changed) by casync, restic and borg only if asked:
# they gain nothing from it that the second did not show, and cost minutes
has3() { has "$1" && { [ "$n" != 3 ] || [ "$full3_all" = 1 ]; }; }
pcent() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN{printf "%.*f%%", d, 100 * a / b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
mbs() { awk -v b="$1" -v t="$2" 'BEGIN{printf "%.1f", b / t / 1e6}'; }
dub() { du -sb "$1" | cut -f1; }
cold() { zpool export p1 && zpool import -d /tmp p1; }
# tv OUT CMD...: /usr/bin/time -v of CMD (its stdout to OUT.out); sets
# T_wall, T_cpu (user + sys, children included), T_rss (KiB)
tv() {
	local out=$1
	shift
	/usr/bin/time -v -o "$out.time" "$@" >"$out.out" 2>"$out.err" ||
		{ echo "FAILED: $*" >&2; tail -20 "$out.err" >&2; return 1; }
	T_wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0;
		for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$out.time")
	T_cpu=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.2f", u + s}' "$out.time")
	T_rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$out.time")
}
jget() { python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["backups"][0]; print(eval(sys.argv[2], {}, b))' "$@"; }

# ---- the filesystem --------------------------------------------------------
truncate -s $((mb * 3 + 1024))M /tmp/p1.img
truncate -s $((mb * 2 + 1024))M /tmp/p2.img
zpool create -f -O mountpoint=/mnt/p1 p1 /tmp/p1.img
zpool create -f -O mountpoint=/mnt/p2 p2 /tmp/p2.img
zfs create p1/fs
nfiles=$(((mb + file_mb - 1) / file_mb))
for ((i = 0; i < nfiles; i++)); do
	head -c "${file_mb}M" /dev/urandom >"$(printf '/mnt/p1/fs/f%04d' $i)"
done
zfs snapshot p1/fs@s1
zfs send p1/fs@s1 >/tmp/s1.zs
bytes1=$(stat -c %s /tmp/s1.zs)
cpus=$(nproc)
echo "== zferry backup bench: $mb MiB in $nfiles files of $file_mb MiB (urandom), $cpus CPUs, $((total_kb / 1024)) MiB RAM"
echo "   pool and every store/repository on the VM's /tmp (tmpfs); not a test"
echo

declare -A grow2 grow3
rss_max=0
note_rss() { [ "$T_rss" -le "$rss_max" ] || rss_max=$T_rss; }

# full N SNAP: one full backup of p1/fs@SNAP by every tool; stream file /tmp/SNAP.zs
# fills zb_*/sm_* timing of the first (into empty stores), growth of later ones
full() {
	local n=$1 snap=$2 b0
	if has zferry; then
		b0=$(dub /tmp/zb 2>/dev/null || echo 0)
		[ "$n" != 1 ] || { cold; sync; settle; }
		tv /tmp/zb$n zferry backup -s /tmp/zb --snapshot "$snap" --json p1/fs
		note_rss
		eval "zb${n}_wall=$T_wall zb${n}_cpu=$T_cpu zb${n}_rss=$T_rss"
		eval "zb${n}_grow=$(($(dub /tmp/zb) - b0))"
		eval "zb${n}_stream=$(jget /tmp/zb$n.out stream_bytes)"
		eval "zb${n}_meta=$(jget /tmp/zb$n.out 'meta["bytes"]')"
		eval "zb${n}_data=$(jget /tmp/zb$n.out 'data["bytes"]')"
		eval "zb${n}_new=$(jget /tmp/zb$n.out new_bytes)"
		eval "zb${n}_newmeta=$(jget /tmp/zb$n.out 'meta["new_bytes"]')"
		eval "zb${n}_secs=$(jget /tmp/zb$n.out seconds)"
	fi
	if has storemake; then
		mkdir -p /tmp/sm
		b0=$(dub /tmp/sm)
		[ "$n" != 1 ] || { cold; sync; settle; }
		tv /tmp/sm$n bash -c "set -o pipefail; zfs send p1/fs@$snap |
			zferry store make -s /tmp/sm/store --json /tmp/sm/$snap.caibx -"
		eval "sm${n}_wall=$T_wall sm${n}_cpu=$T_cpu sm${n}_rss=$T_rss"
		eval "sm${n}_grow=$(($(dub /tmp/sm) - b0))"
	fi
	if has3 casync; then
		mkdir -p /tmp/ca
		b0=$(dub /tmp/ca)
		tv /tmp/ca$n casync make --store=/tmp/ca/store /tmp/ca/$snap.caibx /tmp/$snap.zs
		eval "ca${n}_wall=$T_wall ca${n}_grow=$(($(dub /tmp/ca) - b0))"
	fi
	if has3 restic; then
		[ -e /tmp/restic/config ] || restic init --repo /tmp/restic >/dev/null
		b0=$(dub /tmp/restic)
		tv /tmp/rs$n bash -c "restic -r /tmp/restic backup -q --stdin --stdin-filename stream.zs </tmp/$snap.zs"
		eval "rs${n}_wall=$T_wall rs${n}_grow=$(($(dub /tmp/restic) - b0))"
	fi
	if has3 borg; then
		[ -e /tmp/borg/config ] || borg init -e none /tmp/borg
		b0=$(dub /tmp/borg)
		tv /tmp/bg$n bash -c "borg create /tmp/borg::$snap - </tmp/$snap.zs"
		eval "bg${n}_wall=$T_wall bg${n}_grow=$(($(dub /tmp/borg) - b0))"
	fi
}

echo "(full 1 of p1/fs@s1, $bytes1 stream bytes, by each tool...)"
full 1 s1
rm -f /tmp/s1.zs

# ---- ~1% rewritten at random places, reproducibly --------------------------
python3 - "$seed" "$pct" /mnt/p1/fs <<'EOF' >/tmp/change.txt
import os, random, sys
seed, pct, d = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
files = sorted(os.path.join(d, f) for f in os.listdir(d))
sizes = [os.path.getsize(f) for f in files]
goal = int(sum(sizes) * pct / 100)
done = n = 0
while done < goal:
    i = rng.randrange(len(files))
    ln = rng.randint(4096, 65536)
    off = rng.randrange(0, sizes[i] - ln + 1)
    fd = os.open(files[i], os.O_WRONLY)
    os.pwrite(fd, rng.randbytes(ln), off)
    os.close(fd)
    done += ln
    n += 1
print(n, done)
EOF
read -r nwrites wbytes </tmp/change.txt
zfs snapshot p1/fs@s2
incr=$(zfs send -nP -i @s1 p1/fs@s2 | awk '/^size/ {print $2}')
zfs send p1/fs@s2 >/tmp/s2.zs
bytes2=$(stat -c %s /tmp/s2.zs)
echo "(rewrote $wbytes bytes in $nwrites writes of 4..64 KiB, seed $seed; full 2 of @s2...)"
full 2 s2

# ---- nothing changed --------------------------------------------------------
zfs snapshot p1/fs@s3
zfs send p1/fs@s3 >/tmp/s3.zs
bytes3=$(stat -c %s /tmp/s3.zs)
echo "(nothing changed; full 3 of @s3...)"
full 3 s3
rm -f /tmp/s3.zs

# ---- restore ----------------------------------------------------------------
if has zferry; then
	echo "(restore of @s2: zfs recv from the stream file, then zferry restore...)"
	sync; settle
	t0=$(date +%s.%N)
	zfs recv p2/raw </tmp/s2.zs
	zpool sync p2
	t1=$(date +%s.%N)
	rv_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')
	zfs destroy -r p2/raw
	sync; settle
	t0=$(date +%s.%N)
	tv /tmp/zr zferry restore -s /tmp/zb p1/fs@s2 p2/zr
	zpool sync p2
	t1=$(date +%s.%N)
	zr_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')
	zr_cpu=$T_cpu zr_rss=$T_rss
	# the stream rebuilt without zfs recv: where the restore's time goes
	sync; settle
	tv /tmp/zo zferry restore -s /tmp/zb -o /dev/null p1/fs@s2
	zo_wall=$T_wall zo_cpu=$T_cpu
	a=$(cd /mnt/p1/fs/.zfs/snapshot/s2 && sha256sum f* | sha256sum)
	b=$(cd /mnt/p2/zr && sha256sum f* | sha256sum)
	[ "$a" = "$b" ] && same=yes || same=NO
fi

# ---- the table ---------------------------------------------------------------
echo
echo "== results ($mb MiB, $nfiles files; change: $wbytes bytes = $(pcent "$wbytes" $((mb * 1048576))) of the data in $nwrites writes, seed $seed)"
echo "stream bytes: full 1 $bytes1, full 2 $bytes2, full 3 $bytes3"
echo "zfs send -i @s1 @s2 (the changed records, a floor for block-level dedup): $incr bytes = $(pcent "$incr" "$bytes2") of the stream"
echo
printf '%-32s %14s %10s %14s %10s\n' "repository growth" "full 2 bytes" "% stream" "full 3 bytes" "% stream"
row() {
	local p=$1 label=$2 g2 g3
	eval "g2=\${${p}2_grow:-} g3=\${${p}3_grow:-}"
	[ -n "$g2" ] || return 0
	if [ -n "$g3" ]; then g3p=$(pcent "$g3" "$bytes3" 3); else g3="-" g3p="(not run)"; fi
	printf '%-32s %14s %10s %14s %10s\n' "$label" "$g2" "$(pcent "$g2" "$bytes2")" "$g3" "$g3p"
}
row zb "zferry backup (full)"
row sm "zfs send | zferry store make"
row ca "casync make (stream file)"
row rs "restic backup --stdin"
row bg "borg create - (-e none)"
echo "targets: zferry backup full 2 <= 2%, full 3 < 0.1%"
has zferry && echo "zferry backup full 2 / the changed records (zfs send -i): $(ratio "$zb2_grow" "$incr")"
if has zferry; then
	echo "zferry backup new chunk bytes (uncompressed): full 2 $zb2_new (meta $zb2_newmeta of $zb2_meta), full 3 $zb3_new (meta $zb3_newmeta of $zb3_meta)"
	echo "  stream split: meta $zb2_meta + data $zb2_data bytes"
fi
echo
printf '%-44s %8s %8s %8s %10s\n' "throughput, full 1 into an empty store" "wall s" "cpu s" "MB/s" "peak RSS"
if has zferry; then
	printf '%-44s %8s %8s %8s %7s MiB\n' "zferry backup" "$zb1_wall" "$zb1_cpu" "$(mbs "$bytes1" "$zb1_wall")" $((zb1_rss / 1024))
fi
if has storemake; then
	printf '%-44s %8s %8s %8s %7s MiB\n' "zfs send | zferry store make" "$sm1_wall" "$sm1_cpu" "$(mbs "$bytes1" "$sm1_wall")" $((sm1_rss / 1024))
fi
if has zferry && has storemake; then
	echo "backup throughput / store make throughput:    $(ratio "$sm1_wall" "$zb1_wall")  (target >= 0.8; cpu $(ratio "$sm1_cpu" "$zb1_cpu"))"
fi
if has zferry; then
	echo "  (zferry backup's own 'seconds': full 1 $zb1_secs, full 2 $zb2_secs, full 3 $zb3_secs; wall full 2 $zb2_wall s, full 3 $zb3_wall s)"
fi
for p in ca rs bg; do
	eval "w=\${${p}1_wall:-}"
	[ -n "$w" ] || continue
	case $p in ca) l="casync make (file, for reference)" ;; rs) l="restic backup --stdin (reference)" ;; bg) l="borg create - (reference)" ;; esac
	printf '%-44s %8s %8s %8s\n' "$l" "$w" "" "$(mbs "$bytes1" "$w")"
done
if has zferry; then
	echo
	printf '%-44s %8s %8s\n' "restore of @s2 ($bytes2 bytes), incl. zpool sync" "wall s" "MB/s"
	printf '%-44s %8s %8s\n' "zfs recv < stream file" "$rv_wall" "$(mbs "$bytes2" "$rv_wall")"
	printf '%-44s %8s %8s   (cpu %s s, peak RSS %s MiB)\n' "zferry restore" "$zr_wall" "$(mbs "$bytes2" "$zr_wall")" "$zr_cpu" $((zr_rss / 1024))
	printf '%-44s %8s %8s   (cpu %s s)\n' "  zferry restore -o /dev/null (no zfs recv)" "$zo_wall" "$(mbs "$bytes2" "$zo_wall")" "$zo_cpu"
	echo "restore throughput / zfs recv throughput:     $(ratio "$rv_wall" "$zr_wall")  (target >= 0.9); restored files identical: $same"
	echo
	echo "peak RSS of zferry backup: $((rss_max / 1024)) MiB at $mb MiB (max of the 3 fulls: $((zb1_rss / 1024)), $((zb2_rss / 1024)), $((zb3_rss / 1024)) MiB; includes its zfs send child); target <= 128 MiB"
	[ "$mb" -ge 4096 ] || echo "  the 4 GiB figure was not run (BENCH_MB=4096 for it)"
fi
