#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# build-deb.sh BUILDDIR: the Debian packages (debian/), in BUILDDIR/deb/:
#   fph-qemu_VER_amd64.deb        the patched emulator and the module, /opt/fph
#   fph-guest-dkms_VER_all.deb    the guest driver source, built by DKMS
#   fph-guest-tools_VER_all.deb   the guest's page-cache reclaim helper
# dpkg-buildpackage runs in a copy of the checkout's files (tracked and
# untracked, not ignored) in BUILDDIR/deb/fph-VER, against the patched QEMU
# that BUILDDIR/qemu.env names (`make build` made it).  Prints the .deb paths.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "build-deb: $*" >&2; }
build=$(realpath "$1")
[ -f "$build/qemu.env" ] || { log "no $build/qemu.env: run make build first"; exit 1; }
git -C "$here" rev-parse --git-dir >/dev/null 2>&1 ||
    { log "$here is not a git checkout: the package is built from its files"; exit 1; }
"$here/scripts/apt-install.sh" debhelper dh-dkms dpkg-dev seabios qemu-system-data ipxe-qemu >&2

ver=$(dpkg-parsechangelog -l "$here/debian/changelog" -S Version)
out=$build/deb
stage=$out/fph-$ver
rm -rf "$out"
mkdir -p "$stage"
git -C "$here" ls-files -z --cached --others --exclude-standard |
    tar -C "$here" --null -T - --ignore-failed-read -cf - | tar -C "$stage" -xf -
log "dpkg-buildpackage in $stage (log: $out/build.log)"
if ! (cd "$stage" && FPH_QEMU_ENV=$build/qemu.env dpkg-buildpackage -b -uc -us) \
        >"$out/build.log" 2>&1; then
    tail -40 "$out/build.log" >&2
    log "dpkg-buildpackage failed (all of it in $out/build.log)"
    exit 1
fi
rm -rf "$stage"
ls "$out"/*.deb
