# SPDX-License-Identifier: GPL-2.0-or-later
"""What a pytest run needs to be one meson test (protocol exitcode): the
hooks the conftest.py of tests/e2e and of tests/libvirt import.

- The JUnit file of --junitxml (meson.build: meson-logs/pytest-NAME.xml,
  which scripts/test-summary.py reads the cases from) is removed when the
  run starts: a run that meson's timeout kills leaves none, not the last
  run's.
- Every test skipped (no Debian image, not root): exit code 77, meson's
  SKIP.
- Each test's output starts on a line of its own with its name and the
  first line of its doc string (with pytest -s, meson's testlog.txt has
  the tests' progress as they print it).
- --image, the one option both directories have (add_image_option())."""

from __future__ import annotations

import os

import pytest

SKIP = 77   # meson: the test was skipped


def add_image_option(group) -> None:
    """--image, for tests/e2e and tests/libvirt alike: pytest keeps one
    definition of an option, so a run that collects both directories
    adds it once."""
    try:
        group.addoption("--image", metavar="DIR",
                        help="the guest: make image's build/guest; "
                        "tests/e2e/test_debian.py: make image-debian's build/debian13")
    except ValueError:
        pass   # the other directory's conftest.py added it


def pytest_sessionstart(session: pytest.Session) -> None:
    xml = session.config.getoption("xmlpath", None)
    if xml and os.path.exists(xml):
        os.unlink(xml)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if (exitstatus == pytest.ExitCode.OK and tr is not None
            and tr.stats.get("skipped") and not tr.stats.get("passed")):
        session.exitstatus = SKIP


def pytest_runtest_setup(item: pytest.Item) -> None:
    fn = getattr(item, "function", None)
    doc = ((fn.__doc__ if fn else "") or "").strip()
    print(f"\n{item.name}" + (f": {doc.splitlines()[0]}" if doc else ""),
          flush=True)
