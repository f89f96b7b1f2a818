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
echo; echo "All probes removed; the programs ran unchanged."
