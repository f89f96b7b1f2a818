// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uprobes for x86: instruction analysis, out-of-line stepping, return address
 * hijacking and the trap hooks. 64-bit and 32-bit (compat) tasks.
 *
 * The analysis decodes the probed instruction once (arch/x86/lib/insn.c) and picks
 * its ops: instructions whose effect we reproduce exactly (moves, arithmetic and
 * compares, lea, stack instructions, branches, nops: uprobes_emulate.c) are emulated
 * at the hit; anything else is copied to an XOL slot and single-stepped there, with
 * RIP-relative operands rewritten to go through a scratch register that holds the
 * address RIP would have had. Instructions that cannot run safely out of line are
 * refused.
 */

#include <linux/hw_breakpoint.h>
#include <linux/kdebug.h>
#include <linux/perf_event.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/smp.h>
#include <linux/syscalls.h>
#include <linux/uaccess.h>
#include <linux/ubp.h>
#include <linux/uprobes.h>

#include <asm/debugreg.h>
#include <asm/insn.h>
#include <asm/mmu_context.h>
#include <asm/processor.h>
#include <asm/shstk.h>
#include <asm/sync_core.h>
#include <asm/syscall.h>
#include <asm/trapnr.h>
#include <asm/traps.h>
#include <asm/unistd.h>

#include "uprobes_insn.h"

/* thread.trap_nr while a step runs; any trap in the stepped instruction overwrites it. */
#define UPROBE_TRAP_NR		UINT_MAX

/* Bits in arch_uprobe.fixups: what a step leaves for post_xol to correct. */
#define UPROBE_FIX_IP		0x01	/* ip moved relative to the slot: move it home */
#define UPROBE_FIX_CALL		0x02	/* a call pushed a return address in the slot */
#define UPROBE_FIX_RIP		0x04	/* a scratch register stood in for RIP */
#define UPROBE_FIX_POPF		0x08	/* the instruction set TF itself: leave TF alone */
#define UPROBE_FIX_BRANCH	0x10	/* the slot's call targets its own next instruction */
#define UPROBE_FIX_PUSHF	0x20	/* the pushed flags hold our TF: take it out */

/* ---------------------------------------------------------------------------- */
/* Stepped kinds.                                                               */

void uprobe_step_pre_xol(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	unsigned long *scratch = reg_at(regs, aup->scratch);

	if (!(aup->fixups & UPROBE_FIX_RIP))
		return;
	utask->autask.saved_scratch = *scratch;
	*scratch = utask->vaddr + aup->ilen;	/* what RIP is during the instruction */
}

static void riprel_restore(struct arch_uprobe *aup, struct pt_regs *regs)
{
	*reg_at(regs, aup->scratch) = current->utask->autask.saved_scratch;
}

int uprobe_step_post_xol(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	long moved = utask->vaddr - utask->xol_vaddr;

	if (aup->fixups & UPROBE_FIX_RIP)
		riprel_restore(aup, regs);
	if (aup->fixups & UPROBE_FIX_IP)
		regs->ip += moved;
	if (aup->fixups & UPROBE_FIX_BRANCH)
		regs->ip += aup->target;
	if ((aup->fixups & UPROBE_FIX_PUSHF) && !utask->autask.saved_tf) {
		u16 low;	/* TF is bit 8, in the low word of any push's size */

		if (copy_from_user(&low, (void __user *)regs->sp, sizeof(low)))
			return -EFAULT;
		low &= ~X86_EFLAGS_TF;
		if (copy_to_user((void __user *)regs->sp, &low, sizeof(low)))
			return -EFAULT;
	}
	if (aup->fixups & UPROBE_FIX_CALL) {
		unsigned int size = stack_word(regs);
		unsigned long ret = 0;

		if (copy_from_user(&ret, (void __user *)regs->sp, size))
			return -EFAULT;
		ret += moved;
		if (copy_to_user((void __user *)regs->sp, &ret, size))
			return -EFAULT;
		/* A shadow stack got the slot's return address too. */
		if (shstk_update_last_frame(ret))
			return -EFAULT;
	}
	return 0;
}

void uprobe_step_abort(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (aup->fixups & UPROBE_FIX_RIP)
		riprel_restore(aup, regs);
}

static const struct uprobe_insn_ops step_ops = { UPROBE_STEP_FALLBACK };

/* ---------------------------------------------------------------------------- */
/* Analysis.                                                                    */

/*
 * Instructions we refuse to probe: traps and interrupts (they would confuse ours),
 * far transfers and system instructions (a different code segment or privilege),
 * port I/O, and what cannot be single-stepped (a TF trap after it is suppressed, or
 * it branches relative to where it runs and we do not emulate it).
 */
static bool insn_refused(struct insn *insn)
{
	u8 op = insn->opcode.bytes[0], op2 = insn->opcode.bytes[1];
	u8 reg = X86_MODRM_REG(insn->modrm.bytes[0]);

	if (insn_masking_exception(insn))
		return true;
	/* VEX and EVEX opcodes are vector instructions, whatever their byte values. */
	if (insn->vex_prefix.nbytes)
		return false;
	if (insn->opcode.nbytes == 1) {
		switch (op) {
		case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17:	/* segment push/pop */
		case 0x1e: case 0x1f: case 0x27: case 0x2f: case 0x37: case 0x3f:
			return !insn->x86_64 ? op == 0x17 : true;
		case 0x62:					/* bound (32-bit) */
			return !insn->x86_64;
		case 0x6c ... 0x6f:				/* ins, outs */
		case 0x9a: case 0xea:				/* far call, far jmp */
		case 0xca: case 0xcb: case 0xcf:		/* far ret, iret */
		case 0xcc ... 0xce:				/* int3, int, into */
		case 0xd6:					/* salc */
		case 0xe4 ... 0xe7: case 0xec ... 0xef:		/* in, out */
		case 0xf1: case 0xf4:				/* int1, hlt */
		case 0xfa: case 0xfb:				/* cli, sti */
			return true;
		case 0xc7:					/* xbegin is relative */
			return insn->modrm.bytes[0] == 0xf8;
		case 0xff:					/* far call/jmp *m */
			return reg == 3 || reg == 5;
		}
		return false;
	}
	if (op == 0x0f && insn->opcode.nbytes == 2) {
		switch (op2) {
		case 0x05: case 0x07:				/* syscall, sysret */
		case 0x0b: case 0xb9: case 0xff:		/* ud2, ud1, ud0 */
		case 0x34: case 0x35:				/* sysenter, sysexit */
		case 0x00:					/* sldt, ltr, ... */
		/*
		 * sgdt, sidt, smsw, ...: under UMIP the kernel emulates some of them
		 * for user space and moves ip on from where the instruction ran, in
		 * a slot's copy past bytes that are not the program's.
		 */
		case 0x01:
		case 0x06: case 0x08: case 0x09: case 0x30: case 0x32: case 0x33: /* privileged */
		case 0x20 ... 0x23:				/* mov to/from cr, dr */
			return true;
		}
	}
	return false;
}

/*
 * Rewrite a RIP-relative operand of @aup->ixol as [scratch + disp32]: mod 00 rm 101
 * becomes mod 10 rm <scratch>. The scratch register is one the instruction does not
 * name (ModRM.reg, VEX.vvvv) nor use implicitly (cmpxchg8b/16b use rbx).
 */
static int riprel_rewrite(struct arch_uprobe *aup, struct insn *insn)
{
	static const u8 candidates[] = { 6 /* si */, 7 /* di */, 3 /* bx */ };
	u8 modrm = insn->modrm.bytes[0];
	u8 reg = X86_MODRM_REG(modrm), vvvv = 0xff;
	u8 *cursor;
	int i;

	if (insn->rex_prefix.nbytes && (insn->rex_prefix.bytes[0] & 0x04))
		reg += 8;			/* REX.R: a high register, no clash */
	if (insn->vex_prefix.nbytes)
		vvvv = ~X86_VEX_V(insn->vex_prefix.bytes[insn->vex_prefix.nbytes == 2 ? 1 : 2]) & 0xf;

	for (i = 0; i < ARRAY_SIZE(candidates); i++) {
		u8 r = candidates[i];

		if (r == reg || r == vvvv)
			continue;
		if (r == 3 && insn->opcode.bytes[0] == 0x0f && insn->opcode.bytes[1] == 0xc7)
			continue;
		break;
	}
	if (i == ARRAY_SIZE(candidates))
		return -ENOTSUPP;

	aup->scratch = uprobe_gpr_offset[candidates[i]];
	cursor = aup->ixol + insn_offset_modrm(insn);
	*cursor = 0x80 | (modrm & 0x38) | candidates[i];
	/* REX.B would turn the scratch register into r14/r15: clear it. */
	if (insn->rex_prefix.nbytes)
		aup->ixol[insn_offset_rex_prefix(insn)] &= ~0x01;
	/* VEX3 and EVEX keep B inverted, in bit 5 of their second byte. */
	if (insn->vex_prefix.nbytes >= 3)
		aup->ixol[insn_offset_vex_prefix(insn) + 1] |= 0x20;
	aup->fixups |= UPROBE_FIX_RIP;
	return 0;
}

/* movs, cmps, stos, lods or scas with a rep prefix: a step traps after each round. */
static bool insn_is_rep_string(struct insn *insn)
{
	u8 op = insn->opcode.bytes[0];

	if (insn->opcode.nbytes != 1 ||
	    !(insn_has_prefix(insn, 0xf3) || insn_has_prefix(insn, 0xf2)))
		return false;
	return (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf);
}

/* Decide what a step must fix afterwards. */
static int choose_stepping(struct arch_uprobe *aup, struct insn *insn)
{
	u8 op = insn->opcode.bytes[0];
	u8 reg = X86_MODRM_REG(insn->modrm.bytes[0]);
	int err;

	aup->fixups = UPROBE_FIX_IP;
	aup->rep_string = insn_is_rep_string(insn);
	if (insn->opcode.nbytes == 1) {
		switch (op) {
		case 0xc2: case 0xc3:		/* ret: ip comes from the stack */
			aup->fixups = 0;
			break;
		case 0x9c:			/* pushf */
			aup->fixups |= UPROBE_FIX_PUSHF;
			break;
		case 0x9d:			/* popf */
			aup->fixups |= UPROBE_FIX_POPF;
			break;
		case 0xff:
			if (reg == 2)		/* call *: ip absolute, return address not */
				aup->fixups = UPROBE_FIX_CALL;
			else if (reg == 4)	/* jmp *: ip absolute */
				aup->fixups = 0;
			break;
		}
	}
	if (insn->x86_64 && insn_rip_relative(insn)) {
		err = riprel_rewrite(aup, insn);
		if (err)
			return err;
	}
	aup->ops = &step_ops;
	return 0;
}

/* The 5-byte nop (nopl 0x0(%rax,%rax,1)) of USDT sites; see "Trap-free 5-byte nops". */
static const u8 nop5_insn[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

#define NOP5_LEN		sizeof(nop5_insn)

/**
 * arch_uprobe_analyze_insn - decode the probed instruction and choose its handling
 * @aup: arch data; @aup->insn holds the bytes from the file
 * @mm: an mm the probe goes into (its mode decides 64-bit or 32-bit decoding)
 * @addr: the instruction's address there
 *
 * Return: 0, -ENOEXEC if the bytes do not decode, -ENOTSUPP if the instruction is
 * one we refuse.
 */
int arch_uprobe_analyze_insn(struct arch_uprobe *aup, struct mm_struct *mm,
			     unsigned long addr)
{
	bool x86_64 = IS_ENABLED(CONFIG_X86_64) && is_64bit_mm(mm);
	struct insn insn;
	int err;

	if (insn_decode(&insn, aup->insn, sizeof(aup->insn),
			x86_64 ? INSN_MODE_64 : INSN_MODE_32) < 0)
		return -ENOEXEC;
	if (insn_has_emulate_prefix(&insn) || insn_refused(&insn))
		return -ENOTSUPP;

	aup->ilen = insn.length;
	aup->fixups = 0;
	aup->mem = false;
	aup->mode64 = x86_64;
	aup->nop5 = x86_64 && !memcmp(aup->insn, nop5_insn, NOP5_LEN);
	memcpy(aup->ixol, aup->insn, sizeof(aup->ixol));
	/*
	 * A relative branch must be emulated: stepped from a slot, it would branch
	 * relative to the slot. Only a call can fail (a shadow stack, a stack fault):
	 * its step calls the slot's next instruction, and the fix-ups move the
	 * return address home and the instruction pointer to the target.
	 */
	if (uprobe_insn_is_relative_branch(&insn)) {
		if (!uprobe_choose_emulation(aup, &insn))
			return -ENOTSUPP;
		if (insn.opcode.bytes[0] == 0xe8) {
			memset(aup->ixol + insn_offset_immediate(&insn), 0, 4);
			aup->fixups = UPROBE_FIX_IP | UPROBE_FIX_CALL | UPROBE_FIX_BRANCH;
		}
		return 0;
	}
	/* Everything else is prepared for a step, which an emulation falls back to. */
	err = choose_stepping(aup, &insn);
	if (err)
		return err;
	uprobe_choose_emulation(aup, &insn);
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
 * emulation checks each access (uprobe_watch_access()); any other data breakpoint
 * armed on this CPU (a perf event, CPU-wide or on the task, or the kernel's own)
 * makes the instruction be stepped, so that the CPU reports the access itself.
 */

/* The data breakpoints (RW other than 00, instruction) enabled in DR7 here. */
static int armed_data_breakpoints(void)
{
	unsigned long dr7 = this_cpu_read(cpu_dr7);
	int i, nr = 0;

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
 * uprobe_watch_access - an emulated instruction accessed user memory
 * @addr: the linear address
 * @size: bytes accessed
 * @write: a store (else a load)
 *
 * Notes the task's ptrace watchpoints the access hits, by the rule of the debug
 * registers: any byte of the access in the watched range, for a watchpoint of that
 * kind (a write one sees stores; a read/write one, both).
 */
void uprobe_watch_access(unsigned long addr, unsigned int size, bool write)
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

	if (!aup->ops->emulate)
		return false;
	/* Relative branches mean the same in either mode, and have no step to fall to. */
	if (aup->ops->pre_xol && !emulation_mode_matches(aup, regs))
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
 * Return: 0.
 */
int arch_uprobe_pre_xol(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct arch_uprobe_task *saved = &current->utask->autask;
	struct thread_struct *thread = &current->thread;

	if (aup->ops->pre_xol)
		aup->ops->pre_xol(aup, regs);
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
	bool popf_ran = done && (aup->fixups & UPROBE_FIX_POPF);

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
	if (aup->ops->post_xol)
		err = aup->ops->post_xol(aup, regs);
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

	return aup->rep_string && regs->ip == utask->xol_vaddr && !utask->autask.saved_tf;
}

/**
 * arch_uprobe_abort_xol - the step was cut short: back to the probed instruction
 * @aup: the probe's arch data
 * @regs: the task's registers
 */
void arch_uprobe_abort_xol(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (aup->ops->abort)
		aup->ops->abort(aup, regs);
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
 * uprobes took the trap from the die notifier, before do_int3_user() could record
 * it: record it as that would, so that the signal frame reports an int3 (trapno 3,
 * error code 0) and not whatever trapped last.
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

	if (copy_from_user(&orig, (void __user *)regs->sp, size))
		return -1;
	if (orig == trampoline_vaddr)
		return orig;	/* already ours (a tail call): nothing to write */
	if (copy_to_user((void __user *)regs->sp, &trampoline_vaddr, size))
		return -1;
	if (shstk_update_last_frame(trampoline_vaddr)) {
		/* Put the stack back as it was, so the return still works. */
		if (copy_to_user((void __user *)regs->sp, &orig, size))
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
	struct {
		unsigned long r11, cx, ax;	/* lowest address first */
	} saved;

	if (!uretprobe_syscall_usable() || tramp == UPROBE_NO_TRAMPOLINE_VADDR ||
	    regs->ip != tramp + URETPROBE_SYSCALL_RETURN)
		goto sigill;
	if (copy_from_user(&saved, (void __user *)(regs->sp - sizeof(saved)), sizeof(saved)))
		goto sigill;

	regs->ax = saved.ax;
	regs->cx = saved.cx;
	regs->r11 = saved.r11;
	regs->orig_ax = -1;		/* not a syscall to restart */
	regs->ip = tramp;		/* where the return landed, for the handlers */
	uprobe_handle_trampoline(regs);
	return regs->ax;		/* the syscall exit stores this in regs->ax */
sigill:
	force_sig(SIGILL);
	return -1;
}

/* ---------------------------------------------------------------------------- */
/* Trap-free 5-byte nops (64-bit tasks).                                        */

/*
 * A probe on a 5-byte nop (the USDT site of sys/sdt.h and libbpf) is a breakpoint
 * until its first hit in an mm; then the nop becomes `jmp rel32` to a stub slot of
 * its own (kernel/events/ubp.c) that enters the kernel by the uprobe system call:
 * a jump and a system call instead of a trap. A jump, not a call: a call would push
 * its return address into the red zone, which a leaf function may be using at the
 * site. Documentation/trace/ubp.rst has the whole design.
 */
#define NOP5_JMP_OPCODE		0xe9
/* The stub moves the stack pointer this far down before it pushes: the red zone. */
#define NOP5_RED_ZONE		128

/*
 * Every slot's code. It steps over the red zone, saves the three registers the
 * system call instruction clobbers (rax: the number; rcx and r11: ip and flags) for
 * sys_uprobe() to put back, and enters the kernel, which returns to the site's next
 * instruction. Flags are untouched until the syscall (lea and push leave them), so
 * the flags the kernel saves are the program's.
 *
 * The call may not run: a tracer emulating the task's system calls (PTRACE_SYSEMU)
 * skips it, and sys_uprobe() itself may refuse it. Then the stub puts the
 * registers and the stack pointer back (pop and lea leave the flags, which the
 * kernel returned as they were) and traps at its int3, which the breakpoint path
 * takes for a hit at the site (uprobe_get_swbp_addr()).
 */
static const u8 nop5_stub[UBP_STUB_SLOT_BYTES] = {
	0x48, 0x8d, 0x64, 0x24, 0x80,		/* lea -0x80(%rsp), %rsp */
	0x51,					/* push %rcx */
	0x41, 0x53,				/* push %r11 */
	0x50,					/* push %rax */
	0xb8, __NR_uprobe & 0xff, __NR_uprobe >> 8, 0, 0,	/* mov $nr, %eax */
	0x0f, 0x05,				/* syscall */
	0x58,					/* pop %rax: the call did not run */
	0x41, 0x5b,				/* pop %r11 */
	0x59,					/* pop %rcx */
	0x48, 0x8d, 0xa4, 0x24, 0x80, 0, 0, 0,	/* lea 0x80(%rsp), %rsp */
	[28 ... UBP_STUB_SLOT_BYTES - 1] = UPROBE_SWBP_INSN,
};

/* Where the system call leaves ip: right after it, 16 bytes into the slot. */
#define NOP5_STUB_SYSCALL_END	16
/* The int3 a stub whose call did not run traps at. */
#define NOP5_STUB_FALLBACK	28

/**
 * uprobe_get_swbp_addr - the address of the breakpoint behind an int3 trap
 * @regs: the task's registers at the trap
 *
 * The int3 of a stub slot whose system call did not run stands for the breakpoint
 * of the slot's site: the task is then back in the state it had at the site.
 *
 * Return: the breakpoint's address.
 */
unsigned long uprobe_get_swbp_addr(struct pt_regs *regs)
{
	unsigned long bp = regs->ip - UPROBE_SWBP_INSN_SIZE, site;
	struct mm_struct *mm = current->mm;

	/* The stub list needs no lock: see struct ubp_stub_page. */
	if (mm && ubp_has_stubs(mm) && user_64bit_mode(regs)) {
		site = ubp_stub_site(mm, bp - NOP5_STUB_FALLBACK);
		if (site)
			return site;
	}
	return bp;
}

/*
 * Does someone else see this process's system calls or steps? A tracer that emulates
 * system calls (PTRACE_SYSEMU: UML, gVisor's ptrace platform) would get a stub's
 * call, as a call the program never made, and not sys_uprobe(); a debugger reading
 * the site would save the jump under its own breakpoint and write it back over a
 * site restored since, a debugger single-stepping it would step into the stub, and
 * strace would see the call. Such a process keeps its breakpoints, exactly what it
 * would run unprobed but for the trap; what was optimized before it became traced,
 * uprobe_task_watched() has turned back. An mm with more users than the process has
 * threads is not optimized either: it is shared with another process (a vfork
 * child and its parent, CLONE_VM without CLONE_THREAD), whose tracers are not among
 * our threads. The count also holds passing references (a /proc reader): then the
 * site stays a breakpoint until a later hit. The reference a new sharer takes comes
 * before the sharer can be traced, and so before any sweep of its tracer.
 */
static bool process_watched(void)
{
	struct task_struct *t;
	bool found = false;

	if (atomic_read(&current->mm->mm_users) > get_nr_threads(current))
		return true;
	rcu_read_lock();
	for_each_thread(current, t) {
		if (t->ptrace || test_task_syscall_work(t, SYSCALL_EMU)) {
			found = true;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

/* What the stub pushed, lowest address first. */
struct nop5_saved_regs {
	unsigned long ax, r11, cx;
};

/*
 * The range a stub page of the site at @vaddr must lie in, so that every slot of
 * it is within reach of the jump's rel32 (counted from the end of the jump).
 */
static void nop5_stub_range(unsigned long vaddr, unsigned long *low, unsigned long *high)
{
	unsigned long reach = SZ_2G - 2 * PAGE_SIZE;

	*low = vaddr > reach ? vaddr - reach : 0;
	*high = min(vaddr + reach, DEFAULT_MAP_WINDOW);
}

/**
 * arch_uprobe_optimizable - may this hit's site become a jump to a stub?
 * @aup: the probe's arch data
 * @regs: the task's registers after the hit
 * @vaddr: the site
 *
 * Only 5-byte nops that do not cross a page, in 64-bit code of a 64-bit mm: a
 * 32-bit task (or 32-bit code in a 64-bit one) would wrap the jump at 4 GiB and
 * cannot make the 64-bit system call the stub makes.
 *
 * Return: true if arch_uprobe_optimize() may be tried.
 */
bool arch_uprobe_optimizable(struct arch_uprobe *aup, struct pt_regs *regs,
			     unsigned long vaddr)
{
	return aup->nop5 && user_64bit_mode(regs) && is_64bit_mm(current->mm) &&
	       offset_in_page(vaddr) <= PAGE_SIZE - NOP5_LEN;
}

/*
 * Cross-modifying code: other CPUs may run the site while it changes. Each step
 * leaves bytes that are correct to run whatever a CPU fetched before, and between
 * steps every CPU that may run the mm serializes (sync_mm_cpus()), so that none
 * still holds bytes from two steps back. Byte 0 stays int3 while the tail changes:
 * a CPU that reaches the site then traps, and the breakpoint path emulates the nop.
 */

static void sync_core_ipi(void *unused)
{
	sync_core();
}

/*
 * Serialize the CPUs that may hold instructions of @mm: those in mm_cpumask(), which
 * x86 keeps for TLB shootdowns. A CPU sets its bit before it loads the mm's CR3
 * (switch_mm_irqs_off()) and keeps it while the mm is loaded, lazily too; a CPU
 * whose bit is clear can only run the mm after that CR3 write, which serializes it,
 * and then fetches the bytes of the new page (the page switch flushed the old one
 * from the TLBs). So other CPUs, isolated ones included, are left alone.
 */
static void sync_mm_cpus(struct mm_struct *mm)
{
	on_each_cpu_mask(mm_cpumask(mm), sync_core_ipi, NULL, true);
}

/**
 * arch_uprobe_optimize - turn the breakpoint on a 5-byte nop into a jump to a stub
 * @aup: the probe's arch data; arch_uprobe_optimizable() said yes
 * @vma: the text mapping; its mm's mmap_lock held for writing
 * @vaddr: the site
 *
 * Nothing happens unless the site holds our breakpoint over the nop's tail. While
 * process_watched(), the other way round: a jump made before (the hit came through
 * the stub's fallback) becomes a breakpoint again.
 */
void arch_uprobe_optimize(struct arch_uprobe *aup, struct vm_area_struct *vma,
			  unsigned long vaddr)
{
	u8 swbp = UPROBE_SWBP_INSN, jmp = NOP5_JMP_OPCODE, now[NOP5_LEN], rel[4];
	struct mm_struct *mm = vma->vm_mm;
	unsigned long low, high, slot;
	s32 disp;

	mmap_assert_write_locked(mm);
	if (process_watched()) {
		arch_uprobe_unoptimize(aup, vma, vaddr);
		return;
	}
	if (ubp_read(mm, vaddr, now, NOP5_LEN) || now[0] != swbp ||
	    memcmp(now + 1, aup->insn + 1, NOP5_LEN - 1))
		return;
	nop5_stub_range(vaddr, &low, &high);
	slot = ubp_stub_bind(mm, vaddr, low, high, nop5_stub);
	if (!slot)
		return;
	/*
	 * The mm's first stub page is published now; a tracer that came meanwhile
	 * found none and did not sweep. One of us sees the other: pairs with the
	 * barrier in uprobe_task_watched(), between its mark and its look at the list.
	 */
	smp_mb();
	if (process_watched())
		return;
	disp = slot - (vaddr + NOP5_LEN);
	memcpy(rel, &disp, sizeof(rel));

	sync_mm_cpus(mm);	/* nobody still runs the nop from before the int3 */
	if (ubp_set_insn(vma, vaddr + 1, aup->insn + 1, rel, sizeof(rel),
			 UBP_INSERT) != UBP_WRITTEN)
		return;
	sync_mm_cpus(mm);	/* every CPU sees the tail before the jump opcode */
	if (ubp_set_insn(vma, vaddr, &swbp, &jmp, 1, UBP_INSERT) != UBP_WRITTEN) {
		/* No memory for the page walk: back to a plain breakpoint. */
		ubp_set_insn(vma, vaddr + 1, rel, aup->insn + 1, sizeof(rel), UBP_RESTORE);
		return;
	}
	sync_mm_cpus(mm);	/* and now every CPU jumps */
}

/**
 * arch_uprobe_unoptimize - turn an optimized site back into a breakpoint
 * @aup: the probe's arch data
 * @vma: the text mapping; its mm's mmap_lock held for writing
 * @vaddr: the site
 *
 * Nothing happens unless the tail of the site is a displacement to the stub slot
 * bound to it (a jump of the program's own is not ours). The site may hold the jump,
 * or an int3 over it: an optimization whose last page switch failed and whose undo
 * failed too, or a debugger's breakpoint written over our jump. Either way it leaves
 * as the int3 over the nop's own tail, which a removal then takes out as any
 * breakpoint. A task already in the stub still comes back through sys_uprobe(),
 * which finds the site by the slot.
 */
void arch_uprobe_unoptimize(struct arch_uprobe *aup, struct vm_area_struct *vma,
			    unsigned long vaddr)
{
	u8 swbp = UPROBE_SWBP_INSN, jmp = NOP5_JMP_OPCODE, now[NOP5_LEN];
	struct mm_struct *mm = vma->vm_mm;
	s32 disp;

	mmap_assert_write_locked(mm);
	if (!aup->nop5 || offset_in_page(vaddr) > PAGE_SIZE - NOP5_LEN)
		return;
	if (ubp_read(mm, vaddr, now, NOP5_LEN) || (now[0] != jmp && now[0] != swbp))
		return;
	memcpy(&disp, now + 1, sizeof(disp));
	if (ubp_stub_site(mm, vaddr + NOP5_LEN + disp) != vaddr)
		return;

	if (now[0] == jmp && ubp_set_insn(vma, vaddr, &jmp, &swbp, 1, UBP_INSERT) != UBP_WRITTEN)
		return;
	/* A CPU may still run a jump it fetched before someone else's int3 too. */
	sync_mm_cpus(mm);	/* every CPU traps before the tail changes */
	ubp_set_insn(vma, vaddr + 1, now + 1, aup->insn + 1, NOP5_LEN - 1, UBP_RESTORE);
	sync_mm_cpus(mm);	/* and sees the tail before the int3 may go */
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
	struct mm_struct *mm = current->mm;
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
	/* The stub list needs no lock: see struct ubp_stub_page. */
	return nr == __NR_uprobe && ubp_has_stubs(mm) &&
	       ubp_stub_site(mm, regs->ip - NOP5_STUB_SYSCALL_END);
}

/*
 * sys_uprobe - a task came from an optimized site through its stub (64-bit tasks)
 *
 * The stub slot, known from the return address, gives the site. From anywhere else
 * the call fails with -ENXIO and changes nothing. Returns through IRET with every
 * register as at the site (rcx and r11 hold the program's values, not what SYSRET
 * needs), at the site's next instruction unless a handler moved ip.
 */
SYSCALL_DEFINE0(uprobe)
{
	struct pt_regs *regs = task_pt_regs(current);
	struct nop5_saved_regs saved;
	unsigned long site;

	if (!IS_ENABLED(CONFIG_X86_64) || !current->mm || !user_64bit_mode(regs))
		return -ENXIO;
	/* The stub list needs no lock: see struct ubp_stub_page. */
	site = ubp_stub_site(current->mm, regs->ip - NOP5_STUB_SYSCALL_END);
	if (!site)
		return -ENXIO;
	if (copy_from_user(&saved, (void __user *)regs->sp, sizeof(saved)))
		return -EFAULT;	/* the stub's fallback faults on the same stack */

	regs->ax = saved.ax;
	regs->r11 = saved.r11;
	regs->cx = saved.cx;
	regs->sp += sizeof(saved) + NOP5_RED_ZONE;
	regs->orig_ax = -1;		/* not a system call to restart */
	regs->ip = site;		/* where the handlers see the task */
	uprobe_handle_stub_hit(regs, site);
	if (regs->ip == site)
		regs->ip = site + NOP5_LEN;	/* the nop itself */
	return regs->ax;		/* the syscall exit stores this in regs->ax */
}
