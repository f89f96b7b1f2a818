// SPDX-License-Identifier: GPL-2.0
/*
 * powerpc64 ELFv2 entry points. A function that uses the TOC has two: callers with
 * another TOC (a call through a pointer, through the PLT) enter at the global entry,
 * which sets r2 from r12 and runs on into the local entry; callers sharing the TOC
 * branch straight to the local entry. perf and bpftrace place a probe on a function at
 * its local entry. Such a probe must count the calls through both entries, its return
 * probe must see every return, and a probe on the global entry only the calls through
 * a pointer. Built with a TOC (-mno-pcrel) for the two entries to exist.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "kselftest_harness.h"
#include "uprobes_helpers.h"

#define DIRECT_CALLS	7
#define POINTER_CALLS	5

/* Global data reached through the TOC, so that the function needs r2. */
long elfv2_total;

PROBED long elfv2_add(long x)
{
	elfv2_total += x;
	return elfv2_total;
}

/* Through a pointer the compiler cannot see through: the call goes to the global entry. */
static long (*volatile elfv2_ptr)(long) = elfv2_add;

FIXTURE(elfv2) {
	const char *exe;
	long global_off;
	long local_off;
};

FIXTURE_SETUP(elfv2)
{
#ifndef __powerpc64__
	SKIP(return, "ELFv2 global and local entry points are powerpc64's");
#endif
	UPROBES_FIXTURE_START();
	ASSERT_EQ(0, trace_clear());
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
	self->global_off = elf_sym_start_offset(self->exe, "elfv2_add");
	self->local_off = elf_sym_offset(self->exe, "elfv2_add");
	ASSERT_LT(0, self->global_off);
	/* The TOC set-up (addis, addi) lies between the two. */
	ASSERT_EQ(self->global_off + 8, self->local_off) {
		TH_LOG("elfv2_add has no separate local entry: built without a TOC?");
	}
}

FIXTURE_TEARDOWN_PARENT(elfv2)
{
	EXPECT_EQ(0, probe_remove_all());
}

/* Calls through both entries; returns the sum of the results, which the probes keep. */
static long call_both_ways(void)
{
	long i, sum = 0;

	elfv2_total = 0;
	for (i = 1; i <= DIRECT_CALLS; i++)
		sum += elfv2_add(i);
	for (i = 1; i <= POINTER_CALLS; i++)
		sum += elfv2_ptr(100 * i);
	return sum;
}

/*
 * Entry probes on the local and the global entry, a return probe on the local entry:
 * the local one counts every call, the global one only those through the pointer, and
 * every return is seen with the value the caller got.
 */
TEST_F(elfv2, local_and_global_entry)
{
	long want = call_both_ways(), total = 0, v, last = 0;
	struct trace_rec *recs;
	int i, nr;

	ASSERT_EQ(0, probe_add("p:%s/local %s:0x%lx x=%s:s64", PROBE_GROUP, self->exe,
			       self->local_off, REG_ARG1));
	ASSERT_EQ(0, probe_add("p:%s/global %s:0x%lx", PROBE_GROUP, self->exe,
			       self->global_off));
	ASSERT_EQ(0, probe_add("r:%s/ret %s:0x%lx v=$retval:s64", PROBE_GROUP, self->exe,
			       self->local_off));
	ASSERT_EQ(0, probe_enable(NULL, true));
	EXPECT_EQ(want, call_both_ways());
	ASSERT_EQ(0, probe_enable(NULL, false));

	EXPECT_EQ(DIRECT_CALLS + POINTER_CALLS, probe_hits("local"));
	EXPECT_EQ(POINTER_CALLS, probe_hits("global"));
	nr = trace_read("ret", &recs);
	ASSERT_EQ(DIRECT_CALLS + POINTER_CALLS, nr);
	for (i = 0; i < nr; i++) {
		ASSERT_TRUE(trace_arg(&recs[i], "v", &v));
		EXPECT_LT(last, v);	/* the running total only grows */
		last = v;
		total += v;
	}
	free(recs);
	EXPECT_EQ(want, total);
}

/*
 * A probe on each instruction of the global entry's TOC set-up: both run only for the
 * calls through the pointer, and the function still finds its data through r2.
 */
TEST_F(elfv2, toc_setup_instructions)
{
	long want = call_both_ways();

	ASSERT_EQ(0, probe_add("p:%s/addis %s:0x%lx", PROBE_GROUP, self->exe,
			       self->global_off));
	ASSERT_EQ(0, probe_add("p:%s/addi %s:0x%lx", PROBE_GROUP, self->exe,
			       self->global_off + 4));
	ASSERT_EQ(0, probe_enable(NULL, true));
	EXPECT_EQ(want, call_both_ways());
	ASSERT_EQ(0, probe_enable(NULL, false));

	EXPECT_EQ(POINTER_CALLS, probe_hits("addis"));
	EXPECT_EQ(POINTER_CALLS, probe_hits("addi"));
}

TEST_HARNESS_MAIN
