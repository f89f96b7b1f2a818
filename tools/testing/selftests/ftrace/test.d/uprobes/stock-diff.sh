#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Feed corpus.txt to uprobe_events and print what the kernel made of it: each
# line's verdict and error_log, the event list, the format files, the records
# of one run of uptarget and the hit counts.  stock.golden is this output on
# the stock 6.12 kernel; stock_diff.tc compares a kernel against it.
# Usage (as root, anywhere): stock-diff.sh [TRACEFS]
set -e
here=$(cd "$(dirname "$0")" && pwd)
tracefs=${1:-/sys/kernel/tracing}
work=$(mktemp -d /tmp/stock-diff.XXXXXX)
trap 'rm -rf "$work"' EXIT

FTRACETEST_ROOT=$here/../..
TMPDIR=$work
exit_unsupported() { echo "stock-diff: cannot build uptarget"; exit 4; }
. "$here/lib.sh"
build_uptarget
cp "$UPT" /tmp/uptarget-diff
UPT=/tmp/uptarget-diff

cd "$tracefs"
echo 0 > tracing_on
echo > trace
echo > uprobe_events
echo > error_log

grep -v '^#' "$here/corpus.txt" | grep -v '^$' |
sed -e "s|@UPT@|$UPT|g" -e "s|@OFF@|$(file_offset uprobe_target)|g" \
    -e "s|@MAIN@|$(file_offset main)|g" -e "s|@STR@|$(sym_addr test_str)|g" \
    -e "s|@RO@|$(file_offset test_ro)|g" -e "s|@ARG1@|$ARG1|g" \
    -e "s|@ARG2@|$ARG2|g" -e "s|@ARG3@|$ARG3|g" > "$work/lines"

while IFS= read -r line; do
	file=uprobe_events
	case $line in
	"dyn "*) file=dynamic_events line=${line#dyn } ;;
	esac
	printf '> %s: %s\n' "$file" "$line"
	if printf '%s\n' "$line" >> $file 2> "$work/err"; then
		echo "accepted"
	else
		echo "refused: $(sed 's/.*: //' "$work/err")"
	fi
	sed 's/^\[[ 0-9.]*\] //' error_log
	echo > error_log
done < "$work/lines"

echo "=== uprobe_events"
cat uprobe_events
echo "=== dynamic_events"
cat dynamic_events
for dir in $(sed -n 's|^[pr]:\([^/]*\)/\([^ ]*\) .*|events/\1/\2|p' uprobe_events | sort -u); do
	echo "=== $dir"
	grep -v '^ID:' "$dir/format"
done

echo "=== records"
echo 1 > events/hits/enable
echo 1 > tracing_on
setarch "$(uname -m)" -R "$UPT" 2
echo 0 > tracing_on
echo 0 > events/hits/enable
grep -v '^#' trace | sed 's/^.*: \([a-z_]*: (\)/\1/'
echo "=== uprobe_profile"
cat uprobe_profile
echo > uprobe_events
echo > trace
echo 1 > tracing_on
