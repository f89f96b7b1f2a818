#!/bin/bash
# perf probe -x refuses an address inside an instruction (exclusive)
# SPDX-License-Identifier: GPL-2.0
#
# A uprobe at an offset inside an instruction overwrites an operand byte and
# the program computes something else. Our perf (tools/perf/util/probe-insn.c)
# decodes the function the address falls in and refuses such an offset; this
# checks that, by symbol (func+N), by DWARF (func+N with debug info) and by raw
# file offset, that boundaries next to it are still accepted and hit, and that
# plain function probes are unchanged. Exit 2 (skip) for a perf without the
# check: perf older than 6.12, or a perf binary not built from our tree.

set -e

skip() { echo "Skip: $*"; exit 2; }
[ "$(id -u)" = 0 ] || skip "needs root"
[ "$(uname -m)" = x86_64 ] || skip "the check decodes x86 code"
command -v gcc > /dev/null || skip "no gcc"
command -v objdump > /dev/null || skip "no objdump"
perf probe --help > /dev/null 2>&1 || skip "no perf probe"

version=$(perf version | sed -n 's/^perf version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r major minor <<< "$version"
[ -n "$major" ] || skip "cannot read the perf version"
[ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 12 ]; } ||
	skip "perf $major.$minor predates the instruction-boundary check"
# The check's own error text is in a perf binary that has it.
grep -qa 'is not an instruction boundary' "$(command -v perf)" ||
	skip "this perf ($(command -v perf)) was not built with the instruction-boundary check"

dir=$(mktemp -d /tmp/perf-insn-boundary.XXXXXX)
group=probe_boundary
cleanup() {
	perf probe -q -d "$group:*" > /dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM

# boundary_func has a fixed encoding: a 5-byte mov at +0, a 2-byte add at +5,
# ret at +7. A breakpoint at +1 would replace the low byte of 0x12345678.
cat > "$dir/sym.c" <<'SRC'
#include <stdlib.h>

asm(".text\n"
    ".globl boundary_func\n"
    ".type boundary_func, @function\n"
    "boundary_func:\n"
    "	movl $0x12345678, %eax\n"
    "	addl %edi, %eax\n"
    "	ret\n"
    ".size boundary_func, .-boundary_func\n");

int boundary_func(int x);

int main(int argc, char **argv)
{
	int i, calls = argc > 1 ? atoi(argv[1]) : 1;

	for (i = 0; i < calls; i++)
		if (boundary_func(i) != 0x12345678 + i)
			return 1;
	return 0;
}
SRC
# A C function with debug info, so that func+N goes through perf's DWARF path.
cat > "$dir/dwarf.c" <<'SRC'
#include <stdlib.h>

__attribute__((noinline)) long dwarf_func(long x)
{
	long y = x * 0x1234567;

	return y + 0x7654321;
}

int main(int argc, char **argv)
{
	int i, calls = argc > 1 ? atoi(argv[1]) : 1;
	long sum = 0;

	for (i = 0; i < calls; i++)
		sum += dwarf_func(i);
	return sum == 0;
}
SRC
# No -g for the first: without debug info perf resolves func+N by symbol.
gcc -O1 -o "$dir/sym" "$dir/sym.c" || skip "cannot build the test program"
gcc -g -O0 -o "$dir/dwarf" "$dir/dwarf.c" || skip "cannot build the test program"
sym=$dir/sym
dwarf=$dir/dwarf

# file_offset PROG SYMBOL: the file offset of SYMBOL, as uprobe_events takes it.
file_offset() {
	local addr
	addr=0x$(nm "$1" | awk -v s="$2" '$3 == s { print $1 }')
	readelf -lW "$1" | awk '$1 == "LOAD" { print $2, $3, $5 }' |
		while read -r off va size; do
			if [ $((addr)) -ge $((va)) ] && [ $((addr)) -lt $((va + size)) ]; then
				echo $((addr - va + off))
			fi
		done
}

# refused PROG PROBE: perf probe fails with our error and adds nothing.
refused() {
	if perf probe -x "$1" -a "$group:bad=$2" > "$dir/out" 2>&1; then
		cat "$dir/out"
		echo "FAIL: perf probe accepted '$2' inside an instruction"
		return 1
	fi
	cat "$dir/out"
	grep -q 'is not an instruction boundary' "$dir/out" || {
		echo "FAIL: '$2' was refused without the boundary error"; return 1; }
	if perf probe -l 2>/dev/null | grep -q "$group:bad"; then
		echo "FAIL: a refused probe was created"; return 1
	fi
}

# hits EVENT PROG CALLS: perf stat counts CALLS hits and the program's checks pass.
hits() {
	perf stat -x, -e "$1" -- "$2" "$3" 2> "$dir/stat"
	cat "$dir/stat"
	grep -q "^$3,,$1" "$dir/stat"
}

perf probe -q -d "$group:*" > /dev/null 2>&1 || true

echo "== by symbol: boundary_func+1 is inside the 5-byte mov"
refused "$sym" boundary_func+1
refused "$sym" boundary_func+4
perf probe -x "$sym" -a "$group:add=boundary_func+5"
hits "$group:add" "$sym" 4
perf probe -d "$group:add"

echo "== by raw file offset"
base=$(file_offset "$sym" boundary_func)
[ -n "$base" ] || { echo "FAIL: no file offset for boundary_func"; exit 1; }
refused "$sym" "$(printf '0x%x' $((base + 2)))"
perf probe -x "$sym" -a "$group:raw=$(printf '0x%x' $((base + 5)))"
hits "$group:raw" "$sym" 3
perf probe -d "$group:raw"

echo "== plain function probes are unchanged"
perf probe -x "$sym" -a "$group:entry=boundary_func"
hits "$group:entry" "$sym" 5
perf probe -d "$group:entry"
perf probe -x "$dwarf" -a "$group:dentry=dwarf_func x"
hits "$group:dentry" "$dwarf" 3
perf probe -d "$group:dentry"

echo "== through DWARF: the first instruction longer than a byte, and the next one"
objdump -d --no-show-raw-insn --disassemble=dwarf_func "$dwarf" |
	awk '/^ *[0-9a-f]+:/ { sub(":", "", $1); print $1 }' > "$dir/insns"
start=0x$(nm "$dwarf" | awk '$3 == "dwarf_func" { print $1 }')
mid= next=
prev=
while read -r addr; do
	if [ -n "$prev" ] && [ $((0x$addr - 0x$prev)) -gt 1 ]; then
		mid=$((0x$prev + 1 - start))
		next=$((0x$addr - start))
		break
	fi
	prev=$addr
done < "$dir/insns"
[ -n "$mid" ] || { echo "FAIL: no multi-byte instruction found in dwarf_func"; exit 1; }
refused "$dwarf" "dwarf_func+$mid"
perf probe -x "$dwarf" -a "$group:dnext=dwarf_func+$next"
hits "$group:dnext" "$dwarf" 2

perf probe -d "$group:*"
if perf probe -l 2>&1 | grep -q "$group:"; then
	echo "FAIL: probes left after perf probe -d"
	exit 1
fi
exit 0
