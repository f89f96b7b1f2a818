# SPDX-License-Identifier: GPL-2.0
# Build, boot and test our uprobes in the Debian linux-source-6.12 tree.
#   make run                  build, boot, and show what the subsystem does
#   make check                every test suite in the guest; ends "N passed, N failed, N skipped"
#   make vm-run CMD='...'     run one command in the guest
#   make shell                an interactive guest shell
#   make bench                ours against stock: bench/RESULTS.md, bench/hits.png
#                             (BENCH_BEFORE=REV adds ours at git revision REV; time
#                             rounds, BENCH_ROUNDS, then BENCH_ICOUNT instruction-count rounds,
#                             then an instruction trace of one hit on x86, BENCH_TRACE=0: none)
#   make probe-coverage       function entries each kernel runs without a step: bench/COVERAGE.md
#   make stress               the long stress and fuzzing runs (STRESS_SECONDS per test,
#                             1000 fuzzed lines per second of it, FUZZ_SEED to replay a run)
#   make perf                 perf from the tree's tools/perf, into build/perf/perf
#   make arches               compile our uprobes for every arch that has them, without
#                             booting: one line per arch in build/arches.txt (ARCHES='arm
#                             mips' picks some; ARCHES_OBJS=1 builds only our objects)
#   make patches              our tree as a patch series for the host tree, one patch per
#                             layer, in build/patches/ (PATCHES_BUILD=1: build after each)
# Variables: KERNEL=ours|stock  DEBUG=1  ARCH=x86_64|powerpc|arm64 (booted and tested)
ARCH ?= x86_64
KERNEL ?= ours
DEBUG ?= 0
export ARCH KERNEL DEBUG

H := harness

.PHONY: all deps build tree perf vm-run shell run check stress bench probe-coverage arches patches clean
all: build

deps:
	@$(H)/setup.sh

tree: deps
	@$(H)/tree.sh

build: deps
	@$(H)/build.sh

vm-run: build
	@test -n "$(CMD)" || { echo "usage: make vm-run CMD='command'"; exit 2; }
	@$(H)/vm.sh "$(CMD)"

shell: build
	@$(H)/vm.sh

perf: deps
	@$(H)/perf.sh

run: build perf
	@$(H)/demo.sh

check: deps perf
	@$(H)/check.sh

stress: deps
	@SUITES=stress $(H)/check.sh

bench: deps
	@$(H)/bench/bench.sh

probe-coverage: deps
	@$(H)/bench/coverage.sh

arches: deps
	@$(H)/arches.sh

patches: deps
	@$(H)/patches.sh

clean:
	rm -rf build/obj build/vm
