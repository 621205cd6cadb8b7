#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make-module-dir.sh DIR MODULE.so QEMU_BUILD STAMP
# Populate DIR as a QEMU module directory: the fph module under each QOM
# type name it provides, plus the QEMU build's own modules.
set -eu
dir=$1 module=$2 qemu_build=$3 stamp=$4
mkdir -p "$dir"
rm -f "$dir"/*.so
for type in free-page-hint virtio-fph-pci virtio-fph-device; do
    ln -sf "$(realpath "$module")" "$dir/qom-$type.so"
done
for so in "$qemu_build"/*.so; do
    [ -e "$so" ] && ln -sf "$(realpath "$so")" "$dir/$(basename "$so")"
done
touch "$stamp"
