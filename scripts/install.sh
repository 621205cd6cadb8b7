#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# install.sh BUILDDIR PREFIX: install the patched emulator and the fph module.
#
# PREFIX/bin/qemu-system-x86_64          patched QEMU (relocatable build)
# PREFIX/lib/x86_64-linux-gnu/qemu/      its module dir: QEMU's modules and
#                                        qom-free-page-hint.so (+ per-type links)
# Firmware: the emulator has the list of Debian's firmware directories
# built in (scripts/build-qemu.sh, firmware_path), as build/fph-qemu and
# the fph-qemu package (which Depends on seabios, qemu-system-data and
# ipxe-qemu) have: nothing to install for it.
set -euo pipefail
build=$(realpath "$1") prefix=$2
# shellcheck source=/dev/null
. "$build/qemu.env"
moddir=$prefix/lib/x86_64-linux-gnu/qemu
install -d "$prefix/bin" "$moddir"
install -m 755 "$QEMU_BUILD/qemu-system-x86_64" "$prefix/bin/"
for so in "$QEMU_BUILD"/*.so; do
    install -m 755 "$so" "$moddir/"
done
install -m 755 "$build/module/qom-free-page-hint.so" "$moddir/"
# QEMU looks the module up by type name: one link per type it provides
# (the build's module dir has them, see make-module-dir.sh).
fph_so=$(realpath "$build/module/qom-free-page-hint.so")
for link in "$build"/module/qemu-modules/qom-*.so; do
    name=$(basename "$link")
    if [ "$name" != qom-free-page-hint.so ] && [ "$(realpath "$link")" = "$fph_so" ]; then
        ln -sf qom-free-page-hint.so "$moddir/$name"
    fi
done
echo "installed: $prefix/bin/qemu-system-x86_64 (module dir $moddir)"
