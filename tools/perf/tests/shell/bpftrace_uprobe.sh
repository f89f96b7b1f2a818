#!/bin/bash
# bpftrace uprobe: and uretprobe: on a user program (exclusive)
# SPDX-License-Identifier: GPL-2.0
#
# bpftrace attaches through the perf uprobe PMU (create_local_trace_uprobe())
# and runs BPF programs on the hits: count entries and returns, sum the first
# argument and the return values, and name the function through func, which
# reads the probe address that the uprobe event dispatcher publishes.
# Exit 2 (skip) when bpftrace cannot run here.

set -e

skip() { echo "Skip: $*"; exit 2; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v gcc > /dev/null || skip "no gcc"
command -v bpftrace > /dev/null || skip "no bpftrace"

dir=$(mktemp -d /tmp/bpftrace-uprobe.XXXXXX)
trap 'rm -rf "$dir"' EXIT

cat > "$dir/uptest.c" <<'SRC'
#include <stdlib.h>

__attribute__((noinline)) int uptest_func(int num)
{
	asm volatile("" : "+r"(num));
	return num + 1;
}

int main(int argc, char **argv)
{
	int i, calls = argc > 1 ? atoi(argv[1]) : 1, sum = 0;

	for (i = 0; i < calls; i++)
		sum += uptest_func(10);
	return sum > 0 ? 0 : 1;
}
SRC
gcc -g -O1 -no-pie -fno-pie -o "$dir/uptest" "$dir/uptest.c" || skip "cannot build the test program"
prog=$dir/uptest

bpftrace -e 'BEGIN { exit(); }' > /dev/null 2>&1 || skip "bpftrace cannot run BPF programs here"

bpftrace -e "
uprobe:$prog:uptest_func { @entries = count(); @args = sum(arg0); @func[func] = count(); }
uretprobe:$prog:uptest_func { @returns = count(); @rets = sum(retval); }
" -c "$prog 5" > "$dir/out" 2>&1 || { cat "$dir/out"; exit 1; }
cat "$dir/out"
grep -qx '@entries: 5' "$dir/out"
grep -qx '@returns: 5' "$dir/out"
grep -qx '@args: 50' "$dir/out"
grep -qx '@rets: 55' "$dir/out"
# func is the probed address (as published by the dispatcher), maybe symbolized.
addr=$(nm "$prog" | awk '$3 == "uptest_func" { print $1 }' | sed 's/^0*//')
grep -Eqx "@func\[(uptest_func|0x$addr)\]: 5" "$dir/out"
exit 0
