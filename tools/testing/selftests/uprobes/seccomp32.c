// SPDX-License-Identifier: GPL-2.0
/*
 * An i386 program for uprobes_seccomp, run as a compat task on x86-64: it enters
 * seccomp's strict mode, whose 32-bit list has no uprobe calls at all, calls the
 * probed functions below NR_CALLS times each, writes how many results were wrong to
 * stdout, waits for end of file on stdin (the parent looks at its memory meanwhile)
 * and exits. Only read, write and exit run under strict mode; glibc's exit() would
 * make exit_group, so the program makes exit itself.
 */
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* As in uprobes_seccomp.c, which counts the hits. */
#define NR_CALLS	100
#define SEC_MULT	7

/*
 * sec32_nop5(x) returns x + 1; its entry is a 5-byte nop, which a 32-bit task
 * never has turned into a jump. sec32_fn(x, y) returns (x + 3) * y: push %ebp is
 * emulated, imul is stepped out of line.
 */
int sec32_nop5(int x);
int sec32_fn(int x, int y);

asm(
"	.text\n"
"	.p2align 4\n"
"	.globl sec32_nop5\n"
"	.type sec32_nop5, @function\n"
"sec32_nop5:\n"
"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
"	mov 4(%esp), %eax\n"
"	lea 1(%eax), %eax\n"
"	ret\n"
"	.size sec32_nop5, . - sec32_nop5\n"
"	.p2align 4\n"
"	.globl sec32_fn\n"
"	.type sec32_fn, @function\n"
"sec32_fn:\n"
"	push %ebp\n"
"	mov %esp, %ebp\n"
"	mov 8(%ebp), %eax\n"
"	mov 12(%ebp), %edx\n"
"	add $3, %eax\n"
"	.globl sec32_step_site\n"
"sec32_step_site:\n"
"	imul %edx, %eax\n"
"	pop %ebp\n"
"	ret\n"
"	.size sec32_fn, . - sec32_fn\n"
);

int main(void)
{
	int bad = 0, i;
	char c;

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0))
		return 100;
	for (i = 0; i < NR_CALLS; i++) {
		bad += sec32_nop5(i) != i + 1;
		bad += sec32_fn(i, SEC_MULT) != (i + 3) * SEC_MULT;
	}
	if (write(1, &bad, sizeof(bad)) != sizeof(bad))
		syscall(SYS_exit, 101);
	while (read(0, &c, 1) > 0)
		;
	for (;;)
		syscall(SYS_exit, 0);
}
