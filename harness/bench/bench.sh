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
rm -f "$out"/stock.*.csv "$out"/ours.*.csv "$out"/before.*.csv
for r in $(seq "$rounds"); do
	for k in $kernels; do
		step "round $r of $rounds: benchmarking the $k kernel ($calls probed calls per workload)"
		image=
		[ "$k" = before ] && image=$before_image
		KERNEL=${k/before/ours} VM_KERNEL=$image VM_TIMEOUT=1800 "$REPO/harness/vm.sh" \
			"bash $REPO/harness/bench/guest.sh $out/hits $out/$k.$r.csv $calls"
	done
done

step "writing bench/RESULTS.md"
csvs() { seq "$rounds" | sed "s|.*|$out/$1.&.csv|" | paste -sd,; }
python3 "$REPO/harness/bench/report.py" "$(csvs stock)" "$(csvs ours)" \
	"$REPO/bench/RESULTS.md" "$out/plot.dat" "$calls" \
	${BENCH_BEFORE:+"$(csvs before)" "$(git -C "$REPO" log -1 --format='%h (%cs)' "$rev")"}
if ! command -v gnuplot >/dev/null; then
	[ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
fi
if command -v gnuplot >/dev/null; then
	gnuplot -e "data='$out/plot.dat'; png='$REPO/bench/hits.png'" "$REPO/harness/bench/plot.gp"
else
	echo "bench: no gnuplot, no plot" >&2
fi
cat "$REPO/bench/RESULTS.md"
