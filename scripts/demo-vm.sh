# scripts/demo-vm.sh — runs inside the test VM (see scripts/demo); zferry is in PATH.
set -euo pipefail
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "== zferry $(zferry --version | cut -d' ' -f2) on $(zfs version | head -n1), kernel $(uname -r)"
truncate -s 512M /tmp/tank.img /tmp/backup.img
zpool create -f -O mountpoint=/mnt/tank tank /tmp/tank.img
zpool create -f -O mountpoint=/mnt/backup backup /tmp/backup.img
for fs in "tank/home" "tank/home/alice" "tank/home/bob smith" "tank/db"; do
	zfs create "$fs"
done
head -c 4M /dev/urandom >/mnt/tank/home/alice/photo.raw
zfs snapshot -r tank@monday
echo "new" >"/mnt/tank/home/bob smith/notes.txt"
zfs snapshot -r tank@tuesday
zfs bookmark tank/db@monday 'tank/db#monday'
zfs hold keep tank/home/alice@monday

step zferry list -r tank
step zferry list -t filesystem -r tank backup
step zferry list --json tank/home/alice
printf '\n\033[1m$ zferry list tank/nosuch  # errors keep zfs'"'"'s words\033[0m\n'
zferry list tank/nosuch || echo "(exit status $?)"
printf '\n\033[1m$ zferry list "tank/x;reboot"  # names are data, never code\033[0m\n'
zferry list "tank/x;reboot" || echo "(exit status $?)"

# snapshots, pruning, replication between pools
step zferry snapshot -r tank/home
step zferry replicate -r --no-progress tank/home backup/home
echo "more" >>"/mnt/tank/home/bob smith/notes.txt"
step zferry replicate -r --no-progress tank/home backup/home
step zferry prune -r --keep 'last_n:1' --dry-run tank/home

# replication to another host's zferry serve over TLS (here: loopback)
w=$(mktemp -d)
"$(dirname "$0")/make-certs" "$w" server laptop
zfs create -p backup/clients/laptop
cat >"$w/zferry.yml" <<CFG
serve:
  tls: { ca: $w/ca.pem, cert: $w/server.pem, key: $w/server.key }
  clients:
    - identity: laptop
      write: [backup/clients/laptop]
CFG
step zferry config check -c "$w/zferry.yml"
zferry serve -c "$w/zferry.yml" --listen tls://127.0.0.1:0 2>"$w/serve.log" &
serve=$!
for _ in $(seq 50); do
	port=$(sed -n 's/.*listening on tls:\/\/.*:\([0-9]*\)$/\1/p' "$w/serve.log")
	[ -n "$port" ] && break
	sleep 0.1
done
tls=(--tls-ca "$w/ca.pem" --tls-cert "$w/laptop.pem" --tls-key "$w/laptop.key")
step zferry replicate -r --no-progress "${tls[@]}" tank/home "tls://127.0.0.1:$port/backup/clients/laptop/home"
printf '\n\033[1m$ zferry replicate ... tank/db tls://127.0.0.1:%s/backup/db  # outside the grant\033[0m\n' "$port"
zferry replicate --no-progress "${tls[@]}" tank/db "tls://127.0.0.1:$port/backup/db" || echo "(exit status $?)"
kill $serve
step zferry list -t filesystem -r backup

# a deduplicated chunk store from zfs send streams
step sh -c 'zfs send tank/home/alice@monday | zferry store make -s /tmp/store /tmp/monday.caibx -'
step sh -c 'zfs send tank/home/alice@tuesday | zferry store make -s /tmp/store /tmp/tuesday.caibx -'
step zferry store info -s /tmp/store /tmp/monday.caibx /tmp/tuesday.caibx
step sh -c 'zferry store extract -s /tmp/store /tmp/tuesday.caibx - | zfs recv backup/alice-restored'
step zferry store verify -s /tmp/store
