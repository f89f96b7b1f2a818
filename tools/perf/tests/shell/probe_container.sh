#!/bin/bash
# uprobes on a program in a container: overlayfs, mount and pid namespaces (exclusive)
# SPDX-License-Identifier: GPL-2.0
#
# A small container: an overlayfs (lower layer holding the program, upper and
# work dirs, all on /tmp's tmpfs) mounted inside new mount and pid namespaces
# (unshare), made the container's root with pivot_root, the program its PID 1.
# The host's /usr and /etc are bind-mounted read-only into it so that perf can
# run in there too. The program calls a function CALLS times for each line it
# reads on stdin, so every probe is in place before a round starts. Each round
# must hit each probe exactly CALLS times, in the program's (host) pid:
#  (a) a tracefs probe by the path the host sees, /proc/PID/root/app/uptest;
#  (b) a tracefs probe by the lower layer's path of the program;
#  (c) probes made by 'perf probe -x /app/uptest' run inside the container
#      (its mount and pid namespaces, through nsenter), and from the host
#      with --target-ns=PID;
#  each alone; then
#  (d) bpftrace -p PID, with the container's path, the pid's exe and the
#      /proc/PID/root path, while (a) to (c) are enabled too;
#  (e) a second run of the program in the container, started while (a) to
#      (c) are enabled.
# The kernel resolves an overlay path to the real file holding the data
# (d_real_inode()), here the lower layer's, the file the program's mapping is
# of: all these probes are one uprobe. Had the program been copied up to the
# upper layer while it runs, the overlay paths would name the copy and the
# running program (mapping the lower file) would not be hit through them, on
# stock kernels as well: the test keeps perf from causing a copy-up (see the
# container's /tmp) and checks that none happened.
# Exit 2 (skip) when a tool is missing; without bpftrace the other cases are
# still checked and then the test says it skipped (d).

set -e

skip() { echo "Skip: $*"; exit 2; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v gcc > /dev/null || skip "no gcc"
for tool in unshare nsenter pivot_root pgrep readelf nm; do
	command -v $tool > /dev/null || skip "no $tool"
done
grep -qw overlay /proc/filesystems || skip "no overlayfs in this kernel"
[ -e /proc/self/ns/pid ] || skip "no pid namespaces in this kernel"
# Not 'perf probe --help': it formats the man page, slow under TCG.
perf probe -l > /dev/null 2>&1 || skip "perf probe does not run here"
tracefs=/sys/kernel/tracing
[ -f $tracefs/uprobe_events ] || skip "no uprobe_events at $tracefs"

calls=5
group=probe_container
dir=$(mktemp -d /tmp/probe-container.XXXXXX)
upid= pid= bpid=
cleanup() {
	set +e
	for ev in via_root via_lower in_ct in_ns; do
		echo 0 > $tracefs/events/$group/$ev/enable 2> /dev/null
		echo "-:$group/$ev" >> $tracefs/uprobe_events 2> /dev/null
	done
	[ -n "$bpid" ] && kill -KILL "$bpid" 2> /dev/null
	exec 3>&-
	# --kill-child ends the container with unshare.
	[ -n "$upid" ] && kill "$upid" 2> /dev/null && wait "$upid" 2> /dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# fail MESSAGE: say what went wrong, with the program's output so far.
fail() {
	echo "FAIL: $*"
	echo "--- program output:"; cat "$dir/out" 2> /dev/null
	exit 1
}

# wait_for PATTERN FILE SECONDS: wait for a line in FILE, at most SECONDS.
wait_for() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		grep -qE "$1" "$2" 2> /dev/null && return 0
		sleep 0.2
	done
	grep -qE "$1" "$2" 2> /dev/null
}

# wait_gone PID SECONDS: wait for the background PID to end, at most SECONDS.
wait_gone() {
	local end=$((SECONDS + $2))
	while kill -0 "$1" 2> /dev/null && [ $SECONDS -lt $end ]; do
		sleep 0.2
	done
	! kill -0 "$1" 2> /dev/null
}

cat > "$dir/uptest.c" <<'SRC'
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>

__attribute__((noinline)) int cont_func(int n)
{
	asm volatile("" : "+r"(n));
	return n + 1;
}

/* One round of calls per line on stdin; exit at end of file. */
int main(int argc, char **argv)
{
	int i, calls = argc > 1 ? atoi(argv[1]) : 1, round = 0;
	char line[64];
	long sum;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready pid %d\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		for (sum = 0, i = 0; i < calls; i++)
			sum += cont_func(i);
		printf("round %d sum %ld\n", ++round, sum);
	}
	printf("exit\n");
	return 0;
}
SRC

# The container image: the program and mount points for what the host lends.
lower=$dir/lower
mkdir -p "$lower"/{app,usr,etc,dev,sys,proc,tmp,opt,oldroot} "$dir"/{upper,work,merged}
gcc -g -O1 -o "$lower/app/uptest" "$dir/uptest.c" || skip "cannot build the test program"
# /bin, /lib... as on the host: links into /usr on a merged-/usr system.
for d in bin sbin lib lib32 lib64 libx32; do
	if [ -L /$d ]; then
		ln -s "$(readlink /$d)" "$lower/$d"
	elif [ -d /$d ]; then
		skip "/$d is not a link into /usr: the container cannot use the host's /usr alone"
	fi
done
# The perf under test (maybe the tree's, outside /usr) is bind-mounted here.
perf_bin=$(readlink -f "$(command -v perf)")
touch "$lower/opt/perf"

# The function's file offset, for the tracefs probes.
addr=0x$(nm "$lower/app/uptest" | awk '$3 == "cont_func" { print $1 }')
offset=$(readelf -lW "$lower/app/uptest" | awk '$1 == "LOAD" { print $2, $3, $5 }' |
	while read -r off va size; do
		if [ $((addr)) -ge $((va)) ] && [ $((addr)) -lt $((va + size)) ]; then
			printf '0x%x\n' $((addr - va + off))
		fi
	done)
[ -n "$offset" ] || fail "no file offset for cont_func at $addr"

# The container's init: mount the overlay and the host's loans inside the new
# mount namespace (unshare makes its mounts private), make the overlay the
# root, drop the host's tree, and become the program.
cat > "$dir/init.sh" <<'INIT'
set -e
dir=$1 perf_bin=$2 calls=$3
m=$dir/merged
mount -t overlay overlay -o "lowerdir=$dir/lower,upperdir=$dir/upper,workdir=$dir/work" "$m"
mount --bind -o ro /usr "$m/usr"
mount --bind -o ro /etc "$m/etc"
mount --rbind /dev "$m/dev"
mount --rbind /sys "$m/sys"
mount -t proc proc "$m/proc"
# /tmp (perf's $HOME here) is a tmpfs of its own, as in many containers. On
# the overlay, perf's build-id cache would hard-link the probed program into
# ~/.debug, and a link copies the program up to the upper layer: the overlay
# path would then be a copy the running program does not map.
mount -t tmpfs tmpfs "$m/tmp"
mount --bind -o ro "$perf_bin" "$m/opt/perf"
cd "$m"
pivot_root . oldroot
umount -l /oldroot
exec /app/uptest "$calls"
INIT

# The program reads its rounds from a fifo; fd 3 writes them.
mkfifo "$dir/ctl"
unshare --mount --pid --fork --kill-child -- /bin/sh "$dir/init.sh" "$dir" "$perf_bin" $calls \
	< "$dir/ctl" > "$dir/out" 2>&1 &
upid=$!
exec 3> "$dir/ctl"
wait_for '^ready' "$dir/out" 120 || fail "the container did not start"
grep -qx 'ready pid 1' "$dir/out" || fail "the program is not PID 1 of a new pid namespace"
pid=$(pgrep -P "$upid")
[ "$(cat /proc/$pid/comm)" = uptest ] || fail "no uptest process under unshare ($upid)"
[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] ||
	fail "the program is in the host's mount namespace"
grep -q " / overlay " /proc/$pid/mounts || fail "the container's root is not the overlay"
echo "container: host pid $pid, cont_func at file offset $offset"

# (a) and (b): tracefs probes from the host.
echo "p:$group/via_root /proc/$pid/root/app/uptest:$offset" >> $tracefs/uprobe_events ||
	fail "(a) cannot add a probe on /proc/$pid/root/app/uptest"
echo "p:$group/via_lower $lower/app/uptest:$offset" >> $tracefs/uprobe_events ||
	fail "(b) cannot add a probe on the lower layer's $lower/app/uptest"
# (c): perf probe inside the container, by the path there.
nsenter -t "$pid" -m -p -r -w /opt/perf probe -x /app/uptest -a "$group:in_ct=cont_func" 3>&- ||
	fail "(c) perf probe -x /app/uptest in the container failed"
# (c) also from the host: perf probe --target-ns enters the container's mount
# namespace to read the program and to add the probe.
perf probe --target-ns="$pid" -x /app/uptest -a "$group:in_ns=cont_func" 3>&- ||
	fail "(c) perf probe --target-ns=$pid -x /app/uptest failed"
grep "^p:$group/" $tracefs/uprobe_events
[ ! -e "$dir/upper/app/uptest" ] ||
	fail "/app/uptest was copied up to the upper layer: the overlay path is no longer the running program's file"

# check_hits WHAT TASK EVENT...: each event hit exactly $calls times in the
# trace, all of them by TASK (comm-pid as the trace prints it).
check_hits() {
	local what=$1 task=$2 ev n others
	shift 2
	for ev in "$@"; do
		n=$(grep -c " $ev: " $tracefs/trace || true)
		others=$(grep " $ev: " $tracefs/trace | grep -vc -- " $task " || true)
		echo "$what: $group:$ev $n hits ($others not by $task)"
		if [ "$n" != $calls ] || [ "$others" != 0 ]; then
			grep " $ev: " $tracefs/trace | head -20
			fail "$what: $group:$ev hit $n times, $others of them not by $task, expected $calls by $task"
		fi
	done
}

# run_round EVENT...: clear the trace, enable the events, have the program run
# a round, and check each event's hits.
round=0
run_round() {
	local ev
	echo > $tracefs/trace
	for ev in "$@"; do
		echo 1 > $tracefs/events/$group/$ev/enable
	done
	round=$((round + 1))
	echo go >&3
	wait_for "^round $round " "$dir/out" 120 || fail "round $round did not finish"
	for ev in "$@"; do
		echo 0 > $tracefs/events/$group/$ev/enable
	done
	grep -qx "round $round sum $((calls * (calls + 1) / 2))" "$dir/out" ||
		fail "round $round: the program computed a wrong sum"
	check_hits "round $round" "uptest-$pid" "$@"
}

run_round via_root
run_round via_lower
run_round in_ct
run_round in_ns

# (e) A second run of the program in the container, started while the probes
# are enabled: its breakpoints go in as it maps the program, not by the
# sweep of a registration. It runs one round and exits.
echo > $tracefs/trace
for ev in via_root via_lower in_ct in_ns; do
	echo 1 > $tracefs/events/$group/$ev/enable
done
echo go | nsenter -t "$pid" -m -p /app/uptest $calls > "$dir/out2" 2>&1 3>&- ||
	fail "(e) the second run in the container failed: $(cat "$dir/out2")"
for ev in via_root via_lower in_ct in_ns; do
	echo 0 > $tracefs/events/$group/$ev/enable
done
grep -qx "round 1 sum $((calls * (calls + 1) / 2))" "$dir/out2" ||
	fail "(e) the second run computed a wrong sum: $(cat "$dir/out2")"
task=$(grep -m1 " via_lower: " $tracefs/trace | awk '{ print $1 }')
[ -n "$task" ] && [ "$task" != "uptest-$pid" ] || fail "(e) no hit of the second run ('$task')"
check_hits "second run" "$task" via_root via_lower in_ct in_ns

# (d) bpftrace with the container's pid.
bskip=
command -v bpftrace > /dev/null || bskip="no bpftrace"
if [ -z "$bskip" ]; then
	# Three ways to name the program with -p: its path in the container,
	# none (the pid's exe), and the host's path through /proc/PID/root.
	__BPFTRACE_NOTIFY_PROBES_ATTACHED=1 bpftrace -p "$pid" -e "
		uprobe:/app/uptest:cont_func { @inside = count(); }
		uprobe:cont_func { @exe = count(); }
		uprobe:/proc/$pid/root/app/uptest:cont_func { @root = count(); }
		" > "$dir/bpftrace" 2>&1 3>&- &
	bpid=$!
	# Until it has attached, or has given up.
	end=$((SECONDS + 240))
	while ! grep -q '__BPFTRACE_NOTIFY_PROBES_ATTACHED' "$dir/bpftrace" &&
	      kill -0 $bpid 2> /dev/null && [ $SECONDS -lt $end ]; do
		sleep 0.2
	done
	if ! grep -q '__BPFTRACE_NOTIFY_PROBES_ATTACHED' "$dir/bpftrace"; then
		cat "$dir/bpftrace"
		# Whether bpftrace can run anything here, asked only now: under
		# TCG each start of bpftrace takes long.
		timeout 120 bpftrace -e 'BEGIN { exit(); }' > /dev/null 2>&1 3>&- &&
			fail "(d) bpftrace -p $pid did not attach"
		bskip="bpftrace cannot run BPF programs here"
	fi
fi
if [ -z "$bskip" ]; then
	run_round via_root via_lower in_ct in_ns
	# It prints its maps as it exits on SIGINT.
	kill -INT $bpid
	wait_gone $bpid 120 || fail "(d) bpftrace did not exit on SIGINT"
	wait $bpid || true
	bpid=
	cat "$dir/bpftrace"
	for map in inside exe root; do
		grep -qx "@$map: $calls" "$dir/bpftrace" ||
			fail "(d) bpftrace -p $pid: @$map is not $calls"
	done
fi

# The program ends at end of file, with status 0.
exec 3>&-
wait_gone "$upid" 120 || fail "the program did not exit at end of file"
rc=0
wait "$upid" || rc=$?
upid=
[ $rc = 0 ] || fail "the container exited with status $rc"
grep -qx exit "$dir/out" || fail "the program did not reach its end"
[ -z "$bskip" ] || skip "bpftrace case: $bskip (the tracefs and perf probe cases passed)"
exit 0
