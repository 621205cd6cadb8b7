# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/kernel-packages.py against canned apt-cache output.

No kernel needs to be installed: a fake apt-cache serves what the Debian
archive listed on a day when deb-src lines for trixie were enabled (so
madison also shows Sources entries, some newer than any binary) and the
cloud flavour's versioned package is named linux-image-ABI-cloud-amd64.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "kernel-packages.py"

spec = importlib.util.spec_from_file_location("kernel_packages", SCRIPT)
kp = importlib.util.module_from_spec(spec)
sys.modules["kernel_packages"] = kp
spec.loader.exec_module(kp)

DEB = "http://deb.debian.org/debian"
SEC = "http://deb.debian.org/debian-security"


def bin_line(pkg: str, ver: str, url: str, suite: str) -> str:
    return f"{pkg} | {ver} | {url} {suite}/main amd64 Packages"


def src_line(pkg: str, ver: str, url: str, suite: str) -> str:
    return f"{pkg} | {ver} | {url} {suite}/main Sources"


def meta_madison(flavour: str) -> list[str]:
    meta = f"linux-image-{flavour}"
    return [
        bin_line(meta, "6.12.95-1~bpo12+1", DEB, "bookworm-backports"),
        bin_line(meta, "6.1.192-3", SEC, "bookworm-security"),
        bin_line(meta, "6.1.176-1", DEB, "bookworm"),
        # Sources entries: under the source package's name and, as some
        # apt versions print them, under the binary's own name; both newer
        # than any binary of their series.
        src_line("linux-signed-amd64", "6.12.118+1", SEC, "trixie-security"),
        src_line(meta, "6.12.118+1", SEC, "trixie-security"),
        src_line(meta, "6.1.200+1", SEC, "trixie-security"),
        src_line("linux-signed-amd64", "6.12.95+1~bpo12+1", DEB,
                 "bookworm-backports"),
    ]


ABI = {"6.12.95-1~bpo12+1": "6.12.95+deb12", "6.1.192-3": "6.1.0-57",
       "6.1.176-1": "6.1.0-50"}


def archive() -> dict:
    madison, depends = {}, {}
    for flavour in ("amd64", "cloud-amd64"):
        meta = f"linux-image-{flavour}"
        madison[meta] = meta_madison(flavour)
        for ver, abi in ABI.items():
            depends[f"{meta}={ver}"] = (
                f"{meta}\n  Depends: linux-image-{abi}-{flavour}\n")
            for kind in ("image", "headers"):
                pkg = f"linux-{kind}-{abi}-{flavour}"
                suite = ("bookworm-backports" if abi.startswith("6.12")
                         else "bookworm-security")
                madison[pkg] = [bin_line(pkg, ver, DEB, suite)]
    return {"madison": madison, "depends": depends}


FAKE = textwrap.dedent("""\
    #!/usr/bin/python3
    # A stand-in for apt-cache: madison and depends from a JSON archive.
    import json, sys
    data = json.load(open(sys.argv[1]))
    cmd, args = sys.argv[2], sys.argv[3:]
    if cmd == "madison":
        for a in args:
            for line in data["madison"].get(a, []):
                print(line)
    elif cmd == "depends":
        for a in args:
            if a not in data["depends"]:
                print(f"E: Unable to locate package {a}", file=sys.stderr)
                sys.exit(100)
            print(data["depends"][a], end="")
    else:
        sys.exit(f"fake apt-cache: no {cmd}")
    """)


@pytest.fixture
def apt_cache(tmp_path: Path):
    data = archive()
    path = tmp_path / "archive.json"

    def write() -> str:
        path.write_text(json.dumps(data))
        fake = tmp_path / "apt-cache"
        fake.write_text(FAKE)
        fake.chmod(0o755)
        return f"{fake} {path}"

    return data, write


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """`kernel-packages.py resolve SPEC...` in this process, apt-cache faked."""
    def run(apt: str, *specs: str) -> Result:
        monkeypatch.setenv("APT_CACHE", apt)
        rc = kp.main(["kernel-packages.py", "resolve", *specs])
        out, err = capsys.readouterr()
        return Result(rc, out, err)
    return run


@pytest.mark.parametrize("spec,line", [
    ("6.1-amd64", "6.1.0-57-amd64 6.1 amd64 bookworm-security"),
    ("6.1-cloud-amd64", "6.1.0-57-cloud-amd64 6.1 cloud-amd64 bookworm-security"),
    ("6.12-amd64", "6.12.95+deb12-amd64 6.12 amd64 bookworm-backports"),
    ("6.12-cloud-amd64",
     "6.12.95+deb12-cloud-amd64 6.12 cloud-amd64 bookworm-backports"),
])
def test_resolves_versioned_packages(apt_cache, run_cli, spec, line):
    _, write = apt_cache
    r = run_cli(write(), spec)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == line


def test_all_four_in_one_call(apt_cache, run_cli):
    _, write = apt_cache
    r = run_cli(write(), "6.1-amd64", "6.1-cloud-amd64", "6.12-amd64",
                "6.12-cloud-amd64")
    assert r.returncode == 0, r.stderr
    assert [ln.split()[0] for ln in r.stdout.splitlines()] == [
        "6.1.0-57-amd64", "6.1.0-57-cloud-amd64", "6.12.95+deb12-amd64",
        "6.12.95+deb12-cloud-amd64"]


def test_no_spec_is_the_default_four(apt_cache, run_cli):
    _, write = apt_cache
    assert run_cli(write()).stdout == run_cli(
        write(), "6.1-amd64", "6.1-cloud-amd64", "6.12-amd64",
        "6.12-cloud-amd64").stdout


def test_packages_are_image_and_headers():
    k = kp.Kernel("6.1.0-57-cloud-amd64", "6.1", "cloud-amd64",
                  "bookworm-security")
    assert k.packages == ["linux-image-6.1.0-57-cloud-amd64",
                          "linux-headers-6.1.0-57-cloud-amd64"]


def test_sources_lines_are_not_versions():
    versions = kp.binary_versions("\n".join(meta_madison("amd64")),
                                  "linux-image-amd64")
    assert versions == [("6.12.95-1~bpo12+1", "bookworm-backports"),
                        ("6.1.192-3", "bookworm-security"),
                        ("6.1.176-1", "bookworm")]


def test_series_prefix_is_exact():
    versions = [("6.10.3-1", "x"), ("6.1.176-1", "bookworm"),
                ("6.12.95-1~bpo12+1", "bookworm-backports")]
    assert kp.newest_in_series(versions, "6.1") == ("6.1.176-1", "bookworm")
    assert kp.newest_in_series(versions, "6.12")[0] == "6.12.95-1~bpo12+1"
    assert kp.newest_in_series(versions, "6.5") is None


def test_own_release_first():
    """A newer 6.12 of another release (trixie) is not taken on bookworm."""
    versions = [("6.12.118-1", "trixie-security"),
                ("6.12.95-1~bpo12+1", "bookworm-backports")]
    assert (kp.newest_in_series(versions, "6.12", "bookworm")
            == ("6.12.95-1~bpo12+1", "bookworm-backports"))
    assert kp.newest_in_series(versions, "6.12", "")[0] == "6.12.118-1"


def test_newest_by_dpkg_order_not_text():
    versions = [("6.1.99-1", "a"), ("6.1.158-1", "b"), ("6.1.158-1+b1", "c")]
    assert kp.newest_in_series(versions, "6.1") == ("6.1.158-1+b1", "c")


def test_generic_flavour_skips_cloud_dependency():
    out = ("linux-image-amd64\n"
           "  Depends: linux-image-6.1.0-57-cloud-amd64\n"
           "  Depends: linux-image-6.1.0-57-amd64\n")
    assert kp.image_dependency(out, "amd64") == "linux-image-6.1.0-57-amd64"
    assert (kp.image_dependency(out, "cloud-amd64")
            == "linux-image-6.1.0-57-cloud-amd64")


def test_abi_moves(apt_cache, run_cli):
    """A new ABI (6.1.0-58) and point release: nothing names a version."""
    data, write = apt_cache
    meta = "linux-image-cloud-amd64"
    data["madison"][meta].insert(
        0, bin_line(meta, "6.1.200-1", SEC, "bookworm-security"))
    data["depends"][f"{meta}=6.1.200-1"] = (
        f"{meta}\n  Depends: linux-image-6.1.0-58-cloud-amd64\n")
    data["madison"]["linux-headers-6.1.0-58-cloud-amd64"] = [
        bin_line("linux-headers-6.1.0-58-cloud-amd64", "6.1.200-1", SEC,
                 "bookworm-security")]
    r = run_cli(write(), "6.1-cloud-amd64")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "6.1.0-58-cloud-amd64"


def test_missing_headers_is_an_error(apt_cache, run_cli):
    data, write = apt_cache
    del data["madison"]["linux-headers-6.1.0-57-amd64"]
    r = run_cli(write(), "6.1-amd64")
    assert r.returncode == 1
    assert "linux-headers-6.1.0-57-amd64 is not in the apt lists" in r.stderr


def test_no_backports_names_the_fix(apt_cache, run_cli, monkeypatch):
    data, write = apt_cache
    for flavour in ("amd64", "cloud-amd64"):
        data["madison"][f"linux-image-{flavour}"] = [
            ln for ln in data["madison"][f"linux-image-{flavour}"]
            if "6.12" not in ln.split("|")[1]]
    monkeypatch.setattr(kp, "installed_kernel", lambda *_: None)
    r = run_cli(write(), "6.12-amd64")
    assert r.returncode == 1
    assert "run scripts/setup-apt.sh" in r.stderr


def test_release_spec_taken_as_is(apt_cache, run_cli):
    _, write = apt_cache
    r = run_cli(write(), "6.12.95+deb12-cloud-amd64")
    assert r.stdout.strip() == "6.12.95+deb12-cloud-amd64 6.12 cloud-amd64"


def test_bad_spec():
    with pytest.raises(kp.ResolveError):
        kp.parse_spec("6.1-arm64")
