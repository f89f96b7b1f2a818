# SPDX-License-Identifier: GPL-2.0
# Per-hit cost of a probe by the kind of the probed instruction, stock against ours.
set terminal pngcairo size 1100,520 noenhanced
set output png
set title "uprobe hit cost by probed instruction (tracefs event enabled, QEMU TCG, median of the rounds of one run)"
set ylabel "microseconds per hit"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -40
set grid ytics
set key top left
plot data using 2:xtic(1) title "stock 6.12", '' using 3 title "ours"
