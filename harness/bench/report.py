# SPDX-License-Identifier: GPL-2.0
"""Turn the benchmark's CSV files (one per kernel and round) into bench/RESULTS.md and
gnuplot data. Each figure is the median over the rounds; a hit's speed-up also shows
the lowest and highest of the per-round ratios (round r of stock against round r of
ours), which says how much of a ratio is noise."""
import csv
import datetime
import platform
import statistics
import subprocess
import sys

stock_csvs, ours_csvs, md_path, plot_path, calls = sys.argv[1:6]
# make bench BENCH_BEFORE=REV: our kernel at REV, measured in the same rounds.
before_csvs, before_label = (sys.argv[6:8] + [None, None])[:2]


def key_of(r):
    return tuple(r[:-2]) if r[0] in ('hit', 'ret') else tuple(r[:2])


def load_round(path):
    rows = {}
    with open(path) as f:
        for r in csv.reader(f):
            if r:
                rows[key_of(r)] = r
    return rows


def median_rows(rounds):
    """One row per key, each numeric field the median of the rounds that have the key."""
    rows = {}
    for key in rounds[0]:
        have = [r[key] for r in rounds if key in r]
        fields = list(have[0][:len(key)])
        for i in range(len(key), len(have[0])):
            fields.append('%g' % statistics.median(float(h[i]) for h in have))
        rows[key] = fields
    return rows


stock_rounds = [load_round(p) for p in stock_csvs.split(',')]
ours_rounds = [load_round(p) for p in ours_csvs.split(',')]
stock, ours = median_rows(stock_rounds), median_rows(ours_rounds)
nrounds = min(len(stock_rounds), len(ours_rounds))


def per_hit(r):
    """Microseconds a hit adds to a call: probed minus unprobed."""
    return (float(r[4]) - float(r[3])) / 1000.0


def ratio_range(key, slow_rounds=None, fast_rounds=None):
    """Lowest and highest per-hit ratio (stock/ours unless told) over the paired rounds."""
    ratios = []
    for s, o in zip(slow_rounds or stock_rounds, fast_rounds or ours_rounds):
        if key in s and key in o and per_hit(o[key]) > 0:
            ratios.append(per_hit(s[key]) / per_hit(o[key]))
    return '%.2f-%.2f' % (min(ratios), max(ratios)) if ratios else '-'


lines = []
lines.append('# Benchmark: ours against stock 6.12\n')
cpu = subprocess.run(['sh', '-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
lines.append('Measured %s on %s (%s), both kernels built from the same tree and config and '
             'booted the same way under QEMU TCG with 4 vCPUs, in one `make bench` run of '
             '%d rounds, each round booting stock and then ours%s; every figure is the median '
             'over the rounds. Per-hit cost is the time per call of a function with the '
             'probe enabled minus the time per call without it (%s probed calls). Ratios are '
             'stock/ours for costs (above 1: ours is faster) and ours/stock for throughput.\n'
             % (datetime.date.today(), platform.node(), cpu, nrounds,
                ' (and then ours at %s)' % before_label if before_csvs else '', calls))
lines.append('## Hit cost by probed instruction\n')
lines.append('| first instruction | mode | stock us/hit | ours us/hit | speed-up | per round |')
lines.append('|---|---|---:|---:|---:|---:|')
plot = []
for key, s in stock.items():
    if key[0] != 'hit' or key not in ours:
        continue
    a, b = per_hit(s), per_hit(ours[key])
    lines.append('| %s | %s | %.1f | %.1f | %.2fx | %s |' % (key[1], key[2], a, b,
                 a / b if b > 0 else 0, ratio_range(key)))
    if key[2] == 'tracefs':
        plot.append('%s %.2f %.2f' % (key[1], a, b))
for key, s in stock.items():
    if key[0] == 'ret' and key in ours:
        a, b = per_hit(s), per_hit(ours[key])
        lines.append('| return probe on %s | %s | %.1f | %.1f | %.2fx | %s |' % (key[1], key[2], a, b,
                     a / b, ratio_range(key)))
if before_csvs:
    before_rounds = [load_round(p) for p in before_csvs.split(',')]
    before = median_rows(before_rounds)
    lines.append('\n## Before and after: ours at %s against ours now\n' % before_label)
    lines.append('The same rounds booted a third kernel: ours as it was at that revision, built '
                 'with the same harness and config. Ratios are before/now (above 1: now is '
                 'faster).\n')
    lines.append('| probed | mode | before us/hit | now us/hit | before/now | per round |')
    lines.append('|---|---|---:|---:|---:|---:|')
    for key, b in before.items():
        if key[0] not in ('hit', 'ret') or key not in ours:
            continue
        a, n = per_hit(b), per_hit(ours[key])
        what = key[1] if key[0] == 'hit' else 'return probe on ' + key[1]
        lines.append('| %s | %s | %.1f | %.1f | %.2fx | %s |' % (
            what, key[2], a, n, a / n if n > 0 else 0,
            ratio_range(key, before_rounds, ours_rounds)))
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
refused = []
for key, s in stock.items():
    if key[0] == 'reg' and key in ours:
        o = ours[key]
        mark = ''
        for name, row in (('stock', s), ('ours', o)):
            # The fifth field: 1 when the enable took every probe (older runs lack it).
            if len(row) > 4 and float(row[4]) < 1:
                mark = ' *'
                refused.append('%s (%s probes)' % (name, key[1]))
        lines.append('| %s%s | %s | %s | %s | %s | %.2fx |' % (key[1], mark, s[2], o[2], s[3],
                     o[3], float(s[3]) / max(float(o[3]), 1)))
if refused:
    lines.append('\n\\* The enable was refused (a probe the kernel would not take) in some rounds '
                 'by: %s. Those timings are of a failed enable and its undoing.' % ', '.join(refused))
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
