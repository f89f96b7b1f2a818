#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make patches: our tree as a series of patches for the host tree, one per layer, in
# build/patches/, each checked by checkpatch; then the series is applied with git am to
# the stock files and must give exactly the files of the "ours" tree.
# PATCHES_BUILD=1 also builds the x86 kernel after each patch (bisectability; long).
export KERNEL=ours
. "$(dirname "$0")/lib.sh"

# The layers in order: the message file in patches/series/, then what the patch does:
# PATH, our files under that path of the repo; NNNN, the call-site patch
# patches/NNNN-*.patch; -PATH, a stock file that goes.
LAYERS=(
	"01-ubp include/linux/ubp.h kernel/events/ubp.c"
	"02-core include/linux/uprobes.h kernel/events/uprobes.c kernel/events/uprobes_task.c
		kernel/events/uprobes_internal.h 0001 0005 0006 0007 0008 0012"
	"03-syscall 0004"
	"04-x86 arch/x86 -arch/x86/kernel/uprobes.c 0002 0009 0010"
	"05-powerpc arch/powerpc"
	"06-arm 0011"
	"07-arm64 0013 0014"
	"08-tracing kernel/trace"
	"09-perf tools/perf 0003"
	"10-selftests tools/testing"
	"11-docs Documentation"
)

out=$BUILD/patches
work=$BUILD/series
"$REPO/harness/tree.sh" > /dev/null
cd "$REPO"

# Every file the series touches: ours, the call-site patches', the stock ones that go.
touched=$({
	git ls-files kernel arch include mm lib Documentation tools
	sed -n 's#^+++ b/##p; s#^--- a/##p' patches/*.patch
	for layer in "${LAYERS[@]}"; do
		for item in $layer; do
			case $item in -*) echo "${item#-}" ;; esac
		done
	done
} | sort -u)

step "making the series from the stock files it touches (build/series)"
rm -rf "$work" "$out"
mkdir -p "$work" "$out"
# Files of ours that are new are not in the tarball: tar names them, and that's all.
echo "$touched" | sed 's#^#linux-source-6.12/#' |
	tar -xJf "$HOST_TARBALL" -C "$work" --strip-components=1 -T - 2>/dev/null || true
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
GIT_AUTHOR_NAME=$(git config user.name || echo "uprobes rebuild")
GIT_AUTHOR_EMAIL=$(git config user.email || echo "uprobes@localhost")
GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME
GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
# The same tree makes the same patches: fixed dates.
export GIT_AUTHOR_DATE="2026-12-01T00:00:00Z" GIT_COMMITTER_DATE="2026-12-01T00:00:00Z"
git -C "$work" init -q
git -C "$work" add -A
git -C "$work" commit -q -m "linux-source-6.12: the files the series touches"
git -C "$work" tag base

for layer in "${LAYERS[@]}"; do
	set -- $layer
	msg=$REPO/patches/series/$1.msg
	[ -f "$msg" ] || die "no message $msg"
	shift
	for item in "$@"; do
		case $item in
		-*)
			git -C "$work" rm -q "${item#-}" ;;
		[0-9][0-9][0-9][0-9])
			p=$(ls patches/"$item"-*.patch)
			patch -s -p1 -d "$work" < "$p" || die "$p does not apply" ;;
		*)
			for f in $(git ls-files "$item"); do
				mkdir -p "$work/$(dirname "$f")"
				cp "$f" "$work/$f"
			done ;;
		esac
	done
	git -C "$work" add -A
	git -C "$work" diff --cached --quiet && die "layer $1 changes nothing"
	git -C "$work" commit -q -s -F "$msg"
done
git -C "$work" format-patch -q -o "$out" base..HEAD
ls "$out"

# Nothing of ours left out: the series' files are the ours tree's, byte for byte.
step "applying the series with git am to the stock files"
verify=$BUILD/series-am
rm -rf "$verify"
git clone -q "$work" "$verify"
git -C "$verify" checkout -q base
git -C "$verify" am -q "$out"/*.patch || die "git am of the series failed"
bad=0
for f in $touched; do
	if [ -e "$SRC/$f" ] || [ -e "$verify/$f" ]; then
		cmp -s "$SRC/$f" "$verify/$f" || { echo "differs from the ours tree: $f"; bad=1; }
	fi
done
[ "$bad" = 0 ] || die "the series does not give the ours tree"
echo "the series applies and gives the ours tree: $(echo "$touched" | wc -l) files"

# checkpatch: every patch, errors and warnings; the ones we accept are listed here.
step "checkpatch of each patch"
accepted=$({ grep -v '^#' "$REPO/patches/series/checkpatch-accepted" || true; } | paste -sd'|')
warned=0
for p in "$out"/*.patch; do
	report=$("$SRC/scripts/checkpatch.pl" --no-tree --terse --show-types "$p" 2>&1 |
		grep -E ': (ERROR|WARNING):' | grep -vE "${accepted:-^$}" || true)
	if [ -n "$report" ]; then
		echo "$(basename "$p"):"
		echo "$report" | sed 's/^/  /'
		warned=1
	fi
done
[ "$warned" = 0 ] || die "checkpatch reports the above"
echo "checkpatch: clean (but for the kinds in patches/series/checkpatch-accepted)"

[ "${PATCHES_BUILD:-0}" = 1 ] || exit 0

# Bisectability: the x86 kernel of our config after each patch, in a tree of its own
# (build/src/series, objects in build/obj/series-x86_64), one build at a time.
[ "$ARCH" = x86_64 ] || die "PATCHES_BUILD=1 builds the x86 kernel only"
ours_src=$SRC
SRC=$BUILD/src/series
OBJ=$BUILD/obj/series-$ARCH
exec 9>"$BUILD_LOCK"
if ! flock -n 9; then
	step "waiting for another kernel build to finish"
	flock 9
fi
step "unpacking the stock tree into build/src/series"
rm -rf "$SRC"
mkdir -p "$SRC"
tar -xJf "$HOST_TARBALL" -C "$SRC" --strip-components=1
kconfigure "$REPO/harness/config/common.config" "$REPO/harness/config/$ARCH.config"
for p in "$out"/*.patch; do
	# build/src/series lies inside this repo's work tree, where git apply would take
	# the paths as the repo's and skip them all: keep it from finding the repo.
	(cd "$SRC" && GIT_CEILING_DIRECTORIES=$BUILD/src git apply "$p") ||
		die "$(basename "$p") does not apply to the tree"
	step "building after $(basename "$p")"
	start=$(date +%s)
	kmake -j"$(nproc)" "$KTARGET" > "$OBJ/build.log" 2>&1 || {
		grep -E 'error|Error' "$OBJ/build.log" | head -20 >&2
		die "the kernel does not build after $(basename "$p")"
	}
	echo "built after $(basename "$p") in $(($(date +%s) - start))s"
done
# The tree built last must be ours: a patch that applied to nothing would show here.
for f in $touched; do
	if [ -e "$ours_src/$f" ] || [ -e "$SRC/$f" ]; then
		cmp -s "$ours_src/$f" "$SRC/$f" || die "the built series differs from ours: $f"
	fi
done
echo "the kernel builds after every patch of the series"
