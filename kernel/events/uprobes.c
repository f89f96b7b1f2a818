// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uprobes: the arbitration layer between probe users and the breakpoint layer.
 *
 * A probe is an instruction of a file, (inode, offset). Its consumers (trace events,
 * perf, bpf) say which processes they want; this file keeps a breakpoint at that
 * instruction in exactly the processes some consumer wants, in every mapping of the
 * file, as mappings come and go. What a task does when it hits one (the handlers,
 * the instruction, return probes) is uprobes_task.c's; breakpoint writes and the
 * out-of-line slots are UBP's (kernel/events/ubp.c).
 *
 * Documentation/trace/ubp.rst has the whole picture: lifetimes, lock order, barriers.
 */

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
#include <linux/sort.h>
#include <linux/srcu.h>
#include <linux/task_work.h>
#include <linux/wait_bit.h>
#include <linux/ubp.h>
#include <linux/uprobes.h>

#include "uprobes_internal.h"

/*
 * Lock order, outermost first:
 *   uprobe->register_rwsem
 *     deferred_sweeps_lock
 *     fork_sweep_sem (write)
 *       mm->mmap_lock
 *         uprobe->analyze_lock
 *         ref_ctr_lock
 *           uprobes_treelock
 * The hit path takes no lock in the common case: the VMA's own read lock and a
 * lockless tree lookup inside uprobes_srcu. Its slow path takes mm->mmap_lock for
 * reading (lookup) and uprobe->register_rwsem for reading (a handler asking for
 * removal), never both at once; after the handlers it may try mm->mmap_lock for
 * writing (optimizing the site), holding nothing else.
 */

/* All probes by (inode, offset). Serializes changes to uprobes_tree and uprobe->rb_node. */
static DEFINE_SPINLOCK(uprobes_treelock);
static struct rb_root uprobes_tree = RB_ROOT;

/*
 * Bumped around every change of uprobes_tree: a lockless lookup that finds nothing
 * while a change ran may have been misled by a rotation, and tries again.
 */
static seqcount_spinlock_t uprobes_seqcount = SEQCNT_SPINLOCK_ZERO(uprobes_seqcount,
								  &uprobes_treelock);

/*
 * Counts the probes that left the tree: a task's memory of its recent hits (struct
 * uprobe_last_hit) holds only while the count stays where it was before the probe was
 * looked up. 64 bits, so that it never comes back round to a remembered value.
 * Bumped under uprobes_treelock, after the erase and its seqcount section, whose
 * smp_wmb() orders the erase first; pairs with smp_rmb() in read_hit_gens().
 */
atomic64_t uprobes_retired = ATOMIC64_INIT(0);

/*
 * Consumer lists are read under this SRCU (handlers may sleep). uprobe_unregister_sync()
 * waits for it, so after it no handler of a removed consumer runs. A hit also looks
 * its probe up inside it without taking a reference: probes are freed only after a
 * grace period of it (uprobe_release()).
 */
DEFINE_SRCU(uprobes_srcu);

/*
 * fork (readers, uprobe_start_dup_mmap()) against breakpoint sweeps (writer): a child
 * whose mappings are being copied is either copied before a sweep looks at the file's
 * mappings (and is swept like any other mm) or after the sweep (and copies the
 * parent's final state). Without it a sweep could miss a half-made child.
 */
DEFINE_STATIC_PERCPU_RWSEM(fork_sweep_sem);

/*
 * SDT semaphores whose increment waits for the semaphore's page to be mapped: the
 * breakpoint went into an mm that did not map the file's data yet. uprobe_mmap() does
 * the increment when the mapping comes. Each entry holds a reference on its probe.
 */
struct ref_ctr_pending {
	struct list_head	node;
	struct uprobe		*uprobe;
	struct mm_struct	*mm;
};

/* Protects ref_ctr_pending_list. */
static DEFINE_MUTEX(ref_ctr_lock);
static LIST_HEAD(ref_ctr_pending_list);

static void uprobe_free_srcu(struct rcu_head *head)
{
	kfree(container_of(head, struct uprobe, rcu));
}

/*
 * Drop a reference; the last one frees. May sleep (iput). A hit that found the probe
 * without a reference may still be looking at it (its inode only as a key): the
 * memory waits for uprobes_srcu; pairs with srcu_read_lock() in hit_find() (uprobes_task.c).
 */
void uprobe_release(struct uprobe *u)
{
	if (refcount_dec_and_test(&u->ref)) {
		iput(u->inode);
		call_srcu(&uprobes_srcu, &u->rcu, uprobe_free_srcu);
	}
}

static int uprobe_cmp(const struct inode *inode, loff_t offset, const struct uprobe *u)
{
	if (inode != u->inode)
		return inode < u->inode ? -1 : 1;
	if (offset != u->offset)
		return offset < u->offset ? -1 : 1;
	return 0;
}

/* The first probe of @inode at or after @offset and before @end, or NULL. */
static struct uprobe *tree_first_in(struct inode *inode, loff_t offset, loff_t end)
{
	struct rb_node *n = uprobes_tree.rb_node;
	struct uprobe *best = NULL;

	lockdep_assert_held(&uprobes_treelock);
	while (n) {
		struct uprobe *u = rb_entry(n, struct uprobe, rb_node);

		if (uprobe_cmp(inode, offset, u) <= 0) {
			best = u;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	if (best && best->inode == inode && best->offset < end)
		return best;
	return NULL;
}

struct uprobe_key {
	struct inode	*inode;
	loff_t		offset;
};

static int uprobe_key_cmp(const void *key, const struct rb_node *n)
{
	const struct uprobe_key *k = key;

	return uprobe_cmp(k->inode, k->offset, rb_entry(n, struct uprobe, rb_node));
}

/*
 * The probe at (@inode, @offset) without locks or a reference, for the hit path: the
 * caller is inside uprobes_srcu, which keeps the probe's memory. A live probe found
 * is the right one even while the tree changes (its reference pins its inode, so the
 * pointer compared is that inode's). A dead one may name an inode since freed and
 * reused: it does not count. Nothing found during a change may be a lookup that a
 * rotation led astray, so it is retried.
 */
struct uprobe *find_uprobe_srcu(struct inode *inode, loff_t offset)
{
	struct uprobe_key key = { inode, offset };
	struct rb_node *n;
	unsigned int seq;

	do {
		seq = read_seqcount_begin(&uprobes_seqcount);
		n = rb_find_rcu(&key, &uprobes_tree, uprobe_key_cmp);
		if (n && refcount_read(&rb_entry(n, struct uprobe, rb_node)->ref))
			return rb_entry(n, struct uprobe, rb_node);
	} while (read_seqcount_retry(&uprobes_seqcount, seq));
	return NULL;
}

/*
 * Walk the probes of @inode in [*@pos, @end), one at a time, each with a reference
 * the caller drops (uprobe_release()) before it asks for the next; *@pos moves past
 * each. The tree's lock is not held between steps: probes may come and go meanwhile.
 */
static struct uprobe *next_uprobe_in(struct inode *inode, loff_t *pos, loff_t end)
{
	struct uprobe *u;

	spin_lock(&uprobes_treelock);
	u = tree_first_in(inode, *pos, end);
	if (u)
		uprobe_hold(u);		/* in the tree: the tree's reference keeps it above 0 */
	spin_unlock(&uprobes_treelock);
	if (u)
		*pos = u->offset + 1;
	return u;
}

/* The probe at (@inode, @offset) with a reference, under the tree's lock. */
struct uprobe *find_uprobe_locked(struct inode *inode, loff_t offset)
{
	struct uprobe *u;

	spin_lock(&uprobes_treelock);
	u = tree_first_in(inode, offset, offset + 1);
	if (u)
		uprobe_hold(u);		/* in the tree: the tree's reference keeps it above 0 */
	spin_unlock(&uprobes_treelock);
	return u;
}

bool uprobe_in_tree(struct uprobe *uprobe)
{
	return !RB_EMPTY_NODE(&uprobe->rb_node);
}

/*
 * The probe at (inode, offset), made if there is none. The caller gets a reference.
 * Two registrations of one instruction must agree on the semaphore.
 */
static struct uprobe *get_or_make_uprobe(struct inode *inode, loff_t offset,
					 loff_t ref_ctr_offset)
{
	struct rb_node **link = &uprobes_tree.rb_node, *parent = NULL;
	struct uprobe *fresh, *u;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return ERR_PTR(-ENOMEM);

	spin_lock(&uprobes_treelock);
	while (*link) {
		int c;

		parent = *link;
		u = rb_entry(parent, struct uprobe, rb_node);
		c = uprobe_cmp(inode, offset, u);
		if (!c) {
			uprobe_hold(u);
			spin_unlock(&uprobes_treelock);
			kfree(fresh);
			if (u->ref_ctr_offset != ref_ctr_offset) {
				pr_warn("uprobe at %lu:%#llx already has semaphore offset %#llx, not %#llx\n",
					inode->i_ino, (u64)offset, (u64)u->ref_ctr_offset,
					(u64)ref_ctr_offset);
				uprobe_release(u);
				return ERR_PTR(-EINVAL);
			}
			return u;
		}
		link = c < 0 ? &parent->rb_left : &parent->rb_right;
	}
	fresh->inode = igrab(inode);
	fresh->offset = offset;
	fresh->ref_ctr_offset = ref_ctr_offset;
	refcount_set(&fresh->ref, 2);	/* the tree's and the caller's */
	init_rwsem(&fresh->register_rwsem);
	mutex_init(&fresh->analyze_lock);
	INIT_LIST_HEAD(&fresh->consumers);
	write_seqcount_begin(&uprobes_seqcount);
	/* Published with a release: a lockless reader sees it whole. */
	rb_link_node_rcu(&fresh->rb_node, parent, link);
	rb_insert_color(&fresh->rb_node, &uprobes_tree);
	write_seqcount_end(&uprobes_seqcount);
	spin_unlock(&uprobes_treelock);
	return fresh;
}

static void drop_pending_of(struct uprobe *uprobe);

/* Take a probe without consumers out of the tree; drops the tree's reference. */
static void retire_uprobe(struct uprobe *uprobe)
{
	lockdep_assert_held_write(&uprobe->register_rwsem);
	if (!list_empty(&uprobe->consumers) || !uprobe_in_tree(uprobe))
		return;
	/*
	 * A semaphore increment still waiting for its data mapping (its text went away
	 * before the sweep could take the breakpoint out) is owed by nobody now.
	 */
	drop_pending_of(uprobe);
	spin_lock(&uprobes_treelock);
	write_seqcount_begin(&uprobes_seqcount);
	rb_erase(&uprobe->rb_node, &uprobes_tree);
	write_seqcount_end(&uprobes_seqcount);
	atomic64_inc(&uprobes_retired);
	RB_CLEAR_NODE(&uprobe->rb_node);
	spin_unlock(&uprobes_treelock);
	uprobe_release(uprobe);
}

/* ...and where file offset @offset appears in @vma. */
static unsigned long user_addr_of(struct vm_area_struct *vma, loff_t offset)
{
	return (unsigned long)(offset - vma_file_start(vma)) + vma->vm_start;
}

static bool consumer_wants(struct uprobe_consumer *uc, struct mm_struct *mm)
{
	return !uc->filter || uc->filter(uc, mm);
}

/* Does any consumer of @uprobe want @mm? The caller keeps the list stable or in SRCU. */
bool uprobe_wants(struct uprobe *uprobe, struct mm_struct *mm)
{
	struct uprobe_consumer *uc;
	bool want = false;
	int idx;

	idx = srcu_read_lock(&uprobes_srcu);
	list_for_each_entry_srcu(uc, &uprobe->consumers, cons_node,
				 srcu_read_lock_held(&uprobes_srcu)) {
		if (consumer_wants(uc, mm)) {
			want = true;
			break;
		}
	}
	srcu_read_unlock(&uprobes_srcu, idx);
	return want;
}

/* Copy the instruction's bytes from the file; bytes past the end of file read as 0. */
static int read_insn_from_file(struct uprobe *uprobe, void *buf, size_t len)
{
	struct address_space *mapping = uprobe->inode->i_mapping;
	loff_t size = i_size_read(uprobe->inode);
	loff_t pos = uprobe->offset;
	u8 *dst = buf;

	memset(buf, 0, len);
	if (pos >= size)
		return -EINVAL;
	len = min_t(loff_t, len, size - pos);
	while (len) {
		size_t chunk = min_t(size_t, len, PAGE_SIZE - offset_in_page(pos));
		pgoff_t index = pos >> PAGE_SHIFT;
		struct folio *folio;

		if (shmem_mapping(mapping))
			folio = shmem_read_folio(mapping, index);
		else
			folio = read_mapping_folio(mapping, index, NULL);
		if (IS_ERR(folio))
			return PTR_ERR(folio);
		memcpy_from_folio(dst, folio, offset_in_folio(folio, pos), chunk);
		folio_put(folio);
		dst += chunk;
		pos += chunk;
		len -= chunk;
	}
	return 0;
}

/*
 * Copy and analyze the instruction once, with the first mm it goes into (the arch may
 * need the mm's mode: a 32-bit task on x86-64 decodes differently). Only a verdict on
 * the bytes themselves is final: a failed read of the file (an I/O error, a signal,
 * no memory, a file shorter than the offset for now) says nothing about the next mm,
 * which tries again.
 */
static int analyze_uprobe(struct uprobe *uprobe, struct mm_struct *mm, unsigned long vaddr)
{
	int err;

	if (test_bit(UPROBE_ANALYZED, &uprobe->flags)) {
		smp_rmb(); /* pairs with smp_wmb() below */
		return uprobe->analyze_err;
	}

	mutex_lock(&uprobe->analyze_lock);
	if (test_bit(UPROBE_ANALYZED, &uprobe->flags)) {
		err = uprobe->analyze_err;
		goto out_unlock;
	}
	err = read_insn_from_file(uprobe, &uprobe->arch.insn, sizeof(uprobe->arch.insn));
	if (err)
		goto out_unlock;
	if (is_trap_insn((uprobe_opcode_t *)&uprobe->arch.insn))
		err = -ENOTSUPP;
	else
		err = arch_uprobe_analyze_insn(&uprobe->arch, mm, vaddr);
	if (err == -ENOMEM)
		goto out_unlock;
	uprobe->analyze_err = err;
	/*
	 * Publish arch and analyze_err before the bit: pairs with smp_rmb() above and
	 * in uprobe_ready().
	 */
	smp_wmb();
	set_bit(UPROBE_ANALYZED, &uprobe->flags);
out_unlock:
	mutex_unlock(&uprobe->analyze_lock);
	return err;
}

/*
 * Can @vma hold the SDT semaphore the program reads? Only a private, readable and
 * writable mapping: the program's data segment. A loader first maps a whole image from
 * offset 0 with the first segment's rights and unmaps the excess: a semaphore counted
 * there is gone with it (on powerpc, where that first mapping is the executable text).
 */
static bool vma_can_hold_ref_ctr(struct vm_area_struct *vma)
{
	return vma->vm_file &&
	       (vma->vm_flags & (VM_READ | VM_WRITE | VM_SHARED)) == (VM_READ | VM_WRITE);
}

/* The mapping of the probe's file that holds its semaphore at @offset in @mm, or NULL. */
static struct vm_area_struct *find_ref_ctr_vma(struct mm_struct *mm, struct inode *inode,
					       loff_t offset)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;

	for_each_vma(vmi, vma) {
		loff_t start;

		if (!vma_can_hold_ref_ctr(vma) || file_inode(vma->vm_file) != inode)
			continue;
		start = file_offset_of(vma, vma->vm_start);
		if (offset >= start && offset < start + (vma->vm_end - vma->vm_start))
			return vma;
	}
	return NULL;
}

static struct ref_ctr_pending *find_pending(struct uprobe *uprobe, struct mm_struct *mm)
{
	struct ref_ctr_pending *p;

	lockdep_assert_held(&ref_ctr_lock);
	list_for_each_entry(p, &ref_ctr_pending_list, node)
		if (p->uprobe == uprobe && p->mm == mm)
			return p;
	return NULL;
}

static void drop_pending(struct ref_ctr_pending *p)
{
	list_del(&p->node);
	uprobe_release(p->uprobe);
	kfree(p);
}

/* Forget every increment of @uprobe's semaphore still waiting for a mapping. */
static void drop_pending_of(struct uprobe *uprobe)
{
	struct ref_ctr_pending *p, *tmp;

	mutex_lock(&ref_ctr_lock);
	list_for_each_entry_safe(p, tmp, &ref_ctr_pending_list, node)
		if (p->uprobe == uprobe)
			drop_pending(p);
	mutex_unlock(&ref_ctr_lock);
}

/*
 * Move the SDT semaphore of @uprobe in @mm by @delta, as the breakpoint goes in (+1)
 * or out (-1). Where the semaphore is not mapped yet, remember the increment.
 */
static void update_ref_ctr(struct uprobe *uprobe, struct mm_struct *mm, short delta)
{
	struct ref_ctr_pending *p;
	struct vm_area_struct *vma;
	int err = 0;

	mmap_assert_write_locked(mm);
	mutex_lock(&ref_ctr_lock);
	p = find_pending(uprobe, mm);
	if (p) {
		/* An increment never made: removing the breakpoint just forgets it. */
		if (delta < 0)
			drop_pending(p);
		goto out_unlock;
	}
	vma = find_ref_ctr_vma(mm, uprobe->inode, uprobe->ref_ctr_offset);
	if (vma) {
		err = ubp_add_to_user_short(mm, user_addr_of(vma, uprobe->ref_ctr_offset),
					    delta);
	} else if (delta > 0) {
		p = kmalloc(sizeof(*p), GFP_KERNEL);
		if (p) {
			p->uprobe = uprobe_hold(uprobe);
			p->mm = mm;
			list_add(&p->node, &ref_ctr_pending_list);
		} else {
			err = -ENOMEM;
		}
	}
out_unlock:
	mutex_unlock(&ref_ctr_lock);
	if (err)
		pr_warn_ratelimited("uprobe: cannot update semaphore at %#llx of %s[%d]: %d\n",
				    (u64)uprobe->ref_ctr_offset, current->comm,
				    task_pid_nr(current), err);
}

/* A new mapping of @vma's file: make the increments that waited for it. */
static void apply_pending_ref_ctrs(struct vm_area_struct *vma)
{
	struct inode *inode = file_inode(vma->vm_file);
	struct ref_ctr_pending *p, *tmp;
	loff_t start = file_offset_of(vma, vma->vm_start);
	loff_t end = start + (vma->vm_end - vma->vm_start);

	if (!vma_can_hold_ref_ctr(vma))
		return;
	mutex_lock(&ref_ctr_lock);
	list_for_each_entry_safe(p, tmp, &ref_ctr_pending_list, node) {
		loff_t off = p->uprobe->ref_ctr_offset;

		if (p->mm != vma->vm_mm || p->uprobe->inode != inode || off < start || off >= end)
			continue;
		ubp_add_to_user_short(vma->vm_mm, user_addr_of(vma, off), 1);
		drop_pending(p);
	}
	mutex_unlock(&ref_ctr_lock);
}

/* Most breakpoints that go into one page with one page switch; more take another. */
#define PAGE_BATCH	16

/*
 * Put the breakpoints of @nr probes (at most PAGE_BATCH, all at offsets that @vma maps
 * into one of its pages) into @vma with one page switch. mmap_lock held for writing.
 * Return: 0, or the first error (an instruction that cannot be probed, no memory);
 * the breakpoints of the other probes go in all the same, unless the page itself
 * could not be read or rewritten.
 */
static int install_page_breakpoints(struct vm_area_struct *vma, struct uprobe **probes,
				    unsigned int nr)
{
	uprobe_opcode_t swbp[PAGE_BATCH];
	struct ubp_write writes[PAGE_BATCH];
	struct uprobe *going_in[PAGE_BATCH];
	struct mm_struct *mm = vma->vm_mm;
	unsigned int i, n = 0;
	int err = 0, ret;

	for (i = 0; i < nr; i++) {
		unsigned long vaddr = user_addr_of(vma, probes[i]->offset);

		ret = analyze_uprobe(probes[i], mm, vaddr);
		if (ret) {
			err = err ?: ret;
			continue;
		}
		going_in[n] = probes[i];
		swbp[n] = arch_uprobe_swbp_insn(&probes[i]->arch);
		writes[n] = (struct ubp_write){
			.vaddr	= vaddr,
			.expect	= &probes[i]->arch.insn,
			.insn	= &swbp[n],
			.len	= UPROBE_SWBP_INSN_SIZE,
		};
		n++;
	}
	if (!n)
		return err;
	/* Before the breakpoints can be hit: it tells the int3 hook to look at us. */
	set_bit(MMF_HAS_UPROBES, &mm->flags);
	ret = ubp_set_insns(vma, writes, n, UBP_INSERT);
	if (ret)
		return err ?: ret;
	for (i = 0; i < n; i++) {
		if (writes[i].result == UBP_WRITTEN && going_in[i]->ref_ctr_offset)
			update_ref_ctr(going_in[i], mm, 1);
		/* -EBUSY: the process changed this text itself, not ours to touch. */
		if (writes[i].result == -EBUSY)
			pr_debug("uprobe: %pD: text at %#lx differs from the file in a process, not probed\n",
				 vma->vm_file, writes[i].vaddr);
	}
	return err;
}

/* Put the breakpoint of @uprobe into @vma at @vaddr. mmap_lock held for writing. */
static int install_breakpoint(struct uprobe *uprobe, struct vm_area_struct *vma,
			      unsigned long vaddr)
{
	WARN_ON_ONCE(user_addr_of(vma, uprobe->offset) != vaddr);
	return install_page_breakpoints(vma, &uprobe, 1);
}

/*
 * Breakpoints on their way into one VMA, gathered page by page: each page's go in with
 * one page switch. mmap_lock held for writing from the first add to the last flush.
 */
struct page_batch {
	struct vm_area_struct	*vma;
	unsigned int		nr;
	bool			put;	/* drop each probe's reference once it is in */
	int			err;	/* the first error */
	struct uprobe		*probes[PAGE_BATCH];
};

static void page_batch_flush(struct page_batch *b)
{
	int err;

	if (!b->nr)
		return;
	err = install_page_breakpoints(b->vma, b->probes, b->nr);
	b->err = b->err ?: err;
	while (b->put && b->nr)
		uprobe_release(b->probes[--b->nr]);
	b->nr = 0;
}

/* Add @uprobe, whose offset @b->vma maps; probes come in order of offset. */
static void page_batch_add(struct page_batch *b, struct uprobe *uprobe)
{
	if (b->nr == PAGE_BATCH ||
	    (b->nr && (b->probes[0]->offset ^ uprobe->offset) >> PAGE_SHIFT))
		page_batch_flush(b);
	b->probes[b->nr++] = uprobe;
}

/* Take the breakpoint of @uprobe out of @vma at @vaddr. mmap_lock held for writing. */
static void remove_breakpoint(struct uprobe *uprobe, struct vm_area_struct *vma,
			      unsigned long vaddr)
{
	uprobe_opcode_t swbp = arch_uprobe_swbp_insn(&uprobe->arch);
	int ret;

	if (!uprobe_ready(uprobe))
		return;	/* it never went in */
	/* An optimized site becomes a breakpoint again first: then it comes out as usual. */
	if (ubp_has_stubs(vma->vm_mm))
		arch_uprobe_unoptimize(&uprobe->arch, vma, vaddr);
	ret = ubp_set_insn(vma, vaddr, &swbp, &uprobe->arch.insn, UPROBE_SWBP_INSN_SIZE,
			   UBP_RESTORE);
	if (ret != UBP_WRITTEN)
		return;
	if (uprobe->ref_ctr_offset)
		update_ref_ctr(uprobe, vma->vm_mm, -1);
	/* It may have been the mm's last: the next trap of the program's own finds out. */
	set_bit(MMF_RECALC_UPROBES, &vma->vm_mm->flags);
}

/*
 * Take the breakpoint of @uprobe out of every mapping of its instruction in @mm: a
 * file can be mapped more than once (a library loaded under two names, a program
 * mapping its own binary). mmap_lock held for writing.
 */
void uprobe_remove_from_mm(struct uprobe *uprobe, struct mm_struct *mm)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;

	mmap_assert_write_locked(mm);
	for_each_vma(vmi, vma) {
		loff_t start = vma_file_start(vma);

		if (!vma_can_carry_breakpoint(vma, false) ||
		    file_inode(vma->vm_file) != uprobe->inode || uprobe->offset < start ||
		    uprobe->offset >= start + (loff_t)(vma->vm_end - vma->vm_start))
			continue;
		remove_breakpoint(uprobe, vma, user_addr_of(vma, uprobe->offset));
	}
}

/*
 * Might @mm still hold a breakpoint of ours? Not if no probe falls into any of its
 * text mappings: every breakpoint belongs to a probe in the tree, and leaves before its
 * probe does. A probe entering the tree after this look is installed under the
 * mmap_lock held for writing, which sets MMF_HAS_UPROBES again. mmap_lock held.
 */
bool uprobe_mm_may_have_breakpoints(struct mm_struct *mm)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;
	bool found = false;

	mmap_assert_locked(mm);
	for_each_vma(vmi, vma) {
		loff_t start = vma_file_start(vma);

		if (!vma_can_carry_breakpoint(vma, false))
			continue;
		spin_lock(&uprobes_treelock);
		found = tree_first_in(file_inode(vma->vm_file), start,
				      start + (loff_t)(vma->vm_end - vma->vm_start));
		spin_unlock(&uprobes_treelock);
		if (found)
			break;
	}
	return found;
}

/* One mapping of a probed file in one mm, found by a sweep; holds an mm reference. */
struct probe_site {
	struct mm_struct	*mm;
	unsigned long		vaddr;
};

/*
 * Every mapping of @inode that covers a page of [@first, @last], each with the address
 * there of file offset @offset (meaningful where the mapping covers that offset).
 * The i_mmap lock can't be held across allocation, so count, allocate, and try again
 * if the count grew.
 */
static struct probe_site *collect_sites(struct inode *inode, pgoff_t first, pgoff_t last,
					loff_t offset, bool adding, int *nr)
{
	struct address_space *mapping = inode->i_mapping;
	struct probe_site *sites = NULL;
	struct vm_area_struct *vma;
	int room = 0, n;

	for (;;) {
		n = 0;
		i_mmap_lock_read(mapping);
		vma_interval_tree_foreach(vma, &mapping->i_mmap, first, last) {
			if (!vma_can_carry_breakpoint(vma, adding))
				continue;
			if (n < room && mmget_not_zero(vma->vm_mm)) {
				sites[n].mm = vma->vm_mm;
				sites[n].vaddr = user_addr_of(vma, offset);
			} else if (n < room) {
				continue;	/* an mm on its way out */
			}
			n++;
		}
		i_mmap_unlock_read(mapping);
		if (n <= room)
			break;
		while (room--)
			mmput(sites[room].mm);
		kfree(sites);
		room = n + 8;
		sites = kmalloc_array(room, sizeof(*sites), GFP_KERNEL);
		if (!sites)
			return ERR_PTR(-ENOMEM);
	}
	*nr = n;
	return sites;
}

/*
 * Bring every mm that maps the probe in line with its consumers: when @adding, put
 * the breakpoint where @uc wants it; otherwise take it out of every mm that no
 * consumer wants any more.
 */
static int sweep_breakpoints(struct uprobe *uprobe, struct uprobe_consumer *uc, bool adding)
{
	struct probe_site *sites;
	int i, nr = 0, err = 0;

	lockdep_assert_held_write(&uprobe->register_rwsem);
	percpu_down_write(&fork_sweep_sem);
	sites = collect_sites(uprobe->inode, uprobe->offset >> PAGE_SHIFT,
			      uprobe->offset >> PAGE_SHIFT, uprobe->offset, adding, &nr);
	if (IS_ERR(sites)) {
		percpu_up_write(&fork_sweep_sem);
		return PTR_ERR(sites);
	}
	for (i = 0; i < nr; i++) {
		struct mm_struct *mm = sites[i].mm;
		unsigned long vaddr = sites[i].vaddr;
		struct vm_area_struct *vma;

		mmap_write_lock(mm);
		/* An mm the OOM reaper is tearing down is left alone. */
		if (check_stable_address_space(mm))
			goto next;
		/* The mapping may have changed since the i_mmap walk. */
		vma = vma_lookup(mm, vaddr);
		if (!vma || !vma_can_carry_breakpoint(vma, adding) ||
		    file_inode(vma->vm_file) != uprobe->inode ||
		    file_offset_of(vma, vaddr) != uprobe->offset)
			goto next;
		if (adding) {
			if (!err && consumer_wants(uc, mm))
				err = install_breakpoint(uprobe, vma, vaddr);
		} else if (!uprobe_wants(uprobe, mm)) {
			remove_breakpoint(uprobe, vma, vaddr);
		}
next:
		mmap_write_unlock(mm);
		mmput(mm);
	}
	kfree(sites);
	percpu_up_write(&fork_sweep_sem);
	return err;
}

/*
 * Registrations put off to the end of the system call.
 *
 * Enabling a group of trace events registers one probe after another, each of which
 * would sweep the file's mappings and switch a page per mm for its one breakpoint:
 * 1000 probes on a library mapped by 10 processes made 10000 page copies, one mmap_lock
 * round each. A registration by a user task instead analyzes its instruction at once
 * (so that a probe that cannot go in still fails the registration) and leaves the
 * breakpoints to the task's way back to user space, where task work puts in what all
 * of the system call's registrations owe: one walk of each file's mappings, one
 * mmap_lock per mm and file, and one page switch per page of each mm for the probes
 * on it (per PAGE_BATCH of them). The caller's system call returns to user space only
 * after that, as it did after the sweeps. Another task that finds the probe already
 * registered (a second tracefs instance enabling the event) waits for the breakpoints
 * in uprobe_wait_installed().
 *
 * Nothing is lost in between: the consumer is on the probe's list from the start, so
 * a new mapping gets the breakpoint from uprobe_mmap(); each mm's breakpoints go in
 * under its mmap_lock held for writing, after checking that the probe is still wanted
 * there, which orders them against a removal sweep (it takes the consumer off the
 * list before it takes that lock) as a synchronous sweep is.
 * Unlike a synchronous sweep, an error while putting a breakpoint into one mm (no
 * memory, a page that can no longer be read) does not fail the registration: that mm
 * goes without, as a mapping that uprobe_mmap() cannot probe does, and the kernel log
 * says so.
 *
 * Kernel threads, user workers (io_uring, vhost) and exiting tasks, which may not come
 * back to user space, sweep at once.
 */
struct deferred_sweep {
	struct list_head	node;		/* in deferred_sweeps */
	struct task_struct	*task;		/* whose return to user space does the work */
	struct callback_head	work;
	unsigned int		nr;
	unsigned int		room;
	struct uprobe		**probes;	/* each with a reference */
};

/* The tasks' batches not yet swept, found by their task. */
static DEFINE_MUTEX(deferred_sweeps_lock);
static LIST_HEAD(deferred_sweeps);

static int uprobe_order(const void *a, const void *b)
{
	const struct uprobe *x = *(const struct uprobe **)a;
	const struct uprobe *y = *(const struct uprobe **)b;

	int order = uprobe_cmp(x->inode, x->offset, y);

	/*
	 * A retired probe and its successor at the same place are two probes: keep each
	 * one's copies together, or deduplication would miss some (sort() is not stable).
	 */
	if (!order && x != y)
		order = x < y ? -1 : 1;
	return order;
}

/* One deferred sweep of @u is done: wake uprobe_wait_installed() if it was the last. */
static void deferred_sweep_done(struct uprobe *u)
{
	if (atomic_dec_and_test(&u->pending_sweeps))
		wake_up_var(&u->pending_sweeps);
	uprobe_release(u);
}

/*
 * Put the breakpoints of @probes (@nr of them, of one file, in order of offset, no
 * probe twice) into @mm, in each of its mappings of the file. mmap_lock held for writing.
 */
static void deferred_sweep_mm(struct mm_struct *mm, struct uprobe **probes, unsigned int nr)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct inode *inode = probes[0]->inode;
	struct vm_area_struct *vma;

	for_each_vma(vmi, vma) {
		struct page_batch batch = { .vma = vma };
		loff_t start = vma_file_start(vma);
		loff_t end = start + (loff_t)(vma->vm_end - vma->vm_start);
		unsigned int i;

		if (!vma_can_carry_breakpoint(vma, true) || file_inode(vma->vm_file) != inode)
			continue;
		for (i = 0; i < nr; i++) {
			struct uprobe *u = probes[i];

			if (u->offset < start || u->offset >= end)
				continue;
			/*
			 * Unregistered meanwhile (a retired probe has no consumers left),
			 * or not for this mm: see above.
			 */
			if (uprobe_wants(u, mm))
				page_batch_add(&batch, u);
		}
		page_batch_flush(&batch);
		if (batch.err)
			pr_warn_ratelimited("uprobe: %pD: a breakpoint did not go into a process mapping it (%d)\n",
					    vma->vm_file, batch.err);
	}
}

static int probe_site_order(const void *a, const void *b)
{
	const struct probe_site *x = a, *y = b;

	return x->mm == y->mm ? 0 : x->mm < y->mm ? -1 : 1;
}

/* Sweep the mappings of one file for @probes (as for deferred_sweep_mm()). */
static void deferred_sweep_file(struct uprobe **probes, unsigned int nr)
{
	struct probe_site *sites;
	int i, j, nr_sites = 0;

	/* As for any sweep: a fork copies an mm before it or after it. */
	percpu_down_write(&fork_sweep_sem);
	sites = collect_sites(probes[0]->inode, probes[0]->offset >> PAGE_SHIFT,
			      probes[nr - 1]->offset >> PAGE_SHIFT, probes[0]->offset, true,
			      &nr_sites);
	if (IS_ERR(sites)) {
		percpu_up_write(&fork_sweep_sem);
		pr_warn_ratelimited("uprobe: no memory to put %d breakpoints into the processes mapping a file\n",
				    nr);
		return;
	}
	/* An mm with several mappings of the file comes several times: once is enough. */
	sort(sites, nr_sites, sizeof(*sites), probe_site_order, NULL);
	for (i = 0; i < nr_sites; i = j) {
		struct mm_struct *mm = sites[i].mm;

		for (j = i + 1; j < nr_sites && sites[j].mm == mm; j++)
			;
		mmap_write_lock(mm);
		/* An mm the OOM reaper is tearing down is left alone. */
		if (!check_stable_address_space(mm))
			deferred_sweep_mm(mm, probes, nr);
		mmap_write_unlock(mm);
		cond_resched();
	}
	percpu_up_write(&fork_sweep_sem);
	for (i = 0; i < nr_sites; i++)
		mmput(sites[i].mm);
	kfree(sites);
}

/* Task work: the current task's registrations of its last system call, swept at once. */
static void deferred_sweep_run(struct callback_head *work)
{
	struct deferred_sweep *ds = container_of(work, struct deferred_sweep, work);
	unsigned int i, j, n = 0;

	mutex_lock(&deferred_sweeps_lock);
	list_del(&ds->node);
	mutex_unlock(&deferred_sweeps_lock);

	sort(ds->probes, ds->nr, sizeof(*ds->probes), uprobe_order, NULL);
	/* The same probe twice (two consumers of it registered) is swept once. */
	for (i = 0; i < ds->nr; i++) {
		if (n && ds->probes[n - 1] == ds->probes[i])
			deferred_sweep_done(ds->probes[i]);
		else
			ds->probes[n++] = ds->probes[i];
	}

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && ds->probes[j]->inode == ds->probes[i]->inode; j++)
			;
		deferred_sweep_file(ds->probes + i, j - i);
	}

	for (i = 0; i < n; i++)
		deferred_sweep_done(ds->probes[i]);
	kvfree(ds->probes);
	kfree(ds);
}

/* The current task's batch, or NULL. */
static struct deferred_sweep *find_deferred_sweep(void)
{
	struct deferred_sweep *ds;

	lockdep_assert_held(&deferred_sweeps_lock);
	list_for_each_entry(ds, &deferred_sweeps, node)
		if (ds->task == current)
			return ds;
	return NULL;
}

/* The current task's batch, made (and its task work queued) if it has none. */
static struct deferred_sweep *current_deferred_sweep(void)
{
	struct deferred_sweep *ds;

	ds = find_deferred_sweep();
	if (ds)
		return ds;
	ds = kzalloc(sizeof(*ds), GFP_KERNEL);
	if (!ds)
		return NULL;
	ds->task = current;
	init_task_work(&ds->work, deferred_sweep_run);
	if (task_work_add(current, &ds->work, TWA_RESUME)) {
		kfree(ds);	/* exiting: no way back to user space */
		return NULL;
	}
	list_add(&ds->node, &deferred_sweeps);
	return ds;
}

/* Add @uprobe, with a new reference, to the current task's batch. */
static bool defer_sweep(struct uprobe *uprobe)
{
	struct deferred_sweep *ds;
	bool deferred = false;

	mutex_lock(&deferred_sweeps_lock);
	ds = current_deferred_sweep();
	if (ds && ds->nr == ds->room) {
		unsigned int room = max(2 * ds->room, 16U);
		struct uprobe **probes;

		probes = kvrealloc(ds->probes, room * sizeof(*probes), GFP_KERNEL);
		if (probes) {
			ds->probes = probes;
			ds->room = room;
		}
	}
	if (ds && ds->nr < ds->room) {
		/* Paired with deferred_sweep_done(). */
		atomic_inc(&uprobe->pending_sweeps);
		ds->probes[ds->nr++] = uprobe_hold(uprobe);
		deferred = true;
	}
	mutex_unlock(&deferred_sweeps_lock);
	return deferred;
}

/**
 * uprobe_wait_installed - wait until @uprobe's breakpoints are in
 * @uprobe: a probe the caller holds registered
 *
 * For a registrant that adds nothing of its own to a probe already registered (a
 * second tracefs instance enabling an event): when this returns, the breakpoints
 * the earlier registrations put off to their tasks' return to user space are in, as
 * they would be after a synchronous sweep. The current task's own batch is swept
 * here and now. A fatal signal ends the wait early.
 */
void uprobe_wait_installed(struct uprobe *uprobe)
{
	struct deferred_sweep *ds;

	mutex_lock(&deferred_sweeps_lock);
	ds = find_deferred_sweep();
	/* Once cancelled, its task work can't run: this is the batch's one sweep. */
	if (ds && !task_work_cancel(current, &ds->work))
		ds = NULL;
	mutex_unlock(&deferred_sweeps_lock);
	if (ds)
		deferred_sweep_run(&ds->work);
	/* Pairs with atomic_dec_and_test() in deferred_sweep_done(). */
	wait_var_event_killable(&uprobe->pending_sweeps,
				!atomic_read(&uprobe->pending_sweeps));
}

/*
 * Analyze the instruction of @uprobe with the first mm that maps it and that @uc
 * wants, as the sweep's first install would. Return: 1 when no such mm maps it now
 * (nothing to sweep), 0 when it can be probed, -EAGAIN when that mapping changed
 * before it could be read (sweep at once instead), or -errno as install_breakpoint()
 * would have failed.
 */
static int analyze_in_first_mm(struct uprobe *uprobe, struct uprobe_consumer *uc)
{
	struct address_space *mapping = uprobe->inode->i_mapping;
	pgoff_t pgoff = uprobe->offset >> PAGE_SHIFT;
	struct mm_struct *mm = NULL;
	struct vm_area_struct *vma;
	unsigned long vaddr = 0;
	int err = 0;

	i_mmap_lock_read(mapping);
	vma_interval_tree_foreach(vma, &mapping->i_mmap, pgoff, pgoff) {
		if (!vma_can_carry_breakpoint(vma, true) || !mmget_not_zero(vma->vm_mm))
			continue;
		/* The filter is asked of a live mm only. */
		if (consumer_wants(uc, vma->vm_mm)) {
			mm = vma->vm_mm;
			vaddr = user_addr_of(vma, uprobe->offset);
			break;
		}
		/* Maybe the last reference: mmput() would tear the mm down under the lock. */
		mmput_async(vma->vm_mm);
	}
	i_mmap_unlock_read(mapping);
	if (!mm)
		return 1;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, vaddr);
	if (vma && vma_can_carry_breakpoint(vma, true) &&
	    file_inode(vma->vm_file) == uprobe->inode &&
	    file_offset_of(vma, vaddr) == uprobe->offset)
		err = analyze_uprobe(uprobe, mm, vaddr);
	else
		err = -EAGAIN;	/* mapped elsewhere meanwhile */
	mmap_read_unlock(mm);
	mmput(mm);
	return err;
}

/*
 * The sweep that adds a registration's consumer @uc: at once, or, for a user task,
 * at the end of its system call (see struct deferred_sweep).
 */
static int sweep_new_consumer(struct uprobe *uprobe, struct uprobe_consumer *uc)
{
	int err;

	if (current->flags & (PF_KTHREAD | PF_USER_WORKER | PF_EXITING))
		return sweep_breakpoints(uprobe, uc, true);
	err = analyze_in_first_mm(uprobe, uc);
	if (err == -EAGAIN)
		return sweep_breakpoints(uprobe, uc, true);
	if (err)
		return err > 0 ? 0 : err;
	if (!defer_sweep(uprobe))
		return sweep_breakpoints(uprobe, uc, true);
	return 0;
}

/**
 * uprobe_register - add a consumer to the probe at (@inode, @offset)
 * @inode: the file
 * @offset: the instruction's offset in it
 * @ref_ctr_offset: offset of the SDT semaphore in the file, 0 for none
 * @uc: the consumer; its handlers may run before this returns
 *
 * The breakpoint goes into every process that maps the file now and that @uc wants,
 * and into later ones as they map it. For a user task the first part is done on its
 * way back to user space, with the breakpoints of its other registrations (see
 * struct deferred_sweep); for other callers before this returns.
 *
 * Return: the probe, to be passed to uprobe_apply() and uprobe_unregister_nosync(),
 * or an ERR_PTR(): -EINVAL for a bad offset or a conflicting semaphore, -ENOTSUPP
 * for an instruction that cannot be probed, -EIO for a file without a page cache.
 */
struct uprobe *uprobe_register(struct inode *inode, loff_t offset, loff_t ref_ctr_offset,
			       struct uprobe_consumer *uc)
{
	struct address_space *mapping = inode->i_mapping;
	bool bad_offset, bad_ref_ctr;
	struct uprobe *uprobe;
	int err;

	bad_offset = offset < 0 || offset > i_size_read(inode) ||
		     !IS_ALIGNED(offset, UPROBE_SWBP_INSN_SIZE);
	bad_ref_ctr = ref_ctr_offset < 0 || !IS_ALIGNED(ref_ctr_offset, sizeof(short));
	if (bad_offset || bad_ref_ctr || !(uc->handler || uc->ret_handler))
		return ERR_PTR(-EINVAL);
	/* The instruction is read through the page cache. */
	if (!shmem_mapping(mapping) && !mapping->a_ops->read_folio)
		return ERR_PTR(-EIO);

	for (;;) {
		uprobe = get_or_make_uprobe(inode, offset, ref_ctr_offset);
		if (IS_ERR(uprobe))
			break;
		down_write(&uprobe->register_rwsem);
		if (uprobe_in_tree(uprobe))
			break;
		/* Lost a race with the last unregister: make a fresh one. */
		up_write(&uprobe->register_rwsem);
		uprobe_release(uprobe);
	}
	if (IS_ERR(uprobe))
		return uprobe;

	/* Visible to uprobe_mmap() before the sweep looks at existing mappings. */
	list_add_rcu(&uc->cons_node, &uprobe->consumers);
	err = sweep_new_consumer(uprobe, uc);
	if (err) {
		list_del_rcu(&uc->cons_node);
		sweep_breakpoints(uprobe, uc, false);
		retire_uprobe(uprobe);
	}
	up_write(&uprobe->register_rwsem);
	if (err) {
		synchronize_srcu(&uprobes_srcu);	/* @uc's handlers may have run */
		uprobe_release(uprobe);
		return ERR_PTR(err);
	}
	return uprobe;
}
EXPORT_SYMBOL_GPL(uprobe_register);

/**
 * uprobe_apply - re-evaluate @uc's filter over the processes mapping the probe
 * @uprobe: a probe @uc is registered on
 * @uc: the consumer
 * @add: true to put the breakpoint where @uc now wants it, false to take it out of
 *	processes no consumer wants any more
 *
 * Return: 0 or -errno.
 */
int uprobe_apply(struct uprobe *uprobe, struct uprobe_consumer *uc, bool add)
{
	struct uprobe_consumer *each;
	int err = -ENOENT;

	down_write(&uprobe->register_rwsem);
	list_for_each_entry(each, &uprobe->consumers, cons_node) {
		if (each == uc) {
			err = sweep_breakpoints(uprobe, uc, add);
			break;
		}
	}
	up_write(&uprobe->register_rwsem);
	return err;
}
EXPORT_SYMBOL_GPL(uprobe_apply);

/**
 * uprobe_unregister_nosync - take a consumer off its probe
 * @uprobe: the probe uprobe_register() returned for @uc
 * @uc: the consumer
 *
 * Breakpoints leave the processes that no remaining consumer wants. @uc's handlers
 * may still be running on return: call uprobe_unregister_sync() (once, for any number
 * of consumers) before freeing @uc.
 */
void uprobe_unregister_nosync(struct uprobe *uprobe, struct uprobe_consumer *uc)
{
	struct rw_semaphore *sem = &uprobe->register_rwsem;

	down_write(sem);
	list_del_rcu(&uc->cons_node);
	sweep_breakpoints(uprobe, uc, false);
	retire_uprobe(uprobe);
	up_write(sem);
	uprobe_release(uprobe);	/* the registration's reference */
}
EXPORT_SYMBOL_GPL(uprobe_unregister_nosync);

/**
 * uprobe_unregister_sync - wait until no handler of an unregistered consumer runs
 */
void uprobe_unregister_sync(void)
{
	synchronize_srcu(&uprobes_srcu);
}
EXPORT_SYMBOL_GPL(uprobe_unregister_sync);

/**
 * uprobe_mmap - a new mapping appeared: put in the breakpoints it should carry
 * @vma: the mapping; mmap_lock held for writing
 *
 * Called for every new VMA, including the pieces of a split or merge, so putting in a
 * breakpoint that is already there must be harmless (it is: UBP_ALREADY).
 *
 * Return: 0; a probe that cannot go into this mapping does not fail the mmap.
 */
int uprobe_mmap(struct vm_area_struct *vma)
{
	struct page_batch batch = { .vma = vma, .put = true };
	loff_t pos, end;
	struct inode *inode;
	struct uprobe *u;

	if (RB_EMPTY_ROOT(&uprobes_tree) || !vma->vm_file)
		return 0;
	/*
	 * Nothing comes where a hit was remembered without the old mapping's munmap;
	 * counted here too, so that the rule is simply: any file mapping comes or goes.
	 */
	uprobe_maps_changed(vma->vm_mm);
	inode = file_inode(vma->vm_file);
	apply_pending_ref_ctrs(vma);
	if (!vma_can_carry_breakpoint(vma, true))
		return 0;

	pos = file_offset_of(vma, vma->vm_start);
	end = pos + (vma->vm_end - vma->vm_start);
	while ((u = next_uprobe_in(inode, &pos, end))) {
		if (uprobe_wants(u, vma->vm_mm))
			page_batch_add(&batch, u);
		else
			uprobe_release(u);
	}
	page_batch_flush(&batch);
	return 0;
}

/**
 * uprobe_mremap - text is about to move to another address
 * @vma: the mapping that moves; mmap_lock held for writing
 * @start: start of the range that moves
 * @end: its end
 *
 * An optimized site's jump is relative to the site: moved with the page, it would
 * land anywhere. Such sites become breakpoints again before the page tables move;
 * a breakpoint works at any address (and may be optimized again at the next hit).
 */
void uprobe_mremap(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	struct inode *inode;
	loff_t pos, stop;
	struct uprobe *u;

	if (!ubp_has_stubs(vma->vm_mm) || !vma->vm_file || !vma_can_carry_breakpoint(vma, false))
		return;
	mmap_assert_write_locked(vma->vm_mm);
	inode = file_inode(vma->vm_file);
	pos = file_offset_of(vma, start);
	stop = file_offset_of(vma, end);
	while ((u = next_uprobe_in(inode, &pos, stop))) {
		if (uprobe_ready(u))
			arch_uprobe_unoptimize(&u->arch, vma, user_addr_of(vma, u->offset));
		uprobe_release(u);
	}
}

/* Turn the optimized site at @site of @mm back into a breakpoint, if it is one. */
static void unoptimize_site(struct mm_struct *mm, unsigned long site)
{
	struct vm_area_struct *vma = vma_lookup(mm, site);
	struct uprobe *u;

	if (!vma || !vma_can_carry_breakpoint(vma, false))
		return;
	u = find_uprobe_locked(file_inode(vma->vm_file), file_offset_of(vma, site));
	if (!u)
		return;
	if (uprobe_ready(u))
		arch_uprobe_unoptimize(&u->arch, vma, site);
	uprobe_release(u);
}

/**
 * uprobe_unmap_range - a range of @mm is about to be unmapped
 * @mm: the mm; mmap_lock held for writing
 * @start: start of the range (munmap, or a MAP_FIXED mapping replacing what was there)
 * @end: its end
 *
 * Sites jumping to a stub page in the range would jump into whatever comes there
 * next: they become breakpoints again first, while the page is still there (a thread
 * already in a stub still gets through it, up to the moment the page goes).
 */
void uprobe_unmap_range(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	unsigned long site;
	unsigned int pos = 0;

	if (!ubp_has_stubs(mm))
		return;
	mmap_assert_write_locked(mm);
	while ((site = ubp_stub_site_in(mm, start, end, &pos)))
		if (site < start || site >= end)	/* else its text goes too */
			unoptimize_site(mm, site);
}

/**
 * uprobe_task_watched - someone now sees @task's system calls and steps
 * @task: a task that has just become traced (ptrace attach, seize or traceme, or
 *	a child traced from its birth, before it first runs)
 *
 * The arch keeps a traced process's sites as breakpoints (x86: a debugger would
 * read the jump to a stub where the program has its nop, save it under its own
 * breakpoint and write it back later over a site that has changed since; strace
 * would see the stub's system call). Sites optimized before are turned back here,
 * before the tracer can read or step the text. The mark (task->ptrace) is set
 * before this runs; an optimization that did not see it has published its stub
 * page (see the barrier below) and holds the mmap_lock until its jump is written,
 * so this sweep, under that lock, finds the jump. Sleeps; callers hold no lock.
 */
void uprobe_task_watched(struct task_struct *task)
{
	struct mm_struct *mm = get_task_mm(task);
	unsigned int pos = 0;
	unsigned long site;

	if (!mm)
		return;
	/*
	 * The mark before the look at the stub list, as the arch publishes the mm's
	 * first stub page before it looks at the mark (arch_uprobe_optimize()): one of
	 * the two sees the other's store.
	 */
	smp_mb();	/* pairs with the barrier in arch_uprobe_optimize() */
	if (!ubp_has_stubs(mm))
		goto out;
	/*
	 * A tracer killed while it waits here goes, and its tracee is detached; a
	 * child not yet started (fork) would go on traced: it waits for good.
	 */
	if (READ_ONCE(task->__state) & TASK_NEW)
		mmap_write_lock(mm);
	else if (mmap_write_lock_killable(mm))
		goto out;
	while ((site = ubp_stub_site_in(mm, 0, ULONG_MAX, &pos))) {
		unoptimize_site(mm, site);
		cond_resched();
	}
	mmap_write_unlock(mm);
out:
	mmput(mm);
}

/**
 * uprobe_munmap - a mapping is going away
 * @vma: the mapping
 * @start: start of the range going
 * @end: its end
 *
 * Breakpoints live in the mapping's pages and go with them; what changes is what a
 * hit in the range would find: the tasks' memory of their recent hits (struct
 * uprobe_last_hit) stops counting.
 */
void uprobe_munmap(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	uprobe_maps_changed(vma->vm_mm);
}

/**
 * uprobe_start_dup_mmap - fork is about to copy an mm; hold breakpoint sweeps off
 */
void uprobe_start_dup_mmap(void)
{
	/* Released in uprobe_end_dup_mmap(), once the child's mm is complete. */
	percpu_down_read(&fork_sweep_sem);
}

/**
 * uprobe_end_dup_mmap - fork copied the mm
 */
void uprobe_end_dup_mmap(void)
{
	/* Taken in uprobe_start_dup_mmap(). */
	percpu_up_read(&fork_sweep_sem);
}

/**
 * uprobe_dup_mmap - fork copied @oldmm into @newmm
 * @oldmm: the parent's mm
 * @newmm: the child's
 *
 * The child's pages, breakpoints and semaphores included, are copies of the parent's;
 * what the parent still owed (semaphore increments waiting for a mapping) the child
 * owes too.
 */
void uprobe_dup_mmap(struct mm_struct *oldmm, struct mm_struct *newmm)
{
	struct ref_ctr_pending *p, *copy;

	/* The stub pages outlive the flag: their VMAs are copied with the rest. */
	if (ubp_has_stubs(oldmm) && ubp_stubs_dup(oldmm, newmm))
		pr_warn_ratelimited("uprobe: no memory for the stubs of a child of %s[%d]; its optimized probe sites will fault\n",
				    current->comm, task_pid_nr(current));
	if (!test_bit(MMF_HAS_UPROBES, &oldmm->flags))
		return;
	set_bit(MMF_HAS_UPROBES, &newmm->flags);
	if (test_bit(MMF_RECALC_UPROBES, &oldmm->flags))
		set_bit(MMF_RECALC_UPROBES, &newmm->flags);
	mutex_lock(&ref_ctr_lock);
	list_for_each_entry(p, &ref_ctr_pending_list, node) {
		if (p->mm != oldmm)
			continue;
		copy = kmalloc(sizeof(*copy), GFP_KERNEL);
		if (!copy)
			break;
		copy->uprobe = uprobe_hold(p->uprobe);
		copy->mm = newmm;
		list_add(&copy->node, &ref_ctr_pending_list);
	}
	mutex_unlock(&ref_ctr_lock);
}

/**
 * uprobe_clear_state - an mm is being freed
 * @mm: the mm
 */
void uprobe_clear_state(struct mm_struct *mm)
{
	struct ref_ctr_pending *p, *tmp;

	mutex_lock(&ref_ctr_lock);
	list_for_each_entry_safe(p, tmp, &ref_ctr_pending_list, node)
		if (p->mm == mm)
			drop_pending(p);
	mutex_unlock(&ref_ctr_lock);
	ubp_mm_free(mm);
}
