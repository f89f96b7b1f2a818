/* SPDX-License-Identifier: GPL-2.0 */
#include "../kernel_shim.h"
/* The analysis never runs a hit here: no segment is read. */
#define savesegment(seg, value)	((value) = 0)
