# SPDX-License-Identifier: GPL-2.0-or-later
"""contrib/kubevirt/fph-sidecar as KubeVirt's sidecar-shim runs it
(onDefineDomain --vmi JSON --domain XML, the new XML on stdout), on the
KubeVirt domain XML of this directory (q35, <numa>, hugepages, memfd, a
<qemu:commandline> of KubeVirt's own).  The result is validated against
libvirt's domain schema (virt-xml-validate) where libvirt-clients is
installed; tests/libvirt/test_stacks.py starts and migrates it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402

QEMU = "{http://libvirt.org/schemas/domain/qemu/1.0}"


def hook(vmi: str, domain: str, equals: bool = False) -> subprocess.CompletedProcess:
    """The sidecar as the shim runs it (or --vmi=... with @equals)."""
    if equals:
        args = [f"--vmi={vmi}", f"--domain={domain}"]
    else:
        args = ["--vmi", vmi, "--domain", domain]
    return subprocess.run([sys.executable, fixtures.SIDECAR, *args],
                          capture_output=True, text=True)


def ok(vmi: str, domain: str) -> str:
    p = hook(vmi, domain)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    return p.stdout


def qemu_args(xml: str) -> list[str]:
    root = ET.fromstring(xml)
    return [a.get("value") for a in root.iter(f"{QEMU}arg")]


def strip_commandline(xml: str) -> str:
    """The XML without <qemu:commandline>, canonical, for comparing."""
    root = ET.fromstring(xml)
    for c in root.findall(f"{QEMU}commandline"):
        root.remove(c)
    return ET.canonicalize(ET.tostring(root), strip_text=True)


@pytest.mark.parametrize("name", fixtures.DOMAINS)
def test_adds_the_object(name):
    src = fixtures.domain(name)
    out = ok(fixtures.vmi(), src)
    args = qemu_args(out)
    assert args.count("-object") == 1
    i = args.index("-object")
    assert args[i + 1] == "free-page-hint,id=fph0,bus=pcie.0,addr=0x1f.7"
    # Nothing else changed, and the text before the commandline is
    # KubeVirt's byte for byte.
    assert strip_commandline(out) == strip_commandline(src)
    assert out.startswith(src[:src.index("<qemu:commandline>")]
                          if "<qemu:commandline>" in src
                          else src[:src.rindex("</domain>")])
    root = ET.fromstring(out)
    assert len(root.findall(f"{QEMU}commandline")) == 1


def test_keeps_kubevirts_commandline():
    out = ok(fixtures.vmi(), fixtures.domain("kubevirt-memfd-qemu-env.xml"))
    root = ET.fromstring(out)
    (cl,) = root.findall(f"{QEMU}commandline")
    assert [e.tag for e in cl] == [f"{QEMU}env", f"{QEMU}arg", f"{QEMU}arg"]
    assert cl[0].get("name") == "QEMU_AUDIO_DRV"


@pytest.mark.parametrize("name", fixtures.DOMAINS)
def test_idempotent(name):
    once = ok(fixtures.vmi(), fixtures.domain(name))
    assert ok(fixtures.vmi(), once) == once


@pytest.mark.parametrize("annotation", [None, "false", "off"])
@pytest.mark.parametrize("name", fixtures.DOMAINS)
def test_not_asked_unchanged(name, annotation):
    src = fixtures.domain(name)
    assert ok(fixtures.vmi(annotation), src).rstrip("\n") == src.rstrip("\n")


def test_equals_form_and_options():
    p = hook(fixtures.vmi("max-ranges=8192,reclaim=512M"),
             fixtures.domain("kubevirt-q35-numa-hugepages.xml"), equals=True)
    assert p.returncode == 0, p.stderr
    assert ("free-page-hint,id=fph0,bus=pcie.0,addr=0x1f.7,max-ranges=8192,"
            "reclaim=512M") in qemu_args(p.stdout)


def test_no_namespace_declared():
    src = fixtures.domain("kubevirt-q35-numa-hugepages.xml").replace(
        ' xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0"', "")
    out = ok(fixtures.vmi(), src)
    assert "free-page-hint,id=fph0,bus=pcie.0,addr=0x1f.7" in qemu_args(out)


@pytest.mark.parametrize("annotation,domain_edit,words", [
    ("max-range=10", None, "max-ranges=VALUE"),
    ("true", ('machine="pc-q35-rhel9.4.0"', 'machine="pc-i440fx-rhel7.6.0"'),
     "q35 machine type"),
    ("true", ('<controller type="usb" index="0" model="none"></controller>',
              '<controller type="usb" index="0" model="none"></controller>'
              '<watchdog model="i6300esb"><address type="pci" domain="0x0000" '
              'bus="0x00" slot="0x1f" function="0x7"/></watchdog>'),
     "move that device"),
])
def test_refuses_with_one_line(annotation, domain_edit, words):
    src = fixtures.domain("kubevirt-q35-numa-hugepages.xml")
    if domain_edit:
        assert domain_edit[0] in src
        src = src.replace(*domain_edit)
    p = hook(fixtures.vmi(annotation), src)
    assert p.returncode == 1
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fph-sidecar: vmi-fedora: ")
    assert words in lines[0]


def test_usage():
    p = subprocess.run([sys.executable, fixtures.SIDECAR, "--vmi", "{}"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "onDefineDomain --vmi" in p.stderr


@pytest.mark.skipif(not shutil.which("virt-xml-validate"),
                    reason="virt-xml-validate (libvirt-clients) not installed")
@pytest.mark.parametrize("name", fixtures.DOMAINS)
def test_libvirt_schema(name, tmp_path):
    out = ok(fixtures.vmi(), fixtures.domain(name))
    f = tmp_path / "domain.xml"
    f.write_text(out)
    p = subprocess.run(["virt-xml-validate", str(f), "domain"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
