/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The differential exactness test (uprobes_exact.c): what its instruction corpus
 * (exact_cases.c, built for 64-bit and for 32-bit code) and the 32-bit helper
 * (exact32.c) share with the test. Fixed-size fields only: the 32-bit helper writes
 * struct xc_result to a pipe and the 64-bit test reads it.
 */
#ifndef UPROBES_EXACT_H
#define UPROBES_EXACT_H

#include <stdint.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/*
 * The operand page ("arena") of one trial: %rbx points at XC_MEM_OFF, %rsp at
 * XC_STACK_OFF; the bytes around both are compared after the instruction.
 */
#define XC_ARENA	4096
#define XC_MEM_OFF	0x800
#define XC_STACK_OFF	0xc00
#define XC_DUMP		256	/* bytes compared on each side of both pointers */

/* What a case needs in its state beyond random registers (struct xc_case.needs). */
#define XN_RET		0x01	/* the address after the instruction on the stack top */
#define XN_FRAME	0x02	/* %rbp at a frame just below the stack pointer */
#define XN_COUNT	0x04	/* a small count in %rcx */
#define XN_TARGET	0x08	/* %rax holds the address after the instruction */
#define XN_FLAGS	0x10	/* sane flags on the stack top (popf) */
#define XN_TF		0x20	/* ... with TF set */
#define XN_STRING	0x40	/* %rsi, %rdi into the memory, %rcx a small count */
#define XN_LOCKED	0x80	/* a locked access (lock prefix or xchg with memory) */

/* One instruction in a wrapper: xc_NAME(regs) loads regs, runs it, stores regs. */
struct xc_case {
	const char *name;
	void (*fn)(void *regs);
	const char *insn;	/* the instruction's first byte: xc_NAME_insn */
	const char *after;	/* where the wrapper goes on after it */
	const char *end;	/* the end of the wrapper */
	unsigned int needs;
};

/* One trial's outcome: registers (or those at a signal), flags, memory. */
struct xc_result {
	uint64_t gpr[16];	/* in encoding order: ax cx dx bx sp bp si di r8-r15 */
	uint64_t flags;
	uint64_t global;	/* xc_global after the instruction */
	uint64_t sig_ip;	/* where a signal came, if one did */
	uint64_t sig_addr;
	uint64_t sp_before;	/* the stack pointer the instruction started with */
	uint64_t stack_at;	/* the address of stack[0] */
	int32_t sig;		/* 0: the wrapper ran to its end */
	int32_t sig_code;
	uint8_t mem[2 * XC_DUMP];
	uint8_t stack[2 * XC_DUMP];
};

#endif /* UPROBES_EXACT_H */
