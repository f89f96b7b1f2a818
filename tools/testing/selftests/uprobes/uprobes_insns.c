// SPDX-License-Identifier: GPL-2.0
/*
 * A probe on every instruction of the functions of targets.c (the list comes from
 * objdump at build time, in insns.h): each instruction is then stepped out of line or
 * emulated, and the program must compute exactly what it computes unprobed.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "targets.h"
#include "insns.h"

#define NR_ROUNDS	4

FIXTURE(insns) {
	const char *exe;
};

FIXTURE_SETUP(insns)
{
	UPROBES_FIXTURE_START();
	self->exe = self_path();
	ASSERT_NE(NULL, self->exe);
}

FIXTURE_TEARDOWN_PARENT(insns)
{
	EXPECT_EQ(0, probe_remove_all());
}

static unsigned long mix(unsigned long h, long v)
{
	return (h ^ (unsigned long)v) * 0x100000001b3UL;
}

static long fib_calls(long n)
{
	return n < 2 ? 1 : 1 + fib_calls(n - 1) + fib_calls(n - 2);
}

/* How often the driver enters a function: what a probe on its entry must count. */
static long entries(const char *fn)
{
	long n, fib = 0;

	for (n = 0; n < NR_ROUNDS; n++)
		fib += fib_calls(n + 2);
	if (!strcmp(fn, "tgt_leaf"))
		return 3 * NR_ROUNDS;		/* once directly, twice from tgt_calls */
	if (!strcmp(fn, "tgt_switch"))
		return 10 * NR_ROUNDS;
	if (!strcmp(fn, "tgt_fib"))
		return fib;
	return NR_ROUNDS;
}

/*
 * Rounds of tgt_loop, one run each: none, one, an even and an odd number. A compiler
 * that unrolls the loop by two (gcc for powerpc) gives each its own exit.
 */
static const long loop_rounds[NR_ROUNDS] = { 0, 1, 4, 9 };

/*
 * Call every function with inputs that together execute each of its instructions (every
 * exit of tgt_loop, every case and the default of tgt_switch) and hash the results.
 */
static unsigned long drive(void)
{
	unsigned long h = 0xcbf29ce484222325UL;
	long i, k, bits;
	double d;

	targets_reset();
	for (i = 0; i < NR_ROUNDS; i++) {
		h = mix(h, tgt_leaf(i));
		h = mix(h, tgt_loop(loop_rounds[i]));
		h = mix(h, tgt_globals(i * 5 + 1));
		h = mix(h, tgt_calls(i));
		d = tgt_fp(i * 0.75 - 1.0, i);
		memcpy(&bits, &d, sizeof(bits));
		h = mix(h, bits);
		for (k = -1; k <= 8; k++)
			h = mix(h, tgt_switch(k, i + 40));
		h = mix(h, tgt_fib(i + 2));
		h = mix(h, tgt_sstep(i, 9));
	}
	return h;
}

static void event_name(char *buf, size_t size, const struct insn_fn *fn, unsigned int i)
{
	snprintf(buf, size, "%s_%x", fn->name, fn->off[i]);
}

/*
 * Every instruction of every function probed at once: same results as unprobed, a hit
 * on each instruction that runs, none on alignment padding, and each entry probe
 * counts the calls exactly. After removal the results are still the same.
 */
TEST_F_TIMEOUT(insns, every_instruction, 120)
{
	unsigned long base, probed;
	unsigned int f, i, nr = 0, refused = 0;
	const struct insn_fn *fn;
	char name[64];
	long off, hits;
	int err;

	base = drive();
	ASSERT_EQ(base, drive());

	for (f = 0; f < ARRAY_SIZE(insn_fns); f++) {
		fn = &insn_fns[f];
		off = elf_sym_offset(self->exe, fn->name);
		ASSERT_LT(0, off);
		for (i = 0; i < fn->count; i++) {
			event_name(name, sizeof(name), fn, i);
			err = probe_add("p:%s/%s %s:0x%lx", PROBE_GROUP, name, self->exe,
					off + fn->off[i]);
			if (!err)
				err = probe_enable(name, true);
			/*
			 * The kernel may refuse some encodings (x86 refuses segment
			 * prefixes, as in "cs nopw" padding): fine where nothing runs.
			 */
			if (err && fn->pad[i]) {
				probe_del(name);
				refused++;
				continue;
			}
			ASSERT_EQ(0, err) {
				TH_LOG("cannot probe %s+0x%x (%s)", fn->name, fn->off[i],
				       fn->mnem[i]);
			}
			nr++;
		}
	}

	probed = drive();
	ASSERT_EQ(0, probe_enable(NULL, false));
	TH_LOG("%u probes, %u refused on padding", nr, refused);
	EXPECT_EQ(base, probed);

	for (f = 0; f < ARRAY_SIZE(insn_fns); f++) {
		fn = &insn_fns[f];
		for (i = 0; i < fn->count; i++) {
			event_name(name, sizeof(name), fn, i);
			hits = probe_hits(name);
			if (fn->pad[i] && hits < 0)
				continue;	/* refused above */
			if (fn->pad[i]) {
				EXPECT_EQ(0, hits) {
					TH_LOG("padding %s+0x%x (%s) hit", fn->name, fn->off[i],
					       fn->mnem[i]);
				}
			} else if (i == 0) {
				EXPECT_EQ(entries(fn->name), hits) {
					TH_LOG("entry of %s", fn->name);
				}
			} else {
				EXPECT_LT(0, hits) {
					TH_LOG("%s+0x%x (%s) never hit", fn->name, fn->off[i],
					       fn->mnem[i]);
				}
			}
		}
	}

	ASSERT_EQ(0, probe_remove_all());
	EXPECT_EQ(base, drive());
}

TEST_HARNESS_MAIN
