/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef _ASM_POWERPC_UPROBES_H
#define _ASM_POWERPC_UPROBES_H
/*
 * uprobes on powerpc: the breakpoint is the unconditional trap word. A probed
 * instruction is one word, or two for an ISA 3.1 prefixed instruction; it is emulated
 * (arch/powerpc/lib/sstep.c) or single-stepped out of line with MSR_SE, as
 * arch/powerpc/kernel/uprobes.c decides once, when it analyzes the instruction.
 */

#include <linux/notifier.h>
#include <linux/types.h>
#include <asm/probes.h>

typedef u32 uprobe_opcode_t;

#define MAX_UINSN_BYTES			8
/* A slot holds the longest instruction; 8-byte slots never cross a 64-byte line. */
#define UPROBE_XOL_SLOT_BYTES		MAX_UINSN_BYTES

#define UPROBE_SWBP_INSN		BREAKPOINT_INSTRUCTION
#define UPROBE_SWBP_INSN_SIZE		4

/**
 * struct arch_uprobe - a probed instruction as analyzed
 * @insn: its words as in the file (a prefix and its suffix, or one word and the next)
 * @ixol: what an XOL slot runs: the instruction, then a trap if it is one word long;
 *	for an instruction only emulation gets right, a nop (see arch_uprobe_pre_xol())
 * @kind: UPROBE_PPC_* handling chosen by the analysis
 * @len: the instruction's length, 4 or 8
 * @partial_load: a load that may write registers before a later part of it faults
 *	(quadword, multiple): emulation saves the registers to undo a failed try
 */
struct arch_uprobe {
	u32				insn[MAX_UINSN_BYTES / 4];
	u32				ixol[MAX_UINSN_BYTES / 4];
	u8				kind;
	u8				len;
	bool				partial_load;
};

/* Saved across one out-of-line step. */
struct arch_uprobe_task {
	unsigned long			saved_trap_nr;
	unsigned long			saved_trace_bits;	/* the task's own MSR_SE, MSR_BE */
	unsigned long			resume_vaddr;	/* where to go on, if not after the insn */
};

#endif /* _ASM_POWERPC_UPROBES_H */
