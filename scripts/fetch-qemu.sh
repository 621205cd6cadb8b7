#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fetch Debian's QEMU 10.0 source (Debian patches applied by dpkg-source) into $1.
# Pinned to QEMU_DEB_VERSION; falls back to the newest 10.0.x in the archive with a warning.
# Prints the source directory on stdout.
set -euo pipefail
dest=${1:?usage: fetch-qemu.sh DESTDIR}
pin=${QEMU_DEB_VERSION:-1:10.0.13+ds-0+deb13u1}

# pick: the version to fetch, from the source lists apt has now.
pick() {
    local available v
    available=$(apt-cache showsrc qemu 2>/dev/null | sed -n 's/^Version: //p')
    if grep -qxF "$pin" <<<"$available"; then
        echo "$pin"; return
    fi
    v=$(grep -E '^1:10\.0\.[0-9]+\+ds' <<<"$available" | grep -v bpo | sort -V | tail -n1 || true)
    [ -n "$v" ] || { echo "fetch-qemu: no QEMU 10.0.x source in the apt lists; run scripts/setup-apt.sh" >&2; return 1; }
    echo "fetch-qemu: WARNING: qemu=$pin is not in the archive, using $v" >&2
    echo "$v"
}

fetch() {  # fetch VERSION SRCDIR
    rm -rf "$dest/dl" "$2"
    mkdir -p "$dest/dl"
    (cd "$dest/dl" && apt-get source -q "qemu=$1" >&2) || return 1
    mv "$dest/dl/qemu-$upstream" "$2"
    rm -rf "$dest/dl"
    touch "$2/.fph-fetched-$1"
}

version=$(pick)
upstream=${version#*:}; upstream=${upstream%-*}
srcdir=$dest/qemu-$upstream
if [ ! -f "$srcdir/.fph-fetched-$version" ] && ! fetch "$version" "$srcdir"; then
    # Lists older than the mirror: the version they name may be gone.
    echo "fetch-qemu: apt-get source qemu=$version failed; apt-get update and again" >&2
    apt-get update -q >&2 || true
    version=$(pick)
    upstream=${version#*:}; upstream=${upstream%-*}
    srcdir=$dest/qemu-$upstream
    [ -f "$srcdir/.fph-fetched-$version" ] || fetch "$version" "$srcdir" \
        || { echo "fetch-qemu: apt-get source qemu=$version failed" >&2; exit 1; }
fi
echo "$srcdir"
