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
struct vm_area_struct;
struct xol_area;

/* What ubp_set_insn() found at the address before it wrote. */
enum ubp_write_result {
	UBP_WRITTEN,		/* the bytes were changed */
	UBP_ALREADY,		/* the address already held the new bytes */
};

int ubp_set_insn(struct vm_area_struct *vma, unsigned long vaddr, const void *expect,
		 const void *insn, unsigned int len);
int ubp_read(struct mm_struct *mm, unsigned long vaddr, void *buf, unsigned int len);
int ubp_add_to_user_short(struct mm_struct *mm, unsigned long vaddr, short delta);

struct xol_area *ubp_xol_area(struct mm_struct *mm);
struct xol_area *ubp_xol_area_at(struct mm_struct *mm, unsigned long vaddr);
unsigned long ubp_xol_base(struct mm_struct *mm);
unsigned long ubp_xol_get_slot(struct xol_area *area, const void *insn, unsigned int len);
void ubp_xol_put_slot(struct xol_area *area, unsigned long slot);
void ubp_xol_free(struct mm_struct *mm);

/* A stub page is cut into slots of this size; the arch supplies one slot's code. */
#define UBP_STUB_SLOT_BYTES	32

unsigned long ubp_stub_bind(struct mm_struct *mm, unsigned long site, unsigned long low,
			    unsigned long high, const u8 *code);
unsigned long ubp_stub_site(struct mm_struct *mm, unsigned long slot);
unsigned long ubp_stub_site_in(struct mm_struct *mm, unsigned long start, unsigned long end,
			       unsigned int *pos);
bool ubp_has_stubs(struct mm_struct *mm);
int ubp_stubs_dup(struct mm_struct *oldmm, struct mm_struct *newmm);
void ubp_stubs_free(struct mm_struct *mm);

#endif /* _LINUX_UBP_H */
