// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uprobes: what a task does when it hits a probe, and when a probed function returns.
 *
 * A hit finds its probe (by the VMA and the file offset), runs the consumers'
 * handlers, and then runs the probed instruction: emulated by the arch, or stepped
 * out of line from a slot of the mm's XOL area. A probe with return consumers takes
 * over the function's return address, so that the return comes to the trampoline
 * and runs the return handlers. Which processes carry which breakpoints is
 * uprobes.c's; uprobes_internal.h is what the two share.
 */

#include <linux/hash.h>
#include <linux/highmem.h>
#include <linux/kdebug.h>
#include <linux/mm.h>
#include <linux/mmu_context.h>
#include <linux/oom.h>
#include <linux/pagemap.h>
#include <linux/percpu-rwsem.h>
#include <linux/ptrace.h>
#include <linux/rbtree.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seqlock.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/task_work.h>
#include <linux/ubp.h>
#include <linux/uprobes.h>

#include "uprobes_internal.h"

/**
 * uprobe_get_swbp_addr - the address of the breakpoint that trapped
 * @regs: the task's registers at the trap
 *
 * Return: the breakpoint's address; the arch may override where its trap reports
 * another instruction pointer.
 */
unsigned long __weak uprobe_get_swbp_addr(struct pt_regs *regs)
{
	/* Most breakpoint traps report the address after the breakpoint. */
	unsigned long after = instruction_pointer(regs);

	return after - UPROBE_SWBP_INSN_SIZE;
}

/**
 * uprobe_get_trap_addr - the address to report for a trap in the current task
 * @regs: the task's registers
 *
 * A fault in an instruction stepped out of line happened, as far as the program is
 * concerned, at the probed address.
 *
 * Return: the address.
 */
unsigned long uprobe_get_trap_addr(struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	bool stepping = utask && utask->active_uprobe;

	return unlikely(stepping) ? utask->vaddr : instruction_pointer(regs);
}

/**
 * uprobe_get_trampoline_vaddr - where return probes send returns in the current mm
 *
 * Return: the trampoline's address, or UPROBE_NO_TRAMPOLINE_VADDR if the mm has no
 * XOL area (and so no pending return probe).
 */
unsigned long uprobe_get_trampoline_vaddr(void)
{
	unsigned long base = ubp_xol_base(current->mm);

	return base ? base : UPROBE_NO_TRAMPOLINE_VADDR;
}

/* The arch contract's defaults: one breakpoint opcode, and it is the only trap. */
bool __weak is_swbp_insn(uprobe_opcode_t *insn)
{
	uprobe_opcode_t swbp = UPROBE_SWBP_INSN;

	return !memcmp(insn, &swbp, sizeof(swbp));
}

bool __weak is_trap_insn(uprobe_opcode_t *insn)
{
	return is_swbp_insn(insn);
}

/*
 * The breakpoint that goes in at @aup's site. One opcode fits most arches; 32-bit arm
 * gives each site a breakpoint with the condition of the instruction it displaces, so
 * that a site whose condition fails does not trap.
 */
uprobe_opcode_t __weak arch_uprobe_swbp_insn(struct arch_uprobe *aup)
{
	return UPROBE_SWBP_INSN;
}

/* By default a step runs the whole instruction. */
bool __weak arch_uprobe_xol_unfinished(struct arch_uprobe *aup, struct pt_regs *regs)
{
	return false;
}

/* The program's own trap instruction: the SIGTRAP it gives without uprobes. */
void __weak arch_uprobe_own_trap(struct pt_regs *regs)
{
	force_sig(SIGTRAP);
}

/* By default every hit runs the handlers. */
bool __weak arch_uprobe_ignore(struct arch_uprobe *aup, struct pt_regs *regs)
{
	return false;
}

/*
 * By default every site stays a breakpoint. An arch that overrides this must also
 * define arch_uprobe_may_optimize() (include/linux/uprobes.h): handle_breakpoint()
 * asks this only where that says yes, and the generic one says no.
 */
bool __weak arch_uprobe_optimizable(struct arch_uprobe *aup, struct pt_regs *regs,
				    unsigned long vaddr)
{
	return false;
}

void __weak arch_uprobe_optimize(struct arch_uprobe *aup, struct vm_area_struct *vma,
				 unsigned long vaddr)
{
}

void __weak arch_uprobe_unoptimize(struct arch_uprobe *aup, struct vm_area_struct *vma,
				   unsigned long vaddr)
{
}

/*
 * Without a way to tell live frames from abandoned ones every pending return
 * instance is taken as live: one left behind by longjmp() stays pending until the
 * frames below it return.
 */
bool __weak arch_uretprobe_is_alive(struct return_instance *ret, enum rp_check ctx,
				    struct pt_regs *regs)
{
	return true;
}

/* By default uprobes make no system calls of their own. */
bool __weak arch_uprobe_syscall_is_ours(struct pt_regs *regs)
{
	return false;
}

/**
 * uprobe_syscall_is_ours - is the system call being entered one that uprobes make?
 * @regs: the task's registers at the system call's entry
 *
 * The return trampoline's call and an optimized site's stub's are made for the
 * program, not by it: whatever filters the program's calls by where they come from
 * (syscall user dispatch) lets them through, as seccomp lets them through by number.
 *
 * Return: true if the call comes from uprobes' own code.
 */
bool uprobe_syscall_is_ours(struct pt_regs *regs)
{
	return current->mm && arch_uprobe_syscall_is_ours(regs);
}

/* Does the current task wait for a return probe's trampoline? */
static __always_inline bool returns_pending(void)
{
	return current->utask && current->utask->return_instances;
}

/* The current task's uprobes state, made at its first hit; NULL if out of memory. */
static __always_inline struct uprobe_task *current_utask(void)
{
	struct task_struct *t = current;

	if (unlikely(!t->utask))
		t->utask = kzalloc(sizeof(*t->utask), GFP_KERNEL);
	return t->utask;
}

/*
 * A return instance for the current task: a spare one it used before if it has one.
 * The spares are its own (only the task itself takes and gives them back), so need
 * no lock.
 */
static struct return_instance *get_return_instance(struct uprobe_task *utask)
{
	struct return_instance *ri = utask->spare_returns;

	if (!ri)
		return kmalloc(sizeof(*ri), GFP_KERNEL);
	utask->spare_returns = ri->next;
	utask->nr_spare_returns--;
	return ri;
}

/* A return instance that is off the task's pending list: kept for the next one. */
static void put_return_instance(struct uprobe_task *utask, struct return_instance *ri)
{
	uprobe_release(ri->uprobe);
	if (utask->nr_spare_returns >= UPROBE_SPARE_RETURNS) {
		kfree(ri);
		return;
	}
	ri->next = utask->spare_returns;
	utask->spare_returns = ri;
	utask->nr_spare_returns++;
}

/* Forget the innermost pending return probe. */
static void pop_return_instance(struct uprobe_task *utask)
{
	struct return_instance *top = utask->return_instances;

	utask->depth--;
	/* NMI readers: see hijack_return(). */
	WRITE_ONCE(utask->return_instances, top->next);
	put_return_instance(utask, top);
}

/**
 * uprobe_free_utask - a task leaves (exits or execs)
 * @t: the task; its mm is still there
 */
void uprobe_free_utask(struct task_struct *t)
{
	struct uprobe_task *utask = t->utask;

	if (likely(!utask))
		return;
	t->utask = NULL;
	/* Killed mid-step: the slot and the probe go back. */
	if (t->mm && utask->xol_vaddr)
		ubp_xol_put_slot(t->mm, utask->xol_vaddr);
	if (utask->active_uprobe)
		uprobe_release(utask->active_uprobe);
	while (utask->return_instances)
		pop_return_instance(utask);
	while (utask->spare_returns) {
		struct return_instance *ri = utask->spare_returns;

		utask->spare_returns = ri->next;
		kfree(ri);
	}
	kfree(utask);
}

/* Task work in a forked child: map the XOL area where the parent's trampoline was. */
static void dup_xol_work(struct callback_head *work)
{
	struct uprobe_task *utask = container_of(work, struct uprobe_task, dup_xol_work);

	/* A child dying before it ran needs no trampoline. */
	if (!(current->flags & PF_EXITING) &&
	    !ubp_xol_map_at(current->mm, utask->dup_xol_addr))
		pr_warn_ratelimited("uprobe: %s[%d] cannot map its return trampoline; pending returns will fault\n",
				    current->comm, task_pid_nr(current));
}

/**
 * uprobe_copy_process - a task was cloned
 * @t: the new task
 * @flags: clone flags
 *
 * A thread starts with no pending returns. A forked child's stack is a copy of its
 * parent's, return addresses taken over by return probes included: it inherits the
 * pending returns, and needs a trampoline at the same address.
 */
void uprobe_copy_process(struct task_struct *t, unsigned long flags)
{
	struct uprobe_task *utask = current->utask, *child;
	struct return_instance *ri, **tail;

	t->utask = NULL;
	if (!utask || !utask->return_instances)
		return;
	if (t->mm == current->mm && !(flags & CLONE_VFORK))
		return;

	child = kzalloc(sizeof(*child), GFP_KERNEL);
	if (!child)
		return;
	tail = &child->return_instances;
	for (ri = utask->return_instances; ri; ri = ri->next) {
		struct return_instance *copy = kmemdup(ri, sizeof(*ri), GFP_KERNEL);

		if (!copy)
			break;
		uprobe_hold(copy->uprobe);
		copy->next = NULL;
		*tail = copy;
		tail = &copy->next;
		child->depth++;
	}
	t->utask = child;
	if (t->mm == current->mm)
		return;
	child->dup_xol_addr = ubp_xol_base(current->mm);
	init_task_work(&child->dup_xol_work, dup_xol_work);
	task_work_add(t, &child->dup_xol_work, TWA_RESUME);
}

/*
 * Drop pending returns whose frames are gone (a longjmp() unwound past them): they
 * would never return, and the stack below them is being reused.
 */
static void drop_dead_returns(struct uprobe_task *utask, enum rp_check ctx,
			      struct pt_regs *regs)
{
	while (utask->return_instances &&
	       !arch_uretprobe_is_alive(utask->return_instances, ctx, regs))
		pop_return_instance(utask);
}

/*
 * On a hit of a probe with return consumers: take over the function's return. The
 * caller is inside uprobes_srcu without a reference of its own.
 */
static void hijack_return(struct uprobe *uprobe, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	unsigned long tramp, orig_ret;
	struct return_instance *ri;
	bool chained;

	tramp = ubp_xol_map(current->mm);
	if (!tramp) {
		pr_warn_ratelimited("uprobe: %s[%d] has no room for the return trampoline, return not probed\n",
				    current->comm, task_pid_nr(current));
		return;
	}
	if (utask->depth >= MAX_URETPROBE_DEPTH) {
		pr_warn_ratelimited("uprobe: %s[%d] has %d pending return probes, dropping one\n",
				    current->comm, task_pid_nr(current), utask->depth);
		return;
	}
	/* The instance's reference; none if the probe is already on its way out. */
	if (!refcount_inc_not_zero(&uprobe->ref))
		return;
	ri = get_return_instance(utask);
	if (!ri) {
		uprobe_release(uprobe);
		return;
	}

	orig_ret = arch_uretprobe_hijack_return_addr(tramp, regs);
	if (orig_ret == -1)
		goto err_put;
	/*
	 * The return address was already the trampoline: the probed function was entered
	 * by a tail call from another probed one, and both return together.
	 */
	chained = orig_ret == tramp;
	drop_dead_returns(utask, chained ? RP_CHECK_CHAIN_CALL : RP_CHECK_CALL, regs);
	if (chained) {
		/*
		 * Nothing pending, yet the trampoline's address is there: the program
		 * put it there itself (a jump into the function with that address pushed,
		 * a stack switched under it). Not ours to follow: the return reaches the
		 * trampoline, which finds nothing pending and says so with SIGILL.
		 */
		if (!utask->return_instances)
			goto err_put;
		orig_ret = utask->return_instances->orig_ret_vaddr;
	}
	*ri = (struct return_instance) {
		.uprobe		= uprobe,
		.func		= instruction_pointer(regs),
		.stack		= user_stack_pointer(regs),
		.orig_ret_vaddr	= orig_ret,
		.chained	= chained,
		.next		= utask->return_instances,
	};
	utask->depth++;
	/*
	 * Whole before it is on the list: an NMI taking this task's callchain reads the
	 * list (fixup_uretprobe_trampoline_entries()), on this CPU, so a compiler barrier
	 * is all the ordering it needs.
	 */
	barrier();
	WRITE_ONCE(utask->return_instances, ri);
	return;

err_put:
	ri->uprobe = uprobe;
	put_return_instance(utask, ri);
}

static void run_ret_handlers(struct return_instance *ri, struct pt_regs *regs)
{
	struct uprobe_consumer *uc;
	int idx;

	idx = srcu_read_lock(&uprobes_srcu);
	list_for_each_entry_srcu(uc, &ri->uprobe->consumers, cons_node,
				 srcu_read_lock_held(&uprobes_srcu)) {
		if (uc->ret_handler)
			uc->ret_handler(uc, ri->func, regs);
	}
	srcu_read_unlock(&uprobes_srcu, idx);
}

/**
 * uprobe_handle_trampoline - a probed function returned through the trampoline
 * @regs: the task's registers; the instruction pointer is set to the real return
 *
 * The innermost group of pending returns (an instance and those chained to it by tail
 * calls) completes now, unless the frame beyond it is dead too: then this return is
 * one from further out (longjmp() skipped the group), so the group is dropped
 * without its handlers and the next one is tried.
 *
 * The group leaves the task's list before its handlers run: the trampoline addresses
 * still on the stack are the outer instances', and a user callchain taken by a
 * handler (perf record -g, bpf_get_stack()) maps each to its real return address by
 * walking that list in order.
 */
void uprobe_handle_trampoline(struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	struct return_instance *ri, *last, *next;
	bool real;

	do {
		ri = utask ? utask->return_instances : NULL;
		if (unlikely(!ri))
			goto sigill;
		for (last = ri; last->chained && last->next; last = last->next)
			;
		real = !last->next || arch_uretprobe_is_alive(last->next, RP_CHECK_RET, regs);
		instruction_pointer_set(regs, last->orig_ret_vaddr);
		/* NMI readers: see hijack_return(). */
		WRITE_ONCE(utask->return_instances, last->next);
		last->next = NULL;
		for (; ri; ri = next) {
			next = ri->next;
			utask->depth--;
			if (real)
				run_ret_handlers(ri, regs);
			put_return_instance(utask, ri);
		}
	} while (!real);
	return;
sigill:
	pr_warn_ratelimited("uprobe: %s[%d] returned through the trampoline with no return pending\n",
			    current->comm, task_pid_nr(current));
	force_sig(SIGILL);
}

/* Take the breakpoint out of the current process for a handler that asked. */
static void remove_from_current(struct uprobe *uprobe)
{
	struct mm_struct *mm = current->mm;

	/*
	 * The consumer set must not change while we decide (lock order: above mmap_lock).
	 * A probe retired meanwhile decides nothing: the breakpoint there now may be a
	 * newer probe's.
	 */
	down_read(&uprobe->register_rwsem);
	if (uprobe_in_tree(uprobe) && !list_empty(&uprobe->consumers) &&
	    !uprobe_wants(uprobe, mm)) {
		mmap_write_lock(mm);
		uprobe_remove_from_mm(uprobe, mm);
		mmap_write_unlock(mm);
	}
	up_read(&uprobe->register_rwsem);
}

/*
 * The consumers' handlers of one hit; the caller is inside uprobes_srcu. Return: true
 * if every handler asked for the breakpoint to leave this process. Then the return is
 * not taken over either: the consumers are done with this process.
 */
static __always_inline bool run_handlers(struct uprobe *uprobe, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	bool want_return = false, remove = true;
	struct uprobe_consumer *uc;

	utask->auprobe = &uprobe->arch;
	list_for_each_entry_srcu(uc, &uprobe->consumers, cons_node,
				 srcu_read_lock_held(&uprobes_srcu)) {
		int verdict = uc->handler ? uc->handler(uc, regs) : 0;

		WARN_ONCE(verdict & ~UPROBE_HANDLER_MASK, "%ps() returned %#x\n",
			  uc->handler, verdict);
		remove &= verdict == UPROBE_HANDLER_REMOVE;
		if (uc->ret_handler)
			want_return = true;
	}
	utask->auprobe = NULL;
	remove &= !list_empty(&uprobe->consumers);
	if (want_return && !remove)
		hijack_return(uprobe, regs);
	return remove;
}

/* 1 if @vaddr holds a trap instruction in the current mm, 0 if not, -errno. */
static int trap_insn_at(struct mm_struct *mm, unsigned long vaddr)
{
	uprobe_opcode_t insn = 0;
	unsigned long missed;
	int err;

	/*
	 * Usually mapped in: read it directly, and fault it in under mmap_lock if not.
	 * Only the breakpoint's own bytes: where it is shorter than uprobe_opcode_t
	 * (riscv's and csky's 2-byte ones) the rest may lie on a page that is not there.
	 */
	pagefault_disable();
	missed = __copy_from_user_inatomic(&insn, (void __user *)vaddr,
					   UPROBE_SWBP_INSN_SIZE);
	pagefault_enable();
	if (missed) {
		err = ubp_read(mm, vaddr, &insn, UPROBE_SWBP_INSN_SIZE);
		if (err)
			return err;
	}
	return is_trap_insn(&insn) ? 1 : 0;
}

/*
 * A trap at @bp_vaddr that no probe of ours accounts for. A trap instruction there is
 * the program's own (or a debugger's): the program gets the SIGTRAP the trap gives it
 * without us. Anything else means the breakpoint left while we looked: the task runs
 * what is there now. This is also where an mm whose breakpoints were taken out finds
 * out whether it has any left, so that its own traps stop coming this way.
 */
static void program_trap(struct pt_regs *regs, unsigned long bp_vaddr)
{
	struct mm_struct *mm = current->mm;
	int is_trap;

	mmap_read_lock(mm);
	is_trap = trap_insn_at(mm, bp_vaddr);
	if (is_trap > 0 && test_and_clear_bit(MMF_RECALC_UPROBES, &mm->flags) &&
	    !uprobe_mm_may_have_breakpoints(mm))
		clear_bit(MMF_HAS_UPROBES, &mm->flags);
	mmap_read_unlock(mm);
	if (is_trap > 0)
		arch_uprobe_own_trap(regs);
	else
		instruction_pointer_set(regs, bp_vaddr);
}

/* Where in its file a VMA maps @vaddr, if it is text that can carry a breakpoint. */
static bool vma_probe_key(struct vm_area_struct *vma, unsigned long vaddr,
			  struct inode **inode, loff_t *offset)
{
	if (!vma_can_carry_breakpoint(vma, false))
		return false;
	*inode = file_inode(vma->vm_file);
	*offset = file_offset_of(vma, vaddr);
	return true;
}

/* The two counts a remembered hit depends on, read before the lookup it remembers. */
static void read_hit_gens(struct uprobe_last_hit *gens)
{
	gens->maps_gen = atomic64_read(&current->mm->uprobes_state.maps_gen);
	gens->retired = atomic64_read(&uprobes_retired);
	/* Pairs with uprobe_maps_changed() and with the bump in retire_uprobe(). */
	smp_rmb();
}

/* The entry of @utask's recent hits that a hit at @bp_vaddr is remembered in. */
static __always_inline struct uprobe_last_hit *last_hit_entry(struct uprobe_task *utask,
							      unsigned long bp_vaddr)
{
	return &utask->last_hits[hash_long(bp_vaddr, UPROBE_LAST_HITS_BITS)];
}

/*
 * The probe the task last hit at @bp_vaddr, if it remembers the site still and
 * neither count has moved since (struct uprobe_last_hit). The caller is inside
 * uprobes_srcu.
 */
static __always_inline struct uprobe *last_hit_at(unsigned long bp_vaddr)
{
	struct uprobe_task *utask = current->utask;
	struct uprobe_last_hit *last;

	if (!utask)
		return NULL;
	last = last_hit_entry(utask, bp_vaddr);
	if (last->vaddr != bp_vaddr || !last->uprobe)
		return NULL;
	if (last->maps_gen != atomic64_read(&current->mm->uprobes_state.maps_gen) ||
	    last->retired != atomic64_read(&uprobes_retired))
		return NULL;
	return last->uprobe;
}

/* Remember @uprobe as found at @bp_vaddr, with the counts @gens read before the lookup. */
static void remember_hit(unsigned long bp_vaddr, struct uprobe *uprobe,
			 struct uprobe_last_hit *gens)
{
	struct uprobe_task *utask = current->utask;

	if (!utask)
		return;
	gens->vaddr = bp_vaddr;
	gens->uprobe = uprobe;
	*last_hit_entry(utask, bp_vaddr) = *gens;
}

/*
 * The probe behind the breakpoint at @bp_vaddr, found without a lock that others
 * share: the VMA's own read lock, and the lockless tree lookup. No reference: the
 * caller is inside uprobes_srcu. NULL when that does not settle it.
 */
static struct uprobe *find_uprobe_fast(unsigned long bp_vaddr)
{
	struct uprobe *uprobe = NULL;
	struct vm_area_struct *vma;
	struct uprobe_last_hit gens;
	struct inode *inode;
	loff_t offset;

	read_hit_gens(&gens);
	vma = lock_vma_under_rcu(current->mm, bp_vaddr);
	if (!vma)
		return NULL;
	if (vma_probe_key(vma, bp_vaddr, &inode, &offset))
		uprobe = find_uprobe_srcu(inode, offset);
	vma_end_read(vma);
	if (uprobe)
		remember_hit(bp_vaddr, uprobe, &gens);
	return uprobe;
}

/* The slow way, under mmap_lock, outside any SRCU section: the probe with a reference. */
static struct uprobe *find_uprobe_slow(unsigned long bp_vaddr)
{
	struct uprobe *uprobe = NULL;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct uprobe_last_hit gens;
	struct inode *inode;
	loff_t offset;

	read_hit_gens(&gens);
	mmap_read_lock(mm);
	vma = vma_lookup(mm, bp_vaddr);
	if (vma && vma_probe_key(vma, bp_vaddr, &inode, &offset))
		uprobe = find_uprobe_locked(inode, offset);
	mmap_read_unlock(mm);
	if (uprobe)
		remember_hit(bp_vaddr, uprobe, &gens);
	return uprobe;
}

/* Start stepping the copied instruction in an XOL slot. */
static int start_step(struct uprobe *uprobe, unsigned long bp_vaddr, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	unsigned long slot;
	int err;

	err = ubp_xol_get_slot(current->mm, &uprobe->arch.ixol, sizeof(uprobe->arch.ixol),
			       &slot);
	if (err)
		return err;
	utask->xol_vaddr = slot;
	utask->vaddr = bp_vaddr;
	err = arch_uprobe_pre_xol(&uprobe->arch, regs);
	if (err) {
		ubp_xol_put_slot(current->mm, slot);
		utask->xol_vaddr = 0;
		return err;
	}
	utask->active_uprobe = uprobe;
	utask->state = UTASK_SSTEP;
	return 0;
}

/*
 * The probed instruction can be neither emulated nor stepped here (no room for the
 * XOL area in this address space, say). Rather than trap on it forever, the probe
 * leaves this process, which then runs its instruction as if unprobed; if even that
 * fails, the task gets SIGSEGV, as a program that ran out of address space would.
 */
static void cannot_run_insn(struct uprobe *uprobe, unsigned long bp_vaddr, int err)
{
	struct mm_struct *mm = current->mm;
	int still_trap;

	pr_warn_ratelimited("uprobe: %s[%d] cannot step the instruction probed at %#lx (%d), the probe leaves this process\n",
			    current->comm, task_pid_nr(current), bp_vaddr, err);
	down_read(&uprobe->register_rwsem);	/* lock order: see the top of uprobes.c */
	mmap_write_lock(mm);
	/* A probe retired meanwhile: the breakpoint there now may be a newer probe's. */
	if (uprobe_in_tree(uprobe) && !list_empty(&uprobe->consumers))
		uprobe_remove_from_mm(uprobe, mm);
	still_trap = trap_insn_at(mm, bp_vaddr);
	mmap_write_unlock(mm);
	up_read(&uprobe->register_rwsem);
	if (still_trap > 0)
		force_sig(SIGSEGV);
}

/*
 * The probed instruction could not be emulated inside the section, where page faults
 * are off. Outside it, holding a reference on @uprobe: emulate again with faults
 * allowed (an operand page that was absent or copy-on-write is fine now), else step
 * it out of line (a real fault then hits the program as it would unprobed). Return:
 * true if a step began; the reference goes with it.
 */
static bool run_insn_slowly(struct uprobe *uprobe, unsigned long bp_vaddr,
			    struct pt_regs *regs)
{
	int err;

	if (arch_uprobe_skip_sstep(&uprobe->arch, regs))
		return false;
	err = start_step(uprobe, bp_vaddr, regs);
	if (!err)
		return true;
	/*
	 * -ENOMEM: no XOL area. Another error is the arch's own answer (its signal is
	 * pending, or the instruction is to run again); -EINTR, or a fatal signal (what
	 * makes mapping the area fail too), means the task is going.
	 */
	if (err == -ENOMEM && !fatal_signal_pending(current))
		cannot_run_insn(uprobe, bp_vaddr, err);
	return false;
}

/*
 * 6.12's mmap_lock.h has no write trylock: this is mmap_write_lock() that gives up
 * instead of waiting. Released with mmap_write_unlock().
 */
static bool mmap_write_trylock_uprobes(struct mm_struct *mm)
{
	bool locked;

	__mmap_lock_trace_start_locking(mm, true);
	locked = down_write_trylock(&mm->mmap_lock);
	__mmap_lock_trace_acquire_returned(mm, true, locked);
	return locked;
}

/*
 * After a breakpoint hit that needed no step, let the arch replace the breakpoint by
 * something that does not trap (x86-64: a jump to a stub, for a 5-byte nop). Only a
 * try: if the mmap_lock is busy, a later hit tries again. The caller holds a
 * reference on @uprobe and is outside uprobes_srcu.
 */
static void try_optimize(struct uprobe *uprobe, unsigned long vaddr)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;

	if (!mmap_write_trylock_uprobes(mm))
		return;
	/*
	 * The same checks as a sweep's: the site is still this probe's, in text. The
	 * tree check is read without the tree's lock, as a hint only: a retired probe's
	 * breakpoint is on its way out, and arch_uprobe_optimize() itself does nothing
	 * unless our breakpoint is still at the site, which our mmap_lock keeps stable.
	 */
	vma = vma_lookup(mm, vaddr);
	if (uprobe_in_tree(uprobe) && vma && vma_can_carry_breakpoint(vma, true) &&
	    file_inode(vma->vm_file) == uprobe->inode &&
	    file_offset_of(vma, vaddr) == uprobe->offset && !check_stable_address_space(mm))
		arch_uprobe_optimize(&uprobe->arch, vma, vaddr);
	mmap_write_unlock(mm);
}

/**
 * struct uprobe_hit - one hit of a probe, from its lookup to its end
 * @uprobe: the probe; valid inside the hit's uprobes_srcu section, and after it
 *	only if @held
 * @held: @uprobe again if the hit holds a reference on it (a slow lookup returns
 *	one; hit_pin() takes one before the hit leaves the section), else NULL
 * @srcu_idx: the hit's uprobes_srcu section
 * @vaddr: the probed address
 *
 * A hit goes: hit_find() (enters the section) - the handlers - hit_leave() - what
 * may sleep, with the reference - hit_end(). hit_complete() does the last three for
 * both ways of coming in (a breakpoint, a stub).
 *
 * The steps are forced inline into those two callers: as calls, their frames, the
 * zeroing of this struct on the stack (CONFIG_INIT_STACK_ALL_ZERO) and the
 * struct's trips through memory cost a push hit about a tenth of the instructions
 * it spends in uprobes (counted with an instruction trace, bench/RESULTS.md). What
 * a common hit does not reach stays out of line.
 */
struct uprobe_hit {
	struct uprobe	*uprobe;
	struct uprobe	*held;
	int		srcu_idx;
	unsigned long	vaddr;
};

/*
 * Find the probe of a hit at @vaddr. True: the probe is in @hit and the caller is
 * inside uprobes_srcu; a probe found the fast way comes without a reference, one
 * found the slow way with one. False: no probe, and the caller is outside.
 */
static __always_inline bool hit_find(struct uprobe_hit *hit, unsigned long vaddr)
{
	hit->vaddr = vaddr;
	hit->held = NULL;
	/* Keeps a probe found without a reference; pairs with call_srcu() in uprobe_release(). */
	hit->srcu_idx = srcu_read_lock(&uprobes_srcu);
	hit->uprobe = last_hit_at(vaddr);
	if (!hit->uprobe)
		hit->uprobe = find_uprobe_fast(vaddr);
	if (hit->uprobe)
		return true;
	srcu_read_unlock(&uprobes_srcu, hit->srcu_idx);

	hit->held = find_uprobe_slow(vaddr);
	if (!hit->held)
		return false;
	hit->uprobe = hit->held;
	hit->srcu_idx = srcu_read_lock(&uprobes_srcu);
	return true;
}

/*
 * Make sure the hit holds a reference on its probe before it leaves uprobes_srcu.
 * False when the probe is already on its way out: then its breakpoint is being taken
 * out, and whatever the task does next runs the instruction that is there again.
 */
static __always_inline bool hit_pin(struct uprobe_hit *hit)
{
	if (hit->held)
		return true;
	if (!refcount_inc_not_zero(&hit->uprobe->ref))
		return false;
	hit->held = hit->uprobe;
	return true;
}

/* Leave the hit's uprobes_srcu section; only a pinned probe may be used after. */
static __always_inline void hit_leave(struct uprobe_hit *hit)
{
	srcu_read_unlock(&uprobes_srcu, hit->srcu_idx);
}

/* The hit is over: drop its reference, if it has one. */
static __always_inline void hit_end(struct uprobe_hit *hit)
{
	if (hit->held)
		uprobe_release(hit->held);
}

/*
 * What a hit does whichever way the task came (breakpoint or stub): the task's
 * state and the handlers. The caller is inside uprobes_srcu, the probe ready; the
 * instruction pointer is at the site. Returns false when no handler ran, and the
 * instruction is not to be run either; *@remove says whether every handler asked for
 * the breakpoint to leave this process.
 */
static __always_inline bool hit_run_handlers(struct uprobe_hit *hit, struct pt_regs *regs,
					     bool *remove)
{
	/* GFP_KERNEL this small fails only for a task being killed for memory. */
	if (unlikely(!current_utask()))
		return false;
	if (arch_uprobe_ignore(&hit->uprobe->arch, regs))
		return false;
	*remove = run_handlers(hit->uprobe, regs);
	return true;
}

/*
 * The end of every hit that ran its handlers, inside uprobes_srcu: leave it, then do
 * what may sleep, holding a reference: the removal the handlers asked for (@remove),
 * optimizing the site (@optimize), and, unless @done, running the instruction the
 * slow way (an emulation with page faults allowed, or the out-of-line step). A probe
 * that is on its way out gets none of these: its breakpoint is going anyway.
 */
static noinline void hit_complete_slowly(struct uprobe_hit *hit, struct pt_regs *regs,
					 bool remove, bool optimize, bool done)
{
	if (!hit_pin(hit)) {
		hit_leave(hit);
		hit_end(hit);
		return;
	}
	hit_leave(hit);

	if (remove)
		remove_from_current(hit->held);
	if (optimize)
		try_optimize(hit->held, hit->vaddr);
	if (!done && run_insn_slowly(hit->held, hit->vaddr, regs))
		return;	/* the reference goes with utask->active_uprobe */
	hit_end(hit);
}

/* The common end, emulated with nothing to do after: leave the section, no reference. */
static __always_inline void hit_complete(struct uprobe_hit *hit, struct pt_regs *regs,
					 bool remove, bool optimize, bool done)
{
	if (unlikely(remove || optimize || !done)) {
		hit_complete_slowly(hit, regs, remove, optimize, done);
		return;
	}
	hit_leave(hit);
	hit_end(hit);
}

/**
 * uprobe_handle_stub_hit - a task came to the kernel from an optimized site's stub
 * @regs: the registers as they were at the site; the instruction pointer is @vaddr
 * @vaddr: the site
 *
 * Runs the handlers as a breakpoint hit would. A probe that is gone (removed while
 * the task was in the stub) runs nothing. The caller completes the instruction
 * unless a handler moved the instruction pointer.
 */
void uprobe_handle_stub_hit(struct pt_regs *regs, unsigned long vaddr)
{
	bool remove = false;
	struct uprobe_hit hit __uninitialized;	/* hit_find() sets it all */

	if (!hit_find(&hit, vaddr))
		return;
	/* Only a ready probe's site is ever optimized; the caller does the nop itself. */
	if (!uprobe_ready(hit.uprobe) || !hit_run_handlers(&hit, regs, &remove)) {
		hit_leave(&hit);
		hit_end(&hit);
		return;
	}
	hit_complete(&hit, regs, remove, false, true);
}

/*
 * A breakpoint hit. The common case stays inside one uprobes_srcu section and takes no
 * reference and no shared lock: find the probe, run the handlers, emulate. What may
 * wait on a lock or a fault runs outside the section, holding a reference instead:
 * the slow lookup, a removal a handler asked for, optimizing the site, a second
 * emulation with page faults allowed, and the out-of-line step. So a grace period
 * (uprobe_unregister_sync()) waits on mmap_lock only where an mm's first return
 * probe maps its XOL area for the trampoline (hijack_return()).
 *
 * No livelock: each way out either moves the task on (the instruction emulated or its
 * step begun, a handler moved the instruction pointer, the program's own trap
 * signalled, the probe taken out of this process) or returns to the breakpoint only
 * when the next try must go further: the breakpoint was on its way out (no probe,
 * or one being freed), or the task is dying (no memory for its uprobe state, a fatal
 * signal while waiting for a slot).
 */
static void handle_breakpoint(struct pt_regs *regs)
{
	unsigned long bp_vaddr = uprobe_get_swbp_addr(regs);
	bool remove = false, optimize = false, done;
	struct uprobe_hit hit __uninitialized;	/* hit_find() sets it all */

	/*
	 * The trampoline first only for a task with returns pending: for one without,
	 * no probe is found there and the trampoline's turn comes then (its SIGILL).
	 */
	if (returns_pending() && bp_vaddr == uprobe_get_trampoline_vaddr()) {
		uprobe_handle_trampoline(regs);
		return;
	}
	if (!hit_find(&hit, bp_vaddr)) {
		if (bp_vaddr == uprobe_get_trampoline_vaddr())
			uprobe_handle_trampoline(regs);
		else
			program_trap(regs, bp_vaddr);
		return;
	}
	/*
	 * A probe puts its breakpoint in only once ready: otherwise the trap is not this
	 * probe's, but the program's own or one left over from an older probe at the
	 * same place.
	 */
	if (unlikely(!uprobe_ready(hit.uprobe))) {
		hit_leave(&hit);
		hit_end(&hit);
		program_trap(regs, bp_vaddr);
		return;
	}
	/* Handlers see, and a restart runs, the probed instruction itself. */
	instruction_pointer_set(regs, bp_vaddr);
	if (!hit_run_handlers(&hit, regs, &remove)) {
		hit_leave(&hit);
		hit_end(&hit);
		return;
	}

	/* A handler that moved the instruction pointer took the task elsewhere. */
	done = instruction_pointer(regs) != bp_vaddr;
	if (!done) {
		/* A page that is not there is faulted in outside the section. */
		pagefault_disable();
		done = arch_uprobe_skip_sstep(&hit.uprobe->arch, regs);
		pagefault_enable();
		if (done && !remove && arch_uprobe_may_optimize(&hit.uprobe->arch))
			optimize = arch_uprobe_optimizable(&hit.uprobe->arch, regs, bp_vaddr);
	}
	hit_complete(&hit, regs, remove, optimize, done);
}

/* Is a signal waiting for the step to end (held back by uprobe_deny_signal())? */
static bool signal_waits(void)
{
	bool waits;

	spin_lock_irq(&current->sighand->siglock);
	recalc_sigpending();
	waits = signal_pending(current);
	spin_unlock_irq(&current->sighand->siglock);
	return waits;
}

/* The step ended, or was cut short: put the task back on its own path. */
static void finish_step(struct uprobe_task *utask, struct pt_regs *regs)
{
	struct uprobe *uprobe = utask->active_uprobe;
	int err = 0;

	switch (utask->state) {
	case UTASK_SSTEP_ACK:		/* the step trap came */
		if (arch_uprobe_xol_unfinished(&uprobe->arch, regs) && !signal_waits()) {
			/*
			 * A repeated instruction did one round and traps again after the
			 * next: it goes on in the slot, so that it runs, and counts, as
			 * one hit. A waiting signal ends the step here instead, at the
			 * probed address; the rest of the instruction is another hit.
			 */
			utask->state = UTASK_SSTEP;
			return;
		}
		err = arch_uprobe_post_xol(&uprobe->arch, regs);
		break;
	case UTASK_SSTEP_TRAPPED:	/* a signal or a fault came first */
		arch_uprobe_abort_xol(&uprobe->arch, regs);
		break;
	default:
		WARN_ONCE(1, "uprobe: step finished in state %d\n", utask->state);
		break;
	}
	utask->state = UTASK_RUNNING;
	utask->active_uprobe = NULL;
	uprobe_release(uprobe);
	ubp_xol_put_slot(current->mm, utask->xol_vaddr);
	utask->xol_vaddr = 0;

	/* Let in the signals uprobe_deny_signal() held back during the step. */
	spin_lock_irq(&current->sighand->siglock);
	recalc_sigpending();
	spin_unlock_irq(&current->sighand->siglock);

	if (unlikely(err)) {
		pr_warn_ratelimited("uprobe: %s[%d] cannot complete the probed instruction, sending SIGILL\n",
				    current->comm, task_pid_nr(current));
		force_sig(SIGILL);
	}
}

/**
 * uprobe_notify_resume - TIF_UPROBE work on the way back to user mode
 * @regs: the task's registers
 *
 * Either a breakpoint was hit, or the out-of-line step finished.
 */
void uprobe_notify_resume(struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;

	clear_thread_flag(TIF_UPROBE);
	if (!utask || !utask->active_uprobe) {
		handle_breakpoint(regs);
		return;
	}
	finish_step(utask, regs);
}

/**
 * uprobe_deny_signal - hold signals off while a task steps out of line
 *
 * A signal handler must not start with the instruction pointer in an XOL slot. Signals
 * wait until the step is done (finish_step() lets them in), except a fatal one, or a
 * fault in the stepped instruction itself: those cut the step short.
 *
 * Return: true when the task is stepping, and signal delivery must wait.
 */
bool uprobe_deny_signal(void)
{
	struct uprobe_task *utask = current->utask;
	bool cut_short;

	if (likely(!utask || !utask->active_uprobe))
		return false;
	WARN_ON_ONCE(utask->state != UTASK_SSTEP);
	if (!task_sigpending(current))
		return true;

	/* Park the signal: finish_step() recalculates TIF_SIGPENDING. */
	spin_lock_irq(&current->sighand->siglock);
	clear_thread_flag(TIF_SIGPENDING);
	spin_unlock_irq(&current->sighand->siglock);

	cut_short = __fatal_signal_pending(current) || arch_uprobe_xol_was_trapped(current);
	if (cut_short) {
		utask->state = UTASK_SSTEP_TRAPPED;
		set_thread_flag(TIF_UPROBE);	/* finish_step() undoes the step */
	}
	return true;
}

/*
 * May a breakpoint trap of the current task be ours: does its mm carry breakpoints,
 * or does it wait for a return probe's trampoline (an int3 for 32-bit tasks)?
 */
static __always_inline bool breakpoint_may_be_ours(void)
{
	struct mm_struct *mm = current->mm;

	return mm && (test_bit(MMF_HAS_UPROBES, &mm->flags) || returns_pending());
}

/**
 * uprobe_pre_sstep_notifier - a breakpoint trap in user mode: is it ours?
 * @regs: the task's registers
 *
 * Return: 1 when uprobes takes the trap (handled on the way out to user mode), 0 to
 * leave it to the usual SIGTRAP.
 */
int uprobe_pre_sstep_notifier(struct pt_regs *regs)
{
	if (!breakpoint_may_be_ours())
		return 0;
	/* The work needs a sleepable context: do it on the way out. */
	set_thread_flag(TIF_UPROBE);
	return 1;
}

/**
 * uprobe_handle_int3 - a breakpoint trap in user mode, taken straight from the trap
 * @regs: the task's registers, the instruction pointer after the breakpoint
 *
 * For an arch whose breakpoint trap handler calls this first (x86): the hit is
 * handled in the trap, with interrupts on as for any trap from user mode that may
 * sleep, rather than by the die notifier and then TIF_UPROBE on the way out. That
 * saves every hit a walk of the notifier chain and a round of exit work. A task in
 * an out-of-line step is left to the notifier, as before: only a step trap ends it.
 *
 * Context: the trap handler's, from user mode, interrupts off (and off again on return).
 * Return: true when uprobes took the trap.
 */
bool uprobe_handle_int3(struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;

	if (!breakpoint_may_be_ours() || (utask && utask->active_uprobe))
		return false;
	local_irq_enable();
	handle_breakpoint(regs);
	local_irq_disable();
	return true;
}

/**
 * uprobe_post_sstep_notifier - a single-step trap in user mode: did our step end?
 * @regs: the task's registers
 *
 * Return: 1 when the trap ends an out-of-line step, 0 otherwise.
 */
int uprobe_post_sstep_notifier(struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	bool ours = current->mm && utask && utask->active_uprobe;

	if (ours) {
		utask->state = UTASK_SSTEP_ACK;
		set_thread_flag(TIF_UPROBE);	/* finish_step() on the way out */
	}
	return ours;
}

static struct notifier_block uprobe_exception_nb = {
	.notifier_call		= arch_uprobe_exception_notify,
	.priority		= INT_MAX - 1,	/* before kprobes and debuggers */
};

/**
 * uprobes_init - boot-time setup: hook the breakpoint and single-step traps
 */
void __init uprobes_init(void)
{
	if (register_die_notifier(&uprobe_exception_nb))
		panic("uprobes: cannot register the die notifier\n");
}
