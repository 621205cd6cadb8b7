#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest driver on the Debian kernels users install today, with
# headers: 6.1 (bookworm), 6.12 (bookworm-backports), 7.2 (sid), 7.3
# (trixie-backports); generic (-amd64), cloud (-cloud-amd64) and PREEMPT_RT
# (-rt-amd64) flavours.
#
# usage: tests/kernels/run.sh QEMU WORKLOAD [KERNEL...]
#
#   QEMU      the patched QEMU wrapper (build/fph-qemu)
#   WORKLOAD  the static fph-workload binary (build/tools/workload/fph-workload)
#   KERNEL    which kernels to test: a release (7.3.4+deb13-rt-amd64),
#             SERIES-FLAVOUR (6.1-amd64, 7.2-cloud-amd64) or newest-FLAVOUR
#             (scripts/kernel-packages.py); default what `make check`
#             tests: 6.1-amd64 6.12-amd64 newest-amd64 newest-cloud-amd64
#             newest-rt-amd64 (newest: the newest series with headers in
#             the archive, 7.3 from trixie-backports today)
#
# For each kernel:
#   1. resolves it from the binary apt lists (scripts/kernel-packages.py:
#      the versioned packages the newest binary meta package
#      linux-image-FLAVOUR of the series depends on, in bookworm[-security]
#      or bookworm-backports, or in trixie, trixie-backports or sid, whose
#      lists it keeps to itself) and installs image and headers of a
#      bookworm kernel here if missing (needs root);
#   2. builds the driver and fails on any compiler or modpost warning:
#      a bookworm kernel here, into guest/build/KVER/ with W=1; a kernel of
#      a later release (which needs that release's toolchain and glibc) as
#      a user builds it: scripts/build-kernel-chroot.sh installs the
#      fph-guest-dkms package of `make deb` (FPH_DKMS_DEB, default
#      fph-guest-dkms_*_all.deb in FPH_DKMS_DEB_DIR, else in QEMU's
#      directory's deb/, else build/deb) in a chroot of the kernel's
#      suite, whose DKMS postinst builds it, and builds it there once more
#      with W=1 (DKMS's make.log and the W=1 log are both checked);
#   3. builds a guest image for KVER into $FPH_KERNELS_OUT/KVER
#      (default build/kernels/KVER), from the chroot's kernel, modules and
#      DKMS-built module for a later release (KROOT);
#   4. boots it: the guest runs KVER and virtio_fph is bound and active
#      (guest_check.py bound);
#   5. runs the e2e freed-dirty scenario (tests/e2e/test_migration.py
#      test_freed_dirty: default QEMU vs fph, 700 MiB dirtied and freed);
#   6. fills 128 MiB with checksummed pages, migrates with fph and verifies
#      every page on the destination (guest_check.py verify), and reads
#      the driver's longest pcp->lock hold (debugfs lock_hold_max_ns);
#   7. page-cache reclaim: the guest's helper drops 448 MiB of clean block
#      device cache, which is then not sent, and unsynced writes arrive and
#      reach the disk; with swap on, 6.10+ reclaims (swappiness=0) and 6.1
#      refuses (tests/e2e/test_reclaim.py test_keeps_dirty_data,
#      test_swap_on).
#
# Prints "PASS|FAIL KVER: ..." per kernel (a TAP point) and a final
# "N passed, N failed".  Exit 0 iff all passed.  Logs: $FPH_KERNELS_OUT/KVER/
# *.log (chroot-*.log: the chroot build's), and $FPH_KERNELS_OUT/results.tsv,
# one line per kernel for scripts/kernels-report.py.  ~5-8 minutes per kernel
# on 2 cores (TCG), plus ~2-3 min for a chroot build (cached in
# $FPH_CACHE by package versions and driver source).
#
# Step 5 runs one vCPU.  Then, if the generic 6.1 and a newer generic kernel
# were tested, tests/kernels/freed_dirty_smp.py compares their freed-dirty
# at 2 and 4 vCPUs, where the per-CPU free lists of 6.7+ kernels differ
# most: one more test point, failing if the newest sends more than 1.1x
# what 6.1 sends.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

die() { echo "kernels: $*" >&2; exit 2; }
log() { echo "kernels: $*" >&2; }

[ $# -ge 2 ] || die "usage: $0 QEMU WORKLOAD [KERNEL...]"
qemu=$(realpath "$1") workload=$(realpath "$2")
shift 2
[ -x "$qemu" ] || die "QEMU '$qemu' not executable"
[ -x "$workload" ] || die "WORKLOAD '$workload' not executable"
out=${FPH_KERNELS_OUT:-$root/build/kernels}
want=("$@")   # none: scripts/kernel-packages.py's default
mkdir -p "$out"

# ---- which kernels -------------------------------------------------------------
# scripts/kernel-packages.py resolves each spec from the binary apt lists
# and installs image and headers of the bookworm ones where missing; a line
# is "KVER SERIES FLAVOUR SUITE host|chroot VERSION".
[ "$(id -u)" = 0 ] && { "$root/scripts/setup-apt.sh" >&2 || die "scripts/setup-apt.sh failed"; }
resolved=$("$root/scripts/kernel-packages.py" install "${want[@]}") \
    || die "cannot resolve or install kernels ${want[*]:-(the default)} (see above)"
declare -a kvers=()
declare -A series=() flavour=() suite=() build=() version=() imaged=()
while read -r k se fl su bu ve; do
    [ -n "$k" ] || continue
    kvers+=("$k")
    series[$k]=$se flavour[$k]=$fl suite[$k]=$su build[$k]=${bu:-host} version[$k]=${ve:--}
done <<<"$resolved"
[ ${#kvers[@]} -gt 0 ] || die "kernel-packages.py resolved no kernel"
log "kernels: ${kvers[*]}"

# The fph-guest-dkms package the chroot builds install (make deb).
deb=${FPH_DKMS_DEB:-}
if [ -z "$deb" ]; then
    for d in "${FPH_DKMS_DEB_DIR:-}" "$(dirname "$qemu")/deb" "$root/build/deb"; do
        [ -n "$d" ] || continue
        deb=$(ls "$d"/fph-guest-dkms_*_all.deb 2>/dev/null | tail -1)
        [ -n "$deb" ] && break
    done
fi
# A copy: a `make deb` meanwhile replaces build/deb.
if [ -n "$deb" ] && [ -f "$deb" ]; then
    mkdir -p "$out/deb"
    rm -f "$out"/deb/*.deb
    cp "$deb" "$out/deb/" && deb=$out/deb/$(basename "$deb")
fi

# The per-CPU free lists of 6.7+ kernels matter most with several vCPUs:
# the generic 6.1 and the newest generic kernel, if both are tested, are
# compared at 2 and 4 vCPUs (freed_dirty_smp.py) as one more test point.
newer() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1)" = "$1" ] && [ "$1" != "$2" ]; }
smp_ref='' smp_test=''
for kver in "${kvers[@]}"; do
    [ "${flavour[$kver]}" = amd64 ] || continue
    if [ "${series[$kver]}" = 6.1 ]; then
        smp_ref=$kver
    elif [ -z "$smp_test" ] || newer "${series[$kver]}" "${series[$smp_test]}"; then
        smp_test=$kver
    fi
done
smp_pair=0
[ -n "$smp_ref" ] && [ -n "$smp_test" ] && smp_pair=1
echo "1..$(( ${#kvers[@]} + smp_pair ))"   # TAP: a point per kernel (+ the pair)

# One line per kernel for scripts/kernels-report.py (docs/kernels.md).
results=$out/results.tsv
printf '# kver\tseries\tflavour\tsuite\tbuild\tversion\tstatus\tdriver\tbound\tdefault_mib\tfph_mib\tpages\tlock_hold_max_ns\treason\n' >"$results"

# ---- per kernel ----------------------------------------------------------------
now() { date +%s; }
# e2e IMAGE_DIR CASE...: cases of tests/e2e (pytest node ids there:
# test_migration.py::test_freed_dirty) on the guest IMAGE_DIR; -s: their
# progress in the step's log.
e2e() {
    local image=$1
    shift
    /usr/bin/python3 -m pytest -p no:cacheprovider -v -s "${@/#/$root/tests/e2e/}" \
        --qemu "$qemu" --image "$image"
}
warnings='(^|[^a-z])warning:|WARNING:'
pass=0 fail=0
for kver in "${kvers[@]}"; do
    dir=$out/$kver
    rm -f "$dir"/*.log
    mkdir -p "$dir"
    t0=$(now)
    status=PASS detail=() reason=() driver=- bound=no
    step() {  # step NAME LOGFILE CMD...: run, time, record
        local name=$1 logf=$2 t rc
        shift 2
        t=$(now)
        "$@" >"$logf" 2>&1
        rc=$?
        detail+=("$name $(( $(now) - t ))s")
        if [ $rc -ne 0 ]; then
            status=FAIL
            detail[-1]+=" FAILED (rc=$rc, $logf)"
            reason+=("$name failed")
            tail -n 20 "$logf" | sed "s/^/  $kver | /" >&2
        fi
        return $rc
    }
    # Fails the kernel if any of the logs has a compiler or modpost warning.
    no_warnings() {
        local f n=0
        for f in "$@"; do
            [ -f "$f" ] || continue
            if grep -E -i "$warnings" "$f" >/dev/null; then
                n=$((n + $(grep -E -i -c "$warnings" "$f")))
                grep -E -i "$warnings" "$f" | sed "s/^/  $kver | /" >&2
            fi
        done
        if [ $n -gt 0 ]; then
            status=FAIL driver="$n warnings"
            detail[-1]+=" $n WARNINGS ($*)"
            reason+=("$n build warnings")
        else
            driver="W=1 clean"
            detail[-1]+=" (no warnings)"
        fi
    }
    # The private lists of the later releases are up to a day old: if the
    # chroot found no such kernel package, the archive moved (sid's ABI
    # bumps); resolve the series again on fresh lists and take its kernel.
    moved() {
        local old=$1 k se fl su bu ve
        grep -E -q 'Unable to locate package linux-|has no installation candidate' \
            "$dir/build.log" || return 1
        read -r k se fl su bu ve < <(FPH_APT_REFRESH=1 "$root/scripts/kernel-packages.py" \
            resolve "${series[$old]}-${flavour[$old]}") || return 1
        [ -n "$k" ] && [ "$k" != "$old" ] && [ "$bu" = chroot ] || return 1
        log "$old is no longer in the archive: $k instead"
        series[$k]=$se flavour[$k]=$fl suite[$k]=$su build[$k]=$bu version[$k]=$ve
        [ "$smp_ref" = "$old" ] && smp_ref=$k
        [ "$smp_test" = "$old" ] && smp_test=$k
        kver=$k dir=$out/$k
        mkdir -p "$dir"
    }
    log "=== $kver (${series[$kver]} ${flavour[$kver]}, ${suite[$kver]}, build: ${build[$kver]})"
    kroot='' ko=''
    # 2. driver
    if [ "${build[$kver]}" = chroot ]; then
        if [ -z "$deb" ] || [ ! -f "$deb" ]; then
            status=FAIL detail+=("build: no fph-guest-dkms .deb (make deb, or set FPH_DKMS_DEB)")
            reason+=("no fph-guest-dkms .deb")
        elif step build "$dir/build.log" env FPH_DKMS_DEB="$deb" \
                "$root/scripts/build-kernel-chroot.sh" "$kver" "${suite[$kver]}" "$dir" \
             || { moved "$kver" && status=PASS detail=() reason=() && log "=== $kver" \
                  && step build "$dir/build.log" env FPH_DKMS_DEB="$deb" \
                     "$root/scripts/build-kernel-chroot.sh" "$kver" "${suite[$kver]}" "$dir"; }; then
            entry=$(tail -n 1 "$dir/build.log")
            no_warnings "$entry/dkms-make.log" "$entry/w1.log"
            ko=$(ls "$entry"/virtio_fph.ko* 2>/dev/null | head -1)
            kroot=$entry/root
        else
            driver="build failed"
        fi
    elif step build "$dir/build.log" make -C "$root/guest" all-kernels KVERS="$kver" W=1; then
        no_warnings "$dir/build.log"
        ko=$root/guest/build/$kver/virtio_fph.ko
    else
        driver="build failed"
    fi
    # 3. image, 4.-7. guest checks
    [ $status = PASS ] && step image "$dir/image.log" \
        env KROOT="$kroot" KVER="$kver" FPH_GUEST_KO="$ko" FPH_WORKLOAD="$workload" FPH_MODPROBE=0 \
        "$root/scripts/build-guest-image.sh" "$dir/guest" && imaged[$kver]=1
    [ $status = PASS ] && step bound "$dir/bound.log" \
        "$here/guest_check.py" "$qemu" "$dir/guest" bound "$kver" && bound=yes
    [ $status = PASS ] && step freed_dirty "$dir/freed_dirty.log" \
        e2e "$dir/guest" test_migration.py::test_freed_dirty
    [ $status = PASS ] && step verify "$dir/verify.log" \
        "$here/guest_check.py" "$qemu" "$dir/guest" verify "$kver"
    [ $status = PASS ] && step reclaim "$dir/reclaim.log" \
        e2e "$dir/guest" test_reclaim.py::test_keeps_dirty_data test_reclaim.py::test_swap_on
    line="$status $kver: ${detail[*]/%/,} total $(( $(now) - t0 ))s"
    line=${line//, total/; total}
    mib() { sed -n "s/^ *$1: *transferred \([0-9.]*\) MiB.*/\1/p" "$dir/freed_dirty.log" 2>/dev/null | tail -1; }
    d_mib=$(mib default) f_mib=$(mib fph)
    pages=$(sed -n 's/^PASS verify: verify \([0-9]*\) pages bad=0.*/\1/p' "$dir/verify.log" 2>/dev/null)
    hold=$(sed -n 's/.*lock_hold_max_ns \([0-9]*\).*/\1/p' "$dir/verify.log" 2>/dev/null | tail -1)
    if [ $status = PASS ]; then
        pass=$((pass + 1))
        ratio=$(sed -n 's/.*ratio fph\/default \([0-9.]*\).*/\1/p' "$dir/freed_dirty.log" | tail -1)
        [ -n "$ratio" ] && line+="; freed-dirty fph/default $ratio"
        [ -n "$hold" ] && line+="; lock_hold_max_ns $hold"
        echo "ok $((pass + fail)) - $line"
    else
        fail=$((fail + 1))
        echo "not ok $((pass + fail)) - $line"
    fi
    reasons=$(IFS=';'; echo "${reason[*]:-}")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kver" "${series[$kver]}" \
        "${flavour[$kver]}" "${suite[$kver]}" "${build[$kver]}" "${version[$kver]}" "$status" \
        "$driver" "$bound" "${d_mib:--}" "${f_mib:--}" "${pages:--}" "${hold:--}" \
        "${reasons:--}" >>"$results"
done

if [ $smp_pair = 1 ]; then
    t0=$(now)
    log "=== $smp_test against $smp_ref at 2 and 4 vCPUs"
    if [ -z "${imaged[$smp_ref]:-}" ] || [ -z "${imaged[$smp_test]:-}" ]; then
        fail=$((fail + 1)) verdict="not ok"
        echo "no guest image of $smp_ref or $smp_test (failed above)" >"$out/freed_dirty_smp.log"
    elif "$here/freed_dirty_smp.py" "$qemu" --smp 2,4 --max-ratio 1.1 \
        "$smp_ref=$out/$smp_ref/guest" "$smp_test=$out/$smp_test/guest" \
        >"$out/freed_dirty_smp.log" 2>&1; then
        pass=$((pass + 1)) verdict=ok
    else
        fail=$((fail + 1)) verdict="not ok"
        tail -n 20 "$out/freed_dirty_smp.log" | sed "s/^/  smp | /" >&2
    fi
    # "sent 2 vCPUs 1.06, 4 vCPUs 1.14; unskipped 2 vCPUs 0.97, ..."
    summary=$(awk '/^summary: mean fph transferred/ {w = "sent"; sep = ""; printf "%s", (n++ ? "; " : "") w}
                   /^summary: mean fph left unskipped/ {w = "unskipped"; sep = ""; printf "%s", (n++ ? "; " : "") w}
                   /^  smp [0-9]+:/ {sub(":", "", $2); printf "%s %s vCPUs %s", (sep ? "," : ""), $2, $NF; sep = 1}' \
        "$out/freed_dirty_smp.log")
    echo "$verdict $((pass + fail)) - freed-dirty fph, $smp_test/$smp_ref (unskipped max 1.1):" \
         "${summary:-no summary}; $(( $(now) - t0 ))s"
fi

echo "# $pass passed, $fail failed"
[ $fail -eq 0 ]
