/* SPDX-License-Identifier: GPL-2.0 */
/* The trial runner of the exactness test (exact_run.c), for both widths. */
#ifndef UPROBES_EXACT_RUN_H
#define UPROBES_EXACT_RUN_H

#include "uprobes_exact.h"

#ifdef __x86_64__
#define XC_SP		"rsp"
#else
#define XC_SP		"esp"
#endif

/* Trials of each case: each has its own arena page and its own seed. */
#define XC_TRIALS	4

/* How the arena pages are made ready for a trial. */
enum {
	XA_PRIVATE,	/* private anonymous memory, filled in the process itself */
	XA_FRESH_ANON,	/* a fresh anonymous page, never touched (zero) */
	XA_FILE,	/* a private file mapping whose page is not in the page table */
	XA_KEEP,	/* filled before a fork: the child's pages are copy-on-write */
};

struct xc_env {
	uint8_t *arena;		/* XC_TRIALS pages */
	int kind;
	int fd;			/* XA_FILE: the file */
	unsigned int mem_shift;	/* misalign %rbx by this much */
	unsigned int stack_shift;	/* and %rsp */
	int ac;			/* EFLAGS.AC set in the case */
	int stop;		/* SIGSTOP just before the wrapper, for a tracer (64-bit) */
};

struct xc_regs_buf {
	uint64_t words[20];
};

extern const struct xc_case xc_cases[];
extern const unsigned int xc_nr_cases;
/* The RIP-relative operand of the corpus (exact_cases.c). */
extern unsigned long xc_global;
extern volatile unsigned long xc_storm_signals;

int xc_signals_init(void);
int xc_prepare(const struct xc_case *c, unsigned int t, const struct xc_env *env,
	       struct xc_regs_buf *buf);
int xc_fill_all(const struct xc_case *c, const struct xc_env *env);
void xc_run(const struct xc_case *c, unsigned int t, const struct xc_env *env,
	    struct xc_regs_buf *buf, struct xc_result *out);
#ifdef __x86_64__
/* The rest of trial @t from @ip inside the wrapper, @buf the state there. */
void xc_run_from(const struct xc_case *c, unsigned int t, const struct xc_env *env,
		 struct xc_regs_buf *buf, const void *ip, struct xc_result *out);
void xc_resume(void *regs, const void *ip);
#endif
unsigned long xc_fill_address_space(void);

#endif /* UPROBES_EXACT_RUN_H */
