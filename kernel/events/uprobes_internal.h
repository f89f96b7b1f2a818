/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef _KERNEL_EVENTS_UPROBES_INTERNAL_H
#define _KERNEL_EVENTS_UPROBES_INTERNAL_H
/*
 * What the two halves of uprobes share, over this private header (as
 * kernel/events/internal.h serves the perf core):
 *   uprobes.c       which processes carry a probe's breakpoint: the probe tree, its
 *                   consumers and their filters, the sweeps over a file's mappings,
 *                   mmap, mremap, munmap, fork and exit, SDT semaphores;
 *   uprobes_task.c  what a task does at a hit and at a return: the lookup, the
 *                   handlers, emulation and the out-of-line step, return probes,
 *                   per-task state, signals during a step.
 * Lock order and lifetimes are written once, at the top of uprobes.c and at
 * struct uprobe below; Documentation/trace/ubp.rst has the whole picture.
 */

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/hugetlb_inline.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/srcu.h>
#include <linux/uprobes.h>

/* Bits in uprobe->flags. */
enum {
	UPROBE_ANALYZED,	/* arch and analyze_err are final */
};

/**
 * struct uprobe - one probed instruction, shared by its consumers
 * @rb_node: in uprobes_tree while the probe has consumers; empty once it left it.
 * @ref: the tree holds one reference; so does each registration (the pointer
 *	uprobe_register() returns), each pending return instance, each task stepping
 *	this probe and each locked lookup in progress. The last put frees it, after a
 *	grace period of uprobes_srcu, inside which hits use it without a reference.
 * @rcu: for that deferred free.
 * @register_rwsem: writers change @consumers and sweep breakpoints; readers (a
 *	handler's removal request) need the consumer set to stay as it is.
 * @analyze_lock: serializes the one-time copy and analysis of the instruction.
 * @consumers: SRCU list of struct uprobe_consumer, changed under @register_rwsem.
 * @inode: the file, a reference held (igrab) for the probe's life.
 * @offset: the instruction's offset in the file.
 * @ref_ctr_offset: offset in the file of the SDT semaphore, 0 if none.
 * @flags: UPROBE_* bits.
 * @analyze_err: result of the analysis, valid once UPROBE_ANALYZED is set.
 * @pending_sweeps: how many tasks' deferred sweeps (struct deferred_sweep in
 *	uprobes.c) hold the probe and have not put its breakpoints in yet.
 * @arch: the original instruction and what the arch decided to do with it.
 */
struct uprobe {
	struct inode		*inode;
	loff_t			offset;
	struct rb_node		rb_node;
	refcount_t		ref;
	struct list_head	consumers;
	struct rw_semaphore	register_rwsem;
	struct mutex		analyze_lock;
	loff_t			ref_ctr_offset;
	int			analyze_err;
	atomic_t		pending_sweeps;
	unsigned long		flags;
	struct rcu_head		rcu;
	struct arch_uprobe	arch;
};

/*
 * Consumer lists are read under this SRCU, and hits find their probe inside it
 * without a reference; defined, with its rules, in uprobes.c.
 */
extern struct srcu_struct uprobes_srcu;

/* Take a reference; the caller already has one, or holds uprobes_treelock. */
static inline struct uprobe *uprobe_hold(struct uprobe *u)
{
	refcount_inc(&u->ref);
	return u;
}

/* The file offset that vma->vm_start maps. */
static inline loff_t vma_file_start(struct vm_area_struct *vma)
{
	return (loff_t)vma->vm_pgoff * PAGE_SIZE;
}

/* Where in the file @vaddr of @vma is... */
static inline loff_t file_offset_of(struct vm_area_struct *vma, unsigned long vaddr)
{
	return vma_file_start(vma) + (loff_t)(vaddr - vma->vm_start);
}

/*
 * Text a breakpoint may go into: a private, executable-capable mapping of a file, not
 * hugetlb. A new breakpoint never goes where the program may write, as it could
 * overwrite the breakpoint or have its own write lost; an old one is taken out of
 * any such mapping.
 */
static inline bool vma_can_carry_breakpoint(struct vm_area_struct *vma, bool adding)
{
	if (!vma->vm_file || is_vm_hugetlb_page(vma))
		return false;
	if ((vma->vm_flags & (VM_MAYEXEC | VM_MAYSHARE)) != VM_MAYEXEC)
		return false;
	return !adding || !(vma->vm_flags & VM_WRITE);
}

/*
 * Is @uprobe analyzed, and did its analysis take the instruction? Only such a probe
 * ever put a breakpoint in (the bit is set before any breakpoint is written), and
 * only then may its arch data be read.
 */
static __always_inline bool uprobe_ready(struct uprobe *uprobe)
{
	if (!test_bit(UPROBE_ANALYZED, &uprobe->flags))
		return false;
	smp_rmb(); /* the arch data behind the bit; pairs with smp_wmb() in analyze_uprobe() */
	return !uprobe->analyze_err;
}

/*
 * A file mapping of @mm comes, goes or changes: the probe a task remembers for a site
 * there (struct uprobe_last_hit) may not be the one there any more. A hit reads the
 * count before it looks a probe up, under the VMA's read lock or mmap_lock; whoever
 * changes a mapping holds the VMA's write lock or mmap_lock for writing first, so a
 * lookup that raced with the change read the older count and is remembered with it.
 * A breakpoint in the new mapping comes only after the bump: written under mmap_lock
 * after it, or faulted in after the change's mmap_lock is released.
 */
static inline void uprobe_maps_changed(struct mm_struct *mm)
{
	atomic64_inc(&mm->uprobes_state.maps_gen);
	smp_mb__after_atomic();	/* before the new mapping's pages; pairs with read_hit_gens() */
}

extern atomic64_t uprobes_retired;

void uprobe_release(struct uprobe *u);
struct uprobe *find_uprobe_srcu(struct inode *inode, loff_t offset);
struct uprobe *find_uprobe_locked(struct inode *inode, loff_t offset);
bool uprobe_in_tree(struct uprobe *uprobe);
bool uprobe_wants(struct uprobe *uprobe, struct mm_struct *mm);
void uprobe_remove_from_mm(struct uprobe *uprobe, struct mm_struct *mm);
bool uprobe_mm_may_have_breakpoints(struct mm_struct *mm);

#endif /* _KERNEL_EVENTS_UPROBES_INTERNAL_H */
