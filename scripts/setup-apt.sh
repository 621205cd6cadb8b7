#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Enable the Debian archives fph needs and install the host packages, on
# Debian 12 or 13; what differs between them is scripts/release.sh's:
#  - deb-src of Debian 13 (trixie, -updates, -security) and sid: QEMU
#    10.0's and 10.2's source (apt-get source qemu=...), on both;
#  - on Debian 12 bookworm-backports (deb, deb-src): meson >= 1.5 for QEMU
#    10.0, linux 6.12 images and headers; Debian 13 has both itself.
#
#   setup-apt.sh          all of make demo's and make check's packages
#   setup-apt.sh --build  only what builds QEMU, the project and its
#                         packages (make deb SUITE=..., in a chroot of a
#                         release); FPH_SETUP_APT=build in the environment
#                         does the same (scripts/build-qemu.sh runs this
#                         script without arguments)
#
# Idempotent; safe to run as root on a fresh Debian 12 or 13.
set -euo pipefail

mode=${FPH_SETUP_APT:-all}
case ${1:-} in
    --build) mode=build ;;
    '') ;;
    *) echo "usage: $0 [--build]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "setup-apt: must run as root (apt-get install)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
eval "$("$here/release.sh")"

# One deb822 stanza per suite; -security suites are on the security mirror.
stanza() {  # stanza TYPES SUITE
    local uri=http://deb.debian.org/debian
    case $2 in *-security) uri=http://deb.debian.org/debian-security ;; esac
    printf 'Types: %s\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n\n' \
        "$1" "$uri" "$2" /usr/share/keyrings/debian-archive-keyring.gpg
}
list=/etc/apt/sources.list.d/fph.sources
want=$(
    for s in $FPH_QEMU_SRC_SUITES; do stanza deb-src "$s"; done
    for s in $FPH_APT_SUITES; do stanza "deb deb-src" "$s"; done
)
stamp=/var/lib/apt/fph-updated
if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want" ]; then
    printf '%s\n' "$want" > "$list"
    rm -f "$stamp"
fi
# apt-get update at most once a day (CI reruns stay fast and offline-tolerant).
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mtime +0 2>/dev/null)" ]; then
    apt-get update -q >/dev/null
    touch "$stamp"
fi

# What builds QEMU and the project (and what a minimal Debian lacks:
# QEMU's configure makes a venv, python3-venv; meson setup looks for
# pytest), and its packages (make deb; fph-qemu carries fph-selftest's
# guest: a kernel, the driver built for it, busybox).
build=(
    build-essential git pkg-config ninja-build dpkg-dev
    python3 python3-venv python3-pytest
    libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev libslirp-dev
    googletest libgtest-dev libgmock-dev
    debhelper dh-dkms seabios qemu-system-data ipxe-qemu
    linux-image-amd64 linux-headers-amd64 busybox-static cpio kmod
    xz-utils zstd
)
# The tests' as well (make check-fresh): ps, xz and zstd among them.
tests=(
    quilt devscripts procps xz-utils zstd
    linux-image-amd64 linux-headers-amd64 busybox-static cpio
    gnuplot-nox clang clang-format libclang-rt-dev python3-pycotap
    shellcheck flake8
)
if [ $mode = build ]; then
    "$here/apt-install.sh" "${build[@]}"
else
    "$here/apt-install.sh" "${build[@]}" "${tests[@]}"
fi
# meson >= 1.5 (QEMU 10.0 needs it): from FPH_MESON_SUITE where the
# release's own is older.
if [ -n "$FPH_MESON_SUITE" ]; then
    if ! dpkg --compare-versions "$(dpkg-query -W -f='${Version}' meson 2>/dev/null || echo 0)" ge 1.5; then
        "$here/apt-install.sh" -a -t "$FPH_MESON_SUITE" meson
    fi
else
    "$here/apt-install.sh" meson
fi
