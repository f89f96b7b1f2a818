#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build one kernel variant: tinyconfig plus our fragments, with ccache.
. "$(dirname "$0")/lib.sh"

"$REPO/harness/tree.sh"
mkdir -p "$OBJ"
fragments="$REPO/harness/config/common.config $REPO/harness/config/$ARCH.config"
[ "$DEBUG" = 1 ] && fragments="$fragments $REPO/harness/config/debug.config"
kmake()
{
	make -C "$SRC" O="$OBJ" ARCH="$KARCH" CROSS_COMPILE="$CROSS_COMPILE" \
		CC="ccache ${CROSS_COMPILE}gcc" "$@"
}

exec 9>"$BUILD_LOCK"
if ! flock -n 9; then
	step "waiting for another kernel build to finish"
	flock 9
fi
# Under the lock: a kernel build of this worktree may be using the toolchain.
if [ -n "$CROSS_DEBS" ]; then
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
fi

stamp=$(cat $fragments | sha1sum | cut -c1-16)
if [ "$(cat "$OBJ/.fragments" 2>/dev/null)" != "$stamp" ]; then
	step "configuring $variant"
	kmake -s tinyconfig >/dev/null
	(cd "$SRC" && ARCH=$KARCH scripts/kconfig/merge_config.sh -m -O "$OBJ" \
		"$OBJ/.config" $fragments >/dev/null)
	kmake -s olddefconfig >/dev/null
	for opt in $(grep -h '^CONFIG_.*=y' $fragments | cut -d= -f1); do
		grep -q "^$opt=y" "$OBJ/.config" || echo "warning: $opt=y did not stick" >&2
	done
	echo "$stamp" > "$OBJ/.fragments"
fi

step "building $variant kernel (make -j$(nproc) $KTARGET)"
start=$(date +%s)
if ! kmake -j"$(nproc)" "$KTARGET" > "$OBJ/build.log" 2>&1; then
	grep -E 'error|Error' "$OBJ/build.log" | head -40 >&2
	die "kernel build failed; full log in ${OBJ#$REPO/}/build.log"
fi
grep -E 'warning:' "$OBJ/build.log" | grep -vE '^(ld|vmlinux)' | head -20 >&2 || true
step "built ${OBJ#$REPO/}/$KIMAGE in $(($(date +%s) - start))s"
