#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm.sh [COMMAND...]: boot the built kernel of the selected variant under QEMU (TCG) with
# the host's / (or the arch's guest root) shared read-only, run COMMAND (bash) in the guest, print its output and
# exit with its status. No COMMAND: an interactive shell. A guest that hangs past
# VM_TIMEOUT seconds is killed; a kernel oops, BUG, WARNING, KASAN, KFENCE or lockdep
# report, an RCU stall, a soft lockup or a hung task in the guest log fails the run.
. "$(dirname "$0")/lib.sh"
need_qemu

# VM_KERNEL: another image booted the same way (make bench's BENCH_BEFORE kernel).
kernel=${VM_KERNEL:-$OBJ/$KIMAGE}
[ -f "$kernel" ] || die "no kernel at ${kernel#$REPO/}: run 'make build KERNEL=$KERNEL'"
"$REPO/harness/guest-root.sh"
timeout=${VM_TIMEOUT:-900}
memory=2G
[ "$DEBUG" = 1 ] && memory=4G

mkdir -p "$BUILD/vm"
run_dir=$(mktemp -d "$BUILD/vm/run.XXXXXX")
trap 'rm -rf "$run_dir"' EXIT
interactive=0
if [ $# -eq 0 ]; then
	interactive=1
	echo 'exec bash -i < /dev/console > /dev/console 2>&1' > "$run_dir/cmd"
else
	printf '%s\n' "$*" > "$run_dir/cmd"
fi

fs="-fsdev local,id=root,path=$GUEST_ROOT,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root
	-fsdev local,id=repo,path=$REPO,security_model=none,multidevs=remap
	-device virtio-9p-pci,fsdev=repo,mount_tag=repo"
append="console=$QEMU_CONSOLE root=/dev/root rootfstype=9p
	rootflags=trans=virtio,version=9p2000.L,msize=262144 ro
	init=$GUEST_INIT REPO=$REPO RUN_DIR=$run_dir
	panic=-1 loglevel=4 nokaslr"

qemu_cmd=($QEMU $QEMU_MACHINE $QEMU_ACCEL -smp 4 -m $memory -nographic -no-reboot $fs
	-kernel "$kernel" -append "$(echo $append)")
# VM_GDB=1: QEMU's gdbstub on tcp::1234, for the bench's instruction trace (trace.sh).
[ "${VM_GDB:-0}" = 1 ] && qemu_cmd+=(-s)
if [ $interactive = 1 ]; then
	"${qemu_cmd[@]}"
	exit 0
fi

set +e
timeout --foreground -k 5 "$timeout" "${qemu_cmd[@]}" < /dev/null 2>&1 | tee "$run_dir/console" |
	grep --line-buffered -v -E '^.\[[0-9;?]*[a-zA-Z]|SeaBIOS|iPXE|^Booting from|^Press Ctrl-B|^sysrq: Resetting|^\s*$'
status=${PIPESTATUS[0]}	# the guest's, not the filter's
set -e
if [ $status = 124 ] || [ $status = 137 ]; then
	echo "vm: guest still running after ${timeout}s: killed (set VM_TIMEOUT to wait longer)" >&2
	exit 124
fi

report='BUG:|Oops|WARNING:|Kernel panic|KASAN|KFENCE|UBSAN'
report="$report|possible circular locking|possible recursive locking|inconsistent lock state"
report="$report|suspicious RCU usage|lock held when returning|sleeping function called"
report="$report|list_(add|del) corruption|refcount_t:|Call Trace:"
# Hangs: an RCU stall, a soft lockup (a "BUG:" line) or a task hung in the kernel.
hangs='rcu: INFO: .*stall|detected stalls on CPU|blocked for more than [0-9]+ seconds'
report="$report|$hangs"
# The kernel's own log when the guest lived to save it. When it did not, the console,
# which also carries the command's output: there only the unmistakable kernel lines.
kernel_log=$run_dir/dmesg
if [ ! -s "$kernel_log" ]; then
	kernel_log=$run_dir/console
	report="BUG:|Oops|Kernel panic|Call Trace:|$hangs"
fi
if grep -qE "$report" "$kernel_log"; then
	keep=$BUILD/vm/failed-$(date +%Y%m%d-%H%M%S)
	cp -r "$run_dir" "$keep"
	echo "vm: kernel report in the guest log (kept in ${keep#$REPO/}):" >&2
	grep -E -A 20 "$report" "$kernel_log" | head -60 >&2
	exit 3
fi
[ -f "$run_dir/rc" ] || { echo "vm: guest died before the command finished" >&2; exit 125; }
exit "$(cat "$run_dir/rc")"
