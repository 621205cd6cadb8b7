#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# build-deb.sh BUILDDIR: the Debian packages (debian/), in BUILDDIR/deb/:
#   fph-qemu_VER_amd64.deb        the patched emulator and the module, /opt/fph
#   fph-guest-dkms_VER_all.deb    the guest driver source, built by DKMS
#   fph-guest-tools_VER_all.deb   the guest's page-cache reclaim helper
# dpkg-buildpackage runs in a copy of the checkout's files (tracked and
# untracked, not ignored) in BUILDDIR/deb/fph-VER, against the patched QEMU
# that BUILDDIR/qemu.env names (`make build` made it).  Prints the .deb paths.
#
# SUITE=CODENAME (make deb SUITE=...): the packages of another Debian
# release (scripts/release.sh names the supported ones), built in a chroot
# of it as on such a machine, in BUILDDIR/deb-CODENAME/; SUITE that is this
# machine's release is the build above.  The chroot (mmdebstrap
# --variant=apt of CODENAME, -updates and -security from the mirrors
# scripts/apt-mirrors.sh names) gets the copy of the checkout's files;
# there scripts/setup-apt.sh --build installs what builds QEMU and the
# packages, and dpkg-buildpackage builds them, the patched QEMU included
# (scripts/build-qemu.sh, cached in $FPH_CACHE/release-CODENAME, which is
# the chroot's /var/cache/fph).  Removed at the end (FPH_DEB_KEEP=1 keeps
# it).  Cold ~12 min on 2 cores (mmdebstrap and the build packages ~3,
# QEMU ~6); with QEMU cached ~5.  Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "build-deb: $*" >&2; }
build=$(realpath "$1")
git -C "$here" rev-parse --git-dir >/dev/null 2>&1 ||
    { log "$here is not a git checkout: the package is built from its files"; exit 1; }
ver=$(dpkg-parsechangelog -l "$here/debian/changelog" -S Version)

# The checkout's files, tracked and untracked (not ignored), into $1.
stage() {
    mkdir -p "$1"
    git -C "$here" ls-files -z --cached --others --exclude-standard |
        tar -C "$here" --null -T - --ignore-failed-read -cf - | tar -C "$1" -xf -
}

suite=${SUITE:-}
host=$("$here/scripts/release.sh" | sed -n "s/^FPH_RELEASE='\(.*\)'$/\1/p")
if [ -n "$suite" ] && [ "$suite" != "$host" ]; then
    # ---- another release, in a chroot of it ---------------------------------
    "$here/scripts/release.sh" "$suite" >/dev/null || exit 1
    [ "$(id -u)" = 0 ] || { log "SUITE=$suite: must run as root (mmdebstrap, chroot)"; exit 1; }
    "$here/scripts/apt-install.sh" mmdebstrap >&2
    eval "$("$here/scripts/apt-mirrors.sh")"
    aptopts=(--aptopt='Acquire::Languages "none"')
    # As this machine's apt (a snapshot mirror's Release past Valid-Until);
    # mmdebstrap leaves its --aptopt in the chroot's apt.conf.d.
    cvu=
    eval "$(apt-config shell cvu Acquire::Check-Valid-Until)"
    [ "$cvu" != false ] || aptopts+=(--aptopt='Acquire::Check-Valid-Until "false"')
    out=$build/deb-$suite
    cache=${FPH_CACHE:-/var/cache/fph}/release-$suite
    mkdir -p "$build" "$cache"
    work=$(mktemp -d /var/tmp/fph-deb-"$suite".XXXXXX)
    cleanup() {
        if [ "${FPH_DEB_KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
    }
    trap cleanup EXIT
    r=$work/rootfs
    t0=$(date +%s)
    log "SUITE=$suite: mmdebstrap $suite in $work (log: $out/build.log)"
    rm -rf "$out"
    mkdir -p "$out"
    if ! mmdebstrap --mode=root --variant=apt --include=ca-certificates "${aptopts[@]}" \
            "$suite" "$r" "deb $FPH_MIRROR $suite main" \
            "deb $FPH_MIRROR $suite-updates main" \
            "deb $FPH_SECURITY $suite-security main" >"$out/build.log" 2>&1; then
        tail -30 "$out/build.log" >&2
        log "mmdebstrap $suite failed"
        exit 1
    fi
    log "SUITE=$suite: mmdebstrap $(( $(date +%s) - t0 ))s"
    stage "$r/root/fph-$ver"
    # In PID and mount namespaces of its own: /proc /sys /dev /tmp and the
    # release's QEMU cache mounted (they go with the namespace).
    rc=0
    unshare --pid --fork --mount -- /bin/sh -c '
        set -e
        r=$1 cache=$2 ver=$3
        mount -t proc proc "$r/proc"
        mount -t sysfs sysfs "$r/sys"
        mount --rbind /dev "$r/dev"
        mount -t tmpfs tmpfs "$r/tmp"
        mkdir -p "$r/var/cache/fph"
        mount --bind "$cache" "$r/var/cache/fph"
        cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
        exec chroot "$r" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 FPH_SETUP_APT=build FPH_QEMU_LINE=$5 /bin/sh -c "
                set -e
                cd /root/fph-$ver
                scripts/setup-apt.sh --build
                echo build-deb: setup-apt.sh: \$(( \$(date +%s) - $4 ))s >&2
                dpkg-buildpackage -b -uc -us"
    ' sh "$r" "$cache" "$ver" "$t0" "${FPH_QEMU_LINE:-}" >>"$out/build.log" 2>&1 || rc=$?
    if [ $rc != 0 ]; then
        tail -40 "$out/build.log" >&2
        log "SUITE=$suite: the build in the chroot failed (all of it in $out/build.log)"
        exit 1
    fi
    cp "$r"/root/*.deb "$r"/root/*.buildinfo "$r"/root/*.changes "$out/"
    log "SUITE=$suite: $(( $(date +%s) - t0 ))s"
    ls "$out"/*.deb
    exit 0
fi

# ---- this machine's release --------------------------------------------------
[ -f "$build/qemu.env" ] || { log "no $build/qemu.env: run make build first"; exit 1; }
"$here/scripts/apt-install.sh" debhelper dh-dkms dpkg-dev seabios qemu-system-data ipxe-qemu \
    linux-image-amd64 linux-headers-amd64 busybox-static cpio kmod xz-utils zstd >&2

out=$build/deb
stage=$out/fph-$ver
rm -rf "$out"
stage "$stage"
log "dpkg-buildpackage in $stage (log: $out/build.log)"
if ! (cd "$stage" && FPH_QEMU_ENV=$build/qemu.env dpkg-buildpackage -b -uc -us) \
        >"$out/build.log" 2>&1; then
    tail -40 "$out/build.log" >&2
    log "dpkg-buildpackage failed (all of it in $out/build.log)"
    exit 1
fi
rm -rf "$stage"
ls "$out"/*.deb
