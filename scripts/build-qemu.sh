#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build a patched QEMU that fph needs, cached outside the checkout.
#
#   scripts/build-qemu.sh [LINE]    build (or reuse) QEMU LINE (a directory
#                                   of patches/qemu/, e.g. 10.2; default:
#                                   patches/qemu/default's) and print the paths
#
# Output (stdout, sourceable): QEMU_LINE=... QEMU_SRC=... QEMU_BUILD=...
# Cache: $FPH_CACHE (default /var/cache/fph), keyed by the Debian source
# version, the patch series and this script; a changed patch rebuilds.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${FPH_CACHE:-/var/cache/fph}
log() { echo "build-qemu: $*" >&2; }
line=${1:-$(basename "$(readlink -f "$here/patches/qemu/default")")}
series=$here/patches/qemu/$line
[ -f "$series/series" ] || { log "no series for QEMU $line: patches/qemu/ has $(cd "$here/patches/qemu" && echo [0-9]*)"; exit 2; }

"$here/scripts/setup-apt.sh"
mkdir -p "$cache/src"
pristine=$("$here/scripts/fetch-qemu.sh" "$line" "$cache/src")
version=$(basename "$pristine")

mapfile -t patches < <(sed "s|^|$series/|" "$series/series")
# Where the emulator looks for firmware, in this order: the one list, built
# into the binary, so that build/fph-qemu, `make install` and the fph-qemu
# package all find the same files without -L.  It is Debian's own qemu's
# (FIRMWAREPATH in its debian/rules): qemu-system-data in /usr/share/qemu
# (and ipxe-qemu's NIC ROMs there from Debian 13 on), seabios in
# /usr/share/seabios, ipxe-qemu's NIC ROMs in /usr/lib/ipxe/qemu on Debian 12.
firmware_path=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu
# slirp: -nic user, the default NIC's backend.
configure_args=(--python=/usr/bin/python3 --target-list=x86_64-softmmu
    --enable-modules --without-default-features --enable-kvm --enable-tcg
    --enable-slirp --disable-docs --disable-install-blobs
    --firmwarepath="$firmware_path")
key=$( { echo "$version"; cat "${patches[@]}"; echo "${configure_args[*]}";
         cat "$0"; } | sha256sum | cut -c1-16)
top=$cache/build-$version-$key
# migration-test: QEMU's own, run against the patched build (suite qemu).
targets=(qemu-system-x86_64 accel-qtest-x86_64.so
    tests/qtest/libqos/libqos.a libqemuutil.a libqom.a libevent-loop-base.a
    tests/qtest/migration-test)

if [ -f "$top/.complete" ]; then
    log "using cached build $top"
else
    log "building patched QEMU $version in $top (~5 min)"
    rm -rf "$top"
    mkdir -p "$top"
    cp -a "$pristine" "$top/src"
    for p in "${patches[@]}"; do
        log "applying $(basename "$p")"
        patch -d "$top/src" -p1 --quiet --forward < "$p" >&2
    done
    mkdir "$top/build"
    (cd "$top/build" && ../src/configure "${configure_args[@]}" >configure.log 2>&1) ||
        { tail -20 "$top/build/configure.log" >&2; exit 1; }
    ninja -C "$top/build" "${targets[@]}" >"$top/build/ninja.log" 2>&1 ||
        { grep -E -B2 -A10 'FAILED|error' "$top/build/ninja.log" | head -60 >&2; exit 1; }
    # Run from its build tree, QEMU looks for every configured directory
    # under build/qemu-bundle, where `meson install` would put it: link
    # the firmware directories there to the real ones.
    IFS=: read -ra fw_dirs <<<"$firmware_path"
    for d in "${fw_dirs[@]}"; do
        mkdir -p "$top/build/qemu-bundle${d%/*}"
        ln -sfn "$d" "$top/build/qemu-bundle$d"
    done
    touch "$top/.complete"
    # Keep the cache small: this line's builds of other keys go once they
    # are half a day old (a build tree still in use is left alone).
    find "$cache" -maxdepth 1 -name "build-qemu-$line.*" -type d ! -path "$top" \
        -mmin +720 -exec rm -rf {} + 2>/dev/null || true
fi
echo "QEMU_LINE=$line"
echo "QEMU_SRC=$top/src"
echo "QEMU_BUILD=$top/build"
