# SPDX-License-Identifier: GPL-2.0
# Cut the x86 uprobes analysis out of arch/x86/kernel/uprobes.c for exact_classify:
# the fix-up bits, step_ops, and arch_uprobe_analyze_insn() with the static
# functions it calls, each as the source has it (a definition starts at column 0
# and a function ends at the first "}" there).
/^#define UPROBE_FIX_/ || /^#define NOP5_LEN/ { print; next }
!inblk && (/^static bool insn_refused\(/ || /^static bool insn_is_rep_string\(/ || /^static int riprel_rewrite\(/ ||
	   /^static int choose_stepping\(/ || /^int arch_uprobe_analyze_insn\(/ ||
	   /^static const struct uprobe_insn_ops step_ops/ || /^static const u8 nop5_insn/) {
	inblk = 1
	single = /;$/
}
inblk {
	print
	if (single || /^}/)
		inblk = 0
}
