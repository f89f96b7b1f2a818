// SPDX-License-Identifier: GPL-2.0
/* The shared library of the process tests: a probe on it is hit in every process. */
#include "targets.h"

PROBED long lib_mix(long a, long b)
{
	return a * 31 + (b ^ 0x5a);
}
