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
