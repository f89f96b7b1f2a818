#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# trace.sh KERNEL KIND OUT: the exact instructions of one hit, counted by symbol. The
# guest calls the hits program's KIND function under an enabled tracefs event while
# gdb, on QEMU's gdbstub, stops at a user-mode int3 and single-steps the guest until
# it is back at the probed function (after the step, for a kernel that steps). OUT
# gets "HIT N" and "COUNT SYMBOL" lines for each of 3 hits; report.py takes the
# median. x86 only.
. "$(dirname "$0")/../lib.sh"
[ "$ARCH" = x86_64 ] || die "trace.sh: x86_64 only"
k=$1 kind=$2 out=$3
dir=$BUILD/bench/trace
[ -x "$BUILD/bench/hits" ] || die "trace.sh: no $BUILD/bench/hits (make bench builds it)"
mkdir -p "$dir"
rm -f "$dir/ready" "$dir/done" "$dir/pcs"
vmlinux=$BUILD/obj/$k-$ARCH/vmlinux
KERNEL=$k VM_GDB=1 VM_TIMEOUT=900 "$REPO/harness/vm.sh" \
	"bash $REPO/harness/bench/trace-guest.sh $BUILD/bench/hits $kind $dir" > "$dir/vm.log" 2>&1 &
vm=$!
for _ in $(seq 600); do [ -f "$dir/ready" ] || [ ! -d /proc/$vm ] && break; sleep 1; done
[ -f "$dir/ready" ] || die "trace.sh: the guest did not get ready (${dir#$REPO/}/vm.log)"
timeout 600 gdb -batch -nx -ex "file $vmlinux" -ex "python pcs_file = '$dir/pcs'" \
	-x "$REPO/harness/bench/trace.py" > "$dir/gdb.log" 2>&1 || true
touch "$dir/done"
wait $vm || true
[ -s "$dir/pcs" ] || die "trace.sh: no hit traced (${dir#$REPO/}/gdb.log)"
python3 - "$vmlinux" "$dir/pcs" > "$out" <<'PY'
import bisect, collections, subprocess, sys
syms = []
for line in subprocess.run(['nm', '-n', sys.argv[1]], capture_output=True,
                           text=True).stdout.splitlines():
    f = line.split()
    if len(f) == 3 and f[1] in 'tTwW':
        syms.append((int(f[0], 16), f[2]))
starts = [a for a, _ in syms]
count = None
for line in open(sys.argv[2]):
    if line.startswith('HIT'):
        if count is not None:
            print('HIT %d' % sum(count.values()))
            for s, n in count.most_common():
                print(n, s)
        count = collections.Counter()
        continue
    pc = int(line, 16)
    count[syms[bisect.bisect_right(starts, pc) - 1][1] if pc >> 47 else '(user)'] += 1
if count is not None:
    print('HIT %d' % sum(count.values()))
    for s, n in count.most_common():
        print(n, s)
PY
