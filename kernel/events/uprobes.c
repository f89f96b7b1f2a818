// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uprobes: the arbitration layer between probe users and the breakpoint layer.
 *
 * A probe is an instruction of a file, (inode, offset). Its consumers (trace events,
 * perf, bpf) say which processes they want; this file keeps a breakpoint at that
 * instruction in exactly the processes some consumer wants, in every mapping of the
 * file, as mappings come and go, and runs the consumers' handlers on each hit.
 * Breakpoint writes and the out-of-line slots are UBP's (kernel/events/ubp.c).
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
#include <linux/srcu.h>
#include <linux/task_work.h>
#include <linux/ubp.h>
#include <linux/uprobes.h>

/*
 * Lock order, outermost first:
 *   uprobe->register_rwsem
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
 * Consumer lists are read under this SRCU (handlers may sleep). uprobe_unregister_sync()
 * waits for it, so after it no handler of a removed consumer runs. A hit also looks
 * its probe up inside it without taking a reference: probes are freed only after a
 * grace period of it (uprobe_release()).
 */
DEFINE_STATIC_SRCU(uprobes_srcu);

/*
 * fork (readers, uprobe_start_dup_mmap()) against breakpoint sweeps (writer): a child
 * whose mappings are being copied is either copied before a sweep looks at the file's
 * mappings (and is swept like any other mm) or after the sweep (and copies the
 * parent's final state). Without it a sweep could miss a half-made child.
 */
DEFINE_STATIC_PERCPU_RWSEM(fork_sweep_sem);

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
	unsigned long		flags;
	struct rcu_head		rcu;
	struct arch_uprobe	arch;
};

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

/* Take a reference; the caller already has one, or holds uprobes_treelock. */
static struct uprobe *uprobe_hold(struct uprobe *u)
{
	refcount_inc(&u->ref);
	return u;
}

static void uprobe_free_srcu(struct rcu_head *head)
{
	kfree(container_of(head, struct uprobe, rcu));
}

/*
 * Drop a reference; the last one frees. May sleep (iput). A hit that found the probe
 * without a reference may still be looking at it (its inode only as a key): the
 * memory waits for uprobes_srcu; pairs with srcu_read_lock() in handle_breakpoint().
 */
static void uprobe_release(struct uprobe *u)
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
static struct uprobe *find_uprobe_srcu(struct inode *inode, loff_t offset)
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
static struct uprobe *find_uprobe_locked(struct inode *inode, loff_t offset)
{
	struct uprobe *u;

	spin_lock(&uprobes_treelock);
	u = tree_first_in(inode, offset, offset + 1);
	if (u)
		uprobe_hold(u);		/* in the tree: the tree's reference keeps it above 0 */
	spin_unlock(&uprobes_treelock);
	return u;
}

static bool uprobe_in_tree(struct uprobe *uprobe)
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
	RB_CLEAR_NODE(&uprobe->rb_node);
	spin_unlock(&uprobes_treelock);
	uprobe_release(uprobe);
}

/* The file offset that vma->vm_start maps. */
static loff_t vma_file_start(struct vm_area_struct *vma)
{
	return (loff_t)vma->vm_pgoff * PAGE_SIZE;
}

/* Where in the file @vaddr of @vma is... */
static loff_t file_offset_of(struct vm_area_struct *vma, unsigned long vaddr)
{
	return vma_file_start(vma) + (loff_t)(vaddr - vma->vm_start);
}

/* ...and where file offset @offset appears in @vma. */
static unsigned long user_addr_of(struct vm_area_struct *vma, loff_t offset)
{
	return (unsigned long)(offset - vma_file_start(vma)) + vma->vm_start;
}

/*
 * Text a breakpoint may go into: a private, executable-capable mapping of a file, not
 * hugetlb. A new breakpoint never goes where the program may write, as it could
 * overwrite the breakpoint or have its own write lost; an old one is taken out of
 * any such mapping.
 */
static bool vma_can_carry_breakpoint(struct vm_area_struct *vma, bool adding)
{
	if (!vma->vm_file || is_vm_hugetlb_page(vma))
		return false;
	if ((vma->vm_flags & (VM_MAYEXEC | VM_MAYSHARE)) != VM_MAYEXEC)
		return false;
	return !adding || !(vma->vm_flags & VM_WRITE);
}

static bool consumer_wants(struct uprobe_consumer *uc, struct mm_struct *mm)
{
	return !uc->filter || uc->filter(uc, mm);
}

/* Does any consumer of @uprobe want @mm? The caller keeps the list stable or in SRCU. */
static bool uprobe_wants(struct uprobe *uprobe, struct mm_struct *mm)
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
	err = read_insn_from_file(uprobe, uprobe->arch.insn, sizeof(uprobe->arch.insn));
	if (err)
		goto out_unlock;
	if (is_trap_insn((uprobe_opcode_t *)uprobe->arch.insn))
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
 * Is @uprobe analyzed, and did its analysis take the instruction? Only such a probe
 * ever put a breakpoint in (the bit is set before any breakpoint is written), and
 * only then may its arch data be read.
 */
static bool uprobe_ready(struct uprobe *uprobe)
{
	if (!test_bit(UPROBE_ANALYZED, &uprobe->flags))
		return false;
	smp_rmb(); /* the arch data behind the bit; pairs with smp_wmb() in analyze_uprobe() */
	return !uprobe->analyze_err;
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

/* Put the breakpoint of @uprobe into @vma at @vaddr. mmap_lock held for writing. */
static int install_breakpoint(struct uprobe *uprobe, struct vm_area_struct *vma,
			      unsigned long vaddr)
{
	uprobe_opcode_t swbp = UPROBE_SWBP_INSN;
	struct mm_struct *mm = vma->vm_mm;
	int ret;

	ret = analyze_uprobe(uprobe, mm, vaddr);
	if (ret)
		return ret;
	/* Before the breakpoint can be hit: it tells the int3 hook to look at us. */
	set_bit(MMF_HAS_UPROBES, &mm->flags);
	ret = ubp_set_insn(vma, vaddr, uprobe->arch.insn, &swbp, UPROBE_SWBP_INSN_SIZE,
			   UBP_INSERT);
	if (ret == UBP_WRITTEN && uprobe->ref_ctr_offset)
		update_ref_ctr(uprobe, mm, 1);
	if (ret == -EBUSY) {
		/* The process changed this text itself: not ours to touch. */
		pr_debug("uprobe: %s[%d] text at %#lx differs from its file, not probed\n",
			 current->comm, task_pid_nr(current), vaddr);
		ret = 0;
	}
	return ret < 0 ? ret : 0;
}

/* Take the breakpoint of @uprobe out of @vma at @vaddr. mmap_lock held for writing. */
static void remove_breakpoint(struct uprobe *uprobe, struct vm_area_struct *vma,
			      unsigned long vaddr)
{
	uprobe_opcode_t swbp = UPROBE_SWBP_INSN;
	int ret;

	if (!uprobe_ready(uprobe))
		return;	/* it never went in */
	/* An optimized site becomes a breakpoint again first: then it comes out as usual. */
	if (ubp_has_stubs(vma->vm_mm))
		arch_uprobe_unoptimize(&uprobe->arch, vma, vaddr);
	ret = ubp_set_insn(vma, vaddr, &swbp, uprobe->arch.insn, UPROBE_SWBP_INSN_SIZE,
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
static void remove_from_mm(struct uprobe *uprobe, struct mm_struct *mm)
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
static bool mm_may_have_breakpoints(struct mm_struct *mm)
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
 * Every mapping of the probe's file that covers its offset. The i_mmap lock can't
 * be held across allocation, so count, allocate, and try again if the count grew.
 */
static struct probe_site *collect_sites(struct uprobe *uprobe, bool adding, int *nr)
{
	struct address_space *mapping = uprobe->inode->i_mapping;
	pgoff_t pgoff = uprobe->offset >> PAGE_SHIFT;
	struct probe_site *sites = NULL;
	struct vm_area_struct *vma;
	int room = 0, n;

	for (;;) {
		n = 0;
		i_mmap_lock_read(mapping);
		vma_interval_tree_foreach(vma, &mapping->i_mmap, pgoff, pgoff) {
			if (!vma_can_carry_breakpoint(vma, adding))
				continue;
			if (n < room && mmget_not_zero(vma->vm_mm)) {
				sites[n].mm = vma->vm_mm;
				sites[n].vaddr = user_addr_of(vma, uprobe->offset);
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
	sites = collect_sites(uprobe, adding, &nr);
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

/**
 * uprobe_register - add a consumer to the probe at (@inode, @offset)
 * @inode: the file
 * @offset: the instruction's offset in it
 * @ref_ctr_offset: offset of the SDT semaphore in the file, 0 for none
 * @uc: the consumer; its handlers may run before this returns
 *
 * The breakpoint goes into every process that maps the file now and that @uc wants,
 * and into later ones as they map it.
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
	err = sweep_breakpoints(uprobe, uc, true);
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
	loff_t pos, end;
	struct inode *inode;
	struct uprobe *u;

	if (RB_EMPTY_ROOT(&uprobes_tree) || !vma->vm_file)
		return 0;
	inode = file_inode(vma->vm_file);
	apply_pending_ref_ctrs(vma);
	if (!vma_can_carry_breakpoint(vma, true))
		return 0;

	pos = file_offset_of(vma, vma->vm_start);
	end = pos + (vma->vm_end - vma->vm_start);
	while ((u = next_uprobe_in(inode, &pos, end))) {
		if (uprobe_wants(u, vma->vm_mm))
			install_breakpoint(u, vma, user_addr_of(vma, u->offset));
		uprobe_release(u);
	}
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
	 * the two sees the other's store. Pairs with the barrier there.
	 */
	smp_mb();
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
 * Nothing to do: breakpoints live in the mapping's pages and go with them, and no
 * per-mm record of them is kept.
 */
void uprobe_munmap(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
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

/* ------------------------------------------------------------------------------- */
/* The hit path: everything below runs in the probed task.                          */

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

/* By default every site stays a breakpoint. */
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

/* The current task's uprobes state, made at its first hit; NULL if out of memory. */
static struct uprobe_task *current_utask(void)
{
	struct task_struct *t = current;

	if (unlikely(!t->utask))
		t->utask = kzalloc(sizeof(*t->utask), GFP_KERNEL);
	return t->utask;
}

static void free_return_instance(struct return_instance *ri)
{
	uprobe_release(ri->uprobe);
	kfree(ri);
}

/* Forget the innermost pending return probe. */
static void pop_return_instance(struct uprobe_task *utask)
{
	struct return_instance *top = utask->return_instances;

	utask->depth--;
	/* NMI readers: see hijack_return(). */
	WRITE_ONCE(utask->return_instances, top->next);
	free_return_instance(top);
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
	ri = kmalloc(sizeof(*ri), GFP_KERNEL);
	if (!ri)
		return;
	/* The instance's reference; none if the probe is already on its way out. */
	if (!refcount_inc_not_zero(&uprobe->ref)) {
		kfree(ri);
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
	uprobe_release(uprobe);
	kfree(ri);
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
			free_return_instance(ri);
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
		remove_from_mm(uprobe, mm);
		mmap_write_unlock(mm);
	}
	up_read(&uprobe->register_rwsem);
}

/*
 * The consumers' handlers of one hit; the caller is inside uprobes_srcu. Return: true
 * if every handler asked for the breakpoint to leave this process. Then the return is
 * not taken over either: the consumers are done with this process.
 */
static bool run_handlers(struct uprobe *uprobe, struct pt_regs *regs)
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
	uprobe_opcode_t insn;
	unsigned long missed;
	int err;

	/* Usually mapped in: read it directly, and fault it in under mmap_lock if not. */
	pagefault_disable();
	missed = __copy_from_user_inatomic(&insn, (void __user *)vaddr, sizeof(insn));
	pagefault_enable();
	if (missed) {
		err = ubp_read(mm, vaddr, &insn, sizeof(insn));
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
	    !mm_may_have_breakpoints(mm))
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

/*
 * The probe behind the breakpoint at @bp_vaddr, found without a lock that others
 * share: the VMA's own read lock, and the lockless tree lookup. No reference: the
 * caller is inside uprobes_srcu. NULL when that does not settle it.
 */
static struct uprobe *find_uprobe_fast(unsigned long bp_vaddr)
{
	struct uprobe *uprobe = NULL;
	struct vm_area_struct *vma;
	struct inode *inode;
	loff_t offset;

	vma = lock_vma_under_rcu(current->mm, bp_vaddr);
	if (!vma)
		return NULL;
	if (vma_probe_key(vma, bp_vaddr, &inode, &offset))
		uprobe = find_uprobe_srcu(inode, offset);
	vma_end_read(vma);
	return uprobe;
}

/* The slow way, under mmap_lock, outside any SRCU section: the probe with a reference. */
static struct uprobe *find_uprobe_slow(unsigned long bp_vaddr)
{
	struct uprobe *uprobe = NULL;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct inode *inode;
	loff_t offset;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, bp_vaddr);
	if (vma && vma_probe_key(vma, bp_vaddr, &inode, &offset))
		uprobe = find_uprobe_locked(inode, offset);
	mmap_read_unlock(mm);
	return uprobe;
}

/* Start stepping the copied instruction in an XOL slot. */
static int start_step(struct uprobe *uprobe, unsigned long bp_vaddr, struct pt_regs *regs)
{
	struct uprobe_task *utask = current->utask;
	unsigned long slot;
	int err;

	err = ubp_xol_get_slot(current->mm, uprobe->arch.ixol, sizeof(uprobe->arch.ixol),
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
	down_read(&uprobe->register_rwsem);	/* lock order: see the top of this file */
	mmap_write_lock(mm);
	/* A probe retired meanwhile: the breakpoint there now may be a newer probe's. */
	if (uprobe_in_tree(uprobe) && !list_empty(&uprobe->consumers))
		remove_from_mm(uprobe, mm);
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
static bool hit_find(struct uprobe_hit *hit, unsigned long vaddr)
{
	hit->vaddr = vaddr;
	hit->held = NULL;
	/* Keeps a probe found without a reference; pairs with call_srcu() in uprobe_release(). */
	hit->srcu_idx = srcu_read_lock(&uprobes_srcu);
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
static bool hit_pin(struct uprobe_hit *hit)
{
	if (hit->held)
		return true;
	if (!refcount_inc_not_zero(&hit->uprobe->ref))
		return false;
	hit->held = hit->uprobe;
	return true;
}

/* Leave the hit's uprobes_srcu section; only a pinned probe may be used after. */
static void hit_leave(struct uprobe_hit *hit)
{
	srcu_read_unlock(&uprobes_srcu, hit->srcu_idx);
}

/* The hit is over: drop its reference, if it has one. */
static void hit_end(struct uprobe_hit *hit)
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
static bool hit_run_handlers(struct uprobe_hit *hit, struct pt_regs *regs, bool *remove)
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
static void hit_complete(struct uprobe_hit *hit, struct pt_regs *regs, bool remove,
			 bool optimize, bool done)
{
	if ((remove || optimize || !done) && !hit_pin(hit)) {
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
	struct uprobe_hit hit;

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
	struct uprobe_hit hit;

	if (bp_vaddr == uprobe_get_trampoline_vaddr()) {
		uprobe_handle_trampoline(regs);
		return;
	}
	if (!hit_find(&hit, bp_vaddr)) {
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
		if (done && !remove)
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

/**
 * uprobe_pre_sstep_notifier - a breakpoint trap in user mode: is it ours?
 * @regs: the task's registers
 *
 * Return: 1 when uprobes takes the trap (handled on the way out to user mode), 0 to
 * leave it to the usual SIGTRAP.
 */
int uprobe_pre_sstep_notifier(struct pt_regs *regs)
{
	struct mm_struct *mm = current->mm;

	bool returns_pending = current->utask && current->utask->return_instances;

	if (!mm || !(test_bit(MMF_HAS_UPROBES, &mm->flags) || returns_pending))
		return 0;
	/* The work needs a sleepable context: do it on the way out. */
	set_thread_flag(TIF_UPROBE);
	return 1;
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
