// SPDX-License-Identifier: GPL-2.0
/*
 * Corners of x86 probing where a probed program must still see exactly what it sees
 * unprobed. Each case runs the same code natively and with a probe on one instruction
 * and compares what the program, or its debugger, observes:
 *  - hardware watchpoints (ptrace DR0-DR7): a probed load or store that touches a
 *    watched variable gives the debugger the same SIGTRAPs, with the same si_code,
 *    DR6 and instruction pointer; a probed instruction that does not touch it gives
 *    none; a single-step through a watched store reports step and hit together;
 *  - the trap flag of our single-step: a probed pushf that cannot be emulated (its
 *    stack page not present, or copy-on-write after fork) pushes the flags the
 *    program has, a popf cut short by a fault leaves TF as it was, and under a
 *    debugger's single-step pushf pushes the debugger's TF as natively;
 *  - a 5-byte nop site made a jump and then an int3 over the jump (a debugger's
 *    breakpoint, or a failed page switch) gets all five bytes of the file back when
 *    its probe goes;
 *  - system instructions of the 0f 01 group (smsw, sgdt, ...), which UMIP emulates
 *    for user space, are refused as stock refuses them, and run unchanged;
 *  - a process whose system calls a tracer emulates (PTRACE_SYSEMU, as UML does)
 *    runs a probed 5-byte nop site correctly, and its tracer sees no stub call
 *    (or one, when the site was made a jump before the emulation began);
 *  - a process under syscall user dispatch (Wine) gets no SIGSYS for our stub;
 *  - making 5-byte nop sites jumps interrupts no CPU that does not run the process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#ifdef __x86_64__

#define NR_CALLS	5
#define MAX_TRAPS	32

#ifndef TRAP_TRACE
#define TRAP_TRACE	2
#endif
#ifndef TRAP_HWBKPT
#define TRAP_HWBKPT	4
#endif

/* DR7 fields of breakpoint @i: enable (local), type (RW) and length. */
#define DR7_ENABLE(i)		(1UL << ((i) * 2))
#define DR7_RW(i, rw)		((unsigned long)(rw) << (16 + (i) * 4))
#define DR7_LEN(i, len)		((unsigned long)(len) << (18 + (i) * 4))
#define DR_RW_WRITE		1
#define DR_RW_READ_WRITE	3
#define DR_LEN_4		3
#define DR6_STEP		0x4000UL

int watch_var __attribute__((aligned(8)));
int other_var __attribute__((aligned(8)));

/*
 * One probed instruction each, at a global label: a store through a pointer, a
 * RIP-relative store, a load through a pointer. All three are kinds our analysis
 * emulates.
 */
void store_ptr(int *p, int v);
void store_rip(int v);
int load_ptr(int *p);
extern char store_ptr_insn[], store_rip_insn[], load_ptr_insn[];

/*
 * pushf_at(top) runs pushfq with the stack pointer at @top, with known arithmetic
 * flags (those of xor), and returns the word it pushed. popf_at(p) runs popfq with
 * the stack pointer at @p.
 */
unsigned long pushf_at(void *top);
void popf_at(void *p);
extern char pushf_at_insn[], popf_at_insn[];

/* IPI_SITES functions of one 5-byte nop and a ret each, 16 bytes apart. */
#define IPI_SITES	32
extern char ipi_sites[];

/* smsw_fn() returns what smsw stores (the machine status word, or UMIP's answer). */
unsigned long smsw_fn(void);
extern char smsw_insn[];

/* nop5_fn(x) returns x + 1; its entry is the 5-byte nop of a USDT site. */
long nop5_fn(long x);

asm(".pushsection .text\n"
	".p2align 4\n"
	".globl store_ptr, store_ptr_insn\n"
	".type store_ptr, @function\n"
	"store_ptr:\n"
	"store_ptr_insn:\n"
	"	mov %esi, (%rdi)\n"
	"	ret\n"
	".size store_ptr, . - store_ptr\n"
	".p2align 4\n"
	".globl store_rip, store_rip_insn\n"
	".type store_rip, @function\n"
	"store_rip:\n"
	"store_rip_insn:\n"
	"	mov %edi, watch_var(%rip)\n"
	"	ret\n"
	".size store_rip, . - store_rip\n"
	".p2align 4\n"
	".globl load_ptr, load_ptr_insn\n"
	".type load_ptr, @function\n"
	"load_ptr:\n"
	"load_ptr_insn:\n"
	"	mov (%rdi), %eax\n"
	"	ret\n"
	".size load_ptr, . - load_ptr\n"
	".p2align 4\n"
	".globl pushf_at, pushf_at_insn\n"
	".type pushf_at, @function\n"
	"pushf_at:\n"
	"	mov %rsp, %rcx\n"
	"	mov %rdi, %rsp\n"
	"	xor %edx, %edx\n"
	"pushf_at_insn:\n"
	"	pushfq\n"
	"	pop %rax\n"
	"	mov %rcx, %rsp\n"
	"	ret\n"
	".size pushf_at, . - pushf_at\n"
	".p2align 4\n"
	".globl popf_at, popf_at_insn\n"
	".type popf_at, @function\n"
	"popf_at:\n"
	"	mov %rsp, %rcx\n"
	"	mov %rdi, %rsp\n"
	"popf_at_insn:\n"
	"	popfq\n"
	"	mov %rcx, %rsp\n"
	"	ret\n"
	".size popf_at, . - popf_at\n"
	".p2align 4\n"
	".globl nop5_fn\n"
	".type nop5_fn, @function\n"
	"nop5_fn:\n"
	"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	"	lea 1(%rdi), %rax\n"
	"	ret\n"
	".size nop5_fn, . - nop5_fn\n"
	".p2align 4\n"
	".globl smsw_fn, smsw_insn\n"
	".type smsw_fn, @function\n"
	"smsw_fn:\n"
	"	xor %eax, %eax\n"
	"smsw_insn:\n"
	"	smsw %eax\n"
	"	ret\n"
	".size smsw_fn, . - smsw_fn\n"
	".p2align 4\n"
	".globl ipi_sites\n"
	"ipi_sites:\n"
	"	.rept 32\n"
	"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	"	ret\n"
	"	.p2align 4\n"
	"	.endr\n"
	".popsection\n");

/* The file offset of @addr, an address in the test binary's text. */
static long text_offset(const char *exe, const void *addr)
{
	struct exec_map map;
	unsigned long a = (unsigned long)addr;

	if (proc_exec_map(0, exe, &map) || a < map.start || a >= map.end)
		return -1;
	return a - map.start + map.off;
}

/* An enabled entry probe at @addr of the test binary. */
static int probe_at(const char *exe, const char *event, const void *addr)
{
	long off = text_offset(exe, addr);
	int ret;

	if (off < 0)
		return -1;
	ret = probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, event, exe, off);
	return ret ? ret : probe_enable(event, true);
}

/* ---------------------------------------------------------------------------- */
/* Hardware watchpoints.                                                        */

enum watch_body { STORE_PTR, STORE_RIP, LOAD_PTR, STORE_OTHER, PUSHF_FRESH };

/* A page of this process that has never been touched: not present yet. */
static void *fresh_page(void)
{
	void *p = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* What the tracer saw: each SIGTRAP's si_code, DR6 and ip, and DR6 at the end. */
struct watch_log {
	int traps;
	int si_code[MAX_TRAPS];
	unsigned long dr6[MAX_TRAPS];
	unsigned long ip[MAX_TRAPS];
	unsigned long final_dr6;
	int status;
};

/*
 * Exits with 0, or for PUSHF_FRESH with bits 8-15 of every pushed word or'ed. With
 * @stepped, each call comes after a SIGUSR1, from which the tracer steps.
 */
static void watch_child(enum watch_body body, bool stepped)
{
	int i, sum = 0, flag_bits = 0, page_size = getpagesize();
	char *page = NULL;

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(100);
	raise(SIGSTOP);
	for (i = 0; i < NR_CALLS; i++) {
		/* Before the kill(): the tracer steps only what follows it. */
		if (body == PUSHF_FRESH) {
			page = fresh_page();
			if (!page)
				_exit(102);
		}
		if (stepped)
			kill(getpid(), SIGUSR1);
		switch (body) {
		case STORE_PTR:
			store_ptr(&watch_var, i);
			break;
		case STORE_RIP:
			store_rip(i);
			break;
		case LOAD_PTR:
			sum += load_ptr(&watch_var);
			break;
		case STORE_OTHER:
			store_ptr(&other_var, i);
			break;
		case PUSHF_FRESH:
			flag_bits |= pushf_at(page + page_size) >> 8 & 0xff;
			break;
		}
	}
	raise(SIGSTOP);		/* the tracer reads DR6 here */
	_exit(sum ? 101 : flag_bits);
}

static int poke_dr(pid_t pid, int nr, unsigned long val)
{
	return ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[nr]), val);
}

static unsigned long peek_dr(pid_t pid, int nr)
{
	return ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user, u_debugreg[nr]), NULL);
}

/*
 * Single-step @pid from where it stopped to @at (bounded: the code between a kill()
 * and the call is short), then over the instruction there. False if it went wrong.
 */
static bool step_over(pid_t pid, const void *at)
{
	struct user_regs_struct regs;
	int i, status;

	for (i = 0; i < 1000; i++) {
		if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
			return false;
		if (regs.rip == (unsigned long)at)
			break;
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) ||
		    waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status) ||
		    WSTOPSIG(status) != SIGTRAP)
			return false;
	}
	/* As gdb does: clear DR6 before it resumes. */
	return i < 1000 && !poke_dr(pid, 6, 0) && !ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL);
}

/*
 * Run @body in a traced child with DR0 watching watch_var (@rw). With @step_at, the
 * tracer single-steps each call's instruction there (gdb's stepi), instead of letting
 * the child run over it.
 */
static int watch_run(enum watch_body body, unsigned int rw, const void *step_at,
		     struct watch_log *log)
{
	unsigned long dr7 = DR7_ENABLE(0) | DR7_RW(0, rw) | DR7_LEN(0, DR_LEN_4);
	int status;
	pid_t pid;

	memset(log, 0, sizeof(*log));
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		watch_child(body, step_at);
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
		return -1;
	if (poke_dr(pid, 0, (unsigned long)&watch_var) || poke_dr(pid, 7, dr7) ||
	    ptrace(PTRACE_CONT, pid, NULL, NULL))
		goto kill;
	for (;;) {
		struct user_regs_struct regs;
		siginfo_t si;
		int sig;

		if (waitpid(pid, &status, 0) != pid)
			goto kill;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		sig = WSTOPSIG(status);
		if (sig == SIGSTOP) {
			log->final_dr6 = peek_dr(pid, 6);
			if (ptrace(PTRACE_CONT, pid, NULL, NULL))
				goto kill;
			continue;
		}
		if (sig == SIGUSR1 && step_at) {
			if (!step_over(pid, step_at))
				goto kill;
			continue;
		}
		if (sig != SIGTRAP || log->traps == MAX_TRAPS)
			goto kill;
		if (ptrace(PTRACE_GETSIGINFO, pid, NULL, &si) ||
		    ptrace(PTRACE_GETREGS, pid, NULL, &regs))
			goto kill;
		log->si_code[log->traps] = si.si_code;
		log->dr6[log->traps] = peek_dr(pid, 6);
		log->ip[log->traps] = regs.rip;
		log->traps++;
		/* As gdb does: clear DR6 once the stop is understood. */
		if (poke_dr(pid, 6, 0) || ptrace(PTRACE_CONT, pid, NULL, NULL))
			goto kill;
	}
	log->status = status;
	return 0;
kill:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static void watch_log_dump(struct __test_metadata *_metadata, const char *what,
			   const struct watch_log *log)
{
	int i;

	TH_LOG("%s: %d traps, final DR6 %#lx, status %#x", what, log->traps,
	       log->final_dr6, log->status);
	for (i = 0; i < log->traps; i++)
		TH_LOG("  trap %d: si_code %d DR6 %#lx ip %#lx", i, log->si_code[i],
		       log->dr6[i], log->ip[i]);
}

/* The probed run saw exactly what the native one did; @want traps in each. */
#define EXPECT_SAME_WATCH(native, probed, want) do {			\
	EXPECT_EQ(want, (native).traps);				\
	EXPECT_EQ(0, memcmp(&(native), &(probed), sizeof(native))) {	\
		watch_log_dump(_metadata, "native", &(native));		\
		watch_log_dump(_metadata, "probed", &(probed));		\
	}								\
} while (0)

FIXTURE(watch) {
	const char *exe;
};

FIXTURE_SETUP(watch)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(watch)
{
	EXPECT_EQ(0, probe_remove_all());
}

/* A probed store through a pointer to a write-watched variable: a trap per store. */
TEST_F(watch, store_through_pointer)
{
	struct watch_log native, probed;

	ASSERT_EQ(0, watch_run(STORE_PTR, DR_RW_WRITE, NULL, &native));
	ASSERT_EQ(0, probe_at(self->exe, "watch_store", store_ptr_insn));
	ASSERT_EQ(0, watch_run(STORE_PTR, DR_RW_WRITE, NULL, &probed));
	EXPECT_SAME_WATCH(native, probed, NR_CALLS);
	EXPECT_EQ(TRAP_HWBKPT, probed.si_code[0]);
	EXPECT_EQ(NR_CALLS, probe_hits("watch_store"));
}

/* The same with a RIP-relative store. */
TEST_F(watch, store_rip_relative)
{
	struct watch_log native, probed;

	ASSERT_EQ(0, watch_run(STORE_RIP, DR_RW_WRITE, NULL, &native));
	ASSERT_EQ(0, probe_at(self->exe, "watch_rip", store_rip_insn));
	ASSERT_EQ(0, watch_run(STORE_RIP, DR_RW_WRITE, NULL, &probed));
	EXPECT_SAME_WATCH(native, probed, NR_CALLS);
	EXPECT_EQ(NR_CALLS, probe_hits("watch_rip"));
}

/* A probed load of a read/write-watched variable. */
TEST_F(watch, load_read_watch)
{
	struct watch_log native, probed;

	ASSERT_EQ(0, watch_run(LOAD_PTR, DR_RW_READ_WRITE, NULL, &native));
	ASSERT_EQ(0, probe_at(self->exe, "watch_load", load_ptr_insn));
	ASSERT_EQ(0, watch_run(LOAD_PTR, DR_RW_READ_WRITE, NULL, &probed));
	EXPECT_SAME_WATCH(native, probed, NR_CALLS);
	EXPECT_EQ(NR_CALLS, probe_hits("watch_load"));
}

/* A probed store elsewhere: no trap, and DR6 as the debugger left it. */
TEST_F(watch, store_elsewhere_no_trap)
{
	struct watch_log native, probed;

	ASSERT_EQ(0, watch_run(STORE_OTHER, DR_RW_READ_WRITE, NULL, &native));
	ASSERT_EQ(0, probe_at(self->exe, "watch_other", store_ptr_insn));
	ASSERT_EQ(0, watch_run(STORE_OTHER, DR_RW_READ_WRITE, NULL, &probed));
	EXPECT_SAME_WATCH(native, probed, 0);
	EXPECT_EQ(NR_CALLS, probe_hits("watch_other"));
}

/*
 * The debugger steps up to the probed store and over it: one trap that reports the
 * step and the watchpoint together, as the CPU does (TRAP_TRACE, DR6 with BS and B0,
 * ip after the store). Not compared with a native run: under QEMU TCG a step over
 * a watched store wedges the guest, probed or not.
 */
TEST_F(watch, single_step_watched_store)
{
	struct watch_log probed;
	int i;

	ASSERT_EQ(0, probe_at(self->exe, "watch_step", store_ptr_insn));
	ASSERT_EQ(0, watch_run(STORE_PTR, DR_RW_WRITE, store_ptr_insn, &probed));
	EXPECT_EQ(NR_CALLS, probed.traps);
	for (i = 0; i < probed.traps; i++) {
		EXPECT_EQ(TRAP_TRACE, probed.si_code[i]);
		EXPECT_EQ(DR6_STEP | 1, probed.dr6[i] & (DR6_STEP | 0xf));
		EXPECT_EQ((unsigned long)store_ptr_insn + 2, probed.ip[i]);
	}
	EXPECT_TRUE(WIFEXITED(probed.status) && WEXITSTATUS(probed.status) == 0);
	EXPECT_EQ(NR_CALLS, probe_hits("watch_step"));
}

/* ---------------------------------------------------------------------------- */
/* Our trap flag stays ours.                                                    */

#define X86_TF		0x100UL

FIXTURE(trap_flag) {
	const char *exe;
};

FIXTURE_SETUP(trap_flag)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(trap_flag)
{
	EXPECT_EQ(0, probe_remove_all());
}

/* pushf onto a page that is not present yet: the probed word is the native one. */
TEST_F(trap_flag, pushf_page_not_present)
{
	unsigned long native, probed;
	char *page;
	int i;

	page = fresh_page();
	ASSERT_NE(NULL, page);
	native = pushf_at(page + getpagesize());
	EXPECT_EQ(0, native & X86_TF);
	ASSERT_EQ(0, probe_at(self->exe, "tf_pushf", pushf_at_insn));
	for (i = 0; i < 3; i++) {
		page = fresh_page();
		ASSERT_NE(NULL, page);
		probed = pushf_at(page + getpagesize());
		EXPECT_EQ(native, probed) {
			TH_LOG("pushed %#lx, natively %#lx", probed, native);
		}
	}
	EXPECT_EQ(3, probe_hits("tf_pushf"));
}

/* pushf onto a copy-on-write page in a forked child. */
TEST_F(trap_flag, pushf_copy_on_write)
{
	unsigned long native, probed = 0;
	int fds[2], status;
	char *page;
	pid_t pid;

	page = fresh_page();
	ASSERT_NE(NULL, page);
	native = pushf_at(page + getpagesize());	/* and the page is present */
	ASSERT_EQ(0, probe_at(self->exe, "tf_pushf_cow", pushf_at_insn));
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned long w = pushf_at(page + getpagesize());

		_exit(write(fds[1], &w, sizeof(w)) == sizeof(w) ? 0 : 1);
	}
	close(fds[1]);
	EXPECT_EQ(sizeof(probed), read(fds[0], &probed, sizeof(probed)));
	close(fds[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(native, probed) {
		TH_LOG("pushed %#lx, natively %#lx", probed, native);
	}
	EXPECT_EQ(1, probe_hits("tf_pushf_cow"));
}

static sigjmp_buf popf_env;
static volatile unsigned long popf_fault_flags;

static void popf_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	popf_fault_flags = uc->uc_mcontext.gregs[REG_EFL];
	siglongjmp(popf_env, 1);
}

/* The flags a SIGSEGV handler sees when popf faults on a PROT_NONE page. */
static int popf_fault(unsigned long *flags)
{
	struct sigaction sa = { .sa_sigaction = popf_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction old;
	void *guard;

	guard = mmap(NULL, getpagesize(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED || sigaltstack(&ss, NULL) || sigaction(SIGSEGV, &sa, &old))
		return -1;
	popf_fault_flags = ~0UL;
	if (!sigsetjmp(popf_env, 1))
		popf_at(guard);
	sigaction(SIGSEGV, &old, NULL);
	munmap(guard, getpagesize());
	*flags = popf_fault_flags;
	return 0;
}

/* A popf cut short by its fault: the handler sees the program's TF, not ours. */
TEST_F(trap_flag, popf_cut_short)
{
	unsigned long native, probed;

	ASSERT_EQ(0, popf_fault(&native));
	EXPECT_EQ(0, native & X86_TF);
	ASSERT_EQ(0, probe_at(self->exe, "tf_popf", popf_at_insn));
	ASSERT_EQ(0, popf_fault(&probed));
	EXPECT_EQ(native & X86_TF, probed & X86_TF) {
		TH_LOG("flags in the handler %#lx, natively %#lx", probed, native);
	}
	EXPECT_EQ(1, probe_hits("tf_popf"));
}

/*
 * A debugger single-steps pushf onto a page not present (and a watchpoint is armed,
 * so nothing is emulated): the word holds its TF, as natively.
 */
TEST_F(trap_flag, pushf_debugger_step)
{
	struct watch_log native, probed;

	ASSERT_EQ(0, watch_run(PUSHF_FRESH, DR_RW_WRITE, pushf_at_insn, &native));
	EXPECT_TRUE(WIFEXITED(native.status) && (WEXITSTATUS(native.status) & 1));
	ASSERT_EQ(0, probe_at(self->exe, "tf_pushf_step", pushf_at_insn));
	ASSERT_EQ(0, watch_run(PUSHF_FRESH, DR_RW_WRITE, pushf_at_insn, &probed));
	EXPECT_SAME_WATCH(native, probed, NR_CALLS);
	EXPECT_EQ(NR_CALLS, probe_hits("tf_pushf_step"));
}

/* ---------------------------------------------------------------------------- */
/* Removal restores the whole 5-byte nop.                                       */

FIXTURE(nop5_removal) {
	const char *exe;
};

FIXTURE_SETUP(nop5_removal)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(nop5_removal)
{
	EXPECT_EQ(0, probe_remove_all());
}

#define NR_UPROBE		336

/* Does this kernel turn probed nop5 sites into jumps (its uprobe system call answers)? */
static bool kernel_optimizes_nop5(void)
{
	errno = 0;
	return syscall(NR_UPROBE) == -1 && errno == ENXIO;
}

/* A byte that a forked child can write and the parent read. */
static unsigned char *shared_byte(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Makes the site a jump (10 untraced hits), then writes int3 over the jump's opcode
 * through /proc/self/mem as a debugger would (a tracer no longer can: attaching
 * turns the site back first), and sends the byte it found there on @done. Once a
 * byte comes on @go, 10 more calls. Exit status: 1 for wrong results.
 */
static void nop5_child(int done, int go)
{
	unsigned char byte, swbp = 0xcc;
	long i, bad = 0;
	int fd;

	for (i = 0; i < 10; i++)
		bad += nop5_fn(i) != i + 1;
	fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (fd < 0 || pread(fd, &byte, 1, (long)nop5_fn) != 1)
		_exit(100);
	if (byte == 0xe9 && pwrite(fd, &swbp, 1, (long)nop5_fn) != 1)
		_exit(101);
	close(fd);
	if (write(done, &byte, 1) != 1 || read(go, &byte, 1) != 1)
		_exit(102);
	for (i = 0; i < 10; i++)
		bad += nop5_fn(i) != i + 1;
	_exit(bad ? 1 : 0);
}

/*
 * The site is a jump to the stub and someone writes int3 over the jump's opcode, so
 * that the site is int3 + rel32; then the probe goes. The text must be the file's
 * again, all five bytes, and the program must run on.
 */
TEST_F(nop5_removal, int3_over_jump)
{
	static const unsigned char nop5[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	unsigned char found, now[sizeof(nop5)];
	int done[2], go[2], mem;
	unsigned long first;
	char path[64];
	pid_t pid;

	if (!kernel_optimizes_nop5())
		SKIP(return, "this kernel never makes a probed nop5 site a jump");
	ASSERT_EQ(0, probe_at(self->exe, "nop5_removal", nop5_fn));
	ASSERT_EQ(0, pipe(done));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		nop5_child(done[1], go[0]);
	close(done[1]);
	close(go[0]);
	ASSERT_EQ(1, read(done[0], &found, 1));
	EXPECT_EQ(0xe9, found) {
		TH_LOG("the site was not made a jump: it starts with %#x", found);
	}

	ASSERT_EQ(0, probe_enable("nop5_removal", false));
	ASSERT_EQ(0, probe_del("nop5_removal"));
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, mem);
	ASSERT_EQ(sizeof(now), pread(mem, now, sizeof(now), (long)nop5_fn));
	close(mem);
	EXPECT_EQ(0, memcmp(now, nop5, sizeof(nop5))) {
		TH_LOG("site after removal: %02x %02x %02x %02x %02x",
		       now[0], now[1], now[2], now[3], now[4]);
	}
	EXPECT_EQ(0, proc_text_diff(pid, self->exe, &first)) {
		TH_LOG("text differs from the file at %#lx", first);
	}
	ASSERT_EQ(1, write(go[1], "g", 1));
	EXPECT_EQ(0, wait_exit(pid));
	close(done[0]);
	close(go[1]);
}

/* ---------------------------------------------------------------------------- */
/* The 0f 01 group is refused.                                                  */

FIXTURE(refused) {
	const char *exe;
};

FIXTURE_SETUP(refused)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(refused)
{
	EXPECT_EQ(0, probe_remove_all());
}

/* smsw (0f 01 /4): enabling its probe fails with ENOTSUPP; the program runs as before. */
TEST_F(refused, smsw)
{
	unsigned long native = smsw_fn();
	long off = text_offset(self->exe, smsw_insn);

	ASSERT_LT(0, off);
	ASSERT_EQ(0, probe_add("p:%s/refused_smsw %s:0x%lx", PROBE_GROUP, self->exe, off));
	EXPECT_EQ(-524, probe_enable("refused_smsw", true));	/* ENOTSUPP */
	EXPECT_EQ(native, smsw_fn());
	EXPECT_GE(0, probe_hits("refused_smsw"));
}

/* ---------------------------------------------------------------------------- */
/* Tracers that emulate system calls.                                           */

#ifndef PTRACE_SYSEMU
#define PTRACE_SYSEMU		31
#endif

FIXTURE(sysemu) {
	const char *exe;
};

FIXTURE_SETUP(sysemu)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(sysemu)
{
	EXPECT_EQ(0, probe_remove_all());
}

/*
 * Calls the site 10 times before the tracer emulates its system calls (@before)
 * and 10 times after, then exits with the number of wrong results: a system call the
 * tracer (below) takes for the exit.
 */
static void sysemu_child(bool before)
{
	long i, bad = 0;

	/* Untraced while the site may become a jump; PTRACE_TRACEME turns it back. */
	for (i = 0; before && i < 10; i++)
		bad += nop5_fn(i) != i + 1;
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(100);
	/* Not raise(): it makes more system calls after the stop. */
	kill(getpid(), SIGSTOP);
	for (i = 0; i < 10; i++)
		bad += nop5_fn(i) != i + 1;
	_exit(bad);
}

struct sysemu_log {
	int uprobe_calls;	/* system call 336 seen */
	int other_calls;	/* neither 336 nor the exit */
	long exit_code;		/* the exit's argument, or -1 */
	int signal;		/* a signal that stopped the child, or 0 */
};

/* A tracer in the manner of UML: every system call of the child is emulated. */
static int sysemu_run(bool before, struct sysemu_log *log)
{
	int status;
	pid_t pid;

	memset(log, 0, sizeof(*log));
	log->exit_code = -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		sysemu_child(before);
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status) ||
	    ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   (void *)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)))
		goto kill;
	for (;;) {
		struct user_regs_struct regs;

		if (ptrace(PTRACE_SYSEMU, pid, NULL, NULL) || waitpid(pid, &status, 0) != pid)
			goto kill;
		if (!WIFSTOPPED(status))
			goto kill;
		if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
			log->signal = WSTOPSIG(status);
			break;
		}
		if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
			goto kill;
		if (regs.orig_rax == SYS_exit || regs.orig_rax == SYS_exit_group) {
			log->exit_code = regs.rdi;
			break;
		}
		if (regs.orig_rax == NR_UPROBE)
			log->uprobe_calls++;
		else
			log->other_calls++;
		/* Unknown to this "kernel". */
		regs.rax = -ENOSYS;
		if (ptrace(PTRACE_SETREGS, pid, NULL, &regs))
			goto kill;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
kill:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* The site is hit first under the emulation: it stays a breakpoint. */
TEST_F(sysemu, hit_under_sysemu)
{
	struct sysemu_log log;

	ASSERT_EQ(0, probe_at(self->exe, "sysemu_nop5", nop5_fn));
	ASSERT_EQ(0, sysemu_run(false, &log));
	EXPECT_EQ(0, log.signal);
	EXPECT_EQ(0, log.exit_code);
	EXPECT_EQ(0, log.uprobe_calls);
	EXPECT_EQ(0, log.other_calls);
	EXPECT_EQ(10, probe_hits("sysemu_nop5"));
}

/*
 * The site became a jump before the tracer came (on a kernel that optimizes):
 * PTRACE_TRACEME turns it back into a breakpoint, so the emulating tracer sees no
 * uprobe call (a thread caught inside a stub would make one, and fall back).
 */
TEST_F(sysemu, optimized_before_sysemu)
{
	struct sysemu_log log;

	ASSERT_EQ(0, probe_at(self->exe, "sysemu_nop5", nop5_fn));
	ASSERT_EQ(0, sysemu_run(true, &log));
	EXPECT_EQ(0, log.signal);
	EXPECT_EQ(0, log.exit_code);
	EXPECT_EQ(0, log.uprobe_calls);
	EXPECT_EQ(0, log.other_calls);
	EXPECT_EQ(20, probe_hits("sysemu_nop5"));
}

/*
 * A tracer seizes a process whose site became a jump in its first hits (on a kernel
 * that optimizes). Before the tracer can read the text, the site must be the int3
 * over the nop's own tail again, as a kernel that never optimizes shows it: a
 * debugger saves what it reads under its own breakpoint and writes that back later.
 * The tracer then lets go, and the program computes on with every hit counted.
 * The child writes the site's first byte as it saw it before the tracer came into
 * @first (shared), to say whether the case was the one meant.
 */
TEST_F(sysemu, seize_sees_breakpoint)
{
	static const unsigned char want[5] = { 0xcc, 0x1f, 0x44, 0x00, 0x00 };
	int ready[2], go[2], status;
	unsigned char *first, text[sizeof(long)];
	long i, bad = 0, word;
	char byte = 0;
	pid_t pid;

	ASSERT_EQ(0, probe_at(self->exe, "sysemu_nop5", nop5_fn));
	first = shared_byte();
	ASSERT_NE(NULL, first);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < 10; i++)
			bad += nop5_fn(i) != i + 1;
		*first = *(volatile unsigned char *)nop5_fn;
		if (write(ready[1], "r", 1) != 1 || read(go[0], &byte, 1) != 1)
			_exit(100);
		for (i = 0; i < 10; i++)
			bad += nop5_fn(i) != i + 1;
		_exit(bad);
	}
	close(ready[1]);
	close(go[0]);
	ASSERT_EQ(1, read(ready[0], &byte, 1));
	TH_LOG("the site starts with %#x before the tracer comes", *first);
	if (kernel_optimizes_nop5())
		EXPECT_EQ(0xe9, *first);
	ASSERT_EQ(0, ptrace(PTRACE_SEIZE, pid, NULL, NULL));
	ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, pid, NULL, NULL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));
	errno = 0;
	word = ptrace(PTRACE_PEEKTEXT, pid, (void *)nop5_fn, NULL);
	ASSERT_EQ(0, errno);
	memcpy(text, &word, sizeof(text));
	EXPECT_EQ(0, memcmp(text, want, sizeof(want))) {
		TH_LOG("the tracer reads %02x %02x %02x %02x %02x", text[0], text[1],
		       text[2], text[3], text[4]);
	}
	ASSERT_EQ(0, ptrace(PTRACE_DETACH, pid, NULL, NULL));
	ASSERT_EQ(1, write(go[1], "g", 1));
	EXPECT_EQ(0, wait_exit(pid));
	EXPECT_EQ(20, probe_hits("sysemu_nop5"));
	close(ready[0]);
	close(go[1]);
	munmap(first, 4096);
}

/*
 * A traced process vforks; the child, not traced (no PTRACE_O_TRACEVFORK), runs the
 * probed site 10 times in the mm it shares with its parent. The parent's tracer may
 * read the text at any moment: the site must stay a breakpoint. The parent exits
 * with 64 if it finds a jump there after the child is gone, else the child's status.
 */
TEST_F(sysemu, vfork_child_of_traced)
{
	const volatile unsigned char *site = (const void *)nop5_fn;
	int status;
	pid_t pid;

	ASSERT_EQ(0, probe_at(self->exe, "sysemu_nop5", nop5_fn));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pid_t child;
		long i, bad = 0;

		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(100);
		kill(getpid(), SIGSTOP);
		child = vfork();
		if (child == 0) {
			for (i = 0; i < 10; i++)
				bad += nop5_fn(i) != i + 1;
			_exit(bad ? 1 : 0);
		}
		if (child < 0 || waitpid(child, &status, 0) != child)
			_exit(101);
		if (*site == 0xe9)
			_exit(64);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 102);
	}
	/* Every stop (the SIGSTOP, the SIGCHLD) goes on with its signal, but SIGSTOP. */
	for (;;) {
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (!WIFSTOPPED(status))
			break;
		ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, NULL,
				    (void *)(long)(WSTOPSIG(status) == SIGSTOP ? 0 :
						   WSTOPSIG(status))));
	}
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("traced parent's status %#x (exit 64: the site was a jump)", status);
	}
	EXPECT_EQ(10, probe_hits("sysemu_nop5"));
}

/* ---------------------------------------------------------------------------- */
/* Syscall user dispatch (Wine): system calls from outside a range become SIGSYS. */

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#define PR_SYS_DISPATCH_OFF		0
#define PR_SYS_DISPATCH_ON		1
#define SYSCALL_DISPATCH_FILTER_ALLOW	0
#define SYSCALL_DISPATCH_FILTER_BLOCK	1
#endif

FIXTURE(user_dispatch) {
	const char *exe;
};

FIXTURE_SETUP(user_dispatch)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(user_dispatch)
{
	EXPECT_EQ(0, probe_remove_all());
}

static volatile char dispatch_selector;
static volatile int dispatched_calls;

/*
 * What Wine's handler does for a call it does not know: fail it. The selector goes
 * back to ALLOW first, or the handler's own rt_sigreturn would come here again.
 */
static void dispatch_sigsys(int sig, siginfo_t *info, void *uc)
{
	ucontext_t *ctx = uc;

	dispatch_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	dispatched_calls++;
	ctx->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
}

/* Dispatch on, every system call from anywhere dispatched: 0, or -1. */
static int dispatch_on(void)
{
	struct sigaction sa = { .sa_sigaction = dispatch_sigsys, .sa_flags = SA_SIGINFO };

	if (sigaction(SIGSYS, &sa, NULL) ||
	    prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0, &dispatch_selector))
		return -1;
	return 0;
}

/* 20 calls of the site with the selector at BLOCK: wrong results plus SIGSYS seen. */
static long dispatch_blocked_calls(void)
{
	long i, bad = 0;

	dispatch_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	for (i = 0; i < 20; i++)
		bad += nop5_fn(i) != i + 1;
	dispatch_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	return bad + dispatched_calls;
}

/*
 * With dispatch on and the selector at BLOCK (an empty allowed range), the probed
 * site is hit 20 times: no system call of the program's may reach its handler, and
 * our stub's would but for the kernel's exemption of uprobes' own calls, as it
 * exempts the vDSO's sigreturn. On a kernel that optimizes, the site becomes a jump
 * under dispatch, so the stub's call is made under BLOCK. Exit status: wrong results
 * plus SIGSYS deliveries; the site's first byte after the calls in @after.
 */
TEST_F(user_dispatch, blocked_hits_not_dispatched)
{
	const volatile unsigned char *site = (const void *)nop5_fn;
	unsigned char *after = shared_byte();
	pid_t pid;

	ASSERT_NE(NULL, after);
	ASSERT_EQ(0, probe_at(self->exe, "dispatch_nop5", nop5_fn));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		long bad;

		if (dispatch_on())
			_exit(100);
		bad = dispatch_blocked_calls();
		*after = *site;
		_exit(bad);
	}
	EXPECT_EQ(0, wait_exit(pid));
	EXPECT_EQ(20, probe_hits("dispatch_nop5"));
	TH_LOG("the site starts with %#x after the calls", *after);
	if (kernel_optimizes_nop5())
		EXPECT_EQ(0xe9, *after);
	munmap(after, 4096);
}

/*
 * Dispatch turned on after the site became a jump (its first 5 hits, on a kernel that
 * optimizes): the 20 hits under BLOCK come through the stub, whose call the handler
 * must not see. The site's first byte from before dispatch in @first.
 */
TEST_F(user_dispatch, optimized_before_dispatch)
{
	const volatile unsigned char *site = (const void *)nop5_fn;
	unsigned char *first = shared_byte();
	pid_t pid;

	ASSERT_NE(NULL, first);
	ASSERT_EQ(0, probe_at(self->exe, "dispatch_nop5", nop5_fn));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		long i, bad = 0;

		for (i = 0; i < 5; i++)
			bad += nop5_fn(i) != i + 1;
		*first = *site;
		if (dispatch_on())
			_exit(100);
		_exit(bad + dispatch_blocked_calls());
	}
	EXPECT_EQ(0, wait_exit(pid));
	EXPECT_EQ(25, probe_hits("dispatch_nop5"));
	TH_LOG("the site starts with %#x before dispatch", *first);
	if (kernel_optimizes_nop5())
		EXPECT_EQ(0xe9, *first);
	munmap(first, 4096);
}

/*
 * A return probe under dispatch with the selector at BLOCK: each return lands on the
 * trampoline, which makes the uretprobe system call from outside the allowed range.
 * The kernel exempts it: 20 returns recorded, no SIGSYS. (Stock 6.12 does not: the
 * first return is a SIGSYS, and the handler's return into the trampoline a SIGSEGV.)
 */
TEST_F(user_dispatch, return_probe_not_dispatched)
{
	long off = text_offset(self->exe, nop5_fn);
	pid_t pid;

	ASSERT_LT(0, off);
	ASSERT_EQ(0, trace_clear());
	ASSERT_EQ(0, probe_add("r:%s/dispatch_ret %s:0x%lx", PROBE_GROUP, self->exe, off));
	ASSERT_EQ(0, probe_enable("dispatch_ret", true));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (dispatch_on())
			_exit(100);
		_exit(dispatch_blocked_calls());
	}
	EXPECT_EQ(0, wait_exit(pid)) {
		TH_LOG("the exit status counts wrong results and SIGSYS deliveries");
	}
	EXPECT_EQ(20, trace_count("dispatch_ret", pid));
}

/* ---------------------------------------------------------------------------- */
/* Optimizing sites interrupts only the process's CPUs.                         */

FIXTURE(ipi) {
	const char *exe;
};

FIXTURE_SETUP(ipi)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(ipi)
{
	EXPECT_EQ(0, probe_remove_all());
}

/*
 * Function-call IPIs that are not TLB shootdowns (CAL minus TLB in /proc/interrupts)
 * received by every CPU but @cpu, summed; -1 if they cannot be read.
 */
static long other_cpus_call_ipis(int cpu)
{
	long cal = 0, tlb = 0, *sum;
	char line[4096], *p, *end;
	FILE *f = fopen("/proc/interrupts", "r");
	int col;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		p = line + strspn(line, " ");
		if (!strncmp(p, "CAL:", 4))
			sum = &cal;
		else if (!strncmp(p, "TLB:", 4))
			sum = &tlb;
		else
			continue;
		p += 4;
		for (col = 0;; col++) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			if (col != cpu)
				*sum += v;
			p = end;
		}
	}
	fclose(f);
	return cal - tlb;
}

/*
 * A single-threaded process pinned to one CPU makes IPI_SITES sites jumps (three
 * serializations each): the other CPUs must not be interrupted for it.
 */
TEST_F(ipi, optimize_stays_home)
{
	long off = text_offset(self->exe, ipi_sites), before, after;
	cpu_set_t old, one;
	int i, cpu, status;
	char name[32];
	pid_t pid;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "one CPU: no other CPU to leave alone");
	ASSERT_LT(0, off);
	for (i = 0; i < IPI_SITES; i++) {
		snprintf(name, sizeof(name), "ipi_site%d", i);
		ASSERT_EQ(0, probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, name, self->exe,
				       off + 16 * i));
	}
	ASSERT_EQ(0, probe_enable(NULL, true));
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(old), &old));
	cpu = sched_getcpu();
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));

	before = other_cpus_call_ipis(cpu);
	pid = fork();		/* a new mm that only ever ran on @cpu */
	if (pid == 0) {
		int jumps = 0;

		for (i = 0; i < IPI_SITES; i++) {
			((void (*)(void))(ipi_sites + 16 * i))();
			jumps += mem_byte(ipi_sites + 16 * i) == 0xe9;
		}
		_exit(jumps == IPI_SITES ? 0 : 1);
	}
	ASSERT_LE(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	after = other_cpus_call_ipis(cpu);
	sched_setaffinity(0, sizeof(old), &old);
	ASSERT_LE(0, before);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("not every site became a jump");
	}
	TH_LOG("%d sites optimized on CPU %d: %ld call IPIs to the other CPUs",
	       IPI_SITES, cpu, after - before);
	EXPECT_GT(IPI_SITES, after - before);
}

#else /* !__x86_64__ */

TEST(x86_exact_only)
{
	SKIP(return, "these corners are x86-64's");
}

#endif

TEST_HARNESS_MAIN
