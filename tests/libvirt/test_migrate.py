# SPDX-License-Identifier: GPL-2.0-or-later
"""`virsh migrate` of a domain with fph between two libvirt hosts on this
machine (tests/libvirt/rig.py: two libvirtd, each in its own mount
namespace with its own state, run, config and log directories and its own
host_uuid, talking over loopback only).

The domain is docs/libvirt-domain.xml (the test guest, TCG, 1 GiB) with
its serial console on a UNIX socket, which the test drives with
tests/e2e/guestctl.py.  The guest keeps a checksummed 128 MiB fill and
writes and frees 600 MiB before each migration, and the same domain
without fph makes the same migrations in the same run:

    A -> B  virsh migrate --live --p2p --persistent
    B -> A  the same with --parallel --parallel-connections 2 (back)
    A -> B  the same with --postcopy --postcopy-after-precopy, the guest
            churning memory meanwhile (at 100 MiB/s and a 1 ms downtime
            limit), so that precopy does not converge and libvirt switches

After each: `virsh domjobinfo --completed` on the source (the data
transferred, printed with and without fph; then the source's inactive
definition is undefined), query-fph-stats of the source
(virsh qemu-monitor-command, polled while the migration runs: libvirt
stops the source once it is done) shows pages skipped, the fill verifies
on the destination, and the destination's domain is running, persistent,
and has fph enabled with the guest driver bound.

usage: python3 -m pytest -v -s tests/libvirt/test_migrate.py --build BUILD
       --image IMAGE_DIR [-k NAME]   (tests/libvirt/conftest.py)
       (BUILD: a build tree, installed with scripts/install.sh into a
       test-local prefix; IMAGE_DIR: make image's guest)
Every test is skipped when not root.
"""

from __future__ import annotations

import os

import pytest

from common import (DIRTY_MIB, FILL_MIB, Domain, Migration, Rig,  # noqa: F401
                    check_destination, dirty, guestctl, mib, verify)

RIG_PREFIX = "fph-libvirt-mig"   # the rig's work directory (conftest.py)


@pytest.fixture(scope="module")
def results() -> dict[bool, dict[str, Migration]]:
    """fph -> mode -> its Migration: test_default's for test_fph."""
    return {}


def run_domain(r: Rig, fph: bool) -> dict[str, Migration]:
    """Boot on host A, then precopy A->B, parallel B->A, postcopy A->B."""
    a, b = r.hosts
    dom = Domain(r, f"fph-mig-{'fph' if fph else 'default'}-{os.getpid()}",
                 fph)
    done: dict[str, Migration] = {}
    try:
        dom.start(a)
        dom.guest.check(f"fph-workload fill {FILL_MIB}", timeout=300)
        for mode, dst in (("precopy", b), ("parallel", a), ("postcopy", b)):
            src = dom.host
            dirty(dom)
            if mode == "postcopy":
                # Keep precopy from converging: the guest keeps writing
                # and a downtime of 1 ms is never reached, so libvirt
                # switches to postcopy after the first pass.
                dom.guest.check("fph-workload churn 64", timeout=60)
                src.virsh("migrate-setmaxdowntime", dom.name, "1")
            m = Migration(dom, dst, mode)
            m.run()
            done[mode] = m
            print("  " + ("fph:     " if fph else "default: ") + m.report())
            verify(dom)
            check_destination(dom, src)
            print(f"    on {dst.name}: running, persistent"
                  f"{', fph enabled, driver bound' if fph else ''}; "
                  f"the {FILL_MIB} MiB fill verified; gone from {src.name}")
            if mode == "postcopy":
                assert m.postcopy, \
                    f"no post-copy lifecycle event on {dst.name}: {m.events}"
                out = dom.guest.check("fph-workload churn-status")
                c = guestctl.parse_kv(out, "churn")
                assert c.get("bad") == "0", out
                dom.guest.check("fph-workload stop churn")
            if fph:
                assert m.stats is not None, \
                    f"{mode}: query-fph-stats of the source never answered"
                assert m.stats["pages-skipped"] > 0, \
                    f"{mode}: no page skipped on {src.name}: {m.stats}"
        return done
    finally:
        dom.close()


def test_default(libvirt_rig: Rig, results: dict) -> None:
    """The domain without fph: precopy A->B, parallel B->A, postcopy A->B."""
    results[False] = run_domain(libvirt_rig, False)


def test_fph(libvirt_rig: Rig, results: dict) -> None:
    """The domain with fph: the same three migrations, pages skipped on
    each source, fewer bytes than without fph, the fill intact."""
    results[True] = run_domain(libvirt_rig, True)
    base = results.get(False)
    if not base:
        return
    for mode, m in results[True].items():
        d = base[mode]
        ratio = m.transferred / d.transferred
        print(f"  {mode:8s}: default {mib(d.transferred)} in {d.seconds:.1f} s, "
              f"fph {mib(m.transferred)} in {m.seconds:.1f} s, ratio {ratio:.2f}")
    # 600 of 1024 MiB freed, 128 MiB filled: ~0.25 measured (precopy and
    # parallel), ~0.4 with post-copy (the guest churns 64 MiB meanwhile).
    for mode, bound in (("precopy", 0.5), ("parallel", 0.5), ("postcopy", 0.7)):
        m, d = results[True][mode], base[mode]
        assert m.transferred < bound * d.transferred, \
            f"{mode}: fph sent {mib(m.transferred)}, default {mib(d.transferred)}"
