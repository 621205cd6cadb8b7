#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# format-patches.sh LINE QEMU_GIT_TREE BASE: regenerate patches/qemu/LINE/
# from a QEMU git tree whose commits since BASE are the hook series for
# QEMU LINE (e.g. 10.2); the cover letter's subject and text come from
# patches/qemu/LINE/cover-letter.txt; the order is written to
# patches/qemu/LINE/series (quilt's format), which build-qemu.sh,
# check-series.sh and lint.sh apply.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
line=${1:?usage: format-patches.sh LINE QEMU_GIT_TREE BASE}
tree=${2:?usage: format-patches.sh LINE QEMU_GIT_TREE BASE}
base=${3:?usage: format-patches.sh LINE QEMU_GIT_TREE BASE}
out=$here/patches/qemu/$line
mkdir -p "$out"
rm -f "$out"/*.patch
git -C "$tree" format-patch -q --cover-letter -o "$out" "$base"..HEAD
python3 - "$out" <<'PY'
import sys, pathlib
out = pathlib.Path(sys.argv[1])
subject, _, blurb = (out / "cover-letter.txt").read_text().partition("\n\n")
cover = out / "0000-cover-letter.patch"
s = cover.read_text()
s = s.replace("*** SUBJECT HERE ***", subject.strip())
s = s.replace("*** BLURB HERE ***", blurb.strip())
cover.write_text(s)
PY
for p in "$out"/[0-9][0-9][0-9][0-9]-*.patch; do
    case ${p##*/} in 0000-*) ;; *) echo "${p##*/}" ;; esac
done > "$out/series"
