# SPDX-License-Identifier: GPL-2.0
# Per-hit cost of a probe by the kind of the probed instruction, stock against ours:
# time under TCG (columns 2, 3) and, from the icount rounds, instructions (4, 5).
set terminal pngcairo size 1150,950 noenhanced
set output png
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -40
set grid ytics
set key top left
set yrange [0:*]
set bmargin 7
set rmargin 10
set multiplot layout 2,1
set title "uprobe hit cost by probed instruction (tracefs event enabled, QEMU TCG, median of the rounds of one run)"
set ylabel "microseconds per hit"
plot data using 2:xtic(1) title "stock 6.12", '' using 3 title "ours"
set title "the same, counted in guest instructions (QEMU icount)"
set ylabel "instructions per hit"
plot data using 4:xtic(1) title "stock 6.12", '' using 5 title "ours"
unset multiplot
