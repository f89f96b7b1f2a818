// SPDX-License-Identifier: GPL-2.0
/*
 * The 32-bit side of the exactness test: "exact32 CASE run|fill" runs the trials of
 * one case of the 32-bit corpus (exact_cases.c built with -m32) and writes their
 * struct xc_result to stdout. "fill" maps all of the 4 GiB it can first, so that no
 * XOL area fits. uprobes_exact.c runs it unprobed and probed and compares.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exact_run.h"

int main(int argc, char **argv)
{
	static struct xc_result out[XC_TRIALS];
	const struct xc_case *c = NULL;
	struct xc_regs_buf buf;
	struct xc_env env = { .kind = XA_PRIVATE };
	unsigned int i, t;

	if (argc != 3)
		return 2;
	for (i = 0; i < xc_nr_cases; i++)
		if (!strcmp(xc_cases[i].name, argv[1]))
			c = &xc_cases[i];
	if (!c)
		return 3;
	env.arena = mmap(NULL, XC_TRIALS * XC_ARENA, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (env.arena == MAP_FAILED || xc_signals_init())
		return 4;
	if (!strcmp(argv[2], "fill"))
		xc_fill_address_space();
	for (t = 0; t < XC_TRIALS; t++) {
		if (xc_prepare(c, t, &env, &buf))
			return 5;
		xc_run(c, t, &env, &buf, &out[t]);
	}
	return write(1, out, sizeof(out)) == sizeof(out) ? 0 : 6;
}
