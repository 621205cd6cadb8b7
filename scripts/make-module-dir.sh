#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make-module-dir.sh DIR MODULE.so QEMU_BUILD STAMP
# Populate DIR as a QEMU module directory: the fph module under each QOM
# type name it provides (module/fph-types.h), plus the QEMU build's own
# modules.
set -eu
dir=$1 module=$2 qemu_build=$3 stamp=$4
types=$(sed -n 's/^#define TYPE_[A-Z_]* "\(.*\)"$/\1/p' "$(dirname "$0")/../module/fph-types.h")
[ -n "$types" ] || { echo "make-module-dir: no type in module/fph-types.h" >&2; exit 1; }
mkdir -p "$dir"
rm -f "$dir"/*.so
for type in $types; do
    ln -sf "$(realpath "$module")" "$dir/qom-$type.so"
done
for so in "$qemu_build"/*.so; do
    [ -e "$so" ] && ln -sf "$(realpath "$so")" "$dir/$(basename "$so")"
done
touch "$stamp"
