/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef _LINUX_UBP_H
#define _LINUX_UBP_H
/*
 * UBP, the user breakpoint layer: what uprobes needs from memory management.
 *
 *  - A breakpoint at a user address of one mm. The process gets a new private anonymous
 *    page with the breakpoint in it, in place of the page it ran, so the file and its
 *    page cache never change. Taking the last breakpoint out of a page that then equals
 *    the file's page again hands the process the file's page back.
 *  - The execute-out-of-line (XOL) area: one page per mm, mapped as the special VMA
 *    "[uprobes]", created on first use. Slot 0 holds the arch's return trampoline;
 *    the other slots hold copies of probed instructions that a task single-steps.
 *  - Stub pages: per-mm pages of identical stubs, mapped as "[uprobes-stubs]" near the
 *    probed text, that an arch may send an optimized probe site to (a jump, not a
 *    trap). Each slot is bound, for the mm's life, to the one site that jumps to it.
 *
 * UBP knows nothing of probes, files or consumers: kernel/events/uprobes.c does.
 */

#include <linux/types.h>

struct mm_struct;
struct page;
struct vm_area_struct;
struct xol_area;
struct ubp_stub_page;

/*
 * UBP's state in one mm, embedded in mm_struct (as mm->uprobes_state.ubp) and reached
 * only through the functions (and ubp_has_stubs()) below. All zero means nothing made
 * yet; fork copies mm_struct byte for byte, so kernel/fork.c zeroes it for the child.
 */
struct ubp_mm_state {
	struct xol_area		*xol_area;	/* the [uprobes] area, NULL until first use */
	struct ubp_stub_page	*stub_pages;	/* [uprobes-stubs] pages, newest first */
};

/* What a write into the text is for: it decides whether the file's page may come back. */
enum ubp_intent {
	UBP_INSERT,		/* the new bytes are not the file's (a breakpoint, a jump) */
	UBP_RESTORE,		/* the new bytes are the file's own again */
};

/* What ubp_set_insn() (each write of ubp_set_insns()) found at the address before it wrote. */
enum ubp_write_result {
	UBP_WRITTEN,		/* the bytes were changed */
	UBP_ALREADY,		/* the address already held the new bytes */
};

/**
 * struct ubp_write - one change of the text in a batch for ubp_set_insns()
 * @vaddr: where
 * @expect: the bytes that must be there for the change to be made
 * @insn: the new bytes
 * @len: length of both
 * @result: set by ubp_set_insns(): UBP_WRITTEN, UBP_ALREADY or -EBUSY
 */
struct ubp_write {
	unsigned long	vaddr;
	const void	*expect;
	const void	*insn;
	unsigned int	len;
	int		result;
};

int ubp_set_insns(struct vm_area_struct *vma, struct ubp_write *writes, unsigned int nr,
		  enum ubp_intent intent);
int ubp_set_insn(struct vm_area_struct *vma, unsigned long vaddr, const void *expect,
		 const void *insn, unsigned int len, enum ubp_intent intent);
int ubp_read(struct mm_struct *mm, unsigned long vaddr, void *buf, unsigned int len);
int ubp_add_to_user_short(struct mm_struct *mm, unsigned long vaddr, short delta);

unsigned long ubp_xol_map(struct mm_struct *mm);
bool ubp_xol_map_at(struct mm_struct *mm, unsigned long vaddr);
unsigned long ubp_xol_base(struct mm_struct *mm);
int ubp_xol_get_slot(struct mm_struct *mm, const void *insn, unsigned int len,
		     unsigned long *slot);
void ubp_xol_put_slot(struct mm_struct *mm, unsigned long slot);

/* A stub page is cut into slots of this size; the arch supplies one slot's code. */
#define UBP_STUB_SLOT_BYTES	32

unsigned long ubp_stub_bind(struct mm_struct *mm, unsigned long site, unsigned long low,
			    unsigned long high, const u8 *code);
unsigned long ubp_stub_site(struct mm_struct *mm, unsigned long slot);
unsigned long ubp_stub_site_in(struct mm_struct *mm, unsigned long start, unsigned long end,
			       unsigned int *pos);
/*
 * ubp_has_stubs(mm) - has @mm ever had a stub page (may any of its sites be
 * optimized)? A macro, since x86 asks on every breakpoint hit and struct mm_struct
 * is not defined here (mm_types.h includes this header).
 */
#define ubp_has_stubs(mm)	(READ_ONCE((mm)->uprobes_state.ubp.stub_pages) != NULL)
int ubp_stubs_dup(struct mm_struct *oldmm, struct mm_struct *newmm);

void ubp_mm_free(struct mm_struct *mm);

/*
 * What UBP needs from the arch (the names are the uprobes arch contract's; __weak
 * defaults in kernel/events/ubp.c): the instruction that makes a task return to the
 * kernel after a probed function returns, which UBP puts in slot 0 of every XOL area;
 * where to map the area; how to copy code into the area's page.
 */
void *arch_uprobe_trampoline(unsigned long *psize);
unsigned long arch_uprobe_get_xol_area(void);
void arch_uprobe_copy_ixol(struct page *page, unsigned long vaddr, void *src,
			   unsigned long len);

#endif /* _LINUX_UBP_H */
