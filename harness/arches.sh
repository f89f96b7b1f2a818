#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make arches: our uprobes compiled for every arch that has them (ARCHES to pick some),
# one line per arch (harness/compile.sh) into build/arches.txt. An arch that fails does
# not stop the others; the exit status says whether any failed. ARCHES_OBJS=1: only our
# objects, for each arch (quick).
. "$(dirname "$0")/lib.sh"

out=$BUILD/arches.txt
mkdir -p "$BUILD"
printf '%-10s %-36s %-13s %6s  %s\n' arch compiler result time notes > "$out"
failed=0
for arch in ${ARCHES:-$ALL_ARCHES}; do
	step "make arches: $arch"
	if ! line=$(ARCH=$arch "$REPO/harness/compile.sh"); then
		failed=1
		# compile.sh stopped before its line (a toolchain that did not unpack...).
		[ -n "$line" ] || line="$arch: failed before building (its error is above)"
	fi
	echo "$line" >> "$out"
done
printf '\n===== make arches (%s) =====\n' "${out#$REPO/}"
cat "$out"
exit $failed
