# SPDX-License-Identifier: GPL-2.0-or-later
"""pytest's options and fixtures for the end-to-end suites here
(test_migration.py, test_reclaim.py, test_faults.py, test_debian.py).
meson runs each file as one test (meson.build), as a person runs one:

    PYTHONPATH=$QEMU_SRC/python /usr/bin/python3 -m pytest -v -s \\
        tests/e2e/test_faults.py --qemu build/fph-qemu --image build/guest

(QEMU_SRC from build/qemu.env: QEMU's python/qemu drives QEMU.)  One
test: tests/e2e/test_faults.py::test_ping_pong, or -k ping_pong; -s
shows the tests' progress as they run."""

from __future__ import annotations

import pytest

from meson_pytest import (add_image_option, pytest_runtest_setup,  # noqa: F401
                          pytest_sessionfinish, pytest_sessionstart)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("fph", "fph's end-to-end tests")
    g.addoption("--qemu", metavar="PATH",
                help="the emulator every VM runs: build/fph-qemu (the patched "
                "QEMU with the module directory)")
    add_image_option(g)
    g.addoption("--smp", type=int, default=1, metavar="N",
                help="test_migration.py: vCPUs of every guest, source and "
                "destination (default 1)")


def _required(request: pytest.FixtureRequest, opt: str) -> str:
    value = request.config.getoption(opt)
    if not value:
        pytest.fail(f"{opt} is required (see tests/e2e/conftest.py)",
                    pytrace=False)
    return value


@pytest.fixture(scope="session")
def qemu(request: pytest.FixtureRequest) -> str:
    """--qemu: the emulator."""
    return _required(request, "--qemu")


@pytest.fixture(scope="session")
def image(request: pytest.FixtureRequest) -> str:
    """--image: the guest image's directory."""
    return _required(request, "--image")


@pytest.fixture(scope="session")
def smp(request: pytest.FixtureRequest) -> int:
    """--smp: vCPUs per guest (test_migration.py)."""
    return request.config.getoption("--smp")
