#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest (through vm.sh): every test suite, one line per test case into
# $RESULTS ("PASS name", "FAIL name", "SKIP name: reason"). check.sh counts them.
# Usage: guest-check.sh RESULTS SRC SELFTEST_BIN_DIR [SUITES]
# The stress suite reads STRESS_SECONDS and FUZZ_SEED from the environment;
# SELFTEST_TIME_SCALE multiplies each selftest program's time limit (a debug kernel).
results=$1 src=$2 selftests=$3 suites=${4:-selftests ftrace perf}
: > "$results"
repo=$(cd "$(dirname "$0")/.." && pwd)

# Each suite's full output, for reading a failure afterwards.
logs=${results%.txt}.logs
rm -rf "$logs"
mkdir -p "$logs"

record() { echo "$*" >> "$results"; }
banner() { printf '\n===== %s =====\n' "$*"; }

# One kselftest program ($1), run for at most $2 seconds: a line per test case.
run_selftest()
{
	local t=$1 limit=$(($2 * ${SELFTEST_TIME_SCALE:-1}))
	echo "--- $(basename "$t")"
	local name=$(basename "$t")
	# Into a file, not a pipe: a hung test case's process outlives the program (see below)
	# and would hold a pipe open.
	local rc=0 start=$SECONDS
	(cd /tmp && timeout "$limit" "$t") > /tmp/tap.out 2>&1 || rc=$?
	cat /tmp/tap.out
	cp /tmp/tap.out "$logs/$name.log"
	# Stopped by timeout (coreutils' exits 124; busybox's, in the powerpc root, with
	# the program's SIGTERM status): name the hung test case, the last one
	# kselftest_harness.h announced ("#  RUN           fixture.test ...").
	if [ "$rc" != 0 ] && [ $((SECONDS - start)) -ge "$limit" ]; then
		rc=124
		local last p
		last=$(grep '^#  RUN ' /tmp/tap.out | tail -1 | sed 's/^#  RUN *//; s/ \.\.\.$//')
		record "FAIL selftests/$name: timed out after ${limit}s, last test case started: ${last:-none}"
		# The harness runs each case in a process group of its own, which timeout's
		# signal to its group misses: end what still runs the program.
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/exe" 2>/dev/null)" = "$t" ] && kill -9 "${p#/proc/}" 2>/dev/null
		done
	fi
	if ! grep -qE '^(not )?ok ' /tmp/tap.out; then
		[ "$rc" = 124 ] || record "FAIL selftests/$name: exit $rc, no TAP result"
		return
	fi
	# A top-level TAP line per test case; "# SKIP" marks a skipped one.
	grep -E '^(not )?ok [0-9]+ ' /tmp/tap.out | while read -r line; do
		local case=${line#*ok }
		case=${case#* }
		case "$line" in
		*'# SKIP'*) record "SKIP selftests/$name/${case%%#*}: ${line##*# SKIP}" ;;
		'not ok'*) record "FAIL selftests/$name/$case" ;;
		*) record "PASS selftests/$name/$case" ;;
		esac
	done
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] && ! grep -q '^not ok' /tmp/tap.out; then
		record "FAIL selftests/$name: exit status $rc"
	fi
}

# (a) our kselftests: TAP from kselftest_harness.h, one line per test case. The stress
# and fuzzing programs run in their short forms here. Each program gets the time limit
# of the target's kselftest settings file, as kselftest's own runner gives it.
suite_selftests()
{
	local t limit
	banner "selftests/uprobes"
	if ! ls "$selftests"/* >/dev/null 2>&1; then
		record "SKIP selftests: no test programs were built"
		return
	fi
	limit=$(sed -n 's/^timeout=//p' "$src/tools/testing/selftests/uprobes/settings" 2>/dev/null)
	for t in "$selftests"/*; do
		[ -x "$t" ] || continue
		run_selftest "$t" "${limit:-600}"
	done
}

# (d) make stress: the long forms of the stress and fuzzing programs, both from one
# duration: STRESS_SECONDS per stress test, and 1000 fuzzed probe lines per second of
# it (FUZZ_LINES_PER_SECOND in uprobes_helpers.h), each given 20 lines a second.
suite_stress()
{
	local secs=${STRESS_SECONDS:-60}
	banner "stress: ${secs}s per test, $((secs * 1000)) fuzzed lines"
	export UPROBES_STRESS_SECONDS=$secs
	if [ -n "${FUZZ_SEED:-}" ]; then
		export UPROBES_FUZZ_SEED=$FUZZ_SEED
	fi
	run_selftest "$selftests/uprobes_stress" $((secs * 8 + 600))
	run_selftest "$selftests/uprobes_fuzz" $((secs * 50 + 1200))
	run_selftest "$selftests/uprobes_mem" 900
	grep -h '^# stress \|^# fuzz ' "$logs"/uprobes_stress.log "$logs"/uprobes_fuzz.log \
		> "${results%.txt}.figures" 2>/dev/null
}

# (b) ftracetest: the tree's uprobe tests and ours (test.d/uprobes in this repo).
suite_ftrace()
{
	local dir=$src/tools/testing/selftests/ftrace tc list=
	banner "ftracetest"
	# Cross-built by check.sh for a guest without a compiler.
	[ -x "$selftests.uptarget/uptarget" ] && export UPTARGET_PREBUILT=$selftests.uptarget/uptarget
	for tc in test.d/dynevent/add_remove_uprobe.tc test.d/kprobe/uprobe_syntax_errors.tc \
		  $(cd "$dir" && ls test.d/uprobes/*.tc 2>/dev/null); do
		[ -f "$dir/$tc" ] || continue
		# It probes the first byte of the executable mapping of /bin/sh and
		# expects a hit: code there is x86's layout (ld -z separate-code). A
		# powerpc executable's text mapping starts with its ELF header, which
		# never runs (test.d/uprobes covers add, hit and remove there).
		if [ "$tc" = test.d/dynevent/add_remove_uprobe.tc ] &&
		   [ "$(uname -m)" != x86_64 ]; then
			record "SKIP ftrace/$tc: probes the start of /bin/sh's text mapping, which is code only with x86's ld -z separate-code"
			continue
		fi
		list="$list $tc"
	done
	(cd "$dir" && ./ftracetest -l /tmp/ftracetest-logs $list) 2>&1 | tee /tmp/ftrace.out
	grep -E '^\[[0-9]+\] .*\[[A-Z]+\]' /tmp/ftrace.out | sed 's/\t/ /g' | while read -r line; do
		local name=${line#*] } verdict=${line##*[}
		name=${name% [*}
		verdict=${verdict%]}
		case $verdict in
		PASS|XFAIL) record "PASS ftrace/$name" ;;
		UNSUPPORTED|UNTESTED) record "SKIP ftrace/$name: $verdict" ;;
		*) record "FAIL ftrace/$name: $verdict" ;;
		esac
	done
	grep -qE '^\[[0-9]+\] ' /tmp/ftrace.out || record "FAIL ftrace: ftracetest ran no test"
}

# (c) perf shell tests about user probes: the tree's that run offline, and ours, each run
# once with Debian's perf (/usr/bin/perf, 6.1) and once with the perf built from the tree
# (build/perf/perf, 6.12, harness/perf.sh): the one on PATH as "perf" is the one tested.
# Results are named perf/debian/TEST and perf/tree/TEST.
suite_perf()
{
	local t name rc which bin version
	banner "perf shell tests"
	for which in debian tree; do
		case $which in
		debian) bin=/usr/bin/perf ;;
		tree) bin=$repo/build/perf/perf ;;
		esac
		if [ ! -x "$bin" ]; then
			record "SKIP perf/$which: no perf at $bin"
			continue
		fi
		# build/perf/perf is the host's: a guest of another arch cannot run it.
		if ! version=$("$bin" --version 2>/dev/null); then
			record "SKIP perf/$which: $bin does not run in this guest ($(uname -m))"
			continue
		fi
		mkdir -p "/tmp/perf-$which"
		ln -sf "$bin" "/tmp/perf-$which/perf"
		echo "=== with $bin ($version)"
		for t in "$src"/tools/perf/tests/shell/test_uprobe_from_different_cu.sh \
			 "$src"/tools/perf/tests/shell/record+probe_libc_inet_pton.sh \
			 "$repo"/tools/perf/tests/shell/*.sh; do
			[ -f "$t" ] || continue
			name=$(basename "$t" .sh)
			case $name in
			record+probe_libc_inet_pton)
				# It asks "perf check feature libtraceevent", a command perf 6.1
				# lacks, and takes the failure for a perf without libtraceevent.
				if echo "$version" | grep -q 'version 6\.1\.'; then
					record "SKIP perf/$which/$name: asks 'perf check', which perf 6.1 lacks ($version)"
					continue
				fi ;;
			test_uprobe_from_different_cu)
				# perf 6.1 cannot list a function of an LTO object (fixed in later perf).
				if echo "$version" | grep -q 'version 6\.1\.'; then
					record "SKIP perf/$which/$name: needs a perf newer than 6.1 ($version)"
					continue
				fi ;;
			esac
			echo "--- $name ($which perf)"
			(cd /tmp && PATH=/tmp/perf-$which:$PATH timeout 600 bash "$t") \
				> /tmp/perf-test.out 2>&1
			rc=$?
			cat /tmp/perf-test.out
			cp /tmp/perf-test.out "$logs/perf-$which-$name.log"
			case $rc in
			0) record "PASS perf/$which/$name" ;;
			2) record "SKIP perf/$which/$name: $(grep -iE 'skip' /tmp/perf-test.out | tail -1)" ;;
			*) record "FAIL perf/$which/$name: exit status $rc" ;;
			esac
		done
	done
}

for s in $suites; do
	"suite_$s"
done
exit 0
