#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what the harness needs from Debian's archive, once. Idempotent and quiet when
# everything is already there.
. "$(dirname "$0")/lib.sh"

# libdw-dev, libtraceevent-dev, libtracefs-dev: perf built from the tree (harness/perf.sh).
# iputils-ping: perf's record+probe_libc_inet_pton test pings ::1 in the guest.
# gdb, strace: the debugger selftests (uprobes_debuggers) run them in the guest.
packages="linux-source-6.12 ccache gcc make flex bison bc cpio libelf-dev libssl-dev
	python3 perl xz-utils linux-perf bpftrace systemtap-sdt-dev gdb gcc-multilib
	libdw-dev libtraceevent-dev libtracefs-dev pkg-config iputils-ping strace $ARCH_PACKAGES"
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
[ "$(id -u)" = 0 ] || die "missing packages:$missing (run 'make deps' as root)"
step "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt_refresh
apt-get install -y -qq --no-install-recommends $missing >/dev/null
