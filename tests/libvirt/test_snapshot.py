# SPDX-License-Identifier: GPL-2.0-or-later
"""Snapshots and saves of a domain with fph, and without, on the rig of
tests/libvirt/rig.py (two libvirtd 9.0 on this machine).

The domain is docs/libvirt-domain.xml (the test guest, TCG, 1 GiB); the
guest keeps a checksummed 128 MiB fill and has written and freed 600 MiB.
For the domain with fph and the same one without, on host A:

 1. `virsh snapshot-create-as --live --memspec file=F,snapshot=external`:
    libvirt migrates the running guest into F (QEMU's migration to a
    file descriptor), so fph hints: the source skips pages and F is
    smaller than without fph.  libvirt 9.0 refuses `snapshot-revert` of
    an external snapshot (checked: the test expects the refusal); F is a
    save image, which `virsh restore F` resumes: step 4.
 2. `virsh save` then `virsh restore`: libvirt pauses the guest before
    it writes the image, so nothing is hinted (no page skipped: the
    image is as large as without fph); the fill verifies after restore.
 3. `virsh managedsave` then `virsh start`: the same.
 4. `virsh destroy`, `virsh restore F` (the snapshot's memory): the fill
    verifies; then (with fph) `virsh migrate` A -> B skips pages again.
 5. QEMU's own `migrate file:` with the capability mapped-ram, live
    (QMP, tests/e2e/vm.py: libvirt 9.0 has no mapped-ram; `virsh save
    --parallel` came with libvirt 10.x): the file is sparse, its
    allocated size smaller with fph; restored into a new QEMU with
    `migrate-incoming file:`, the fill verifies.

Sizes are allocated blocks (st_blocks * 512); the apparent sizes are
printed too.

usage: python3 -m pytest -v -s tests/libvirt/test_snapshot.py --build BUILD
       --image IMAGE_DIR [-k NAME]   (tests/libvirt/conftest.py)
"""

from __future__ import annotations

import os
import time

import pytest

from common import (DIRTY_MIB, FILL_MIB, Domain, Migration, Rig, StatsPoller,
                    dirty, guestctl, mib, rig, verify)

RIG_PREFIX = "fph-libvirt-snap"   # the rig's work directory (conftest.py)
Sizes = dict[str, dict[bool, tuple[int, int]]]


@pytest.fixture(scope="module")
def sizes() -> Sizes:
    """kind -> fph -> (allocated bytes, apparent bytes), over the tests."""
    return {}


def file_size(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_blocks * 512, st.st_size


def record(sizes: Sizes, kind: str, fph: bool, path: str,
           poll: StatsPoller | None) -> None:
    alloc, apparent = file_size(path)
    sizes.setdefault(kind, {})[fph] = (alloc, apparent)
    s = (f"{'fph' if fph else 'default'} {kind}: {os.path.basename(path)} "
         f"{mib(alloc)} allocated ({mib(apparent)} apparent)")
    if fph and poll is not None:
        s += f"; source: {poll.skipped()}"
    print("  " + s)


def images_dir(r: Rig) -> str:
    d = os.path.join(r.work, "images")
    os.makedirs(d, mode=0o777, exist_ok=True)
    os.chmod(d, 0o777)
    return d


def compare(sizes: Sizes, kind: str) -> tuple[int, int]:
    d, f = sizes[kind][False][0], sizes[kind][True][0]
    print(f"  {kind}: default {mib(d)}, fph {mib(f)} (allocated), "
          f"ratio {f / d:.2f}")
    return d, f


def run_domain(r: Rig, sizes: Sizes, fph: bool) -> None:
    a, b = r.hosts
    tag = "fph" if fph else "default"
    dom = Domain(r, f"fph-snap-{tag}-{os.getpid()}", fph)
    img = images_dir(r)
    snapfile = os.path.join(img, f"{dom.name}.snap-mem")
    savefile = os.path.join(img, f"{dom.name}.save")
    try:
        dom.start(a)
        dom.guest.check(f"fph-workload fill {FILL_MIB}", timeout=300)
        dirty(dom)

        # 1. the external live memory snapshot
        dom.disconnect()
        t0 = time.monotonic()
        with StatsPoller(a, dom.name) as poll:
            a.virsh("snapshot-create-as", dom.name, "snap1", "--live",
                    "--memspec", f"file={snapfile},snapshot=external",
                    timeout=600)
        print(f"  {tag}: snapshot-create-as --live --memspec: "
              f"{time.monotonic() - t0:.1f} s, domain "
              f"{a.state(dom.name)}")
        record(sizes, "live snapshot", fph, snapfile, poll)
        if fph:
            assert poll.delta("pages-skipped") > 0, \
                f"live snapshot: no page skipped: {poll.skipped()}"
        assert a.state(dom.name) == "running", a.state(dom.name)
        try:
            a.virsh("snapshot-revert", dom.name, "snap1")
            raise AssertionError("libvirt reverted to an external snapshot: "
                                 "docs/usage.rst says 9.0 does not")
        except rig.VirshError as e:
            print(f"  snapshot-revert refused, as documented: "
                  f"{str(e).split(': ', 2)[-1]}")
        a.virsh("snapshot-delete", dom.name, "snap1", "--metadata")
        dom.connect()
        verify(dom)

        # 2. save / restore
        dom.disconnect()
        with StatsPoller(a, dom.name) as poll:
            a.virsh("save", dom.name, savefile, timeout=600)
        record(sizes, "save", fph, savefile, poll)
        if fph:
            assert poll.delta("pages-skipped") == 0, \
                f"save: pages skipped although libvirt paused the guest: {poll.skipped()}"
        assert a.state(dom.name) == "shut off", a.state(dom.name)
        a.virsh("restore", savefile, timeout=600)
        dom.connect()
        verify(dom)
        print(f"  {tag}: restored from {os.path.basename(savefile)}, "
              f"the {FILL_MIB} MiB fill verified")
        os.unlink(savefile)

        # 3. managedsave / start
        dom.disconnect()
        with StatsPoller(a, dom.name) as poll:
            a.virsh("managedsave", dom.name, timeout=600)
        msave = a.path(f"/var/lib/libvirt/qemu/save/{dom.name}.save")
        record(sizes, "managedsave", fph, msave, poll)
        if fph:
            assert poll.delta("pages-skipped") == 0, \
                f"managedsave: pages skipped: {poll.skipped()}"
        a.virsh("start", dom.name, timeout=600)
        assert not os.path.exists(msave), "managedsave image left after start"
        dom.connect()
        verify(dom)
        print(f"  {tag}: started from its managed save, fill verified")

        # 4. back to the snapshot's memory, then a migration
        a.virsh("destroy", dom.name)
        a.virsh("restore", snapfile, timeout=600)
        dom.connect()
        verify(dom)
        print(f"  {tag}: restored the live snapshot's memory "
              f"({os.path.basename(snapfile)}), fill verified")
        if fph:
            if dom.fph:
                st = a.fph_stats(dom.name)
                assert st["enabled"] and st["device-present"], st
            dirty(dom)
            m = Migration(dom, b, "precopy")
            m.run()
            print("  after restore: " + m.report())
            verify(dom)
            assert m.stats and m.stats["pages-skipped"] > 0, \
                f"the migration after restore skipped no page: {m.stats}"
    finally:
        dom.close()
        for f in (snapfile, savefile):
            if os.path.exists(f):
                os.unlink(f)


def test_default(libvirt_rig: Rig, sizes: Sizes) -> None:
    """Without fph: live snapshot, save/restore, managedsave/start, restore
    of the snapshot's memory; the sizes."""
    run_domain(libvirt_rig, sizes, False)


def test_fph(libvirt_rig: Rig, sizes: Sizes) -> None:
    """With fph: the same; the live snapshot skips pages and is smaller,
    save and managedsave skip none, the migration after restore does."""
    run_domain(libvirt_rig, sizes, True)
    if False not in sizes.get("save", {}):
        return
    d, f = compare(sizes, "live snapshot")
    # 600 of 1024 MiB freed, 128 MiB filled.
    assert f < 0.6 * d, f"live snapshot: fph {mib(f)}, default {mib(d)}"
    for kind in ("save", "managedsave"):
        d, f = compare(sizes, kind)
        assert f > 0.8 * d, f"{kind}: fph {mib(f)} much smaller than {mib(d)}?"


def mapped_ram(r: Rig, sizes: Sizes, fph: bool) -> None:
    import vm  # tests/e2e; QEMU's python/qemu on PYTHONPATH
    tag = "fph" if fph else "default"
    with vm.Pair(r.emulator, r.guest, "mapped-ram.", parent=r.work,
                 keep=bool(os.environ.get("FPH_KEEP")), fph=fph) as pair:
        path = os.path.join(pair.dir, "state")
        src = pair.vm(f"mr-src-{tag}")
        g = src.connect_guest(wait_ready=True)
        g.check(f"fph-workload fill {FILL_MIB}", timeout=300)
        g.check(f"fph-workload dirty {DIRTY_MIB}", timeout=300)
        vm.set_capabilities(src, ("mapped-ram",), return_path=False)
        t0 = time.monotonic()
        src.cmd("migrate", uri=f"file:{path}")
        info = vm.wait_migration(src, timeout=600)
        stats = src.stats() if fph else None
        print(f"  {tag} mapped-ram: migrate file: {time.monotonic() - t0:.1f} s, "
              f"{info['ram']['transferred'] / (1 << 20):.1f} MiB transferred, "
              f"source {src.cmd('query-status')['status']}")
        sizes.setdefault("mapped-ram", {})[fph] = file_size(path)
        alloc, apparent = sizes["mapped-ram"][fph]
        print(f"  {tag} mapped-ram: file {mib(alloc)} allocated "
              f"({mib(apparent)} apparent)"
              + (f"; source skipped {stats['pages-skipped']} pages" if fph else ""))
        if fph:
            assert stats["pages-skipped"] > 0, stats
        src.shutdown()
        dst = pair.vm(f"mr-dst-{tag}", incoming="defer")
        vm.set_capabilities(dst, ("mapped-ram",), return_path=False)
        dst.cmd("migrate-incoming", uri=f"file:{path}")
        deadline = time.monotonic() + 300
        while dst.cmd("query-migrate").get("status") != "completed":
            assert time.monotonic() < deadline, dst.cmd("query-migrate")
            time.sleep(0.2)
        if dst.cmd("query-status")["status"] != "running":
            dst.cmd("cont")
        g = dst.connect_guest(wait_ready=False)
        out = g.check("fph-workload verify", timeout=300)
        v = guestctl.parse_kv(out, "verify")
        assert v.get("bad") == "0" and int(v.get("pages", 0)) == FILL_MIB * 256, out
        print(f"  {tag} mapped-ram: restored with migrate-incoming file:, "
              f"the {FILL_MIB} MiB fill verified")


def test_mapped_ram(libvirt_rig: Rig, sizes: Sizes) -> None:
    """QEMU's migrate file: with mapped-ram, live (QMP): smaller with fph,
    and the restored guest verifies."""
    mapped_ram(libvirt_rig, sizes, False)
    mapped_ram(libvirt_rig, sizes, True)
    d, f = compare(sizes, "mapped-ram")
    assert f < 0.6 * d, f"mapped-ram: fph {mib(f)}, default {mib(d)}"
