#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# fetch-qemu.sh LINE DESTDIR: fetch Debian's source of QEMU LINE (e.g. 10.2;
# Debian's patches applied by dpkg-source) into DESTDIR/qemu-UPSTREAM and
# print that directory on stdout.
#
# It takes the newest LINE.x source the apt lists name that the archive
# still serves (sid's newest sources can answer 404 while the lists name
# them), says on stderr which it got, and reuses an earlier fetch of the
# same version.  patches/qemu/LINE/ holds the series for that line.
set -euo pipefail
line=${1:?usage: fetch-qemu.sh LINE DESTDIR}
dest=${2:?usage: fetch-qemu.sh LINE DESTDIR}
log() { echo "fetch-qemu: $*" >&2; }

# candidates: LINE.x versions in the lists, newest first.
candidates() {
    apt-cache showsrc qemu 2>/dev/null | sed -n 's/^Version: //p' |
        grep -E "^1:${line//./\\.}\.[0-9]+\+ds" | sort -Vru || true
}

fetch() {  # fetch VERSION SRCDIR
    rm -rf "$dest/dl" "$2"
    mkdir -p "$dest/dl"
    (cd "$dest/dl" && apt-get source -q "qemu=$1" >/dev/null 2>&1) || { rm -rf "$dest/dl"; return 1; }
    mv "$dest/dl"/qemu-*/ "$2"
    rm -rf "$dest/dl"
    touch "$2/.fph-fetched-$1"
}

# fetch_newest: the newest candidate that is fetched already or downloads;
# prints its directory, or fails.
fetch_newest() {
    local version upstream srcdir
    mapfile -t versions < <(candidates)
    for version in "${versions[@]}"; do
        upstream=${version#*:}; upstream=${upstream%-*}
        srcdir=$dest/qemu-$upstream
        if [ -f "$srcdir/.fph-fetched-$version" ] || fetch "$version" "$srcdir"; then
            log "QEMU $line: qemu=$version (newest served of ${#versions[@]} the lists name: ${versions[*]})"
            echo "$srcdir"
            return 0
        fi
        log "QEMU $line: apt-get source qemu=$version failed (not served), trying the next"
    done
    return 1
}

# Lists older than the archive (or than the suites setup-apt.sh enabled)
# name versions it no longer serves, or none: once more, updated.
fetch_newest && exit 0
log "QEMU $line: apt-get update and again"
apt-get update -q >/dev/null 2>&1 || true
fetch_newest && exit 0
if [ ${#versions[@]} = 0 ]; then
    log "no QEMU $line.x source in the apt lists; run scripts/setup-apt.sh"
else
    log "QEMU $line: none of ${versions[*]} could be fetched"
fi
exit 1
