// SPDX-License-Identifier: GPL-2.0
/*
 * perf probe -x: refuse a user probe address that is not an instruction boundary.
 *
 * The kernel takes a uprobe at any file offset of an executable mapping and puts its
 * breakpoint there. At an offset inside an instruction that breakpoint replaces an
 * operand byte: the program then runs a different instruction stream, or the probe is
 * refused only when the kernel happens to fail to decode the bytes found there. perf
 * knows the binary, so before it writes a uprobe event it finds the function symbol the
 * offset falls in, decodes that function from its first byte, and refuses the offset
 * unless an instruction starts exactly there.
 *
 * What cannot be decided is let through as before, with a note under -v (or a warning
 * when the decoder gives up): an offset outside every function symbol, code that is not
 * x86, bytes the decoder does not know.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>
#include <gelf.h>

#include "debug.h"
#include "namespaces.h"
#include "probe-event.h"
#include "probe-insn.h"
#include "symbol.h"
#include "../../arch/x86/include/asm/insn.h"

/* The function symbol an address falls in: link-time start and size. */
struct probe_insn_func {
	const char *name;
	u64 start;
	u64 size;
};

/* The executable PT_LOAD segment whose file bytes hold @offset. */
static bool probe_insn__text_segment(Elf *elf, u64 offset, GElf_Phdr *phdr)
{
	size_t i, nphdr;

	if (elf_getphdrnum(elf, &nphdr) < 0)
		return false;
	for (i = 0; i < nphdr; i++) {
		if (!gelf_getphdr(elf, i, phdr))
			continue;
		if (phdr->p_type != PT_LOAD || !(phdr->p_flags & PF_X))
			continue;
		if (offset >= phdr->p_offset && offset - phdr->p_offset < phdr->p_filesz)
			return true;
	}
	return false;
}

/*
 * The function symbol covering @addr, from .symtab, else from .dynsym. Of overlapping
 * symbols the one starting last is taken: decoding from the nearest start is the most
 * likely to follow the instruction stream the compiler laid out.
 */
static bool probe_insn__find_func(Elf *elf, u64 addr, struct probe_insn_func *func)
{
	static const Elf64_Word tables[] = { SHT_SYMTAB, SHT_DYNSYM };
	bool found = false;
	size_t t;

	for (t = 0; t < ARRAY_SIZE(tables) && !found; t++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(elf, scn)) != NULL) {
			Elf_Data *data;
			GElf_Shdr shdr;
			GElf_Sym sym;
			size_t i, nsyms;

			if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != tables[t] ||
			    !shdr.sh_entsize)
				continue;
			data = elf_getdata(scn, NULL);
			if (!data)
				continue;
			nsyms = shdr.sh_size / shdr.sh_entsize;
			for (i = 0; i < nsyms; i++) {
				int type;

				if (!gelf_getsym(data, i, &sym))
					continue;
				type = GELF_ST_TYPE(sym.st_info);
				if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
				    sym.st_shndx == SHN_UNDEF || !sym.st_size)
					continue;
				if (addr < sym.st_value || addr - sym.st_value >= sym.st_size)
					continue;
				if (found && sym.st_value <= func->start)
					continue;
				func->name = elf_strptr(elf, shdr.sh_link, sym.st_name);
				func->start = sym.st_value;
				func->size = sym.st_size;
				found = true;
			}
		}
	}
	if (found && !func->name)
		func->name = "(unnamed)";
	return found;
}

/* 0, or -EINVAL when file offset @offset of @exec is inside an instruction. */
static int probe_insn__check_offset(Elf *elf, const char *exec, u64 offset)
{
	struct probe_insn_func func = { .name = NULL };
	enum insn_mode mode;
	const unsigned char *code;
	u64 addr, target, pos, prev = 0;
	Elf_Data *data;
	GElf_Ehdr ehdr;
	GElf_Phdr phdr;
	struct insn insn;

	if (!gelf_getehdr(elf, &ehdr))
		return 0;
	switch (ehdr.e_machine) {
	case EM_X86_64:
		mode = INSN_MODE_64;
		break;
	case EM_386:
		mode = INSN_MODE_32;
		break;
	default:
		pr_debug("%s: not x86 code, probe offsets are not checked\n", exec);
		return 0;
	}

	if (!probe_insn__text_segment(elf, offset, &phdr)) {
		pr_debug("%s: offset 0x%" PRIx64 " is in no executable segment, not checked\n",
			 exec, offset);
		return 0;
	}
	addr = offset - phdr.p_offset + phdr.p_vaddr;
	if (!probe_insn__find_func(elf, addr, &func)) {
		pr_debug("%s: offset 0x%" PRIx64 " is in no function symbol, not checked\n",
			 exec, offset);
		return 0;
	}
	target = addr - func.start;
	if (!target)
		return 0;
	/* The function's bytes, as they are in the same segment. */
	if (func.start < phdr.p_vaddr ||
	    func.start - phdr.p_vaddr + func.size > phdr.p_filesz) {
		pr_debug("%s: %s straddles a segment, not checked\n", exec, func.name);
		return 0;
	}
	data = elf_getdata_rawchunk(elf, func.start - phdr.p_vaddr + phdr.p_offset,
				    func.size, ELF_T_BYTE);
	if (!data || !data->d_buf)
		return 0;
	code = data->d_buf;

	for (pos = 0; pos < target; pos += insn.length) {
		int avail = min_t(u64, func.size - pos, MAX_INSN_SIZE);

		if (insn_decode(&insn, code + pos, avail, mode) < 0 || !insn.length) {
			pr_warning("Warning: cannot decode %s at %s+0x%" PRIx64
				   ": not checking that %s+0x%" PRIx64
				   " is an instruction boundary.\n",
				   exec, func.name, pos, func.name, target);
			return 0;
		}
		prev = pos;
	}
	if (pos == target)
		return 0;

	pr_err("Error: %s+0x%" PRIx64 " (offset 0x%" PRIx64 " in %s) is not an instruction boundary:\n"
	       "  it is inside the %d-byte instruction at %s+0x%" PRIx64 ".\n"
	       "  A probe there would overwrite part of that instruction and corrupt the program.\n"
	       "  The nearest instruction boundaries are %s+0x%" PRIx64 " and %s+0x%" PRIx64 ".\n",
	       func.name, target, offset, exec, (int)(pos - prev), func.name, prev,
	       func.name, prev, func.name, pos);
	return -EINVAL;
}

/**
 * probe_insn__check_uprobe_events - refuse user probes placed inside an instruction
 * @tevs: the trace events made for one probe definition
 * @ntevs: how many
 * @nsi: the mount namespace their binaries are seen in
 *
 * Return: 0 when no user probe among @tevs is known to be inside an instruction,
 * -EINVAL (with an error printed) when one is, -errno when a binary cannot be opened.
 */
int probe_insn__check_uprobe_events(struct probe_trace_event *tevs, int ntevs,
				    struct nsinfo *nsi)
{
	int i, fd, ret = 0;

	for (i = 0; i < ntevs && !ret; i++) {
		struct probe_trace_point *tp = &tevs[i].point;
		struct nscookie nsc;
		Elf *elf;

		if (!tevs[i].uprobes || !tp->module)
			continue;
		nsinfo__mountns_enter(nsi, &nsc);
		fd = open(tp->module, O_RDONLY);
		nsinfo__mountns_exit(&nsc);
		if (fd < 0)
			return -errno;
		elf = elf_begin(fd, PERF_ELF_C_READ_MMAP, NULL);
		if (elf) {
			ret = probe_insn__check_offset(elf, tp->module, tp->address);
			elf_end(elf);
		}
		close(fd);
	}
	return ret;
}
