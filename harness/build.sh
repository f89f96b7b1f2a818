#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build one kernel variant: tinyconfig plus our fragments, with ccache.
. "$(dirname "$0")/lib.sh"
need_qemu

"$REPO/harness/tree.sh"
mkdir -p "$OBJ"
fragments="$REPO/harness/config/common.config $REPO/harness/config/$ARCH.config"
[ "$DEBUG" = 1 ] && fragments="$fragments $REPO/harness/config/debug.config"
exec 9>"$BUILD_LOCK"
if ! flock -n 9; then
	step "waiting for another kernel build to finish"
	flock 9
fi
# Under the lock: a kernel build of this worktree may be using the toolchain.
cross_setup

kconfigure $fragments

step "building $variant kernel (make -j$(nproc) $KTARGET)"
start=$(date +%s)
if ! kmake -j"$(nproc)" "$KTARGET" > "$OBJ/build.log" 2>&1; then
	grep -E 'error|Error' "$OBJ/build.log" | head -40 >&2
	die "kernel build failed; full log in ${OBJ#$REPO/}/build.log"
fi
grep -E 'warning:' "$OBJ/build.log" | grep -vE '^(ld|vmlinux)' | head -20 >&2 || true
step "built ${OBJ#$REPO/}/$KIMAGE in $(($(date +%s) - start))s"
