// SPDX-License-Identifier: GPL-2.0
/*
 * SIGKILL at any moment of a probe hit. Short-lived children run a loop through
 * entry and return probes on functions whose first instruction is single-stepped out
 * of line, and die by SIGKILL wherever they are: in the breakpoint handler, in the
 * middle of an out-of-line step, inside a function whose return address the return
 * probe replaced, or stopped by a debugger between two single-steps. Each must die of
 * that SIGKILL, promptly; afterwards nothing of them is left, the probes still work for
 * a new process, and once removed the text equals the file again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "targets.h"
#include "insns.h"

#define NR_CHILDREN	150
#define MIN_CHILDREN	40
/* Stop starting children after this long: a debug kernel may be slow to fork. */
#define MAX_SECONDS	20
#define NR_LIVE		4	/* children running at once */
#define NR_TRACED	30
#define MAX_DELAY_US	3000
#define MAX_STEPS	200
#define NR_CALLS	20
/* A child still there this long after SIGKILL counts as unkillable. */
#define REAP_TIMEOUT_MS	10000

#ifdef __x86_64__
/*
 * tgt_sstep(x + 5, 3) + tgt_leaf(x), with a first instruction (lea) that is stepped
 * out of line, like those of tgt_sstep and tgt_leaf.
 */
asm(".pushsection .text\n"
	".globl kill_outer\n"
	".type kill_outer, @function\n"
	"kill_outer:\n"
	"	lea 5(%rdi), %rax\n"
	"	push %rbx\n"
	"	mov %rdi, %rbx\n"
	"	mov %rax, %rdi\n"
	"	mov $3, %esi\n"
	"	call tgt_sstep\n"
	"	mov %rbx, %rdi\n"
	"	mov %rax, %rbx\n"
	"	call tgt_leaf\n"
	"	add %rbx, %rax\n"
	"	pop %rbx\n"
	"	ret\n"
	".size kill_outer, . - kill_outer\n"
	".popsection\n");
long kill_outer(long x);
#else
PROBED long kill_outer(long x)
{
	return tgt_sstep(x + 5, 3) + tgt_leaf(x);
}
#endif

static long outer_ref(long x)
{
	return 10 * x + 27;
}

/* What a child runs until it is killed; it exits 1 at the first wrong result. */
static void *work_loop(void *arg)
{
	long i;

	for (i = 0; ; i++)
		if (kill_outer(i & 0xffff) != outer_ref(i & 0xffff))
			_exit(1);
	return NULL;
}

FIXTURE(kill) {
	const char *exe;
	pid_t survivor;
	int to_survivor;
	unsigned int seed;
};

/*
 * Entry and return probes on tgt_sstep, tgt_leaf and kill_outer, and one on
 * tgt_sstep's second instruction (imul, also stepped). A survivor child is forked while
 * they are in and waits, so that its text can be checked after their removal.
 */
FIXTURE_SETUP(kill)
{
	static const struct { const char *fn, *event; } fns[] = {
		{ "tgt_sstep", "sstep" }, { "tgt_leaf", "leaf" }, { "kill_outer", "outer" },
	};
	const struct insn_fn *sstep = insn_fn_find(insn_fns, ARRAY_SIZE(insn_fns), "tgt_sstep");
	int fds[2], i;
	pid_t pid;
	long off;
	char c;

	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
	ASSERT_NE(NULL, sstep);
	ASSERT_LE(2, sstep->count);
	for (i = 0; i < ARRAY_SIZE(fns); i++) {
		off = elf_sym_offset(self->exe, fns[i].fn);
		ASSERT_LT(0, off);
		ASSERT_EQ(0, probe_add("p:%s/%s_in %s:0x%lx x=%s:s64", PROBE_GROUP,
				       fns[i].event, self->exe, off, REG_ARG1));
		ASSERT_EQ(0, probe_add("r:%s/%s_ret %s:0x%lx ret=$retval:s64", PROBE_GROUP,
				       fns[i].event, self->exe, off));
	}
	off = elf_sym_offset(self->exe, "tgt_sstep");
	ASSERT_EQ(0, probe_add("p:%s/sstep_mid %s:0x%lx", PROBE_GROUP, self->exe,
			       off + sstep->off[1]));
	ASSERT_EQ(0, probe_enable(NULL, true));
	ASSERT_EQ(outer_ref(7), kill_outer(7));

	ASSERT_EQ(0, pipe(fds));
	/* Not straight into *self: the harness shares it with every fork. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(2);
		_exit(kill_outer(3) == outer_ref(3) ? 0 : 1);
	}
	self->survivor = pid;
	close(fds[0]);
	self->to_survivor = fds[1];
	self->seed = time(NULL) ^ getpid();
	srand(self->seed);
	TH_LOG("random seed %u", self->seed);
}

FIXTURE_TEARDOWN_PARENT(kill)
{
	if (self->survivor > 0)
		kill(self->survivor, SIGKILL);
	EXPECT_EQ(0, probe_remove_all());
}

static void check_killed(struct __test_metadata *_metadata, pid_t pid, int status)
{
	ASSERT_NE(-1, status) {
		TH_LOG("child %d still there %d ms after SIGKILL", pid, REAP_TIMEOUT_MS);
	}
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		if (WIFSIGNALED(status))
			TH_LOG("child %d died of signal %d, not SIGKILL", pid, WTERMSIG(status));
		else
			TH_LOG("child %d exited with %d before SIGKILL", pid,
			       WEXITSTATUS(status));
	}
}

/*
 * What must hold after the kills: no child left but the survivor, this process
 * computes right and hits, a new child is seen on every probe exactly once per call
 * with the right return values, and once the probes are removed the text of this
 * process and of the survivor equals the file, and the survivor computes right.
 */
static void check_aftermath(struct __test_metadata *_metadata, FIXTURE_DATA(kill) *self)
{
	static const char *const events[] = {
		"sstep_in", "sstep_ret", "sstep_mid", "leaf_in", "leaf_ret", "outer_in",
		"outer_ret", NULL
	};
	const char *const *ev;
	struct trace_rec *recs;
	unsigned long first;
	long hits, v;
	int i, nr;
	pid_t pid;
	char c = 'g';

	EXPECT_EQ(1, count_children(getpid()));

	hits = probe_hits("outer_in");
	ASSERT_EQ(outer_ref(11), kill_outer(11));
	EXPECT_EQ(hits + 1, probe_hits("outer_in"));

	ASSERT_EQ(0, trace_clear());
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		for (i = 0; i < NR_CALLS; i++)
			if (kill_outer(i) != outer_ref(i))
				_exit(1);
		_exit(0);
	}
	EXPECT_EQ(0, wait_exit(pid));
	for (ev = events; *ev; ev++) {
		v = trace_count(*ev, pid);
		if (v != NR_CALLS)
			TH_LOG("%ld records of %s by the new child", v, *ev);
		EXPECT_EQ(NR_CALLS, v);
	}
	nr = trace_read("outer_ret", &recs);
	ASSERT_LE(0, nr);
	for (i = 0; i < nr; i++) {
		if (recs[i].pid != pid)
			continue;
		ASSERT_TRUE(trace_arg(&recs[i], "ret", &v));
		EXPECT_EQ(outer_ref(i), v);
	}
	free(recs);

	ASSERT_EQ(0, probe_enable(NULL, false));
	ASSERT_EQ(0, probe_remove_all());
	EXPECT_EQ(0, proc_text_diff(0, self->exe, &first)) {
		TH_LOG("text of this process differs from the file at %#lx", first);
	}
	EXPECT_EQ(0, proc_text_diff(self->survivor, self->exe, &first)) {
		TH_LOG("text of the survivor differs from the file at %#lx", first);
	}
	ASSERT_EQ(1, write(self->to_survivor, &c, 1));
	EXPECT_EQ(0, wait_exit(self->survivor));
	self->survivor = 0;
	EXPECT_EQ(0, count_children(getpid()));
	EXPECT_EQ(outer_ref(12), kill_outer(12));
}

/* A child running work_loop() in two threads; it writes a byte to @wfd once running. */
static pid_t start_worker(int wfd)
{
	pthread_t thread;
	pid_t pid;
	char c = 'r';

	pid = fork();
	if (pid)
		return pid;
	if (pthread_create(&thread, NULL, work_loop, NULL))
		_exit(3);
	if (kill_outer(1) != outer_ref(1) || write(wfd, &c, 1) != 1)
		_exit(4);
	work_loop(NULL);
	_exit(5);
}

/*
 * NR_CHILDREN children (fewer if that takes over MAX_SECONDS), NR_LIVE at a time, each
 * SIGKILLed 0 to MAX_DELAY_US after it reported running: each must die of SIGKILL
 * within REAP_TIMEOUT_MS.
 */
TEST_F_TIMEOUT(kill, sigkill_in_probed_loop, 120)
{
	pid_t live[NR_LIVE] = { 0 };
	time_t start = time(NULL);
	struct pollfd pfd;
	int fds[2], n, i, status;
	char c;

	ASSERT_EQ(0, pipe(fds));
	pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	for (n = 0; n < NR_CHILDREN && (n < MIN_CHILDREN || time(NULL) - start < MAX_SECONDS);
	     n++) {
		for (i = 0; i < NR_LIVE; i++) {
			if (live[i])
				continue;
			live[i] = start_worker(fds[1]);
			ASSERT_LT(0, live[i]);
			ASSERT_EQ(1, poll(&pfd, 1, REAP_TIMEOUT_MS)) {
				TH_LOG("child %d did not start", live[i]);
			}
			ASSERT_EQ(1, read(fds[0], &c, 1));
		}
		i = rand() % NR_LIVE;
		usleep(rand() % (MAX_DELAY_US + 1));
		ASSERT_EQ(0, kill(live[i], SIGKILL));
		status = wait_within(live[i], REAP_TIMEOUT_MS);
		check_killed(_metadata, live[i], status);
		live[i] = 0;
	}
	for (i = 0; i < NR_LIVE; i++) {
		if (!live[i])
			continue;
		ASSERT_EQ(0, kill(live[i], SIGKILL));
		check_killed(_metadata, live[i], wait_within(live[i], REAP_TIMEOUT_MS));
	}
	close(fds[0]);
	close(fds[1]);
	TH_LOG("%d children killed in %lds; %ld calls of kill_outer hit", n + NR_LIVE,
	       (long)(time(NULL) - start), probe_hits("outer_in"));
	EXPECT_LT(n, probe_hits("outer_in"));
	check_aftermath(_metadata, self);
}

/*
 * NR_TRACED children under ptrace, single-stepped a random number of times through
 * the probed loop (so often stopped on a probed instruction, or inside kill_outer with
 * its return probe pending), then SIGKILLed: half while stopped by the tracer, half
 * while running on after PTRACE_CONT.
 */
TEST_F_TIMEOUT(kill, sigkill_while_traced, 120)
{
	int n, steps, i, status;
	pid_t pid;

	for (n = 0; n < NR_TRACED; n++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
				_exit(6);
			raise(SIGSTOP);
			work_loop(NULL);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
		steps = rand() % (MAX_STEPS + 1);
		for (i = 0; i < steps; i++) {
			ASSERT_EQ(0, ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL));
			/* A lost step fails here, not at the harness's time limit. */
			status = wait_within(pid, REAP_TIMEOUT_MS);
			ASSERT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP) {
				TH_LOG("step %d of %d: %s %#x", i, steps,
				       status == -1 ? "no stop after" : "status", status);
			}
		}
		if (n & 1) {
			ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, NULL, NULL));
			usleep(rand() % (MAX_DELAY_US + 1));
		}
		ASSERT_EQ(0, kill(pid, SIGKILL));
		check_killed(_metadata, pid, wait_within(pid, REAP_TIMEOUT_MS));
	}
	check_aftermath(_metadata, self);
}

TEST_HARNESS_MAIN
