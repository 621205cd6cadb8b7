# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/kernel-packages.py against canned apt output.

No kernel needs to be installed and no archive reached: a fake apt-cache
serves what the Debian archive listed on a day when the host (bookworm)
had deb-src lines for trixie enabled (so madison also shows Sources
entries, some newer than any binary) and the private lists of trixie,
trixie-backports and sid (apt-cache -c CONF) had 6.12, 7.2 and 7.3, the
7.x versioned image a meta package of linux-binary-KVER and
linux-modules-KVER.  A fake apt-get records the private `update`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import textwrap
import time
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
FLAVOURS = ("amd64", "cloud-amd64", "rt-amd64")


def bin_line(pkg: str, ver: str, url: str, suite: str) -> str:
    return f"{pkg} | {ver} | {url} {suite}/main amd64 Packages"


def src_line(pkg: str, ver: str, url: str, suite: str) -> str:
    return f"{pkg} | {ver} | {url} {suite}/main Sources"


# (version, ABI, suite, url) of the host's and the private lists.
HOST = [("6.12.95-1~bpo12+1", "6.12.95+deb12", "bookworm-backports", DEB),
        ("6.1.192-3", "6.1.0-57", "bookworm-security", SEC),
        ("6.1.176-1", "6.1.0-50", "bookworm", DEB)]
FOREIGN = [("7.3.4-1~bpo13+1", "7.3.4+deb13", "trixie-backports", DEB),
           ("7.2.13-1", "7.2.13+deb14", "sid", DEB),
           ("6.12.118-1", "6.12.118+deb13", "trixie-security", SEC),
           ("6.12.117-1", "6.12.117+deb13", "trixie", DEB)]


def host_sources(meta: str) -> list[str]:
    # Sources entries: under the source package's name and, as some apt
    # versions print them, under the binary's own name; both newer than
    # any binary of their series.
    return [src_line("linux-signed-amd64", "6.12.118+1", SEC, "trixie-security"),
            src_line(meta, "6.12.118+1", SEC, "trixie-security"),
            src_line(meta, "6.1.200+1", SEC, "trixie-security"),
            src_line("linux-signed-amd64", "6.12.95+1~bpo12+1", DEB,
                     "bookworm-backports")]


def lists(rows, host: bool) -> tuple[dict, dict]:
    madison: dict[str, list[str]] = {}
    depends: dict[str, str] = {}
    for flavour in FLAVOURS:
        for kind in ("image", "headers"):
            meta = f"linux-{kind}-{flavour}"
            madison[meta] = [bin_line(meta, v, url, s) for v, _, s, url in rows]
            if host and kind == "image":
                madison[meta] += host_sources(meta)
        for ver, abi, suite, url in rows:
            kver = f"{abi}-{flavour}"
            seven = abi.startswith("7.")
            image = f"linux-image-{flavour}"
            depends[f"{image}={ver}"] = (
                f"{image}\n"
                + (f"  Depends: linux-base-{flavour}\n" if seven else "")
                + f"  Depends: linux-image-{kver}\n"
                + (f"  Depends: linux-modules-{flavour}\n" if seven else ""))
            depends[f"linux-headers-{flavour}={ver}"] = (
                f"linux-headers-{flavour}\n"
                + (f"  Depends: linux-base-{flavour}\n" if seven else "")
                + f"  Depends: linux-headers-{kver}\n")
            depends[f"linux-image-{kver}={ver}"] = (
                f"linux-image-{kver}\n  PreDepends: linux-base\n"
                " |Depends: dracut\n |Depends: initramfs-tools\n"
                + (f"  Depends: linux-base-{kver}\n"
                   f"  Depends: linux-binary-{kver}\n"
                   f"  Depends: linux-modules-{kver}\n" if seven
                   else "  Depends: kmod\n"))
            for pkg in (f"linux-image-{kver}", f"linux-headers-{kver}"):
                madison[pkg] = [bin_line(pkg, ver, url, suite)]
    return madison, depends


def archive() -> dict:
    hm, hd = lists(HOST, True)
    fm, fd = lists(FOREIGN, False)
    return {"host": {"madison": hm, "depends": hd},
            "foreign": {"madison": fm, "depends": fd}}


FAKE_APT_CACHE = textwrap.dedent("""\
    #!/usr/bin/python3
    # A stand-in for apt-cache: madison and depends from a JSON archive,
    # the private lists with -c CONF; -o options are ignored.
    import json, sys
    data = json.load(open(sys.argv[1]))
    args, which = sys.argv[2:], "host"
    while args and args[0] in ("-c", "-o"):
        if args[0] == "-c":
            which = "foreign"
        args = args[2:]
    data = data[which]
    cmd, args = args[0], args[1:]
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

FAKE_APT_GET = textwrap.dedent("""\
    #!/bin/sh
    # A stand-in for apt-get update: records its arguments.
    echo "$*" >>"$FAKE_APT_GET_LOG"
    exit "${FAKE_APT_GET_RC:-0}"
    """)


@pytest.fixture
def apt(tmp_path: Path, monkeypatch):
    """The canned archive (to change before write()), fakes in the
    environment; write() returns the path of the apt-get log."""
    data = archive()
    path = tmp_path / "archive.json"
    for name, text in (("apt-cache", FAKE_APT_CACHE),
                       ("apt-get", FAKE_APT_GET)):
        fake = tmp_path / name
        fake.write_text(text)
        fake.chmod(0o755)
    log = tmp_path / "apt-get.log"
    monkeypatch.setenv("APT_CACHE", f"{tmp_path / 'apt-cache'} {path}")
    monkeypatch.setenv("APT_GET", str(tmp_path / "apt-get"))
    monkeypatch.setenv("FAKE_APT_GET_LOG", str(log))
    monkeypatch.setenv("APT_MIRRORS",
                       "echo FPH_MIRROR=http://m.example/debian "
                       "FPH_SECURITY=http://m.example/debian-security")
    monkeypatch.setenv("FPH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FPH_APT_REFRESH", raising=False)
    monkeypatch.setattr(kp, "host_codename", lambda: "bookworm")
    monkeypatch.setattr(kp, "installed_kernel", lambda *_: None)

    def write() -> Path:
        path.write_text(json.dumps(data))
        return log

    return data, write


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capfd):
    """`kernel-packages.py CMD SPEC...` in this process, apt faked."""
    def run(cmd: str, *specs: str) -> Result:
        rc = kp.main(["kernel-packages.py", cmd, *specs])
        out, err = capfd.readouterr()
        return Result(rc, out, err)
    return run


@pytest.mark.parametrize("spec,line", [
    ("6.1-amd64", "6.1.0-57-amd64 6.1 amd64 bookworm-security host 6.1.192-3"),
    ("6.1-cloud-amd64",
     "6.1.0-57-cloud-amd64 6.1 cloud-amd64 bookworm-security host 6.1.192-3"),
    ("6.1-rt-amd64",
     "6.1.0-57-rt-amd64 6.1 rt-amd64 bookworm-security host 6.1.192-3"),
    # bookworm-backports, not trixie-security's newer 6.12.118.
    ("6.12-amd64", "6.12.95+deb12-amd64 6.12 amd64 bookworm-backports host "
     "6.12.95-1~bpo12+1"),
    ("6.12-cloud-amd64", "6.12.95+deb12-cloud-amd64 6.12 cloud-amd64 "
     "bookworm-backports host 6.12.95-1~bpo12+1"),
    ("7.3-amd64", "7.3.4+deb13-amd64 7.3 amd64 trixie-backports chroot "
     "7.3.4-1~bpo13+1"),
    ("7.3-rt-amd64", "7.3.4+deb13-rt-amd64 7.3 rt-amd64 trixie-backports "
     "chroot 7.3.4-1~bpo13+1"),
    ("7.2-cloud-amd64",
     "7.2.13+deb14-cloud-amd64 7.2 cloud-amd64 sid chroot 7.2.13-1"),
    ("newest-amd64", "7.3.4+deb13-amd64 7.3 amd64 trixie-backports chroot "
     "7.3.4-1~bpo13+1"),
])
def test_resolves_versioned_packages(apt, run_cli, spec, line):
    _, write = apt
    write()
    r = run_cli("resolve", spec)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == line


def test_no_spec_is_what_make_check_tests(apt, run_cli):
    _, write = apt
    write()
    r = run_cli("resolve")
    assert r.returncode == 0, r.stderr
    assert [ln.split()[0] for ln in r.stdout.splitlines()] == [
        "6.1.0-57-amd64", "6.12.95+deb12-amd64", "7.3.4+deb13-amd64",
        "7.3.4+deb13-cloud-amd64", "7.3.4+deb13-rt-amd64"]


# A Debian 13 host: 6.12 in its own lists; bookworm's 6.1 and
# trixie-backports' 7.3 in the private ones (scripts/release.sh trixie).
TRIXIE_HOST = [("6.12.118-1", "6.12.118+deb13", "trixie-security", SEC),
               ("6.12.117-1", "6.12.117+deb13", "trixie", DEB)]
TRIXIE_FOREIGN = [("7.3.4-1~bpo13+1", "7.3.4+deb13", "trixie-backports", DEB),
                  ("7.2.13-1", "7.2.13+deb14", "sid", DEB),
                  ("6.1.192-3", "6.1.0-57", "bookworm-security", SEC),
                  ("6.1.176-1", "6.1.0-50", "bookworm", DEB)]


def test_trixie_host(apt, run_cli, tmp_path, monkeypatch):
    """On Debian 13 the private lists are bookworm's, trixie-backports' and
    sid's, and a kernel is built on the host only if the host's lists have
    it: trixie-backports is of the host's release but not in its lists."""
    data, write = apt
    monkeypatch.setattr(kp, "host_codename", lambda: "trixie")
    for scope, rows in (("host", TRIXIE_HOST), ("foreign", TRIXIE_FOREIGN)):
        madison, depends = lists(rows, False)
        data[scope] = {"madison": madison, "depends": depends}
    write()
    r = run_cli("resolve")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "6.1.0-57-amd64 6.1 amd64 bookworm-security chroot 6.1.192-3",
        "6.12.118+deb13-amd64 6.12 amd64 trixie-security host 6.12.118-1",
        "7.3.4+deb13-amd64 7.3 amd64 trixie-backports chroot 7.3.4-1~bpo13+1",
        "7.3.4+deb13-cloud-amd64 7.3 cloud-amd64 trixie-backports chroot "
        "7.3.4-1~bpo13+1",
        "7.3.4+deb13-rt-amd64 7.3 rt-amd64 trixie-backports chroot "
        "7.3.4-1~bpo13+1"]
    assert (tmp_path / "cache" / "apt" / "sources.list").read_text() \
        .splitlines() == [
        "deb http://m.example/debian bookworm main",
        "deb http://m.example/debian bookworm-updates main",
        "deb http://m.example/debian-security bookworm-security main",
        "deb http://m.example/debian trixie-backports main",
        "deb http://m.example/debian sid main"]


def test_a_kernel_named_twice_is_listed_once(apt, run_cli):
    _, write = apt
    write()
    r = run_cli("resolve", "7.3-amd64", "newest-amd64", "6.1-amd64")
    assert [ln.split()[0] for ln in r.stdout.splitlines()] == [
        "7.3.4+deb13-amd64", "6.1.0-57-amd64"]


def test_list_is_every_series_and_flavour(apt, run_cli):
    _, write = apt
    write()
    r = run_cli("list")
    assert r.returncode == 0, r.stderr
    got = [ln.split()[:5] for ln in r.stdout.splitlines()]
    want = []
    for series, abi, suite, build in (
            ("6.1", "6.1.0-57", "bookworm-security", "host"),
            ("6.12", "6.12.95+deb12", "bookworm-backports", "host"),
            ("7.2", "7.2.13+deb14", "sid", "chroot"),
            ("7.3", "7.3.4+deb13", "trixie-backports", "chroot")):
        for f in FLAVOURS:
            want.append([f"{abi}-{f}", series, f, suite, build])
    assert got == want


def test_list_leaves_out_what_has_no_headers(apt, run_cli):
    """sid's rt flavour without linux-headers-rt-amd64: not in the list,
    an error when asked for."""
    data, write = apt
    data["foreign"]["madison"]["linux-headers-rt-amd64"] = [
        ln for ln in data["foreign"]["madison"]["linux-headers-rt-amd64"]
        if "7.2.13" not in ln]
    write()
    r = run_cli("list")
    assert r.returncode == 0, r.stderr
    kvers = [ln.split()[0] for ln in r.stdout.splitlines()]
    assert len(kvers) == 11 and "7.2.13+deb14-rt-amd64" not in kvers
    r = run_cli("resolve", "7.2-rt-amd64")
    assert r.returncode == 1
    assert "linux-image-rt-amd64 7.2.x with headers" in r.stderr


def test_newest_is_the_newest_series_with_headers(apt, run_cli):
    data, write = apt
    data["foreign"]["madison"]["linux-headers-cloud-amd64"] = [
        ln for ln in data["foreign"]["madison"]["linux-headers-cloud-amd64"]
        if "7.3.4" not in ln]
    write()
    r = run_cli("resolve", "newest-cloud-amd64", "newest-amd64")
    assert r.returncode == 0, r.stderr
    assert [ln.split()[0] for ln in r.stdout.splitlines()] == [
        "7.2.13+deb14-cloud-amd64", "7.3.4+deb13-amd64"]


def test_kver_follows_linux_binary_not_the_meta_name(apt, run_cli):
    """7.x: the kernel release is the one linux-binary-* and
    linux-modules-* name, as apt's dependencies say."""
    data, write = apt
    d = data["foreign"]["depends"]
    pin = "linux-image-7.3.4+deb13-amd64=7.3.4-1~bpo13+1"
    d[pin] = d[pin].replace("binary-7.3.4+deb13-amd64", "binary-7.3.4+deb13b-amd64")
    d[pin] = d[pin].replace("modules-7.3.4+deb13-amd64", "modules-7.3.4+deb13b-amd64")
    d["linux-headers-amd64=7.3.4-1~bpo13+1"] = (
        "linux-headers-amd64\n  Depends: linux-headers-7.3.4+deb13b-amd64\n")
    data["foreign"]["madison"]["linux-headers-7.3.4+deb13b-amd64"] = [
        bin_line("linux-headers-7.3.4+deb13b-amd64", "7.3.4-1~bpo13+1", DEB,
                 "trixie-backports")]
    write()
    ks = kp.resolve(["7.3-amd64"])
    assert ks[0].kver == "7.3.4+deb13b-amd64"
    assert ks[0].parts == ("linux-binary-7.3.4+deb13b-amd64",
                           "linux-modules-7.3.4+deb13b-amd64")
    assert kp.resolve(["6.1-amd64"])[0].parts == ()


def test_binary_and_modules_of_two_releases_is_an_error(apt, run_cli):
    data, write = apt
    d = data["foreign"]["depends"]
    pin = "linux-image-7.3.4+deb13-amd64=7.3.4-1~bpo13+1"
    d[pin] = d[pin].replace("modules-7.3.4+deb13-amd64", "modules-7.3.5+deb13-amd64")
    write()
    r = run_cli("resolve", "7.3-amd64")
    assert r.returncode == 1
    assert "two kernel releases" in r.stderr


def test_headers_of_another_release_is_an_error(apt, run_cli):
    data, write = apt
    data["host"]["depends"]["linux-headers-amd64=6.1.192-3"] = (
        "linux-headers-amd64\n  Depends: linux-headers-6.1.0-56-amd64\n")
    write()
    r = run_cli("resolve", "6.1-amd64")
    assert r.returncode == 1
    assert "names linux-headers-6.1.0-56-amd64, the kernel is 6.1.0-57-amd64" \
        in r.stderr


def test_packages_are_image_and_headers():
    k = kp.Kernel("7.3.4+deb13-rt-amd64", "7.3", "rt-amd64",
                  "trixie-backports", "chroot", "7.3.4-1~bpo13+1")
    assert k.packages == ["linux-image-7.3.4+deb13-rt-amd64",
                          "linux-headers-7.3.4+deb13-rt-amd64"]


def test_sources_lines_are_not_versions():
    madison = "\n".join(lists(HOST, True)[0]["linux-image-amd64"])
    versions = kp.binary_versions(madison, "linux-image-amd64")
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
    """A newer 6.12 of another release (trixie) is not taken on bookworm;
    "bookworm-ish" is not bookworm."""
    versions = [("6.12.118-1", "trixie-security"),
                ("6.12.95-1~bpo12+1", "bookworm-backports")]
    assert (kp.newest_in_series(versions, "6.12", "bookworm")
            == ("6.12.95-1~bpo12+1", "bookworm-backports"))
    assert kp.newest_in_series(versions, "6.12", "")[0] == "6.12.118-1"
    assert not kp.is_host_suite("bookwormish", "bookworm")
    assert kp.is_host_suite("bookworm-security", "bookworm")


def test_newest_by_dpkg_order_not_text():
    versions = [("6.1.99-1", "a"), ("6.1.158-1", "b"), ("6.1.158-1+b1", "c")]
    assert kp.newest_in_series(versions, "6.1") == ("6.1.158-1+b1", "c")


def test_generic_flavour_skips_cloud_and_rt_dependency():
    out = ("linux-image-amd64\n"
           "  Depends: linux-image-6.1.0-57-cloud-amd64\n"
           "  Depends: linux-image-6.1.0-57-rt-amd64\n"
           "  Depends: linux-image-6.1.0-57-amd64\n")
    assert kp.image_dependency(out, "amd64") == "linux-image-6.1.0-57-amd64"
    assert (kp.image_dependency(out, "cloud-amd64")
            == "linux-image-6.1.0-57-cloud-amd64")
    assert (kp.image_dependency(out, "rt-amd64")
            == "linux-image-6.1.0-57-rt-amd64")


def test_abi_moves(apt, run_cli):
    """A new ABI (6.1.0-58) and point release: nothing names a version."""
    data, write = apt
    host = data["host"]
    for kind in ("image", "headers"):
        meta = f"linux-{kind}-cloud-amd64"
        host["madison"][meta].insert(
            0, bin_line(meta, "6.1.200-1", SEC, "bookworm-security"))
        host["depends"][f"{meta}=6.1.200-1"] = (
            f"{meta}\n  Depends: linux-{kind}-6.1.0-58-cloud-amd64\n")
    host["madison"]["linux-headers-6.1.0-58-cloud-amd64"] = [
        bin_line("linux-headers-6.1.0-58-cloud-amd64", "6.1.200-1", SEC,
                 "bookworm-security")]
    write()
    r = run_cli("resolve", "6.1-cloud-amd64")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "6.1.0-58-cloud-amd64"


def test_missing_headers_is_an_error(apt, run_cli):
    data, write = apt
    del data["host"]["madison"]["linux-headers-6.1.0-57-amd64"]
    write()
    r = run_cli("resolve", "6.1-amd64")
    assert r.returncode == 1
    assert "linux-headers-6.1.0-57-amd64 is not in the apt lists" in r.stderr


def test_no_backports_names_the_fix(apt, run_cli):
    data, write = apt
    for db in ("host", "foreign"):
        for kind in ("image", "headers"):
            meta = f"linux-{kind}-amd64"
            data[db]["madison"][meta] = [
                ln for ln in data[db]["madison"][meta]
                if "6.12" not in ln.split("|")[1]]
    write()
    r = run_cli("resolve", "6.12-amd64")
    assert r.returncode == 1
    assert "run scripts/setup-apt.sh" in r.stderr


def test_installed_kernel_stands_in(apt, run_cli, monkeypatch):
    data, write = apt
    for db in ("host", "foreign"):
        data[db]["madison"]["linux-image-cloud-amd64"] = []
    write()
    monkeypatch.setattr(kp, "installed_kernel",
                        lambda s, f: f"{s}.0-9-{f}" if s == "6.1" else None)
    r = run_cli("resolve", "6.1-cloud-amd64")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "6.1.0-9-cloud-amd64 6.1 cloud-amd64 - host -"
    assert "WARNING" in r.stderr


def test_release_spec_taken_as_is(apt, run_cli):
    _, write = apt
    write()
    r = run_cli("resolve", "6.12.95+deb12-cloud-amd64", "7.3.4+deb13-rt-amd64",
                "6.12.90+deb12-amd64")
    assert r.stdout.splitlines() == [
        "6.12.95+deb12-cloud-amd64 6.12 cloud-amd64 bookworm-backports host "
        "6.12.95-1~bpo12+1",
        "7.3.4+deb13-rt-amd64 7.3 rt-amd64 trixie-backports chroot "
        "7.3.4-1~bpo13+1",
        "6.12.90+deb12-amd64 6.12 amd64 - host -"]


def test_bad_spec():
    for bad in ("6.1-arm64", "7.3-rt-arm64", "newest", "latest-amd64"):
        with pytest.raises(kp.ResolveError):
            kp.parse_spec(bad)
    assert kp.parse_spec("7.3.4+deb13-rt-amd64") == ("7.3", "rt-amd64", True)
    assert kp.parse_spec("newest-rt-amd64") == ("newest", "rt-amd64", False)


# ---- the private apt configuration ------------------------------------------

def test_private_lists_not_the_hosts(apt, run_cli, tmp_path):
    """The foreign suites live in FPH_CACHE/apt: own sources (the host's
    mirrors), lists, cache and status; apt-get update runs there, -c."""
    _, write = apt
    log = write()
    assert run_cli("resolve", "7.3-amd64").returncode == 0
    d = tmp_path / "cache" / "apt"
    assert log.read_text().split() == ["-c", str(d / "apt.conf"), "-q",
                                       "update"]
    assert (d / "sources.list").read_text().splitlines() == [
        "deb http://m.example/debian trixie main",
        "deb http://m.example/debian trixie-updates main",
        "deb http://m.example/debian-security trixie-security main",
        "deb http://m.example/debian trixie-backports main",
        "deb http://m.example/debian sid main"]
    conf = (d / "apt.conf").read_text()
    for key in ("Dir::Etc::SourceList", "Dir::Etc::SourceParts",
                "Dir::State::Lists", "Dir::Cache", "Dir::State::status",
                "Dir::Etc::PreferencesParts"):
        line = next(ln for ln in conf.splitlines()
                    if ln.startswith(key + " "))
        assert str(d) in line
    assert "/etc/apt" not in conf


def test_update_at_most_once_a_day(apt, run_cli, tmp_path, monkeypatch):
    _, write = apt
    log = write()
    for _ in range(2):
        assert run_cli("resolve", "7.3-amd64").returncode == 0
    assert len(log.read_text().splitlines()) == 1
    stamp = tmp_path / "cache" / "apt" / "updated"
    old = time.time() - 25 * 3600
    os.utime(stamp, (old, old))
    assert run_cli("resolve", "7.3-amd64").returncode == 0
    assert len(log.read_text().splitlines()) == 2
    monkeypatch.setenv("FPH_APT_REFRESH", "1")
    assert run_cli("resolve", "7.3-amd64").returncode == 0
    assert len(log.read_text().splitlines()) == 3


def test_host_kernels_need_no_private_lists(apt, run_cli):
    """6.1 and 6.12 are in the host's lists: no private apt-get update
    (nor its failure) stands in their way."""
    _, write = apt
    log = write()
    r = run_cli("resolve", "6.1-amd64", "6.12-cloud-amd64",
                "6.1.0-57-rt-amd64")
    assert r.returncode == 0, r.stderr
    assert not log.exists()


def test_failed_update_with_old_lists_warns(apt, run_cli, tmp_path,
                                            monkeypatch):
    _, write = apt
    write()
    assert run_cli("resolve", "7.3-amd64").returncode == 0
    stamp = tmp_path / "cache" / "apt" / "updated"
    old = time.time() - 25 * 3600
    os.utime(stamp, (old, old))
    monkeypatch.setenv("FAKE_APT_GET_RC", "100")
    r = run_cli("resolve", "7.3-amd64")
    assert r.returncode == 0, r.stderr
    assert "WARNING: apt-get update" in r.stderr


def test_failed_first_update_is_an_error(apt, run_cli, monkeypatch):
    _, write = apt
    write()
    monkeypatch.setenv("FAKE_APT_GET_RC", "100")
    r = run_cli("resolve", "7.3-amd64")
    assert r.returncode == 1
    assert "apt-get update of trixie" in r.stderr


def test_install_installs_host_kernels_only(apt, run_cli, tmp_path,
                                            monkeypatch):
    _, write = apt
    write()
    inst = tmp_path / "install.log"
    fake = tmp_path / "apt-install"
    fake.write_text(f'#!/bin/sh\necho "$*" >>{inst}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("APT_INSTALL", str(fake))
    r = run_cli("install")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 5
    assert inst.read_text().split() == [
        "linux-image-6.1.0-57-amd64/bookworm-security",
        "linux-headers-6.1.0-57-amd64/bookworm-security",
        "linux-image-6.12.95+deb12-amd64/bookworm-backports",
        "linux-headers-6.12.95+deb12-amd64/bookworm-backports"]
    inst.unlink()
    r = run_cli("install", "7.3-amd64")
    assert r.returncode == 0, r.stderr
    assert not inst.exists()
