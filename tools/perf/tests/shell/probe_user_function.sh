#!/bin/bash
# perf probe -x on a user program: symbol, source line, %return (exclusive)
# SPDX-License-Identifier: GPL-2.0
#
# Builds a small program with gcc -g, puts probes on one of its functions with
# perf probe (by symbol with arguments, by source line with a local variable,
# and on return with $retval), lists them, records hits with perf record and
# perf script, counts them with perf stat per task and system-wide, and
# removes them.  Exit 2 (skip) when a tool is missing.

set -e

skip() { echo "Skip: $*"; exit 2; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v gcc > /dev/null || skip "no gcc"
perf probe --help > /dev/null 2>&1 || skip "no perf probe"

dir=$(mktemp -d /tmp/perf-uprobe.XXXXXX)
group=probe_uptest
cleanup() {
	perf probe -q -d "$group:*" > /dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM

cat > "$dir/uptest.c" <<'SRC'
#include <stdlib.h>

__attribute__((noinline)) int uptest_func(int num, long scale)
{
	int doubled = num * 2;

	asm volatile("" : "+r"(doubled));
	return doubled + (int)scale;
}

int main(int argc, char **argv)
{
	int i, calls = argc > 1 ? atoi(argv[1]) : 1, sum = 0;

	for (i = 0; i < calls; i++)
		sum += uptest_func(20 + i, 1);
	return sum > 0 ? 0 : 1;
}
SRC
gcc -g -O0 -o "$dir/uptest" "$dir/uptest.c" || skip "cannot build the test program"
prog=$dir/uptest
# The line that computes 'doubled'; its value is known on the next line.
line=$(grep -n 'asm volatile' "$dir/uptest.c" | cut -d: -f1)

perf probe -q -d "$group:*" > /dev/null 2>&1 || true
perf probe -x "$prog" -a "$group:entry=uptest_func num scale" ||
	skip "perf probe cannot read the program's debug info"
perf probe -x "$prog" -a "$group:atline=uptest.c:$line doubled"
# perf 6.1 cannot add a %return probe in the test guest ("Failed to find
# symbol", with stock and new kernels alike): then the return probe is made
# through tracefs at the function's first instruction (a return probe
# anywhere else would take the wrong stack slot for the return address).
if ! perf probe -x "$prog" -a "$group:exit=uptest_func%return \$retval"; then
	tracefs=/sys/kernel/tracing
	[ -f $tracefs/uprobe_events ] || tracefs=/sys/kernel/debug/tracing
	addr=0x$(nm "$prog" | awk '$3 == "uptest_func" { print $1 }')
	offset=$(readelf -lW "$prog" | awk '$1 == "LOAD" { print $2, $3, $5 }' |
		while read off va size; do
			if [ $((addr)) -ge $((va)) ] && [ $((addr)) -lt $((va + size)) ]; then
				printf '0x%x\n' $((addr - va + off))
			fi
		done)
	echo "r:$group/exit__return $prog:$offset arg1=\$retval:s32" >> $tracefs/uprobe_events
fi

perf probe -l 2>&1 | tee "$dir/list"
grep -q "$group:entry .*uptest_func" "$dir/list"
grep -q "$group:atline .*uptest_func" "$dir/list"
grep -q "$group:exit__return " "$dir/list"

# Per-task recording, the return probe in a run of its own.
perf record -q -o "$dir/perf.data" -e "$group:entry" -e "$group:atline" -- "$prog" 3 2>&1
perf script -i "$dir/perf.data" 2>&1 | tee "$dir/script"
perf record -q -o "$dir/perf.data" -e "$group:exit__return" -- "$prog" 3 2>&1
perf script -i "$dir/perf.data" 2>&1 | tee -a "$dir/script"
grep -q "$group:entry: (.*) num=20 scale=1" "$dir/script"
grep -q "$group:entry: (.*) num=22 scale=1" "$dir/script"
grep -q "$group:atline: (.*) doubled=42" "$dir/script"
grep -Eq "$group:exit__return: \(.* <- .*\) arg1=(43|0x2b)" "$dir/script"
test "$(grep -c "$group:entry:" "$dir/script")" -eq 3

# Counting, per task and system-wide.
perf stat -x, -e "$group:entry" -e "$group:exit__return" -- "$prog" 5 2> "$dir/stat"
cat "$dir/stat"
grep -q "^5,,$group:entry" "$dir/stat"
grep -q "^5,,$group:exit__return" "$dir/stat"
perf stat -a -x, -e "$group:entry" -- "$prog" 4 2> "$dir/stat"
cat "$dir/stat"
grep -q "^4,,$group:entry" "$dir/stat"

perf probe -d "$group:*"
! perf probe -l 2>&1 | grep -q "$group:"
exit 0
