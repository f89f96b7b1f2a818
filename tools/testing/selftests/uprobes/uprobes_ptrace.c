// SPDX-License-Identifier: GPL-2.0
/*
 * A debugger and probes on the same task. A debugger single-stepping through probed
 * code must see every instruction stop exactly where it stops without probes: a probe
 * hit that is emulated (push, nop, call, jcc, jmp) or stepped out of line (mov, lea)
 * is still one instruction, with no stop inside the out-of-line copy and none lost.
 * A breakpoint the debugger writes itself (int3 through PTRACE_POKETEXT) next to a
 * probed instruction, often in the same word, must still be reported to it as its own
 * SIGTRAP, while the probe beside it keeps counting.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#ifdef __x86_64__

#define LOOPS		5
#define MAX_STEPS	100000

/*
 * ptr_fn(n): n rounds of r = ((r + 2c + 1) * 3) ^ 0x55 for c = n..1, in instructions
 * chosen for how x86 uprobes handle them: push, nop, call, jnz and jmp are emulated,
 * mov, lea, dec, pop and ret are single-stepped out of line. The labels are where the
 * breakpoint test puts its int3s and probes. The ud2 after the jmp never runs.
 */
asm(".pushsection .text\n"
	".globl ptr_fn, ptr_lea, ptr_call, ptr_dec, ptr_jnz, ptr_helper, ptr_end\n"
	".type ptr_fn, @function\n"
	"ptr_fn:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	nop\n"
	"	xor %eax, %eax\n"
	"	mov %rdi, %rcx\n"
	"ptr_lea:\n"
	"	lea 1(%rax,%rcx,2), %rax\n"
	"ptr_call:\n"
	"	call ptr_helper\n"
	"ptr_dec:\n"
	"	dec %rcx\n"
	"ptr_jnz:\n"
	"	jnz ptr_lea\n"
	"	mov %rax, %rdx\n"
	"	jmp 1f\n"
	"	ud2\n"
	"1:	mov %rdx, %rax\n"
	"	pop %rbp\n"
	"	ret\n"
	".size ptr_fn, . - ptr_fn\n"
	".type ptr_helper, @function\n"
	"ptr_helper:\n"
	"	lea (%rax,%rax,2), %rax\n"
	"	xor $0x55, %rax\n"
	"	ret\n"
	".size ptr_helper, . - ptr_helper\n"
	"ptr_end:\n"
	".popsection\n");

/* Code addresses defined by the asm above, not C objects. */
extern char ptr_fn[], ptr_lea[], ptr_call[], ptr_dec[], ptr_jnz[], ptr_helper[], ptr_end[];

static unsigned long ptr_ref(unsigned long n)
{
	unsigned long r = 0;

	for (; n; n--)
		r = ((r + 2 * n + 1) * 3) ^ 0x55;
	return r;
}

/*
 * The traced child: stops itself before and after one call of ptr_fn(LOOPS), so the
 * tracer sees exactly that call (and the two raise()s), and exits 0 if it computed
 * the right value.
 */
static pid_t start_traced(void)
{
	unsigned long (*fn)(unsigned long) = (void *)ptr_fn;
	unsigned long r;
	pid_t pid;

	pid = fork();
	if (pid)
		return pid;
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(126);
	raise(SIGSTOP);
	r = fn(LOOPS);
	raise(SIGSTOP);
	_exit(r == ptr_ref(LOOPS) ? 0 : 1);
}

/* Wait for a ptrace stop of @pid; the stop signal, or -1 if it exited or failed. */
static int wait_stop(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
		return -1;
	return WSTOPSIG(status);
}

static unsigned long get_ip(pid_t pid)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
		return 0;
	return regs.rip;
}

static int set_ip(pid_t pid, unsigned long ip)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
		return -1;
	regs.rip = ip;
	return ptrace(PTRACE_SETREGS, pid, NULL, &regs);
}

/* Let the stopped child finish; its exit code, or -1. */
static int finish(pid_t pid)
{
	if (ptrace(PTRACE_CONT, pid, NULL, NULL)) {
		kill(pid, SIGKILL);
		wait_exit(pid);
		return -1;
	}
	return wait_exit(pid);
}

/*
 * Single-step the child from its first SIGSTOP to its second and record the IP after
 * each step in @ips. Returns the number of steps, or -1 if a stop other than a step's
 * SIGTRAP or the final SIGSTOP came; *@code gets the child's exit code.
 */
static long step_through(unsigned long *ips, int *code)
{
	pid_t pid = start_traced();
	long n = 0;
	int sig;

	*code = -1;
	if (pid < 0)
		return -1;
	if (wait_stop(pid) != SIGSTOP)
		goto err_kill;
	for (;;) {
		if (n == MAX_STEPS || ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL))
			goto err_kill;
		sig = wait_stop(pid);
		if (sig == SIGSTOP)
			break;
		if (sig != SIGTRAP)
			goto err_kill;
		ips[n++] = get_ip(pid);
	}
	*code = finish(pid);
	return n;

err_kill:
	kill(pid, SIGKILL);
	wait_exit(pid);
	return -1;
}

/* The file offset of code address @addr of this binary, for a probe. */
static long code_off(const char *exe, unsigned long addr)
{
	long fn_off = elf_sym_offset(exe, "ptr_fn");

	return fn_off < 0 ? fn_off : fn_off + (long)(addr - (unsigned long)ptr_fn);
}

FIXTURE(ptrace) {
	const char *exe;
};

FIXTURE_SETUP(ptrace)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
	ASSERT_LT(0, elf_sym_offset(self->exe, "ptr_fn"));
}

FIXTURE_TEARDOWN_PARENT(ptrace)
{
	EXPECT_EQ(0, probe_remove_all());
}

static bool in_fn(unsigned long ip)
{
	return ip >= (unsigned long)ptr_fn && ip < (unsigned long)ptr_end;
}

static long runs_at(const unsigned long *ips, const long *runs, int nr, const char *addr)
{
	int j;

	for (j = 0; j < nr; j++)
		if (ips[j] == (unsigned long)addr)
			return runs[j];
	return 0;
}

/*
 * Single-step the call unprobed, then again with a probe on every instruction it ran:
 * the same IP after each step, each probe hit as often as its instruction ran, and
 * the right result. A run without the tracer then adds one more round of hits.
 */
TEST_F_TIMEOUT(ptrace, single_step_over_probes, 60)
{
	static unsigned long base[MAX_STEPS], probed[MAX_STEPS];
	unsigned long ips[64];
	long n0, n1, i, runs[64] = { 0 }, hits;
	int nr = 0, j, code;
	char name[32];
	pid_t pid;

	n0 = step_through(base, &code);
	ASSERT_LT(0, n0);
	ASSERT_EQ(0, code);

	/* Every distinct instruction of ptr_fn and ptr_helper that ran, and how often. */
	for (i = 0; i < n0; i++) {
		if (!in_fn(base[i]))
			continue;
		for (j = 0; j < nr && ips[j] != base[i]; j++)
			;
		if (j == nr) {
			ASSERT_GT(ARRAY_SIZE(ips), nr);
			ips[nr++] = base[i];
		}
		runs[j]++;
	}
	/* The steps went through the asm as written: one call, LOOPS rounds. */
	ASSERT_EQ(1, runs_at(ips, runs, nr, ptr_fn));
	ASSERT_EQ(LOOPS, runs_at(ips, runs, nr, ptr_lea));
	ASSERT_EQ(LOOPS, runs_at(ips, runs, nr, ptr_helper));
	TH_LOG("%ld steps, %d distinct instructions of ptr_fn/ptr_helper", n0, nr);
	ASSERT_LE(16, nr);

	for (j = 0; j < nr; j++) {
		snprintf(name, sizeof(name), "ptr_%lx", ips[j] - (unsigned long)ptr_fn);
		ASSERT_EQ(0, probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, name, self->exe,
				       code_off(self->exe, ips[j])));
	}
	ASSERT_EQ(0, probe_enable(NULL, true));

	n1 = step_through(probed, &code);
	EXPECT_EQ(0, code);
	ASSERT_EQ(n0, n1);
	/* Braces: ASSERT_EQ() is two statements, the check and its handler. */
	for (i = 0; i < n0; i++) {
		ASSERT_EQ(base[i], probed[i]) {
			TH_LOG("step %ld: at %#lx with probes, %#lx without (ptr_fn at %p)", i,
			       probed[i], base[i], ptr_fn);
		}
	}
	for (j = 0; j < nr; j++) {
		snprintf(name, sizeof(name), "ptr_%lx", ips[j] - (unsigned long)ptr_fn);
		hits = probe_hits(name);
		EXPECT_EQ(runs[j], hits) {
			TH_LOG("probe at ptr_fn+%#lx", ips[j] - (unsigned long)ptr_fn);
		}
	}

	/* Untraced, the same probes count the same again. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(((unsigned long (*)(unsigned long))ptr_fn)(LOOPS) == ptr_ref(LOOPS) ? 0 : 1);
	EXPECT_EQ(0, wait_exit(pid));
	ASSERT_EQ(0, probe_enable(NULL, false));
	for (j = 0; j < nr; j++) {
		snprintf(name, sizeof(name), "ptr_%lx", ips[j] - (unsigned long)ptr_fn);
		EXPECT_EQ(2 * runs[j], probe_hits(name));
	}
}

struct sw_bp {
	unsigned long addr;
	unsigned char orig;
};

/* Write @byte at @addr of the tracee, keeping the rest of the word as it is now. */
static int poke_byte(pid_t pid, unsigned long addr, unsigned char byte, unsigned char *old)
{
	unsigned long word;

	errno = 0;
	word = ptrace(PTRACE_PEEKTEXT, pid, (void *)addr, NULL);
	if (errno)
		return -1;
	if (old)
		*old = word & 0xff;
	word = (word & ~0xffUL) | byte;
	return ptrace(PTRACE_POKETEXT, pid, (void *)addr, (void *)word);
}

/*
 * Probes on ptr_lea (stepped out of line) and ptr_jnz (emulated) and on ptr_fn's
 * entry; the tracer's own int3 on ptr_call, the instruction right after ptr_lea, and
 * on ptr_dec, right before ptr_jnz (the word it pokes there holds the probe's int3).
 * Continuing through the loop, the tracer must get a SIGTRAP at each of its two
 * breakpoints in turn, LOOPS times, with the IP just past its int3; stepping the
 * restored instruction must land on the next one. The probes count every round, and
 * the child's result is right.
 */
TEST_F(ptrace, breakpoint_next_to_probe)
{
	struct sw_bp bps[2] = { { (unsigned long)ptr_call }, { (unsigned long)ptr_dec } };
	const unsigned long after[2] = { (unsigned long)ptr_helper, (unsigned long)ptr_jnz };
	int traps = 0, sig, b;
	siginfo_t si;
	unsigned long ip;
	pid_t pid;

	ASSERT_EQ(0, probe_add("p:%s/entry %s:0x%lx", PROBE_GROUP, self->exe,
			       code_off(self->exe, (unsigned long)ptr_fn)));
	ASSERT_EQ(0, probe_add("p:%s/lea %s:0x%lx", PROBE_GROUP, self->exe,
			       code_off(self->exe, (unsigned long)ptr_lea)));
	ASSERT_EQ(0, probe_add("p:%s/jnz %s:0x%lx", PROBE_GROUP, self->exe,
			       code_off(self->exe, (unsigned long)ptr_jnz)));
	ASSERT_EQ(0, probe_enable(NULL, true));

	pid = start_traced();
	ASSERT_LT(0, pid);
	ASSERT_EQ(SIGSTOP, wait_stop(pid));
	for (b = 0; b < 2; b++) {
		ASSERT_EQ(0, poke_byte(pid, bps[b].addr, 0xcc, &bps[b].orig));
	}

	for (;;) {
		ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, NULL, NULL));
		sig = wait_stop(pid);
		if (sig == SIGSTOP)
			break;
		ASSERT_EQ(SIGTRAP, sig);
		ASSERT_EQ(0, ptrace(PTRACE_GETSIGINFO, pid, NULL, &si));
		EXPECT_EQ(SIGTRAP, si.si_signo);
		ip = get_ip(pid);
		b = traps & 1;
		ASSERT_EQ(bps[b].addr + 1, ip) {
			TH_LOG("SIGTRAP %d at %#lx, expected just past %s at %#lx", traps, ip,
			       b ? "ptr_dec" : "ptr_call", bps[b].addr);
		}
		traps++;
		/* What a debugger does to go on: restore, step, put the int3 back. */
		ASSERT_EQ(0, poke_byte(pid, bps[b].addr, bps[b].orig, NULL));
		ASSERT_EQ(0, set_ip(pid, bps[b].addr));
		ASSERT_EQ(0, ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL));
		ASSERT_EQ(SIGTRAP, wait_stop(pid));
		EXPECT_EQ(after[b], get_ip(pid));
		ASSERT_EQ(0, poke_byte(pid, bps[b].addr, 0xcc, NULL));
	}
	for (b = 0; b < 2; b++) {
		ASSERT_EQ(0, poke_byte(pid, bps[b].addr, bps[b].orig, NULL));
	}
	EXPECT_EQ(0, finish(pid));
	ASSERT_EQ(0, probe_enable(NULL, false));

	EXPECT_EQ(2 * LOOPS, traps);
	EXPECT_EQ(1, probe_hits("entry"));
	EXPECT_EQ(LOOPS, probe_hits("lea"));
	EXPECT_EQ(LOOPS, probe_hits("jnz"));
}

#else /* !__x86_64__ */

FIXTURE(ptrace) {
};

FIXTURE_SETUP(ptrace)
{
	SKIP(return, "the ptrace tests use x86-64 registers and code");
}

FIXTURE_TEARDOWN(ptrace)
{
}

TEST_F(ptrace, single_step_over_probes)
{
}

TEST_F(ptrace, breakpoint_next_to_probe)
{
}

#endif /* __x86_64__ */

TEST_HARNESS_MAIN
