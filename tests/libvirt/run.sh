#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fph under libvirt: docs/libvirt-domain.xml, defined and started by Debian's
# libvirtd, answers query-fph-stats through virsh.
#
# usage: tests/libvirt/run.sh BUILD IMAGE_DIR
#        tests/libvirt/run.sh --prefix PREFIX IMAGE_DIR
#
#   BUILD      a project build tree (build/, with qemu.env): the patched QEMU
#              and the module are installed into a test-local prefix with
#              scripts/install.sh, as `make install` would
#   PREFIX     an existing installation (make install PREFIX=/opt/fph)
#   IMAGE_DIR  the guest image (vmlinuz, initramfs; `make image`)
#
# 1. installs libvirt-daemon-system and libvirt-clients if missing;
# 2. uses a running libvirtd (qemu:///system), else starts virtlogd and
#    libvirtd itself (`libvirtd -d`; there may be no systemd) and stops them
#    again at the end;
# 3. defines docs/libvirt-domain.xml with the emulator, kernel and initrd
#    paths of this run and a unique name, starts it, and checks that
#    `virsh qemu-monitor-command DOMAIN '{"execute":"query-fph-stats"}'`
#    replies "enabled": true and "device-present": true, and, once the guest
#    has booted, "driver-ok": true (the guest driver bound); and that HMP
#    `qom-get /objects/fph0 stats` shows the same;
# 4. destroys and undefines the domain; then does 3. again with two <numa>
#    cells of uneven size (libvirt: a memory-backend-ram per cell, -numa
#    node,memdev=) and checks that all of its RAM is hintable; and once more
#    without the object on the command line: `object-add` through virsh
#    plugs the device into the domain's spare pcie-root-port (pci.1) and
#    the guest driver binds.
#
# Nothing in /etc/libvirt is changed: the domain XML turns security labelling
# off for itself (<seclabel type='none'/>), so an emulator under /opt or a
# temporary directory is not refused by AppArmor/SELinux; QEMU still runs as
# libvirt-qemu, so the files it needs are made world-readable.
#
# Exit: 0 pass, 1 fail, 77 skip (prints "SKIP libvirt: <reason>"): not root,
# or libvirtd cannot be started here.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

skip() { echo "SKIP libvirt: $*"; exit 77; }
fail() { echo "FAIL libvirt: $*"; exit 1; }
log() { echo "libvirt: $*" >&2; }

prefix='' build=''
if [ "${1:-}" = --prefix ]; then
    [ $# -eq 3 ] || { echo "usage: $0 BUILD IMAGE_DIR | --prefix PREFIX IMAGE_DIR" >&2; exit 2; }
    prefix=$(realpath "$2") image=$3
else
    [ $# -eq 2 ] || { echo "usage: $0 BUILD IMAGE_DIR | --prefix PREFIX IMAGE_DIR" >&2; exit 2; }
    build=$(realpath "$1") image=$2
fi
[ -r "$image/vmlinuz" ] && [ -r "$image/initramfs" ] || fail "no guest image in $image"

[ "$(id -u)" = 0 ] || skip "needs root (apt-get, qemu:///system)"

# ---- 1. packages -------------------------------------------------------------
# A failed install is a failure, not a skip: as root, with Debian's archive,
# it installs everywhere the project runs.
"$root/scripts/apt-install.sh" libvirt-daemon-system libvirt-clients \
    || fail "cannot install libvirt-daemon-system libvirt-clients"

# ---- work dir, emulator, guest -------------------------------------------------
work=$(mktemp -d /var/tmp/fph-libvirt.XXXXXX)
chmod 0755 "$work"
dom=
virsh() { command virsh -q -c qemu:///system "$@"; }
started=()
cleanup() {
    if [ -n "${defined:-}" ]; then
        virsh destroy "$dom" >/dev/null 2>&1
        virsh undefine "$dom" >/dev/null 2>&1
    fi
    local pidf
    for pidf in "${started[@]}"; do
        [ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

if [ -n "$build" ]; then
    [ -f "$build/qemu.env" ] || fail "$build/qemu.env missing: not a build tree (make build)"
    prefix=$work/prefix
    "$root/scripts/install.sh" "$build" "$prefix" >"$work/install.log" 2>&1 \
        || { cat "$work/install.log"; fail "scripts/install.sh $build $prefix failed"; }
    chmod -R a+rX "$prefix"
fi
emulator=$prefix/bin/qemu-system-x86_64
[ -x "$emulator" ] || fail "$emulator missing (make install PREFIX=$prefix)"
ls "$prefix"/lib/x86_64-linux-gnu/qemu/qom-free-page-hint.so >/dev/null 2>&1 \
    || fail "fph module missing in $prefix/lib/x86_64-linux-gnu/qemu"
install -d -m 0755 "$work/guest"
install -m 0644 "$image/vmlinuz" "$image/initramfs" "$work/guest/"

# ---- 2. libvirtd -------------------------------------------------------------------
alive_pidfile() {  # a live, non-zombie process in pid file $1
    local pid st
    pid=$(cat "$1" 2>/dev/null) || return 1
    st=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st#Z}" = "$st" ]
}
if ! timeout 10 virsh uri >/dev/null 2>&1; then
    if [ "$(ps -o comm= -p 1)" = systemd ] && command -v systemctl >/dev/null; then
        log "starting libvirtd with systemctl"
        systemctl start virtlogd.socket libvirtd.socket libvirtd.service >/dev/null 2>&1 \
            || skip "systemctl start libvirtd failed: $(systemctl status libvirtd 2>&1 | tail -n 3 | tr '\n' ' ')"
    else
        log "no systemd: starting virtlogd -d and libvirtd -d"
        if ! alive_pidfile /run/virtlogd.pid; then
            virtlogd -d 2>"$work/virtlogd.err" || skip "virtlogd -d failed: $(cat "$work/virtlogd.err")"
            started+=(/run/virtlogd.pid)
        fi
        libvirtd -d 2>"$work/libvirtd.err" || skip "libvirtd -d failed: $(cat "$work/libvirtd.err")"
        started+=(/run/libvirtd.pid)
    fi
    for _ in $(seq 1 40); do
        timeout 10 virsh uri >/dev/null 2>&1 && break
        sleep 0.5
    done
    timeout 10 virsh uri >/dev/null 2>&1 \
        || skip "libvirtd does not answer on qemu:///system: $(cat "$work/libvirtd.err" 2>/dev/null | tail -n 3)"
fi
log "libvirt $(command virsh --version), emulator $emulator"

# ---- 3. domains -------------------------------------------------------------------
stats() { virsh qemu-monitor-command "$dom" '{"execute":"query-fph-stats"}'; }
field() {  # field JSON NAME -> value of return.NAME
    python3 -c 'import json,sys; r=json.loads(sys.argv[1])["return"]; print(json.dumps(r[sys.argv[2]]))' "$1" "$2"
}

# start_domain NAME [SED-ARGS...]: docs/libvirt-domain.xml, edited by
# SED-ARGS, defined as domain NAME and started.
start_domain() {
    dom=$1
    shift
    sed -e "s|<name>fph-demo</name>|<name>$dom</name>|" \
        -e "s|/opt/fph/bin/qemu-system-x86_64|$emulator|" \
        -e "s|/var/lib/fph/guest/|$work/guest/|g" "$@" \
        "$root/docs/libvirt-domain.xml" >"$work/$dom.xml"
    grep -q "<emulator>$emulator</emulator>" "$work/$dom.xml" \
        || fail "docs/libvirt-domain.xml: no <emulator>/opt/fph/bin/qemu-system-x86_64</emulator>"
    grep -q "<kernel>$work/guest/vmlinuz</kernel>" "$work/$dom.xml" \
        || fail "docs/libvirt-domain.xml: no <kernel>/var/lib/fph/guest/vmlinuz</kernel>"

    virsh define "$work/$dom.xml" >"$work/virsh.log" 2>&1 || { cat "$work/virsh.log"; fail "virsh define"; }
    defined=1
    qemu_log=/var/log/libvirt/qemu/$dom.log
    if ! virsh start "$dom" >"$work/virsh.log" 2>&1; then
        cat "$work/virsh.log"
        [ -f "$qemu_log" ] && tail -n 20 "$qemu_log"
        fail "virsh start $dom"
    fi
}

# wait_bound: query-fph-stats must show the device and, once the guest has
# booted, its driver bound.  Sets $reply, $bound_s.
wait_bound() {
    reply=$(stats 2>&1) || fail "query-fph-stats: $reply"
    log "$dom: query-fph-stats: $reply"
    [ "$(field "$reply" enabled)" = true ] || fail "\"enabled\" is not true: $reply"
    [ "$(field "$reply" device-present)" = true ] || fail "\"device-present\" is not true: $reply"

    # The guest boots (TCG) and loads virtio_fph.
    local t0
    t0=$(date +%s)
    while [ "$(field "$reply" driver-ok)" != true ]; do
        [ $(( $(date +%s) - t0 )) -lt 120 ] || fail "guest driver not bound after 120 s: $reply"
        sleep 2
        reply=$(stats 2>&1) || fail "query-fph-stats: $reply"
    done
    bound_s=$(( $(date +%s) - t0 ))
}

run_domain() { start_domain "$@"; wait_bound; }

stop_domain() {
    virsh destroy "$dom" >/dev/null 2>&1
    virsh undefine "$dom" >/dev/null 2>&1
    defined=
}

run_domain "fph-test-$$"
hmp=$(virsh qemu-monitor-command "$dom" --hmp 'qom-get /objects/fph0 stats' 2>&1)
echo "$hmp" | grep -q '"driver-ok": true' || fail "HMP qom-get /objects/fph0 stats: $hmp"
plain="started $dom; query-fph-stats enabled, device present, guest driver bound after ${bound_s}s"
stop_domain

# The same domain with two <numa> cells of uneven size: libvirt puts each
# cell's memory on its own memory-backend-ram and -numa node,memdev=, and
# every byte of it must be hintable.
run_domain "fph-test-numa-$$" -e "s|<vcpu>1</vcpu>|<vcpu>2</vcpu><cpu><numa>\
<cell id='0' cpus='0' memory='384' unit='MiB'/>\
<cell id='1' cpus='1' memory='640' unit='MiB'/></numa></cpu>|"
grep -q 'memory-backend-ram' "$qemu_log" && grep -q 'memdev' "$qemu_log" \
    || fail "libvirt did not put the <numa> cells on memory backends: $(grep -o -- '-numa [^ ]*' "$qemu_log" | tr '\n' ' ')"
ram=$(field "$reply" ram-bytes) hintable=$(field "$reply" hintable-bytes)
[ "$ram" = $((1024 << 20)) ] || fail "NUMA domain: ram-bytes $ram, expected 1 GiB: $reply"
# All but the few hundred KiB of read-only PAM below 1 MiB.
[ "$hintable" -ge $(( ram - (1 << 20) )) ] \
    || fail "NUMA domain: only $hintable of $ram bytes hintable: $reply"
numa="NUMA domain (2 memory-backend-ram cells, 384+640 MiB): $hintable of $ram bytes hintable, driver bound after ${bound_s}s"
stop_domain

# The domain without the object: management enables fph on the running
# domain with object-add, and the device goes into libvirt's spare
# pcie-root-port (pci.1).
start_domain "fph-test-hotplug-$$" -e "/<qemu:arg value='-object'\/>/d" \
    -e "/<qemu:arg value='free-page-hint/d"
grep -q 'free-page-hint' "$qemu_log" && fail "hotplug domain: the object is on the command line"
out=$(virsh qemu-monitor-command "$dom" \
      '{"execute":"object-add","arguments":{"qom-type":"free-page-hint","id":"fph0"}}' 2>&1) \
    || fail "object-add: $out"
wait_bound
bus=$(virsh qemu-monitor-command "$dom" \
      '{"execute":"qom-get","arguments":{"path":"/objects/fph0","property":"bus"}}' 2>&1)
echo "$bus" | grep -q '"return":"pci.1"' || fail "object-add: device not on the spare root port pci.1: $bus"
hotplug="object-add on the running domain: device on pci.1, driver bound after ${bound_s}s"
stop_domain

echo "PASS libvirt: $(command virsh --version) on $emulator: $plain; $numa; $hotplug"
exit 0
