#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest driver as a distribution would ship it: DKMS on the host, loaded
# through its modalias in the guest.
#
# usage: tests/kernels/dkms.sh QEMU WORKLOAD [KVER...]
#
#   KVER  kernels to test, as tests/kernels/run.sh takes them (a release
#         or SERIES-FLAVOUR; default 6.1-amd64 6.1-cloud-amd64 6.12-amd64
#         6.12-cloud-amd64), installed if missing; bookworm's only (DKMS
#         on this host): tests/kernels/run.sh builds the later releases'
#         kernels by DKMS in a chroot of their suite
#
# 1. installs Debian's dkms and the kernels if missing (needs root);
# 2. `make -C guest dkms-install`: the source tree /usr/src/virtio-fph-VER,
#    `dkms add`, and `dkms install` for guest/Makefile's default kernel;
# 3. `dkms install` for every other KVER; checks `dkms status` says
#    installed, and that the host's module tooling resolves the device's
#    modalias virtio:d0000003Fv00001AF4 to that module (modprobe -S KVER -R);
# 4. for each KVER, builds an FPH_MODPROBE=1 guest image from the
#    DKMS-installed module (/lib/modules/KVER/updates/dkms/virtio_fph.ko*)
#    and boots it twice (tests/kernels/guest_check.py modalias): with the
#    device, /init's `modprobe <modalias>` loads virtio_fph from the depmod'ed
#    tree and it binds; without the device it is not loaded;
# 5. removes what it added (dkms remove --all, /usr/src/virtio-fph-VER, the
#    kernel hooks /etc/kernel/{postinst.d,header_postinst.d}/zz-virtio-fph)
#    unless virtio-fph/VER was registered with DKMS before, or FPH_DKMS_KEEP=1.
#
# Prints "PASS|FAIL KVER: ..." per kernel and "N passed, N failed".
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

die() { echo "dkms-test: $*" >&2; exit 2; }
log() { echo "dkms-test: $*" >&2; }

[ $# -ge 2 ] || die "usage: $0 QEMU WORKLOAD [KVER...]"
qemu=$(realpath "$1") workload=$(realpath "$2")
shift 2
[ "$(id -u)" = 0 ] || die "must run as root (dkms install writes /lib/modules)"

"$root/scripts/apt-install.sh" dkms || die "cannot install dkms"

name=virtio-fph
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$root/guest/dkms.conf")
[ -n "$ver" ] || die "no PACKAGE_VERSION in guest/dkms.conf"

# The same kernels as tests/kernels/run.sh, resolved from the archive and
# installed here too: what an earlier run left installed does not matter.
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(6.1-amd64 6.1-cloud-amd64 6.12-amd64 6.12-cloud-amd64)
"$root/scripts/setup-apt.sh" >&2 || die "scripts/setup-apt.sh failed"
resolved=$("$root/scripts/kernel-packages.py" install "${want[@]}") \
    || die "cannot resolve or install kernels ${want[*]:-(the default four)} (see above)"
kvers=()
while read -r k _ _ _ b _; do
    if [ "${b:-host}" = host ]; then
        kvers+=("$k")
    else
        log "$k: not a kernel of this release; its DKMS build is tests/kernels/run.sh's (chroot)"
    fi
done <<<"$resolved"
[ ${#kvers[@]} -gt 0 ] || die "no kernel of this release among ${want[*]}"

out=$(mktemp -d "${TMPDIR:-/tmp}/fph-dkms.XXXXXX")
had_before=0
dkms status -m "$name" -v "$ver" 2>/dev/null | grep -q . && had_before=1
# make dkms-install also installs the kernel hook, zz-virtio-fph.
hooks=()
for h in /etc/kernel/postinst.d/zz-virtio-fph /etc/kernel/header_postinst.d/zz-virtio-fph; do
    [ -e "$h" ] || hooks+=("$h")
done
cleanup() {
    if [ "$had_before" = 0 ] && [ "${FPH_DKMS_KEEP:-0}" != 1 ]; then
        dkms remove -m "$name" -v "$ver" --all >/dev/null 2>&1
        rm -rf "/usr/src/$name-$ver"
        [ ${#hooks[@]} = 0 ] || rm -f "${hooks[@]}"
    fi
    rm -rf "$out"
}
trap cleanup EXIT

# ---- 2. make dkms-install --------------------------------------------------------
t0=$(date +%s)
make -C "$root/guest" dkms-install >"$out/dkms-install.log" 2>&1 \
    || { cat "$out/dkms-install.log" >&2; die "make -C guest dkms-install failed"; }
for f in dkms.conf Makefile Kbuild virtio_fph_main.c fph_walk.h fph_buddy_walk.c \
         fph_pcp_walk.c fph_buf.c fph_buf.h fph_compat.h fph_reclaim.c fph_reclaim.h \
         fph_names.h \
         include/fph/virtio_fph.h; do
    [ -f "/usr/src/$name-$ver/$f" ] || die "/usr/src/$name-$ver/$f missing after dkms-install"
done
log "make -C guest dkms-install: $(( $(date +%s) - t0 ))s"

echo "1..${#kvers[@]}"   # TAP: one test point per kernel
pass=0 fail=0
for k in "${kvers[@]}"; do
    t0=$(date +%s)
    ok=1 msg=()
    # ---- 3. dkms install -----------------------------------------------------
    if dkms install -m "$name" -v "$ver" -k "$k" --force >"$out/$k.dkms.log" 2>&1 \
       && dkms status -m "$name" -v "$ver" -k "$k" 2>/dev/null | grep -q ': installed'; then
        msg+=("dkms install ok")
    else
        ok=0 msg+=("dkms install FAILED")
        sed "s/^/  $k | /" "$out/$k.dkms.log" >&2
        for f in /var/lib/dkms/$name/$ver/$k/*/log/make.log; do
            [ -f "$f" ] && sed "s/^/  $k make.log | /" "$f" >&2
        done
    fi
    ko=
    if [ $ok = 1 ]; then
        ko=$(ls /lib/modules/"$k"/updates/dkms/virtio_fph.ko* 2>/dev/null | head -1)
        [ -n "$ko" ] || { ok=0; msg+=("no /lib/modules/$k/updates/dkms/virtio_fph.ko*"); }
    fi
    if [ $ok = 1 ]; then
        # The host's kmod resolves the device's modalias to the DKMS module.
        res=$(modprobe -S "$k" -R 'virtio:d0000003Fv00001AF4' 2>&1)
        if [ "$res" = virtio_fph ] && modinfo -k "$k" -n virtio_fph 2>/dev/null | grep -q "^$ko\$"; then
            msg+=("modalias -> virtio_fph ($ko)")
        else
            ok=0 msg+=("modalias resolves to '$res', modinfo -n: $(modinfo -k "$k" -n virtio_fph 2>&1)")
        fi
    fi
    # ---- 4. guest image and boot ---------------------------------------------
    if [ $ok = 1 ]; then
        if KVER=$k FPH_GUEST_KO=$ko FPH_WORKLOAD=$workload FPH_MODPROBE=1 \
           "$root/scripts/build-guest-image.sh" "$out/$k" >"$out/$k.image.log" 2>&1 \
           && "$here/guest_check.py" "$qemu" "$out/$k" modalias "$k" >"$out/$k.boot.log" 2>&1; then
            msg+=("guest: $(sed -n 's/^PASS modalias: [^:]*: //p' "$out/$k.boot.log")")
        else
            ok=0 msg+=("guest check FAILED")
            cat "$out/$k.image.log" "$out/$k.boot.log" | tail -n 30 | sed "s/^/  $k | /" >&2
        fi
    fi
    if [ $ok = 1 ]; then
        pass=$((pass + 1)); st="ok $((pass + fail)) - PASS"
    else
        fail=$((fail + 1)); st="not ok $((pass + fail)) - FAIL"
    fi
    (IFS=';'; echo "$st $k: ${msg[*]}; $(( $(date +%s) - t0 ))s")
done
echo "# $pass passed, $fail failed"
[ $fail -eq 0 ]
