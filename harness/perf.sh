#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build perf from our tree's tools/perf (the "ours" tree, so that it carries our perf
# changes) into build/perf/perf, for the guest to run beside Debian's /usr/bin/perf.
# Built once; rebuilt (incrementally) only when the binary is missing or our perf
# files or patches changed.
export KERNEL=ours
. "$(dirname "$0")/lib.sh"

out=$BUILD/perf
perf=$out/perf
# Only the host's architecture: the guest runs the host's / and its libraries.
if [ "$ARCH" != "$(uname -m)" ]; then
	echo "harness: no tree perf for a $ARCH guest (built for $(uname -m) only)" >&2
	exit 0
fi

# What our tree adds to tools/perf: a change to any of it means a rebuild.
inputs()
{
	cd "$REPO"
	find tools/perf -path tools/perf/tests -prune -o -type f -print | sort | xargs -r sha1sum
	{ grep -l 'tools/perf/' patches/*.patch 2>/dev/null || true; } | xargs -r sha1sum
}
stamp=$(inputs | sha1sum | cut -c1-16)
if [ -x "$perf" ] && [ "$(cat "$out/.inputs" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi

"$REPO/harness/tree.sh" > /dev/null
mkdir -p "$out"
# Heavy like a kernel build: never beside one on this 2-core machine.
exec 9>"$BUILD_LOCK"
if ! flock -n 9; then
	step "waiting for a kernel build to finish before building perf"
	flock 9
fi
step "building perf from the tree's tools/perf (make -j2, log in ${out#$REPO/}/build.log)"
start=$(date +%s)
# perf probe needs libelf and libdw (DWARF) and libtraceevent; the rest is left out
# to keep the build short. WERROR=0: a newer compiler must not fail the harness.
if ! make -C "$SRC/tools/perf" O="$out" -j2 WERROR=0 \
	NO_LIBPYTHON=1 NO_LIBPERL=1 NO_SLANG=1 NO_GTK2=1 NO_LIBBPF=1 BUILD_BPF_SKEL=0 \
	NO_JEVENTS=1 NO_LIBUNWIND=1 NO_LIBNUMA=1 NO_LIBBABELTRACE=1 NO_LIBPFM4=1 \
	NO_JVMTI=1 NO_LIBDEBUGINFOD=1 NO_LIBLLVM=1 NO_CAPSTONE=1 \
	> "$out/build.log" 2>&1; then
	grep -E 'error|Error' "$out/build.log" | head -40 >&2
	die "perf build failed; full log in ${out#$REPO/}/build.log"
fi
# perf probe's DWARF use and our instruction decoding (auxtrace) must be in.
for feature in dwarf libelf libtraceevent auxtrace; do
	"$perf" check feature -q "$feature" ||
		die "perf was built without $feature: see ${out#$REPO/}/build.log"
done
echo "$stamp" > "$out/.inputs"
step "built ${perf#$REPO/} ($("$perf" --version)) in $(($(date +%s) - start))s"
