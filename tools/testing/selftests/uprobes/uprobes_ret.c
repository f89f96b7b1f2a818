// SPDX-License-Identifier: GPL-2.0
/*
 * Return probes (r:): every return of a recursion reported with its value, frames left
 * by longjmp() that never return, deep recursion, and fork() inside a function whose
 * return is probed. Built without tail calls, so each call below really returns.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "targets.h"

#define FIB_N		10
#define NR_JUMPS	200
#define DEEP_N		100
/* How deep the stock kernel nests return probes (MAX_URETPROBE_DEPTH). */
#define MIN_RET_DEPTH	64

static jmp_buf ret_jb;

/* Leaves through longjmp() for x >= 0: neither it nor via() returns then. */
PROBED long jumper(long x)
{
	if (x >= 0)
		longjmp(ret_jb, (int)x + 1);
	return x;
}

PROBED long via(long x)
{
	return jumper(x) + 1;
}

PROBED long deep(long n)
{
	return n ? deep(n - 1) + 1 : 0;
}

PROBED pid_t fork_probed(void)
{
	return fork();
}

FIXTURE(ret) {
	const char *exe;
};

FIXTURE_SETUP(ret)
{
	UPROBES_FIXTURE_START();
	ASSERT_EQ(0, trace_clear());
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(ret)
{
	EXPECT_EQ(0, probe_remove_all());
}

/* A probe of @type ('p' or 'r') on function @sym of the test binary, enabled. */
static int add_probe(const char *exe, char type, const char *event, const char *sym,
		     const char *args)
{
	long off = elf_sym_offset(exe, sym);
	int ret;

	if (off < 0)
		return off;
	ret = probe_add("%c:%s/%s %s:0x%lx %s", type, PROBE_GROUP, event, exe, off, args);
	return ret ? ret : probe_enable(event, true);
}

/* What the returns of fib(n) must be: hist[v] returns of value v. */
static void fib_hist(long n, long *hist)
{
	long v = n < 2 ? n : tgt_fib(n);

	if (n >= 2) {
		fib_hist(n - 1, hist);
		fib_hist(n - 2, hist);
	}
	hist[v]++;
}

/*
 * Recursive fib with an entry and a return probe: as many returns as calls, and the
 * multiset of $retval values is the one the recursion computes.
 */
TEST_F(ret, recursion)
{
	long want[64] = { 0 }, got[64] = { 0 }, calls = 0, v;
	struct trace_rec *recs;
	int i, nr;

	fib_hist(FIB_N, want);
	for (i = 0; i < 64; i++)
		calls += want[i];
	ASSERT_EQ(0, add_probe(self->exe, 'p', "fib_in", "tgt_fib", "n=" REG_ARG1 ":s64"));
	ASSERT_EQ(0, add_probe(self->exe, 'r', "fib_out", "tgt_fib", "ret=$retval:s64"));
	EXPECT_EQ(55, tgt_fib(FIB_N));
	ASSERT_EQ(0, probe_enable(NULL, false));

	EXPECT_EQ(calls, probe_hits("fib_in"));
	nr = trace_read("fib_out", &recs);
	ASSERT_EQ(calls, nr);
	for (i = 0; i < nr; i++) {
		ASSERT_TRUE(trace_arg(&recs[i], "ret", &v));
		ASSERT_TRUE(v >= 0 && v < 64);
		got[v]++;
	}
	free(recs);
	for (i = 0; i < 64; i++) {
		EXPECT_EQ(want[i], got[i]) {
			TH_LOG("returns of value %d", i);
		}
	}
}

/*
 * Return probes on via() and jumper(); 200 times jumper() longjmp()s out of both frames,
 * so those returns never happen and must not be reported. The program must go on, and
 * the returns that do happen afterwards must all be reported with their values: what
 * the kernel kept for the abandoned frames must not fill up its nesting limit.
 */
TEST_F(ret, longjmp_out_of_probed_frames)
{
	struct trace_rec *recs;
	volatile long i, bad = 0;
	long v;
	int nr, r;

	ASSERT_EQ(0, add_probe(self->exe, 'p', "via_in", "via", "x=" REG_ARG1 ":s64"));
	ASSERT_EQ(0, add_probe(self->exe, 'r', "via_out", "via", "ret=$retval:s64"));
	ASSERT_EQ(0, add_probe(self->exe, 'r', "jumper_out", "jumper", "ret=$retval:s64"));

	for (i = 0; i < NR_JUMPS; i++) {
		r = setjmp(ret_jb);
		if (!r) {
			via(i);
			bad++;		/* via() returned: longjmp did not jump */
		} else {
			bad += r != i + 1;
		}
	}
	for (i = 1; i <= 10; i++)
		bad += via(-i) != -i + 1;
	ASSERT_EQ(0, probe_enable(NULL, false));

	EXPECT_EQ(0, bad);
	EXPECT_EQ(NR_JUMPS + 10, probe_hits("via_in"));
	nr = trace_read("via_out", &recs);
	ASSERT_EQ(10, nr);
	for (i = 0; i < nr; i++) {
		ASSERT_TRUE(trace_arg(&recs[i], "ret", &v));
		EXPECT_EQ(-i, v);
	}
	free(recs);
	nr = trace_read("jumper_out", &recs);
	ASSERT_EQ(10, nr);
	for (i = 0; i < nr; i++) {
		ASSERT_TRUE(trace_arg(&recs[i], "ret", &v));
		EXPECT_EQ(-i - 1, v);
	}
	free(recs);
}

/*
 * 101 nested calls with a return probe. The result must be right; the kernel may stop
 * reporting returns past its nesting limit, but each reported return has the value of
 * its own frame (outermost first is deep(100) = 100), and a call made afterwards is
 * reported again.
 */
TEST_F(ret, deep_recursion)
{
	struct trace_rec *recs;
	long v, seen[DEEP_N + 1] = { 0 };
	int i, nr;

	ASSERT_EQ(0, add_probe(self->exe, 'r', "deep_out", "deep", "ret=$retval:s64"));
	EXPECT_EQ(DEEP_N, deep(DEEP_N));
	EXPECT_EQ(3, deep(3));
	ASSERT_EQ(0, probe_enable(NULL, false));

	nr = trace_read("deep_out", &recs);
	ASSERT_LE(0, nr);
	TH_LOG("%d returns reported of %d", nr, DEEP_N + 1 + 4);
	EXPECT_LE(MIN_RET_DEPTH + 4, nr);
	EXPECT_GE(DEEP_N + 1 + 4, nr);
	for (i = 0; i < nr; i++) {
		ASSERT_TRUE(trace_arg(&recs[i], "ret", &v));
		ASSERT_TRUE(v >= 0 && v <= DEEP_N);
		seen[v]++;
	}
	free(recs);
	/* The second call's four returns, and the outermost frames of the first. */
	for (i = 0; i <= 3; i++) {
		EXPECT_LE(1, seen[i]);
	}
	for (i = DEEP_N; i > DEEP_N - MIN_RET_DEPTH; i--) {
		EXPECT_EQ(1, seen[i]) {
			TH_LOG("return of deep(%d)", i);
		}
	}
}

/*
 * fork() inside a function whose return is probed: parent and child both return from
 * it through the return probe, each with its own value, and the child runs on.
 */
TEST_F(ret, fork_in_probed_function)
{
	struct trace_rec *recs;
	int i, nr, parent = 0, child = 0;
	pid_t pid;
	long v;

	ASSERT_EQ(0, add_probe(self->exe, 'r', "fork_out", "fork_probed", "ret=$retval:s32"));
	pid = fork_probed();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(tgt_fib(FIB_N) == 55 && deep(10) == 10 ? 0 : 1);
	EXPECT_EQ(0, wait_exit(pid));
	ASSERT_EQ(0, probe_enable(NULL, false));

	nr = trace_read("fork_out", &recs);
	ASSERT_LE(0, nr);
	for (i = 0; i < nr; i++) {
		ASSERT_TRUE(trace_arg(&recs[i], "ret", &v));
		if (recs[i].pid == getpid() && v == pid)
			parent++;
		else if (recs[i].pid == pid && v == 0)
			child++;
		else
			TH_LOG("unexpected return: pid %d ret %ld", recs[i].pid, v);
	}
	free(recs);
	EXPECT_EQ(2, nr);
	EXPECT_EQ(1, parent);
	EXPECT_EQ(1, child);
}

TEST_HARNESS_MAIN
