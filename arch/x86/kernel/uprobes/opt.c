// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uprobes on x86: trap-free 5-byte nops (64-bit tasks, CONFIG_X86_UPROBES_NOP5).
 *
 * A probe on a 5-byte nop (the USDT site of sys/sdt.h and libbpf) is a breakpoint
 * until its first hit in an mm; then the nop becomes `jmp rel32` to a stub slot of
 * its own (kernel/events/ubp.c) that enters the kernel by the uprobe system call:
 * a jump and a system call instead of a trap. A jump, not a call: a call would push
 * its return address into the red zone, which a leaf function may be using at the
 * site. Documentation/trace/ubp.rst has the whole design.
 */

#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/smp.h>
#include <linux/syscalls.h>
#include <linux/uaccess.h>
#include <linux/ubp.h>
#include <linux/uprobes.h>

#include <asm/mmu_context.h>
#include <asm/processor.h>
#include <asm/sync_core.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

#include "common.h"

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

/*
 * The site of a stub's int3 at @bp, or @bp if it is no such int3. Out of line, so
 * that on the common hit (no stubs in the mm) uprobe_get_swbp_addr() stays a leaf
 * function, with no frame of its own.
 */
static noinline unsigned long stub_fallback_site(struct mm_struct *mm, unsigned long bp)
{
	/* The stub list needs no lock: see struct ubp_stub_page. */
	return ubp_stub_site(mm, bp - NOP5_STUB_FALLBACK) ?: bp;
}

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
	unsigned long bp = regs->ip - UPROBE_SWBP_INSN_SIZE;
	struct mm_struct *mm = current->mm;

	if (likely(!mm || !ubp_has_stubs(mm)) || !user_64bit_mode(regs))
		return bp;
	return stub_fallback_site(mm, bp);
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
 * x86_uprobe_syscall_from_stub - is this uprobe system call a stub's?
 * @regs: the task's registers at the system call's entry
 *
 * Return: true if the call has the uprobe number and comes from a bound stub slot.
 */
bool x86_uprobe_syscall_from_stub(struct pt_regs *regs)
{
	struct mm_struct *mm = current->mm;

	/* The stub list needs no lock: see struct ubp_stub_page. */
	return syscall_get_nr(current, regs) == __NR_uprobe && mm && ubp_has_stubs(mm) &&
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
	const struct nop5_saved_regs __user *stack;
	struct nop5_saved_regs saved;
	unsigned long site;

	if (!IS_ENABLED(CONFIG_X86_64) || !current->mm || !user_64bit_mode(regs))
		return -ENXIO;
	/* The stub list needs no lock: see struct ubp_stub_page. */
	site = ubp_stub_site(current->mm, regs->ip - NOP5_STUB_SYSCALL_END);
	if (!site)
		return -ENXIO;
	/* Three words in one user access window, not a copy: this runs on every hit. */
	stack = (const struct nop5_saved_regs __user *)regs->sp;
	if (!user_read_access_begin(stack, sizeof(*stack)))
		return -EFAULT;
	unsafe_get_user(saved.ax, &stack->ax, fault);
	unsafe_get_user(saved.r11, &stack->r11, fault);
	unsafe_get_user(saved.cx, &stack->cx, fault);
	user_read_access_end();

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
fault:
	user_read_access_end();
	return -EFAULT;	/* the stub's fallback faults on the same stack */
}
