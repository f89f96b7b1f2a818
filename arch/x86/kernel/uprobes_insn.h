/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef _X86_KERNEL_UPROBES_INSN_H
#define _X86_KERNEL_UPROBES_INSN_H
/*
 * What the two halves of x86 uprobes share: uprobes.c (analysis, out-of-line steps,
 * the return trampoline, trap hooks) and uprobes_emulate.c (the instructions done in
 * the kernel at a hit, with no step).
 */

#include <linux/ptrace.h>
#include <linux/uprobes.h>

#include <asm/insn.h>
#include <asm/segment.h>

/**
 * struct uprobe_insn_ops - how one kind of instruction is handled at a hit
 * @emulate: do the instruction's work on @regs; false if it cannot (a fault in
 *	user memory, a shadow stack): then it is stepped, and faults as it would have.
 * @pre_xol: extra preparation before a step.
 * @post_xol: extra work after a step.
 * @abort: undo @pre_xol when the step is cut short.
 */
struct uprobe_insn_ops {
	bool (*emulate)(struct arch_uprobe *aup, struct pt_regs *regs);
	void (*pre_xol)(struct arch_uprobe *aup, struct pt_regs *regs);
	int (*post_xol)(struct arch_uprobe *aup, struct pt_regs *regs);
	void (*abort)(struct arch_uprobe *aup, struct pt_regs *regs);
};

/*
 * The out-of-line step, in uprobes.c. An emulated kind keeps it as its fallback: when
 * emulation cannot finish (a fault, a shadow stack, a task running in another mode
 * than the analysis decoded), the hit steps the instruction, prepared as any stepped
 * one (fix-ups, RIP-relative rewrite).
 */
void uprobe_step_pre_xol(struct arch_uprobe *aup, struct pt_regs *regs);
int uprobe_step_post_xol(struct arch_uprobe *aup, struct pt_regs *regs);
void uprobe_step_abort(struct arch_uprobe *aup, struct pt_regs *regs);

#define UPROBE_STEP_FALLBACK			\
	.pre_xol	= uprobe_step_pre_xol,	\
	.post_xol	= uprobe_step_post_xol,	\
	.abort		= uprobe_step_abort

/* pt_regs offsets of the general registers, by their number in instruction encodings. */
extern const u8 uprobe_gpr_offset[];

static inline unsigned long *reg_at(struct pt_regs *regs, u8 offset)
{
	return (void *)regs + offset;
}

static inline bool task_is_64bit(struct pt_regs *regs)
{
	return user_64bit_mode(regs);
}

/*
 * The data segment the task runs with. A 32-bit kernel loads its own on entry and
 * keeps the task's in pt_regs; a 64-bit kernel leaves a compat task's in ds.
 */
#ifdef CONFIG_X86_32
static inline unsigned short user_data_segment(struct pt_regs *regs)
{
	return regs->ds;
}
#else
static inline unsigned short user_data_segment(struct pt_regs *regs)
{
	unsigned short ds;

	savesegment(ds, ds);
	return ds;
}
#endif

/* Size of a stack slot (push, pop, return address) in the current task. */
static inline unsigned int stack_word(struct pt_regs *regs)
{
	return task_is_64bit(regs) ? 8 : 4;
}

/* Does @insn carry the legacy prefix @byte? */
static inline bool insn_has_prefix(struct insn *insn, insn_byte_t byte)
{
	insn_byte_t prefix;
	int i;

	for_each_insn_prefix(insn, i, prefix)
		if (prefix == byte)
			return true;
	return false;
}

void uprobe_watch_access(unsigned long addr, unsigned int size, bool write);
bool uprobe_choose_emulation(struct arch_uprobe *aup, struct insn *insn);
bool uprobe_insn_is_relative_branch(struct insn *insn);

#endif /* _X86_KERNEL_UPROBES_INSN_H */
