#!/usr/bin/env bash
# Fetch Debian's QEMU 10.0 source (Debian patches applied by dpkg-source) into $1.
# Pinned to QEMU_DEB_VERSION; falls back to the newest 10.0.x in the archive with a warning.
# Prints the source directory on stdout.
set -euo pipefail
dest=${1:?usage: fetch-qemu.sh DESTDIR}
pin=${QEMU_DEB_VERSION:-1:10.0.13+ds-0+deb13u1}

version=$pin
available=$(apt-cache showsrc qemu 2>/dev/null | sed -n 's/^Version: //p')
if ! grep -qxF "$pin" <<<"$available"; then
    version=$(grep -E '^1:10\.0\.[0-9]+\+ds' <<<"$available" | grep -v bpo |
              sort -V | tail -n1 || true)
    [ -n "$version" ] || { echo "fetch-qemu: no QEMU 10.0.x source in the archive; run scripts/setup-apt.sh" >&2; exit 1; }
    echo "fetch-qemu: WARNING: qemu=$pin is no longer in the archive, using $version" >&2
fi
upstream=${version#*:}; upstream=${upstream%-*}
srcdir=$dest/qemu-$upstream
if [ ! -f "$srcdir/.fph-fetched-$version" ]; then
    rm -rf "$dest/dl" "$srcdir"
    mkdir -p "$dest/dl"
    (cd "$dest/dl" && apt-get source -q "qemu=$version" >&2)
    mv "$dest/dl/qemu-$upstream" "$srcdir"
    rm -rf "$dest/dl"
    touch "$srcdir/.fph-fetched-$version"
fi
echo "$srcdir"
