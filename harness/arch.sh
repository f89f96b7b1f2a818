# SPDX-License-Identifier: GPL-2.0
# The one place that knows each architecture's build and QEMU settings.
# Sourced by the other harness scripts with ARCH set (one of ALL_ARCHES).
# CROSS_DEBS: Debian's cross toolchain, unpacked into build/cross-$ARCH rather than
# installed: every gcc-12-*-linux-gnu* cross compiler declares a conflict with
# gcc-multilib, which the x86 tests need on the same machine.
# KCC, KMAKE_FLAGS: the kernel's compiler (ccache goes in front) and what else its
# make needs; NO_COMPILER: why an arch has none here (make arches reports it).
# QEMU: empty for an arch that is only compiled (make arches), never booted.
# GUEST_DEBS: a guest of another arch than the host's cannot run the host's programs;
# it gets a root of these Debian packages (harness/guest-root.sh) instead of the host's /.

# Every arch whose 6.12 Kconfig selects ARCH_SUPPORTS_UPROBES (make arches).
ALL_ARCHES="x86_64 powerpc arm64 arm riscv loongarch s390 mips sparc csky"

# Unset unless an arch's case sets them.
KIMAGE=
KTARGET=
KCC=
KMAKE_FLAGS=
NO_COMPILER=
QEMU=
QEMU_MACHINE=
QEMU_CONSOLE=
ARCH_PACKAGES=
CROSS_DEBS=
GUEST_DEBS=
GUEST_CFLAGS=
DEB_ARCH=
# A compile-only arch's cross toolchain: Debian's gcc 12 for triplet $1 and Debian
# arch $2, just what builds a kernel (no libc: nothing of the target runs here).
cross_gcc_debs()
{
	echo "gcc-12-$1 cpp-12-$1 binutils-$1 libgcc-12-dev-$2-cross"
}

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
	# -vga none: pseries adds a VGA card by default, whose ROM comes from seabios,
	# which qemu-system-ppc only recommends; the console is hvc0 anyway.
	QEMU_MACHINE="-machine pseries -cpu power10 -vga none"
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
arm64)
	KARCH=arm64
	CROSS_COMPILE=aarch64-linux-gnu-
	KIMAGE=arch/arm64/boot/Image
	KTARGET=Image
	QEMU=qemu-system-aarch64
	# max: what QEMU emulates of a current core (pointer authentication, BTI, SVE);
	# pauth-impdef: QEMU's own signing algorithm, much cheaper under TCG than QARMA.
	QEMU_MACHINE="-machine virt -cpu max,pauth-impdef=on"
	QEMU_CONSOLE=ttyAMA0
	ARCH_PACKAGES="qemu-system-arm"
	DEB_ARCH=arm64
	CROSS_DEBS="gcc-12-aarch64-linux-gnu cpp-12-aarch64-linux-gnu
		binutils-aarch64-linux-gnu libgcc-12-dev-arm64-cross libgcc-s1-arm64-cross
		libc6-dev-arm64-cross libc6-arm64-cross linux-libc-dev-arm64-cross
		systemtap-sdt-dev:arm64"
	GUEST_DEBS="busybox-static bash-static libc6 libgcc-s1"
	;;
# The rest are compiled only (make arches), with no QEMU setup.
arm)
	KARCH=arm
	CROSS_COMPILE=arm-linux-gnueabihf-
	CROSS_DEBS=$(cross_gcc_debs arm-linux-gnueabihf armhf)
	;;
riscv)
	KARCH=riscv
	CROSS_COMPILE=riscv64-linux-gnu-
	CROSS_DEBS=$(cross_gcc_debs riscv64-linux-gnu riscv64)
	;;
loongarch)
	# Debian 12 has no gcc for LoongArch; its clang 19 has the target built in.
	KARCH=loongarch
	CROSS_COMPILE=
	KCC=clang-19
	KMAKE_FLAGS="LLVM=-19"
	ARCH_PACKAGES="clang-19 lld-19 llvm-19"
	;;
s390)
	KARCH=s390
	CROSS_COMPILE=s390x-linux-gnu-
	CROSS_DEBS=$(cross_gcc_debs s390x-linux-gnu s390x)
	;;
mips)
	KARCH=mips
	CROSS_COMPILE=mips64el-linux-gnuabi64-
	CROSS_DEBS=$(cross_gcc_debs mips64el-linux-gnuabi64 mips64el)
	;;
sparc)
	KARCH=sparc
	CROSS_COMPILE=sparc64-linux-gnu-
	CROSS_DEBS=$(cross_gcc_debs sparc64-linux-gnu sparc64)
	;;
csky)
	KARCH=csky
	CROSS_COMPILE=csky-linux-gnuabiv2-
	NO_COMPILER="Debian 12 has no C-SKY compiler (no gcc-*-csky-*; clang-19 has no csky target)"
	;;
*)
	echo "harness: unknown ARCH '$ARCH' (one of: $ALL_ARCHES)" >&2
	exit 2
	;;
esac
# What a compile-only arch builds; the kernel's compiler unless the arch named another.
KIMAGE=${KIMAGE:-vmlinux}
KTARGET=${KTARGET:-vmlinux}
KCC=${KCC:-${CROSS_COMPILE}gcc}

# VM_ICOUNT=1: the guest clock counts guest instructions, one nanosecond each (QEMU's
# icount, the vCPUs run one at a time): a timing taken in the guest is an instruction
# count, the same from run to run whatever the host's load.
QEMU_ACCEL=
if [ "${VM_ICOUNT:-0}" = 1 ]; then
	QEMU_ACCEL="-accel tcg,thread=single -icount shift=0,sleep=off"
fi
