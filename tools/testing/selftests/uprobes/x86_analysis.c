// SPDX-License-Identifier: GPL-2.0
/*
 * x86_analysis [GOLDEN]: the x86 uprobes analysis and emulation, tested on the host in
 * seconds, before any kernel boots.
 *
 * arch/x86/kernel/uprobes/decode.c and emulate.c are compiled here whole, over the
 * small shim of harness/bench, and run on the 64-bit cases of the exactness corpus
 * (exact_cases.c). For each case, one TAP line:
 *  - the analysis: what it chose (refused, stepped or the emulated kind), the step's
 *    fix-ups and the decoded operands, against the reviewed table in GOLDEN
 *    (x86_analysis.golden): a change to the analysis shows here, instruction by
 *    instruction, and is accepted by updating the table (x86_analysis -w prints it);
 *  - the emulation against the CPU: for an emulated case, each trial's state is run
 *    natively through the case's wrapper, and again with the instruction emulated
 *    (in this process's memory, as the kernel would in the task's) and the rest of
 *    the wrapper run natively from where the emulation left ip; registers, flags and
 *    memory must agree.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SHIM_USER_ACCESS
#include "kernel_shim.h"
#include <asm/insn.h>

/* The repository's arch/x86/kernel/uprobes/decode.c and emulate.c, named by the Makefile. */
#include UPROBES_DECODE_C
#include UPROBES_EMULATE_C

#include "exact_run.h"

/* core.c's, never reached: no watchpoint is armed here (autask.watching stays 0). */
void x86_uprobe_watch_access(unsigned long addr, unsigned int size, bool write)
{
}

/* fs and gs bases for the emulation of %fs:/%gs: operands: this process's own. */
unsigned long insn_get_seg_base(struct pt_regs *regs, int seg)
{
	unsigned long base;

	if (seg != INAT_SEG_REG_FS && seg != INAT_SEG_REG_GS)
		return -1UL;
	if (syscall(SYS_arch_prctl, seg == INAT_SEG_REG_FS ? ARCH_GET_FS : ARCH_GET_GS, &base))
		return -1UL;
	return base;
}

/* pt_regs offsets of the wrapper's registers, in encoding order. */
static const size_t gpr_at[16] = {
	offsetof(struct pt_regs, ax), offsetof(struct pt_regs, cx),
	offsetof(struct pt_regs, dx), offsetof(struct pt_regs, bx),
	offsetof(struct pt_regs, sp), offsetof(struct pt_regs, bp),
	offsetof(struct pt_regs, si), offsetof(struct pt_regs, di),
	offsetof(struct pt_regs, r8), offsetof(struct pt_regs, r9),
	offsetof(struct pt_regs, r10), offsetof(struct pt_regs, r11),
	offsetof(struct pt_regs, r12), offsetof(struct pt_regs, r13),
	offsetof(struct pt_regs, r14), offsetof(struct pt_regs, r15),
};

/* One line of the table: what the analysis made of @c. */
static void describe(const struct xc_case *c, char *out, size_t size)
{
	struct mm_struct mm = { .is64 = true };
	struct arch_uprobe aup = { };
	const struct uprobe_insn_ops *ops;
	int err, n;

	memcpy(aup.insn, c->insn, sizeof(aup.insn));
	err = arch_uprobe_analyze_insn(&aup, &mm, 0);
	if (err) {
		snprintf(out, size, "%s refused %d", c->name, err);
		return;
	}
	ops = aup.ops;
	n = snprintf(out, size, "%s %s len=%u", c->name, ops ? ops->name : "step", aup.ilen);
	if (aup.can_step)
		n += snprintf(out + n, size - n, " step=%#x,%u,%d", aup.step.fixups,
			      aup.step.fixups & UPROBE_FIX_RIP ? aup.step.scratch : 0,
			      aup.step.rep_string);
	if (ops == EMULATION(ALU) || ops == EMULATION(MOV) || ops == EMULATION(LEA)) {
		const struct arch_uprobe_data *d = &aup.data;
		const struct arch_uprobe_rm *rm = &d->rm;

		/* A RIP-relative displacement depends on where the corpus was linked. */
		n += snprintf(out + n, size - n,
			      " data=%u,%u,%u,%u,%u,%d reg=%u rm=%d,%u,%u,%u,%u,%#x imm=%ld",
			      d->size, d->src_size, d->dst, d->src, d->alu, d->sign_extend,
			      d->reg, rm->flags & UPROBE_RM_RIP ? 0 : rm->disp, rm->base,
			      rm->index, rm->scale, rm->seg, rm->flags, d->imm);
	} else if (ops == EMULATION(PUSH) || ops == EMULATION(PUSH64) ||
		   ops == EMULATION(PUSH_IMM) ||
		   ops == EMULATION(PUSHF) || ops == EMULATION(POP) ||
		   ops == EMULATION(LEAVE) || ops == EMULATION(RET)) {
		n += snprintf(out + n, size - n, " stack=%u,%u imm=%ld", aup.stack.size,
			      aup.stack.reg, aup.stack.imm);
	} else if (ops == EMULATION(JMP) || ops == EMULATION(JCC) ||
		   ops == EMULATION(LOOP) || ops == EMULATION(CALL)) {
		n += snprintf(out + n, size - n, " branch=%d,%u", aup.branch.disp,
			      aup.branch.cond);
	}
	if (aup.mem || aup.nop5)
		snprintf(out + n, size - n, "%s%s", aup.mem ? " mem" : "",
			 aup.nop5 ? " nop5" : "");
}

/* The line of @name in the table @golden, without its newline, or NULL. */
static const char *golden_line(const char *golden, const char *name, size_t *len)
{
	size_t l = strlen(name);
	const char *p;

	for (p = golden; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, name, l) && p[l] == ' ') {
			*len = strcspn(p, "\n");
			return p;
		}
	}
	return NULL;
}

static sigjmp_buf emulation_fault;

static void on_emulation_fault(int sig)
{
	siglongjmp(emulation_fault, 1);
}

/*
 * Emulate the instruction of @c from the state of trial @t in @buf (its page
 * already prepared), as the kernel would at a hit. False if the emulation declined
 * (the kernel would step) or faulted.
 */
static bool emulate_trial(const struct xc_case *c, struct arch_uprobe *aup,
			  struct xc_regs_buf *buf, unsigned long *ip)
{
	struct sigaction sa = { .sa_handler = on_emulation_fault }, old_segv, old_bus;
	struct pt_regs regs = { };
	bool done = false;
	unsigned int i;

	for (i = 0; i < 16; i++)
		*(unsigned long *)((char *)&regs + gpr_at[i]) = buf->words[i];
	regs.flags = buf->words[16];
	regs.ip = (unsigned long)c->insn;
	/* What XC_ENTER did to the stack before the instruction ran: see xc_resume. */
	*(uint64_t *)(regs.sp - 8) = regs.flags;

	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (!sigsetjmp(emulation_fault, 1))
		done = aup->ops->emulate(aup, &regs);
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	if (!done)
		return false;
	for (i = 0; i < 16; i++)
		buf->words[i] = *(unsigned long *)((char *)&regs + gpr_at[i]);
	buf->words[16] = regs.flags;
	*ip = regs.ip;
	return true;
}

/* Compare two outcomes; names the first difference in @why. */
static bool same_outcome(const struct xc_result *a, const struct xc_result *b, char *why,
			 size_t size)
{
	unsigned int i;

	if (a->sig != b->sig)
		return snprintf(why, size, "signal %d natively, %d emulated", a->sig,
				b->sig), false;
	for (i = 0; i < 16; i++)
		if (a->gpr[i] != b->gpr[i])
			return snprintf(why, size, "register %u: %#llx natively, %#llx emulated", i,
					(unsigned long long)a->gpr[i],
					(unsigned long long)b->gpr[i]), false;
	if (a->flags != b->flags)
		return snprintf(why, size, "flags %#llx natively, %#llx emulated",
				(unsigned long long)a->flags, (unsigned long long)b->flags), false;
	if (a->global != b->global)
		return snprintf(why, size, "xc_global differs"), false;
	if (memcmp(a->mem, b->mem, sizeof(a->mem)))
		return snprintf(why, size, "memory around %%rbx differs"), false;
	if (memcmp(a->stack, b->stack, sizeof(a->stack)))
		return snprintf(why, size, "the stack differs"), false;
	return true;
}

/* Every trial of an emulated case: native and emulated outcomes agree. */
static bool emulation_matches(const struct xc_case *c, struct xc_env *env, char *why,
			      size_t size)
{
	struct mm_struct mm = { .is64 = true };
	static uint8_t image[XC_ARENA];
	struct xc_result native, emulated;
	struct arch_uprobe aup = { };
	struct xc_regs_buf buf, start;
	unsigned int t, declined = 0;
	unsigned long global, ip;
	uint8_t *page;

	memcpy(aup.insn, c->insn, sizeof(aup.insn));
	if (arch_uprobe_analyze_insn(&aup, &mm, 0) || !aup.ops)
		return true;		/* not emulated: the CPU runs it, nothing to compare */
	for (t = 0; t < XC_TRIALS; t++) {
		page = env->arena + (size_t)t * XC_ARENA;
		if (xc_prepare(c, t, env, &start))
			return snprintf(why, size, "cannot prepare trial %u", t), false;
		memcpy(image, page, XC_ARENA);
		global = xc_global;
		buf = start;
		xc_run(c, t, env, &buf, &native);

		memcpy(page, image, XC_ARENA);
		xc_global = global;
		buf = start;
		if (!emulate_trial(c, &aup, &buf, &ip)) {
			declined++;
			continue;
		}
		xc_run_from(c, t, env, &buf, (void *)ip, &emulated);
		if (!same_outcome(&native, &emulated, why, size))
			return false;
	}
	if (declined == XC_TRIALS)
		return snprintf(why, size, "the emulation declined every trial"), false;
	return true;
}

static char *read_file(const char *path)
{
	static char text[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	return text;
}

int main(int argc, char **argv)
{
	struct xc_env env = { .kind = XA_PRIVATE };
	const char *golden = NULL;
	unsigned int i, failed = 0;
	char line[240], why[600];

	if (argc == 2 && !strcmp(argv[1], "-w")) {
		for (i = 0; i < xc_nr_cases; i++) {
			describe(&xc_cases[i], line, sizeof(line));
			printf("%s\n", line);
		}
		return 0;
	}
	if (argc == 2)
		golden = read_file(argv[1]);
	if (!golden) {
		fprintf(stderr, "usage: %s GOLDEN | -w\n", argv[0]);
		return 2;
	}
	env.arena = mmap(NULL, XC_TRIALS * XC_ARENA, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (env.arena == MAP_FAILED || xc_signals_init()) {
		perror("x86_analysis: setup");
		return 1;
	}
	printf("TAP version 13\n1..%u\n", xc_nr_cases);
	for (i = 0; i < xc_nr_cases; i++) {
		const struct xc_case *c = &xc_cases[i];
		const char *want;
		size_t len = 0;
		bool ok = true;

		describe(c, line, sizeof(line));
		want = golden_line(golden, c->name, &len);
		if (!want) {
			snprintf(why, sizeof(why), "not in the table: %s", line);
			ok = false;
		} else if (strlen(line) != len || strncmp(line, want, len)) {
			snprintf(why, sizeof(why), "analysis now: %s; table: %.*s", line, (int)len,
				 want);
			ok = false;
		} else {
			ok = emulation_matches(c, &env, why, sizeof(why));
		}
		if (!ok) {
			printf("# %s: %s\n", c->name, why);
			failed++;
		}
		printf("%s %u %s\n", ok ? "ok" : "not ok", i + 1, c->name);
	}
	printf("# %u of %u cases failed\n", failed, xc_nr_cases);
	return failed ? 1 : 0;
}
