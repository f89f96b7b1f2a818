// SPDX-License-Identifier: GPL-2.0
/*
 * probe-coverage FILE...: for the first instruction of every function symbol of each
 * ELF file (x86-64), which kernel runs a probe there without a single-step.
 *
 *  - ours: the analysis itself, arch/x86/kernel/uprobes/decode.c and emulate.c,
 *    compiled here over a small shim (harness/bench/shim) and asked
 *    arch_uprobe_analyze_insn() whether it emulates;
 *  - stock 6.12: its rule, read from its arch/x86/kernel/uprobes.c: a 1-byte nop,
 *    push of a register (no prefix but REX.B), and relative call, jmp and jcc
 *    without an operand-size prefix are emulated; everything else is stepped.
 *
 * Prints one line per instruction kind: "kind total ours stock", then a total line.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel_shim.h"
#include <asm/insn.h>

#include "../../arch/x86/kernel/uprobes/decode.c"
#include "../../arch/x86/kernel/uprobes/emulate.c"

/* Does our analysis emulate the instruction at @bytes (64-bit code)? */
static bool ours_emulates(const u8 *bytes)
{
	struct mm_struct mm = { .is64 = true };
	struct arch_uprobe aup = { };

	/* The file holds MAX_INSN_SIZE bytes at @bytes (at_vaddr()), one fewer than insn[]. */
	memcpy(aup.insn, bytes, MAX_INSN_SIZE);
	return !arch_uprobe_analyze_insn(&aup, &mm, 0) && aup.ops;
}

static bool stock_emulates(struct insn *insn)
{
	u8 op = insn->opcode.bytes[0], op2 = insn->opcode.bytes[1];
	u8 rex = insn->rex_prefix.nbytes ? insn->rex_prefix.bytes[0] : 0;

	if (insn->opcode.nbytes == 1 && op == 0x90)
		return true;
	if (insn->opcode.nbytes == 1 && op >= 0x50 && op <= 0x57)
		return !insn->prefixes.nbytes && (!rex || rex == 0x41);
	if (insn_has_prefix(insn, 0x66))
		return false;
	if (insn->opcode.nbytes == 1)
		return op == 0xe8 || op == 0xe9 || op == 0xeb || (op >= 0x70 && op <= 0x7f);
	return insn->opcode.nbytes == 2 && op == 0x0f && op2 >= 0x80 && op2 <= 0x8f;
}

/* A name for the instruction's kind, by opcode (and ModRM.reg for groups). */
static const char *kind_of(struct insn *insn)
{
	static const char *const alu[] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };
	u8 op = insn->opcode.bytes[0], op2 = insn->opcode.bytes[1];
	u8 reg = X86_MODRM_REG(insn->modrm.bytes[0]);

	if (insn->vex_prefix.nbytes)
		return "vex (simd)";
	if (insn->opcode.nbytes == 2 && op == 0x0f) {
		if (op2 == 0x1e && insn_has_prefix(insn, 0xf3))
			return "endbr";
		if (op2 == 0x1f)
			return "nopl";
		if (op2 >= 0x80 && op2 <= 0x8f)
			return "jcc";
		if (op2 == 0xb6 || op2 == 0xb7 || op2 == 0xbe || op2 == 0xbf)
			return "movzx/movsx";
		return "0f (simd, other)";
	}
	if (insn->opcode.nbytes != 1)
		return "other";
	if (op < 0x40 && (op & 7) < 6)
		return alu[op >> 3];
	switch (op) {
	case 0x50 ... 0x57: return "push reg";
	case 0x58 ... 0x5f: return "pop reg";
	case 0x63: return "movsxd";
	case 0x68: case 0x6a: return "push imm";
	case 0x70 ... 0x7f: return "jcc";
	case 0x80 ... 0x83: return alu[reg];
	case 0x84: case 0x85: case 0xa8: case 0xa9: return "test";
	case 0x88 ... 0x8b: case 0xc6: case 0xc7: case 0xb0 ... 0xbf: return "mov";
	case 0x8d: return "lea";
	case 0x90: return "nop";
	case 0xc2: case 0xc3: return "ret";
	case 0xc9: return "leave";
	case 0xe8: return "call";
	case 0xe9: case 0xeb: return "jmp";
	case 0xf6: case 0xf7: return reg == 0 ? "test" : "group3";
	case 0xff: return reg == 4 ? "jmp *" : reg == 2 ? "call *" : "group5";
	}
	return "other";
}

#define MAX_KINDS	64

static struct { const char *kind; long total, ours, stock; } kinds[MAX_KINDS];

static void count(const char *kind, bool ours, bool stock)
{
	int i;

	for (i = 0; i < MAX_KINDS && kinds[i].kind; i++)
		if (!strcmp(kinds[i].kind, kind))
			break;
	if (i == MAX_KINDS)
		return;
	kinds[i].kind = kind;
	kinds[i].total++;
	kinds[i].ours += ours;
	kinds[i].stock += stock;
}

/* The file bytes at virtual address @vaddr, from the PT_LOAD that maps it. */
static const u8 *at_vaddr(const u8 *data, size_t size, unsigned long vaddr)
{
	const Elf64_Ehdr *eh = (const void *)data;
	const Elf64_Phdr *ph = (const void *)(data + eh->e_phoff);
	int i;

	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X))
			continue;
		if (vaddr >= ph[i].p_vaddr && vaddr + MAX_INSN_SIZE <= ph[i].p_vaddr + ph[i].p_filesz &&
		    ph[i].p_offset + (vaddr - ph[i].p_vaddr) + MAX_INSN_SIZE <= size)
			return data + ph[i].p_offset + (vaddr - ph[i].p_vaddr);
	}
	return NULL;
}

static int scan(const char *path)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	unsigned long seen[1 << 16];
	int fd, s, nseen = 0;
	struct stat st;
	const u8 *data;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		return perror(path), -1;
	data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (data == MAP_FAILED)
		return perror(path), -1;
	eh = (const void *)data;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64)
		return fprintf(stderr, "%s: not an x86-64 ELF file\n", path), -1;
	sh = (const void *)(data + eh->e_shoff);
	for (s = 0; s < eh->e_shnum; s++) {
		const Elf64_Sym *sym = (const void *)(data + sh[s].sh_offset);
		size_t i, n = sh[s].sh_size / sizeof(*sym);

		if (sh[s].sh_type != SHT_SYMTAB && sh[s].sh_type != SHT_DYNSYM)
			continue;
		for (i = 0; i < n; i++) {
			struct insn insn;
			const u8 *bytes;
			int k;

			if (ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC || !sym[i].st_value ||
			    sym[i].st_shndx == SHN_UNDEF)
				continue;
			for (k = 0; k < nseen && seen[k] != sym[i].st_value; k++)
				;
			if (k < nseen)
				continue;	/* an alias of a function already counted */
			if (nseen < (int)(sizeof(seen) / sizeof(seen[0])))
				seen[nseen++] = sym[i].st_value;
			bytes = at_vaddr(data, st.st_size, sym[i].st_value);
			if (!bytes || insn_decode(&insn, bytes, MAX_INSN_SIZE, INSN_MODE_64) < 0)
				continue;
			count(kind_of(&insn), ours_emulates(bytes), stock_emulates(&insn));
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	long total = 0, ours = 0, stock = 0;
	int i, err = 0;

	for (i = 1; i < argc; i++)
		err |= scan(argv[i]);
	for (i = 0; i < MAX_KINDS && kinds[i].kind; i++) {
		printf("%s\t%ld\t%ld\t%ld\n", kinds[i].kind, kinds[i].total, kinds[i].ours,
		       kinds[i].stock);
		total += kinds[i].total;
		ours += kinds[i].ours;
		stock += kinds[i].stock;
	}
	printf("TOTAL\t%ld\t%ld\t%ld\n", total, ours, stock);
	return err ? 1 : 0;
}
