#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make probe-coverage: for the first instruction of every function symbol of Debian's
# libc, bash and coreutils, the share that ours and stock 6.12 run without a
# single-step, by instruction kind, into bench/COVERAGE.md. A static scan: it asks our
# analysis code itself (compiled in user space over harness/bench/shim) and stock's
# rule (coverage.c says which).
. "$(dirname "$0")/../lib.sh"

"$REPO/harness/tree.sh" >/dev/null
out=$BUILD/bench
mkdir -p "$out" "$REPO/bench"
tools=$SRC/tools
awk -f "$tools/arch/x86/tools/gen-insn-attr-x86.awk" "$tools/arch/x86/lib/x86-opcode-map.txt" \
	> "$out/inat-tables.c"
gcc -O1 -Wall -Wno-unused-function -I "$REPO/harness/bench/shim" -I "$tools/arch/x86/include" \
	-I "$tools/include" -I "$out" -o "$out/probe-coverage" "$REPO/harness/bench/coverage.c" \
	"$tools/arch/x86/lib/insn.c" "$tools/arch/x86/lib/inat.c"

libc=$(ldd /bin/bash | awk '/libc.so/ {print $3}')
coreutils=$(dpkg -L coreutils | grep -E '^/(usr/)?bin/' | while read -r f; do
	if [ -f "$f" ] && [ ! -L "$f" ]; then echo "$f"; fi; done)
files="$libc /bin/bash $coreutils"
"$out/probe-coverage" $files > "$out/coverage.tsv"

{
	echo "# Probe coverage: function entries run without a single-step"
	echo
	echo "Scanned $(date -u +%Y-%m-%d) on $(hostname): the first instruction of every function"
	echo "symbol (.symtab and .dynsym, aliases once) of $(basename "$libc"), bash and the"
	echo "$(echo $coreutils | wc -w) coreutils programs of Debian 12. 'ours' asks our analysis"
	echo "(arch/x86/kernel/uprobes/decode.c, compiled in user space); 'stock' applies 6.12's rule"
	echo "(1-byte nop, push of a register, relative call/jmp/jcc). \`make probe-coverage\` redoes it."
	echo
	echo "| first instruction | functions | ours emulated | stock emulated |"
	echo "|---|---:|---:|---:|"
	sort -t$'\t' -k2 -nr "$out/coverage.tsv" | awk -F'\t' '
		function pct(a, b) { return b ? sprintf("%.1f%%", 100 * a / b) : "-" }
		$1 == "TOTAL" { total = $0; next }
		{ printf "| %s | %d | %d (%s) | %d (%s) |\n", $1, $2, $3, pct($3, $2), $4, pct($4, $2) }
		END { split(total, t, "\t")
		      printf "| **all** | %d | %d (%s) | %d (%s) |\n", t[2], t[3], pct(t[3], t[2]), t[4], pct(t[4], t[2]) }'
} > "$REPO/bench/COVERAGE.md"
cat "$REPO/bench/COVERAGE.md"
