#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest driver on Debian 12's kernels: 6.1 (bookworm) and 6.12
# (bookworm-backports), generic (-amd64) and cloud (-cloud-amd64) flavours.
#
# usage: tests/kernels/run.sh QEMU WORKLOAD [KERNEL...]
#
#   QEMU      the patched QEMU wrapper (build/fph-qemu)
#   WORKLOAD  the static fph-workload binary (build/tools/workload/fph-workload)
#   KERNEL    which kernels to test: a version (6.12.95+deb12-cloud-amd64)
#             or SERIES-FLAVOUR (6.1-amd64, 6.12-cloud-amd64); default all
#             four of 6.1-amd64 6.1-cloud-amd64 6.12-amd64 6.12-cloud-amd64
#
# For each kernel:
#   1. installs its linux-image and linux-headers package if missing
#      (scripts/kernel-packages.py, needs root: the versioned packages that
#      the newest binary meta package linux-image-FLAVOUR of the series in
#      bookworm[-security] (6.1) or bookworm-backports (6.12) depends on;
#      the meta packages themselves stay at 6.1, and so do guest/Makefile's
#      and the image builder's default kernel);
#   2. builds the driver into guest/build/KVER/ (W=1) and fails on any compiler
#      or modpost warning;
#   3. builds a guest image for KVER into $FPH_KERNELS_OUT/KVER
#      (default build/kernels/KVER);
#   4. boots it: the guest runs KVER and virtio_fph is bound and active
#      (guest_check.py bound);
#   5. runs the e2e freed-dirty scenario (tests/e2e/test_migration.py
#      freed_dirty: default QEMU vs fph, 700 MiB dirtied and freed);
#   6. fills 128 MiB with checksummed pages, migrates with fph and verifies
#      every page on the destination (guest_check.py verify);
#   7. page-cache reclaim: the guest's helper drops 448 MiB of clean block
#      device cache, which is then not sent, and unsynced writes arrive and
#      reach the disk; with swap on, 6.12 reclaims (swappiness=0) and 6.1
#      refuses (tests/e2e/test_reclaim.py keeps_dirty_data swap_on).
#
# Prints "PASS|FAIL KVER: ..." per kernel and a final "N passed, N failed".
# Exit 0 iff all passed.  Logs: $FPH_KERNELS_OUT/KVER/*.log.
# Takes ~5-8 minutes per kernel on 2 cores (TCG).
#
# Step 5 runs one vCPU.  Then, if the generic 6.1 and 6.12 kernels were both
# tested, tests/kernels/freed_dirty_smp.py compares their freed-dirty at 2
# and 4 vCPUs, where the per-CPU free lists of 6.7+ kernels differ most:
# one more test point, failing if 6.12 sends more than 1.1x what 6.1 sends.
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
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(6.1-amd64 6.1-cloud-amd64 6.12-amd64 6.12-cloud-amd64)

# ---- which packages ----------------------------------------------------------
# scripts/kernel-packages.py resolves each spec from the binary apt lists
# (the versioned package the meta package linux-image-FLAVOUR of that series
# depends on) and installs image and headers where missing.
[ "$(id -u)" = 0 ] && { "$root/scripts/setup-apt.sh" >&2 || die "scripts/setup-apt.sh failed"; }
resolved=$("$root/scripts/kernel-packages.py" install "${want[@]}") \
    || die "cannot resolve or install kernels ${want[*]:-(the default four)} (see above)"
declare -a kvers=()
while read -r kver _; do kvers+=("$kver"); done <<<"$resolved"
log "kernels: ${kvers[*]}"
# The per-CPU free lists of 6.7+ kernels matter most with several vCPUs:
# the generic 6.1 and 6.12 kernels, if both are tested, are compared at 2
# and 4 vCPUs (freed_dirty_smp.py) as one more test point.
smp_ref='' smp_test=''
for kver in "${kvers[@]}"; do
    case $kver in
        *cloud*) ;;
        6.1.*) smp_ref=$kver ;;
        6.12.*) smp_test=$kver ;;
    esac
done
smp_pair=0
[ -n "$smp_ref" ] && [ -n "$smp_test" ] && smp_pair=1
echo "1..$(( ${#kvers[@]} + smp_pair ))"   # TAP: a point per kernel (+ the pair)

# ---- per kernel ----------------------------------------------------------------
now() { date +%s; }
pass=0 fail=0
for kver in "${kvers[@]}"; do
    dir=$out/$kver
    mkdir -p "$dir"
    t0=$(now)
    status=PASS detail=()
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
            tail -n 20 "$logf" | sed "s/^/  $kver | /" >&2
        fi
        return $rc
    }
    log "=== $kver"
    # 2. driver
    if step build "$dir/build.log" make -C "$root/guest" all-kernels KVERS="$kver" W=1; then
        if grep -E -i '(^|[^a-z])warning:|WARNING:' "$dir/build.log" >/dev/null; then
            status=FAIL
            detail[-1]+=" WARNINGS ($dir/build.log)"
            grep -E -i '(^|[^a-z])warning:|WARNING:' "$dir/build.log" | sed "s/^/  $kver | /" >&2
        else
            detail[-1]+=" (no warnings)"
        fi
    fi
    ko=$root/guest/build/$kver/virtio_fph.ko
    # 3. image, 4.-6. guest checks
    [ $status = PASS ] && step image "$dir/image.log" \
        env KVER="$kver" FPH_GUEST_KO="$ko" FPH_WORKLOAD="$workload" FPH_MODPROBE=0 \
        "$root/scripts/build-guest-image.sh" "$dir/guest"
    [ $status = PASS ] && step bound "$dir/bound.log" \
        "$here/guest_check.py" "$qemu" "$dir/guest" bound "$kver"
    [ $status = PASS ] && step freed_dirty "$dir/freed_dirty.log" \
        "$root/tests/e2e/test_migration.py" "$qemu" "$dir/guest" freed_dirty
    [ $status = PASS ] && step verify "$dir/verify.log" \
        "$here/guest_check.py" "$qemu" "$dir/guest" verify "$kver"
    [ $status = PASS ] && step reclaim "$dir/reclaim.log" \
        "$root/tests/e2e/test_reclaim.py" "$qemu" "$dir/guest" keeps_dirty_data swap_on
    line="$status $kver: ${detail[*]/%/,} total $(( $(now) - t0 ))s"
    line=${line//, total/; total}
    if [ $status = PASS ]; then
        pass=$((pass + 1))
        ratio=$(sed -n 's/.*ratio fph\/default \([0-9.]*\).*/\1/p' "$dir/freed_dirty.log" | tail -1)
        [ -n "$ratio" ] && line+="; freed-dirty fph/default $ratio"
        echo "ok $((pass + fail)) - $line"
    else
        fail=$((fail + 1))
        echo "not ok $((pass + fail)) - $line"
    fi
done

if [ $smp_pair = 1 ]; then
    t0=$(now)
    log "=== $smp_test against $smp_ref at 2 and 4 vCPUs"
    if "$here/freed_dirty_smp.py" "$qemu" --smp 2,4 --max-ratio 1.1 \
        "$smp_ref=$out/$smp_ref/guest" "$smp_test=$out/$smp_test/guest" \
        >"$out/freed_dirty_smp.log" 2>&1; then
        pass=$((pass + 1)) verdict=ok
    else
        fail=$((fail + 1)) verdict="not ok"
        tail -n 20 "$out/freed_dirty_smp.log" | sed "s/^/  smp | /" >&2
    fi
    summary=$(sed -n 's/^  smp \([0-9]*\): .*\/[^ ]* \([0-9.]*\)$/\1 vCPUs \2/p' \
        "$out/freed_dirty_smp.log" | paste -sd, - | sed 's/,/, /g')
    echo "$verdict $((pass + fail)) - freed-dirty fph, $smp_test/$smp_ref (max 1.1):" \
         "${summary:-no summary}; $(( $(now) - t0 ))s"
fi

echo "# $pass passed, $fail failed"
[ $fail -eq 0 ]
