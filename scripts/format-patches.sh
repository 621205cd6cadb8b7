#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# format-patches.sh QEMU_GIT_TREE BASE: regenerate patches/qemu/ from a
# QEMU git tree whose commits since BASE are the hook series; the cover
# letter's subject and text come from patches/qemu/cover-letter.txt; the
# order is written to patches/qemu/series (quilt's format), which
# build-qemu.sh, check-series.sh and lint.sh apply.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$1 base=$2
out=$here/patches/qemu
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
