// SPDX-License-Identifier: GPL-2.0
/*
 * Functions the tests probe, built as an object of their own so that gen_insns.sh can
 * list every instruction boundary from objdump -d at build time (insns.h): tests probe
 * any instruction without a disassembler. The functions cover what an out-of-line
 * single step or an emulation can get wrong: a loop, RIP-relative loads and stores of
 * globals, direct and RIP-relative indirect calls, returns, SSE and x87 arithmetic with
 * RIP-relative constants, and an indirect jump through a switch table. PROBED (noipa)
 * keeps each a real function that every call enters; the Makefile builds this file
 * without tail calls and without hot/cold splitting, so each function is one block of
 * code that the tests' inputs execute completely.
 */
#include "targets.h"

long tgt_counter;
long tgt_table[16];
/* Called through a pointer in .data: "call *tgt_fn(%rip)" on x86-64. */
long (*tgt_fn)(long x) = tgt_leaf;

PROBED long tgt_leaf(long x)
{
	return x * 7 + 3;
}

PROBED long tgt_loop(long n)
{
	long sum = 0, i;

	/* sum >> 3 makes each step depend on the last: no vectorized variants. */
	for (i = 0; i < n; i++)
		sum += (i * i) ^ (sum >> 3);
	return sum;
}

PROBED long tgt_globals(long x)
{
	tgt_counter += x;
	tgt_table[x & 15] ^= tgt_counter;
	return tgt_table[(x + 1) & 15] + tgt_counter;
}

PROBED long tgt_calls(long x)
{
	return tgt_leaf(x) + tgt_fn(x + 1) * 2;
}

PROBED double tgt_fp(double a, long n)
{
	/* long double is x87 arithmetic on x86-64, double is SSE. */
	long double t = (long double)a * 3.0L;
	double r = a * 1.5 + (double)n;

	r = r / (a + 2.25) - 0.125 * r;
	return r + (double)(t / 7.0L);
}

/* Eight dense cases that compute: a jump table, not a lookup table. */
PROBED long tgt_switch(long k, long x)
{
	switch (k) {
	case 0:
		return x + 11;
	case 1:
		return x * 13;
	case 2:
		return x - 17;
	case 3:
		return x ^ 19;
	case 4:
		return x << 2;
	case 5:
		return x | 0x100;
	case 6:
		return -x;
	case 7:
		return x & 0xff;
	default:
		return 0;
	}
}

PROBED long tgt_fib(long n)
{
	return n < 2 ? n : tgt_fib(n - 1) + tgt_fib(n - 2);
}

#ifdef __x86_64__
/*
 * (a + 3) * b in instructions the x86 uprobes code never emulates (lea, imul), so a
 * probe on either is single-stepped out of line: the window the signal test aims at.
 */
asm(".pushsection .text\n"
	".globl tgt_sstep\n"
	".type tgt_sstep, @function\n"
	"tgt_sstep:\n"
	"	lea 3(%rdi), %rax\n"
	"	imul %rsi, %rax\n"
	"	ret\n"
	".size tgt_sstep, . - tgt_sstep\n"
	".popsection\n");
#elif defined(__powerpc64__)
/*
 * (a + 3) * b, with a round trip through a VSX register in the middle: the kernel's
 * instruction emulator does not know mtvsrd and mfvsrd, so a probe on either is
 * single-stepped out of line (the first use of VSX in a task also traps once more,
 * to enable the unit, in the middle of that step).
 */
asm(".pushsection .text\n"
	".globl tgt_sstep\n"
	".type tgt_sstep, @function\n"
	"tgt_sstep:\n"
	"	.localentry tgt_sstep, 1\n"
	"	addi 3, 3, 3\n"
	"	mtvsrd 0, 3\n"
	"	mfvsrd 3, 0\n"
	"	mulld 3, 3, 4\n"
	"	blr\n"
	".size tgt_sstep, . - tgt_sstep\n"
	".popsection\n");
#else
PROBED long tgt_sstep(long a, long b)
{
	return (a + 3) * b;
}
#endif

/* The state tgt_globals() changes, back to its start: runs compare from equal states. */
void targets_reset(void)
{
	int i;

	tgt_counter = 0;
	for (i = 0; i < 16; i++)
		tgt_table[i] = i * 0x1111;
}
