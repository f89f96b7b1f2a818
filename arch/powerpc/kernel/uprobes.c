// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uprobes for powerpc64: instruction analysis, emulation, out-of-line stepping, return
 * probes through the link register, and the trap and single-step hooks.
 *
 * The analysis runs the tree's instruction decoder (analyse_instr(), the one kprobes
 * and the alignment handler use) once per probe and picks one of three handlings:
 *
 *  - instructions whose effect depends on where they run (branches, addpcis, prefixed
 *    instructions with R=1) are always emulated: a copy in an XOL slot would compute
 *    from the slot's address;
 *  - instructions the decoder understands are emulated by emulate_step() at the hit,
 *    one trap instead of two; when it declines (a fault, a facility the task has not
 *    enabled), the instruction is stepped instead and faults, if it must, by itself;
 *  - the rest is single-stepped out of line with MSR_SE.
 *
 * Refused: trap instructions (the generic code asks is_trap_insn()), system calls and
 * returns from interrupt (no trace interrupt follows them, so a step would run on
 * into the XOL area), privileged instructions, load-and-reserve and store-conditional
 * (the kernel's own atomics between the trap and the return to user mode always cancel
 * the reservation, so a probed larx/stcx. loop would never complete), and words that
 * are the second half of a prefixed instruction, or a prefixed instruction that
 * crosses a 64-byte boundary.
 */

#include <linux/highmem.h>
#include <linux/kdebug.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/uaccess.h>
#include <linux/uprobes.h>

#include <asm/cacheflush.h>
#include <asm/inst.h>
#include <asm/ppc-opcode.h>
#include <asm/sstep.h>

/* thread.trap_nr while a step runs; any trap in the stepped instruction overwrites it. */
#define UPROBE_TRAP_NR		UINT_MAX

/* arch_uprobe.kind: how a hit is handled. */
enum {
	UPROBE_PPC_EMULATE,	/* position dependent: only emulation gets it right */
	UPROBE_PPC_TRY_EMULATE,	/* emulate_step() if it can, else step */
	UPROBE_PPC_STEP,	/* step out of line */
};

/* Prefix words (primary opcode 1): the form, and the R bit of 8LS and MLS forms. */
#define PREFIX_FORM(prefix)	(((prefix) >> 24) & 3)
#define PREFIX_FORM_8LS		0
#define PREFIX_FORM_MLS		2
#define PREFIX_R		(1U << 20)

/* addpcis (lnia): opcode 19, extended opcode 2 in bits 1-5 of the word. */
#define ADDPCIS_MASK		0xfc00003e
#define ADDPCIS_VALUE		0x4c000004

static bool word_is_prefix(u32 word)
{
	return (word >> 26) == OP_PREFIX;
}

/**
 * is_trap_insn - is this word one of the trap instructions (tw, twi, td, tdi)?
 * @insn: the word
 *
 * Return: true for any trap, conditional or not: the generic code refuses to probe
 * them and leaves their traps to the program.
 */
bool is_trap_insn(uprobe_opcode_t *insn)
{
	return is_trap(*insn);
}

/**
 * uprobe_get_swbp_addr - the address of the trap that brought the task in
 * @regs: the task's registers at the program check
 *
 * Return: the trap's address: a program check leaves NIP at the trapping word.
 */
unsigned long uprobe_get_swbp_addr(struct pt_regs *regs)
{
	return instruction_pointer(regs);
}

/*
 * The word before @addr as the file has it: in the mm, another probe's trap may stand
 * there in place of a prefix. A prefixed instruction never crosses a 64-byte boundary,
 * so @addr - 4 lies in the page (and the mapping) of @addr.
 */
static int read_word_before(struct mm_struct *mm, unsigned long addr, u32 *word)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	struct address_space *mapping;
	struct folio *folio;
	loff_t pos;

	if (!vma || !vma->vm_file)
		return -EINVAL;
	mapping = vma->vm_file->f_mapping;
	pos = ((loff_t)vma->vm_pgoff << PAGE_SHIFT) + (addr - 4 - vma->vm_start);
	if (shmem_mapping(mapping))
		folio = shmem_read_folio(mapping, pos >> PAGE_SHIFT);
	else
		folio = read_mapping_folio(mapping, pos >> PAGE_SHIFT, vma->vm_file);
	if (IS_ERR(folio))
		return PTR_ERR(folio);
	memcpy_from_folio((char *)word, folio, offset_in_folio(folio, pos), sizeof(*word));
	folio_put(folio);
	return 0;
}

/* Does the instruction compute from its own address (other than as a branch)? */
static bool insn_reads_nip(ppc_inst_t inst)
{
	u32 word = ppc_inst_val(inst);

	if (ppc_inst_prefixed(inst)) {
		unsigned int form = PREFIX_FORM(word);

		return (form == PREFIX_FORM_8LS || form == PREFIX_FORM_MLS) &&
		       (word & PREFIX_R);
	}
	return (word & ADDPCIS_MASK) == ADDPCIS_VALUE;
}

/* Pick the handling of @inst, or refuse it (-ENOTSUPP). */
static int choose_kind(struct arch_uprobe *aup, ppc_inst_t inst, unsigned long addr)
{
	struct instruction_op op;
	struct pt_regs regs = {};
	int type, ret;

	/* The decoder looks at the mode a user task runs in, and at the address. */
	regs.msr = MSR_USER64;
	regs.nip = addr;
	ret = analyse_instr(&op, &regs, inst);
	if (ret < 0)
		return -ENOTSUPP;	/* rfid, mtmsrd and the like */
	type = GETTYPE(op.type);
	aup->partial_load = (type == LOAD && GETSIZE(op.type) == 16) || type == LOAD_MULTI;

	switch (type) {
	case SYSCALL:
	case SYSCALL_VECTORED_0:
	case RFI:
	case INTERRUPT:		/* privileged in user mode, or a trap */
	case MFMSR:
	case MTMSR:
	case LARX:
	case STCX:
		return -ENOTSUPP;
	case BRANCH:
		aup->kind = UPROBE_PPC_EMULATE;
		return 0;
	}

	if (insn_reads_nip(inst)) {
		/*
		 * Emulation must do it: pla/paddi, and loads and stores of any register
		 * file (for a user task, sstep.c reaches FP and vector registers whether
		 * they are live or saved in the thread).
		 */
		if (type != COMPUTE && !OP_IS_LOAD_STORE(type))
			return -ENOTSUPP;
		aup->kind = UPROBE_PPC_EMULATE;
		return 0;
	}
	aup->kind = type == UNKNOWN ? UPROBE_PPC_STEP : UPROBE_PPC_TRY_EMULATE;
	return 0;
}

/**
 * arch_uprobe_analyze_insn - decode the probed instruction and choose its handling
 * @aup: arch data; @aup->insn holds the words from the file
 * @mm: an mm the probe goes into, its mmap_lock held
 * @addr: the instruction's address there
 *
 * Return: 0, -EINVAL for an address that is not the start of an instruction, or
 * -ENOTSUPP for an instruction that is refused.
 */
int arch_uprobe_analyze_insn(struct arch_uprobe *aup, struct mm_struct *mm,
			     unsigned long addr)
{
	ppc_inst_t inst = ppc_inst_read(aup->insn);
	u32 before;
	int err;

	if (!IS_ALIGNED(addr, 4))
		return -EINVAL;
	if (ppc_inst_prefixed(inst) && (addr & 63) == 60)
		return -EINVAL;
	/* The second word of a prefixed instruction: at a 64-byte boundary, never. */
	if (!IS_ALIGNED(addr, 64)) {
		err = read_word_before(mm, addr, &before);
		if (err)
			return err;
		if (word_is_prefix(before))
			return -EINVAL;
	}

	err = choose_kind(aup, inst, addr);
	if (err)
		return err;

	aup->len = ppc_inst_len(inst);
	/* A step of a position-dependent instruction runs a nop: see arch_uprobe_pre_xol(). */
	aup->ixol[0] = aup->kind == UPROBE_PPC_EMULATE ? PPC_RAW_NOP() : aup->insn[0];
	/* A one-word instruction is followed by a trap, never by whatever came next. */
	aup->ixol[1] = aup->len == 8 && aup->kind != UPROBE_PPC_EMULATE ?
		       aup->insn[1] : UPROBE_SWBP_INSN;
	return 0;
}

/* Clear the trace bits and report a finished step to the task's debugger. */
static void debugger_step_done(struct pt_regs *regs)
{
	regs_set_return_msr(regs, regs->msr & ~(MSR_SE | MSR_BE));
	force_sig_fault(SIGTRAP, TRAP_TRACE, (void __user *)regs->nip);
}

/*
 * emulate_step() without a trace of a failed try: a load or store that faults leaves
 * regs->dar set, and a quadword or multiple load may have written its first
 * registers. A store cut short by a fault may have written its first part; the next
 * try writes the same bytes again. Return: true if the instruction was done; false
 * if it faulted, with *@fault_addr set to the address that faulted.
 */
static bool emulate_cleanly(struct arch_uprobe *aup, struct pt_regs *regs,
			    unsigned long *fault_addr)
{
	unsigned long gpr[ARRAY_SIZE(regs->gpr)], dar = regs->dar;

	if (aup->partial_load)
		memcpy(gpr, regs->gpr, sizeof(gpr));
	if (emulate_step(regs, ppc_inst_read(aup->insn)) > 0)
		return true;
	*fault_addr = regs->dar;
	if (aup->partial_load)
		memcpy(regs->gpr, gpr, sizeof(gpr));
	regs->dar = dar;
	return false;
}

/*
 * The signal the page-fault handler sends a user access to @addr that it cannot
 * satisfy (arch/powerpc/mm/fault.c): no mapping, or one that does not allow the
 * access, is a SIGSEGV; a mapping that allows it but has nothing behind the address
 * (past the end of its file, a poisoned page) is a SIGBUS. Return: false if the
 * access can be satisfied now after all (the page came in meanwhile, or only a user
 * fault could bring it: userfaultfd in user-mode-only mode).
 */
static bool deliver_fault(struct pt_regs *regs, unsigned long addr, bool write)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool unlocked = false;
	int si_code, err;

	if (mmap_read_lock_killable(mm))
		return true;	/* dying: nothing more to deliver */
	vma = addr < TASK_SIZE ? vma_lookup(mm, addr) : NULL;
	if (!vma) {
		si_code = SEGV_MAPERR;
		goto segv;
	}
	/* The rules of the fault handler's access_error() for a data access. */
	if (write ? !(vma->vm_flags & VM_WRITE) :
	    (!vma_is_accessible(vma) || (vma->vm_flags & VM_ACCESS_FLAGS) == VM_EXEC)) {
		si_code = SEGV_ACCERR;
		goto segv;
	}
	err = fixup_user_fault(mm, addr, FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0),
			       &unlocked);
	mmap_read_unlock(mm);
	if (err != 0)
		regs->dar = addr;	/* as a native fault leaves it, for a signal handler */
	switch (err) {
	case 0:
		return false;
	case -EHWPOISON:
		current->thread.trap_nr = BUS_ADRERR;
		force_sig_mceerr(BUS_MCEERR_AR, (void __user *)addr, PAGE_SHIFT);
		return true;
	case -EFAULT:
		current->thread.trap_nr = BUS_ADRERR;
		force_sig_fault(SIGBUS, BUS_ADRERR, (void __user *)addr);
		return true;
	case -ENOMEM:
		/* What the fault handler does for a user fault: then the access is retried. */
		pagefault_out_of_memory();
		return true;
	default:
		return true;	/* a fatal signal: nothing more to deliver */
	}
segv:
	mmap_read_unlock(mm);
	regs->dar = addr;
	/* As the fault handler reports it: the kernel log's line, then the signal. */
	_exception(SIGSEGV, regs, si_code, addr);
	return true;
}

/* Tries at an access whose page keeps going away between fault and emulation. */
#define EMULATE_FAULT_TRIES	3

/*
 * Emulate with page faults allowed: what a native access does, it does. A failed
 * try either delivers the fault's signal, NIP still at the instruction, or finds
 * that the page can be had and tries again. Return: true if the instruction was done.
 */
static bool emulate_faulting(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct instruction_op op;
	unsigned long addr;
	bool write;
	int i;

	write = analyse_instr(&op, regs, ppc_inst_read(aup->insn)) == 0 &&
		OP_IS_STORE(GETTYPE(op.type));
	for (i = 0; i < EMULATE_FAULT_TRIES; i++) {
		if (emulate_cleanly(aup, regs, &addr))
			return true;
		if (deliver_fault(regs, addr, write))
			return false;
	}
	/* Raced with unmapping every time: the hit comes again, as a native retry would. */
	return false;
}

/**
 * arch_uprobe_skip_sstep - emulate the probed instruction if its kind allows
 * @aup: the probe's arch data
 * @regs: the task's registers, NIP at the probed instruction
 *
 * The core may call this with page faults disabled. Then an access that needs a page
 * fault leaves everything as it was and returns false; with faults enabled, such an
 * access is satisfied, or delivers the signal a native access would get.
 *
 * Return: true if done (no step needed): the instruction ran, or its fault's signal
 * is pending and NIP is still at the probed instruction.
 */
bool arch_uprobe_skip_sstep(struct arch_uprobe *aup, struct pt_regs *regs)
{
	bool traced = regs->msr & MSR_SE;
	unsigned long addr;

	if (aup->kind == UPROBE_PPC_STEP)
		return false;
	if (!emulate_cleanly(aup, regs, &addr)) {
		/* A step takes its own faults; only emulation gets the other kind right. */
		if (aup->kind != UPROBE_PPC_EMULATE || faulthandler_disabled())
			return false;
		if (!emulate_faulting(aup, regs))
			return true;
	}
	/* A debugger stepping through the probed instruction expects its trap. */
	if (traced)
		debugger_step_done(regs);
	return true;
}

/**
 * arch_uprobe_pre_xol - get ready to step the slot's copy
 * @aup: the probe's arch data
 * @regs: the task's registers
 *
 * Return: 0, or -EFAULT when the instruction is not to be stepped: its fault's signal
 * is pending, or it is to run again, NIP at the probed instruction.
 */
int arch_uprobe_pre_xol(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	struct arch_uprobe_task *saved = &utask->autask;

	saved->resume_vaddr = 0;
	if (aup->kind == UPROBE_PPC_EMULATE) {
		/*
		 * Emulation with faults disabled failed and the core steps instead. A step
		 * would compute from the slot's address: emulate here, where faults are
		 * allowed, and step the slot's nop so that the core's step completes.
		 */
		if (!emulate_faulting(aup, regs))
			return -EFAULT;	/* its signal is pending, NIP at the instruction */
		saved->resume_vaddr = regs->nip;
	}
	/* A trap of the stepped instruction overwrites the marker: see xol_was_trapped. */
	saved->saved_trap_nr = current->thread.trap_nr;
	current->thread.trap_nr = UPROBE_TRAP_NR;
	/* Our step; a debugger's own single-step or branch trace is put back afterwards. */
	saved->saved_trace_bits = regs->msr & (MSR_SE | MSR_BE);
	regs_set_return_msr(regs, (regs->msr & ~MSR_BE) | MSR_SE);
	regs_set_return_ip(regs, utask->xol_vaddr);
	return 0;
}

/**
 * arch_uprobe_post_xol - the step is done: move the task back home
 * @aup: the probe's arch data
 * @regs: the task's registers, NIP right after the slot's instruction
 *
 * No stepped instruction branches (branches are emulated), so the task goes on right
 * after the probed instruction, or where arch_uprobe_pre_xol()'s emulation left it.
 *
 * Return: 0.
 */
int arch_uprobe_post_xol(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	unsigned long trace_bits = utask->autask.saved_trace_bits;

	WARN_ON_ONCE(arch_uprobe_xol_was_trapped(current));
	current->thread.trap_nr = utask->autask.saved_trap_nr;
	regs_set_return_ip(regs, utask->autask.resume_vaddr ?: utask->vaddr + aup->len);
	/* The single-step handler cleared SE and BE; a debugger's step ends here too. */
	if (trace_bits & MSR_SE)
		debugger_step_done(regs);
	else
		regs_set_return_msr(regs, regs->msr | trace_bits);
	return 0;
}

/**
 * arch_uprobe_abort_xol - the step was cut short: back to the probed instruction
 * @aup: the probe's arch data
 * @regs: the task's registers
 */
void arch_uprobe_abort_xol(struct arch_uprobe *aup, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;

	current->thread.trap_nr = utask->autask.saved_trap_nr;
	/* An instruction emulated by arch_uprobe_pre_xol() is done: never run it twice. */
	regs_set_return_ip(regs, utask->autask.resume_vaddr ?: utask->vaddr);
	regs_set_return_msr(regs, (regs->msr & ~(MSR_SE | MSR_BE)) |
			    utask->autask.saved_trace_bits);
}

/**
 * arch_uprobe_xol_was_trapped - did the stepped instruction itself trap?
 * @t: the task
 *
 * Return: true if an exception other than our single-step came.
 */
bool arch_uprobe_xol_was_trapped(struct task_struct *t)
{
	return t->thread.trap_nr != UPROBE_TRAP_NR;
}

/**
 * arch_uprobe_exception_notify - the die-notifier hook for trap and single-step
 * @self: the notifier block
 * @val: DIE_BPT or DIE_SSTEP (others are not ours)
 * @data: struct die_args
 *
 * Return: NOTIFY_STOP when uprobes takes the exception.
 */
int arch_uprobe_exception_notify(struct notifier_block *self, unsigned long val, void *data)
{
	struct pt_regs *regs = ((struct die_args *)data)->regs;
	bool taken = false;

	/* Only exceptions in user mode can be ours. */
	if (regs && user_mode(regs)) {
		if (val == DIE_BPT)
			taken = uprobe_pre_sstep_notifier(regs);
		else if (val == DIE_SSTEP)
			taken = uprobe_post_sstep_notifier(regs);
	}
	return taken ? NOTIFY_STOP : NOTIFY_DONE;
}

/**
 * arch_uretprobe_hijack_return_addr - make the function return to the trampoline
 * @trampoline_vaddr: the trampoline
 * @regs: the task's registers at the function's entry, where LR holds the return address
 *
 * Return: the original return address.
 */
unsigned long arch_uretprobe_hijack_return_addr(unsigned long trampoline_vaddr,
						struct pt_regs *regs)
{
	unsigned long orig = regs->link;

	regs->link = trampoline_vaddr;
	return orig;
}

/**
 * arch_uretprobe_is_alive - is a pending return's frame still live?
 * @ret: the pending return
 * @ctx: where we ask: at a call, a chained call or a return
 * @regs: the task's registers
 *
 * At a function's entry r1 is its caller's stack pointer, and it is again when the
 * function returns. The stack grows down: the frame is live while r1 is below that
 * (at a return, or a tail call that did not allocate a frame, equal to it).
 *
 * Return: true if the frame is live.
 */
bool arch_uretprobe_is_alive(struct return_instance *ret, enum rp_check ctx,
			     struct pt_regs *regs)
{
	if (ctx == RP_CHECK_CALL)
		return regs->gpr[1] < ret->stack;
	return regs->gpr[1] <= ret->stack;
}

/* The return trampoline: a trap, recognized by its address. */
static u32 uretprobe_trampoline[] = { UPROBE_SWBP_INSN };

/**
 * arch_uprobe_trampoline - the code of the return trampoline
 * @psize: set to its size
 *
 * Return: the code.
 */
void *arch_uprobe_trampoline(unsigned long *psize)
{
	*psize = sizeof(uretprobe_trampoline);
	return uretprobe_trampoline;
}

/**
 * arch_uprobe_copy_ixol - write instructions into the XOL page
 * @page: the page
 * @vaddr: the user address the bytes go to
 * @src: the instructions
 * @len: their length
 *
 * The page is mapped and may run on other CPUs: the instruction cache must see the
 * new words before a task jumps to them.
 */
void arch_uprobe_copy_ixol(struct page *page, unsigned long vaddr, void *src,
			   unsigned long len)
{
	void *kaddr = kmap_local_page(page);
	unsigned long dst = (unsigned long)kaddr + offset_in_page(vaddr);

	memcpy((void *)dst, src, len);
	flush_icache_range(dst, dst + len);
	kunmap_local(kaddr);
}
