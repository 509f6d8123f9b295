#!/usr/bin/env bash
# DESCRIPTION: issue 14 — zfs send streams backed up into a chunk store
#   (meta/data split, catalogue) and restored byte for byte, by chain
# STRATEGY:
#  1. Plain, -c -p (lz4 filesystem; a compound stream), -L -e (1 MiB records), -w (encrypted, key
#     unloaded at restore) and a zvol: each backed up in full, and
#     `restore -o FILE` gives exactly the bytes `zfs send` with the same
#     flags gives (cmp), judged against zfs itself, not zferry's report.
#  2. A chain: full, then two --incremental backups after ~1% of the data
#     changed; the second full-sized send adds little to the store
#     (--json new_bytes under 10% of the stream); `backup list --json`
#     shows the chain; restore into an empty pool gives every snapshot with
#     its guid and the same file checksums; a rerun receives nothing and
#     skips all three; a restore over an unrelated dataset is refused; one
#     onto a target changed since its snapshot fails with zfs recv's reason
#     and rolls nothing back.
#  3. A damaged data chunk (undecodable, or decoding to other bytes):
#     restore fails naming it, and the target does
#     not exist afterwards (nothing partial received); `-o FILE` leaves no
#     file.
#  4. kill -9 during a backup leaves no catalogue entry; the rerun commits
#     and restores byte-exact.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_create zb 512M
pool_create zr 256M     # the chain is restored into this empty pool
store=$TEST_TMP/store
Z() { "$ZFERRY" "$@"; }

fill() {	# DIR MIB: random files of 1 MiB
	local i
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		head -c 1048576 /dev/urandom >"$1/f$i"
	done
}

# ---- 1. every kind, byte-exact ---------------------------------------------
log_must zfs create zb/plain
log_must zfs create -o compression=lz4 zb/comp
log_must zfs create -o recordsize=1M zb/large
printf 'secretsecret\n' >"$TEST_TMP/key"
log_must zfs create -o encryption=on -o keyformat=passphrase -o pbkdf2iters=100000 \
	-o keylocation="file://$TEST_TMP/key" zb/enc
log_must zfs create -V 16M -o volblocksize=16k zb/vol
fill /mnt/zb/plain 12
fill /mnt/zb/large 4
# compressible: lz4 shrinks it, so -c really sends compressed blocks
for i in 1 2 3 4; do yes "zferry line $i" | head -c 2097152 >"/mnt/zb/comp/t$i"; done
fill /mnt/zb/enc 2
log_must dd if=/dev/urandom of="$(zvol_dev zb/vol)" bs=1M count=8 conv=fsync status=none
log_must zfs snapshot -r zb@k1
log_time "data written"

check_kind() {	# FS SEND-FLAGS...: back up FS@k1 with the flags, restore -o, cmp
	local fs=$1
	shift
	log_must Z backup -s "$store" --snapshot k1 "$@" "$fs"
	log_must Z restore -s "$store" -o "$TEST_TMP/out.zs" "$fs@k1"
	zfs send "$@" "$fs@k1" >"$TEST_TMP/ref.zs" || log_fail "zfs send $* $fs@k1"
	cmp "$TEST_TMP/out.zs" "$TEST_TMP/ref.zs" || log_fail "$fs ($*): restored stream differs"
	log_time "$fs ($*): $(stat -c %s "$TEST_TMP/ref.zs") bytes, identical"
}
check_kind zb/plain
check_kind zb/comp -c -p
check_kind zb/large -L -e
check_kind zb/enc -w
check_kind zb/vol

# a raw backup restores into an encrypted dataset whose key is not loaded
log_must Z restore -s "$store" -u zb/enc@k1 zb/enc-r
assert_eq "$(zfs get -H -o value keystatus zb/enc-r)" unavailable "keystatus of the raw restore"
assert_eq "$(guid zb/enc-r@k1)" "$(guid zb/enc@k1)" "guid of the raw restore"
log_must zfs load-key -L "file://$TEST_TMP/key" zb/enc-r
log_must zfs mount zb/enc-r
assert_eq "$(fs_checksum zb/enc-r)" "$(fs_checksum zb/enc)" "files of the raw restore"
# the zvol, by its blocks
log_must Z restore -s "$store" zb/vol@k1 zb/vol-r
cmp "$(zvol_dev zb/vol)" "$(zvol_dev zb/vol-r)" || log_fail "restored zvol differs"
log_time "kinds done"

# ---- 2. a chain --------------------------------------------------------------
change() {	# ~1% of zb/plain's blocks rewritten at random places
	local i
	for i in 1 2 3; do
		dd if=/dev/urandom of="/mnt/zb/plain/f$((RANDOM % 12 + 1))" bs=4k count=8 \
			seek=$((RANDOM % 200)) conv=notrunc status=none
	done
}
change
log_must zfs snapshot zb/plain@k2
log_must Z backup -s "$store" --snapshot k2 --incremental zb/plain
change
log_must zfs snapshot zb/plain@k3
capture_out Z backup -s "$store" --snapshot k3 --incremental --json zb/plain
assert_eq "$RC" 0 "incremental backup"
assert_contains "$OUT" '"base":"zb/plain@k2"'
# a second FULL of the same snapshot, under a new name: barely adds anything
log_must zfs snapshot zb/plain@k3b
capture_out Z backup -s "$store" --snapshot k3b --json zb/plain
assert_eq "$RC" 0 "second full backup"
sb=$(printf '%s' "$OUT" | python3 -c 'import json,sys; b=json.load(sys.stdin)["backups"][0]; print(b["stream_bytes"], b["new_bytes"], b["full"])')
log_note "second full: stream, new bytes, full = $sb"
read -r sbytes snew sfull <<<"$sb"
assert_eq "$sfull" True "second backup is a full"
[ "$snew" -lt $((sbytes / 10)) ] || log_fail "second full added $snew of $sbytes bytes"

capture_out Z backup list -s "$store" --json zb/plain
chain=$(printf '%s' "$OUT" | python3 -c '
import json,sys
for b in json.load(sys.stdin)["backups"]:
    print(b["snapshot"], b["base_snapshot"] or "-", b["guid"])')
printf '%s\n' "$chain"
assert_eq "$(printf '%s\n' "$chain" | cut -d' ' -f1,2 | tr '\n' ' ')" "k1 - k2 k1 k3 k2 k3b - " "catalogue of zb/plain"
assert_eq "$(printf '%s\n' "$chain" | awk '$1 == "k3" { print $3 }')" "$(guid zb/plain@k3)" "guid in the catalogue"

capture_out Z restore -s "$store" --json zb/plain@k3 zr/plain
assert_eq "$RC" 0 "restore of the chain"
assert_contains "$OUT" '"chain":3'
assert_contains "$OUT" '"received":3'
for s in k1 k2 k3; do
	assert_eq "$(guid zr/plain@$s)" "$(guid zb/plain@$s)" "guid of zr/plain@$s"
done
log_must zfs rollback zb/plain@k3b
assert_eq "$(fs_checksum zr/plain)" "$(fs_checksum zb/plain)" "files of the restored chain"
capture_out Z restore -s "$store" --json zb/plain@k3 zr/plain
assert_eq "$RC" 0 "restore rerun"
assert_contains "$OUT" '"received":0'
assert_contains "$OUT" '"skipped":3'
capture Z restore -s "$store" zb/plain@k3 zb/comp
assert_eq "$RC" 1 "restore over an unrelated dataset"
assert_contains "$OUT" "never overwrites"
# a target changed since its last snapshot: zfs recv refuses the next
# incremental (no -F: zferry never rolls back), and the error is zfs's reason
log_must Z restore -s "$store" zb/plain@k2 zr/p2
echo local >/mnt/zr/p2/local-change
log_must zpool sync zr
capture Z restore -s "$store" zb/plain@k3 zr/p2
assert_eq "$RC" 1 "restore onto a modified target"
assert_contains "$OUT" "modified"
assert_not_contains "$OUT" "Broken pipe" "the reason zfs recv refused"
assert_eq "$(zfs list -H -t snapshot -o name -d 1 zr/p2 | tr '\n' ' ')" \
	"zr/p2@k1 zr/p2@k2 " "snapshots of zr/p2"
[ -e /mnt/zr/p2/local-change ] || log_fail "the target's own change was rolled back"
log_time "chain done"

# ---- 3. a damaged chunk -------------------------------------------------------
data_index=$(cat "$store"/catalogue/zb%2Fplain/*.json | python3 -c '
import json,sys
for line in sys.stdin:
    e = json.loads(line)
    if e["snapshot"] == "k1": print(e["data_index"])')
chunk=$(Z store list-chunks "$store/index/$data_index.caibx" | sed -n 3p | awk '{print $NF}')
[ -n "$chunk" ] || log_fail "no chunk found in the data index"
f=$store/${chunk:0:4}/$chunk.cacnk
cp "$f" "$TEST_TMP/good.cacnk"
printf 'XXXXXXXX' | dd of="$f" bs=1 seek=20 conv=notrunc status=none
# refused_restore WHAT: restore and restore -o of zb/plain@k1 fail naming
# $chunk, leaving no dataset and no file behind
refused_restore() {
	capture Z restore -s "$store" zb/plain@k1 zb/plain-bad
	assert_eq "$RC" 1 "restore with $1"
	assert_contains "$OUT" "$chunk"
	zfs list zb/plain-bad >/dev/null 2>&1 && log_fail "a partial restore was left in zb/plain-bad"
	capture Z restore -s "$store" -o "$TEST_TMP/bad.zs" zb/plain@k1
	assert_eq "$RC" 1 "restore -o with $1"
	assert_contains "$OUT" "$chunk"
	[ ! -e "$TEST_TMP/bad.zs" ] || log_fail "restore -o left a file"
}
refused_restore "a damaged chunk"
# a chunk that decodes well, to other bytes of the same length: only the
# stream's digest sees it, and then the chunk is named all the same
zstd -q -d -c "$TEST_TMP/good.cacnk" >"$TEST_TMP/plain" || log_fail "zstd -d"
python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read())
b[100] ^= 0x5a; open(p, "wb").write(b)' "$TEST_TMP/plain"
zstd -q -c "$TEST_TMP/plain" >"$f" || log_fail "zstd"
refused_restore "a chunk of other content"
cp "$TEST_TMP/good.cacnk" "$f"
log_time "damage done"

# ---- 4. kill -9 during a backup, then the rerun ------------------------------------
log_must zfs create zb/big
fill /mnt/zb/big 32
log_must zfs snapshot zb/big@b1
Z backup -s "$store" --snapshot b1 -j 1 zb/big &
pid=$!
before=$(find "$store" -name '*.cacnk' | wc -l)
for i in $(seq 1 600); do
	now=$(find "$store" -name '*.cacnk' | wc -l)
	[ "$now" -gt $((before + 20)) ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
kill -9 "$pid" 2>/dev/null || log_fail "the backup ended before it could be killed"
wait "$pid" 2>/dev/null
log_note "killed after $((now - before)) new chunks"
[ ! -d "$store/catalogue/zb%2Fbig" ] || [ -z "$(ls "$store/catalogue/zb%2Fbig")" ] ||
	log_fail "a killed backup left a catalogue entry: $(ls "$store/catalogue/zb%2Fbig")"
capture_out Z backup -s "$store" --snapshot b1 --json zb/big
assert_eq "$RC" 0 "rerun after kill -9"
log_must Z restore -s "$store" -o "$TEST_TMP/out.zs" zb/big@b1
zfs send zb/big@b1 | cmp - "$TEST_TMP/out.zs" || log_fail "zb/big: restored stream differs"
# a reader that stops early: one line, naming the backup once
Z restore -s "$store" -o - zb/big@b1 2>"$TEST_TMP/cut.err" | head -c 1000 >/dev/null
rc=${PIPESTATUS[0]}
assert_eq "$rc" 1 "restore -o - into a reader that stopped"
assert_contains "$(cat "$TEST_TMP/cut.err")" \
	"backup 'zb/big@b1': the receiving side stopped reading"
assert_eq "$(wc -l <"$TEST_TMP/cut.err") $(grep -o 'zb/big@b1' "$TEST_TMP/cut.err" | wc -l)" \
	"1 1" "lines of the message, and times it names the backup"
log_pass
