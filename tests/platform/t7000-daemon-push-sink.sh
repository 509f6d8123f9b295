#!/usr/bin/env bash
# DESCRIPTION: issue 13 — two daemons, a source host's push job and a backup
#   host's append-only sink over tls on loopback, replicate and prune; what
#   status says is what zfs says
# STRATEGY:
#  1. Backup daemon: a sink for tls:laptop under zs2/backup (keep last_n:4),
#     served by its own listener.  Source daemon: a push job zs1/data to the
#     sink (keep_sender last_n:3), woken up by `zferry signal`.
#  2. After each run: the target has every snapshot the source has, with its
#     guid; status --json's snapshot count, newest snapshot, target's newest
#     and lag equal what zfs list -p says; /metrics says the same.
#  3. Five runs: the sender keeps 3 zferry snapshots; the sink's own keep run
#     leaves 4 on the target, the newest common one among them.
#  3b. A pull job on the source host takes the backup back from a source job
#     of the backup host: same snapshots and content.
#  4. The sink's client, acting as an attacker with --force-rollback of an
#     unrelated source onto its backups, is refused; nothing on zs2 changes.
#  5. On 2-second schedules both run by themselves; SIGHUP with a broken
#     config is refused and the jobs go on; a run longer than the interval is
#     never overlapped by the next (the log's started/ended lines alternate).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$(dirname "$0")/../lib/remote-lib.sh"
. "$(dirname "$0")/../lib/daemon-lib.sh"

certs_make
pool_create zs1 512M
pool_create zs2 512M
log_must zfs create -o compression=off zs1/data
log_must zfs create zs2/backup
log_must zfs create zs2/backup/laptop      # the admin makes each client's root
log_must dd if=/dev/urandom of=/mnt/zs1/data/f0 bs=1M count=2 status=none
HTTP_B=$((20000 + RANDOM % 10000))
HTTP_S=$((HTTP_B + 1))

# ---- 1. the backup host ------------------------------------------------------
mkdir -p "$TEST_TMP/backup" "$TEST_TMP/source"
cat >"$TEST_TMP/backup.yml" <<CFG
serve:
  tls: { ca: $CERTS/ca.pem, cert: $CERTS/server.pem, key: $CERTS/server.key }
daemon:
  control: $TEST_TMP/backup/control
  state_dir: $TEST_TMP/backup/state
  listen: [ "tls://127.0.0.1:0" ]
  http_listen: "127.0.0.1:$HTTP_B"
jobs:
  - name: laptops
    type: sink
    root_fs: zs2/backup
    clients: [ "tls:laptop" ]
    keep: "last_n:4"
    schedule: 1h
  - name: give-back
    type: source
    filesystems: [ zs2/backup/laptop ]
    clients: [ "tls:laptop" ]
CFG
log_must "$ZFERRY" config check -q -c "$TEST_TMP/backup.yml"
daemon_start backup "$TEST_TMP/backup.yml"
PORT=$(daemon_listen_port backup)
TARGET=zs2/backup/laptop/data

target_checksum()	# the target's content, mounted for the moment
{
	log_must zfs mount $TARGET >&2
	fs_checksum $TARGET
	log_must zfs unmount $TARGET >&2
}

source_cfg()	# SCHEDULE
{
	cat >"$TEST_TMP/source.yml" <<CFG
daemon:
  control: $TEST_TMP/source/control
  state_dir: $TEST_TMP/source/state
  http_listen: "127.0.0.1:$HTTP_S"
  stop_timeout: 10
jobs:
  - name: push
    type: push
    source: zs1/data
    target: tls://127.0.0.1:$PORT/$TARGET
    tls: { ca: $CERTS/ca.pem, cert: $CERTS/laptop.pem, key: $CERTS/laptop.key }
    schedule: $1
    keep_sender: "last_n:3"
  - name: restore
    type: pull
    source: tls://127.0.0.1:$PORT/$TARGET
    target: zs1/restore
    tls: { ca: $CERTS/ca.pem, cert: $CERTS/laptop.pem, key: $CERTS/laptop.key }
    schedule: 1h
CFG
}
source_cfg 1h
log_must "$ZFERRY" config check -q -c "$TEST_TMP/source.yml"
daemon_start source "$TEST_TMP/source.yml"

# ---- 2. status and metrics against zfs ----------------------------------------
check_status()	# what
{
	local n newest tnewest
	n=$(zfs list -H -t snapshot -o name -d 1 zs1/data | wc -l)
	newest=$(zfs list -Hp -t snapshot -o creation -s creation -d 1 zs1/data | tail -n1)
	tnewest=$(zfs list -Hp -t snapshot -o creation -s creation -d 1 $TARGET | tail -n1)
	assert_eq "$(djson source "fs('push','zs1/data')['snapshots']")" "$n" "$1: snapshot count"
	assert_eq "$(djson source "fs('push','zs1/data')['last_snapshot']")" "$newest" "$1: newest"
	assert_eq "$(djson source "fs('push','zs1/data')['target_newest']")" "$tnewest" "$1: target's newest"
	assert_eq "$(djson source "fs('push','zs1/data')['lag']")" "$((newest - tnewest))" "$1: lag"
	assert_eq "$(djson source "fs('push','zs1/data')['target']")" "$TARGET" "$1: target"
	if command -v curl >/dev/null; then
		curl -sf "http://127.0.0.1:$HTTP_S/metrics" >"$TEST_TMP/metrics" ||
			log_fail "$1: no /metrics"
		assert_contains "$(cat "$TEST_TMP/metrics")" \
			"zferry_snapshots{job=\"push\",dataset=\"zs1/data\"} $n" "$1: metrics"
		assert_contains "$(cat "$TEST_TMP/metrics")" \
			"zferry_replication_lag_seconds{job=\"push\",dataset=\"zs1/data\",target=\"$TARGET\"} $((newest - tnewest))" \
			"$1: lag metric"
	fi
}

for i in 1 2 3 4 5; do
	log_must dd if=/dev/urandom of=/mnt/zs1/data/f$i bs=1M count=1 status=none
	drun source push
	assert_eq "$DRESULT" ok "push run $i"
	assert_has_snaps $TARGET zs1/data "run $i"
	check_status "run $i"
	sleep 1         # snapshot names have a resolution of one second
done
assert_eq "$(zfs list -H -t snapshot -o name -d 1 zs1/data | grep -c @zferry_)" 3 \
	"sender snapshots after keep_sender last_n:3"
[ "$(zfs list -H -t snapshot -o name -d 1 $TARGET | wc -l)" -ge 5 ] ||
	log_fail "the push job pruned the append-only sink"
drun backup laptops
assert_eq "$DRESULT" ok "sink keep run"
assert_eq "$(zfs list -H -t snapshot -o name -d 1 $TARGET | wc -l)" 4 "sink after keep last_n:4"
assert_has_snaps $TARGET zs1/data "after the sink's keep run"
assert_eq "$(target_checksum)" "$(fs_checksum zs1/data)" "content"
assert_eq "$(djson backup "fs('laptops','$TARGET')['snapshots']")" 4 "sink status count"

# ---- 3b. a pull job takes it back from the backup host's source job ----------------
drun source restore
assert_eq "$DRESULT" ok "pull run"
assert_has_snaps zs1/restore $TARGET "pulled back"
log_must zfs mount zs1/restore
assert_eq "$(fs_checksum zs1/restore)" "$(fs_checksum zs1/data)" "pulled content"
log_must zfs unmount zs1/restore
assert_eq "$(djson source "fs('restore','$TARGET')['target']")" zs1/restore "pull status target"

# ---- 4. the sink's client as an attacker ------------------------------------------
before=$(zfs list -Hp -t all -o name,guid -r zs2 | sort)
log_must zfs create zs1/evil
log_must zfs snapshot zs1/evil@x
capture "$ZFERRY" replicate --no-sync-snap --force-rollback $(tls_opts laptop) zs1/evil \
	tls://127.0.0.1:$PORT/$TARGET
[ "$RC" != 0 ] || log_fail "a forced overwrite of the sink succeeded: $OUT"
capture "$ZFERRY" replicate --no-sync-snap --force-rollback $(tls_opts laptop) zs1/evil \
	tls://127.0.0.1:$PORT/zs2/backup/laptop
[ "$RC" != 0 ] || log_fail "a forced overwrite of the sink's parent succeeded: $OUT"
assert_eq "$(zfs list -Hp -t all -o name,guid -r zs2 | sort)" "$before" "zs2 after the attack"

# ---- 5. schedules, reload, no overlap ------------------------------------------------
ok_runs=$(djson source "job('push')['runs']['ok']")
source_cfg 2s
kill -HUP $DAEMON_PID_source
dwait 60 source "job('push')['runs']['ok'] >= $ok_runs + 2"
log_note "runs on a 2 s schedule: $(djson source "job('push')['runs']")"
# a broken config is refused, the running jobs go on
cp "$TEST_TMP/source.yml" "$TEST_TMP/source.good"
printf 'jobs: [ {name: push, type: push\n' >"$TEST_TMP/source.yml"
kill -HUP $DAEMON_PID_source
for i in $(seq 1 50); do grep -q "reload refused" "$TEST_TMP/source.log" && break; sleep 0.2; done
assert_contains "$(cat "$TEST_TMP/source.log")" "reload refused" "bad config on SIGHUP"
ok_runs=$(djson source "job('push')['runs']['ok']")
dwait 60 source "job('push')['runs']['ok'] >= $ok_runs + 1"
# a run longer than the 2 s interval: 32 MiB to send
log_must dd if=/dev/urandom of=/mnt/zs1/data/big bs=1M count=32 status=none
ok_runs=$(djson source "job('push')['runs']['ok']")
dwait 180 source "job('push')['runs']['ok'] >= $ok_runs + 2"
awk '/job push: run (started|ended)/ { s = ($0 ~ /started/) ? "started" : "ended";
	if (s == last) { print "twice " s ": " $0; bad = 1 } last = s }
	END { exit bad }' "$TEST_TMP/source.log" || log_fail "a run of push overlapped another"
long=$(djson source "max(r['seconds'] for r in job('push')['history'])")
log_note "longest run ${long} s on a 2 s schedule"
source_cfg 1h
kill -HUP $DAEMON_PID_source
dwait 120 source "job('push')['schedule'] == '1h' and job('push')['state'] == 'idle'"
drun source push
assert_eq "$DRESULT" ok "last run"
assert_eq "$(target_checksum)" "$(fs_checksum zs1/data)" "content after scheduled runs"
kill -TERM $DAEMON_PID_source
wait $DAEMON_PID_source
assert_eq "$?" 0 "source daemon's exit status after SIGTERM"
log_pass "two daemons push to an append-only sink, status matches zfs"
