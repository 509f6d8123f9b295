#!/usr/bin/env python3
# tests/faults/driver.py — the fault campaign, run as root inside the test VM
# (tests/faults/run starts it; see tests/faults/README.md).
#
# usage: driver.py --zferry PATH --logdir DIR [--count N] [--seed S] [--kind K]...
#
# Two file-backed pools in /tmp: fsrc holds the source tree fsrc/src (nested,
# one name with a space), fdst holds two targets: fdst/local (local replicate)
# and fdst/rem (push to a `zferry serve` on loopback over tcp:// or tls://).
# Each round writes some random data to the source, records the state of
# both pools, injects one fault chosen by the seeded PRNG, then checks:
#   1. nothing on the source is lost: every snapshot still there with its guid
#      (unless the fault itself destroyed it on purpose, or zferry destroyed
#      one of its own obsolete sync snapshots), live file contents unchanged;
#   2. the target kept its old state or became resumable: every snapshot it
#      had is still there with its guid, every new one is a source snapshot;
#   3. plain reruns (at most 3) succeed, and then the target has every source
#      filesystem, the same guid for every snapshot name both sides have, the
#      newest source snapshot with the same content, and nothing stray: no
#      zferry hold on the source, no receive_resume_token, no %recv dataset,
#      no more than one sync snapshot per filesystem and target, no zfs
#      send/recv process left running.
# Prints one line per fault, a table by kind and "faults: N passed, N failed";
# exits 1 if any fault failed.
import argparse
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time

SRC = "fsrc/src"
TARGETS = {"local": "fdst/local/src", "rem": "fdst/rem/src"}
TCP_PORT, TLS_PORT, PROXY_PORT = 17401, 17402, 17403
REM_ID = "rem"
FILESYSTEMS = ["", "/a", "/a/b", "/c d"]
SYNC_RE = re.compile(r"^zferry_(.+)_(\d{8}T\d{6}Z)$")

KINDS = [
	"kill9-zferry-local", "kill9-zfs-child", "kill9-remote-server", "kill9-remote-client",
	"link-cut", "server-restart", "pool-full", "destroy-source-snapshot",
	"prune-during-replicate", "kill9-prune", "kill9-snapshot",
]

A = None		# parsed arguments
TMP = "/tmp/zferry-faults"
LOG = None		# the campaign's detailed log file
server = None		# the running `zferry serve`
calib = {"local": 3.0, "rem": 3.0}	# seconds a plain replicate took, per mode


def log(*a):
	print(time.strftime("%H:%M:%S"), *a, file=LOG, flush=True)


def say(*a):
	print(*a, flush=True)
	log(*a)


def run(argv, timeout=600, check=False):
	"""Runs ARGV; returns (status, stdout, stderr); logs it."""
	t0 = time.time()
	try:
		p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
				   stdin=subprocess.DEVNULL, timeout=timeout, text=True)
		rc, out, err = p.returncode, p.stdout, p.stderr
	except subprocess.TimeoutExpired as e:
		rc, out, err = 124, str(e.stdout or ""), "timed out"
	log("+ %s -> %d (%.1fs)" % (" ".join(argv), rc, time.time() - t0))
	if err.strip():
		log("  " + err.strip().replace("\n", "\n  "))
	if check and rc != 0:
		raise RuntimeError("command failed (%d): %s: %s" % (rc, " ".join(argv), err.strip()))
	return rc, out, err


def zfs(*args, check=False):
	return run(["zfs"] + list(args), check=check)


def zferry(*args):
	# info level: campaign.log then says what each run did and why
	return [A.zferry, "--log-level=info"] + list(args)


def start(argv, **kw):
	log("& %s" % " ".join(argv))
	f = open(os.path.join(A.logdir, "last-bg.log"), "a")
	f.write("& %s\n" % " ".join(argv))
	f.flush()
	return subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
				start_new_session=True, **kw)


def finish(p, timeout=600):
	try:
		return p.wait(timeout=timeout)
	except subprocess.TimeoutExpired:
		os.killpg(p.pid, signal.SIGKILL)
		return p.wait()


# ---- state of the pools ---------------------------------------------------------------

def filesystems(root):
	rc, out, _ = zfs("list", "-H", "-o", "name", "-t", "filesystem", "-r", root)
	return [l for l in out.splitlines() if l] if rc == 0 else []


def snapshots(root, txgs=None):
	"""{fs@snap: guid} under ROOT, and {fs: [snap names by createtxg]}; fills TXGS
	({fs@snap: createtxg}) when given."""
	rc, out, _ = zfs("list", "-Hp", "-t", "snapshot", "-o", "name,guid,createtxg",
			 "-s", "createtxg", "-r", root)
	guids, order = {}, {}
	if rc != 0:
		return guids, order
	for l in out.splitlines():
		name, guid, txg = l.split("\t")
		guids[name] = guid
		if txgs is not None:
			txgs[name] = int(txg)
		fs, snap = name.split("@", 1)
		order.setdefault(fs, []).append(snap)
	return guids, order


def tree_sum(path):
	"""sha256 over the relative paths and contents of the files under PATH (one filesystem)."""
	h = hashlib.sha256()
	dev = os.lstat(path).st_dev
	for dirpath, dirnames, filenames in os.walk(path):
		dirnames[:] = sorted(d for d in dirnames
				     if os.lstat(os.path.join(dirpath, d)).st_dev == dev)
		for f in sorted(filenames):
			p = os.path.join(dirpath, f)
			h.update(os.path.relpath(p, path).encode() + b"\0")
			with open(p, "rb") as fh:
				h.update(hashlib.sha256(fh.read()).digest())
	return h.hexdigest()


def mountpoint(fs):
	# the pools are made with mountpoint=/mnt/POOL and nothing below sets one
	return "/mnt/" + fs


def live_sums():
	return {fs: tree_sum(mountpoint(fs)) for fs in filesystems(SRC)}


def snap_sum(fs, snap):
	return tree_sum(os.path.join(mountpoint(fs), ".zfs", "snapshot", snap))


def unmount_snapshots():
	with open("/proc/mounts") as f:
		mps = [l.split()[1] for l in f if "/.zfs/snapshot/" in l.split()[1]]
	for mp in mps:
		run(["umount", mp.replace("\\040", " ")])


def zfs_children():
	"""[(pid, argv)] of running `zfs send` / `zfs recv` processes."""
	res = []
	for d in os.listdir("/proc"):
		if not d.isdigit():
			continue
		try:
			with open("/proc/%s/cmdline" % d, "rb") as f:
				argv = f.read().split(b"\0")
		except OSError:
			continue
		argv = [a.decode(errors="replace") for a in argv if a]
		if len(argv) >= 2 and os.path.basename(argv[0]) == "zfs" and \
				argv[1] in ("send", "recv", "receive"):
			res.append((int(d), argv))
	return res


def wait_children_gone(limit=90):
	t0 = time.time()
	while time.time() - t0 < limit:
		if not zfs_children():
			return True
		time.sleep(0.2)
	return False


# ---- the remote side -----------------------------------------------------------------

def make_certs():
	"""A throw-away CA, a server certificate for 127.0.0.1 and a client one (laptop)."""
	d = os.path.join(TMP, "certs")
	top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
	run([os.path.join(top, "scripts", "make-certs"), d, "server", "laptop"], check=True)
	cfg = os.path.join(TMP, "serve.yml")
	with open(cfg, "w") as f:
		f.write("serve:\n  tls:\n    ca: %s/ca.pem\n    cert: %s/server.pem\n    key: %s/server.key\n"
			"  tcp:\n    allow: [127.0.0.1]\n  clients:\n"
			"    - identity: laptop\n      write: [fdst/rem]\n"
			"    - identity: tcp:127.0.0.1\n      write: [fdst/rem]\n" % (d, d, d))
	return cfg


def tls_opts():
	d = os.path.join(TMP, "certs")
	return ["--tls-ca", d + "/ca.pem", "--tls-cert", d + "/laptop.pem", "--tls-key", d + "/laptop.key"]


def server_start():
	global server
	logf = os.path.join(A.logdir, "serve.log")
	for attempt in range(60):
		with open(logf, "a") as f:
			f.write("---- start\n")
		f = open(logf, "a")
		server = subprocess.Popen(zferry("serve", "-c", os.path.join(TMP, "serve.yml"),
						 "--listen", "tcp://127.0.0.1:%d" % TCP_PORT,
						 "--listen", "tls://127.0.0.1:%d" % TLS_PORT),
					  stdout=f, stderr=f, stdin=subprocess.DEVNULL, start_new_session=True)
		for _ in range(100):
			if server.poll() is not None:
				break
			if port_open(TCP_PORT) and port_open(TLS_PORT):
				return
			time.sleep(0.1)
		server_kill(signal.SIGKILL)
		time.sleep(1)	# a port still held by a dying server: try again
	raise RuntimeError("zferry serve does not start; see serve.log")


def port_open(port):
	import socket
	try:
		socket.create_connection(("127.0.0.1", port), timeout=1).close()
		return True
	except OSError:
		return False


def server_kill(sig, group=True):
	global server
	if server is None:
		return
	try:
		if group:
			os.killpg(server.pid, sig)
		else:
			os.kill(server.pid, sig)
	except ProcessLookupError:
		pass
	try:
		server.wait(timeout=60)
	except subprocess.TimeoutExpired:
		os.killpg(server.pid, signal.SIGKILL)
		server.wait()
	server = None


def server_ensure():
	if server is None or server.poll() is not None:
		server_start()


# ---- replicate commands --------------------------------------------------------------

def replicate_argv(mode, transport="tcp", port=None, retries=None):
	if mode == "local":
		return zferry("replicate", "-r", "--no-progress", SRC, TARGETS["local"])
	port = port or (TLS_PORT if transport == "tls" else TCP_PORT)
	argv = zferry("replicate", "-r", "--no-progress", "--target-id", REM_ID, "--timeout", "20")
	if retries is not None:
		argv += ["--retries", str(retries)]
	if transport == "tls":
		argv += tls_opts()
	return argv + [SRC, "%s://127.0.0.1:%d/%s" % (transport, port, TARGETS["rem"])]


def converge(mode, transport):
	"""Plain reruns until one succeeds (at most 3); returns (ok, attempts)."""
	for attempt in range(1, 4):
		server_ensure()
		t0 = time.time()
		rc, _, err = run(replicate_argv(mode, transport), timeout=900)
		if rc == 0:
			calib[mode] = max(0.5, time.time() - t0)
			return True, attempt
		log("rerun %d failed: %s" % (attempt, err.strip()))
		time.sleep(2)
	return False, 3


# ---- the source data -----------------------------------------------------------------

def setup():
	os.makedirs(TMP, exist_ok=True)
	run(["mount", "-o", "remount,size=3G", "/tmp"])
	for pool in ("fsrc", "fdst"):
		img = os.path.join(TMP, pool + ".img")
		run(["truncate", "-s", "1G", img], check=True)
		run(["zpool", "create", "-f", "-O", "mountpoint=/mnt/" + pool, "-O", "compression=off",
		     pool, img], check=True)
	for fs in FILESYSTEMS:
		zfs("create", "-p", SRC + fs, check=True)
	for fs in ("fdst/local", "fdst/rem", "fdst/filler"):
		zfs("create", fs, check=True)
	for i, fs in enumerate(FILESYSTEMS):
		write_file(SRC + fs, "base.bin", 4 << 20)
		with open(os.path.join(mountpoint(SRC + fs), "small.txt"), "w") as f:
			f.write("file %d of the fault campaign\n" % i)
	zfs("snapshot", "-r", SRC + "@u000", check=True)


def write_file(fs, name, size):
	with open(os.path.join(mountpoint(fs), name), "wb") as f:
		f.write(os.urandom(size))


def mutate(rng, rnd):
	"""Random writes, a deleted file now and then, a user snapshot now and then."""
	for _ in range(rng.randint(1, 2)):
		fs = SRC + rng.choice(FILESYSTEMS)
		write_file(fs, "r%03d.bin" % rnd, rng.randint(256 << 10, 3 << 20))
	for fs in FILESYSTEMS:	# at most 3 files of earlier rounds: bounds what the checks read
		mp = mountpoint(SRC + fs)
		old = sorted(f for f in os.listdir(mp) if f.startswith("r"))
		while len(old) > 3:
			os.unlink(os.path.join(mp, old.pop(rng.randrange(len(old) - 1))))
	if rng.random() < 0.35:
		zfs("snapshot", "-r", "%s@u%03d" % (SRC, rnd), check=True)
	# bound the pools: keep the 4 newest user snapshots on the source
	_, order = snapshots(SRC)
	users = [s for s in order.get(SRC, []) if re.match(r"^u\d+$", s)]
	for s in users[:-4]:
		zfs("destroy", "-r", "%s@%s" % (SRC, s))
	autos = [s for s in order.get(SRC, []) if s.startswith("auto_")]
	for s in autos[:-3]:
		zfs("destroy", "-r", "%s@%s" % (SRC, s))


# ---- checks ------------------------------------------------------------------------

class Fault:
	def __init__(self, n, kind, mode, transport):
		self.n, self.kind, self.mode, self.transport = n, kind, mode, transport
		self.timing = ""
		self.outcome = ""
		self.destroyed = set()		# snapshots the fault destroyed on purpose
		self.prune = ()			# prefixes of the candidates of a prune that ran
		self.problems = []
		self.lost = 0
		self.converged = False
		self.attempts = 0

	def bad(self, msg):
		self.problems.append(msg)
		log("PROBLEM: " + msg)


def may_vanish(f, name, txg_before):
	"""Whether snapshot NAME (fs@snap) may be gone after the fault."""
	if name in f.destroyed:
		return True
	fs, snap = name.split("@", 1)
	if any(snap.startswith(p) for p in f.prune):
		return True
	m = SYNC_RE.match(snap)
	if not m:
		return False
	# zferry destroys a target's older sync snapshots once that target has a
	# newer snapshot of the filesystem: look for one on that target
	target = TARGETS["rem"] if m.group(1) == REM_ID else TARGETS["local"]
	txgs = {}
	sguids, _ = snapshots(fs, txgs)
	tguids, _ = snapshots(target + fs[len(SRC):])
	for n, g in sguids.items():
		if txgs[n] > txg_before[name] and tguids.get(target + fs[len(SRC):] + "@" + n.split("@", 1)[1]) == g:
			return True
	return False


def check_source(f, before, txg_before, sums_before, what):
	after, _ = snapshots(SRC)
	for name, guid in before.items():
		if name in after:
			if after[name] != guid:
				f.lost += 1
				f.bad("%s: source snapshot %s changed guid" % (what, name))
		elif not may_vanish(f, name, txg_before):
			f.lost += 1
			f.bad("%s: source snapshot %s is gone" % (what, name))
	if sums_before is None:
		return
	sums = live_sums()
	for fs, s in sums_before.items():
		if sums.get(fs) != s:
			f.lost += 1
			f.bad("%s: source filesystem %s changed content" % (what, fs))


def check_target_kept(f, tbefore, src_guids):
	root = TARGETS[f.mode]
	after, _ = snapshots(root)
	for name, guid in tbefore.items():
		if after.get(name) != guid:
			f.bad("target snapshot %s lost or changed by the fault" % name)
	known = set(src_guids.values())
	for name, guid in after.items():
		if name not in tbefore and guid not in known:
			f.bad("target snapshot %s has a guid the source never had" % name)


def check_converged(f, live):
	root = TARGETS[f.mode]
	sguids, sorder = snapshots(SRC)
	tguids, _ = snapshots(root)
	tfs = set(filesystems(root))
	for fs in filesystems(SRC):
		t = root + fs[len(SRC):]
		if t not in tfs:
			f.bad("target filesystem %s missing" % t)
			continue
		for snap in sorder.get(fs, []):
			tg = tguids.get(t + "@" + snap)
			if tg is not None and tg != sguids[fs + "@" + snap]:
				f.bad("%s@%s: guid %s on the target, %s on the source" %
				      (t, snap, tg, sguids[fs + "@" + snap]))
		newest = sorder.get(fs, [None])[-1]
		if newest is None:
			f.bad("source filesystem %s has no snapshot after a run" % fs)
			continue
		if tguids.get(t + "@" + newest) != sguids[fs + "@" + newest]:
			f.bad("newest source snapshot %s@%s not on the target" % (fs, newest))
			continue
		if not os.path.ismount(mountpoint(t)):
			zfs("mount", t)
		a, b = snap_sum(fs, newest), snap_sum(t, newest)
		if a != b:
			f.bad("%s@%s: content differs on the target" % (fs, newest))
		if live.get(fs) != a:
			f.bad("%s: live content differs from its newest snapshot %s after a run" % (fs, newest))
	unmount_snapshots()
	# nothing stray
	names = [n for n in sguids if n.split("@", 1)[1] in sorder.get(n.split("@", 1)[0], [])]
	rc, out, _ = zfs("holds", "-H", *names) if names else (0, "", "")
	for l in out.splitlines():
		parts = l.split("\t")
		if len(parts) >= 2 and parts[1].startswith("zferry_"):
			f.bad("stray hold %s on %s" % (parts[1], parts[0]))
	rc, out, _ = zfs("get", "-Hp", "-r", "-o", "name,value", "receive_resume_token", "fdst")
	for l in out.splitlines():
		name, value = l.split("\t")
		if value not in ("-", "") and name.startswith(root):
			f.bad("resume token left on %s" % name)
	# one zfs list for all: it lists those that exist and complains of the rest
	_, out, _ = zfs("list", "-H", "-o", "name", *[t + "/%recv" for t in sorted(tfs)])
	for l in out.splitlines():
		f.bad("temporary dataset %s left" % l)
	for fs, snaps in sorder.items():
		per = {}
		for s in snaps:
			m = SYNC_RE.match(s)
			if m:
				per.setdefault(m.group(1), []).append(s)
		for tid, v in per.items():
			if len(v) > 1:
				f.bad("%s: %d sync snapshots of target %s: %s" % (fs, len(v), tid, " ".join(v)))
	if not wait_children_gone(30):
		f.bad("zfs send/recv still running after the run")


# ---- the faults ----------------------------------------------------------------------

def delay(rng, mode):
	return rng.uniform(0, calib[mode] * 1.1)


def kill_after(f, p, d):
	t0 = time.time()
	while time.time() - t0 < d:
		if p.poll() is not None:
			f.outcome = "finished before the kill (%.2fs)" % (time.time() - t0)
			return False
		time.sleep(0.02)
	try:
		os.kill(p.pid, signal.SIGKILL)
	except ProcessLookupError:
		pass
	rc = p.wait()
	f.outcome = "killed (status %d)" % rc
	return True


def fault_kill9_zferry_local(f, rng):
	d = delay(rng, "local")
	f.timing = "%.2fs" % d
	p = start(replicate_argv("local"))
	kill_after(f, p, d)


def wait_child(p, want, limit):
	t0 = time.time()
	while time.time() - t0 < limit and p.poll() is None:
		for pid, argv in zfs_children():
			if argv[1] in want:
				return pid, argv
		time.sleep(0.02)
	return None, None


def fault_kill9_zfs_child(f, rng):
	want = rng.choice([("send",), ("recv", "receive")])
	d = rng.uniform(0, 0.6)
	f.timing = "%s +%.2fs" % (want[0], d)
	p = start(replicate_argv(f.mode, f.transport))
	pid, argv = wait_child(p, want, 300)
	if pid is None:
		f.outcome = "no zfs %s seen" % want[0]
	else:
		time.sleep(d)
		try:
			os.kill(pid, signal.SIGKILL)
			f.outcome = "killed zfs %s of %s" % (want[0], argv[-1])
		except ProcessLookupError:
			f.outcome = "zfs %s ended first" % want[0]
	f.outcome += ", run status %d" % finish(p)


def fault_kill9_remote_client(f, rng):
	d = delay(rng, "rem")
	f.timing = "%.2fs" % d
	p = start(replicate_argv("rem", f.transport, retries=rng.choice([0, 3])))
	kill_after(f, p, d)


def fault_kill9_remote_server(f, rng):
	d = delay(rng, "rem")
	group = rng.random() < 0.5
	f.timing = "%.2fs %s" % (d, "server+children" if group else "server process")
	p = start(replicate_argv("rem", f.transport, retries=rng.choice([0, 3])))
	t0 = time.time()
	while time.time() - t0 < d and p.poll() is None:
		time.sleep(0.02)
	f.outcome = "killed the server at %.2fs" % (time.time() - t0)
	server_kill(signal.SIGKILL, group)
	# the restarted server lets a retrying client resume within the same run
	time.sleep(rng.uniform(0, 3))
	server_start()
	f.outcome += ", run status %d" % finish(p)


def fault_server_restart(f, rng):
	d = delay(rng, "rem")
	f.timing = "%.2fs" % d
	p = start(replicate_argv("rem", f.transport, retries=3))
	t0 = time.time()
	while time.time() - t0 < d and p.poll() is None:
		time.sleep(0.02)
	server_kill(signal.SIGTERM)
	server_start()
	f.outcome = "restarted at %.2fs, run status %d" % (time.time() - t0, finish(p))


def fault_link_cut(f, rng):
	port = TLS_PORT if f.transport == "tls" else TCP_PORT
	cut = rng.randint(0, 3 << 20)
	direction = rng.choice(["up", "up", "up", "down"])
	if direction == "down":
		cut = rng.randint(0, 4096)
	retries = rng.choice([0, 3])
	f.timing = "%s byte %d, retries %d" % (direction, cut, retries)
	proxy = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "cutproxy.py"),
				  str(PROXY_PORT), str(port), str(cut), direction],
				 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
				 start_new_session=True)
	proxy.stdout.readline()
	p = start(replicate_argv("rem", f.transport, port=PROXY_PORT, retries=retries))
	rc = finish(p)
	proxy.kill()
	out = proxy.stdout.read()
	proxy.wait()
	f.outcome = ("cut" if "cut" in out else "not reached") + ", run status %d" % rc


def fault_pool_full(f, rng):
	avail = int(zfs("get", "-Hp", "-o", "value", "available", "fdst")[1])
	free = rng.randint(16 << 10, 4 << 20)
	f.timing = "%d bytes free" % free
	if zfs("set", "reservation=%d" % max(0, avail - free), "fdst/filler")[0] != 0:
		f.outcome = "reservation refused"
	p = start(replicate_argv(f.mode, f.transport))
	rc = finish(p)
	zfs("set", "reservation=none", "fdst/filler", check=True)
	f.outcome = (f.outcome + " " if f.outcome else "") + "run status %d" % rc


def fault_destroy_source_snapshot(f, rng):
	p = start(replicate_argv(f.mode, f.transport))
	pid, argv = wait_child(p, ("send",), 300)
	if pid is None:
		f.outcome = "no zfs send seen, run status %d" % finish(p)
		return
	snap = next((a for a in reversed(argv) if "@" in a), None)
	fs = snap.split("@")[0] if snap else None
	victims = []
	if fs:
		_, order = snapshots(fs)
		victims = [fs + "@" + s for s in order.get(fs, [])]
	if not victims:
		f.outcome = "send of %s: nothing to destroy, run status %d" % (argv[-1], finish(p))
		return
	victim = snap if rng.random() < 0.5 and snap in victims else rng.choice(victims)
	f.timing = "during send of %s" % snap
	rc, _, err = zfs("destroy", victim)
	if rc == 0:
		f.destroyed.add(victim)
		f.outcome = "destroyed %s" % victim
	else:
		f.outcome = "destroy of %s refused (%s)" % (victim, err.strip().splitlines()[-1][:60])
	f.outcome += ", run status %d" % finish(p)


def fault_prune_during_replicate(f, rng):
	f.prune = ("zferry_",)
	d = delay(rng, f.mode)
	f.timing = "%.2fs" % d
	p = start(replicate_argv(f.mode, f.transport))
	t0 = time.time()
	while time.time() - t0 < d and p.poll() is None:
		time.sleep(0.02)
	rc, _, _ = run(zferry("prune", "-r", "--keep", "last_n:1", SRC))
	f.outcome = "prune status %d, run status %d" % (rc, finish(p))


def take_autos(rng, n):
	for i in range(n):
		write_file(SRC + rng.choice(FILESYSTEMS), "auto.bin", 64 << 10)
		run(zferry("snapshot", "-r", "--prefix", "auto_%d_" % rng.randint(0, 10 ** 9), SRC))


def fault_kill9_prune(f, rng):
	f.prune = ("auto_",)
	take_autos(rng, 2)
	global sums_before_fault
	sums_before_fault = live_sums()
	d = rng.uniform(0, 2.0)
	f.timing = "%.2fs" % d
	p = start(zferry("prune", "-r", "--prefix", "auto_", "--keep", "last_n:1", SRC))
	kill_after(f, p, d)
	wait_children_gone()
	rc, _, _ = run(zferry("prune", "-r", "--prefix", "auto_", "--keep", "last_n:1", SRC))
	if rc != 0:
		f.bad("prune after the killed prune: status %d" % rc)
	# what prune keeps (zferry(1)): the newest candidate, and any a cursor points at
	guids, order = snapshots(SRC)
	_, out, _ = zfs("list", "-Hp", "-t", "bookmark", "-o", "name,guid", "-r", SRC)
	cursors = set(l.split("\t")[1] for l in out.splitlines() if "#zferry_cursor" in l)
	for fs, snaps in order.items():
		autos = [s for s in snaps if s.startswith("auto_")]
		extra = [s for s in autos[:-1] if guids[fs + "@" + s] not in cursors]
		if extra:
			f.bad("prune after the killed prune left %s@%s" % (fs, ",".join(extra)))


def fault_kill9_snapshot(f, rng):
	d = rng.uniform(0, 1.5)
	f.timing = "%.2fs" % d
	name = "auto_k%d_" % rng.randint(0, 10 ** 9)
	p = start(zferry("snapshot", "-r", "--prefix", name, SRC))
	kill_after(f, p, d)
	wait_children_gone()
	time.sleep(1)
	rc, out, _ = zfs("list", "-H", "-o", "name", "-t", "snapshot", "-r", SRC)
	have = [l for l in out.splitlines() if "@" + name in l]
	if have and len(have) != len(filesystems(SRC)):
		f.bad("snapshot not atomic: %d of %d filesystems have %s" %
		      (len(have), len(filesystems(SRC)), name))
	f.outcome += ", %d snapshots" % len(have)


FAULTS = {
	"kill9-zferry-local": (fault_kill9_zferry_local, ["local"]),
	"kill9-zfs-child": (fault_kill9_zfs_child, ["local", "rem"]),
	"kill9-remote-server": (fault_kill9_remote_server, ["rem"]),
	"kill9-remote-client": (fault_kill9_remote_client, ["rem"]),
	"link-cut": (fault_link_cut, ["rem"]),
	"server-restart": (fault_server_restart, ["rem"]),
	"pool-full": (fault_pool_full, ["local", "rem"]),
	"destroy-source-snapshot": (fault_destroy_source_snapshot, ["local", "rem"]),
	"prune-during-replicate": (fault_prune_during_replicate, ["local", "rem"]),
	"kill9-prune": (fault_kill9_prune, ["local", "rem"]),
	"kill9-snapshot": (fault_kill9_snapshot, ["local", "rem"]),
}

sums_before_fault = None


def one_fault(n, rng, kinds):
	global sums_before_fault
	kind = rng.choice(kinds)
	fn, modes = FAULTS[kind]
	mode = rng.choice(modes)
	transport = rng.choice(["tcp", "tls"]) if mode == "rem" else "-"
	f = Fault(n, kind, mode, transport)
	log("\n==== fault %d: %s mode %s %s" % (n, kind, mode, transport))
	mutate(rng, n)
	server_ensure()
	txg_before = {}
	before, _ = snapshots(SRC, txg_before)
	tbefore, _ = snapshots(TARGETS[mode])
	sums_before_fault = live_sums()
	t0 = time.time()
	try:
		fn(f, rng)
	except Exception as e:	# a broken driver is a failed fault, not a crash of the campaign
		f.bad("driver error: %r" % e)
	if not wait_children_gone():
		f.bad("zfs send/recv still running 90 s after the fault")
		for pid, _ in zfs_children():
			os.kill(pid, signal.SIGKILL)
	server_ensure()
	after, _ = snapshots(SRC)
	check_source(f, before, txg_before, None, "after the fault")	# files: after the rerun
	check_target_kept(f, tbefore, {**before, **after})
	f.converged, f.attempts = converge(mode, transport)
	if not f.converged:
		f.bad("3 plain reruns did not converge")
	check_source(f, before, txg_before, sums_before_fault, "after the rerun")
	check_converged(f, sums_before_fault)
	f.seconds = time.time() - t0
	return f


def main():
	global A, LOG
	ap = argparse.ArgumentParser()
	ap.add_argument("--zferry", required=True)
	ap.add_argument("--logdir", required=True)
	ap.add_argument("--count", type=int, default=10)
	ap.add_argument("--seed", type=int, default=None)
	ap.add_argument("--kind", action="append", default=[])
	ap.add_argument("--time-limit", type=float, default=0)
	A = ap.parse_args()
	seed = A.seed if A.seed is not None else int(time.time())
	print("faults: seed %d (rerun with --seed %d), %d faults" % (seed, seed, A.count), flush=True)
	for k in A.kind:
		if k not in FAULTS:
			print("faults: unknown kind '%s'; kinds: %s" % (k, " ".join(KINDS)))
			return 2
	kinds = A.kind or KINDS
	os.makedirs(A.logdir, exist_ok=True)
	LOG = open(os.path.join(A.logdir, "campaign.log"), "w")
	log("seed %d" % seed)
	rng = random.Random(seed)
	t0 = time.time()
	setup()
	make_certs()
	server_start()
	for mode in ("local", "rem"):
		ok, _ = converge(mode, "tcp")
		if not ok:
			say("faults: the initial replication to %s fails; see %s/campaign.log" % (mode, A.logdir))
			return 1
	say("faults: setup done in %.0f s (full replicate: local %.1f s, remote %.1f s)" %
	    (time.time() - t0, calib["local"], calib["rem"]))
	results = []
	for n in range(1, A.count + 1):
		if A.time_limit and time.time() - t0 > A.time_limit:
			say("faults: time limit of %.0f s reached: %d of %d faults not run" %
			    (A.time_limit, A.count - n + 1, A.count))
			break
		f = one_fault(n, rng, kinds)
		results.append(f)
		say("%s %3d %-24s %-9s %-30s %s; converged %s%s, lost %d (%.0fs)" % (
			"ok    " if not f.problems else "FAILED", n, f.kind,
			f.mode + ("/" + f.transport if f.mode == "rem" else ""), f.timing[:30], f.outcome,
			"yes" if f.converged else "no",
			" after %d reruns" % f.attempts if f.attempts > 1 else "", f.lost, f.seconds))
		for p in f.problems:
			say("         - " + p)
	server_kill(signal.SIGTERM)
	say("")
	say("%-26s %8s %8s %9s %9s %6s" % ("kind", "injected", "passed", "converged", "data lost", "failed"))
	for k in KINDS:
		v = [f for f in results if f.kind == k]
		if not v:
			continue
		say("%-26s %8d %8d %9d %9d %6d" % (k, len(v), sum(1 for f in v if not f.problems),
						  sum(1 for f in v if f.converged), sum(f.lost for f in v),
						  sum(1 for f in v if f.problems)))
	failed = sum(1 for f in results if f.problems)
	say("faults: seed %d, %.0f s in the VM" % (seed, time.time() - t0))
	say("faults: %d passed, %d failed" % (len(results) - failed, failed))
	return 1 if failed else 0


if __name__ == "__main__":
	sys.exit(main())
