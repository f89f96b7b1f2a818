/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef _ASM_UPROBES_H
#define _ASM_UPROBES_H
/*
 * uprobes on x86: the breakpoint is int3, and each probed instruction is either
 * emulated or single-stepped out of line, as arch/x86/kernel/uprobes/decode.c decides
 * once, when it analyzes the instruction.
 */

#include <linux/notifier.h>
#include <linux/types.h>

typedef u8 uprobe_opcode_t;

#define MAX_UINSN_BYTES			16
#define UPROBE_XOL_SLOT_BYTES		128	/* a cache line or two per slot */

#define UPROBE_SWBP_INSN		0xcc
#define UPROBE_SWBP_INSN_SIZE		1

struct uprobe_insn_ops;

/* No register in a field of struct arch_uprobe_rm. */
#define UPROBE_NO_REG			0xff

/* Bits in arch_uprobe_rm.flags. */
#define UPROBE_RM_REG			0x01	/* the operand is register @base itself */
#define UPROBE_RM_RIP			0x02	/* the address is relative to the next ip */
#define UPROBE_RM_ADDR32		0x04	/* the address wraps at 4 GiB */

/**
 * struct arch_uprobe_rm - the ModRM operand of an emulated instruction, decoded once
 * @disp: displacement
 * @base: pt_regs offset of the base register (or of the register operand itself),
 *	or UPROBE_NO_REG
 * @index: pt_regs offset of the index register, or UPROBE_NO_REG
 * @scale: the index is shifted left by this much
 * @seg: INAT_SEG_REG_FS or INAT_SEG_REG_GS for a segment with a base, else 0
 * @flags: UPROBE_RM_* bits
 */
struct arch_uprobe_rm {
	s32				disp;
	u8				base;
	u8				index;
	u8				scale;
	u8				seg;
	u8				flags;
};

/**
 * struct arch_uprobe_step - how the out-of-line step of an instruction is prepared
 * and finished
 * @fixups: UPROBE_FIX_* work after the step
 * @scratch: pt_regs offset of the register standing in for RIP in the slot's copy
 * @rep_string: a string instruction with a rep prefix, whose step traps after each
 *	round: it goes on stepping in the slot until it is done
 */
struct arch_uprobe_step {
	u8				fixups;
	u8				scratch;
	bool				rep_string;
};

/**
 * struct arch_uprobe_data - operands of an emulated move, arithmetic or lea
 * @rm: the ModRM operand
 * @imm: the immediate, sign-extended
 * @reg: pt_regs offset of the register operand (ModRM.reg, or the opcode's)
 * @size: operand size
 * @src_size: size of a move's source (differs when it extends)
 * @alu: the arithmetic operation (ALU_*)
 * @dst: where the result goes (OPND_*)
 * @src: where the (second) value comes from (OPND_*)
 * @sign_extend: the move sign-extends its source
 */
struct arch_uprobe_data {
	struct arch_uprobe_rm		rm;
	long				imm;
	u8				reg;
	u8				size;
	u8				src_size;
	u8				alu;
	u8				dst;
	u8				src;
	bool				sign_extend;
};

/**
 * struct arch_uprobe_stack - operands of an emulated push, pop, leave or ret
 * @imm: what push $imm pushes; what ret $n adds to the stack pointer
 * @reg: pt_regs offset of the register pushed or popped
 * @size: the stack word
 */
struct arch_uprobe_stack {
	long				imm;
	u8				reg;
	u8				size;
};

/**
 * struct arch_uprobe_branch - an emulated relative jmp, jcc, call or loop
 * @disp: the displacement from the next instruction (also what a call's step
 *	fix-up adds: UPROBE_FIX_BRANCH)
 * @cond: condition code of a jcc, or the kind of loop
 */
struct arch_uprobe_branch {
	s32				disp;
	u8				cond;
};

/**
 * struct arch_uprobe - a probed instruction as analyzed
 * @insn: its bytes as in the file (perf's unwinder reads them)
 * @ixol: what runs in the XOL slot: @insn, RIP-relative operands rewritten
 * @ops: its emulation, chosen by the analysis; NULL when it is always stepped
 * @step: how its step is prepared and finished, valid when @can_step
 * @data: operands, for @ops of moves, arithmetic and lea
 * @stack: operands, for @ops of pushes, pops, leave and ret
 * @branch: operands, for @ops of relative branches
 * @ilen: the instruction's length
 * @can_step: a step is prepared: every kind but the relative jumps, which cannot
 *	run from a slot. An emulation that cannot finish falls back to it.
 * @mode64: the analysis decoded the instruction as 64-bit code
 * @mem: the emulation reads or writes user memory (what a data breakpoint watches)
 * @nop5: the instruction is the 5-byte nop of a USDT site or a patchable function
 *	entry, in 64-bit code: a site that may become a jump to a stub
 */
struct arch_uprobe {
	u8				insn[MAX_UINSN_BYTES];
	u8				ixol[MAX_UINSN_BYTES];
	const struct uprobe_insn_ops	*ops;
	struct arch_uprobe_step		step;
	union {
		struct arch_uprobe_data		data;
		struct arch_uprobe_stack	stack;
		struct arch_uprobe_branch	branch;
	};
	u8				ilen;
	bool				can_step;
	bool				mode64;
	bool				mem;
	bool				nop5;
};

/*
 * Only a 5-byte nop's site may become a jump (arch_uprobe_optimizable(), opt.c), and
 * only in a kernel built with the stubs: without them every hit stays a breakpoint.
 */
static inline bool arch_uprobe_may_optimize(struct arch_uprobe *aup)
{
	return IS_ENABLED(CONFIG_X86_UPROBES_NOP5) && aup->nop5;
}
#define arch_uprobe_may_optimize arch_uprobe_may_optimize

/*
 * Saved across one out-of-line step; and, during one emulation, the DR_TRAPn bits of
 * the task's ptrace watchpoints its accesses hit (@watch_hits, while @watching).
 */
struct arch_uprobe_task {
	unsigned long			saved_scratch;
	unsigned long			saved_dr6;	/* the debugger's view of DR6 */
	unsigned long			watch_hits;
	unsigned int			saved_trap_nr;
	bool				saved_tf;
	bool				watching;
};

#endif /* _ASM_UPROBES_H */
