#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Resolve and install the Debian kernels the guest tests run on.

usage: kernel-packages.py resolve [SPEC...]
       kernel-packages.py install [SPEC...]

SPEC is SERIES-FLAVOUR (6.1-amd64, 6.1-cloud-amd64, 6.12-amd64,
6.12-cloud-amd64) or a kernel release (6.12.95+deb12-cloud-amd64), which
is taken as it is.  Without SPEC: the four kernels the guest tests run
on, 6.1-amd64 6.1-cloud-amd64 6.12-amd64 6.12-cloud-amd64.  For each SPEC
one line goes to stdout:

    KVER SERIES FLAVOUR SUITE

e.g. "6.1.0-57-cloud-amd64 6.1 cloud-amd64 bookworm-security".  `install`
also installs linux-image-KVER and linux-headers-KVER where they are
missing.

How: the newest *binary* version of the meta package linux-image-FLAVOUR
whose upstream version is SERIES.x (from `apt-cache madison`, keeping only
"Packages" lines: with deb-src lines enabled madison lists source versions
too, which no binary package has), then the versioned image that version
depends on, asked of apt (`apt-cache depends META=VERSION`), never built
from the meta package's name.  The archive moves (ABI bumps, point
releases, security updates that replace the old version on the mirror):
nothing here names a version, and when `install` fails although
scripts/apt-install.sh refreshed the lists, it resolves again on them.
Only where the archive has no binary version of the series at all does an installed kernel of that
series and flavour stand in, with a warning.

Environment: APT_CACHE, APT_INSTALL, DPKG (the commands; tests replace
them).
"""

from __future__ import annotations

import functools
import glob
import os
import re
import subprocess
import sys
from dataclasses import dataclass

APT_INSTALL = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "apt-install.sh")
DEFAULT_SPECS = ["6.1-amd64", "6.1-cloud-amd64", "6.12-amd64",
                 "6.12-cloud-amd64"]
SERIES_SPEC = re.compile(r"^(\d+\.\d+)-((?:cloud-)?amd64)$")
RELEASE_SPEC = re.compile(r"^(\d+\.\d+)\.\S*?-((?:cloud-)?amd64)$")


class ResolveError(Exception):
    pass


@dataclass(frozen=True)
class Kernel:
    kver: str      # 6.1.0-57-cloud-amd64: the kernel release, uname -r
    series: str    # 6.1
    flavour: str   # cloud-amd64
    suite: str     # the archive suite the versioned packages come from

    @property
    def packages(self) -> list[str]:
        return [f"linux-image-{self.kver}", f"linux-headers-{self.kver}"]

    def line(self) -> str:
        return f"{self.kver} {self.series} {self.flavour} {self.suite}"


def _cmd(name: str, default: str) -> list[str]:
    return os.environ.get(name, default).split()


def run(argv: list[str]) -> str:
    """stdout of ARGV; '' if it fails (apt-cache of an unknown package)."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True, check=False)
    return r.stdout if r.returncode == 0 else ""


def version_cmp(a: str, b: str) -> int:
    dpkg = _cmd("DPKG", "dpkg")
    if a == b:
        return 0
    lt = subprocess.run(dpkg + ["--compare-versions", a, "lt", b],
                        check=False).returncode == 0
    return -1 if lt else 1


def binary_versions(madison: str, package: str) -> list[tuple[str, str]]:
    """(version, suite) of PACKAGE's binary entries in `apt-cache madison`.

    A line is "PKG | VERSION | URL SUITE/COMPONENT ARCH Packages"; source
    entries end in "Sources" (and may name the source package instead)."""
    out = []
    for line in madison.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) != 3 or fields[0] != package:
            continue
        where = fields[2].split()
        if not where or where[-1] != "Packages" or len(where) < 3:
            continue
        out.append((fields[1], where[1].split("/")[0]))
    return out


def host_codename() -> str:
    """VERSION_CODENAME of this machine (bookworm), '' if unknown."""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return ""


def newest_in_series(versions: list[tuple[str, str]], series: str,
                     codename: str = "") -> tuple[str, str] | None:
    # "6.1." is not a prefix of "6.12.x": the dot ends the series.
    inseries = [v for v in versions if v[0].startswith(series + ".")]
    # This release's suites (bookworm, -security, -backports) first: a
    # kernel built for another release is the last resort.
    own = [v for v in inseries if codename and v[1].startswith(codename)]
    inseries = own or inseries
    if not inseries:
        return None
    key = functools.cmp_to_key(lambda x, y: version_cmp(x[0], y[0]))
    return max(inseries, key=key)


def image_dependency(depends: str, flavour: str) -> str | None:
    """The versioned linux-image-* package in `apt-cache depends` output."""
    for line in depends.splitlines():
        m = re.match(r"^\s*\|?Depends:\s*(linux-image-\S+)$", line)
        if m and m.group(1).endswith("-" + flavour):
            if flavour == "amd64" and m.group(1).endswith("-cloud-amd64"):
                continue
            return m.group(1)
    return None


def installed_kernel(series: str, flavour: str) -> str | None:
    """Newest installed kernel release of SERIES and FLAVOUR with headers."""
    found = []
    for path in glob.glob("/boot/vmlinuz-*"):
        kver = path[len("/boot/vmlinuz-"):]
        m = RELEASE_SPEC.match(kver)
        if m and m.group(1) == series and m.group(2) == flavour \
                and os.path.isdir(f"/usr/src/linux-headers-{kver}"):
            found.append(kver)
    if not found:
        return None
    return max(found, key=functools.cmp_to_key(version_cmp))


def parse_spec(spec: str) -> tuple[str, str, bool]:
    """(series, flavour, is_release) of SPEC."""
    m = SERIES_SPEC.match(spec)
    if m:
        return m.group(1), m.group(2), False
    m = RELEASE_SPEC.match(spec)
    if m:
        return m.group(1), m.group(2), True
    raise ResolveError(f"'{spec}' is neither SERIES-FLAVOUR "
                       "(6.12-cloud-amd64) nor a kernel release")


def resolve(specs: list[str]) -> list[Kernel]:
    """The Kernel of each SPEC."""
    apt_cache = _cmd("APT_CACHE", "apt-cache")
    parsed = [parse_spec(s) for s in specs]
    metas = sorted({f"linux-image-{f}" for _, f, rel in parsed if not rel})
    madison = run(apt_cache + ["madison"] + metas) if metas else ""
    chosen: dict[int, tuple[str, str, str]] = {}   # index -> meta, ver, suite
    kernels: dict[int, Kernel] = {}
    for i, (series, flavour, rel) in enumerate(parsed):
        if rel:
            kernels[i] = Kernel(specs[i], series, flavour, "")
            continue
        meta = f"linux-image-{flavour}"
        versions = binary_versions(madison, meta)
        best = newest_in_series(versions, series, host_codename())
        if best is not None:
            chosen[i] = (meta, best[0], best[1])
            continue
        kver = installed_kernel(series, flavour)
        if kver is None:
            have = ", ".join(v for v, _ in versions) or "none"
            raise ResolveError(
                f"no binary {meta} {series}.x in the apt lists (binary "
                f"versions: {have}); run scripts/setup-apt.sh (6.12 is in "
                "bookworm-backports)")
        print(f"kernel-packages: WARNING: the apt lists have no binary "
              f"{meta} {series}.x; using the installed {kver}",
              file=sys.stderr)
        kernels[i] = Kernel(kver, series, flavour, "")
    if chosen:
        for i, (meta, version, suite) in chosen.items():
            series, flavour, _ = parsed[i]
            # One call per pin: apt-cache depends of several arguments
            # reorders the blocks when one of them does not resolve.
            depends = run(apt_cache + ["depends", f"{meta}={version}"])
            image = image_dependency(depends, flavour)
            if image is None or not image.startswith(f"linux-image-{series}."):
                raise ResolveError(f"apt-cache depends {meta}={version} "
                                   f"names no linux-image-{series}.*-{flavour}"
                                   f" ({image or 'nothing'})")
            kernels[i] = Kernel(image[len("linux-image-"):], series, flavour,
                                suite)
        headers = sorted({kernels[i].packages[1] for i in chosen})
        listed = run(apt_cache + ["madison"] + headers)
        for h in headers:
            if not binary_versions(listed, h):
                raise ResolveError(f"{h} is not in the apt lists")
    return [kernels[i] for i in range(len(specs))]


def apt_install(kernels: list[Kernel]) -> bool:
    """Install the missing packages of KERNELS (scripts/apt-install.sh)."""
    # Pinned to the suite that has them: `-t bookworm-backports` would also
    # upgrade the meta packages and linux-libc-dev.
    want = [f"{p}/{k.suite}" if k.suite else p
            for k in kernels for p in k.packages]
    r = subprocess.run(_cmd("APT_INSTALL", str(APT_INSTALL)) + want,
                       stdout=sys.stderr, check=False)
    return r.returncode == 0


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("resolve", "install"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    specs = argv[2:] or DEFAULT_SPECS
    try:
        kernels = resolve(specs)
        if argv[1] == "install" and not apt_install(kernels):
            # apt-install.sh has refreshed the lists: the archive may now
            # hold another ABI than the one the old lists named.
            print("kernel-packages: resolving again on the updated lists",
                  file=sys.stderr)
            kernels = resolve(specs)
            if not apt_install(kernels):
                raise ResolveError("apt-get install of "
                                   + " ".join(p for k in kernels
                                              for p in k.packages)
                                   + " failed")
    except ResolveError as e:
        print(f"kernel-packages: {e}", file=sys.stderr)
        return 1
    for k in kernels:
        print(k.line())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
