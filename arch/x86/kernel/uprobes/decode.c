// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uprobes on x86: the analysis. Each probed instruction is decoded once, with the
 * kernel's decoder (arch/x86/lib/insn.c), when a probe first goes into an mm; what a
 * hit does with it is chosen here and never decided again:
 *  - refused: instructions that cannot run safely out of line, or whose trap would
 *    be confused with ours;
 *  - emulated (emulate.c): the operands are decoded into struct arch_uprobe_data,
 *    _stack or _branch, and the kind's ops picked;
 *  - stepped out of line: the slot's copy (arch_uprobe.ixol) and the fix-ups the step
 *    leaves (arch_uprobe_step), RIP-relative operands rewritten to go through a scratch
 *    register that holds the address RIP would have had. Every emulated kind but the
 *    relative jumps is prepared for a step too, its fallback when the emulation
 *    cannot finish (a fault, a shadow stack, another mode).
 */

#include <linux/mm.h>
#include <linux/string.h>

#include <asm/insn.h>
#include <asm/mmu_context.h>

#include "common.h"

/* An emulated kind's ops. */
#define EMULATION(kind)		(&x86_uprobe_emulations[X86_EMUL_##kind])

/* ---------------------------------------------------------------------------- */
/* Refusal and the out-of-line step.                                            */

/*
 * Instructions we refuse to probe: traps and interrupts (they would confuse ours),
 * far transfers and system instructions (a different code segment or privilege),
 * port I/O, and what cannot be single-stepped (a TF trap after it is suppressed, or
 * it branches relative to where it runs and we do not emulate it).
 */
static bool insn_refused(struct insn *insn)
{
	u8 op = insn->opcode.bytes[0], op2 = insn->opcode.bytes[1];
	u8 reg = X86_MODRM_REG(insn->modrm.bytes[0]);

	if (insn_masking_exception(insn))
		return true;
	/* VEX and EVEX opcodes are vector instructions, whatever their byte values. */
	if (insn->vex_prefix.nbytes)
		return false;
	if (insn->opcode.nbytes == 1) {
		switch (op) {
		case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17:	/* segment push/pop */
		case 0x1e: case 0x1f: case 0x27: case 0x2f: case 0x37: case 0x3f:
			return !insn->x86_64 ? op == 0x17 : true;
		case 0x62:					/* bound (32-bit) */
			return !insn->x86_64;
		case 0x6c ... 0x6f:				/* ins, outs */
		case 0x9a: case 0xea:				/* far call, far jmp */
		case 0xca: case 0xcb: case 0xcf:		/* far ret, iret */
		case 0xcc ... 0xce:				/* int3, int, into */
		case 0xd6:					/* salc */
		case 0xe4 ... 0xe7: case 0xec ... 0xef:		/* in, out */
		case 0xf1: case 0xf4:				/* int1, hlt */
		case 0xfa: case 0xfb:				/* cli, sti */
			return true;
		case 0xc7:					/* xbegin is relative */
			return insn->modrm.bytes[0] == 0xf8;
		case 0xff:					/* far call/jmp *m */
			return reg == 3 || reg == 5;
		}
		return false;
	}
	if (op == 0x0f && insn->opcode.nbytes == 2) {
		switch (op2) {
		case 0x05: case 0x07:				/* syscall, sysret */
		case 0x0b: case 0xb9: case 0xff:		/* ud2, ud1, ud0 */
		case 0x34: case 0x35:				/* sysenter, sysexit */
		case 0x00:					/* sldt, ltr, ... */
		/*
		 * sgdt, sidt, smsw, ...: under UMIP the kernel emulates some of them
		 * for user space and moves ip on from where the instruction ran, in
		 * a slot's copy past bytes that are not the program's.
		 */
		case 0x01:
		case 0x06: case 0x08: case 0x09: case 0x30: case 0x32: case 0x33: /* privileged */
		case 0x20 ... 0x23:				/* mov to/from cr, dr */
			return true;
		}
	}
	return false;
}

/*
 * Rewrite a RIP-relative operand of @aup->ixol as [scratch + disp32]: mod 00 rm 101
 * becomes mod 10 rm <scratch>. The scratch register is one the instruction does not
 * name (ModRM.reg, VEX.vvvv) nor use implicitly (cmpxchg8b/16b use rbx).
 */
static int riprel_rewrite(struct arch_uprobe *aup, struct insn *insn)
{
	static const u8 candidates[] = { 6 /* si */, 7 /* di */, 3 /* bx */ };
	u8 modrm = insn->modrm.bytes[0];
	u8 reg = X86_MODRM_REG(modrm), vvvv = 0xff;
	u8 *cursor;
	int i;

	if (insn->rex_prefix.nbytes && (insn->rex_prefix.bytes[0] & 0x04))
		reg += 8;			/* REX.R: a high register, no clash */
	if (insn->vex_prefix.nbytes) {
		u8 vex_v = insn->vex_prefix.bytes[insn->vex_prefix.nbytes == 2 ? 1 : 2];

		vvvv = ~X86_VEX_V(vex_v) & 0xf;
	}

	for (i = 0; i < ARRAY_SIZE(candidates); i++) {
		u8 r = candidates[i];

		if (r == reg || r == vvvv)
			continue;
		if (r == 3 && insn->opcode.bytes[0] == 0x0f && insn->opcode.bytes[1] == 0xc7)
			continue;
		break;
	}
	if (i == ARRAY_SIZE(candidates))
		return -ENOTSUPP;

	aup->step.scratch = x86_uprobe_gpr_offset[candidates[i]];
	cursor = aup->ixol + insn_offset_modrm(insn);
	*cursor = 0x80 | (modrm & 0x38) | candidates[i];
	/* REX.B would turn the scratch register into r14/r15: clear it. */
	if (insn->rex_prefix.nbytes)
		aup->ixol[insn_offset_rex_prefix(insn)] &= ~0x01;
	/* VEX3 and EVEX keep B inverted, in bit 5 of their second byte. */
	if (insn->vex_prefix.nbytes >= 3)
		aup->ixol[insn_offset_vex_prefix(insn) + 1] |= 0x20;
	aup->step.fixups |= UPROBE_FIX_RIP;
	return 0;
}

/* movs, cmps, stos, lods or scas with a rep prefix: a step traps after each round. */
static bool insn_is_rep_string(struct insn *insn)
{
	u8 op = insn->opcode.bytes[0];

	if (insn->opcode.nbytes != 1 ||
	    !(insn_has_prefix(insn, 0xf3) || insn_has_prefix(insn, 0xf2)))
		return false;
	return (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf);
}

/* Prepare the step: what it must fix afterwards, and the slot's copy. */
static int choose_stepping(struct arch_uprobe *aup, struct insn *insn)
{
	struct arch_uprobe_step *step = &aup->step;
	u8 op = insn->opcode.bytes[0];
	u8 reg = X86_MODRM_REG(insn->modrm.bytes[0]);
	int err;

	step->fixups = UPROBE_FIX_IP;
	step->rep_string = insn_is_rep_string(insn);
	if (insn->opcode.nbytes == 1) {
		switch (op) {
		case 0xc2: case 0xc3:		/* ret: ip comes from the stack */
			step->fixups = 0;
			break;
		case 0x9c:			/* pushf */
			step->fixups |= UPROBE_FIX_PUSHF;
			break;
		case 0x9d:			/* popf */
			step->fixups |= UPROBE_FIX_POPF;
			break;
		case 0xff:
			if (reg == 2)		/* call *: ip absolute, return address not */
				step->fixups = UPROBE_FIX_CALL;
			else if (reg == 4)	/* jmp *: ip absolute */
				step->fixups = 0;
			break;
		}
	}
	if (insn->x86_64 && insn_rip_relative(insn)) {
		err = riprel_rewrite(aup, insn);
		if (err)
			return err;
	}
	aup->can_step = true;
	return 0;
}

/* ---------------------------------------------------------------------------- */
/* Emulation: which kind, and its operands decoded once.                         */

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
static bool prefixes_emulable(struct insn *insn, bool rep_ok, u8 *seg)
{
	insn_byte_t prefix;
	int i, overrides = 0;

	*seg = 0;
	for_each_insn_prefix(insn, i, prefix) {
		switch (prefix) {
		case 0x66: case 0x67:
			break;
		case 0x64: case 0x65:
			/* A 32-bit task's fs and gs have limits we do not check. */
			if (!insn->x86_64 || overrides++)
				return false;
			*seg = prefix == 0x64 ? INAT_SEG_REG_FS : INAT_SEG_REG_GS;
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
	*offset = x86_uprobe_gpr_offset[nr + (rex_bit ? 8 : 0)];
	return true;
}

/* Decode the ModRM operand into aup->data.rm; @size is its size when it is a register. */
static bool decode_rm(struct arch_uprobe *aup, struct insn *insn, unsigned int size)
{
	struct arch_uprobe_rm *rm = &aup->data.rm;
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
			rm->index = x86_uprobe_gpr_offset[index];
			rm->scale = X86_SIB_SCALE(sib);
		}
		if (mod != 0 || base != 5)	/* mod 0, base 5: disp32, no base */
			rm->base = x86_uprobe_gpr_offset[base + (X86_REX_B(rex) ? 8 : 0)];
	} else if (mod == 0 && nr == 5) {
		if (insn->x86_64)
			rm->flags |= UPROBE_RM_RIP;	/* else an absolute disp32 */
	} else {
		rm->base = x86_uprobe_gpr_offset[nr + (X86_REX_B(rex) ? 8 : 0)];
	}
	return true;
}

/* The ModRM.reg register as a @size operand into aup->data.reg. */
static bool decode_modrm_reg(struct arch_uprobe *aup, struct insn *insn, unsigned int size)
{
	return pick_reg(insn, X86_MODRM_REG(insn->modrm.bytes[0]),
			X86_REX_R(rex_of(insn)), size, &aup->data.reg);
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
	aup->data.alu = alu;
	aup->data.dst = dst;
	aup->data.src = src;
	aup->data.size = size;
	aup->data.imm = insn_imm(insn);
	aup->ops = EMULATION(ALU);
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
	aup->data.dst = dst;
	aup->data.src = src;
	aup->data.size = size;
	aup->data.src_size = src_size;
	aup->data.sign_extend = sign;
	aup->data.imm = insn_imm(insn);
	aup->ops = EMULATION(MOV);
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
		aup->data.reg = x86_uprobe_gpr_offset[0];
		aup->data.alu = alu;
		aup->data.dst = OPND_REG;
		aup->data.src = OPND_IMM;
		aup->data.size = size;
		aup->data.imm = insn_imm(insn);
		aup->ops = EMULATION(ALU);
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
		aup->data.size = size;
		aup->ops = EMULATION(LEA);
		return true;
	case 0xb0 ... 0xb7:			/* mov $imm8, %r8 */
	case 0xb8 ... 0xbf:			/* mov $imm, %reg */
		size = op < 0xb8 ? byte : size;
		if (!pick_reg(insn, op & 7, X86_REX_B(rex), size, &aup->data.reg))
			return false;
		aup->data.dst = OPND_REG;
		aup->data.src = OPND_IMM;
		aup->data.size = size;
		aup->data.src_size = size;
		aup->data.sign_extend = false;
		aup->data.imm = insn_imm(insn);
		aup->ops = EMULATION(MOV);
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
	struct arch_uprobe_stack st = { .size = insn->x86_64 ? 8 : 4 };
	const struct uprobe_insn_ops *ops;

	/* Pushes, pops and returns of 16 bits are rare and odd: stepped. */
	if (insn_has_prefix(insn, 0x66))
		return false;
	switch (op) {
	case 0x50 ... 0x57:			/* push reg */
		st.reg = x86_uprobe_gpr_offset[(op & 7) + (rex_b ? 8 : 0)];
		ops = st.size == 8 ? EMULATION(PUSH64) : EMULATION(PUSH);
		break;
	case 0x58 ... 0x5f:			/* pop reg; pop %rsp is stepped */
		if (op == 0x5c && !rex_b)
			return false;
		st.reg = x86_uprobe_gpr_offset[(op & 7) + (rex_b ? 8 : 0)];
		ops = EMULATION(POP);
		break;
	case 0x68: case 0x6a:			/* push $imm, sign-extended */
		st.imm = insn_imm(insn);
		ops = EMULATION(PUSH_IMM);
		break;
	case 0x9c:				/* pushf */
		ops = EMULATION(PUSHF);
		break;
	case 0xc9:				/* leave */
		ops = EMULATION(LEAVE);
		break;
	case 0xc2: case 0xc3:			/* ret $n, ret */
		st.imm = op == 0xc2 ? (u16)insn->immediate.value : 0;
		ops = EMULATION(RET);
		break;
	default:
		return false;
	}
	aup->stack = st;
	aup->ops = ops;
	return true;
}

/* Relative branches: jmp, jcc, call, loop and jrcxz. */
static bool choose_branch(struct arch_uprobe *aup, struct insn *insn)
{
	u8 op = insn->opcode.bytes[0], op2 = insn->opcode.bytes[1];
	struct arch_uprobe_branch br = { .disp = insn->immediate.value };
	const struct uprobe_insn_ops *ops;

	if (insn->opcode.nbytes == 2) {
		if (op != 0x0f || op2 < 0x80 || op2 > 0x8f)
			return false;
		br.cond = op2 & 0xf;		/* jcc rel32 */
		ops = EMULATION(JCC);
	} else {
		switch (op) {
		case 0xe8:			/* call rel32 */
			ops = EMULATION(CALL);
			break;
		case 0xe9: case 0xeb:		/* jmp rel */
			ops = EMULATION(JMP);
			break;
		case 0x70 ... 0x7f:		/* jcc rel8 */
			br.cond = op & 0xf;
			ops = EMULATION(JCC);
			break;
		case 0xe0 ... 0xe3:		/* loop*, jrcxz: the count is ecx with 0x67 */
			if (insn_has_prefix(insn, 0x67))
				return false;
			br.cond = op & 3;
			ops = EMULATION(LOOP);
			break;
		default:
			return false;
		}
	}
	aup->branch = br;
	aup->ops = ops;
	return true;
}

/* Does @insn branch relative to where it runs? (VEX opcodes are vector instructions.) */
static bool insn_is_relative_branch(struct insn *insn)
{
	u8 op = insn->opcode.bytes[0], op2 = insn->opcode.bytes[1];

	if (insn->vex_prefix.nbytes)
		return false;
	if (insn->opcode.nbytes == 1)
		return op == 0xe8 || op == 0xe9 || op == 0xeb ||
		       (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3);
	return insn->opcode.nbytes == 2 && op == 0x0f && op2 >= 0x80 && op2 <= 0x8f;
}

/* The emulation of @insn, if it has one: ops and operands into @aup. */
static bool choose_emulation(struct arch_uprobe *aup, struct insn *insn)
{
	u8 op = insn->opcode.bytes[0], seg;
	bool chosen;

	/* VEX, EVEX and REX2 encodings are other instructions altogether. */
	if (insn->vex_prefix.nbytes || insn->rex_prefix.nbytes > 1)
		return false;
	if (insn_is_plain_nop(insn)) {
		aup->ops = EMULATION(NOP);
		return true;
	}
	if (insn_is_relative_branch(insn)) {
		/* An operand-size prefix truncates the target; lock is #UD: refused. */
		return !insn_has_prefix(insn, 0x66) && !insn_has_prefix(insn, 0xf0) &&
		       choose_branch(aup, insn);
	}
	if (!prefixes_emulable(insn, insn->opcode.nbytes == 1 && (op == 0xc3 || op == 0xc2),
			       &seg))
		return false;
	if (insn->opcode.nbytes == 1 && choose_stack_insn(aup, insn))
		return true;		/* the stack segment: overrides do not apply */
	if (insn->opcode.nbytes == 2 && op == 0x0f)
		chosen = choose_extending_mov(aup, insn);
	else
		chosen = insn->opcode.nbytes == 1 && choose_data_insn(aup, insn);
	/* A memory operand's segment; a register operand has none to look at. */
	if (chosen)
		aup->data.rm.seg = seg;
	return chosen;
}

/*
 * Does the chosen emulation load or store? Stack instructions and calls always do;
 * moves and arithmetic when an operand is the ModRM memory operand; lea, nops and
 * jumps never.
 */
static bool emulation_touches_memory(struct arch_uprobe *aup)
{
	const struct uprobe_insn_ops *ops = aup->ops;

	if (ops == EMULATION(ALU) || ops == EMULATION(MOV))
		return (aup->data.dst == OPND_RM || aup->data.src == OPND_RM) &&
		       !(aup->data.rm.flags & UPROBE_RM_REG);
	return ops != EMULATION(LEA) && ops != EMULATION(NOP) && ops != EMULATION(JMP) &&
	       ops != EMULATION(JCC) && ops != EMULATION(LOOP);
}

/* ---------------------------------------------------------------------------- */
/* The analysis.                                                                */

/* The 5-byte nop of USDT sites and patchable function entries; see opt.c. */
static const u8 nop5_insn[NOP5_LEN] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

/**
 * arch_uprobe_analyze_insn - decode the probed instruction and choose its handling
 * @aup: arch data; @aup->insn holds the bytes from the file
 * @mm: an mm the probe goes into (its mode decides 64-bit or 32-bit decoding)
 * @addr: the instruction's address there
 *
 * Return: 0, -ENOEXEC if the bytes do not decode, -ENOTSUPP if the instruction is
 * one we refuse.
 */
int arch_uprobe_analyze_insn(struct arch_uprobe *aup, struct mm_struct *mm,
			     unsigned long addr)
{
	bool x86_64 = IS_ENABLED(CONFIG_X86_64) && is_64bit_mm(mm);
	struct insn insn;
	int err;

	if (insn_decode(&insn, aup->insn, sizeof(aup->insn),
			x86_64 ? INSN_MODE_64 : INSN_MODE_32) < 0)
		return -ENOEXEC;
	if (insn_has_emulate_prefix(&insn) || insn_refused(&insn))
		return -ENOTSUPP;

	aup->ilen = insn.length;
	aup->ops = NULL;
	aup->step = (struct arch_uprobe_step){};
	aup->can_step = false;
	aup->mem = false;
	aup->mode64 = x86_64;
	aup->nop5 = x86_64 && !memcmp(aup->insn, nop5_insn, NOP5_LEN);
	memcpy(aup->ixol, aup->insn, sizeof(aup->ixol));
	/*
	 * A relative branch must be emulated: stepped from a slot, it would branch
	 * relative to the slot. Only a call can fail (a shadow stack, a stack fault):
	 * its step calls the slot's next instruction, and the fix-ups move the
	 * return address home and the instruction pointer to the target.
	 */
	if (insn_is_relative_branch(&insn)) {
		if (!choose_emulation(aup, &insn))
			return -ENOTSUPP;
		if (insn.opcode.bytes[0] == 0xe8) {
			memset(aup->ixol + insn_offset_immediate(&insn), 0, 4);
			aup->step.fixups = UPROBE_FIX_IP | UPROBE_FIX_CALL | UPROBE_FIX_BRANCH;
			aup->can_step = true;
		}
		aup->mem = emulation_touches_memory(aup);
		return 0;
	}
	/* Everything else is prepared for a step, which an emulation falls back to. */
	err = choose_stepping(aup, &insn);
	if (err)
		return err;
	if (choose_emulation(aup, &insn))
		aup->mem = emulation_touches_memory(aup);
	return 0;
}
