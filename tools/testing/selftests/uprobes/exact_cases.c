// SPDX-License-Identifier: GPL-2.0
/*
 * The instruction corpus of the differential exactness test (uprobes_exact.c), one
 * list for 64-bit code and one for 32-bit code (this file is built with -m32 for the
 * helper exact32). Each case is one instruction in a wrapper that loads every general
 * register and the flags from a state, runs it, and stores them back.
 *
 * The corpus is not the list of classes: at build time exact_classify runs the
 * kernel's own analysis (arch/x86/kernel/uprobes/decode.c and emulate.c, compiled
 * in user space) over the bytes at each xc_NAME_insn and writes exact_classes.h,
 * which says which ops and fix-ups each case gets and lists every ops table and
 * fix-up the analysis has; the test fails for any of them that no case reaches.
 *
 * The 5- and 6-byte nops are spelled as bytes: the assembler would shorten them.
 *
 * Conventions the situations rely on: a memory operand is 0x8(%rbx) (8 bytes) or
 * 0x3(%rbx) (a byte), the stack is touched at -8(%rsp) or (%rsp), RIP-relative
 * operands name xc_global; a watchpoint on each of those sees every access.
 */
#include <stddef.h>

#include "uprobes_exact.h"

#define STR_(x)		#x
#define STR(x)		STR_(x)

#ifdef __x86_64__
/* struct xc_regs64: gpr[16] then flags; the wrapper's view. */
asm(".data\n"
	".balign 8\n"
	"xc_state_ptr:	.quad 0\n"
	"xc_host_sp:	.quad 0\n"
	"xc_saved_di:	.quad 0\n"
	".globl xc_global\n"
	"xc_global:	.quad 0\n"
	".text\n"
	".macro XC_ENTER\n"
	"	push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	"	mov %rsp, xc_host_sp(%rip)\n"
	"	mov %rdi, xc_state_ptr(%rip)\n"
	"	mov 8*4(%rdi), %rsp\n"
	"	pushq 8*16(%rdi); popfq\n"
	"	mov 8*0(%rdi), %rax; mov 8*1(%rdi), %rcx; mov 8*2(%rdi), %rdx\n"
	"	mov 8*3(%rdi), %rbx; mov 8*5(%rdi), %rbp; mov 8*6(%rdi), %rsi\n"
	"	mov 8*8(%rdi), %r8; mov 8*9(%rdi), %r9; mov 8*10(%rdi), %r10\n"
	"	mov 8*11(%rdi), %r11; mov 8*12(%rdi), %r12; mov 8*13(%rdi), %r13\n"
	"	mov 8*14(%rdi), %r14; mov 8*15(%rdi), %r15; mov 8*7(%rdi), %rdi\n"
	".endm\n"
	/* AC must not leak into the C code after the wrapper. */
	".macro XC_EXIT\n"
	"	mov %rdi, xc_saved_di(%rip)\n"
	"	mov xc_state_ptr(%rip), %rdi\n"
	"	mov %rsp, 8*4(%rdi)\n"
	"	mov xc_host_sp(%rip), %rsp\n"
	"	pushfq; popq 8*16(%rdi)\n"
	"	pushfq; andl $~0x40000, (%rsp); popfq\n"
	"	mov %rax, 8*0(%rdi); mov %rcx, 8*1(%rdi); mov %rdx, 8*2(%rdi)\n"
	"	mov %rbx, 8*3(%rdi); mov %rbp, 8*5(%rdi); mov %rsi, 8*6(%rdi)\n"
	"	mov %r8, 8*8(%rdi); mov %r9, 8*9(%rdi); mov %r10, 8*10(%rdi)\n"
	"	mov %r11, 8*11(%rdi); mov %r12, 8*12(%rdi); mov %r13, 8*13(%rdi)\n"
	"	mov %r14, 8*14(%rdi); mov %r15, 8*15(%rdi)\n"
	"	mov xc_saved_di(%rip), %rax; mov %rax, 8*7(%rdi)\n"
	"	pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
	"	ret\n"
	".endm\n"
	/*
	 * xc_resume(regs, ip): load the state as XC_ENTER does, but go on at ip inside
	 * a wrapper instead of at its first instruction: the host-side analysis test runs
	 * the rest of a case natively after its instruction was emulated. The flags are
	 * loaded on our own stack, so that the case's stack stays as the emulation left
	 * it (XC_ENTER's push below the case's stack pointer happened before).
	 */
	".data\n"
	"xc_resume_ip:	.quad 0\n"
	".text\n"
	".globl xc_resume\n"
	".type xc_resume, @function\n"
	"xc_resume:\n"
	"	push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	"	mov %rsp, xc_host_sp(%rip)\n"
	"	mov %rdi, xc_state_ptr(%rip)\n"
	"	mov %rsi, xc_resume_ip(%rip)\n"
	"	pushq 8*16(%rdi); popfq\n"
	"	mov 8*4(%rdi), %rsp\n"
	"	mov 8*0(%rdi), %rax; mov 8*1(%rdi), %rcx; mov 8*2(%rdi), %rdx\n"
	"	mov 8*3(%rdi), %rbx; mov 8*5(%rdi), %rbp; mov 8*6(%rdi), %rsi\n"
	"	mov 8*8(%rdi), %r8; mov 8*9(%rdi), %r9; mov 8*10(%rdi), %r10\n"
	"	mov 8*11(%rdi), %r11; mov 8*12(%rdi), %r12; mov 8*13(%rdi), %r13\n"
	"	mov 8*14(%rdi), %r14; mov 8*15(%rdi), %r15; mov 8*7(%rdi), %rdi\n"
	"	jmp *xc_resume_ip(%rip)\n"
	".size xc_resume, . - xc_resume\n");

/* name, instruction(s), needs. The first instruction is the probed one. */
#define XC_CASES(X)							\
	X(nop, "nop", 0)						\
	X(nop5, ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00", 0)	\
	X(nopw6, ".byte 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00", 0)	\
	X(endbr64, "endbr64", 0)					\
	X(push_rbp, "push %rbp", 0)					\
	X(push_r12, "push %r12", 0)					\
	X(push_r8, "push %r8", 0)					\
	X(push_rsp, "push %rsp", 0)					\
	X(push_imm8, "push $0x12", 0)					\
	X(push_imm32, "push $-0x12345", 0)				\
	X(pushf, "pushfq", 0)						\
	X(pop_rax, "pop %rax", 0)					\
	X(pop_r14, "pop %r14", 0)					\
	X(leave, "leave", XN_FRAME)					\
	X(ret, "ret", XN_RET)						\
	X(ret_imm, "ret $0x10", XN_RET)					\
	X(call, "call 1f; 1:", 0)					\
	X(add_mem, "add %rsi, 0x8(%rbx)", 0)				\
	X(and_mem8, "andb $0x7f, 0x3(%rbx)", 0)				\
	X(cmp_rip, "cmpq $0x0, xc_global(%rip)", 0)			\
	X(sub_rsp, "sub $0x18, %rsp", 0)				\
	X(cmp_rr, "cmp %rsi, %rdi", 0)					\
	X(test_rr, "test %rdi, %rdi", 0)				\
	X(xor32, "xor %eax, %eax", 0)					\
	X(mov_load, "mov 0x8(%rbx), %rcx", 0)				\
	X(mov_store, "mov %rsi, 0x8(%rbx)", 0)				\
	X(mov_store8, "mov %sil, 0x3(%rbx)", 0)				\
	X(mov_stack, "mov %rdi, -0x8(%rsp)", 0)				\
	X(mov_rip_load, "mov xc_global(%rip), %rax", 0)			\
	X(mov_rip_store, "mov %rcx, xc_global(%rip)", 0)		\
	X(mov_imm_mem, "movq $-5, 0x8(%rbx)", 0)			\
	X(mov_imm64, "movabs $0x1122334455667788, %r9", 0)		\
	X(mov_fs, "mov %fs:0x28, %rax", 0)				\
	X(movzbl, "movzbl 0x3(%rbx), %eax", 0)				\
	X(movslq, "movslq 0x8(%rbx), %rax", 0)				\
	X(lea, "lea 0x8(%rdi,%rsi,4), %rax", 0)				\
	X(lea_rip, "lea xc_global(%rip), %rax", 0)			\
	X(jmp, "jmp 1f; movb $1, 0x3(%rbx); 1:", 0)			\
	X(jz, "jz 1f; movb $1, 0x3(%rbx); 1:", 0)			\
	X(jg32, "jg 1f; .skip 0x90, 0x90; movb $1, 0x3(%rbx); 1:", 0)	\
	X(loop, "loop 1f; movb $1, 0x3(%rbx); 1:", XN_COUNT)		\
	X(jrcxz, "jrcxz 1f; movb $1, 0x3(%rbx); 1:", XN_COUNT)		\
	X(imul, "imul %rsi, %rdi", 0)					\
	X(adc_mem, "adc %rsi, 0x8(%rbx)", 0)				\
	X(lock_add, "lock add %esi, 0x8(%rbx)", XN_LOCKED)		\
	X(xchg_mem, "xchg %rax, 0x8(%rbx)", XN_LOCKED)			\
	X(mov_high8, "mov %ah, 0x3(%rbx)", 0)				\
	X(imul_rip, "imul xc_global(%rip), %rax", 0)			\
	X(adc_rip, "adc %rax, xc_global(%rip)", 0)			\
	X(popf, "popfq", XN_FLAGS)					\
	X(popf_tf, "popfq", XN_FLAGS | XN_TF)				\
	X(call_ind, "call *%rax", XN_TARGET)				\
	X(jmp_ind, "jmp *%rax", XN_TARGET)				\
	X(push_mem, "pushq 0x8(%rbx)", 0)				\
	X(rep_movsb, "rep movsb", XN_STRING)

#define XC_ASM(name, insn, needs)					\
	asm(".text\n"							\
	    ".globl xc_" #name "\n"					\
	    ".type xc_" #name ", @function\n"				\
	    "xc_" #name ":\n"						\
	    "	XC_ENTER\n"						\
	    ".globl xc_" #name "_insn\n"				\
	    "xc_" #name "_insn:\n"					\
	    "	" insn "\n"						\
	    ".globl xc_" #name "_after\n"				\
	    "xc_" #name "_after:\n"					\
	    "	XC_EXIT\n"						\
	    ".globl xc_" #name "_end\n"					\
	    "xc_" #name "_end:\n"					\
	    ".size xc_" #name ", . - xc_" #name "\n");
#endif /* __x86_64__ */

#ifdef __i386__
/* struct xc_regs32: gpr[8] then flags, 32 bits each. */
asm(".data\n"
	".balign 4\n"
	"xc_state_ptr:	.long 0\n"
	"xc_host_sp:	.long 0\n"
	"xc_saved_di:	.long 0\n"
	".globl xc_global\n"
	"xc_global:	.long 0\n"
	".text\n"
	".macro XC_ENTER\n"
	"	push %ebx; push %ebp; push %esi; push %edi\n"
	"	mov 20(%esp), %edi\n"
	"	mov %esp, xc_host_sp\n"
	"	mov %edi, xc_state_ptr\n"
	"	mov 4*4(%edi), %esp\n"
	"	pushl 4*8(%edi); popfl\n"
	"	mov 4*0(%edi), %eax; mov 4*1(%edi), %ecx; mov 4*2(%edi), %edx\n"
	"	mov 4*3(%edi), %ebx; mov 4*5(%edi), %ebp; mov 4*6(%edi), %esi\n"
	"	mov 4*7(%edi), %edi\n"
	".endm\n"
	".macro XC_EXIT\n"
	"	mov %edi, xc_saved_di\n"
	"	mov xc_state_ptr, %edi\n"
	"	mov %esp, 4*4(%edi)\n"
	"	mov xc_host_sp, %esp\n"
	"	pushfl; popl 4*8(%edi)\n"
	"	pushfl; andl $~0x40000, (%esp); popfl\n"
	"	mov %eax, 4*0(%edi); mov %ecx, 4*1(%edi); mov %edx, 4*2(%edi)\n"
	"	mov %ebx, 4*3(%edi); mov %ebp, 4*5(%edi); mov %esi, 4*6(%edi)\n"
	"	mov xc_saved_di, %eax; mov %eax, 4*7(%edi)\n"
	"	pop %edi; pop %esi; pop %ebp; pop %ebx\n"
	"	ret\n"
	".endm\n");

#define XC_CASES(X)							\
	X(nop, "nop", 0)						\
	X(nopl5, ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00", 0)	\
	X(endbr32, "endbr32", 0)					\
	X(push_ebp, "push %ebp", 0)					\
	X(push_esp, "push %esp", 0)					\
	X(push_imm8, "push $0x12", 0)					\
	X(pushf, "pushfl", 0)						\
	X(pop_eax, "pop %eax", 0)					\
	X(leave, "leave", XN_FRAME)					\
	X(ret, "ret", XN_RET)						\
	X(ret_imm, "ret $0x8", XN_RET)					\
	X(call, "call 1f; 1:", 0)					\
	X(add_mem, "add %esi, 0x8(%ebx)", 0)				\
	X(sub_esp, "sub $0x18, %esp", 0)				\
	X(cmp_abs, "cmpl $0x0, xc_global", 0)				\
	X(test_rr, "test %edi, %edi", 0)				\
	X(mov_load, "mov 0x8(%ebx), %ecx", 0)				\
	X(mov_store, "mov %esi, 0x8(%ebx)", 0)				\
	X(mov_abs_load, "mov xc_global, %eax", 0)			\
	X(mov_abs_store, "mov %ecx, xc_global", 0)			\
	X(movzbl, "movzbl 0x3(%ebx), %eax", 0)				\
	X(lea, "lea 0x8(%edi,%esi,4), %eax", 0)				\
	X(jmp, "jmp 1f; movb $1, 0x3(%ebx); 1:", 0)			\
	X(jz, "jz 1f; movb $1, 0x3(%ebx); 1:", 0)			\
	X(jg32, "jg 1f; .skip 0x90, 0x90; movb $1, 0x3(%ebx); 1:", 0)	\
	X(loop, "loop 1f; movb $1, 0x3(%ebx); 1:", XN_COUNT)		\
	X(jecxz, "jecxz 1f; movb $1, 0x3(%ebx); 1:", XN_COUNT)		\
	X(imul, "imul %esi, %edi", 0)					\
	X(adc_mem, "adc %esi, 0x8(%ebx)", 0)				\
	X(lock_add, "lock add %esi, 0x8(%ebx)", XN_LOCKED)		\
	X(mov_gs, "mov %gs:0x0, %eax", 0)				\
	X(popf, "popfl", XN_FLAGS)					\
	X(popf_tf, "popfl", XN_FLAGS | XN_TF)				\
	X(call_ind, "call *%eax", XN_TARGET)				\
	X(jmp_ind, "jmp *%eax", XN_TARGET)				\
	X(push_mem, "pushl 0x8(%ebx)", 0)				\
	X(rep_movsb, "rep movsb", XN_STRING)

#define XC_ASM(name, insn, needs)					\
	asm(".text\n"							\
	    ".globl xc_" #name "\n"					\
	    ".type xc_" #name ", @function\n"				\
	    "xc_" #name ":\n"						\
	    "	XC_ENTER\n"						\
	    ".globl xc_" #name "_insn\n"				\
	    "xc_" #name "_insn:\n"					\
	    "	" insn "\n"						\
	    ".globl xc_" #name "_after\n"				\
	    "xc_" #name "_after:\n"					\
	    "	XC_EXIT\n"						\
	    ".globl xc_" #name "_end\n"					\
	    "xc_" #name "_end:\n"					\
	    ".size xc_" #name ", . - xc_" #name "\n");
#endif /* __i386__ */

XC_CASES(XC_ASM)

#define XC_DECL(name, insn, needs)					\
	void xc_##name(void *regs);					\
	extern const char xc_##name##_insn[], xc_##name##_after[], xc_##name##_end[];
XC_CASES(XC_DECL)

#define XC_ENTRY(name, insn, needs)					\
	{ #name, xc_##name, xc_##name##_insn, xc_##name##_after, xc_##name##_end, needs },

const struct xc_case xc_cases[] = { XC_CASES(XC_ENTRY) };
const unsigned int xc_nr_cases = ARRAY_SIZE(xc_cases);
