# SPDX-License-Identifier: GPL-2.0
# The one place that knows each architecture's build and QEMU settings.
# Sourced by the other harness scripts with ARCH set (x86_64 or powerpc).
# CROSS_DEBS: Debian's cross toolchain, unpacked into build/cross-$ARCH rather than
# installed: gcc-12-powerpc64le-linux-gnu declares a conflict with gcc-multilib, which
# the x86 tests need on the same machine.
# GUEST_DEBS: a guest of another arch than the host's cannot run the host's programs;
# it gets a root of these Debian packages (harness/guest-root.sh) instead of the host's /.

case "${ARCH:-x86_64}" in
x86_64)
	KARCH=x86
	CROSS_COMPILE=
	KIMAGE=arch/x86/boot/bzImage
	KTARGET=bzImage
	QEMU=qemu-system-x86_64
	QEMU_MACHINE="-machine q35 -cpu max"
	QEMU_CONSOLE=ttyS0
	ARCH_PACKAGES="qemu-system-x86"
	DEB_ARCH=amd64
	CROSS_DEBS=
	GUEST_DEBS=
	GUEST_CFLAGS=
	;;
powerpc)
	KARCH=powerpc
	CROSS_COMPILE=powerpc64le-linux-gnu-
	KIMAGE=vmlinux
	KTARGET=vmlinux
	QEMU=qemu-system-ppc64
	# POWER10: ISA 3.1, so that prefixed (8-byte) instructions run and can be probed.
	QEMU_MACHINE="-machine pseries -cpu power10"
	QEMU_CONSOLE=hvc0
	ARCH_PACKAGES="qemu-system-ppc"
	DEB_ARCH=ppc64el
	# Test programs cross-built for the guest CPU: POWER10 code needs no TOC, so each
	# function has one entry point.
	GUEST_CFLAGS="-mcpu=power10"
	CROSS_DEBS="gcc-12-powerpc64le-linux-gnu cpp-12-powerpc64le-linux-gnu
		binutils-powerpc64le-linux-gnu libgcc-12-dev-ppc64el-cross libgcc-s1-ppc64el-cross
		libc6-dev-ppc64el-cross libc6-ppc64el-cross linux-libc-dev-ppc64el-cross
		systemtap-sdt-dev:ppc64el"
	GUEST_DEBS="busybox-static bash-static libc6 libgcc-s1"
	;;
*)
	echo "harness: unknown ARCH '$ARCH' (x86_64 or powerpc)" >&2
	exit 2
	;;
esac

# VM_ICOUNT=1: the guest clock counts guest instructions, one nanosecond each (QEMU's
# icount, the vCPUs run one at a time): a timing taken in the guest is an instruction
# count, the same from run to run whatever the host's load.
QEMU_ACCEL=
if [ "${VM_ICOUNT:-0}" = 1 ]; then
	QEMU_ACCEL="-accel tcg,thread=single -icount shift=0,sleep=off"
fi
