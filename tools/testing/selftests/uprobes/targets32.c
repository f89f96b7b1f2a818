// SPDX-License-Identifier: GPL-2.0
/*
 * A 32-bit (i386) program for uprobes_compat: built with gcc -m32 and run as a compat
 * task on x86-64, where the breakpoint, the emulation of push/call/jcc (4-byte stack
 * slots, 32-bit addresses) and the out-of-line step must follow the 32-bit rules.
 * gen_insns.sh lists every instruction of its tgt_* functions (insns32.h).
 *
 *   targets32 run N	call every function for N rounds, then print each result
 *   targets32 stop N	the same, with a SIGSTOP right before and right after the calls,
 *			so a tracer can single-step exactly the calls
 *
 * Results are kept in memory and printed after the calls, so the calls are the only
 * code between the two stops. Frame pointers (push %ebp, mov %esp,%ebp, leave) and
 * position-independent code (call __x86.get_pc_thunk) come from the Makefile's flags.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBED		__attribute__((noipa, used))
#define MAX_ROUNDS	64
#define NR_RESULTS	7

int tgt_counter;
int tgt_table[8] = { 1, 2, 3, 5, 8, 13, 21, 34 };

PROBED int tgt_leaf(int x)
{
	return x * 7 + 3;
}

PROBED int tgt_loop(int n)
{
	int sum = 0, i;

	/* sum >> 3 makes each step depend on the last: no vectorized variants. */
	for (i = 0; i < n; i++)
		sum += (i * i) ^ (sum >> 3);
	return sum;
}

/* Globals through the GOT: a call to the PC thunk, then loads and stores off %ebx. */
PROBED int tgt_globals(int x)
{
	tgt_counter += x;
	tgt_table[x & 7] ^= tgt_counter;
	return tgt_table[(x + 1) & 7] + tgt_counter;
}

PROBED int tgt_calls(int x)
{
	return tgt_leaf(x) + tgt_loop(x & 7) * 2;
}

PROBED int tgt_fib(int n)
{
	return n < 2 ? n : tgt_fib(n - 1) + tgt_fib(n - 2);
}

/*
 * (a + 3) * b from the stack in instructions uprobes never emulates (mov, lea, imul),
 * each single-stepped out of line, ending in ret.
 */
asm(".pushsection .text\n"
	".globl tgt_sstep\n"
	".type tgt_sstep, @function\n"
	"tgt_sstep:\n"
	"	mov 4(%esp), %eax\n"
	"	lea 3(%eax), %eax\n"
	"	imul 8(%esp), %eax\n"
	"	ret\n"
	".size tgt_sstep, . - tgt_sstep\n"
	".popsection\n");
int tgt_sstep(int a, int b);

static int results[MAX_ROUNDS][NR_RESULTS];

static void drive(int rounds)
{
	int i;

	for (i = 0; i < rounds; i++) {
		results[i][0] = tgt_leaf(i);
		results[i][1] = tgt_loop(i);
		results[i][2] = tgt_globals(i * 5 + 1);
		results[i][3] = tgt_calls(i);
		results[i][4] = tgt_fib(i & 7);
		results[i][5] = tgt_sstep(i, 9);
		results[i][6] = tgt_leaf(-i);
	}
}

int main(int argc, char **argv)
{
	static const char *const names[NR_RESULTS] = {
		"leaf", "loop", "globals", "calls", "fib", "sstep", "leafneg"
	};
	int rounds, stop, i, j;

	if (argc != 3)
		return 2;
	stop = !strcmp(argv[1], "stop");
	rounds = atoi(argv[2]);
	if ((!stop && strcmp(argv[1], "run")) || rounds < 1 || rounds > MAX_ROUNDS)
		return 2;
	if (stop)
		raise(SIGSTOP);
	drive(rounds);
	if (stop)
		raise(SIGSTOP);
	for (i = 0; i < rounds; i++)
		for (j = 0; j < NR_RESULTS; j++)
			printf("%s %d %d\n", names[j], i, results[i][j]);
	return 0;
}
