#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: build the kernel and the tests, run every suite in one guest, count.
# SUITES="selftests ftrace perf" picks suites; SUITES=stress is make stress.
. "$(dirname "$0")/lib.sh"
need_qemu

# First, in seconds and before any kernel is built: the x86 analysis and emulations on
# the host (tools/testing/selftests/uprobes/x86_analysis.c), one result per case.
host_results=$BUILD/results-host-$variant.txt
rm -f "$host_results"
if [ "$ARCH" = x86_64 ] && [ "$KERNEL" = ours ]; then
	"$REPO/harness/tree.sh" >/dev/null
	step "host: the x86 analysis against its table, the emulations against this CPU"
	host_tests=$BUILD/host-tests
	if make -s -C "$SRC/tools/testing/selftests/uprobes" OUTPUT="$host_tests" host; then
		"$host_tests/x86_analysis" "$host_tests/x86_analysis.golden" > "$host_tests/tap.out" || true
		grep '^# ' "$host_tests/tap.out" | grep -v ' 0 of ' || true
		sed -n 's/^ok [0-9]* \(.*\)/PASS host\/x86_analysis\/\1/p;
			s/^not ok [0-9]* \(.*\)/FAIL host\/x86_analysis\/\1/p' \
			"$host_tests/tap.out" > "$host_results"
		grep -q . "$host_results" || echo "FAIL host/x86_analysis: no result" > "$host_results"
	else
		echo "FAIL host/x86_analysis: does not build" > "$host_results"
	fi
	tail -1 "$host_tests/tap.out" 2>/dev/null || true
	# The patch series of our tree (make patches): git am gives our tree, checkpatch.
	step "host: the patch series applies to the stock tree and gives ours (harness/patches.sh)"
	if "$REPO/harness/patches.sh" > "$BUILD/patches.log" 2>&1; then
		echo "PASS host/patches/series" >> "$host_results"
	else
		tail -15 "$BUILD/patches.log"
		echo "FAIL host/patches/series: see build/patches.log" >> "$host_results"
	fi
fi

"$REPO/harness/build.sh"

step "building selftests"
selftests=$BUILD/selftests/$ARCH
rm -rf "$selftests"
mkdir -p "$selftests"
# A kselftest target: built where tree.sh linked it into the tree, next to ../lib.mk.
if [ -f "$REPO/tools/testing/selftests/uprobes/Makefile" ]; then
	make -s -C "$SRC/tools/testing/selftests/uprobes" OUTPUT="$selftests" \
		CROSS_COMPILE="$CROSS_COMPILE"
fi
# A guest without a compiler gets the ftracetests' target program built here, with what
# the tests would have asked nm and readelf (test.d/uprobes/lib.sh).
uptarget=$selftests.uptarget/uptarget
rm -rf "${uptarget%/*}"
if [ -n "$CROSS_COMPILE" ]; then
	mkdir -p "${uptarget%/*}"
	${CROSS_COMPILE}gcc -O1 -g -no-pie -fno-pie -Wl,-z,noseparate-code $GUEST_CFLAGS \
		-o "$uptarget" "$REPO/tools/testing/selftests/ftrace/test.d/uprobes/uptarget.c"
	${CROSS_COMPILE}nm "$uptarget" > "$uptarget.nm"
	${CROSS_COMPILE}readelf -lW "$uptarget" > "$uptarget.load"
fi

step "running the suites in the $variant guest"
results=$BUILD/results-$variant.txt
rc=0
# The whole suite takes 15-20 minutes of guest time under TCG (the perf tests run twice,
# once per perf); a debug kernel runs it several times slower; make stress runs for long.
# Each selftest program's time limit grows with it: KASAN and lockdep make every hit
# and fork several times dearer, and uprobes_exact, minutes long on the plain kernel,
# did 7 of its 11 cases in 600 s on a loaded machine (x4 here).
stress_env=
if [ "$DEBUG" = 1 ]; then
	export VM_TIMEOUT=${VM_TIMEOUT:-5400}
	stress_env="SELFTEST_TIME_SCALE=4"
fi
# The stress and fuzzing durations both come from STRESS_SECONDS (the fuzzing writes
# 1000 lines per second of it; guest-check.sh's suite_stress).
if [ -n "${FUZZ_LINES:-}" ]; then
	echo "harness: FUZZ_LINES is no longer read: the fuzzing writes 1000 lines per STRESS_SECONDS" >&2
fi
case " ${SUITES:-} " in
*" stress "*)
	stress_env="$stress_env STRESS_SECONDS=${STRESS_SECONDS:-60} FUZZ_SEED=${FUZZ_SEED:-}"
	export VM_TIMEOUT=${VM_TIMEOUT:-$((${STRESS_SECONDS:-60} * 58 + 2700))} ;;
esac
export VM_TIMEOUT=${VM_TIMEOUT:-2400}
"$REPO/harness/vm.sh" "$stress_env bash $REPO/harness/guest-check.sh $results $SRC $selftests '${SUITES:-selftests ftrace perf}'" || rc=$?

printf '\n===== summary (%s) =====\n' "$variant"
[ -f "$host_results" ] && cat "$host_results" >> "$results"
grep -E '^(FAIL|SKIP)' "$results" 2>/dev/null || true
pass=$(grep -c '^PASS' "$results" 2>/dev/null || true)
fail=$(grep -c '^FAIL' "$results" 2>/dev/null || true)
skip=$(grep -c '^SKIP' "$results" 2>/dev/null || true)
if [ "$rc" != 0 ]; then
	echo "the guest run failed (status $rc): counted as one failure"
	fail=$((fail + 1))
fi
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
[ "$fail" = 0 ]
