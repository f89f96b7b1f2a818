// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uprobes on x86: the out-of-line step, data breakpoints against emulated accesses,
 * the trap hooks, and return probes (the return address takeover, the trampoline and
 * its system call). 64-bit and 32-bit (compat) tasks. What a hit does with an
 * instruction, decode.c chose when the probe went in.
 */

#include <linux/hw_breakpoint.h>
#include <linux/kdebug.h>
#include <linux/perf_event.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/syscalls.h>
#include <linux/uaccess.h>
#include <linux/ubp.h>
#include <linux/uprobes.h>

#include <asm/debugreg.h>
#include <asm/processor.h>
#include <asm/shstk.h>
#include <asm/syscall.h>
#include <asm/trapnr.h>
#include <asm/traps.h>
#include <asm/unistd.h>

#include "common.h"

/* thread.trap_nr while a step runs; any trap in the stepped instruction overwrites it. */
#define UPROBE_TRAP_NR		UINT_MAX

/* ---------------------------------------------------------------------------- */
/* The out-of-line step: the fix-ups the analysis chose (arch_uprobe_step).      */

/* Before the step: the scratch register takes the address RIP would have. */
static void step_prepare(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	unsigned long *scratch = reg_at(regs, aup->step.scratch);

	if (!(aup->step.fixups & UPROBE_FIX_RIP))
		return;
	utask->autask.saved_scratch = *scratch;
	*scratch = utask->vaddr + aup->ilen;	/* what RIP is during the instruction */
}

/* After the step, or when it was cut short: the scratch register gets its value back. */
static void step_restore_scratch(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (aup->step.fixups & UPROBE_FIX_RIP)
		*reg_at(regs, aup->step.scratch) = current->utask->autask.saved_scratch;
}

/* After the step: move what it left relative to the slot back home. */
static int step_fixups(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	long moved = utask->vaddr - utask->xol_vaddr;
	u8 fixups = aup->step.fixups;

	step_restore_scratch(aup, regs);
	if (fixups & UPROBE_FIX_IP)
		regs->ip += moved;
	/* Only a relative call has this: its slot's copy called the next instruction. */
	if (fixups & UPROBE_FIX_BRANCH)
		regs->ip += aup->branch.disp;
	if ((fixups & UPROBE_FIX_PUSHF) && !utask->autask.saved_tf) {
		u16 low;	/* TF is bit 8, in the low word of any push's size */

		if (copy_from_user(&low, (void __user *)regs->sp, sizeof(low)))
			return -EFAULT;
		low &= ~X86_EFLAGS_TF;
		if (copy_to_user((void __user *)regs->sp, &low, sizeof(low)))
			return -EFAULT;
	}
	if (fixups & UPROBE_FIX_CALL) {
		unsigned int size = stack_word(regs);
		unsigned long ret = 0;

		if (stack_slot_read(regs->sp, size, &ret))
			return -EFAULT;
		ret += moved;
		if (stack_slot_write(regs->sp, size, ret))
			return -EFAULT;
		/* A shadow stack got the slot's return address too. */
		if (shstk_update_last_frame(ret))
			return -EFAULT;
	}
	return 0;
}

/*
 * Is the task in the mode the analysis decoded for? A 64-bit mm can run 32-bit code
 * (and the other way round); and 32-bit emulation assumes the flat data segments of
 * an ordinary compat task. Anywhere else the instruction is stepped: the CPU knows.
 */
static bool emulation_mode_matches(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (aup->mode64)
		return user_64bit_mode(regs);
	/* __USER32_CS is __USER_CS on a 32-bit kernel. */
	return regs->cs == __USER32_CS && regs->ss == __USER_DS &&
	       user_data_segment(regs) == __USER_DS;
}

/*
 * Data breakpoints. The CPU checks every access against them, get_user() and
 * put_user() in the kernel included, but a hit in kernel mode reaches no debugger:
 * ptrace's breakpoints exclude the kernel, and nothing sends a signal. So an
 * emulated load or store must report its hits itself, as the #DB after the
 * instruction would have: for the task's ptrace watchpoints, which we can see, the
 * emulation checks each access (x86_uprobe_watch_access()); any other data breakpoint
 * armed on this CPU (a perf event, CPU-wide or on the task, or the kernel's own)
 * makes the instruction be stepped, so that the CPU reports the access itself.
 */

/* The data breakpoints (RW other than 00, instruction) enabled in DR7 here. */
static int armed_data_breakpoints(void)
{
	unsigned long dr7 = this_cpu_read(cpu_dr7);
	int i, nr = 0;

	/* The usual case, no enable bit set (L0/G0 to L3/G3): no loop on every hit. */
	if (!(dr7 & ((1UL << (HBP_NUM * DR_ENABLE_SIZE)) - 1)))
		return 0;
	for (i = 0; i < HBP_NUM; i++) {
		unsigned long enable = dr7 >> (i * DR_ENABLE_SIZE);
		unsigned long rw = dr7 >> (DR_CONTROL_SHIFT + i * DR_CONTROL_SIZE);

		if ((enable & (DR_LOCAL_ENABLE | DR_GLOBAL_ENABLE)) && (rw & 3) != DR_RW_EXECUTE)
			nr++;
	}
	return nr;
}

/*
 * The current task's ptrace breakpoint @i, if it is an enabled data breakpoint.
 * Only a tracer that has stopped the task changes them (PTRACE_POKEUSER), so the task
 * itself reads them without a lock.
 */
static struct perf_event *ptrace_watchpoint(int i)
{
	struct perf_event *bp = current->thread.ptrace_bps[i];

	if (!bp || bp->attr.disabled || !(bp->attr.bp_type & HW_BREAKPOINT_RW))
		return NULL;
	return bp;
}

/* Are all the data breakpoints armed here the task's ptrace watchpoints? */
static bool only_ptrace_watchpoints(int armed)
{
	int i;

	for (i = 0; i < HBP_NUM; i++)
		if (ptrace_watchpoint(i))
			armed--;
	return !armed;
}

/**
 * x86_uprobe_watch_access - an emulated instruction accessed user memory
 * @addr: the linear address
 * @size: bytes accessed
 * @write: a store (else a load)
 *
 * Notes the task's ptrace watchpoints the access hits, by the rule of the debug
 * registers: any byte of the access in the watched range, for a watchpoint of that
 * kind (a write one sees stores; a read/write one, both).
 */
void x86_uprobe_watch_access(unsigned long addr, unsigned int size, bool write)
{
	unsigned int kind = write ? HW_BREAKPOINT_W : HW_BREAKPOINT_R;
	int i;

	for (i = 0; i < HBP_NUM; i++) {
		struct perf_event *bp = ptrace_watchpoint(i);

		if (bp && (bp->attr.bp_type & kind) &&
		    addr < bp->attr.bp_addr + bp->attr.bp_len && bp->attr.bp_addr < addr + size)
			current->utask->autask.watch_hits |= DR_TRAP0 << i;
	}
}

/*
 * End a debugger's step, or report a data breakpoint hit, as the #DB handler would
 * have: the debugger's DR6 holds what the CPU said (@dr6: DR_STEP and the DR_TRAPn
 * bits), and the signal carries the matching si_code and the instruction pointer.
 */
static void report_debug_trap(struct pt_regs *regs, unsigned long dr6)
{
	current->thread.virtual_dr6 = dr6;
	send_sigtrap(regs, 0, get_si_code(dr6));
}

/**
 * arch_uprobe_skip_sstep - emulate the probed instruction if its kind allows
 * @aup: the probe's arch data
 * @regs: the task's registers, ip at the probed instruction
 *
 * Return: true if done (no step needed).
 */
bool arch_uprobe_skip_sstep(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct arch_uprobe_task *autask = &current->utask->autask;
	unsigned long dr6;
	bool done;
	int armed;

	if (!aup->ops)
		return false;		/* a kind that is always stepped */
	/* Relative jumps mean the same in either mode, and have no step to fall to. */
	if (aup->can_step && !emulation_mode_matches(aup, regs))
		return false;
	autask->watch_hits = 0;
	if (aup->mem) {
		armed = armed_data_breakpoints();
		/* Every kind that touches memory has a step to fall back to. */
		if (armed && !only_ptrace_watchpoints(armed))
			return false;
		autask->watching = armed > 0;
	}
	done = aup->ops->emulate(aup, regs);
	autask->watching = false;
	if (!done)
		return false;
	/*
	 * The CPU clears RF when an instruction completes. Left set (by the return
	 * from an instruction breakpoint's #DB on the probed address, say), it would
	 * suppress a breakpoint on the next instruction.
	 */
	regs->flags &= ~X86_EFLAGS_RF;
	/* A debugger stepping through the probed instruction expects its trap too. */
	dr6 = autask->watch_hits | (regs->flags & X86_EFLAGS_TF ? DR_STEP : 0);
	if (dr6)
		report_debug_trap(regs, dr6);
	return true;
}

/**
 * arch_uprobe_pre_xol - get ready to step the slot's copy
 * @aup: the probe's arch data
 * @regs: the task's registers
 *
 * Return: 0, or -EINVAL for a kind with no step (the analysis's bug).
 */
int arch_uprobe_pre_xol(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct arch_uprobe_task *saved = &current->utask->autask;
	struct thread_struct *thread = &current->thread;

	/* Cannot happen (such kinds always emulate); a task left at its int3 would loop. */
	if (WARN_ON_ONCE(!aup->can_step)) {
		force_sig(SIGILL);
		return -EINVAL;
	}
	step_prepare(aup, regs);
	/* A trap of the stepped instruction overwrites the marker: see xol_was_trapped. */
	saved->saved_trap_nr = thread->trap_nr;
	thread->trap_nr = UPROBE_TRAP_NR;
	/* The step's #DB rewrites it: see arch_uprobe_post_xol(). */
	saved->saved_dr6 = thread->virtual_dr6;
	/* Our TF step; a debugger's own TF or block-step is put back afterwards. */
	saved->saved_tf = regs->flags & X86_EFLAGS_TF;
	if (test_thread_flag(TIF_BLOCKSTEP))
		set_task_blockstep(current, false);
	regs->flags |= X86_EFLAGS_TF;
	regs->ip = current->utask->xol_vaddr;
	return 0;
}

/*
 * TF afterwards is the program's: what it had before, or, after a popf that ran
 * (@done), what the popf loaded. A popf cut short loaded nothing.
 */
static void restore_step_state(struct arch_uprobe *aup, struct pt_regs *regs, bool done)
{
	struct uprobe_task *utask = current->utask;
	bool popf_ran = done && (aup->step.fixups & UPROBE_FIX_POPF);

	current->thread.trap_nr = utask->autask.saved_trap_nr;
	current->thread.virtual_dr6 = utask->autask.saved_dr6;
	if (!utask->autask.saved_tf && !popf_ran)
		regs->flags &= ~X86_EFLAGS_TF;
	if (test_tsk_thread_flag(current, TIF_BLOCKSTEP))
		set_task_blockstep(current, true);
}

/**
 * arch_uprobe_post_xol - the step is done: move the task's state back home
 * @aup: the probe's arch data
 * @regs: the task's registers
 *
 * Return: 0, or -errno if the fix-ups could not be made (the task gets SIGILL).
 */
int arch_uprobe_post_xol(struct arch_uprobe *aup, struct pt_regs *regs)
{
	bool debugger_step = current->utask->autask.saved_tf;
	/*
	 * The step's #DB (exc_debug_user()) left DR_STEP in the debugger's DR6 and, if
	 * the stepped instruction hit data breakpoints, their bits: hw_breakpoint's
	 * notifier runs before ours, which then stops the chain, so no signal was sent.
	 */
	unsigned long hits = current->thread.virtual_dr6 & DR_TRAP_BITS;
	int err = 0;

	WARN_ON_ONCE(arch_uprobe_xol_was_trapped(current));
	err = step_fixups(aup, regs);
	restore_step_state(aup, regs, true);
	/* Unprobed, a #DB came only for the debugger's step or a data breakpoint. */
	if (debugger_step || hits)
		report_debug_trap(regs, hits | (debugger_step ? DR_STEP : 0));
	return err;
}

/**
 * arch_uprobe_xol_unfinished - is the stepped instruction still at work in its slot?
 * @aup: the probe's arch data
 * @regs: the task's registers at the step trap
 *
 * A rep string instruction single-stepped traps after each round, the instruction
 * pointer still at the instruction. Unless a debugger steps the task (it expects the
 * trap of each round, at the probed address, as without the probe), the step goes on.
 *
 * Return: true if the task is to step the slot again.
 */
bool arch_uprobe_xol_unfinished(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;

	return aup->step.rep_string && regs->ip == utask->xol_vaddr && !utask->autask.saved_tf;
}

/**
 * arch_uprobe_abort_xol - the step was cut short: back to the probed instruction
 * @aup: the probe's arch data
 * @regs: the task's registers
 */
void arch_uprobe_abort_xol(struct arch_uprobe *aup, struct pt_regs *regs)
{
	step_restore_scratch(aup, regs);
	regs->ip = current->utask->vaddr;
	restore_step_state(aup, regs, false);
}

/**
 * arch_uprobe_xol_was_trapped - did the stepped instruction itself trap?
 * @t: the task
 *
 * Return: true if a trap other than our single-step came.
 */
bool arch_uprobe_xol_was_trapped(struct task_struct *t)
{
	return t->thread.trap_nr != UPROBE_TRAP_NR;
}

/**
 * arch_uprobe_exception_notify - the die-notifier hook for int3 and debug traps
 * @self: the notifier block
 * @val: DIE_INT3 or DIE_DEBUG (others are not ours)
 * @data: struct die_args
 *
 * Return: NOTIFY_STOP when uprobes takes the trap.
 */
int arch_uprobe_exception_notify(struct notifier_block *self, unsigned long val, void *data)
{
	struct pt_regs *regs = ((struct die_args *)data)->regs;
	bool taken = false;

	/* Only traps in user mode can be ours. */
	if (!regs || user_mode(regs)) {
		if (val == DIE_INT3)
			taken = uprobe_pre_sstep_notifier(regs);
		else if (val == DIE_DEBUG)
			taken = uprobe_post_sstep_notifier(regs);
	}
	return taken ? NOTIFY_STOP : NOTIFY_DONE;
}

/**
 * arch_uprobe_own_trap - the program's own int3 trapped in an mm with probes
 * @regs: the task's registers, ip after the int3
 *
 * uprobes took the trap (in do_int3_user(), or from the die notifier) before
 * do_trap() could record it: record it as that would, so that the signal frame
 * reports an int3 (trapno 3, error code 0) and not whatever trapped last.
 */
void arch_uprobe_own_trap(struct pt_regs *regs)
{
	current->thread.trap_nr = X86_TRAP_BP;
	current->thread.error_code = 0;
	force_sig(SIGTRAP);
}

/**
 * arch_uretprobe_hijack_return_addr - make the function return to the trampoline
 * @trampoline_vaddr: the trampoline
 * @regs: the task's registers at the function's first instruction
 *
 * Return: the original return address, or -1 if the stack could not be read or
 * written.
 */
unsigned long arch_uretprobe_hijack_return_addr(unsigned long trampoline_vaddr,
						struct pt_regs *regs)
{
	unsigned int size = stack_word(regs);
	unsigned long orig = 0;

	if (stack_slot_read(regs->sp, size, &orig))
		return -1;
	if (orig == trampoline_vaddr)
		return orig;	/* already ours (a tail call): nothing to write */
	if (stack_slot_write(regs->sp, size, trampoline_vaddr))
		return -1;
	if (shstk_update_last_frame(trampoline_vaddr)) {
		/* Put the stack back as it was, so the return still works. */
		if (stack_slot_write(regs->sp, size, orig))
			force_sig(SIGSEGV);
		return -1;
	}
	return orig;
}

/**
 * arch_uretprobe_is_alive - is a pending return's frame still on the stack?
 * @ret: the pending return
 * @ctx: where we ask: at a call, a chained call or a return
 * @regs: the task's registers
 *
 * Return: true if the frame is live. The stack grows down: a frame is live while the
 * stack pointer is below its return address slot (at a return, or a tail call
 * reusing the slot, at it).
 */
bool arch_uretprobe_is_alive(struct return_instance *ret, enum rp_check ctx,
			     struct pt_regs *regs)
{
	if (ctx == RP_CHECK_CALL)
		return regs->sp < ret->stack;
	return regs->sp <= ret->stack;
}

/* A 32-bit task's mmap calls are compat system calls: status TS_COMPAT. */
#ifdef CONFIG_IA32_EMULATION
#define XOL_COMPAT_STATUS	TS_COMPAT
#else
#define XOL_COMPAT_STATUS	0
#endif

/**
 * arch_uprobe_get_xol_area - where the XOL area of the current task's mm goes
 *
 * As high as the task's address space allows, as everywhere. But x86's
 * get_unmapped_area() chooses between the 64-bit and the 32-bit layout by
 * in_32bit_syscall(), and a breakpoint trap is no system call: a 32-bit task would be
 * offered a place above 4 GiB, which its TASK_SIZE then refuses, whenever the hint is
 * taken (with randomization off, always: its stack is there). So the search is made
 * as the task's own mmap would make it.
 *
 * Return: the address, or -errno.
 */
unsigned long arch_uprobe_get_xol_area(void)
{
	struct thread_info *ti = current_thread_info();
	u32 status = ti->status;
	unsigned long vaddr;

	if (test_thread_flag(TIF_ADDR32))
		ti->status |= XOL_COMPAT_STATUS;
	vaddr = get_unmapped_area(NULL, TASK_SIZE - PAGE_SIZE, PAGE_SIZE, 0, 0);
	ti->status = status;
	return vaddr;
}

/*
 * The return trampoline of 32-bit tasks: a breakpoint at slot 0, which the int3 path
 * recognizes by its address.
 */
static u8 uretprobe_trampoline_int3[] = { UPROBE_SWBP_INSN };

/*
 * The return trampoline of 64-bit tasks enters the kernel by the uretprobe system
 * call, which costs less than a breakpoint trap. The instruction itself clobbers rax
 * (the number), rcx and r11; the trampoline leaves their values just below the stack
 * pointer (in the red zone, which signal delivery skips) for sys_uretprobe() to put
 * back, so the program sees every register as its function returned it.
 */
static u8 uretprobe_trampoline_syscall[] = {
	0x48, 0x89, 0x44, 0x24, 0xf8,		/* mov %rax, -8(%rsp) */
	0x48, 0x89, 0x4c, 0x24, 0xf0,		/* mov %rcx, -16(%rsp) */
	0x4c, 0x89, 0x5c, 0x24, 0xe8,		/* mov %r11, -24(%rsp) */
	0xb8, __NR_uretprobe & 0xff, __NR_uretprobe >> 8, 0, 0,	/* mov $nr, %eax */
	0x0f, 0x05,				/* syscall */
	UPROBE_SWBP_INSN,			/* not reached */
};

/* Where the syscall instruction leaves ip: right after it. */
#define URETPROBE_SYSCALL_RETURN	(sizeof(uretprobe_trampoline_syscall) - 1)

static bool uretprobe_syscall_usable(void)
{
	return IS_ENABLED(CONFIG_X86_64) && user_64bit_mode(task_pt_regs(current));
}

/**
 * arch_uprobe_trampoline - the code of the return trampoline for the current task
 * @psize: set to its size
 *
 * Return: the code.
 */
void *arch_uprobe_trampoline(unsigned long *psize)
{
	if (uretprobe_syscall_usable()) {
		*psize = sizeof(uretprobe_trampoline_syscall);
		return uretprobe_trampoline_syscall;
	}
	*psize = sizeof(uretprobe_trampoline_int3);
	return uretprobe_trampoline_int3;
}

/*
 * sys_uretprobe - a probed function returned into the trampoline (64-bit tasks)
 *
 * Only the trampoline may make this call: from anywhere else the task gets SIGILL.
 * Returns through IRET with every register as pt_regs has it (rcx and r11 hold the
 * program's values, so the SYSRET fast path does not apply).
 */
SYSCALL_DEFINE0(uretprobe)
{
	struct pt_regs *regs = task_pt_regs(current);
	unsigned long tramp = uprobe_get_trampoline_vaddr();
	/* The trampoline's three saved words, r11 lowest: see its code above. */
	const unsigned long __user *saved = (const unsigned long __user *)regs->sp - 3;
	unsigned long r11, cx, ax;

	if (!uretprobe_syscall_usable() || tramp == UPROBE_NO_TRAMPOLINE_VADDR ||
	    regs->ip != tramp + URETPROBE_SYSCALL_RETURN)
		goto sigill;
	/* One user access window for the three words: this runs on every return. */
	if (!user_read_access_begin(saved, 3 * sizeof(*saved)))
		goto sigill;
	unsafe_get_user(r11, &saved[0], fault);
	unsafe_get_user(cx, &saved[1], fault);
	unsafe_get_user(ax, &saved[2], fault);
	user_read_access_end();

	regs->ax = ax;
	regs->cx = cx;
	regs->r11 = r11;
	regs->orig_ax = -1;		/* not a syscall to restart */
	regs->ip = tramp;		/* where the return landed, for the handlers */
	uprobe_handle_trampoline(regs);
	return regs->ax;		/* the syscall exit stores this in regs->ax */
fault:
	user_read_access_end();
sigill:
	force_sig(SIGILL);
	return -1;
}

/**
 * arch_uprobe_syscall_is_ours - is this system call the trampoline's or a stub's?
 * @regs: the task's registers at the system call's entry
 *
 * Each makes its call from one known place and with one number. A program that
 * jumps there itself gets what the trampoline or the stub would have got (a return
 * or a hit, else the call's refusal), nothing the program could not do otherwise.
 *
 * Return: true for the return trampoline's uretprobe call and a stub's uprobe call.
 */
bool arch_uprobe_syscall_is_ours(struct pt_regs *regs)
{
	unsigned long tramp;
	long nr;

	if (!IS_ENABLED(CONFIG_X86_64) || !user_64bit_mode(regs))
		return false;
	nr = syscall_get_nr(current, regs);
	if (nr == __NR_uretprobe) {
		tramp = uprobe_get_trampoline_vaddr();
		return uretprobe_syscall_usable() && tramp != UPROBE_NO_TRAMPOLINE_VADDR &&
		       regs->ip == tramp + URETPROBE_SYSCALL_RETURN;
	}
	return x86_uprobe_syscall_from_stub(regs);
}
