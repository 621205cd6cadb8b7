#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# install.sh BUILDDIR PREFIX: install the patched emulator and the fph module.
#
# PREFIX/bin/qemu-system-x86_64          patched QEMU (relocatable build)
# PREFIX/lib/x86_64-linux-gnu/qemu/      its module dir: QEMU's modules and
#                                        qom-free-page-hint.so (+ per-type links)
# PREFIX/bin/fph-selftest                tools/selftest/fph-selftest.py, with
# PREFIX/share/fph/selftest/python/      its Python: QEMU's python/qemu and
#                                        tests/e2e's scenario, targets, vm, guestctl
# PREFIX/share/fph/selftest/guest/       its guest: BUILDDIR/guest (make
#                                        image; debian/rules builds it), if
#                                        there (FPH_INSTALL_GUEST=1: required)
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
# The selftest: the same files tests/e2e runs, one source.
root=$(cd "$(dirname "$0")/.." && pwd)
share=$prefix/share/fph/selftest
install -d "$share/python"
install -m 755 "$root/tools/selftest/fph-selftest.py" "$prefix/bin/fph-selftest"
install -m 644 "$root"/tests/e2e/{scenario,targets,vm,guestctl}.py "$share/python/"
(cd "$QEMU_SRC/python" && find qemu -name '*.py' -o -name py.typed) |
    while read -r f; do install -D -m 644 "$QEMU_SRC/python/$f" "$share/python/$f"; done
if [ -f "$build/guest/initramfs" ]; then
    install -d "$share/guest"
    install -m 644 "$build"/guest/{vmlinuz,initramfs,kver} "$share/guest/"
elif [ "${FPH_INSTALL_GUEST:-0}" = 1 ]; then
    echo "install.sh: no $build/guest/initramfs (the selftest's guest)" >&2
    exit 1
else
    echo "install.sh: no $build/guest (make image): fph-selftest needs --guest" >&2
fi
echo "installed: $prefix/bin/qemu-system-x86_64 (module dir $moddir), $prefix/bin/fph-selftest"
