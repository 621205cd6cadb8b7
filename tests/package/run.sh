#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/package/run.sh BUILDDIR [SUITE]: the Debian packages of `make deb`
# as an operator of SUITE installs them.  TAP on stdout.
#
#   SUITE  a release scripts/release.sh supports; default this machine's,
#          whose packages are BUILDDIR/deb; another's are BUILDDIR/deb-SUITE
#          (make deb SUITE=..., built in a chroot of it): make check on
#          Debian 12 tests Debian 13's too (meson test package-trixie)
#
# 1. A throwaway chroot of SUITE (mmdebstrap --variant=apt from the
#    archive this machine's apt uses), with python3 and the headers of the
#    test guest's kernel: this machine's release, the busybox guest's
#    (BUILDDIR/guest/kver); another release, its own kernel
#    (linux-image-amd64 and linux-headers-amd64 in the chroot, from which
#    the guest image of step 3 takes it: 6.12 on Debian 13); `apt-get
#    install` of ./fph-qemu_*.deb, ./fph-guest-dkms_*.deb and
#    ./fph-guest-tools_*.deb in it: dpkg -i with their Depends resolved
#    from the archive (seabios, qemu-system-data, ipxe-qemu, the shared
#    libraries, dkms).
# 2. The DKMS postinst built virtio_fph for that kernel (dkms status), the
#    device's modalias resolves to it, and the packages own nothing outside
#    /opt/fph, /usr/src/virtio-fph-VER, /usr/share/doc, the kernel hook
#    (/etc/kernel/{postinst.d,header_postinst.d}/zz-virtio-fph) and the
#    reclaim helper's files.
# 3. A busybox guest image with that DKMS-built module, loaded by modalias
#    (scripts/build-guest-image.sh, FPH_MODPROBE=1); in the chroot (its own
#    PID and mount namespaces, /proc /sys /dev mounted), migrate.py starts
#    /opt/fph/bin/qemu-system-x86_64 with the default NIC and with
#    -nic user,model=virtio-net-pci (their boot ROMs found) and has it list
#    -object free-page-hint,help (tests/install/emulator_check.py), then
#    migrates the guest, with a virtio-net card, with it and fph: pages
#    skipped, the pattern intact on the destination.
# 4. A kernel outside the driver's gates: the installed dkms.conf's gates
#    narrowed to 6.1 (what guest/kernels-regex.sh makes of "6.1:97:23"), so
#    that SUITE-backports' kernel (linux-image-amd64 there: 6.12 in
#    bookworm-backports, 7.3 in trixie-backports), a real kernel with
#    headers, is outside them, with the release's dkms (Debian 12's 3.0.10
#    fails its own kernel hook for a module BUILD_EXCLUSIVE excludes);
#    `apt-get install -t SUITE-backports` of that image and headers exits
#    0, and the package's kernel hook says why it did not build the driver.
# 5. fph-selftest, as the package installed it (its own guest: the
#    release's kernel and the driver built for it at package build time),
#    in the chroot: PASS, and its JSON says so run by run (every page
#    verified, fph skipped pages; under TCG here, where there is no
#    /dev/kvm, the dirty-ring variant skipped with its reason):
#    check-selftest.py.  A 512 MiB guest (--mem 512; the default, 2 GiB,
#    takes minutes per run under TCG).
# 6. fph-selftest --x-corrupt-page (the selftest's test-only switch: one
#    page of the checked pattern damaged on the destination after the
#    migration, through /proc/PID/mem in the guest): it must FAIL, exit 1,
#    with the one bad page in its JSON.
# The chroot is removed at the end (FPH_PACKAGE_KEEP=1 keeps it).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(realpath "$1")

echo "1..6"
bail() { echo "Bail out! $*"; exit 1; }
[ "$(id -u)" = 0 ] || bail "must run as root (mmdebstrap, chroot, mount)"
host=$("$root/scripts/release.sh" | sed -n "s/^FPH_RELEASE='\(.*\)'$/\1/p")
suite=${2:-$host}
rel=$("$root/scripts/release.sh" "$suite") || bail "SUITE $suite: not a release fph supports"
eval "$rel"
debs=$build/deb make_deb="make deb"
if [ "$suite" != "$host" ]; then
    debs=$build/deb-$suite make_deb="make deb SUITE=$suite"
fi
name="$FPH_RELEASE_NAME ($suite)"
qemu_deb=$(ls "$debs"/fph-qemu_*_amd64.deb 2>/dev/null | head -1)
dkms_deb=$(ls "$debs"/fph-guest-dkms_*_all.deb 2>/dev/null | head -1)
tools_deb=$(ls "$debs"/fph-guest-tools_*_all.deb 2>/dev/null | head -1)
[ -n "$qemu_deb" ] && [ -n "$dkms_deb" ] && [ -n "$tools_deb" ] \
    || bail "no packages in $debs: run $make_deb"
if [ "$suite" = "$host" ]; then
    kver=$(cat "$build/guest/kver" 2>/dev/null) || bail "no $build/guest/kver: run make image"
    kernel=("linux-headers-$kver")
else
    kver=''   # the chroot's own, once it is there
    kernel=(linux-image-amd64 linux-headers-amd64)
fi
# shellcheck source=/dev/null
. "$build/qemu.env"
"$root/scripts/apt-install.sh" mmdebstrap >&2 || bail "cannot install mmdebstrap"
eval "$("$root/scripts/apt-mirrors.sh")"

work=$(mktemp -d /var/tmp/fph-package.XXXXXX)
r=$work/rootfs
cleanup() {
    if [ "${FPH_PACKAGE_KEEP:-0}" = 1 ]; then echo "# kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
t0=$(date +%s)

# ---- 1. install ------------------------------------------------------------
mkdir -p "$work/debs"
cp "$qemu_deb" "$dkms_deb" "$tools_deb" "$work/debs/"
# As this machine's apt (a snapshot mirror's Release past Valid-Until).
aptopts=(--aptopt='Acquire::Languages "none"')
cvu=
eval "$(apt-config shell cvu Acquire::Check-Valid-Until)"
[ "$cvu" != false ] || aptopts+=(--aptopt='Acquire::Check-Valid-Until "false"')
# INITRD=No: the kernel's postinst builds no initramfs (the guest image
# boots without one).
if ! INITRD=No mmdebstrap --mode=root --variant=apt "${aptopts[@]}" \
        --include="python3,$(IFS=,; echo "${kernel[*]}")" \
        --customize-hook="copy-in $work/debs /tmp" \
        --customize-hook="chroot \"\$1\" apt-get install -y --no-install-recommends /tmp/debs/$(basename "$qemu_deb") /tmp/debs/$(basename "$dkms_deb") /tmp/debs/$(basename "$tools_deb")" \
        "$suite" "$r" "deb $FPH_MIRROR $suite main" \
        "deb $FPH_MIRROR $suite-updates main" \
        "deb $FPH_SECURITY $suite-security main" >"$work/install.log" 2>&1; then
    sed 's/^/# /' "$work/install.log" | tail -40
    echo "not ok 1 packages install in a fresh $name chroot"
    exit 1
fi
kroot=''
if [ -z "$kver" ]; then
    kver=$(ls "$r/usr/lib/modules" 2>/dev/null)
    [ "$(echo "$kver" | wc -w)" = 1 ] || bail "the chroot has kernels '${kver//$'\n'/ }', not one"
    kroot=$r
fi
grep -E '^(Setting up fph|Building for|Installing to|virtio_fph)' "$work/install.log" | sed 's/^/# /'
echo "ok 1 packages install in a fresh $name chroot, kernel $kver ($(( $(date +%s) - t0 )) s)"

# ---- 2. what they installed ------------------------------------------------
# A command in the chroot, in PID and mount namespaces of its own with
# /proc /sys /dev /tmp mounted (they go with the namespace).
in_chroot() {
    unshare --pid --fork --mount -- /bin/sh -c '
        set -e
        r=$1; shift
        mount -t proc proc "$r/proc"
        mount -t sysfs sysfs "$r/sys"
        mount --rbind /dev "$r/dev"
        mount -t tmpfs tmpfs "$r/tmp"
        exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
            PYTHONPATH=/root/fph-test/python:/root/fph-test/e2e "$@"
    ' sh "$r" "$@"
}
fail=()
in_chroot dkms status -m virtio-fph -k "$kver" | grep -q ': installed' ||
    fail+=("dkms does not report virtio-fph installed for $kver")
alias=$(in_chroot modprobe -S "$kver" -R 'virtio:d0000003Fv00001AF4' 2>&1)
[ "$alias" = virtio_fph ] || fail+=("the modalias resolves to '$alias', not virtio_fph")
outside=$(in_chroot dpkg -L fph-qemu fph-guest-dkms fph-guest-tools |
          grep -vE '^/(\.|opt|opt/fph(/.*)?|usr|usr/src|usr/src/virtio-fph-[^/]+(/.*)?|usr/share|usr/share/doc(/fph-[^/]+(/.*)?)?|usr/libexec(/fph(/fph-reclaim)?)?|usr/lib|usr/lib/udev(/rules.d(/60-fph-reclaim.rules)?)?|usr/lib/systemd(/system(/fph-reclaim@.service)?)?|etc|etc/default(/fph-reclaim)?|etc/kernel|etc/kernel/(header_)?postinst.d(/zz-virtio-fph)?)$' || true)
[ -z "$outside" ] || fail+=("files outside /opt/fph, /usr/src, /usr/share/doc, the kernel hook and the reclaim helper's: $outside")
ko=$(cd "$r" && ls lib/modules/"$kver"/updates/dkms/virtio_fph.ko* 2>/dev/null | head -1)
[ -n "$ko" ] || fail+=("no /lib/modules/$kver/updates/dkms/virtio_fph.ko*")
if [ ${#fail[@]} -gt 0 ]; then
    printf '# %s\n' "${fail[@]}"
    echo "not ok 2 DKMS built virtio_fph for $kver, modalias, file list"
    exit 1
fi
echo "ok 2 DKMS built virtio_fph for $kver (/$ko), modalias resolves, files only under /opt/fph /usr/src /usr/share/doc, the kernel hook and the reclaim helper's"

# ---- 3. migrate ------------------------------------------------------------
# Which QEMU line this release's fph-qemu carries (make check: the newest
# on the other releases).
echo "# fph-qemu: $(in_chroot /opt/fph/bin/qemu-system-x86_64 --version | head -1)"
t=$r/root/fph-test
mkdir -p "$t/e2e" "$t/guest"
cp "$root"/tests/e2e/{scenario,targets,vm,guestctl}.py "$here/migrate.py" \
    "$root/tests/install/emulator_check.py" "$t/e2e/"
cp -a "$QEMU_SRC/python" "$t/python"
if ! KROOT=$kroot KVER=$kver FPH_GUEST_KO=$r/$ko FPH_MODPROBE=1 \
        FPH_WORKLOAD=$build/tools/workload/fph-workload \
        "$root/scripts/build-guest-image.sh" "$t/guest" >"$work/image.log" 2>&1; then
    sed 's/^/# /' "$work/image.log" | tail -20
    echo "not ok 3 guest image with the DKMS-built driver"
    exit 1
fi
in_chroot python3 /root/fph-test/e2e/migrate.py /opt/fph/bin/qemu-system-x86_64 \
    /root/fph-test/guest || exit 1

# ---- 4. a kernel outside the gates ---------------------------------------------
t4=$(date +%s)
# The installed dkms.conf's gates narrowed to 6.1, as guest/kernels.mk
# with only "6.1:97:23" would make them (guest/kernels-regex.sh).
conf=$(cd "$r" && ls usr/src/virtio-fph-*/dkms.conf)
narrow=$(sh "$root/guest/kernels-regex.sh" <(echo 'fph-kernels-read := 6.1:97:23'))
sed -i -e "s/^BUILD_EXCLUSIVE_KERNEL=.*/BUILD_EXCLUSIVE_KERNEL='$narrow'/" \
       -e 's/^# Kernels: .*/# Kernels: 6.1.97+/' "$r/$conf"
bpo=$suite-backports
echo "deb $FPH_MIRROR $bpo main" >"$r/etc/apt/sources.list.d/backports.list"
in_chroot apt-get update -q >"$work/apt-update.log" 2>&1 ||
    { sed 's/^/# /' "$work/apt-update.log" | tail -20; echo "not ok 4 apt-get update with $bpo"; exit 1; }
before=$(ls "$r/usr/lib/modules")
in_chroot env DEBIAN_FRONTEND=noninteractive INITRD=No apt-get install -y -q --no-install-recommends \
    -t "$bpo" linux-image-amd64 linux-headers-amd64 >"$work/kernel-install.log" 2>&1
rc=$?
knew=
for d in "$r"/usr/lib/modules/*; do
    grep -qxF "${d##*/}" <<<"$before" || knew=${d##*/}
done
said=$(grep -m1 "virtio-fph: not built for Linux ${knew:-?}" "$work/kernel-install.log" || true)
if [ $rc -ne 0 ] || [ -z "$knew" ] || [ -z "$said" ] ||
   in_chroot dkms status -m virtio-fph -k "$knew" | grep -q ': installed'; then
    sed 's/^/# /' "$work/kernel-install.log" | tail -30
    echo "not ok 4 apt-get install of a kernel of $bpo (${knew:-none new}) outside the gates: exit $rc, hook said: ${said:-nothing}"
    exit 1
fi
echo "# $said"
echo "ok 4 apt-get install of $knew from $bpo, outside the narrowed gates, exits 0 and the kernel hook says why ($(( $(date +%s) - t4 )) s)"

# ---- 5, 6. fph-selftest, and the damaged page it must catch -------------------
accel=tcg
[ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm
# selftest_step N TAG MODE WANT_RC TITLE ARGS...: the installed
# fph-selftest (nothing of the tests on PYTHONPATH) with ARGS must exit
# WANT_RC and its JSON pass check-selftest.py MODE; one TAP point N.
selftest_step() {
    local n=$1 tag=$2 mode=$3 want=$4 title=$5 t rc said jrc
    shift 5
    t=$(date +%s)
    in_chroot env -u PYTHONPATH /opt/fph/bin/fph-selftest --mem 512 --json "/root/$tag.json" "$@" \
        >"$work/$tag.out" 2>"$work/$tag.err"
    rc=$?
    cp "$r/root/$tag.json" "$work/" 2>/dev/null
    sed 's/^/# /' "$work/$tag.out"
    said=$(python3 "$here/check-selftest.py" "$mode" "$work/$tag.json" "$accel")
    jrc=$?
    if [ $rc -ne "$want" ] || [ $jrc -ne 0 ]; then
        sed 's/^/# /' "$work/$tag.err" | tail -40
        echo "not ok $n $title ($accel): exit $rc (expected $want); $said"
        exit 1
    fi
    echo "ok $n $title ($accel), exit $rc: $said ($(( $(date +%s) - t )) s)"
}
selftest_step 5 selftest pass 0 "fph-selftest in the $name chroot"
selftest_step 6 broken broken 1 "fph-selftest --x-corrupt-page fails as it should" \
    --scenarios churn --x-corrupt-page
