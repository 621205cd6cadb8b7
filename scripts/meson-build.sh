#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# meson-build.sh BUILDDIR [GUEST_IMAGE]: configure (or reconfigure) and
# build the project against the patched QEMU named in BUILDDIR/qemu.env;
# the end-to-end tests boot GUEST_IMAGE (default: BUILDDIR/guest).
set -euo pipefail
build=$1
# shellcheck source=/dev/null
. "$build/qemu.env"
opts=(-Dqemu_src="$QEMU_SRC" -Dqemu_build="$QEMU_BUILD" -Dguest_image="${2:-}")
if [ -f "$build/build.ninja" ]; then
    meson configure "$build" "${opts[@]}" >/dev/null
else
    meson setup "$build" "${opts[@]}" >/dev/null
fi
ninja -C "$build"
