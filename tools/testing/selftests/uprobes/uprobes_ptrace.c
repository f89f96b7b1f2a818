// SPDX-License-Identifier: GPL-2.0
/*
 * A debugger and probes on the same task. A debugger single-stepping through probed
 * code must see every instruction stop exactly where it stops without probes: a probe
 * hit that is emulated (x86: push, nop, call, jcc, jmp; arm64 and powerpc: branches,
 * calls, returns, PC-relative) or stepped out of line (the rest) is still one
 * instruction, with no stop inside the out-of-line copy and none lost or late.
 * A breakpoint the debugger writes itself (x86: int3 through PTRACE_POKETEXT) next to a
 * probed instruction, often in the same word, must still be reported to it as its own
 * SIGTRAP, while the probe beside it keeps counting. A perf execute breakpoint on a
 * probed instruction counts it, and the program still computes right (arm64 steps
 * over such a breakpoint, and that step must not end in the out-of-line copy). On
 * arm64, where a watchpoint traps before the access, a tracer's watchpoint hit by a
 * stepped store must stop the tracee at the probed store, not trap again and again
 * in the out-of-line copy.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#ifdef __aarch64__
#include <asm/ptrace.h>		/* struct user_hwdebug_state */
#endif

#if defined(__x86_64__) || defined(__aarch64__) || defined(__powerpc64__)

#define LOOPS		5
#define MAX_STEPS	100000

/*
 * ptr_fn(n): n rounds of r = ((r + 2c + 1) * 3) ^ 0x55 for c = n..1, in instructions
 * chosen for how uprobes handle them on each arch: some emulated, some stepped out of
 * line (the file comment says which). The labels are where the breakpoint test puts
 * its breakpoints and probes. The trapping instruction after the last jump never runs.
 */
#if defined(__x86_64__)
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
#elif defined(__aarch64__)
/* adr, bl, b.ne, b and ret are simulated; the rest stepped out of line. */
asm(".pushsection .text\n"
	".globl ptr_fn, ptr_lea, ptr_call, ptr_dec, ptr_jnz, ptr_helper, ptr_end\n"
	".type ptr_fn, %function\n"
	"ptr_fn:\n"
	"	stp x29, x30, [sp, #-16]!\n"
	"	mov x29, sp\n"
	"	nop\n"
	"	adr x4, ptr_end\n"
	"	mov x2, #0\n"
	"	mov x3, x0\n"
	"ptr_lea:\n"
	"	add x2, x2, x3, lsl #1\n"
	"	add x2, x2, #1\n"
	"ptr_call:\n"
	"	bl ptr_helper\n"
	"ptr_dec:\n"
	"	subs x3, x3, #1\n"
	"ptr_jnz:\n"
	"	b.ne ptr_lea\n"
	"	mov x0, x2\n"
	"	b 1f\n"
	"	.inst 0\n"
	"1:	ldp x29, x30, [sp], #16\n"
	"	ret\n"
	".size ptr_fn, . - ptr_fn\n"
	".type ptr_helper, %function\n"
	"ptr_helper:\n"
	"	add x2, x2, x2, lsl #1\n"
	"	mov x5, #0x55\n"
	"	eor x2, x2, x5\n"
	"	ret\n"
	".size ptr_helper, . - ptr_helper\n"
	"ptr_end:\n"
	".globl ptr_store\n"
	".type ptr_store, %function\n"
	"ptr_store:\n"
	"	str x1, [x0]\n"
	"	ret\n"
	".size ptr_store, . - ptr_store\n"
	".popsection\n");
/* *p = v, by a store that uprobes steps out of line; the watchpoint test's. */
extern char ptr_store[];
#else
/* ELFv2, no TOC use; the arch code emulates most of these, steps the rest. */
asm(".pushsection .text\n"
	".globl ptr_fn, ptr_lea, ptr_call, ptr_dec, ptr_jnz, ptr_helper, ptr_end\n"
	".type ptr_fn, @function\n"
	"ptr_fn:\n"
	"	mflr 0\n"
	"	std 0, 16(1)\n"
	"	stdu 1, -32(1)\n"
	"	nop\n"
	"	li 5, 0\n"
	"	mr 6, 3\n"
	"ptr_lea:\n"
	"	sldi 7, 6, 1\n"
	"	add 5, 5, 7\n"
	"	addi 5, 5, 1\n"
	"ptr_call:\n"
	"	bl ptr_helper\n"
	"ptr_dec:\n"
	"	addic. 6, 6, -1\n"
	"ptr_jnz:\n"
	"	bne ptr_lea\n"
	"	mr 3, 5\n"
	"	b 1f\n"
	"	trap\n"
	"1:	addi 1, 1, 32\n"
	"	ld 0, 16(1)\n"
	"	mtlr 0\n"
	"	blr\n"
	".size ptr_fn, . - ptr_fn\n"
	".type ptr_helper, @function\n"
	"ptr_helper:\n"
	"	mulli 5, 5, 3\n"
	"	xori 5, 5, 0x55\n"
	"	blr\n"
	".size ptr_helper, . - ptr_helper\n"
	"ptr_end:\n"
	".popsection\n");
#endif

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

/* The registers PTRACE_GETREGSET gives for NT_PRSTATUS, and the instruction pointer. */
#if defined(__x86_64__)
#define TRACEE_REGS	struct user_regs_struct
#define TRACEE_IP	rip
#elif defined(__aarch64__)
#define TRACEE_REGS	struct user_regs_struct
#define TRACEE_IP	pc
#else
#define TRACEE_REGS	struct pt_regs
#define TRACEE_IP	nip
#endif

static unsigned long get_ip(pid_t pid)
{
	TRACEE_REGS regs;
	struct iovec iov = { .iov_base = &regs, .iov_len = sizeof(regs) };

	if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov))
		return 0;
	return regs.TRACEE_IP;
}

#ifdef __x86_64__
static int set_ip(pid_t pid, unsigned long ip)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
		return -1;
	regs.rip = ip;
	return ptrace(PTRACE_SETREGS, pid, NULL, &regs);
}

#endif

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

/*
 * Perf execute breakpoints (counting, this process) on ptr_lea, stepped out of line
 * on every arch, and ptr_call, emulated or simulated, with probes on both: NR_CALLS
 * calls of ptr_fn must compute right, and breakpoints and probes count LOOPS each.
 */
TEST_F(ptrace, perf_breakpoint_on_probe)
{
	char *const sites[] = { ptr_lea, ptr_call };
	unsigned long (*fn)(unsigned long) = (void *)ptr_fn;
	struct perf_event_attr attr;
	const int nr_calls = 3;
	long long count;
	int fds[2], i;
	char name[32];

#ifdef __powerpc64__
	SKIP(return, "powerpc has data breakpoints only");
#endif
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "bp_%lx", (unsigned long)(sites[i] - ptr_fn));
		ASSERT_EQ(0, probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, name, self->exe,
				       code_off(self->exe, (unsigned long)sites[i])));
	}
	ASSERT_EQ(0, probe_enable(NULL, true));
	for (i = 0; i < 2; i++) {
		memset(&attr, 0, sizeof(attr));
		attr.type = PERF_TYPE_BREAKPOINT;
		attr.size = sizeof(attr);
		attr.bp_type = HW_BREAKPOINT_X;
		attr.bp_addr = (unsigned long)sites[i];
		attr.bp_len = sizeof(long);
		attr.exclude_kernel = 1;
		attr.exclude_hv = 1;
		fds[i] = syscall(__NR_perf_event_open, &attr, 0, -1, -1, 0);
		ASSERT_LE(0, fds[i]) {
			TH_LOG("perf_event_open of an execute breakpoint: %s", strerror(errno));
		}
	}
	for (i = 0; i < nr_calls; i++)
		ASSERT_EQ(ptr_ref(LOOPS), fn(LOOPS));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(sizeof(count), read(fds[i], &count, sizeof(count)));
		close(fds[i]);
		EXPECT_EQ(nr_calls * LOOPS, count) {
			TH_LOG("breakpoint at ptr_fn+%#lx", (unsigned long)(sites[i] - ptr_fn));
		}
		snprintf(name, sizeof(name), "bp_%lx", (unsigned long)(sites[i] - ptr_fn));
		EXPECT_EQ(nr_calls * LOOPS, probe_hits(name));
	}
	ASSERT_EQ(0, probe_enable(NULL, false));
}

#ifdef __aarch64__
/* Set (@ctrl nonzero) or clear the tracee's first watchpoint, on @addr. */
static int set_watchpoint(pid_t pid, unsigned long addr, unsigned int ctrl)
{
	struct user_hwdebug_state dbg = { 0 };
	struct iovec iov = {
		.iov_base = &dbg,
		.iov_len = offsetof(struct user_hwdebug_state, dbg_regs[1]),
	};

	dbg.dbg_regs[0].addr = addr;
	dbg.dbg_regs[0].ctrl = ctrl;
	return ptrace(PTRACE_SETREGSET, pid, (void *)NT_ARM_HW_WATCH, &iov);
}

/* WCR_EL1: enabled, EL0, stores, all 8 bytes. */
#define WATCH_STORE_8	((0xffu << 5) | (2u << 3) | (2u << 1) | 1u)

/*
 * A probe on ptr_store's store, a tracer's watchpoint on the word it writes: the
 * tracee must stop with SIGTRAP (TRAP_HWBKPT) at the store, and with the watchpoint
 * cleared finish with the word written.
 */
TEST_F(ptrace, watchpoint_on_stepped_store)
{
	static unsigned long word;
	siginfo_t si;
	int status;
	pid_t pid;

	ASSERT_EQ(0, probe_add("p:%s/store %s:0x%lx", PROBE_GROUP, self->exe,
			       code_off(self->exe, (unsigned long)ptr_store)));
	ASSERT_EQ(0, probe_enable(NULL, true));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(126);
		raise(SIGSTOP);
		((void (*)(unsigned long *, unsigned long))ptr_store)(&word, 42);
		_exit(word == 42 ? 0 : 1);
	}
	ASSERT_EQ(SIGSTOP, wait_stop(pid));
	ASSERT_EQ(0, set_watchpoint(pid, (unsigned long)&word, WATCH_STORE_8));
	ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, NULL, NULL));
	status = wait_within(pid, 10000);
	ASSERT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP) {
		TH_LOG("%s %#x", status == -1 ? "no stop in 10 s: status" : "status", status);
	}
	ASSERT_EQ(0, ptrace(PTRACE_GETSIGINFO, pid, NULL, &si));
	EXPECT_EQ(TRAP_HWBKPT, si.si_code);
	EXPECT_EQ((unsigned long)ptr_store, get_ip(pid));
	ASSERT_EQ(0, set_watchpoint(pid, 0, 0));
	EXPECT_EQ(0, finish(pid));
	ASSERT_EQ(0, probe_enable(NULL, false));
	/*
	 * Two hits: the step cut short by the watchpoint, and the store's run
	 * from the probed address again. More would be the copy trapping again.
	 */
	EXPECT_EQ(2, probe_hits("store"));
}
#else
TEST_F(ptrace, watchpoint_on_stepped_store)
{
	SKIP(return, "arm64 only: there a watchpoint traps before the access");
}
#endif /* __aarch64__ */

#ifdef __x86_64__
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

TEST_F(ptrace, breakpoint_next_to_probe)
{
	SKIP(return, "the tracer's own breakpoint is an x86 int3");
}

#endif /* __x86_64__ */

#else /* no ptr_fn for this arch */

FIXTURE(ptrace) {
};

FIXTURE_SETUP(ptrace)
{
	SKIP(return, "the ptrace tests have code for x86-64, arm64 and powerpc64 only");
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

TEST_F(ptrace, perf_breakpoint_on_probe)
{
}

TEST_F(ptrace, watchpoint_on_stepped_store)
{
}

#endif /* ptr_fn */

TEST_HARNESS_MAIN
