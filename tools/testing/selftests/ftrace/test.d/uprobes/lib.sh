# SPDX-License-Identifier: GPL-2.0
# Shared by the test.d/uprobes tests (sourced; not a test itself).
#
# build_uptarget: compile uptarget.c into $UPT (non-PIE, so that symbols have
#	fixed addresses; text and read-only data in one segment, so that
#	@+FILE_OFFSET reaches test_ro) and set the argument registers of this
#	arch: $ARG1 $ARG2 $ARG3 (entry) and $RETREG.
#	A guest without a compiler (a foreign-arch root) gets uptarget cross-built
#	by the harness: $UPTARGET_PREBUILT, with its nm output in .nm and its
#	readelf -lW output in .load beside it.
# sym_addr SYM: the address of SYM in $UPT.
# file_offset SYM: the offset of SYM in the file $UPT.
# trace_args EVENT: the argument part of EVENT's lines in trace (also logged).

UPT_SRC=$FTRACETEST_ROOT/test.d/uprobes/uptarget.c

build_uptarget() {
	if [ -z "$UPTARGET_PREBUILT" ]; then
		command -v gcc > /dev/null || exit_unsupported
		command -v readelf > /dev/null || exit_unsupported
	fi
	case $(uname -m) in
	x86_64) ARG1=%di ARG2=%si ARG3=%dx RETREG=%ax ;;
	ppc64le|ppc64) ARG1=%gpr3 ARG2=%gpr4 ARG3=%gpr5 RETREG=%gpr3 ;;
	aarch64) ARG1=%x0 ARG2=%x1 ARG3=%x2 RETREG=%x0 ;;
	*) exit_unsupported ;;
	esac
	# Built once per boot (a compile is slow in an emulated guest), then
	# copied so that every test probes a file of its own.
	_cache=/tmp/uprobes-selftest-uptarget
	if [ -n "$UPTARGET_PREBUILT" ]; then
		_cache=$UPTARGET_PREBUILT
	elif [ ! -x $_cache ] || [ $UPT_SRC -nt $_cache ]; then
		gcc -O1 -g -no-pie -fno-pie -Wl,-z,noseparate-code -o $_cache.$$ $UPT_SRC
		mv $_cache.$$ $_cache
	fi
	UPT=$TMPDIR/uptarget
	cp $_cache $UPT
}

# nm and readelf -lW of $UPT, or what the harness saved of them.
upt_nm() {
	if [ -n "$UPTARGET_PREBUILT" ]; then cat $UPTARGET_PREBUILT.nm; else nm $UPT; fi
}

upt_segments() {
	if [ -n "$UPTARGET_PREBUILT" ]; then cat $UPTARGET_PREBUILT.load; else readelf -lW $UPT; fi
}

sym_addr() {
	upt_nm | awk -v s=$1 '$3 == s { print "0x" $1 }'
}

file_offset() {
	_addr=$(sym_addr $1)
	upt_segments | awk '$1 == "LOAD" { print $2, $3, $5 }' |
	while read _off _va _size; do
		if [ $((_addr)) -ge $((_va)) ] && [ $((_addr)) -lt $((_va + _size)) ]; then
			printf '0x%x\n' $((_addr - _va + _off))
		fi
	done
}

trace_args() {
	grep " $1: (" trace | sed 's/^.*) //' | tee -a $TMPDIR/trace_args.log
	cat $TMPDIR/trace_args.log >&2
}
