#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check-fresh.sh [WORKDIR]: prove the fresh-machine path.  `make check` in a
# clean clone of HEAD inside a new chroot of a supported Debian release
# (SUITE: bookworm, Debian 12, the default; trixie, Debian 13) that
# mmdebstrap builds from the archive: nothing the project installs for
# itself (kernels and headers, meson, googletest, dkms, libvirt, clang,
# ...) is there before, no QEMU build is cached, no apt list is newer than
# the run.  Removing those packages from a developer's machine instead
# would not be safe; the chroot leaves the host as it was.
#
#   WORKDIR   where the chroot goes (default: a new /var/tmp/fph-fresh.XXXXXX;
#             needs ~15 GiB); removed at the end unless FPH_FRESH_KEEP=1
#   SUITE     the release (environment; make check-fresh SUITE=trixie)
#
# The chroot runs in its own PID and mount namespaces (unshare), so that its
# PID 1 is not systemd and tests/libvirt starts libvirtd by itself, as on a
# machine without systemd.  /proc, /sys, /dev are mounted inside; nothing of
# the host's /var/cache/fph or build tree is visible.  The mounts end with
# the namespace.
#
# In the chroot it runs `make demo`, then `make check` (check-fresh.sh
# --inside).  Prints the wall time of each phase and `make check`'s summary;
# exit status is make demo's if it failed, else make check's.  Needs root,
# mmdebstrap (installed if missing) and, on 2 cores, about as long as a
# cold make check (README.md, "The two commands").
set -euo pipefail

# In the chroot: the README's two commands as a new user runs them, make
# demo first (everything installed and built for it), then make check
# (also when the demo failed); exit status non-zero if either failed.
if [ "${1:-}" = --inside ]; then
    t=$(date +%s) d=0 c=0
    make demo || d=$?
    echo "check-fresh: make demo (rc=$d): $(( $(date +%s) - t ))s" >&2
    t=$(date +%s)
    make check || c=$?
    echo "check-fresh: make check (rc=$c): $(( $(date +%s) - t ))s" >&2
    [ $d != 0 ] && exit $d
    exit $c
fi

here=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "check-fresh: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root (mmdebstrap, chroot, mount)"; exit 2; }

suite=${SUITE:-bookworm}
"$here/scripts/release.sh" "$suite" >/dev/null || exit 2
"$here/scripts/apt-install.sh" mmdebstrap

work=${1:-}
[ -n "$work" ] || work=$(mktemp -d /var/tmp/fph-fresh.XXXXXX)
mkdir -p "$work"
work=$(cd "$work" && pwd)
rootfs=$work/rootfs
cleanup() {
    if [ "${FPH_FRESH_KEEP:-0}" != 1 ]; then
        rm -rf "$work"
    else
        log "kept $work"
    fi
}
trap cleanup EXIT

t0=$(date +%s)
phase() { log "$1: $(( $(date +%s) - t0 ))s"; }

# The release as a cloud image has it: the three suites, git and make to
# get and run the checkout, nothing else of the project's.  The mirrors
# and Acquire::Check-Valid-Until are this machine's (a snapshot mirror's
# Release files are past their Valid-Until, which its apt is told to
# accept).
eval "$("$here/scripts/apt-mirrors.sh")"
mirror=$FPH_MIRROR security=$FPH_SECURITY
cvu=
eval "$(apt-config shell cvu Acquire::Check-Valid-Until)"
aptopts=()
[ "$cvu" != false ] || aptopts+=(--aptopt='Acquire::Check-Valid-Until "false"')
rm -rf "$rootfs"
mmdebstrap --quiet --variant=apt --include=git,make,ca-certificates "${aptopts[@]}" \
    "$suite" "$rootfs" \
    "deb $mirror $suite main" \
    "deb $mirror $suite-updates main" \
    "deb $security $suite-security main" >&2
phase "mmdebstrap $suite"

rev=$(git -C "$here" rev-parse HEAD)
git clone -q --no-local "$here" "$rootfs/root/fph"
git -C "$rootfs/root/fph" checkout -q "$rev"
phase "clone of $rev"

rc=0
# The rootfs is bind-mounted onto itself so that / is a mount point in the
# chroot, as on a machine: libvirt makes / a slave mount for each domain
# and fails with EINVAL where it is not.
unshare --pid --fork --mount -- \
    /bin/sh -c '
        set -e
        r=$1
        mount --bind "$r" "$r"
        mount -t proc proc "$r/proc"
        mount -t sysfs sysfs "$r/sys"
        mount --rbind /dev "$r/dev"
        # A devpts of its own, as container managers give one: with the
        # host devpts (ptmxmode=000) the per-domain /dev of libvirt has no
        # usable /dev/pts/ptmx ("Failed to create PTY").
        mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$r/dev/pts"
        mount --bind "$r/dev/pts/ptmx" "$r/dev/ptmx"
        mount -t tmpfs tmpfs "$r/tmp"
        cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
        exec chroot "$r" /usr/bin/env -i HOME=/root CI=true \
            PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
            /bin/sh -c "cd /root/fph && exec /bin/sh scripts/check-fresh.sh --inside"
    ' sh "$rootfs" || rc=$?
phase "make demo and make check (rc=$rc)"
exit $rc
