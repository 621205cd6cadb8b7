#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lint.sh BUILDDIR: style checks that upstream reviewers run, and ours.
#  - QEMU's scripts/checkpatch.pl on the module's C glue and on the series
#  - the kernel's checkpatch.pl --strict on guest/ (make -C guest checkpatch)
#  - every file names its licence (scripts/check-spdx.py, REUSE layout)
#  - shellcheck (warnings and errors) on every shell script
#  - flake8 on every Python file (.flake8)
#  - one version in meson.build, guest/dkms.conf and debian/changelog
# Exit 1 if any of them finds something; each prints one summary line.
set -uo pipefail
build=$1
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null
. "$build/qemu.env"
"$here/scripts/apt-install.sh" shellcheck flake8 || exit 1
status=0
# verdict RC WHAT: the summary line; a failure fails the lint.  Not
# called in $(...): a subshell's status=1 would be lost.
verdict() { if [ "$1" = 0 ]; then echo "lint: $2: clean"; else status=1; echo "lint: $2: ERRORS"; fi; }

cp=$QEMU_SRC/scripts/checkpatch.pl
rc=0
for f in "$here"/module/*.c "$here"/module/*.h; do
    perl "$cp" -q --no-tree -f "$f" || rc=1
done
# Each series with its own QEMU's checkpatch.pl where make check built that
# line (BUILD/qemu-LINE), else with the default line's.
for series in "$here"/patches/qemu/[0-9]*/series; do
    line=$(basename "$(dirname "$series")")
    line_cp=$cp
    if [ -f "$build/qemu-$line/qemu.env" ]; then
        # shellcheck source=/dev/null
        line_cp=$(. "$build/qemu-$line/qemu.env" && echo "$QEMU_SRC/scripts/checkpatch.pl")
    fi
    while read -r name; do
        perl "$line_cp" -q "$(dirname "$series")/$name" || rc=1
    done < "$series"
done
verdict $rc "QEMU checkpatch on module/ and patches/qemu/*"

# The kernel's checkpatch.pl from the release's own linux-source
# (scripts/release.sh: 6.1 on Debian 12, 6.12 on Debian 13).
eval "$("$here/scripts/release.sh")"
"$here/scripts/apt-install.sh" "$FPH_LINUX_SOURCE" || exit 1
make -s -C "$here/guest" checkpatch LINUX_SRC_TAR="/usr/src/$FPH_LINUX_SOURCE.tar.xz" || status=1

"$here/scripts/check-spdx.py" "$here" || status=1

cd "$here" || exit 1
mapfile -t shells < <(git ls-files '*.sh' '*.sh.in' .ci/run guest-image/init guest-image/fph-uevent \
    guest/reclaim/fph-reclaim guest/dkms-kernel-hook scripts/fph-qemu.in)
shellcheck -S warning "${shells[@]}"
verdict $? "shellcheck on ${#shells[@]} scripts"

# The one C++ style, .clang-format (C follows checkpatch above).
mapfile -t cxx < <(git ls-files '*.cpp' '*.hpp')
clang-format --dry-run -Werror "${cxx[@]}"
verdict $? "clang-format on ${#cxx[@]} C++ files"

v_meson=$(sed -n "s/^  version: '\(.*\)',$/\1/p" meson.build)
v_dkms=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' guest/dkms.conf)
v_deb=$(dpkg-parsechangelog -l debian/changelog -S Version | sed 's/-[^-]*$//')
same=1
[ -n "$v_meson" ] && [ "$v_meson" = "$v_dkms" ] && [ "$v_meson" = "$v_deb" ] && same=0
verdict $same "version meson $v_meson, dkms.conf $v_dkms, debian/changelog $v_deb"

mapfile -t pys < <(git ls-files '*.py')
flake8 "${pys[@]}"
verdict $? "flake8 on ${#pys[@]} Python files"
exit $status
