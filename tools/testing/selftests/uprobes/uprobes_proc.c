// SPDX-License-Identifier: GPL-2.0
/*
 * Probes and processes: a probe on a shared library is hit in every process that maps
 * it, a probe works whether it was made before the program started or while it runs,
 * and it follows fork() into the child and exec() into the new image. Helper processes
 * are this binary run again as "--child MODE ...".
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "targets.h"

#define NR_CALLS	50

PROBED long proc_work(long x)
{
	return x * x + 7;
}

/* Both calls @n times from @base; the number of wrong results. */
static int run_calls(long n, long base)
{
	int bad = 0;
	long i, x;

	for (i = 0; i < n; i++) {
		x = base + i;
		bad += proc_work(x) != x * x + 7;
		bad += lib_mix(x, i) != x * 31 + (i ^ 0x5a);
	}
	return bad;
}

/*
 * "--child calls N BASE": make the calls and exit 0 when every result was right.
 * "--child wait N BASE RFD WFD": N calls, a byte to WFD, wait for a byte on RFD, then
 * N more calls from BASE + N.
 */
static int child_main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[1]) : 0, base = argc > 2 ? atol(argv[2]) : 0;
	int bad, rfd, wfd;
	char c = 'r';

	if (!strcmp(argv[0], "calls") && argc == 3)
		return run_calls(n, base) ? 1 : 0;
	if (strcmp(argv[0], "wait") || argc != 5)
		return 2;
	rfd = atoi(argv[3]);
	wfd = atoi(argv[4]);
	bad = run_calls(n, base);
	if (write(wfd, &c, 1) != 1 || read(rfd, &c, 1) != 1)
		return 3;
	bad += run_calls(n, base + n);
	return bad ? 1 : 0;
}

/* Runs this binary as "--child calls N BASE". */
static pid_t spawn_calls(long n, long base)
{
	char sn[24], sbase[24];

	snprintf(sn, sizeof(sn), "%ld", n);
	snprintf(sbase, sizeof(sbase), "%ld", base);
	return spawn_self((char *[]){ "", "--child", "calls", sn, sbase, NULL });
}

/*
 * The records of @event by @pid must be exactly @n, and their argument "x" must be
 * base, base + 1, ...: every call was seen once, in order, with its own argument.
 */
static void check_records(struct __test_metadata *_metadata, const char *event,
			  pid_t pid, long n, long base)
{
	long seen = 0, wrong = 0, x;
	struct trace_rec *recs;
	int i, nr;

	nr = trace_read(event, &recs);
	ASSERT_LE(0, nr);
	for (i = 0; i < nr; i++) {
		if (recs[i].pid != pid)
			continue;
		if (!trace_arg(&recs[i], "x", &x))
			x = -1;
		if (x != base + seen && !wrong++)
			TH_LOG("%s: record %ld of pid %d has x=%ld, expected %ld", event, seen,
			       pid, x, base + seen);
		seen++;
	}
	free(recs);
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(n, seen) {
		TH_LOG("%s: %ld records of pid %d, expected %ld", event, seen, pid, n);
	}
}

FIXTURE(proc) {
	char lib[PATH_MAX];
	long work_off;
	long lib_off;
};

FIXTURE_SETUP(proc)
{
	char exe[PATH_MAX];

	UPROBES_FIXTURE_START();
	ASSERT_EQ(0, trace_clear());
	ASSERT_NE(NULL, self_path());
	self->work_off = elf_sym_offset(self_path(), "proc_work");
	ASSERT_LT(0, self->work_off);
	/* The Makefile puts the library next to the tests (rpath $ORIGIN). */
	snprintf(exe, sizeof(exe), "%s", self_path());
	snprintf(self->lib, sizeof(self->lib), "%s/libuprobes_target.so", dirname(exe));
	self->lib_off = elf_sym_offset(self->lib, "lib_mix");
	ASSERT_LT(0, self->lib_off);
}

FIXTURE_TEARDOWN_PARENT(proc)
{
	EXPECT_EQ(0, probe_remove_all());
}

static void add_work_probe(struct __test_metadata *_metadata, FIXTURE_DATA(proc) *self)
{
	ASSERT_EQ(0, probe_add("p:%s/work %s:0x%lx x=%s:s64", PROBE_GROUP, self_path(),
			       self->work_off, REG_ARG1));
	ASSERT_EQ(0, probe_enable("work", true));
}

static void add_lib_probe(struct __test_metadata *_metadata, FIXTURE_DATA(proc) *self)
{
	ASSERT_EQ(0, probe_add("p:%s/lib %s:0x%lx x=%s:s64", PROBE_GROUP, self->lib,
			       self->lib_off, REG_ARG1));
	ASSERT_EQ(0, probe_enable("lib", true));
}

/* One probe on a library function, two processes calling it at the same time. */
TEST_F(proc, lib_two_processes)
{
	pid_t a, b;

	add_lib_probe(_metadata, self);
	a = spawn_calls(NR_CALLS, 1000);
	ASSERT_LT(0, a);
	b = spawn_calls(NR_CALLS, 2000);
	ASSERT_LT(0, b);
	EXPECT_EQ(0, wait_exit(a));
	EXPECT_EQ(0, wait_exit(b));
	ASSERT_EQ(0, probe_enable("lib", false));
	EXPECT_EQ(2 * NR_CALLS, probe_hits("lib"));
	check_records(_metadata, "lib", a, NR_CALLS, 1000);
	check_records(_metadata, "lib", b, NR_CALLS, 2000);
}

/* The probes exist before the process is started: they are in place at its first call. */
TEST_F(proc, probe_before_start)
{
	pid_t pid;

	add_work_probe(_metadata, self);
	add_lib_probe(_metadata, self);
	pid = spawn_calls(NR_CALLS, 100);
	ASSERT_LT(0, pid);
	EXPECT_EQ(0, wait_exit(pid));
	check_records(_metadata, "work", pid, NR_CALLS, 100);
	check_records(_metadata, "lib", pid, NR_CALLS, 100);
}

/* The probes are made while the process runs: calls before are not hits, calls after are. */
TEST_F(proc, probe_after_start)
{
	int to_child[2], to_parent[2];
	char sr[12], sw[12], c;
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	snprintf(sr, sizeof(sr), "%d", to_child[0]);
	snprintf(sw, sizeof(sw), "%d", to_parent[1]);
	pid = spawn_self((char *[]){ "", "--child", "wait", "50", "300", sr, sw, NULL });
	ASSERT_LT(0, pid);
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	add_work_probe(_metadata, self);
	add_lib_probe(_metadata, self);
	ASSERT_EQ(1, write(to_child[1], &c, 1));
	EXPECT_EQ(0, wait_exit(pid));
	check_records(_metadata, "work", pid, NR_CALLS, 300 + NR_CALLS);
	check_records(_metadata, "lib", pid, NR_CALLS, 300 + NR_CALLS);
}

/* A child inherits the probe of its parent: hit there, and computing right. */
TEST_F(proc, fork_child_hit)
{
	pid_t pid;

	add_work_probe(_metadata, self);
	EXPECT_EQ(5 * 5 + 7, proc_work(5));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(run_calls(NR_CALLS, 400) ? 1 : 0);
	EXPECT_EQ(0, wait_exit(pid));
	EXPECT_EQ(6 * 6 + 7, proc_work(6));
	check_records(_metadata, "work", pid, NR_CALLS, 400);
	EXPECT_EQ(2, trace_count("work", getpid()));
}

/* A probed process that execs the probed binary: hit before the exec and after it. */
TEST_F(proc, exec_hit)
{
	pid_t pid;

	add_work_probe(_metadata, self);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (run_calls(NR_CALLS, 500))
			_exit(1);
		execv(self_path(), (char *[]){ "", "--child", "calls", "50", "550", NULL });
		_exit(127);
	}
	EXPECT_EQ(0, wait_exit(pid));
	check_records(_metadata, "work", pid, 2 * NR_CALLS, 500);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "--child"))
		return child_main(argc - 2, argv + 2);
	return test_harness_run(argc, argv);
}
