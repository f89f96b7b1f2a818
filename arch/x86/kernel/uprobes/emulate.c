// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uprobes on x86: the instructions done in the kernel at a hit, with no out-of-line
 * step (the analysis, decode.c, chose which). A step costs a second trap and a slot;
 * most probed instructions (function entries above all) are moves, address
 * arithmetic, compares, stack adjustments, pushes and pops, branches and nops, whose
 * effect we reproduce exactly here.
 *
 * The analysis decodes each operand once (struct arch_uprobe_data and its kin in
 * asm/uprobes.h); a hit only computes an address and moves data. Exactness:
 *  - memory is read and written with one user access of the operand's size, as the
 *    CPU does; if the access faults we return false and the instruction is stepped,
 *    so that it faults with the program's own registers and signal;
 *  - arithmetic flags come from running the same operation natively on the same
 *    values (alu_native()), so even the architecturally undefined ones are what this
 *    CPU leaves; no other flag changes;
 *  - register writes follow the operand size: 32-bit writes clear the upper half,
 *    8- and 16-bit writes keep the rest;
 *  - what we cannot do exactly is stepped: lock and rep prefixes, the high-byte
 *    registers, adc and sbb, call and ret in a task with a shadow stack, misaligned
 *    accesses while alignment checking is on, a return to a non-canonical address,
 *    fs/gs in 32-bit tasks, a task running in another mode than the analysis decoded.
 * Every emulated kind but the relative jumps keeps the out-of-line step as its
 * fallback (arch_uprobe.can_step): the analysis prepares both.
 */

#include <linux/sched.h>
#include <linux/uaccess.h>

#include <asm/insn-eval.h>
#include <asm/shstk.h>

#include "common.h"

const u8 x86_uprobe_gpr_offset[] = {
	offsetof(struct pt_regs, ax), offsetof(struct pt_regs, cx),
	offsetof(struct pt_regs, dx), offsetof(struct pt_regs, bx),
	offsetof(struct pt_regs, sp), offsetof(struct pt_regs, bp),
	offsetof(struct pt_regs, si), offsetof(struct pt_regs, di),
#ifdef CONFIG_X86_64
	offsetof(struct pt_regs, r8), offsetof(struct pt_regs, r9),
	offsetof(struct pt_regs, r10), offsetof(struct pt_regs, r11),
	offsetof(struct pt_regs, r12), offsetof(struct pt_regs, r13),
	offsetof(struct pt_regs, r14), offsetof(struct pt_regs, r15),
#endif
};

#define ARITH_FLAGS	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
			 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)

/* With EFLAGS.AC (Linux sets CR0.AM), a misaligned user access raises #AC: step it. */
static __always_inline bool would_trap_unaligned(struct pt_regs *regs, unsigned long addr,
						 unsigned int size)
{
	return (regs->flags & X86_EFLAGS_AC) && (addr & (size - 1));
}

/* ---------------------------------------------------------------------------- */
/* Operands.                                                                    */

static unsigned long truncate_to(unsigned long val, unsigned int size)
{
	return size == 8 ? val : val & ((1UL << (size * 8)) - 1);
}

static unsigned long reg_read(struct pt_regs *regs, u8 offset, unsigned int size)
{
	return truncate_to(*reg_at(regs, offset), size);
}

/* A register write of @size bytes, with the effect the CPU gives the rest of it. */
static void reg_write(struct pt_regs *regs, u8 offset, unsigned int size, unsigned long val)
{
	unsigned long *reg = reg_at(regs, offset);

	if (size >= 4)
		*reg = truncate_to(val, size);	/* a 32-bit write zero-extends */
	else
		*reg = (*reg & ~truncate_to(~0UL, size)) | truncate_to(val, size);
}

/* One user access of the operand's size: aligned ones are single-copy atomic. */
static bool mem_read(struct pt_regs *regs, unsigned long addr, unsigned int size,
		     unsigned long *val)
{
	u8 v8;
	u16 v16;
	u32 v32;
	u64 v64;

	if (would_trap_unaligned(regs, addr, size))
		return false;
	switch (size) {
	case 1:
		if (get_user(v8, (u8 __user *)addr))
			return false;
		*val = v8;
		break;
	case 2:
		if (get_user(v16, (u16 __user *)addr))
			return false;
		*val = v16;
		break;
	case 4:
		if (get_user(v32, (u32 __user *)addr))
			return false;
		*val = v32;
		break;
	default:
		if (get_user(v64, (u64 __user *)addr))
			return false;
		*val = v64;
		break;
	}
	/* What the CPU would have checked against the debug registers; see core.c. */
	if (unlikely(current->utask->autask.watching))
		x86_uprobe_watch_access(addr, size, false);
	return true;
}

/* Inline with push_user(): each is on the hot path of every store and push emulated. */
static __always_inline bool mem_write(struct pt_regs *regs, unsigned long addr,
				      unsigned int size, unsigned long val)
{
	int err;

	if (would_trap_unaligned(regs, addr, size))
		return false;
	switch (size) {
	case 1:
		err = put_user((u8)val, (u8 __user *)addr);
		break;
	case 2:
		err = put_user((u16)val, (u16 __user *)addr);
		break;
	case 4:
		err = put_user((u32)val, (u32 __user *)addr);
		break;
	default:
		err = put_user((u64)val, (u64 __user *)addr);
		break;
	}
	if (err)
		return false;
	if (unlikely(current->utask->autask.watching))
		x86_uprobe_watch_access(addr, size, true);
	return true;
}

/* The address the ModRM operand names, before any segment base. */
static unsigned long rm_offset(struct arch_uprobe *aup, struct pt_regs *regs)
{
	const struct arch_uprobe_rm *rm = &aup->data.rm;
	unsigned long addr = (long)rm->disp;

	if (rm->flags & UPROBE_RM_RIP)
		addr += regs->ip + aup->ilen;
	if (rm->base != UPROBE_NO_REG)
		addr += *reg_at(regs, rm->base);
	if (rm->index != UPROBE_NO_REG)
		addr += *reg_at(regs, rm->index) << rm->scale;
	return rm->flags & UPROBE_RM_ADDR32 ? (u32)addr : addr;
}

/* The linear address of the ModRM memory operand; false if its segment has none. */
static bool rm_address(struct arch_uprobe *aup, struct pt_regs *regs, unsigned long *addr)
{
	unsigned long base;

	*addr = rm_offset(aup, regs);
	if (!aup->data.rm.seg)
		return true;
	base = insn_get_seg_base(regs, aup->data.rm.seg);
	if (base == -1UL)
		return false;
	*addr += base;
	if (!task_is_64bit(regs))
		*addr = (u32)*addr;
	return true;
}

static bool operand_read(struct arch_uprobe *aup, struct pt_regs *regs, u8 kind,
			 unsigned int size, unsigned long *val)
{
	unsigned long addr;

	switch (kind) {
	case OPND_REG:
		*val = reg_read(regs, aup->data.reg, size);
		return true;
	case OPND_IMM:
		*val = truncate_to(aup->data.imm, size);
		return true;
	}
	if (aup->data.rm.flags & UPROBE_RM_REG) {
		*val = reg_read(regs, aup->data.rm.base, size);
		return true;
	}
	return rm_address(aup, regs, &addr) && mem_read(regs, addr, size, val);
}

static bool operand_write(struct arch_uprobe *aup, struct pt_regs *regs, u8 kind,
			  unsigned int size, unsigned long val)
{
	unsigned long addr;

	if (kind == OPND_REG) {
		reg_write(regs, aup->data.reg, size, val);
		return true;
	}
	if (aup->data.rm.flags & UPROBE_RM_REG) {
		reg_write(regs, aup->data.rm.base, size, val);
		return true;
	}
	return rm_address(aup, regs, &addr) && mem_write(regs, addr, size, val);
}

/* ---------------------------------------------------------------------------- */
/* Arithmetic, with the flags of the real instruction.                          */

/*
 * Run "@mnem @s, @d" at one width on this CPU and capture the flags it leaves. The
 * operand modifier @m picks the register name of the width (%b, %w, %k, %q).
 */
#define ALU_NATIVE(mnem, m, d, s, fl)					\
	asm(mnem " %" m "[src], %" m "[dst]\n\t"			\
	    "pushf\n\t"							\
	    "pop %[flags]"						\
	    : [dst] "+q" (d), [flags] "=r" (fl)				\
	    : [src] "q" (s)						\
	    : "cc")

#ifdef CONFIG_X86_64
#define ALU_NATIVE_64(mnem, d, s, fl)	ALU_NATIVE(mnem "q", "q", d, s, fl)
#else
/* Never reached: only a 64-bit task has 8-byte operands (REX.W). */
#define ALU_NATIVE_64(mnem, d, s, fl)	ALU_NATIVE(mnem "l", "k", d, s, fl)
#endif

#define ALU_EACH_WIDTH(mnem, size, d, s, fl)				\
	do {								\
		switch (size) {						\
		case 1:							\
			ALU_NATIVE(mnem "b", "b", d, s, fl);		\
			break;						\
		case 2:							\
			ALU_NATIVE(mnem "w", "w", d, s, fl);		\
			break;						\
		case 4:							\
			ALU_NATIVE(mnem "l", "k", d, s, fl);		\
			break;						\
		default:						\
			ALU_NATIVE_64(mnem, d, s, fl);			\
			break;						\
		}							\
	} while (0)

/* @op on @d and @s at @size bytes: the result (@d for cmp and test), flags in @flags. */
static unsigned long alu_native(u8 op, unsigned int size, unsigned long d, unsigned long s,
				unsigned long *flags)
{
	unsigned long fl = 0;

	switch (op) {
	case ALU_ADD:
		ALU_EACH_WIDTH("add", size, d, s, fl);
		break;
	case ALU_OR:
		ALU_EACH_WIDTH("or", size, d, s, fl);
		break;
	case ALU_AND:
		ALU_EACH_WIDTH("and", size, d, s, fl);
		break;
	case ALU_SUB:
		ALU_EACH_WIDTH("sub", size, d, s, fl);
		break;
	case ALU_XOR:
		ALU_EACH_WIDTH("xor", size, d, s, fl);
		break;
	case ALU_CMP:
		ALU_EACH_WIDTH("cmp", size, d, s, fl);
		break;
	case ALU_TEST:
		ALU_EACH_WIDTH("test", size, d, s, fl);
		break;
	}
	*flags = fl;
	return d;
}

static bool alu_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	const struct arch_uprobe_data *op = &aup->data;
	unsigned long d, s, flags;

	if (!operand_read(aup, regs, op->dst, op->size, &d) ||
	    !operand_read(aup, regs, op->src, op->size, &s))
		return false;
	d = alu_native(op->alu, op->size, d, s, &flags);
	if (op->alu != ALU_CMP && op->alu != ALU_TEST &&
	    !operand_write(aup, regs, op->dst, op->size, d))
		return false;
	regs->flags = (regs->flags & ~ARITH_FLAGS) | (flags & ARITH_FLAGS);
	regs->ip += aup->ilen;
	return true;
}

/* ---------------------------------------------------------------------------- */
/* Moves.                                                                       */

/* mov, movzx, movsx, movsxd, and mov of an immediate. */
static bool mov_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	const struct arch_uprobe_data *op = &aup->data;
	unsigned long val;

	if (!operand_read(aup, regs, op->src, op->src_size, &val))
		return false;
	if (op->sign_extend)
		val = sign_extend64(val, op->src_size * 8 - 1);
	if (!operand_write(aup, regs, op->dst, op->size, val))
		return false;
	regs->ip += aup->ilen;
	return true;
}

/* lea: the address itself; no segment, no memory access, no flags. */
static bool lea_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	reg_write(regs, aup->data.reg, aup->data.size, rm_offset(aup, regs));
	regs->ip += aup->ilen;
	return true;
}

/* ---------------------------------------------------------------------------- */
/* The stack.                                                                   */

static __always_inline int push_user(struct pt_regs *regs, unsigned long val,
				     unsigned int size)
{
	unsigned long sp = regs->sp - size;

	if (!mem_write(regs, sp, size, val))
		return -EFAULT;
	regs->sp = sp;
	return 0;
}

static bool push_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (push_user(regs, *reg_at(regs, aup->stack.reg), aup->stack.size))
		return false;
	regs->ip += aup->ilen;
	return true;
}

/*
 * The same for 64-bit code, where a push is 8 bytes: the first instruction of most
 * function entries. With the size a constant, the store takes no switch on it.
 */
static bool push64_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (push_user(regs, *reg_at(regs, aup->stack.reg), 8))
		return false;
	regs->ip += aup->ilen;
	return true;
}

static bool push_imm_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (push_user(regs, aup->stack.imm, aup->stack.size))
		return false;
	regs->ip += aup->ilen;
	return true;
}

/* pushf: push the flags the program sees, not the TF of our own step. */
static bool pushf_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	unsigned long flags = regs->flags & ~(X86_EFLAGS_RF | X86_EFLAGS_VM);

	if (push_user(regs, flags, aup->stack.size))
		return false;
	regs->ip += aup->ilen;
	return true;
}

/* pop reg (never %rsp: the analysis steps that one). */
static bool pop_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	unsigned int size = aup->stack.size;
	unsigned long val;

	if (!mem_read(regs, regs->sp, size, &val))
		return false;
	regs->sp += size;
	reg_write(regs, aup->stack.reg, size, val);
	regs->ip += aup->ilen;
	return true;
}

/* leave: the stack pointer back to the frame pointer, then pop the frame pointer. */
static bool leave_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	unsigned int size = aup->stack.size;
	unsigned long frame = truncate_to(regs->bp, size), val;

	if (!mem_read(regs, frame, size, &val))
		return false;
	regs->sp = frame + size;
	reg_write(regs, offsetof(struct pt_regs, bp), size, val);
	regs->ip += aup->ilen;
	return true;
}

/*
 * ret and ret $n; a shadow stack would need its own pop, and a non-canonical target
 * faults at the ret itself: those are stepped.
 */
static bool ret_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	unsigned long dest;

	if (shstk_is_enabled() || !mem_read(regs, regs->sp, aup->stack.size, &dest))
		return false;
	if (dest >= TASK_SIZE_MAX)
		return false;
	regs->sp += aup->stack.size + aup->stack.imm;
	regs->ip = dest;
	return true;
}

/* ---------------------------------------------------------------------------- */
/* Branches and nops.                                                           */

static bool nop_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	regs->ip += aup->ilen;
	return true;
}

/* Is condition code @cc (the low nibble of a jcc opcode) true for @flags? */
static bool condition_holds(u8 cc, unsigned long flags)
{
	bool cf = flags & X86_EFLAGS_CF, zf = flags & X86_EFLAGS_ZF;
	bool sf = flags & X86_EFLAGS_SF, of = flags & X86_EFLAGS_OF;
	bool pf = flags & X86_EFLAGS_PF;
	bool holds;

	switch (cc >> 1) {
	case 0:
		holds = of;			/* jo */
		break;
	case 1:
		holds = cf;			/* jb */
		break;
	case 2:
		holds = zf;			/* je */
		break;
	case 3:
		holds = cf || zf;		/* jbe */
		break;
	case 4:
		holds = sf;			/* js */
		break;
	case 5:
		holds = pf;			/* jp */
		break;
	case 6:
		holds = sf != of;		/* jl */
		break;
	default:
		holds = zf || sf != of;		/* jle */
		break;
	}
	return (cc & 1) ? !holds : holds;	/* odd codes are the negations */
}

/* What a relative branch jumps to; 32-bit tasks wrap within 4 GiB. */
static unsigned long branch_target(struct arch_uprobe *aup, struct pt_regs *regs)
{
	unsigned long next = regs->ip + aup->ilen;
	unsigned long dest = next + aup->branch.disp;

	return task_is_64bit(regs) ? dest : (u32)dest;
}

static bool jmp_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	regs->ip = branch_target(aup, regs);
	return true;
}

static bool jcc_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (condition_holds(aup->branch.cond, regs->flags))
		regs->ip = branch_target(aup, regs);
	else
		regs->ip += aup->ilen;
	return true;
}

/* A shadow stack would need the return address too: such tasks step the call. */
static bool call_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (shstk_is_enabled() ||
	    push_user(regs, regs->ip + aup->ilen, stack_word(regs)))
		return false;
	regs->ip = branch_target(aup, regs);
	return true;
}

/* loopne, loope, loop (e0-e2) and jrcxz (e3); cond is the opcode's low bits. */
static bool loop_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	unsigned long count = regs->cx;
	bool jump;

	if (!task_is_64bit(regs))
		count = (u32)count;
	if (aup->branch.cond == 3) {
		jump = !count;
	} else {
		count--;
		if (task_is_64bit(regs))
			regs->cx = count;
		else
			regs->cx = (regs->cx & ~0xffffffffUL) | (u32)count;
		jump = count != 0;
		if (aup->branch.cond == 0)
			jump &= !(regs->flags & X86_EFLAGS_ZF);
		else if (aup->branch.cond == 1)
			jump &= !!(regs->flags & X86_EFLAGS_ZF);
	}
	if (jump)
		regs->ip = branch_target(aup, regs);
	else
		regs->ip += aup->ilen;
	return true;
}

/* What the analysis picks from, by kind; the kinds are named where they are declared. */
const struct uprobe_insn_ops x86_uprobe_emulations[X86_NR_EMULATIONS] = {
	[X86_EMUL_NOP]		= { "nop",	nop_emulate },
	[X86_EMUL_PUSH]		= { "push",	push_emulate },
	[X86_EMUL_PUSH64]	= { "push64",	push64_emulate },
	[X86_EMUL_PUSH_IMM]	= { "push_imm",	push_imm_emulate },
	[X86_EMUL_PUSHF]	= { "pushf",	pushf_emulate },
	[X86_EMUL_POP]		= { "pop",	pop_emulate },
	[X86_EMUL_LEAVE]	= { "leave",	leave_emulate },
	[X86_EMUL_RET]		= { "ret",	ret_emulate },
	[X86_EMUL_CALL]		= { "call",	call_emulate },
	[X86_EMUL_JMP]		= { "jmp",	jmp_emulate },
	[X86_EMUL_JCC]		= { "jcc",	jcc_emulate },
	[X86_EMUL_LOOP]		= { "loop",	loop_emulate },
	[X86_EMUL_ALU]		= { "alu",	alu_emulate },
	[X86_EMUL_MOV]		= { "mov",	mov_emulate },
	[X86_EMUL_LEA]		= { "lea",	lea_emulate },
};
