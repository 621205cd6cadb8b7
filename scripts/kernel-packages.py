#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Resolve and install the Debian kernels the guest tests run on.

usage: kernel-packages.py resolve [SPEC...]
       kernel-packages.py install [SPEC...]
       kernel-packages.py list

SPEC is SERIES-FLAVOUR (6.1-amd64, 6.12-cloud-amd64, 7.3-rt-amd64),
newest-FLAVOUR (the newest series of that flavour with headers in any
suite below) or a kernel release (7.3.4+deb13-amd64), which is taken as
it is.  FLAVOUR is amd64, cloud-amd64 or rt-amd64 (PREEMPT_RT).  Without
SPEC: what `make check` tests, 6.1-amd64 6.12-amd64 newest-amd64
newest-cloud-amd64 newest-rt-amd64.  One line per kernel goes to stdout
(a kernel that two SPECs name, once):

    KVER SERIES FLAVOUR SUITE BUILD VERSION

e.g. "6.1.0-57-cloud-amd64 6.1 cloud-amd64 bookworm-security host 6.1.192-3"
or "7.3.4+deb13-rt-amd64 7.3 rt-amd64 trixie-backports chroot
7.3.4-1~bpo13+1".  BUILD says where the driver is built for it: "host"
(a kernel in this machine's apt lists, e.g. bookworm[-security|-backports]
on Debian 12: its packages install here) or "chroot" (a kernel of one of
the private lists' suites, scripts/release.sh's FPH_KERNEL_SUITES: on
Debian 12 trixie, trixie-backports or sid, on Debian 13 bookworm,
trixie-backports or sid; it needs that suite's toolchain and glibc:
scripts/build-kernel-chroot.sh builds it with DKMS in a chroot of SUITE).
VERSION is the Debian version of the kernel's packages ("-" if unknown).
`list` prints every series x flavour that has headers in the archive.
`install` installs linux-image-KVER and linux-headers-KVER where they are
missing, of host kernels only; it never adds a suite to /etc/apt.

How: the host's suites are in the host's apt lists; FPH_KERNEL_SUITES
(Debian 12: trixie, -updates, -security, -backports and sid) in a
private apt configuration under
$FPH_CACHE/apt (sources from scripts/apt-mirrors.sh, own lists, cache and
an empty dpkg status; `apt-get update` there at most once a day, or when
FPH_APT_REFRESH=1).  For SERIES-FLAVOUR: the newest *binary* version of
the meta package linux-image-FLAVOUR whose upstream version is SERIES.x
and that linux-headers-FLAVOUR has too (from `apt-cache madison`, keeping
only "Packages" lines: with deb-src lines enabled madison lists source
versions too, which no binary package has), this machine's release first;
then the versioned packages that version depends on, asked of apt
(`apt-cache depends META=VERSION`), never built from the meta package's
name: linux-image-KVER and linux-headers-KVER, and where linux-image-KVER
is itself a meta package (7.x: the kernel is /usr/lib/modules/KVER/vmlinuz
in linux-binary-KVER, its modules in linux-modules-KVER) the packages it
depends on, which name KVER.  The archive moves (ABI bumps, point
releases, security updates that replace the old version on the mirror):
nothing here names a version, and when `install` fails although
scripts/apt-install.sh refreshed the lists, it resolves again on them.
Only where the archive has no binary version of the series at all does
an installed kernel of that series and flavour stand in, with a warning.

Environment: APT_CACHE, APT_GET, APT_INSTALL, DPKG, APT_MIRRORS (the
commands; tests replace them); FPH_CACHE (default /var/cache/fph),
FPH_APT_REFRESH=1 (update the private lists now).
"""

from __future__ import annotations

import fcntl
import functools
import glob
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
APT_INSTALL = os.path.join(HERE, "apt-install.sh")
APT_MIRRORS = os.path.join(HERE, "apt-mirrors.sh")
FLAVOURS = ["amd64", "cloud-amd64", "rt-amd64"]
DEFAULT_SPECS = ["6.1-amd64", "6.12-amd64", "newest-amd64",
                 "newest-cloud-amd64", "newest-rt-amd64"]
_FLAV = r"((?:cloud-|rt-)?amd64)"
SERIES_SPEC = re.compile(r"^(\d+\.\d+|newest)-" + _FLAV + "$")
RELEASE_SPEC = re.compile(r"^(\d+\.\d+)\.\S*?-" + _FLAV + "$")
RELEASE_SH = os.path.join(HERE, "release.sh")
MAX_LIST_AGE = 24 * 3600


class ResolveError(Exception):
    pass


@dataclass(frozen=True)
class Kernel:
    kver: str      # 7.3.4+deb13-rt-amd64: the kernel release, uname -r
    series: str    # 7.3
    flavour: str   # rt-amd64
    suite: str     # the archive suite of the versioned packages ('' unknown)
    build: str = "host"   # host, or chroot (a chroot of SUITE)
    version: str = ""     # Debian version of the packages ('' unknown)
    parts: tuple[str, ...] = ()   # linux-binary-*, linux-modules-* (7.x)

    @property
    def packages(self) -> list[str]:
        return [f"linux-image-{self.kver}", f"linux-headers-{self.kver}"]

    def line(self) -> str:
        return (f"{self.kver} {self.series} {self.flavour} "
                f"{self.suite or '-'} {self.build} {self.version or '-'}")


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


def series_key(series: str) -> tuple[int, ...]:
    return tuple(int(x) for x in series.split("."))


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


def foreign_suites(codename: str) -> list[tuple[str, str]]:
    """The suites of the private apt lists on a host of CODENAME, as
    (suite, "main" or "security" mirror): scripts/release.sh's
    FPH_KERNEL_SUITES (bookworm: trixie, -updates, -security, -backports
    and sid; trixie: bookworm, -updates, -security, trixie-backports and
    sid)."""
    r = subprocess.run([RELEASE_SH] + ([codename] if codename else []),
                       stdout=subprocess.PIPE, text=True, check=False)
    if r.returncode != 0:
        raise ResolveError(f"scripts/release.sh {codename}: exit "
                           f"{r.returncode}")
    for tok in shlex.split(r.stdout):
        if tok.startswith("FPH_KERNEL_SUITES="):
            return [(s, "security" if s.endswith("-security") else "main")
                    for s in tok.split("=", 1)[1].split()]
    raise ResolveError("scripts/release.sh names no FPH_KERNEL_SUITES")


def is_host_suite(suite: str, codename: str) -> bool:
    """SUITE is this machine's release or one of its -updates, -security,
    -backports."""
    return bool(codename) and (suite == codename
                               or suite.startswith(codename + "-"))


def newest_in_series(versions: list[tuple[str, str]], series: str,
                     codename: str = "") -> tuple[str, str] | None:
    # "6.1." is not a prefix of "6.12.x": the dot ends the series.
    inseries = [v for v in versions if v[0].startswith(series + ".")]
    # This release's suites (bookworm, -security, -backports) first: a
    # kernel built for another release is the last resort.
    own = [v for v in inseries if is_host_suite(v[1], codename)]
    inseries = own or inseries
    if not inseries:
        return None
    key = functools.cmp_to_key(lambda x, y: version_cmp(x[0], y[0]))
    return max(inseries, key=key)


def _dependency(depends: str, kind: str, flavour: str) -> str | None:
    """The linux-KIND-*-FLAVOUR package `apt-cache depends` output names
    (generic amd64 is not cloud-amd64 or rt-amd64)."""
    for line in depends.splitlines():
        m = re.match(r"^\s*\|?Depends:\s*(linux-" + kind + r"-\S+)$", line)
        if not m or not m.group(1).endswith("-" + flavour):
            continue
        name = m.group(1)
        if flavour == "amd64" and re.search(r"-(cloud|rt)-amd64$", name):
            continue
        if not re.match(r"^linux-" + kind + r"-\d", name):
            continue   # linux-modules-amd64 (a meta), linux-base-amd64
        return name
    return None


def image_dependency(depends: str, flavour: str) -> str | None:
    """The versioned linux-image-* package in `apt-cache depends` output."""
    return _dependency(depends, "image", flavour)


def headers_dependency(depends: str, flavour: str) -> str | None:
    return _dependency(depends, "headers", flavour)


def installed_kernel(series: str, flavour: str) -> str | None:
    """Newest installed kernel release of SERIES and FLAVOUR with headers."""
    found = []
    paths = glob.glob("/boot/vmlinuz-*") + glob.glob("/usr/lib/modules/*/vmlinuz")
    for path in paths:
        if path.startswith("/boot/"):
            kver = path[len("/boot/vmlinuz-"):]
        else:
            kver = path.split("/")[-2]
        m = RELEASE_SPEC.match(kver)
        if m and m.group(1) == series and m.group(2) == flavour \
                and os.path.isdir(f"/usr/src/linux-headers-{kver}"):
            found.append(kver)
    if not found:
        return None
    return max(set(found), key=functools.cmp_to_key(version_cmp))


def parse_spec(spec: str) -> tuple[str, str, bool]:
    """(series, flavour, is_release) of SPEC; series 'newest' for
    newest-FLAVOUR."""
    m = SERIES_SPEC.match(spec)
    if m:
        return m.group(1), m.group(2), False
    m = RELEASE_SPEC.match(spec)
    if m:
        return m.group(1), m.group(2), True
    raise ResolveError(f"'{spec}' is neither SERIES-FLAVOUR "
                       "(6.12-cloud-amd64), newest-FLAVOUR nor a kernel "
                       "release; flavours: " + ", ".join(FLAVOURS))


# ---- the private apt configuration of the suites after the host's ---------

def cache_root() -> str:
    return os.environ.get("FPH_CACHE", "/var/cache/fph")


def mirrors() -> dict[str, str]:
    """FPH_MIRROR and FPH_SECURITY of scripts/apt-mirrors.sh."""
    out = run(_cmd("APT_MIRRORS", APT_MIRRORS))
    got = dict(ln.split("=", 1) for ln in out.split() if "=" in ln)
    return {"main": got.get("FPH_MIRROR", "http://deb.debian.org/debian"),
            "security": got.get("FPH_SECURITY",
                                "http://deb.debian.org/debian-security")}


class ForeignApt:
    """apt-get/apt-cache on FPH_KERNEL_SUITES (trixie, trixie-backports
    and sid on Debian 12; bookworm, trixie-backports and sid on 13), without
    touching /etc/apt: an apt.conf of our own (-c) that points the sources,
    lists, cache, preferences and dpkg status to DIR."""

    def __init__(self, top: str | None = None):
        self.dir = top or os.path.join(cache_root(), "apt")
        self.conf = os.path.join(self.dir, "apt.conf")
        self._ready = False
        self._suites: list[tuple[str, str]] | None = None

    @property
    def suites(self) -> list[tuple[str, str]]:
        if self._suites is None:
            self._suites = foreign_suites(host_codename())
        return self._suites

    def _config(self) -> tuple[str, str]:
        m = mirrors()
        sources = "".join(f"deb {m[kind]} {suite} main\n"
                          for suite, kind in self.suites)
        d = self.dir
        conf = (
            f'Dir::Etc::SourceList "{d}/sources.list";\n'
            f'Dir::Etc::SourceParts "{d}/sources.list.d";\n'
            f'Dir::Etc::Preferences "{d}/preferences";\n'
            f'Dir::Etc::PreferencesParts "{d}/preferences.d";\n'
            f'Dir::State::Lists "{d}/lists";\n'
            f'Dir::State::status "{d}/status";\n'
            f'Dir::Cache "{d}/cache";\n'
            # A binary cache of the big sid lists: each apt-cache call
            # would parse them again (Docker images turn it off).
            'Dir::Cache::pkgcache "pkgcache.bin";\n'
            'Dir::Cache::srcpkgcache "srcpkgcache.bin";\n'
            'APT::Architectures { "amd64"; };\n'
            'Acquire::Languages "none";\n'
            'Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";\n')
        return sources, conf

    def _write(self, path: str, text: str) -> bool:
        """Write TEXT to PATH if it differs; True if it changed."""
        try:
            with open(path) as f:
                if f.read() == text:
                    return False
        except OSError:
            pass
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        return True

    def ensure(self) -> None:
        """Set DIR up and `apt-get update` there if its lists are older
        than a day (or missing, or the sources changed)."""
        if self._ready:
            return
        # Not in lists/: apt-get update removes what it did not put there.
        stamp = os.path.join(self.dir, "updated")
        try:
            for sub in ("lists/partial", "cache/archives/partial",
                        "sources.list.d", "preferences.d"):
                os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
            lockf = open(os.path.join(self.dir, ".lock"), "w")
        except OSError as e:
            if os.path.exists(stamp):   # read-only: use the lists there
                self._ready = True
                return
            raise ResolveError(f"cannot set up the private apt lists in "
                               f"{self.dir}: {e} (run as root, or set "
                               "FPH_CACHE)") from e
        with lockf:
            fcntl.flock(lockf, fcntl.LOCK_EX)
            sources, conf = self._config()
            changed = self._write(os.path.join(self.dir, "sources.list"),
                                  sources)
            changed |= self._write(self.conf, conf)
            status = os.path.join(self.dir, "status")
            if not os.path.exists(status):
                open(status, "w").close()
            try:
                age = time.time() - os.stat(stamp).st_mtime
            except OSError:
                age = None
            if (age is None or age > MAX_LIST_AGE or changed
                    or os.environ.get("FPH_APT_REFRESH") == "1"):
                self._update(stamp, have_lists=age is not None)
        self._ready = True

    def _update(self, stamp: str, have_lists: bool) -> None:
        suites = " ".join(s for s, _ in self.suites)
        print(f"kernel-packages: apt-get update of {suites} in {self.dir}",
              file=sys.stderr)
        r = subprocess.run(_cmd("APT_GET", "apt-get") + ["-c", self.conf,
                                                         "-q", "update"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, check=False)
        if r.returncode == 0 and "W: Failed to fetch" not in r.stdout:
            with open(stamp, "w"):
                pass
            return
        tail = "\n".join(r.stdout.splitlines()[-10:])
        if have_lists:
            print(f"kernel-packages: WARNING: apt-get update in {self.dir} "
                  f"failed; using the lists there\n{tail}", file=sys.stderr)
            return
        raise ResolveError(f"apt-get update of {suites} in {self.dir} "
                           f"failed:\n{tail}")

    def args(self) -> list[str]:
        self.ensure()
        return ["-c", self.conf]


# ---- resolving ----------------------------------------------------------

class Archive:
    """What the host's lists and the private lists of the foreign suites
    say, through apt-cache; asked lazily and remembered."""

    def __init__(self, foreign: ForeignApt | None = None):
        self.apt_cache = _cmd("APT_CACHE", "apt-cache")
        self.codename = host_codename()
        self.foreign = foreign or ForeignApt()
        self._madison: dict[tuple[bool, str], list[tuple[str, str]]] = {}

    def _args(self, foreign: bool) -> list[str]:
        if foreign:
            return self.apt_cache + self.foreign.args()
        # The host's lists with a binary cache of our own (where Docker
        # images turned apt's off, every call would parse them again).
        d = self.foreign.dir
        if not os.access(d, os.W_OK):
            return self.apt_cache
        return self.apt_cache + [
            "-o", f"Dir::Cache::pkgcache={d}/host-pkgcache.bin",
            "-o", f"Dir::Cache::srcpkgcache={d}/host-srcpkgcache.bin"]

    def madison(self, packages: list[str], foreign: bool) -> None:
        want = [p for p in packages if (foreign, p) not in self._madison]
        if not want:
            return
        out = run(self._args(foreign) + ["madison"] + want)
        for p in want:
            self._madison[(foreign, p)] = binary_versions(out, p)

    def versions(self, package: str, scopes: tuple[bool, ...] = (False, True)
                 ) -> list[tuple[str, str, bool]]:
        """(version, suite, foreign) of PACKAGE's binaries in the host's
        lists and (if True in SCOPES) the private ones."""
        out = []
        for foreign in scopes:
            self.madison([package], foreign)
            for v, s in self._madison[(foreign, package)]:
                out.append((v, s, foreign))
        return out

    def depends(self, pin: str, foreign: bool) -> str:
        # One call per pin: apt-cache depends of several arguments
        # reorders the blocks when one of them does not resolve.
        return run(self._args(foreign) + ["depends", pin])

    def preload(self, flavours: list[str], foreign: bool = True) -> None:
        metas = [f"linux-{k}-{f}" for f in flavours
                 for k in ("image", "headers")]
        for scope in (False, True) if foreign else (False,):
            self.madison(metas, scope)

    def series(self, flavour: str) -> list[str]:
        """The series linux-image-FLAVOUR has binaries of, newest first."""
        found = {".".join(v.split(".")[:2])
                 for v, _, _ in self.versions(f"linux-image-{flavour}")
                 if re.match(r"^\d+\.\d+\.", v)}
        return sorted(found, key=series_key, reverse=True)

    def candidate(self, series: str, flavour: str
                  ) -> tuple[str, str, bool] | None:
        """The newest binary linux-image-FLAVOUR SERIES.x that
        linux-headers-FLAVOUR has as well (version, suite, foreign), this
        release's suites first."""
        meta = f"linux-image-{flavour}"
        # The host's lists alone first: a kernel of this release needs
        # nothing of the private lists (nor their apt-get update).
        for scopes in ((False,), (False, True)):
            hdr = {(v, s) for v, s, _ in
                   self.versions(f"linux-headers-{flavour}", scopes)}
            both = [x for x in self.versions(meta, scopes)
                    if (x[0], x[1]) in hdr]
            best = newest_in_series([(v, s) for v, s, _ in both], series,
                                    self.codename)
            if best is not None and (is_host_suite(best[1], self.codename)
                                     or len(scopes) == 2):
                foreign = next(f for v, s, f in both if (v, s) == best)
                return best[0], best[1], foreign
        return None

    def kernel(self, series: str, flavour: str) -> Kernel:
        """The Kernel of SERIES-FLAVOUR; ResolveError if the archive has no
        binary of it with headers."""
        cand = self.candidate(series, flavour)
        meta = f"linux-image-{flavour}"
        if cand is None:
            raise ResolveError(f"no binary {meta} {series}.x with "
                               f"linux-headers-{flavour} of the same "
                               "version in the apt lists")
        version, suite, foreign = cand
        img = image_dependency(self.depends(f"{meta}={version}", foreign),
                               flavour)
        if img is None or not img.startswith(f"linux-image-{series}."):
            raise ResolveError(f"apt-cache depends {meta}={version} "
                               f"names no linux-image-{series}.*-{flavour}"
                               f" ({img or 'nothing'})")
        hdr = headers_dependency(
            self.depends(f"linux-headers-{flavour}={version}", foreign),
            flavour)
        kver = img[len("linux-image-"):]
        # 7.x: linux-image-KVER is a meta package of the kernel
        # (linux-binary-KVER) and its modules (linux-modules-KVER).
        deps = self.depends(f"{img}={version}", foreign)
        binary = _dependency(deps, "binary", flavour)
        modules = _dependency(deps, "modules", flavour)
        parts: tuple[str, ...] = ()
        if binary or modules:
            if not (binary and modules):
                raise ResolveError(f"apt-cache depends {img}={version}: "
                                   f"linux-binary {binary or 'missing'}, "
                                   f"linux-modules {modules or 'missing'}")
            kver = binary[len("linux-binary-"):]
            if modules != f"linux-modules-{kver}":
                raise ResolveError(f"{img}={version} depends on {binary} "
                                   f"and {modules}: two kernel releases")
            parts = (binary, modules)
        if hdr != f"linux-headers-{kver}":
            raise ResolveError(f"linux-headers-{flavour}={version} names "
                               f"{hdr or 'no headers package'}, the kernel "
                               f"is {kver}")
        self.madison([hdr], foreign)
        if not self._madison[(foreign, hdr)]:
            raise ResolveError(f"{hdr} is not in the apt lists")
        build = "chroot" if foreign else "host"
        return Kernel(kver, series, flavour, suite, build, version, parts)

    def newest_series(self, flavour: str) -> str:
        """The newest series of FLAVOUR with headers, in any suite."""
        for s in self.series(flavour):
            if self.candidate(s, flavour) is not None:
                return s
        raise ResolveError(f"no linux-image-{flavour} with headers in the "
                           "apt lists")

    def release(self, kver: str, series: str, flavour: str) -> Kernel:
        """A kernel release as given: its suite and version if the lists
        have its image package (the host's first), else as installed
        here."""
        for scope in (False, True):
            try:
                found = self.versions(f"linux-image-{kver}", (scope,))
            except ResolveError:   # no private lists: as installed
                break
            for v, s, _ in found:
                build = "chroot" if scope else "host"
                return Kernel(kver, series, flavour, s, build, v)
        return Kernel(kver, series, flavour, "")


def resolve(specs: list[str], archive: Archive | None = None) -> list[Kernel]:
    """The Kernel of each SPEC."""
    parsed = [parse_spec(s) for s in specs]
    a = archive or Archive()
    a.preload(sorted({f for _, f, rel in parsed if not rel}), foreign=False)
    kernels = []
    for spec, (series, flavour, rel) in zip(specs, parsed):
        if rel:
            kernels.append(a.release(spec, series, flavour))
            continue
        if series == "newest":
            series = a.newest_series(flavour)
        try:
            kernels.append(a.kernel(series, flavour))
            continue
        except ResolveError:
            if a.candidate(series, flavour) is not None:
                raise
        kver = installed_kernel(series, flavour)
        if kver is None:
            have = ", ".join(sorted({v for v, _, _ in a.versions(
                f"linux-image-{flavour}")})) or "none"
            raise ResolveError(
                f"no binary linux-image-{flavour} {series}.x with headers in "
                f"the apt lists (binary versions: {have}); run "
                "scripts/setup-apt.sh (6.12 is in bookworm-backports)")
        print(f"kernel-packages: WARNING: the apt lists have no binary "
              f"linux-image-{flavour} {series}.x with headers; using the "
              f"installed {kver}", file=sys.stderr)
        kernels.append(Kernel(kver, series, flavour, ""))
    return kernels


def list_all(archive: Archive | None = None) -> list[Kernel]:
    """Every series x flavour with headers in the archive, oldest series
    first."""
    a = archive or Archive()
    a.preload(FLAVOURS)
    out = []
    for series in sorted({s for f in FLAVOURS for s in a.series(f)},
                         key=series_key):
        for flavour in FLAVOURS:
            if a.candidate(series, flavour) is not None:
                out.append(a.kernel(series, flavour))
    return out


def unique(kernels: list[Kernel]) -> list[Kernel]:
    seen: set[str] = set()
    out = []
    for k in kernels:
        if k.kver not in seen:
            seen.add(k.kver)
            out.append(k)
    return out


def apt_install(kernels: list[Kernel]) -> bool:
    """Install the missing packages of KERNELS (scripts/apt-install.sh)."""
    # Pinned to the suite that has them: `-t bookworm-backports` would also
    # upgrade the meta packages and linux-libc-dev.
    want = [f"{p}/{k.suite}" if k.suite else p
            for k in kernels for p in k.packages]
    if not want:
        return True
    r = subprocess.run(_cmd("APT_INSTALL", str(APT_INSTALL)) + want,
                       stdout=sys.stderr, check=False)
    return r.returncode == 0


def host_kernels(kernels: list[Kernel]) -> list[Kernel]:
    return [k for k in kernels if k.build == "host"]


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("resolve", "install", "list") \
            or (argv[1] == "list" and len(argv) > 2):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    specs = argv[2:] or DEFAULT_SPECS
    try:
        if argv[1] == "list":
            kernels = list_all()
        else:
            kernels = unique(resolve(specs))
        if argv[1] == "install" and not apt_install(host_kernels(kernels)):
            # apt-install.sh has refreshed the lists: the archive may now
            # hold another ABI than the one the old lists named.
            print("kernel-packages: resolving again on the updated lists",
                  file=sys.stderr)
            kernels = unique(resolve(specs))
            if not apt_install(host_kernels(kernels)):
                raise ResolveError("apt-get install of "
                                   + " ".join(p for k in host_kernels(kernels)
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
