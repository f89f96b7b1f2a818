// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uprobes on x86: the instructions done in the kernel at a hit, with no out-of-line
 * step. A step costs a second trap and a slot; most probed instructions (function
 * entries above all) are moves, address arithmetic, compares, stack adjustments,
 * pushes and pops, branches and nops, whose effect we reproduce exactly here.
 *
 * The analysis decodes each operand once (struct arch_uprobe_rm, the sizes, the
 * immediate); a hit only computes an address and moves data. Exactness:
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
 * fallback (UPROBE_STEP_FALLBACK): the analysis prepares both.
 */

#include <linux/sched.h>
#include <linux/uaccess.h>

#include <asm/insn-eval.h>
#include <asm/shstk.h>

#include "uprobes_insn.h"

const u8 uprobe_gpr_offset[] = {
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

/* Operand kinds of emulated moves and arithmetic (arch_uprobe.dst and .src). */
enum {
	OPND_REG,		/* the register at arch_uprobe.reg */
	OPND_RM,		/* the ModRM operand, arch_uprobe.rm */
	OPND_IMM,		/* arch_uprobe.imm */
};

/* Arithmetic operations; the first eight are numbered as the encodings number them. */
enum {
	ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
	ALU_TEST,
};

#define ARITH_FLAGS	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
			 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)

/* With EFLAGS.AC (Linux sets CR0.AM), a misaligned user access raises #AC: step it. */
static bool would_trap_unaligned(struct pt_regs *regs, unsigned long addr, unsigned int size)
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
	/* What the CPU would have checked against the debug registers; see uprobes.c. */
	if (unlikely(current->utask->autask.watching))
		uprobe_watch_access(addr, size, false);
	return true;
}

static bool mem_write(struct pt_regs *regs, unsigned long addr, unsigned int size,
		      unsigned long val)
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
		uprobe_watch_access(addr, size, true);
	return true;
}

/* The address the ModRM operand names, before any segment base. */
static unsigned long rm_offset(struct arch_uprobe *aup, struct pt_regs *regs)
{
	const struct arch_uprobe_rm *rm = &aup->rm;
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
	if (!aup->rm.seg)
		return true;
	base = insn_get_seg_base(regs, aup->rm.seg);
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
		*val = reg_read(regs, aup->reg, size);
		return true;
	case OPND_IMM:
		*val = truncate_to(aup->imm, size);
		return true;
	}
	if (aup->rm.flags & UPROBE_RM_REG) {
		*val = reg_read(regs, aup->rm.base, size);
		return true;
	}
	return rm_address(aup, regs, &addr) && mem_read(regs, addr, size, val);
}

static bool operand_write(struct arch_uprobe *aup, struct pt_regs *regs, u8 kind,
			  unsigned int size, unsigned long val)
{
	unsigned long addr;

	if (kind == OPND_REG) {
		reg_write(regs, aup->reg, size, val);
		return true;
	}
	if (aup->rm.flags & UPROBE_RM_REG) {
		reg_write(regs, aup->rm.base, size, val);
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
	unsigned long d, s, flags;

	if (!operand_read(aup, regs, aup->dst, aup->size, &d) ||
	    !operand_read(aup, regs, aup->src, aup->size, &s))
		return false;
	d = alu_native(aup->alu, aup->size, d, s, &flags);
	if (aup->alu != ALU_CMP && aup->alu != ALU_TEST &&
	    !operand_write(aup, regs, aup->dst, aup->size, d))
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
	unsigned long val;

	if (!operand_read(aup, regs, aup->src, aup->src_size, &val))
		return false;
	if (aup->sign_extend)
		val = sign_extend64(val, aup->src_size * 8 - 1);
	if (!operand_write(aup, regs, aup->dst, aup->size, val))
		return false;
	regs->ip += aup->ilen;
	return true;
}

/* lea: the address itself; no segment, no memory access, no flags. */
static bool lea_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	reg_write(regs, aup->reg, aup->size, rm_offset(aup, regs));
	regs->ip += aup->ilen;
	return true;
}

/* ---------------------------------------------------------------------------- */
/* The stack.                                                                   */

static int push_user(struct pt_regs *regs, unsigned long val, unsigned int size)
{
	unsigned long sp = regs->sp - size;

	if (!mem_write(regs, sp, size, val))
		return -EFAULT;
	regs->sp = sp;
	return 0;
}

static bool push_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (push_user(regs, *reg_at(regs, aup->reg), aup->size))
		return false;
	regs->ip += aup->ilen;
	return true;
}

static bool push_imm_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (push_user(regs, aup->imm, aup->size))
		return false;
	regs->ip += aup->ilen;
	return true;
}

/* pushf: push the flags the program sees, not the TF of our own step. */
static bool pushf_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	unsigned long flags = regs->flags & ~(X86_EFLAGS_RF | X86_EFLAGS_VM);

	if (push_user(regs, flags, aup->size))
		return false;
	regs->ip += aup->ilen;
	return true;
}

/* pop reg (never %rsp: the analysis steps that one). */
static bool pop_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	unsigned long val;

	if (!mem_read(regs, regs->sp, aup->size, &val))
		return false;
	regs->sp += aup->size;
	reg_write(regs, aup->reg, aup->size, val);
	regs->ip += aup->ilen;
	return true;
}

/* leave: the stack pointer back to the frame pointer, then pop the frame pointer. */
static bool leave_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	unsigned long frame = truncate_to(regs->bp, aup->size), val;

	if (!mem_read(regs, frame, aup->size, &val))
		return false;
	regs->sp = frame + aup->size;
	reg_write(regs, offsetof(struct pt_regs, bp), aup->size, val);
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

	if (shstk_is_enabled() || !mem_read(regs, regs->sp, aup->size, &dest))
		return false;
	if (dest >= TASK_SIZE_MAX)
		return false;
	regs->sp += aup->size + aup->imm;
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
	unsigned long dest = next + aup->target;

	return task_is_64bit(regs) ? dest : (u32)dest;
}

static bool jmp_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	regs->ip = branch_target(aup, regs);
	return true;
}

static bool jcc_emulate(struct arch_uprobe *aup, struct pt_regs *regs)
{
	if (condition_holds(aup->cond, regs->flags))
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
	if (aup->cond == 3) {
		jump = !count;
	} else {
		count--;
		if (task_is_64bit(regs))
			regs->cx = count;
		else
			regs->cx = (regs->cx & ~0xffffffffUL) | (u32)count;
		jump = count != 0;
		if (aup->cond == 0)
			jump &= !(regs->flags & X86_EFLAGS_ZF);
		else if (aup->cond == 1)
			jump &= !!(regs->flags & X86_EFLAGS_ZF);
	}
	if (jump)
		regs->ip = branch_target(aup, regs);
	else
		regs->ip += aup->ilen;
	return true;
}

/* Relative jumps always finish, and cannot be stepped from a slot: no fallback. */
static const struct uprobe_insn_ops jmp_ops = { .emulate = jmp_emulate };
static const struct uprobe_insn_ops jcc_ops = { .emulate = jcc_emulate };
static const struct uprobe_insn_ops loop_ops = { .emulate = loop_emulate };

#define EMULATED_OPS(name, fn)						\
	static const struct uprobe_insn_ops name = {			\
		.emulate = fn,						\
		UPROBE_STEP_FALLBACK					\
	}

EMULATED_OPS(nop_ops, nop_emulate);
EMULATED_OPS(push_ops, push_emulate);
EMULATED_OPS(push_imm_ops, push_imm_emulate);
EMULATED_OPS(pushf_ops, pushf_emulate);
EMULATED_OPS(pop_ops, pop_emulate);
EMULATED_OPS(leave_ops, leave_emulate);
EMULATED_OPS(ret_ops, ret_emulate);
EMULATED_OPS(call_ops, call_emulate);
EMULATED_OPS(alu_ops, alu_emulate);
EMULATED_OPS(mov_ops, mov_emulate);
EMULATED_OPS(lea_ops, lea_emulate);

/* ---------------------------------------------------------------------------- */
/* Analysis: which kind, and its operands decoded once.                          */

static u8 rex_of(struct insn *insn)
{
	return insn->rex_prefix.nbytes == 1 ? insn->rex_prefix.bytes[0] : 0;
}

/*
 * Is it a nop that touches nothing, so that moving ip on is all there is to it? Not
 * with a lock prefix: that one raises #UD, which the step will show.
 */
static bool insn_is_plain_nop(struct insn *insn)
{
	u8 op = insn->opcode.bytes[0], op2 = insn->opcode.bytes[1];
	u8 modrm = insn->modrm.bytes[0];

	if (insn_has_prefix(insn, 0xf0))
		return false;
	if (insn->opcode.nbytes == 1 && op == 0x90)	/* nop, pause; not xchg %r8,%rax */
		return !insn->rex_prefix.nbytes || !X86_REX_B(insn->rex_prefix.bytes[0]);
	if (insn->opcode.nbytes == 2 && op == 0x0f) {
		if (op2 == 0x1f && X86_MODRM_REG(modrm) == 0)	/* nopw/nopl m */
			return true;
		/* endbr64, endbr32: nops while user IBT is not enabled */
		if (op2 == 0x1e && insn_has_prefix(insn, 0xf3) &&
		    (modrm == 0xfa || modrm == 0xfb))
			return true;
	}
	return false;
}

/*
 * Can the prefixes of a move or arithmetic instruction be honoured here? Operand and
 * address size are. In 64-bit tasks, fs and gs overrides add their base and the
 * others mean nothing; in a 32-bit task any override could name a segment with a
 * base or a limit. Two overrides are odd enough to leave to the CPU. Lock and rep
 * prefixes (but a rep on ret, which does nothing) make us step.
 */
static bool prefixes_emulable(struct arch_uprobe *aup, struct insn *insn, bool rep_ok)
{
	insn_byte_t prefix;
	int i, overrides = 0;

	aup->rm.seg = 0;
	for_each_insn_prefix(insn, i, prefix) {
		switch (prefix) {
		case 0x66: case 0x67:
			break;
		case 0x64: case 0x65:
			/* A 32-bit task's fs and gs have limits we do not check. */
			if (!insn->x86_64 || overrides++)
				return false;
			aup->rm.seg = prefix == 0x64 ? INAT_SEG_REG_FS : INAT_SEG_REG_GS;
			break;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			if (!insn->x86_64 || overrides++)
				return false;
			break;
		case 0xf2: case 0xf3:
			if (!rep_ok)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

/*
 * The register number @nr (0-7, extended by @rex_bit) as a @size operand; false for
 * the high-byte registers ah, ch, dh and bh, which we do not emulate.
 */
static bool pick_reg(struct insn *insn, u8 nr, bool rex_bit, unsigned int size, u8 *offset)
{
	if (size == 1 && !insn->rex_prefix.nbytes && nr >= 4)
		return false;
	*offset = uprobe_gpr_offset[nr + (rex_bit ? 8 : 0)];
	return true;
}

/* Decode the ModRM operand into aup->rm; @size is its size when it is a register. */
static bool decode_rm(struct arch_uprobe *aup, struct insn *insn, unsigned int size)
{
	struct arch_uprobe_rm *rm = &aup->rm;
	u8 modrm = insn->modrm.bytes[0], rex = rex_of(insn);
	u8 mod = X86_MODRM_MOD(modrm), nr = X86_MODRM_RM(modrm);

	rm->disp = insn->displacement.value;
	rm->base = UPROBE_NO_REG;
	rm->index = UPROBE_NO_REG;
	rm->scale = 0;
	rm->flags = 0;
	if (mod == 3) {
		rm->flags = UPROBE_RM_REG;
		rm->seg = 0;
		return pick_reg(insn, nr, X86_REX_B(rex), size, &rm->base);
	}
	if (insn->addr_bytes == 2)
		return false;			/* 16-bit addressing */
	if (insn->addr_bytes == 4)
		rm->flags |= UPROBE_RM_ADDR32;
	if (nr == 4) {
		u8 sib = insn->sib.bytes[0];
		u8 index = X86_SIB_INDEX(sib) + (X86_REX_X(rex) ? 8 : 0);
		u8 base = X86_SIB_BASE(sib);

		if (index != 4) {		/* 4 without REX.X: no index */
			rm->index = uprobe_gpr_offset[index];
			rm->scale = X86_SIB_SCALE(sib);
		}
		if (mod != 0 || base != 5)	/* mod 0, base 5: disp32, no base */
			rm->base = uprobe_gpr_offset[base + (X86_REX_B(rex) ? 8 : 0)];
	} else if (mod == 0 && nr == 5) {
		if (insn->x86_64)
			rm->flags |= UPROBE_RM_RIP;	/* else an absolute disp32 */
	} else {
		rm->base = uprobe_gpr_offset[nr + (X86_REX_B(rex) ? 8 : 0)];
	}
	return true;
}

/* The ModRM.reg register as a @size operand into aup->reg. */
static bool decode_modrm_reg(struct arch_uprobe *aup, struct insn *insn, unsigned int size)
{
	return pick_reg(insn, X86_MODRM_REG(insn->modrm.bytes[0]),
			X86_REX_R(rex_of(insn)), size, &aup->reg);
}

static long insn_imm(struct insn *insn)
{
	if (insn->immediate2.nbytes)		/* mov $imm64, %reg */
		return (u32)insn->immediate1.value | (u64)insn->immediate2.value << 32;
	return insn->immediate.value;		/* sign-extended by the decoder */
}

/* An arithmetic instruction: @alu of @dst and @src at @size. */
static bool choose_alu(struct arch_uprobe *aup, struct insn *insn, u8 alu, u8 dst, u8 src,
		       unsigned int size)
{
	if (alu == ALU_ADC || alu == ALU_SBB)
		return false;			/* need the carry in: rare, stepped */
	if ((dst == OPND_RM || src == OPND_RM) && !decode_rm(aup, insn, size))
		return false;
	if ((dst == OPND_REG || src == OPND_REG) && !decode_modrm_reg(aup, insn, size))
		return false;
	aup->alu = alu;
	aup->dst = dst;
	aup->src = src;
	aup->size = size;
	aup->imm = insn_imm(insn);
	aup->ops = &alu_ops;
	return true;
}

/* A move of @src_size bytes from @src to @size bytes of @dst, extended if they differ. */
static bool choose_mov(struct arch_uprobe *aup, struct insn *insn, u8 dst, u8 src,
		       unsigned int size, unsigned int src_size, bool sign)
{
	if (dst == OPND_RM && !decode_rm(aup, insn, size))
		return false;
	if (src == OPND_RM && !decode_rm(aup, insn, src_size))
		return false;
	if (dst == OPND_REG && !decode_modrm_reg(aup, insn, size))
		return false;
	if (src == OPND_REG && !decode_modrm_reg(aup, insn, src_size))
		return false;
	aup->dst = dst;
	aup->src = src;
	aup->size = size;
	aup->src_size = src_size;
	aup->sign_extend = sign;
	aup->imm = insn_imm(insn);
	aup->ops = &mov_ops;
	return true;
}

/* Moves and arithmetic with one-byte opcodes. */
static bool choose_data_insn(struct arch_uprobe *aup, struct insn *insn)
{
	u8 op = insn->opcode.bytes[0], modrm = insn->modrm.bytes[0];
	unsigned int size = insn->opnd_bytes, byte = 1;
	u8 alu = op >> 3, reg = X86_MODRM_REG(modrm);
	u8 rex = rex_of(insn);

	switch (op) {
	case 0x00: case 0x08: case 0x20: case 0x28: case 0x30: case 0x38:
		return choose_alu(aup, insn, alu, OPND_RM, OPND_REG, byte);
	case 0x01: case 0x09: case 0x21: case 0x29: case 0x31: case 0x39:
		return choose_alu(aup, insn, alu, OPND_RM, OPND_REG, size);
	case 0x02: case 0x0a: case 0x22: case 0x2a: case 0x32: case 0x3a:
		return choose_alu(aup, insn, alu, OPND_REG, OPND_RM, byte);
	case 0x03: case 0x0b: case 0x23: case 0x2b: case 0x33: case 0x3b:
		return choose_alu(aup, insn, alu, OPND_REG, OPND_RM, size);
	case 0x04: case 0x0c: case 0x24: case 0x2c: case 0x34: case 0x3c:
	case 0x05: case 0x0d: case 0x25: case 0x2d: case 0x35: case 0x3d:
	case 0xa8: case 0xa9:			/* the accumulator and an immediate */
		if (op >= 0xa8)
			alu = ALU_TEST;
		if (!(op & 1))
			size = byte;
		aup->reg = uprobe_gpr_offset[0];
		aup->alu = alu;
		aup->dst = OPND_REG;
		aup->src = OPND_IMM;
		aup->size = size;
		aup->imm = insn_imm(insn);
		aup->ops = &alu_ops;
		return true;
	case 0x80:
		return choose_alu(aup, insn, reg, OPND_RM, OPND_IMM, byte);
	case 0x81: case 0x83:
		return choose_alu(aup, insn, reg, OPND_RM, OPND_IMM, size);
	case 0x84:
		return choose_alu(aup, insn, ALU_TEST, OPND_RM, OPND_REG, byte);
	case 0x85:
		return choose_alu(aup, insn, ALU_TEST, OPND_RM, OPND_REG, size);
	case 0xf6: case 0xf7:			/* test r/m, imm is /0 of group 3 */
		if (reg != 0)
			return false;
		return choose_alu(aup, insn, ALU_TEST, OPND_RM, OPND_IMM,
				  op == 0xf6 ? byte : size);
	case 0x88:
		return choose_mov(aup, insn, OPND_RM, OPND_REG, byte, byte, false);
	case 0x89:
		return choose_mov(aup, insn, OPND_RM, OPND_REG, size, size, false);
	case 0x8a:
		return choose_mov(aup, insn, OPND_REG, OPND_RM, byte, byte, false);
	case 0x8b:
		return choose_mov(aup, insn, OPND_REG, OPND_RM, size, size, false);
	case 0xc6: case 0xc7:			/* mov $imm, r/m is /0 */
		if (reg != 0)
			return false;
		size = op == 0xc6 ? byte : size;
		return choose_mov(aup, insn, OPND_RM, OPND_IMM, size, size, false);
	case 0x63:				/* movsxd; arpl in 32-bit mode */
		if (!insn->x86_64 || size == 2)
			return false;
		return choose_mov(aup, insn, OPND_REG, OPND_RM, size, 4, true);
	case 0x8d:				/* lea */
		if (X86_MODRM_MOD(modrm) == 3 || !decode_rm(aup, insn, size) ||
		    !decode_modrm_reg(aup, insn, size))
			return false;
		aup->size = size;
		aup->ops = &lea_ops;
		return true;
	case 0xb0 ... 0xb7:			/* mov $imm8, %r8 */
	case 0xb8 ... 0xbf:			/* mov $imm, %reg */
		size = op < 0xb8 ? byte : size;
		if (!pick_reg(insn, op & 7, X86_REX_B(rex), size, &aup->reg))
			return false;
		aup->dst = OPND_REG;
		aup->src = OPND_IMM;
		aup->size = size;
		aup->src_size = size;
		aup->sign_extend = false;
		aup->imm = insn_imm(insn);
		aup->ops = &mov_ops;
		return true;
	}
	return false;
}

/* movzx and movsx (0f b6, b7, be, bf). */
static bool choose_extending_mov(struct arch_uprobe *aup, struct insn *insn)
{
	u8 op2 = insn->opcode.bytes[1];
	unsigned int src_size = op2 & 1 ? 2 : 1;

	if (op2 != 0xb6 && op2 != 0xb7 && op2 != 0xbe && op2 != 0xbf)
		return false;
	return choose_mov(aup, insn, OPND_REG, OPND_RM, insn->opnd_bytes, src_size,
			  op2 >= 0xbe);
}

/* Stack instructions: push and pop of registers and immediates, leave, ret. */
static bool choose_stack_insn(struct arch_uprobe *aup, struct insn *insn)
{
	u8 op = insn->opcode.bytes[0];
	bool rex_b = X86_REX_B(rex_of(insn));

	/* Pushes, pops and returns of 16 bits are rare and odd: stepped. */
	if (insn_has_prefix(insn, 0x66))
		return false;
	aup->size = insn->x86_64 ? 8 : 4;
	switch (op) {
	case 0x50 ... 0x57:			/* push reg */
		aup->reg = uprobe_gpr_offset[(op & 7) + (rex_b ? 8 : 0)];
		aup->ops = &push_ops;
		return true;
	case 0x58 ... 0x5f:			/* pop reg; pop %rsp is stepped */
		if (op == 0x5c && !rex_b)
			return false;
		aup->reg = uprobe_gpr_offset[(op & 7) + (rex_b ? 8 : 0)];
		aup->ops = &pop_ops;
		return true;
	case 0x68: case 0x6a:			/* push $imm, sign-extended */
		aup->imm = insn_imm(insn);
		aup->ops = &push_imm_ops;
		return true;
	case 0x9c:				/* pushf */
		aup->ops = &pushf_ops;
		return true;
	case 0xc9:				/* leave */
		aup->ops = &leave_ops;
		return true;
	case 0xc2: case 0xc3:			/* ret $n, ret */
		aup->imm = op == 0xc2 ? (u16)insn->immediate.value : 0;
		aup->ops = &ret_ops;
		return true;
	}
	return false;
}

/* Relative branches: jmp, jcc, call, loop and jrcxz. */
static bool choose_branch(struct arch_uprobe *aup, struct insn *insn)
{
	u8 op = insn->opcode.bytes[0], op2 = insn->opcode.bytes[1];

	aup->target = insn->immediate.value;
	if (insn->opcode.nbytes == 2) {
		if (op != 0x0f || op2 < 0x80 || op2 > 0x8f)
			return false;
		aup->cond = op2 & 0xf;		/* jcc rel32 */
		aup->ops = &jcc_ops;
		return true;
	}
	switch (op) {
	case 0xe8:				/* call rel32 */
		aup->ops = &call_ops;
		return true;
	case 0xe9: case 0xeb:			/* jmp rel */
		aup->ops = &jmp_ops;
		return true;
	case 0x70 ... 0x7f:			/* jcc rel8 */
		aup->cond = op & 0xf;
		aup->ops = &jcc_ops;
		return true;
	case 0xe0 ... 0xe3:			/* loop*, jrcxz: the count is ecx with 0x67 */
		if (insn_has_prefix(insn, 0x67))
			return false;
		aup->cond = op & 3;
		aup->ops = &loop_ops;
		return true;
	}
	return false;
}

/* The emulation of @insn, if it has one: ops and operands into @aup. */
static bool choose_emulation(struct arch_uprobe *aup, struct insn *insn)
{
	u8 op = insn->opcode.bytes[0];

	/* VEX, EVEX and REX2 encodings are other instructions altogether. */
	if (insn->vex_prefix.nbytes || insn->rex_prefix.nbytes > 1)
		return false;
	if (insn_is_plain_nop(insn)) {
		aup->ops = &nop_ops;
		return true;
	}
	if (uprobe_insn_is_relative_branch(insn)) {
		/* An operand-size prefix truncates the target; lock is #UD: refused. */
		return !insn_has_prefix(insn, 0x66) && !insn_has_prefix(insn, 0xf0) &&
		       choose_branch(aup, insn);
	}
	if (!prefixes_emulable(aup, insn, insn->opcode.nbytes == 1 && (op == 0xc3 || op == 0xc2)))
		return false;
	if (insn->opcode.nbytes == 2 && op == 0x0f)
		return choose_extending_mov(aup, insn);
	if (insn->opcode.nbytes != 1)
		return false;
	return choose_stack_insn(aup, insn) || choose_data_insn(aup, insn);
}

/*
 * Does the chosen emulation load or store? Stack instructions and calls always do;
 * moves and arithmetic when an operand is the ModRM memory operand; lea, nops and
 * jumps never.
 */
static bool emulation_touches_memory(struct arch_uprobe *aup)
{
	const struct uprobe_insn_ops *ops = aup->ops;

	if (ops == &alu_ops || ops == &mov_ops)
		return (aup->dst == OPND_RM || aup->src == OPND_RM) &&
		       !(aup->rm.flags & UPROBE_RM_REG);
	return ops != &lea_ops && ops != &nop_ops && ops != &jmp_ops &&
	       ops != &jcc_ops && ops != &loop_ops;
}

/**
 * uprobe_choose_emulation - pick how a hit on @insn is emulated, if it can be
 * @aup: the probe's arch data: ops, operands and @aup->mem are filled in
 * @insn: the decoded instruction
 *
 * Return: true if @aup->ops now emulates @insn; false to step it.
 */
bool uprobe_choose_emulation(struct arch_uprobe *aup, struct insn *insn)
{
	if (!choose_emulation(aup, insn))
		return false;
	aup->mem = emulation_touches_memory(aup);
	return true;
}

/**
 * uprobe_insn_is_relative_branch - does @insn branch relative to where it runs?
 * @insn: the decoded instruction
 *
 * Such an instruction must be emulated: stepped from a slot it would branch
 * relative to the slot. VEX opcodes with the same bytes are vector instructions.
 */
bool uprobe_insn_is_relative_branch(struct insn *insn)
{
	u8 op = insn->opcode.bytes[0], op2 = insn->opcode.bytes[1];

	if (insn->vex_prefix.nbytes)
		return false;
	if (insn->opcode.nbytes == 1)
		return op == 0xe8 || op == 0xe9 || op == 0xeb ||
		       (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3);
	return insn->opcode.nbytes == 2 && op == 0x0f && op2 >= 0x80 && op2 <= 0x8f;
}
