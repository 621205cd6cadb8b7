#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# release.sh [CODENAME]: what fph takes from Debian on a host of CODENAME
# (default: this machine's, /etc/os-release), as shell assignments for
# `eval "$(scripts/release.sh)"` (kernel-packages.py reads them too).  The
# one place where the supported host releases, Debian 12 (bookworm) and
# Debian 13 (trixie), differ; every other script asks here.  The packages
# both install (scripts/setup-apt.sh) are the same names on both:
# libclang-rt-dev is the runtime of the release's own clang (14 on
# bookworm, 19 on trixie), linux-image-amd64 its own kernel (6.1, 6.12).
#
#   FPH_RELEASE          the codename
#   FPH_RELEASE_NAME     "Debian 12"
#   FPH_QEMU_SRC_SUITES  suites whose deb-src setup-apt.sh enables for
#                        QEMU's source (scripts/fetch-qemu.sh): Debian 13's
#                        (10.0; the release itself on trixie) and sid's
#                        (10.2, the newest whose source the archive serves)
#   FPH_APT_SUITES       suites setup-apt.sh adds with deb and deb-src,
#                        for what the release itself lacks
#   FPH_MESON_SUITE      where meson >= 1.5 (QEMU 10.0's) comes from, with
#                        apt-get -t; '': the release has it
#   FPH_KERNEL_SUITES    the suites of the guest kernels the host's lists
#                        do not have (scripts/kernel-packages.py keeps them
#                        in private lists; their driver is built by DKMS in
#                        a chroot of the kernel's suite)
#   FPH_LINUX_SOURCE     the linux-source package whose checkpatch.pl
#                        checks guest/ (make lint)
#   FPH_PACKAGE_SUITES   the other releases `make check` builds the
#                        packages for (make deb SUITE=..., in a chroot of
#                        that release) and installs them in
#                        (tests/package): on Debian 12, where CI runs,
#                        Debian 13's; a Debian 13 host proves its own only
#
# Exit 2 for a release fph does not support.
set -euo pipefail

codename=${1:-}
if [ -z "$codename" ]; then
    # shellcheck source=/dev/null
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi

case $codename in
    bookworm)
        name="Debian 12"
        qemu_src="trixie trixie-updates trixie-security sid"
        apt_suites="bookworm-backports"      # meson >= 1.5, linux 6.12
        meson_suite=bookworm-backports
        kernel_suites="trixie trixie-updates trixie-security trixie-backports sid"
        linux_source=linux-source-6.1
        package_suites="trixie" ;;
    trixie)
        name="Debian 13"
        qemu_src="trixie trixie-updates trixie-security sid"
        apt_suites=""                        # meson 1.7, linux 6.12: its own
        meson_suite=""
        kernel_suites="bookworm bookworm-updates bookworm-security trixie-backports sid"
        linux_source=linux-source-6.12
        package_suites="" ;;
    *)
        echo "release.sh: Debian '${codename:-unknown}' is not a release fph supports" \
             "(bookworm, trixie)" >&2
        exit 2 ;;
esac

cat <<EOF
FPH_RELEASE='$codename'
FPH_RELEASE_NAME='$name'
FPH_QEMU_SRC_SUITES='$qemu_src'
FPH_APT_SUITES='$apt_suites'
FPH_MESON_SUITE='$meson_suite'
FPH_KERNEL_SUITES='$kernel_suites'
FPH_LINUX_SOURCE='$linux_source'
FPH_PACKAGE_SUITES='$package_suites'
EOF
