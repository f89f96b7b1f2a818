# SPDX-License-Identifier: GPL-2.0
"""Turn the benchmark's CSV files (one per kernel and round) into bench/RESULTS.md and
gnuplot data. Each figure is the median over the rounds; a hit's speed-up also shows
the lowest and highest of the per-round ratios (round r of stock against round r of
ours), which says how much of a ratio is noise. Rounds booted under icount give
instructions instead of nanoseconds and get tables of their own."""
import argparse
import csv
import re
import datetime
import platform
import statistics
import subprocess

ap = argparse.ArgumentParser()
for name in ('stock', 'ours', 'before', 'icount-stock', 'icount-ours', 'icount-before'):
    ap.add_argument('--' + name, default='', help='comma-separated CSV files, one per round')
ap.add_argument('--before-label')
ap.add_argument('--trace', action='append', default=[],
                help='KIND:STOCK_FILE:OURS_FILE, instruction traces of one hit (trace.sh)')
ap.add_argument('--md', required=True)
ap.add_argument('--plot', required=True)
ap.add_argument('--calls', required=True)
args = ap.parse_args()


def key_of(r):
    if r[0] in ('hit', 'ret'):
        return tuple(r[:-2])
    return tuple(r[:3]) if r[0] == 'prof' else tuple(r[:2])


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
    for key in (rounds[0] if rounds else {}):
        have = [r[key] for r in rounds if key in r]
        fields = list(have[0][:len(key)])
        for i in range(len(key), len(have[0])):
            fields.append('%g' % statistics.median(float(h[i]) for h in have))
        rows[key] = fields
    return rows


def rounds_of(csvs):
    return [load_round(p) for p in csvs.split(',') if p]


stock_rounds, ours_rounds = rounds_of(args.stock), rounds_of(args.ours)
before_rounds = rounds_of(args.before)
istock_rounds, iours_rounds = rounds_of(args.icount_stock), rounds_of(args.icount_ours)
ibefore_rounds = rounds_of(args.icount_before)
stock, ours = median_rows(stock_rounds), median_rows(ours_rounds)
before = median_rows(before_rounds)
istock, iours, ibefore = (median_rows(istock_rounds), median_rows(iours_rounds),
                          median_rows(ibefore_rounds))
nrounds = min(len(stock_rounds), len(ours_rounds))
before_csvs, before_label, calls = args.before, args.before_label, args.calls


def per_hit(r):
    """Microseconds a hit adds to a call: probed minus unprobed."""
    return (float(r[4]) - float(r[3])) / 1000.0


def insns_per_hit(r):
    """Instructions a hit adds to a call, from a round booted under icount."""
    return float(r[4]) - float(r[3])


def what_of(key):
    if key[1] == 'bash_malloc_free':
        return 'bash loop, probes on libc malloc and free'
    if key[1] == 'call_and_callee':
        return 'call, its callee probed too (per hit)'
    return key[1] if key[0] == 'hit' else 'return probe on ' + key[1]


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
for key, s in stock.items():
    if key[0] != 'hit' or key not in ours:
        continue
    a, b = per_hit(s), per_hit(ours[key])
    lines.append('| %s | %s | %.1f | %.1f | %.2fx | %s |' % (key[1], key[2], a, b,
                 a / b if b > 0 else 0, ratio_range(key)))
for key, s in stock.items():
    if key[0] == 'ret' and key in ours:
        a, b = per_hit(s), per_hit(ours[key])
        lines.append('| return probe on %s | %s | %.1f | %.1f | %.2fx | %s |' % (key[1], key[2], a, b,
                     a / b, ratio_range(key)))
if before_csvs:
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
        lines.append('| %s | %s | %.1f | %.1f | %.2fx | %s |' % (
            what_of(key), key[2], a, n, a / n if n > 0 else 0,
            ratio_range(key, before_rounds, ours_rounds)))


def icount_range(key, base_rounds, new_rounds):
    """Lowest and highest per-round new/base instruction ratio, when there are rounds to pair."""
    ratios = [insns_per_hit(n[key]) / insns_per_hit(b[key])
              for b, n in zip(base_rounds, new_rounds)
              if key in b and key in n and insns_per_hit(b[key]) > 0]
    return '%.2f-%.2f' % (min(ratios), max(ratios)) if len(ratios) > 1 else '-'


if istock and iours:
    lines.append('\n## Instructions per hit (icount)\n')
    lines.append('%d round(s) per kernel booted under QEMU\'s icount (`VM_ICOUNT=1`: '
                 '`-accel tcg,thread=single -icount shift=0,sleep=off`), the same workloads: '
                 'the guest clock advances one nanosecond per guest instruction, so a time '
                 'is an instruction count, the same from run to run and whatever the host\'s '
                 'load. A figure is the instructions a hit adds to a call (probed minus '
                 'unprobed), median over the rounds; ratios are ours/stock (below 1: ours '
                 'runs fewer)%s. Instruction counts miss what the trap itself costs the CPU '
                 '(the time tables above include it). The thread-scaling and memory rows '
                 'are measured by time only: under icount the vCPUs run one at a time.\n'
                 % (min(len(istock_rounds), len(iours_rounds)),
                    ', and before/now for ours at %s' % before_label if ibefore else ''))
    head = '| probed | mode | stock | ours | ours/stock | per round |'
    rule = '|---|---|---:|---:|---:|---:|'
    if ibefore:
        head += ' ours at %s | now/before |' % before_label.split()[0]
        rule += '---:|---:|'
    lines += [head, rule]
    for key, s in istock.items():
        if key[0] not in ('hit', 'ret') or key not in iours:
            continue
        a, b = insns_per_hit(s), insns_per_hit(iours[key])
        row = '| %s | %s | %.0f | %.0f | %.2fx | %s |' % (
            what_of(key), key[2], a, b, b / a if a > 0 else 0,
            icount_range(key, istock_rounds, iours_rounds))
        if ibefore:
            if key in ibefore:
                c = insns_per_hit(ibefore[key])
                row += ' %.0f | %.2fx |' % (c, b / c if c > 0 else 0)
            else:
                row += ' - | - |'
        lines.append(row)
    lines.append('\nRegistering and removing, in guest milliseconds under icount (instructions '
                 'in millions, plus the idle vCPUs\' skipped waits):\n')
    lines.append('| probes on libc, 10 processes | stock add+enable | ours | '
                 'stock disable+remove | ours | stock add / enable | ours add / enable | '
                 'enable speed-up | removal speed-up |')
    lines.append('|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for key, s in istock.items():
        if key[0] == 'reg' and key in iours:
            o = iours[key]
            row = '| %s | %s | %s | %s | %s |' % (key[1], s[2], o[2], s[3], o[3])
            if len(s) > 6 and len(o) > 6:
                row += ' %s / %s | %s / %s | %.2fx |' % (s[5], s[6], o[5], o[6],
                                                        float(s[6]) / max(float(o[6]), 1))
            else:
                row += ' - | - | - |'
            row += ' %.2fx |' % (float(s[3]) / max(float(o[3]), 1))
            lines.append(row)

    for kind in dict.fromkeys(k[1] for k in list(istock) + list(iours) if k[0] == 'prof'):
        lines.append('\n### Where a hit\'s instructions go: %s, tracefs\n' % kind)
        lines.append('`perf record -a -e cpu-clock -F 50000` in the guest under icount while '
                     'the hits program calls the probed function %d times: a sample every '
                     '20,000 instructions; the share of the program\'s samples (user and kernel) '
                     'by symbol, the first 20. A sample due while interrupts are off is taken where '
                     'they come back on: the trap entry and what runs before interrupts are '
                     'enabled shows in `irqentry_exit_to_user_mode` (or, on a kernel that '
                     'handles the hit in the trap, in the first function after the enable), '
                     'the way out after they go off again in the probed user function.\n'
                     % (5 * int(calls)))
        lines.append('| stock | % | ours | % |')
        lines.append('|---|---:|---|---:|')
        tops = []
        for rows in (istock, iours):
            syms = [(float(r[3]), k[2]) for k, r in rows.items() if k[0] == 'prof' and k[1] == kind]
            tops.append(sorted(syms, reverse=True)[:20])
        for i in range(max(len(t) for t in tops)):
            cells = []
            for t in tops:
                cells += ['`%s`' % t[i][1], '%.1f' % t[i][0]] if i < len(t) else ['', '']
            lines.append('| %s |' % ' | '.join(cells))

# The plot: the tracefs hit rows, time and (when measured) instructions.
plot = []
for key in dict.fromkeys(list(stock) + list(istock)):
    if key[0] != 'hit' or key[2] != 'tracefs':
        continue
    vals = []
    for a, b, f in ((stock, ours, per_hit), (istock, iours, insns_per_hit)):
        vals += ['%.2f' % f(a[key]), '%.2f' % f(b[key])] if key in a and key in b else ['NaN'] * 2
    plot.append(' '.join([key[1]] + vals))

# Where the instructions of one hit go, from the exact traces (trace.sh): each symbol
# to a part of the path, the first pattern that matches (the rest is uprobes' own).
TRACE_PARTS = [
    ('trap entry and exit', r'^(asm_exc_|error_entry|error_return|sync_regs|exc_int3|exc_debug'
     r'|poke_int3_handler|irqentry_|swapgs_restore|native_irq_return|arch_exit_to_user'
     r'|entry_SYSCALL|do_syscall_64|syscall_exit_to_user|x64_sys_call|do_int3)'),
    ('die notifier chain', r'notif|_notify$|^trace_die_|dump_on_oops'),
    ('return-to-user work', r'^(exit_to_user_mode_loop|resume_user_mode_work|task_work_run)'),
    ('VMA lookup and locks', r'^(mtree_|mas_|ma_|mt_|lock_vma_under_rcu|vma_|find_vma|mmap_read'
     r'|down_read|up_read|rwsem_|valid_vma|__vma)'),
    ('SRCU, RCU, references', r'srcu|^(__)?rcu_read|refcount|^(try_)?get_uprobe|^put_uprobe'
     r'|^uprobe_release'),
    ('trace record (tracing core)', r'^(ring_buffer|__rb_|rb_|trace_event_buffer|trace_buffer_'
     r'|tracing_|trace_clock|sched_clock|native_sched_clock|ftrace_trace_stack'
     r'|__trace_trigger|trace_event_ignore)'),
    ('event handler (front end)', r'^(uprobe_dispatcher|__uprobe_trace_func|uprobe_trace_func'
     r'|prepare_uprobe_buffer|trace_uprobe_|uprobe_hit|uprobe_record_head|uprobe_perf_'
     r'|store_trace_args|process_fetch)'),
    ('emulation or step', r'emulate|_xol|^xol_|^push_|^pop_|^mem_(read|write)|^alu_'
     r'|skip_sstep|_user_8|_user_4|^__put_user|^__get_user|^_copy_(to|from)_user|__access_ok'
     r'|rep_movs|single_step|^ubp_xol|^\(user\)$'),
]


def load_trace(path):
    """The median of the traced hits (by total): {symbol: instructions}."""
    hits = []
    for line in open(path):
        f = line.split()
        if f[0] == 'HIT':
            hits.append({})
        elif hits:
            hits[-1][f[1]] = int(f[0])
    hits.sort(key=lambda h: sum(h.values()))
    return hits[len(hits) // 2] if hits else {}


def trace_parts(hit):
    parts = {name: 0 for name, _ in TRACE_PARTS}
    parts['uprobes\' own hit handling'] = 0
    own = {}
    for sym, n in hit.items():
        for name, pattern in TRACE_PARTS:
            if re.search(pattern, sym):
                parts[name] += n
                break
        else:
            parts['uprobes\' own hit handling'] += n
            own[sym] = n
    return parts, own


for spec in args.trace:
    kind, spath, opath = spec.split(':')
    shit, ohit = load_trace(spath), load_trace(opath)
    if not shit or not ohit:
        continue
    (sparts, sown), (oparts, oown) = trace_parts(shit), trace_parts(ohit)
    lines.append('\n### Every instruction of one hit: %s, tracefs\n' % kind)
    lines.append('harness/bench/trace.sh: gdb on QEMU\'s gdbstub stops the guest at a user-mode '
                 'int3 on the probed function and single-steps it until it is back in that '
                 'function (after the out-of-line step, where a kernel steps), counting each '
                 'instruction by the symbol it is in, with the other vCPUs stopped and no '
                 'interrupt taken; of three hits, the median (the ring buffer\'s time stamp '
                 'takes one of two paths). The parts below sort the '
                 'symbols by name (harness/bench/report.py, TRACE_PARTS).\n')
    lines.append('| part of the hit | stock | ours | ours - stock |')
    lines.append('|---|---:|---:|---:|')
    for name in sparts:
        lines.append('| %s | %d | %d | %+d |' % (name, sparts[name], oparts[name],
                                                 oparts[name] - sparts[name]))
    st, ot = sum(shit.values()), sum(ohit.values())
    lines.append('| **all** | **%d** | **%d** | **%.2fx** |' % (st, ot, ot / st))
    for label, own in (('stock', sown), ('ours', oown)):
        top = sorted(own.items(), key=lambda x: -x[1])[:12]
        lines.append('\nThe own hit handling of %s, by symbol: %s.' % (
            label, ', '.join('`%s` %d' % x for x in top)))

lines.append('\n## Threads hitting one probe (nop, tracefs)\n')
lines.append('| threads | stock hits/s | ours hits/s | ours/stock | ours vs ours 1-thread |')
lines.append('|---:|---:|---:|---:|---:|')
one = float(ours.get(('threads', '1'), [0, 0, 1])[2])
for key, s in stock.items():
    if key[0] == 'threads' and key in ours:
        a, b = float(s[2]), float(ours[key][2])
        lines.append('| %s | %.0f | %.0f | %.2fx | %.2fx |' % (key[1], a, b, b / a, b / one))
lines.append('\n## Registering and removing probes on libc mapped by 10 processes\n')
lines.append('Adding defines the events (one write to `uprobe_events` per probe: the tracing '
             'core makes each event and its tracefs files); enabling registers the probes with '
             'uprobes (one write to the group\'s `enable`), which is where the breakpoints go '
             'into the 10 processes. The probes are on a copy of libc in the guest\'s tmpfs '
             '(harness/bench/guest.sh says why).\n')
lines.append('| probes | stock add+enable ms | ours | stock disable+remove ms | ours | removal speed-up '
             '| stock add / enable ms | ours add / enable | enable speed-up |')
lines.append('|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
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
        row = '| %s%s | %s | %s | %s | %s | %.2fx |' % (key[1], mark, s[2], o[2], s[3],
                                                       o[3], float(s[3]) / max(float(o[3]), 1))
        # Fields 6 and 7, add and enable apart (older runs lack them).
        if len(s) > 6 and len(o) > 6:
            row += ' %s / %s | %s / %s | %.2fx |' % (s[5], s[6], o[5], o[6],
                                                    float(s[6]) / max(float(o[6]), 1))
        else:
            row += ' - | - | - |'
        lines.append(row)
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
with open(args.md, 'w') as f:
    f.write('\n'.join(lines) + '\n')
with open(args.plot, 'w') as f:
    f.write('\n'.join(plot) + '\n')
