// SPDX-License-Identifier: GPL-2.0
/*
 * powerpc64 instruction handling: what must be emulated because it depends on where it
 * runs (branches that set or read LR and CTR, addpcis, PC-relative prefixed
 * instructions), what must be refused (load-and-reserve and store-conditional, system
 * calls, traps, the second word of a prefixed instruction), and that a probed program
 * computes what it computes unprobed.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#ifdef __powerpc64__
/* Each function starts with the instruction its name says; see the offsets below. */
asm(".pushsection .text\n"
	/* n times round a bdnz loop: returns n (n > 0). */
	".globl ppc_bdnz\n"
	".type ppc_bdnz, @function\n"
	"ppc_bdnz:\n"
	"	.localentry ppc_bdnz, 1\n"
	"	mtctr 3\n"
	"	li 3, 0\n"
	"1:	addi 3, 3, 1\n"		/* +8 */
	"	bdnz 1b\n"		/* +12 */
	"	blr\n"
	".size ppc_bdnz, . - ppc_bdnz\n"

	/* The position-independent code idiom: returns its own address + 8. */
	".globl ppc_bcl\n"
	".type ppc_bcl, @function\n"
	"ppc_bcl:\n"
	"	.localentry ppc_bcl, 1\n"
	"	mflr 0\n"
	"	bcl 20, 31, 1f\n"	/* +4 */
	"1:	mflr 3\n"		/* +8 */
	"	mtlr 0\n"
	"	blr\n"
	".size ppc_bcl, . - ppc_bcl\n"

	/* addpcis: returns the address of the instruction after it. */
	".globl ppc_lnia\n"
	".type ppc_lnia, @function\n"
	"ppc_lnia:\n"
	"	.localentry ppc_lnia, 1\n"
	"	lnia 3\n"		/* +0 */
	"	blr\n"
	".size ppc_lnia, . - ppc_lnia\n"

	/*
	 * A PC-relative load and address, and a plain prefixed add: returns
	 * ppc_word + 0x10000 and stores &ppc_word at *r3. Aligned so that no
	 * prefixed instruction needs padding before it.
	 */
	".p2align 6\n"
	".globl ppc_pcrel\n"
	".type ppc_pcrel, @function\n"
	"ppc_pcrel:\n"
	"	.localentry ppc_pcrel, 1\n"
	"	pld 4, ppc_word@pcrel\n"	/* +0, suffix at +4 */
	"	pla 5, ppc_word@pcrel\n"	/* +8 */
	"	std 5, 0(3)\n"
	"	paddi 3, 4, 0x10000, 0\n"	/* +20 */
	"	blr\n"
	".size ppc_pcrel, . - ppc_pcrel\n"

	/* Atomically adds r4 to *r3; returns the new value. */
	".globl ppc_atomic_add\n"
	".type ppc_atomic_add, @function\n"
	"ppc_atomic_add:\n"
	"	.localentry ppc_atomic_add, 1\n"
	"1:	ldarx 9, 0, 3\n"	/* +0 */
	"	add 9, 9, 4\n"
	"	stdcx. 9, 0, 3\n"	/* +8 */
	"	bne- 1b\n"
	"	mr 3, 9\n"
	"	blr\n"
	".size ppc_atomic_add, . - ppc_atomic_add\n"

	/* Never called: a system call and a trap that never fires. */
	".globl ppc_never\n"
	".type ppc_never, @function\n"
	"ppc_never:\n"
	"	.localentry ppc_never, 1\n"
	"	sc\n"			/* +0 */
	"	tdi 0, 3, 0\n"		/* +4 */
	"	blr\n"
	".size ppc_never, . - ppc_never\n"
	".popsection\n"
	".pushsection .data\n"
	".balign 8\n"
	".globl ppc_word\n"
	"ppc_word: .quad 0x1234\n"
	".popsection\n");
#endif

long ppc_bdnz(long n);
uintptr_t ppc_bcl(void);
uintptr_t ppc_lnia(void);
long ppc_pcrel(uintptr_t *where);
extern long ppc_word;
long ppc_atomic_add(long *p, long v);
void ppc_never(void);

FIXTURE(ppc) {
	const char *exe;
};

FIXTURE_SETUP(ppc)
{
#ifndef __powerpc64__
	SKIP(return, "powerpc64 instructions");
#endif
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(ppc)
{
	EXPECT_EQ(0, probe_remove_all());
}

/* Probe @sym + @off as @event and enable it: 0, or the error of the refusal. */
static int probe_at(const char *exe, const char *event, const char *sym, long off)
{
	long base = elf_sym_offset(exe, sym);
	int err;

	if (base < 0)
		return base;
	err = probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, event, exe, base + off);
	return err ? err : probe_enable(event, true);
}

/*
 * Probes on the branches and on what reads the instruction's own address: each is
 * emulated at its real address, and the results are those of the unprobed code.
 */
TEST_F(ppc, position_dependent_instructions)
{
	uintptr_t bcl = ppc_bcl(), lnia = ppc_lnia(), where = 0;

	ASSERT_EQ((uintptr_t)ppc_bcl + 8, bcl);
	ASSERT_EQ((uintptr_t)ppc_lnia + 4, lnia);	/* the next instruction's address */
	ASSERT_EQ(0x11234, ppc_pcrel(&where));
	ASSERT_EQ((uintptr_t)&ppc_word, where);

	ASSERT_EQ(0, probe_at(self->exe, "addi", "ppc_bdnz", 8));
	ASSERT_EQ(0, probe_at(self->exe, "bdnz", "ppc_bdnz", 12));
	ASSERT_EQ(0, probe_at(self->exe, "bcl", "ppc_bcl", 4));
	ASSERT_EQ(0, probe_at(self->exe, "mflr", "ppc_bcl", 8));
	ASSERT_EQ(0, probe_at(self->exe, "lnia", "ppc_lnia", 0));
	ASSERT_EQ(0, probe_at(self->exe, "pld", "ppc_pcrel", 0));
	ASSERT_EQ(0, probe_at(self->exe, "pla", "ppc_pcrel", 8));
	ASSERT_EQ(0, probe_at(self->exe, "paddi", "ppc_pcrel", 20));

	EXPECT_EQ(25, ppc_bdnz(25));
	EXPECT_EQ(bcl, ppc_bcl());
	EXPECT_EQ(lnia, ppc_lnia());
	where = 0;
	EXPECT_EQ(0x11234, ppc_pcrel(&where));
	EXPECT_EQ((uintptr_t)&ppc_word, where);
	ASSERT_EQ(0, probe_enable(NULL, false));

	EXPECT_EQ(25, probe_hits("addi"));
	EXPECT_EQ(25, probe_hits("bdnz"));
	EXPECT_EQ(1, probe_hits("bcl"));
	EXPECT_EQ(1, probe_hits("mflr"));
	EXPECT_EQ(1, probe_hits("lnia"));
	EXPECT_EQ(1, probe_hits("pld"));
	EXPECT_EQ(1, probe_hits("pla"));
	EXPECT_EQ(1, probe_hits("paddi"));
}

/*
 * Refused: a load-and-reserve and a store-conditional (the trap would always cancel
 * the reservation), a system call (no trace interrupt after it), a trap, and the
 * suffix word of a prefixed instruction. The code around them still runs.
 */
TEST_F(ppc, refused_instructions)
{
	uintptr_t where;
	long counter = 40;

	EXPECT_NE(0, probe_at(self->exe, "ldarx", "ppc_atomic_add", 0));
	EXPECT_NE(0, probe_at(self->exe, "stdcx", "ppc_atomic_add", 8));
	EXPECT_NE(0, probe_at(self->exe, "sc", "ppc_never", 0));
	EXPECT_NE(0, probe_at(self->exe, "tdi", "ppc_never", 4));
	EXPECT_NE(0, probe_at(self->exe, "suffix", "ppc_pcrel", 4));
	/* The instruction after a suffix starts an instruction of its own. */
	ASSERT_EQ(0, probe_at(self->exe, "after", "ppc_pcrel", 8));
	EXPECT_EQ(42, ppc_atomic_add(&counter, 2));
	EXPECT_EQ(0x11234, ppc_pcrel(&where));
	ASSERT_EQ(0, probe_enable(NULL, false));
	EXPECT_EQ(1, probe_hits("after"));
}

/*
 * The suffix of a prefixed instruction whose prefix carries a probe: in the process the
 * prefix is then a trap, yet the suffix must still be refused, or removing the first
 * probe would leave a trap as the second word of the instruction. The prefix's probe
 * still counts every call, and the instruction still loads the same word.
 */
TEST_F(ppc, suffix_behind_probed_prefix)
{
	uintptr_t where = 0;
	int i;

	ASSERT_EQ(0, probe_at(self->exe, "pld", "ppc_pcrel", 0));
	EXPECT_NE(0, probe_at(self->exe, "suffix", "ppc_pcrel", 4));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0x11234, ppc_pcrel(&where));
	ASSERT_EQ(0, probe_enable("pld", false));
	EXPECT_EQ(3, probe_hits("pld"));
	ASSERT_EQ(0, probe_del("pld"));
	EXPECT_EQ(0x11234, ppc_pcrel(&where));
	EXPECT_EQ((uintptr_t)&ppc_word, where);
	ASSERT_EQ(0, probe_enable(NULL, false));
}

TEST_HARNESS_MAIN
