/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef _ASM_UPROBES_H
#define _ASM_UPROBES_H
/*
 * uprobes on x86: the breakpoint is int3, and each probed instruction is either
 * emulated or single-stepped out of line, as arch/x86/kernel/uprobes.c decides once,
 * when it analyzes the instruction.
 */

#include <linux/notifier.h>
#include <linux/types.h>

typedef u8 uprobe_opcode_t;

#define MAX_UINSN_BYTES			16
#define UPROBE_XOL_SLOT_BYTES		128	/* a cache line or two per slot */

#define UPROBE_SWBP_INSN		0xcc
#define UPROBE_SWBP_INSN_SIZE		1

struct uprobe_insn_ops;

/**
 * struct arch_uprobe - a probed instruction as analyzed
 * @insn: its bytes as in the file (perf's unwinder reads them)
 * @ixol: what runs in the XOL slot: @insn, RIP-relative operands rewritten
 * @ops: what to do at a hit, chosen by the analysis
 * @ilen: the instruction's length
 * @fixups: UPROBE_FIX_* work after a step
 * @scratch: pt_regs offset of the register standing in for RIP in @ixol
 * @target: branch displacement (emulated branches)
 * @cond: condition code of a jcc, or the kind of loop
 * @reg: pt_regs offset of a pushed register
 * @size: operand size of a push, or of a return address
 */
struct arch_uprobe {
	u8				insn[MAX_UINSN_BYTES];
	u8				ixol[MAX_UINSN_BYTES];
	const struct uprobe_insn_ops	*ops;
	u8				ilen;
	u8				fixups;
	u8				scratch;
	u8				cond;
	u8				reg;
	u8				size;
	s32				target;
};

/* Saved across one out-of-line step. */
struct arch_uprobe_task {
	unsigned long			saved_scratch;
	unsigned int			saved_trap_nr;
	bool				saved_tf;
};

#endif /* _ASM_UPROBES_H */
