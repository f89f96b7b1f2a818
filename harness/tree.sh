#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prepare the source tree of one variant: unpack the host tree once, and for "ours" link
# our files over the stock ones and apply our call-site patches.
. "$(dirname "$0")/lib.sh"

# The stock uprobes implementation, file by file; each build says whose copy it uses.
UPROBES_FILES="kernel/events/uprobes.c kernel/events/uprobes_task.c
	kernel/events/uprobes_internal.h kernel/events/ubp.c include/linux/uprobes.h
	include/linux/ubp.h arch/x86/kernel/uprobes.c arch/x86/kernel/uprobes/core.c
	arch/x86/kernel/uprobes/decode.c arch/x86/kernel/uprobes/emulate.c
	arch/x86/kernel/uprobes/opt.c arch/x86/include/asm/uprobes.h
	arch/powerpc/kernel/uprobes.c arch/powerpc/include/asm/uprobes.h
	kernel/trace/trace_uprobe.c"
# Stock files that ours has no counterpart of (its code moved elsewhere): set aside
# in the ours tree, so that nothing can build or include them by mistake.
STOCK_REPLACED="arch/x86/kernel/uprobes.c"
# Folders of ours that mirror the kernel tree and go over it.
OVERLAY_DIRS="kernel arch include mm lib Documentation tools"

[ -r "$HOST_TARBALL" ] || die "$HOST_TARBALL missing: run 'make deps'"
if [ ! -f "$SRC/Makefile" ]; then
	step "unpacking $(basename "$HOST_TARBALL") into build/src/$KERNEL"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar xJf "$HOST_TARBALL" -C "$SRC.tmp" --strip-components=1
	mv "$SRC.tmp" "$SRC"
fi
version=$(make -s -C "$SRC" kernelversion)
echo "host tree: linux-source-6.12 $(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) (kernel $version)"

# The stock variant gets only our tests (tools/), so that they run against it too.
[ "$KERNEL" = ours ] || OVERLAY_DIRS=tools
# Link each of our files over the tree; keep the stock file aside so that a file
# we delete goes back to stock.
manifest=$SRC/.overlay
aside=$SRC/.stock-aside
touch "$manifest"
now=$(cd "$REPO" && { find $OVERLAY_DIRS -type f 2>/dev/null || true; } | sort)
for f in $(comm -23 <(sort "$manifest") <(echo "$now")); do
	rm -f "$SRC/$f"
	[ -e "$aside/$f" ] && mv "$aside/$f" "$SRC/$f"
done
for f in $now; do
	[ -L "$SRC/$f" ] && continue
	if [ -e "$SRC/$f" ]; then
		mkdir -p "$(dirname "$aside/$f")"
		mv "$SRC/$f" "$aside/$f"
	fi
	mkdir -p "$(dirname "$SRC/$f")"
	ln -s "$REPO/$f" "$SRC/$f"
done
echo "$now" > "$manifest"
if [ "$KERNEL" = ours ]; then
	for f in $STOCK_REPLACED; do
		[ -e "$SRC/$f" ] && [ ! -L "$SRC/$f" ] || continue
		mkdir -p "$(dirname "$aside/$f")"
		mv "$SRC/$f" "$aside/$f"
	done
fi

if [ "$KERNEL" = ours ]; then
	# Call-site patches: revert the ones that changed or went, apply the new ones.
	applied=$SRC/.patches-applied
	mkdir -p "$applied"
	for p in "$applied"/*.patch; do
		[ -e "$p" ] || continue
		cmp -s "$p" "$REPO/patches/$(basename "$p")" && continue
		patch -s -R -p1 -d "$SRC" < "$p" || die "cannot revert $(basename "$p")"
		rm "$p"
	done
	for p in "$REPO"/patches/*.patch; do
		[ -e "$p" ] || continue
		[ -e "$applied/$(basename "$p")" ] && continue
		patch -s -p1 -d "$SRC" < "$p" || die "cannot apply $(basename "$p")"
		cp "$p" "$applied/"
	done
fi

echo "uprobes files in the $KERNEL build:"
for f in $UPROBES_FILES; do
	if [ -L "$SRC/$f" ]; then
		echo "  ours   $f"
	elif [ -e "$SRC/$f" ]; then
		echo "  stock  $f"
	fi
done
for p in "$SRC"/.patches-applied/*.patch; do
	[ -e "$p" ] && echo "  patch  $(basename "$p")"
done
exit 0
