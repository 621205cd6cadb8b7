#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Enable the Debian archives fph needs and install the host packages.
#  - deb-src trixie: QEMU 10.0 source (apt-get source qemu=...).
#  - bookworm-backports: meson >= 1.5 for QEMU 10.0, linux 6.12 headers/images.
# Idempotent; safe to run as root on a fresh Debian 12.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "setup-apt: must run as root (apt-get install)" >&2; exit 1; }

list=/etc/apt/sources.list.d/fph.sources
want=$(cat <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
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

here=$(cd "$(dirname "$0")" && pwd)
# What a minimal Debian 12 lacks as well (make check-fresh): QEMU's
# configure makes a venv (python3-venv); the tests use ps, xz and zstd.
pkgs=(
    build-essential git pkg-config ninja-build dpkg-dev quilt devscripts
    python3 python3-venv procps xz-utils zstd
    libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev libslirp-dev
    googletest libgtest-dev libgmock-dev
    seabios qemu-system-data ipxe-qemu
    linux-image-amd64 linux-headers-amd64 busybox-static cpio
    gnuplot-nox clang clang-format libclang-rt-14-dev python3-pycotap python3-pytest
    shellcheck flake8
)
"$here/apt-install.sh" "${pkgs[@]}"
# meson >= 1.5 from backports (QEMU 10.0 needs it).
if ! dpkg --compare-versions "$(dpkg-query -W -f='${Version}' meson 2>/dev/null || echo 0)" ge 1.5; then
    "$here/apt-install.sh" -a -t bookworm-backports meson
fi
