#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark's guest side: guest.sh HITS_BINARY OUT.csv [CALLS [icount]]
# Rows: hit,KIND,MODE,NS_UNPROBED,NS_PROBED | ret,... | threads,N,CALLS_PER_S |
#       reg,NPROBES,MS_ADD_AND_ENABLE,MS_DISABLE_AND_REMOVE,ENABLED |
#       mem,probe,BYTES_PER_PROBE | mem,process,KIB_PER_PROCESS,XOL_AREAS
# MODE is the consumer: tracefs (event enabled), perf (perf stat counting the event) or
# bpf (a bpftrace program counting hits). "icount": the guest clock counts instructions
# (VM_ICOUNT), so every time is an instruction count; the threads and memory rows are
# left out (the vCPUs run one at a time, and memory is no clock figure).
set -u
bin=$1 out=$2 calls=${3:-20000} clock=${4:-time}
T=/sys/kernel/tracing
: > "$out"
cp "$bin" /tmp/hits && bin=/tmp/hits
# Milliseconds from bash's own clock: no date process per reading, whose fork and exec
# (path lookups on the 9p root, each a round trip to the host) would swamp the figure.
ms() { local us=${EPOCHREALTIME/./}; echo $((us / 1000)); }
ns() { "$bin" "$1" "$2" "$3" | awk '{print $1}'; }
tps() { "$bin" "$1" "$2" "$3" | awk '{print $2}'; }
# bpf PROBE KIND: ns per call of KIND while bpftrace counts hits of PROBE (its own output
# and the count it prints at exit are not the hits binary's "NS CALLS_PER_S" line).
bpf() { bpftrace -e "$1 { @hits = count(); }" -c "$bin $2 $calls 1" 2>/dev/null |
	awk 'NF == 2 && $1 ~ /^[0-9.]+$/ && $2 ~ /^[0-9]+$/ {print $1}'; }
bpf_kinds="nop1 nop5 push_rbp sub_rsp ret"
clear_probes() { echo 0 > $T/events/enable; echo > $T/uprobe_events; }

clear_probes
declare -A off
while read -r k o; do off[$k]=$o; done < <("$bin" --offsets)

# A warm-up hit run, thrown away: the first enabled event of a boot pays one-time costs
# (trace buffer pages, per-CPU state) that belong to no kind.
echo "p:bench/warmup $bin:${off[nop1]}" >> $T/uprobe_events
echo 1 > $T/events/bench/warmup/enable
ns nop1 "$calls" 1 > /dev/null
clear_probes

for kind in nop1 nop5 push_rbp endbr64 sub_rsp mov_reg mov_to_stack mov_from_stack \
	    riprel_mov riprel_cmp lea xor test ret call; do
	base=$(ns "$kind" $((calls * 20)) 1)
	echo "p:bench/$kind $bin:${off[$kind]}" >> $T/uprobe_events || continue
	echo 1 > $T/events/bench/$kind/enable
	probed=$(ns "$kind" "$calls" 1)
	echo 0 > $T/events/bench/$kind/enable
	echo "hit,$kind,tracefs,$base,$probed" >> "$out"
	# perf counting the same event: no trace buffer, the perf hit path.
	probed=$(perf stat -e "bench:$kind" -x, -o /dev/null -- "$bin" "$kind" "$calls" 1 | awk '{print $1}')
	echo "hit,$kind,perf,$base,$probed" >> "$out"
	echo "-:bench/$kind" >> $T/uprobe_events
	if [[ " $bpf_kinds " == *" $kind "* ]]; then
		probed=$(bpf "uprobe:$bin:k_$kind" "$kind")
		[ -n "$probed" ] && echo "hit,$kind,bpf,$base,$probed" >> "$out"
	fi
	echo "$kind done" >&2
done

# Two probes hit in turn: k_call and the k_ret it calls, as a program's loop runs
# several probes. Per hit: half of what the two add to a call of k_call.
half() { awk -v b="$1" -v p="$2" 'BEGIN {printf "%.1f\n", b + (p - b) / 2}'; }
base=$(ns call $((calls * 20)) 1)
echo "p:bench/pair_call $bin:${off[call]}" >> $T/uprobe_events
echo "p:bench/pair_ret $bin:${off[ret]}" >> $T/uprobe_events
echo 1 > $T/events/bench/enable
echo "hit,call_and_callee,tracefs,$base,$(half "$base" "$(ns call "$calls" 1)")" >> "$out"
echo 0 > $T/events/bench/enable
probed=$(perf stat -e bench:pair_call,bench:pair_ret -x, -o /dev/null -- "$bin" call "$calls" 1 |
	awk '{print $1}')
echo "hit,call_and_callee,perf,$base,$(half "$base" "$probed")" >> "$out"
clear_probes
echo "call_and_callee done" >&2

# Under icount, a profile of the hit path: cpu-clock samples are then instruction
# samples. Only the hits process's samples count (the idle vCPUs sample their halt).
if [ "$clock" = icount ]; then
	for kind in push_rbp sub_rsp; do
		echo "p:bench/prof_$kind $bin:${off[$kind]}" >> $T/uprobe_events
		echo 1 > $T/events/bench/prof_$kind/enable
		perf record -q -a -e cpu-clock -F 50000 -o /tmp/perf.data -- \
			"$bin" "$kind" $((calls * 5)) 1 > /dev/null 2>&1
		perf report -i /tmp/perf.data --comms hits --sort sym --no-children \
			--percentage relative --stdio 2>/dev/null |
			awk -v k="$kind" '/%/ && $1 ~ /%$/ {sub("%", "", $1); print "prof," k "," $NF "," $1}' |
			head -30 >> "$out"
		clear_probes
	done
fi

# Return probes on functions entered by a nop, a push (both kernels emulate them) and
# a stack adjustment (only ours does).
for kind in nop1 push_rbp sub_rsp; do
	base=$(ns $kind $((calls * 20)) 1)
	echo "r:bench/ret_$kind $bin:${off[$kind]}" >> $T/uprobe_events
	echo 1 > $T/events/bench/ret_$kind/enable
	echo "ret,$kind,tracefs,$base,$(ns $kind "$calls" 1)" >> "$out"
	echo 0 > $T/events/bench/ret_$kind/enable
	probed=$(perf stat -e "bench:ret_$kind" -x, -o /dev/null -- "$bin" "$kind" "$calls" 1 | awk '{print $1}')
	echo "ret,$kind,perf,$base,$probed" >> "$out"
	clear_probes
	probed=$(bpf "uretprobe:$bin:k_$kind" "$kind")
	[ -n "$probed" ] && echo "ret,$kind,bpf,$base,$probed" >> "$out"
done

# A real program: bash running a loop under probes on libc's malloc and free. perf stat
# takes bash's CPU time (task-clock, user and kernel: the hits run in its context) in
# every mode and counts the hits in perf mode; the row is written as the other hit rows,
# per hit: the whole run's CPU time divided by the number of hits, unprobed and probed.
# CPU time, not the elapsed time: that includes bash's waits for the 9p root (exec,
# page faults), which under icount are the idle vCPUs' skipped time, not instructions.
libc=$(ldd /bin/bash | awk '/libc.so/ {print $3}')
echo 'for ((i = 0; i < 1000; i++)); do v="item $i"; a[i % 8]=$v; done' > /tmp/loop.sh
cpu_ns() { awk '$2 == "msec" && $3 == "task-clock" {gsub(",", "", $1); printf "%.0f\n", $1 * 1e6}' "$1"; }
count_of() { awk -v ev="$2" '$2 == ev {gsub(",", "", $1); n += $1} END {print n + 0}' "$1"; }
# (libc's text is mapped at its file offsets: an address nm prints is the file offset.)
for f in malloc free; do
	echo "p:bench/$f $libc:0x$(nm -D "$libc" | awk -v f="$f" '$3 ~ "^" f "@@" {print $1}')"
done >> $T/uprobe_events
# A first run, thrown away, brings bash and the loop's pages into the page cache.
perf stat -e task-clock -o /dev/null -- bash /tmp/loop.sh
perf stat -e task-clock -o /tmp/stat.base -- bash /tmp/loop.sh
perf stat -e task-clock,bench:malloc,bench:free -o /tmp/stat.perf -- bash /tmp/loop.sh
echo 1 > $T/events/bench/enable
perf stat -e task-clock -o /tmp/stat.tracefs -- bash /tmp/loop.sh
echo 0 > $T/events/bench/enable
clear_probes
bpftrace -e "uprobe:$libc:malloc, uprobe:$libc:free { @hits = count(); }" \
	-c "$(command -v perf) stat -e task-clock -o /tmp/stat.bpf -- /bin/bash /tmp/loop.sh" > /dev/null 2>&1
hits=$(($(count_of /tmp/stat.perf bench:malloc) + $(count_of /tmp/stat.perf bench:free)))
if [ "$hits" -gt 0 ]; then
	base=$(cpu_ns /tmp/stat.base)
	for mode in tracefs perf bpf; do
		probed=$(cpu_ns /tmp/stat.$mode)
		[ -n "$probed" ] && echo "hit,bash_malloc_free,$mode,$((base / hits)),$((probed / hits))" >> "$out"
	done
fi
echo "bash loop done ($hits hits)" >&2

if [ "$clock" = time ]; then
	echo "p:bench/scale $bin:${off[nop1]}" >> $T/uprobe_events
	echo 1 > $T/events/bench/scale/enable
	for n in 1 2 4; do
		echo "threads,$n,$(tps nop1 "$calls" $n)" >> "$out"
	done
	clear_probes
fi

# Register and unregister N probes on libc while 10 processes map it: a copy of libc
# in the guest's tmpfs, which the 10 processes load instead. On the 9p root, which
# keeps no dentries, each event's path lookup is a round trip per path component to
# the host: a cost of this harness, not of either kernel, and most of the add's time.
reglib=/tmp/reglib
mkdir -p $reglib
cp "$libc" $reglib/
libc=$reglib/$(basename "$libc")
ldso=$(ldd /bin/sleep | awk '/ld-linux/ {print $1}')
mapfile -t funcs < <(nm -D --defined-only "$libc" | awk '$2 == "T" || $2 == "W" {print $1}' |
	sort -u | head -1000)
pids=
for i in $(seq 10); do "$ldso" --library-path $reglib /bin/sleep 600 & pids="$pids $!"; done
sleep 1
grep -q "$libc" /proc/${pids##* }/maps || echo "bench: the processes did not map $libc" >&2
slab_kb() { awk '/^Slab:/ {print $2}' /proc/meminfo; }
for n in 1 10 100 1000; do
	[ "$n" -le "${#funcs[@]}" ] || break
	slab0=$(slab_kb)
	t0=$(ms)
	for ((i = 0; i < n; i++)); do
		echo "p:benchreg/f$i $libc:0x${funcs[$i]}"
	done >> $T/uprobe_events
	td=$(ms)
	# A kernel that refuses one of the probes fails the enable: say so in the figures.
	enabled=1
	echo 1 > $T/events/benchreg/enable || enabled=0
	t1=$(ms)
	[ "$n" = 1000 ] && echo "mem,probe,$((($(slab_kb) - slab0) * 1024 / n))" >> "$out"
	t1b=$(ms)	# the removal's clock starts after that reading
	echo 0 > $T/events/benchreg/enable
	echo > $T/uprobe_events
	t2=$(ms)
	# add+enable, disable+remove, enabled, then add (the event definitions) and enable apart
	echo "reg,$n,$((t1 - t0)),$((t2 - t1b)),$enabled,$((td - t0)),$((t1 - td))" >> "$out"
	echo "reg $n done" >&2
done
kill $pids 2>/dev/null
wait 2>/dev/null

[ "$clock" = time ] || exit 0

# Memory per probed process: ten processes hitting a probe on a stack adjustment,
# against the same ten unprobed; and how many of them got an XOL area.
free_kb() { awk '/^MemFree:/ {print $2}' /proc/meminfo; }
run_ten()
{
	local p pids=
	for p in $(seq 10); do "$bin" sub_rsp 1000000000 1 & pids="$pids $!"; done
	sleep 5
	free_after=$(free_kb)
	xol_areas=0
	for p in $pids; do
		grep -q '\[uprobes\]' /proc/$p/maps && xol_areas=$((xol_areas + 1))
	done
	kill $pids
	wait 2>/dev/null
}
sync; echo 3 > /proc/sys/vm/drop_caches
run_ten
unprobed=$free_after
echo "p:bench/mem $bin:${off[sub_rsp]}" >> $T/uprobe_events
echo 1 > $T/events/bench/mem/enable
sync; echo 3 > /proc/sys/vm/drop_caches
run_ten
echo "mem,process,$(((unprobed - free_after) / 10)),$xol_areas" >> "$out"
clear_probes
exit 0
