/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef _X86_KERNEL_UPROBES_COMMON_H
#define _X86_KERNEL_UPROBES_COMMON_H
/*
 * What the x86 uprobes objects of this directory share:
 *   decode.c   the analysis: decode a probed instruction once, refuse it, or choose
 *              its emulation and prepare its step (fix-ups, RIP-relative rewrite)
 *   emulate.c  the instructions done in the kernel at a hit
 *   core.c     the out-of-line step, data breakpoints, trap hooks, return probes
 *   opt.c      trap-free 5-byte nops (CONFIG_X86_UPROBES_NOP5)
 */

#include <linux/ptrace.h>
#include <linux/uprobes.h>

#include <asm/insn.h>
#include <asm/segment.h>

/**
 * struct uprobe_insn_ops - how one kind of instruction is emulated at a hit
 * @name: the kind, for the analysis's tests and for debugging
 * @emulate: do the instruction's work on @regs; false if it cannot (a fault in
 *	user memory, a shadow stack): then it is stepped (arch_uprobe.can_step), and
 *	faults as it would have.
 */
struct uprobe_insn_ops {
	const char *name;
	bool (*emulate)(struct arch_uprobe *aup, struct pt_regs *regs);
};

/* The emulated kinds, indexing x86_uprobe_emulations[]. */
enum x86_uprobe_emulation {
	X86_EMUL_NOP,
	X86_EMUL_PUSH,
	X86_EMUL_PUSH64,	/* PUSH of 8 bytes */
	X86_EMUL_PUSH_IMM,
	X86_EMUL_PUSHF,
	X86_EMUL_POP,
	X86_EMUL_LEAVE,
	X86_EMUL_RET,
	X86_EMUL_CALL,
	X86_EMUL_JMP,
	X86_EMUL_JCC,
	X86_EMUL_LOOP,
	X86_EMUL_ALU,
	X86_EMUL_MOV,
	X86_EMUL_LEA,
	X86_NR_EMULATIONS
};

extern const struct uprobe_insn_ops x86_uprobe_emulations[X86_NR_EMULATIONS];

/* Operand kinds of emulated moves and arithmetic (arch_uprobe_data.dst and .src). */
enum {
	OPND_REG,		/* the register at arch_uprobe_data.reg */
	OPND_RM,		/* the ModRM operand, arch_uprobe_data.rm */
	OPND_IMM,		/* arch_uprobe_data.imm */
};

/* Arithmetic operations; the first eight are numbered as the encodings number them. */
enum {
	ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
	ALU_TEST,
};

/* Bits in arch_uprobe_step.fixups: what a step leaves for post_xol to correct. */
#define UPROBE_FIX_IP		0x01	/* ip moved relative to the slot: move it home */
#define UPROBE_FIX_CALL		0x02	/* a call pushed a return address in the slot */
#define UPROBE_FIX_RIP		0x04	/* a scratch register stood in for RIP */
#define UPROBE_FIX_POPF		0x08	/* the instruction set TF itself: leave TF alone */
#define UPROBE_FIX_BRANCH	0x10	/* the slot's call targets its own next instruction */
#define UPROBE_FIX_PUSHF	0x20	/* the pushed flags hold our TF: take it out */

/* Length of the 5-byte nop (nopl 0x0(%rax,%rax,1)) of USDT sites; see opt.c. */
#define NOP5_LEN		5

/* pt_regs offsets of the general registers, by their number in instruction encodings. */
extern const u8 x86_uprobe_gpr_offset[];

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

/*
 * Read and write one stack slot of @size (stack_word()) at @sp: a return address
 * the kernel itself rewrites. get_user()/put_user() of the slot's type, not a
 * copy of @size bytes: the return probe's takeover runs on every probed call.
 */
static inline int stack_slot_read(unsigned long sp, unsigned int size, unsigned long *val)
{
	u32 low;
	int err;

	if (size == 8)
		return get_user(*val, (u64 __user *)sp);
	err = get_user(low, (u32 __user *)sp);
	*val = low;
	return err;
}

static inline int stack_slot_write(unsigned long sp, unsigned int size, unsigned long val)
{
	if (size == 8)
		return put_user((u64)val, (u64 __user *)sp);
	return put_user((u32)val, (u32 __user *)sp);
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

/* core.c: an emulated access, checked against the task's ptrace watchpoints. */
void x86_uprobe_watch_access(unsigned long addr, unsigned int size, bool write);

/* opt.c: is this system call a stub's (the uprobe call from a bound slot)? */
#ifdef CONFIG_X86_UPROBES_NOP5
bool x86_uprobe_syscall_from_stub(struct pt_regs *regs);
#else
static inline bool x86_uprobe_syscall_from_stub(struct pt_regs *regs)
{
	return false;
}
#endif

#endif /* _X86_KERNEL_UPROBES_COMMON_H */
