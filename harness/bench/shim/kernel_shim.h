/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel's headers to compile the x86 uprobes analysis and
 * emulation (arch/x86/kernel/uprobes/decode.c and emulate.c) in user space, for
 * probe-coverage and the selftests' exact_classify: they ask the analysis what it
 * makes of instructions. Nothing here runs at a hit: user accesses fail.
 */
#ifndef PROBE_COVERAGE_KERNEL_SHIM_H
#define PROBE_COVERAGE_KERNEL_SHIM_H

#include <stddef.h>
#include <stdlib.h>
#include <linux/types.h>
#include <linux/kernel.h>

#define __user
#define CONFIG_X86_64 1
#define CONFIG_X86_UPROBES_NOP5 1	/* the analysis as the x86 config builds it */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#define MAX_UINSN_BYTES 16
#ifndef ENOTSUPP
#define ENOTSUPP	524	/* the kernel's own errno, not in user space's */
#endif
#ifndef IS_ENABLED
#define IS_ENABLED(option)	(option)
#endif
#define WARN_ON_ONCE(cond)	(cond)
#define TASK_SIZE_MAX ((1UL << 47) - 4096)

struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

#define X86_EFLAGS_CF	0x0001UL
#define X86_EFLAGS_PF	0x0004UL
#define X86_EFLAGS_AF	0x0010UL
#define X86_EFLAGS_ZF	0x0040UL
#define X86_EFLAGS_SF	0x0080UL
#define X86_EFLAGS_TF	0x0100UL
#define X86_EFLAGS_AC	0x00040000UL
#define X86_EFLAGS_OF	0x0800UL
#define X86_EFLAGS_RF	0x00010000UL
#define X86_EFLAGS_VM	0x00020000UL

static inline int user_64bit_mode(struct pt_regs *regs) { return 1; }
static inline int shstk_is_enabled(void) { return 0; }
#ifdef SHIM_USER_ACCESS
/* The test that runs emulations makes the accesses itself, in its own memory. */
#define get_user(x, ptr)	({ (x) = *(volatile __typeof__(*(ptr)) *)(ptr); 0; })
#define put_user(x, ptr)	({ *(volatile __typeof__(*(ptr)) *)(ptr) = (x); 0; })
unsigned long insn_get_seg_base(struct pt_regs *regs, int seg);
#else
static inline unsigned long insn_get_seg_base(struct pt_regs *regs, int seg) { return -1UL; }
#define get_user(x, ptr)	({ (x) = 0; -14; })
#define put_user(x, ptr)	({ (void)(x); -14; })
#endif

static inline long sign_extend64(unsigned long value, int index)
{
	int shift = 63 - index;

	return (long)(value << shift) >> shift;
}

#include "../../../arch/x86/include/asm/uprobes.h"

/* The analysis asks only whether the mm is a 64-bit one. */
struct mm_struct {
	bool is64;
};

static inline bool is_64bit_mm(struct mm_struct *mm)
{
	return mm->is64;
}

/* The emulation looks at current->utask (watchpoints) only at a hit. */
struct uprobe_task {
	struct arch_uprobe_task autask;
};

struct task_struct {
	struct uprobe_task *utask;
};

static struct uprobe_task shim_utask;
static struct task_struct shim_task = { .utask = &shim_utask };
#define current (&shim_task)

#endif
