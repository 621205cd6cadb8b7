#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# check-series.sh [LINE [WORKDIR]]: apply patches/qemu/LINE/ (default: every
# line) one at a time to the pristine QEMU source and build
# qemu-system-x86_64 after each, to show that every patch builds on its own
# (as upstream bisection requires).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [ $# = 0 ]; then
    for series in "$here"/patches/qemu/[0-9]*/series; do
        "$0" "$(basename "$(dirname "$series")")"
    done
    exit 0
fi
line=$1
work=${2:-/var/tmp/fph-series-check-$line}
cache=${FPH_CACHE:-/var/cache/fph}
pristine=$("$here/scripts/fetch-qemu.sh" "$line" "$cache/src")
rm -rf "$work"
cp -a "$pristine" "$work"
mkdir "$work/build"
(cd "$work/build" && ../configure --python=/usr/bin/python3 \
    --target-list=x86_64-softmmu --enable-modules --without-default-features \
    --enable-kvm --enable-tcg --disable-docs --disable-install-blobs >/dev/null)
while read -r name; do
    p=$here/patches/qemu/$line/$name
    patch -d "$work" -p1 --quiet < "$p"
    if ninja -C "$work/build" qemu-system-x86_64 >"$work/build/ninja.log" 2>&1; then
        echo "check-series: $line: builds: $(basename "$p")"
    else
        echo "check-series: $line: FAILS: $(basename "$p")"
        tail -20 "$work/build/ninja.log"
        exit 1
    fi
done < "$here/patches/qemu/$line/series"
echo "check-series: QEMU $line ($(basename "$pristine")): every patch builds on its own"
