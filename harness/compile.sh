#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Compile our uprobes into the ARCH kernel without booting it (make arches runs it per
# arch): tinyconfig plus config/compile.config and config/compile/$ARCH.config, vmlinux,
# then our objects again with W=1. Prints one line: arch, compiler, result (vmlinux,
# objects only, no compiler, failed), seconds, W=1 warnings in our files. Exits non-zero
# when the arch failed. ARCHES_OBJS=1: our objects only. Logs in build/obj/compile-$ARCH.
export KERNEL=ours
. "$(dirname "$0")/lib.sh"

OBJ=$BUILD/obj/compile-$ARCH
start=$(date +%s)
compiler=none
# result WHAT NOTE: the line make arches collects.
result()
{
	printf '%-10s %-36s %-13s %5ss  %s\n' "$ARCH" "$compiler" "$1" \
		$(($(date +%s) - start)) "$2"
}
# The first error of a log, with the tree's path left out.
first_error()
{
	{ grep -m1 -E 'error:|Error [0-9]|undefined reference' "$1" || true; } |
		sed "s#[^ ]*/src/ours/##g"
}

if [ -n "$NO_COMPILER" ]; then
	result "no compiler" "$NO_COMPILER"
	exit 0
fi
mkdir -p "$OBJ"
# The arch's host packages (loongarch's clang), the tree with our files.
"$REPO/harness/setup.sh" >&2
"$REPO/harness/tree.sh" > "$OBJ/tree.log"

exec 9>"$BUILD_LOCK"
if ! flock -n 9; then
	step "waiting for another kernel build to finish"
	flock 9
fi
# The time is the build's, not the wait's.
start=$(date +%s)
cross_setup >&2
case $KCC in
*clang*) compiler="$KCC $($KCC -dumpversion)" ;;
*) compiler="$KCC $($KCC -dumpfullversion)" ;;
esac

kconfigure "$REPO/harness/config/compile.config" "$REPO/harness/config/compile/$ARCH.config"
if ! grep -q '^CONFIG_UPROBES=y' "$OBJ/.config"; then
	result failed "CONFIG_UPROBES is not set in ${OBJ#$REPO/}/.config"
	exit 1
fi

# Ours: every file of the repo in the kernel's own folders. Their objects (the core's
# and this arch's) are built again with W=1 and the warnings in those files counted.
ours=$(cd "$REPO" && find kernel include arch -type f -name '*.[ch]' | sort)
objs=$(echo "$ours" | grep -E "^(kernel|arch/$KARCH)/" | sed -n 's/\.c$/.o/p')
ours_re=$(echo "$ours" | sed 's/\./\\./g' | paste -sd'|')

what=vmlinux note=
if [ "${ARCHES_OBJS:-0}" = 1 ]; then
	what="objects only"
else
	step "building compile-$ARCH vmlinux (log in ${OBJ#$REPO/}/build.log)"
	if ! kmake -j"$(nproc)" vmlinux > "$OBJ/build.log" 2>&1; then
		what=failed
		note="vmlinux: $(first_error "$OBJ/build.log")"
	fi
fi
step "building our objects of compile-$ARCH with W=1 (log in ${OBJ#$REPO/}/w1.log)"
if ! kmake -j"$(nproc)" W=1 $objs > "$OBJ/w1.log" 2>&1; then
	what=failed
	note="${note:+$note; }our objects: $(first_error "$OBJ/w1.log")"
elif [ ! -f "$OBJ/kernel/events/uprobes.o" ]; then
	what=failed
	note="${note:+$note; }no kernel/events/uprobes.o"
fi
warnings=$({ grep -E "(^|/)($ours_re):[0-9]+:[0-9]+: warning:" "$OBJ/w1.log" || true; } |
	sort -u | wc -l)
result "$what" "$warnings W=1 warnings in our files${note:+; $note}"
[ "$what" != failed ]
