#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The `make run` tour, inside the guest: probe a real program with perf and with tracefs.
set -e
repo=$(cd "$(dirname "$0")/../.." && pwd)
T=/sys/kernel/tracing
show() { printf '\n$ %s\n' "$*"; "$@"; }

echo "kernel $(uname -r)"
cd /tmp
gcc -g -O0 -o wordfreq "$repo/harness/demo/wordfreq.c"

echo; echo "== 1. perf probe on a function of a program, with its arguments from DWARF"
show perf probe -q -x ./wordfreq 'count_word word:string len'
show perf probe -q -x ./wordfreq 'count_word%return $retval'
show perf probe -l
echo; echo "== 2. perf record on those probes while the program runs"
show perf record -q -e probe_wordfreq:count_word -e probe_wordfreq:count_word__return \
	-o /tmp/perf.data -- ./wordfreq uprobes are dynamic probes
show perf script -i /tmp/perf.data
show perf probe -q -d 'probe_wordfreq:*'

echo; echo "== 3. a probe in libc, by hand, through tracefs dynamic_events"
libc=$(ldd /bin/bash | awk '/libc.so/ {print $3}')
off=0x$(nm -D "$libc" | awk '$3 ~ /^getenv@@/ {print $1}')
show sh -c "echo 'p:demo/getenv $libc:$off name=+0(%di):string' >> $T/dynamic_events"
show cat $T/dynamic_events
echo 1 > $T/events/demo/getenv/enable
bash -c 'echo $HOME > /dev/null; : ${LANG}'
echo 0 > $T/events/demo/getenv/enable
show sh -c "grep getenv $T/trace | head -5"
show sh -c "echo '-:demo/getenv' >> $T/dynamic_events"
show cat $T/dynamic_events
tree_perf=$repo/build/perf/perf
if [ -x "$tree_perf" ]; then
	echo; echo "== 4. the same probes with the perf built from the tree ($("$tree_perf" --version))"
	show "$tree_perf" probe -q -x ./wordfreq 'count_word word:string len'
	show "$tree_perf" stat -x, -e probe_wordfreq:count_word -- ./wordfreq three more words
	show "$tree_perf" probe -q -d 'probe_wordfreq:*'
	# The first instruction of count_word longer than one byte: an offset inside it.
	start=0x$(nm wordfreq | awk '$3 == "count_word" { print $1 }')
	mid= prev=
	for addr in $(objdump -d --no-show-raw-insn --disassemble=count_word wordfreq |
		      awk '/^ *[0-9a-f]+:/ { sub(":", "", $1); print $1 }'); do
		if [ -n "$prev" ] && [ $((0x$addr - 0x$prev)) -gt 1 ]; then
			mid=$((0x$prev + 1 - start))
			break
		fi
		prev=$addr
	done
	echo; echo "== 5. an offset inside an instruction: perf 6.1 would write it, ours refuses"
	show perf probe -n -x ./wordfreq "count_word+$mid" || true
	show "$tree_perf" probe -x ./wordfreq "count_word+$mid" || true
else
	echo; echo "(no perf built from the tree: 'make perf' builds it)"
fi
echo; echo "All probes removed; the programs ran unchanged."
