#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the Debian 13 (trixie) guest: a systemd system on a qcow2 disk
# (virtio-blk), with the fph driver installed by DKMS inside the image, as a
# user installs it, and loaded by udev through its modalias at boot.
#
# usage: scripts/build-debian-image.sh [OUTDIR]
#
# Output: a cache directory $FPH_CACHE/debian13-KEY (printed on stdout):
#   disk.qcow2    ext4 root file system, no partition table (root=/dev/vda)
#   vmlinuz, initrd.img   the image's own kernel and initramfs, for direct
#                 kernel boot (-kernel -initrd -append "$(jq .append)")
#   image.json    what tests/e2e/vm.py (DiskImage) boots: the files above,
#                 the kernel command line, the kernel version
#   packages.txt  the image's packages and versions;  key.txt  what KEY
#                 hashes;  build.log  mmdebstrap's output, DKMS's included
# OUTDIR, if given, gets symlinks to these (the tests take OUTDIR).
#
# The image: mmdebstrap --variant=apt trixie plus systemd, udev,
# postgresql, stress-ng, linux-image-amd64, linux-headers-amd64, dkms,
# build-essential.  A customize hook, in the image (chroot): `apt-get
# install` of the fph-guest-dkms package (FPH_DKMS_DEB, from `make deb`),
# whose DKMS postinst builds the driver against the image's own kernel
# headers: /usr/src/virtio-fph-VER, /lib/modules/KVER/updates/dkms/virtio_fph.ko*,
# and of fph-guest-tools (FPH_TOOLS_DEB: the page-cache reclaim helper);
# fph-workload in /usr/bin; guest-image/fph-agent.sh as /usr/bin/fph-agent,
# run by fph-agent.service on ttyS0 (the serial protocol of
# tests/e2e/guestctl.py; serial-getty@ttyS0 is masked); postgresql
# installed (cluster 17/main) but not started at boot; apt and other
# timers masked, so that nothing runs that a test did not start.
#
# KEY hashes the package versions apt resolves for the image right now
# (mmdebstrap --simulate: a new kernel, postgresql or security update makes
# a new image), what the driver packages are made of (guest/*.c *.h Kbuild
# Makefile dkms.conf kernels.mk kernels-regex.sh dkms-kernel-hook, guest/reclaim/*, include/fph/virtio_fph.h,
# include/fph/names.toml and scripts/gen-names.py (guest/fph_names.h), debian/control rules
# changelog fph-guest-dkms.dkms, the dh-dkms version), fph-workload,
# fph-agent.sh and this script.
# An existing complete directory for KEY is reused; nothing depends on it
# being there (it is rebuilt), and older debian13-* entries but the newest
# other one are removed.  ~3-5 min on 2 cores; needs root and ~4 GiB in
# $FPH_CACHE while building.
#
# Environment:
#   FPH_DKMS_DEB        the fph-guest-dkms .deb to install (required)
#   FPH_TOOLS_DEB       the fph-guest-tools .deb to install (required)
#   FPH_CACHE           cache root (default /var/cache/fph)
#   FPH_WORKLOAD        fph-workload binary (default: compiled with g++ -static)
#   FPH_DEBIAN_MIRROR   Debian mirror (default: the one this machine's apt
#                       uses for Debian, else http://deb.debian.org/debian)
#   FPH_DEBIAN_SECURITY security mirror (default likewise, debian-security)
#   FPH_DEBIAN_DISK_MIB size of the disk (default 6144; the qcow2 is sparse)
#   FPH_DEBIAN_REBUILD  1: rebuild even if the cache entry exists
#   KERNEL              a kernel series of trixie-backports (e.g. 7.3): the
#                       image gets trixie-backports in its sources and its
#                       linux-image-amd64 and linux-headers-amd64 from there,
#                       as `apt install -t trixie-backports` does
#                       (scripts/kernel-packages.py resolves the version; the
#                       DKMS build in the image is then for that kernel).
#                       Default: trixie's own kernel.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
self=$here/$(basename "${BASH_SOURCE[0]}")

die() { echo "build-debian-image: $*" >&2; exit 1; }
log() { echo "build-debian-image: $*" >&2; }

suite=trixie
# The image's packages.  Recommends are not installed (mmdebstrap's default).
packages=(systemd systemd-sysv udev kmod initramfs-tools
    linux-image-amd64 linux-headers-amd64 dkms build-essential xz-utils
    postgresql stress-ng procps)
# What the image's kernel command line always has; the console is the
# serial port the agent runs on.
append="root=/dev/vda rw rootfstype=ext4 console=ttyS0 fsck.mode=skip"
append+=" systemd.show_status=false transparent_hugepage=never quiet"
# The modalias of the virtio-fph device (virtio device id 0x3f).
fph_alias='virtio:d0000003Fv00001AF4'

# ---- the customize hook (runs as `build-debian-image.sh --customize ROOT`) ----
# Everything else comes from the environment the main run exported.
customize() {
    local r=$1 kver ko
    kver=$(ls "$r/lib/modules")
    [ "$(echo "$kver" | wc -w)" = 1 ] || die "expected one kernel in the image, found: $kver"
    [ -d "$r/usr/src/linux-headers-$kver" ] || die "no linux-headers-$kver in the image"
    log "image kernel $kver"

    # The driver, as a user installs it: the fph-guest-dkms package of
    # `make deb`; its DKMS postinst builds it for the image's kernel.
    cp "$FPH_IMG_DEB" "$FPH_IMG_TOOLS_DEB" "$r/tmp/"
    chroot "$r" apt-get install -y --no-install-recommends "/tmp/$(basename "$FPH_IMG_DEB")" \
        "/tmp/$(basename "$FPH_IMG_TOOLS_DEB")" >&2 \
        || { find "$r/var/lib/dkms/virtio-fph" -name make.log -exec cat {} + >&2 2>/dev/null || true;
             die "apt-get install $(basename "$FPH_IMG_DEB") $(basename "$FPH_IMG_TOOLS_DEB") in the image failed"; }
    rm -f "$r/tmp/$(basename "$FPH_IMG_DEB")" "$r/tmp/$(basename "$FPH_IMG_TOOLS_DEB")"
    chroot "$r" dkms status -m virtio-fph >&2
    chroot "$r" dkms status -m virtio-fph -k "$kver" | grep -q ': installed' \
        || die "dkms does not report virtio-fph installed for $kver"
    ko=$(cd "$r" && ls lib/modules/"$kver"/updates/dkms/virtio_fph.ko* 2>/dev/null | head -1)
    [ -n "$ko" ] || die "no /lib/modules/$kver/updates/dkms/virtio_fph.ko* in the image"
    grep -q '^alias virtio:d0000003Fv\* virtio_fph$' "$r/lib/modules/$kver/modules.alias" \
        || die "the image's modules.alias has no virtio modalias for virtio_fph"
    [ "$(chroot "$r" modprobe -S "$kver" -R "$fph_alias")" = virtio_fph ] \
        || die "$fph_alias does not resolve to virtio_fph in the image"
    log "DKMS installed /$ko"

    install -m 0755 "$FPH_IMG_WORKLOAD" "$r/usr/bin/fph-workload"
    install -m 0755 "$root/guest-image/fph-agent.sh" "$r/usr/bin/fph-agent"
    cat >"$r/etc/systemd/system/fph-agent.service" <<'UNIT'
# fph: the serial command agent of the fph test guest (guest-image/fph-agent.sh)
[Unit]
Description=fph serial command agent on ttyS0
After=systemd-udev-trigger.service systemd-modules-load.service local-fs.target systemd-tmpfiles-setup.service
Conflicts=serial-getty@ttyS0.service

[Service]
Type=idle
Environment=HOME=/root
# Ready means coldplugged: udev has loaded the drivers of the devices there.
ExecStartPre=-/usr/bin/udevadm settle --timeout=60
ExecStart=/usr/bin/fph-agent /dev/ttyS0
Restart=always
RestartSec=1
KillMode=process

[Install]
WantedBy=multi-user.target
UNIT
    chroot "$r" systemctl enable fph-agent.service >&2
    # The agent owns ttyS0; nothing starts that a test did not ask for.
    chroot "$r" systemctl mask serial-getty@ttyS0.service getty@tty1.service \
        getty-static.service systemd-firstboot.service apt-daily.timer apt-daily-upgrade.timer \
        dpkg-db-backup.timer e2scrub_all.timer fstrim.timer >&2 2>/dev/null || true
    chroot "$r" systemctl disable postgresql.service >&2
    ls "$r"/etc/postgresql/*/main/postgresql.conf >/dev/null 2>&1 \
        || die "no postgresql cluster in the image"

    echo fph-debian >"$r/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tfph-debian\n' >"$r/etc/hosts"
    printf '/dev/vda\t/\text4\tdefaults\t0\t0\n' >"$r/etc/fstab"
    rm -f "$r/etc/machine-id" "$r/var/lib/dbus/machine-id"
    chroot "$r" systemd-machine-id-setup >&2
    # /etc and /var are as new as /usr: no update units at every boot
    # (ldconfig, hwdb, journal catalog; each boot starts from this image).
    chroot "$r" /usr/lib/systemd/systemd-update-done

    # A test guest under TCG: udev does not load drivers for what q35
    # emulates and no test uses (AHCI, watchdog, SMBus, LPC, PC speaker,
    # mouse) nor KVM (TCG's CPU model has SVM); each costs seconds at boot.
    printf 'blacklist %s\n' kvm kvm_amd kvm_intel ccp ahci iTCO_wdt intel_pmc_bxt \
        i2c_i801 lpc_ich pcspkr psmouse serio_raw >"$r/etc/modprobe.d/fph-tcg.conf"

    # A small initramfs: what mounts /dev/vda, not every driver (MODULES=most
    # is ~4x the size, which TCG unpacks at every boot).
    sed -i 's/^MODULES=.*/MODULES=list/' "$r/etc/initramfs-tools/initramfs.conf"
    printf '%s\n' virtio_pci virtio_blk ext4 >>"$r/etc/initramfs-tools/modules"
    chroot "$r" update-initramfs -u -k "$kver" >&2
    # Debian 7.x kernels are /usr/lib/modules/KVER/vmlinuz.
    if [ -f "$r/boot/vmlinuz-$kver" ]; then
        cp -L "$r/boot/vmlinuz-$kver" "$FPH_IMG_OUT/vmlinuz"
    else
        cp -L "$r/usr/lib/modules/$kver/vmlinuz" "$FPH_IMG_OUT/vmlinuz"
    fi
    cp "$r/boot/initrd.img-$kver" "$FPH_IMG_OUT/initrd.img"
    echo "$kver" >"$FPH_IMG_OUT/kver"
    chroot "$r" dpkg-query -W -f '${Package} ${Version}\n' | sort >"$FPH_IMG_OUT/packages.txt"
}

if [ "${1:-}" = --customize ]; then
    # Only as mmdebstrap's hook of a build below: it chroots into $2.
    [ "${MMDEBSTRAP_HOOK:-}" = customize ] && [ -n "${FPH_IMG_OUT:-}" ] \
        || die "--customize is mmdebstrap's customize hook of this script, not a command"
    [ "$(cd "$2" && pwd -P)" != / ] || die "--customize: refusing the host's /"
    customize "$2"
    exit 0
fi

[ $# -le 1 ] || die "usage: $0 [OUTDIR]"
outdir=${1:-}
[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap --mode=root, chroot, dkms)"
"$here/apt-install.sh" mmdebstrap qemu-utils e2fsprogs || die "cannot install mmdebstrap qemu-utils e2fsprogs"

# ---- mirrors: the ones this machine's apt uses --------------------------------
eval "$("$here/apt-mirrors.sh")"
mirror=$FPH_MIRROR security=$FPH_SECURITY
sources=("deb $mirror $suite main" "deb $mirror $suite-updates main"
         "deb $security $suite-security main")
log "mirrors $mirror, $security"

# ---- KERNEL: a series of trixie-backports ------------------------------------
# The image's kernel packages are linux-image-amd64 and linux-headers-amd64
# from trixie-backports (PKG/trixie-backports: apt then takes what they need
# newer, linux-base, from there too, as -t would), which must be the version
# of that series kernel-packages.py resolves.
kernel=${KERNEL:-}
if [ -n "$kernel" ]; then
    case $kernel in [0-9]*.[0-9]*) ;; *) die "KERNEL=$kernel: a series, e.g. 7.3" ;; esac
    line=$("$here/kernel-packages.py" resolve "$kernel-amd64") \
        || die "KERNEL=$kernel: kernel-packages.py resolves no $kernel-amd64"
    read -r k_rel _ _ k_suite _ k_version <<<"$line"
    [ "$k_suite" = "$suite-backports" ] \
        || die "KERNEL=$kernel is $k_rel of $k_suite, not of $suite-backports"
    sources+=("deb $mirror $suite-backports main")
    for i in "${!packages[@]}"; do
        case ${packages[$i]} in
            linux-image-amd64|linux-headers-amd64) packages[i]+="/$suite-backports" ;;
        esac
    done
    log "kernel $k_rel ($k_version) from $suite-backports"
fi

cache=${FPH_CACHE:-/var/cache/fph}
mkdir -p "$cache"
exec 9>"$cache/debian13.lock"
flock 9   # one build at a time; a second run then finds the entry made

# ---- the workload tool -------------------------------------------------------------
work=$(mktemp -d "$cache/.debian13-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
workload=${FPH_WORKLOAD:-}
if [ -z "$workload" ]; then
    log "compiling tools/workload/fph-workload.cpp"
    g++ -std=c++20 -O2 -static -Wall -Wextra -Werror -o "$work/fph-workload" \
        "$root/tools/workload/fph-workload.cpp"
    workload=$work/fph-workload
fi
[ -x "$workload" ] || die "fph-workload '$workload' is not executable"
# Static (as meson builds it) runs anywhere; a dynamic one built on Debian 12
# runs in trixie too (newer glibc and libstdc++).
log "fph-workload: $(file -b "$workload" 2>/dev/null | cut -d, -f1-4 || echo '?')"

# ---- the driver package and what it is built from ----------------------------------
deb=${FPH_DKMS_DEB:-}
[ -f "$deb" ] || die "FPH_DKMS_DEB='$deb' is not the fph-guest-dkms .deb (make deb builds it)"
tools_deb=${FPH_TOOLS_DEB:-}
[ -f "$tools_deb" ] || die "FPH_TOOLS_DEB='$tools_deb' is not the fph-guest-tools .deb (make deb builds it)"
# What the package is made of, hashed in place below (build products in
# guest/, *.mod.c and the generated fph_names.h, are not sources: what
# fph_names.h is made of is).
mapfile -t deb_inputs < <(cd "$root" && {
    find guest -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' \
        -o -name Kbuild -o -name Makefile -o -name dkms.conf -o -name '*.mk' \
        -o -name '*.sh' -o -name dkms-kernel-hook \) ! -name '*.mod.c' \
        ! -name fph_names.h
    find guest/reclaim -type f
    printf '%s\n' include/fph/virtio_fph.h include/fph/names.toml scripts/gen-names.py \
        debian/control debian/rules \
        debian/changelog debian/fph-guest-dkms.dkms debian/fph-guest-dkms.postinst
} | LC_ALL=C sort)

# ---- the key ---------------------------------------------------------------------
mmdebstrap_args=(--mode=root --variant=apt --include="${packages[*]}"
    --aptopt='Acquire::Languages "none"')
log "resolving the package versions of $suite (mmdebstrap --simulate)"
mmdebstrap --verbose --simulate "${mmdebstrap_args[@]}" "$suite" "$work/sim" \
    "${sources[@]}" >"$work/sim.log" 2>&1 \
    || { tail -30 "$work/sim.log" >&2; die "mmdebstrap --simulate failed"; }
sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1 \2/p' "$work/sim.log" | sort -u >"$work/resolved.txt"
[ -s "$work/resolved.txt" ] || die "mmdebstrap --simulate resolved no package"
grep -q '^linux-image-amd64 ' "$work/resolved.txt" || die "no linux-image-amd64 resolved"
[ -z "$kernel" ] || grep -qxF "linux-image-amd64 $k_version" "$work/resolved.txt" \
    || die "KERNEL=$kernel: $suite-backports' linux-image-amd64 is not $k_version (the lists moved on?)"
rm -rf "$work/sim"
{
    echo "suite $suite"
    printf 'source %s\n' "${sources[@]}"
    echo "packages ${packages[*]}"
    echo "append $append"
    cat "$work/resolved.txt"
    (cd "$root" && sha256sum "${deb_inputs[@]}")
    echo "dh-dkms $(dpkg-query -W -f '${Version}' dh-dkms 2>/dev/null || echo none)"
    echo "fph-workload $(sha256sum <"$workload" | cut -d' ' -f1)"
    echo "fph-agent.sh $(sha256sum <"$root/guest-image/fph-agent.sh" | cut -d' ' -f1)"
    echo "build-debian-image.sh $(sha256sum <"$self" | cut -d' ' -f1)"
} >"$work/key.txt"
key=$(sha256sum <"$work/key.txt" | cut -c1-16)
top=$cache/debian13-$key
kernel_pkg=$(sed -n 's/^\(linux-image-[0-9][^ ]*\) .*/\1/p' "$work/resolved.txt" | head -1)

link_outdir() {
    [ -n "$outdir" ] || return 0
    mkdir -p "$outdir"
    local f
    for f in image.json disk.qcow2 vmlinuz initrd.img kver packages.txt key.txt; do
        ln -sfn "$top/$f" "$outdir/$f"
    done
}

if [ -f "$top/.complete" ] && [ "${FPH_DEBIAN_REBUILD:-0}" != 1 ]; then
    log "using cached image $top ($kernel_pkg)"
    link_outdir
    echo "$top"
    exit 0
fi

# ---- build ---------------------------------------------------------------------------
t0=$(date +%s)
log "building $top ($kernel_pkg, ${#packages[@]} packages + dependencies)"
mkdir -p "$work/out"
export FPH_IMG_DEB=$deb FPH_IMG_TOOLS_DEB=$tools_deb FPH_IMG_WORKLOAD=$workload FPH_IMG_OUT=$work/out
mmdebstrap "${mmdebstrap_args[@]}" \
    --customize-hook="\"$self\" --customize \"\$1\"" \
    "$suite" "$work/rootfs" "${sources[@]}" >"$work/mmdebstrap.log" 2>&1 \
    || { tail -40 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }
log "mmdebstrap + DKMS: $(( $(date +%s) - t0 ))s, rootfs $(du -sh "$work/rootfs" | cut -f1)"

size=${FPH_DEBIAN_DISK_MIB:-6144}
used=$(du -sm "$work/rootfs" | cut -f1)
[ "$size" -ge $((used + 1024)) ] || die "FPH_DEBIAN_DISK_MIB=$size: the rootfs alone is $used MiB"
mkfs.ext4 -q -F -L fph-root -d "$work/rootfs" "$work/disk.raw" "${size}M" >&2 \
    || die "mkfs.ext4 -d failed"
rm -rf "$work/rootfs"
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/out/disk.qcow2"
rm -f "$work/disk.raw"
cp "$work/key.txt" "$work/out/key.txt"
cp "$work/mmdebstrap.log" "$work/out/build.log"
kver=$(cat "$work/out/kver")
cat >"$work/out/image.json" <<JSON
{
  "name": "debian13",
  "key": "$key",
  "kver": "$kver",
  "disk": "disk.qcow2",
  "format": "qcow2",
  "kernel": "vmlinuz",
  "initrd": "initrd.img",
  "append": "$append"
}
JSON
touch "$work/out/.complete"
rm -rf "$top"
mv "$work/out" "$top"
log "wrote $top: disk.qcow2 $(du -h "$top/disk.qcow2" | cut -f1), kernel $kver; $(( $(date +%s) - t0 ))s"

# Keep the cache small: the newest other image stays (another checkout's
# driver source), older ones go.
find "$cache" -maxdepth 1 -name 'debian13-*' -type d ! -path "$top" -printf '%T@ %p\n' \
    | sort -rn | tail -n +2 | cut -d' ' -f2- | xargs -r rm -rf
link_outdir
echo "$top"
