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
