# SPDX-License-Identifier: GPL-2.0
# gdb script for trace.sh: stop at 3 user-mode int3 traps and single-step each until
# the task is back in user space near the breakpoint; the PCs go to pcs_file.
import gdb

USER_TOP = 1 << 47
gdb.execute('set pagination off')
gdb.execute('target remote :1234')
# Step only the vCPU that trapped: the others stay stopped, their idle loops untraced.
gdb.execute('set scheduler-locking step')
gdb.execute('hbreak asm_exc_int3')
with open(pcs_file, 'w') as out:
    traced = 0
    while traced < 3:
        gdb.execute('continue', to_string=True)
        # The exception frame: ip, cs, flags, sp, ss. A kernel int3 is not ours.
        if int(gdb.parse_and_eval('*(unsigned long *)($rsp + 8)')) & 3 != 3:
            continue
        bp = int(gdb.parse_and_eval('*(unsigned long *)$rsp')) - 1
        pcs = []
        while len(pcs) < 100000:
            pc = int(gdb.parse_and_eval('$pc')) & (1 << 64) - 1
            # Back at the probed function (an XOL slot is elsewhere, and stepped).
            if pc < USER_TOP and bp < pc < bp + 16:
                break
            pcs.append(pc)
            gdb.execute('stepi', to_string=True)
        out.write('HIT %d\n' % len(pcs))
        out.writelines('%x\n' % pc for pc in pcs)
        traced += 1
gdb.execute('delete')
gdb.execute('detach')
