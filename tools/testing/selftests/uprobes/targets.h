/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The probed functions of targets.c. gen_insns.sh lists the offset of each of their
 * instructions in the generated insns.h, so tests can probe any instruction.
 */
#ifndef TARGETS_H
#define TARGETS_H

#include "uprobes_helpers.h"

extern long tgt_counter;
extern long tgt_table[16];
extern long (*tgt_fn)(long x);

long tgt_leaf(long x);
long tgt_loop(long n);
long tgt_globals(long x);
long tgt_calls(long x);
double tgt_fp(double a, long n);
long tgt_switch(long k, long x);
long tgt_fib(long n);
long tgt_sstep(long a, long b);
void targets_reset(void);

/* In libuprobes_target.so, for the tests of a probe on a shared library. */
long lib_mix(long a, long b);

#endif /* TARGETS_H */
