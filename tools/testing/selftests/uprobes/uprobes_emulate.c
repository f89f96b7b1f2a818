// SPDX-License-Identifier: GPL-2.0
/*
 * Emulated instructions must be exact. Each case below is one instruction in a
 * wrapper that loads every general register and the flags from a state, runs the
 * instruction, and stores every register, the flags and the stack pointer back. The
 * same random states run unprobed (the CPU's answer) and with a probe on the
 * instruction (the kernel's, emulated or stepped), and the registers, flags, the
 * state's memory and stack, and a global must all come out the same.
 *
 * The list holds every kind the x86 analysis emulates, in each of its operand forms
 * (register, memory, RIP-relative, SIB, fs-relative, immediates, every width), and a
 * few it leaves to the single-step, as controls. The probed runs happen in a child
 * process, which must end without an XOL area ("[uprobes]" in its maps) exactly
 * when the instruction is one we emulate: a single-step needs the area, an
 * emulation never does. Cases on a page that is not present must agree too, whether
 * the kernel faults the page in and emulates or falls back to stepping the
 * instruction: for them the XOL area is not checked.
 *
 * Each case is a variant of the fixture ("emulate.CASE.native_and_probed_agree"): its
 * own result line, and a failing case leaves the others to run.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#define NR_TRIALS	12

/* The registers in encoding order: rax rcx rdx rbx rsp rbp rsi rdi r8-r15. */
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

struct emu_state {
	uint64_t gpr[16];
	uint64_t flags;
	uint64_t global;		/* emu_global after the instruction */
	uint8_t mem[128];		/* %rbx points at its middle */
	uint64_t stack[32];		/* %rsp points at its middle */
	uint8_t fresh[128];		/* the not-present page, after the instruction */
};

/* The wrapper's view of struct emu_state, checked below. */
#define ST_FLAGS	128
#define ST_GLOBAL	136

_Static_assert(offsetof(struct emu_state, flags) == ST_FLAGS, "asm layout");
_Static_assert(offsetof(struct emu_state, global) == ST_GLOBAL, "asm layout");

#ifdef __x86_64__
#define STR_(x)		#x
#define STR(x)		STR_(x)

/* EMU_ENTER/EMU_EXIT: load and store the whole state around the instruction. */
asm(".data\n"
	".balign 8\n"
	"emu_state_ptr:	.quad 0\n"
	"emu_host_rsp:	.quad 0\n"
	"emu_saved_rdi:	.quad 0\n"
	".globl emu_global\n"
	"emu_global:	.quad 0\n"
	".text\n"
	".macro EMU_ENTER\n"
	"	push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	"	mov %rsp, emu_host_rsp(%rip)\n"
	"	mov %rdi, emu_state_ptr(%rip)\n"
	"	mov 8*4(%rdi), %rsp\n"
	"	pushq " STR(ST_FLAGS) "(%rdi); popfq\n"
	"	mov 8*0(%rdi), %rax; mov 8*1(%rdi), %rcx; mov 8*2(%rdi), %rdx\n"
	"	mov 8*3(%rdi), %rbx; mov 8*5(%rdi), %rbp; mov 8*6(%rdi), %rsi\n"
	"	mov 8*8(%rdi), %r8; mov 8*9(%rdi), %r9; mov 8*10(%rdi), %r10\n"
	"	mov 8*11(%rdi), %r11; mov 8*12(%rdi), %r12; mov 8*13(%rdi), %r13\n"
	"	mov 8*14(%rdi), %r14; mov 8*15(%rdi), %r15; mov 8*7(%rdi), %rdi\n"
	".endm\n"
	".macro EMU_EXIT\n"
	"	mov %rdi, emu_saved_rdi(%rip)\n"
	"	mov emu_state_ptr(%rip), %rdi\n"
	"	mov %rsp, 8*4(%rdi)\n"
	"	mov emu_host_rsp(%rip), %rsp\n"
	"	pushfq; popq " STR(ST_FLAGS) "(%rdi)\n"
	"	mov %rax, 8*0(%rdi); mov %rcx, 8*1(%rdi); mov %rdx, 8*2(%rdi)\n"
	"	mov %rbx, 8*3(%rdi); mov %rbp, 8*5(%rdi); mov %rsi, 8*6(%rdi)\n"
	"	mov %r8, 8*8(%rdi); mov %r9, 8*9(%rdi); mov %r10, 8*10(%rdi)\n"
	"	mov %r11, 8*11(%rdi); mov %r12, 8*12(%rdi); mov %r13, 8*13(%rdi)\n"
	"	mov %r14, 8*14(%rdi); mov %r15, 8*15(%rdi)\n"
	"	mov emu_saved_rdi(%rip), %rax; mov %rax, 8*7(%rdi)\n"
	"	mov emu_global(%rip), %rax; mov %rax, " STR(ST_GLOBAL) "(%rdi)\n"
	"	pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
	"	ret\n"
	".endm\n");

/*
 * One case: emu_NAME(state) runs INSN at the global label emu_NAME_insn; control
 * reaches emu_NAME_after whether or not INSN branches (a ret finds that address on
 * the stack, a jump or loop targets it, the path not taken marks the memory).
 */
#define EMU_CASE(name, insn)						\
	asm(".text\n"							\
	    ".globl emu_" #name "\n"					\
	    ".type emu_" #name ", @function\n"				\
	    "emu_" #name ":\n"						\
	    "	EMU_ENTER\n"						\
	    ".globl emu_" #name "_insn\n"				\
	    "emu_" #name "_insn:\n"					\
	    "	" insn "\n"						\
	    ".globl emu_" #name "_after\n"				\
	    "emu_" #name "_after:\n"					\
	    "	EMU_EXIT\n"						\
	    ".size emu_" #name ", . - emu_" #name "\n");		\
	void emu_##name(struct emu_state *st);				\
	extern char emu_##name##_after[]

/* Moves between registers, every width, and immediates. */
EMU_CASE(mov_rr64, "mov %rdi, %rax");
EMU_CASE(mov_rr32, "mov %esi, %r9d");
EMU_CASE(mov_rr16, "mov %si, %ax");
EMU_CASE(mov_rr8, "mov %sil, %r10b");
EMU_CASE(mov_rr8_high, "mov %ah, %bl");
EMU_CASE(mov_imm32, "mov $0x12345678, %eax");
EMU_CASE(mov_imm64, "movabs $0x1122334455667788, %r9");
EMU_CASE(mov_imm8, "mov $0x9c, %cl");
EMU_CASE(mov_imm_sx, "mov $-2, %rdx");
/* Loads and stores: base, base+index*scale, RIP-relative, fs. */
EMU_CASE(mov_load, "mov 0x8(%rbx), %rcx");
EMU_CASE(mov_load_sib, "mov -0x10(%rbx,%r12,8), %rdx");
EMU_CASE(mov_load32, "mov 0x4(%rbx), %r11d");
EMU_CASE(mov_load8, "mov -0x3(%rbx), %dl");
EMU_CASE(mov_store, "mov %rsi, 0x10(%rbx)");
EMU_CASE(mov_store16, "mov %di, 0x6(%rbx)");
EMU_CASE(mov_store8, "mov %dil, 0x3(%rbx)");
EMU_CASE(mov_store_stack, "mov %rdi, -0x8(%rsp)");
EMU_CASE(mov_load_stack, "mov 0x8(%rsp), %rax");
EMU_CASE(mov_imm_mem64, "movq $-5, 0x18(%rbx)");
EMU_CASE(mov_imm_mem32, "movl $0x12345678, 0x4(%rbx,%r12,4)");
EMU_CASE(mov_imm_mem8, "movb $0x7f, (%rbx)");
EMU_CASE(riprel_load, "mov emu_global(%rip), %rax");
EMU_CASE(riprel_store, "mov %rcx, emu_global(%rip)");
EMU_CASE(fs_load, "mov %fs:0x28, %rax");
EMU_CASE(fs_self, "mov %fs:0, %rcx");
/* Extending moves. */
EMU_CASE(movzbl, "movzbl (%rbx), %eax");
EMU_CASE(movzwl, "movzwl 0x2(%rbx), %ecx");
EMU_CASE(movsbl, "movsbl %sil, %edx");
EMU_CASE(movswq, "movswq %di, %rax");
EMU_CASE(movslq, "movslq %esi, %rax");
EMU_CASE(movsbq_mem, "movsbq 0x1(%rbx), %r11");
/* Address arithmetic. */
EMU_CASE(lea, "lea 0x8(%rdi), %rax");
EMU_CASE(lea_sib32, "lea (%rdi,%rsi,4), %ecx");
EMU_CASE(lea_index, "lea -0x1(%rsi,%rdi,1), %r10d");
EMU_CASE(lea_rip, "lea emu_global(%rip), %rax");
EMU_CASE(lea_noindex, "lea 0x40(,%rsi,8), %rdx");
/* Arithmetic and compares, with their flags. */
EMU_CASE(sub_rsp, "sub $0x18, %rsp");
EMU_CASE(add_rsp, "add $0x18, %rsp");
EMU_CASE(and_rsp, "and $-16, %rsp");
EMU_CASE(xor32, "xor %eax, %eax");
EMU_CASE(xor_r8, "xor %r8d, %r9d");
EMU_CASE(test64, "test %rdi, %rdi");
EMU_CASE(test8, "test %sil, %sil");
EMU_CASE(test_mem_imm, "testb $0x4, 0x2(%rbx)");
EMU_CASE(test_al_imm, "test $0x80, %al");
EMU_CASE(test_eax_imm, "test $0x1000, %eax");
EMU_CASE(cmp_rr, "cmp %rsi, %rdi");
EMU_CASE(cmp_imm8, "cmp $0x7, %edi");
EMU_CASE(cmp_imm32, "cmp $0x1234, %esi");
EMU_CASE(cmpb_mem, "cmpb $0x2f, (%rbx)");
EMU_CASE(cmp_r8, "cmp %al, %cl");
EMU_CASE(cmp_load, "cmp 0x8(%rbx), %rax");
EMU_CASE(cmpq_rip, "cmpq $0x0, emu_global(%rip)");
EMU_CASE(cmp_ax_imm, "cmp $0x55, %ax");
EMU_CASE(add_rr, "add %rsi, %rdi");
EMU_CASE(add_imm, "add $-1, %eax");
EMU_CASE(add_mem, "add %ecx, 0x4(%rbx)");
EMU_CASE(add_al, "add $0x80, %al");
EMU_CASE(sub16, "sub %ax, %cx");
EMU_CASE(or8, "or $0x1, %dl");
EMU_CASE(or_mem, "or %rdx, 0x8(%rbx)");
EMU_CASE(and_rr, "and %esi, %edi");
EMU_CASE(xor_load, "xor 0x10(%rbx), %r13");
/* The stack. */
EMU_CASE(push_rbp, "push %rbp");
EMU_CASE(push_r12, "push %r12");
EMU_CASE(push_imm8, "push $0x12");
EMU_CASE(push_imm32, "push $-0x12345");
EMU_CASE(pushf, "pushfq");
EMU_CASE(pop_rax, "pop %rax");
EMU_CASE(pop_r14, "pop %r14");
EMU_CASE(leave, "leave");
EMU_CASE(ret, "ret");
EMU_CASE(ret_imm, "ret $0x10");
EMU_CASE(rep_ret, "rep ret");
/* Branches: the path not taken marks the memory. */
EMU_CASE(jz, "jz 1f; movb $1, (%rbx); 1:");
EMU_CASE(jg32, "jg emu_jg32_after; .skip 0x90, 0x90; movb $1, (%rbx)");
EMU_CASE(jmp, "jmp 1f; movb $1, (%rbx); 1:");
EMU_CASE(loop, "loop 1f; movb $1, (%rbx); 1:");
EMU_CASE(call, "call 1f; 1:");
/* Emulated kinds on a page that is not present: they fall back to the step. */
EMU_CASE(fresh_load, "mov 0x8(%rbx), %rcx");
EMU_CASE(fresh_store, "mov %rsi, 0x10(%rbx)");
/* Controls, stepped: no emulation, same answers. */
EMU_CASE(adc, "adc %rsi, %rdi");
EMU_CASE(imul, "imul %rsi, %rdi");
EMU_CASE(lock_add, "lock add %esi, 0x8(%rbx)");
EMU_CASE(shl, "shl $3, %rdi");
/* A VEX opcode with the bytes of a legacy jcc: a vector instruction, probed and stepped. */
EMU_CASE(vzeroupper, "vzeroupper");

struct emu_case {
	const char *name;
	void (*run)(struct emu_state *st);
	void *after;
	unsigned int needs;
	bool stepped;		/* a control: the kernel single-steps it */
	bool either;		/* emulated or stepped, both are right */
};

/* What a case needs beyond random registers. */
#define NEEDS_RET	0x1	/* the return address on top of the stack */
#define NEEDS_FRAME	0x2	/* %rbp pointing at a frame in the stack */
#define NEEDS_COUNT	0x4	/* a small loop count in %rcx */
#define NEEDS_FRESH	0x8	/* %rbx in a page that is not present */

/* One state for both runs, so that pointers into it are the same in both. */
static struct emu_state state;
static uint8_t *fresh_page;		/* private anonymous, emptied before each trial */

#define ARITH_FLAGS	0x8d5UL		/* CF PF AF ZF SF OF */

static uint64_t rand64(void)
{
	return (uint64_t)random() << 62 ^ (uint64_t)random() << 31 ^ random();
}

/* Trial @trial of @c: random registers, flags, memory and stack from a fixed seed. */
static void fill_state(const struct emu_case *c, unsigned int trial)
{
	unsigned int i;

	srandom(trial * 7919 + 17);
	for (i = 0; i < 16; i++) {
		/* Small, large, negative and zero values all turn up. */
		switch (random() % 4) {
		case 0:
			state.gpr[i] = random() % 256;
			break;
		case 1:
			state.gpr[i] = -(uint64_t)(random() % 70000);
			break;
		default:
			state.gpr[i] = rand64();
		}
	}
	if (trial == 0)
		state.gpr[RSI] = state.gpr[RDI] = 0;	/* zero flags, equal operands */
	for (i = 0; i < sizeof(state.mem); i++)
		state.mem[i] = random();
	for (i = 0; i < ARRAY_SIZE(state.stack); i++)
		state.stack[i] = rand64();
	state.flags = 0x2 | (rand64() & ARITH_FLAGS);
	state.gpr[RBX] = (uintptr_t)&state.mem[64];
	state.gpr[RSP] = (uintptr_t)&state.stack[16];
	state.gpr[R12] = random() % 8;			/* an index into mem */
	if (c->needs & NEEDS_RET)
		state.stack[16] = (uintptr_t)c->after;
	if (c->needs & NEEDS_FRAME)
		state.gpr[RBP] = (uintptr_t)&state.stack[20];
	if (c->needs & NEEDS_COUNT)
		state.gpr[RCX] = random() % 3;
	if (c->needs & NEEDS_FRESH) {
		madvise(fresh_page, getpagesize(), MADV_DONTNEED);
		state.gpr[RBX] = (uintptr_t)fresh_page + 64;
	}
	state.global = 0;
	asm volatile("movq %0, emu_global(%%rip)" : : "r" (rand64()) : "memory");
}

/* Run every trial of @c; the results into @out. */
static void run_trials(const struct emu_case *c, struct emu_state *out)
{
	unsigned int t;

	for (t = 0; t < NR_TRIALS; t++) {
		fill_state(c, t);
		c->run(&state);
		memcpy(state.fresh, fresh_page, sizeof(state.fresh));
		out[t] = state;
	}
}

static const char *const gpr_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/*
 * The probed trials of @c, in a child so that its XOL area tells whether anything
 * was stepped: results into @out (shared memory), and whether the area exists.
 */
static int run_probed(const struct emu_case *c, struct emu_state *out, bool *has_xol)
{
	int status, maps;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		run_trials(c, out);
		maps = count_maps("[uprobes]");
		_exit(maps < 0 ? 2 : maps > 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) > 1)
		return -1;
	*has_xol = WEXITSTATUS(status);
	return 0;
}

/* Log each difference between two results; the number of differences. */
static int compare(struct __test_metadata *_metadata, const char *name, unsigned int trial,
		   const struct emu_state *native, const struct emu_state *probed)
{
	int diffs = 0;
	unsigned int i;

	for (i = 0; i < 16; i++) {
		if (native->gpr[i] == probed->gpr[i])
			continue;
		TH_LOG("%s trial %u: %%%s native %#lx probed %#lx", name, trial, gpr_names[i],
		       (unsigned long)native->gpr[i], (unsigned long)probed->gpr[i]);
		diffs++;
	}
	if (native->flags != probed->flags) {
		TH_LOG("%s trial %u: flags native %#lx probed %#lx", name, trial,
		       (unsigned long)native->flags, (unsigned long)probed->flags);
		diffs++;
	}
	if (native->global != probed->global) {
		TH_LOG("%s trial %u: emu_global native %#lx probed %#lx", name, trial,
		       (unsigned long)native->global, (unsigned long)probed->global);
		diffs++;
	}
	if (memcmp(native->mem, probed->mem, sizeof(native->mem))) {
		TH_LOG("%s trial %u: memory differs", name, trial);
		diffs++;
	}
	if (memcmp(native->fresh, probed->fresh, sizeof(native->fresh))) {
		TH_LOG("%s trial %u: the fresh page differs", name, trial);
		diffs++;
	}
	if (memcmp(native->stack, probed->stack, sizeof(native->stack))) {
		TH_LOG("%s trial %u: stack differs", name, trial);
		diffs++;
	}
	return diffs;
}
#endif /* __x86_64__ */

FIXTURE(emulate) {
	const char *exe;
};

#ifdef __x86_64__
FIXTURE_VARIANT(emulate) {
	struct emu_case c;
};

#define CASE(n, needs) { #n, emu_##n, emu_##n##_after, needs, false, false }
#define CONTROL(n) { #n, emu_##n, emu_##n##_after, 0, true, false }
#define FALLBACK(n) { #n, emu_##n, emu_##n##_after, NEEDS_FRESH, false, true }

/* Each case is a variant of the fixture: a test line of its own. */
FIXTURE_VARIANT_ADD(emulate, mov_rr64) { .c = CASE(mov_rr64, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_rr32) { .c = CASE(mov_rr32, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_rr16) { .c = CASE(mov_rr16, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_rr8) { .c = CASE(mov_rr8, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_rr8_high) { .c = CONTROL(mov_rr8_high) };
FIXTURE_VARIANT_ADD(emulate, mov_imm32) { .c = CASE(mov_imm32, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_imm64) { .c = CASE(mov_imm64, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_imm8) { .c = CASE(mov_imm8, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_imm_sx) { .c = CASE(mov_imm_sx, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_load) { .c = CASE(mov_load, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_load_sib) { .c = CASE(mov_load_sib, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_load32) { .c = CASE(mov_load32, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_load8) { .c = CASE(mov_load8, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_store) { .c = CASE(mov_store, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_store16) { .c = CASE(mov_store16, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_store8) { .c = CASE(mov_store8, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_store_stack) { .c = CASE(mov_store_stack, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_load_stack) { .c = CASE(mov_load_stack, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_imm_mem64) { .c = CASE(mov_imm_mem64, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_imm_mem32) { .c = CASE(mov_imm_mem32, 0) };
FIXTURE_VARIANT_ADD(emulate, mov_imm_mem8) { .c = CASE(mov_imm_mem8, 0) };
FIXTURE_VARIANT_ADD(emulate, riprel_load) { .c = CASE(riprel_load, 0) };
FIXTURE_VARIANT_ADD(emulate, riprel_store) { .c = CASE(riprel_store, 0) };
FIXTURE_VARIANT_ADD(emulate, fs_load) { .c = CASE(fs_load, 0) };
FIXTURE_VARIANT_ADD(emulate, fs_self) { .c = CASE(fs_self, 0) };
FIXTURE_VARIANT_ADD(emulate, movzbl) { .c = CASE(movzbl, 0) };
FIXTURE_VARIANT_ADD(emulate, movzwl) { .c = CASE(movzwl, 0) };
FIXTURE_VARIANT_ADD(emulate, movsbl) { .c = CASE(movsbl, 0) };
FIXTURE_VARIANT_ADD(emulate, movswq) { .c = CASE(movswq, 0) };
FIXTURE_VARIANT_ADD(emulate, movslq) { .c = CASE(movslq, 0) };
FIXTURE_VARIANT_ADD(emulate, movsbq_mem) { .c = CASE(movsbq_mem, 0) };
FIXTURE_VARIANT_ADD(emulate, lea) { .c = CASE(lea, 0) };
FIXTURE_VARIANT_ADD(emulate, lea_sib32) { .c = CASE(lea_sib32, 0) };
FIXTURE_VARIANT_ADD(emulate, lea_index) { .c = CASE(lea_index, 0) };
FIXTURE_VARIANT_ADD(emulate, lea_rip) { .c = CASE(lea_rip, 0) };
FIXTURE_VARIANT_ADD(emulate, lea_noindex) { .c = CASE(lea_noindex, 0) };
FIXTURE_VARIANT_ADD(emulate, sub_rsp) { .c = CASE(sub_rsp, 0) };
FIXTURE_VARIANT_ADD(emulate, add_rsp) { .c = CASE(add_rsp, 0) };
FIXTURE_VARIANT_ADD(emulate, and_rsp) { .c = CASE(and_rsp, 0) };
FIXTURE_VARIANT_ADD(emulate, xor32) { .c = CASE(xor32, 0) };
FIXTURE_VARIANT_ADD(emulate, xor_r8) { .c = CASE(xor_r8, 0) };
FIXTURE_VARIANT_ADD(emulate, test64) { .c = CASE(test64, 0) };
FIXTURE_VARIANT_ADD(emulate, test8) { .c = CASE(test8, 0) };
FIXTURE_VARIANT_ADD(emulate, test_mem_imm) { .c = CASE(test_mem_imm, 0) };
FIXTURE_VARIANT_ADD(emulate, test_al_imm) { .c = CASE(test_al_imm, 0) };
FIXTURE_VARIANT_ADD(emulate, test_eax_imm) { .c = CASE(test_eax_imm, 0) };
FIXTURE_VARIANT_ADD(emulate, cmp_rr) { .c = CASE(cmp_rr, 0) };
FIXTURE_VARIANT_ADD(emulate, cmp_imm8) { .c = CASE(cmp_imm8, 0) };
FIXTURE_VARIANT_ADD(emulate, cmp_imm32) { .c = CASE(cmp_imm32, 0) };
FIXTURE_VARIANT_ADD(emulate, cmpb_mem) { .c = CASE(cmpb_mem, 0) };
FIXTURE_VARIANT_ADD(emulate, cmp_r8) { .c = CASE(cmp_r8, 0) };
FIXTURE_VARIANT_ADD(emulate, cmp_load) { .c = CASE(cmp_load, 0) };
FIXTURE_VARIANT_ADD(emulate, cmpq_rip) { .c = CASE(cmpq_rip, 0) };
FIXTURE_VARIANT_ADD(emulate, cmp_ax_imm) { .c = CASE(cmp_ax_imm, 0) };
FIXTURE_VARIANT_ADD(emulate, add_rr) { .c = CASE(add_rr, 0) };
FIXTURE_VARIANT_ADD(emulate, add_imm) { .c = CASE(add_imm, 0) };
FIXTURE_VARIANT_ADD(emulate, add_mem) { .c = CASE(add_mem, 0) };
FIXTURE_VARIANT_ADD(emulate, add_al) { .c = CASE(add_al, 0) };
FIXTURE_VARIANT_ADD(emulate, sub16) { .c = CASE(sub16, 0) };
FIXTURE_VARIANT_ADD(emulate, or8) { .c = CASE(or8, 0) };
FIXTURE_VARIANT_ADD(emulate, or_mem) { .c = CASE(or_mem, 0) };
FIXTURE_VARIANT_ADD(emulate, and_rr) { .c = CASE(and_rr, 0) };
FIXTURE_VARIANT_ADD(emulate, xor_load) { .c = CASE(xor_load, 0) };
FIXTURE_VARIANT_ADD(emulate, push_rbp) { .c = CASE(push_rbp, 0) };
FIXTURE_VARIANT_ADD(emulate, push_r12) { .c = CASE(push_r12, 0) };
FIXTURE_VARIANT_ADD(emulate, push_imm8) { .c = CASE(push_imm8, 0) };
FIXTURE_VARIANT_ADD(emulate, push_imm32) { .c = CASE(push_imm32, 0) };
FIXTURE_VARIANT_ADD(emulate, pushf) { .c = CASE(pushf, 0) };
FIXTURE_VARIANT_ADD(emulate, pop_rax) { .c = CASE(pop_rax, 0) };
FIXTURE_VARIANT_ADD(emulate, pop_r14) { .c = CASE(pop_r14, 0) };
FIXTURE_VARIANT_ADD(emulate, leave) { .c = CASE(leave, NEEDS_FRAME) };
FIXTURE_VARIANT_ADD(emulate, ret) { .c = CASE(ret, NEEDS_RET) };
FIXTURE_VARIANT_ADD(emulate, ret_imm) { .c = CASE(ret_imm, NEEDS_RET) };
FIXTURE_VARIANT_ADD(emulate, rep_ret) { .c = CASE(rep_ret, NEEDS_RET) };
FIXTURE_VARIANT_ADD(emulate, jz) { .c = CASE(jz, 0) };
FIXTURE_VARIANT_ADD(emulate, jg32) { .c = CASE(jg32, 0) };
FIXTURE_VARIANT_ADD(emulate, jmp) { .c = CASE(jmp, 0) };
FIXTURE_VARIANT_ADD(emulate, loop) { .c = CASE(loop, NEEDS_COUNT) };
FIXTURE_VARIANT_ADD(emulate, call) { .c = CASE(call, 0) };
FIXTURE_VARIANT_ADD(emulate, fresh_load) { .c = FALLBACK(fresh_load) };
FIXTURE_VARIANT_ADD(emulate, fresh_store) { .c = FALLBACK(fresh_store) };
FIXTURE_VARIANT_ADD(emulate, adc) { .c = CONTROL(adc) };
FIXTURE_VARIANT_ADD(emulate, imul) { .c = CONTROL(imul) };
FIXTURE_VARIANT_ADD(emulate, lock_add) { .c = CONTROL(lock_add) };
FIXTURE_VARIANT_ADD(emulate, shl) { .c = CONTROL(shl) };
FIXTURE_VARIANT_ADD(emulate, vzeroupper) { .c = CONTROL(vzeroupper) };
#endif /* __x86_64__ */

FIXTURE_SETUP(emulate)
{
#ifndef __x86_64__
	SKIP(return, "the instruction cases are x86-64");
#endif
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(emulate)
{
	EXPECT_EQ(0, probe_remove_all());
}

/*
 * The case unprobed, then probed: identical registers, flags and memory, and one hit
 * per run (so the probe really sat on the instruction).
 */
TEST_F_TIMEOUT(emulate, native_and_probed_agree, 60)
{
#ifdef __x86_64__
	static struct emu_state native[NR_TRIALS];
	const struct emu_case *c = &variant->c;
	struct emu_state *probed;
	unsigned int t;
	int diffs = 0;
	bool has_xol;
	char sym[64];
	long off;

	probed = mmap(NULL, sizeof(*probed) * NR_TRIALS, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, probed);
	fresh_page = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, fresh_page);

	run_trials(c, native);
	/* The CPU is deterministic: a second native run is the same. */
	run_trials(c, probed);
	for (t = 0; t < NR_TRIALS; t++) {
		ASSERT_EQ(0, compare(_metadata, c->name, t, &native[t], &probed[t]));
	}

	snprintf(sym, sizeof(sym), "emu_%s_insn", c->name);
	off = elf_sym_offset(self->exe, sym);
	ASSERT_LT(0, off);
	ASSERT_EQ(0, probe_add("p:%s/emu_%s %s:0x%lx", PROBE_GROUP, c->name, self->exe, off));
	snprintf(sym, sizeof(sym), "emu_%s", c->name);
	ASSERT_EQ(0, probe_enable(sym, true)) {
		TH_LOG("%s: the kernel refuses the probe", c->name);
	}
	ASSERT_EQ(0, run_probed(c, probed, &has_xol));
	ASSERT_EQ(0, probe_enable(sym, false));
	if (!c->either)
		EXPECT_EQ(c->stepped, has_xol) {
			TH_LOG("%s: %s", c->name, c->stepped ?
			       "expected a single-step" : "stepped, not emulated");
		}
	EXPECT_EQ(NR_TRIALS, probe_hits(sym)) {
		TH_LOG("%s: the probe did not count each run", c->name);
	}
	ASSERT_EQ(0, probe_del(sym));
	for (t = 0; t < NR_TRIALS; t++)
		diffs += compare(_metadata, c->name, t, &native[t], &probed[t]);
	munmap(probed, sizeof(*probed) * NR_TRIALS);
	munmap(fresh_page, getpagesize());
	EXPECT_EQ(0, diffs);
#endif
}

TEST_HARNESS_MAIN
