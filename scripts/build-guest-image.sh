#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the fph test guest: OUTDIR/vmlinuz + OUTDIR/initramfs (newc cpio, gzip).
#
# usage: scripts/build-guest-image.sh OUTDIR [FPH_WORKLOAD_BINARY]
#
# The initramfs holds busybox-static, the virtio modules of a Debian
# linux-image-amd64 kernel, virtio_balloon, the fph-workload binary and,
# if given, the fph guest driver.  /init is guest-image/init; the serial
# command protocol it serves is guest-image/fph-agent.sh (/usr/bin/fph-agent).
#
# Environment:
#   KROOT         take the kernel and its modules from this root directory
#                 instead of the host's /: the kernel at
#                 $KROOT/boot/vmlinuz-KVER or $KROOT/usr/lib/modules/KVER/vmlinuz
#                 (Debian 7.x), the modules in $KROOT/lib/modules/KVER or
#                 $KROOT/usr/lib/modules/KVER (e.g. the root/ that
#                 scripts/build-kernel-chroot.sh extracts from a chroot of
#                 another Debian release).  KVER defaults to the one kernel
#                 there.  Default /: the host's kernels, as below.
#   KVER          kernel version (default: the vermagic of FPH_GUEST_KO if
#                 that kernel is installed, else the newest installed 6.1
#                 kernel -- Debian 12's own, even if bookworm-backports' 6.12
#                 is installed too --, else the newest /boot/vmlinuz-*-amd64;
#                 generic before -cloud- and -rt-; never the build host's `uname -r`)
#   FPH_WORKLOAD  path to a static fph-workload binary (or 2nd argument).
#                 If neither is given it is compiled from
#                 tools/workload/fph-workload.cpp with g++ -static.
#   FPH_GUEST_KO  path to virtio_fph.ko (optional; must match KVER; may be
#                 .ko.xz/.ko.zst/.ko.gz as DKMS installs it for 6.12)
#   FPH_EXTRA     extra files to add, "src:dst-in-image src:dst ..." (optional)
#   FPH_MODPROBE  1: install FPH_GUEST_KO as /lib/modules/KVER/updates/
#                 virtio_fph.ko in a module tree indexed by `depmod -b` at
#                 build time (the virtio modules are in that tree too), instead
#                 of /lib/modules/fph/virtio_fph.ko.  /init then loads it as
#                 udev would: `modprobe` of each virtio device's modalias.
#                 Default 0 (/init insmods /lib/modules/fph/virtio_fph.ko).
#
# Idempotent: rebuilds the image from scratch every time in a temp dir and
# replaces OUTDIR/{vmlinuz,initramfs} atomically.  Installs busybox-static,
# cpio and linux-image-amd64 with apt-get only if they are missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

die() { echo "build-guest-image: $*" >&2; exit 1; }
log() { echo "build-guest-image: $*" >&2; }

[ $# -ge 1 ] || die "usage: $0 OUTDIR [FPH_WORKLOAD_BINARY]"
outdir=$1
workload=${2:-${FPH_WORKLOAD:-}}

# ---- host dependencies -----------------------------------------------------
kroot=${KROOT:-}
if [ -n "$kroot" ]; then
    [ -d "$kroot" ] || die "KROOT=$kroot is not a directory"
    kroot=$(cd "$kroot" && pwd -P)
    [ "$kroot" != / ] || kroot=
fi
need=(busybox-static cpio)
if [ -z "${KVER:-}" ] && [ -z "$kroot" ] && ! ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1; then
    need+=(linux-image-amd64)
fi
"$here/apt-install.sh" "${need[@]}" || die "cannot install ${need[*]}"

busybox_bin=
for b in /bin/busybox /usr/bin/busybox; do
    if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then
        busybox_bin=$b; break
    fi
done
if [ -z "$busybox_bin" ]; then
    # `file` may be absent; trust the busybox-static package's binary.
    for b in /bin/busybox /usr/bin/busybox; do [ -x "$b" ] && { busybox_bin=$b; break; }; done
fi
[ -n "$busybox_bin" ] || die "busybox not found after installing busybox-static"

# ---- kernel ----------------------------------------------------------------
# The kernel of release $1 under $kroot (or /): /boot/vmlinuz-KVER, or
# /usr/lib/modules/KVER/vmlinuz where Debian 7.x packages put it.
kernel_of() {
    local f
    for f in "$kroot/boot/vmlinuz-$1" "$kroot/usr/lib/modules/$1/vmlinuz" \
             "$kroot/lib/modules/$1/vmlinuz"; do
        [ -r "$f" ] && { echo "$f"; return 0; }
    done
    return 1
}
if [ -n "$kroot" ] && [ -z "${KVER:-}" ]; then
    kvers=$(ls "$kroot/usr/lib/modules" "$kroot/lib/modules" 2>/dev/null | sort -u)
    [ "$(echo "$kvers" | wc -w)" = 1 ] \
        || die "KROOT=$kroot: set KVER (kernels there: ${kvers:-none})"
    KVER=$kvers
fi
# Precedence: $KVER; the vermagic of $FPH_GUEST_KO if that kernel is
# installed (the driver only loads into the kernel it was built for); the
# newest 6.1 kernel (Debian 12's own; guest/Makefile defaults to it as well,
# so that a newer kernel from bookworm-backports does not change what
# `make check` tests); the newest /boot/vmlinuz-*-amd64.  Generic flavour
# before -cloud- and -rt- (PREEMPT_RT) in each case.
if [ -z "${KVER:-}" ] && [ -n "${FPH_GUEST_KO:-}" ] && [ -f "$FPH_GUEST_KO" ]; then
    vm=$(modinfo -F vermagic "$FPH_GUEST_KO" 2>/dev/null | awk '{print $1}' || true)
    if [ -n "$vm" ] && kernel_of "$vm" >/dev/null; then
        KVER=$vm
    fi
fi
if [ -z "${KVER:-}" ]; then
    kvers=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V)
    k61=$(echo "$kvers" | grep '^6\.1\.' || true)
    [ -n "$k61" ] && kvers=$k61
    KVER=$(echo "$kvers" | grep -v -e '-cloud-' -e '-rt-' | tail -1 || true)
    [ -n "$KVER" ] || KVER=$(echo "$kvers" | tail -1)
fi
[ -n "$KVER" ] || die "no /boot/vmlinuz-*-amd64 found"
vmlinuz=$(kernel_of "$KVER") \
    || die "no readable $kroot/boot/vmlinuz-$KVER or $kroot/usr/lib/modules/$KVER/vmlinuz"
moddir=$kroot/lib/modules/$KVER
[ -d "$moddir" ] || moddir=$kroot/usr/lib/modules/$KVER
[ -d "$moddir" ] || die "$kroot/lib/modules/$KVER missing"
log "kernel $KVER (${vmlinuz}, modules $moddir)"

# ---- workload binary -------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fph-guest-image.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ -z "$workload" ]; then
    src=$root/tools/workload/fph-workload.cpp
    [ -f "$src" ] || die "no FPH_WORKLOAD given and $src missing"
    command -v g++ >/dev/null || die "g++ needed to build $src"
    log "compiling $src"
    g++ -std=c++20 -O2 -static -Wall -Wextra -Werror -o "$tmp/fph-workload" "$src"
    workload=$tmp/fph-workload
fi
[ -x "$workload" ] || die "fph-workload binary '$workload' not executable"

# ---- assemble the tree -----------------------------------------------------
img=$tmp/root
mkdir -p "$img"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,etc,root,lib/modules/fph}
install -m 0755 "$busybox_bin" "$img/bin/busybox"
# One symlink per applet, at the path busybox itself reports.
"$busybox_bin" --list-full | while read -r applet; do
    [ -e "$img/$applet" ] || [ -L "$img/$applet" ] || ln -s /bin/busybox "$img/$applet"
done
[ -L "$img/bin/sh" ] || ln -sf busybox "$img/bin/sh"

install -m 0755 "$workload" "$img/usr/bin/fph-workload"
install -m 0755 "$root/guest-image/init" "$img/init"
install -m 0755 "$root/guest-image/fph-agent.sh" "$img/usr/bin/fph-agent"
# The page-cache reclaim helper, run through busybox uevent (no udev here).
install -D -m 0755 "$root/guest/reclaim/fph-reclaim" "$img/usr/libexec/fph/fph-reclaim"
install -m 0755 "$root/guest-image/fph-uevent" "$img/usr/sbin/fph-uevent"

# Copy one module (decompressing .ko.xz/.ko.zst/.ko.gz) into lib/modules/fph.
add_module() {
    local name=$1 required=$2 f
    f=$(find "$moddir/kernel" -name "$name.ko" -o -name "$name.ko.xz" \
            -o -name "$name.ko.zst" -o -name "$name.ko.gz" 2>/dev/null | head -1)
    if [ -z "$f" ]; then
        if grep -q "/$name\.ko" "$moddir/modules.builtin" 2>/dev/null; then
            log "module $name is built into $KVER"
            return 0
        fi
        [ "$required" = yes ] && die "module $name not found under $moddir"
        log "module $name not found (optional, skipped)"
        return 0
    fi
    case $f in
        *.ko.xz)  xz -dc "$f" >"$img/lib/modules/fph/$name.ko" ;;
        *.ko.zst) zstd -qdc "$f" >"$img/lib/modules/fph/$name.ko" ;;
        *.ko.gz)  gzip -dc "$f" >"$img/lib/modules/fph/$name.ko" ;;
        *)        cp "$f" "$img/lib/modules/fph/$name.ko" ;;
    esac
}
# Load order used by /init (dependencies first).
# virtio_blk: a disk whose page cache the reclaim tests fill.
modules="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_balloon virtio_blk"
for m in $modules; do
    req=yes
    case $m in virtio_pci_legacy_dev|virtio_pci_modern_dev|virtio_balloon|virtio_blk) req=no ;; esac
    add_module "$m" "$req"
done
# Modules built into this kernel (=y) simply have no .ko; write only the
# ones present, in order.
: >"$img/lib/modules/fph/order"
for m in $modules; do
    [ -f "$img/lib/modules/fph/$m.ko" ] && echo "$m" >>"$img/lib/modules/fph/order"
done

modprobe_mode=${FPH_MODPROBE:-0}
case $modprobe_mode in 0|1) ;; *) die "FPH_MODPROBE must be 0 or 1" ;; esac
if [ "$modprobe_mode" = 1 ] && [ -z "${FPH_GUEST_KO:-}" ]; then
    die "FPH_MODPROBE=1 needs FPH_GUEST_KO"
fi

if [ -n "${FPH_GUEST_KO:-}" ]; then
    [ -f "$FPH_GUEST_KO" ] || die "FPH_GUEST_KO=$FPH_GUEST_KO does not exist"
    case $FPH_GUEST_KO in
        *.ko.xz)  xz -dc "$FPH_GUEST_KO" >"$tmp/virtio_fph.ko" ;;
        *.ko.zst) zstd -qdc "$FPH_GUEST_KO" >"$tmp/virtio_fph.ko" ;;
        *.ko.gz)  gzip -dc "$FPH_GUEST_KO" >"$tmp/virtio_fph.ko" ;;
    esac
    [ -f "$tmp/virtio_fph.ko" ] && FPH_GUEST_KO=$tmp/virtio_fph.ko
    vm=$(modinfo -F vermagic "$FPH_GUEST_KO" 2>/dev/null | awk '{print $1}' || true)
    if [ -n "$vm" ] && [ "$vm" != "$KVER" ]; then
        log "WARNING: $FPH_GUEST_KO vermagic '$vm' != kernel '$KVER' (insmod will fail)"
    fi
    if [ "$modprobe_mode" = 1 ]; then
        # A module tree as a distribution kernel has one: the virtio modules
        # under kernel/ (hard links to the copies /init insmods), the driver
        # under updates/ (where DKMS puts it), indexed by depmod.
        command -v depmod >/dev/null || die "FPH_MODPROBE=1 needs depmod (kmod)"
        mtree=$img/lib/modules/$KVER
        mkdir -p "$mtree/kernel/drivers/virtio" "$mtree/updates"
        for m in $modules; do
            [ -f "$img/lib/modules/fph/$m.ko" ] \
                && ln "$img/lib/modules/fph/$m.ko" "$mtree/kernel/drivers/virtio/$m.ko"
        done
        for f in modules.order modules.builtin modules.builtin.modinfo; do
            [ -f "$moddir/$f" ] && cp "$moddir/$f" "$mtree/"
        done
        cp "$FPH_GUEST_KO" "$mtree/updates/virtio_fph.ko"
        depmod -b "$img" "$KVER" || die "depmod -b $img $KVER failed"
        grep -q '^alias virtio:d0000003Fv\* virtio_fph$' "$mtree/modules.alias" \
            || die "depmod wrote no virtio modalias for virtio_fph"
        log "including $FPH_GUEST_KO as /lib/modules/$KVER/updates/virtio_fph.ko (modprobe by modalias)"
    else
        cp "$FPH_GUEST_KO" "$img/lib/modules/fph/virtio_fph.ko"
        log "including $FPH_GUEST_KO as virtio_fph.ko"
    fi
fi

for pair in ${FPH_EXTRA:-}; do
    s=${pair%%:*} d=${pair#*:}
    [ -e "$s" ] || die "FPH_EXTRA: $s missing"
    mkdir -p "$img/$(dirname "$d")"
    cp -a "$s" "$img/$d"
done

echo "$KVER" >"$img/etc/fph-kver"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$img/etc/passwd"
printf 'root:x:0:\n' >"$img/etc/group"

# ---- pack --------------------------------------------------------------------
mkdir -p "$outdir"
# Fixed mtimes + sorted names: same inputs give the same archive.
find "$img" -exec touch -h -d @0 {} + 2>/dev/null || true
(cd "$img" && find . -print0 | LC_ALL=C sort -z \
    | cpio --null -o -H newc --owner=0:0 --reproducible --quiet) \
    | gzip -n -6 >"$tmp/initramfs"
cp "$vmlinuz" "$tmp/vmlinuz"
mv -f "$tmp/initramfs" "$outdir/initramfs"
mv -f "$tmp/vmlinuz" "$outdir/vmlinuz"
echo "$KVER" >"$outdir/kver"
log "wrote $outdir/vmlinuz $outdir/initramfs ($(du -h "$outdir/initramfs" | cut -f1)) for $KVER"
