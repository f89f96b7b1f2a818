// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * UBP, the user breakpoint layer: breakpoints in one process's text, and the
 * execute-out-of-line area. See include/linux/ubp.h for the interface and
 * Documentation/trace/ubp.rst for the design.
 *
 * A breakpoint goes in, and comes out, by giving the process a new private anonymous
 * page with the change made and switching its page table entry over to it; the page
 * it ran before (the page cache's, or its previous copy) is never written. So the file
 * and the page cache never change, and no CPU fetches from a page while it changes.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/memcontrol.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/pagemap.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/ubp.h>
#include <linux/wait.h>
#include <asm/uprobes.h>

#define XOL_SLOTS	(PAGE_SIZE / UPROBE_XOL_SLOT_BYTES)

/* Most bytes one write of ubp_set_insns() changes: a breakpoint, or the rest of a jump. */
#define UBP_MAX_WRITE	16

/**
 * struct xol_area - the per-mm page that holds out-of-line instruction copies
 * @busy: slot i is in use; slot 0, the return trampoline, always is. Set and cleared
 *	with atomic bitops, so taking and giving back a slot needs no lock.
 * @waiters: tasks waiting for a free slot; woken by ubp_xol_put_slot().
 * @vaddr: where the page is mapped in the mm; fixed, the mapping refuses mremap.
 * @page: the page; the mm's page tables hold their own references to it.
 *
 * Lifetime: created on an mm's first need, published in the mm's ubp_mm_state and
 * freed with the mm (ubp_mm_free()).
 */
struct xol_area {
	DECLARE_BITMAP(busy, XOL_SLOTS);
	wait_queue_head_t		waiters;
	unsigned long			vaddr;
	struct page			*page;
};

/* The mm's UBP state; the field's name in mm_struct is the kernel's, its type ours. */
static struct ubp_mm_state *ubp_state(struct mm_struct *mm)
{
	return &mm->uprobes_state.ubp;
}

/* Map the address of an open mm onto the page that backs it, for reading or writing. */
static struct page *ubp_get_page(struct mm_struct *mm, unsigned long vaddr, bool write)
{
	unsigned int flags = FOLL_FORCE | (write ? FOLL_WRITE : 0);
	struct page *page;
	long got;

	mmap_assert_locked(mm);
	got = get_user_pages_remote(mm, vaddr, 1, flags, &page, NULL);
	if (got < 0)
		return ERR_PTR(got);
	if (got == 0)
		return ERR_PTR(-EFAULT);
	return page;
}

/**
 * ubp_read - copy bytes of another mm's memory
 * @mm: the mm, its mmap_lock held
 * @vaddr: where to read; the range must not cross a page
 * @buf: destination
 * @len: how many bytes
 *
 * Return: 0 or -errno.
 */
int ubp_read(struct mm_struct *mm, unsigned long vaddr, void *buf, unsigned int len)
{
	struct page *page = ubp_get_page(mm, vaddr, false);
	void *kaddr;

	if (IS_ERR(page))
		return PTR_ERR(page);
	kaddr = kmap_local_page(page);
	memcpy(buf, kaddr + offset_in_page(vaddr), len);
	kunmap_local(kaddr);
	put_page(page);
	return 0;
}

/*
 * After the last breakpoint of a page is gone, the process's copy may be byte for
 * byte the file's page again. Then the copy is not worth keeping: the process may as
 * well map the page cache page, shared with every other process, as before the probe.
 * Only where the program cannot have written the page itself (no VM_WRITE), and not
 * for locked memory, where dropping pages is not ours to do.
 */
static bool ubp_equals_file_page(struct vm_area_struct *vma, unsigned long vaddr,
				 struct folio *copy)
{
	pgoff_t index = linear_page_index(vma, vaddr);
	struct folio *folio;
	void *mine, *theirs;
	bool same = false;

	if (!vma->vm_file || (vma->vm_flags & (VM_WRITE | VM_LOCKED | VM_SHARED)))
		return false;
	folio = filemap_get_folio(vma->vm_file->f_mapping, index);
	if (IS_ERR(folio))
		return false;
	if (folio_test_uptodate(folio)) {
		mine = kmap_local_folio(copy, 0);
		theirs = kmap_local_folio(folio, (index - folio->index) * PAGE_SIZE);
		same = !memcmp(mine, theirs, PAGE_SIZE);
		kunmap_local(theirs);
		kunmap_local(mine);
	}
	folio_put(folio);
	return same;
}

/*
 * Put @copy where @old_page is mapped at @addr: @copy becomes an exclusive anonymous
 * page of the VMA, @old_page loses this mapping (and, if it was the page cache's page,
 * stays intact for everybody else).
 *
 * Why a new page rather than a write into the one the process runs: no CPU can be
 * fetching from a page nobody has mapped yet, so no CPU ever sees the instruction half
 * changed, and nothing that caches translations of code by physical page (an
 * emulator such as QEMU's TCG does) can keep using what was there before. The old page
 * leaves through a cleared and flushed PTE, which every CPU that may hold it in its
 * TLB acknowledges before the new one appears.
 *
 * Called with mmap_lock held for writing, so no page fault under mmap_lock can race;
 * a fault under the VMA lock that finds the PTE empty for a moment rechecks it under
 * the page table lock, which we hold from the check to the new PTE, and backs off.
 *
 * Return: 0, or -EAGAIN when @old_page is no longer mapped there (reclaim or
 * migration took it meanwhile; the caller looks again).
 */
static int ubp_switch_page(struct vm_area_struct *vma, unsigned long addr,
			   struct page *old_page, struct folio *copy)
{
	struct folio *old = page_folio(old_page);
	struct mm_struct *mm = vma->vm_mm;
	struct page_vma_mapped_walk pvmw = {
		.pfn		= page_to_pfn(old_page),
		.nr_pages	= 1,
		.vma		= vma,
		.address	= addr,
	};
	struct mmu_notifier_range range;
	int ret = -EAGAIN;

	/* folio_free_swap() needs the folio lock, a sleeping lock: take it before the PTL. */
	folio_lock(old);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr, addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);

	if (!page_vma_mapped_walk(&pvmw))
		goto out;
	/* A PMD mapping (the GUP split it, but check) or a non-present entry: not ours. */
	if (!pvmw.pte || !pte_present(ptep_get(pvmw.pte))) {
		page_vma_mapped_walk_done(&pvmw);
		goto out;
	}

	/* The PTL is held from here to page_vma_mapped_walk_done(). */
	flush_cache_page(vma, addr, page_to_pfn(old_page));
	ptep_clear_flush(vma, addr, pvmw.pte);

	folio_add_new_anon_rmap(copy, vma, addr, RMAP_EXCLUSIVE);
	folio_add_lru_vma(copy, vma);
	if (!folio_test_anon(old)) {
		/* The process traded a page cache page for a page of its own. */
		dec_mm_counter(mm, mm_counter_file(old));
		inc_mm_counter(mm, MM_ANONPAGES);
	}
	/* The PTE takes over the allocation's reference to @copy. */
	set_pte_at(mm, addr, pvmw.pte, mk_pte(&copy->page, vma->vm_page_prot));

	folio_remove_rmap_pte(old, old_page, vma);
	/* Our previous copy, now unmapped everywhere, needs no swap slot either. */
	if (!folio_mapped(old))
		folio_free_swap(old);
	page_vma_mapped_walk_done(&pvmw);
	/* The reference the old PTE held; the caller still holds its GUP reference. */
	folio_put(old);
	ret = 0;
out:
	mmu_notifier_invalidate_range_end(&range);
	folio_unlock(old);
	return ret;
}

/* Put the writes of a batch that are still to be made into @kaddr, the page at @addr. */
static void ubp_apply_writes(void *kaddr, unsigned long addr, const struct ubp_write *writes,
			     unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (writes[i].result == UBP_WRITTEN)
			memcpy(kaddr + (writes[i].vaddr - addr), writes[i].insn, writes[i].len);
}

/*
 * One attempt of ubp_set_insns(): build the page as it is to be, then switch to it,
 * or give the process the file's page back if that is what the page now is.
 */
static int ubp_rewrite_page(struct vm_area_struct *vma, unsigned long addr,
			    const struct ubp_write *writes, unsigned int nr,
			    enum ubp_intent intent)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *old_page;
	struct folio *copy;
	void *kaddr;
	int ret;

	/* Not FOLL_WRITE: no copy-on-write into a page we would throw away at once. */
	if (get_user_pages_remote(mm, addr, 1, FOLL_FORCE | FOLL_SPLIT_PMD,
				  &old_page, NULL) != 1)
		return -EFAULT;
	ret = -EFAULT;
	if (is_zero_page(old_page))
		goto put_old;

	ret = anon_vma_prepare(vma);
	if (ret)
		goto put_old;
	ret = -ENOMEM;
	copy = vma_alloc_folio(GFP_HIGHUSER_MOVABLE, 0, vma, addr, false);
	if (!copy)
		goto put_old;
	copy_user_highpage(&copy->page, old_page, addr, vma);
	kaddr = kmap_local_folio(copy, 0);
	ubp_apply_writes(kaddr, addr, writes, nr);
	kunmap_local(kaddr);
	/* Where caches alias, what we wrote must reach the page before anyone maps it. */
	flush_dcache_folio(copy);

	if (intent == UBP_RESTORE && folio_test_anon(page_folio(old_page)) &&
	    ubp_equals_file_page(vma, addr, copy)) {
		folio_put(copy);
		put_page(old_page);
		/* The next access maps the page cache page again. */
		zap_page_range_single(vma, addr, PAGE_SIZE, NULL);
		return 0;
	}

	__folio_mark_uptodate(copy);
	ret = mem_cgroup_charge(copy, mm, GFP_KERNEL);
	if (!ret)
		ret = ubp_switch_page(vma, addr, old_page, copy);
	if (ret)
		folio_put(copy);
put_old:
	put_page(old_page);
	return ret;
}

/*
 * Decide each write of a batch against what the page holds now: UBP_ALREADY, -EBUSY,
 * or UBP_WRITTEN for one still to be made. Return how many are to be made, or -errno
 * when the page cannot be read.
 */
static int ubp_check_writes(struct mm_struct *mm, unsigned long addr, struct ubp_write *writes,
			    unsigned int nr)
{
	struct page *page = ubp_get_page(mm, addr, false);
	unsigned int i, todo = 0;
	void *kaddr;

	if (IS_ERR(page))
		return PTR_ERR(page);
	kaddr = kmap_local_page(page);
	for (i = 0; i < nr; i++) {
		struct ubp_write *w = &writes[i];
		const void *now = kaddr + (w->vaddr - addr);

		if (!memcmp(now, w->insn, w->len)) {
			w->result = UBP_ALREADY;
		} else if (memcmp(now, w->expect, w->len)) {
			w->result = -EBUSY;
		} else {
			w->result = UBP_WRITTEN;
			todo++;
		}
	}
	kunmap_local(kaddr);
	put_page(page);
	return todo;
}

/**
 * ubp_set_insns - make several changes to the text of one page of one process at once
 * @vma: the private file mapping that holds the page; its mm's mmap_lock held for writing
 * @writes: the changes, each within the same page and none overlapping another;
 *	->result is set for each
 * @nr: how many, at least one
 * @intent: UBP_INSERT when the new bytes are ours (breakpoints, a jump), UBP_RESTORE
 *	when they are the file's original text coming back
 *
 * Each change has the bytes that must be there now (->expect) and the new ones
 * (->insn): inserting a breakpoint passes the original bytes and the breakpoint,
 * removing it the other way round. Every change found possible is made in one new
 * private page (see ubp_switch_page() for why a new one), so a batch costs one page
 * copy and one TLB flush however many changes it holds; when a restore leaves the page
 * equal to the file's page, the process gets the file's page back instead.
 *
 * Return: 0 with each ->result UBP_WRITTEN, UBP_ALREADY when the new bytes were there
 * already, or -EBUSY when the bytes were neither (someone else changed this text:
 * leave it alone); or -errno when the page could not be read or switched, and then
 * nothing was written and each ->result is that -errno.
 */
int ubp_set_insns(struct vm_area_struct *vma, struct ubp_write *writes, unsigned int nr,
		  enum ubp_intent intent)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long addr;
	unsigned int i, j;
	int tries = 0;
	int ret;

	mmap_assert_write_locked(mm);
	if (!nr)
		return 0;
	addr = writes[0].vaddr & PAGE_MASK;
	for (i = 0; i < nr; i++) {
		struct ubp_write *w = &writes[i];

		if (WARN_ON_ONCE(w->len > UBP_MAX_WRITE || (w->vaddr & PAGE_MASK) != addr ||
				 offset_in_page(w->vaddr) + w->len > PAGE_SIZE))
			return -EINVAL;
		/*
		 * Each write is checked against the page as it was: one overlapping
		 * another would be checked against bytes the other changes.
		 */
		for (j = 0; j < i; j++)
			if (WARN_ON_ONCE(w->vaddr < writes[j].vaddr + writes[j].len &&
					 writes[j].vaddr < w->vaddr + w->len))
				return -EINVAL;
	}

	/*
	 * mmap_lock held for writing keeps every other writer of this text (ptrace,
	 * another probe) out from this check to the switch below.
	 */
	ret = ubp_check_writes(mm, addr, writes, nr);
	if (!ret)
		return 0;	/* nothing to change */

	/* Reclaim or migration may move the page between our look and the switch. */
	while (ret > 0) {
		ret = ubp_rewrite_page(vma, addr, writes, nr, intent);
		if (ret != -EAGAIN || ++tries == 4)
			break;
	}
	for (i = 0; ret && i < nr; i++)
		writes[i].result = ret;
	return ret;
}

/**
 * ubp_set_insn - replace the bytes of one instruction in one process
 * @vma: the private file mapping that holds @vaddr; its mm's mmap_lock held for writing
 * @vaddr: the instruction's address
 * @expect: what must be there now for the write to happen (the bytes being replaced)
 * @insn: the new bytes
 * @len: length of both, within one page
 * @intent: as for ubp_set_insns()
 *
 * Return: UBP_WRITTEN, UBP_ALREADY when @insn is there already, -EBUSY when the bytes
 * are neither (someone else changed this text: leave it alone), or another -errno.
 */
int ubp_set_insn(struct vm_area_struct *vma, unsigned long vaddr, const void *expect,
		 const void *insn, unsigned int len, enum ubp_intent intent)
{
	struct ubp_write write = {
		.vaddr	= vaddr,
		.expect	= expect,
		.insn	= insn,
		.len	= len,
	};
	int ret = ubp_set_insns(vma, &write, 1, intent);

	return ret ? ret : write.result;
}

/**
 * ubp_add_to_user_short - add @delta to a short in an mm (an SDT semaphore)
 * @mm: the mm, mmap_lock held
 * @vaddr: the short's address
 * @delta: +1 or -1
 *
 * Return: 0, -ERANGE if the value would go below zero or overflow (left unchanged),
 * or another -errno.
 */
int ubp_add_to_user_short(struct mm_struct *mm, unsigned long vaddr, short delta)
{
	struct page *page;
	short *counter;
	int ret = 0;
	void *kaddr;

	if (!IS_ALIGNED(vaddr, sizeof(short)))
		return -EINVAL;
	page = ubp_get_page(mm, vaddr, true);
	if (IS_ERR(page))
		return PTR_ERR(page);
	kaddr = kmap_local_page(page);
	counter = kaddr + offset_in_page(vaddr);
	if ((delta < 0 && *counter <= 0) || (delta > 0 && *counter == SHRT_MAX))
		ret = -ERANGE;
	else
		*counter += delta;
	kunmap_local(kaddr);
	if (!ret)
		set_page_dirty_lock(page);
	put_page(page);
	return ret;
}

/*
 * The area does not move: tasks hold slot addresses and return addresses on user
 * stacks point at the trampoline in it.
 */
static int xol_mremap(const struct vm_special_mapping *sm, struct vm_area_struct *new_vma)
{
	return -EINVAL;
}

/* Map the mm's XOL page: faults come only while the mm, and so its area, lives. */
static vm_fault_t xol_fault(const struct vm_special_mapping *sm, struct vm_area_struct *vma,
			    struct vm_fault *vmf)
{
	struct xol_area *area = ubp_state(vma->vm_mm)->xol_area;
	struct page *page = area && !vmf->pgoff ? area->page : NULL;

	if (!page)
		return VM_FAULT_SIGBUS;
	get_page(page);		/* the page table's reference, dropped on unmap */
	vmf->page = page;
	return 0;
}

/*
 * One description for every mm's "[uprobes]": the mm code keeps a pointer to it in
 * each VMA until the VMA is gone, which is after ubp_mm_free() frees the area,
 * so it must not live in the area.
 */
static const struct vm_special_mapping xol_mapping = {
	.name	= "[uprobes]",
	.fault	= xol_fault,
	.mremap	= xol_mremap,
};

void __weak arch_uprobe_copy_ixol(struct page *page, unsigned long vaddr, void *src,
				  unsigned long len)
{
	void *kaddr = kmap_local_page(page);

	memcpy(kaddr + offset_in_page(vaddr), src, len);
	kunmap_local(kaddr);
	flush_dcache_page(page);
}

/* Without a trampoline of its own, an arch returns through a breakpoint in slot 0. */
void * __weak arch_uprobe_trampoline(unsigned long *psize)
{
	static uprobe_opcode_t bp = UPROBE_SWBP_INSN;

	*psize = UPROBE_SWBP_INSN_SIZE;
	return &bp;
}

unsigned long __weak arch_uprobe_get_xol_area(void)
{
	/* As high as the task's address space allows, out of the program's way. */
	return get_unmapped_area(NULL, TASK_SIZE - PAGE_SIZE, PAGE_SIZE, 0, 0);
}

static struct xol_area *xol_alloc(void)
{
	unsigned long tramp_len;
	struct xol_area *area;
	void *tramp;

	area = kzalloc(sizeof(*area), GFP_KERNEL);
	if (!area)
		return NULL;
	area->page = alloc_page(GFP_HIGHUSER | __GFP_ZERO);
	if (!area->page) {
		kfree(area);
		return NULL;
	}
	init_waitqueue_head(&area->waiters);

	tramp = arch_uprobe_trampoline(&tramp_len);
	if (WARN_ON_ONCE(tramp_len > UPROBE_XOL_SLOT_BYTES))
		tramp_len = 0;
	arch_uprobe_copy_ixol(area->page, 0, tramp, tramp_len);
	set_bit(0, area->busy);
	return area;
}

static void xol_destroy(struct xol_area *area)
{
	put_page(area->page);
	kfree(area);
}

/*
 * Map a new area into @mm, at @vaddr if nonzero, else where the arch likes. Returns
 * the area the mm ends up with (someone else's if another thread won the race).
 */
static struct xol_area *xol_install(struct mm_struct *mm, unsigned long vaddr)
{
	struct xol_area *area, *mine;
	struct vm_area_struct *vma;

	mine = xol_alloc();
	if (!mine)
		return NULL;
	if (mmap_write_lock_killable(mm)) {
		xol_destroy(mine);
		return NULL;
	}
	area = ubp_state(mm)->xol_area;
	if (area)
		goto out_unlock;

	if (!vaddr)
		vaddr = arch_uprobe_get_xol_area();
	if (IS_ERR_VALUE(vaddr))
		goto out_unlock;
	vma = _install_special_mapping(mm, vaddr, PAGE_SIZE,
				       VM_EXEC | VM_MAYEXEC | VM_DONTCOPY | VM_IO,
				       &xol_mapping);
	if (IS_ERR(vma))
		goto out_unlock;
	mine->vaddr = vaddr;
	area = mine;
	mine = NULL;
	/* Publish the initialised area; pairs with smp_load_acquire() in xol_area_of(). */
	smp_store_release(&ubp_state(mm)->xol_area, area);
out_unlock:
	mmap_write_unlock(mm);
	if (mine)
		xol_destroy(mine);
	return area;
}

/* The mm's area, or NULL before its first use. Any context. */
static struct xol_area *xol_area_of(struct mm_struct *mm)
{
	/* Pairs with smp_store_release() in xol_install(). */
	return smp_load_acquire(&ubp_state(mm)->xol_area);
}

/**
 * ubp_xol_map - map the XOL area of the current mm, if it has none yet
 * @mm: current->mm
 *
 * Return: the address of slot 0 (the return trampoline), or 0 if the area could not
 * be mapped.
 */
unsigned long ubp_xol_map(struct mm_struct *mm)
{
	struct xol_area *area = xol_area_of(mm) ?: xol_install(mm, 0);

	return area ? area->vaddr : 0;
}

/**
 * ubp_xol_map_at - map the XOL area at a given address (a forked child, whose return
 * addresses point into its parent's area)
 * @mm: current->mm
 * @vaddr: where
 *
 * Return: true if the mm's area is at @vaddr now.
 */
bool ubp_xol_map_at(struct mm_struct *mm, unsigned long vaddr)
{
	struct xol_area *area = xol_install(mm, vaddr);

	return area && area->vaddr == vaddr;
}

/**
 * ubp_xol_base - where the XOL area of @mm is, 0 if it has none
 * @mm: the mm
 *
 * Return: the address of slot 0, which holds the return trampoline.
 */
unsigned long ubp_xol_base(struct mm_struct *mm)
{
	struct xol_area *area = xol_area_of(mm);

	return area ? area->vaddr : 0;
}

/* Claim a free slot into @slot; false if every slot is busy. */
static bool xol_try_take(struct xol_area *area, unsigned int *slot)
{
	for (;;) {
		*slot = find_first_zero_bit(area->busy, XOL_SLOTS);
		if (*slot >= XOL_SLOTS)
			return false;
		if (!test_and_set_bit(*slot, area->busy))
			return true;
	}
}

/**
 * ubp_xol_get_slot - take a slot of the XOL area and copy an instruction into it
 * @mm: current->mm; its area is mapped on first use
 * @insn: the bytes to run out of line
 * @len: their length, at most UPROBE_XOL_SLOT_BYTES
 * @slot: set to the slot's user address
 *
 * Sleeps while every slot is busy (each is held only for one single-step).
 *
 * Return: 0, -ENOMEM if the area could not be mapped, -EINTR if a fatal signal came
 * while waiting.
 */
int ubp_xol_get_slot(struct mm_struct *mm, const void *insn, unsigned int len,
		     unsigned long *slot)
{
	struct xol_area *area = xol_area_of(mm) ?: xol_install(mm, 0);
	unsigned int i;

	if (!area)
		return -ENOMEM;
	if (wait_event_killable(area->waiters, xol_try_take(area, &i)))
		return -EINTR;
	*slot = area->vaddr + i * UPROBE_XOL_SLOT_BYTES;
	arch_uprobe_copy_ixol(area->page, *slot, (void *)insn, len);
	return 0;
}

/**
 * ubp_xol_put_slot - give back a slot taken with ubp_xol_get_slot()
 * @mm: the mm whose area the slot is in (the task's, until it has exited)
 * @vaddr: the slot's address
 */
void ubp_xol_put_slot(struct mm_struct *mm, unsigned long vaddr)
{
	struct xol_area *area = xol_area_of(mm);
	unsigned long slot;

	if (WARN_ON_ONCE(!area))
		return;
	slot = (vaddr - area->vaddr) / UPROBE_XOL_SLOT_BYTES;
	if (WARN_ON_ONCE(!slot || slot >= XOL_SLOTS))
		return;
	clear_bit(slot, area->busy);
	/*
	 * Order the cleared bit before the look at the queue; pairs with the barrier in
	 * set_current_state() in wait_event_killable(): a waiter either sees the free
	 * slot or is on the queue by the time we look.
	 */
	smp_mb__after_atomic();
	/* waitqueue_active() is safe here: the barrier above is the one it needs. */
	if (waitqueue_active(&area->waiters))
		wake_up(&area->waiters);
}

/* Free the XOL area of an mm that is going away. */
static void xol_free(struct mm_struct *mm)
{
	struct xol_area *area = ubp_state(mm)->xol_area;

	ubp_state(mm)->xol_area = NULL;
	if (area)
		xol_destroy(area);
}

/* ------------------------------------------------------------------------------- */
/* Stub pages                                                                       */

#define STUB_SLOTS	(PAGE_SIZE / UBP_STUB_SLOT_BYTES)
/* Pages one mm may get: they cost kernel memory, and a program can unmap them. */
#define STUB_PAGES_MAX	64

/**
 * struct ubp_stub_page - a page of stubs that optimized probe sites jump to
 * @next: the mm's next stub page. The list only grows while the mm lives (with the
 *	mmap_lock held for writing) and is freed with the mm, so the hit path walks it
 *	without a lock: the head is published with smp_store_release() after the
 *	page is complete, and read with smp_load_acquire(); @next never changes.
 * @vaddr: where the page is mapped; 0 once the program unmapped it, so that no
 *	lookup matches it again. Read locklessly (READ_ONCE), written under the
 *	mmap_lock held for writing.
 * @page: filled once when made and never written again, so a forked child shares
 *	it; each mm's copy of this struct holds a reference, page tables their own.
 * @nr_bound: slots bound so far. Raised with smp_store_release() after @site[] of
 *	the new slot is set; pairs with smp_load_acquire() in ubp_stub_site().
 * @site: @site[i] is the probed address whose jump leads to slot i. A binding is
 *	never undone while the mm lives: a thread may still be inside a slot after its
 *	site was restored, and must find its way back.
 */
struct ubp_stub_page {
	struct ubp_stub_page	*next;
	unsigned long		vaddr;
	struct page		*page;
	unsigned int		nr_bound;
	unsigned long		site[STUB_SLOTS];
};

/* The page that backs the mm's stub mapping at @vaddr, or NULL. Any context. */
static struct ubp_stub_page *stub_page_at(struct mm_struct *mm, unsigned long vaddr)
{
	/* Pairs with smp_store_release() in stub_page_new(). */
	struct ubp_stub_page *sp = smp_load_acquire(&ubp_state(mm)->stub_pages);

	for (; sp; sp = sp->next)
		if (READ_ONCE(sp->vaddr) == vaddr)
			return sp;
	return NULL;
}

/* Map the mm's own page: a forked child finds its copy of the parent's list here. */
static vm_fault_t stub_fault(const struct vm_special_mapping *sm, struct vm_area_struct *vma,
			     struct vm_fault *vmf)
{
	struct ubp_stub_page *sp = stub_page_at(vma->vm_mm, vma->vm_start);

	if (!sp || vmf->pgoff)
		return VM_FAULT_SIGBUS;
	get_page(sp->page);	/* the page table's reference, dropped on unmap */
	vmf->page = sp->page;
	return 0;
}

/* Sites jump to fixed addresses in the page: it must not move. */
static int stub_mremap(const struct vm_special_mapping *sm, struct vm_area_struct *new_vma)
{
	return -EINVAL;
}

/*
 * The program unmapped the page (munmap, or a MAP_FIXED mapping of its own over it):
 * it is no stub page any more, for lookups (ubp_stub_site(): a system call from
 * whatever the program maps there is not a stub's) and for new bindings. The sites
 * bound to it were turned back into breakpoints before it went (uprobe_unmap_range()).
 * Called with the mmap_lock held, for writing or (munmap, after it downgraded) reading;
 * ubp_stub_bind() holds it for writing, the lockless readers use READ_ONCE().
 */
static void stub_close(const struct vm_special_mapping *sm, struct vm_area_struct *vma)
{
	struct ubp_stub_page *sp = stub_page_at(vma->vm_mm, vma->vm_start);

	if (sp)
		WRITE_ONCE(sp->vaddr, 0);
}

/*
 * One description for every mm's stub pages, static for the reason given at
 * xol_mapping. Not copied-on-fork text: the VMA is copied without its page table
 * entries (it has no anon_vma), and the child's faults map its own list's page.
 */
static const struct vm_special_mapping stub_mapping = {
	.name	= "[uprobes-stubs]",
	.fault	= stub_fault,
	.mremap	= stub_mremap,
	.close	= stub_close,
};

/* Is @sp still mapped where it was made (the program may have unmapped it)? */
static bool stub_page_live(struct mm_struct *mm, struct ubp_stub_page *sp)
{
	struct vm_area_struct *vma = vma_lookup(mm, sp->vaddr);

	return vma && vma->vm_start == sp->vaddr && vma_is_special_mapping(vma, &stub_mapping);
}

/* Map a new stub page in [@low, @high), as close below @site as there is room. */
static struct ubp_stub_page *stub_page_new(struct mm_struct *mm, unsigned long site,
					   unsigned long low, unsigned long high,
					   const u8 *code)
{
	struct vm_unmapped_area_info info = {
		.flags		= VM_UNMAPPED_AREA_TOPDOWN,
		.length		= PAGE_SIZE,
		.low_limit	= low,
		.high_limit	= min(site & PAGE_MASK, high),
	};
	struct vm_area_struct *vma;
	struct ubp_stub_page *sp;
	unsigned long vaddr;
	unsigned int i;
	u8 *kaddr;

	/* Below the site first: above an executable is where its heap grows. */
	vaddr = vm_unmapped_area(&info);
	if (IS_ERR_VALUE(vaddr)) {
		info.flags = 0;
		info.low_limit = max(PAGE_ALIGN(site), low);
		info.high_limit = high;
		vaddr = vm_unmapped_area(&info);
	}
	if (IS_ERR_VALUE(vaddr))
		return NULL;

	sp = kzalloc(sizeof(*sp), GFP_KERNEL);
	if (!sp)
		return NULL;
	sp->page = alloc_page(GFP_HIGHUSER);
	if (!sp->page)
		goto err_free_sp;
	kaddr = kmap_local_page(sp->page);
	for (i = 0; i < STUB_SLOTS; i++)
		memcpy(kaddr + i * UBP_STUB_SLOT_BYTES, code, UBP_STUB_SLOT_BYTES);
	kunmap_local(kaddr);
	flush_dcache_page(sp->page);

	/* Read and run, never written: without VM_MAYWRITE not even FOLL_FORCE can. */
	vma = _install_special_mapping(mm, vaddr, PAGE_SIZE,
				       VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYEXEC,
				       &stub_mapping);
	if (IS_ERR(vma))
		goto err_put_page;
	sp->vaddr = vaddr;
	sp->next = ubp_state(mm)->stub_pages;
	/* Publish the complete page; pairs with smp_load_acquire() in stub_page_at(). */
	smp_store_release(&ubp_state(mm)->stub_pages, sp);
	return sp;

err_put_page:
	put_page(sp->page);
err_free_sp:
	kfree(sp);
	return NULL;
}

/* Bind the next free slot of @sp to @site; the caller checked there is one. */
static unsigned long stub_bind_slot(struct ubp_stub_page *sp, unsigned long site)
{
	unsigned int n = sp->nr_bound;

	sp->site[n] = site;
	/* The binding before the count that shows it; pairs with ubp_stub_site(). */
	smp_store_release(&sp->nr_bound, n + 1);
	return sp->vaddr + n * UBP_STUB_SLOT_BYTES;
}

/**
 * ubp_stub_bind - the stub slot that probe site @site of @mm is to jump to
 * @mm: the mm, its mmap_lock held for writing
 * @site: the probed address
 * @low: lowest address the slot's page may have
 * @high: end of the range the page must lie in
 * @code: one slot's code, UBP_STUB_SLOT_BYTES long, written into every slot of a
 *	new page (the arch's stubs are all alike: the slot tells the site apart)
 *
 * The slot bound to @site before is reused if its page is still mapped; else a free
 * slot of a page in range, else a new page is mapped in range.
 *
 * Return: the slot's address, or 0 if there is no room or memory.
 */
unsigned long ubp_stub_bind(struct mm_struct *mm, unsigned long site, unsigned long low,
			    unsigned long high, const u8 *code)
{
	struct ubp_stub_page *sp;
	unsigned int i, pages = 0;

	mmap_assert_write_locked(mm);
	for (sp = ubp_state(mm)->stub_pages; sp; sp = sp->next) {
		pages++;
		if (!sp->vaddr)
			continue;
		if (!stub_page_live(mm, sp)) {
			WRITE_ONCE(sp->vaddr, 0);
			continue;
		}
		for (i = 0; i < sp->nr_bound; i++)
			if (sp->site[i] == site)
				return sp->vaddr + i * UBP_STUB_SLOT_BYTES;
	}
	for (sp = ubp_state(mm)->stub_pages; sp; sp = sp->next)
		if (sp->vaddr && sp->nr_bound < STUB_SLOTS &&
		    sp->vaddr >= low && sp->vaddr + PAGE_SIZE <= high)
			return stub_bind_slot(sp, site);
	if (pages >= STUB_PAGES_MAX)
		return 0;
	sp = stub_page_new(mm, site, low, high, code);
	return sp ? stub_bind_slot(sp, site) : 0;
}

/**
 * ubp_stub_site - the probe site bound to a stub slot of @mm
 * @mm: the mm; no lock needed (see struct ubp_stub_page)
 * @slot: the slot's address
 *
 * Return: the site, or 0 if @slot is not a bound slot of a stub page of @mm.
 */
unsigned long ubp_stub_site(struct mm_struct *mm, unsigned long slot)
{
	/* Pairs with smp_store_release() in stub_page_new(). */
	struct ubp_stub_page *sp = smp_load_acquire(&ubp_state(mm)->stub_pages);

	for (; sp; sp = sp->next) {
		unsigned long base = READ_ONCE(sp->vaddr), off = slot - base;

		if (!base || off >= PAGE_SIZE)
			continue;
		if (off % UBP_STUB_SLOT_BYTES)
			return 0;
		off /= UBP_STUB_SLOT_BYTES;
		/* Pairs with smp_store_release() in stub_bind_slot(). */
		return off < smp_load_acquire(&sp->nr_bound) ? sp->site[off] : 0;
	}
	return 0;
}

/**
 * ubp_stub_site_in - the next site bound to a stub page of @mm in a range
 * @mm: the mm, its mmap_lock held for writing
 * @start: start of the range
 * @end: its end
 * @pos: where to go on from: 0 at first, then as this left it
 *
 * Walks the sites bound to the slots of the stub pages that lie in the range and are
 * still mapped.
 *
 * Return: the next such site, or 0 when there is none left.
 */
unsigned long ubp_stub_site_in(struct mm_struct *mm, unsigned long start, unsigned long end,
			       unsigned int *pos)
{
	struct ubp_stub_page *sp;
	unsigned int first = 0, i;

	mmap_assert_write_locked(mm);
	for (sp = ubp_state(mm)->stub_pages; sp; sp = sp->next, first += STUB_SLOTS) {
		if (*pos >= first + STUB_SLOTS || !sp->vaddr || sp->vaddr >= end ||
		    sp->vaddr + PAGE_SIZE <= start)
			continue;
		i = max(*pos, first) - first;
		if (i < sp->nr_bound) {
			*pos = first + i + 1;
			return sp->site[i];
		}
	}
	return 0;
}

/**
 * ubp_stubs_dup - give a forked child the parent's stub pages
 * @oldmm: the parent's mm, its mmap_lock held for writing (by fork)
 * @newmm: the child's, not running yet
 *
 * The child's text is a copy of the parent's, jumps to the stubs included, and its
 * stub VMAs are copies too: it needs the same pages and bindings. The pages are
 * shared (they never change); the bindings are copied, as the two mms go their ways.
 *
 * Return: 0, or -ENOMEM (the child then gets SIGBUS if it runs an optimized site).
 */
int ubp_stubs_dup(struct mm_struct *oldmm, struct mm_struct *newmm)
{
	struct ubp_stub_page **tail = &ubp_state(newmm)->stub_pages;
	struct ubp_stub_page *sp, *copy;

	mmap_assert_write_locked(oldmm);
	for (sp = ubp_state(oldmm)->stub_pages; sp; sp = sp->next) {
		if (!sp->vaddr)
			continue;	/* unmapped in the parent, so in the child */
		copy = kmemdup(sp, sizeof(*sp), GFP_KERNEL);
		if (!copy)
			return -ENOMEM;
		get_page(copy->page);	/* the child's list's own, put by stubs_free() */
		copy->next = NULL;
		/* No lock or barrier: nothing runs in @newmm yet. */
		*tail = copy;
		tail = &copy->next;
	}
	return 0;
}

/* Free the stub pages of an mm that is going away. */
static void stubs_free(struct mm_struct *mm)
{
	struct ubp_stub_page *sp = ubp_state(mm)->stub_pages, *next;

	ubp_state(mm)->stub_pages = NULL;
	for (; sp; sp = next) {
		next = sp->next;
		put_page(sp->page);	/* this mm's reference; a child may hold its own */
		kfree(sp);
	}
}

/**
 * ubp_mm_free - free what UBP made for an mm that is going away
 * @mm: the mm, no longer used by any task
 */
void ubp_mm_free(struct mm_struct *mm)
{
	xol_free(mm);
	stubs_free(mm);
}
