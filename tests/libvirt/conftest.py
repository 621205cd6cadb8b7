# SPDX-License-Identifier: GPL-2.0-or-later
"""pytest's options and the rig for the libvirt suites here
(test_migrate.py, test_snapshot.py, test_stacks.py).  meson runs each file
as one test (meson.build); by hand, as root:

    PYTHONPATH=$QEMU_SRC/python /usr/bin/python3 -m pytest -v -s \\
        tests/libvirt/test_migrate.py --build build --image build/guest

(--build: a build tree, installed with scripts/install.sh into a
test-local prefix; --image: make image's guest; QEMU_SRC from
build/qemu.env.)  One test: tests/libvirt/test_migrate.py::test_fph, or
-k fph.  Not root: every test is skipped (exit 77, meson's SKIP)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "e2e"))

import common  # noqa: E402
from meson_pytest import (add_image_option, pytest_runtest_setup,  # noqa: E402,F401
                          pytest_sessionfinish, pytest_sessionstart)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("fph", "fph's libvirt tests")
    g.addoption("--build", metavar="DIR",
                help="a build tree (build/), installed with scripts/install.sh "
                "into the rig's prefix")
    add_image_option(g)


def _terminated(signum, frame) -> None:
    """meson's timeout sends SIGTERM: end the run as an interrupt, after
    which pytest still tears the rig down (its two daemons, their
    domains), where an exit would only fail the test that runs."""
    raise KeyboardInterrupt("SIGTERM")


@pytest.fixture(scope="module")
def libvirt_rig(request: pytest.FixtureRequest):
    """The rig (common.Rig: the installed emulator, the guest, two libvirt
    hosts) for one test file, in a work directory named after its
    RIG_PREFIX; torn down after the file's last test.  Root only (two
    libvirtd, mount namespaces): otherwise every test is skipped."""
    if os.geteuid() != 0:
        pytest.skip("needs root (two libvirtd, mount namespaces)")
    build, image = (request.config.getoption(o) for o in ("--build", "--image"))
    if not build or not image:
        pytest.fail("--build and --image are required (see tests/libvirt/conftest.py)",
                    pytrace=False)
    p = subprocess.run([os.path.join(common.ROOT, "scripts", "apt-install.sh"),
                        "libvirt-daemon-system", "libvirt-clients"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode != 0:
        pytest.fail(f"cannot install libvirt: {p.stdout[-500:]}", pytrace=False)
    signal.signal(signal.SIGTERM, _terminated)
    try:
        rig = common.Rig(os.path.realpath(build), image, request.module.RIG_PREFIX)
    except Exception as e:  # noqa: BLE001 - one line, every test of the file
        pytest.fail(f"the two libvirt hosts did not start: {e}", pytrace=False)
    try:
        yield rig
    finally:
        rig.close()
