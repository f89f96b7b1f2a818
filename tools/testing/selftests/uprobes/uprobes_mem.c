// SPDX-License-Identifier: GPL-2.0
/*
 * What probes leave behind: the program's text must equal the file again once its
 * probes are gone (also in a child forked while they were in), the file itself is never
 * written, and a thousand register/unregister cycles leak neither memory nor mappings.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "targets.h"
#include "insns.h"

#define NR_CYCLES	1000
#define NR_WARMUP	50
/*
 * Growth allowed over NR_CYCLES cycles. A leak of one small object (64 bytes) per
 * cycle is 64 kB of slab; of one page per cycle, 4 MB of free memory.
 */
#define SLAB_TOLERANCE_KB	48
#define FREE_TOLERANCE_KB	2048

FIXTURE(mem) {
	const char *exe;
	long leaf_off;
	long loop_off;
};

FIXTURE_SETUP(mem)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
	self->leaf_off = elf_sym_offset(self->exe, "tgt_leaf");
	self->loop_off = elf_sym_offset(self->exe, "tgt_loop");
	ASSERT_LT(0, self->leaf_off);
	ASSERT_LT(0, self->loop_off);
}

FIXTURE_TEARDOWN_PARENT(mem)
{
	EXPECT_EQ(0, probe_remove_all());
}

/*
 * Probes on every instruction of tgt_leaf and tgt_loop and a return probe: while they
 * are in, the file on disk keeps its bytes; once they are removed, the text of this
 * process and of a child forked while they were in equals the file again, and the
 * functions compute as before.
 */
TEST_F(mem, text_restored_after_removal)
{
	const struct insn_fn *leaf = insn_fn_find(insn_fns, ARRAY_SIZE(insn_fns), "tgt_leaf");
	const struct insn_fn *loop = insn_fn_find(insn_fns, ARRAY_SIZE(insn_fns), "tgt_loop");
	int to_child[2], nr = 0, i;
	unsigned long sum, first;
	char name[32], c = 'g';
	long diff;
	pid_t pid;

	ASSERT_NE(NULL, leaf);
	ASSERT_NE(NULL, loop);
	sum = file_checksum(self->exe);
	ASSERT_NE(0, sum);
	ASSERT_EQ(0, proc_text_diff(0, self->exe, &first));

	for (i = 0; i < leaf->count; i++) {
		snprintf(name, sizeof(name), "leaf%d", i);
		ASSERT_EQ(0, probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, name, self->exe,
				       self->leaf_off + leaf->off[i]));
		nr++;
	}
	for (i = 0; i < loop->count; i++) {
		if (loop->pad[i])
			continue;
		snprintf(name, sizeof(name), "loop%d", i);
		ASSERT_EQ(0, probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, name, self->exe,
				       self->loop_off + loop->off[i]));
		nr++;
	}
	ASSERT_EQ(0, probe_add("r:%s/leafret %s:0x%lx", PROBE_GROUP, self->exe,
			       self->leaf_off));
	ASSERT_EQ(0, probe_enable(NULL, true));
	EXPECT_EQ(10 * 7 + 3, tgt_leaf(10));
	EXPECT_EQ(loop_sum(9), tgt_loop(9));
	EXPECT_EQ(1, probe_hits("leaf0"));
	EXPECT_EQ(1, probe_hits("loop0"));

	/* Installed: what read(2) returns from the file is untouched. */
	EXPECT_EQ(sum, file_checksum(self->exe));
	diff = proc_text_diff(0, self->exe, &first);
	TH_LOG("%d probes in: %ld bytes of text differ from the file", nr + 1, diff);

	ASSERT_EQ(0, pipe(to_child));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(to_child[1]);
		if (read(to_child[0], &c, 1) != 1)
			_exit(2);
		if (proc_text_diff(0, self->exe, &first))
			_exit(3);
		_exit(tgt_leaf(5) == 38 && tgt_loop(9) == loop_sum(9) ? 0 : 4);
	}
	close(to_child[0]);

	ASSERT_EQ(0, probe_enable(NULL, false));
	ASSERT_EQ(0, probe_remove_all());
	ASSERT_EQ(1, write(to_child[1], &c, 1));
	EXPECT_EQ(0, wait_exit(pid));

	EXPECT_EQ(0, proc_text_diff(0, self->exe, &first)) {
		TH_LOG("text differs from the file at %#lx", first);
	}
	EXPECT_EQ(sum, file_checksum(self->exe));
	EXPECT_EQ(10 * 7 + 3, tgt_leaf(10));
	EXPECT_EQ(loop_sum(9), tgt_loop(9));
}

struct mem_sample {
	long free_kb;
	long slab_kb;
	long unreclaim_kb;
};

static int sample(struct mem_sample *s)
{
	/* Let RCU-deferred frees of the removed events finish first. */
	usleep(200000);
	if (meminfo_kb("MemFree", &s->free_kb) || meminfo_kb("Slab", &s->slab_kb) ||
	    meminfo_kb("SUnreclaim", &s->unreclaim_kb))
		return -1;
	return 0;
}

/* Active objects per cache from /proc/slabinfo (when the kernel has it), or NULL. */
struct slab_count {
	char name[64];
	long active;
};

static int slabinfo_read(struct slab_count *out, int max)
{
	char line[512];
	FILE *f = fopen("/proc/slabinfo", "r");
	int nr = 0;

	if (!f)
		return -1;
	while (nr < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", out[nr].name, &out[nr].active) == 2 &&
		    out[nr].name[0] != '#' && strcmp(out[nr].name, "slabinfo"))
			nr++;
	fclose(f);
	return nr;
}

/* One cycle: a probe made, enabled, hit once, disabled and removed. */
static int cycle(FIXTURE_DATA(mem) *self, long i)
{
	int ret;

	ret = probe_add("%c:%s/cyc %s:0x%lx", i & 1 ? 'r' : 'p', PROBE_GROUP, self->exe,
			self->leaf_off);
	if (ret)
		return ret;
	ret = probe_enable("cyc", true);
	if (!ret && tgt_leaf(i) != i * 7 + 3)
		ret = -EBADMSG;
	if (!ret && probe_hits("cyc") != 1)
		ret = -ENODATA;
	probe_enable("cyc", false);
	return probe_del("cyc") ?: ret;
}

/*
 * A thousand register/unregister cycles, entry and return probes in turn, each hit
 * once: every cycle works, this process has at most one [uprobes] mapping, and neither
 * slab nor free memory moves by more than the tolerance (nor, with /proc/slabinfo, does
 * any cache gain an object per cycle). Memory is not compared under KASAN.
 */
/* 300 s were not enough for a KASAN kernel on a loaded machine. */
TEST_F_TIMEOUT(mem, no_leak_register_cycles, 600)
{
	static struct slab_count before[512], after[512];
	struct mem_sample s0, s1;
	struct timespec t0, t1;
	int nb, na, i, j;
	long n;

	for (n = 0; n < NR_WARMUP; n++) {
		ASSERT_EQ(0, cycle(self, n));
	}
	ASSERT_EQ(0, sample(&s0));
	nb = slabinfo_read(before, ARRAY_SIZE(before));
	clock_gettime(CLOCK_MONOTONIC, &t0);

	for (n = 0; n < NR_CYCLES; n++) {
		ASSERT_EQ(0, cycle(self, n)) {
			TH_LOG("cycle %ld", n);
		}
		if (n % 100 == 0)
			ASSERT_GE(1, count_maps("[uprobes]"));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_EQ(0, sample(&s1));
	na = slabinfo_read(after, ARRAY_SIZE(after));

	TH_LOG("%d cycles in %lds: MemFree %+ld kB, Slab %+ld kB, SUnreclaim %+ld kB, %d [uprobes]",
	       NR_CYCLES, (long)(t1.tv_sec - t0.tv_sec), s1.free_kb - s0.free_kb,
	       s1.slab_kb - s0.slab_kb,
	       s1.unreclaim_kb - s0.unreclaim_kb, count_maps("[uprobes]"));
	EXPECT_GE(1, count_maps("[uprobes]"));
	/* KASAN holds freed objects in quarantine: then slab counts only grow. */
	if (kernel_has_symbol("kasan_quarantine_reduce")) {
		TH_LOG("KASAN kernel: memory counts not compared");
		return;
	}
	EXPECT_GE(SLAB_TOLERANCE_KB, s1.unreclaim_kb - s0.unreclaim_kb);
	EXPECT_GE(SLAB_TOLERANCE_KB, s1.slab_kb - s0.slab_kb);
	EXPECT_GE(FREE_TOLERANCE_KB, s0.free_kb - s1.free_kb);
	for (i = 0; i < na; i++) {
		for (j = 0; j < nb; j++) {
			if (!strcmp(after[i].name, before[j].name)) {
				EXPECT_GT(NR_CYCLES / 2, after[i].active - before[j].active) {
					TH_LOG("slab cache %s grew", after[i].name);
				}
			}
		}
	}
}

TEST_HARNESS_MAIN
