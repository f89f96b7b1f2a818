#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# trace-guest.sh HITS KIND DIR: the guest side of trace.sh. A tracefs event on KIND's
# first instruction; the hits program calls it until the host says done.
set -eu
bin=$1 kind=$2 dir=$3 T=/sys/kernel/tracing
cp "$bin" /tmp/hits && bin=/tmp/hits
off=$("$bin" --offsets | awk -v k="$kind" '$1 == k {print $2}')
echo "p:trace/$kind $bin:$off" >> $T/uprobe_events
echo 1 > $T/events/trace/$kind/enable
"$bin" "$kind" 1000 1 > /dev/null	# the first hits' one-time work: not traced
touch "$dir/ready"
while [ ! -f "$dir/done" ]; do "$bin" "$kind" 100000 1 > /dev/null; done
echo 0 > $T/events/enable
echo > $T/uprobe_events
