# SPDX-License-Identifier: GPL-2.0
# Paths and helpers shared by the harness scripts.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARCH=${ARCH:-x86_64}
KERNEL=${KERNEL:-ours}
DEBUG=${DEBUG:-0}
. "$REPO/harness/arch.sh"

BUILD=$REPO/build
HOST_TARBALL=/usr/src/linux-source-6.12.tar.xz
# One source tree per variant: "ours" has our files linked over the stock ones.
SRC=$BUILD/src/$KERNEL
variant=$KERNEL-$ARCH
[ "$DEBUG" = 1 ] && variant=$variant-debug
OBJ=$BUILD/obj/$variant
# What the guest sees as /: the host's own, or a root of the arch's Debian packages.
# Its PID 1: the repo's guest-init, or a copy in the root (the repo is not mounted yet).
GUEST_ROOT=/
GUEST_INIT=$REPO/harness/guest-init
if [ -n "$GUEST_DEBS" ]; then
	GUEST_ROOT=$BUILD/root-$ARCH
	GUEST_INIT=/guest-init
fi
# An unpacked cross toolchain (cross_setup, below) comes first in PATH.
CROSS_DIR=$BUILD/cross-$ARCH
if [ -n "$CROSS_DEBS" ]; then
	export PATH=$CROSS_DIR/usr/bin:$PATH
	# Its binutils link to their own libbfd and libopcodes, unpacked there too.
	export LD_LIBRARY_PATH=$CROSS_DIR/usr/lib/$(gcc -dumpmachine)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# Kernel builds never run two at a time on this 2-core machine, whoever starts them.
BUILD_LOCK=/tmp/uprobes-kernel-build.lock

export CCACHE_BASEDIR=$REPO
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-10G}

T0=${T0:-$(date +%s)}
export T0

# step NAME: announce a long step with the time elapsed since the harness began.
step()
{
	printf '\033[1m==> [%4ds] %s\033[0m\n' $(($(date +%s) - T0)) "$*" >&2
}

die()
{
	echo "harness: $*" >&2
	exit 1
}

# apt_refresh: apt-get update, where an index that fails to download (a mirror caught
# mid-sync says "File has unexpected size") is a warning: apt keeps the lists it had or
# goes without that one, and the install or download that follows says whether the
# packages it needs were found.
apt_refresh()
{
	apt-get update -qq ||
		echo "harness: apt-get update failed for some lists; going on with the others" >&2
}

# deb_foreign_archs PACKAGES...: dpkg knows every architecture named by a package's
# :arch, so that apt-get can find those packages on a machine that never had them.
deb_foreign_archs()
{
	local p a added=
	for p in "$@"; do
		case $p in *:*) a=${p##*:} ;; *) continue ;; esac
		[ "$a" = "$(dpkg --print-architecture)" ] && continue
		dpkg --print-foreign-architectures | grep -qx "$a" && continue
		[ "$(id -u)" = 0 ] || die "dpkg does not know the $a architecture (run as root)"
		dpkg --add-architecture "$a"
		added=1
	done
	[ -z "$added" ] || apt_refresh
}

# deb_unpack DIR PACKAGES...: Debian's packages of those names, downloaded and unpacked
# into DIR (not installed). Done again only when the list changes; DIR/.debs says what
# is there. Package names may carry an :arch.
deb_unpack()
{
	local dir=$1 want debs deb
	shift
	want="$*"
	[ "$(cat "$dir/.debs" 2>/dev/null)" = "$want" ] && return 0
	step "unpacking Debian packages into ${dir#$REPO/}"
	deb_foreign_archs "$@"
	debs=$dir.debs
	rm -rf "$dir" "$debs"
	mkdir -p "$dir" "$debs"
	# apt-get download writes where it runs; a stale package list is refreshed once.
	(cd "$debs" && apt-get download -qq "$@" 2>/dev/null) ||
		{ apt_refresh; (cd "$debs" && apt-get download -qq "$@"); } ||
		die "cannot download $*"
	for deb in "$debs"/*.deb; do
		dpkg -x "$deb" "$dir"
	done
	rm -rf "$debs"
	echo "$want" > "$dir/.debs"
}

# cross_setup: the arch's cross toolchain (CROSS_DEBS) unpacked into CROSS_DIR and made
# usable from there. Call it holding BUILD_LOCK: a kernel build of this worktree may be
# using the toolchain.
cross_setup()
{
	local target_include h f
	[ -n "$CROSS_DEBS" ] || return 0
	deb_unpack "$CROSS_DIR" $CROSS_DEBS
	# Debian names the driver by its version; the kernel wants $(CROSS_COMPILE)gcc.
	ln -sf "$(basename "$(ls "$CROSS_DIR/usr/bin/${CROSS_COMPILE}"gcc-[0-9]* | head -1)")" \
		"$CROSS_DIR/usr/bin/${CROSS_COMPILE}gcc"
	# The tests' <sys/sdt.h>, where the cross compiler looks for headers.
	target_include=$(echo "$CROSS_DIR"/usr/*-linux-gnu*/include)
	for h in "$CROSS_DIR"/usr/include/*/sys/sdt*.h; do
		[ -e "$h" ] && ln -sf "$h" "$target_include/sys/"
	done
	# libc.so and friends are linker scripts naming the libraries by their installed
	# paths: make them name the unpacked ones (once: those no longer start /usr/).
	for f in "$CROSS_DIR"/usr/*-linux-gnu*/lib/*.so; do
		if grep -qs 'GNU ld script' "$f"; then
			sed -i "s#\([( ]\)/usr/#\1$CROSS_DIR/usr/#g" "$f"
		fi
	done
}

# need_qemu: an arch that arch.sh only compiles (no QEMU settings) cannot be booted.
need_qemu()
{
	[ -n "$QEMU" ] || die "ARCH=$ARCH is compile-only: it has no QEMU setup" \
		"(harness/arch.sh); 'make arches ARCHES=$ARCH' builds it"
}

# kmake ARGS...: make in the variant's tree with objects in OBJ, for the arch, its
# compiler through ccache.
kmake()
{
	make -C "$SRC" O="$OBJ" ARCH="$KARCH" CROSS_COMPILE="$CROSS_COMPILE" \
		CC="ccache $KCC" $KMAKE_FLAGS "$@"
}

# kconfigure FRAGMENTS...: OBJ/.config is tinyconfig with the fragments merged over it,
# made again only when the fragments change. An option they set to y that did not
# stick (a dependency missing on this arch) is named on stderr.
kconfigure()
{
	local stamp opt
	stamp=$(cat "$@" | sha1sum | cut -c1-16)
	[ "$(cat "$OBJ/.fragments" 2>/dev/null)" != "$stamp" ] || return 0
	step "configuring ${OBJ##*/}"
	mkdir -p "$OBJ"
	kmake -s tinyconfig >/dev/null
	(cd "$SRC" && ARCH=$KARCH scripts/kconfig/merge_config.sh -m -O "$OBJ" \
		"$OBJ/.config" "$@" >/dev/null)
	kmake -s olddefconfig >/dev/null
	for opt in $(grep -h '^CONFIG_.*=y' "$@" | cut -d= -f1); do
		grep -q "^$opt=y" "$OBJ/.config" || echo "warning: $opt=y did not stick" >&2
	done
	echo "$stamp" > "$OBJ/.fragments"
}
