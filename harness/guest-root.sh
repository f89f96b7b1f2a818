#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest root of an arch whose programs the host cannot run (arch.sh's GUEST_DEBS):
# Debian's packages of that arch unpacked into build/root-$ARCH, with the mount points
# guest-init uses. Made once; made again when the package list changes.
. "$(dirname "$0")/lib.sh"

[ -n "$GUEST_DEBS" ] || exit 0
deb_unpack "$GUEST_ROOT" $(for p in $GUEST_DEBS; do echo "$p:$DEB_ARCH"; done)

cd "$GUEST_ROOT"
[ -x bin/busybox ] && [ -x bin/bash-static ] || die "no busybox or bash-static in the guest root"
ln -sf bash-static bin/bash
ln -sf bash-static bin/sh
# Mount points: guest-init mounts the usual file systems, busybox's applet links (in a
# tmpfs at /.busybox: the root itself is read-only) and the repo at its host path.
mkdir -p proc sys dev tmp run etc .busybox "./$REPO"
cp "$REPO/harness/guest-init" "./$GUEST_INIT"
echo 'root:x:0:0:root:/tmp:/bin/sh' > etc/passwd
echo 'root:x:0:' > etc/group
