// SPDX-License-Identifier: GPL-2.0
/*
 * Probes under concurrency: threads hitting a probe while another thread adds and
 * removes probes on the same and neighbouring instructions, and signals arriving
 * while a probed instruction is being single-stepped.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "targets.h"
#include "insns.h"

#define NR_WORKERS	4
#define NR_CYCLES	15

FIXTURE(race) {
	const char *exe;
	long leaf_off;
	long loop_off;
	long sstep_off;
	const struct insn_fn *leaf;
	const struct insn_fn *loop;
	const struct insn_fn *sstep;
};

FIXTURE_SETUP(race)
{
	UPROBES_FIXTURE_START();
	ASSERT_EQ(0, trace_clear());
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
	self->leaf_off = elf_sym_offset(self->exe, "tgt_leaf");
	self->loop_off = elf_sym_offset(self->exe, "tgt_loop");
	self->sstep_off = elf_sym_offset(self->exe, "tgt_sstep");
	ASSERT_LT(0, self->leaf_off);
	ASSERT_LT(0, self->loop_off);
	ASSERT_LT(0, self->sstep_off);
	self->leaf = insn_fn_find(insn_fns, ARRAY_SIZE(insn_fns), "tgt_leaf");
	self->loop = insn_fn_find(insn_fns, ARRAY_SIZE(insn_fns), "tgt_loop");
	self->sstep = insn_fn_find(insn_fns, ARRAY_SIZE(insn_fns), "tgt_sstep");
	ASSERT_NE(NULL, self->leaf);
	ASSERT_NE(NULL, self->loop);
	ASSERT_NE(NULL, self->sstep);
	ASSERT_LE(2, self->leaf->count);
	ASSERT_LE(2, self->sstep->count);
	ASSERT_LE(8, self->loop->count);
}

FIXTURE_TEARDOWN_PARENT(race)
{
	EXPECT_EQ(0, probe_remove_all());
}

struct worker {
	pthread_t thread;
	const long *loop_ref;
	const int *stop;
	long calls;
	long bad;
};

static void *race_worker(void *arg)
{
	struct worker *w = arg;
	long i;

	for (i = 0; !__atomic_load_n(w->stop, __ATOMIC_ACQUIRE); i++) {
		w->bad += tgt_leaf(i) != i * 7 + 3;
		w->bad += tgt_loop(i & 7) != w->loop_ref[i & 7];
		w->calls++;
	}
	return NULL;
}

/*
 * Four threads call tgt_leaf() and tgt_loop() in a loop; tgt_leaf's entry carries a
 * probe for the whole run. Meanwhile this thread adds, enables, disables and removes
 * probes on the same entry (a second consumer of one breakpoint), on tgt_leaf's second
 * instruction, and on tgt_loop's entry, middle and return. Every result must be right,
 * and the permanent probe must count every call: installing or removing a neighbour
 * never hides the breakpoint that stays.
 */
TEST_F_TIMEOUT(race, threads_and_probe_churn, 100)
{
	static const char *const churn[] = { "same", "next", "loop", "loopmid", "loopret" };
	unsigned int mid = self->loop->count / 2;
	long loop_ref[8], calls = 0, bad = 0, churn_hits = 0, h;
	struct worker w[NR_WORKERS];
	int stop = 0, cycle, i;
	double start;

	for (i = 0; i < 8; i++)
		loop_ref[i] = tgt_loop(i);
	ASSERT_EQ(0, probe_add("p:%s/hot %s:0x%lx", PROBE_GROUP, self->exe, self->leaf_off));
	ASSERT_EQ(0, probe_enable("hot", true));

	for (i = 0; i < NR_WORKERS; i++) {
		w[i] = (struct worker){ .loop_ref = loop_ref, .stop = &stop };
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, race_worker, &w[i]));
	}

	start = now();
	/*
	 * At least five cycles, within a time bound generous enough for a loaded TCG
	 * guest (a cycle waits for RCU grace periods and for mmap_lock held by four
	 * hitting threads): this asserts the churn happened, it times nothing.
	 */
	for (cycle = 0; cycle < NR_CYCLES && (cycle < 5 || now() - start < 20); cycle++) {
		ASSERT_EQ(0, probe_add("p:%s/same %s:0x%lx", PROBE_GROUP, self->exe,
				       self->leaf_off));
		ASSERT_EQ(0, probe_add("p:%s/next %s:0x%lx", PROBE_GROUP, self->exe,
				       self->leaf_off + self->leaf->off[1]));
		ASSERT_EQ(0, probe_add("p:%s/loop %s:0x%lx", PROBE_GROUP, self->exe,
				       self->loop_off));
		ASSERT_EQ(0, probe_add("p:%s/loopmid %s:0x%lx", PROBE_GROUP, self->exe,
				       self->loop_off + self->loop->off[mid]));
		ASSERT_EQ(0, probe_add("r:%s/loopret %s:0x%lx ret=$retval:s64", PROBE_GROUP,
				       self->exe, self->loop_off));
		for (i = 0; i < ARRAY_SIZE(churn); i++) {
			ASSERT_EQ(0, probe_enable(churn[i], true));
		}
		usleep(2000);
		for (i = 0; i < ARRAY_SIZE(churn); i++) {
			ASSERT_EQ(0, probe_enable(churn[i], false));
			h = probe_hits(churn[i]);
			ASSERT_LE(0, h);
			churn_hits += h;
			ASSERT_EQ(0, probe_del(churn[i]));
		}
	}

	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NR_WORKERS; i++) {
		ASSERT_EQ(0, pthread_join(w[i].thread, NULL));
		calls += w[i].calls;
		bad += w[i].bad;
	}
	ASSERT_EQ(0, probe_enable("hot", false));
	TH_LOG("%d cycles in %.1fs, %ld calls, %ld hits on the churned probes",
	       cycle, now() - start, calls, churn_hits);
	EXPECT_LE(5, cycle);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, calls);
	EXPECT_EQ(calls, probe_hits("hot"));
	EXPECT_LT(0, churn_hits);
}

static volatile sig_atomic_t sig_count, sig_bad;
static unsigned long xol_start, xol_end;
static volatile unsigned long sig_in_xol, sig_in_target;

static unsigned long ucontext_ip(void *uc)
{
#if defined(__x86_64__)
	return ((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
#elif defined(__powerpc64__)
	return ((ucontext_t *)uc)->uc_mcontext.gp_regs[PT_NIP];
#elif defined(__aarch64__)
	return ((ucontext_t *)uc)->uc_mcontext.pc;
#endif
}

/*
 * Runs often, also right after a probed instruction was stepped: the interrupted IP
 * must be an address of the program, never the out-of-line copy, and the handler's
 * own calls of the probed function must hit and compute right.
 */
static void on_signal(int sig, siginfo_t *info, void *uc)
{
	unsigned long ip = ucontext_ip(uc);
	long x = sig_count;

	if (ip >= xol_start && ip < xol_end)
		sig_in_xol++;
	if (ip >= (unsigned long)tgt_sstep && ip < (unsigned long)tgt_sstep + 16)
		sig_in_target++;
	sig_bad += tgt_sstep(x, 5) != (x + 3) * 5;
	sig_count++;
}

/* The [uprobes] mapping of this process, if there is one. */
static void find_xol_area(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[uprobes]"))
			sscanf(line, "%lx-%lx", &xol_start, &xol_end);
	fclose(f);
}

/*
 * A probe on each of two instructions that are single-stepped out of line (lea and
 * imul of tgt_sstep on x86), called in a loop while a profiling itimer and a 1 ms
 * POSIX timer send signals whose handler calls the same function.
 */
TEST_F_TIMEOUT(race, signal_during_single_step, 60)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct itimerval prof = { { 0, 100 }, { 0, 100 } };
	struct itimerspec its = { { 0, 1000000 }, { 0, 1000000 } };
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	long i, bad = 0, calls = 0;
	sigset_t set;
	int handled;
	timer_t timer;
	double start;

	ASSERT_EQ(0, probe_add("p:%s/s0 %s:0x%lx", PROBE_GROUP, self->exe, self->sstep_off));
	ASSERT_EQ(0, probe_add("p:%s/s1 %s:0x%lx", PROBE_GROUP, self->exe,
			       self->sstep_off + self->sstep->off[1]));
	ASSERT_EQ(0, probe_enable(NULL, true));
	EXPECT_EQ(4 * 7, tgt_sstep(1, 7));
	calls++;
	find_xol_area();

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGPROF, &sa, NULL));
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, timer_create(CLOCK_MONOTONIC, &sev, &timer));
	ASSERT_EQ(0, timer_settime(timer, 0, &its, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_PROF, &prof, NULL));

	start = now();
	for (i = 0; i < 2000 || (sig_count < 200 && now() - start < 20); i++) {
		bad += tgt_sstep(i, 7) != (i + 3) * 7;
		calls++;
	}

	memset(&prof, 0, sizeof(prof));
	memset(&its, 0, sizeof(its));
	ASSERT_EQ(0, setitimer(ITIMER_PROF, &prof, NULL));
	ASSERT_EQ(0, timer_settime(timer, 0, &its, NULL));
	timer_delete(timer);
	/* A signal still pending would call the function after the count is taken. */
	sigemptyset(&set);
	sigaddset(&set, SIGPROF);
	sigaddset(&set, SIGUSR1);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	handled = sig_count;
	ASSERT_EQ(0, probe_enable(NULL, false));

	TH_LOG("%ld calls in %.1fs, %d signals, %lu of them in tgt_sstep",
	       calls, now() - start, handled, (unsigned long)sig_in_target);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, sig_bad);
	EXPECT_LT(0, handled);
	EXPECT_EQ(0, sig_in_xol);
	/* Each call, from the loop or from a handler, passes both probes once. */
	EXPECT_EQ(calls + handled, probe_hits("s0"));
	EXPECT_EQ(calls + handled, probe_hits("s1"));
}

TEST_HARNESS_MAIN
