/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __PERF_PROBE_INSN_H
#define __PERF_PROBE_INSN_H

#include <linux/compiler.h>

struct probe_trace_event;
struct nsinfo;

/*
 * A uprobe replaces the first byte(s) of an instruction with a breakpoint. Placed
 * inside an instruction, it rewrites that instruction's operand bytes instead and the
 * probed program runs something else. The check decodes x86 code with the decoder that
 * Intel PT decoding links in, so it is there when perf has AUXTRACE support.
 */
#ifdef HAVE_AUXTRACE_SUPPORT
int probe_insn__check_uprobe_events(struct probe_trace_event *tevs, int ntevs,
				    struct nsinfo *nsi);
#else
static inline int probe_insn__check_uprobe_events(struct probe_trace_event *tevs
							__maybe_unused,
						  int ntevs __maybe_unused,
						  struct nsinfo *nsi __maybe_unused)
{
	return 0;
}
#endif

#endif /* __PERF_PROBE_INSN_H */
