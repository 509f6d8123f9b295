#!/usr/bin/env bash
# DESCRIPTION: every dataset kind replicates — filesystem (xattr=sa, a sparse
#   file), zvol, clone of an origin in the tree, encrypted (raw), recordsize=1M,
#   user properties, many snapshots — full, incremental, resumed after kill -9
#   and pulled over tls; then the send modes --large-block, --compressed,
#   --embed, --props and --decrypt
# STRATEGY:
#  1. One source tree holds one of each kind.  After every run the target is
#     judged by zfs and by the data, never by zferry's report: snapshot guids
#     of every snapshot, file checksums of each filesystem (the encrypted one
#     after loading its key on the target), the zvol's bytes through its
#     device, xattrs, the sparse file's allocation, the clone's origin.
#  2. Full, then incremental after writes to every kind, then an incremental
#     killed with kill -9 during a big file's transfer and resumed, then a
#     pull of the tree over tls (but the many snapshots, and the big file
#     with them: each received snapshot costs a txg, and those are slow in
#     the VM).
#  3. The same tree (but the many snapshots) with --large-block --compressed
#     --embed --props: 1 MiB records and user properties arrive, the flags
#     are recorded.
#  4. --decrypt: plaintext on the target, the chain then needs --decrypt;
#     with the source's key unloaded it is refused with zfs's reason.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"

pool_create zs1 1G
pool_create zs2 1536M
echo passphrase123 >"$TEST_TMP/key"

# ---- the source tree --------------------------------------------------------
log_must zfs create -o compression=off zs1/m
log_must zfs create -o xattr=sa zs1/m/fs
log_must dd if=/dev/urandom of=/mnt/zs1/m/fs/f bs=64k count=16 status=none
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.zf", b"sa-xattr")' /mnt/zs1/m/fs/f ||
	log_fail "setxattr"
# sparse: 16 MiB apparent, 1 MiB written in the middle (each check hashes
# all 16 on both sides)
log_must truncate -s 16M /mnt/zs1/m/fs/sparse
log_must dd if=/dev/urandom of=/mnt/zs1/m/fs/sparse bs=1M count=1 seek=8 conv=notrunc status=none
log_must zfs set zferry:color=blue zs1/m/fs
log_must zfs snapshot zs1/m/fs@origin
log_must zfs clone zs1/m/fs@origin zs1/m/clone
log_must dd if=/dev/urandom of=/mnt/zs1/m/clone/own bs=64k count=4 status=none
log_must zfs create -V 24M -o volblocksize=16k zs1/m/vol
log_must zfs create -o recordsize=1M zs1/m/big
log_must dd if=/dev/urandom of=/mnt/zs1/m/big/f bs=1M count=4 status=none
# pbkdf2iters at zfs's minimum: each load-key derives the key again, and the
# default 350 000 rounds take ~4.5 s in the VM, 100 000 ~1.5 s (raw replicas
# keep the source's rounds)
log_must zfs create -o encryption=on -o keyformat=passphrase -o pbkdf2iters=100000 \
	-o keylocation="file://$TEST_TMP/key" zs1/m/enc
log_must zfs create zs1/m/enc/child
echo secret >/mnt/zs1/m/enc/f
echo child-secret >/mnt/zs1/m/enc/child/f
# many snapshots: each zfs snapshot and each received snapshot is a txg of
# its own (zfs takes one snapshot of a filesystem per txg), about half a
# second under the VM's emulation, so CI makes 50;
# ZFERRY_TEST_MANY_SNAPSHOTS=1000 for the full case
many=${ZFERRY_TEST_MANY_SNAPSHOTS:-50}
log_must zfs create zs1/m/many
for i in $(seq 1 "$many"); do
	[ $((i % 10)) = 1 ] && echo "$i" >/mnt/zs1/m/many/f
	zfs snapshot "$(printf 'zs1/m/many@s%04d' "$i")" || log_fail "snapshot $i of zs1/m/many"
done
log_time "$many snapshots of zs1/m/many made"

vol_write()	# SEEK_MIB COUNT_MIB
{
	log_must dd if=/dev/urandom of="$(zvol_dev zs1/m/vol)" bs=1M seek="$1" count="$2" \
		oflag=direct conv=notrunc status=none
}
vol_write 0 4
log_must zfs snapshot -r zs1/m@s1

# every snapshot of SRC's tree has its guid under DST; one line per snapshot
tree_guids() { zfs list -Hp -r -t snapshot -o name,guid "$1" | sed "s|^$1|.|" | sort; }

# A replica DST of the tree zs1/m agrees with zs1/m on every kind (but
# zs1/m/many with --no-many: runs that leave it out to save time).  Raw-received
# encrypted filesystems are checked after loading their key on DST.
check_tree()	# DST [--no-many]
{
	local dst=$1 fs many_fs=/many
	local want got missing
	log_time "checking $dst"
	[ "${2:-}" = --no-many ] && many_fs=
	# the target may keep sync snapshots the source has since let go
	want=$(tree_guids zs1/m)
	[ -n "$many_fs" ] || want=$(printf '%s\n' "$want" | grep -v '^\./many@')
	got=$(tree_guids "$dst")
	missing=$(comm -23 <(echo "$want") <(echo "$got"))
	[ -z "$missing" ] || { echo "$missing" | head -20;
		log_fail "$dst: snapshots of zs1/m missing or with another guid"; }
	for fs in "" /fs /clone /big $many_fs; do
		zfs mount "$dst$fs" 2>/dev/null
		assert_eq "$(fs_checksum "$dst$fs")" "$(fs_checksum "zs1/m$fs")" "content of $dst$fs"
	done
	log_time "$dst: guids and contents checked"
	assert_eq "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.zf").decode())' \
		"$(zfs get -H -o value mountpoint "$dst/fs")/f")" sa-xattr "xattr on $dst/fs/f"
	local alloc
	alloc=$(du -k "$(zfs get -H -o value mountpoint "$dst/fs")/sparse" | cut -f1)
	[ "$alloc" -lt 8192 ] || log_fail "$dst/fs/sparse takes $alloc KiB: holes were filled"
	assert_eq "$(zfs get -H -o value origin "$dst/clone")" "$dst/fs@origin" "$dst/clone is a clone"
	assert_eq "$(zfs get -H -o value type "$dst/vol")" volume "$dst/vol type"
	assert_eq "$(sha256sum <"$(zvol_dev "$dst/vol")" | cut -d' ' -f1)" \
		"$(sha256sum <"$(zvol_dev zs1/m/vol)" | cut -d' ' -f1)" "bytes of $dst/vol"
	assert_eq "$(zfs get -H -o value canmount "$dst/fs")" noauto "canmount of $dst/fs"
	assert_eq "$(zfs get -H -o value readonly "$dst/fs")" on "readonly of $dst/fs"
	[ -z "$many_fs" ] ||
		assert_eq "$(zfs list -H -t snapshot -o name -d 1 "$dst/many" | wc -l)" \
			"$(zfs list -H -t snapshot -o name -d 1 zs1/m/many | wc -l)" "snapshots of $dst/many"
	log_time "$dst: xattr, holes, clone and zvol checked"
	# raw: ciphertext without its key, each filesystem its own encryption root
	assert_eq "$(zfs get -H -o value encryption "$dst/enc")" aes-256-gcm "$dst/enc encryption"
	assert_eq "$(zfs get -H -o value keystatus "$dst/enc")" unavailable "$dst/enc key"
	assert_eq "$(zfs get -H -o value keylocation "$dst/enc")" "$keylocation" "$dst/enc keylocation"
	for fs in /enc /enc/child; do
		assert_eq "$(zfs get -H -o value encryptionroot "$dst$fs")" "$dst$fs" \
			"encryption root of $dst$fs"
		log_must zfs load-key -L "file://$TEST_TMP/key" "$dst$fs"
		zfs mount "$dst$fs" 2>/dev/null
		assert_eq "$(fs_checksum "$dst$fs")" "$(fs_checksum "zs1/m$fs")" "content of $dst$fs"
	done
	log_must zfs unmount "$dst/enc/child"
	log_must zfs unmount "$dst/enc"
	log_must zfs unload-key "$dst/enc/child"
	log_must zfs unload-key "$dst/enc"
	for fs in $many_fs /big /clone /fs ""; do zfs unmount "$dst$fs" 2>/dev/null; done
	log_time "$dst checked"
	return 0
}

keylocation=prompt      # what check_tree expects on a raw replica

# ---- 1. full ------------------------------------------------------------------
log_time "1. full"
log_must "$ZFERRY" replicate -r --no-progress zs1/m zs2/m
check_tree zs2/m
assert_eq "$(zfs get -H -o value zferry:color zs2/m/fs)" - "user property without --props"

# ---- 2. incremental after writes to every kind -----------------------------------
log_time "2. incremental"
dd if=/dev/urandom of=/mnt/zs1/m/fs/g bs=64k count=8 status=none
dd if=/dev/urandom of=/mnt/zs1/m/clone/own bs=64k count=2 conv=notrunc status=none
dd if=/dev/urandom of=/mnt/zs1/m/big/f bs=1M count=1 seek=2 conv=notrunc status=none
echo more >>/mnt/zs1/m/enc/f
echo more >>/mnt/zs1/m/enc/child/f
vol_write 8 2
log_must zfs snapshot zs1/m/many@more1
log_must zfs snapshot zs1/m/many@more2
capture_out "$ZFERRY" replicate -r --json --no-progress zs1/m zs2/m
assert_eq "$RC" 0 "incremental run"
for fs in fs clone big enc enc/child vol many; do
	a=$(python3 -c 'import json,sys; print([f["action"] for f in json.loads(sys.argv[1])["filesystems"]
		if f["target"] == sys.argv[2]][0])' "$OUT" "zs2/m/$fs")
	assert_eq "$a" incremental "action for zs2/m/$fs"
done
check_tree zs2/m

# ---- 3. killed with kill -9 during an incremental, resumed ------------------------
log_time "3. kill -9 and resume"
# the big file goes into zs1/m/many, which the runs below (4 and 5) leave
# out: they need not carry it.  --bwlimit makes the transfer last seconds
# on any machine, so the kill comes mid-stream
log_must dd if=/dev/urandom of=/mnt/zs1/m/many/huge bs=1M count=96 status=none
"$ZFERRY" replicate -r --no-progress --bwlimit 16M zs1/m zs2/m >/dev/null 2>&1 &
kill9_during_recv $! zs2/m/many
[ "$(zfs get -H -o value receive_resume_token zs2/m/many)" != - ] || log_fail "no resume token after kill -9"
capture_out "$ZFERRY" replicate -r --json --no-progress zs1/m zs2/m
assert_eq "$RC" 0 "run after kill -9"
sent=$(python3 -c 'import json,sys; print([f["bytes"] for f in json.loads(sys.argv[1])["filesystems"]
	if f["target"] == "zs2/m/many"][0])' "$OUT")
[ "$sent" -lt $((92 << 20)) ] || log_fail "the resumed transfer sent $sent bytes: not resumed"
assert_eq "$(zfs get -H -o value receive_resume_token zs2/m/many)" - "token after the resume"
# zferry's sync snapshots are in the tree now; compare at the same point
check_tree zs2/m
assert_eq "$(zfs list -Hp -r -t snapshot -o userrefs zs1/m | sort -u)" 0 "holds left on the sender"

# ---- 4. pulled over tls -----------------------------------------------------------
log_time "4. pull over tls"
certs_make
cat >"$TEST_TMP/zferry.yml" <<CFG
serve:
  tls:
    ca: $CERTS/ca.pem
    cert: $CERTS/server.pem
    key: $CERTS/server.key
  clients:
    - identity: laptop
      read: [zs1/m]
CFG
serve_start "$TEST_TMP/zferry.yml" tls://127.0.0.1:0
mapfile -t tls < <(tls_opts laptop)
log_must "$ZFERRY" replicate -r --no-progress --exclude '/many$' "${tls[@]}" \
	"tls://127.0.0.1:$SERVE_PORT/zs1/m" zs2/pull
dd if=/dev/urandom of=/mnt/zs1/m/fs/g bs=64k count=8 status=none
vol_write 12 1
log_must zfs snapshot -r zs1/m@s2
log_must "$ZFERRY" replicate -r --no-progress --no-sync-snap --exclude '/many$' "${tls[@]}" \
	"tls://127.0.0.1:$SERVE_PORT/zs1/m" zs2/pull
check_tree zs2/pull --no-many
serve_stop

# ---- 5. --large-block --compressed --embed --props --------------------------------
log_time "5. send modes"
log_must zfs destroy -r zs2/pull
log_must zfs set compression=lz4 zs1/m/big
printf 'tiny' >/mnt/zs1/m/big/embedded
log_must zfs snapshot -r zs1/m@s3
modes=(--no-sync-snap --large-block --compressed --embed --props --exclude '/many$')
log_must "$ZFERRY" replicate -r --no-progress "${modes[@]}" zs1/m zs2/opt
log_must zfs snapshot -r zs1/m@s4
capture_out "$ZFERRY" replicate -r --json --no-progress "${modes[@]}" zs1/m zs2/opt
assert_eq "$RC" 0 "incremental with send modes"
assert_contains "$OUT" '"incremental"'
# --props from this host keeps the source's keylocation (the receive
# policy of a local source drops only mountpoint and sharing)
keylocation=file://$TEST_TMP/key
check_tree zs2/opt --no-many
assert_eq "$(zfs get -H -o value zferry:color zs2/opt/fs)" blue "user property with --props"
assert_eq "$(zfs get -H -o source zferry:color zs2/opt/fs)" received "its source"
assert_eq "$(zfs get -H -o value recordsize zs2/opt/big)" 1M "recordsize with --props"
log_must zfs mount zs2/opt/big
# st_blksize is a ZFS file's block size: 1 MiB records kept whole with -L
assert_eq "$(stat -c %o /mnt/zs2/opt/big/f)" 1048576 "record size of zs2/opt/big/f"
log_must zfs unmount zs2/opt/big
flags=$(zfs get -H -o value zferry:sendflags zs2/opt/big)
for f in L c e; do assert_contains "$flags" "$f" "zferry:sendflags '$flags'"; done
# without -L the same file arrives in 128 KiB records (zs2/m, full above)
log_must zfs mount zs2/m/big
assert_eq "$(stat -c %o /mnt/zs2/m/big/f)" 131072 "record size without --large-block"
log_must zfs unmount zs2/m/big

# ---- 6. --decrypt --------------------------------------------------------------------
log_time "6. --decrypt"
log_must "$ZFERRY" replicate -r --no-progress --decrypt zs1/m/enc zs2/plain
assert_eq "$(zfs get -H -o value encryption zs2/plain)" off "encryption after --decrypt"
for fs in "" /child; do
	log_must zfs mount "zs2/plain$fs"
	assert_eq "$(fs_checksum "zs2/plain$fs")" "$(fs_checksum "zs1/m/enc$fs")" "plaintext of zs2/plain$fs"
done
echo again >>/mnt/zs1/m/enc/f
log_must zfs snapshot -r zs1/m/enc@s5
before=$(tree_guids zs2/plain)
capture "$ZFERRY" replicate -r --no-progress --no-sync-snap zs1/m/enc zs2/plain
assert_eq "$RC" 1 "a plaintext chain without --decrypt"
assert_contains "$OUT" "--decrypt"
assert_eq "$(tree_guids zs2/plain)" "$before" "target after the refused run"
log_must "$ZFERRY" replicate -r --no-progress --no-sync-snap --decrypt zs1/m/enc zs2/plain
assert_eq "$(guid zs2/plain@s5)" "$(guid zs1/m/enc@s5)" "incremental --decrypt"
# the source's key unloaded: zfs's reason, one filesystem failed, nothing received
log_must zfs unmount zs1/m/enc/child
log_must zfs unmount zs1/m/enc
log_must zfs unload-key zs1/m/enc
capture "$ZFERRY" replicate --no-progress --no-sync-snap --decrypt zs1/m/enc zs2/plain2
assert_eq "$RC" 1 "--decrypt without the key"
assert_contains "$OUT" "key"
capture zfs list -H -o name zs2/plain2
assert_eq "$RC" 1 "nothing received without the key"
log_must zfs load-key zs1/m/enc
log_pass
