# bench/lib.sh — shared by the bench scripts (sourced, not run).

# settle: waits (at most 20 s) until the kernel has handed the free memory
# back to the hypervisor, so every timed run starts from the same state.  On
# a VM with free page reporting (virtio-balloon), pages freed recently are
# still backed by the host and those reported are not: the first touch of
# each reported page faults in the host.  Writing 1 GiB of new page cache
# took 0.6 s of system time right after 2 GiB were freed and 2.4 s once they
# were reported, so whichever tool ran after a deletion (ours: "rm half";
# the previous bench's cleanup; another user's) looked up to 2x faster.
# Waiting puts every run in the reported state, as on a VM that has been up
# a while; how much a reported page costs is still the host's choice (it
# only reclaims them when it needs the memory), so runs still vary.
settle() {
	local f=/sys/module/page_reporting/parameters/reported_kib a b i
	if [ ! -r $f ]; then
		# a kernel without the counter: its reporting delay is 2 s
		[ -d /sys/module/page_reporting ] && sleep 3
		return 0
	fi
	b=$(cat $f)
	for ((i = 0; i < 20; i++)); do
		sleep 1
		a=$b
		b=$(cat $f)
		[ "$a" = "$b" ] && [ $i -ge 2 ] && break
	done
	return 0
}
