# SPDX-License-Identifier: GPL-2.0-or-later
"""The stacks above libvirt, on the two-host rig of tests/libvirt/rig.py,
and what an operator sees when a piece is missing.

kubevirt   KubeVirt's domain XML (contrib/kubevirt/tests: q35, <numa>,
           memfd; what this machine cannot give is taken out first: the
           pod's tap and disks, VNC, CPU pinning, host-model (TCG), the
           hugepages reservation) goes through contrib/kubevirt/fph-sidecar
           as KubeVirt's sidecar-shim runs it, is started on host A and
           migrated to B with --parallel (multifd, KubeVirt's
           parallelMigrationThreads): pages skipped, the fill verified.
nova       contrib/openstack/fph-libvirt-hook installed as both hosts'
           /etc/libvirt/hooks/qemu.d/fph (flavours m1.fph, *.fph): a domain
           as Nova defines it (<nova:flavor name='m1.fph'>, no
           <qemu:commandline>) gets fph after its start (object-add on
           the highest free root port, the placement in its metadata);
           libvirt hot-plugs a virtio-rng (virsh attach-device) beside it;
           migrated A -> B (the destination's hook recreates the device)
           and back with --parallel: pages skipped, fill verified.  A
           domain of another flavour gets nothing.
errors     each fails or warns with one line naming the fix, the source
           keeps running and the fill verifies:
           - a destination without the fph module (an empty directory
             over the emulator's module directory on B), with the hook:
             the hook's line; without it: QEMU's;
           - a Nova domain to a destination without the hook: the
             migration fails, the source runs on;
           - a guest without the driver (module_blacklist=virtio_fph):
             the migration completes with full copies, QEMU's warning
             names the fix.

usage: python3 -m pytest -v -s tests/libvirt/test_stacks.py --build BUILD
       --image IMAGE_DIR [-k NAME]   (tests/libvirt/conftest.py)
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

from common import (FILL_MIB, ROOT, Domain, Migration, Rig, check_destination,
                    dirty, docs_xml, rig, serial_path, verify)

RIG_PREFIX = "fph-libvirt-stacks"   # the rig's work directory (conftest.py)
KUBEVIRT = os.path.join(ROOT, "contrib", "kubevirt")
HOOK = os.path.join(ROOT, "contrib", "openstack", "fph-libvirt-hook")
QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
FPH_NS = "https://fph.example/libvirt-hook/1"
sys.path.insert(0, os.path.join(KUBEVIRT, "tests"))
import fixtures  # noqa: E402

ET.register_namespace("qemu", QEMU_NS)


def start_fill(dom: Domain, host: rig.Host) -> None:
    dom.start(host)
    dom.guest.check(f"fph-workload fill {FILL_MIB}", timeout=300)


# ---------------------------------------------------------------- KubeVirt
def kubevirt_on_rig(r: Rig, name: str) -> str:
    """KubeVirt's domain XML made runnable here (see the module's doc)."""
    root = ET.fromstring(fixtures.domain("kubevirt-q35-numa-hugepages.xml"))
    root.set("type", "qemu")
    # RHEL's machine types are downstream QEMU's; upstream: q35.
    root.find("os/type").set("machine", "q35")
    root.find("name").text = name
    root.remove(root.find("uuid"))
    root.find("memory").text = str(1 << 30)
    for tag in ("numatune", "cputune"):
        root.remove(root.find(tag))
    mb = root.find("memoryBacking")
    mb.remove(mb.find("hugepages"))          # memfd stays
    cpu = root.find("cpu")
    del cpu.attrib["mode"]                   # host-model: not under TCG
    cpu.find("topology").set("cores", "1")
    cpu.find("numa/cell").attrib.update(cpus="0", memory=str(1 << 20))
    root.find("vcpu").text = "1"
    os_ = root.find("os")
    ET.SubElement(os_, "kernel").text = f"{r.guest}/vmlinuz"
    ET.SubElement(os_, "initrd").text = f"{r.guest}/initramfs"
    ET.SubElement(os_, "cmdline").text = \
        "console=ttyS0 transparent_hugepage=never quiet"
    devs = root.find("devices")
    devs.find("emulator").text = r.emulator
    for tag in ("interface", "disk", "graphics", "video", "serial", "console"):
        for e in devs.findall(tag):
            devs.remove(e)
    serial = ET.SubElement(devs, "serial", type="unix")
    ET.SubElement(serial, "source", mode="bind", path=serial_path(name))
    ET.SubElement(serial, "target", port="0")
    ET.SubElement(root, "seclabel", type="none")
    return ET.tostring(root, encoding="unicode")


def test_kubevirt(libvirt_rig: Rig) -> None:
    """KubeVirt: the sidecar's XML (q35, <numa>, memfd) started and
    migrated with --parallel, pages skipped."""
    a, b = libvirt_rig.hosts
    name = f"fph-kv-{os.getpid()}"
    xml = kubevirt_on_rig(libvirt_rig, name)
    p = subprocess.run([sys.executable, os.path.join(KUBEVIRT, "fph-sidecar"),
                        "--vmi", fixtures.vmi(), "--domain", xml],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "free-page-hint,id=fph0,bus=pcie.0,addr=0x1f.7" in p.stdout
    dom = Domain(libvirt_rig, name, True, xml=p.stdout)
    try:
        start_fill(dom, a)
        log = open(a.qemu_log(name)).read()
        assert "memory-backend-memfd" in log and "-numa" in log, \
            "libvirt did not put the <numa> cell on a memfd backend"
        st = a.fph_stats(name)
        assert st["driver-ok"] and st["hintable-bytes"] > (1 << 30) - (1 << 20), st
        print(f"  started on {a.name}: q35, one <numa> cell on "
              f"memory-backend-memfd, fph bound, {st['hintable-bytes']} of "
              f"{st['ram-bytes']} bytes hintable")
        dirty(dom)
        m = Migration(dom, b, "parallel")
        m.run()
        print("  " + m.report())
        verify(dom)
        check_destination(dom, a)
        assert m.stats and m.stats["pages-skipped"] > 0, m.stats
    finally:
        dom.close()


# --------------------------------------------------------------- OpenStack
def install_hook(h: rig.Host, hook: bool = True) -> None:
    """The hook (or none) on @h; libvirtd reads hooks when it starts."""
    d = os.path.join(h.dir, "etc", "hooks", "qemu.d")
    shutil.rmtree(os.path.join(h.dir, "etc", "hooks"), ignore_errors=True)
    if hook:
        os.makedirs(d)
        shutil.copy(HOOK, os.path.join(d, "fph"))
        os.chmod(os.path.join(d, "fph"), 0o755)
        with open(os.path.join(h.dir, "etc", "fph-hook.conf"), "w") as f:
            f.write("[fph]\nflavors = m1.fph *.fph\n")
    h.stop()
    h.start()


def nova_xml(r: Rig, name: str, flavor: str, append: str = "") -> str:
    """docs/libvirt-domain.xml as Nova would have it: no
    <qemu:commandline>, Nova's metadata, spare root ports."""
    xml = docs_xml(r, name, fph=False)
    xml = re.sub(r"\s*<qemu:commandline>.*</qemu:commandline>", "", xml,
                 flags=re.S)
    assert "qemu:arg" not in xml
    meta = (f"<metadata><nova:instance xmlns:nova="
            f"'http://openstack.org/xmlns/libvirt/nova/1.1'>"
            f"<nova:name>{name}</nova:name>"
            f"<nova:flavor name='{flavor}'><nova:memory>1024</nova:memory>"
            f"<nova:vcpus>1</nova:vcpus></nova:flavor>"
            f"</nova:instance></metadata>")
    xml = xml.replace(f"<name>{name}</name>", f"<name>{name}</name>{meta}", 1)
    ports = "".join(f"<controller type='pci' index='{i}' model='pcie-root-port'/>"
                    for i in (2, 3))
    xml = xml.replace("<memballoon", ports + "<memballoon", 1)
    if append:
        xml = xml.replace("</cmdline>", f" {append}</cmdline>", 1)
    return xml


def wait_fph(h: rig.Host, name: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            st = h.fph_stats(name)
            if st["driver-ok"]:
                return st
        except (rig.VirshError, KeyError):
            st = None
        if time.monotonic() > deadline:
            log = os.path.join(h.dir, "log", "fph-hook.log")
            raise AssertionError(f"{name}: no fph after {timeout} s: {st}; hook log: "
                                 f"{open(log).read() if os.path.exists(log) else '-'}")
        time.sleep(1)


def test_nova(libvirt_rig: Rig) -> None:
    """OpenStack Nova: a domain without fph gets it from the hook, a
    virtio-rng is hot-plugged beside it, it migrates there and back
    with pages skipped; another flavour gets nothing."""
    a, b = libvirt_rig.hosts
    for h in (a, b):
        install_hook(h)
    name = f"fph-nova-{os.getpid()}"
    other = Domain(libvirt_rig, f"fph-nova-small-{os.getpid()}", False,
                   xml=nova_xml(libvirt_rig, f"fph-nova-small-{os.getpid()}", "m1.small"))
    dom = Domain(libvirt_rig, name, True, xml=nova_xml(libvirt_rig, name, "m1.fph"))
    try:
        a.virsh("define", other.xml)
        other.host = a
        a.virsh("start", other.name)
        start_fill(dom, a)
        st = wait_fph(a, name)
        bus = a.qmp(name, "qom-get", path="/objects/fph0", property="bus")
        meta = a.virsh("metadata", name, FPH_NS)
        assert f"bus=\"{bus}\"" in meta or f"bus='{bus}'" in meta, meta
        assert "free-page-hint" not in a.virsh("dumpxml", "--inactive", name)
        print(f"  {name} (flavour m1.fph) started on {a.name} without fph; the "
              f"hook's helper added it on {bus}, driver bound; metadata {meta.strip()}")
        # libvirt hot-plugs another device: it takes a root port of its
        # own (libvirt does not know fph's), and both work.
        rng = os.path.join(libvirt_rig.work, "rng.xml")
        with open(rng, "w") as f:
            f.write("<rng model='virtio'><backend model='random'>/dev/urandom"
                    "</backend></rng>")
        a.virsh("attach-device", name, rng, "--live")
        live = ET.fromstring(a.virsh("dumpxml", name))
        rng_bus = int(live.find("devices/rng/address").get("bus"), 0)
        assert f"pci.{rng_bus}" != bus, f"virtio-rng on fph's {bus}"
        deadline = time.monotonic() + 30
        while "0x0004" not in (out := dom.guest.check(
                "cat /sys/bus/virtio/devices/*/device")):
            assert time.monotonic() < deadline, \
                f"the guest does not see the virtio-rng: {out}"
            time.sleep(1)
        st = a.fph_stats(name)
        assert st["driver-ok"], st
        print(f"  virsh attach-device virtio-rng: on pci.{rng_bus}, the guest "
              f"sees it; fph still bound on {bus}")
        for mode, dst in (("precopy", b), ("parallel", a)):
            src = dom.host
            dirty(dom)
            m = Migration(dom, dst, mode)
            m.run()
            print("  " + m.report())
            verify(dom)
            # The hook leaves the persistent definition as Nova wrote it.
            check_destination(dom, src, persistent_fph=False)
            assert "free-page-hint" not in dst.virsh("dumpxml", "--inactive", name)
            live = dst.virsh("dumpxml", name)
            assert "free-page-hint,id=fph0,plug=off" in live, live
            assert "<rng" in live
            assert m.stats and m.stats["pages-skipped"] > 0, m.stats
            print(f"    on {dst.name}: fph recreated on {bus} by the hook, "
                  f"virtio-rng kept, fill verified")
        assert a.state(other.name) == "running"
        # No object: query-fph-stats answers with an error.
        out = a.virsh("qemu-monitor-command", other.name,
                      '{"execute":"query-fph-stats"}', check=False)
        assert '"return"' not in out, f"the m1.small domain got fph: {out}"
        print(f"  {other.name} (flavour m1.small): no fph, as configured")
    finally:
        dom.close()
        other.close()


# ------------------------------------------------------------------ errors
def error_line(e: Exception) -> str:
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def failed_migration(dom: Domain, dst: rig.Host) -> str:
    """A migration that must fail: its error; the source still runs the
    guest and the fill verifies."""
    src = dom.host
    try:
        Migration(dom, dst, "precopy").run()
        raise AssertionError(f"migration to {dst.name} succeeded")
    except rig.VirshError as e:
        msg = str(e)
    dom.host = src
    assert src.state(dom.name) == "running", src.state(dom.name)
    assert dom.name not in dst.virsh("list", "--all", "--name").split()
    dom.connect()
    verify(dom)
    return msg


def test_errors(libvirt_rig: Rig) -> None:
    """Operator errors: destination without the module (with and without
    the hook), Nova domain to a destination without the hook, guest
    without the driver."""
    a, b = libvirt_rig.hosts
    moddir = glob.glob(os.path.join(libvirt_rig.prefix, "lib", "*", "qemu"))[0]
    empty = os.path.join(libvirt_rig.work, "empty-moddir")
    os.makedirs(empty, exist_ok=True)
    pid = os.getpid()

    # 1. B without the module, with the hook: its line names the fix.
    b.binds = [(empty, moddir)]
    install_hook(b)
    install_hook(a)
    dom = Domain(libvirt_rig, f"fph-err-mod-{pid}", True)
    try:
        start_fill(dom, a)
        msg = failed_migration(dom, b)
        assert "install the fph QEMU module" in msg, msg
        print(f"  no module on {b.name}, hook installed: {error_line(msg)}")
        # ... and without the hook: QEMU's own line.
        install_hook(b, hook=False)
        msg = failed_migration(dom, b)
        assert "free-page-hint" in msg, msg
        print(f"  no module on {b.name}, no hook: {error_line(msg)}")
    finally:
        dom.close()
    b.binds = []
    # 2. A Nova domain (fph by object-add) to B without the hook.
    install_hook(b, hook=False)
    name = f"fph-err-nohook-{pid}"
    dom = Domain(libvirt_rig, name, True, xml=nova_xml(libvirt_rig, name, "m1.fph"))
    try:
        start_fill(dom, a)
        wait_fph(a, name)
        msg = failed_migration(dom, b)
        print(f"  Nova domain, no hook on {b.name}: {error_line(msg)}")
        assert a.fph_stats(name)["driver-ok"]
    finally:
        dom.close()
    # 3. A guest without the driver: full copies, QEMU's warning.
    name = f"fph-err-nodrv-{pid}"
    xml = docs_xml(libvirt_rig, name).replace(
        "</cmdline>", " module_blacklist=virtio_fph</cmdline>", 1)
    dom = Domain(libvirt_rig, name, True, xml=xml)
    try:
        start_fill(dom, a)
        st = a.fph_stats(name)
        assert not st["driver-ok"], st
        dirty(dom)
        m = Migration(dom, b, "precopy")
        m.run()
        verify(dom)
        log = open(a.qemu_log(name)).read()
        warn = [ln for ln in log.splitlines() if "no guest driver is bound" in ln]
        assert warn, "no warning in the source's QEMU log"
        assert m.stats["pages-skipped"] == 0, m.stats
        print(f"  guest without the driver: migrated, {m.report()}; source's "
              f"log: {warn[0]}")
    finally:
        dom.close()
