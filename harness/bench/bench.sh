#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: build stock and ours with the same config, boot each the same way, run the
# same workloads (guest.sh), and report ours/stock ratios from this one run into
# bench/RESULTS.md and bench/hits.png. Absolute times under QEMU TCG mean little; the
# ratios between two kernels booted alike in the same run are the result.
. "$(dirname "$0")/../lib.sh"

calls=${BENCH_CALLS:-20000}
out=$BUILD/bench
mkdir -p "$out" "$REPO/bench"
gcc -O2 -Wall -o "$out/hits" "$REPO/harness/bench/hits.c" -lpthread

for k in stock ours; do
	KERNEL=$k "$REPO/harness/build.sh"
done
# BENCH_BEFORE=REV: our kernel as it was at git revision REV joins every round, built
# with today's harness and config (a worktree in build/before), so that a change's
# before and after are measured in one run against one stock.
kernels="stock ours"
if [ -n "${BENCH_BEFORE:-}" ]; then
	before=$BUILD/before
	rev=$(git -C "$REPO" rev-parse --verify "$BENCH_BEFORE^{commit}")
	git -C "$REPO" worktree remove --force "$before" 2>/dev/null || rm -rf "$before"
	git -C "$REPO" worktree add -q --detach "$before" "$rev"
	rm -rf "$before/harness"
	cp -a "$REPO/harness" "$before/harness"
	KERNEL=ours "$before/harness/build.sh"
	before_image=$before/build/obj/ours-$ARCH/$KIMAGE
	kernels="stock ours before"
fi
# Rounds alternate the kernels, so that a slow spell of this shared machine falls on
# both; the report takes the median of each figure and shows the per-round spread.
rounds=${BENCH_ROUNDS:-3}
# BENCH_ICOUNT rounds (default 1; 0: none) follow, booted under QEMU's icount
# (VM_ICOUNT=1): the guest clock counts instructions, so the same workloads give
# instructions per hit, the same from run to run and whatever the host's load.
icount_rounds=${BENCH_ICOUNT:-1}
rm -f "$out"/*.csv
bench_round() # CLOCK ROUND KERNEL
{
	local clock=$1 r=$2 k=$3 image= prefix=
	[ "$k" = before ] && image=$before_image
	[ "$clock" = icount ] && prefix=icount-
	KERNEL=${k/before/ours} VM_KERNEL=$image VM_TIMEOUT=2400 \
		VM_ICOUNT=$([ "$clock" = icount ] && echo 1 || echo 0) "$REPO/harness/vm.sh" \
		"bash $REPO/harness/bench/guest.sh $out/hits $out/$prefix$k.$r.csv $calls $clock"
}
for r in $(seq "$rounds"); do
	for k in $kernels; do
		step "round $r of $rounds: benchmarking the $k kernel ($calls probed calls per workload)"
		bench_round time "$r" "$k"
	done
done
for r in $(seq "$icount_rounds"); do
	for k in $kernels; do
		step "icount round $r of $icount_rounds: counting the $k kernel's instructions"
		bench_round icount "$r" "$k"
	done
done

# The exact instructions of one hit of two kinds, stock and ours (trace.sh): x86, gdb.
traces=()
if [ "$ARCH" = x86_64 ] && [ "${BENCH_TRACE:-1}" = 1 ] && command -v gdb > /dev/null; then
	for kind in push_rbp sub_rsp; do
		for k in stock ours; do
			step "tracing one $kind hit of the $k kernel, instruction by instruction"
			"$REPO/harness/bench/trace.sh" "$k" "$kind" "$out/trace-$k-$kind.txt"
		done
		traces+=(--trace "$kind:$out/trace-stock-$kind.txt:$out/trace-ours-$kind.txt")
	done
fi

step "writing bench/RESULTS.md"
csvs() { seq "$2" | sed "s|.*|$out/$1.&.csv|" | paste -sd,; }
args=(--stock "$(csvs stock "$rounds")" --ours "$(csvs ours "$rounds")"
      --md "$REPO/bench/RESULTS.md" --plot "$out/plot.dat" --calls "$calls" "${traces[@]}")
if [ "$icount_rounds" -gt 0 ]; then
	args+=(--icount-stock "$(csvs icount-stock "$icount_rounds")"
	       --icount-ours "$(csvs icount-ours "$icount_rounds")")
fi
if [ -n "${BENCH_BEFORE:-}" ]; then
	args+=(--before "$(csvs before "$rounds")"
	       --before-label "$(git -C "$REPO" log -1 --format='%h (%cs)' "$rev")")
	[ "$icount_rounds" -gt 0 ] && args+=(--icount-before "$(csvs icount-before "$icount_rounds")")
fi
python3 "$REPO/harness/bench/report.py" "${args[@]}"
if ! command -v gnuplot >/dev/null; then
	[ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
fi
if command -v gnuplot >/dev/null; then
	gnuplot -e "data='$out/plot.dat'; png='$REPO/bench/hits.png'" "$REPO/harness/bench/plot.gp"
else
	echo "bench: no gnuplot, no plot" >&2
fi
cat "$REPO/bench/RESULTS.md"
