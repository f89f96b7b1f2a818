// SPDX-License-Identifier: GPL-2.0
/*
 * The edges of out-of-line stepping: a probed instruction that faults must fault as it
 * would unprobed (same signal, same address, the program counter on the instruction
 * itself, never in the XOL area), more tasks stepping at once than the XOL area has
 * slots must wait for a slot, not fail, and changing the protection of probed text
 * neither loses the breakpoint nor leaves it behind.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "targets.h"
#include "uprobes_helpers.h"

#define NR_STEPPERS	48	/* more than the 31 slots of a 4 KiB XOL page */
#define STEPPER_CALLS	40

#if defined(__x86_64__)
/* A load through the argument: x86 steps it out of line (it is not emulated). */
asm(".text\n"
	".globl flt_load\n"
	".type flt_load, @function\n"
	"flt_load:\n"
	"\tmov (%rdi), %rax\n"
	"\tret\n"
	".size flt_load, . - flt_load\n");
long flt_load(const long *p);
#define HAVE_FLT_LOAD 1
#define UC_PC(uc)	((uc)->uc_mcontext.gregs[REG_RIP])
#elif defined(__powerpc64__)
/*
 * A load through the argument: powerpc first tries to emulate it, the emulation
 * faults, and the load is stepped out of line, where it faults for real.
 */
asm(".text\n"
	".globl flt_load\n"
	".type flt_load, @function\n"
	"flt_load:\n"
	"\t.localentry flt_load, 1\n"
	"\tld 3, 0(3)\n"
	"\tblr\n"
	".size flt_load, . - flt_load\n");
long flt_load(const long *p);
#define HAVE_FLT_LOAD 1
#define UC_PC(uc)	((uc)->uc_mcontext.gp_regs[PT_NIP])
#elif defined(__aarch64__)
/*
 * A load through the argument: arm64 simulates only branches and adr (it refuses
 * literal loads), so this one is stepped out of line, where it faults for real.
 */
asm(".text\n"
	".globl flt_load\n"
	".type flt_load, %function\n"
	"flt_load:\n"
	"\tldr x0, [x0]\n"
	"\tret\n"
	".size flt_load, . - flt_load\n");
long flt_load(const long *p);
#define HAVE_FLT_LOAD 1
#define UC_PC(uc)	((uc)->uc_mcontext.pc)
#endif

static sigjmp_buf fault_env;
static volatile uintptr_t fault_addr, fault_pc;
static volatile int fault_sig;

static void on_fault(int sig, siginfo_t *info, void *uc_void)
{
#ifdef HAVE_FLT_LOAD
	ucontext_t *uc = uc_void;

	fault_pc = UC_PC(uc);
#endif
	fault_sig = sig;
	fault_addr = (uintptr_t)info->si_addr;
	siglongjmp(fault_env, 1);
}

FIXTURE(fault) {
	const char *exe;
};

FIXTURE_SETUP(fault)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(fault)
{
	EXPECT_EQ(0, probe_remove_all());
}

/*
 * The probed load faults on a bad pointer: SIGSEGV with si_addr the bad pointer and
 * the saved program counter on the probed instruction, as without the probe; the
 * probe counted the hit, and the same instruction then works on a good pointer.
 */
TEST_F(fault, fault_in_stepped_instruction)
{
#ifdef HAVE_FLT_LOAD
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
	static const long good = 0x5eed;
	long off, round;

	off = elf_sym_offset(self->exe, "flt_load");
	ASSERT_LT(0, off);
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
	ASSERT_EQ(0, probe_add("p:%s/load %s:0x%lx", PROBE_GROUP, self->exe, off));
	ASSERT_EQ(0, probe_enable("load", true));

	for (round = 0; round < 3; round++) {
		fault_sig = 0;
		if (!sigsetjmp(fault_env, 1))
			flt_load((const long *)(0x1000 + round * 8));
		EXPECT_EQ(SIGSEGV, fault_sig);
		EXPECT_EQ(0x1000 + round * 8, fault_addr);
		EXPECT_EQ((uintptr_t)flt_load, fault_pc) {
			TH_LOG("fault reported at %#lx, the probed load is at %p",
			       (unsigned long)fault_pc, flt_load);
		}
		EXPECT_EQ(good, flt_load(&good));
	}
	ASSERT_EQ(0, probe_enable("load", false));
	EXPECT_EQ(6, probe_hits("load"));
	signal(SIGSEGV, SIG_DFL);
#else
	SKIP(return, "the faulting load is written for x86-64, powerpc64 and arm64 only");
#endif
}

struct stepper {
	pthread_t thread;
	pthread_barrier_t *start;
	long id, bad;
};

static void *stepper_run(void *arg)
{
	struct stepper *s = arg;
	long i;

	pthread_barrier_wait(s->start);
	for (i = 0; i < STEPPER_CALLS; i++)
		s->bad += tgt_sstep(s->id + i, 5) != (s->id + i + 3) * 5;
	return NULL;
}

/*
 * NR_STEPPERS threads step the same probed instruction at once, more than there are
 * XOL slots: every call computes the right value and every hit is counted.
 */
TEST_F_TIMEOUT(fault, more_steppers_than_slots, 120)
{
	struct stepper s[NR_STEPPERS];
	pthread_barrier_t start;
	long off, bad = 0;
	int i;

	off = elf_sym_offset(self->exe, "tgt_sstep");
	ASSERT_LT(0, off);
	ASSERT_EQ(0, probe_add("p:%s/sstep %s:0x%lx", PROBE_GROUP, self->exe, off));
	ASSERT_EQ(0, probe_enable("sstep", true));
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, NR_STEPPERS));
	for (i = 0; i < NR_STEPPERS; i++) {
		s[i] = (struct stepper){ .start = &start, .id = i * 1000 };
		ASSERT_EQ(0, pthread_create(&s[i].thread, NULL, stepper_run, &s[i]));
	}
	for (i = 0; i < NR_STEPPERS; i++) {
		ASSERT_EQ(0, pthread_join(s[i].thread, NULL));
		bad += s[i].bad;
	}
	pthread_barrier_destroy(&start);
	ASSERT_EQ(0, probe_enable("sstep", false));
	EXPECT_EQ(0, bad);
	EXPECT_EQ(NR_STEPPERS * STEPPER_CALLS, probe_hits("sstep"));
}

/*
 * mprotect() of the probed text to writable and back splits and merges its mapping
 * (uprobes sees each piece come and go): the probe keeps counting every call, results
 * stay right, and after removal the text equals the file again.
 */
TEST_F(fault, mprotect_probed_text)
{
	long page = sysconf(_SC_PAGESIZE), off, i, bad = 0;
	uintptr_t text = (uintptr_t)tgt_leaf & ~(uintptr_t)(page - 1);
	unsigned long first = 0;
	int prot, step;

	off = elf_sym_offset(self->exe, "tgt_leaf");
	ASSERT_LT(0, off);
	ASSERT_EQ(0, probe_add("p:%s/leaf %s:0x%lx", PROBE_GROUP, self->exe, off));
	ASSERT_EQ(0, probe_enable("leaf", true));
	for (step = 0; step < 3; step++) {
		prot = step == 1 ? PROT_READ | PROT_WRITE | PROT_EXEC : PROT_READ | PROT_EXEC;
		ASSERT_EQ(0, mprotect((void *)text, page, prot));
		for (i = 0; i < 10; i++)
			bad += tgt_leaf(i) != i * 7 + 3;
	}
	ASSERT_EQ(0, probe_enable("leaf", false));
	EXPECT_EQ(0, bad);
	EXPECT_EQ(30, probe_hits("leaf"));
	ASSERT_EQ(0, probe_remove_all());
	EXPECT_EQ(0, proc_text_diff(getpid(), self->exe, &first)) {
		TH_LOG("text differs from the file at %#lx", first);
	}
}

TEST_HARNESS_MAIN
