# SPDX-License-Identifier: GPL-2.0
"""Turn the benchmark's two CSV files into bench/RESULTS.md and gnuplot data."""
import csv
import datetime
import platform
import subprocess
import sys

stock_csv, ours_csv, md_path, plot_path, calls = sys.argv[1:6]


def load(path):
    rows = {}
    with open(path) as f:
        for r in csv.reader(f):
            if r:
                rows[tuple(r[:-2]) if r[0] in ('hit', 'ret') else tuple(r[:2])] = r
    return rows


stock, ours = load(stock_csv), load(ours_csv)


def per_hit(r):
    """Microseconds a hit adds to a call: probed minus unprobed."""
    return (float(r[4]) - float(r[3])) / 1000.0


lines = []
lines.append('# Benchmark: ours against stock 6.12\n')
cpu = subprocess.run(['sh', '-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
lines.append('Measured %s on %s (%s), both kernels built from the same tree and config and '
             'booted the same way under QEMU TCG with 4 vCPUs, one after the other in one '
             '`make bench` run. Per-hit cost is the time per call of a function with the '
             'probe enabled minus the time per call without it (%s probed calls). Ratios are '
             'stock/ours for costs (above 1: ours is faster) and ours/stock for throughput.\n'
             % (datetime.date.today(), platform.node(), cpu, calls))
lines.append('## Hit cost by probed instruction\n')
lines.append('| first instruction | mode | stock us/hit | ours us/hit | speed-up |')
lines.append('|---|---|---:|---:|---:|')
plot = []
for key, s in stock.items():
    if key[0] != 'hit' or key not in ours:
        continue
    a, b = per_hit(s), per_hit(ours[key])
    lines.append('| %s | %s | %.1f | %.1f | %.2fx |' % (key[1], key[2], a, b, a / b if b > 0 else 0))
    if key[2] == 'tracefs':
        plot.append('%s %.2f %.2f' % (key[1], a, b))
for key, s in stock.items():
    if key[0] == 'ret' and key in ours:
        a, b = per_hit(s), per_hit(ours[key])
        lines.append('| return probe on %s | %s | %.1f | %.1f | %.2fx |' % (key[1], key[2], a, b, a / b))
lines.append('\n## Threads hitting one probe (nop, tracefs)\n')
lines.append('| threads | stock hits/s | ours hits/s | ours/stock | ours vs ours 1-thread |')
lines.append('|---:|---:|---:|---:|---:|')
one = float(ours.get(('threads', '1'), [0, 0, 1])[2])
for key, s in stock.items():
    if key[0] == 'threads' and key in ours:
        a, b = float(s[2]), float(ours[key][2])
        lines.append('| %s | %.0f | %.0f | %.2fx | %.2fx |' % (key[1], a, b, b / a, b / one))
lines.append('\n## Registering and removing probes on libc mapped by 10 processes\n')
lines.append('| probes | stock add+enable ms | ours | stock disable+remove ms | ours | removal speed-up |')
lines.append('|---:|---:|---:|---:|---:|---:|')
for key, s in stock.items():
    if key[0] == 'reg' and key in ours:
        o = ours[key]
        lines.append('| %s | %s | %s | %s | %s | %.2fx |' % (key[1], s[2], o[2], s[3], o[3],
                     float(s[3]) / max(float(o[3]), 1)))
lines.append('\n## Memory\n')
lines.append('| what | stock | ours |')
lines.append('|---|---:|---:|')
if ('mem', 'probe') in stock and ('mem', 'probe') in ours:
    lines.append('| kernel memory per probe (Slab growth over 1000 probes on libc, 10 processes) '
                 '| %s B | %s B |' % (stock[('mem', 'probe')][2], ours[('mem', 'probe')][2]))
if ('mem', 'process') in stock and ('mem', 'process') in ours:
    # MemFree deltas of ten small processes drown in the guest's noise; what a probed
    # process costs is its XOL area (a page and its bookkeeping), if it gets one.
    lines.append('| of 10 processes hitting a probe on `sub $0x18,%%rsp`, how many got an XOL area '
                 '(`[uprobes]`: one page each, plus its bookkeeping) | %s | %s |'
                 % (stock[('mem', 'process')][3], ours[('mem', 'process')][3]))
lines.append('\n![hit cost by instruction](hits.png)\n')
with open(md_path, 'w') as f:
    f.write('\n'.join(lines) + '\n')
with open(plot_path, 'w') as f:
    f.write('\n'.join(plot) + '\n')
