#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The guest driver for a kernel of another Debian release (trixie,
# trixie-backports, sid: scripts/kernel-packages.py says "chroot"), built
# as a user of that release builds it: DKMS, by installing the
# fph-guest-dkms package, in a chroot of the kernel's suite with that
# suite's toolchain and glibc.
#
# usage: scripts/build-kernel-chroot.sh KVER SUITE [LOGDIR]
#
#   KVER    the kernel release (uname -r), e.g. 7.3.4+deb13-amd64
#   SUITE   the suite of its packages (kernel-packages.py's 4th field):
#           trixie[-updates|-security|-backports] or sid
#   LOGDIR  gets a copy of the logs below, also when the build fails
#
# 1. mmdebstrap --variant=apt of SUITE's release (sid: sid; trixie-*:
#    trixie, -updates, -security, plus -backports for a backports kernel,
#    which is then the default release, as `apt install -t
#    trixie-backports` has it) with linux-image-KVER, linux-headers-KVER,
#    dkms and initramfs-tools (what the image package depends on; INITRD=No:
#    no test boots an initramfs of it);
# 2. in the chroot (a customize hook of this script): `apt-get install
#    ./fph-guest-dkms_*.deb` (FPH_DKMS_DEB, from `make deb`), whose DKMS
#    postinst builds and installs virtio_fph for KVER; dkms status must say
#    installed;
# 3. in the chroot, the package's source tree /usr/src/virtio-fph-VER
#    built once more with W=1 (a copy: `make KVER=KVER W=1`), for the
#    warnings tests/kernels/run.sh fails on;
# 4. extracts what the busybox test guest needs, and removes the chroot.
#
# Output: a cache directory $FPH_CACHE/kchroot-KVER-KEY (printed on stdout):
#   root/         a root directory for scripts/build-guest-image.sh (KROOT):
#                 the kernel at usr/lib/modules/KVER/vmlinuz (7.x) or
#                 boot/vmlinuz-KVER, and of usr/lib/modules/KVER the
#                 modules.* indexes, config, the virtio modules and what
#                 they depend on, updates/dkms/virtio_fph.ko* (DKMS's)
#   virtio_fph.ko the DKMS-built module (as DKMS installed it: .ko.xz ...)
#   dkms-make.log DKMS's make.log;  dkms-install.log  the apt-get install
#   w1.log        the W=1 build;  mmdebstrap.log;  packages.txt;  key.txt
# KEY hashes the package versions apt resolves for the chroot right now
# (mmdebstrap --simulate: a new kernel ABI, dkms or compiler makes a new
# entry), the contents of the fph-guest-dkms package (the driver sources
# guest/*.c *.h Kbuild Makefile dkms.conf include/fph/virtio_fph.h as
# packaged, and its maintainer scripts) and this script.  A complete
# entry for KEY is reused; nothing depends on it (it is rebuilt); of
# other entries of KVER only the newest stays.  Only complete builds are
# cached.  ~1-2 min on 2 cores and ~1.5 GiB in $FPH_CACHE while building,
# ~20 MiB per entry.  Exit 0 iff DKMS installed the module and the W=1
# build ran (run.sh judges its warnings).
#
# Environment:
#   FPH_DKMS_DEB         the fph-guest-dkms .deb (required)
#   FPH_CACHE            cache root (default /var/cache/fph)
#   FPH_DEBIAN_MIRROR, FPH_DEBIAN_SECURITY  mirrors (scripts/apt-mirrors.sh)
#   FPH_KCHROOT_REBUILD  1: rebuild even if the entry exists
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
self=$here/$(basename "${BASH_SOURCE[0]}")

die() { echo "build-kernel-chroot: $*" >&2; exit 1; }
log() { echo "build-kernel-chroot: $*" >&2; }

# ---- the customize hook (build-kernel-chroot.sh --customize ROOT) ------------
# Runs in mmdebstrap's customize phase (/proc, /sys, /dev mounted); never
# fails on a failed driver build: it records it in $FPH_KC_OUT/status.
customize() {
    local r=$1 kver=$FPH_KC_KVER out=$FPH_KC_OUT deb rc src ver ko f m
    local mdir=usr/lib/modules/$kver
    [ -d "$r/$mdir" ] || die "no /$mdir in the chroot"
    [ -d "$r/usr/src/linux-headers-$kver" ] || die "no linux-headers-$kver in the chroot"

    # 2. the package, as a user installs it; its postinst runs DKMS.
    deb=$(basename "$FPH_KC_DEB")
    cp "$FPH_KC_DEB" "$r/tmp/$deb"
    rc=0
    chroot "$r" env INITRD=No apt-get install -y --no-install-recommends "/tmp/$deb" \
        >"$out/dkms-install.log" 2>&1 || rc=$?
    find "$r/var/lib/dkms" -name make.log -path '*virtio-fph*' -print0 2>/dev/null \
        | xargs -0 -r cat >"$out/dkms-make.log"
    {
        echo "apt-get install $deb: rc=$rc"
        chroot "$r" dkms status -m virtio-fph 2>&1 || true
    } >>"$out/dkms-install.log"
    ko=$(cd "$r" && ls "$mdir"/updates/dkms/virtio_fph.ko* 2>/dev/null | head -1 || true)
    if [ "$rc" = 0 ] && [ -n "$ko" ] \
       && chroot "$r" dkms status -m virtio-fph -k "$kver" 2>/dev/null | grep -q ': installed'; then
        echo "dkms ok /$ko" >>"$out/status"
    else
        echo "dkms failed rc=$rc ${ko:-no module}" >>"$out/status"
    fi

    # 3. W=1, on a copy of the package's source tree.
    src=$(cd "$r" && ls -d usr/src/virtio-fph-* 2>/dev/null | head -1 || true)
    if [ -n "$src" ]; then
        ver=${src#usr/src/virtio-fph-}
        rm -rf "$r/tmp/fph-w1"
        cp -a "$r/$src" "$r/tmp/fph-w1"
        rc=0
        chroot "$r" make -C /tmp/fph-w1 KVER="$kver" W=1 modules >"$out/w1.log" 2>&1 || rc=$?
        echo "w1 $([ $rc = 0 ] && echo ok || echo "failed rc=$rc") virtio-fph $ver" >>"$out/status"
    else
        echo "w1 failed: no /usr/src/virtio-fph-*" >>"$out/status"
    fi

    # 4. what the busybox guest needs: the kernel, the module indexes, the
    # virtio modules and their dependencies, the DKMS module.
    mkdir -p "$out/root/$mdir"
    if [ -f "$r/$mdir/vmlinuz" ]; then
        cp -L "$r/$mdir/vmlinuz" "$out/root/$mdir/vmlinuz"
    elif [ -f "$r/boot/vmlinuz-$kver" ]; then
        mkdir -p "$out/root/boot"
        cp -L "$r/boot/vmlinuz-$kver" "$out/root/boot/vmlinuz-$kver"
    else
        die "no /$mdir/vmlinuz or /boot/vmlinuz-$kver in the chroot"
    fi
    for f in "$r/$mdir"/modules.* "$r/$mdir/config"; do
        [ -f "$f" ] && cp "$f" "$out/root/$mdir/"
    done
    # The kernel's configuration (PREEMPT_RT or not), where 6.x has it.
    [ -f "$out/root/$mdir/config" ] || cp "$r/boot/config-$kver" "$out/root/$mdir/config"
    # modules.dep: "kernel/x/virtio_blk.ko.xz: kernel/y/dep.ko.xz ..."
    {
        grep -E '(^|/)virtio(_[^/]*)?\.ko[^:]*:' "$r/$mdir/modules.dep" | tr -d ':' | tr ' ' '\n' || true
        if [ -n "$ko" ]; then echo "${ko#"$mdir"/}"; fi
    } | sed '/^$/d' | sort -u | while read -r m; do
        [ -f "$r/$mdir/$m" ] || continue
        mkdir -p "$out/root/$mdir/$(dirname "$m")"
        cp "$r/$mdir/$m" "$out/root/$mdir/$m"
    done
    if [ -n "$ko" ]; then cp "$r/$ko" "$out/$(basename "$ko")"; fi
    chroot "$r" dpkg-query -W -f '${Package} ${Version}\n' | sort >"$out/packages.txt"
    rm -f "$r/tmp/$deb"
    return 0
}

if [ "${1:-}" = --customize ]; then
    [ "${MMDEBSTRAP_HOOK:-}" = customize ] && [ -n "${FPH_KC_OUT:-}" ] \
        || die "--customize is mmdebstrap's customize hook of this script, not a command"
    [ "$(cd "$2" && pwd -P)" != / ] || die "--customize: refusing the host's /"
    customize "$2"
    exit 0
fi

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: $0 KVER SUITE [LOGDIR]"
kver=$1 suite=$2 logdir=${3:-}
[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap --mode=root, chroot)"
case $kver in */*|*' '*|'') die "bad KVER '$kver'" ;; esac
deb=${FPH_DKMS_DEB:-}
[ -f "$deb" ] || die "FPH_DKMS_DEB='$deb' is not the fph-guest-dkms .deb (make deb builds it)"
deb=$(realpath "$deb")
"$here/apt-install.sh" mmdebstrap || die "cannot install mmdebstrap"

# ---- the chroot's sources: the kernel's release ------------------------------
eval "$("$here/apt-mirrors.sh")"
mirror=$FPH_MIRROR security=$FPH_SECURITY
aptopts=(--aptopt='Acquire::Languages "none"')
# As this machine's apt: a mirror that is a snapshot has Release files past
# their Valid-Until (sid's, a week), which the host's apt is told to accept.
cvu=
eval "$(apt-config shell cvu Acquire::Check-Valid-Until)"
[ "$cvu" != false ] || aptopts+=(--aptopt='Acquire::Check-Valid-Until "false"')
case $suite in
    sid|unstable)
        base=sid sources=("deb $mirror sid main") ;;
    *-backports|*-security|*-updates|[a-z]*)
        base=${suite%-backports} base=${base%-security} base=${base%-updates}
        sources=("deb $mirror $base main" "deb $mirror $base-updates main"
                 "deb $security $base-security main")
        if [ "$suite" = "$base-backports" ]; then
            sources+=("deb $mirror $base-backports main")
            # As `apt install -t trixie-backports`: what the kernel needs
            # newer (linux-base, libelf) from backports.
            aptopts+=(--aptopt="APT::Default-Release \"$base-backports\"")
        fi ;;
    *) die "bad SUITE '$suite'" ;;
esac
# The packages: the kernel, its headers, DKMS; initramfs-tools is the
# image's first choice of initramfs generator after dracut (a user's
# Debian has it; dracut pulls in more).
packages=("linux-image-$kver" "linux-headers-$kver" dkms initramfs-tools)
mm_args=(--mode=root --variant=apt --include="${packages[*]}" "${aptopts[@]}")

cache=${FPH_CACHE:-/var/cache/fph}
mkdir -p "$cache"
exec 9>"$cache/kchroot.lock"
flock 9   # one build at a time (disk, CPU); a second run finds the entry
work=$(mktemp -d "$cache/.kchroot-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out"

save_logs() {
    [ -n "$logdir" ] || return 0
    mkdir -p "$logdir"
    local f
    for f in mmdebstrap.log dkms-install.log dkms-make.log w1.log status packages.txt; do
        [ -f "$1/$f" ] && cp "$1/$f" "$logdir/chroot-$f"
    done
    return 0
}

# ---- the key -----------------------------------------------------------------
t0=$(date +%s)
log "$kver: resolving the chroot's packages in $suite (mmdebstrap --simulate)"
mmdebstrap --verbose --simulate "${mm_args[@]}" "$base" "$work/sim" "${sources[@]}" \
    >"$work/sim.log" 2>&1 \
    || { tail -20 "$work/sim.log" >&2; cp "$work/sim.log" "$work/out/mmdebstrap.log";
         save_logs "$work/out"; die "mmdebstrap --simulate of $suite with ${packages[*]} failed"; }
rm -rf "$work/sim"
sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1 \2/p' "$work/sim.log" | sort -u >"$work/resolved.txt"
grep -q "^linux-image-$kver " "$work/resolved.txt" || die "mmdebstrap --simulate resolved no linux-image-$kver"
# What the package installs, by content (dpkg-deb's mtimes differ per build).
mkdir -p "$work/deb"
dpkg-deb -x "$deb" "$work/deb/data"
dpkg-deb -e "$deb" "$work/deb/control"
{
    echo "kver $kver"
    echo "suite $suite"
    printf 'source %s\n' "${sources[@]}"
    printf 'aptopt %s\n' "${aptopts[@]}"
    cat "$work/resolved.txt"
    (cd "$work/deb" && find . -type f ! -name changelog.gz -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    echo "build-kernel-chroot.sh $(sha256sum <"$self" | cut -d' ' -f1)"
} >"$work/key.txt"
rm -rf "$work/deb"
key=$(sha256sum <"$work/key.txt" | cut -c1-16)
top=$cache/kchroot-$kver-$key
log "$kver: key $key ($(( $(date +%s) - t0 ))s)"

# A driver package older than guest/ tests old sources: say so.
ver=$(dpkg-deb -f "$deb" Version | sed 's/-[^-]*$//')
if [ -d "$root/guest" ]; then
    mkdir -p "$work/stale"
    dpkg-deb -x "$deb" "$work/stale"
    for f in "$work/stale/usr/src/virtio-fph-$ver"/* \
             "$work/stale/usr/src/virtio-fph-$ver/include/fph/virtio_fph.h"; do
        # dkms.conf is made from guest/dkms.conf (BUILD_EXCLUSIVE_KERNEL).
        [ -f "$f" ] && [ "$(basename "$f")" != dkms.conf ] || continue
        g=$root/guest/${f#"$work/stale/usr/src/virtio-fph-$ver/"}
        [ "${g#"$root/guest/include/"}" = "$g" ] || g=$root/include/fph/virtio_fph.h
        if [ "$(basename "$f")" = fph_names.h ]; then
            # Generated (guest/Makefile): as this checkout would generate it.
            g=$work/fph_names.h
            python3 "$root/scripts/gen-names.py" header "$g"
        fi
        if ! cmp -s "$f" "$g"; then
            log "WARNING: $(basename "$deb") has another ${g#"$root/"} than this checkout (make deb)"
        fi
    done
    rm -rf "$work/stale"
fi

if [ -f "$top/.complete" ] && [ "${FPH_KCHROOT_REBUILD:-0}" != 1 ]; then
    log "$kver: using cached $top"
    save_logs "$top"
    echo "$top"
    exit 0
fi

# ---- build ---------------------------------------------------------------------
log "$kver: mmdebstrap $suite with ${packages[*]}, then DKMS and W=1 in it"
export FPH_KC_KVER=$kver FPH_KC_DEB=$deb FPH_KC_OUT=$work/out
# INITRD=No: the kernel's postinst hooks build no initramfs (no test boots
# one; ~30 s each under the 2 cores).
INITRD=No mmdebstrap --verbose "${mm_args[@]}" \
    --customize-hook="\"$self\" --customize \"\$1\"" \
    "$base" "$work/rootfs" "${sources[@]}" >"$work/out/mmdebstrap.log" 2>&1 \
    || { tail -30 "$work/out/mmdebstrap.log" >&2; save_logs "$work/out";
         die "mmdebstrap failed (log above)"; }
rootfs_size=$(du -sh "$work/rootfs" | cut -f1)
rm -rf "$work/rootfs"
cp "$work/key.txt" "$work/out/key.txt"
save_logs "$work/out"
log "$kver: mmdebstrap + DKMS + W=1: $(( $(date +%s) - t0 ))s (chroot $rootfs_size, removed)"
sed "s/^/build-kernel-chroot: $kver: /" "$work/out/status" >&2
if ! grep -q '^dkms ok' "$work/out/status"; then
    tail -n 30 "$work/out/dkms-make.log" "$work/out/dkms-install.log" 2>/dev/null \
        | sed "s/^/  dkms | /" >&2
    die "$kver: DKMS did not build and install virtio_fph (logs above${logdir:+, $logdir/chroot-*})"
fi
if ! grep -q '^w1 ok' "$work/out/status"; then
    tail -n 30 "$work/out/w1.log" | sed "s/^/  w1 | /" >&2
    die "$kver: the W=1 build failed"
fi
touch "$work/out/.complete"
rm -rf "$top"
mv "$work/out" "$top"
# The newest other entry of this kernel stays (another checkout's driver),
# older ones go.
find "$cache" -maxdepth 1 -type d -name "kchroot-$kver-*" ! -path "$top" -printf '%T@ %p\n' \
    | sort -rn | tail -n +2 | cut -d' ' -f2- | xargs -r rm -rf
log "$kver: wrote $top ($(du -sh "$top" | cut -f1))"
echo "$top"
