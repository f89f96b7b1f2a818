# SPDX-License-Identifier: GPL-2.0
# The one place that knows each architecture's build and QEMU settings.
# Sourced by the other harness scripts with ARCH set (x86_64 or powerpc).

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
	;;
powerpc)
	KARCH=powerpc
	CROSS_COMPILE=powerpc64le-linux-gnu-
	KIMAGE=vmlinux
	KTARGET=vmlinux
	QEMU=qemu-system-ppc64
	QEMU_MACHINE="-machine pseries -cpu power9"
	QEMU_CONSOLE=hvc0
	ARCH_PACKAGES="qemu-system-ppc gcc-powerpc64le-linux-gnu"
	;;
*)
	echo "harness: unknown ARCH '$ARCH' (x86_64 or powerpc)" >&2
	exit 2
	;;
esac
